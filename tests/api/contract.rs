//! What the API tells a client that got something wrong: the field and what to send, the
//! header and its form, the limit, the media types it answers; and what it tells an
//! operator: HELP on every metric.

use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::cases::{BE, case_body, open_case};
use crate::common::TestApp;

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_body_of_the_wrong_shape_is_answered_with_the_field_and_what_to_send(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login(BE).await;
    let mut body = case_body("Hassan", None);
    body["persons"][0]["date_of_birth"] = json!(19880412);
    let wrong_type = app.post("/v1/cases", Some(&token), &body).await;
    wrong_type.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let error = &wrong_type.body["errors"][0];
    assert_eq!(error["field"], "persons[0].date_of_birth");
    assert_eq!(error["code"], "invalid_type");
    let message = error["message"].as_str().expect("message");
    assert!(message.starts_with("persons[0].date_of_birth must be"), "{message}");
    assert!(!message.contains("line") && !message.contains("i64"), "{message}");

    let mut body = case_body("Hassan", None);
    body["persons"][0]["canton"] = json!("BE");
    let unknown = app.post("/v1/cases", Some(&token), &body).await;
    assert_eq!(unknown.body["errors"][0]["field"], "persons[0].canton");
    assert_eq!(unknown.body["errors"][0]["code"], "unknown_field");

    let mut body = case_body("Hassan", None);
    body.as_object_mut().expect("object").remove("programme");
    let missing = app.post("/v1/cases", Some(&token), &body).await;
    assert_eq!(missing.body["errors"][0]["field"], "programme");
    assert_eq!(missing.body["errors"][0]["code"], "required");
    assert_eq!(missing.body["errors"][0]["message"], "programme is required");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_unquoted_if_match_is_named_as_malformed_not_as_stale(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login(BE).await;
    let case = open_case(&app, &token, &case_body("Hassan", None)).await;
    let path = format!("/v1/cases/{}", case["id"].as_str().expect("id"));
    let body = json!({ "destination_country": "SY" });
    let bare =
        app.send(Method::PATCH, &path, Some(&token), Some(&body), &[("if-match", "1")]).await;
    bare.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(bare.body["errors"][0]["field"], "If-Match");
    assert!(bare.text.contains("in double quotes"), "{}", bare.text);
    let quoted =
        app.send(Method::PATCH, &path, Some(&token), Some(&body), &[("if-match", "\"1\"")]).await;
    assert_eq!(quoted.status, StatusCode::OK, "{}", quoted.text);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_body_over_the_limit_is_refused_with_the_limit(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login(BE).await;
    let mut body = case_body("Hassan", None);
    body["medical"]["summary"] = json!("x".repeat(2 * 1024 * 1024));
    let refused = app.post("/v1/cases", Some(&token), &body).await;
    refused.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let detail = refused.body["detail"].as_str().expect("detail");
    assert!(detail.contains("1048576 bytes"), "{detail}");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_accept_header_the_api_cannot_answer_gets_406(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login("auditor@demo.test").await;
    for (path, accept) in
        [("/v1/institutions", "application/xml"), ("/v1/institutions", "text/csv")]
    {
        let refused = app.send(Method::GET, path, Some(&token), None, &[("accept", accept)]).await;
        refused.assert_problem(StatusCode::NOT_ACCEPTABLE, "not_acceptable");
    }
    for (path, accept) in [
        ("/v1/institutions", "application/json"),
        ("/v1/institutions", "text/html, */*;q=0.1"),
        ("/v1/audit-events", "text/csv"),
    ] {
        let answered = app.send(Method::GET, path, Some(&token), None, &[("accept", accept)]).await;
        assert_eq!(answered.status, StatusCode::OK, "{path} {accept}: {}", answered.text);
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn every_metric_has_help_and_the_process_is_measured(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.get("/health/live", None).await;
    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    let families: Vec<&str> = metrics
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(families.contains(&"http_requests_total"), "{}", metrics.text);
    assert!(families.iter().any(|f| f.starts_with("process_")), "{}", metrics.text);
    for family in families {
        assert!(
            metrics.text.lines().any(|l| l.starts_with(&format!("# HELP {family} "))),
            "{family} has no HELP"
        );
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_token_without_the_scope_for_case_data_is_refused_not_answered_empty(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.login("admin@demo.test").await;
    let sem: uuid::Uuid =
        sqlx::query_scalar("select id from institutions where kind = 'sem' limit 1")
            .fetch_one(&app.pool)
            .await
            .expect("sem");
    let account = json!({ "institution_id": sem, "name": "Figures", "scopes": ["stats:read"] });
    let created = app.post("/v1/service-accounts", Some(&admin), &account).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        created.body["client_id"].as_str().expect("client id"),
        created.body["client_secret"].as_str().expect("secret"),
    );
    let request = axum::http::Request::post("/v1/auth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(form))
        .expect("request");
    let token = app.send_request(request).await;
    let token = token.body["access_token"].as_str().expect("token").to_owned();
    for path in ["/v1/cases", "/v1/information-requests"] {
        let refused = app.get(path, Some(&token)).await;
        refused.assert_problem(StatusCode::FORBIDDEN, "insufficient_scope");
        assert_eq!(
            refused.header("www-authenticate"),
            Some("Bearer error=\"insufficient_scope\", scope=\"cases:read\"")
        );
    }
    // What the scope allows still answers.
    assert_eq!(app.get("/v1/stats/cases", Some(&token)).await.status, StatusCode::OK);
    // A refused token says so, and differs from none at all.
    let forged = app.get("/v1/cases", Some("not-a-token")).await;
    forged.assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    assert_eq!(forged.header("www-authenticate"), Some("Bearer error=\"invalid_token\""));
    let none = app.get("/v1/cases", None).await;
    none.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
}
