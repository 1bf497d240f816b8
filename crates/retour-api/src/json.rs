//! A `Json` extractor whose rejections are problem documents naming what is wrong.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Like [`axum::Json`], but a malformed body answers problem+json.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(rejection_to_error(rejection)),
        }
    }
}

fn rejection_to_error(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        JsonRejection::JsonDataError(e) => ApiError::Validation(vec![data_error(&e.body_text())]),
        JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest(e.body_text()),
        JsonRejection::BytesRejection(e)
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
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
/// type: persons[0].sex: unknown variant …" message, completing it with the name of a missing
/// field; `body` when the message names none.
fn data_error_field(text: &str) -> String {
    let rest = text.split_once("target type: ").map_or(text, |(_, r)| r);
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
    use super::data_error_field;

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
