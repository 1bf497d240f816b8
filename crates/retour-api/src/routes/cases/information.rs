//! A counsellor's country information request about a case's destination (programme RIF).

use axum::extract::State;
use retour_domain::information::{QuestionInput, parse_question};
use retour_domain::policy::Operation;
use retour_store::audit;
use retour_store::cases::CaseHead;
use retour_store::workflow;
use uuid::Uuid;

use super::request::CaseRequest;
use crate::auth::Caller;
use crate::error::Problem;
use crate::json::Json;
use crate::path::Path;
use crate::routes::information_requests::InformationRequestResponse;
use crate::routes::{Created, created};
use crate::{ApiError, AppState};

/// Ask IOM Bern for country information
///
/// Ask IOM Bern a question about the case's destination (cost of rent, a medicine's
/// availability): the case's counselling service, while the case is in counselling. IOM sees
/// the question and the country, not the case.
#[utoipa::path(post, path = "/v1/cases/{id}/information-requests", tag = "information-requests",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    request_body = QuestionInput,
    responses(
        (status = 201, description = "The request", body = InformationRequestResponse,
            headers(("Location" = String, description = "The counselling service's information requests, where IOM's answer is read"))),
        (status = 403, description = "Only the case's counselling service asks", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`case_not_in_counselling`; `transfer_pending`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: the question is missing or too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn create_information_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(input): Json<QuestionInput>,
) -> Result<Created<InformationRequestResponse>, ApiError> {
    const ACTION: &str = "information_request.create";
    let request = CaseRequest::new(&state, &caller, id, ACTION);
    let (mut tx, head): (_, CaseHead) = request.lock(Operation::AskInformation).await?;
    let question = parse_question(&input).map_err(ApiError::Validation)?;
    let asked = workflow::insert_information_request(
        &mut tx,
        id,
        head.destination_country.as_str(),
        caller.actor.id,
        &question,
    )
    .await?;
    let event =
        request.allowed().details(serde_json::json!({ "information_request_id": asked.id }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(created("/v1/information-requests".to_owned(), InformationRequestResponse::new(asked, true)))
}
