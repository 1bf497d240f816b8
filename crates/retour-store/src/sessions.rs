//! Sessions and the standing of access tokens.
//!
//! A user's sign-in starts a session: its refresh tokens rotate within it and every access
//! token issued in it names it. Ending the session (a logout, a replayed refresh token, the
//! account disabled, a new password, the institution deactivated) revokes its refresh tokens
//! and ends its access tokens at once: each request checks that its token's session is open.
//! A service account's token names the generation of the client secret it was obtained with;
//! a rotation starts a new one. Single access tokens are revoked in `revoked_access_tokens`
//! (a service account's logout).

use chrono::{DateTime, Utc};
use retour_domain::{Actor, ActorKind, Role, Scope};
use uuid::Uuid;

use crate::audit::{self, AuditEvent};
use crate::institutions::InstitutionFacts;
use crate::{Store, StoreError};

/// Why a session ended (`sessions.end_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    Logout,
    /// A refresh token of the session was presented again: someone holds a copy.
    RefreshReused,
    AccountDisabled,
    PasswordChanged,
    InstitutionDeactivated,
    /// The user ended it (from another session, or all but the current one).
    EndedByUser,
    /// An administrator ended the user's sessions.
    EndedByAdministrator,
    /// The user's second factor was reset.
    MfaReset,
}

impl SessionEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionEnd::Logout => "logout",
            SessionEnd::RefreshReused => "refresh_reused",
            SessionEnd::AccountDisabled => "account_disabled",
            SessionEnd::PasswordChanged => "password_changed",
            SessionEnd::InstitutionDeactivated => "institution_deactivated",
            SessionEnd::EndedByUser => "ended_by_user",
            SessionEnd::EndedByAdministrator => "ended_by_administrator",
            SessionEnd::MfaReset => "mfa_reset",
        }
    }
}

/// Where a session was started from.
#[derive(Debug, Clone, Default)]
pub struct SessionClient {
    pub addr: Option<std::net::IpAddr>,
    /// The `User-Agent` header, cut to 512 characters.
    pub user_agent: Option<String>,
}

/// An open session, as its user sees it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: Uuid,
    pub started_at: DateTime<Utc>,
    /// The session's last refresh (or its start).
    pub last_used_at: DateTime<Utc>,
    pub client_addr: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
}

/// Which open sessions to end.
#[derive(Debug, Clone, Copy)]
pub enum Sessions {
    One(Uuid),
    OfUser(Uuid),
    /// Every session of the user (`.0`) but one (`.1`).
    OfUserBut(Uuid, Uuid),
    OfInstitution(Uuid),
}

/// Whether a verified access token may still act, and if not, why.
#[derive(Debug, Clone)]
pub enum Standing {
    Valid(Actor),
    /// No such account, or the account or its institution is disabled.
    Inactive,
    /// This very token was signed out.
    Revoked,
    /// The user's session has ended.
    SessionEnded,
    /// The service account's client secret was rotated after the token was issued.
    SecretRotated,
}

impl Standing {
    /// The actor of a valid token, or the reason a refused one is recorded with
    /// (`auth.token_rejected`).
    pub fn into_actor(self) -> Result<Actor, &'static str> {
        match self {
            Standing::Valid(actor) => Ok(actor),
            Standing::Inactive => Err("inactive"),
            Standing::Revoked => Err("revoked"),
            Standing::SessionEnded => Err("session_ended"),
            Standing::SecretRotated => Err("secret_rotated"),
        }
    }
}

/// What decides a token's standing, read in one query: the subject's own column (a user's
/// `role` or a service account's `scopes`), then the institution's facts.
struct StandingRow {
    role: Option<String>,
    scopes: Option<Vec<String>>,
    /// The account and its institution are active.
    active: bool,
    /// The token is in `revoked_access_tokens`.
    revoked: bool,
    /// The user's session is open, or the service account's secret is still the one the
    /// token was obtained with.
    current: bool,
    /// The institution's facts (`i.id, i.kind, i.canton, i.country`).
    id: Uuid,
    kind: String,
    canton: Option<String>,
    country: Option<String>,
}

/// `query_as!` of the [`StandingRow`] of account `$1` (aliased `a`) of `$table` and its
/// token `$2`: `$subject` selects the account's own columns and `current`, the rest is the
/// same for both kinds of account.
macro_rules! standing {
    ($subject:literal, $table:literal, $($arg:expr),*) => {
        sqlx::query_as!(
            StandingRow,
            "select " + $subject + ", \
                 a.status = 'active' and i.active as \"active!\", \
                 exists (select 1 from revoked_access_tokens where jti = $2) as \"revoked!\", \
                 i.id, i.kind, i.canton, i.country \
             from " + $table + " a join institutions i on i.id = a.institution_id \
             where a.id = $1",
            $($arg),*
        )
    };
}

impl StandingRow {
    fn judge(row: Option<Self>, id: Uuid, stale: Standing) -> Result<Standing, StoreError> {
        let Some(row) = row else { return Ok(Standing::Inactive) };
        if !row.active {
            return Ok(Standing::Inactive);
        }
        if row.revoked {
            return Ok(Standing::Revoked);
        }
        if !row.current {
            return Ok(stale);
        }
        let kind = match (row.role, row.scopes) {
            (Some(role), _) => ActorKind::User {
                role: Role::parse(&role).ok_or_else(|| StoreError::corrupt("users.role", &role))?,
            },
            (None, scopes) => ActorKind::ServiceAccount {
                scopes: scopes.unwrap_or_default().iter().filter_map(|s| Scope::parse(s)).collect(),
            },
        };
        let institution = InstitutionFacts {
            id: row.id,
            kind: row.kind,
            canton: row.canton,
            country: row.country,
        };
        institution.actor(id, kind).map(Standing::Valid)
    }
}

impl Store {
    /// The standing of a user's access token `token_id` of session `session_id`: one
    /// primary-key lookup with two index probes, made on every request whose token is not
    /// kept in memory, so that an ended session or a disabled account stops at once.
    pub async fn user_token_standing(
        &self,
        user_id: Uuid,
        token_id: Uuid,
        session_id: Uuid,
    ) -> Result<Standing, StoreError> {
        let row = standing!(
            "a.role, null::text[] as scopes, \
             exists (select 1 from sessions s \
                     where s.id = $3 and s.user_id = a.id and s.ended_at is null) as \"current!\"",
            "users",
            user_id,
            token_id,
            session_id
        )
        .fetch_optional(self.pool())
        .await?;
        StandingRow::judge(row, user_id, Standing::SessionEnded)
    }

    /// The standing of a service account's access token `token_id`, obtained with the
    /// account's client secret of `secret_generation`.
    pub async fn service_token_standing(
        &self,
        id: Uuid,
        token_id: Uuid,
        secret_generation: i32,
    ) -> Result<Standing, StoreError> {
        let row = standing!(
            "null::text as role, a.scopes, a.secret_generation = $3 as \"current!\"",
            "service_accounts",
            id,
            token_id,
            secret_generation
        )
        .fetch_optional(self.pool())
        .await?;
        StandingRow::judge(row, id, Standing::SecretRotated)
    }

    /// Starts session `id` of a user from `client`, inside the caller's transaction.
    pub(crate) async fn start_session_in(
        tx: &mut sqlx::PgConnection,
        id: Uuid,
        user_id: Uuid,
        client: &SessionClient,
    ) -> Result<(), StoreError> {
        sqlx::query!(
            "insert into sessions (id, user_id, client_addr, user_agent) values ($1, $2, $3, $4)",
            id,
            user_id,
            client.addr as Option<std::net::IpAddr>,
            client.user_agent.as_deref(),
        )
        .execute(tx)
        .await?;
        Ok(())
    }

    /// The user's open sessions, newest first.
    pub async fn open_sessions(&self, user_id: Uuid) -> Result<Vec<SessionInfo>, StoreError> {
        let rows = sqlx::query!(
            "select id, started_at, last_used_at, client_addr, user_agent from sessions \
             where user_id = $1 and ended_at is null \
               and exists (select 1 from refresh_tokens t where t.session_id = sessions.id \
                   and t.revoked_at is null and t.rotated_at is null and t.expires_at > now()) \
             order by started_at desc, id desc",
            user_id,
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| SessionInfo {
                id: r.id,
                started_at: r.started_at,
                last_used_at: r.last_used_at,
                client_addr: r.client_addr.map(|net| net.addr()),
                user_agent: r.user_agent,
            })
            .collect())
    }

    /// Ends sessions `which` of user `user_id` for `reason`, with `audit` (given how many
    /// ended) in the same transaction: how many ended. A session of another user is not
    /// touched.
    pub async fn end_user_sessions(
        &self,
        user_id: Uuid,
        which: Sessions,
        reason: SessionEnd,
        audit: impl FnOnce(u64) -> AuditEvent,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let open = sqlx::query_scalar!(
            r#"select count(*) as "n!" from sessions where user_id = $1 and ended_at is null
                 and case when $2::uuid is null then true else id = $2 end
                 and case when $3::uuid is null then true else id <> $3 end"#,
            user_id,
            match which {
                Sessions::One(id) => Some(id),
                _ => None,
            },
            match which {
                Sessions::OfUserBut(_, keep) => Some(keep),
                _ => None,
            },
        )
        .fetch_one(&mut *tx)
        .await?;
        // The count above holds only this user's sessions: a session of someone else is not
        // ended.
        if matches!(which, Sessions::One(_)) && open == 0 {
            return Ok(0);
        }
        Self::end_sessions_in(&mut tx, which, reason).await?;
        audit::record(&mut *tx, &audit(open as u64)).await?;
        tx.commit().await?;
        Ok(open as u64)
    }

    /// Ends the open sessions `which` for `reason` and revokes their refresh tokens, inside
    /// the caller's transaction.
    pub(crate) async fn end_sessions_in(
        tx: &mut sqlx::PgConnection,
        which: Sessions,
        reason: SessionEnd,
    ) -> Result<(), StoreError> {
        // One statement per kind of selection, each with its own index; `$which` is the
        // condition on `sessions` that picks them, with `$1` the id.
        macro_rules! end_where {
            ($which:literal, $id:expr) => {
                sqlx::query!(
                    "with ended as ( \
                         update sessions set ended_at = now(), end_reason = $2 \
                         where ended_at is null and "
                        + $which
                        + " returning id) \
                     update refresh_tokens set revoked_at = coalesce(revoked_at, now()) \
                     where session_id in (select id from ended)",
                    $id,
                    reason.as_str(),
                )
            };
        }
        let query = match which {
            Sessions::One(id) => end_where!("id = $1", id),
            Sessions::OfUser(id) => end_where!("user_id = $1", id),
            Sessions::OfUserBut(id, keep) => {
                sqlx::query!(
                    "with ended as ( \
                         update sessions set ended_at = now(), end_reason = $2 \
                         where ended_at is null and user_id = $1 and id <> $3 \
                         returning id) \
                     update refresh_tokens set revoked_at = coalesce(revoked_at, now()) \
                     where session_id in (select id from ended)",
                    id,
                    reason.as_str(),
                    keep,
                )
            }
            Sessions::OfInstitution(id) => {
                end_where!("user_id in (select id from users where institution_id = $1)", id)
            }
        };
        query.execute(tx).await?;
        Ok(())
    }

    /// Signs a user out of session `session_id` and, when `refresh_hash` names a refresh
    /// token of theirs, of that token's session too; without one, out of every session.
    /// `event` is recorded in the same transaction.
    pub async fn logout_user(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        refresh_hash: Option<&[u8]>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        match refresh_hash {
            Some(hash) => {
                let named = sqlx::query_scalar!(
                    "select session_id from refresh_tokens where token_hash = $1 and user_id = $2",
                    hash,
                    user_id,
                )
                .fetch_optional(&mut *tx)
                .await?;
                for id in std::iter::once(session_id).chain(named) {
                    Self::end_sessions_in(&mut tx, Sessions::One(id), SessionEnd::Logout).await?;
                }
            }
            None => {
                Self::end_sessions_in(&mut tx, Sessions::OfUser(user_id), SessionEnd::Logout)
                    .await?;
            }
        }
        audit::record(&mut *tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes the single access token `jti` (a service account's logout) until it expires
    /// at `expires_at`, forgets revocations of tokens that have expired since, and records
    /// `event`, in one transaction.
    pub async fn revoke_access_token(
        &self,
        jti: Uuid,
        expires_at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query!(
            "insert into revoked_access_tokens (jti, expires_at) values ($1, $2) \
             on conflict (jti) do nothing",
            jti,
            expires_at,
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!("delete from revoked_access_tokens where expires_at < now()")
            .execute(&mut *tx)
            .await?;
        audit::record(&mut *tx, event).await?;
        tx.commit().await?;
        Ok(())
    }
}
