//! The password policy for new passwords: long enough, and not one that attackers try first.
//!
//! The list of common passwords is Django's (19,640 entries, lowercased; see
//! `data/common-passwords.LICENSE`), compiled into the binary.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::FieldError;

/// Fewest characters a new password may have (NIST SP 800-63B asks for at least 8; we ask
/// for more because no second factor is enforced yet).
pub const MIN_CHARS: usize = 12;
/// Most characters a new password may have; bounds the cost of hashing it.
pub const MAX_CHARS: usize = 256;

static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("../data/common-passwords.txt").lines().collect());

/// A new password that satisfies the policy. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Checks `value` against the policy; the error names `field`.
    pub fn parse(field: &str, value: String) -> Result<Self, FieldError> {
        let chars = value.chars().count();
        if chars < MIN_CHARS {
            return Err(FieldError::new(
                field,
                "too_short",
                format!("{field} must have at least {MIN_CHARS} characters"),
            ));
        }
        if chars > MAX_CHARS {
            return Err(FieldError::new(
                field,
                "too_long",
                format!("{field} must have at most {MAX_CHARS} characters"),
            ));
        }
        if is_common(&value) {
            return Err(FieldError::new(
                field,
                "too_common",
                format!("{field} is among the most common passwords; choose another"),
            ));
        }
        Ok(Self(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Whether `password` is on the list of common passwords, ignoring case.
pub fn is_common(password: &str) -> bool {
    COMMON.contains(password.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(value: &str) -> Option<String> {
        Password::parse("password", value.to_owned()).err().map(|e| e.code)
    }

    #[test]
    fn the_list_is_compiled_in_and_looked_up_without_regard_to_case() {
        assert!(COMMON.len() > 19_000, "{}", COMMON.len());
        assert!(is_common("password"));
        assert!(is_common("PassWord"));
        assert!(is_common("Q1W2E3R4T5Y6"));
        assert!(!is_common("retour-is-a-case-system"));
    }

    #[test]
    fn short_long_and_common_passwords_are_refused_naming_the_field() {
        assert_eq!(code("short-pass1"), Some("too_short".to_owned()));
        assert_eq!(code(&"x".repeat(MAX_CHARS + 1)), Some("too_long".to_owned()));
        assert_eq!(code("qwerty123456"), Some("too_common".to_owned()));
        assert_eq!(code("Password1234"), Some("too_common".to_owned()));
        let error = Password::parse("new_password", "abc".to_owned()).expect_err("short");
        assert_eq!(error.field, "new_password");
    }

    #[test]
    fn a_long_uncommon_password_is_accepted_and_never_printed() {
        let password =
            Password::parse("password", "correct horse battery".to_owned()).expect("accepted");
        assert_eq!(password.expose(), "correct horse battery");
        assert_eq!(format!("{password:?}"), "Password(***)");
        // Length counts characters, not bytes.
        assert_eq!(code("äöüäöüäöüäö"), Some("too_short".to_owned()));
        assert_eq!(code("äöüäöüäöüäöü"), None);
    }
}
