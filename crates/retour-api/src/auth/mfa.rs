//! The second factor: TOTP codes (RFC 6238: HMAC-SHA-1, six digits, 30-second steps, one
//! step of clock drift either way), the otpauth URI and its QR code, and recovery codes.

use base64::Engine;
use rand::RngCore;
use retour_store::documents::crypto::{DataKey, MasterKeys};
use retour_store::mfa::TotpFactor;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret, Totp};
use uuid::Uuid;

use crate::ApiError;

/// The issuer authenticator apps show beside the account.
const ISSUER: &str = "Retour";
/// Bytes of a TOTP secret (RFC 4226 asks for at least 128 bits and recommends 160).
const SECRET_BYTES: usize = 20;
/// Recovery codes issued with a confirmed factor.
pub const RECOVERY_CODES: usize = 10;

/// A factor's secret, unwrapped.
pub struct TotpSecret([u8; SECRET_BYTES]);

impl TotpSecret {
    /// A fresh random secret, and its wrapped form bound to `factor_id`: the key id and the
    /// wrapped bytes, for storage.
    pub fn generate(
        keys: &MasterKeys,
        factor_id: Uuid,
    ) -> Result<(Self, String, Vec<u8>), ApiError> {
        // Wrapped as a data key is (32 bytes); the secret is its first 20 bytes.
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let (key_id, wrapped) =
            keys.wrap(factor_id, &DataKey::from_bytes(bytes)).map_err(ApiError::internal)?;
        Ok((Self::from_key_bytes(&bytes), key_id, wrapped))
    }

    /// The secret of a stored factor.
    pub fn unwrap(keys: &MasterKeys, factor: &TotpFactor) -> Result<Self, ApiError> {
        let key = keys
            .unwrap(factor.id, &factor.key_id, &factor.wrapped_secret)
            .map_err(ApiError::internal)?;
        Ok(Self::from_key_bytes(key.as_bytes()))
    }

    fn from_key_bytes(bytes: &[u8; 32]) -> Self {
        let mut secret = [0u8; SECRET_BYTES];
        secret.copy_from_slice(&bytes[..SECRET_BYTES]);
        Self(secret)
    }

    fn totp(&self, account: &str) -> Result<Totp, ApiError> {
        totp_rs::Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(1)
            .with_step_duration(30)
            .with_secret(Secret::from(self.0))
            .with_issuer(Some(ISSUER))
            .with_account_name(account)
            .build()
            .map_err(|e| ApiError::internal(std::io::Error::other(e.to_string())))
    }

    /// The secret in base32, as authenticator apps take it typed in.
    pub fn base32(&self) -> String {
        Secret::from(self.0).to_base32()
    }

    /// The `otpauth://totp/…` URI for `account` (the user's email).
    pub fn otpauth_uri(&self, account: &str) -> Result<String, ApiError> {
        self.totp(account)?
            .to_url()
            .map_err(|e| ApiError::internal(std::io::Error::other(e.to_string())))
    }

    /// The time step whose code `code` is at `now` (Unix seconds), allowing one step of drift
    /// either way; `None` for a wrong code.
    pub fn check(&self, code: &str, now: u64) -> Option<i64> {
        let totp = self.totp("check").ok()?;
        totp.check(code.trim(), now).and_then(|step| i64::try_from(step).ok())
    }
}

/// A QR code of `text` as an SVG document.
pub fn qr_svg(text: &str) -> Result<String, ApiError> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| ApiError::internal(std::io::Error::other(e.to_string())))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// Fresh recovery codes (`xxxxx-xxxxx`, 80 random bits each in base32) and their hashes.
pub fn recovery_codes() -> (Vec<String>, Vec<Vec<u8>>) {
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::rng().fill_bytes(&mut bytes);
            let text = Secret::from(bytes).to_base32().to_lowercase();
            format!("{}-{}", &text[..8], &text[8..16])
        })
        .collect();
    let hashes = codes.iter().map(|c| recovery_hash(c)).collect();
    (codes, hashes)
}

/// The stored hash of a recovery code, without regard to case, spaces or dashes.
pub fn recovery_hash(code: &str) -> Vec<u8> {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Sha256::digest(normal.as_bytes()).to_vec()
}

/// A fresh opaque token (a sign-in's challenge), and its stored hash.
pub fn challenge_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = Sha256::digest(token.as_bytes()).to_vec();
    (token, hash)
}

/// The stored hash of a challenge token.
pub fn challenge_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_accepted_within_one_step_of_drift_and_names_its_step() {
        let secret = TotpSecret([7; SECRET_BYTES]);
        let totp = secret.totp("test@demo.test").expect("totp");
        let now = 1_800_000_000;
        let code = totp.generate(now).to_string();
        assert_eq!(secret.check(&code, now), Some((now / 30) as i64));
        assert_eq!(secret.check(&code, now + 30), Some((now / 30) as i64));
        assert_eq!(secret.check(&code, now + 90), None);
        assert_eq!(secret.check("000000x", now), None);
    }

    #[test]
    fn the_uri_names_the_issuer_and_the_account() {
        let secret = TotpSecret([1; SECRET_BYTES]);
        let uri = secret.otpauth_uri("anna@demo.test").expect("uri");
        assert!(uri.starts_with("otpauth://totp/Retour:anna%40demo.test?"), "{uri}");
        assert!(uri.contains(&format!("secret={}", secret.base32())), "{uri}");
        assert!(qr_svg(&uri).expect("svg").starts_with("<?xml"));
    }

    #[test]
    fn recovery_codes_are_distinct_and_match_however_typed() {
        let (codes, hashes) = recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        assert_eq!(recovery_hash(&codes[0].to_uppercase().replace('-', " ")), hashes[0]);
    }
}
