//! The event feed `GET /v1/events`: every change of a case leaves an event in its own
//! transaction; each reader gets the events of the cases they read, of the parts of the case
//! their view holds, in order, from a cursor that never passes an event committed late.

use std::time::Duration;

use axum::http::StatusCode;
use retour_domain::event::EventType;
use retour_store::events::{self, NewEvent};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::*;
use crate::tokens::{grant, service_account};

/// Reads the feed from `after` to its end, page by page.
async fn read_all(
    app: &TestApp,
    token: &str,
    query: &str,
    after: Option<&str>,
) -> (Vec<Value>, Option<String>) {
    let mut items = Vec::new();
    let mut cursor = after.map(str::to_owned);
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/events?{query}&after={c}"),
            None => format!("/v1/events?{query}"),
        };
        let response = app.get(&path, Some(token)).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text);
        let page = response.body["items"].as_array().expect("items").clone();
        let next = response.body["next_cursor"].as_str().map(str::to_owned);
        let done = page.is_empty();
        items.extend(page);
        if next.is_some() {
            cursor = next;
        }
        if done {
            return (items, cursor);
        }
    }
}

/// The feed from `after`, once it holds at least `count` events: a transaction still open
/// elsewhere on the server (another test's) holds the feed back until it ends.
async fn feed(
    app: &TestApp,
    token: &str,
    query: &str,
    after: Option<&str>,
    count: usize,
) -> (Vec<Value>, Option<String>) {
    for _ in 0..200 {
        let read = read_all(app, token, query, after).await;
        if read.0.len() >= count {
            return read;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    read_all(app, token, query, after).await
}

fn types_of(items: &[Value], case: &Value) -> Vec<String> {
    items
        .iter()
        .filter(|e| e["case_id"] == case["id"])
        .map(|e| e["type"].as_str().expect("type").to_owned())
        .collect()
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn each_reader_gets_the_events_of_the_cases_they_read_in_order(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = departed_case(&app, &team, "12345678", &approval()).await;
    let draft = ready_case(&app, &team, "22345678").await;

    // The counselling service sees every step of its cases, with the case's versions.
    let (items, _) = feed(&app, &team.be, "limit=200", None, 8).await;
    assert_eq!(
        types_of(&items, &case),
        [
            "case.opened",
            "document.added",
            "case.submitted",
            "review.started",
            "case.approved",
            "travel.booked",
            "case.departed"
        ]
    );
    assert_eq!(types_of(&items, &draft), ["case.opened"]);
    let mine: Vec<&Value> = items.iter().filter(|e| e["case_id"] == case["id"]).collect();
    assert!(
        mine.windows(2).all(|w| w[0]["case_version"].as_i64() <= w[1]["case_version"].as_i64())
    );
    assert_eq!(mine.last().expect("departed")["case_version"], case["version"]);
    assert_eq!(mine[4]["data"], json!({ "from_status": "under_review", "to_status": "approved" }));
    assert_eq!(mine[1]["data"]["category"], "return_request");
    // Ids are UUIDv7, in the feed's order here (one writer after the other).
    let ids: Vec<Uuid> =
        mine.iter().map(|e| e["id"].as_str().expect("id").parse().expect("uuid")).collect();
    assert!(ids.iter().all(|id| id.get_version_num() == 7));
    assert!(ids.windows(2).all(|w| w[0] < w[1]));

    // Paging by one gives the same events as one read.
    let (paged, _) = read_all(&app, &team.be, "limit=1", None).await;
    assert_eq!(paged, items);
    // Types filter.
    let (approvals, _) = read_all(&app, &team.be, "types=case.approved,case.departed", None).await;
    assert_eq!(types_of(&approvals, &case), ["case.approved", "case.departed"]);
    let (repeated, _) =
        read_all(&app, &team.be, "types=case.approved&types=case.departed", None).await;
    assert_eq!(repeated, approvals);

    // Another canton sees nothing of Bern's cases; IOM Bern only approved cases, and not
    // the signed request (the eligibility answers are not IOM's); the mission nothing yet.
    let zh = app.login(ZH).await;
    assert!(read_all(&app, &zh, "", None).await.0.is_empty());
    let (iom, _) = read_all(&app, &team.iom, "", None).await;
    assert_eq!(
        types_of(&iom, &case),
        [
            "case.opened",
            "case.submitted",
            "review.started",
            "case.approved",
            "travel.booked",
            "case.departed"
        ]
    );
    assert!(types_of(&iom, &draft).is_empty());
    assert!(read_all(&app, &team.mission, "", None).await.0.is_empty());

    // The read is logged with the cases it named.
    let logged: i64 = sqlx::query_scalar(
        "select count(*) from audit_events where action = 'events.read' and outcome = 'allowed' \
         and $1 = any(resource_ids)",
    )
    .bind(id_of(&case).parse::<Uuid>().expect("uuid"))
    .fetch_one(&pool)
    .await
    .expect("log");
    assert!(logged > 0);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_medical_certificate_is_announced_only_within_the_medical_view(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = approved_case(&app, &team, "12345678", &approval()).await;
    let uploaded = app
        .upload(
            &team.be,
            &id_of(&case),
            "medical_certificate",
            "arzt.pdf",
            documents::pdf("Befund"),
        )
        .await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text);
    let (counsellor, _) = feed(&app, &team.be, "types=document.added", None, 2).await;
    let categories: Vec<&Value> = counsellor.iter().map(|e| &e["data"]["category"]).collect();
    assert_eq!(categories, [&json!("return_request"), &json!("medical_certificate")]);
    // SEM reads the full medical view; swissREPAT and IOM Bern do not.
    let (sem, _) = read_all(&app, &team.sem, "types=document.added", None).await;
    assert_eq!(sem.len(), 2);
    for token in [&team.repat, &team.iom] {
        let (items, _) = read_all(&app, token, "", None).await;
        assert!(items.iter().all(|e| e["type"] != "document.added"), "{items:?}");
        assert!(items.iter().any(|e| e["type"] == "case.approved"));
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_event_that_commits_late_is_delivered_after_a_later_one_was_read(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let first = ready_case(&app, &team, "12345678").await;
    let (read, cursor) = feed(&app, &team.be, "", None, 1).await;
    assert_eq!(types_of(&read, &first), ["case.opened"]);

    // A change begins (and takes its transaction id) before another one, and commits after
    // it: the classic outbox pitfall.
    let first_id: Uuid = id_of(&first).parse().expect("uuid");
    let mut slow = pool.begin().await.expect("transaction");
    let late = NewEvent::new(EventType::CaseUpdated, first_id, None);
    events::record(&mut slow, &late).await.expect("late event");
    let second = ready_case(&app, &team, "22345678").await;

    // While the first is open, the feed holds back what committed after it began.
    let (held, held_cursor) = read_all(&app, &team.be, "", cursor.as_deref()).await;
    assert!(held.is_empty(), "{held:?}");
    slow.commit().await.expect("commit");

    // Read on from where the reader stood: the late event, then the later one.
    let (items, _) =
        feed(&app, &team.be, "", held_cursor.as_deref().or(cursor.as_deref()), 2).await;
    let order: Vec<(&Value, &Value)> = items.iter().map(|e| (&e["case_id"], &e["type"])).collect();
    assert_eq!(
        order,
        [(&first["id"], &json!("case.updated")), (&second["id"], &json!("case.opened"))]
    );
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn service_accounts_read_the_feed_with_its_own_scope(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = approved_case(&app, &team, "12345678", &approval()).await;
    ready_case(&app, &team, "22345678").await;

    // IOM Bern's account with case-events:read reads what IOM Bern's coordinators read.
    let (_, client, secret) = service_account(&app, &["case-events:read"]).await;
    let token = grant(&app, &client, &secret).await;
    let (items, _) = feed(&app, &token, "", None, 4).await;
    assert!(items.iter().all(|e| e["case_id"] == case["id"]), "{items:?}");
    assert_eq!(
        types_of(&items, &case),
        ["case.opened", "case.submitted", "review.started", "case.approved"]
    );
    // case-events:read reads no case itself.
    let path = format!("/v1/cases/{}", id_of(&case));
    app.get(&path, Some(&token)).await.assert_problem(StatusCode::FORBIDDEN, "insufficient_scope");

    // Neither cases:read nor the access log's scope reads the feed; nor do auditors and
    // administrators, who read no case.
    let access_log = crate::tokens::stored_service_account(
        &app,
        "Oversight – data protection and audit",
        &["events:read"],
    )
    .await;
    for (_, client, secret) in [service_account(&app, &["cases:read"]).await, access_log] {
        let token = grant(&app, &client, &secret).await;
        let refused = app.get("/v1/events", Some(&token)).await;
        refused.assert_problem(StatusCode::FORBIDDEN, "insufficient_scope");
        assert!(refused.text.contains("case-events:read"), "{}", refused.text);
    }
    for email in ["auditor@demo.test", "admin@demo.test"] {
        let token = app.login(email).await;
        let refused = app.get("/v1/events", Some(&token)).await;
        refused.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    assert_eq!(audit_count(&pool, "events.read", "denied").await, 2);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_feeds_parameters_are_checked(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let be = app.login(BE).await;
    for (query, field, code) in [
        ("after=bm9wZQ", "after", "invalid_cursor"),
        ("types=case.eaten", "types", "unknown_value"),
        ("types=case.approved,", "types", "unknown_value"),
        ("limit=0", "limit", "out_of_range"),
        ("cursor=x", "cursor", "unknown_parameter"),
    ] {
        let response = app.get(&format!("/v1/events?{query}"), Some(&be)).await;
        assert_names(&response, field, code);
    }
    // Nothing happened yet: no cursor to move to.
    let empty = app.get("/v1/events", Some(&be)).await;
    assert_eq!(empty.body, json!({ "items": [], "next_cursor": null }));
}

/// Every change a case goes through leaves its event: edits, the household, assignments,
/// transfers, proposals, documents, disbursements, visits, reclaims and deadlines.
#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn every_kind_of_change_leaves_its_event(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "12345678").await;
    let planned = (chrono::Utc::now() + chrono::Duration::days(60)).date_naive().to_string();
    let path = format!("/v1/cases/{}", id_of(&case));
    let change = json!({ "planned_departure_date": planned });
    let edited = patch(&app, &team.be, &path, &etag(&case), &change).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
    let in_reintegration = reintegration_case(&app, &team, "22345678").await;
    let path = format!("/v1/cases/{}/disbursements", id_of(&in_reintegration));
    let paid = app
        .post(
            &path,
            Some(&team.mission),
            &json!({ "amount_rappen": 50000, "purpose": "Tools", "paid_on": today() }),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    let submitted = ready_case(&app, &team, "32345678").await;
    let submitted = act(&app, &team.be, &submitted, &json!({ "action": "submit" })).await;
    retour_store::deadlines::mark_overdue(
        &pool,
        chrono::Utc::now().date_naive() + chrono::Days::new(400),
    )
    .await
    .expect("overdue");

    let (items, _) = feed(&app, &team.be, "limit=200", None, 15).await;
    assert_eq!(types_of(&items, &case), ["case.opened", "case.updated"]);
    let later = types_of(&items, &in_reintegration);
    for kind in ["reintegration.started", "disbursement.recorded"] {
        assert!(later.contains(&kind.to_owned()), "{kind}: {later:?}");
    }
    assert_eq!(
        types_of(&items, &submitted),
        ["case.opened", "document.added", "case.submitted", "deadline.passed"]
    );
    let passed = items.iter().find(|e| e["type"] == "deadline.passed").expect("passed");
    assert_eq!(passed["data"]["kind"], "sem_decision");
    // The mission reads the disbursement and the visit's deadline of its case.
    let (mission, _) = read_all(&app, &team.mission, "", None).await;
    assert!(types_of(&mission, &in_reintegration).contains(&"disbursement.recorded".to_owned()));
    // No event carries a name, a number or a free text.
    let text = serde_json::to_string(&items).expect("json");
    for secret in ["Hassan", "Tools", "Eligible"] {
        assert!(!text.contains(secret), "{secret}");
    }
}
