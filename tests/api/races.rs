//! Races: many clients at once on one case's transition, and on the references of one canton.
//! The router is driven by concurrent tasks over a pool large enough that their transactions
//! really overlap in PostgreSQL.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tower::ServiceExt;

use crate::support::TestApp;
use crate::support::{BE, ZH, case_body};
use crate::support::{Team, act, approval, ready_case};

/// Clients sending at once.
const CLIENTS: usize = 50;
/// Connections: enough for the transactions to overlap, few enough for a shared server.
const CONNECTIONS: u32 = 20;

async fn app(options: PgPoolOptions, connect: PgConnectOptions) -> TestApp {
    let pool = options.max_connections(CONNECTIONS).connect_with(connect).await.expect("pool");
    TestApp::new(pool).await
}

/// Sends every request at once, each from its own task; returns each status and body.
async fn all_at_once(app: &TestApp, requests: Vec<Request<Body>>) -> Vec<(StatusCode, Value)> {
    let handles: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let router = app.router.clone();
            tokio::spawn(async move {
                let response = router.oneshot(request).await.expect("response");
                let status = response.status();
                let bytes = response.into_body().collect().await.expect("body").to_bytes();
                (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
            })
        })
        .collect();
    let mut answers = Vec::new();
    for handle in handles {
        answers.push(handle.await.expect("task"));
    }
    answers
}

fn post(path: &str, token: &str, body: &Value, if_match: Option<&str>) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json");
    if let Some(version) = if_match {
        request = request.header("if-match", version);
    }
    request.body(Body::from(body.to_string())).expect("request")
}

async fn scalar(pool: &PgPool, sql: &'static str, id: &str) -> i64 {
    sqlx::query_scalar(sql).bind(id).fetch_one(pool).await.expect("count")
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn of_fifty_clients_approving_one_version_of_a_case_exactly_one_succeeds(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let app = app(options, connect).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "12345678").await;
    let case = act(&app, &team.be, &case, &json!({ "action": "submit" })).await;
    let case = act(&app, &team.sem, &case, &json!({ "action": "start_review" })).await;
    let id = case["id"].as_str().expect("id").to_owned();
    let version = format!("\"{}\"", case["version"]);
    let path = format!("/v1/cases/{id}/transitions");
    let requests =
        (0..CLIENTS).map(|_| post(&path, &team.sem, &approval(), Some(&version))).collect();
    let answers = all_at_once(&app, requests).await;

    let statuses: Vec<u16> = answers.iter().map(|(s, _)| s.as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    for (status, body) in &answers {
        match status.as_u16() {
            200 => assert_eq!(body["status"], "approved"),
            412 => assert_eq!(body["code"], "stale_version", "{body}"),
            409 => assert_eq!(body["code"], "invalid_transition", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    let pool = &app.pool;
    let history =
        "select count(*) from case_events where case_id = $1::uuid and action = 'approve'";
    assert_eq!(scalar(pool, history, &id).await, 1, "one history row");
    let decisions = "select count(*) from case_decisions where case_id = $1::uuid";
    assert_eq!(scalar(pool, decisions, &id).await, 1, "one decision");
    let allowed = "select count(*) from audit_events where action = 'case.transition' \
                   and outcome = 'allowed' and resource_id = $1::uuid \
                   and details->>'action' = 'approve'";
    assert_eq!(scalar(pool, allowed, &id).await, 1, "one access-log event of the approval");
    let version: i64 =
        scalar(pool, "select version::bigint from cases where id = $1::uuid", &id).await;
    assert_eq!(version, case["version"].as_i64().expect("version") + 1, "one new version");
    println!(
        "race: {CLIENTS} concurrent approvals of one version: 1 applied, {} answered 412, {} \
         answered 409",
        statuses.iter().filter(|s| **s == 412).count(),
        statuses.iter().filter(|s| **s == 409).count()
    );
    // The test made its own pool: closed, the harness can drop the test's database.
    app.pool.close().await;
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn fifty_concurrent_openings_in_one_canton_number_their_references_without_gaps(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let app = app(options, connect).await;
    let be = app.login(BE).await;
    let zh = app.login(ZH).await;
    // Zurich opens cases at the same time, counted on its own.
    let requests = (0..CLIENTS)
        .map(|i| post("/v1/cases", &be, &case_body(&format!("Family{i}"), None), None))
        .chain(
            (0..10).map(|i| post("/v1/cases", &zh, &case_body(&format!("Meier{i}"), None), None)),
        )
        .collect();
    let answers = all_at_once(&app, requests).await;
    let mut references = BTreeSet::new();
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::CREATED, "{body}");
        references.insert(body["reference"].as_str().expect("reference").to_owned());
    }
    let year = chrono::Utc::now().format("%Y").to_string();
    let expected: BTreeSet<String> = (1..=CLIENTS)
        .map(|n| format!("BE-{year}-{n:05}"))
        .chain((1..=10).map(|n| format!("ZH-{year}-{n:05}")))
        .collect();
    assert_eq!(references, expected, "unique and without gaps, per canton");
    let stored: i64 = sqlx::query_scalar("select count(distinct reference) from cases")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(stored, i64::try_from(CLIENTS + 10).expect("count"));
    println!(
        "race: {CLIENTS} concurrent openings in Bern (and 10 in Zurich): references 1 to {CLIENTS}, no gap"
    );
    app.pool.close().await;
}
