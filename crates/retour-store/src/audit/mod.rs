//! The access log (DSV Art. 4). Every write of personal data records its event in the same
//! transaction; reads record theirs before the response leaves.
//!
//! The log is append-only (triggers refuse UPDATE, DELETE and TRUNCATE) and tamper-evident:
//! a sealer appends each committed event to a SHA-256 hash chain ([`chain`] documents the
//! encoding, [`seal_pending`] and [`run_sealer`] do the sealing), [`verify`] recomputes the
//! chain, [`list`] serves auditors, and [`begin_prune`] removes a whole sealed prefix past the
//! retention, after export, recording the prune in the chain.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use retour_domain::{Actor, ActorKind};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::StoreError;

pub mod chain;
mod group;
mod prune;
mod query;
mod seal;
pub mod trail;
mod verify;

pub use group::{AccessLog, FLUSHES, GROUP};
pub use prune::{MIN_RETENTION_DAYS, Prune, PruneError, PruneReport, begin_prune};
pub use query::{Cursor, EventFilter, LoggedEvent, Page, Seal, StoredEvent, list};
pub use seal::{SEAL_LOCK, run_sealer, seal_pending, try_seal_pending};
pub use verify::{Verification, verify};

/// Whether the operation was carried out or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
        }
    }

    /// The outcome named `value` (`allowed` or `denied`).
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "allowed" => Some(Outcome::Allowed),
            "denied" => Some(Outcome::Denied),
            _ => None,
        }
    }
}

/// Who acted, as the access log records it.
#[derive(Debug, Clone, Default)]
pub struct AuditActor {
    /// `user`, `service_account`, `anonymous` or `system`.
    pub actor_type: &'static str,
    pub id: Option<Uuid>,
    pub institution_id: Option<Uuid>,
    pub role: Option<String>,
}

impl AuditActor {
    pub fn anonymous() -> Self {
        Self { actor_type: "anonymous", ..Self::default() }
    }

    /// Retour itself, e.g. a maintenance command run by the operator.
    pub fn system() -> Self {
        Self { actor_type: "system", ..Self::default() }
    }

    /// A user known by id whose session is not established (e.g. a failed sign-in).
    pub fn user(id: Uuid, institution_id: Uuid, role: &str) -> Self {
        Self {
            actor_type: "user",
            id: Some(id),
            institution_id: Some(institution_id),
            role: Some(role.to_owned()),
        }
    }
}

impl From<&Actor> for AuditActor {
    fn from(actor: &Actor) -> Self {
        match &actor.kind {
            ActorKind::User { role } => Self::user(actor.id, actor.institution_id, role.as_str()),
            ActorKind::ServiceAccount { .. } => Self {
                actor_type: "service_account",
                id: Some(actor.id),
                institution_id: Some(actor.institution_id),
                role: None,
            },
        }
    }
}

/// One access-log entry.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// The event's id; a new UUIDv7 when not given.
    pub id: Option<Uuid>,
    pub actor: AuditActor,
    pub action: String,
    pub resource_type: Option<&'static str>,
    pub resource_id: Option<Uuid>,
    pub resource_ids: Vec<Uuid>,
    pub outcome: Outcome,
    pub details: serde_json::Value,
    pub request_id: Option<String>,
    pub client_addr: Option<IpAddr>,
}

impl AuditEvent {
    pub fn new(actor: AuditActor, action: &str, outcome: Outcome) -> Self {
        Self {
            id: None,
            actor,
            action: action.to_owned(),
            resource_type: None,
            resource_id: None,
            resource_ids: Vec::new(),
            outcome,
            details: serde_json::Value::Object(serde_json::Map::new()),
            request_id: None,
            client_addr: None,
        }
    }

    /// Gives the event a known id, for a caller that refers to it afterwards.
    pub fn id(mut self, id: Uuid) -> Self {
        self.id = Some(id);
        self
    }

    pub fn resource(mut self, resource_type: &'static str, id: Uuid) -> Self {
        self.resource_type = Some(resource_type);
        self.resource_id = Some(id);
        self
    }

    pub fn resources(mut self, resource_type: &'static str, ids: Vec<Uuid>) -> Self {
        self.resource_type = Some(resource_type);
        self.resource_ids = ids;
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    pub fn request(mut self, request_id: Option<String>, client_addr: Option<IpAddr>) -> Self {
        self.request_id = request_id;
        self.client_addr = client_addr;
        self
    }
}

/// Appends an event through `executor`: a transaction for writes. An event that stands alone
/// (a read, a refusal) goes through [`AccessLog::record`] instead, grouped with others.
pub async fn record<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    insert_event(executor, event, None).await
}

/// [`record`] with the time the event occurred, where it is not the transaction's.
pub(crate) async fn record_at<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    event: &AuditEvent,
    occurred_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    insert_event(executor, event, Some(occurred_at)).await
}

async fn insert_event<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    event: &AuditEvent,
    occurred_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    // The same insert as `push_insert`'s, whose outcome may instead be decided in SQL.
    let details = attempted_details(event);
    sqlx::query!(
        "insert into audit_events (id, actor_type, actor_id, actor_institution_id, actor_role, \
             action, resource_type, resource_id, resource_ids, outcome, details, request_id, \
             client_addr, occurred_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, coalesce($14, now()))",
        event.id.unwrap_or_else(Uuid::now_v7),
        event.actor.actor_type,
        event.actor.id,
        event.actor.institution_id,
        event.actor.role,
        event.action,
        event.resource_type,
        event.resource_id,
        event.resource_ids.as_slice(),
        event.outcome.as_str(),
        details.as_ref().unwrap_or(&event.details),
        event.request_id,
        event.client_addr as Option<IpAddr>,
        occurred_at,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// The details to record `event` with, when they differ from its own: a refusal tells the
/// request's trail that it is logged, and names the action the request attempted.
fn attempted_details(event: &AuditEvent) -> Option<serde_json::Value> {
    if event.outcome != Outcome::Denied {
        return None;
    }
    let attempted = trail::refusal_recorded()?;
    let map = event.details.as_object().filter(|map| !map.contains_key("attempted"))?;
    let mut map = map.clone();
    map.insert("attempted".to_owned(), attempted.into());
    Some(serde_json::Value::Object(map))
}

/// Pushes the insert of `event` onto `qb`, as part of a larger statement (a change's read
/// of the case it answers with). Built at run time with the statement it joins; [`record`]
/// is the same insert on its own.
pub(crate) fn push_insert(qb: &mut QueryBuilder<Postgres>, event: &AuditEvent) {
    qb.push(
        "insert into audit_events (id, actor_type, actor_id, actor_institution_id, actor_role, \
             action, resource_type, resource_id, resource_ids, outcome, details, request_id, \
             client_addr) values (",
    );
    let details = attempted_details(event);
    let mut values = qb.separated(", ");
    values
        .push_bind(event.id.unwrap_or_else(Uuid::now_v7))
        .push_bind(event.actor.actor_type)
        .push_bind(event.actor.id)
        .push_bind(event.actor.institution_id)
        .push_bind(&event.actor.role)
        .push_bind(&event.action)
        .push_bind(event.resource_type)
        .push_bind(event.resource_id)
        .push_bind(&event.resource_ids)
        .push_bind(event.outcome.as_str());
    // The event's own details are bound by reference: only an enriched copy is owned.
    let values = match details {
        Some(details) => values.push_bind(details),
        None => values.push_bind(&event.details),
    };
    values.push_bind(&event.request_id).push_bind(event.client_addr);
    qb.push(")");
}
