//! Integrators' service accounts: OAuth 2 clients with a hashed secret and scopes.

use chrono::{DateTime, Utc};
use retour_domain::Scope;
use retour_domain::administration::AccountReach;
use uuid::Uuid;

use crate::audit::{self, AuditEvent};
use crate::users::UserStatus;
use crate::{Store, StoreError};

/// A service account as stored (its secret hash only where a token request needs it).
#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub id: Uuid,
    pub institution_id: Uuid,
    pub name: String,
    pub client_id: String,
    pub scopes: Vec<Scope>,
    /// Same states as a user account.
    pub status: UserStatus,
    /// While the account waits for approval: the administrator who asked for it.
    pub approval_requested_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What is needed to create a service account; the secret is already hashed.
#[derive(Debug, Clone)]
pub struct NewServiceAccount {
    pub institution_id: Uuid,
    pub name: String,
    pub client_id: String,
    pub secret_hash: String,
    pub scopes: Vec<Scope>,
    /// `Some(administrator)`: the account waits for a second administrator's approval.
    pub approval_requested_by: Option<Uuid>,
}

/// What an update changes; `None` leaves a field as it is. A new secret is already hashed.
#[derive(Debug, Clone, Default)]
pub struct ServiceAccountChanges {
    pub name: Option<String>,
    pub scopes: Option<Vec<Scope>>,
    pub status: Option<UserStatus>,
    pub secret_hash: Option<String>,
    /// `Some(administrator)`: the change grants access and waits for a second administrator;
    /// the account's status becomes `pending_approval`.
    pub approval_requested_by: Option<Uuid>,
}

/// Which service accounts to list.
#[derive(Debug, Clone, Default)]
pub struct ServiceAccountFilter {
    /// The accounts the asking administrator manages.
    pub reach: Option<retour_domain::administration::AccountReach>,
    pub institution_id: Option<Uuid>,
    pub status: Option<UserStatus>,
}

/// A service account found by its client id, for a token request.
#[derive(Clone)]
pub struct ClientCandidate {
    pub account: ServiceAccount,
    pub secret_hash: String,
    /// Counts the secrets the account has had; its tokens name it, and a rotation ends those
    /// of earlier generations.
    pub secret_generation: i32,
    pub institution_active: bool,
}

impl std::fmt::Debug for ClientCandidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCandidate").field("account", &self.account).finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    institution_id: Uuid,
    name: String,
    client_id: String,
    scopes: Vec<String>,
    status: String,
    approval_requested_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for ServiceAccount {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self, StoreError> {
        let scopes = row
            .scopes
            .iter()
            .map(|s| {
                Scope::parse(s).ok_or_else(|| StoreError::corrupt("service_accounts.scopes", s))
            })
            .collect::<Result<_, _>>()?;
        Ok(ServiceAccount {
            id: row.id,
            institution_id: row.institution_id,
            name: row.name,
            client_id: row.client_id,
            scopes,
            status: UserStatus::parse(&row.status)?,
            approval_requested_by: row.approval_requested_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The columns of [`Row`], for the list (the statements checked at build time name them).
const COLUMNS: &str = "id, institution_id, name, client_id, scopes, status, \
    approval_requested_by, created_at, updated_at";

fn scope_names(scopes: &[Scope]) -> Vec<&'static str> {
    scopes.iter().map(|s| s.as_str()).collect()
}

impl Store {
    /// Creates a service account and records `audit(&account)` in the same transaction.
    pub async fn create_service_account(
        &self,
        new: &NewServiceAccount,
        audit: impl FnOnce(&ServiceAccount) -> AuditEvent,
    ) -> Result<ServiceAccount, StoreError> {
        let mut tx = self.pool().begin().await?;
        let account: ServiceAccount = sqlx::query_as!(
            Row,
            "insert into service_accounts (id, institution_id, name, client_id, secret_hash, \
                 scopes, status, approval_requested_by) \
             values ($1, $2, $3, $4, $5, $6, $7, $8) \
             returning id, institution_id, name, client_id, scopes, status, \
                 approval_requested_by, created_at, updated_at",
            Uuid::now_v7(),
            new.institution_id,
            new.name,
            new.client_id,
            new.secret_hash,
            &scope_names(&new.scopes) as &[&str],
            match new.approval_requested_by {
                Some(_) => UserStatus::PendingApproval,
                None => UserStatus::Active,
            }
            .as_str(),
            new.approval_requested_by,
        )
        .fetch_one(&mut *tx)
        .await?
        .try_into()?;
        audit::record(&mut *tx, &audit(&account)).await?;
        tx.commit().await?;
        Ok(account)
    }

    pub async fn get_service_account(&self, id: Uuid) -> Result<ServiceAccount, StoreError> {
        let row = sqlx::query_as!(
            Row,
            "select id, institution_id, name, client_id, scopes, status, approval_requested_by, \
                 created_at, updated_at \
             from service_accounts where id = $1",
            id,
        )
        .fetch_optional(self.pool())
        .await?;
        let row = row.ok_or(StoreError::NotFound)?;
        row.try_into()
    }

    /// The service account as the access policy sees it when it acts now: `None` when it is
    /// disabled (or its institution is), or does not exist.
    pub async fn service_account_actor(
        &self,
        id: Uuid,
    ) -> Result<Option<retour_domain::Actor>, StoreError> {
        let generation =
            sqlx::query_scalar!("select secret_generation from service_accounts where id = $1", id)
                .fetch_optional(self.pool())
                .await?;
        let Some(generation) = generation else { return Ok(None) };
        match self.service_token_standing(id, Uuid::nil(), generation).await? {
            crate::sessions::Standing::Valid(actor) => Ok(Some(actor)),
            _ => Ok(None),
        }
    }

    /// Service accounts matching `filter`, in creation order.
    pub async fn list_service_accounts(
        &self,
        filter: &ServiceAccountFilter,
    ) -> Result<Vec<ServiceAccount>, StoreError> {
        // Built at run time: each filter is added only when given.
        let mut query =
            sqlx::QueryBuilder::new(format!("select {COLUMNS} from service_accounts where true"));
        match filter.reach {
            None => {}
            // Service accounts are never administrators: the operator's own only.
            Some(AccountReach::Operator(id) | AccountReach::Institution(id)) => {
                query.push(" and institution_id = ").push_bind(id);
            }
            Some(AccountReach::Nothing) => {
                query.push(" and false");
            }
        }
        if let Some(institution_id) = filter.institution_id {
            query.push(" and institution_id = ").push_bind(institution_id);
        }
        if let Some(status) = filter.status {
            query.push(" and status = ").push_bind(status.as_str());
        }
        query.push(" order by id");
        let rows: Vec<Row> = query.build_query_as().fetch_all(self.pool()).await?;
        rows.into_iter().map(ServiceAccount::try_from).collect()
    }

    /// Applies `changes` in one transaction, with `audit(&account, changed_fields)`. Nothing
    /// is written when nothing changes. A new secret starts a new secret generation, which
    /// ends every token obtained with an earlier secret.
    pub async fn update_service_account(
        &self,
        id: Uuid,
        changes: &ServiceAccountChanges,
        audit: impl FnOnce(&ServiceAccount, &[&'static str]) -> AuditEvent,
    ) -> Result<ServiceAccount, StoreError> {
        let mut tx = self.pool().begin().await?;
        let current: ServiceAccount = sqlx::query_as!(
            Row,
            "select id, institution_id, name, client_id, scopes, status, approval_requested_by, \
                 created_at, updated_at \
             from service_accounts where id = $1 for update",
            id,
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?
        .try_into()?;
        let mut changed = Vec::new();
        if changes.name.as_ref().is_some_and(|n| *n != current.name) {
            changed.push("name");
        }
        if changes.scopes.as_ref().is_some_and(|s| *s != current.scopes) {
            changed.push("scopes");
        }
        let status = match changes.approval_requested_by {
            Some(_) => Some(UserStatus::PendingApproval),
            None => changes.status,
        };
        if status.is_some_and(|s| s != current.status) {
            changed.push("status");
        }
        if changes.secret_hash.is_some() {
            changed.push("client_secret");
        }
        if changed.is_empty() {
            return Ok(current);
        }
        let scopes = changes.scopes.as_deref().map(scope_names);
        let account: ServiceAccount = sqlx::query_as!(
            Row,
            "update service_accounts set name = coalesce($2, name), \
                 scopes = coalesce($3, scopes), status = coalesce($4, status), \
                 secret_hash = coalesce($5, secret_hash), \
                 secret_generation = secret_generation + ($5::text is not null)::int, \
                 approval_requested_by = case when coalesce($4, status) = 'pending_approval' \
                     then coalesce($6, approval_requested_by) end, \
                 updated_at = now() \
             where id = $1 \
             returning id, institution_id, name, client_id, scopes, status, \
                 approval_requested_by, created_at, updated_at",
            id,
            changes.name.as_deref(),
            scopes.as_deref() as Option<&[&str]>,
            status.map(UserStatus::as_str),
            changes.secret_hash.as_deref(),
            changes.approval_requested_by,
        )
        .fetch_one(&mut *tx)
        .await?
        .try_into()?;
        audit::record(&mut *tx, &audit(&account, &changed)).await?;
        tx.commit().await?;
        Ok(account)
    }

    /// The service account with this client id, its secret hash and whether its institution
    /// is active, for a token request.
    pub async fn service_account_for_client(
        &self,
        client_id: &str,
    ) -> Result<Option<ClientCandidate>, StoreError> {
        let row = sqlx::query!(
            "select s.id, s.institution_id, s.name, s.client_id, s.scopes, s.status, \
                 s.approval_requested_by, s.created_at, s.updated_at, s.secret_hash, s.secret_generation, \
                 i.active as institution_active \
             from service_accounts s join institutions i on i.id = s.institution_id \
             where s.client_id = $1",
            client_id,
        )
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            let account = Row {
                id: r.id,
                institution_id: r.institution_id,
                name: r.name,
                client_id: r.client_id,
                scopes: r.scopes,
                status: r.status,
                approval_requested_by: r.approval_requested_by,
                created_at: r.created_at,
                updated_at: r.updated_at,
            };
            Ok(ClientCandidate {
                account: account.try_into()?,
                secret_hash: r.secret_hash,
                secret_generation: r.secret_generation,
                institution_active: r.institution_active,
            })
        })
        .transpose()
    }
}

impl Store {
    /// Approves service account `id`'s pending grant, with `audit`: the now active account,
    /// or `None` when it waits for no approval (any more).
    pub async fn approve_service_account(
        &self,
        id: Uuid,
        audit: &AuditEvent,
    ) -> Result<Option<ServiceAccount>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query_as!(
            Row,
            "update service_accounts set status = 'active', approval_requested_by = null, \
                 updated_at = now() \
             where id = $1 and status = 'pending_approval' \
             returning id, institution_id, name, client_id, scopes, status, \
                 approval_requested_by, created_at, updated_at",
            id,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        audit::record(&mut *tx, audit).await?;
        tx.commit().await?;
        Ok(Some(row.try_into()?))
    }
}
