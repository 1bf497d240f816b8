//! The work queue `GET /v1/me/queue`: what waits for each role, with reasons and counts,
//! scoped like every list, paged by due date.

use axum::http::StatusCode;
use chrono::{Days, Utc};
use retour_store::deadlines::mark_overdue;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::*;

async fn queue(app: &TestApp, token: &str) -> Value {
    let response = app.get("/v1/me/queue", Some(token)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.body
}

/// (case id, kind) of each item, in order.
fn items(queue: &Value) -> Vec<(String, String)> {
    queue["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["case_id"].as_str().expect("id").to_owned(),
                i["kind"].as_str().expect("kind").to_owned(),
            )
        })
        .collect()
}

fn item(case: &Value, kind: &str) -> (String, String) {
    (id_of(case), kind.to_owned())
}

async fn set_due(pool: &PgPool, case: &Value, kind: &str, due_on: chrono::NaiveDate) {
    sqlx::query("update case_deadlines set due_on = $3 where case_id = $1 and kind = $2")
        .bind(Uuid::parse_str(&id_of(case)).expect("uuid"))
        .bind(kind)
        .bind(due_on)
        .execute(pool)
        .await
        .expect("due date");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_counsellor_sees_their_drafts_and_sems_questions_of_their_service_only(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let draft = ready_case(&app, &team, "12345678").await;
    let asked = ready_case(&app, &team, "22345678").await;
    let asked = act(&app, &team.be, &asked, &json!({ "action": "submit" })).await;
    let asked = act(&app, &team.sem, &asked, &json!({ "action": "start_review" })).await;
    let question = json!({ "action": "request_info", "question": "Which school?" });
    let asked = act(&app, &team.sem, &asked, &question).await;
    // Zurich's counsellor has a draft too: never in Bern's queue.
    let zh = app.login(ZH).await;
    let zurich = open_case(&app, &zh, &ready(case_body("Meier", Some("32345678")))).await;

    let mine = queue(&app, &team.be).await;
    // Due first, then the draft without a due date.
    assert_eq!(items(&mine), [item(&asked, "answer_information"), item(&draft, "submit")]);
    let first = &mine["items"][0];
    assert_eq!(first["reference"], asked["reference"]);
    assert_eq!(first["status"], "info_requested");
    assert_eq!(first["overdue"], false);
    let due = retour_domain::calendar::add_working_days(Utc::now().date_naive(), 10).expect("day");
    assert_eq!(first["due_on"], due.to_string());
    assert_eq!(
        first["reason"],
        format!("information requested today, answer due {}", due.format("%-d %b %Y"))
    );
    assert_eq!(mine["items"][1]["reason"], "draft opened today");
    assert_eq!(mine["items"][1]["due_on"], Value::Null);
    assert_eq!(mine["counts"], json!({ "submit": 1, "answer_information": 1 }));
    assert_eq!(mine["next_cursor"], Value::Null);
    assert_eq!(items(&queue(&app, &zh).await), [item(&zurich, "submit")]);

    // Reading the queue is logged, with the cases it named.
    let (ids, details): (Vec<Uuid>, Value) = sqlx::query_as(
        "select resource_ids, details from audit_events where action = 'queue.read' \
         order by occurred_at limit 1",
    )
    .fetch_one(&pool)
    .await
    .expect("event");
    assert_eq!(details["items"], 2);
    assert_eq!(ids.len(), 2);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn sem_sees_cases_to_take_its_own_reviews_and_its_expired_approvals(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let submitted = ready_case(&app, &team, "12345678").await;
    let submitted = act(&app, &team.be, &submitted, &json!({ "action": "submit" })).await;
    let reviewed = ready_case(&app, &team, "22345678").await;
    let reviewed = act(&app, &team.be, &reviewed, &json!({ "action": "submit" })).await;
    let reviewed = act(&app, &team.sem, &reviewed, &json!({ "action": "start_review" })).await;
    let expired = approved_case(&app, &team, "32345678", &approval()).await;
    let valid = approved_case(&app, &team, "42345678", &approval()).await;
    let yesterday = Utc::now().date_naive() - Days::new(1);
    set_due(&pool, &expired, "travel", yesterday).await;
    set_due(&pool, &submitted, "sem_decision", yesterday).await;
    mark_overdue(&pool, Utc::now().date_naive()).await.expect("job");

    let sem = queue(&app, &team.sem).await;
    // By due date: the overdue decision and the expired approval (yesterday), then the
    // review due in 20 working days.
    let got = items(&sem);
    assert_eq!(got.len(), 3, "{sem}");
    assert!(got[..2].contains(&item(&submitted, "start_review")), "{sem}");
    assert!(got[..2].contains(&item(&expired, "approval_expired")), "{sem}");
    assert_eq!(got[2], item(&reviewed, "decide"));
    assert!(
        !got.iter().any(|(id, _)| *id == id_of(&valid)),
        "a valid approval waits for nobody at SEM"
    );
    let start = sem["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["kind"] == "start_review")
        .expect("item");
    assert_eq!(start["overdue"], true);
    assert_eq!(start["reason"], format!("decision was due {}", yesterday.format("%-d %b %Y")));
    let lapsed = sem["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["kind"] == "approval_expired")
        .expect("item");
    assert_eq!(
        lapsed["reason"],
        format!("approval expired after {}", yesterday.format("%-d %b %Y"))
    );
    assert_eq!(sem["counts"], json!({ "start_review": 1, "decide": 1, "approval_expired": 1 }));

    // Cases SEM decided or booked wait for others.
    let repat = queue(&app, &team.repat).await;
    assert_eq!(repat["counts"], json!({ "book_travel": 2 }));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn travel_goes_to_swissrepat_and_sim_journeys_and_reintegrations_to_iom(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let approved = approved_case(&app, &team, "12345678", &approval()).await;
    let booked = approved_case(&app, &team, "22345678", &approval()).await;
    let booked = act(&app, &team.repat, &booked, &booking(false)).await;
    let sim = approved_case(&app, &team, "32345678", &approval()).await;
    let sim = act(&app, &team.iom, &sim, &booking(true)).await;
    let departed = departed_case(&app, &team, "42345678", &approval()).await;

    let repat = queue(&app, &team.repat).await;
    let got = items(&repat);
    assert_eq!(got.len(), 2, "{repat}");
    assert!(got.contains(&item(&approved, "book_travel")));
    assert!(got.contains(&item(&booked, "confirm_departure")));
    let confirm = repat["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["kind"] == "confirm_departure")
        .expect("item");
    assert!(confirm["reason"].as_str().expect("reason").starts_with("departure booked for "));

    let iom = queue(&app, &team.iom).await;
    let got = items(&iom);
    assert_eq!(got.len(), 3, "{iom}");
    assert!(got.contains(&item(&approved, "book_travel")));
    assert!(got.contains(&item(&sim, "confirm_departure")));
    assert!(got.contains(&item(&departed, "start_reintegration")));
    assert_eq!(got.last(), Some(&item(&departed, "start_reintegration")), "no due date: last");
    assert_eq!(
        iom["counts"],
        json!({ "book_travel": 1, "confirm_departure": 1, "start_reintegration": 1 })
    );

    // A no-show ends the SIM journey; rebooked with swissREPAT, the departure is theirs to
    // confirm. A departure without an approved project starts no reintegration.
    let no_show = json!({ "action": "report_no_show", "comment": "Not at the airport." });
    let sim = act(&app, &team.iom, &sim, &no_show).await;
    let journey: Option<bool> = sqlx::query_scalar("select journey_sim from cases where id = $1")
        .bind(Uuid::parse_str(&id_of(&sim)).expect("uuid"))
        .fetch_one(&pool)
        .await
        .expect("case");
    assert_eq!(journey, None, "no open journey after the no-show");
    let iom = queue(&app, &team.iom).await;
    assert!(items(&iom).contains(&item(&sim, "book_travel")), "{iom}");
    act(&app, &team.repat, &sim, &booking(false)).await;
    let no_project = json!({ "action": "approve", "reasons": "Eligible.",
        "override_justification": null,
        "approved_assistance": [
            { "component": "startup_cash", "amount_rappen": 150000 },
            { "component": "travel_money", "amount_rappen": 20000 }
        ] });
    departed_case(&app, &team, "52345678", &no_project).await;
    let iom = queue(&app, &team.iom).await;
    assert_eq!(iom["counts"], json!({ "book_travel": 1, "start_reintegration": 1 }), "{iom}");
    let repat = queue(&app, &team.repat).await;
    assert!(items(&repat).contains(&item(&sim, "confirm_departure")), "{repat}");
    assert_eq!(repat["counts"], json!({ "book_travel": 1, "confirm_departure": 2 }));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_mission_sees_its_planned_visits_and_others_an_empty_queue(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = reintegration_case(&app, &team, "12345678").await;
    let path = format!("/v1/cases/{}/monitoring-visits", id_of(&case));
    let due = Utc::now().date_naive() + Days::new(20);
    for day in [due, due + Days::new(60)] {
        let planned =
            app.post(&path, Some(&team.mission), &json!({ "due_on": day.to_string() })).await;
        assert_eq!(planned.status, StatusCode::CREATED, "{}", planned.text);
    }
    let mission = queue(&app, &team.mission).await;
    assert_eq!(items(&mission), [item(&case, "monitoring_visit"), item(&case, "monitoring_visit")]);
    assert_eq!(mission["items"][0]["reason"], format!("visit due {}", due.format("%-d %b %Y")));
    assert_eq!(mission["counts"], json!({ "monitoring_visit": 2 }));

    // Roles without workflow actions have nothing waiting (and it is no error).
    for email in ["auditor@demo.test", "admin@demo.test"] {
        let token = app.login(email).await;
        let empty = queue(&app, &token).await;
        assert_eq!(empty, json!({ "items": [], "counts": {}, "next_cursor": null }));
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_queue_is_paged_by_an_opaque_cursor(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let mut drafts = Vec::new();
    for zemis in ["12345678", "22345678", "32345678", "42345678", "52345678"] {
        drafts.push(id_of(&ready_case(&app, &team, zemis).await));
    }
    let mut seen = Vec::new();
    let mut path = "/v1/me/queue?limit=2".to_owned();
    loop {
        let page = app.get(&path, Some(&team.be)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.body["items"].as_array().expect("items").len() <= 2);
        assert_eq!(page.body["counts"], json!({ "submit": 5 }), "counts are of the whole queue");
        seen.extend(items(&page.body).into_iter().map(|(id, _)| id));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/me/queue?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    // Oldest draft first (since), each once.
    assert_eq!(seen, drafts);

    for (query, field, code) in [
        ("limit=0", "limit", "out_of_range"),
        ("limit=201", "limit", "out_of_range"),
        ("cursor=abc", "cursor", "invalid_cursor"),
        ("sort=due_on", "sort", "unknown_parameter"),
    ] {
        let refused = app.get(&format!("/v1/me/queue?{query}"), Some(&team.be)).await;
        assert_names(&refused, field, code);
    }
}
