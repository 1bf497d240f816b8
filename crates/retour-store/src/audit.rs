//! Writing the access log. Every write of personal data records its event in the same
//! transaction; reads record theirs before the response leaves.

use std::net::IpAddr;

use retour_domain::{Actor, ActorKind};
use uuid::Uuid;

use crate::StoreError;

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
}

/// Who acted, as the access log records it.
#[derive(Debug, Clone, Default)]
pub struct AuditActor {
    /// `user`, `service_account` or `anonymous`.
    pub actor_type: &'static str,
    pub id: Option<Uuid>,
    pub institution_id: Option<Uuid>,
    pub role: Option<String>,
}

impl AuditActor {
    pub fn anonymous() -> Self {
        Self { actor_type: "anonymous", ..Self::default() }
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

/// Appends an event through `executor`: a transaction for writes, the pool for reads.
pub async fn record<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into audit_events (id, actor_type, actor_id, actor_institution_id, actor_role, \
             action, resource_type, resource_id, resource_ids, outcome, details, request_id, \
             client_addr) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(Uuid::now_v7())
    .bind(event.actor.actor_type)
    .bind(event.actor.id)
    .bind(event.actor.institution_id)
    .bind(&event.actor.role)
    .bind(&event.action)
    .bind(event.resource_type)
    .bind(event.resource_id)
    .bind(&event.resource_ids)
    .bind(event.outcome.as_str())
    .bind(&event.details)
    .bind(&event.request_id)
    .bind(event.client_addr)
    .execute(executor)
    .await?;
    Ok(())
}
