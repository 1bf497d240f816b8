//! Notes on a case: appended, never changed; each visible to the author's institution or to
//! everyone who may see the case.

use axum::extract::State;
use retour_domain::case::{NoteInput, parse_note};
use retour_domain::policy::{self, Operation};
use retour_store::audit;
use retour_store::cases::{self, CaseHead, NotesRead};
use uuid::Uuid;

use super::dto::{NoteList, NoteResponse};
use super::request::CaseRequest;
use crate::auth::Caller;
use crate::error::Problem;
use crate::json::Json;
use crate::path::Path;
use crate::routes::{Created, created};
use crate::{ApiError, AppState};

/// List a case's notes
///
/// The notes of a case the caller may read: the shared ones and those of their own
/// institution, oldest first.
#[utoipa::path(get, path = "/v1/cases/{id}/notes", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    responses(
        (status = 200, description = "The notes", body = NoteList),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn list_notes(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<NoteList>, ApiError> {
    let actor = &caller.actor;
    let request = CaseRequest::new(&state, &caller, id, "case.notes_read");
    let read =
        state.store().read_case_notes(id, policy::case_scope(actor), actor.institution_id).await?;
    let (facts, notes) = match read {
        NotesRead::Visible { head, notes } => (Some(head.facts()), notes),
        NotesRead::OutOfScope | NotesRead::Missing => (None, Vec::new()),
    };
    request.authorize(Operation::ReadCase, facts.as_ref()).await?;
    let event = request.allowed().details(serde_json::json!({ "notes": notes.len() }));
    state.store().log(&event).await?;
    Ok(Json(NoteList { items: notes.into_iter().map(NoteResponse::from).collect() }))
}

/// Add a note to a case
///
/// Add a note to a case the caller works on. `visibility` `institution` (the default) keeps
/// it within the author's institution; `shared` shows it to everyone who may see the case.
/// Notes are never changed or deleted.
#[utoipa::path(post, path = "/v1/cases/{id}/notes", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    request_body = NoteInput,
    responses(
        (status = 201, description = "The note", body = NoteResponse,
            headers(("Location" = String, description = "The case's notes, where the note is read"))),
        (status = 403, description = "Integrations (service accounts) do not write notes", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`transfer_pending`: the counselling service is handing the case to another", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid field", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn add_note(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(input): Json<NoteInput>,
) -> Result<Created<NoteResponse>, ApiError> {
    let actor = &caller.actor;
    let request = CaseRequest::new(&state, &caller, id, "case.note_add");
    let (mut tx, _): (_, CaseHead) = request.lock(Operation::AddNote).await?;
    let note = parse_note(&input).map_err(ApiError::Validation)?;
    let stored = cases::insert_note(&mut tx, id, actor.id, actor.institution_id, &note).await?;
    let event = request
        .allowed()
        .details(serde_json::json!({ "note_id": stored.id, "visibility": note.visibility }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(created(format!("/v1/cases/{id}/notes"), stored.into()))
}
