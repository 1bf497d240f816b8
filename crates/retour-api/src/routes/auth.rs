//! Signing in and out, token refresh, the caller's profile and the public signing keys.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use rand::RngCore;
use retour_domain::{InstitutionKind, Role, Validation};
use retour_store::audit::{self, AuditActor, AuditEvent, Outcome};
use retour_store::refresh_tokens::Rotation;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::keys::JwkSet;
use crate::auth::token::{self, Claims, Subject};
use crate::auth::{Caller, RequestMeta, password};
use crate::error::Problem;
use crate::json::Json;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(get_me))
        .routes(routes!(get_jwks))
}

/// Email and password.
#[derive(Debug, Deserialize, ToSchema)]
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
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Optionally the refresh token of this session, to revoke just its family.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct LogoutRequest {
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// The signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub institution: MeInstitution,
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
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Issues an access token for a user and stores `refresh_token`'s family membership.
fn access_token(
    state: &AppState,
    user_id: Uuid,
    role: Role,
    institution: Uuid,
) -> Result<String, ApiError> {
    let mut claims = Claims::new(&state.config().tokens, user_id, Subject::User, institution);
    claims.role = Some(role);
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

/// Sign in with email and password. Unknown email, wrong password and a disabled account
/// all get the same 401.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
    ))]
async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    Json(body): Json<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    body.check()?;
    let found = state.store().user_for_login(&body.email).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let valid = password::verify(body.password, hash).await;
    let user = match user {
        Some(user) if valid && user.status == retour_store::users::UserStatus::Active => user,
        other => {
            let actor = other.as_ref().map_or_else(AuditActor::anonymous, |u| {
                AuditActor::user(u.id, u.institution_id, u.role.as_str())
            });
            let event = AuditEvent::new(actor, "auth.login_failed", Outcome::Denied)
                .request(meta.request_id, meta.client_addr);
            audit::record(state.store().pool(), &event).await?;
            return Err(ApiError::Unauthorized);
        }
    };
    let access = access_token(&state, user.id, user.role, user.institution_id)?;
    let refresh = random_token();
    let event = AuditEvent::new(
        AuditActor::user(user.id, user.institution_id, user.role.as_str()),
        "auth.login",
        Outcome::Allowed,
    )
    .request(meta.request_id, meta.client_addr);
    state
        .store()
        .insert_refresh_token(
            user.id,
            Uuid::now_v7(),
            &token_hash(&refresh),
            refresh_expiry(&state),
            &event,
        )
        .await?;
    Ok(Json(token_response(&state, access, refresh)))
}

/// Exchange a refresh token for a new pair. Each refresh token works once; presenting one
/// that was already used revokes every token descended from the same sign-in.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = TokenResponse),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json"),
    ))]
async fn refresh(
    State(state): State<AppState>,
    meta: RequestMeta,
    Json(body): Json<RefreshRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let successor = random_token();
    let rotation = state
        .store()
        .rotate_refresh_token(
            &token_hash(&body.refresh_token),
            &token_hash(&successor),
            refresh_expiry(&state),
            |rotation, actor| {
                let (action, outcome) = match rotation {
                    Rotation::Reused { .. } => ("auth.refresh_reused", Outcome::Denied),
                    _ => ("auth.refresh", Outcome::Allowed),
                };
                AuditEvent::new(actor, action, outcome).request(meta.request_id, meta.client_addr)
            },
        )
        .await?;
    let user_id = match rotation {
        Rotation::Rotated { user_id, .. } => user_id,
        Rotation::Reused { .. } | Rotation::Invalid => return Err(ApiError::Unauthorized),
    };
    let user = state.store().get_user(user_id).await?;
    let access = access_token(&state, user.id, user.role, user.institution_id)?;
    Ok(Json(token_response(&state, access, successor)))
}

/// Sign out: revokes this access token and the session's refresh tokens (all of the user's
/// when no refresh token is given).
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", request_body(content = Option<LogoutRequest>, description = "Optional: without a body, every refresh token of the user is revoked"),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
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
    let refresh = body.refresh_token.map(|t| token_hash(&t));
    let expires = Utc::now()
        + chrono::Duration::from_std(state.config().tokens.access_ttl)
            .unwrap_or(chrono::Duration::minutes(15))
        + chrono::Duration::minutes(1);
    let event = AuditEvent::new(AuditActor::from(&caller.actor), "auth.logout", Outcome::Allowed)
        .request(caller.meta.request_id, caller.meta.client_addr);
    state
        .store()
        .logout(caller.actor.id, caller.token_id, expires, refresh.as_deref(), &event)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user and their institution.
#[utoipa::path(get, path = "/v1/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
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
        institution: MeInstitution {
            id: institution.id,
            kind: institution.kind,
            name: institution.name,
            canton: institution.canton,
            country: institution.country,
        },
    }))
}

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
