//! Who is acting: a signed-in user or an integrator's service account.

use uuid::Uuid;

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

/// What a service account may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub enum Scope {
    #[serde(rename = "cases:read")]
    CasesRead,
    #[serde(rename = "stats:read")]
    StatsRead,
    #[serde(rename = "events:read")]
    EventsRead,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::CasesRead, Scope::StatsRead, Scope::EventsRead];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::CasesRead => "cases:read",
            Scope::StatsRead => "stats:read",
            Scope::EventsRead => "events:read",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
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
