//! Country information requests (programme RIF): the counsellor asks IOM Bern about a case's
//! destination while the case is in counselling; IOM Bern's coordinator lists the questions
//! and answers them, seeing the question, the country and the dates — never the case file,
//! the case or its persons.

use axum::extract::{RawQuery, State};
use chrono::{DateTime, Utc};
use retour_domain::information::{AnswerInput, InformationRequestStatus, parse_answer};
use retour_domain::policy::{self, Decision, InformationRequestScope, Operation};
use retour_store::audit::{self, Outcome};
use retour_store::workflow::{self, Answered, InformationRequestFilter, StoredInformationRequest};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::pagination::{Cursor, cut};
use crate::path::Path;
use crate::query::QueryParams;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_information_requests))
        .routes(routes!(answer_information_request))
}

/// A country information request.
#[derive(Debug, Serialize, ToSchema)]
pub struct InformationRequestResponse {
    pub id: Uuid,
    /// The case asked about: only for its counselling service, never for IOM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id: Option<Uuid>,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "IQ")]
    pub destination_country: String,
    pub question: String,
    pub asked_at: DateTime<Utc>,
    pub status: InformationRequestStatus,
    /// IOM's answer; `null` while open.
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
}

impl InformationRequestResponse {
    /// The request as a reader sees it: `with_case` for the case's counselling service.
    pub(crate) fn new(request: StoredInformationRequest, with_case: bool) -> Self {
        InformationRequestResponse {
            id: request.id,
            case_id: with_case.then_some(request.case_id),
            destination_country: request.destination_country,
            question: request.question,
            asked_at: request.asked_at,
            status: request.status,
            answer: request.answer,
            answered_at: request.answered_at,
        }
    }
}

/// A page of information requests, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct InformationRequestList {
    pub items: Vec<InformationRequestResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The cursor of this list (oldest first).
const LIST: &str = "information_requests";

/// Parses `status`, `cursor` and `limit`, naming every invalid or unknown parameter.
fn parse_query(query: Option<&str>) -> Result<InformationRequestFilter, ApiError> {
    let mut params = QueryParams::parse(query);
    let filter = InformationRequestFilter {
        status: params.one_of(
            "status",
            InformationRequestStatus::parse,
            &InformationRequestStatus::names(),
        ),
        counselling_service_id: None,
        after: params.cursor(LIST).map(|c| (c.at, c.id)),
        limit: params.limit(),
    };
    params.finish(filter)
}

/// List country information requests
///
/// The country information requests the caller deals with, oldest first: for IOM Bern's
/// coordinator every request (the question, the destination, the dates, the status and the
/// answer — not the case); for a counsellor the requests about their own service's cases,
/// with the case and IOM's answers. Filter by `status` (`open` or `answered`).
#[utoipa::path(get, path = "/v1/information-requests", tag = "information-requests",
    security(("bearer" = [])),
    params(
        ("status" = Option<InformationRequestStatus>, Query, description = "`open` or `answered`"),
        ("cursor" = Option<String>, Query, min_length = 1, description = "`next_cursor` of the previous page"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 200 (default 50)"),
    ),
    responses(
        (status = 200, description = "A page of requests", body = InformationRequestList),
        (status = 403, description = "Only IOM Bern's coordinators and counsellors", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn list_information_requests(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<InformationRequestList>, ApiError> {
    const ACTION: &str = "information_request.list";
    let actor = &caller.actor;
    let mut filter = parse_query(query.as_deref())?;
    let with_case = match policy::information_request_scope(actor) {
        InformationRequestScope::All => false,
        InformationRequestScope::OwnService(id) => {
            filter.counselling_service_id = Some(id);
            true
        }
        InformationRequestScope::Nothing => {
            state.store().log(&caller.event(ACTION, Outcome::Denied)).await?;
            return Err(ApiError::Forbidden {
                code: ProblemCode::Forbidden,
                detail: "country information requests are for IOM Bern and counsellors".to_owned(),
            });
        }
    };
    let mut rows = state.store().list_information_requests(&filter).await?;
    let next_cursor = cut(&mut rows, filter.limit, |r| Cursor::new(r.asked_at, r.id).encode(LIST));
    let event = caller
        .event(ACTION, Outcome::Allowed)
        .resources("information_request", rows.iter().map(|r| r.id).collect())
        .details(serde_json::json!({ "status": filter.status.map(|s| s.as_str()) }));
    state.store().log(&event).await?;
    let items = rows.into_iter().map(|r| InformationRequestResponse::new(r, with_case)).collect();
    Ok(Json(InformationRequestList { items, next_cursor }))
}

/// Answer a country information request
///
/// Answer an open country information request (IOM Bern's coordinator). A request is answered
/// once: a second answer is refused with 409 `already_answered`.
#[utoipa::path(post, path = "/v1/information-requests/{id}/answer", tag = "information-requests",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The request id")),
    request_body = AnswerInput,
    responses(
        (status = 200, description = "The answered request", body = InformationRequestResponse),
        (status = 403, description = "Only IOM Bern's coordinators answer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_answered`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: the answer is missing or too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn answer_information_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(input): Json<AnswerInput>,
) -> Result<Json<InformationRequestResponse>, ApiError> {
    const ACTION: &str = "information_request.answer";
    let actor = &caller.actor;
    if policy::decide(actor, Operation::AnswerInformation, None) != Decision::Allow {
        let event = caller.event(ACTION, Outcome::Denied).resource("information_request", id);
        state.store().log(&event).await?;
        return Err(ApiError::Forbidden {
            code: ProblemCode::Forbidden,
            detail: "country information requests are answered by IOM Bern".to_owned(),
        });
    }
    let answer = parse_answer(&input).map_err(ApiError::Validation)?;
    let mut tx = state.store().begin().await?;
    let request = match workflow::answer_information_request(&mut tx, id, actor.id, &answer).await?
    {
        Answered::Answered(request) => request,
        Answered::AlreadyAnswered => {
            return Err(ApiError::Conflict {
                code: ProblemCode::AlreadyAnswered,
                detail: "this request was answered already".to_owned(),
            });
        }
        Answered::Missing => return Err(ApiError::NotFound),
    };
    let event = caller.event(ACTION, Outcome::Allowed).resource("information_request", id);
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(Json(InformationRequestResponse::new(request, false)))
}
