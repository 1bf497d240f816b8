//! The Ed25519 keys that sign and verify access tokens, and their public JWK set.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand::RngCore;
use retour_store::Store;
use retour_store::signing_keys::StoredKey;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// Why the signing key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("RETOUR_JWT_KEY is not an Ed25519 private key in PKCS#8 PEM form")]
    InvalidPem,
    #[error(transparent)]
    Store(#[from] retour_store::StoreError),
}

/// The signing key and every key that verifies tokens, by `kid`.
#[derive(Clone)]
pub struct Keys {
    kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    jwks: JwkSet,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// A JSON Web Key Set (RFC 7517) of Ed25519 public keys.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// One Ed25519 public key (RFC 8037).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Jwk {
    /// Always `OKP`.
    pub kty: String,
    /// Always `Ed25519`.
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    pub kid: String,
    /// Always `EdDSA`.
    pub alg: String,
    #[serde(rename = "use")]
    pub key_use: String,
}

impl Keys {
    /// Loads the signing key from `RETOUR_JWT_KEY` (PEM) or, without one, the installation's
    /// generated key from the database (generating it on the very first start).
    pub async fn load(store: &Store, pem: Option<&str>) -> Result<Self, KeyError> {
        let signing = match pem {
            Some(pem) => {
                let key =
                    SigningKey::from_pkcs8_pem(pem.trim()).map_err(|_| KeyError::InvalidPem)?;
                stored_key(&key)?
            }
            None => store.current_signing_key(generate).await?,
        };
        let mut verification = store.verification_keys().await?;
        if !verification.iter().any(|(kid, _)| *kid == signing.kid) {
            verification.push((signing.kid.clone(), signing.public_key_x.clone()));
        }
        Self::from_parts(&signing, &verification)
    }

    fn from_parts(
        signing: &StoredKey,
        verification: &[(String, String)],
    ) -> Result<Self, KeyError> {
        let encoding = EncodingKey::from_ed_pem(signing.private_key_pem.as_bytes())
            .map_err(|_| KeyError::InvalidPem)?;
        let mut decoding = HashMap::new();
        let mut jwks = Vec::new();
        for (kid, x) in verification {
            let key = DecodingKey::from_ed_components(x).map_err(|_| KeyError::InvalidPem)?;
            decoding.insert(kid.clone(), key);
            jwks.push(Jwk {
                kty: "OKP".to_owned(),
                crv: "Ed25519".to_owned(),
                x: x.clone(),
                kid: kid.clone(),
                alg: "EdDSA".to_owned(),
                key_use: "sig".to_owned(),
            });
        }
        Ok(Self { kid: signing.kid.clone(), encoding, decoding, jwks: JwkSet { keys: jwks } })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    pub fn decoding(&self, kid: &str) -> Option<&DecodingKey> {
        self.decoding.get(kid)
    }

    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }
}

/// A fresh Ed25519 key pair.
fn generate() -> Result<StoredKey, String> {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    stored_key(&SigningKey::from_bytes(&secret)).map_err(|e| e.to_string())
}

fn stored_key(key: &SigningKey) -> Result<StoredKey, KeyError> {
    let public = key.verifying_key().to_bytes();
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|_| KeyError::InvalidPem)?;
    Ok(StoredKey {
        kid: kid_of(&public),
        private_key_pem: pem.to_string(),
        public_key_x: URL_SAFE_NO_PAD.encode(public),
    })
}

/// A key id derived from the public key, so the same key always has the same id.
fn kid_of(public: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(public)[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_round_trips_through_pem_and_keeps_its_kid() {
        let stored = generate().expect("key");
        let parsed = SigningKey::from_pkcs8_pem(&stored.private_key_pem).expect("pem");
        assert_eq!(stored_key(&parsed).expect("again").kid, stored.kid);
        let keys = Keys::from_parts(&stored, &[(stored.kid.clone(), stored.public_key_x.clone())])
            .expect("keys");
        assert!(keys.decoding(&stored.kid).is_some());
        assert_eq!(keys.jwks().keys.len(), 1);
    }
}
