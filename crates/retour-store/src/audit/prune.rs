//! Retention: removing the oldest sealed events, once past the retention, as a whole prefix
//! of the chain, only after they were exported, and recording the prune in the chain.
//!
//! [`begin_prune`] opens a transaction holding the sealer's lock and fixes the range: links
//! from the chain's start up to the last one before the first event at or after the cutoff
//! (never the newest link, which the chain goes on from). [`Prune::next_batch`] hands out the
//! range for export and re-verifies every link on the way, so a broken chain is never pruned.
//! [`Prune::commit`] records an `audit.prune` event naming the range and the hash of its last
//! link, has the database function `audit_prune()` delete the range (it re-checks all of
//! this), seals the prune event into the chain and commits. Verification afterwards starts
//! from that event's anchor.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::chain::Walker;
use super::query::{LoggedEvent, links};
use super::seal::{lock_sealing, seal_batch};
use super::verify::{anchor, chain_ends};
use super::{AuditActor, AuditEvent, Outcome, record};
use crate::StoreError;

/// The shortest retention the law allows (DSV Art. 4: at least one year).
pub const MIN_RETENTION_DAYS: u32 = 365;

/// Links handed out per batch.
const BATCH: i64 = 1000;

/// Why a prune did not happen. Nothing was deleted.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    #[error("the retention must be at least {MIN_RETENTION_DAYS} days, not {0}")]
    RetentionTooShort(u32),
    #[error("the cutoff {before} is within the retention of {retention_days} days")]
    TooRecent { before: DateTime<Utc>, retention_days: u32 },
    #[error("the access log's hash chain is broken at link {0}; nothing was pruned")]
    ChainBroken(i64),
    #[error("links {from}..={through} must all be exported before they are pruned")]
    NotExported { from: i64, through: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for PruneError {
    fn from(error: sqlx::Error) -> Self {
        PruneError::Store(error.into())
    }
}

/// A prune in progress: its transaction holds the sealer's lock until commit or drop.
pub struct Prune {
    tx: Transaction<'static, Postgres>,
    before: DateTime<Utc>,
    from_seq: i64,
    through_seq: i64,
    walker: Walker,
    exported_through: i64,
}

/// What a committed prune removed, and its own place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneReport {
    pub from_seq: i64,
    pub through_seq: i64,
    pub events: i64,
    /// The hash (hex) of link `through_seq`, from which the chain goes on.
    pub last_hash: String,
    pub prune_event_id: Uuid,
    pub prune_event_seq: i64,
}

/// Starts pruning the sealed events that occurred before `before`, which must lie at least
/// `retention_days` (at least [`MIN_RETENTION_DAYS`]) in the past. `None` when nothing is
/// old enough.
pub async fn begin_prune(
    pool: &PgPool,
    before: DateTime<Utc>,
    retention_days: u32,
) -> Result<Option<Prune>, PruneError> {
    if retention_days < MIN_RETENTION_DAYS {
        return Err(PruneError::RetentionTooShort(retention_days));
    }
    if before > Utc::now() - chrono::Duration::days(i64::from(retention_days)) {
        return Err(PruneError::TooRecent { before, retention_days });
    }
    let mut tx = pool.begin().await?;
    lock_sealing(&mut tx).await?;
    let (Some(first), Some(head)) = chain_ends(&mut tx).await? else {
        return Ok(None);
    };
    let Some(anchor) = anchor(&mut tx).await? else {
        return Err(PruneError::ChainBroken(first));
    };
    if first != anchor.seq + 1 {
        return Err(PruneError::ChainBroken(first.min(anchor.seq + 1)));
    }
    let young = sqlx::query_scalar!(
        "select s.seq from audit_seals s join audit_events e on e.id = s.event_id \
          where e.occurred_at >= $1 order by s.seq limit 1",
        before,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let through = young.map_or(head, |seq| seq - 1).min(head - 1);
    if through < first {
        return Ok(None);
    }
    Ok(Some(Prune {
        tx,
        before,
        from_seq: first,
        through_seq: through,
        walker: Walker::new(anchor.seq, anchor.hash),
        exported_through: anchor.seq,
    }))
}

impl Prune {
    /// The first link to be removed.
    pub fn from_seq(&self) -> i64 {
        self.from_seq
    }

    /// The last link to be removed.
    pub fn through_seq(&self) -> i64 {
        self.through_seq
    }

    /// The next events of the range, in chain order, each verified against the chain; empty
    /// once the whole range was handed out.
    pub async fn next_batch(&mut self) -> Result<Vec<LoggedEvent>, PruneError> {
        if self.exported_through >= self.through_seq {
            return Ok(Vec::new());
        }
        let batch = links(&mut self.tx, self.exported_through, self.through_seq, BATCH).await?;
        if batch.is_empty() {
            self.walker.break_here();
        }
        let mut events = Vec::with_capacity(batch.len());
        for (seal, event) in batch {
            if !self.walker.check(&seal, event.as_ref()) {
                break;
            }
            self.exported_through = seal.seq;
            if let Some(event) = event {
                events.push(LoggedEvent { event, seal: Some(seal) });
            }
        }
        if let Some(broken) = self.walker.broken() {
            return Err(PruneError::ChainBroken(broken));
        }
        Ok(events)
    }

    /// Deletes the exported range and records the prune, by `actor`, with the SHA-256 (hex)
    /// of the export file, in the chain.
    pub async fn commit(
        mut self,
        actor: AuditActor,
        export_sha256: &str,
    ) -> Result<PruneReport, PruneError> {
        if self.exported_through != self.through_seq {
            return Err(PruneError::NotExported { from: self.from_seq, through: self.through_seq });
        }
        let last_hash = hex::encode(self.walker.last_hash());
        let events = self.through_seq - self.from_seq + 1;
        let db_role = sqlx::query_scalar!(r#"select session_user::text as "db_role!""#)
            .fetch_one(&mut *self.tx)
            .await?;
        let prune_event_id = Uuid::now_v7();
        let event = AuditEvent::new(actor, "audit.prune", Outcome::Allowed)
            .id(prune_event_id)
            .details(serde_json::json!({
                "pruned_from_seq": self.from_seq,
                "pruned_through_seq": self.through_seq,
                "last_hash": last_hash,
                "events": events,
                "before": self.before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "export_sha256": export_sha256,
                "db_role": db_role,
            }));
        record(&mut *self.tx, &event).await?;
        let deleted = sqlx::query_scalar!(
            r#"select audit_prune($1, $2) as "deleted!""#,
            self.through_seq,
            prune_event_id,
        )
        .fetch_one(&mut *self.tx)
        .await?;
        while seal_batch(&mut self.tx, BATCH).await? == BATCH as u64 {}
        let prune_event_seq =
            sqlx::query_scalar!("select seq from audit_seals where event_id = $1", prune_event_id)
                .fetch_one(&mut *self.tx)
                .await?;
        self.tx.commit().await?;
        tracing::info!(
            from_seq = self.from_seq,
            through_seq = self.through_seq,
            deleted,
            "pruned the access log"
        );
        Ok(PruneReport {
            from_seq: self.from_seq,
            through_seq: self.through_seq,
            events: deleted,
            last_hash,
            prune_event_id,
            prune_event_seq,
        })
    }
}
