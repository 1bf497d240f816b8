//! The work queue: the cases waiting for the caller's action, by due date.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use chrono::{DateTime, NaiveDate, Utc};
use retour_domain::CaseStatus;
use retour_domain::deadline::{QueueKind, QueueOwner};
use retour_store::StoreError;
use retour_store::audit::Outcome;
use retour_store::deadlines::{QueueAfter, QueuePage, QueueRow};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::Problem;
use crate::json::Json;
use crate::pagination::{DayCursor, cut};
use crate::query::QueryParams;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_my_queue))
}

/// The list a queue's cursors belong to.
const LIST: &str = "queue";

/// A page of the caller's work queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct Queue {
    pub items: Vec<QueueItem>,
    /// The number of items of each kind in the whole queue (not only this page); kinds
    /// without items are left out.
    pub counts: BTreeMap<QueueKind, i64>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A case (or, for an IOM mission, a planned monitoring visit of a case) waiting for the
/// caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueItem {
    pub case_id: Uuid,
    #[schema(example = "BE-2026-00042")]
    pub reference: String,
    pub status: CaseStatus,
    pub kind: QueueKind,
    /// What is waited for, in words: `information requested 12 days ago, answer due 14 Dec
    /// 2026`, `decision due 14 Dec 2026`, `visit due 3 Dec 2026`.
    #[schema(example = "decision due 14 Dec 2026")]
    pub reason: String,
    /// The deadline's last day; `null` for what has none (a draft, a reintegration to start).
    pub due_on: Option<NaiveDate>,
    /// The deadline passed (and the overdue job marked it).
    pub overdue: bool,
    /// Since when the item waits (the deadline's opening, the draft's creation, the
    /// departure, the visit's planning; for an expired approval, when it expired).
    pub since: DateTime<Utc>,
}

/// Get my work queue
///
/// The cases waiting for the caller's action, by due date (those without one last), then
/// the longest waiting first. A counsellor: their drafts to submit and the cases SEM asked
/// them about; a SEM officer: submitted cases to take, the cases they review to decide, and
/// their approvals whose travel deadline passed (extend or cancel with `approval_expired`);
/// swissREPAT: approved cases to book and its booked journeys to confirm; IOM Bern: approved
/// cases to book, SIM journeys to confirm and reintegrations to start; an IOM mission: its
/// planned monitoring visits. Other callers have an empty queue. Only cases within the
/// caller's scope, and only what every reader of them sees (reference, status, dates) or
/// what the caller's role sees of them (the travel's and the visits' days).
#[utoipa::path(get, path = "/v1/me/queue", tag = "cases", security(("bearer" = [])),
    params(
        ("cursor" = Option<String>, Query, min_length = 1, description = "`next_cursor` of the previous page"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 200 (default 50)"),
    ),
    responses(
        (status = 200, description = "A page of the queue", body = Queue),
        (status = 422, description = "`validation_failed` naming every invalid parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn get_my_queue(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Queue>, ApiError> {
    let mut params = QueryParams::parse(query.as_deref());
    let after = params.day_cursor(LIST);
    let limit = params.limit();
    let (after, limit) = params.finish((after, limit))?;
    let page = match QueueOwner::of(&caller.actor) {
        Some(owner) => {
            let after = after.map(|c| QueueAfter { due_on: c.on, since: c.at, item_id: c.id });
            state.store().queue(owner, after, limit).await?
        }
        None => QueuePage::default(),
    };
    let QueuePage { mut items, counts } = page;
    let next_cursor = cut(&mut items, limit, |last| {
        DayCursor { on: last.due_on, at: last.since, id: last.item_id }.encode(LIST)
    });
    let today = Utc::now().date_naive();
    let items = items.into_iter().map(|row| item(row, today)).collect::<Result<Vec<_>, _>>()?;
    let counts = counts
        .into_iter()
        .map(|(kind, n)| {
            QueueKind::parse(&kind).map(|k| (k, n)).ok_or_else(|| corrupt("queue kind", &kind))
        })
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    let event = caller
        .event("queue.read", Outcome::Allowed)
        .resources("case", items.iter().map(|i| i.case_id).collect())
        .details(serde_json::json!({ "items": items.len() }));
    state.store().log(&event).await?;
    Ok(Json(Queue { items, counts, next_cursor }))
}

fn corrupt(column: &'static str, value: &str) -> ApiError {
    ApiError::internal(StoreError::Corrupt { column, value: value.to_owned() })
}

fn item(row: QueueRow, today: NaiveDate) -> Result<QueueItem, ApiError> {
    let kind = QueueKind::parse(&row.kind).ok_or_else(|| corrupt("queue kind", &row.kind))?;
    let status =
        CaseStatus::parse(&row.status).ok_or_else(|| corrupt("cases.status", &row.status))?;
    Ok(QueueItem {
        reason: kind.reason(row.due_on, row.since, row.overdue, today),
        case_id: row.case_id,
        reference: row.reference,
        status,
        kind,
        due_on: row.due_on,
        overdue: row.overdue,
        since: row.since,
    })
}
