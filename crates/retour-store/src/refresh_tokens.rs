//! Refresh tokens, stored as SHA-256 hashes, rotating within their session.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::{self, AuditActor, AuditEvent};
use crate::sessions::{SessionEnd, Sessions};
use crate::{Store, StoreError};

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current: it is now rotated, and the new one belongs to `session_id`.
    Rotated { user_id: Uuid, session_id: Uuid },
    /// The token had already been rotated or revoked: its session has now ended, with every
    /// refresh and access token of it.
    Reused { user_id: Uuid },
    /// Unknown (`reason` `unknown`), expired (`expired`) or of an account that is no longer
    /// active (`inactive`).
    Invalid { reason: &'static str },
}

struct TokenRow {
    session_id: Uuid,
    user_id: Uuid,
    expires_at: DateTime<Utc>,
    rotated_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    status: String,
    institution_id: Uuid,
    role: String,
}

impl Store {
    /// Stores a new refresh token (its hash) of session `session_id`, inside the caller's
    /// transaction.
    pub(crate) async fn insert_refresh_token_in(
        tx: &mut sqlx::PgConnection,
        user_id: Uuid,
        session_id: Uuid,
        token_hash: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query!(
            "insert into refresh_tokens (id, session_id, user_id, token_hash, expires_at) \
             values ($1, $2, $3, $4, $5)",
            Uuid::now_v7(),
            session_id,
            user_id,
            token_hash,
            expires_at,
        )
        .execute(tx)
        .await?;
        Ok(())
    }

    /// Rotates the token with this hash and stores its successor, in one transaction; a
    /// token presented twice ends its session (someone else holds a copy). The access-log
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
        let row = sqlx::query_as!(
            TokenRow,
            "select t.session_id, t.user_id, t.expires_at, t.rotated_at, t.revoked_at, u.status, \
                    u.institution_id, u.role \
                 from refresh_tokens t join users u on u.id = t.user_id \
                 where t.token_hash = $1 for update of t",
            token_hash,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(TokenRow {
            session_id,
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
            Self::end_sessions_in(&mut tx, Sessions::One(session_id), SessionEnd::RefreshReused)
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
        sqlx::query!(
            "update refresh_tokens set rotated_at = now() where token_hash = $1",
            token_hash
        )
        .execute(&mut *tx)
        .await?;
        Self::insert_refresh_token_in(
            &mut tx,
            user_id,
            session_id,
            successor_hash,
            successor_expires_at,
        )
        .await?;
        sqlx::query!("update sessions set last_used_at = now() where id = $1", session_id)
            .execute(&mut *tx)
            .await?;
        let rotation = Rotation::Rotated { user_id, session_id };
        audit::record(&mut *tx, &event(&rotation, actor)).await?;
        tx.commit().await?;
        Ok(rotation)
    }
}
