//! Reading the access log: events as stored, with their seal, filtered and paged for auditors.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use sqlx::types::ipnet::IpNet;
use sqlx::{PgConnection, PgPool, QueryBuilder};
use uuid::Uuid;

use super::Outcome;
use crate::StoreError;

/// The columns of an event and of its seal, aliased `e` and `s`, for the list (the statements
/// checked at build time name them).
const COLUMNS: &str = "e.id, e.occurred_at, e.actor_type, e.actor_id, e.actor_institution_id, \
    e.actor_role, e.action, e.resource_type, e.resource_id, e.resource_ids, e.outcome, \
    e.details, e.request_id, e.client_addr, s.seq, s.prev_hash, s.hash, s.sealed_at";

/// An access-log entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// `user`, `service_account`, `anonymous` or `system`.
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub actor_institution_id: Option<Uuid>,
    pub actor_role: Option<String>,
    pub action: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<Uuid>,
    pub resource_ids: Vec<Uuid>,
    /// `allowed` or `denied`.
    pub outcome: String,
    pub details: serde_json::Value,
    pub request_id: Option<String>,
    #[serde(serialize_with = "serialize_inet")]
    pub client_addr: Option<IpNet>,
}

impl StoredEvent {
    /// The client address as text: the bare address, or `address/prefix` for a network.
    pub fn client_addr_text(&self) -> Option<String> {
        self.client_addr.map(inet_text)
    }
}

fn inet_text(net: IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() { net.addr().to_string() } else { net.to_string() }
}

fn serialize_inet<S: Serializer>(addr: &Option<IpNet>, serializer: S) -> Result<S::Ok, S::Error> {
    match addr {
        Some(net) => serializer.serialize_some(&inet_text(*net)),
        None => serializer.serialize_none(),
    }
}

/// The link of the hash chain that seals an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seal {
    pub seq: i64,
    #[serde(serialize_with = "hex_bytes")]
    pub prev_hash: Vec<u8>,
    #[serde(serialize_with = "hex_bytes")]
    pub hash: Vec<u8>,
    pub sealed_at: DateTime<Utc>,
}

fn hex_bytes<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(bytes))
}

/// An event and, once the sealer reached it, its link in the chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedEvent {
    #[serde(flatten)]
    pub event: StoredEvent,
    pub seal: Option<Seal>,
}

/// A row of `audit_events e` joined either way with `audit_seals s`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct JoinedRow {
    id: Option<Uuid>,
    occurred_at: Option<DateTime<Utc>>,
    actor_type: Option<String>,
    actor_id: Option<Uuid>,
    actor_institution_id: Option<Uuid>,
    actor_role: Option<String>,
    action: Option<String>,
    resource_type: Option<String>,
    resource_id: Option<Uuid>,
    resource_ids: Option<Vec<Uuid>>,
    outcome: Option<String>,
    details: Option<serde_json::Value>,
    request_id: Option<String>,
    client_addr: Option<IpNet>,
    seq: Option<i64>,
    prev_hash: Option<Vec<u8>>,
    hash: Option<Vec<u8>>,
    sealed_at: Option<DateTime<Utc>>,
}

impl JoinedRow {
    /// The event (absent when the row came from a seal without its event) and the seal.
    pub(crate) fn split(self) -> (Option<StoredEvent>, Option<Seal>) {
        let seal = match (self.seq, self.prev_hash, self.hash, self.sealed_at) {
            (Some(seq), Some(prev_hash), Some(hash), Some(sealed_at)) => {
                Some(Seal { seq, prev_hash, hash, sealed_at })
            }
            _ => None,
        };
        let event = match (self.id, self.occurred_at, self.actor_type, self.action, self.outcome) {
            (Some(id), Some(occurred_at), Some(actor_type), Some(action), Some(outcome)) => {
                Some(StoredEvent {
                    id,
                    occurred_at,
                    actor_type,
                    actor_id: self.actor_id,
                    actor_institution_id: self.actor_institution_id,
                    actor_role: self.actor_role,
                    action,
                    resource_type: self.resource_type,
                    resource_id: self.resource_id,
                    resource_ids: self.resource_ids.unwrap_or_default(),
                    outcome,
                    details: self.details.unwrap_or(serde_json::Value::Null),
                    request_id: self.request_id,
                    client_addr: self.client_addr,
                })
            }
            _ => None,
        };
        (event, seal)
    }
}

/// Up to `limit` links after `after_seq` up to `through_seq`, in chain order, each with its
/// event when that still exists.
pub(crate) async fn links(
    conn: &mut PgConnection,
    after_seq: i64,
    through_seq: i64,
    limit: i64,
) -> Result<Vec<(Seal, Option<StoredEvent>)>, StoreError> {
    // The event columns are null where the event is gone.
    let rows = sqlx::query_as!(
        JoinedRow,
        r#"select e.id as "id?", e.occurred_at as "occurred_at?", e.actor_type as "actor_type?",
             e.actor_id, e.actor_institution_id, e.actor_role, e.action as "action?",
             e.resource_type, e.resource_id, e.resource_ids as "resource_ids?",
             e.outcome as "outcome?", e.details as "details?", e.request_id, e.client_addr,
             s.seq, s.prev_hash, s.hash, s.sealed_at
         from audit_seals s left join audit_events e on e.id = s.event_id
         where s.seq > $1 and s.seq <= $2 order by s.seq limit $3"#,
        after_seq,
        through_seq,
        limit,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let (event, seal) = row.split();
            seal.map(|seal| (seal, event))
        })
        .collect())
}

/// Up to `limit` queued events without a seal, in the order the sealer links them
/// (`occurred_at`, then id).
pub(crate) async fn unsealed(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    // The seal columns stay null: these events have none yet.
    let rows = sqlx::query_as!(
        JoinedRow,
        r#"select e.id, e.occurred_at, e.actor_type, e.actor_id, e.actor_institution_id,
             e.actor_role, e.action, e.resource_type, e.resource_id, e.resource_ids, e.outcome,
             e.details, e.request_id, e.client_addr, s.seq as "seq?", s.prev_hash as "prev_hash?",
             s.hash as "hash?", s.sealed_at as "sealed_at?"
         from audit_seal_queue q join audit_events e on e.id = q.event_id
           left join audit_seals s on false
         where not exists (select 1 from audit_seals x where x.event_id = e.id)
         order by e.occurred_at, e.id limit $1"#,
        limit,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().filter_map(|row| row.split().0).collect())
}

/// What an auditor asks the log for. Every given filter must match.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub actor_id: Option<Uuid>,
    /// Events about this case: its id is the event's `resource_id` or among its
    /// `resource_ids` (lists and searches).
    pub case_id: Option<Uuid>,
    pub action: Option<String>,
    pub outcome: Option<Outcome>,
    /// Events at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Events before this time.
    pub to: Option<DateTime<Utc>>,
}

/// Where a page ends: the last event returned, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub occurred_at: DateTime<Utc>,
    pub id: Uuid,
}

/// One page of events, newest first, and where the next page starts.
#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<LoggedEvent>,
    pub next: Option<Cursor>,
}

/// Events matching `filter`, newest first (by `occurred_at`, then id), after `after`.
pub async fn list(
    pool: &PgPool,
    filter: &EventFilter,
    after: Option<&Cursor>,
    limit: u32,
) -> Result<Page, StoreError> {
    // Built at run time: each filter is added only when given.
    let mut query = QueryBuilder::new(format!(
        "select {COLUMNS} from audit_events e left join audit_seals s on s.event_id = e.id \
         where true"
    ));
    if let Some(actor_id) = filter.actor_id {
        query.push(" and e.actor_id = ").push_bind(actor_id);
    }
    if let Some(case_id) = filter.case_id {
        query
            .push(" and (e.resource_id = ")
            .push_bind(case_id)
            .push(" or e.resource_ids @> array[")
            .push_bind(case_id)
            .push("]::uuid[])");
    }
    if let Some(action) = &filter.action {
        query.push(" and e.action = ").push_bind(action.clone());
    }
    if let Some(outcome) = filter.outcome {
        query.push(" and e.outcome = ").push_bind(outcome.as_str());
    }
    if let Some(from) = filter.from {
        query.push(" and e.occurred_at >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        query.push(" and e.occurred_at < ").push_bind(to);
    }
    if let Some(after) = after {
        query
            .push(" and (e.occurred_at, e.id) < (")
            .push_bind(after.occurred_at)
            .push(", ")
            .push_bind(after.id)
            .push(")");
    }
    query.push(" order by e.occurred_at desc, e.id desc limit ").push_bind(i64::from(limit) + 1);
    let rows: Vec<JoinedRow> = query.build_query_as().fetch_all(pool).await?;
    let mut items: Vec<LoggedEvent> = rows
        .into_iter()
        .filter_map(|row| {
            let (event, seal) = row.split();
            event.map(|event| LoggedEvent { event, seal })
        })
        .collect();
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|last| Cursor { occurred_at: last.event.occurred_at, id: last.event.id })
    } else {
        None
    };
    Ok(Page { items, next })
}
