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
    /// A user's session (the sign-in the token descends from); ending it ends the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    /// The generation of the client secret a service account's token was obtained with; a
    /// rotation of the secret ends the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_generation: Option<i32>,
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
            sid: None,
            secret_generation: None,
        }
    }
}

/// Signs `claims` with the current key, naming it in the `kid` header.
pub fn sign(keys: &Keys, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(keys.kid().to_owned());
    jsonwebtoken::encode(&header, claims, keys.encoding())
}

/// Why a presented access token was refused. Recorded in the access log, never told the
/// client (every refusal is the same 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Not a JWT: not three base64url parts of JSON.
    Malformed,
    /// Signed (or "unsigned") with anything but EdDSA: `none`, HS256 keyed with the public
    /// key, …
    Algorithm,
    /// No `kid`, or one we never issued or have retired.
    UnknownKey,
    /// The signature does not verify with the key named: tampered, or signed by another key.
    Signature,
    Expired,
    NotYetValid,
    Issuer,
    Audience,
    /// A required claim is missing or malformed.
    Claims,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Malformed => "malformed",
            Rejection::Algorithm => "algorithm",
            Rejection::UnknownKey => "unknown_key",
            Rejection::Signature => "signature",
            Rejection::Expired => "expired",
            Rejection::NotYetValid => "not_yet_valid",
            Rejection::Issuer => "issuer",
            Rejection::Audience => "audience",
            Rejection::Claims => "claims",
        }
    }

    /// The rejection of a token that did not parse: a header naming an algorithm there is no
    /// such thing as (`"alg": "none"`) is named as such, anything else is malformed.
    fn of_header(token: &str) -> Self {
        use base64::Engine;
        let unknown_alg = token
            .split('.')
            .next()
            .and_then(|part| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok())
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|header| {
                header.get("alg")?.as_str().map(|alg| alg.parse::<Algorithm>().is_err())
            });
        if unknown_alg == Some(true) { Rejection::Algorithm } else { Rejection::Malformed }
    }

    fn of_validation(error: &jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        match error.kind() {
            ErrorKind::InvalidSignature => Rejection::Signature,
            ErrorKind::ExpiredSignature => Rejection::Expired,
            ErrorKind::ImmatureSignature => Rejection::NotYetValid,
            ErrorKind::InvalidIssuer => Rejection::Issuer,
            ErrorKind::InvalidAudience => Rejection::Audience,
            ErrorKind::MissingRequiredClaim(_)
            | ErrorKind::InvalidClaimFormat(_)
            | ErrorKind::InvalidSubject
            | ErrorKind::Json(_) => Rejection::Claims,
            ErrorKind::InvalidAlgorithm
            | ErrorKind::InvalidAlgorithmName
            | ErrorKind::UnsupportedAlgorithm
            | ErrorKind::MissingAlgorithm => Rejection::Algorithm,
            _ => Rejection::Malformed,
        }
    }
}

/// Verifies a token: EdDSA only, a known `kid`, a valid signature, our issuer and audience,
/// and `exp`/`nbf` against the clock.
pub fn verify(keys: &Keys, config: &TokenConfig, token: &str) -> Result<Claims, Rejection> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Rejection::of_header(token))?;
    if header.alg != Algorithm::EdDSA {
        return Err(Rejection::Algorithm);
    }
    let key =
        header.kid.as_deref().and_then(|kid| keys.decoding(kid)).ok_or(Rejection::UnknownKey)?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[&config.issuer]);
    validation.set_audience(&[&config.audience]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = 5;
    jsonwebtoken::decode::<Claims>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|error| Rejection::of_validation(&error))
}
