//! Access events written in groups: a read's event joins the events of other requests waiting
//! at the same moment, and they are inserted by one statement in one transaction, so that a
//! hundred reads pay for one commit instead of a hundred.
//!
//! Nothing is answered unlogged: [`AccessLog::record`] returns only once the transaction
//! holding the event has committed, and an error when it has not. While [`FLUSHES`] groups
//! are being written, the events arriving wait in the queue and form the next group (group
//! commit): a lone request waits for one insert, as before; under load each waits for about
//! one group. A group that fails is written again event by event, so that one bad event (a
//! reused id) fails only its own request.
//!
//! Only events that stand alone go through here (reads, refusals, sign-ins): an event that
//! records a change is written in the change's own transaction ([`super::record`] with the
//! transaction).

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use super::{AuditEvent, attempted_details};
use crate::StoreError;

/// The most events written by one statement.
pub const GROUP: usize = 512;

/// How many groups may be in flight at once (each holds a connection while it commits).
pub const FLUSHES: usize = 4;

/// Events waiting for a free flush before requests are held back.
const QUEUE: usize = 16 * GROUP;

/// The writer of grouped access events; cheap to clone. The writing task is started on first
/// use, within the runtime of its caller.
#[derive(Clone)]
pub struct AccessLog {
    pool: PgPool,
    queue: Arc<OnceLock<mpsc::Sender<Pending>>>,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLog").finish_non_exhaustive()
    }
}

/// An event with everything decided in the request's task (its id and details set, its
/// time), and the channel its outcome is sent back on.
struct Pending {
    event: AuditEvent,
    occurred_at: DateTime<Utc>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

impl AccessLog {
    pub fn new(pool: PgPool) -> Self {
        Self { pool, queue: Arc::new(OnceLock::new()) }
    }

    /// Writes `event` with the events of other requests, and returns once it is committed.
    pub async fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        // Decided here, in the request's task: the trail of the request is task-local.
        let (done, outcome) = oneshot::channel();
        let mut decided = event.clone();
        decided.id = Some(event.id.unwrap_or_else(Uuid::now_v7));
        if let Some(details) = attempted_details(event) {
            decided.details = details;
        }
        let pending = Pending { event: decided, occurred_at: Utc::now(), done };
        let queue = self.queue.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(QUEUE);
            tokio::spawn(write_groups(self.pool.clone(), receiver));
            sender
        });
        if queue.send(pending).await.is_err() {
            return Err(StoreError::Unavailable(sqlx::Error::WorkerCrashed));
        }
        outcome.await.unwrap_or(Err(StoreError::Unavailable(sqlx::Error::WorkerCrashed)))
    }
}

/// Takes every waiting event as soon as a flush is free, and writes them as one group.
async fn write_groups(pool: PgPool, mut receiver: mpsc::Receiver<Pending>) {
    let flushes = Arc::new(Semaphore::new(FLUSHES));
    loop {
        let Ok(permit) = Arc::clone(&flushes).acquire_owned().await else { return };
        let mut group = Vec::with_capacity(GROUP);
        if receiver.recv_many(&mut group, GROUP).await == 0 {
            // Every sender is gone: the store was dropped.
            return;
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            let outcome = insert(&pool, &group).await;
            match outcome {
                Ok(()) => {
                    for pending in group {
                        // A request that went away no longer waits for its answer.
                        let _ = pending.done.send(Ok(()));
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, events = group.len(),
                        "a group of access events failed; writing them one by one");
                    for pending in group {
                        let outcome = insert_one(&pool, &pending).await;
                        let _ = pending.done.send(outcome);
                    }
                }
            }
            drop(permit);
        });
    }
}

/// Inserts a group of events in one statement (its own transaction).
async fn insert(pool: &PgPool, group: &[Pending]) -> Result<(), StoreError> {
    let mut ids = Vec::with_capacity(group.len());
    let mut occurred = Vec::with_capacity(group.len());
    let mut actor_types = Vec::with_capacity(group.len());
    let mut actor_ids = Vec::with_capacity(group.len());
    let mut institutions = Vec::with_capacity(group.len());
    let mut roles = Vec::with_capacity(group.len());
    let mut actions = Vec::with_capacity(group.len());
    let mut resource_types = Vec::with_capacity(group.len());
    let mut resource_ids = Vec::with_capacity(group.len());
    let mut resource_lists = Vec::with_capacity(group.len());
    let mut outcomes = Vec::with_capacity(group.len());
    let mut details = Vec::with_capacity(group.len());
    let mut request_ids = Vec::with_capacity(group.len());
    let mut addresses = Vec::with_capacity(group.len());
    for Pending { event, occurred_at, .. } in group {
        ids.push(event.id.unwrap_or_else(Uuid::now_v7));
        occurred.push(*occurred_at);
        actor_types.push(event.actor.actor_type.to_owned());
        actor_ids.push(event.actor.id);
        institutions.push(event.actor.institution_id);
        roles.push(event.actor.role.clone());
        actions.push(event.action.clone());
        resource_types.push(event.resource_type.map(str::to_owned));
        resource_ids.push(event.resource_id);
        // Lists of different lengths do not make a two-dimensional array: each travels as
        // its array literal.
        resource_lists.push(uuid_array_literal(&event.resource_ids));
        outcomes.push(event.outcome.as_str().to_owned());
        details.push(event.details.clone());
        request_ids.push(event.request_id.clone());
        addresses.push(event.client_addr.map(|a| a.to_string()));
    }
    sqlx::query!(
        "insert into audit_events (id, occurred_at, actor_type, actor_id, actor_institution_id, \
             actor_role, action, resource_type, resource_id, resource_ids, outcome, details, \
             request_id, client_addr) \
         select e.id, e.occurred_at, e.actor_type, e.actor_id, e.actor_institution_id, \
             e.actor_role, e.action, e.resource_type, e.resource_id, e.resource_ids::uuid[], \
             e.outcome, e.details, e.request_id, e.client_addr::inet \
         from unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::uuid[], $5::uuid[], \
             $6::text[], $7::text[], $8::text[], $9::uuid[], $10::text[], $11::text[], \
             $12::jsonb[], $13::text[], $14::text[]) \
             as e(id, occurred_at, actor_type, actor_id, actor_institution_id, actor_role, \
                 action, resource_type, resource_id, resource_ids, outcome, details, \
                 request_id, client_addr)",
        &ids,
        &occurred,
        &actor_types,
        &actor_ids as &[Option<Uuid>],
        &institutions as &[Option<Uuid>],
        &roles as &[Option<String>],
        &actions,
        &resource_types as &[Option<String>],
        &resource_ids as &[Option<Uuid>],
        &resource_lists,
        &outcomes,
        &details,
        &request_ids as &[Option<String>],
        &addresses as &[Option<String>],
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// One event of a failed group, on its own, with the id, time and details it was given.
async fn insert_one(pool: &PgPool, pending: &Pending) -> Result<(), StoreError> {
    super::record_at(pool, &pending.event, pending.occurred_at).await
}

/// `{a,b}`: the array literal of `ids`.
fn uuid_array_literal(ids: &[Uuid]) -> String {
    let mut literal = String::with_capacity(2 + ids.len() * 37);
    literal.push('{');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            literal.push(',');
        }
        literal.push_str(&id.to_string());
    }
    literal.push('}');
    literal
}

#[cfg(test)]
mod tests {
    use super::uuid_array_literal;
    use uuid::Uuid;

    #[test]
    fn an_array_literal_lists_the_ids() {
        assert_eq!(uuid_array_literal(&[]), "{}");
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(uuid_array_literal(&[a, b]), format!("{{{a},{b}}}"));
    }
}
