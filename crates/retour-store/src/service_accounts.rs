//! Integrators' service accounts.

use retour_domain::{Actor, ActorKind, Scope};
use uuid::Uuid;

use crate::institutions::InstitutionFacts;
use crate::{Store, StoreError};

impl Store {
    /// The acting service account with its institution and scopes, if both are active.
    pub async fn active_service_actor(&self, id: Uuid) -> Result<Option<Actor>, StoreError> {
        let row: Option<ActorRow> = sqlx::query_as(
            "select s.scopes, i.id, i.kind, i.canton, i.country \
             from service_accounts s join institutions i on i.id = s.institution_id \
             where s.id = $1 and s.status = 'active' and i.active",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        let Some(ActorRow { scopes, institution }) = row else {
            return Ok(None);
        };
        let scopes = scopes.iter().filter_map(|s| Scope::parse(s)).collect();
        institution.actor(id, ActorKind::ServiceAccount { scopes }).map(Some)
    }
}

#[derive(sqlx::FromRow)]
struct ActorRow {
    scopes: Vec<String>,
    #[sqlx(flatten)]
    institution: InstitutionFacts,
}
