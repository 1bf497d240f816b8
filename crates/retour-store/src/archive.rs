//! Archive submission packages (SIP) for one ended case, after eCH-0160 ("arelda" v4, the
//! Swiss standard for offering records to an archive).
//!
//! [`write_package`] writes, under `dir/<package_name>/`:
//!
//! - `header/metadata.xml`: the eCH-0160 metadata, root `paket` (`xsi:type="paketSIP"`) in
//!   the namespace `http://bar.admin.ch/arelda/v4`, with the table of contents
//!   (`inhaltsverzeichnis`: folders `header` and `content`, the latter with the dossier folder
//!   `d0000001` and one `datei` per content file with its SHA-256) and the delivery
//!   (`ablieferung`, type FILES: the offering institution, the period of the case, and an
//!   `ordnungssystem` with the one position "Rückkehrhilfe" holding the case's `dossier`, one
//!   `dokument` per content file pointing at its `datei`);
//! - `content/d0000001/case.json`: the whole case record, pretty-printed;
//! - `content/d0000001/<NNN>_<file name>`: each document's bytes, numbered 001, 002… in the
//!   order given, the uploaded name reduced to `[A-Za-z0-9._-]`;
//! - `manifest.json`: our own summary of the package, with the size, media type and SHA-256
//!   of every content file (and the document's id, category and version) and the SHA-256 of
//!   `header/metadata.xml`.
//!
//! The package is built in a hidden sibling directory (`.<name>.partial-<pid>-<uuid>`), every
//! file and directory synced, and only then renamed to its name; a package already there (the
//! same case offered again) is renamed away first and deleted after, so a reader sees the old
//! package, briefly none, or the new one, never a half-written one. A partial directory left
//! by a crash (power loss, SIGKILL) is not cleaned up by a later run: it may belong to a writer
//! still at work.
//!
//! # Where it departs from eCH-0160
//!
//! - No `header/xsd/`: the standard wants the arelda XSD files shipped in the package (and
//!   listed in `inhaltsverzeichnis`); we do not vendor them, so the `header` folder lists
//!   nothing and `metadata.xml` names no `xsi:schemaLocation`. It has not been validated
//!   against the XSD.
//! - No `provenienz`: a schema-valid one needs the records creator's name, registry and the
//!   Federal Archives' registry numbers, which Retour does not hold.
//! - No `ablieferungsnummer` (the archive assigns it when it accepts the offer), no
//!   `angebotsnummer`, `referenzBewertungsentscheid`, `schutzfristenkategorie` or
//!   `schutzfrist`: these follow from the archive's appraisal and the offering agreement.
//! - No classification or access metadata on the dossier and its documents
//!   (`klassifizierungskategorie`, `datenschutz`, `oeffentlichkeitsstatus`, `aktenzeichen`…),
//!   although a return-assistance case holds particularly sensitive personal data: the
//!   receiving archive has to set them.
//! - `schemaVersion="4.1"` is claimed without the schema files to back it.
//! - `manifest.json` at the package root is not part of the standard (which expects only
//!   `header/` and `content/` there); an archive that checks this has to drop it first.
//! - The package is a directory, not the ZIP some archives ask for.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The namespace of eCH-0160 metadata ("arelda" v4).
pub const ARELDA_NAMESPACE: &str = "http://bar.admin.ch/arelda/v4";
const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";
const SCHEMA_VERSION: &str = "4.1";
/// The one dossier folder under `content/`.
const DOSSIER_FOLDER: &str = "d0000001";
/// The longest sanitised file name kept (before the `NNN_` prefix), well below the 255 bytes
/// most file systems allow.
const MAX_FILE_NAME: usize = 200;
/// The longest extension kept when a file name is shortened.
const MAX_EXTENSION: usize = 16;

/// One document of the case, with its bytes (already decrypted).
#[derive(Debug, Clone)]
pub struct ArchiveDocument {
    pub id: Uuid,
    /// The document's category, e.g. "return_request".
    pub category: String,
    /// The name as uploaded; written to the file system reduced to `[A-Za-z0-9._-]` (others
    /// become `_`), and kept as it was in `originalName` and the manifest.
    pub file_name: String,
    pub media_type: String,
    pub version: i32,
    pub uploaded_at: DateTime<Utc>,
    pub bytes: Vec<u8>,
}

/// Everything one package holds.
#[derive(Debug, Clone)]
pub struct Package {
    pub case_id: Uuid,
    /// The case reference, e.g. "BE-2026-000123": only `[A-Z0-9-]`, not empty (it becomes part
    /// of a directory name; anything else is refused with [`ArchiveError::InvalidReference`]).
    pub reference: String,
    /// closed | withdrawn | rejected | cancelled
    pub end_state: String,
    pub opened_on: NaiveDate,
    pub ended_at: DateTime<Utc>,
    /// When the package is made; its date is part of the package name.
    pub submitted_at: DateTime<Utc>,
    /// The institution offering the package, e.g. "SEM" (`ablieferndeStelle`).
    pub submitter: String,
    /// The whole case record.
    pub case_json: serde_json::Value,
    pub documents: Vec<ArchiveDocument>,
}

/// What [`write_package`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The package directory.
    pub path: PathBuf,
    /// Content files written (`case.json` and one per document).
    pub files: usize,
    /// Bytes of those content files.
    pub bytes: u64,
    /// Hex SHA-256 of `manifest.json`.
    pub manifest_sha256: String,
}

/// Why a package could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// A file-system operation failed on `path`.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not write metadata.xml: {0}")]
    Xml(#[from] quick_xml::Error),
    #[error("could not serialise JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The case reference holds something other than `[A-Z0-9-]`, or nothing.
    #[error("case reference {0:?} is not of the form [A-Z0-9-]+")]
    InvalidReference(String),
}

/// The package's directory name: `SIP_<YYYYMMDD of submitted_at, UTC>_RETOUR_<reference>`.
pub fn package_name(package: &Package) -> String {
    format!("SIP_{}_RETOUR_{}", package.submitted_at.format("%Y%m%d"), package.reference)
}

/// Writes the package of `package` under `dir` (created if missing), replacing one written
/// earlier under the same name. See the module documentation for the layout.
pub fn write_package(dir: &Path, package: &Package) -> Result<Receipt, ArchiveError> {
    validate_reference(&package.reference)?;
    fs::create_dir_all(dir).map_err(io_at(dir))?;
    let name = package_name(package);
    let final_path = dir.join(&name);
    let partial = PartialDir {
        path: dir.join(format!(".{name}.partial-{}-{}", std::process::id(), Uuid::now_v7())),
        armed: true,
    };
    fs::create_dir(&partial.path).map_err(io_at(&partial.path))?;
    let (files, bytes, manifest_sha256) = build(&partial.path, &name, package)?;
    install(dir, &partial.path, &final_path, &name)?;
    partial.disarm();
    Ok(Receipt { path: final_path, files, bytes, manifest_sha256 })
}

/// A content file as written.
struct ContentFile {
    /// The file name inside `content/d0000001/`.
    name: String,
    original_name: String,
    media_type: String,
    sha256: String,
    bytes: u64,
    datei_id: String,
    dokument_id: String,
    titel: String,
    document: Option<DocumentInfo>,
}

struct DocumentInfo {
    id: Uuid,
    category: String,
    version: i32,
    uploaded_at: DateTime<Utc>,
}

/// Removes the partial directory unless disarmed (on every error path).
struct PartialDir {
    path: PathBuf,
    armed: bool,
}

impl PartialDir {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for PartialDir {
    fn drop(&mut self) {
        if self.armed
            && let Err(error) = fs::remove_dir_all(&self.path)
            && error.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), %error, "could not remove a partial archive package");
        }
    }
}

/// Writes the whole package into `root`; answers the number and bytes of the content files and
/// the manifest's SHA-256.
fn build(root: &Path, name: &str, package: &Package) -> Result<(usize, u64, String), ArchiveError> {
    let header = root.join("header");
    let content = root.join("content");
    let dossier = content.join(DOSSIER_FOLDER);
    for path in [&header, &content, &dossier] {
        fs::create_dir(path).map_err(io_at(path))?;
    }

    let mut files = Vec::with_capacity(package.documents.len() + 1);
    let mut case_json = serde_json::to_vec_pretty(&package.case_json)?;
    case_json.push(b'\n');
    files.push(ContentFile {
        name: "case.json".to_owned(),
        original_name: "case.json".to_owned(),
        media_type: "application/json".to_owned(),
        sha256: write_file(&dossier.join("case.json"), &case_json)?,
        bytes: case_json.len() as u64,
        datei_id: format!("_datei_case_{}", package.case_id),
        dokument_id: format!("_dokument_case_{}", package.case_id),
        titel: format!("Falldaten {}", package.reference),
        document: None,
    });
    for (index, document) in package.documents.iter().enumerate() {
        let file_name = format!("{:03}_{}", index + 1, sanitise_file_name(&document.file_name));
        files.push(ContentFile {
            sha256: write_file(&dossier.join(&file_name), &document.bytes)?,
            name: file_name,
            original_name: document.file_name.clone(),
            media_type: document.media_type.clone(),
            bytes: document.bytes.len() as u64,
            datei_id: format!("_datei_{:03}_{}", index + 1, document.id),
            dokument_id: format!("_dokument_{:03}_{}", index + 1, document.id),
            titel: format!("{} ({})", document.file_name, document.category),
            document: Some(DocumentInfo {
                id: document.id,
                category: document.category.clone(),
                version: document.version,
                uploaded_at: document.uploaded_at,
            }),
        });
    }

    let metadata = metadata_xml(package, &files)?;
    let metadata_sha256 = write_file(&header.join("metadata.xml"), &metadata)?;

    let manifest_files: Vec<serde_json::Value> = files
        .iter()
        .map(|file| {
            let mut entry = json!({
                "path": format!("content/{DOSSIER_FOLDER}/{}", file.name),
                "sha256": file.sha256,
                "bytes": file.bytes,
                "media_type": file.media_type,
            });
            if let (Some(document), Some(object)) = (&file.document, entry.as_object_mut()) {
                object.insert("document_id".to_owned(), json!(document.id));
                object.insert("category".to_owned(), json!(document.category));
                object.insert("version".to_owned(), json!(document.version));
                object.insert("original_name".to_owned(), json!(file.original_name));
                object.insert("uploaded_at".to_owned(), json!(document.uploaded_at));
            }
            entry
        })
        .collect();
    let manifest = json!({
        "package": name,
        "case_id": package.case_id,
        "reference": package.reference,
        "end_state": package.end_state,
        "submitted_at": package.submitted_at,
        "submitter": package.submitter,
        "files": manifest_files,
        "metadata_sha256": metadata_sha256,
    });
    let mut manifest = serde_json::to_vec_pretty(&manifest)?;
    manifest.push(b'\n');
    let manifest_sha256 = write_file(&root.join("manifest.json"), &manifest)?;

    for path in [&dossier, &content, &header, &root.to_path_buf()] {
        sync_dir(path)?;
    }
    let bytes = files.iter().map(|file| file.bytes).sum();
    Ok((files.len(), bytes, manifest_sha256))
}

/// Moves the finished `partial` to `final_path`, replacing what is there.
fn install(dir: &Path, partial: &Path, final_path: &Path, name: &str) -> Result<(), ArchiveError> {
    if !exists(final_path)? {
        match fs::rename(partial, final_path) {
            Ok(()) => return sync_dir(dir),
            // Another writer got there first: replace its package as below.
            Err(_) if exists(final_path)? => {}
            Err(error) => return Err(io_at(final_path)(error)),
        }
    }
    let old = dir.join(format!(".{name}.old-{}-{}", std::process::id(), Uuid::now_v7()));
    fs::rename(final_path, &old).map_err(io_at(final_path))?;
    if let Err(error) = fs::rename(partial, final_path) {
        // Put the earlier package back rather than leave none.
        if let Err(restore) = fs::rename(&old, final_path) {
            tracing::error!(path = %old.display(), error = %restore, "could not restore the earlier archive package");
        }
        return Err(io_at(final_path)(error));
    }
    sync_dir(dir)?;
    let removed = if fs::symlink_metadata(&old).map_err(io_at(&old))?.is_dir() {
        fs::remove_dir_all(&old)
    } else {
        fs::remove_file(&old)
    };
    if let Err(error) = removed {
        tracing::warn!(path = %old.display(), %error, "could not remove the replaced archive package");
    }
    Ok(())
}

fn exists(path: &Path) -> Result<bool, ArchiveError> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(io_at(path)(error)),
    }
}

/// The eCH-0160 `header/metadata.xml`.
fn metadata_xml(package: &Package, files: &[ContentFile]) -> Result<Vec<u8>, ArchiveError> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None))).map_err(xml)?;
    writer
        .create_element("paket")
        .with_attribute(("xmlns", ARELDA_NAMESPACE))
        .with_attribute(("xmlns:xsi", XSI_NAMESPACE))
        .with_attribute(("xsi:type", "paketSIP"))
        .with_attribute(("schemaVersion", SCHEMA_VERSION))
        .write_inner_content(|w| {
            leaf(w, "paketTyp", "SIP")?;
            w.create_element("inhaltsverzeichnis").write_inner_content(|w| {
                w.create_element("ordner").write_inner_content(|w| {
                    leaf(w, "name", "header")?;
                    leaf(w, "originalName", "header")
                })?;
                w.create_element("ordner").write_inner_content(|w| {
                    leaf(w, "name", "content")?;
                    leaf(w, "originalName", "content")?;
                    w.create_element("ordner").write_inner_content(|w| {
                        leaf(w, "name", DOSSIER_FOLDER)?;
                        leaf(w, "originalName", &package.reference)?;
                        for file in files {
                            w.create_element("datei")
                                .with_attribute(("id", file.datei_id.as_str()))
                                .write_inner_content(|w| {
                                    leaf(w, "name", &file.name)?;
                                    leaf(w, "originalName", &file.original_name)?;
                                    leaf(w, "pruefalgorithmus", "SHA-256")?;
                                    leaf(w, "pruefsumme", &file.sha256)
                                })?;
                        }
                        Ok(())
                    })?;
                    Ok(())
                })?;
                Ok(())
            })?;
            w.create_element("ablieferung")
                .with_attribute(("xsi:type", "ablieferungFilesSIP"))
                .write_inner_content(|w| {
                    leaf(w, "ablieferungstyp", "FILES")?;
                    leaf(w, "ablieferndeStelle", &package.submitter)?;
                    period(w, package.opened_on, package.ended_at.date_naive())?;
                    w.create_element("ordnungssystem").write_inner_content(|w| {
                        leaf(w, "name", "Retour")?;
                        w.create_element("ordnungssystemposition")
                            .with_attribute(("id", "_position_rueckkehrhilfe"))
                            .write_inner_content(|w| {
                                leaf(w, "nummer", "1")?;
                                leaf(w, "titel", "Rückkehrhilfe")?;
                                dossier(w, package, files)
                            })?;
                        Ok(())
                    })?;
                    Ok(())
                })?;
            Ok(())
        })
        .map_err(xml)?;
    let mut bytes = writer.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

fn dossier(w: &mut Writer<Vec<u8>>, package: &Package, files: &[ContentFile]) -> io::Result<()> {
    w.create_element("dossier")
        .with_attribute(("id", format!("_{}", package.case_id).as_str()))
        .write_inner_content(|w| {
            leaf(w, "titel", &package.reference)?;
            period(w, package.opened_on, package.ended_at.date_naive())?;
            for file in files {
                w.create_element("dokument")
                    .with_attribute(("id", file.dokument_id.as_str()))
                    .write_inner_content(|w| {
                        leaf(w, "titel", &file.titel)?;
                        leaf(w, "erscheinungsform", "digital")?;
                        leaf(w, "dateiRef", &file.datei_id)
                    })?;
            }
            Ok(())
        })?;
    Ok(())
}

/// An `entstehungszeitraum` from `from` to `to`.
fn period(w: &mut Writer<Vec<u8>>, from: NaiveDate, to: NaiveDate) -> io::Result<()> {
    w.create_element("entstehungszeitraum").write_inner_content(|w| {
        w.create_element("von")
            .write_inner_content(|w| leaf(w, "datum", &from.format("%Y-%m-%d").to_string()))?;
        w.create_element("bis")
            .write_inner_content(|w| leaf(w, "datum", &to.format("%Y-%m-%d").to_string()))?;
        Ok(())
    })?;
    Ok(())
}

/// An element holding only `text` (escaped).
fn leaf(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name).write_text_content(BytesText::new(text))?;
    Ok(())
}

fn xml(error: io::Error) -> ArchiveError {
    ArchiveError::Xml(quick_xml::Error::from(error))
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io { path: path.to_path_buf(), source }
}

/// Creates `path` (which must not exist), writes `bytes` and syncs it; answers their hex
/// SHA-256.
fn write_file(path: &Path, bytes: &[u8]) -> Result<String, ArchiveError> {
    let mut file = File::create_new(path).map_err(io_at(path))?;
    file.write_all(bytes).map_err(io_at(path))?;
    file.sync_all().map_err(io_at(path))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// Syncs a directory's entries (a no-op where directories cannot be opened as files).
fn sync_dir(path: &Path) -> Result<(), ArchiveError> {
    #[cfg(unix)]
    File::open(path).and_then(|dir| dir.sync_all()).map_err(io_at(path))?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn validate_reference(reference: &str) -> Result<(), ArchiveError> {
    if reference.is_empty()
        || !reference.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(ArchiveError::InvalidReference(reference.to_owned()));
    }
    Ok(())
}

/// `name` reduced to `[A-Za-z0-9._-]` (every other character becomes `_`), at most
/// [`MAX_FILE_NAME`] bytes (keeping a short extension), never empty, "." or "..".
fn sanitise_file_name(name: &str) -> String {
    let mut sanitised: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    if sanitised.len() > MAX_FILE_NAME {
        // All ASCII now, so byte offsets are character boundaries.
        let extension = match sanitised.rfind('.') {
            Some(dot) if dot > 0 && sanitised.len() - dot <= MAX_EXTENSION => {
                sanitised[dot..].to_owned()
            }
            _ => String::new(),
        };
        sanitised.truncate(MAX_FILE_NAME - extension.len());
        sanitised.push_str(&extension);
    }
    if sanitised.is_empty() || sanitised == "." || sanitised == ".." {
        return "file".to_owned();
    }
    sanitised
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::TimeZone;
    use quick_xml::events::Event;
    use quick_xml::name::ResolveResult;
    use quick_xml::reader::NsReader;

    use super::*;

    fn package() -> Package {
        let at = |d, h| Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).single().expect("valid time");
        Package {
            case_id: Uuid::now_v7(),
            reference: "BE-2026-000123".to_owned(),
            end_state: "closed".to_owned(),
            opened_on: NaiveDate::from_ymd_opt(2026, 1, 12).expect("valid date"),
            ended_at: at(2, 9),
            submitted_at: at(20, 14),
            submitter: "SEM".to_owned(),
            case_json: json!({ "reference": "BE-2026-000123", "person": { "name": "Zoë <&> Müller" } }),
            documents: vec![
                ArchiveDocument {
                    id: Uuid::now_v7(),
                    category: "return_request".to_owned(),
                    file_name: "../../etc/passwd".to_owned(),
                    media_type: "text/plain".to_owned(),
                    version: 1,
                    uploaded_at: at(1, 8),
                    bytes: b"root:x:0:0".to_vec(),
                },
                ArchiveDocument {
                    id: Uuid::now_v7(),
                    category: "travel_document".to_owned(),
                    file_name: "Bestätigung Rückkehr & Reise.pdf".to_owned(),
                    media_type: "application/pdf".to_owned(),
                    version: 2,
                    uploaded_at: at(1, 10),
                    bytes: b"%PDF-1.7 fake".to_vec(),
                },
            ],
        }
    }

    fn sha256_of(path: &Path) -> String {
        hex::encode(Sha256::digest(fs::read(path).expect("read file")))
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read dir")
            .map(|entry| entry.expect("dir entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// What metadata.xml says: the files of `inhaltsverzeichnis` (path → (datei id, original
    /// name, checksum)) and the `dateiRef`s of the dokumente.
    struct Parsed {
        files: BTreeMap<String, (String, String, String)>,
        refs: Vec<String>,
        root_is_arelda: bool,
    }

    fn parse_metadata(xml: &str) -> Parsed {
        let mut reader = NsReader::from_str(xml);
        // No trimming: it would cut the spaces around an entity reference.
        let mut stack: Vec<String> = Vec::new();
        let mut folders: Vec<String> = Vec::new();
        let mut text = String::new();
        let mut datei: Option<(String, BTreeMap<String, String>)> = None;
        let mut parsed = Parsed { files: BTreeMap::new(), refs: Vec::new(), root_is_arelda: false };
        loop {
            let (namespace, event) = reader.read_resolved_event().expect("well-formed XML");
            match event {
                Event::Start(start) => {
                    let local = String::from_utf8(start.local_name().as_ref().to_vec())
                        .expect("UTF-8 name");
                    if stack.is_empty() {
                        parsed.root_is_arelda = local == "paket"
                            && matches!(namespace, ResolveResult::Bound(ns) if ns.as_ref() == ARELDA_NAMESPACE.as_bytes());
                    }
                    if local == "ordner" {
                        folders.push(String::new());
                    }
                    if local == "datei" {
                        let id = start
                            .try_get_attribute("id")
                            .expect("attribute")
                            .expect("datei id")
                            .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                            .expect("id value")
                            .into_owned();
                        datei = Some((id, BTreeMap::new()));
                    }
                    stack.push(local);
                    text.clear();
                }
                Event::Text(t) => text.push_str(&t.decode().expect("UTF-8 text")),
                Event::GeneralRef(r) => {
                    let entity = r.decode().expect("UTF-8 ref");
                    text.push_str(match entity.as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        other => panic!("unexpected entity {other}"),
                    });
                }
                Event::End(_) => {
                    let local = stack.pop().expect("balanced");
                    let parent = stack.last().map(String::as_str);
                    match (local.as_str(), parent) {
                        ("name", Some("ordner")) => {
                            *folders.last_mut().expect("in a folder") = text.clone();
                        }
                        (field, Some("datei")) => {
                            if let Some((_, fields)) = datei.as_mut() {
                                fields.insert(field.to_owned(), text.clone());
                            }
                        }
                        ("datei", _) => {
                            let (id, fields) = datei.take().expect("open datei");
                            assert_eq!(fields["pruefalgorithmus"], "SHA-256");
                            let path = format!("{}/{}", folders.join("/"), fields["name"]);
                            parsed.files.insert(
                                path,
                                (id, fields["originalName"].clone(), fields["pruefsumme"].clone()),
                            );
                        }
                        ("ordner", _) => {
                            folders.pop();
                        }
                        ("dateiRef", _) => parsed.refs.push(text.clone()),
                        _ => {}
                    }
                    text.clear();
                }
                Event::Eof => break,
                _ => {}
            }
        }
        parsed
    }

    #[test]
    fn archive_package_is_written_as_described() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("archive");
        let package = package();
        let receipt = write_package(&dir, &package).expect("write package");

        let name = package_name(&package);
        assert_eq!(name, "SIP_20260320_RETOUR_BE-2026-000123");
        assert!(name.contains(&package.reference));
        assert_eq!(receipt.path, dir.join(&name));
        assert_eq!(receipt.files, 3);
        assert_eq!(entries(&dir), vec![name.clone()]);
        assert_eq!(entries(&receipt.path), vec!["content", "header", "manifest.json"]);

        // The files are where described; the hostile name stays inside the dossier folder.
        let dossier = receipt.path.join("content").join(DOSSIER_FOLDER);
        assert_eq!(
            entries(&dossier),
            vec!["001_.._.._etc_passwd", "002_Best_tigung_R_ckkehr___Reise.pdf", "case.json"]
        );
        assert_eq!(fs::read(dossier.join("001_.._.._etc_passwd")).expect("read"), b"root:x:0:0");
        let case_json: serde_json::Value =
            serde_json::from_slice(&fs::read(dossier.join("case.json")).expect("read"))
                .expect("case.json is JSON");
        assert_eq!(case_json, package.case_json);
        let metadata_path = receipt.path.join("header").join("metadata.xml");
        assert!(metadata_path.is_file());

        // Every checksum in the manifest matches its file.
        assert_eq!(sha256_of(&receipt.path.join("manifest.json")), receipt.manifest_sha256);
        let manifest: serde_json::Value = serde_json::from_slice(
            &fs::read(receipt.path.join("manifest.json")).expect("read manifest"),
        )
        .expect("manifest is JSON");
        assert_eq!(manifest["package"], name.as_str());
        assert_eq!(manifest["case_id"], package.case_id.to_string());
        assert_eq!(manifest["reference"], "BE-2026-000123");
        assert_eq!(manifest["end_state"], "closed");
        assert_eq!(manifest["metadata_sha256"], sha256_of(&metadata_path).as_str());
        let listed = manifest["files"].as_array().expect("files");
        assert_eq!(listed.len(), 3);
        let mut total = 0;
        let mut manifest_files = BTreeMap::new();
        for file in listed {
            let path = file["path"].as_str().expect("path");
            let on_disk = receipt.path.join(path);
            assert_eq!(file["sha256"], sha256_of(&on_disk).as_str(), "{path}");
            let size = fs::metadata(&on_disk).expect("metadata").len();
            assert_eq!(file["bytes"], size, "{path}");
            total += size;
            manifest_files
                .insert(path.to_owned(), file["sha256"].as_str().expect("sha").to_owned());
        }
        assert_eq!(receipt.bytes, total);
        assert_eq!(listed[0]["media_type"], "application/json");
        for (entry, document) in listed[1..].iter().zip(&package.documents) {
            assert_eq!(entry["document_id"], document.id.to_string());
            assert_eq!(entry["category"], document.category.as_str());
            assert_eq!(entry["media_type"], document.media_type.as_str());
            assert_eq!(entry["original_name"], document.file_name.as_str());
        }

        // metadata.xml parses back and names every content file with its checksum.
        let xml = fs::read_to_string(&metadata_path).expect("read metadata.xml");
        assert!(xml.contains(r#"xsi:type="paketSIP""#));
        assert!(xml.contains(r#"xsi:type="ablieferungFilesSIP""#));
        let parsed = parse_metadata(&xml);
        assert!(parsed.root_is_arelda);
        let from_xml: BTreeMap<String, String> =
            parsed.files.iter().map(|(path, (_, _, sum))| (path.clone(), sum.clone())).collect();
        assert_eq!(from_xml, manifest_files);
        let originals: BTreeSet<&str> =
            parsed.files.values().map(|(_, original, _)| original.as_str()).collect();
        assert!(originals.contains("../../etc/passwd"));
        assert!(originals.contains("Bestätigung Rückkehr & Reise.pdf"));
        let ids: BTreeSet<&str> = parsed.files.values().map(|(id, _, _)| id.as_str()).collect();
        let refs: BTreeSet<&str> = parsed.refs.iter().map(String::as_str).collect();
        assert_eq!(parsed.refs.len(), 3);
        assert_eq!(refs, ids);
    }

    #[test]
    fn archive_package_written_twice_leaves_one_directory() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut package = package();
        let first = write_package(tmp.path(), &package).expect("first write");
        package.documents[1].bytes = b"%PDF-1.7 corrected".to_vec();
        let second = write_package(tmp.path(), &package).expect("second write");

        assert_eq!(first.path, second.path);
        assert_ne!(first.manifest_sha256, second.manifest_sha256);
        assert_eq!(entries(tmp.path()), vec![package_name(&package)]);
        assert_eq!(sha256_of(&second.path.join("manifest.json")), second.manifest_sha256);
        let written = second
            .path
            .join("content")
            .join(DOSSIER_FOLDER)
            .join("002_Best_tigung_R_ckkehr___Reise.pdf");
        assert_eq!(fs::read(written).expect("read"), b"%PDF-1.7 corrected");
    }

    #[test]
    fn archive_refuses_a_hostile_reference() {
        let tmp = tempfile::tempdir().expect("tempdir");
        for reference in ["", "../BE-1", "be-2026-1", "BE 2026"] {
            let mut package = package();
            package.reference = reference.to_owned();
            assert!(matches!(
                write_package(tmp.path(), &package),
                Err(ArchiveError::InvalidReference(_))
            ));
        }
        assert!(entries(tmp.path()).is_empty());
    }

    #[test]
    fn archive_file_names_are_sanitised() {
        assert_eq!(sanitise_file_name("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(sanitise_file_name("Bestätigung.pdf"), "Best_tigung.pdf");
        assert_eq!(sanitise_file_name(""), "file");
        assert_eq!(sanitise_file_name("."), "file");
        assert_eq!(sanitise_file_name(".."), "file");
        assert_eq!(sanitise_file_name("a-b_c.1"), "a-b_c.1");
        let long = format!("{}.pdf", "x".repeat(500));
        let short = sanitise_file_name(&long);
        assert_eq!(short.len(), MAX_FILE_NAME);
        assert!(short.ends_with("xx.pdf"));
    }

    #[test]
    fn archive_io_error_names_the_path() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let blocker = tmp.path().join("not-a-dir");
        fs::write(&blocker, b"x").expect("write");
        let error = write_package(&blocker, &package()).expect_err("dir is a file");
        assert!(error.to_string().contains("not-a-dir"), "{error}");
    }
}
