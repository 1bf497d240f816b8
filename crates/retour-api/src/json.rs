//! A `Json` extractor whose rejections are problem documents naming what is wrong.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use retour_domain::FieldError;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Like [`axum::Json`], but a malformed body answers problem+json, and a string holding a NUL
/// character (`\u0000`, which PostgreSQL cannot store in text) is a 422 naming its field.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest(rejection.body_text())
            }
        })?;
        let errors = nul_errors(&bytes);
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        from_bytes(&bytes).map(Json)
    }
}

/// Every field of a JSON body whose text holds a NUL character; none for bodies that are not
/// JSON (they fail parsing next).
fn nul_errors(bytes: &[u8]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if has_nul_escape(bytes)
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes)
    {
        nul_fields(&value, &mut String::new(), &mut errors);
    }
    errors
}

/// Parses a JSON body read by other means (e.g. one that may be empty) with the same
/// answers as [`Json`]: 400 when it is not JSON, 422 naming the field when it has the wrong
/// shape.
pub(crate) fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    axum::Json::<T>::from_bytes(bytes).map(|axum::Json(value)| value).map_err(rejection_to_error)
}

/// `application/json` or any `application/*+json`, parameters aside.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json"
        || essence.strip_prefix("application/").is_some_and(|sub| sub.ends_with("+json"))
}

/// Whether the raw body contains the escape `\u0000` (not an escaped backslash followed by
/// `u0000`). Raw NUL bytes are not valid JSON and fail parsing anyway.
fn has_nul_escape(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes.get(i + 1..i + 6) == Some(b"u0000".as_slice()) {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// Every string (or object key) holding a NUL character, by its path in the body.
fn nul_fields(value: &serde_json::Value, path: &mut String, errors: &mut Vec<FieldError>) {
    let field = |path: &str| if path.is_empty() { "body".to_owned() } else { path.to_owned() };
    match value {
        serde_json::Value::String(text) if text.contains('\0') => {
            let field = field(path);
            let message = format!("{field} must not contain NUL characters");
            errors.push(FieldError::new(field, "invalid_characters", message));
        }
        serde_json::Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                nul_fields(item, path, errors);
                path.truncate(len);
            }
        }
        serde_json::Value::Object(members) => {
            for (key, member) in members {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key.replace('\0', "\\u0000"));
                if key.contains('\0') {
                    let field = field(path);
                    let message = format!("{field}: a field name must not contain NUL characters");
                    errors.push(FieldError::new(field, "invalid_characters", message));
                } else {
                    nul_fields(member, path, errors);
                }
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn rejection_to_error(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        JsonRejection::JsonDataError(e) => ApiError::Validation(vec![data_error(&e.body_text())]),
        JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest(e.body_text()),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge
        }
        other => ApiError::BadRequest(other.body_text()),
    }
}

/// A field error from serde's message, which names the field path and what was expected.
pub(crate) fn data_error(text: &str) -> retour_domain::FieldError {
    let code = if text.contains("unknown field `") { "unknown_field" } else { "invalid_value" };
    retour_domain::FieldError::new(data_error_field(text), code, text)
}

/// Extracts the field path from axum's "Failed to deserialize the JSON body into the target
/// type: persons[0].sex: unknown variant …" message (or its query-string twin), completing it
/// with the name of a missing field; `body` when the message names none.
pub(crate) fn data_error_field(text: &str) -> String {
    let rest = ["target type: ", "query string: "]
        .iter()
        .find_map(|prefix| text.split_once(prefix).map(|(_, r)| r))
        .unwrap_or(text);
    let (path, message) = match rest.split_once(": ") {
        Some((path, message)) if !path.contains(' ') && path != "." => (Some(path), message),
        _ => (None, rest),
    };
    let missing = ["missing field `", "unknown field `"].into_iter().find_map(|marker| {
        message.split_once(marker).and_then(|(_, tail)| tail.split_once('`')).map(|(name, _)| name)
    });
    match (path, missing) {
        // serde_path_to_error already ends the path with an unknown field's name.
        (Some(path), Some(name)) if path == name || path.ends_with(&format!(".{name}")) => {
            path.to_owned()
        }
        (Some(path), Some(name)) => format!("{path}.{name}"),
        (None, Some(name)) => name.to_owned(),
        (Some(path), None) => path.to_owned(),
        (None, None) => "body".to_owned(),
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::{data_error_field, has_nul_escape, nul_fields};

    #[test]
    fn a_nul_escape_is_found_but_an_escaped_backslash_is_not_one() {
        assert!(has_nul_escape(br#"{"email": "a\u0000b"}"#));
        assert!(has_nul_escape(br#"{"x": "\\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"x": "\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"x": "\u0001 and u0000"}"#));
    }

    #[test]
    fn every_string_with_a_nul_is_named_by_its_path() {
        let value = serde_json::json!({
            "email": "a\u{0}b",
            "persons": [{"surname": "ok"}, {"surname": "x\u{0}"}],
            "details": {"k\u{0}": 1},
        });
        let mut errors = Vec::new();
        nul_fields(&value, &mut String::new(), &mut errors);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["details.k\\u0000", "email", "persons[1].surname"]);
        assert!(errors.iter().all(|e| e.code == "invalid_characters"));
    }

    #[test]
    fn the_field_path_is_taken_from_serdes_message() {
        assert_eq!(
            data_error_field(
                "Failed to deserialize the JSON body into the target type: persons[0].sex: unknown variant `x`"
            ),
            "persons[0].sex"
        );
        assert_eq!(
            data_error_field(
                "Failed to deserialize the JSON body into the target type: missing field `email` at line 1 column 2"
            ),
            "email"
        );
        assert_eq!(
            data_error_field(
                "Failed to deserialize the JSON body into the target type: persons[1]: missing field `sex` at line 1 column 9"
            ),
            "persons[1].sex"
        );
        assert_eq!(
            data_error_field(
                "Failed to deserialize the JSON body into the target type: invalid type: integer `1`, expected a string"
            ),
            "body"
        );
        assert_eq!(
            data_error_field(
                "Failed to deserialize the JSON body into the target type: persons[0]: unknown field `canton`, expected one of `surname`, `sex` at line 1 column 9"
            ),
            "persons[0].canton"
        );
        assert_eq!(
            data_error_field(
                "Failed to deserialize the JSON body into the target type: persons[0].canton: unknown field `canton`, expected `sex` at line 1 column 9"
            ),
            "persons[0].canton"
        );
    }
}
