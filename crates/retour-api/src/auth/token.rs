//! Access tokens: short-lived EdDSA-signed JWTs.

use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{Algorithm, Header, Validation};
use retour_domain::Role;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Keys;

/// Token issuer and audience, and lifetimes.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            issuer: "retour".to_owned(),
            audience: "retour-api".to_owned(),
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// What kind of principal a token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    User,
    ServiceAccount,
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: Uuid,
    /// `user` or `service_account`.
    pub sub_type: Subject,
    /// A user's role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    pub institution: Uuid,
    /// A service account's scopes, space-separated as in OAuth 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl Claims {
    pub fn new(config: &TokenConfig, sub: Uuid, sub_type: Subject, institution: Uuid) -> Self {
        let now = Utc::now().timestamp();
        Self {
            sub,
            iss: config.issuer.clone(),
            aud: config.audience.clone(),
            iat: now,
            nbf: now,
            exp: now + i64::try_from(config.access_ttl.as_secs()).unwrap_or(900),
            jti: Uuid::now_v7(),
            sub_type,
            role: None,
            institution,
            scope: None,
        }
    }
}

/// Signs `claims` with the current key, naming it in the `kid` header.
pub fn sign(keys: &Keys, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(keys.kid().to_owned());
    jsonwebtoken::encode(&header, claims, keys.encoding())
}

/// Verifies a token: EdDSA only, a known `kid`, a valid signature, our issuer and audience,
/// and `exp`/`nbf` against the clock. Any failure is the same `None`.
pub fn verify(keys: &Keys, config: &TokenConfig, token: &str) -> Option<Claims> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.alg != Algorithm::EdDSA {
        return None;
    }
    let key = keys.decoding(header.kid.as_deref()?)?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[&config.issuer]);
    validation.set_audience(&[&config.audience]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = 5;
    jsonwebtoken::decode::<Claims>(token, key, &validation).ok().map(|data| data.claims)
}
