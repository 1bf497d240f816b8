//! The authenticated caller of a request, and the request's metadata for the access log.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use retour_domain::policy::{self, Decision, Operation};
use retour_domain::{Actor, ActorKind, Scope};
use retour_store::audit::{self, AuditActor, AuditEvent, Outcome};
use uuid::Uuid;

use super::cache::Verified;
use super::token::{self, Rejection, Subject};
use crate::client_addr::ClientAddr;
use crate::error::ProblemCode;
use crate::layers::REQUEST_ID;
use crate::{ApiError, AppState};

/// Where a request came from: its id and client address, recorded with every audit event.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub client_addr: Option<IpAddr>,
    /// The `User-Agent` header (at most 512 characters), which a session keeps.
    pub user_agent: Option<String>,
}

/// The longest `User-Agent` a session keeps.
const MAX_USER_AGENT: usize = 512;

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestMeta {
            request_id: parts
                .headers
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            client_addr: parts.extensions.get::<ClientAddr>().map(|ClientAddr(ip)| *ip).or_else(
                || parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| a.ip()),
            ),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().filter(|c| !c.is_control()).take(MAX_USER_AGENT).collect()),
        })
    }
}

/// A signed-in caller: a valid bearer token whose user (or service account) is active now,
/// of a session that has not ended (or, for a service account, obtained with its current
/// client secret) and not signed out. Anything else answers 401 with
/// `WWW-Authenticate: Bearer`; a bearer token that is presented and refused leaves an
/// `auth.token_rejected` event in the access log (why, the request id and the client address;
/// never the token).
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub meta: RequestMeta,
    /// The token's id, for logout and the access log.
    pub token_id: Uuid,
    /// A user's session, which logout ends.
    pub session_id: Option<Uuid>,
    /// When the token expires (Unix seconds).
    pub token_expires_at: i64,
}

/// Why a presented token was refused, and whom it named when its signature held.
struct Refusal {
    reason: &'static str,
    actor: AuditActor,
}

impl Refusal {
    fn anonymous(reason: &'static str) -> Self {
        Refusal { reason, actor: AuditActor::anonymous() }
    }
}

/// The longest request path kept in the event of a refused token.
const MAX_LOGGED_PATH: usize = 256;

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Verified once per request: by a route's scope check, or here.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let Ok(meta) = RequestMeta::from_request_parts(parts, state).await;
        let Some(header) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::Unauthorized);
        };
        // Without a bearer token nothing was presented to refuse: no event.
        let Some(token) = header.as_bytes().strip_prefix(b"Bearer ") else {
            return Err(ApiError::Unauthorized);
        };
        let token = std::str::from_utf8(token).unwrap_or_default().trim();
        match authenticate(state, token).await? {
            Ok(Verified { actor, token_id, session_id, expires_at }) => {
                audit::trail::identified(AuditActor::from(&actor));
                Ok(Caller { actor, meta, token_id, session_id, token_expires_at: expires_at })
            }
            Err(refusal) => {
                let path: String = parts.uri.path().chars().take(MAX_LOGGED_PATH).collect();
                let event = AuditEvent::new(refusal.actor, "auth.token_rejected", Outcome::Denied)
                    .details(serde_json::json!({
                        "reason": refusal.reason,
                        "token": "access",
                        "method": parts.method.as_str(),
                        "path": path,
                    }))
                    .request(meta.request_id, meta.client_addr);
                state.store().log(&event).await?;
                Err(ApiError::InvalidToken)
            }
        }
    }
}

/// A valid token of an active subject, or why it is refused; the outer error is a failure of
/// the store.
async fn authenticate(
    state: &AppState,
    token: &str,
) -> Result<Result<Verified, Refusal>, ApiError> {
    let now = chrono::Utc::now().timestamp();
    if let Some(hit) = state.tokens().get(token, now) {
        return Ok(Ok(hit));
    }
    let ticket = state.tokens().ticket();
    let claims = match token::verify(state.keys(), &state.config().tokens, token) {
        Ok(claims) => claims,
        Err(rejection) => return Ok(Err(Refusal::anonymous(rejection.as_str()))),
    };
    // The signature held, so the token names its subject truly.
    let claimed = match claims.sub_type {
        Subject::User => AuditActor::user(
            claims.sub,
            claims.institution,
            claims.role.map_or("", |role| role.as_str()),
        ),
        Subject::ServiceAccount => AuditActor {
            actor_type: "service_account",
            id: Some(claims.sub),
            institution_id: Some(claims.institution),
            role: None,
        },
    };
    // The standing is looked up (or kept only while changes to it are announced, see
    // `auth::cache`), so that disabling an account, ending a session or rotating a secret
    // takes effect at once rather than when the last token expires. A token without the
    // claim its standing rests on (`sid`, `secret_generation`) was issued before there were
    // such claims, 15 minutes at most before the upgrade: its client signs in again.
    let store = state.store();
    let standing = match (claims.sub_type, claims.sid, claims.secret_generation) {
        (Subject::User, Some(session), _) => {
            store.user_token_standing(claims.sub, claims.jti, session).await?
        }
        (Subject::ServiceAccount, _, Some(generation)) => {
            store.service_token_standing(claims.sub, claims.jti, generation).await?
        }
        _ => return Ok(Err(Refusal { reason: Rejection::Claims.as_str(), actor: claimed })),
    };
    let mut actor = match standing.into_actor() {
        Ok(actor) => actor,
        Err(reason) => return Ok(Err(Refusal { reason, actor: claimed })),
    };
    // A role or institution changed since the token was issued ends it.
    if actor.institution_id != claims.institution || actor.role() != claims.role {
        return Ok(Err(Refusal { reason: "stale_claims", actor: claimed }));
    }
    if let ActorKind::ServiceAccount { scopes } = &mut actor.kind {
        narrow_scopes(scopes, claims.scope.as_deref());
    }
    let verified =
        Verified { actor, token_id: claims.jti, session_id: claims.sid, expires_at: claims.exp };
    state.tokens().insert(ticket, token, verified.clone());
    Ok(Ok(verified))
}

impl Caller {
    /// An access-log event of this caller's request: who, from where, under which request id.
    pub fn event(&self, action: &str, outcome: Outcome) -> AuditEvent {
        AuditEvent::new(AuditActor::from(&self.actor), action, outcome)
            .request(self.meta.request_id.clone(), self.meta.client_addr)
    }

    /// Asks the access policy whether the caller may perform `operation` (on no particular
    /// case): 403 `forbidden` when not.
    pub fn require(&self, operation: Operation) -> Result<(), ApiError> {
        match policy::decide(&self.actor, operation, None) {
            Decision::Allow => Ok(()),
            Decision::NotFound => Err(ApiError::NotFound),
            Decision::Forbidden => Err(ApiError::Forbidden {
                code: ProblemCode::Forbidden,
                detail: "your role does not allow this".to_owned(),
            }),
        }
    }

    /// [`Self::require`], with a refusal recorded in the access log as `action`, denied.
    pub async fn require_recorded(
        &self,
        store: &retour_store::Store,
        operation: Operation,
        action: &str,
    ) -> Result<(), ApiError> {
        if let Err(error) = self.require(operation) {
            store.log(&self.event(action, Outcome::Denied)).await?;
            return Err(error);
        }
        Ok(())
    }
}

/// A service account acts with the scopes its token was granted that it still has (none
/// when the token names none).
fn narrow_scopes(scopes: &mut Vec<Scope>, granted: Option<&str>) {
    let granted = granted.unwrap_or_default();
    scopes.retain(|s| granted.split(' ').any(|g| g == s.as_str()));
}

/// For the routes a service account reaches only with `scope` (case data: `cases:read`): a
/// service account's token without it is refused with 403 `insufficient_scope` before the
/// handler runs, rather than answered as if there were nothing to see. Users are decided by
/// the access policy in the handler. The verified caller is handed on to the handler.
pub(crate) async fn require_scope(
    axum::extract::State((state, scope)): axum::extract::State<(AppState, Scope)>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (mut parts, body) = request.into_parts();
    let caller = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    if let ActorKind::ServiceAccount { scopes } = &caller.actor.kind
        && !scopes.contains(&scope)
    {
        return ApiError::InsufficientScope { scope: scope.as_str() }.into_response();
    }
    parts.extensions.insert(caller);
    next.run(axum::extract::Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_account_keeps_only_the_scopes_both_granted_and_still_held() {
        let mut scopes = vec![Scope::CasesRead, Scope::StatsRead];
        narrow_scopes(&mut scopes, Some("stats:read events:read"));
        assert_eq!(scopes, [Scope::StatsRead]);
        let mut scopes = vec![Scope::CasesRead];
        narrow_scopes(&mut scopes, None);
        assert!(scopes.is_empty());
        let mut scopes = vec![Scope::CasesRead];
        narrow_scopes(&mut scopes, Some("cases:readx"));
        assert!(scopes.is_empty());
    }
}
