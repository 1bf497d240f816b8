//! Authentication: signing keys, access tokens, passwords and the caller extractor.

pub mod cache;
mod caller;
pub mod client_secret;
pub mod keys;
pub mod mfa;
pub mod password;
pub mod rate_limit;
pub mod token;

pub use cache::TokenCache;
pub(crate) use caller::require_scope;
pub use caller::{Caller, RequestMeta};
pub use keys::Keys;
pub use retour_store::users::Lockout;

/// Protection of the sign-in: the account lockout and the per-address rate limit.
#[derive(Debug, Clone)]
pub struct LoginLimits {
    pub lockout: Lockout,
    /// Requests per minute and client address to the endpoints that take credentials
    /// (`/v1/auth/login`, `/v1/auth/refresh`, `/v1/auth/token`); 0 is unlimited.
    pub rate_per_minute: u32,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self { lockout: Lockout::default(), rate_per_minute: 30 }
    }
}
