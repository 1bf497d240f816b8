//! A `Path` extractor whose rejections are problem documents. A path segment that does not
//! parse as the identifier it stands for (`/v1/cases/not-a-uuid`) names no resource, so it
//! answers 404 `not_found`, exactly as an id that does not exist (or lies outside the
//! caller's scope) does: the path never yields a 400 or 422 that another id would not.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path as AxumPath};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Like [`axum::extract::Path`], but a segment that does not parse answers 404.
#[derive(Debug, Clone, Copy)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match AxumPath::<T>::from_request_parts(parts, state).await {
            Ok(AxumPath(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => Err(ApiError::NotFound),
            // A route without the parameters its handler takes: a mistake of ours.
            Err(rejection) => Err(ApiError::internal(rejection)),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;
    use tower::ServiceExt;
    use uuid::Uuid;

    use super::Path;

    async fn status(uri: &str) -> StatusCode {
        let app = Router::new().route(
            "/things/{id}",
            get(|Path(id): Path<Uuid>| async move { id.to_string().into_response() }),
        );
        let request = Request::get(uri).body(Body::empty()).expect("request");
        app.oneshot(request).await.expect("response").status()
    }

    #[tokio::test]
    async fn a_segment_that_is_not_a_uuid_names_no_resource() {
        assert_eq!(status(&format!("/things/{}", Uuid::now_v7())).await, StatusCode::OK);
        for bad in ["not-a-uuid", "1", "%00", "00000000-0000-0000-0000-00000000000g"] {
            assert_eq!(status(&format!("/things/{bad}")).await, StatusCode::NOT_FOUND, "{bad}");
        }
    }
}
