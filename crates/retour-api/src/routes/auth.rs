//! Signing in and out, token refresh, the caller's profile and the public signing keys.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use rand::RngCore;
use retour_domain::{InstitutionKind, Role, Scope, Validation};
use retour_store::audit::{AuditActor, AuditEvent, Outcome};
use retour_store::documents::crypto::MasterKeys;
use retour_store::refresh_tokens::Rotation;
use retour_store::service_accounts::ClientCandidate;
use retour_store::sessions::SessionClient;
use retour_store::users::{FailedLogin, LoginCandidate, UserStatus};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::keys::JwkSet;
use crate::auth::mfa::{self, TotpSecret};
use crate::auth::token::{self, Claims, Subject};
use crate::auth::{Caller, LoginLimits, RequestMeta, client_secret, password, rate_limit};
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::{ApiError, AppState};

/// The endpoints of signing in and out; those that take credentials are rate-limited per
/// client address when `limits` are given (they are not needed for the OpenAPI document).
pub(crate) fn routes(limits: Option<&LoginLimits>) -> OpenApiRouter<AppState> {
    let credentials = OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(login_mfa))
        .routes(routes!(login_mfa_enrol))
        .routes(routes!(refresh))
        .routes(routes!(create_token));
    let credentials = match limits {
        Some(limits) => rate_limit::limit(credentials, limits.rate_per_minute),
        None => credentials,
    };
    OpenApiRouter::new()
        .routes(routes!(logout))
        .routes(routes!(get_me))
        .routes(routes!(get_jwks))
        .merge(credentials)
}

/// Email and password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(max_length = 254)]
    pub email: String,
    #[schema(max_length = 1024)]
    pub password: String,
}

/// The longest email address (RFC 5321) and password a sign-in accepts, in characters.
const MAX_EMAIL: usize = 254;
const MAX_PASSWORD: usize = 1024;

impl LoginRequest {
    /// Refuses over-long values before anything is looked up or hashed; each field is named.
    fn check(&self) -> Result<(), ApiError> {
        let mut validation = Validation::new();
        if self.email.chars().count() > MAX_EMAIL {
            validation.push(
                "email",
                "too_long",
                format!("email must be at most {MAX_EMAIL} characters"),
            );
        } else if self.email.chars().any(char::is_control) {
            validation.push(
                "email",
                "invalid_characters",
                "email must not contain control characters",
            );
        }
        if self.password.chars().count() > MAX_PASSWORD {
            validation.push(
                "password",
                "too_long",
                format!("password must be at most {MAX_PASSWORD} characters"),
            );
        }
        validation.finish(()).map_err(ApiError::Validation)
    }
}

/// A new access token and refresh token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT (EdDSA) to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque; exchange it at `/v1/auth/refresh` for a new pair. Single use.
    pub refresh_token: String,
}

/// A refresh token.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(max_length = 256)]
    pub refresh_token: String,
}

/// Optionally the refresh token of this session, to end just this session rather than every
/// session of the user.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    #[serde(default)]
    #[schema(max_length = 256)]
    pub refresh_token: Option<String>,
}

/// Far longer than the refresh tokens issued (43 characters); a longer one is refused before
/// it is hashed and looked up.
const MAX_REFRESH_TOKEN: usize = 256;

fn check_refresh_token(token: &str) -> Result<(), ApiError> {
    if token.chars().count() > MAX_REFRESH_TOKEN {
        return Err(ApiError::validation(
            "refresh_token",
            "too_long",
            format!("refresh_token must be at most {MAX_REFRESH_TOKEN} characters"),
        ));
    }
    Ok(())
}

/// The signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub institution: MeInstitution,
    /// The user has a confirmed authenticator: every sign-in asks for its code.
    pub mfa_enrolled: bool,
}

/// The signed-in user's institution.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeInstitution {
    pub id: Uuid,
    pub kind: InstitutionKind,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canton: Option<retour_domain::Canton>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The institution's users sign in with a second factor.
    pub mfa_required: bool,
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Issues an access token for a user in session `session_id`.
fn access_token(
    state: &AppState,
    user_id: Uuid,
    role: Role,
    institution: Uuid,
    session_id: Uuid,
) -> Result<String, ApiError> {
    let mut claims = Claims::new(&state.config().tokens, user_id, Subject::User, institution);
    claims.role = Some(role);
    claims.sid = Some(session_id);
    token::sign(state.keys(), &claims).map_err(ApiError::internal)
}

fn refresh_expiry(state: &AppState) -> chrono::DateTime<Utc> {
    Utc::now()
        + chrono::Duration::from_std(state.config().tokens.refresh_ttl)
            .unwrap_or(chrono::Duration::days(30))
}

fn token_response(state: &AppState, access_token: String, refresh_token: String) -> TokenResponse {
    TokenResponse {
        access_token,
        token_type: "Bearer".to_owned(),
        expires_in: state.config().tokens.access_ttl.as_secs(),
        refresh_token,
    }
}

/// Sign in with email and password
///
/// Sign in with email and password. Unknown email, wrong password, a disabled or locked
/// account all get the same 401. A user with an authenticator, or whose institution requires
/// a second factor, gets 401 `mfa_required` with an `mfa_token` instead of tokens: the
/// second step is `POST /v1/auth/login/mfa`. Repeated wrong passwords lock the account for a while
/// (by default 10 within 15 minutes lock it for 15 minutes), and each client address may try
/// only so often (429 with `Retry-After`).
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`, or `mfa_required` with `mfa_token` (and `mfa_enrolment_required`) for the second step", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address", body = Problem, content_type = "application/problem+json"),
    ))]
async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    Json(body): Json<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    body.check()?;
    let candidate = state.store().user_for_login(&body.email).await?;
    // The password is checked in every case, so that every refusal takes as long.
    let valid =
        password::verify(body.password, candidate.as_ref().map(|c| c.password_hash.clone())).await;
    let failed = |actor: AuditActor, reason: &str| {
        AuditEvent::new(actor, "auth.login_failed", Outcome::Denied)
            .details(serde_json::json!({ "reason": reason }))
            .request(meta.request_id.clone(), meta.client_addr)
    };
    let Some(LoginCandidate { user, institution_active, mfa_required, .. }) = candidate else {
        state.store().log(&failed(AuditActor::anonymous(), "unknown_email")).await?;
        return Err(ApiError::InvalidCredentials);
    };
    let actor = AuditActor::user(user.id, user.institution_id, user.role.as_str());
    if !valid {
        let lockout = &state.config().login.lockout;
        let outcome = state
            .store()
            .record_login_failure(user.id, lockout, |outcome| {
                AuditEvent::new(actor.clone(), "auth.login_failed", Outcome::Denied)
                    .details(serde_json::json!({
                        "reason": "wrong_password", "lockout": outcome.as_str()
                    }))
                    .request(meta.request_id.clone(), meta.client_addr)
            })
            .await?;
        if outcome == FailedLogin::Locked {
            tracing::warn!(user.id = %user.id, "account locked after repeated failed sign-ins");
        }
        return Err(ApiError::InvalidCredentials);
    }
    let refusal = if user.locked_until.is_some_and(|until| until > Utc::now()) {
        Some("locked")
    } else if user.status != UserStatus::Active {
        Some("disabled")
    } else if !institution_active {
        Some("institution_inactive")
    } else {
        None
    };
    if let Some(reason) = refusal {
        state.store().log(&failed(actor, reason)).await?;
        return Err(ApiError::InvalidCredentials);
    }
    // A user with an authenticator, or of an institution that requires one, has a second
    // step to take: the password alone opens no session.
    let enrolled = user.mfa_enrolled;
    if enrolled || mfa_required {
        let (mfa_token, hash) = mfa::challenge_token();
        let event = AuditEvent::new(actor, "auth.mfa_challenge", Outcome::Allowed)
            .details(serde_json::json!({ "enrolment": !enrolled }))
            .request(meta.request_id.clone(), meta.client_addr);
        let expires = Utc::now() + chrono::Duration::seconds(MFA_CHALLENGE_SECS);
        state.store().create_challenge(user.id, &hash, !enrolled, expires, &event).await?;
        return Err(ApiError::MfaRequired { mfa_token, enrolment: !enrolled });
    }
    let event = AuditEvent::new(actor, "auth.login", Outcome::Allowed)
        .request(meta.request_id.clone(), meta.client_addr);
    Ok(Json(start_session(&state, &meta, &user, &event).await?))
}

/// How long the second step of a sign-in may take, in seconds.
const MFA_CHALLENGE_SECS: i64 = 300;

/// Starts a session of `user` (signed in, with `event` as its record) and issues its tokens.
async fn start_session(
    state: &AppState,
    meta: &RequestMeta,
    user: &retour_store::users::User,
    event: &AuditEvent,
) -> Result<TokenResponse, ApiError> {
    let session_id = Uuid::now_v7();
    let access = access_token(state, user.id, user.role, user.institution_id, session_id)?;
    let refresh = random_token();
    let client = SessionClient { addr: meta.client_addr, user_agent: meta.user_agent.clone() };
    // The failure count is cleared, the session stored and the sign-in logged together.
    state
        .store()
        .record_login_success(
            user.id,
            session_id,
            &token_hash(&refresh),
            refresh_expiry(state),
            &client,
            event,
        )
        .await?;
    Ok(token_response(state, access, refresh))
}

/// The second step of a sign-in: its token, and a code of the authenticator or a recovery
/// code (one of them).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaLoginRequest {
    /// The `mfa_token` of the `mfa_required` answer to the password.
    #[schema(max_length = 256)]
    pub mfa_token: String,
    /// The authenticator's current six-digit code.
    #[serde(default)]
    #[schema(max_length = 16)]
    pub code: Option<String>,
    /// One of the recovery codes given at enrolment (each works once).
    #[serde(default)]
    #[schema(max_length = 64)]
    pub recovery_code: Option<String>,
}

/// The token of a sign-in's second step.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaTokenRequest {
    #[schema(max_length = 256)]
    pub mfa_token: String,
}

/// A new authenticator: its secret (to type in), the `otpauth://` URI and the URI as a QR
/// code. Shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// The secret in base32.
    pub secret: String,
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

/// The tokens of a completed sign-in; after an enrolment, also the recovery codes.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaTokenResponse {
    #[serde(flatten)]
    pub tokens: TokenResponse,
    /// Only when this sign-in confirmed a new authenticator: ten single-use codes that stand
    /// in for it, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
}

fn check_length(field: &str, value: &str, max: usize, errors: &mut Validation) {
    if value.chars().count() > max {
        errors.push(field, "too_long", format!("{field} must be at most {max} characters"));
    } else if value.contains('\0') {
        errors.push(field, "invalid_characters", format!("{field} must not hold a NUL character"));
    }
}

/// Now, in Unix seconds, for TOTP.
pub(crate) fn unix_now() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or_default()
}

/// Complete a sign-in with a second factor
///
/// The second step of a sign-in: the `mfa_token` of the `mfa_required` answer with the
/// authenticator's current `code` (or a `recovery_code`, once each). A code is accepted once;
/// a wrong one counts towards the account's lockout, and five wrong ones end the token. When
/// the sign-in enrols a new authenticator, the answer also holds its recovery codes.
#[utoipa::path(post, path = "/v1/auth/login/mfa", tag = "auth", request_body = MfaLoginRequest,
    responses(
        (status = 200, description = "Signed in", body = MfaTokenResponse),
        (status = 401, description = "`mfa_token_invalid` (sign in again), `mfa_code_invalid`, or `invalid_credentials` (the account was locked or disabled meanwhile)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_enrolment_not_started`: enrol an authenticator first", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request (one of `code` and `recovery_code`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No master key is configured", body = Problem, content_type = "application/problem+json"),
    ))]
async fn login_mfa(
    State(state): State<AppState>,
    meta: RequestMeta,
    Json(body): Json<MfaLoginRequest>,
) -> Result<Json<MfaTokenResponse>, ApiError> {
    let mut errors = Validation::new();
    check_length("mfa_token", &body.mfa_token, 256, &mut errors);
    match (&body.code, &body.recovery_code) {
        (Some(code), None) => check_length("code", code, 16, &mut errors),
        (None, Some(code)) => check_length("recovery_code", code, 64, &mut errors),
        _ => errors.push("code", "required", "give either code or recovery_code"),
    }
    errors.finish(()).map_err(ApiError::Validation)?;
    let keys = state.master_keys("second factors are kept encrypted")?;
    let store = state.store();
    let mut tx = store.pool().begin().await.map_err(retour_store::StoreError::from)?;
    let challenge = match store
        .lock_challenge(&mut tx, &mfa::challenge_hash(&body.mfa_token))
        .await?
    {
        Ok(challenge) => challenge,
        Err(refusal) => {
            drop(tx);
            let event =
                AuditEvent::new(AuditActor::anonymous(), "auth.mfa_failed", Outcome::Denied)
                    .details(serde_json::json!({ "reason": format!("{refusal:?}").to_lowercase() }))
                    .request(meta.request_id, meta.client_addr);
            store.log(&event).await?;
            return Err(mfa_token_invalid());
        }
    };
    let user = store.get_user(challenge.user_id).await?;
    let actor = AuditActor::user(user.id, user.institution_id, user.role.as_str());
    if user.status != UserStatus::Active || user.locked_until.is_some_and(|u| u > Utc::now()) {
        drop(tx);
        let event = AuditEvent::new(actor, "auth.mfa_failed", Outcome::Denied)
            .details(serde_json::json!({ "reason": "inactive_or_locked" }))
            .request(meta.request_id, meta.client_addr);
        store.log(&event).await?;
        return Err(ApiError::InvalidCredentials);
    }
    let factor = store.totp_factor(user.id).await?;
    let mut recovery_codes = None;
    let passed = match (&body.code, &body.recovery_code, &factor) {
        (Some(code), _, Some(factor)) if factor.confirmed != challenge.enrolment => {
            let secret = TotpSecret::unwrap(keys, factor)?;
            match secret.check(code, unix_now()) {
                Some(step) => {
                    let fresh = challenge.enrolment.then(mfa::recovery_codes);
                    let hashes = fresh.as_ref().map(|(_, hashes)| hashes.as_slice());
                    let accepted =
                        store.accept_totp_step(&mut tx, user.id, factor.id, step, hashes).await?;
                    recovery_codes = fresh.filter(|_| accepted).map(|(codes, _)| codes);
                    accepted
                }
                None => false,
            }
        }
        (None, Some(code), Some(factor)) if factor.confirmed && !challenge.enrolment => {
            store.use_recovery_code(&mut tx, user.id, &mfa::recovery_hash(code)).await?
        }
        _ if challenge.enrolment => {
            return Err(ApiError::Conflict {
                code: ProblemCode::MfaEnrolmentNotStarted,
                detail: "enrol an authenticator first: POST /v1/auth/login/mfa/totp with the \
                         mfa_token, then send its first code"
                    .to_owned(),
            });
        }
        _ => false,
    };
    if !passed {
        store.challenge_failed(&mut tx, challenge.id).await?;
        tx.commit().await.map_err(retour_store::StoreError::from)?;
        let lockout = &state.config().login.lockout;
        let kind = if body.code.is_some() { "wrong_code" } else { "wrong_recovery_code" };
        store
            .record_login_failure(user.id, lockout, |outcome| {
                AuditEvent::new(actor.clone(), "auth.login_failed", Outcome::Denied)
                    .details(serde_json::json!({ "reason": kind, "lockout": outcome.as_str() }))
                    .request(meta.request_id.clone(), meta.client_addr)
            })
            .await?;
        return Err(ApiError::Unprocessable {
            code: ProblemCode::MfaCodeInvalid,
            detail: "the code is wrong or was used before".to_owned(),
        });
    }
    store.complete_challenge(&mut tx, challenge.id).await?;
    tx.commit().await.map_err(retour_store::StoreError::from)?;
    let method = match (&body.code, challenge.enrolment) {
        (Some(_), true) => "totp_enrolled",
        (Some(_), false) => "totp",
        (None, _) => "recovery_code",
    };
    let event = AuditEvent::new(actor, "auth.login", Outcome::Allowed)
        .details(serde_json::json!({ "second_factor": method }))
        .request(meta.request_id.clone(), meta.client_addr);
    let tokens = start_session(&state, &meta, &user, &event).await?;
    Ok(Json(MfaTokenResponse { tokens, recovery_codes }))
}

fn mfa_token_invalid() -> ApiError {
    ApiError::Unprocessable {
        code: ProblemCode::MfaTokenInvalid,
        detail: "the sign-in's second step is unknown, expired, used or given up; sign in again"
            .to_owned(),
    }
}

/// Enrol an authenticator while signing in
///
/// For a sign-in answered `mfa_required` with `mfa_enrolment_required: true` (the user's
/// institution requires a second factor and they have none): a new authenticator for the
/// user. Add it to an authenticator app (scan `qr_svg` or type `secret`), then complete the
/// sign-in at `POST /v1/auth/login/mfa` with its first code. Asking again replaces the
/// authenticator not yet confirmed.
#[utoipa::path(post, path = "/v1/auth/login/mfa/totp", tag = "auth", request_body = MfaTokenRequest,
    responses(
        (status = 200, description = "The new authenticator", body = TotpEnrolment),
        (status = 401, description = "`mfa_token_invalid`: sign in again", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_already_enrolled`: the user has an authenticator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No master key is configured", body = Problem, content_type = "application/problem+json"),
    ))]
async fn login_mfa_enrol(
    State(state): State<AppState>,
    meta: RequestMeta,
    Json(body): Json<MfaTokenRequest>,
) -> Result<Json<TotpEnrolment>, ApiError> {
    let mut errors = Validation::new();
    check_length("mfa_token", &body.mfa_token, 256, &mut errors);
    errors.finish(()).map_err(ApiError::Validation)?;
    let keys = state.master_keys("second factors are kept encrypted")?;
    let store = state.store();
    let mut tx = store.pool().begin().await.map_err(retour_store::StoreError::from)?;
    let challenge = store.lock_challenge(&mut tx, &mfa::challenge_hash(&body.mfa_token)).await?;
    drop(tx);
    let challenge = match challenge {
        Ok(challenge) if challenge.enrolment => challenge,
        Ok(_) => {
            return Err(ApiError::Conflict {
                code: ProblemCode::MfaAlreadyEnrolled,
                detail: "the user has an authenticator: send its code to /v1/auth/login/mfa"
                    .to_owned(),
            });
        }
        Err(_) => return Err(mfa_token_invalid()),
    };
    let user = store.get_user(challenge.user_id).await?;
    let actor = AuditActor::user(user.id, user.institution_id, user.role.as_str());
    let event = AuditEvent::new(actor, "auth.mfa_enrolment_started", Outcome::Allowed)
        .request(meta.request_id, meta.client_addr);
    Ok(Json(enrol_totp(&state, keys, &user, &event).await?))
}

/// Stores a new authenticator for `user`, not yet confirmed, and shows it.
pub(crate) async fn enrol_totp(
    state: &AppState,
    keys: &MasterKeys,
    user: &retour_store::users::User,
    event: &AuditEvent,
) -> Result<TotpEnrolment, ApiError> {
    let factor_id = Uuid::now_v7();
    let (secret, key_id, wrapped) = TotpSecret::generate(keys, factor_id)?;
    let stored =
        state.store().begin_totp_enrolment(user.id, factor_id, &key_id, &wrapped, event).await?;
    if !stored {
        return Err(ApiError::Conflict {
            code: ProblemCode::MfaAlreadyEnrolled,
            detail: "you have an authenticator already; an administrator can reset it".to_owned(),
        });
    }
    let otpauth_uri = secret.otpauth_uri(&user.email)?;
    Ok(TotpEnrolment { secret: secret.base32(), qr_svg: mfa::qr_svg(&otpauth_uri)?, otpauth_uri })
}

/// Refresh a token pair
///
/// Exchange a refresh token for a new pair. Each refresh token works once; presenting one
/// that was already used ends the sign-in it belongs to: every refresh and access token
/// descended from it stops working at once.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = TokenResponse),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address", body = Problem, content_type = "application/problem+json"),
    ))]
async fn refresh(
    State(state): State<AppState>,
    meta: RequestMeta,
    Json(body): Json<RefreshRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    check_refresh_token(&body.refresh_token)?;
    let successor = random_token();
    let rotation = state
        .store()
        .rotate_refresh_token(
            &token_hash(&body.refresh_token),
            &token_hash(&successor),
            refresh_expiry(&state),
            |rotation, actor| {
                let (action, outcome, details) = match rotation {
                    Rotation::Reused { .. } => {
                        ("auth.refresh_reused", Outcome::Denied, serde_json::json!({}))
                    }
                    Rotation::Invalid { reason } => (
                        "auth.token_rejected",
                        Outcome::Denied,
                        serde_json::json!({ "reason": reason, "token": "refresh" }),
                    ),
                    Rotation::Rotated { .. } => {
                        ("auth.refresh", Outcome::Allowed, serde_json::json!({}))
                    }
                };
                AuditEvent::new(actor, action, outcome)
                    .details(details)
                    .request(meta.request_id, meta.client_addr)
            },
        )
        .await?;
    let (user_id, session_id) = match rotation {
        Rotation::Rotated { user_id, session_id } => (user_id, session_id),
        Rotation::Reused { .. } => {
            // The session's access tokens ended with it: forget them here at once.
            state.auth_changed();
            return Err(ApiError::Unauthorized);
        }
        Rotation::Invalid { .. } => return Err(ApiError::Unauthorized),
    };
    let user = state.store().get_user(user_id).await?;
    let access = access_token(&state, user.id, user.role, user.institution_id, session_id)?;
    Ok(Json(token_response(&state, access, successor)))
}

/// Sign out
///
/// A user's sign-in (session) ends with every access and refresh token of it; with a
/// `refresh_token`, that token's session ends too, and without one every session of the
/// user. A service account's logout ends the token it is made with (other tokens of the
/// account end with a secret rotation or when the account is disabled).
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", request_body(content = Option<LogoutRequest>, description = "Optional: without a body, every session of the user ends"),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
    ))]
async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    // No body, `null` and `{}` all mean "every session of this user".
    let body: LogoutRequest = if body.iter().all(u8::is_ascii_whitespace) {
        LogoutRequest::default()
    } else {
        crate::json::from_bytes::<Option<LogoutRequest>>(&body)?.unwrap_or_default()
    };
    if let Some(token) = &body.refresh_token {
        check_refresh_token(token)?;
    }
    let refresh = body.refresh_token.map(|t| token_hash(&t));
    let event = caller.event("auth.logout", Outcome::Allowed);
    match caller.session_id {
        Some(session_id) => {
            state
                .store()
                .logout_user(caller.actor.id, session_id, refresh.as_deref(), &event)
                .await?;
        }
        None => {
            // Kept until the token expires, with the leeway `token::verify` allows.
            let expires = chrono::DateTime::from_timestamp(caller.token_expires_at, 0)
                .unwrap_or_else(Utc::now)
                + chrono::Duration::minutes(1);
            state.store().revoke_access_token(caller.token_id, expires, &event).await?;
        }
    }
    state.auth_changed();
    Ok(StatusCode::NO_CONTENT)
}

/// Get the signed-in user
///
/// The signed-in user and their institution.
#[utoipa::path(get, path = "/v1/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 404, description = "A service account has no profile (`not_found`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    // Service accounts have no profile of their own.
    let role = caller.actor.role().ok_or(ApiError::NotFound)?;
    let user = state.store().get_user(caller.actor.id).await?;
    let institution = state.store().get_institution(user.institution_id).await?;
    Ok(Json(Me {
        id: user.id,
        email: user.email,
        display_name: user.display_name,
        role,
        mfa_enrolled: user.mfa_enrolled,
        institution: MeInstitution {
            id: institution.id,
            kind: institution.kind,
            name: institution.name,
            canton: institution.canton,
            country: institution.country,
            mfa_required: institution.mfa_required,
        },
    }))
}

/// Get the keys that sign access tokens
///
/// The public keys that verify access tokens (RFC 7517). Public, so caches may keep them
/// for five minutes; every other answer of the API says `Cache-Control: no-store`.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth",
    responses((status = 200, description = "The JWK set", body = JwkSet,
        headers(("cache-control" = String, description = "`public, max-age=300`")))))]
async fn get_jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"))],
        Json(state.keys().jwks().clone()),
    )
}

/// A token request of the OAuth 2 client-credentials grant (RFC 6749 §4.4), form-encoded.
/// The client authenticates with HTTP Basic (`client_id:client_secret`) or with
/// `client_id` and `client_secret` in the body, not both.
#[derive(Default, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Always `client_credentials`.
    #[schema(value_type = String, required = true, pattern = "^client_credentials$")]
    pub grant_type: Option<String>,
    #[schema(min_length = 1)]
    pub client_id: Option<String>,
    #[schema(min_length = 1)]
    pub client_secret: Option<String>,
    /// Space-separated scopes to request (a subset of the account's); all of them if absent.
    #[schema(
        pattern = "^(cases:read|stats:read|events:read|case-events:read)( (cases:read|stats:read|events:read|case-events:read))*$"
    )]
    pub scope: Option<String>,
}

/// An access token for a service account (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenGrant {
    /// A JWT (EdDSA) to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The granted scopes, space-separated.
    pub scope: String,
}

/// A token-endpoint error (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `unsupported_grant_type` or `invalid_scope`.
    pub error: String,
    pub error_description: String,
}

/// Why a token request failed: an RFC 6749 error, or a failure of ours (problem+json).
enum TokenFailure {
    OAuth { error: &'static str, description: &'static str },
    Api(ApiError),
}

impl From<ApiError> for TokenFailure {
    fn from(error: ApiError) -> Self {
        TokenFailure::Api(error)
    }
}

impl From<retour_store::StoreError> for TokenFailure {
    fn from(error: retour_store::StoreError) -> Self {
        TokenFailure::Api(error.into())
    }
}

fn oauth(error: &'static str, description: &'static str) -> TokenFailure {
    TokenFailure::OAuth { error, description }
}

impl IntoResponse for TokenFailure {
    fn into_response(self) -> Response {
        let (error, description) = match self {
            TokenFailure::Api(error) => return error.into_response(),
            TokenFailure::OAuth { error, description } => (error, description),
        };
        let body =
            OAuthError { error: error.to_owned(), error_description: description.to_owned() };
        if error == "invalid_client" {
            let challenge = HeaderValue::from_static("Basic realm=\"retour\"");
            (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)], Json(body))
                .into_response()
        } else {
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
    }
}

/// Longer than any client id `client_secret::new_client_id` issues.
const MAX_CLIENT_ID: usize = 128;

/// The client id and secret of an `Authorization: Basic` header, form-decoded as RFC 6749
/// §2.3.1 asks; `None` without such a header, `Some(Err)` when it is malformed.
fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decode = |part: &str| {
        let plus_as_space = part.replace('+', " ");
        percent_encoding::percent_decode_str(&plus_as_space)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| ())
    };
    Some((|| {
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| ())?;
        let text = String::from_utf8(bytes).map_err(|_| ())?;
        let (id, secret) = text.split_once(':').ok_or(())?;
        Ok((decode(id)?, decode(secret)?))
    })())
}

/// Get a service account's access token
///
/// Get an access token for a service account with the OAuth 2 client-credentials grant.
/// Errors follow RFC 6749 §5.2 (`application/json`, not problem documents); a failed client
/// authentication answers 401 `invalid_client` with `WWW-Authenticate: Basic`.
#[utoipa::path(post, path = "/v1/auth/token", tag = "auth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An access token", body = TokenGrant),
        (status = 400, description = "`invalid_request`, `unsupported_grant_type` or `invalid_scope`", body = OAuthError),
        (status = 401, description = "`invalid_client`: unknown client, wrong secret, or a disabled account", body = OAuthError,
            headers(("WWW-Authenticate" = String, description = "`Basic realm=\"retour\"`"))),
        (status = 429, description = "Too many attempts from this address", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_token(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Result<Response, TokenFailure> {
    let Ok(Form(form)) = form else {
        return Err(oauth(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded, each parameter at most once",
        ));
    };
    match form.grant_type.as_deref() {
        None => return Err(oauth("invalid_request", "grant_type is required")),
        Some("client_credentials") => {}
        Some(_) => {
            return Err(oauth("unsupported_grant_type", "only client_credentials is supported"));
        }
    }
    let (client_id, secret) = client_credentials(&headers, &form)?;
    // A client id no account can have (longer than any we issue, or holding a NUL, which
    // PostgreSQL cannot compare) fails like an unknown one, without a lookup.
    let candidate = if client_id.len() <= MAX_CLIENT_ID && !client_id.contains('\0') {
        state.store().service_account_for_client(&client_id).await?
    } else {
        None
    };
    let authenticated = candidate.filter(|c| {
        client_secret::verify(&secret, &c.secret_hash)
            && c.account.status == UserStatus::Active
            && c.institution_active
    });
    let Some(ClientCandidate { account, secret_generation, .. }) = authenticated else {
        let event = AuditEvent::new(AuditActor::anonymous(), "auth.token_failed", Outcome::Denied)
            .request(meta.request_id, meta.client_addr);
        state.store().log(&event).await?;
        return Err(oauth("invalid_client", "client authentication failed"));
    };
    let scopes = granted_scopes(form.scope.as_deref(), &account.scopes)?;
    let scope = scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ");
    let mut claims = Claims::new(
        &state.config().tokens,
        account.id,
        Subject::ServiceAccount,
        account.institution_id,
    );
    claims.scope = Some(scope.clone());
    claims.secret_generation = Some(secret_generation);
    let access_token = token::sign(state.keys(), &claims).map_err(ApiError::internal)?;
    let actor = AuditActor {
        actor_type: "service_account",
        id: Some(account.id),
        institution_id: Some(account.institution_id),
        role: None,
    };
    let event = AuditEvent::new(actor, "auth.token", Outcome::Allowed)
        .details(serde_json::json!({ "scope": scope }))
        .request(meta.request_id, meta.client_addr);
    state.store().log(&event).await?;
    let grant = TokenGrant {
        access_token,
        token_type: "Bearer".to_owned(),
        expires_in: state.config().tokens.access_ttl.as_secs(),
        scope,
    };
    Ok(([(header::PRAGMA, HeaderValue::from_static("no-cache"))], Json(grant)).into_response())
}

/// The client's id and secret, from HTTP Basic or from the body (RFC 6749 §2.3.1), never
/// both.
fn client_credentials(
    headers: &HeaderMap,
    form: &TokenRequest,
) -> Result<(String, String), TokenFailure> {
    match (basic_credentials(headers), &form.client_secret) {
        (Some(_), Some(_)) => Err(oauth(
            "invalid_request",
            "authenticate with HTTP Basic or with client_secret in the body, not both",
        )),
        (Some(Ok((id, secret))), None) => Ok((id, secret)),
        (None, Some(secret)) => match &form.client_id {
            Some(id) => Ok((id.clone(), secret.clone())),
            None => Err(oauth("invalid_request", "client_id is required")),
        },
        (Some(Err(())), None) | (None, None) => {
            Err(oauth("invalid_client", "client authentication failed"))
        }
    }
}

/// The scopes a token gets: those requested (space-separated), each of them granted to the
/// client, or all the client's when none are requested.
fn granted_scopes(requested: Option<&str>, granted: &[Scope]) -> Result<Vec<Scope>, TokenFailure> {
    let requested = match requested.map(str::trim) {
        None | Some("") => return Ok(granted.to_vec()),
        Some(requested) => requested,
    };
    let mut scopes = Vec::new();
    for name in requested.split(' ').filter(|s| !s.is_empty()) {
        match Scope::parse(name).filter(|s| granted.contains(s)) {
            Some(scope) if !scopes.contains(&scope) => scopes.push(scope),
            Some(_) => {}
            None => {
                return Err(oauth(
                    "invalid_scope",
                    "a requested scope is unknown or not granted to this client",
                ));
            }
        }
    }
    Ok(scopes)
}
