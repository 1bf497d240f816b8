//! Deadlines: opened and closed by the transitions and the planned visits, counted in
//! working days, shown by field group, extended by SEM, marked overdue once by the job, and
//! the `overdue` flag and filter of case lists.

use axum::http::{Method, StatusCode};
use chrono::{Days, NaiveDate, Utc};
use retour_domain::calendar::add_working_days;
use retour_domain::deadline::DeadlineKind;
use retour_store::deadlines::{close_deadline, mark_overdue};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::*;

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn day(value: &Value) -> NaiveDate {
    value.as_str().and_then(|s| s.parse().ok()).expect("a date")
}

/// The case's deadlines in the database: (kind, due_on, open), oldest first.
async fn stored(pool: &PgPool, case: &Value) -> Vec<(String, NaiveDate, bool)> {
    sqlx::query_as(
        "select kind, due_on, closed_at is null from case_deadlines where case_id = $1 \
         order by opened_at, id",
    )
    .bind(Uuid::parse_str(&id_of(case)).expect("uuid"))
    .fetch_all(pool)
    .await
    .expect("deadlines")
}

/// The kinds of the case's open deadlines, as the case answer lists them.
fn open_kinds(case: &Value) -> Vec<&str> {
    case["deadlines"]
        .as_array()
        .expect("deadlines")
        .iter()
        .map(|d| d["kind"].as_str().expect("kind"))
        .collect()
}

async fn fetch(app: &TestApp, token: &str, case: &Value) -> Value {
    let response = app.get(&format!("/v1/cases/{}", id_of(case)), Some(token)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.body
}

/// Moves every open deadline of `kind` of the case to `due_on` (as if time had passed).
async fn set_due(pool: &PgPool, case: &Value, kind: &str, due_on: NaiveDate) {
    sqlx::query("update case_deadlines set due_on = $3 where case_id = $1 and kind = $2")
        .bind(Uuid::parse_str(&id_of(case)).expect("uuid"))
        .bind(kind)
        .bind(due_on)
        .execute(pool)
        .await
        .expect("due date");
}

fn yesterday() -> NaiveDate {
    today().checked_sub_days(Days::new(1)).expect("a day")
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn each_transition_opens_and_closes_its_deadlines_with_working_days(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "12345678").await;
    assert_eq!(case["deadlines"], json!([]));

    let case = act(&app, &team.be, &case, &json!({ "action": "submit" })).await;
    let decision_due = add_working_days(today(), 20).expect("in range");
    assert_eq!(open_kinds(&case), ["sem_decision"]);
    assert_eq!(day(&case["deadlines"][0]["due_on"]), decision_due);
    assert_eq!(case["deadlines"][0]["overdue"], false);

    let case = act(&app, &team.sem, &case, &json!({ "action": "start_review" })).await;
    assert_eq!(open_kinds(&case), ["sem_decision"], "taking the case changes no deadline");
    let question = json!({ "action": "request_info", "question": "Which school?" });
    let case = act(&app, &team.sem, &case, &question).await;
    assert_eq!(open_kinds(&case), ["information_answer"]);
    assert_eq!(day(&case["deadlines"][0]["due_on"]), add_working_days(today(), 10).expect("day"));

    let answer = json!({ "action": "answer_info", "answer": "The village school." });
    let case = act(&app, &team.be, &case, &answer).await;
    assert_eq!(open_kinds(&case), ["sem_decision"], "the answer gives SEM a new deadline");

    let case = act(&app, &team.sem, &case, &approval()).await;
    assert_eq!(open_kinds(&case), ["travel"]);
    assert_eq!(day(&case["deadlines"][0]["due_on"]), today() + Days::new(90));

    let case = act(&app, &team.repat, &case, &booking(false)).await;
    // By due date: the departure in two weeks, then the travel's limit.
    assert_eq!(open_kinds(&case), ["departure", "travel"]);
    let booked = (Utc::now() + chrono::Duration::days(14)).date_naive();
    let departure = case["deadlines"][0]["due_on"].clone();
    assert!((day(&departure) - booked).num_days().abs() <= 1, "due on the departure day");

    let no_show = json!({ "action": "report_no_show", "comment": "Not at the airport." });
    let case = act(&app, &team.repat, &case, &no_show).await;
    assert_eq!(open_kinds(&case), ["travel"]);
    let case = act(&app, &team.repat, &case, &booking(false)).await;
    let case = act(&app, &team.repat, &case, &departure_body()).await;
    assert_eq!(case["deadlines"], json!([]));

    let kinds: Vec<(String, bool)> =
        stored(&pool, &case).await.into_iter().map(|(k, _, open)| (k, open)).collect();
    let closed = |k: &str| (k.to_owned(), false);
    assert_eq!(
        kinds,
        [
            closed("sem_decision"),
            closed("information_answer"),
            closed("sem_decision"),
            closed("travel"),
            closed("departure"),
            closed("departure"),
        ]
    );
    assert_eq!(stored(&pool, &case).await[0].1, decision_due);
}

fn departure_body() -> Value {
    departure(150000, 20000)
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn ending_a_case_closes_every_open_deadline(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = approved_case(&app, &team, "12345678", &approval()).await;
    let case = act(&app, &team.repat, &case, &booking(false)).await;
    assert_eq!(open_kinds(&case), ["departure", "travel"]);
    let withdraw = json!({ "action": "withdraw", "reason": "Stays with relatives." });
    let case = act(&app, &team.be, &case, &withdraw).await;
    assert_eq!(case["deadlines"], json!([]));
    assert!(stored(&pool, &case).await.iter().all(|(_, _, open)| !open));

    let other = ready_case(&app, &team, "22345678").await;
    let other = act(&app, &team.be, &other, &json!({ "action": "submit" })).await;
    let other = act(&app, &team.sem, &other, &json!({ "action": "start_review" })).await;
    let reject =
        json!({ "action": "reject", "reasons": "Assets.", "legal_ground": "sufficient_assets" });
    let other = act(&app, &team.sem, &other, &reject).await;
    assert_eq!(other["deadlines"], json!([]));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_planned_visit_is_a_deadline_of_the_reintegration_only(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = reintegration_case(&app, &team, "12345678").await;
    let due = today() + Days::new(30);
    let path = format!("/v1/cases/{}/monitoring-visits", id_of(&case));
    let planned = app.post(&path, Some(&team.mission), &json!({ "due_on": due.to_string() })).await;
    assert_eq!(planned.status, StatusCode::CREATED, "{}", planned.text);
    let done = json!({ "due_on": today().to_string(), "done_on": today().to_string(),
        "outcome": "The shop is open." });
    let recorded = app.post(&path, Some(&team.mission), &done).await;
    assert_eq!(recorded.status, StatusCode::CREATED, "{}", recorded.text);

    // One deadline, for the planned visit, due on its day; IOM sees it, swissREPAT (no
    // reintegration data) does not.
    let seen = fetch(&app, &team.mission, &case).await;
    assert_eq!(open_kinds(&seen), ["monitoring_visit"]);
    assert_eq!(day(&seen["deadlines"][0]["due_on"]), due);
    assert_eq!(open_kinds(&fetch(&app, &team.iom, &case).await), ["monitoring_visit"]);
    assert_eq!(fetch(&app, &team.repat, &case).await["deadlines"], json!([]));

    // Recording the visit done closes it (the store's close_deadline, as the visit's update
    // calls it).
    let visit = Uuid::parse_str(planned.body["id"].as_str().expect("id")).expect("uuid");
    let case_id = Uuid::parse_str(&id_of(&case)).expect("uuid");
    let mut conn = pool.acquire().await.expect("connection");
    let kind = DeadlineKind::MonitoringVisit;
    assert!(close_deadline(&mut conn, case_id, kind, Some(visit)).await.expect("close"));
    assert!(!close_deadline(&mut conn, case_id, kind, Some(visit)).await.expect("again"));
    assert_eq!(fetch(&app, &team.mission, &case).await["deadlines"], json!([]));
}

/// An approved case whose travel deadline passed, marked by the job.
async fn expired_case(app: &TestApp, team: &Team, zemis: &str) -> Value {
    let case = approved_case(app, team, zemis, &approval()).await;
    set_due(&app.pool, &case, "travel", yesterday()).await;
    mark_overdue(&app.pool, today()).await.expect("job");
    fetch(app, &team.sem, &case).await
}

async fn extend(
    app: &TestApp,
    token: &str,
    case: &Value,
    deadline: &Value,
    body: &Value,
) -> TestResponse {
    let path = format!(
        "/v1/cases/{}/deadlines/{}/extension",
        id_of(case),
        deadline["id"].as_str().expect("id")
    );
    app.send(Method::POST, &path, Some(token), Some(body), &[("if-match", &etag(case))]).await
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn sem_extends_an_expired_approval_and_the_history_keeps_why(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = expired_case(&app, &team, "12345678").await;
    let deadline = case["deadlines"][0].clone();
    assert_eq!(
        (deadline["kind"].as_str(), deadline["overdue"].as_bool()),
        (Some("travel"), Some(true))
    );

    let new_due = today() + Days::new(30);
    let body = json!({ "due_on": new_due.to_string(), "reason": "Laissez-passer in January." });
    let extended = extend(&app, &team.sem, &case, &deadline, &body).await;
    assert_eq!(extended.status, StatusCode::OK, "{}", extended.text);
    assert_eq!(extended.header("etag"), Some(etag(&extended.body).as_str()));
    assert_eq!(extended.body["version"], case["version"].as_i64().expect("version") + 1);
    let now = &extended.body["deadlines"][0];
    assert_eq!(
        (now["id"].clone(), day(&now["due_on"]), now["overdue"].as_bool()),
        (deadline["id"].clone(), new_due, Some(false))
    );

    // The history names the extension; its reason only for the counselling service and SEM.
    let events = |token: String| {
        let app = &app;
        let path = format!("/v1/cases/{}/events", id_of(&case));
        async move { app.get(&path, Some(&token)).await.body["items"].clone() }
    };
    let sem_events = events(team.sem.clone()).await;
    let entry = sem_events
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "extend_deadline")
        .expect("entry")
        .clone();
    assert_eq!(
        (entry["from_status"].as_str(), entry["to_status"].as_str()),
        (Some("approved"), Some("approved"))
    );
    assert_eq!(entry["comment"], "Laissez-passer in January.");
    let repat_events = events(team.repat.clone()).await;
    let entry = repat_events
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "extend_deadline")
        .expect("entry")
        .clone();
    assert_eq!(entry["comment"], Value::Null);

    let (details,): (Value,) = sqlx::query_as(
        "select details from audit_events where action = 'case.deadline_extend' and outcome = 'allowed'",
    )
    .fetch_one(&pool)
    .await
    .expect("event");
    assert_eq!(details["kind"], "travel");
    assert_eq!(details["deadline_id"], deadline["id"]);
    let logged = details.to_string();
    assert!(!logged.contains("Laissez-passer"), "the reason stays out of the log");
    assert!(!logged.contains(&new_due.to_string()), "the travel's dates stay with the case");
    let (original,): (NaiveDate,) =
        sqlx::query_as("select original_due_on from case_deadlines where kind = 'travel'")
            .fetch_one(&pool)
            .await
            .expect("original");
    assert_eq!(original, yesterday());
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_extension_is_refused_naming_why(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = expired_case(&app, &team, "12345678").await;
    let deadline = case["deadlines"][0].clone();
    let body = |due: NaiveDate| json!({ "due_on": due.to_string(), "reason": "Visa pending." });
    let later = today() + Days::new(10);

    // Only SEM; others who see the case get 403, the history is untouched.
    extend(&app, &team.be, &case, &deadline, &body(later))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    extend(&app, &team.repat, &case, &deadline, &body(later))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // If-Match as for every change of a case.
    let path = format!(
        "/v1/cases/{}/deadlines/{}/extension",
        id_of(&case),
        deadline["id"].as_str().expect("id")
    );
    let bare = app.post(&path, Some(&team.sem), &body(later)).await;
    bare.assert_problem(StatusCode::PRECONDITION_REQUIRED, "precondition_required");
    let stale = app
        .send(Method::POST, &path, Some(&team.sem), Some(&body(later)), &[("if-match", "\"1\"")])
        .await;
    stale.assert_problem(StatusCode::PRECONDITION_FAILED, "stale_version");
    // The new date: after the current one, not in the past, at most a year ahead.
    for due in [yesterday() - Days::new(3), yesterday(), today() + Days::new(400)] {
        let refused = extend(&app, &team.sem, &case, &deadline, &body(due)).await;
        refused.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_names(&refused, "due_on", "out_of_range");
    }
    let empty = extend(&app, &team.sem, &case, &deadline, &json!({})).await;
    assert_names(&empty, "reason", "required");
    // No such deadline of this case.
    let unknown = json!({ "id": Uuid::now_v7().to_string() });
    extend(&app, &team.sem, &case, &unknown, &body(later))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");

    // A deadline set by others (the booked departure) is not extended, nor a closed one.
    let booked = act(&app, &team.repat, &case, &booking(false)).await;
    let departure = booked["deadlines"]
        .as_array()
        .expect("list")
        .iter()
        .find(|d| d["kind"] == "departure")
        .expect("departure")
        .clone();
    extend(&app, &team.sem, &booked, &departure, &body(later))
        .await
        .assert_problem(StatusCode::CONFLICT, "deadline_not_extendable");
    let no_show = json!({ "action": "report_no_show", "comment": "Not at the airport." });
    let again = act(&app, &team.repat, &booked, &no_show).await;
    extend(&app, &team.sem, &again, &departure, &body(later))
        .await
        .assert_problem(StatusCode::CONFLICT, "deadline_not_extendable");

    // Under review, SEM's own decision deadline has no extension.
    let other = ready_case(&app, &team, "22345678").await;
    let other = act(&app, &team.be, &other, &json!({ "action": "submit" })).await;
    let other = act(&app, &team.sem, &other, &json!({ "action": "start_review" })).await;
    let decision = other["deadlines"][0].clone();
    extend(&app, &team.sem, &other, &decision, &body(later))
        .await
        .assert_problem(StatusCode::CONFLICT, "deadline_not_extendable");

    let count: i64 =
        sqlx::query_scalar("select count(*) from case_events where action = 'extend_deadline'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(count, 0);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn only_the_reviewer_extends_until_the_case_is_reassigned(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = expired_case(&app, &team, "12345678").await;
    let deadline = case["deadlines"][0].clone();
    let body = json!({ "due_on": (today() + Days::new(10)).to_string(), "reason": "Visa." });
    // SEM's decisions are the reviewer's: another officer is refused, and it is logged.
    let (other_id, other) = colleague(&app, "sem@demo.test", "sem.other@demo.test").await;
    extend(&app, &other, &case, &deadline, &body)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "not_assigned");
    assert_eq!(audit_count(&pool, "case.deadline_extend", "denied").await, 1);
    // Reassigned to them, they may; the former reviewer no longer.
    let reassign = json!({ "role": "reviewer", "user_id": other_id, "reason": "Holidays" });
    let path = format!("/v1/cases/{}/assignment", id_of(&case));
    let moved = app.post(&path, Some(&team.sem), &reassign).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    let case = fetch(&app, &other, &case).await;
    let extended = extend(&app, &other, &case, &deadline, &body).await;
    assert_eq!(extended.status, StatusCode::OK, "{}", extended.text);
    let body = json!({ "due_on": (today() + Days::new(11)).to_string(), "reason": "Visa." });
    extend(&app, &team.sem, &extended.body, &deadline, &body)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "not_assigned");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_expired_approval_lapses_when_sem_cancels_it(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = expired_case(&app, &team, "12345678").await;
    let cancel = json!({ "action": "cancel", "reason": "approval_expired", "comment": null });
    let case = act(&app, &team.sem, &case, &cancel).await;
    assert_eq!(case["status"], "cancelled");
    assert_eq!(case["ending"]["reason"], "approval_expired");
    assert_eq!(case["deadlines"], json!([]));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_overdue_job_marks_each_deadline_once(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let mut cases = Vec::new();
    for zemis in ["12345678", "22345678", "32345678"] {
        let case = ready_case(&app, &team, zemis).await;
        cases.push(act(&app, &team.be, &case, &json!({ "action": "submit" })).await);
    }
    // Due yesterday, today, and in the future: only the first is overdue today.
    set_due(&pool, &cases[0], "sem_decision", yesterday()).await;
    set_due(&pool, &cases[1], "sem_decision", today()).await;
    let marked = mark_overdue(&pool, today()).await.expect("job");
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0].case_id.to_string(), id_of(&cases[0]));
    assert!(mark_overdue(&pool, today()).await.expect("again").is_empty(), "marked once");
    assert_eq!(fetch(&app, &team.be, &cases[0]).await["deadlines"][0]["overdue"], true);
    assert_eq!(fetch(&app, &team.be, &cases[1]).await["deadlines"][0]["overdue"], false);

    // One event of the system actor for the run that marked something.
    let events: Vec<(String, Value)> = sqlx::query_as(
        "select actor_type, details from audit_events where action = 'deadline.overdue'",
    )
    .fetch_all(&pool)
    .await
    .expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "system");
    assert_eq!(events[0].1["marked"], 1);

    // A later day: the rest, by two runs at once, each deadline by exactly one of them.
    let later = today() + Days::new(400);
    let (a, b) = tokio::join!(mark_overdue(&pool, later), mark_overdue(&pool, later));
    let (a, b) = (a.expect("first"), b.expect("second"));
    assert_eq!(a.len() + b.len(), 2, "{a:?} {b:?}");
    let mut ids: Vec<Uuid> = a.iter().chain(&b).map(|d| d.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 2);
    let unmarked: i64 =
        sqlx::query_scalar("select count(*) from case_deadlines where overdue_at is null")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(unmarked, 0);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn lists_flag_and_filter_overdue_cases_by_what_the_reader_sees(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let late = reintegration_case(&app, &team, "12345678").await;
    let path = format!("/v1/cases/{}/monitoring-visits", id_of(&late));
    let visit =
        app.post(&path, Some(&team.mission), &json!({ "due_on": today().to_string() })).await;
    assert_eq!(visit.status, StatusCode::CREATED, "{}", visit.text);
    set_due(&pool, &late, "monitoring_visit", yesterday()).await;
    let on_time = approved_case(&app, &team, "22345678", &approval()).await;
    mark_overdue(&pool, today()).await.expect("job");

    let ids = |response: &TestResponse| -> Vec<String> {
        response.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["id"].as_str().expect("id").to_owned())
            .collect()
    };
    // IOM Bern sees the reintegration, so the visit makes the case overdue.
    let overdue = app.get("/v1/cases?overdue=true", Some(&team.iom)).await;
    assert_eq!(overdue.status, StatusCode::OK, "{}", overdue.text);
    assert_eq!(ids(&overdue), [id_of(&late)]);
    assert_eq!(overdue.body["items"][0]["overdue"], true);
    let not_overdue = app.get("/v1/cases?overdue=false", Some(&team.iom)).await;
    assert_eq!(ids(&not_overdue), [id_of(&on_time)]);
    assert_eq!(not_overdue.body["items"][0]["overdue"], false);
    // swissREPAT does not see the reintegration: for it, nothing is overdue.
    let repat = app.get("/v1/cases?overdue=true", Some(&team.repat)).await;
    assert_eq!(ids(&repat), Vec::<String>::new());
    let all = app.get("/v1/cases", Some(&team.repat)).await;
    assert!(all.body["items"].as_array().expect("items").iter().all(|i| i["overdue"] == false));

    let bad = app.get("/v1/cases?overdue=maybe", Some(&team.iom)).await;
    assert_names(&bad, "overdue", "invalid_value");
}
