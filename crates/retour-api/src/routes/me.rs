//! What signed-in users do for themselves: enrol an authenticator, see and end their sessions,
//! change their password.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use retour_domain::{Password, Validation};
use retour_store::audit::Outcome;
use retour_store::sessions::{SessionEnd, SessionInfo, Sessions};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::auth::{TotpEnrolment, enrol_totp, unix_now};
use crate::admin;
use crate::auth::mfa::{self, TotpSecret};
use crate::auth::{Caller, password};
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::path::Path;
use crate::query::QueryParams;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_totp_enrolment))
        .routes(routes!(confirm_totp))
        .routes(routes!(list_my_sessions, end_my_other_sessions))
        .routes(routes!(end_my_session))
        .routes(routes!(change_password))
}

/// The signed-in user, or 403 for a service account (which has no sessions, password or
/// second factor of its own).
fn user_of(caller: &Caller) -> Result<(Uuid, Uuid), ApiError> {
    match (caller.actor.role(), caller.session_id) {
        (Some(_), Some(session)) => Ok((caller.actor.id, session)),
        _ => Err(ApiError::Forbidden {
            code: ProblemCode::Forbidden,
            detail: "a service account has no sessions, password or second factor".to_owned(),
        }),
    }
}

/// Start enrolling an authenticator
///
/// A new TOTP authenticator for the signed-in user (RFC 6238: six digits, 30 seconds): its
/// secret, `otpauth://` URI and QR code (SVG), shown once. It counts once confirmed with its
/// first code (`POST /v1/me/mfa/totp/confirm`); asking again before that replaces it. From
/// then on every sign-in asks for a code.
#[utoipa::path(post, path = "/v1/me/mfa/totp", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The new authenticator, not yet confirmed", body = TotpEnrolment),
        (status = 403, description = "A service account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_already_enrolled`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No master key is configured", body = Problem, content_type = "application/problem+json"),
    ))]
async fn start_totp_enrolment(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TotpEnrolment>, ApiError> {
    let (user_id, _) = user_of(&caller)?;
    let keys = state.master_keys("second factors are kept encrypted")?;
    let user = state.store().get_user(user_id).await?;
    let event = caller.event("auth.mfa_enrolment_started", Outcome::Allowed);
    Ok(Json(enrol_totp(&state, keys, &user, &event).await?))
}

/// The first code of a new authenticator.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTotp {
    /// The authenticator's current six-digit code.
    #[schema(max_length = 16)]
    pub code: String,
}

/// Recovery codes: each stands in for the authenticator once. Shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// Confirm a new authenticator
///
/// Confirms the authenticator of `POST /v1/me/mfa/totp` with its current code; the answer
/// holds ten recovery codes, shown once.
#[utoipa::path(post, path = "/v1/me/mfa/totp/confirm", tag = "auth", request_body = ConfirmTotp,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Confirmed", body = RecoveryCodes),
        (status = 403, description = "A service account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_enrolment_not_started` or `mfa_already_enrolled`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The `code` is wrong or used", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No master key is configured", body = Problem, content_type = "application/problem+json"),
    ))]
async fn confirm_totp(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ConfirmTotp>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let (user_id, _) = user_of(&caller)?;
    if body.code.chars().count() > 16 || body.code.contains('\0') {
        return Err(ApiError::validation("code", "invalid_code", "code is a six-digit code"));
    }
    let keys = state.master_keys("second factors are kept encrypted")?;
    let store = state.store();
    let factor = match store.totp_factor(user_id).await? {
        Some(factor) if factor.confirmed => {
            return Err(ApiError::Conflict {
                code: ProblemCode::MfaAlreadyEnrolled,
                detail: "your authenticator is confirmed already".to_owned(),
            });
        }
        Some(factor) => factor,
        None => {
            return Err(ApiError::Conflict {
                code: ProblemCode::MfaEnrolmentNotStarted,
                detail: "start with POST /v1/me/mfa/totp".to_owned(),
            });
        }
    };
    let secret = TotpSecret::unwrap(keys, &factor)?;
    let (codes, hashes) = mfa::recovery_codes();
    let mut tx = store.pool().begin().await.map_err(retour_store::StoreError::from)?;
    let accepted = match secret.check(&body.code, unix_now()) {
        Some(step) => {
            store.accept_totp_step(&mut tx, user_id, factor.id, step, Some(&hashes)).await?
        }
        None => false,
    };
    if !accepted {
        return Err(ApiError::validation(
            "code",
            "invalid_code",
            "code is not the authenticator's current code",
        ));
    }
    let event = caller.event("auth.mfa_enrolled", Outcome::Allowed);
    retour_store::audit::record(&mut *tx, &event).await?;
    tx.commit().await.map_err(retour_store::StoreError::from)?;
    Ok(Json(RecoveryCodes { recovery_codes: codes }))
}

/// A session (a sign-in) of the user.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    pub started_at: DateTime<Utc>,
    /// Its last refresh, or its start.
    pub last_used_at: DateTime<Utc>,
    /// The address the sign-in came from.
    pub client_addr: Option<String>,
    /// The sign-in's `User-Agent`.
    pub user_agent: Option<String>,
    /// The session of the token this list was asked with.
    pub current: bool,
}

/// A user's open sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionView>,
}

pub(crate) fn session_list(sessions: Vec<SessionInfo>, current: Option<Uuid>) -> SessionList {
    SessionList {
        items: sessions
            .into_iter()
            .map(|s| SessionView {
                current: Some(s.id) == current,
                id: s.id,
                started_at: s.started_at,
                last_used_at: s.last_used_at,
                client_addr: s.client_addr.map(|a| a.to_string()),
                user_agent: s.user_agent,
            })
            .collect(),
    }
}

/// List my sessions
///
/// The signed-in user's open sessions, newest first, the current one marked.
#[utoipa::path(get, path = "/v1/me/sessions", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The open sessions", body = SessionList),
        (status = 403, description = "A service account", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_my_sessions(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<SessionList>, ApiError> {
    QueryParams::parse(query.as_deref()).finish(())?;
    let (user_id, current) = user_of(&caller)?;
    let sessions = state.store().open_sessions(user_id).await?;
    Ok(Json(session_list(sessions, Some(current))))
}

/// End my other sessions
///
/// Ends every open session of the signed-in user but the current one (sign out everywhere
/// else); `POST /v1/auth/logout` ends the current one.
#[utoipa::path(delete, path = "/v1/me/sessions", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "The other sessions ended"),
        (status = 403, description = "A service account", body = Problem, content_type = "application/problem+json"),
    ))]
async fn end_my_other_sessions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    let (user_id, current) = user_of(&caller)?;
    state
        .store()
        .end_user_sessions(
            user_id,
            Sessions::OfUserBut(user_id, current),
            SessionEnd::EndedByUser,
            |n| {
                caller
                    .event("auth.sessions_ended", Outcome::Allowed)
                    .details(serde_json::json!({ "ended": n, "which": "others" }))
            },
        )
        .await?;
    state.auth_changed();
    Ok(StatusCode::NO_CONTENT)
}

/// End one of my sessions
///
/// Ends one open session of the signed-in user (for example a browser left signed in
/// elsewhere): its refresh and access tokens stop working at once.
#[utoipa::path(delete, path = "/v1/me/sessions/{id}", tag = "auth",
    params(("id" = Uuid, Path, description = "The session's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session ended"),
        (status = 403, description = "A service account", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No open session of yours has this id", body = Problem, content_type = "application/problem+json"),
    ))]
async fn end_my_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let (user_id, _) = user_of(&caller)?;
    let ended = state
        .store()
        .end_user_sessions(user_id, Sessions::One(id), SessionEnd::EndedByUser, |n| {
            caller
                .event("auth.sessions_ended", Outcome::Allowed)
                .resource("session", id)
                .details(serde_json::json!({ "ended": n, "which": "one" }))
        })
        .await?;
    if ended == 0 {
        return Err(ApiError::NoSuch("session"));
    }
    state.auth_changed();
    Ok(StatusCode::NO_CONTENT)
}

/// A change of the user's own password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[schema(max_length = 1024)]
    pub current_password: String,
    /// At least 12 characters, not among the most common (breached) passwords, and not the
    /// current one.
    #[schema(format = Password)]
    pub new_password: String,
}

impl std::fmt::Debug for ChangePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangePassword").finish_non_exhaustive()
    }
}

/// Change my password
///
/// Changes the signed-in user's password: the current one is required (a wrong one counts
/// towards the lockout), the new one must satisfy the policy (12 characters or more, not
/// among the most common passwords found in breaches, not the current one). Every other
/// session of the user ends.
#[utoipa::path(post, path = "/v1/me/password", tag = "auth", request_body = ChangePassword,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed"),
        (status = 403, description = "A service account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`current_password` wrong, or `new_password` refused by the policy", body = Problem, content_type = "application/problem+json"),
    ))]
async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    let (user_id, session) = user_of(&caller)?;
    let mut errors = Validation::new();
    if body.current_password.chars().count() > 1024 {
        errors.push("current_password", "too_long", "current_password is too long");
    }
    let new_password = errors.check(Password::parse("new_password", body.new_password.clone()));
    if new_password.is_some() && body.new_password == body.current_password {
        errors.push("new_password", "unchanged", "new_password must differ from the current one");
    }
    errors.finish(()).map_err(ApiError::Validation)?;
    let store = state.store();
    let hash = store.password_hash(user_id).await?;
    if !password::verify(body.current_password, Some(hash)).await {
        let lockout = &state.config().login.lockout;
        store
            .record_login_failure(user_id, lockout, |outcome| {
                caller.event("auth.password_change_failed", Outcome::Denied).details(
                    serde_json::json!({ "reason": "wrong_password", "lockout": outcome.as_str() }),
                )
            })
            .await?;
        return Err(ApiError::validation(
            "current_password",
            "wrong_password",
            "current_password is not your password",
        ));
    }
    let Some(new_password) = new_password else {
        return Err(ApiError::validation("new_password", "required", "new_password is required"));
    };
    let new_hash = admin::hash_new_password(new_password).await?;
    let event = caller.event("auth.password_changed", Outcome::Allowed);
    store.change_own_password(user_id, session, &new_hash, &event).await?;
    state.auth_changed();
    Ok(StatusCode::NO_CONTENT)
}
