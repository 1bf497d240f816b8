//! Limits, response hygiene and the all-or-nothing writes of the access log.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::support::{DEMO_PASSWORD, TestApp, TestResponse};

#[track_caller]
fn assert_hygiene(response: &TestResponse, cache_control: &str) {
    let what = format!("{} {}", response.status, response.text);
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"), "{what}");
    assert_eq!(response.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(response.header("cache-control"), Some(cache_control), "{what}");
    assert_eq!(response.header("server"), None, "{what}");
}

#[track_caller]
fn assert_fields(response: &TestResponse, expected: &[(&str, &str)]) {
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let errors = response.body["errors"].as_array().expect("errors");
    let found: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e["field"].as_str().unwrap_or_default(), e["code"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(found, expected, "{}", response.text);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn personal_data_and_every_kind_of_error_are_never_cached_or_framed(pool: PgPool) {
    let config = retour_api::ApiConfig { body_limit: 4096, ..Default::default() };
    let app = TestApp::with_config(pool, config).await;
    let token = app.login("counsellor.be@demo.test").await;

    let me = app.get("/v1/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_hygiene(&me, "no-store");

    let big = json!({ "email": "x".repeat(5000), "password": "y" });
    let unsupported = app
        .send_request(
            Request::post("/v1/auth/login")
                .header("content-type", "text/plain")
                .body(Body::from("email=a"))
                .expect("request"),
        )
        .await;
    let errors = [
        (app.get("/v1/me", None).await, StatusCode::UNAUTHORIZED),
        (app.get("/v1/nothing", None).await, StatusCode::NOT_FOUND),
        (app.send(Method::PUT, "/v1/me", None, None, &[]).await, StatusCode::METHOD_NOT_ALLOWED),
        (app.post("/v1/auth/login", None, &big).await, StatusCode::PAYLOAD_TOO_LARGE),
        (unsupported, StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (app.post("/v1/auth/login", None, &json!({})).await, StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (response, status) in &errors {
        assert_eq!(response.status, *status, "{}", response.text);
        assert_eq!(response.header("content-type"), Some("application/problem+json"));
        assert_hygiene(response, "no-store");
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_cache_control_set_by_a_handler_is_kept(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.status, StatusCode::OK);
    assert_hygiene(&jwks, "public, max-age=300");
}

/// The browser enforces `nosniff` on scripts and styles, so each asset of the docs page must
/// be served with its real media type.
#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_docs_page_and_its_assets_load_under_the_hygiene_headers(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let redirect = app.get("/docs", None).await;
    assert!(redirect.status.is_redirection(), "{}", redirect.status);
    assert_eq!(redirect.header("location"), Some("/docs/"));

    let page = app.get("/docs/", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").is_some_and(|t| t.starts_with("text/html")));
    assert_hygiene(&page, "no-store");
    let assets: Vec<&str> = page
        .text
        .split(['"', '\''])
        .filter(|s| s.ends_with(".js") || s.ends_with(".css"))
        .map(|s| s.trim_start_matches("./"))
        .collect();
    assert!(assets.len() >= 4, "the docs page refers to its scripts and styles: {assets:?}");
    for asset in assets {
        let response = app.get(&format!("/docs/{asset}"), None).await;
        assert_eq!(response.status, StatusCode::OK, "{asset}");
        let expected = if asset.ends_with(".js") { "javascript" } else { "text/css" };
        let media_type = response.header("content-type").unwrap_or_default();
        assert!(media_type.contains(expected), "{asset} is served as {media_type}");
        assert_hygiene(&response, "no-store");
        if asset == "swagger-initializer.js" {
            assert!(response.text.contains("/openapi.json"), "{}", response.text);
        }
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_over_long_email_or_password_is_a_422_naming_each_field(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let long_email = format!("{}@demo.test", "a".repeat(250));
    let long_password = "p".repeat(1025);

    let response =
        app.post("/v1/auth/login", None, &json!({"email": long_email, "password": "x"})).await;
    assert_fields(&response, &[("email", "too_long")]);
    let response = app
        .post(
            "/v1/auth/login",
            None,
            &json!({"email": "counsellor.be@demo.test", "password": long_password}),
        )
        .await;
    assert_fields(&response, &[("password", "too_long")]);
    let response = app
        .post("/v1/auth/login", None, &json!({"email": long_email, "password": long_password}))
        .await;
    assert_fields(&response, &[("email", "too_long"), ("password", "too_long")]);

    // At the limits (in characters, not bytes), the credentials are simply wrong.
    let at_limit = json!({"email": "é".repeat(254), "password": "ü".repeat(1024)});
    app.post("/v1/auth/login", None, &at_limit)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
}

/// PostgreSQL cannot store a NUL character in text; such a value is refused up front,
/// naming its field, instead of failing in the database with a 500.
#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_nul_character_in_a_body_is_a_422_naming_the_field(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let response = app
        .post("/v1/auth/login", None, &json!({"email": "a\u{0}b@demo.test", "password": "x"}))
        .await;
    assert_fields(&response, &[("email", "invalid_characters")]);
    let response = app
        .post(
            "/v1/auth/login",
            None,
            &json!({"email": "counsellor.be@demo.test", "password": "retour\u{0}demo"}),
        )
        .await;
    assert_fields(&response, &[("password", "invalid_characters")]);
    let response = app.post("/v1/auth/refresh", None, &json!({"refresh_token": "\u{0}"})).await;
    assert_fields(&response, &[("refresh_token", "invalid_characters")]);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_control_character_in_the_email_is_a_422(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let response = app
        .post(
            "/v1/auth/login",
            None,
            &json!({"email": "counsellor.be@demo.test\u{7}", "password": DEMO_PASSWORD}),
        )
        .await;
    assert_fields(&response, &[("email", "invalid_characters")]);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn logout_takes_no_body_null_or_an_object_and_names_a_wrong_field(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for body in [None, Some(json!(null)), Some(json!({}))] {
        let token = app.login("sem@demo.test").await;
        let response =
            app.send(Method::POST, "/v1/auth/logout", Some(&token), body.as_ref(), &[]).await;
        assert_eq!(response.status, StatusCode::NO_CONTENT, "{body:?}: {}", response.text);
    }
    let token = app.login("sem@demo.test").await;
    let response = app.post("/v1/auth/logout", Some(&token), &json!({"refresh_token": 42})).await;
    assert_fields(&response, &[("refresh_token", "invalid_type")]);
    let response = app
        .send_request(
            Request::post("/v1/auth/logout")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(Body::from("{"))
                .expect("request"),
        )
        .await;
    response.assert_problem(StatusCode::BAD_REQUEST, "malformed_request");
}

/// Makes every insert of an access-log event with `action` fail, as a lost connection would.
async fn break_the_access_log_for(pool: &PgPool, action: &str) {
    sqlx::raw_sql(
        "create function refuse_event() returns trigger language plpgsql as \
         $$ begin raise exception 'the access log refuses %', new.action; end $$",
    )
    .execute(pool)
    .await
    .expect("function");
    let trigger = format!(
        "create trigger refuse_event before insert on audit_events for each row \
         when (new.action = '{action}') execute function refuse_event()"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(trigger)).execute(pool).await.expect("trigger");
}

async fn repair_the_access_log(pool: &PgPool) {
    sqlx::raw_sql("drop trigger refuse_event on audit_events; drop function refuse_event()")
        .execute(pool)
        .await
        .expect("drop trigger");
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect("count")
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_sign_in_whose_access_log_event_fails_leaves_no_session(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    break_the_access_log_for(&pool, "auth.login").await;
    let response = app.login_response("counsellor.be@demo.test").await;
    response.assert_problem(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    assert_eq!(count(&pool, "select count(*) from refresh_tokens").await, 0);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_refresh_whose_access_log_event_fails_leaves_the_token_usable(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let login = app.login_response("counsellor.be@demo.test").await;
    let refresh = json!({"refresh_token": login.body["refresh_token"]});
    break_the_access_log_for(&pool, "auth.refresh").await;
    app.post("/v1/auth/refresh", None, &refresh)
        .await
        .assert_problem(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    repair_the_access_log(&pool).await;
    let retried = app.post("/v1/auth/refresh", None, &refresh).await;
    assert_eq!(retried.status, StatusCode::OK, "not rotated, so not a reuse: {}", retried.text);
    assert_eq!(
        count(&pool, "select count(*) from audit_events where action = 'auth.refresh'").await,
        1
    );
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_logout_whose_access_log_event_fails_revokes_nothing(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let token = app.login("counsellor.be@demo.test").await;
    break_the_access_log_for(&pool, "auth.logout").await;
    app.post("/v1/auth/logout", Some(&token), &json!({}))
        .await
        .assert_problem(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    let me = app.get("/v1/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(count(&pool, "select count(*) from revoked_access_tokens").await, 0);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_unusable_request_id_is_replaced_rather_than_logged(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let long = "r".repeat(129);
    for given in [long.as_str(), "two words", ""] {
        let response = app
            .send(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(&json!({"email": "counsellor.be@demo.test", "password": DEMO_PASSWORD})),
                &[("x-request-id", given)],
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text);
        let id = response.header("x-request-id").expect("request id");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{given:?} was replaced by {id}");
    }
    let kept = "a".repeat(128);
    let response =
        app.send(Method::GET, "/health/live", None, None, &[("x-request-id", &kept)]).await;
    assert_eq!(response.header("x-request-id"), Some(kept.as_str()));
    let longest: i32 = sqlx::query_scalar("select max(length(request_id)) from audit_events")
        .fetch_one(&pool)
        .await
        .expect("request ids");
    assert_eq!(longest, 36, "only generated ids reached the access log");
}
