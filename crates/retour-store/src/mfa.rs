//! Second factors: each user's TOTP authenticator (its secret wrapped by the installation's
//! master key), their single-use recovery codes (hashed), and the challenges of sign-ins
//! whose password was accepted and whose code is still to come.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::audit::{self, AuditEvent};
use crate::sessions::{SessionEnd, Sessions};
use crate::{Store, StoreError};

/// A user's TOTP factor as stored: the secret still wrapped.
#[derive(Clone)]
pub struct TotpFactor {
    /// What the wrapped secret is bound to (its associated data).
    pub id: Uuid,
    pub key_id: String,
    pub wrapped_secret: Vec<u8>,
    pub confirmed: bool,
    /// The newest time step whose code was accepted.
    pub last_step: i64,
}

impl std::fmt::Debug for TotpFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpFactor")
            .field("id", &self.id)
            .field("confirmed", &self.confirmed)
            .finish_non_exhaustive()
    }
}

/// A sign-in's pending second step.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub id: Uuid,
    pub user_id: Uuid,
    /// The user must enrol a factor first.
    pub enrolment: bool,
    pub failures: i32,
}

/// Why a challenge token does not open a second step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeRefusal {
    Unknown,
    Expired,
    Used,
    /// Five wrong codes were given for it.
    Exhausted,
}

/// Wrong codes a challenge takes before it is given up.
pub const CHALLENGE_ATTEMPTS: i32 = 5;

impl Store {
    /// The user's factor, confirmed or not.
    pub async fn totp_factor(&self, user_id: Uuid) -> Result<Option<TotpFactor>, StoreError> {
        Ok(sqlx::query_as!(
            TotpFactor,
            r#"select id, key_id, wrapped_secret, confirmed_at is not null as "confirmed!",
                   last_step
               from totp_factors where user_id = $1"#,
            user_id,
        )
        .fetch_optional(self.pool())
        .await?)
    }

    /// Stores a new, unconfirmed factor for the user in place of an unconfirmed one; `false`
    /// (and nothing written) when the user has a confirmed factor.
    pub async fn begin_totp_enrolment(
        &self,
        user_id: Uuid,
        factor_id: Uuid,
        key_id: &str,
        wrapped_secret: &[u8],
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let stored = sqlx::query!(
            "insert into totp_factors (user_id, id, key_id, wrapped_secret) \
             values ($1, $2, $3, $4) \
             on conflict (user_id) do update set id = excluded.id, key_id = excluded.key_id, \
                 wrapped_secret = excluded.wrapped_secret, last_step = 0, created_at = now() \
             where totp_factors.confirmed_at is null",
            user_id,
            factor_id,
            key_id,
            wrapped_secret,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if stored {
            audit::record(&mut *tx, audit).await?;
            tx.commit().await?;
        }
        Ok(stored)
    }

    /// Accepts time step `step` of the user's factor: only when it is newer than every step
    /// accepted before (a code is accepted once), in one statement so that two requests with
    /// the same code cannot both pass. Confirms an unconfirmed factor and stores the hashes
    /// of its recovery codes when `recovery_hashes` are given. `false` when the step is not
    /// newer (or the factor changed meanwhile).
    pub async fn accept_totp_step(
        &self,
        conn: &mut PgConnection,
        user_id: Uuid,
        factor_id: Uuid,
        step: i64,
        recovery_hashes: Option<&[Vec<u8>]>,
    ) -> Result<bool, StoreError> {
        let accepted = sqlx::query!(
            "update totp_factors set last_step = $3, \
                 confirmed_at = coalesce(confirmed_at, case when $4 then now() end) \
             where user_id = $1 and id = $2 and last_step < $3",
            user_id,
            factor_id,
            step,
            recovery_hashes.is_some(),
        )
        .execute(&mut *conn)
        .await?
        .rows_affected()
            == 1;
        if let (true, Some(hashes)) = (accepted, recovery_hashes) {
            sqlx::query!("delete from recovery_codes where user_id = $1", user_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query!(
                "insert into recovery_codes (user_id, code_hash) select $1, unnest($2::bytea[])",
                user_id,
                hashes as &[Vec<u8>],
            )
            .execute(&mut *conn)
            .await?;
        }
        Ok(accepted)
    }

    /// Uses up the recovery code with this hash: `false` when it is unknown or used.
    pub async fn use_recovery_code(
        &self,
        conn: &mut PgConnection,
        user_id: Uuid,
        code_hash: &[u8],
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query!(
            "update recovery_codes set used_at = now() \
             where user_id = $1 and code_hash = $2 and used_at is null",
            user_id,
            code_hash,
        )
        .execute(&mut *conn)
        .await?
        .rows_affected()
            == 1)
    }

    /// How many unused recovery codes the user has left.
    pub async fn recovery_codes_left(&self, user_id: Uuid) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar!(
            r#"select count(*) as "n!" from recovery_codes where user_id = $1 and used_at is null"#,
            user_id,
        )
        .fetch_one(self.pool())
        .await?)
    }

    /// Starts the second step of a sign-in, recording `audit` with it.
    pub async fn create_challenge(
        &self,
        user_id: Uuid,
        token_hash: &[u8],
        enrolment: bool,
        expires_at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        // A user's older challenges that have run out are forgotten.
        sqlx::query!(
            "delete from mfa_challenges where user_id = $1 and expires_at < now()",
            user_id
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "insert into mfa_challenges (id, user_id, token_hash, enrolment, expires_at) \
             values ($1, $2, $3, $4, $5)",
            Uuid::now_v7(),
            user_id,
            token_hash,
            enrolment,
            expires_at,
        )
        .execute(&mut *tx)
        .await?;
        audit::record(&mut *tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The open challenge with this token, locked for the rest of `conn`'s transaction so that
    /// one second step runs at a time.
    pub async fn lock_challenge(
        &self,
        conn: &mut PgConnection,
        token_hash: &[u8],
    ) -> Result<Result<Challenge, ChallengeRefusal>, StoreError> {
        let row = sqlx::query!(
            r#"select id, user_id, enrolment, failures, completed_at is not null as "used!",
                   expires_at < now() as "expired!"
               from mfa_challenges where token_hash = $1 for update"#,
            token_hash,
        )
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(Err(ChallengeRefusal::Unknown)) };
        Ok(if row.used {
            Err(ChallengeRefusal::Used)
        } else if row.expired {
            Err(ChallengeRefusal::Expired)
        } else if row.failures >= CHALLENGE_ATTEMPTS {
            Err(ChallengeRefusal::Exhausted)
        } else {
            Ok(Challenge {
                id: row.id,
                user_id: row.user_id,
                enrolment: row.enrolment,
                failures: row.failures,
            })
        })
    }

    /// Counts a wrong code against a challenge.
    pub async fn challenge_failed(
        &self,
        conn: &mut PgConnection,
        id: Uuid,
    ) -> Result<(), StoreError> {
        sqlx::query!("update mfa_challenges set failures = failures + 1 where id = $1", id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Marks a challenge used.
    pub async fn complete_challenge(
        &self,
        conn: &mut PgConnection,
        id: Uuid,
    ) -> Result<(), StoreError> {
        sqlx::query!("update mfa_challenges set completed_at = now() where id = $1", id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Asks for a reset of the user's second factor, or carries out one asked for by another
    /// administrator: `None` when this records the request, `Some(requested_by)` when the
    /// reset was carried out (the factor and the recovery codes deleted, every session of
    /// the user ended). Whether `by` may confirm is the caller's to decide before; `audit`
    /// gets whether the reset happened.
    pub async fn reset_mfa(
        &self,
        user_id: Uuid,
        by: Uuid,
        may_confirm: impl FnOnce(Uuid) -> bool,
        audit: impl FnOnce(bool) -> AuditEvent,
    ) -> Result<MfaReset, StoreError> {
        let mut tx = self.pool().begin().await?;
        let requested = sqlx::query_scalar!(
            "select mfa_reset_requested_by from users where id = $1 for update",
            user_id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let outcome = match requested {
            Some(asker) if asker == by => MfaReset::AlreadyRequested,
            Some(asker) if may_confirm(asker) => {
                sqlx::query!("delete from totp_factors where user_id = $1", user_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query!("delete from recovery_codes where user_id = $1", user_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query!(
                    "update users set mfa_reset_requested_by = null, \
                         mfa_reset_requested_at = null, updated_at = now() where id = $1",
                    user_id
                )
                .execute(&mut *tx)
                .await?;
                Self::end_sessions_in(&mut tx, Sessions::OfUser(user_id), SessionEnd::MfaReset)
                    .await?;
                MfaReset::Done { requested_by: asker }
            }
            Some(_) => MfaReset::NotYours,
            None => {
                sqlx::query!(
                    "update users set mfa_reset_requested_by = $2, \
                         mfa_reset_requested_at = now() where id = $1",
                    user_id,
                    by
                )
                .execute(&mut *tx)
                .await?;
                MfaReset::Requested
            }
        };
        if matches!(outcome, MfaReset::Requested | MfaReset::Done { .. }) {
            audit::record(&mut *tx, &audit(matches!(outcome, MfaReset::Done { .. }))).await?;
            tx.commit().await?;
        }
        Ok(outcome)
    }
}

/// What a call to reset a second factor did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaReset {
    /// Recorded: a second administrator must confirm.
    Requested,
    /// Carried out; asked for by `requested_by`.
    Done { requested_by: Uuid },
    /// The caller asked for it already; someone else must confirm.
    AlreadyRequested,
    /// Asked for by someone this caller may not second.
    NotYours,
}

/// Re-wraps every authenticator secret that an older master key wraps with the current one
/// (`retour documents rotate-key`): how many.
pub async fn rewrap_secrets(
    pool: &sqlx::PgPool,
    keys: &crate::documents::crypto::MasterKeys,
) -> Result<u64, crate::documents::RotationError> {
    let mut tx = pool.begin().await.map_err(StoreError::from)?;
    let due = sqlx::query!(
        "select user_id, id, key_id, wrapped_secret from totp_factors where key_id <> $1 \
         order by user_id for update",
        keys.current_id(),
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    for row in &due {
        let (key_id, wrapped) = keys
            .unwrap(row.id, &row.key_id, &row.wrapped_secret)
            .and_then(|secret| keys.wrap(row.id, &secret))
            .map_err(|source| crate::documents::RotationError::Key {
                document_id: row.id,
                source,
            })?;
        sqlx::query!(
            "update totp_factors set key_id = $2, wrapped_secret = $3 where user_id = $1",
            row.user_id,
            key_id,
            wrapped,
        )
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(due.len() as u64)
}
