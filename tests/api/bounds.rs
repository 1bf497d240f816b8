//! The plausible range of every date and amount a client sends: year 0 and negative years
//! never reach the database, events lie within a few years of today, a reclaim never exceeds
//! what was paid out, and a visit done says what it found.

use axum::http::{Method, StatusCode};
use chrono::{Days, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::assert_names;
use crate::support::waive_reclaim;
use crate::support::{
    Team, act, approval, approved_case, booking, departed_case, departure, id_of, ready,
    reintegration_case, transition,
};
use crate::support::{TestApp, TestResponse};
use crate::support::{case_body, count, open_case};

/// Year 0 (which PostgreSQL would store as 1 BC) and a negative year, as clients write them.
const BEFORE_THE_ERA: [&str; 2] = ["0000-05-01", "-0001-05-01"];

/// The response names `field`, whatever the code: a date of year 0 may not even parse.
#[track_caller]
fn assert_refuses(response: &TestResponse, field: &str) {
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let errors = response.body["errors"].as_array().expect("errors");
    assert!(errors.iter().any(|e| e["field"] == field), "expected {field}: {}", response.text);
}

fn days_ago(days: u64) -> String {
    (Utc::now().date_naive() - Days::new(days)).to_string()
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn year_zero_and_negative_years_in_a_body_are_a_422_naming_the_field(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let cases_before = count(&pool, "cases").await;
    for day in BEFORE_THE_ERA {
        let mut body = ready(case_body("Beridze", None));
        body["voluntariness_declaration"]["signed_on"] = json!(day);
        let response = app.post("/v1/cases", Some(&team.be), &body).await;
        assert_refuses(&response, "voluntariness_declaration.signed_on");

        // An entry date is bounded on its own, also when the date of birth is unreadable.
        let mut body = case_body("Beridze", None);
        body["persons"][0]["date_of_birth"] = json!("12.04.1988");
        body["persons"][0]["entry_date"] = json!(day);
        let response = app.post("/v1/cases", Some(&team.be), &body).await;
        assert_refuses(&response, "persons[0].entry_date");
    }
    assert_eq!(count(&pool, "cases").await, cases_before);

    let approved = approved_case(&app, &team, "12345678", &approval()).await;
    let mut book = booking(false);
    book["itinerary"]["departure_at"] = json!("0000-12-15T09:40:00Z");
    let response = transition(&app, &team.repat, &approved, &book).await;
    assert_names(&response, "itinerary.departure_at", "out_of_range");

    let case = reintegration_case(&app, &team, "23456789").await;
    let visits = format!("/v1/cases/{}/monitoring-visits", id_of(&case));
    let disbursements = format!("/v1/cases/{}/disbursements", id_of(&case));
    for day in BEFORE_THE_ERA {
        let response = app.post(&visits, Some(&team.mission), &json!({ "due_on": day })).await;
        assert_refuses(&response, "due_on");
        let visit = json!({ "due_on": days_ago(3), "done_on": day, "outcome": "Shop opened" });
        assert_refuses(&app.post(&visits, Some(&team.mission), &visit).await, "done_on");
        let paid = json!({ "amount_rappen": 1000, "purpose": "Tools", "paid_on": day });
        assert_refuses(&app.post(&disbursements, Some(&team.mission), &paid).await, "paid_on");
    }
    assert_eq!(count(&pool, "case_monitoring_visits").await, 0);
    assert_eq!(count(&pool, "case_disbursements").await, 0);
    // The case still reads as before.
    let read = app.get(&format!("/v1/cases/{}", id_of(&case)), Some(&team.mission)).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn year_zero_and_negative_years_in_a_query_are_a_422_naming_the_parameter(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let auditor = app.login("auditor@demo.test").await;
    for day in BEFORE_THE_ERA {
        let midnight = format!("{day}T00:00:00Z");
        let queries = [
            (format!("/v1/cases?created_from={day}"), "created_from", &team.be),
            (format!("/v1/cases?updated_to={midnight}"), "updated_to", &team.be),
            (format!("/v1/tariffs?on={day}"), "on", &team.be),
            (format!("/v1/destination-rules?on={day}"), "on", &team.be),
            (format!("/v1/audit-events?from={midnight}"), "from", &auditor),
            (format!("/v1/audit-events?to={midnight}"), "to", &auditor),
            (format!("/v1/stats/cases?from={day}"), "from", &team.sem),
        ];
        for (path, parameter, token) in queries {
            assert_refuses(&app.get(&path, Some(token)).await, parameter);
        }
    }
    // The same for a cursor forged to point before the era.
    use base64::Engine;
    let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    let case_cursor = b64(&format!("updated_at|0000-01-01T00:00:00+00:00|{}", uuid::Uuid::nil()));
    let response = app.get(&format!("/v1/cases?cursor={case_cursor}"), Some(&team.be)).await;
    assert_refuses(&response, "cursor");
    let request_cursor = b64(&format!("0000-01-01T00:00:00+00:00|{}", uuid::Uuid::nil()));
    let path = format!("/v1/information-requests?cursor={request_cursor}");
    assert_refuses(&app.get(&path, Some(&team.iom)).await, "cursor");
    let micros = -62_200_000_000_000_000_i64;
    let audit_cursor = b64(&format!("{micros}:{}", uuid::Uuid::nil()));
    let response =
        app.get(&format!("/v1/audit-events?cursor={audit_cursor}"), Some(&auditor)).await;
    assert_refuses(&response, "cursor");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_departure_in_year_one_and_a_declaration_signed_in_0001_are_refused(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let mut body = ready(case_body("Beridze", None));
    body["voluntariness_declaration"]["signed_on"] = json!("0001-05-01");
    let response = app.post("/v1/cases", Some(&team.be), &body).await;
    assert_names(&response, "voluntariness_declaration.signed_on", "too_early");
    // Five years back is the limit.
    body["voluntariness_declaration"]["signed_on"] = json!(days_ago(6 * 366));
    let response = app.post("/v1/cases", Some(&team.be), &body).await;
    assert_names(&response, "voluntariness_declaration.signed_on", "too_early");

    let approved = approved_case(&app, &team, "12345678", &approval()).await;
    let booked = act(&app, &team.repat, &approved, &booking(false)).await;
    let mut confirm = departure(150000, 20000);
    confirm["departed_at"] = json!("0001-12-15T09:40:00Z");
    let response = transition(&app, &team.repat, &booked, &confirm).await;
    assert_names(&response, "departed_at", "too_early");
    let mut book = booking(false);
    book["itinerary"]["departure_at"] = json!("2999-12-15T09:40:00Z");
    let other = approved_case(&app, &team, "23456789", &approval()).await;
    let response = transition(&app, &team.repat, &other, &book).await;
    assert_names(&response, "itinerary.departure_at", "too_far");
    // Refused, the case did not move.
    let case = app.get(&format!("/v1/cases/{}", id_of(&booked)), Some(&team.repat)).await;
    assert_eq!(case.body["status"], "travel_booked", "{}", case.text);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_reclaim_is_at_most_what_was_paid_out_also_across_several_reclaims(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    // Paid at the departure: CHF 1,500 start-up cash and CHF 200 travel money.
    let case = departed_case(&app, &team, "12345678", &approval()).await;
    let url = format!("/v1/cases/{}/reclaims", id_of(&case));
    let reclaim = |amount: i64| json!({ "reason": "re_entry", "amount_rappen": amount });

    let million = app.post(&url, Some(&team.sem), &reclaim(100_000_000)).await;
    assert_names(&million, "amount_rappen", "exceeds_paid_out");
    assert_eq!(count(&pool, "case_reclaims").await, 0);

    let first = app.post(&url, Some(&team.sem), &reclaim(100_000)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    // CHF 700 remain; a settled reclaim still counts, a waived one does not.
    let second = app.post(&url, Some(&team.sem), &reclaim(70_001)).await;
    assert_names(&second, "amount_rappen", "exceeds_paid_out");
    let first_url = format!("{url}/{}", first.body["id"].as_str().expect("id"));
    let settle = json!({ "status": "settled" });
    let settled = app.send(Method::PATCH, &first_url, Some(&team.sem), Some(&settle), &[]).await;
    assert_eq!(settled.status, StatusCode::OK, "{}", settled.text);
    assert_names(
        &app.post(&url, Some(&team.sem), &reclaim(70_001)).await,
        "amount_rappen",
        "exceeds_paid_out",
    );
    let rest = app.post(&url, Some(&team.sem), &reclaim(70_000)).await;
    assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.text);
    waive_reclaim(&app, &team.sem, &case, rest.body["id"].as_str().expect("id")).await;
    let again = app.post(&url, Some(&team.sem), &reclaim(70_000)).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert_eq!(count(&pool, "case_reclaims").await, 3);

    // The disbursements of a reintegration count as paid out too.
    let case = reintegration_case(&app, &team, "23456789").await;
    let paid = json!({ "amount_rappen": 120_000, "purpose": "Tools", "paid_on": days_ago(1) });
    let disbursed = app
        .post(&format!("/v1/cases/{}/disbursements", id_of(&case)), Some(&team.mission), &paid)
        .await;
    assert_eq!(disbursed.status, StatusCode::CREATED, "{}", disbursed.text);
    let url = format!("/v1/cases/{}/reclaims", id_of(&case));
    assert_names(
        &app.post(&url, Some(&team.sem), &reclaim(290_001)).await,
        "amount_rappen",
        "exceeds_paid_out",
    );
    let all = app.post(&url, Some(&team.sem), &reclaim(290_000)).await;
    assert_eq!(all.status, StatusCode::CREATED, "{}", all.text);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_visit_done_needs_an_outcome_and_an_outcome_needs_the_visit_done(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = reintegration_case(&app, &team, "12345678").await;
    let visits = format!("/v1/cases/{}/monitoring-visits", id_of(&case));
    let post = |body: Value| {
        let (app, visits, token) = (&app, &visits, &team.mission);
        async move { app.post(visits, Some(token), &body).await }
    };

    let silent = post(json!({ "due_on": days_ago(7), "done_on": days_ago(2) })).await;
    assert_names(&silent, "outcome", "required");
    let early = post(json!({ "due_on": days_ago(7), "outcome": "Shop opened" })).await;
    assert_names(&early, "outcome", "requires_done_on");
    let tomorrow = (Utc::now().date_naive() + Days::new(1)).to_string();
    let ahead = post(json!({ "due_on": days_ago(7), "done_on": tomorrow, "outcome": "x" })).await;
    assert_names(&ahead, "done_on", "in_future");
    let far = post(json!({ "due_on": "2999-01-01" })).await;
    assert_names(&far, "due_on", "too_far");
    assert_eq!(count(&pool, "case_monitoring_visits").await, 0);

    let done =
        post(json!({ "due_on": days_ago(7), "done_on": days_ago(2), "outcome": "Shop opened" }))
            .await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text);
    let planned = post(json!({ "due_on": days_ago(0) })).await;
    assert_eq!(planned.status, StatusCode::CREATED, "{}", planned.text);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_tariff_pays_at_most_a_million_francs_and_starts_within_three_years(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.login("admin@demo.test").await;
    let tariff = |amount: i64, valid_from: &str| {
        json!({ "programme": "cantonal", "component": "startup_cash",
            "person_category": "adult", "basis": "per_person", "amount_rappen": amount,
            "valid_from": valid_from, "source": "AsylV 2 Art. 74" })
    };
    let in_a_year = (Utc::now().date_naive() + Days::new(365)).to_string();
    let response =
        app.post("/v1/tariffs", Some(&admin), &tariff(9_000_000_000_000_000, &in_a_year)).await;
    assert_names(&response, "amount_rappen", "out_of_range");
    let response = app.post("/v1/tariffs", Some(&admin), &tariff(100_000, "3000-01-01")).await;
    assert_names(&response, "valid_from", "too_far");
    let response = app.post("/v1/tariffs", Some(&admin), &tariff(100_000, &in_a_year)).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
}

/// Opening a case works with the dates the bounds allow at their edges.
#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn dates_at_the_edges_of_their_ranges_are_accepted(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let mut body = ready(case_body("Beridze", None));
    body["persons"][0]["date_of_birth"] = json!("1900-01-01");
    body["persons"][0]["entry_date"] = json!("1900-01-01");
    body["voluntariness_declaration"]["signed_on"] = json!(days_ago(4 * 365));
    open_case(&app, &team.be, &body).await;
}
