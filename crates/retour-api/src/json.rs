//! A `Json` extractor whose rejections are problem documents naming what is wrong.

use axum::body::Bytes;
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
/// shape. A number written with a zero fraction (`433.0`) is the integer it equals, as JSON
/// Schema counts it.
pub(crate) fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|error| ApiError::BadRequest(format!("the body is not valid JSON: {error}")))?;
    integral_numbers(&mut value);
    from_value(value)
}

/// Writes every number with a zero fraction that fits an `i64` as that integer.
fn integral_numbers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(number) if number.is_f64() => {
            if let Some(float) = number.as_f64()
                && float.fract() == 0.0
                && float >= i64::MIN as f64
                && float < i64::MAX as f64
            {
                *value = serde_json::Value::from(float as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        serde_json::Value::Object(members) => members.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// Reads `value` (a parsed body, e.g. after a merge patch) as `T`, naming the field of any
/// value of the wrong shape.
pub(crate) fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        ApiError::Validation(vec![field_error(
            &error.path().to_string(),
            &error.inner().to_string(),
        )])
    })
}

/// A field error from where deserialising failed (`persons[0].sex`, `.` for the body) and
/// serde's message: the field's path, a stable code — `required`, `unknown_field`,
/// `invalid_type`, `invalid_value`, `invalid_length` — and a sentence saying what to send.
pub(crate) fn field_error(path: &str, message: &str) -> FieldError {
    let message = strip_position(message);
    let join = |name: &str| match path {
        "." | "" => name.to_owned(),
        path if path == name || path.ends_with(&format!(".{name}")) => path.to_owned(),
        path => format!("{path}.{name}"),
    };
    let at = if matches!(path, "." | "") { "body".to_owned() } else { path.to_owned() };
    if let Some(name) = quoted_after(message, "missing field ") {
        let field = join(name);
        let text = format!("{field} is required");
        return FieldError::new(field, "required", text);
    }
    if let Some(name) = quoted_after(message, "unknown field ") {
        let field = join(name);
        let expected = message.split_once(", expected ").map(|(_, e)| names(e));
        let text = match expected {
            Some(expected) => format!("{field} is not a field here; the fields are: {expected}"),
            None => format!("{field} is not a field here"),
        };
        return FieldError::new(field, "unknown_field", text);
    }
    if let Some(value) = quoted_after(message, "unknown variant ") {
        let expected =
            message.split_once(", expected ").map_or_else(String::new, |(_, e)| names(e));
        let text = format!("{at} must be one of: {expected} (not {value:?})");
        return FieldError::new(at, "invalid_value", text);
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, "another type"));
        let text = format!("{at} must be {}, not {}", kind(expected), kind(got));
        return FieldError::new(at, "invalid_type", text);
    }
    if let Some(rest) = message.strip_prefix("invalid length ") {
        let expected = rest.split_once(", expected ").map_or(rest, |(_, e)| e);
        let text = format!("{at} must have {expected}");
        return FieldError::new(at, "invalid_length", text);
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        let expected = rest.split_once(", expected ").map_or(rest, |(_, e)| e);
        let text = format!("{at} must be {expected}");
        return FieldError::new(at, "invalid_value", text);
    }
    let text = format!("{at}: {message}");
    FieldError::new(at, "invalid_value", text)
}

/// serde_json's message without its " at line 1 column 64".
fn strip_position(message: &str) -> &str {
    match message.rsplit_once(" at line ") {
        Some((head, tail))
            if tail.split_once(" column ").is_some_and(|(l, c)| {
                l.bytes().all(|b| b.is_ascii_digit()) && c.bytes().all(|b| b.is_ascii_digit())
            }) =>
        {
            head
        }
        _ => message,
    }
}

/// The name between backquotes right after `prefix` at the start of `message`.
fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    message.strip_prefix(prefix)?.strip_prefix('`')?.split_once('`').map(|(name, _)| name)
}

/// serde's "one of `a`, `b`" or "`a` or `b`" as "a, b".
fn names(expected: &str) -> String {
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    if names.is_empty() { expected.to_owned() } else { names.join(", ") }
}

/// serde's description of a type or of a value's type, for people.
fn kind(description: &str) -> String {
    let word = description.split([' ', '`']).next().unwrap_or(description);
    match word {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "integer" => {
            "an integer".to_owned()
        }
        "f32" | "f64" | "floating" => "a number".to_owned(),
        "string" | "char" => "a string".to_owned(),
        "boolean" => "true or false".to_owned(),
        "sequence" => "an array".to_owned(),
        "map" | "struct" => "an object".to_owned(),
        "unit" | "null" => "null".to_owned(),
        _ => description.to_owned(),
    }
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

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::{field_error, from_bytes, has_nul_escape, nul_fields};

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only deserialised")]
    struct Person {
        surname: String,
        age: i64,
        sex: Sex,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Sex {
        Female,
        Male,
    }

    #[derive(Debug, serde::Deserialize)]
    #[expect(dead_code, reason = "only deserialised")]
    struct Household {
        persons: Vec<Person>,
    }

    /// The one field error of deserialising `body` as a household.
    fn error_of(body: &str) -> (String, String, String) {
        match from_bytes::<Household>(body.as_bytes()) {
            Err(crate::ApiError::Validation(errors)) => {
                let e = &errors[0];
                (e.field.clone(), e.code.clone(), e.message.clone())
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_body_of_the_wrong_shape_names_the_field_and_says_what_to_send() {
        let person = r#""surname": "A", "age": 3, "sex": "male""#;
        let (field, code, message) = error_of(r#"{"persons": [{"surname": "A", "sex": "male"}]}"#);
        assert_eq!((field.as_str(), code.as_str()), ("persons[0].age", "required"));
        assert_eq!(message, "persons[0].age is required");
        let (field, code, message) =
            error_of(r#"{"persons": [{"surname": "A", "age": "three", "sex": "male"}]}"#);
        assert_eq!((field.as_str(), code.as_str()), ("persons[0].age", "invalid_type"));
        assert_eq!(message, "persons[0].age must be an integer, not a string");
        let (field, code, message) =
            error_of(&format!(r#"{{"persons": [{{{person}, "canton": "BE"}}]}}"#));
        assert_eq!((field.as_str(), code.as_str()), ("persons[0].canton", "unknown_field"));
        assert_eq!(
            message,
            "persons[0].canton is not a field here; the fields are: surname, age, sex"
        );
        let (field, code, message) =
            error_of(r#"{"persons": [{"surname": "A", "age": 3, "sex": "x"}]}"#);
        assert_eq!((field.as_str(), code.as_str()), ("persons[0].sex", "invalid_value"));
        assert_eq!(message, r#"persons[0].sex must be one of: female, male (not "x")"#);
        let (field, code, _) = error_of(r#"{"persons": {}}"#);
        assert_eq!((field.as_str(), code.as_str()), ("persons", "invalid_type"));
        for (_, _, message) in [error_of(r#"{"persons": 1}"#), error_of(r#"{}"#)] {
            assert!(!message.contains("line") && !message.contains("column"), "{message}");
        }
    }

    #[test]
    fn a_whole_number_written_with_a_fraction_of_zero_is_that_integer() {
        #[derive(Debug, serde::Deserialize, PartialEq)]
        struct Amount {
            amount_rappen: i64,
        }
        let read: Amount = from_bytes(br#"{"amount_rappen": 433.0}"#).expect("433.0");
        assert_eq!(read, Amount { amount_rappen: 433 });
        let fraction = from_bytes::<Amount>(br#"{"amount_rappen": 433.5}"#).expect_err("433.5");
        let crate::ApiError::Validation(errors) = fraction else { panic!("{fraction:?}") };
        assert_eq!(
            (errors[0].field.as_str(), errors[0].code.as_str()),
            ("amount_rappen", "invalid_type")
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_a_bad_request() {
        for body in ["{", r#"{"persons": []} {}"#, "nonsense", ""] {
            assert!(
                matches!(
                    from_bytes::<Household>(body.as_bytes()),
                    Err(crate::ApiError::BadRequest(_))
                ),
                "{body:?}"
            );
        }
    }

    #[test]
    fn the_body_itself_is_named_body() {
        let error = field_error(".", "invalid type: sequence, expected struct Household");
        assert_eq!(error.field, "body");
        assert_eq!(error.message, "body must be an object, not an array");
    }

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
}
