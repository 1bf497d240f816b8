//! The retention run and the archive offer: every ended case past its retention (and under
//! no legal hold) is offered to the archive as a package (see `retour_store::archive`), then
//! destroyed, one case per transaction. `retour retention run` runs it once; the server runs
//! it daily. `retour archive export` writes one case's package without destroying it.
//!
//! Processes may run side by side: each takes the cases it destroys with `skip locked`, so
//! no case is offered or destroyed twice, and a second run finds nothing left to do.

use std::path::PathBuf;

use chrono::{NaiveDate, Utc};
use retour_domain::policy::{CaseScope, CaseView};
use retour_store::archive::{self, ArchiveDocument, ArchiveError, Package, Receipt};
use retour_store::audit::{self, AuditActor, AuditEvent, Outcome};
use retour_store::cases::{self, CaseRead};
use retour_store::documents::StoredDocument;
use retour_store::documents::content::{ContentError, ContentReader};
use retour_store::documents::crypto::MasterKeys;
use retour_store::documents::objects::ObjectStorage;
use retour_store::lifecycle::{self, DueCase};
use retour_store::workflow::EventsRead;
use retour_store::{Store, StoreError};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::routes::cases::consents::ConsentResponse;
use crate::routes::cases::dto::CaseResponse;

/// Where packages go and what reads the documents into them.
#[derive(Clone)]
pub struct Archive {
    /// The directory the packages are written to (one directory per package).
    pub dir: PathBuf,
    /// The documents' master keys (a case with documents cannot be offered without them).
    pub keys: Option<MasterKeys>,
    /// The object store, for documents kept there.
    pub objects: Option<ObjectStorage>,
    /// The institution that offers the packages, as the archive knows it.
    pub submitter: String,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("dir", &self.dir)
            .field("submitter", &self.submitter)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a document could not be read for the archive: {0}")]
    Content(#[from] ContentError),
    #[error("the archive package could not be written: {0}")]
    Archive(#[from] ArchiveError),
    #[error(
        "the case has documents and RETOUR_DOCUMENT_KEYS is not set: they cannot be read for the archive"
    )]
    NoKeys,
    #[error("the case could not be written as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("there is no case {0}")]
    NoSuchCase(Uuid),
}

impl From<sqlx::Error> for LifecycleError {
    fn from(error: sqlx::Error) -> Self {
        LifecycleError::Store(error.into())
    }
}

/// What one retention run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    pub as_of: Option<NaiveDate>,
    /// The ended cases past their retention, held ones included.
    pub due: usize,
    /// Of those, kept by a legal hold.
    pub held: usize,
    /// Offered to the archive and destroyed by this run: (case id, reference, package).
    pub destroyed: Vec<(Uuid, String, PathBuf)>,
    /// Failed (logged, and tried again at the next run).
    pub failed: usize,
    /// Why each failed case failed.
    pub errors: Vec<(Uuid, String)>,
}

/// The cases a run on `as_of` would destroy, and those a legal hold keeps: nothing changes.
pub async fn preview(store: &Store, as_of: NaiveDate) -> Result<Vec<DueCase>, LifecycleError> {
    Ok(lifecycle::due_cases(store.pool(), as_of).await?)
}

/// Offers every ended case past its retention on `as_of` (and under no legal hold) to the
/// archive, then destroys it, each in its own transaction. A case that fails is rolled back,
/// logged and left for the next run; the others go on.
pub async fn run(
    store: &Store,
    archive: &Archive,
    as_of: NaiveDate,
) -> Result<RunReport, LifecycleError> {
    let due = lifecycle::due_cases(store.pool(), as_of).await?;
    let mut report = RunReport {
        as_of: Some(as_of),
        due: due.len(),
        held: due.iter().filter(|case| case.held).count(),
        ..RunReport::default()
    };
    // Cases that failed in this run are not taken again by it.
    let mut failed: Vec<Uuid> = Vec::new();
    loop {
        let mut tx = store.begin().await?;
        let Some(case) = lifecycle::claim_due_case(&mut tx, as_of, &failed).await? else {
            tx.rollback().await?;
            break;
        };
        match destroy(store, &mut tx, archive, &case).await {
            Ok((receipt, objects)) => {
                tx.commit().await?;
                delete_objects(archive.objects.as_ref(), case.case_id, &objects).await;
                tracing::info!(case = %case.case_id, reference = %case.reference,
                    package = %receipt.path.display(), "offered to the archive and destroyed");
                report.destroyed.push((case.case_id, case.reference.clone(), receipt.path));
            }
            Err(error) => {
                tx.rollback().await?;
                tracing::error!(case = %case.case_id, %error,
                    "the case could not be offered to the archive; it is kept until the next run");
                failed.push(case.case_id);
                report.failed += 1;
                report.errors.push((case.case_id, error.to_string()));
            }
        }
    }
    Ok(report)
}

/// Offers `case` (locked in `tx`) to the archive and destroys it within `tx`.
async fn destroy(
    store: &Store,
    tx: &mut PgConnection,
    archive: &Archive,
    case: &DueCase,
) -> Result<(Receipt, Vec<Uuid>), LifecycleError> {
    let receipt = offer(store, tx, archive, case.case_id).await?;
    let package = receipt
        .path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let system = AuditActor::system();
    let offered = AuditEvent::new(system.clone(), "case.archive_offered", Outcome::Allowed)
        .resource("case", case.case_id)
        .details(serde_json::json!({
            "reference": case.reference, "package": package,
            "manifest_sha256": receipt.manifest_sha256, "files": receipt.files,
        }));
    audit::record(&mut *tx, &offered).await?;
    let destroyed =
        lifecycle::destroy_case(&mut *tx, case, &package, &receipt.manifest_sha256).await?;
    let event = AuditEvent::new(system, "case.destroyed", Outcome::Allowed)
        .resource("case", case.case_id)
        .details(serde_json::json!({
            "reference": case.reference, "end_state": case.end_state,
            "ended_at": case.ended_at, "retention_years": case.retention_years,
            "documents": destroyed.documents,
        }));
    audit::record(&mut *tx, &event).await?;
    Ok((receipt, destroyed.objects))
}

/// Deletes a destroyed case's objects from the object store. Their data keys are gone with
/// the case, so an object left behind (the store unreachable) is unreadable; it is logged.
async fn delete_objects(objects: Option<&ObjectStorage>, case_id: Uuid, ids: &[Uuid]) {
    let Some(objects) = objects else {
        if !ids.is_empty() {
            tracing::warn!(case = %case_id, objects = ids.len(),
                "no object store is configured: the destroyed case's objects stay, unreadable");
        }
        return;
    };
    for id in ids {
        if let Err(error) = objects.delete_document(case_id, *id).await {
            tracing::warn!(case = %case_id, document = %id, %error,
                "a destroyed case's object could not be deleted; it stays, unreadable");
        }
    }
}

/// Writes the archive package of case `case_id` (read in `conn`) without changing anything.
pub async fn offer(
    store: &Store,
    conn: &mut PgConnection,
    archive: &Archive,
    case_id: Uuid,
) -> Result<Receipt, LifecycleError> {
    // The documents' records go into the case's JSON, their content beside it: read once.
    let stored = all_documents(store, case_id).await?;
    let record = case_record_with(store, conn, case_id, &stored).await?;
    let head = &record.head;
    let documents = read_documents(store, archive, stored).await?;
    let ended_at = head.closed_at.or(head.decided_at).unwrap_or_else(Utc::now);
    let package = Package {
        case_id,
        reference: head.reference.clone(),
        end_state: head.status.as_str().to_owned(),
        opened_on: head.created_at.date_naive(),
        ended_at,
        submitted_at: Utc::now(),
        submitter: archive.submitter.clone(),
        case_json: serde_json::to_value(&record)?,
        documents,
    };
    let dir = archive.dir.clone();
    let receipt = tokio::task::spawn_blocking(move || archive::write_package(&dir, &package))
        .await
        .map_err(|error| ArchiveError::Io {
            path: archive.dir.clone(),
            source: std::io::Error::other(error),
        })??;
    Ok(receipt)
}

/// Everything about a case, as the archive and a person's data export show it: the case
/// with every part, every note, the history with its comments, the consents and the
/// documents' records.
#[derive(Debug, serde::Serialize)]
pub struct CaseRecord {
    #[serde(skip)]
    pub head: cases::CaseHead,
    pub case: CaseResponse,
    pub notes: Vec<lifecycle::ArchivedNote>,
    pub history: Vec<retour_domain::records::CaseEvent>,
    pub consents: Vec<ConsentResponse>,
    pub documents: Vec<DocumentRecord>,
}

/// A document's record (not its content).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DocumentRecord {
    pub id: Uuid,
    pub category: String,
    pub version: i32,
    pub file_name: String,
    pub description: Option<String>,
    pub media_type: String,
    pub size_bytes: i64,
    pub uploaded_at: chrono::DateTime<Utc>,
    pub deleted_at: Option<chrono::DateTime<Utc>>,
}

/// Reads everything about case `case_id`.
pub async fn case_record(
    store: &Store,
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<CaseRecord, LifecycleError> {
    let documents = all_documents(store, case_id).await?;
    case_record_with(store, conn, case_id, &documents).await
}

/// [`case_record`] with the case's `documents` (every version) read already.
async fn case_record_with(
    store: &Store,
    conn: &mut PgConnection,
    case_id: Uuid,
    documents: &[StoredDocument],
) -> Result<CaseRecord, LifecycleError> {
    let CaseRead::Visible(case) =
        cases::read_case(conn, case_id, CaseScope::Case(case_id), &CaseView::FULL).await?
    else {
        return Err(LifecycleError::NoSuchCase(case_id));
    };
    let notes = lifecycle::all_notes(conn, case_id).await?;
    let history = match store.read_case_events(case_id, CaseScope::Case(case_id), &[]).await? {
        EventsRead::Visible { events, .. } => events,
        EventsRead::OutOfScope | EventsRead::Missing => Vec::new(),
    };
    let consents = lifecycle::list_consents(conn, case_id)
        .await?
        .into_iter()
        .map(ConsentResponse::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let documents = documents
        .iter()
        .map(|d| DocumentRecord {
            id: d.id,
            category: d.category.clone(),
            version: d.version,
            file_name: d.file_name.clone(),
            description: d.description.clone(),
            media_type: d.media_type.clone(),
            size_bytes: d.size_bytes,
            uploaded_at: d.uploaded_at,
            deleted_at: d.deleted_at,
        })
        .collect();
    let head = case.head.clone();
    Ok(CaseRecord {
        head,
        case: CaseResponse::new(*case, &CaseView::FULL, Vec::new()),
        notes,
        history,
        consents,
        documents,
    })
}

async fn all_documents(store: &Store, case_id: Uuid) -> Result<Vec<StoredDocument>, StoreError> {
    let categories: Vec<String> = retour_domain::document::DocumentCategory::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    retour_store::documents::list_documents(store.pool(), case_id, &categories).await
}

/// The content of every document of `documents` that is not deleted.
async fn read_documents(
    store: &Store,
    archive: &Archive,
    documents: Vec<StoredDocument>,
) -> Result<Vec<ArchiveDocument>, LifecycleError> {
    let documents: Vec<_> = documents.into_iter().filter(|d| d.deleted_at.is_none()).collect();
    if documents.is_empty() {
        return Ok(Vec::new());
    }
    let keys = archive.keys.as_ref().ok_or(LifecycleError::NoKeys)?;
    let mut read = Vec::with_capacity(documents.len());
    for document in documents {
        let mut bytes = Vec::with_capacity(usize::try_from(document.size_bytes).unwrap_or(0));
        let entry = ArchiveDocument {
            id: document.id,
            category: document.category.clone(),
            file_name: document.file_name.clone(),
            media_type: document.media_type.clone(),
            version: document.version,
            uploaded_at: document.uploaded_at,
            bytes: Vec::new(),
        };
        let mut reader = ContentReader::new(document, keys, archive.objects.as_ref())?;
        while let Some(piece) = reader.next(store.pool()).await? {
            bytes.extend_from_slice(&piece);
        }
        read.push(ArchiveDocument { bytes, ..entry });
    }
    Ok(read)
}

/// Writes the archive package of one case now (`retour archive export`), without
/// destroying it; the export is in the access log.
pub async fn export(
    store: &Store,
    archive: &Archive,
    case_id: Uuid,
) -> Result<Receipt, LifecycleError> {
    let mut conn = store.pool().acquire().await?;
    let receipt = offer(store, &mut conn, archive, case_id).await?;
    let event = AuditEvent::new(AuditActor::system(), "case.archive_exported", Outcome::Allowed)
        .resource("case", case_id)
        .details(serde_json::json!({
            "package": receipt.path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "manifest_sha256": receipt.manifest_sha256, "files": receipt.files,
        }));
    audit::record(&mut *conn, &event).await?;
    Ok(receipt)
}

/// The id of the case a reference or an id names (`--case`).
pub async fn find_case(store: &Store, case: &str) -> Result<Uuid, LifecycleError> {
    if let Ok(id) = Uuid::parse_str(case.trim()) {
        return Ok(id);
    }
    lifecycle::case_id_by_reference(store.pool(), case.trim())
        .await?
        .ok_or(LifecycleError::Store(StoreError::NotFound))
}
