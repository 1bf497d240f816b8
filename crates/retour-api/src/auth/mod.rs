//! Authentication: signing keys, access tokens, passwords and the caller extractor.

mod caller;
pub mod keys;
pub mod password;
pub mod token;

pub use caller::{Caller, RequestMeta};
pub use keys::Keys;
