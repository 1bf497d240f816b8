//! Verification: recomputing the hash chain, batch by batch, from its anchor to its head.

use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use super::chain::{GENESIS, Walker};
use super::query::links;
use crate::StoreError;

/// Links read per query.
const BATCH: i64 = 5000;

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Every sealed link is intact.
    pub ok: bool,
    /// Links verified (all of them when `ok`; those before `first_broken` otherwise).
    pub checked: u64,
    /// The seq of the first link that is missing, altered, forged or cannot be tied to the
    /// one before it; every link before it verified.
    pub first_broken: Option<i64>,
    /// The link the chain starts after: 0, or the last link removed by the latest prune.
    pub anchor_seq: i64,
    /// The newest link, and its hash (hex). Keeping these outside the database lets a later
    /// verification prove that nothing was rewritten up to there.
    pub head_seq: Option<i64>,
    pub head_hash: Option<String>,
    /// Events not sealed yet (normally only those of the last moments).
    pub unsealed: i64,
}

/// Where the chain must start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Anchor {
    pub(crate) seq: i64,
    pub(crate) hash: [u8; 32],
}

/// The anchor named by the latest sealed `audit.prune` event, or the genesis of a chain that
/// was never pruned; `None` when that event does not name a readable anchor.
pub(crate) async fn anchor(conn: &mut PgConnection) -> Result<Option<Anchor>, StoreError> {
    let latest = sqlx::query_scalar!(
        "select e.details from audit_events e join audit_seals s on s.event_id = e.id \
          where e.action = 'audit.prune' order by s.seq desc limit 1",
    )
    .fetch_optional(conn)
    .await?;
    let Some(details) = latest else {
        return Ok(Some(Anchor { seq: 0, hash: GENESIS }));
    };
    let seq = details.get("pruned_through_seq").and_then(serde_json::Value::as_i64);
    let hash = details
        .get("last_hash")
        .and_then(serde_json::Value::as_str)
        .and_then(|h| hex::decode(h).ok())
        .and_then(|h| <[u8; 32]>::try_from(h.as_slice()).ok());
    Ok(seq.zip(hash).map(|(seq, hash)| Anchor { seq, hash }))
}

/// The first and the last link of the chain (`None` for an empty chain).
pub(crate) async fn chain_ends(
    conn: &mut PgConnection,
) -> Result<(Option<i64>, Option<i64>), StoreError> {
    let ends = sqlx::query!("select min(seq) as first, max(seq) as head from audit_seals")
        .fetch_one(conn)
        .await?;
    Ok((ends.first, ends.head))
}

/// Recomputes every sealed link from the anchor to the head and reports the first one that
/// is missing, altered or forged. Reads in batches within one read-only snapshot, so it
/// neither holds the log in memory nor blocks the sealer.
pub async fn verify(pool: &PgPool) -> Result<Verification, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query!("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let anchor = anchor(&mut tx).await?;
    let (first, head) = chain_ends(&mut tx).await?;
    let mut walker = match anchor {
        Some(anchor) => Walker::new(anchor.seq, anchor.hash),
        None => {
            // The latest prune names no anchor: the first link cannot be tied to anything.
            let mut walker = Walker::new(first.unwrap_or(1) - 1, GENESIS);
            walker.break_here();
            walker
        }
    };
    if let (Some(first), Some(head)) = (first, head) {
        let mut after = first - 1;
        while walker.broken().is_none() && after < head {
            let batch = links(&mut tx, after, head, BATCH).await?;
            let Some((last, _)) = batch.last() else { break };
            after = last.seq;
            for (seal, event) in &batch {
                if !walker.check(seal, event.as_ref()) {
                    break;
                }
            }
        }
    } else if anchor.is_some_and(|a| a.seq > 0) {
        // A prune never removes the newest link, so a pruned chain is never empty.
        walker.break_here();
    }
    let head_hash = sqlx::query_scalar!("select hash from audit_seals where seq = $1", head)
        .fetch_optional(&mut *tx)
        .await?;
    let unsealed = sqlx::query_scalar!(
        r#"select count(*) as "unsealed!" from audit_events e
          where not exists (select 1 from audit_seals s where s.event_id = e.id)"#,
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Verification {
        ok: walker.broken().is_none(),
        checked: walker.checked(),
        first_broken: walker.broken(),
        anchor_seq: anchor.map_or(0, |a| a.seq),
        head_seq: head,
        head_hash: head_hash.map(hex::encode),
        unsealed,
    })
}
