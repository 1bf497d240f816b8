//! Service-account credentials: client ids, and client secrets stored only as hashes.
//!
//! A secret is 256 random bits, so it cannot be guessed and needs no slow password hash:
//! SHA-256 of it is as strong as argon2 would be, and keeps the token endpoint cheap (no CPU
//! an attacker can make us spend). The comparison is constant-time all the same.

use std::fmt::Write;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX: &str = "sha256:";

fn random(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

/// A new public client id: `svc_` and 128 random bits.
pub fn new_client_id() -> String {
    format!("svc_{}", random(16))
}

/// A new secret of 256 random bits, base64url (43 characters).
pub fn new_secret() -> String {
    random(32)
}

/// The stored form of a secret: `sha256:` and the hex digest.
pub fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().fold(PREFIX.to_owned(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// Whether `secret` is the one `stored` was made from, compared in constant time.
pub fn verify(secret: &str, stored: &str) -> bool {
    bool::from(hash(secret).as_bytes().ct_eq(stored.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_verifies_against_its_hash_only() {
        let secret = new_secret();
        assert_eq!(secret.len(), 43);
        let stored = hash(&secret);
        assert!(stored.starts_with("sha256:") && stored.len() == 7 + 64, "{stored}");
        assert!(verify(&secret, &stored));
        assert!(!verify(&new_secret(), &stored));
        assert!(!verify(&secret, "sha256:00"));
        assert_ne!(new_client_id(), new_client_id());
        assert!(new_client_id().starts_with("svc_"));
    }
}
