//! Access events written in groups: each one committed before its request is answered, with
//! what it was given, and a bad event failing only its own request.

use axum::http::StatusCode;
use retour_store::audit::{AuditActor, AuditEvent, Outcome};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::TestApp;
use crate::support::cases::{BE, ZH, case_body, open_case};

/// What a test reads back of an event: action, actor, resources, details, request, address,
/// time.
type LoggedRow = (
    String,
    Option<Uuid>,
    Vec<Uuid>,
    serde_json::Value,
    Option<String>,
    String,
    chrono::DateTime<chrono::Utc>,
);

fn event(actor: &AuditActor, i: usize) -> AuditEvent {
    let ip: std::net::IpAddr = format!("192.0.2.{}", i % 250 + 1).parse().expect("ip");
    AuditEvent::new(actor.clone(), "case.read", Outcome::Allowed)
        .id(Uuid::now_v7())
        .resources("case", vec![Uuid::from_u128(i as u128), Uuid::from_u128(i as u128 + 1)])
        .details(json!({ "n": i }))
        .request(Some(format!("req-{i}")), Some(ip))
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn events_logged_at_once_are_each_committed_with_what_they_were_given(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let actor = AuditActor::user(Uuid::now_v7(), Uuid::now_v7(), "counsellor");
    let events: Vec<AuditEvent> = (0..300).map(|i| event(&actor, i)).collect();
    let before = chrono::Utc::now();
    let logged = futures_util::future::join_all(events.iter().map(|e| {
        let store = app.store.clone();
        async move {
            store.log(e).await.expect("logged");
            // Answered only once committed: a new connection sees it.
            let (found,): (i64,) =
                sqlx::query_as("select count(*) from audit_events where id = $1")
                    .bind(e.id)
                    .fetch_one(&store.pool().clone())
                    .await
                    .expect("count");
            found
        }
    }))
    .await;
    assert!(logged.iter().all(|found| *found == 1), "every event committed before its answer");
    for (i, e) in events.iter().enumerate() {
        let row: LoggedRow = sqlx::query_as(
            "select action, actor_id, resource_ids, details, request_id, host(client_addr), \
                     occurred_at from audit_events where id = $1",
        )
        .bind(e.id)
        .fetch_one(&pool)
        .await
        .expect("row");
        assert_eq!(row.0, "case.read");
        assert_eq!(row.1, actor.id);
        assert_eq!(row.2, e.resource_ids);
        assert_eq!(row.3, json!({ "n": i }));
        assert_eq!(row.4.as_deref(), Some(format!("req-{i}").as_str()));
        assert_eq!(row.5, format!("192.0.2.{}", i % 250 + 1));
        assert!(row.6 >= before && row.6 <= chrono::Utc::now(), "the time of the event");
    }
    // Every one joins the hash chain once.
    retour_store::audit::seal_pending(&pool).await.expect("sealed");
    assert!(retour_store::audit::verify(&pool).await.expect("verified").ok);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_bad_event_fails_its_own_request_and_no_other(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let actor = AuditActor::user(Uuid::now_v7(), Uuid::now_v7(), "counsellor");
    let first = event(&actor, 0);
    app.store.log(&first).await.expect("logged");
    // Among 60 events at once, one reuses the first one's id.
    let mut events: Vec<AuditEvent> = (1..60).map(|i| event(&actor, i)).collect();
    events.insert(30, first.clone());
    let outcomes = futures_util::future::join_all(events.iter().map(|e| app.store.log(e))).await;
    let failed: Vec<usize> =
        outcomes.iter().enumerate().filter(|(_, o)| o.is_err()).map(|(i, _)| i).collect();
    assert_eq!(failed, [30], "only the reused id fails");
    let (count,): (i64,) =
        sqlx::query_as("select count(*) from audit_events where action = 'case.read'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(count, 60);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn concurrent_reads_are_each_logged_allowed_or_denied(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let be = app.login(BE).await;
    let zh = app.login(ZH).await;
    let case = open_case(&app, &be, &case_body("Grouped", None)).await;
    let id = case["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/cases/{id}");
    let answers = futures_util::future::join_all((0..40).map(|i| {
        let (app, path) = (&app, &path);
        let token = if i % 4 == 0 { zh.clone() } else { be.clone() };
        async move { app.get(path, Some(&token)).await.status }
    }))
    .await;
    assert_eq!(answers.iter().filter(|s| **s == StatusCode::OK).count(), 30);
    assert_eq!(answers.iter().filter(|s| **s == StatusCode::NOT_FOUND).count(), 10);
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "select outcome, count(*) from audit_events \
         where action = 'case.read' and resource_id = $1 group by outcome order by outcome",
    )
    .bind(Uuid::parse_str(&id).expect("uuid"))
    .fetch_all(&pool)
    .await
    .expect("counts");
    assert_eq!(counts, [("allowed".to_owned(), 30), ("denied".to_owned(), 10)]);
}
