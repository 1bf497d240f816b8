//! Documents of a case: uploaded as multipart and streamed into encrypted storage, listed
//! with their versions, downloaded streamed after their integrity is checked, deleted softly
//! with a reason. Each category belongs to a field group of the access policy: a reader
//! whose view lacks it does not learn the document exists.

use axum::body::{Body, Bytes};
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use retour_domain::document::{self, DocumentCategory, clean_file_name, parse_description};
use retour_domain::event::EventType;
use retour_domain::governance::{ReasonInput, parse_reason};
use retour_domain::policy::{self, CaseView, Operation};
use retour_domain::{Actor, FieldError};
use retour_store::audit::{self, Outcome};
use retour_store::cases::{self, CaseHead};
use retour_store::documents::content::{ContentError, ContentReader, ContentWriter, Written};
use retour_store::documents::crypto::CHUNK_SIZE;
use retour_store::documents::objects::StoredObject;
use retour_store::documents::{self as store, NewDocument, StoredDocument};
use retour_store::events::NewEvent;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::request::{CaseRequest, CaseTx};
use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::path::Path;
use crate::routes::{Created, created};
use crate::{ApiError, AppState};

/// A document as its readers see it: every version is listed; a replaced one names its
/// successor, a deleted one who deleted it, when and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentResponse {
    pub id: Uuid,
    pub category: DocumentCategory,
    /// The type judged from the content's bytes.
    #[schema(example = "application/pdf")]
    pub media_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the content, hexadecimal.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
    /// 1 for a first upload; each replacement adds one.
    pub version: i32,
    /// The id of the series' first version, shared by every version.
    pub series_id: Uuid,
    /// The uploaded file's name, without directories.
    pub file_name: String,
    pub description: Option<String>,
    pub uploaded_at: DateTime<Utc>,
    /// The user who uploaded it.
    pub uploaded_by: Uuid,
    /// The newer version that replaced this one.
    pub superseded_by: Option<Uuid>,
    pub superseded_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub deleted_by: Option<Uuid>,
    pub deletion_reason: Option<String>,
}

impl DocumentResponse {
    fn new(d: StoredDocument, category: DocumentCategory) -> Self {
        DocumentResponse {
            id: d.id,
            category,
            media_type: d.media_type,
            size: d.size_bytes,
            sha256: hex::encode(&d.sha256),
            version: d.version,
            series_id: d.series_id,
            file_name: d.file_name,
            description: d.description,
            uploaded_at: d.uploaded_at,
            uploaded_by: d.uploaded_by,
            superseded_by: d.superseded_by,
            superseded_at: d.superseded_at,
            deleted_at: d.deleted_at,
            deleted_by: d.deleted_by,
            deletion_reason: d.deletion_reason,
        }
    }
}

/// The documents of a case the caller may see, every version.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentList {
    pub items: Vec<DocumentResponse>,
}

/// The multipart form of an upload. Fields may come in any order; the file streams. No other
/// field is taken (422 `unknown_field`).
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read field by field from the stream, described here for the document
pub struct DocumentUpload {
    /// The file: PDF, JPEG, PNG, TIFF or HEIC, judged from its bytes.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    category: DocumentCategory,
    /// What the document is (at most 2,000 characters).
    #[schema(max_length = 2000)]
    description: Option<String>,
    /// The document this upload replaces, as its next version (same category; it must be
    /// the current version).
    supersedes: Option<Uuid>,
}

/// A document's bytes, as they are served (a binary body of the document's media type).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // describes the streamed body for the document
pub struct DocumentContent(Vec<u8>);

/// The category of a stored document (the database checks the names).
fn category_of(document: &StoredDocument) -> Result<DocumentCategory, ApiError> {
    DocumentCategory::parse(&document.category).ok_or_else(|| {
        ApiError::internal(retour_store::StoreError::Corrupt {
            column: "documents.category",
            value: document.category.clone(),
        })
    })
}

/// The category of `document` when a reader with `view` may see it; `None` when the view
/// lacks its group, and the document is, for that reader, not there.
fn seen_category(
    view: &CaseView,
    document: &StoredDocument,
) -> Result<Option<DocumentCategory>, ApiError> {
    let category = category_of(document)?;
    Ok(view.allows(category.field_group()).then_some(category))
}

/// The document `document_id` of the case, locked for a change, with its category, when a
/// reader with `view` sees it; `None` when there is no such document for that reader.
async fn lock_seen(
    tx: &mut CaseTx,
    case_id: Uuid,
    document_id: Uuid,
    view: &CaseView,
) -> Result<Option<(StoredDocument, DocumentCategory)>, ApiError> {
    let Some(document) = store::lock_document(tx, case_id, document_id).await? else {
        return Ok(None);
    };
    Ok(seen_category(view, &document)?.map(|category| (document, category)))
}

/// The categories a reader with `view` may see.
fn visible_categories(view: &CaseView) -> Vec<DocumentCategory> {
    DocumentCategory::ALL.into_iter().filter(|c| view.allows(c.field_group())).collect()
}

/// The case's head, read without a lock, for a request that only reads.
async fn head_of(state: &AppState, id: Uuid) -> Result<Option<CaseHead>, ApiError> {
    let mut conn = state.store().pool().acquire().await.map_err(retour_store::StoreError::from)?;
    Ok(cases::case_head(&mut conn, id).await?)
}

/// List a case's documents
///
/// Every version of the documents of the categories the caller's view holds (the others are
/// not mentioned), by series and version. Reading the list is logged.
#[utoipa::path(get, path = "/v1/cases/{id}/documents", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    responses(
        (status = 200, description = "The documents", body = DocumentList),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn list_documents(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<DocumentList>, ApiError> {
    let request = CaseRequest::new(&state, &caller, id, "document.list");
    let head = head_of(&state, id).await?;
    request.authorize(Operation::ReadCase, head.map(|h| h.facts()).as_ref()).await?;
    let categories = visible_categories(&policy::case_view(&caller.actor));
    let names: Vec<String> = categories.iter().map(|c| c.as_str().to_owned()).collect();
    let stored = store::list_documents(state.store().pool(), id, &names).await?;
    let mut items = Vec::with_capacity(stored.len());
    for document in stored {
        let category = category_of(&document)?;
        items.push(DocumentResponse::new(document, category));
    }
    let event = request.allowed().details(serde_json::json!({ "documents": items.len() }));
    state.store().log(&event).await?;
    Ok(Json(DocumentList { items }))
}

/// The bytes of a file's start from which its type is judged.
const SNIFF: usize = 8 * 1024;

/// The type of a file judged from its first bytes; 415 unless it is an accepted one.
fn judge(start: &[u8]) -> Result<&'static str, ApiError> {
    let detected = infer::get(start).map_or("application/octet-stream", |t| t.mime_type());
    if document::accepted_media_type(detected) {
        Ok(detected)
    } else {
        Err(ApiError::Document {
            code: ProblemCode::DocumentTypeNotAccepted,
            detail: format!(
                "the file's content is {detected}; documents are PDF, JPEG, PNG, TIFF or HEIC"
            ),
        })
    }
}

fn multipart_error(error: MultipartError) -> ApiError {
    if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::BadRequest(format!("the multipart body cannot be read: {}", error.body_text()))
    }
}

fn content_error(error: ContentError) -> ApiError {
    match error {
        ContentError::TooLarge(max) => ApiError::Document {
            code: ProblemCode::DocumentTooLarge,
            detail: format!("file: the document is larger than {max} bytes, the most accepted"),
        },
        ContentError::Store(e) => e.into(),
        ContentError::Object(error) => {
            tracing::error!(%error, "the document store failed");
            ApiError::Unavailable(
                "the document store cannot be reached or refused the request; retry shortly"
                    .to_owned(),
            )
        }
        ContentError::NoObjectStore => ApiError::Unavailable(
            "the document is kept in an object store and this installation configures none \
             (RETOUR_S3_BUCKET)"
                .to_owned(),
        ),
        other => ApiError::internal(other),
    }
}

/// The longest text field of the form, in bytes.
const MAX_FIELD: usize = 16 * 1024;

/// A text field of the form, read with a bound (the file is the only large part).
async fn text_field(field: &mut Field<'_>, name: &str) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_FIELD {
            return Err(ApiError::validation(
                name,
                "too_long",
                format!("{name} must be at most {MAX_FIELD} bytes"),
            ));
        }
    }
    String::from_utf8(bytes).map_err(|_| {
        ApiError::validation(name, "invalid_value", format!("{name} must be UTF-8 text"))
    })
}

/// What the form said besides the file.
#[derive(Default)]
struct Form {
    category: Option<String>,
    description: Option<String>,
    supersedes: Option<String>,
}

impl Form {
    fn category(&self) -> Option<DocumentCategory> {
        self.category.as_deref().and_then(DocumentCategory::parse)
    }
}

/// The file as it was stored.
struct Upload {
    written: Written,
    media_type: &'static str,
    file_name: Option<String>,
}

/// Streams the file into `tx` (or the object store): judged from its first bytes, encrypted
/// segment by segment. A refused or failed file leaves nothing in the object store.
async fn store_file(
    state: &AppState,
    tx: &mut CaseTx,
    field: &mut Field<'_>,
    case_id: Uuid,
    document_id: Uuid,
) -> Result<Upload, ApiError> {
    let config = &state.config().documents;
    let keys = state.master_keys("documents cannot be stored or read")?;
    let file_name = field.file_name().and_then(clean_file_name);
    let mut writer =
        ContentWriter::new(document_id, case_id, keys, &config.storage, config.max_bytes)
            .map_err(content_error)?;
    match stream_file(tx, field, &mut writer).await {
        Ok(media_type) => {
            let written = writer.finish(tx).await.map_err(content_error)?;
            Ok(Upload { written, media_type, file_name })
        }
        Err(error) => {
            writer.abort().await;
            Err(error)
        }
    }
}

/// Feeds the file to `writer`; its type judged from its first bytes.
async fn stream_file(
    tx: &mut CaseTx,
    field: &mut Field<'_>,
    writer: &mut ContentWriter,
) -> Result<&'static str, ApiError> {
    let mut start = Vec::with_capacity(SNIFF);
    let mut media_type = None;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if media_type.is_some() {
            writer.write(tx, &chunk).await.map_err(content_error)?;
            continue;
        }
        start.extend_from_slice(&chunk);
        if start.len() >= SNIFF {
            media_type = Some(judge(&start)?);
            writer.write(tx, &std::mem::take(&mut start)).await.map_err(content_error)?;
        }
    }
    match media_type {
        Some(judged) => Ok(judged),
        None => {
            let judged = judge(&start)?;
            writer.write(tx, &start).await.map_err(content_error)?;
            Ok(judged)
        }
    }
}

/// Whether the caller may file `category` on the case as it stands (unlocked): asked
/// before the file is read, so that a refused upload is not streamed first. The decision
/// that counts is taken again under the case's lock.
async fn precheck(
    request: &CaseRequest<'_>,
    head: &Option<CaseHead>,
    category: DocumentCategory,
) -> Result<(), ApiError> {
    request
        .authorize(Operation::FileDocument(category), head.as_ref().map(|h| h.facts()).as_ref())
        .await
}

/// Upload a document
///
/// A `multipart/form-data` body with `file`, `category` and optionally `description` and
/// `supersedes` (to upload a new version of a document). The file streams into storage,
/// encrypted; its type is judged from its bytes (PDF, JPEG, PNG, TIFF, HEIC; anything else
/// 415 naming the detected type), and it may be at most the installation's largest document
/// (20 MB by default; 413 beyond). Who files which category in which status: see the
/// README's document table (403 for a role that never may, 409 `document_not_fileable` in a
/// status where it may not). `submit` needs a `return_request` where the installation says
/// so (the default).
#[utoipa::path(post, path = "/v1/cases/{id}/documents", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    request_body(content = DocumentUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The document", body = DocumentResponse,
            headers(("Location" = String, description = "The document's content"))),
        (status = 400, description = "The multipart body cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller's role does not file documents of this category", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope, or no such document to replace", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`document_not_fileable` in this status, `document_not_current` when replacing an older or deleted version, `transfer_pending`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`document_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`document_type_not_accepted` naming the detected type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming `file`, `category`, `description` or `supersedes`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The installation has no master key for documents, or their object store cannot be reached", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn upload_document(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Created<DocumentResponse>, ApiError> {
    let actor = &caller.actor;
    let request = CaseRequest::new(&state, &caller, id, "document.upload");
    state.master_keys("documents cannot be stored or read")?;
    // Nothing is read of a case the caller may not see.
    let head = head_of(&state, id).await?;
    request.authorize(Operation::ReadCase, head.as_ref().map(|h| h.facts()).as_ref()).await?;
    let multipart = multipart.map_err(|rejection| {
        ApiError::BadRequest(format!(
            "send multipart/form-data with `file` and `category`: {}",
            rejection.body_text()
        ))
    })?;
    // The object of an upload refused after it was stored is deleted; one whose record may
    // have been committed is kept.
    let mut object = None;
    let received = receive(&state, &request, actor, id, &head, multipart, &mut object).await;
    if received.is_err()
        && let Some(object) = object.take()
    {
        object.discard().await;
    }
    received
}

/// The rest of an upload: reads the form, stores the file, records the document. The object
/// the file went to, if any, is left in `object` until the record is committed.
async fn receive(
    state: &AppState,
    request: &CaseRequest<'_>,
    actor: &Actor,
    id: Uuid,
    head: &Option<CaseHead>,
    mut multipart: Multipart,
    object: &mut Option<StoredObject>,
) -> Result<Created<DocumentResponse>, ApiError> {
    let mut tx = state.store().begin().await?;
    let document_id = Uuid::now_v7();
    let mut form = Form::default();
    let mut upload = None;
    let mut errors: Vec<FieldError> = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" if upload.is_none() => {
                if let Some(category) = form.category()
                    && let Err(refused) = precheck(request, head, category).await
                {
                    tx.rollback().await?;
                    return Err(refused);
                }
                let mut stored = store_file(state, &mut tx, &mut field, id, document_id).await?;
                *object = stored.written.object.take();
                upload = Some(stored);
            }
            "category" if form.category.is_none() => {
                form.category = Some(text_field(&mut field, "category").await?);
            }
            "description" if form.description.is_none() => {
                form.description = Some(text_field(&mut field, "description").await?);
            }
            "supersedes" if form.supersedes.is_none() => {
                form.supersedes = Some(text_field(&mut field, "supersedes").await?);
            }
            "file" | "category" | "description" | "supersedes" => errors.push(FieldError::new(
                name.clone(),
                "duplicate_field",
                format!("{name} is given more than once"),
            )),
            _ => errors.push(FieldError::new(
                name.clone(),
                "unknown_field",
                format!(
                    "{name} is not a field of an upload (file, category, description, supersedes)"
                ),
            )),
        }
    }
    let category = match form.category.as_deref() {
        None => {
            errors.push(FieldError::new("category", "required", "category is required"));
            None
        }
        Some(given) => {
            let parsed = DocumentCategory::parse(given);
            if parsed.is_none() {
                let names: Vec<&str> = DocumentCategory::ALL.iter().map(|c| c.as_str()).collect();
                errors.push(FieldError::new(
                    "category",
                    "invalid_value",
                    format!("category must be one of {}", names.join(", ")),
                ));
            }
            parsed
        }
    };
    let description = match form.description.as_deref().map(parse_description) {
        Some(Ok(description)) => description,
        Some(Err(error)) => {
            errors.push(error);
            None
        }
        None => None,
    };
    // Exactly the hyphenated form the schema's `uuid` format names; an empty field is not "no
    // predecessor" (leave the field out for a first version).
    let supersedes = match form.supersedes.as_deref() {
        Some(given) => match Uuid::try_parse(given).ok().filter(|_| given.len() == 36) {
            Some(id) => Some(id),
            None => {
                errors.push(FieldError::new(
                    "supersedes",
                    "invalid_value",
                    "supersedes must be the id (a UUID) of the document this one replaces",
                ));
                None
            }
        },
        None => None,
    };
    if upload.is_none() {
        errors.push(FieldError::new(
            "file",
            "required",
            "file is required: the document's content",
        ));
    }
    let (Some(category), Some(upload), true) = (category, upload, errors.is_empty()) else {
        tx.rollback().await?;
        return Err(ApiError::Validation(errors));
    };
    let (mut tx, _): (_, CaseHead) = request.lock_in(tx, Operation::FileDocument(category)).await?;
    let (series_id, version) = match supersedes {
        None => (document_id, 1),
        Some(previous) => {
            let replaced = replaced(&mut tx, id, actor, previous, category).await;
            match replaced {
                Ok(found) => found,
                Err(error) => return Err(request.deny_in(tx, error).await),
            }
        }
    };
    let file_name = upload.file_name.unwrap_or_else(|| {
        format!("{}.{}", category.as_str(), document::extension_of(upload.media_type))
    });
    let written = &upload.written;
    // The predecessor stops being current first: one current version per series.
    if let Some(previous) = supersedes {
        store::supersede(&mut tx, previous, document_id).await?;
    }
    let stored = store::insert_document(
        &mut tx,
        &NewDocument {
            id: document_id,
            case_id: id,
            series_id,
            version,
            category: category.as_str(),
            description: description.as_deref(),
            file_name: &file_name,
            media_type: upload.media_type,
            size_bytes: i64::try_from(written.size).unwrap_or(i64::MAX),
            sha256: &written.sha256,
            storage: state.config().documents.storage.as_str(),
            chunk_size: i32::try_from(CHUNK_SIZE).unwrap_or(i32::MAX),
            key_id: &written.key_id,
            wrapped_key: &written.wrapped_key,
            nonce: &written.nonce,
            uploaded_by: actor.id,
            uploaded_by_institution: actor.institution_id,
        },
    )
    .await?;
    let added = NewEvent::new(EventType::DocumentAdded, id, Some(actor.institution_id))
        .group(EventType::document_group(category))
        .data(serde_json::json!({
            "document_id": document_id,
            "category": category,
            "version": version,
            "supersedes": supersedes,
        }));
    request.announce_as(&mut tx, added).await?;
    let event = request.allowed().details(serde_json::json!({
        "document_id": document_id,
        "category": category,
        "version": version,
        "size": written.size,
        "supersedes": supersedes,
    }));
    audit::record(&mut *tx, &event).await?;
    // A failed commit may yet have committed: the object is kept rather than risk a record
    // without content (an orphan object is only storage).
    if let Some(object) = object.take() {
        object.keep();
    }
    tx.commit().await?;
    Ok(created(
        format!("/v1/cases/{id}/documents/{document_id}/content"),
        DocumentResponse::new(stored, category),
    ))
}

/// The series and next version of the document `previous` an upload replaces: of this case,
/// visible to the caller, of the same category, the current version.
async fn replaced(
    tx: &mut CaseTx,
    case_id: Uuid,
    actor: &Actor,
    previous: Uuid,
    category: DocumentCategory,
) -> Result<(Uuid, i32), ApiError> {
    let view = policy::case_view(actor);
    let (old, old_category) =
        lock_seen(tx, case_id, previous, &view).await?.ok_or(ApiError::NotFound)?;
    if old_category != category {
        return Err(ApiError::validation(
            "supersedes",
            "category_differs",
            format!(
                "supersedes names a document of category {}; a new version keeps the category",
                old.category
            ),
        ));
    }
    if !old.is_current() {
        return Err(not_current());
    }
    Ok((old.series_id, old.version + 1))
}

fn not_current() -> ApiError {
    ApiError::Conflict {
        code: ProblemCode::DocumentNotCurrent,
        detail: "the document was replaced by a newer version or deleted; only the current \
                 version is replaced or deleted"
            .to_owned(),
    }
}

/// A file name for `Content-Disposition` (RFC 6266): an ASCII fallback and the exact name
/// percent-encoded in UTF-8 (RFC 8187, which replaced RFC 5987).
fn content_disposition(file_name: &str) -> HeaderValue {
    const ATTR: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    let fallback: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '%') || c == ' ' { c } else { '_' }
        })
        .collect();
    let encoded = utf8_percent_encode(file_name, ATTR);
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

/// Download a document
///
/// The content, streamed, as an attachment with the uploaded file's name. The whole content
/// is authenticated (its encryption's tags, its length and SHA-256) before the first byte is
/// sent: a document changed in storage answers 500 `document_integrity` and is logged. A
/// deleted document answers 410. A document of a category the caller's view lacks answers
/// 404, as one that does not exist.
#[utoipa::path(get, path = "/v1/cases/{id}/documents/{document_id}/content", tag = "cases",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The case id"),
        ("document_id" = Uuid, Path, description = "The document id"),
    ),
    responses(
        (status = 200, description = "The document's content, as the type judged at upload",
            content(
                (DocumentContent = "application/pdf"), (DocumentContent = "image/jpeg"),
                (DocumentContent = "image/png"), (DocumentContent = "image/tiff"),
                (DocumentContent = "image/heic"), (DocumentContent = "image/heif"),
            ),
            headers(
                ("Content-Disposition" = String, description = "`attachment` with the file's name"),
                ("Content-Security-Policy" = String, description = "`sandbox; default-src 'none'`"),
            )),
        (status = 404, description = "No such case within the caller's scope, or no such document the caller may see", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "`document_deleted`", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`document_integrity`: the stored content was changed", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The installation has no master key for documents, or their object store cannot be reached", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn get_document_content(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, document_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let request = CaseRequest::new(&state, &caller, id, "document.download");
    let mut conn = state.store().pool().acquire().await.map_err(retour_store::StoreError::from)?;
    let head = cases::case_head(&mut conn, id).await?;
    request.authorize(Operation::ReadCase, head.map(|h| h.facts()).as_ref()).await?;
    let view = policy::case_view(&caller.actor);
    let found = store::find_document(&mut conn, id, document_id).await?;
    drop(conn);
    let Some(document) = found else {
        return Err(request.deny(ApiError::NotFound).await);
    };
    let Some(category) = seen_category(&view, &document)? else {
        return Err(request.deny(ApiError::NotFound).await);
    };
    if document.deleted_at.is_some() {
        return Err(ApiError::Document {
            code: ProblemCode::DocumentDeleted,
            detail: "the document was deleted; the case's document list says when and why"
                .to_owned(),
        });
    }
    let keys = state.master_keys("documents cannot be stored or read")?;
    let details = serde_json::json!({
        "document_id": document.id, "category": category, "version": document.version,
    });
    let pool = state.store().pool().clone();
    let objects = state.config().documents.objects();
    let verified = match ContentReader::new(document.clone(), keys, objects) {
        Ok(reader) => reader.verify(&pool).await,
        Err(error) => Err(error),
    };
    if let Err(error) = verified {
        // The storage failed, not the content: not an integrity failure.
        if let ContentError::Store(_) | ContentError::Object(_) | ContentError::NoObjectStore =
            error
        {
            return Err(content_error(error));
        }
        tracing::error!(%document_id, case_id = %id, %error, "a document failed its integrity check");
        let mut failed = details.clone();
        failed["integrity"] = serde_json::json!("failed");
        let event =
            caller.event("document.download", Outcome::Denied).resource("case", id).details(failed);
        state.store().log(&event).await?;
        return Err(ApiError::Document {
            code: ProblemCode::DocumentIntegrity,
            detail: "the document failed its integrity check: it was changed in storage; \
                     nothing of it was sent"
                .to_owned(),
        });
    }
    let event = request.allowed().details(details);
    state.store().log(&event).await?;
    let media_type = HeaderValue::from_str(&document.media_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = content_disposition(&document.file_name);
    let size = document.size_bytes;
    let reader = ContentReader::new(document, keys, objects).map_err(content_error)?;
    let stream =
        futures_util::stream::try_unfold((reader, pool), |(mut reader, pool)| async move {
            match reader.next(&pool).await {
                Ok(Some(bytes)) => Ok(Some((Bytes::from(bytes), (reader, pool)))),
                Ok(None) => Ok(None),
                Err(error) => {
                    // Changed between the check and the sending: the connection is cut, so the
                    // client sees an incomplete body, never a changed one.
                    tracing::error!(%error, "a document failed its integrity check while sent");
                    Err(error)
                }
            }
        });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, media_type);
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(response)
}

/// Delete a document
///
/// Withdraws the current version of a document with a reason (`{ "reason" }`): it is no
/// longer served and stays stored, listed with who deleted it, when and why, until the case's
/// retention ends. Who may delete a category is who may file it in the case's status.
#[utoipa::path(delete, path = "/v1/cases/{id}/documents/{document_id}", tag = "cases",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The case id"),
        ("document_id" = Uuid, Path, description = "The document id"),
    ),
    request_body = ReasonInput,
    responses(
        (status = 200, description = "The deleted document", body = DocumentResponse),
        (status = 403, description = "The caller's role does not file documents of this category", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope, or no such document the caller may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`document_not_current`, `document_not_fileable`, `transfer_pending`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `reason` is required", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn delete_document(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, document_id)): Path<(Uuid, Uuid)>,
    Json(input): Json<ReasonInput>,
) -> Result<Json<DocumentResponse>, ApiError> {
    let actor = &caller.actor;
    let request = CaseRequest::new(&state, &caller, id, "document.delete");
    let (mut tx, head): (_, CaseHead) = request.lock(Operation::ReadCase).await?;
    let view = policy::case_view(actor);
    let Some((document, category)) = lock_seen(&mut tx, id, document_id, &view).await? else {
        return Err(request.deny_in(tx, ApiError::NotFound).await);
    };
    // The case is locked already: its head decides, without locking it again.
    if let Err(refused) =
        request.authorize(Operation::FileDocument(category), Some(&head.facts())).await
    {
        tx.rollback().await?;
        return Err(refused);
    }
    if !document.is_current() {
        tx.rollback().await?;
        return Err(not_current());
    }
    let reason = match parse_reason(&input) {
        Ok(reason) => reason,
        Err(errors) => {
            tx.rollback().await?;
            return Err(ApiError::Validation(errors));
        }
    };
    let deleted = store::delete_document(&mut tx, document_id, actor.id, &reason).await?;
    let gone = NewEvent::new(EventType::DocumentDeleted, id, Some(actor.institution_id))
        .group(EventType::document_group(category))
        .data(serde_json::json!({ "document_id": document_id, "category": category }));
    request.announce_as(&mut tx, gone).await?;
    let event = request.allowed().details(serde_json::json!({
        "document_id": document_id, "category": category, "version": deleted.version,
    }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(Json(DocumentResponse::new(deleted, category)))
}
