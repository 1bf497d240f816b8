//! The persons' consents to each purpose of processing: recorded by the counselling service
//! or IOM Bern with the signed information sheet, read by them and SEM, and withdrawn (the
//! withdrawal is recorded; the consent is kept).

use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use retour_domain::lifecycle::{
    ConsentInput, ConsentMethod, ConsentPurpose, WithdrawalInput, parse_consent, parse_withdrawal,
};
use retour_domain::policy::Operation;
use retour_store::StoreError;
use retour_store::cases::{self, CaseHead};
use retour_store::lifecycle::{self, ConsentRefusal, StoredConsent};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::request::CaseRequest;
use super::today;
use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::path::Path;
use crate::routes::{Created, created};
use crate::{ApiError, AppState};

/// A person's consent to one purpose of processing.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentResponse {
    pub id: Uuid,
    pub case_id: Uuid,
    /// The person of the case (`persons[].id`).
    pub person_id: Uuid,
    pub purpose: ConsentPurpose,
    /// The version of the information sheet.
    pub sheet_version: String,
    /// The language of the information sheet (ISO 639).
    pub sheet_language: String,
    pub given_on: NaiveDate,
    pub method: ConsentMethod,
    /// The signed information sheet (a document of the case).
    pub document_id: Uuid,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
    /// The day the person withdrew the consent; `null` while it stands.
    pub withdrawn_on: Option<NaiveDate>,
    pub withdrawal_recorded_by: Option<Uuid>,
    pub withdrawal_recorded_at: Option<DateTime<Utc>>,
}

impl TryFrom<StoredConsent> for ConsentResponse {
    /// A purpose or method the code does not know: a stored value it cannot read.
    type Error = StoreError;

    fn try_from(c: StoredConsent) -> Result<Self, StoreError> {
        let purpose = ConsentPurpose::parse(&c.purpose).ok_or_else(|| StoreError::Corrupt {
            column: "consents.purpose",
            value: c.purpose.clone(),
        })?;
        let method = ConsentMethod::parse(&c.method).ok_or_else(|| StoreError::Corrupt {
            column: "consents.method",
            value: c.method.clone(),
        })?;
        Ok(ConsentResponse {
            id: c.id,
            case_id: c.case_id,
            person_id: c.person_id,
            purpose,
            sheet_version: c.sheet_version,
            sheet_language: c.sheet_language,
            given_on: c.given_on,
            method,
            document_id: c.document_id,
            recorded_by: c.recorded_by,
            recorded_at: c.recorded_at,
            withdrawn_on: c.withdrawn_on,
            withdrawal_recorded_by: c.withdrawal_recorded_by,
            withdrawal_recorded_at: c.withdrawal_recorded_at,
        })
    }
}

/// The consents of a case's persons, oldest first (withdrawn ones included).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentList {
    pub items: Vec<ConsentResponse>,
}

/// List a case's consents
///
/// Every consent recorded for the case's persons, standing or withdrawn, oldest first: for
/// the counselling service, SEM and IOM Bern.
#[utoipa::path(get, path = "/v1/cases/{id}/consents", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    responses(
        (status = 200, description = "The consents", body = ConsentList),
        (status = 403, description = "The caller's role does not read consents", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn list_consents(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<ConsentList>, ApiError> {
    let request = CaseRequest::new(&state, &caller, id, "case.consents_read");
    let mut conn = state.store().pool().acquire().await.map_err(StoreError::from)?;
    let head = cases::case_head(&mut conn, id).await?;
    request.authorize(Operation::ReadConsents, head.map(|h| h.facts()).as_ref()).await?;
    let consents = lifecycle::list_consents(&mut conn, id).await?;
    let event = request.allowed().details(serde_json::json!({ "consents": consents.len() }));
    retour_store::audit::record(&mut *conn, &event).await?;
    let items = consents.into_iter().map(ConsentResponse::try_from).collect::<Result<_, _>>()?;
    Ok(Json(ConsentList { items }))
}

/// Record a consent
///
/// Records a person's consent to one purpose, as they signed it on the information sheet of
/// a version and language; `document_id` is the signed sheet, uploaded to the case first.
/// A hand-over checks the consent it needs: `start_reintegration` needs the consent of every
/// travelling adult to `transfer_to_mission`.
#[utoipa::path(post, path = "/v1/cases/{id}/consents", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    request_body = ConsentInput,
    responses(
        (status = 201, description = "The consent", body = ConsentResponse,
            headers(("Location" = String, description = "The case's consents"))),
        (status = 403, description = "The caller's role does not record consents", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`consent_standing`: the person's consent to this purpose stands already; `invalid_transition`: the case has ended; `transfer_pending`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid field (`person_id` or `document_id` `not_found` when not of this case)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn record_consent(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(input): Json<ConsentInput>,
) -> Result<Created<ConsentResponse>, ApiError> {
    let actor = &caller.actor;
    let request = CaseRequest::new(&state, &caller, id, "case.consent_record");
    let (mut tx, _): (_, CaseHead) = request.lock(Operation::RecordConsent).await?;
    let consent = parse_consent(&input, today()).map_err(ApiError::Validation)?;
    let stored = match lifecycle::insert_consent(&mut tx, id, actor.id, &consent).await? {
        Ok(stored) => stored,
        Err(ConsentRefusal::UnknownPerson) => {
            return Err(ApiError::validation(
                "person_id",
                "not_found",
                "person_id must be a person of this case",
            ));
        }
        Err(ConsentRefusal::UnknownDocument) => {
            return Err(ApiError::validation(
                "document_id",
                "not_found",
                "document_id must be a document of this case that is not deleted",
            ));
        }
        Err(ConsentRefusal::Standing) => {
            return Err(ApiError::Conflict {
                code: ProblemCode::ConsentStanding,
                detail: format!(
                    "the person's consent to {} stands already",
                    consent.purpose.as_str()
                ),
            });
        }
    };
    let event = request.allowed().details(serde_json::json!({
        "consent_id": stored.id, "purpose": consent.purpose.as_str(),
    }));
    retour_store::audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(created(format!("/v1/cases/{id}/consents"), stored.try_into()?))
}

/// Record a consent's withdrawal
///
/// Records the day the person withdrew the consent. The consent stays on record, withdrawn;
/// a new one may then be recorded.
#[utoipa::path(post, path = "/v1/cases/{id}/consents/{consent_id}/withdrawal", tag = "cases",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id"),
        ("consent_id" = Uuid, Path, description = "The consent id")),
    request_body = WithdrawalInput,
    responses(
        (status = 200, description = "The consent, withdrawn", body = ConsentResponse),
        (status = 403, description = "The caller's role does not record consents", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope, or no such consent of the case", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`consent_withdrawn`: withdrawn already; `invalid_transition`: the case has ended; `transfer_pending`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming `withdrawn_on`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn withdraw_consent(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, consent_id)): Path<(Uuid, Uuid)>,
    Json(input): Json<WithdrawalInput>,
) -> Result<Json<ConsentResponse>, ApiError> {
    let actor = &caller.actor;
    let request = CaseRequest::new(&state, &caller, id, "case.consent_withdraw");
    let (mut tx, _): (_, CaseHead) = request.lock(Operation::RecordConsent).await?;
    let consent = lifecycle::lock_consent(&mut tx, id, consent_id)
        .await?
        .ok_or(ApiError::NoSuch("consent"))?;
    if consent.withdrawn_on.is_some() {
        return Err(ApiError::Conflict {
            code: ProblemCode::ConsentWithdrawn,
            detail: "the consent was withdrawn already".to_owned(),
        });
    }
    let withdrawn_on =
        parse_withdrawal(&input, consent.given_on, today()).map_err(ApiError::Validation)?;
    let stored = lifecycle::withdraw_consent(&mut tx, consent_id, withdrawn_on, actor.id).await?;
    let event = request.allowed().details(serde_json::json!({
        "consent_id": stored.id, "purpose": stored.purpose,
    }));
    retour_store::audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(Json(stored.try_into()?))
}
