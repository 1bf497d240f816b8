//! The feed of case events for partner systems: what happened to the cases the caller may
//! read, oldest first, from a cursor that never passes an event committed late.

use axum::extract::{RawQuery, State};
use chrono::{DateTime, Utc};
use retour_domain::FieldError;
use retour_domain::event::EventType;
use retour_domain::policy;
use retour_store::audit::Outcome;
use retour_store::events::{self, Filter, Position, StoredEvent};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::pagination::FeedCursor;
use crate::query::QueryParams;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_events))
}

/// A page of the event feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventFeed {
    pub items: Vec<Event>,
    /// Pass as `after` to read on. Given after every page, the last one too: it moves past
    /// the events the caller does not see, and a later read from it returns what happened
    /// since. `null` only when nothing at all happened after `after` yet; read again with
    /// the same `after`.
    pub next_cursor: Option<String>,
}

/// Something that happened to a case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    /// The event's id (a UUIDv7); the same in the feed, in a webhook's `webhook-id` and in
    /// the NATS message id, so a consumer drops what it has seen.
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub case_id: Uuid,
    /// The case's version after the change.
    pub case_version: i32,
    pub occurred_at: DateTime<Utc>,
    /// Ids and statuses, never personal data; which fields depends on the type.
    pub data: EventData,
}

/// The payload of an event: ids and statuses. Each type fills the fields it names.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, ToSchema)]
pub struct EventData {
    /// The case's status (opening, assignments, transfers, proposals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<retour_domain::CaseStatus>,
    /// A transition's status before and after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_status: Option<retour_domain::CaseStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_status: Option<retour_domain::CaseStatus>,
    /// `document.added`, `document.deleted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<retour_domain::document::DocumentCategory>,
    /// The document's version (`document.added`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The document a new version replaces (`document.added`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disbursement_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring_visit_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reclaim_id: Option<Uuid>,
    /// The reclaim's status (`reclaim.opened`, `reclaim.updated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<retour_domain::reclaim::ReclaimStatus>)]
    pub reclaim_status: Option<String>,
    /// `deadline.extended`, `deadline.passed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_id: Option<Uuid>,
    /// The deadline's kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<retour_domain::deadline::DeadlineKind>,
    /// The day a deadline passed was due (`deadline.passed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_on: Option<chrono::NaiveDate>,
    /// The use of break-glass (`break_glass.opened`), which the auditors review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass_id: Option<Uuid>,
    /// Until when a break-glass use opens the case (`break_glass.opened`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl Event {
    /// The event as stored, read back into its typed form.
    pub fn from_stored(stored: StoredEvent) -> Result<Event, ApiError> {
        let event_type = EventType::parse(&stored.event_type).ok_or_else(|| {
            ApiError::internal(retour_store::StoreError::Corrupt {
                column: "event_outbox.type",
                value: stored.event_type.clone(),
            })
        })?;
        let data = serde_json::from_value(stored.data).map_err(ApiError::internal)?;
        Ok(Event {
            id: stored.id,
            event_type,
            case_id: stored.case_id,
            case_version: stored.case_version,
            occurred_at: stored.occurred_at,
            data,
        })
    }
}

/// List case events
///
/// What happened to the cases the caller may read, oldest first: openings, every step of the
/// workflow, assignments and transfers, four-eyes proposals, documents, disbursements,
/// visits, reclaims, deadlines extended or passed. An event reaches a caller only when the
/// case is within their scope now and their view holds the part of the case the event is
/// about (a medical certificate's upload only within the medical view, a proposal only for
/// SEM and the counselling service). Users read it with their role's scope; service accounts
/// with the scope `case-events:read`, as a user of their institution would.
///
/// The order is the order in which the changes' transactions began, and the feed only
/// hands out an event once every transaction that began before it has ended, so a cursor
/// never passes an event that commits late. Read on from `next_cursor`.
#[utoipa::path(get, path = "/v1/events", tag = "events", security(("bearer" = [])),
    params(
        ("after" = Option<String>, Query, min_length = 1, description = "`next_cursor` of the previous read; from the first event when absent"),
        ("types" = Option<Vec<EventType>>, Query, min_items = 1, description = "Event types; repeat the parameter or separate with commas", explode = true),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 200 (default 50)"),
    ),
    responses(
        (status = 200, description = "A page of events", body = EventFeed),
        (status = 403, description = "`forbidden`: the caller reads no cases (auditors, administrators, service accounts without case-events:read)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<EventFeed>, ApiError> {
    const ACTION: &str = "events.read";
    let mut params = QueryParams::parse(query.as_deref());
    let after = params.feed_cursor("after");
    let types = parse_types(&mut params);
    let limit = params.limit();
    let (after, types, limit) = params.finish((after, types, limit))?;
    let Some((scope, view)) = policy::event_reader(&caller.actor) else {
        let event = caller.event(ACTION, Outcome::Denied);
        state.store().log(&event).await?;
        return Err(ApiError::Forbidden {
            code: ProblemCode::Forbidden,
            detail: "only callers who read cases read their events; a service account needs \
                     the scope case-events:read"
                .to_owned(),
        });
    };
    let filter = Filter { scope, view: &view, types: &types };
    let after = after.map(|c| Position { tx: c.tx, seq: c.seq });
    let mut conn = state.store().pool().acquire().await?;
    let page = events::read(&mut conn, &filter, after, limit).await?;
    drop(conn);
    let items = page.events.into_iter().map(Event::from_stored).collect::<Result<Vec<_>, _>>()?;
    let mut cases: Vec<Uuid> = items.iter().map(|e| e.case_id).collect();
    cases.sort_unstable();
    cases.dedup();
    let event = caller
        .event(ACTION, Outcome::Allowed)
        .resources("case", cases)
        .details(serde_json::json!({ "items": items.len() }));
    state.store().log(&event).await?;
    let next_cursor = page.next.map(|p| FeedCursor { tx: p.tx, seq: p.seq }.encode());
    Ok(Json(EventFeed { items, next_cursor }))
}

/// `types`: repeated, or comma-separated; every part must name a type.
pub(crate) fn parse_types(params: &mut QueryParams) -> Vec<EventType> {
    let mut types = Vec::new();
    for value in params.all("types") {
        match EventType::parse_list(&value) {
            Ok(parsed) => {
                for kind in parsed {
                    if !types.contains(&kind) {
                        types.push(kind);
                    }
                }
            }
            Err(_) => params.refuse(FieldError::new(
                "types",
                "unknown_value",
                format!("types must be one of: {}", EventType::names()),
            )),
        }
    }
    types
}
