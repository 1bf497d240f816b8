//! Refresh tokens (stored as SHA-256 hashes) and revoked access tokens.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::{self, AuditActor, AuditEvent};
use crate::{Store, StoreError};

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current: it is now rotated, and the new one belongs to `family_id`.
    Rotated { user_id: Uuid, family_id: Uuid },
    /// The token had already been rotated or revoked: its whole family is now revoked.
    Reused { user_id: Uuid },
    /// Unknown (`reason` `unknown`), expired (`expired`) or of an account that is no longer
    /// active (`inactive`).
    Invalid { reason: &'static str },
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    family_id: Uuid,
    user_id: Uuid,
    expires_at: DateTime<Utc>,
    rotated_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    status: String,
    institution_id: Uuid,
    role: String,
}

impl Store {
    /// Stores a new refresh token (its hash) in `family_id`, inside the caller's transaction.
    pub(crate) async fn insert_refresh_token_in(
        tx: &mut sqlx::PgConnection,
        user_id: Uuid,
        family_id: Uuid,
        token_hash: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "insert into refresh_tokens (id, family_id, user_id, token_hash, expires_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::now_v7())
        .bind(family_id)
        .bind(user_id)
        .bind(token_hash)
        .bind(expires_at)
        .execute(tx)
        .await?;
        Ok(())
    }

    /// Rotates the token with this hash and stores its successor, in one transaction; a
    /// token presented twice revokes its family (someone else holds a copy). The access-log
    /// event that `event` makes of the outcome (a rotation, a reuse or a refusal) commits in
    /// the same transaction.
    pub async fn rotate_refresh_token(
        &self,
        token_hash: &[u8],
        successor_hash: &[u8],
        successor_expires_at: DateTime<Utc>,
        event: impl FnOnce(&Rotation, AuditActor) -> AuditEvent,
    ) -> Result<Rotation, StoreError> {
        let mut tx = self.pool().begin().await?;
        let row: Option<TokenRow> = sqlx::query_as(
            "select t.family_id, t.user_id, t.expires_at, t.rotated_at, t.revoked_at, u.status, \
                    u.institution_id, u.role \
                 from refresh_tokens t join users u on u.id = t.user_id \
                 where t.token_hash = $1 for update of t",
        )
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(TokenRow {
            family_id,
            user_id,
            expires_at,
            rotated_at,
            revoked_at,
            status,
            institution_id,
            role,
        }) = row
        else {
            let rotation = Rotation::Invalid { reason: "unknown" };
            audit::record(&mut *tx, &event(&rotation, AuditActor::anonymous())).await?;
            tx.commit().await?;
            return Ok(rotation);
        };
        let actor = AuditActor::user(user_id, institution_id, &role);
        if rotated_at.is_some() || revoked_at.is_some() {
            sqlx::query(
                "update refresh_tokens set revoked_at = coalesce(revoked_at, now()) \
                 where family_id = $1",
            )
            .bind(family_id)
            .execute(&mut *tx)
            .await?;
            let rotation = Rotation::Reused { user_id };
            audit::record(&mut *tx, &event(&rotation, actor)).await?;
            tx.commit().await?;
            return Ok(rotation);
        }
        if expires_at <= Utc::now() || status != "active" {
            let reason = if status != "active" { "inactive" } else { "expired" };
            let rotation = Rotation::Invalid { reason };
            audit::record(&mut *tx, &event(&rotation, actor)).await?;
            tx.commit().await?;
            return Ok(rotation);
        }
        sqlx::query("update refresh_tokens set rotated_at = now() where token_hash = $1")
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "insert into refresh_tokens (id, family_id, user_id, token_hash, expires_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::now_v7())
        .bind(family_id)
        .bind(user_id)
        .bind(successor_hash)
        .bind(successor_expires_at)
        .execute(&mut *tx)
        .await?;
        let rotation = Rotation::Rotated { user_id, family_id };
        audit::record(&mut *tx, &event(&rotation, actor)).await?;
        tx.commit().await?;
        Ok(rotation)
    }

    /// Signs a user out: revokes the access token `jti` and either the refresh-token family
    /// of `refresh_hash` (when it is theirs) or all of the user's refresh tokens, and records
    /// `event` in the same transaction.
    pub async fn logout(
        &self,
        user_id: Uuid,
        jti: Uuid,
        access_expires_at: DateTime<Utc>,
        refresh_hash: Option<&[u8]>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "insert into revoked_access_tokens (jti, expires_at) values ($1, $2) \
             on conflict (jti) do nothing",
        )
        .bind(jti)
        .bind(access_expires_at)
        .execute(&mut *tx)
        .await?;
        match refresh_hash {
            Some(hash) => {
                sqlx::query(
                    "update refresh_tokens set revoked_at = coalesce(revoked_at, now()) \
                     where user_id = $1 and family_id = \
                         (select family_id from refresh_tokens where token_hash = $2)",
                )
                .bind(user_id)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                self.revoke_refresh_tokens_in(&mut tx, user_id).await?;
            }
        }
        sqlx::query("delete from revoked_access_tokens where expires_at < now()")
            .execute(&mut *tx)
            .await?;
        audit::record(&mut *tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes every refresh token of a user (on logout everywhere, or when disabled).
    pub async fn revoke_refresh_tokens_in(
        &self,
        tx: &mut sqlx::PgConnection,
        user_id: Uuid,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "update refresh_tokens set revoked_at = now() \
             where user_id = $1 and revoked_at is null",
        )
        .bind(user_id)
        .execute(tx)
        .await?;
        Ok(())
    }
}
