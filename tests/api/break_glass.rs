//! Break-glass: a SEM officer opens a case outside SEM's scope in an emergency, reads it
//! (read-only, for a limited time, logged), and an auditor reviews the use.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{TestApp, assert_names, case_body, etag, open_case};

const REASON: &str = "Medical emergency at the border crossing, identity to be confirmed";

async fn draft(app: &TestApp) -> Value {
    let counsellor = app.login("counsellor.be@demo.test").await;
    open_case(app, &counsellor, &case_body("Glasbruch", Some("12345678"))).await
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_sem_officer_opens_a_draft_in_an_emergency_and_an_auditor_reviews_it(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let case = draft(&app).await;
    let id = case["id"].as_str().expect("id");
    let path = format!("/v1/cases/{id}");
    let sem = app.login("sem@demo.test").await;
    // A draft is never SEM's to see.
    app.get(&path, Some(&sem)).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
    let open = format!("{path}/break-glass");
    let short = app.post(&open, Some(&sem), &json!({ "reason": "urgent" })).await;
    assert_names(&short, "reason", "too_short");
    let opened = app.post(&open, Some(&sem), &json!({ "reason": REASON })).await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
    let use_id = opened.body["id"].as_str().expect("use id").to_owned();
    let read = app.get(&path, Some(&sem)).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.body["persons"][0]["surname"], "Glasbruch");
    assert_eq!(read.body["allowed_actions"], json!([]), "read-only");
    // Read-only: no change goes through.
    let changed = app
        .send(
            Method::PATCH,
            &path,
            Some(&sem),
            Some(&json!({ "programme": "cantonal" })),
            &[("if-match", &etag(&read.body))],
        )
        .await;
    assert_eq!(changed.status, StatusCode::NOT_FOUND, "{}", changed.text);
    // Another SEM officer has not broken the glass.
    let other = app.login("sem2@demo.test").await;
    app.get(&path, Some(&other)).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
    // The read is logged with the use.
    let logged: i64 = sqlx::query_scalar(
        "select count(*) from audit_events where action = 'case.read' and outcome = 'allowed' \
         and details->>'break_glass_id' = $1",
    )
    .bind(&use_id)
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(logged, 1);
    // …and only with it: the read through the use is not also a denied read.
    let denied: i64 = sqlx::query_scalar(
        "select count(*) from audit_events where action = 'case.read' and outcome = 'denied' \
         and actor_id = (select id from users where email = 'sem@demo.test')",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(denied, 1, "the read before the glass was broken, and no other");
    // The counselling service learns of it in its feed: ids only, no reason.
    let counsellor = app.login("counsellor.be@demo.test").await;
    let feed = app.get("/v1/events?types=break_glass.opened", Some(&counsellor)).await;
    let events = feed.body["items"].as_array().expect("items").clone();
    assert_eq!(events.len(), 1, "{}", feed.text);
    assert_eq!(events[0]["data"]["break_glass_id"], use_id.as_str());
    assert!(!feed.text.contains("Medical emergency"), "{}", feed.text);
    // The auditors' queue holds it until reviewed.
    let auditor = app.login("auditor@demo.test").await;
    let queue = app.get("/v1/break-glass-uses", Some(&auditor)).await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.text);
    assert_eq!(queue.body["items"][0]["id"], use_id.as_str());
    assert_eq!(queue.body["items"][0]["reason"], REASON);
    app.get("/v1/break-glass-uses", Some(&sem))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let review = format!("/v1/break-glass-uses/{use_id}/review");
    app.post(&review, Some(&sem), &json!({ "note": "Fine." }))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let reviewed =
        app.post(&review, Some(&auditor), &json!({ "note": "Justified: call log checked." })).await;
    assert_eq!(reviewed.status, StatusCode::OK, "{}", reviewed.text);
    assert!(reviewed.body["reviewed_at"].is_string());
    app.post(&review, Some(&auditor), &json!({ "note": "Again." }))
        .await
        .assert_problem(StatusCode::CONFLICT, "already_reviewed");
    let open_queue = app.get("/v1/break-glass-uses", Some(&auditor)).await;
    assert_eq!(open_queue.body["items"], json!([]));
    let done = app.get("/v1/break-glass-uses?status=reviewed", Some(&auditor)).await;
    assert_eq!(done.body["items"].as_array().expect("items").len(), 1);
    // After its time the case is closed to the officer again.
    sqlx::query("update break_glass_uses set expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .expect("expire");
    app.get(&path, Some(&sem)).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn only_the_configured_roles_break_the_glass_and_only_when_needed(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let case = draft(&app).await;
    let id = case["id"].as_str().expect("id");
    let open = format!("/v1/cases/{id}/break-glass");
    for email in [
        "counsellor.zh@demo.test",
        "iom@demo.test",
        "auditor@demo.test",
        "admin@demo.test",
        "admin.sem@demo.test",
    ] {
        let token = app.login(email).await;
        app.post(&open, Some(&token), &json!({ "reason": REASON }))
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    // The case's own service needs none.
    let sem = app.login("sem@demo.test").await;
    let missing = format!("/v1/cases/{}/break-glass", uuid::Uuid::now_v7());
    app.post(&missing, Some(&sem), &json!({ "reason": REASON }))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    crate::support::set_status(&pool, id, "submitted", None).await;
    app.post(&open, Some(&sem), &json!({ "reason": REASON }))
        .await
        .assert_problem(StatusCode::CONFLICT, "break_glass_not_needed");
    let uses: i64 = sqlx::query_scalar("select count(*) from break_glass_uses")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(uses, 0);
}
