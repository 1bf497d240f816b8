//! The outbox of events for partner systems (migration `event_outbox`): written in the
//! transaction of the change it announces, read in the order of the writing transactions up
//! to the horizon below which no event can appear any more, so a reader's cursor never
//! passes an event that commits late.

use chrono::{DateTime, Utc};
use retour_domain::event::EventType;
use retour_domain::policy::{CaseScope, CaseView, FieldGroup};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::StoreError;
use crate::cases::push_scope;

/// An event to write with a change of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_type: EventType,
    pub case_id: Uuid,
    /// The acting institution; `None` for the system.
    pub actor_institution_id: Option<Uuid>,
    pub group: FieldGroup,
    /// Ids and statuses only.
    pub data: serde_json::Value,
}

impl NewEvent {
    /// An event of `event_type` about `case_id`, of the type's field group, without data.
    pub fn new(event_type: EventType, case_id: Uuid, actor_institution_id: Option<Uuid>) -> Self {
        NewEvent {
            event_type,
            case_id,
            actor_institution_id,
            group: event_type.field_group(),
            data: serde_json::json!({}),
        }
    }

    pub fn group(mut self, group: FieldGroup) -> Self {
        self.group = group;
        self
    }

    pub fn data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}

/// Writes `event` with the case's current version, in the caller's transaction.
pub async fn record(conn: &mut PgConnection, event: &NewEvent) -> Result<(), StoreError> {
    let written = sqlx::query!(
        "insert into event_outbox (id, type, case_id, case_version, actor_institution_id, \
             field_group, data) \
         select $1, $2, c.id, c.version, $4, $5, $6 from cases c where c.id = $3",
        Uuid::now_v7(),
        event.event_type.as_str(),
        event.case_id,
        event.actor_institution_id,
        event.group.as_str(),
        event.data,
    )
    .execute(&mut *conn)
    .await?;
    if written.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// A place in the feed: after the event of transaction `tx` with sequence number `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub tx: i64,
    pub seq: i64,
}

/// An event as the feed gives it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub case_id: Uuid,
    pub case_version: i32,
    pub occurred_at: DateTime<Utc>,
    pub data: serde_json::Value,
    #[serde(skip)]
    pub position: Position,
}

/// Which events a reader gets: of the cases in `scope`, of the groups `view` holds, of
/// `types` (all when empty).
#[derive(Debug, Clone)]
pub struct Filter<'a> {
    pub scope: CaseScope,
    pub view: &'a CaseView,
    pub types: &'a [EventType],
}

/// A page of the feed, and where the next one starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub events: Vec<StoredEvent>,
    /// After the last event of the page; on a page shorter than asked, after every event
    /// that is final (below the horizon), whether the reader sees it or not, so a reader
    /// who sees few events does not read the same stretch again. `None` when nothing lies
    /// beyond `after`.
    pub next: Option<Position>,
}

/// The horizon: events of transactions below it are all committed (or never will be).
async fn horizon(conn: &mut PgConnection) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar!(
        r#"select pg_snapshot_xmin(pg_current_snapshot())::text::bigint as "xmin!""#
    )
    .fetch_one(&mut *conn)
    .await?)
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: Uuid,
    event_type: String,
    case_id: Uuid,
    case_version: i32,
    occurred_at: DateTime<Utc>,
    data: serde_json::Value,
    tx: i64,
    seq: i64,
}

impl From<EventRow> for StoredEvent {
    fn from(row: EventRow) -> Self {
        StoredEvent {
            id: row.id,
            event_type: row.event_type,
            case_id: row.case_id,
            case_version: row.case_version,
            occurred_at: row.occurred_at,
            data: row.data,
            position: Position { tx: row.tx, seq: row.seq },
        }
    }
}

/// Appends the reader's conditions (on `e`, the outbox, and `c`, its case).
fn push_filter(qb: &mut QueryBuilder<Postgres>, filter: &Filter<'_>) {
    qb.push(" and (");
    push_scope(qb, filter.scope);
    let groups: Vec<&str> = FieldGroup::ALL
        .into_iter()
        .filter(|g| filter.view.allows(*g))
        .map(FieldGroup::as_str)
        .collect();
    qb.push(") and e.field_group = any(").push_bind(groups).push(")");
    if !filter.types.is_empty() {
        let types: Vec<&str> = filter.types.iter().map(|t| t.as_str()).collect();
        qb.push(" and e.type = any(").push_bind(types).push(")");
    }
}

/// The events after `after` (from the first when `None`) that `filter` lets through, oldest
/// first, at most `limit`.
pub async fn read(
    conn: &mut PgConnection,
    filter: &Filter<'_>,
    after: Option<Position>,
    limit: u32,
) -> Result<Page, StoreError> {
    let horizon = horizon(conn).await?;
    let after = after.unwrap_or(Position { tx: 0, seq: 0 });
    let mut qb = QueryBuilder::new(
        "select e.id, e.type as event_type, e.case_id, e.case_version, e.occurred_at, e.data, \
             e.tx_id::text::bigint as tx, e.seq \
         from event_outbox e join cases c on c.id = e.case_id \
         where (e.tx_id, e.seq) > (",
    );
    qb.push_bind(after.tx.to_string())
        .push("::xid8, ")
        .push_bind(after.seq)
        .push(") and e.tx_id < ")
        .push_bind(horizon.to_string())
        .push("::xid8");
    push_filter(&mut qb, filter);
    qb.push(" order by e.tx_id, e.seq limit ").push_bind(i64::from(limit));
    let rows: Vec<EventRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
    let events: Vec<StoredEvent> = rows.into_iter().map(StoredEvent::from).collect();
    let next = if events.len() == limit as usize {
        events.last().map(|e| e.position)
    } else {
        final_position(&mut *conn, after, horizon).await?
    };
    Ok(Page { events, next })
}

/// The last event after `after` below `horizon`, whoever may read it.
async fn final_position(
    conn: impl PgExecutor<'_>,
    after: Position,
    horizon: i64,
) -> Result<Option<Position>, StoreError> {
    let last = sqlx::query!(
        r#"select tx_id::text::bigint as "tx!", seq from event_outbox
           where (tx_id, seq) > ($1::text::xid8, $2) and tx_id < $3::text::xid8
           order by tx_id desc, seq desc limit 1"#,
        after.tx.to_string(),
        after.seq,
        horizon.to_string(),
    )
    .fetch_optional(conn)
    .await?;
    Ok(last.map(|row| Position { tx: row.tx, seq: row.seq }))
}

/// An event as a relay publishes it: every event, with its field group.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayedEvent {
    pub event: StoredEvent,
    pub group: String,
}

/// Holds relay `name` for this transaction, unless another process holds it: where it
/// stands. A relay seen the first time starts before the first event.
pub async fn hold_relay(
    conn: &mut PgConnection,
    name: &str,
) -> Result<Option<Position>, StoreError> {
    sqlx::query!("insert into event_relays (name) values ($1) on conflict (name) do nothing", name)
        .execute(&mut *conn)
        .await?;
    let row = sqlx::query!(
        r#"select position_tx::text::bigint as "tx!", position_seq from event_relays
           where name = $1 for update skip locked"#,
        name,
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| Position { tx: r.tx, seq: r.position_seq }))
}

/// Moves relay `name` (held) to `position`.
pub async fn advance_relay(
    conn: &mut PgConnection,
    name: &str,
    position: Position,
) -> Result<(), StoreError> {
    sqlx::query!(
        "update event_relays set position_tx = $2::text::xid8, position_seq = $3, \
             updated_at = now() where name = $1",
        name,
        position.tx.to_string(),
        position.seq,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Every event after `after` below the horizon (all of them: a relay publishes to the
/// installation's own broker), oldest first, at most `limit`.
pub async fn read_all(
    conn: &mut PgConnection,
    after: Position,
    limit: i64,
) -> Result<Vec<RelayedEvent>, StoreError> {
    let horizon = horizon(conn).await?;
    let rows = sqlx::query!(
        r#"select id, type as event_type, case_id, case_version, occurred_at, data, field_group,
               tx_id::text::bigint as "tx!", seq
           from event_outbox
           where (tx_id, seq) > ($1::text::xid8, $2) and tx_id < $3::text::xid8
           order by tx_id, seq limit $4"#,
        after.tx.to_string(),
        after.seq,
        horizon.to_string(),
        limit,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| RelayedEvent {
            event: StoredEvent {
                id: r.id,
                event_type: r.event_type,
                case_id: r.case_id,
                case_version: r.case_version,
                occurred_at: r.occurred_at,
                data: r.data,
                position: Position { tx: r.tx, seq: r.seq },
            },
            group: r.field_group,
        })
        .collect())
}
