//! Who is acting: a signed-in user or an integrator's service account.

use uuid::Uuid;

use crate::string_enum;
use crate::{Canton, InstitutionKind, Role};

/// The authenticated caller of a request, as the access policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user's or service account's id.
    pub id: Uuid,
    pub kind: ActorKind,
    pub institution_id: Uuid,
    pub institution_kind: InstitutionKind,
    /// The canton of a cantonal counselling service.
    pub canton: Option<Canton>,
    /// The country (ISO 3166-1 alpha-2) of an IOM mission.
    pub mission_country: Option<String>,
}

/// Whether the caller is a person with a role or an integration with scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorKind {
    User { role: Role },
    ServiceAccount { scopes: Vec<Scope> },
}

string_enum! {
    /// What a service account may do.
    pub enum Scope {
        CasesRead = "cases:read",
        StatsRead = "stats:read",
        /// Reads the access log.
        EventsRead = "events:read",
        /// Reads the feed of case events (`GET /v1/events`) and subscribes to them as
        /// webhooks, for the cases a user of its institution would see.
        CaseEventsRead = "case-events:read",
    }
}

impl Actor {
    /// The role of a user; `None` for a service account.
    pub fn role(&self) -> Option<Role> {
        match &self.kind {
            ActorKind::User { role } => Some(*role),
            ActorKind::ServiceAccount { .. } => None,
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.role() == Some(role)
    }

    pub fn has_scope(&self, scope: Scope) -> bool {
        matches!(&self.kind, ActorKind::ServiceAccount { scopes } if scopes.contains(&scope))
    }
}
