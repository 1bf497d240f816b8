//! Webhook subscriptions of service accounts and the deliveries of the outbox's events to
//! them (migration `webhooks`): the subscriptions' records, the fan-out of new events into
//! deliveries (one server process per subscription at a time), and the leases under which
//! a process delivers, so that several processes deliver each event once and a process that
//! dies loses nothing.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::StoreError;
use crate::events::{Position, StoredEvent};

/// A subscription as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: Uuid,
    pub service_account_id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub key_id: String,
    pub wrapped_secret: Vec<u8>,
    pub previous_key_id: Option<String>,
    pub previous_wrapped_secret: Option<Vec<u8>>,
    pub previous_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A statement that answers with whole subscriptions: `$head` up to the column list,
/// `$tail` after it.
macro_rules! subscriptions {
    ($head:literal, $tail:literal, $($arg:expr),* $(,)?) => {
        sqlx::query_as!(
            Subscription,
            $head + " id, service_account_id, url, event_types, status, status_reason, key_id, \
                wrapped_secret, previous_key_id, previous_wrapped_secret, previous_until, \
                created_at, updated_at " + $tail,
            $($arg),*
        )
    };
}

/// A new subscription: its secret already wrapped.
#[derive(Debug, Clone)]
pub struct NewSubscription<'a> {
    pub id: Uuid,
    pub service_account_id: Uuid,
    pub url: &'a str,
    pub event_types: &'a [String],
    pub key_id: &'a str,
    pub wrapped_secret: &'a [u8],
}

/// Adds a subscription; it receives the events written from now on (after the last one in
/// the outbox).
pub async fn insert(
    conn: &mut PgConnection,
    new: &NewSubscription<'_>,
) -> Result<Subscription, StoreError> {
    Ok(subscriptions!(
        "insert into webhook_subscriptions (id, service_account_id, url, event_types, key_id, \
             wrapped_secret, position_tx, position_seq) \
         select $1, $2, $3, $4, $5, $6, coalesce(l.tx_id, '0'), coalesce(l.seq, 0) \
         from (select 1) as one left join lateral (select tx_id, seq from event_outbox \
             order by tx_id desc, seq desc limit 1) l on true \
         returning",
        "",
        new.id,
        new.service_account_id,
        new.url,
        new.event_types,
        new.key_id,
        new.wrapped_secret,
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// The subscriptions of a service account, oldest first.
pub async fn list(
    conn: &mut PgConnection,
    service_account_id: Uuid,
) -> Result<Vec<Subscription>, StoreError> {
    Ok(subscriptions!(
        "select",
        "from webhook_subscriptions where service_account_id = $1 and deleted_at is null \
         order by created_at, id",
        service_account_id,
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Subscription `id` of the service account, to read.
pub async fn find(
    conn: &mut PgConnection,
    id: Uuid,
    service_account_id: Uuid,
) -> Result<Option<Subscription>, StoreError> {
    Ok(subscriptions!(
        "select",
        "from webhook_subscriptions \
         where id = $1 and service_account_id = $2 and deleted_at is null",
        id,
        service_account_id,
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// Subscription `id` of the service account, locked for a change.
pub async fn lock(
    conn: &mut PgConnection,
    id: Uuid,
    service_account_id: Uuid,
) -> Result<Option<Subscription>, StoreError> {
    Ok(subscriptions!(
        "select",
        "from webhook_subscriptions \
         where id = $1 and service_account_id = $2 and deleted_at is null for update",
        id,
        service_account_id,
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// A change of a subscription; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct Change<'a> {
    pub url: Option<&'a str>,
    pub event_types: Option<&'a [String]>,
    pub status: Option<&'a str>,
    /// A new secret (key id, wrapped); the current one signs too until `previous_until`.
    pub secret: Option<(&'a str, &'a [u8], DateTime<Utc>)>,
}

pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    change: &Change<'_>,
) -> Result<Subscription, StoreError> {
    let (key_id, wrapped, until) =
        change.secret.map_or((None, None, None), |(k, w, u)| (Some(k), Some(w), Some(u)));
    Ok(subscriptions!(
        "update webhook_subscriptions set url = coalesce($2, url), \
             event_types = coalesce($3, event_types), \
             status = coalesce($4, status), \
             status_reason = case when $4::text is null then status_reason end, \
             previous_key_id = case when $5::text is null then previous_key_id else key_id end, \
             previous_wrapped_secret = case when $5::text is null then previous_wrapped_secret \
                 else wrapped_secret end, \
             previous_until = case when $5::text is null then previous_until else $7 end, \
             key_id = coalesce($5, key_id), wrapped_secret = coalesce($6, wrapped_secret), \
             updated_at = now() \
         where id = $1 returning",
        "",
        id,
        change.url,
        change.event_types,
        change.status,
        key_id,
        wrapped,
        until,
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// Removes a subscription: it receives nothing more, and its pending deliveries are dropped;
/// what was delivered stays recorded.
pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<(), StoreError> {
    sqlx::query!(
        "update webhook_subscriptions set deleted_at = now(), updated_at = now() where id = $1",
        id,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update webhook_deliveries set status = 'failed', settled_at = now() \
         where subscription_id = $1 and status = 'pending'",
        id,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets where the subscription's deliveries go on from: the events after `after` are
/// delivered (again). The subscription as it then is.
pub async fn replay_from(
    conn: &mut PgConnection,
    id: Uuid,
    after: Position,
) -> Result<Subscription, StoreError> {
    set_position(conn, id, after).await?;
    Ok(subscriptions!(
        "update webhook_subscriptions set updated_at = now() where id = $1 returning",
        "",
        id,
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// Moves subscription `id` to `position` in the outbox: the fan-out as it goes on, a replay
/// back (only the replay, the subscriber's change, moves `updated_at`).
async fn set_position(
    conn: &mut PgConnection,
    id: Uuid,
    position: Position,
) -> Result<(), StoreError> {
    sqlx::query!(
        "update webhook_subscriptions set position_tx = $2::text::xid8, position_seq = $3 \
         where id = $1",
        id,
        position.tx.to_string(),
        position.seq,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// --- Fan-out ------------------------------------------------------------------------------

/// The active subscriptions, for the fan-out to take one by one.
pub async fn active_ids(pool: &PgPool) -> Result<Vec<Uuid>, StoreError> {
    Ok(sqlx::query_scalar!(
        "select id from webhook_subscriptions where status = 'active' and deleted_at is null \
         order by id",
    )
    .fetch_all(pool)
    .await?)
}

/// A subscription the fan-out holds: no other process fans it out meanwhile.
#[derive(Debug, Clone)]
pub struct Held {
    pub id: Uuid,
    pub service_account_id: Uuid,
    pub event_types: Vec<String>,
    pub tx: i64,
    pub seq: i64,
}

/// Locks subscription `id` for its fan-out, unless another process holds it or it is no
/// longer active.
pub async fn hold(conn: &mut PgConnection, id: Uuid) -> Result<Option<Held>, StoreError> {
    Ok(sqlx::query_as!(
        Held,
        r#"select id, service_account_id, event_types, position_tx::text::bigint as "tx!",
               position_seq as seq
           from webhook_subscriptions
           where id = $1 and status = 'active' and deleted_at is null for update skip locked"#,
        id,
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// Adds a delivery of each of `events` to subscription `id` and moves its position to
/// `next`, in the holder's transaction.
pub async fn fan_out(
    conn: &mut PgConnection,
    id: Uuid,
    events: &[StoredEvent],
    next: Position,
) -> Result<(), StoreError> {
    if !events.is_empty() {
        let ids: Vec<Uuid> = events.iter().map(|_| Uuid::now_v7()).collect();
        let event_ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
        let cases: Vec<Uuid> = events.iter().map(|e| e.case_id).collect();
        let txs: Vec<String> = events.iter().map(|e| e.position.tx.to_string()).collect();
        let seqs: Vec<i64> = events.iter().map(|e| e.position.seq).collect();
        sqlx::query!(
            "insert into webhook_deliveries (id, subscription_id, event_id, case_id, position_tx, \
                 position_seq) \
             select d.id, $1, d.event_id, d.case_id, d.tx::xid8, d.seq \
             from unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::bigint[]) \
                 as d(id, event_id, case_id, tx, seq)",
            id,
            &ids,
            &event_ids,
            &cases,
            &txs,
            &seqs,
        )
        .execute(&mut *conn)
        .await?;
    }
    set_position(conn, id, next).await
}

// --- Delivery -----------------------------------------------------------------------------

/// A delivery a process took, with what it needs to send it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub delivery_id: Uuid,
    pub subscription_id: Uuid,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub url: String,
    pub key_id: String,
    pub wrapped_secret: Vec<u8>,
    pub previous_key_id: Option<String>,
    pub previous_wrapped_secret: Option<Vec<u8>>,
    pub previous_until: Option<DateTime<Utc>>,
    pub event_id: Uuid,
    pub event_type: String,
    pub case_id: Uuid,
    pub case_version: i32,
    pub occurred_at: DateTime<Utc>,
    pub data: serde_json::Value,
}

/// Takes up to `limit` deliveries that are due, each the oldest pending one of its case for
/// its subscription (so a case's events go out in order), under a lease of `lease_secs`:
/// no other process takes them until the lease ends, and when this one dies they are taken
/// again then.
pub async fn claim(pool: &PgPool, limit: i64, lease_secs: f64) -> Result<Vec<Claimed>, StoreError> {
    Ok(sqlx::query_as!(
        Claimed,
        r#"with due as (
             select d.id from webhook_deliveries d
             join webhook_subscriptions s on s.id = d.subscription_id
             where d.status = 'pending' and d.next_attempt_at <= now()
               and (d.leased_until is null or d.leased_until < now())
               and s.status = 'active' and s.deleted_at is null
               and not exists (select 1 from webhook_deliveries e
                   where e.subscription_id = d.subscription_id and e.case_id = d.case_id
                     and e.status = 'pending'
                     and (e.position_tx, e.position_seq, e.created_at)
                         < (d.position_tx, d.position_seq, d.created_at))
             order by d.next_attempt_at, d.position_tx, d.position_seq
             limit $1 for update of d skip locked),
         taken as (update webhook_deliveries d
             set leased_until = now() + make_interval(secs => $2), attempts = d.attempts + 1
             from due where d.id = due.id
             returning d.id, d.subscription_id, d.attempts, d.created_at, d.event_id)
         select t.id as "delivery_id!", t.subscription_id as "subscription_id!",
             t.attempts as "attempts!", t.created_at as "created_at!", s.url,
             s.key_id, s.wrapped_secret, s.previous_key_id, s.previous_wrapped_secret,
             s.previous_until, e.id as event_id, e.type as event_type, e.case_id,
             e.case_version, e.occurred_at, e.data
         from taken t join webhook_subscriptions s on s.id = t.subscription_id
         join event_outbox e on e.id = t.event_id"#,
        limit,
        lease_secs,
    )
    .fetch_all(pool)
    .await?)
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered 2xx.
    Delivered,
    /// Try again at this time.
    Retry(DateTime<Utc>),
    /// Given up (three days of failures): the subscription is marked failing.
    GivenUp,
    /// The receiver answered 410 Gone: the subscription is disabled.
    Gone,
}

/// One attempt's record.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
}

/// Records an attempt of delivery `claimed` and what follows from it, in one transaction.
pub async fn settle(
    pool: &PgPool,
    claimed: &Claimed,
    attempt: &Attempt,
    outcome: &Outcome,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "insert into webhook_attempts (id, delivery_id, status_code, error, duration_ms) \
         values ($1, $2, $3, $4, $5)",
        Uuid::now_v7(),
        claimed.delivery_id,
        attempt.status_code,
        attempt.error.as_deref(),
        attempt.duration_ms,
    )
    .execute(&mut *tx)
    .await?;
    // The delivery's status and next attempt, and the subscription's new status with why.
    let (status, next, subscription) = match outcome {
        Outcome::Delivered => ("delivered", None::<DateTime<Utc>>, None::<(&str, &str)>),
        Outcome::Retry(at) => ("pending", Some(*at), None),
        Outcome::GivenUp => (
            "failed",
            None,
            Some(("failing", "a delivery failed for three days; set the status to active again")),
        ),
        Outcome::Gone => ("failed", None, Some(("disabled", "the receiver answered 410 Gone"))),
    };
    sqlx::query!(
        "update webhook_deliveries set status = $2, leased_until = null, \
             next_attempt_at = coalesce($3, next_attempt_at), \
             settled_at = case when $2 = 'pending' then null else now() end \
         where id = $1",
        claimed.delivery_id,
        status,
        next,
    )
    .execute(&mut *tx)
    .await?;
    if let Some((status, reason)) = subscription {
        sqlx::query!(
            "update webhook_subscriptions set status = $2, status_reason = $3, updated_at = now() \
             where id = $1 and status = 'active'",
            claimed.subscription_id,
            status,
            reason,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A delivery as its subscriber reads it, with its attempts.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub case_id: Uuid,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
    pub tries: Json<Vec<AttemptRow>>,
}

/// An attempt as its subscriber reads it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct AttemptRow {
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
}

/// The deliveries of subscription `id`, newest first, after `(created_at, id)` of a
/// previous page.
pub async fn deliveries(
    conn: &mut PgConnection,
    id: Uuid,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: u32,
) -> Result<Vec<DeliveryRow>, StoreError> {
    let (at, after_id) = before.unzip();
    Ok(sqlx::query_as!(
        DeliveryRow,
        r#"select d.id, d.event_id, e.type as event_type, d.case_id, d.status, d.attempts,
               case when d.status = 'pending' then d.next_attempt_at end as next_attempt_at,
               d.created_at, d.settled_at,
               coalesce((select json_agg(json_build_object('attempted_at', a.attempted_at,
                   'status_code', a.status_code, 'error', a.error, 'duration_ms', a.duration_ms)
                   order by a.attempted_at) from webhook_attempts a where a.delivery_id = d.id),
                   '[]') as "tries!: Json<Vec<AttemptRow>>"
           from webhook_deliveries d join event_outbox e on e.id = d.event_id
           where d.subscription_id = $1
             and ($2::timestamptz is null or (d.created_at, d.id) < ($2, $3::uuid))
           order by d.created_at desc, d.id desc limit $4"#,
        id,
        at,
        after_id,
        i64::from(limit) + 1,
    )
    .fetch_all(&mut *conn)
    .await?)
}

// --- Key rotation -------------------------------------------------------------------------

/// Re-wraps with the current master key of `keys` every subscription secret (and a previous
/// one still signing) that another key wraps, as `retour documents rotate-key` does for the
/// documents' keys: afterwards the old master key may be removed. Returns how many secrets
/// were re-wrapped.
pub async fn rewrap_secrets(
    pool: &PgPool,
    keys: &crate::documents::crypto::MasterKeys,
) -> Result<u64, crate::documents::RotationError> {
    let current = keys.current_id();
    let mut tx = pool.begin().await.map_err(StoreError::from)?;
    let due = sqlx::query!(
        "select id, key_id, wrapped_secret, previous_key_id, previous_wrapped_secret \
         from webhook_subscriptions \
         where key_id <> $1 or (previous_key_id <> $1 and previous_until > now()) \
         order by id for update",
        current,
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    let rewrap = |id: Uuid, key_id: &str, wrapped: &[u8]| {
        keys.unwrap(id, key_id, wrapped)
            .and_then(|secret| keys.wrap(id, &secret))
            .map_err(|source| crate::documents::RotationError::Key { document_id: id, source })
    };
    let mut rewrapped = 0;
    for row in &due {
        let (key_id, wrapped) = rewrap(row.id, &row.key_id, &row.wrapped_secret)?;
        let previous = match (&row.previous_key_id, &row.previous_wrapped_secret) {
            (Some(previous_id), Some(previous)) if previous_id != current => {
                Some(rewrap(row.id, previous_id, previous)?)
            }
            _ => None,
        };
        sqlx::query!(
            "update webhook_subscriptions set key_id = $2, wrapped_secret = $3, \
                 previous_key_id = coalesce($4, previous_key_id), \
                 previous_wrapped_secret = coalesce($5, previous_wrapped_secret) \
             where id = $1",
            row.id,
            key_id,
            wrapped,
            previous.as_ref().map(|(k, _)| k.as_str()),
            previous.as_ref().map(|(_, w)| w.as_slice()),
        )
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        rewrapped += 1;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(rewrapped)
}
