//! The access log for those who check compliance: events with their seals (JSON pages or a
//! CSV export) and verification of the hash chain. Every use of these endpoints, and every
//! refused attempt, is itself logged.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use retour_domain::policy::{Decision, Operation, decide};
use retour_domain::{FieldError, string_enum};
use retour_store::audit::{self, Cursor, EventFilter, LoggedEvent, Outcome, Verification};
use serde::Serialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::csv_out::CsvWriter;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::pagination;
use crate::query::QueryParams;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_events)).routes(routes!(verify_audit_log))
}

/// Events fetched per chunk of a CSV export.
const EXPORT_CHUNK: u32 = 1000;

string_enum! {
    /// Whether an event's operation was carried out or refused.
    pub enum AuditOutcome {
        Allowed = "allowed",
        Denied = "denied",
    }
}

/// Filters and paging of `GET /v1/audit-events`. Every given filter must match.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditEventsQuery {
    /// Only events of this actor (a user's or service account's id).
    actor_id: Option<Uuid>,
    /// Only events about this case: its id is the event's `resource_id` or among the
    /// `resource_ids` a list or search returned.
    case_id: Option<Uuid>,
    /// Only this action, e.g. `case.read`, `auth.login_failed`.
    action: Option<String>,
    /// Only allowed or only denied operations.
    #[param(inline)]
    outcome: Option<AuditOutcome>,
    /// Events at or after this time (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Events before this time (RFC 3339).
    to: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<String>, min_length = 1)]
    cursor: Option<Cursor>,
    /// Events per page, 1 to 200 (default 50). A CSV export ignores it and returns every
    /// matching event.
    #[param(value_type = Option<u32>)]
    limit: u32,
}

impl AuditEventsQuery {
    /// Parses the query string, naming every invalid or unknown parameter.
    fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut params = QueryParams::parse(query);
        let action = params.parsed(
            "action",
            |v| (1..=100).contains(&v.len()).then(|| v.to_owned()),
            "must be 1 to 100 characters",
        );
        let query = AuditEventsQuery {
            actor_id: params.uuid("actor_id"),
            case_id: params.uuid("case_id"),
            action,
            outcome: params.one_of("outcome", AuditOutcome::parse, &AuditOutcome::names()),
            from: params.time("from"),
            to: params.time("to"),
            cursor: params.cursor(LIST).map(|c| Cursor { occurred_at: c.at, id: c.id }),
            limit: params.limit(),
        };
        if let (Some(from), Some(to)) = (query.from, query.to)
            && from > to
        {
            params.refuse(FieldError::new("to", "before_from", "to must not be before from"));
        }
        params.finish(query)
    }

    fn filter(&self) -> EventFilter {
        EventFilter {
            actor_id: self.actor_id,
            case_id: self.case_id,
            action: self.action.clone(),
            outcome: self.outcome.map(|o| match o {
                AuditOutcome::Allowed => Outcome::Allowed,
                AuditOutcome::Denied => Outcome::Denied,
            }),
            from: self.from,
            to: self.to,
        }
    }

    /// The filters as recorded in the event of this read.
    fn details(&self) -> serde_json::Value {
        json!({
            "filters": {
                "actor_id": self.actor_id,
                "case_id": self.case_id,
                "action": self.action,
                "outcome": self.outcome,
                "from": self.from,
                "to": self.to,
            },
            "cursor": self.cursor.is_some(),
        })
    }
}

/// The cursor of this list (newest first).
const LIST: &str = "audit_events";

fn encode_cursor(cursor: &Cursor) -> String {
    pagination::Cursor::new(cursor.occurred_at, cursor.id).encode(LIST)
}

/// A page of access-log events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventPage {
    pub items: Vec<AuditEventItem>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// One access-log event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventItem {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// `user`, `service_account`, `anonymous` (e.g. a failed sign-in with an unknown email)
    /// or `system` (Retour's own maintenance commands).
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub actor_institution_id: Option<Uuid>,
    pub actor_role: Option<String>,
    /// What was done, e.g. `case.read`, `case.update`, `auth.login`, `audit.export`.
    pub action: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<Uuid>,
    /// For lists and searches: every id returned.
    pub resource_ids: Vec<Uuid>,
    pub outcome: AuditOutcome,
    /// Context without personal data, e.g. the names of changed fields.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    /// The event's link in the hash chain; null until the sealer reached it (within about a
    /// second).
    pub seal: Option<AuditSeal>,
}

/// A link of the access log's hash chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditSeal {
    pub seq: i64,
    /// SHA-256 of the previous link's hash and this event's canonical encoding, hex.
    pub hash: String,
    pub prev_hash: String,
    pub sealed_at: DateTime<Utc>,
}

impl TryFrom<LoggedEvent> for AuditEventItem {
    type Error = ApiError;

    fn try_from(logged: LoggedEvent) -> Result<Self, ApiError> {
        let event = logged.event;
        let outcome = match Outcome::parse(&event.outcome) {
            Some(Outcome::Allowed) => AuditOutcome::Allowed,
            Some(Outcome::Denied) => AuditOutcome::Denied,
            None => {
                return Err(ApiError::internal(retour_store::StoreError::Corrupt {
                    column: "audit_events.outcome",
                    value: event.outcome,
                }));
            }
        };
        let client_addr = event.client_addr_text();
        Ok(AuditEventItem {
            id: event.id,
            occurred_at: event.occurred_at,
            actor_type: event.actor_type,
            actor_id: event.actor_id,
            actor_institution_id: event.actor_institution_id,
            actor_role: event.actor_role,
            action: event.action,
            resource_type: event.resource_type,
            resource_id: event.resource_id,
            resource_ids: event.resource_ids,
            outcome,
            details: event.details,
            request_id: event.request_id,
            client_addr,
            seal: logged.seal.map(|seal| AuditSeal {
                seq: seal.seq,
                hash: hex::encode(seal.hash),
                prev_hash: hex::encode(seal.prev_hash),
                sealed_at: seal.sealed_at,
            }),
        })
    }
}

/// The result of recomputing the access log's hash chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditVerification {
    /// Every sealed link is intact.
    pub ok: bool,
    /// Links verified: all of them when `ok`, else those before `first_broken`.
    pub checked: u64,
    /// The seq of the first missing, altered or forged link; null when `ok`.
    pub first_broken: Option<i64>,
    /// The link the chain starts after: 0, or the last link of the latest prune.
    pub anchor_seq: i64,
    /// The newest link and its hash: keep them elsewhere to prove later that nothing up to
    /// there was rewritten.
    pub head_seq: Option<i64>,
    pub head_hash: Option<String>,
    /// Events not sealed yet (normally those of about the last second).
    pub unsealed: i64,
}

impl From<Verification> for AuditVerification {
    fn from(v: Verification) -> Self {
        Self {
            ok: v.ok,
            checked: v.checked,
            first_broken: v.first_broken,
            anchor_seq: v.anchor_seq,
            head_seq: v.head_seq,
            head_hash: v.head_hash,
            unsealed: v.unsealed,
        }
    }
}

/// Lets auditors (and service accounts with `events:read`) in; records and refuses anyone
/// else.
async fn authorise(state: &AppState, caller: &Caller, action: &str) -> Result<(), ApiError> {
    if decide(&caller.actor, Operation::ReadAuditLog, None) == Decision::Allow {
        return Ok(());
    }
    let event = caller.event(action, Outcome::Denied);
    state.store().log(&event).await?;
    Err(ApiError::Forbidden {
        code: ProblemCode::Forbidden,
        detail: "only auditors may read the access log".to_owned(),
    })
}

/// Whether the client asked for CSV.
pub(super) fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|accept| crate::layers::media_ranges(accept).any(|range| range == "text/csv"))
}

/// List access-log events
///
/// The access log, newest first, filtered by actor, case, action, outcome and time, in
/// cursor-paged JSON, or with `Accept: text/csv` every matching event as RFC 4180 CSV with
/// a header row. For auditors and service accounts with `events:read`; the read (or
/// export) is itself logged as `audit.read` (or `audit.export`), and so is a refusal.
#[utoipa::path(get, path = "/v1/audit-events", tag = "audit", params(AuditEventsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of events, or the CSV export", content(
            (AuditEventPage = "application/json"),
            (String = "text/csv")
        )),
        (status = 403, description = "Not an auditor", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter, cursor or limit", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_audit_events(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let csv = wants_csv(&headers);
    let action = if csv { "audit.export" } else { "audit.read" };
    authorise(&state, &caller, action).await?;
    let query = AuditEventsQuery::parse(query.as_deref())?;
    let event = |details| caller.event(action, Outcome::Allowed).details(details);
    if csv {
        // Logged before the first byte leaves.
        state.store().log(&event(query.details())).await?;
        return Ok(csv_response(state, query));
    }
    let page =
        audit::list(state.store().pool(), &query.filter(), query.cursor.as_ref(), query.limit)
            .await?;
    let mut details = query.details();
    details["returned"] = json!(page.items.len());
    state.store().log(&event(details)).await?;
    let items = page.items.into_iter().map(AuditEventItem::try_from).collect::<Result<_, _>>()?;
    Ok(Json(AuditEventPage { items, next_cursor: page.next.as_ref().map(encode_cursor) })
        .into_response())
}

const CSV_HEADER: [&str; 17] = [
    "id",
    "occurred_at",
    "actor_type",
    "actor_id",
    "actor_institution_id",
    "actor_role",
    "action",
    "resource_type",
    "resource_id",
    "resource_ids",
    "outcome",
    "details",
    "request_id",
    "client_addr",
    "seal_seq",
    "seal_hash",
    "sealed_at",
];

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// CSV rows (and the header row first) for `events`.
fn csv_chunk(events: &[LoggedEvent], header: bool) -> Result<Vec<u8>, csv::Error> {
    let mut writer = CsvWriter::new();
    if header {
        writer.row(CSV_HEADER)?;
    }
    let text = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
    for LoggedEvent { event, seal } in events {
        let ids: Vec<String> = event.resource_ids.iter().map(Uuid::to_string).collect();
        // Request ids, actions and details come from outside: every cell is neutralised.
        writer.row([
            event.id.to_string(),
            time(event.occurred_at),
            event.actor_type.clone(),
            text(event.actor_id),
            text(event.actor_institution_id),
            event.actor_role.clone().unwrap_or_default(),
            event.action.clone(),
            event.resource_type.clone().unwrap_or_default(),
            text(event.resource_id),
            ids.join(" "),
            event.outcome.clone(),
            audit::chain::canonical_json(&event.details),
            event.request_id.clone().unwrap_or_default(),
            event.client_addr_text().unwrap_or_default(),
            seal.as_ref().map(|s| s.seq.to_string()).unwrap_or_default(),
            seal.as_ref().map(|s| hex::encode(&s.hash)).unwrap_or_default(),
            seal.as_ref().map(|s| time(s.sealed_at)).unwrap_or_default(),
        ])?;
    }
    writer.into_bytes()
}

/// Streams every matching event as CSV, a chunk of events at a time, so an export of any
/// size takes neither the server's memory nor one long transaction.
fn csv_response(state: AppState, query: AuditEventsQuery) -> Response {
    struct Progress {
        after: Option<Cursor>,
        first: bool,
        done: bool,
    }
    let filter = query.filter();
    let start = Progress { after: query.cursor, first: true, done: false };
    let stream = futures_util::stream::try_unfold(start, move |progress| {
        let state = state.clone();
        let filter = filter.clone();
        async move {
            if progress.done {
                return Ok::<_, std::io::Error>(None);
            }
            let page =
                audit::list(state.store().pool(), &filter, progress.after.as_ref(), EXPORT_CHUNK)
                    .await
                    .map_err(|error| {
                        tracing::error!(%error, "the CSV export of the access log failed");
                        std::io::Error::other(error)
                    })?;
            let chunk = csv_chunk(&page.items, progress.first).map_err(std::io::Error::other)?;
            let next = Progress { done: page.next.is_none(), after: page.next, first: false };
            Ok(Some((chunk, next)))
        }
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8; header=present"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"audit-events.csv\""),
    );
    response
}

/// Verify the access log's hash chain
///
/// Recomputes the access log's hash chain from its anchor (the start, or the latest prune)
/// to its newest link and reports the first missing, altered or forged link. For auditors
/// and service accounts with `events:read`; logged as `audit.verify`.
#[utoipa::path(get, path = "/v1/audit/verify", tag = "audit", security(("bearer" = [])),
    responses(
        (status = 200, description = "The verification's result", body = AuditVerification),
        (status = 403, description = "Not an auditor", body = Problem, content_type = "application/problem+json"),
    ))]
async fn verify_audit_log(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<AuditVerification>, ApiError> {
    authorise(&state, &caller, "audit.verify").await?;
    let verification = audit::verify(state.store().pool()).await?;
    let event = caller.event("audit.verify", Outcome::Allowed).details(json!({
        "ok": verification.ok,
        "checked": verification.checked,
        "first_broken": verification.first_broken,
        "head_seq": verification.head_seq,
    }));
    state.store().log(&event).await?;
    Ok(Json(verification.into()))
}
