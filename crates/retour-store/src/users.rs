//! User accounts of the partner institutions.

use chrono::{DateTime, Utc};
use retour_domain::{Actor, ActorKind, Role};
use uuid::Uuid;

use crate::institutions::InstitutionFacts;
use crate::{Store, StoreError};

/// Whether an account may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Active,
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
        }
    }

    fn parse(value: &str) -> Result<Self, StoreError> {
        match value {
            "active" => Ok(UserStatus::Active),
            "disabled" => Ok(UserStatus::Disabled),
            other => Err(StoreError::corrupt("users.status", other)),
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
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

const COLUMNS: &str =
    "id, institution_id, email, display_name, role, status, locked_until, created_at, updated_at";

impl Store {
    /// Creates a user. A second account with the same email (in any case) violates
    /// `users_email_key`.
    pub async fn create_user(&self, new: &NewUser) -> Result<User, StoreError> {
        let sql = format!(
            "insert into users (id, institution_id, email, display_name, role, password_hash) \
             values ($1, $2, $3, $4, $5, $6) returning {COLUMNS}"
        );
        let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(Uuid::now_v7())
            .bind(new.institution_id)
            .bind(new.email.trim())
            .bind(&new.display_name)
            .bind(new.role.as_str())
            .bind(&new.password_hash)
            .fetch_one(self.pool())
            .await?;
        row.try_into()
    }

    pub async fn get_user(&self, id: Uuid) -> Result<User, StoreError> {
        let sql = format!("select {COLUMNS} from users where id = $1");
        let row: Row =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(self.pool()).await?;
        row.try_into()
    }

    /// The user with this email (case-insensitive) and their password hash, for a sign-in.
    pub async fn user_for_login(&self, email: &str) -> Result<Option<(User, String)>, StoreError> {
        let sql =
            format!("select {COLUMNS}, password_hash from users where lower(email) = lower($1)");
        let row: Option<LoginRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(email.trim())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok((r.user.try_into()?, r.password_hash))).transpose()
    }

    /// The acting user with their institution, if the account and its institution are active
    /// and the token was not revoked. One primary-key lookup, made on every authenticated request so that a disabled
    /// account stops working at once.
    pub async fn active_user_actor(
        &self,
        user_id: Uuid,
        token_id: Uuid,
    ) -> Result<Option<Actor>, StoreError> {
        let row: Option<ActorRow> = sqlx::query_as(
            "select u.role, i.id, i.kind, i.canton, i.country \
             from users u join institutions i on i.id = u.institution_id \
             where u.id = $1 and u.status = 'active' and i.active \
               and not exists (select 1 from revoked_access_tokens where jti = $2)",
        )
        .bind(user_id)
        .bind(token_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(ActorRow { role, institution }) = row else {
            return Ok(None);
        };
        let role = Role::parse(&role).ok_or_else(|| StoreError::corrupt("users.role", &role))?;
        institution.actor(user_id, ActorKind::User { role }).map(Some)
    }
}

#[derive(sqlx::FromRow)]
struct LoginRow {
    #[sqlx(flatten)]
    user: Row,
    password_hash: String,
}

#[derive(sqlx::FromRow)]
struct ActorRow {
    role: String,
    #[sqlx(flatten)]
    institution: InstitutionFacts,
}
