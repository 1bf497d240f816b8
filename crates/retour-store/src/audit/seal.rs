//! Sealing: appending committed events to the hash chain, in batches, off the request path.
//!
//! Requests only insert their event (and, through a trigger, a row of `audit_seal_queue`), so
//! they never wait for one another. A sealer takes the queued events in a stable order
//! (`occurred_at`, then id), links them after the current head of the chain and removes them
//! from the queue, all in one transaction under the transaction-level advisory lock
//! [`SEAL_LOCK`]. Any number of server processes may run sealers: the lock makes them take
//! turns, and the primary key on `seq` and the unique `event_id` would refuse a second link
//! for the same place or event even if it did not. An event committed late by a long
//! transaction simply joins the chain in a later batch: the chain's order is the seal order,
//! and every committed event is sealed exactly once.

use std::future::Future;
use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::chain::{GENESIS, canonical, link_hash};
use super::query::unsealed;
use crate::StoreError;

/// The advisory lock key that serialises sealers and prunes (also used by `audit_prune()`).
pub const SEAL_LOCK: i64 = 8_243_122_715_032_170_081;

/// Events sealed per transaction.
const BATCH: i64 = 1000;

/// Seals every event committed and not sealed yet, waiting for another sealer to finish
/// first. Returns how many were sealed. For tests and maintenance commands.
pub async fn seal_pending(pool: &PgPool) -> Result<u64, StoreError> {
    let mut total = 0;
    loop {
        let mut tx = pool.begin().await?;
        lock_sealing(&mut tx).await?;
        let sealed = seal_batch(&mut tx, BATCH).await?;
        tx.commit().await?;
        total += sealed;
        if sealed < BATCH as u64 {
            return Ok(total);
        }
    }
}

/// Like [`seal_pending`], but returns `None` at once when another sealer (or a prune) holds
/// the lock: that one seals the waiting events.
pub async fn try_seal_pending(pool: &PgPool) -> Result<Option<u64>, StoreError> {
    let mut total = 0;
    loop {
        let mut tx = pool.begin().await?;
        let locked =
            sqlx::query_scalar!(r#"select pg_try_advisory_xact_lock($1) as "locked!""#, SEAL_LOCK)
                .fetch_one(&mut *tx)
                .await?;
        if !locked {
            return Ok((total > 0).then_some(total));
        }
        let sealed = seal_batch(&mut tx, BATCH).await?;
        tx.commit().await?;
        total += sealed;
        if sealed < BATCH as u64 {
            return Ok(Some(total));
        }
    }
}

/// Seals every `every` until `shutdown` resolves, then once more for the last events, and
/// returns. Failures are logged and retried at the next tick.
pub async fn run_sealer(pool: PgPool, every: Duration, shutdown: impl Future<Output = ()>) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    tracing::info!(interval_ms = every.as_millis() as u64, "access log sealer started");
    let mut failing = false;
    let mut since_vacuum = 0;
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = ticker.tick() => {
                let sealed;
                (failing, sealed) = seal_round(&pool, failing).await;
                since_vacuum += sealed;
                if since_vacuum >= VACUUM_EVERY {
                    vacuum_queue(&pool).await;
                    since_vacuum = 0;
                }
            }
        }
    }
    seal_round(&pool, failing).await;
    tracing::info!("access log sealer stopped");
}

/// Events sealed between two vacuums of the queue.
const VACUUM_EVERY: u64 = 20_000;

/// Waits for [`SEAL_LOCK`] and holds it until the transaction `conn` is in ends.
pub(crate) async fn lock_sealing(conn: &mut PgConnection) -> Result<(), StoreError> {
    sqlx::query!("select pg_advisory_xact_lock($1)", SEAL_LOCK).execute(conn).await?;
    Ok(())
}

/// Every event passes through `audit_seal_queue`: inserted, then deleted when sealed. The dead
/// rows stay until a vacuum, and each round reads the queue whole, so a queue left to
/// autovacuum (which may come by only every minute, or be off) grew to a hundred thousand
/// dead rows under load and a round took half a second. The sealer vacuums it itself: a few
/// milliseconds for the few pages that hold live rows. A role that does not own the table
/// gets a warning from PostgreSQL and autovacuum keeps the duty.
async fn vacuum_queue(pool: &PgPool) {
    // Not a macro: VACUUM cannot run as a prepared statement.
    if let Err(error) = sqlx::raw_sql("vacuum audit_seal_queue").execute(pool).await {
        tracing::debug!(%error, "could not vacuum the seal queue");
    }
}

/// One round; returns whether it failed and how many events it sealed. An outage is reported
/// once, not every round.
async fn seal_round(pool: &PgPool, failing: bool) -> (bool, u64) {
    match try_seal_pending(pool).await {
        Ok(sealed) => {
            if failing {
                tracing::info!("sealing the access log works again");
            }
            let sealed = sealed.unwrap_or(0);
            if sealed > 0 {
                tracing::debug!(sealed, "sealed access log events");
            }
            (false, sealed)
        }
        Err(error) if failing => {
            tracing::debug!(%error, "still cannot seal the access log");
            (true, 0)
        }
        Err(error) => {
            tracing::warn!(%error, "cannot seal the access log; retrying every round");
            (true, 0)
        }
    }
}

/// Seals up to `limit` queued events after the head of the chain. The caller holds
/// [`SEAL_LOCK`] in the transaction `conn` is in.
pub(crate) async fn seal_batch(conn: &mut PgConnection, limit: i64) -> Result<u64, StoreError> {
    let head = sqlx::query!("select seq, hash from audit_seals order by seq desc limit 1")
        .fetch_optional(&mut *conn)
        .await?;
    let (mut seq, mut prev_hash) = match head {
        Some(head) => {
            let hash: [u8; 32] = head
                .hash
                .as_slice()
                .try_into()
                .map_err(|_| StoreError::corrupt("audit_seals.hash", "length"))?;
            (head.seq, hash)
        }
        None => (0, GENESIS),
    };
    let events = unsealed(conn, limit).await?;
    if events.is_empty() {
        return Ok(0);
    }
    let sealed_at = sqlx::query_scalar!(r#"select now() as "now!""#).fetch_one(&mut *conn).await?;
    let mut seqs = Vec::with_capacity(events.len());
    let mut ids: Vec<Uuid> = Vec::with_capacity(events.len());
    let mut prev_hashes: Vec<Vec<u8>> = Vec::with_capacity(events.len());
    let mut hashes: Vec<Vec<u8>> = Vec::with_capacity(events.len());
    for event in events {
        seq += 1;
        let hash = link_hash(&prev_hash, &canonical(seq, sealed_at, &event));
        seqs.push(seq);
        ids.push(event.id);
        prev_hashes.push(prev_hash.to_vec());
        hashes.push(hash.to_vec());
        prev_hash = hash;
    }
    sqlx::query!(
        "insert into audit_seals (seq, event_id, prev_hash, hash, sealed_at) \
         select seq, event_id, prev_hash, hash, $5 \
           from unnest($1::bigint[], $2::uuid[], $3::bytea[], $4::bytea[]) \
                as t (seq, event_id, prev_hash, hash)",
        seqs.as_slice(),
        ids.as_slice(),
        prev_hashes.as_slice(),
        hashes.as_slice(),
        sealed_at,
    )
    .execute(&mut *conn)
    .await?;
    // By primary key: a condition on other rows would read the whole queue, dead rows too.
    sqlx::query!("delete from audit_seal_queue where event_id = any($1)", ids.as_slice())
        .execute(&mut *conn)
        .await?;
    Ok(ids.len() as u64)
}
