//! The test harness: an app over a fresh database, and JSON request helpers.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use retour_api::{ApiConfig, AppState, DocumentsConfig, Keys, LoginLimits};
use retour_store::Store;
use retour_store::documents::crypto::MasterKeys;
use serde_json::Value;
use sqlx::PgPool;
use tower::ServiceExt;

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "retour-demo";

/// Logs go to stderr only when `RETOUR_TEST_LOG` is set (e.g. `RETOUR_TEST_LOG=debug`).
fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("RETOUR_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    });
}

/// The application under test, over its own database with the demo data seeded.
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub store: Store,
    pub pool: PgPool,
}

/// A response with its body parsed as JSON (or `Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{}", self.text);
        assert_eq!(self.body["code"], code, "{}", self.text);
        assert_eq!(self.body["status"], status.as_u16(), "{}", self.text);
        assert!(self.body["title"].is_string() && self.body["type"].is_string(), "{}", self.text);
        assert!(self.body["detail"].is_string(), "{}", self.text);
    }

    /// The body without the problem's `instance`, which names the request and so differs
    /// between any two answers: what is left is what could tell two cases apart.
    pub fn told(&self) -> String {
        match &self.body {
            Value::Object(fields) if fields.contains_key("instance") => {
                let mut fields = fields.clone();
                fields.remove("instance");
                Value::Object(fields).to_string()
            }
            _ => self.text.clone(),
        }
    }
}

/// The default configuration, with a master key for documents (which has no default) and
/// without the sign-in rate limit: requests sent here carry no client address, so they would
/// all share one bucket (the limit has its own tests).
pub fn test_config() -> ApiConfig {
    let keys = MasterKeys::single("test", super::documents::TEST_KEY);
    ApiConfig {
        documents: DocumentsConfig { keys: Some(keys), ..DocumentsConfig::default() },
        login: LoginLimits { rate_per_minute: 0, ..LoginLimits::default() },
        ..ApiConfig::default()
    }
}

impl TestApp {
    /// The app with [`test_config`].
    pub async fn new(pool: PgPool) -> Self {
        Self::with_config(pool, test_config()).await
    }

    pub async fn with_config(pool: PgPool, config: ApiConfig) -> Self {
        init_logs();
        let store = Store::from_pool(pool.clone());
        retour_api::demo::seed(&store).await.expect("demo data");
        let keys = Keys::load(&store, None).await.expect("signing key");
        let state = AppState::new(store.clone(), config, keys);
        // As the server does: verified tokens are kept while changes are announced.
        state.watch_auth_changes();
        let router = retour_api::router(state.clone());
        Self { router, state, store, pool }
    }

    /// Waits until the server listens for account changes, and so keeps verified tokens.
    pub async fn until_tokens_are_kept(&self) {
        for _ in 0..500 {
            if self.state.tokens().is_live() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the server does not listen for account changes");
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .expect("request");
        self.send_request(request).await
    }

    /// Sends a request; its answer must agree with the OpenAPI document (see
    /// [`crate::conformance`]).
    pub async fn send_request(&self, request: Request<Body>) -> TestResponse {
        let (method, path) = (request.method().clone(), request.uri().path().to_owned());
        let response = self.router.clone().oneshot(request).await.expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        crate::conformance::check(&method, &path, status, content_type, &bytes);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse { status, headers, body, text }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.send(Method::GET, path, token, None, &[]).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> TestResponse {
        self.send(Method::POST, path, token, Some(body), &[]).await
    }

    /// Signs in as `email` with the demo password; returns the whole token response.
    pub async fn login_response(&self, email: &str) -> TestResponse {
        self.post(
            "/v1/auth/login",
            None,
            &serde_json::json!({ "email": email, "password": DEMO_PASSWORD }),
        )
        .await
    }

    /// Signs in as `email` with the demo password; returns the access token.
    pub async fn login(&self, email: &str) -> String {
        let response = self.login_response(email).await;
        assert_eq!(response.status, StatusCode::OK, "login {email}: {}", response.text);
        response.body["access_token"].as_str().expect("access_token").to_owned()
    }
}

/// Asserts a 422 `validation_failed` naming `field` with `code` (among other fields, maybe).
#[track_caller]
pub fn assert_names(response: &TestResponse, field: &str, code: &str) {
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let errors = response.body["errors"].as_array().expect("errors");
    assert!(
        errors.iter().any(|e| e["field"] == field && e["code"] == code),
        "expected {field} {code}: {}",
        response.text
    );
}
