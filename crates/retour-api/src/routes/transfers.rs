//! The canton transfers a counselling service sent or received: where the receiving service
//! finds the cases offered to it, seeing the reference, the reason and the principal
//! applicant's name and date of birth (identity only) — not the case, until it accepts.

use axum::extract::{RawQuery, State};
use retour_domain::governance::{Transfer, TransferStatus};
use retour_domain::{InstitutionKind, Role};
use retour_store::audit::{self, Outcome};
use retour_store::holding;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::query::QueryParams;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_transfers))
}

/// Transfers, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferList {
    pub items: Vec<Transfer>,
}

/// Which transfers: those offered to the caller's service, or those it offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Incoming,
    Outgoing,
}

impl Direction {
    fn parse(value: &str) -> Option<Self> {
        match value {
            "incoming" => Some(Direction::Incoming),
            "outgoing" => Some(Direction::Outgoing),
            _ => None,
        }
    }
}

/// List canton transfers
///
/// The transfers of cases to (`direction=incoming`, the default) or from
/// (`direction=outgoing`) the caller's counselling service, newest first, optionally only
/// those in one `status` (`pending` to find the ones waiting for an answer); at most `limit`
/// (1 to 200, default 50). For counsellors.
#[utoipa::path(get, path = "/v1/transfers", tag = "cases", security(("bearer" = [])),
    params(
        ("direction" = Option<String>, Query, description = "`incoming` (default) or `outgoing`", pattern = "^(incoming|outgoing)$"),
        ("status" = Option<TransferStatus>, Query, description = "Only transfers in this status"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "At most this many (default 50)"),
    ),
    responses(
        (status = 200, description = "The transfers", body = TransferList),
        (status = 403, description = "Only counsellors", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn list_transfers(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<TransferList>, ApiError> {
    const ACTION: &str = "transfer.list";
    let actor = &caller.actor;
    let mut params = QueryParams::parse(query.as_deref());
    let direction = params
        .one_of("direction", Direction::parse, "incoming, outgoing")
        .unwrap_or(Direction::Incoming);
    let status = params.one_of("status", TransferStatus::parse, &TransferStatus::names());
    let limit = params.limit();
    params.finish(())?;
    let counsellor = actor.role() == Some(Role::Counsellor)
        && actor.institution_kind == InstitutionKind::CounsellingService;
    if !counsellor {
        state.store().log(&caller.event(ACTION, Outcome::Denied)).await?;
        return Err(ApiError::Forbidden {
            code: ProblemCode::Forbidden,
            detail: "canton transfers are between counselling services".to_owned(),
        });
    }
    let mut conn = state.store().pool().acquire().await?;
    let items = holding::list_transfers(
        &mut conn,
        actor.institution_id,
        direction == Direction::Incoming,
        status,
        i64::from(limit),
    )
    .await?;
    let event = caller
        .event(ACTION, Outcome::Allowed)
        .resources("case", items.iter().map(|t| t.case_id).collect())
        .details(serde_json::json!({
            "direction": if direction == Direction::Incoming { "incoming" } else { "outgoing" },
            "transfers": items.len(),
        }));
    audit::record(&mut *conn, &event).await?;
    Ok(Json(TransferList { items }))
}
