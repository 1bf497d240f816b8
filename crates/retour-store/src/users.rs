//! User accounts of the partner institutions.

use std::time::Duration;

use chrono::{DateTime, Utc};
use retour_domain::administration::AccountReach;
use retour_domain::{Actor, ActorKind, Role};
use uuid::Uuid;

use crate::audit::{self, AuditEvent};
use crate::institutions::InstitutionFacts;
use crate::sessions::{SessionEnd, Sessions};
use crate::{Store, StoreError};

/// Whether an account may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Active,
    Disabled,
    /// A grant of access made by an institution's only administrator, waiting for a second
    /// administrator's approval: cannot sign in.
    PendingApproval,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
            UserStatus::PendingApproval => "pending_approval",
        }
    }

    pub(crate) fn parse(value: &str) -> Result<Self, StoreError> {
        match value {
            "active" => Ok(UserStatus::Active),
            "disabled" => Ok(UserStatus::Disabled),
            "pending_approval" => Ok(UserStatus::PendingApproval),
            other => Err(StoreError::corrupt("status", other)),
        }
    }
}

/// A user as stored (the password hash only where a sign-in needs it).
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub institution_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub status: UserStatus,
    pub locked_until: Option<DateTime<Utc>>,
    /// The administrator who made the account (`None` for the command line and the demo).
    pub created_by: Option<Uuid>,
    /// While the account waits for approval: the administrator who asked for it.
    pub approval_requested_by: Option<Uuid>,
    /// While a reset of the second factor waits for a second administrator: who asked.
    pub mfa_reset_requested_by: Option<Uuid>,
    /// The user has confirmed a second factor.
    pub mfa_enrolled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What is needed to create a user; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub institution_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub created_by: Option<Uuid>,
    /// `Some(administrator)`: the account waits for a second administrator's approval.
    pub approval_requested_by: Option<Uuid>,
}

/// A user found for a sign-in.
#[derive(Clone)]
pub struct LoginCandidate {
    pub user: User,
    pub password_hash: String,
    pub institution_active: bool,
    /// The user's institution requires a second factor.
    pub mfa_required: bool,
}

impl std::fmt::Debug for LoginCandidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginCandidate").field("user", &self.user).finish_non_exhaustive()
    }
}

/// Which users to list.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// The accounts the asking administrator manages.
    pub reach: Option<retour_domain::administration::AccountReach>,
    pub institution_id: Option<Uuid>,
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    /// Matched without regard to case.
    pub email: Option<String>,
    /// Only users created after this one (the cursor of the previous page).
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// What an update changes; `None` leaves a field as it is. The password is already hashed.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    pub password_hash: Option<String>,
    /// `Some(administrator)`: the change grants access and waits for a second administrator;
    /// the account's status becomes `pending_approval`.
    pub approval_requested_by: Option<Uuid>,
}

/// The lockout rule: `threshold` failed sign-ins within `window` lock the account for
/// `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    pub threshold: u32,
    pub window: Duration,
    pub duration: Duration,
}

impl Default for Lockout {
    fn default() -> Self {
        Self {
            threshold: 10,
            window: Duration::from_secs(15 * 60),
            duration: Duration::from_secs(15 * 60),
        }
    }
}

/// What a failed sign-in did to its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedLogin {
    /// Counted towards the lockout.
    Counted,
    /// This failure reached the threshold: the account is now locked.
    Locked,
    /// The account was already locked; not counted.
    WhileLocked,
}

impl FailedLogin {
    pub fn as_str(self) -> &'static str {
        match self {
            FailedLogin::Counted => "counted",
            FailedLogin::Locked => "locked",
            FailedLogin::WhileLocked => "while_locked",
        }
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    institution_id: Uuid,
    email: String,
    display_name: String,
    role: String,
    status: String,
    locked_until: Option<DateTime<Utc>>,
    created_by: Option<Uuid>,
    approval_requested_by: Option<Uuid>,
    mfa_reset_requested_by: Option<Uuid>,
    mfa_enrolled: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for User {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self, StoreError> {
        Ok(User {
            id: row.id,
            institution_id: row.institution_id,
            role: Role::parse(&row.role)
                .ok_or_else(|| StoreError::corrupt("users.role", &row.role))?,
            status: UserStatus::parse(&row.status)?,
            email: row.email,
            display_name: row.display_name,
            locked_until: row.locked_until,
            created_by: row.created_by,
            approval_requested_by: row.approval_requested_by,
            mfa_reset_requested_by: row.mfa_reset_requested_by,
            mfa_enrolled: row.mfa_enrolled,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The columns of [`Row`], for the list (the statements checked at build time name them).
const COLUMNS: &str = "id, institution_id, email, display_name, role, status, locked_until, \
    created_by, approval_requested_by, mfa_reset_requested_by, \
    exists (select 1 from totp_factors t where t.user_id = users.id \
        and t.confirmed_at is not null) as mfa_enrolled, created_at, updated_at";

/// `query_as!` of [`Row`]: `$statement` begins with `select` or ends with `returning` of
/// the user's columns, which this macro writes out (`query_as!` takes literals only).
macro_rules! user_row {
    (select $rest:literal, $($arg:expr),*) => {
        sqlx::query_as!(
            Row,
            r#"select id, institution_id, email, display_name, role, status, locked_until,
                 created_by, approval_requested_by, mfa_reset_requested_by,
                 exists (select 1 from totp_factors t where t.user_id = users.id
                     and t.confirmed_at is not null) as "mfa_enrolled!", created_at, updated_at
               from users "# + $rest,
            $($arg),*
        )
    };
    (returning $statement:literal, $($arg:expr),*) => {
        sqlx::query_as!(
            Row,
            $statement + r#" returning id, institution_id, email, display_name, role, status,
                 locked_until, created_by, approval_requested_by, mfa_reset_requested_by,
                 exists (select 1 from totp_factors t where t.user_id = users.id
                     and t.confirmed_at is not null) as "mfa_enrolled!", created_at, updated_at"#,
            $($arg),*
        )
    };
}

impl Store {
    /// Creates a user and records `audit(&user)` in the same transaction. A second account
    /// with the same email (in any case) violates `users_email_key`.
    pub async fn create_user(
        &self,
        new: &NewUser,
        audit: impl FnOnce(&User) -> AuditEvent,
    ) -> Result<User, StoreError> {
        let mut tx = self.pool().begin().await?;
        let status = match new.approval_requested_by {
            Some(_) => UserStatus::PendingApproval,
            None => UserStatus::Active,
        };
        let row = user_row!(returning
            "insert into users (id, institution_id, email, display_name, role, password_hash, \
                 status, created_by, approval_requested_by) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            Uuid::now_v7(),
            new.institution_id,
            new.email.trim(),
            new.display_name,
            new.role.as_str(),
            new.password_hash,
            status.as_str(),
            new.created_by,
            new.approval_requested_by
        )
        .fetch_one(&mut *tx)
        .await?;
        let user = User::try_from(row)?;
        audit::record(&mut *tx, &audit(&user)).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Users matching `filter`, in id (creation) order, at most `filter.limit`.
    pub async fn list_users(&self, filter: &UserFilter) -> Result<Vec<User>, StoreError> {
        // Built at run time: each filter is added only when given.
        let mut query = sqlx::QueryBuilder::new(format!("select {COLUMNS} from users where true"));
        match filter.reach {
            None => {}
            Some(AccountReach::Operator(operator)) => {
                query
                    .push(" and (institution_id = ")
                    .push_bind(operator)
                    .push(" or role = 'institution_admin')");
            }
            Some(AccountReach::Institution(id)) => {
                query.push(" and institution_id = ").push_bind(id);
            }
            Some(AccountReach::Nothing) => {
                query.push(" and false");
            }
        }
        if let Some(institution_id) = filter.institution_id {
            query.push(" and institution_id = ").push_bind(institution_id);
        }
        if let Some(role) = filter.role {
            query.push(" and role = ").push_bind(role.as_str());
        }
        if let Some(status) = filter.status {
            query.push(" and status = ").push_bind(status.as_str());
        }
        if let Some(email) = &filter.email {
            query.push(" and lower(email) = lower(").push_bind(email.trim().to_owned()).push(")");
        }
        if let Some(after) = filter.after {
            query.push(" and id > ").push_bind(after);
        }
        query.push(" order by id limit ").push_bind(filter.limit);
        let rows: Vec<Row> = query.build_query_as().fetch_all(self.pool()).await?;
        rows.into_iter().map(User::try_from).collect()
    }

    /// Applies `changes` to a user in one transaction, with `audit(&user, changed_fields)`.
    /// Disabling the account or setting a new password ends all its sessions (their refresh
    /// and access tokens) in the same transaction, so that enabling it again revives none. Nothing is written (and `audit` is not called) when nothing changes.
    pub async fn update_user(
        &self,
        id: Uuid,
        changes: &UserChanges,
        audit: impl FnOnce(&User, &[&'static str]) -> AuditEvent,
    ) -> Result<User, StoreError> {
        let mut tx = self.pool().begin().await?;
        let current: User = user_row!(select "where id = $1 for update", id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .try_into()?;
        let mut changed = Vec::new();
        if changes.display_name.as_ref().is_some_and(|n| *n != current.display_name) {
            changed.push("display_name");
        }
        if changes.role.is_some_and(|r| r != current.role) {
            changed.push("role");
        }
        let status = match changes.approval_requested_by {
            Some(_) => Some(UserStatus::PendingApproval),
            None => changes.status,
        };
        if status.is_some_and(|s| s != current.status) {
            changed.push("status");
        }
        if changes.password_hash.is_some() {
            changed.push("password");
        }
        if changed.is_empty() {
            return Ok(current);
        }
        let user: User = user_row!(returning
            "update users set display_name = coalesce($2, display_name), \
                 role = coalesce($3, role), status = coalesce($4, status), \
                 password_hash = coalesce($5, password_hash), \
                 approval_requested_by = case when coalesce($4, status) = 'pending_approval' \
                     then coalesce($6, approval_requested_by) end, \
                 updated_at = now() \
             where id = $1",
            id,
            changes.display_name.as_deref(),
            changes.role.map(Role::as_str),
            status.map(UserStatus::as_str),
            changes.password_hash.as_deref(),
            changes.approval_requested_by
        )
        .fetch_one(&mut *tx)
        .await?
        .try_into()?;
        let ended = if user.status != UserStatus::Active {
            Some(SessionEnd::AccountDisabled)
        } else {
            changes.password_hash.as_ref().map(|_| SessionEnd::PasswordChanged)
        };
        if let Some(reason) = ended {
            Self::end_sessions_in(&mut tx, Sessions::OfUser(id), reason).await?;
        }
        audit::record(&mut *tx, &audit(&user, &changed)).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Counts a failed sign-in of an existing account, across all server processes: the
    /// account's row is locked while its recent failures are counted, and the failure that
    /// reaches `lockout.threshold` within `lockout.window` locks the account for
    /// `lockout.duration`. Failures while the account is locked are not counted (the lock
    /// does not grow). `audit` is recorded in the same transaction.
    pub async fn record_login_failure(
        &self,
        user_id: Uuid,
        lockout: &Lockout,
        audit: impl FnOnce(FailedLogin) -> AuditEvent,
    ) -> Result<FailedLogin, StoreError> {
        let mut tx = self.pool().begin().await?;
        let locked = sqlx::query_scalar!(
            r#"select coalesce(locked_until > now(), false) as "locked!"
               from users where id = $1 for update"#,
            user_id,
        )
        .fetch_one(&mut *tx)
        .await?;
        let outcome = if locked {
            FailedLogin::WhileLocked
        } else {
            let window = lockout.window.as_secs_f64();
            sqlx::query!(
                "delete from login_failures \
                 where user_id = $1 and failed_at <= now() - make_interval(secs => $2)",
                user_id,
                window,
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!("insert into login_failures (user_id) values ($1)", user_id)
                .execute(&mut *tx)
                .await?;
            let count = sqlx::query_scalar!(
                r#"select count(*) as "count!" from login_failures
                   where user_id = $1 and failed_at > now() - make_interval(secs => $2)"#,
                user_id,
                window,
            )
            .fetch_one(&mut *tx)
            .await?;
            if count >= i64::from(lockout.threshold) {
                sqlx::query!(
                    "update users set locked_until = now() + make_interval(secs => $2) \
                     where id = $1",
                    user_id,
                    lockout.duration.as_secs_f64(),
                )
                .execute(&mut *tx)
                .await?;
                // The lock now carries the state; counting starts afresh once it ends.
                clear_login_failures(&mut tx, user_id).await?;
                FailedLogin::Locked
            } else {
                FailedLogin::Counted
            }
        };
        audit::record(&mut *tx, &audit(outcome)).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// A successful sign-in: clears the account's failure count and an expired lock, starts
    /// session `session_id` with its first refresh token and records `audit`, in one
    /// transaction: a session exists exactly when its event does.
    pub async fn record_login_success(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        refresh_hash: &[u8],
        refresh_expires_at: DateTime<Utc>,
        client: &crate::sessions::SessionClient,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        Self::start_session_in(&mut tx, session_id, user_id, client).await?;
        Self::insert_refresh_token_in(
            &mut tx,
            user_id,
            session_id,
            refresh_hash,
            refresh_expires_at,
        )
        .await?;
        clear_login_failures(&mut tx, user_id).await?;
        sqlx::query!(
            "update users set locked_until = null \
             where id = $1 and locked_until is not null and locked_until <= now()",
            user_id,
        )
        .execute(&mut *tx)
        .await?;
        audit::record(&mut *tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_user(&self, id: Uuid) -> Result<User, StoreError> {
        let row = user_row!(select "where id = $1", id).fetch_optional(self.pool()).await?;
        let row = row.ok_or(StoreError::NotFound)?;
        row.try_into()
    }

    /// The user with this email (case-insensitive), their password hash and whether their
    /// institution is active, for a sign-in.
    pub async fn user_for_login(&self, email: &str) -> Result<Option<LoginCandidate>, StoreError> {
        let row = sqlx::query!(
            "select u.id, u.password_hash, i.active as institution_active, \
                 i.mfa_required as institution_mfa_required \
             from users u join institutions i on i.id = u.institution_id \
             where lower(u.email) = lower($1)",
            email.trim(),
        )
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(LoginCandidate {
            user: self.get_user(row.id).await?,
            password_hash: row.password_hash,
            institution_active: row.institution_active,
            mfa_required: row.institution_mfa_required,
        }))
    }

    /// The acting user with their institution, if the account and its institution are active
    /// and the token `token_id` was not revoked. Requests check more: their token's session
    /// too ([`Store::user_token_standing`]).
    pub async fn active_user_actor(
        &self,
        user_id: Uuid,
        token_id: Uuid,
    ) -> Result<Option<Actor>, StoreError> {
        let row = sqlx::query!(
            "select u.role, i.id, i.kind, i.canton, i.country \
             from users u join institutions i on i.id = u.institution_id \
             where u.id = $1 and u.status = 'active' and i.active \
               and not exists (select 1 from revoked_access_tokens where jti = $2)",
            user_id,
            token_id,
        )
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let role =
            Role::parse(&row.role).ok_or_else(|| StoreError::corrupt("users.role", &row.role))?;
        let institution = InstitutionFacts {
            id: row.id,
            kind: row.kind,
            canton: row.canton,
            country: row.country,
        };
        institution.actor(user_id, ActorKind::User { role }).map(Some)
    }
}

/// Forgets the failed sign-ins of an account, inside the caller's transaction.
async fn clear_login_failures(
    tx: &mut sqlx::PgConnection,
    user_id: Uuid,
) -> Result<(), StoreError> {
    sqlx::query!("delete from login_failures where user_id = $1", user_id).execute(tx).await?;
    Ok(())
}

impl Store {
    /// How many active administrators (`institution_admin`) institution `institution_id` has.
    pub async fn count_administrators(&self, institution_id: Uuid) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar!(
            r#"select count(*) as "n!" from users
               where institution_id = $1 and role = 'institution_admin' and status = 'active'"#,
            institution_id,
        )
        .fetch_one(self.pool())
        .await?)
    }

    /// Approves user `id`'s pending grant, with `audit`: the now active user, or `None` when
    /// the account waits for no approval (any more).
    pub async fn approve_user(
        &self,
        id: Uuid,
        audit: &AuditEvent,
    ) -> Result<Option<User>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let row = user_row!(returning
            "update users set status = 'active', approval_requested_by = null, \
                 updated_at = now() \
             where id = $1 and status = 'pending_approval'",
            id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        audit::record(&mut *tx, audit).await?;
        tx.commit().await?;
        Ok(Some(row.try_into()?))
    }

    /// Changes user `id`'s own password to `password_hash` (the current one was checked),
    /// ending every session of theirs but `keep_session`, with `audit`.
    pub async fn change_own_password(
        &self,
        id: Uuid,
        keep_session: Uuid,
        password_hash: &str,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query!(
            "update users set password_hash = $2, updated_at = now() where id = $1",
            id,
            password_hash
        )
        .execute(&mut *tx)
        .await?;
        Self::end_sessions_in(
            &mut tx,
            Sessions::OfUserBut(id, keep_session),
            SessionEnd::PasswordChanged,
        )
        .await?;
        audit::record(&mut *tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// User `id`'s password hash.
    pub async fn password_hash(&self, id: Uuid) -> Result<String, StoreError> {
        sqlx::query_scalar!("select password_hash from users where id = $1", id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)
    }
}
