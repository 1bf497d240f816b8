//! Operations endpoints and the shape of errors.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use sqlx::PgPool;

use crate::support::TestApp;

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn liveness_and_readiness_answer_ok_on_a_migrated_database(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let live = app.get("/health/live", None).await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(live.body["status"], "ok");
    let ready = app.get("/health/ready", None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    assert_eq!(app.store.readiness().await, retour_store::Readiness::Ready);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn readiness_fails_with_a_problem_when_migrations_are_missing(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    sqlx::query(
        "delete from _sqlx_migrations where version = (select max(version) from _sqlx_migrations)",
    )
    .execute(&pool)
    .await
    .expect("forget a migration");
    app.get("/health/ready", None)
        .await
        .assert_problem(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn readiness_fails_with_a_problem_when_the_database_is_gone(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    pool.close().await;
    app.get("/health/ready", None)
        .await
        .assert_problem(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_unknown_route_answers_a_404_problem(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.get("/v1/nothing-here", None).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_wrong_method_answers_a_405_problem(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let response = app.send(Method::DELETE, "/health/live", None, None, &[]).await;
    response.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(response.header("allow"), Some("GET,HEAD"));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn malformed_json_answers_a_400_problem_that_says_what_is_wrong(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/auth/login")
        .header("content-type", "application/json")
        .body(Body::from("{\"email\": "))
        .expect("request");
    let response = app.send_request(request).await;
    response.assert_problem(StatusCode::BAD_REQUEST, "malformed_request");
    assert!(
        response.body["detail"].as_str().is_some_and(|d| d.contains("EOF")),
        "{}",
        response.text
    );
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_body_of_the_wrong_shape_names_the_missing_field(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let response = app.post("/v1/auth/login", None, &serde_json::json!({"email": "a@b.c"})).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.body["errors"][0]["field"], "password", "{}", response.text);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_body_over_the_limit_answers_413(pool: PgPool) {
    let config = retour_api::ApiConfig { body_limit: 64, ..Default::default() };
    let app = TestApp::with_config(pool, config).await;
    let big = serde_json::json!({"email": "x".repeat(200), "password": "y"});
    app.post("/v1/auth/login", None, &big)
        .await
        .assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_request_id_is_echoed_or_generated(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let given =
        app.send(Method::GET, "/health/live", None, None, &[("x-request-id", "abc-123")]).await;
    assert_eq!(given.header("x-request-id"), Some("abc-123"));
    let generated = app.get("/health/live", None).await;
    let id = generated.header("x-request-id").expect("generated id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn responses_carry_the_hygiene_headers(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let response = app.get("/health/live", None).await;
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(response.header("x-frame-options"), Some("DENY"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("server"), None);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn cors_allows_only_configured_origins(pool: PgPool) {
    let config = retour_api::ApiConfig {
        cors_origins: vec!["https://retour.example".parse().expect("origin")],
        ..Default::default()
    };
    let app = TestApp::with_config(pool, config).await;
    let allowed = app
        .send(Method::GET, "/health/live", None, None, &[("origin", "https://retour.example")])
        .await;
    assert_eq!(allowed.header("access-control-allow-origin"), Some("https://retour.example"));
    // A browser client reads the headers the OpenAPI document declares.
    let exposed = allowed.header("access-control-expose-headers").unwrap_or_default();
    for name in ["etag", "location", "retry-after", "ratelimit-reset", "x-request-id"] {
        assert!(exposed.split(',').any(|h| h.trim() == name), "{name} in {exposed}");
    }
    let other = app
        .send(Method::GET, "/health/live", None, None, &[("origin", "https://evil.example")])
        .await;
    assert_eq!(other.header("access-control-allow-origin"), None);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn metrics_count_requests_by_route_and_status(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.get("/health/live", None).await;
    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics
            .text
            .contains("http_requests_total{method=\"GET\",route=\"/health/live\",status=\"200\"}"),
        "{}",
        metrics.text
    );
    assert!(metrics.text.contains("http_request_duration_seconds_bucket"), "{}", metrics.text);
    assert!(metrics.text.contains("db_pool_connections"), "{}", metrics.text);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_docs_and_the_openapi_document_are_served(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let spec = app.get("/openapi.json", None).await;
    assert_eq!(spec.status, StatusCode::OK);
    assert_eq!(spec.body["info"]["title"], "Retour");
    let docs = app.get("/docs/", None).await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs.text.contains("swagger"), "{}", docs.text);
}

/// The committed `openapi/openapi.json` must be what the code generates.
#[test]
fn the_committed_openapi_document_matches_the_code() {
    let generated = retour_api::openapi_json().expect("openapi");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    if std::env::var_os("RETOUR_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, format!("{generated}\n")).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed.trim_end() == generated.trim_end(),
        "openapi/openapi.json is out of date; regenerate it with \
         `cargo run -- openapi > openapi/openapi.json` (or RETOUR_UPDATE_OPENAPI=1 cargo test)"
    );
}
