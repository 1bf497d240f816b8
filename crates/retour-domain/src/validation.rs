//! Field-level validation errors, collected so a client sees every problem at once.

use serde::Serialize;
use utoipa::ToSchema;

/// One invalid or missing field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Path of the field in the request body, e.g. `persons[1].zemis_number`.
    pub field: String,
    /// Stable machine-readable code, e.g. `required`, `invalid_format`, `too_long`.
    pub code: String,
    /// Human-readable explanation naming the field.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.to_owned(), message: message.into() }
    }
}

/// Collects field errors while a request is parsed; empty means valid.
#[derive(Debug, Default)]
pub struct Validation {
    errors: Vec<FieldError>,
}

impl Validation {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, field: impl Into<String>, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, code, message));
    }

    /// Records the error of a parse result and returns its value, if any.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.errors.push(error);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(value)` when nothing was recorded, else every recorded error.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() { Ok(value) } else { Err(self.errors) }
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }
}

/// A required, trimmed, non-empty string of at most `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, "required", format!("{field} must not be empty")));
    }
    if trimmed.chars().count() > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("{field} must be at most {max} characters"),
        ));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(FieldError::new(
            field,
            "invalid_characters",
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("name", "  Ana ", 10), Ok("Ana".to_owned()));
        assert_eq!(text("name", "   ", 10).map_err(|e| e.code), Err("required".to_owned()));
        assert_eq!(text("name", "abcdef", 5).map_err(|e| e.code), Err("too_long".to_owned()));
        assert_eq!(
            text("name", "a\u{0}b", 5).map_err(|e| e.code),
            Err("invalid_characters".to_owned())
        );
    }

    #[test]
    fn validation_collects_every_error() {
        let mut v = Validation::new();
        assert_eq!(v.check(text("a", "", 3)), None);
        assert_eq!(v.check(text("b", "ok", 3)), Some("ok".to_owned()));
        v.push("c", "required", "c is required");
        let errors = v.finish(()).expect_err("two errors");
        assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["a", "c"]);
    }
}
