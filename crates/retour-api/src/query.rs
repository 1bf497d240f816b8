//! A `Query` extractor whose rejections are 422 problem documents naming the parameter.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query as AxumQuery};
use axum::http::Uri;
use axum::http::request::Parts;
use retour_domain::FieldError;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Like [`axum::extract::Query`], but a parameter that does not parse (`?limit=abc`) answers
/// 422 `validation_failed` with the parameter's name as the field, rather than a bare 400; so
/// does a value holding a NUL character (`%00`), which PostgreSQL cannot compare with text.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let errors = nul_errors(&parts.uri);
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        match AxumQuery::<T>::from_request_parts(parts, state).await {
            Ok(AxumQuery(value)) => Ok(Query(value)),
            Err(rejection) => Err(rejection_to_error(&rejection)),
        }
    }
}

/// Every parameter whose name or value holds a NUL character.
pub(crate) fn nul_errors(uri: &Uri) -> Vec<FieldError> {
    if !uri.query().is_some_and(|q| q.contains("%00")) {
        return Vec::new();
    }
    let Ok(AxumQuery(pairs)) = AxumQuery::<Vec<(String, String)>>::try_from_uri(uri) else {
        return Vec::new();
    };
    pairs
        .iter()
        .filter(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| {
            let name = name.replace('\0', "%00");
            let message = format!("{name} must not contain NUL characters");
            FieldError::new(name, "invalid_characters", message)
        })
        .collect()
}

fn rejection_to_error(rejection: &QueryRejection) -> ApiError {
    let text = rejection.body_text();
    let field = match crate::json::data_error_field(&text) {
        field if field == "body" => "query".to_owned(),
        field => field,
    };
    ApiError::validation(&field, "invalid_value", text)
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use serde::Deserialize;
    use tower::ServiceExt;

    use super::Query;

    #[derive(Deserialize)]
    struct Params {
        #[expect(dead_code, reason = "only parsed")]
        limit: Option<u32>,
        #[expect(dead_code, reason = "only parsed")]
        status: String,
    }

    async fn call(uri: &str) -> (StatusCode, serde_json::Value) {
        let app = Router::new().route("/", get(|_: Query<Params>| async { "ok" }));
        let response = app
            .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
            .await
            .expect("response");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    #[tokio::test]
    async fn a_parameter_that_does_not_parse_is_named_in_a_422() {
        let (status, body) = call("/?status=open&limit=abc").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["code"], "validation_failed");
        assert_eq!(body["errors"][0]["field"], "limit", "{body}");
    }

    #[tokio::test]
    async fn a_missing_parameter_is_named_in_a_422() {
        let (status, body) = call("/?limit=5").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["errors"][0]["field"], "status", "{body}");
    }

    #[tokio::test]
    async fn a_nul_character_in_a_parameter_is_named_in_a_422() {
        let (status, body) = call("/?status=op%00en&limit=5").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["errors"][0]["field"], "status", "{body}");
        assert_eq!(body["errors"][0]["code"], "invalid_characters", "{body}");
    }

    #[tokio::test]
    async fn valid_parameters_reach_the_handler() {
        let (status, _) = call("/?status=open&limit=5").await;
        assert_eq!(status, StatusCode::OK);
    }
}
