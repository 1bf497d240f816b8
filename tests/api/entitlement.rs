//! A case's entitlement through `GET /v1/cases/{id}/entitlement` (the worked examples of
//! issue "Assistance"), approvals above it, the procedure phase of federal-centre cases and
//! reclaims.

use axum::http::{Method, StatusCode};
use chrono::{Datelike, Days, NaiveDate, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::decide;
use crate::support::{BE, ZH, audit_count, case_body, count, open_case};
use crate::support::{
    Team, act, approval, approved_case, departed_case, id_of, ready, ready_case,
    reintegration_case, transition,
};
use crate::support::{TestApp, TestResponse};

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn in_days(days: u64) -> String {
    (today() + Days::new(days)).to_string()
}

fn person(relationship: &str, born: &str, entry: &str, status: &str, nationality: &str) -> Value {
    json!({ "relationship": relationship, "surname": "Ahmadi", "given_names": "N.",
        "date_of_birth": born, "sex": "female", "nationality": nationality,
        "residence_status": status, "entry_date": entry, "travelling": true })
}

/// A case of `programme` to `country` for adults born 1985 and minors born 2016, all entered
/// on `entry`.
fn household_case(
    programme: &str,
    country: &str,
    adults: usize,
    minors: usize,
    entry: &str,
    status: &str,
) -> Value {
    let mut persons = vec![person("principal", "1985-03-01", entry, status, country)];
    for _ in 1..adults {
        persons.push(person("spouse", "1986-05-01", entry, status, country));
    }
    for _ in 0..minors {
        persons.push(person("child", "2016-09-01", entry, status, country));
    }
    json!({ "programme": programme, "destination_country": country,
        "planned_departure_date": in_days(30), "persons": persons })
}

async fn entitlement(app: &TestApp, token: &str, case: &Value) -> TestResponse {
    app.get(&format!("/v1/cases/{}/entitlement", id_of(case)), Some(token)).await
}

/// `component → max_amount_rappen` of an entitlement answer.
fn maxima(response: &TestResponse) -> Vec<(String, Value)> {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.body["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| {
            (c["component"].as_str().expect("component").to_owned(), c["max_amount_rappen"].clone())
        })
        .collect()
}

fn pairs(list: &[(&str, Value)]) -> Vec<(String, Value)> {
    list.iter().map(|(c, v)| ((*c).to_owned(), v.clone())).collect()
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_worked_examples_come_out_of_the_entitlement_endpoint(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let be = app.login(BE).await;

    let family =
        open_case(&app, &be, &household_case("cantonal", "IQ", 2, 3, "2024-02-01", "F")).await;
    let response = entitlement(&app, &be, &family).await;
    assert_eq!(
        maxima(&response),
        pairs(&[
            ("startup_cash", json!(350000)),
            ("reintegration_project", json!(300000)),
            ("medical", Value::Null),
            ("travel_money", json!(50000)),
            ("travel_costs", Value::Null),
        ])
    );
    assert_eq!(response.body["total_rappen"], 700000);
    assert_eq!(response.body["on"], in_days(30));
    let travel_money = &response.body["components"][3];
    assert_eq!(travel_money["is_example"], false);
    let lines: Vec<&str> = travel_money["explanation"]
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(lines.iter().any(|l| l.contains("family cap")), "{lines:?}");

    // The same family, entered less than three months before the departure.
    let recent =
        open_case(&app, &be, &household_case("cantonal", "IQ", 2, 3, &in_days(0), "N")).await;
    assert_eq!(
        maxima(&entitlement(&app, &be, &recent).await)[0],
        ("startup_cash".to_owned(), json!(175000))
    );

    let status_s =
        open_case(&app, &be, &household_case("status_s", "UA", 3, 3, "2022-04-01", "S")).await;
    assert_eq!(
        maxima(&entitlement(&app, &be, &status_s).await),
        pairs(&[("startup_cash", json!(200000)), ("travel_costs", Value::Null)])
    );

    let single =
        open_case(&app, &be, &household_case("cantonal", "IQ", 1, 0, "2023-01-01", "N")).await;
    let response = entitlement(&app, &be, &single).await;
    let single_maxima = maxima(&response);
    assert_eq!(single_maxima[0], ("startup_cash".to_owned(), json!(100000)));
    assert_eq!(single_maxima[3], ("travel_money".to_owned(), json!(10000)));

    let visa_exempt =
        open_case(&app, &be, &household_case("cantonal", "GE", 1, 1, "2023-01-01", "N")).await;
    let response = entitlement(&app, &be, &visa_exempt).await;
    assert_eq!(
        maxima(&response),
        pairs(&[
            ("startup_cash", json!(0)),
            ("reintegration_project", json!(0)),
            ("medical", json!(0)),
            ("travel_money", json!(0)),
            ("travel_costs", Value::Null),
        ])
    );
    assert!(
        response.body["components"][0]["explanation"][0]
            .as_str()
            .expect("line")
            .contains("visa-exempt")
    );

    let events: i64 = sqlx::query_scalar(
        "select count(*) from audit_events where action = 'case.entitlement_read' and outcome = 'allowed'",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(events, 5);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_tariff_valid_from_next_year_applies_only_to_departures_from_then(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let be = app.login(BE).await;
    let admin = app.login("admin@demo.test").await;
    let next_year = NaiveDate::from_ymd_opt(today().year() + 1, 1, 1).expect("date");
    let version = json!({
        "programme": "cantonal", "component": "startup_cash", "person_category": "adult",
        "amount_rappen": 120000, "basis": "per_person", "valid_from": next_year,
        "source": "AsylV 2 Art. 74 al. 2 (SEM directive)"
    });
    let created = app.post("/v1/tariffs", Some(&admin), &version).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let mut body = household_case("cantonal", "IQ", 1, 0, "2023-01-01", "N");
    body["planned_departure_date"] = json!(today());
    let case = open_case(&app, &be, &body).await;
    assert_eq!(maxima(&entitlement(&app, &be, &case).await)[0].1, json!(100000));
    let later = (next_year + Days::new(30)).to_string();
    let moved = app
        .send(
            Method::PATCH,
            &format!("/v1/cases/{}", id_of(&case)),
            Some(&be),
            Some(&json!({ "planned_departure_date": later })),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(maxima(&entitlement(&app, &be, &case).await)[0].1, json!(120000));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_entitlement_goes_only_to_roles_that_see_the_assistance(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = approved_case(&app, &team, "12345678", &approval()).await;
    for token in [&team.be, &team.sem, &team.repat, &team.iom] {
        assert_eq!(entitlement(&app, token, &case).await.status, StatusCode::OK);
    }
    entitlement(&app, &app.login(ZH).await, &case)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    entitlement(&app, &team.mission, &case)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let assigned = reintegration_case(&app, &team, "23456789").await;
    entitlement(&app, &team.mission, &assigned)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(audit_count(&pool, "case.entitlement_read", "denied").await, 3);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_federal_centre_case_needs_its_procedure_phase_for_the_entitlement(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let be = app.login(BE).await;
    let mut body = household_case("federal_centre", "IQ", 1, 0, "2026-01-01", "N");
    body["planned_departure_date"] = json!(in_days(10));
    let case = open_case(&app, &be, &body).await;
    let response = entitlement(&app, &be, &case).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.body["errors"][0]["field"], "procedure_phase");
    let path = format!("/v1/cases/{}", id_of(&case));
    let patched = app
        .send(
            Method::PATCH,
            &path,
            Some(&be),
            Some(&json!({ "procedure_phase": "phase_2" })),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.body["procedure_phase"], "phase_2");
    let response = entitlement(&app, &be, &case).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    let startup = &response.body["components"][0];
    assert_eq!(startup["component"], "startup_cash");
    assert_eq!(startup["is_example"], true);
    assert_eq!(startup["max_amount_rappen"], 75000);
    // A phase belongs to the federal-centre programme only.
    let mut cantonal = household_case("cantonal", "IQ", 1, 0, "2026-01-01", "N");
    cantonal["procedure_phase"] = json!("phase_1");
    let refused = app.post("/v1/cases", Some(&be), &cantonal).await;
    refused.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(refused.body["errors"][0]["field"], "procedure_phase");
    assert_eq!(refused.body["errors"][0]["code"], "not_allowed");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_approval_above_the_entitlement_needs_a_justification_which_is_kept(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "12345678").await;
    let case = act(&app, &team.be, &case, &json!({ "action": "submit" })).await;
    let case = act(&app, &team.sem, &case, &json!({ "action": "start_review" })).await;
    let mut above = approval();
    above["approved_assistance"][0]["amount_rappen"] = json!(200000);
    let response = transition(&app, &team.sem, &case, &above).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.body["errors"][0]["field"], "approved_assistance[0].amount_rappen");
    assert_eq!(response.body["errors"][0]["code"], "above_entitlement");
    assert_eq!(count(&pool, "case_decisions").await, 0);
    let approvals: i64 = sqlx::query_scalar(
        "select count(*) from audit_events where action = 'case.transition' \
         and details ->> 'action' = 'approve'",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(approvals, 0);

    above["override_justification"] = json!("Insulin for a year: the pharmacy is far away.");
    // Above the entitlement, a second SEM officer confirms it (see `holding.rs`).
    let approved = decide(&app, &team.sem, &case, &above).await;
    assert_eq!(approved["status"], "approved");
    let review = &approved["decision"]["review"];
    assert_eq!(review["override_justification"], "Insulin for a year: the pharmacy is far away.");
    assert_eq!(review["overridden_components"], json!(["startup_cash"]));
    let path = format!("/v1/cases/{}", id_of(&case));
    let repat = app.get(&path, Some(&team.repat)).await;
    assert_eq!(repat.body["decision"]["approved_assistance"][0]["amount_rappen"], 200000);
    assert!(repat.body["decision"].get("review").is_none(), "{}", repat.text);
    let details: Value = sqlx::query_scalar(
        "select details from audit_events where outcome = 'allowed' \
         and action in ('case.transition', 'case.proposal_confirm') \
         and details ->> 'action' = 'approve'",
    )
    .fetch_one(&pool)
    .await
    .expect("details");
    // The access log names the overridden components, never the justification's text.
    assert_eq!(details["overridden_components"], json!(["startup_cash"]));
    assert!(!details.to_string().contains("Insulin"), "{details}");
    // The payout may use what was approved.
    let booked = act(&app, &team.repat, &repat.body, &crate::support::booking(false)).await;
    act(&app, &team.repat, &booked, &crate::support::departure(200000, 20000)).await;
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_visa_exempt_destination_is_approved_travel_costs_only_unless_overridden(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let mut body = ready(case_body("Beridze", Some("12345678")));
    body["destination_country"] = json!("GE");
    let case = open_case(&app, &team.be, &body).await;
    let case = act(&app, &team.be, &case, &json!({ "action": "submit" })).await;
    let case = act(&app, &team.sem, &case, &json!({ "action": "start_review" })).await;
    let response = transition(&app, &team.sem, &case, &approval()).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.body["errors"].as_array().expect("errors").len(), 3);
    let travel_only = json!({ "action": "approve", "reasons": "Visa-exempt: travel costs only.",
        "approved_assistance": [{ "component": "travel_costs", "amount_rappen": 45000 }] });
    let approved = act(&app, &team.sem, &case, &travel_only).await;
    assert_eq!(approved["decision"]["review"]["overridden_components"], json!([]));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn sem_records_reclaims_after_a_departure_or_a_cancellation(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = departed_case(&app, &team, "12345678", &approval()).await;
    let url = format!("/v1/cases/{}/reclaims", id_of(&case));
    let body = json!({ "reason": "re_entry", "amount_rappen": 170000,
        "comment": "Re-entered via Chiasso on 2027-02-01." });
    for token in [&team.be, &team.repat, &team.iom] {
        app.post(&url, Some(token), &body).await.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    let created = app.post(&url, Some(&team.sem), &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["status"], "open");
    assert_eq!(created.body["amount_rappen"], 170000);
    let reclaim_id = created.body["id"].as_str().expect("id").to_owned();
    let invalid =
        app.post(&url, Some(&team.sem), &json!({ "reason": "fraud", "amount_rappen": 0 })).await;
    invalid.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(invalid.body["errors"].as_array().expect("errors").len(), 2);

    let path = format!("/v1/cases/{}", id_of(&case));
    for token in [&team.sem, &team.be] {
        let seen = app.get(&path, Some(token)).await;
        assert_eq!(seen.body["reclaims"][0]["id"], json!(reclaim_id), "{}", seen.text);
    }
    let repat = app.get(&path, Some(&team.repat)).await;
    assert!(repat.body.get("reclaims").is_none(), "{}", repat.text);
    assert_eq!(repat.body["version"].as_i64(), case["version"].as_i64().map(|v| v + 1));

    let reclaim_url = format!("{url}/{reclaim_id}");
    let settle = json!({ "status": "settled", "comment": "Repaid in full." });
    let settled = app.send(Method::PATCH, &reclaim_url, Some(&team.sem), Some(&settle), &[]).await;
    assert_eq!(settled.status, StatusCode::OK, "{}", settled.text);
    assert_eq!(settled.body["status"], "settled");
    assert_eq!(settled.body["comment"], "Repaid in full.");
    app.send(
        Method::PATCH,
        &reclaim_url,
        Some(&team.sem),
        Some(&json!({ "status": "waived" })),
        &[],
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "reclaim_not_open");
    app.send(Method::PATCH, &reclaim_url, Some(&team.sem), Some(&json!({ "status": "open" })), &[])
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.send(
        Method::PATCH,
        &format!("{url}/{}", uuid::Uuid::now_v7()),
        Some(&team.sem),
        Some(&settle),
        &[],
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");

    // Not before a departure or a cancellation; after a cancellation, for a non-departure.
    let approved = approved_case(&app, &team, "23456789", &approval()).await;
    let approved_url = format!("/v1/cases/{}/reclaims", id_of(&approved));
    let non_departure = json!({ "reason": "non_departure", "amount_rappen": 10000 });
    app.post(&approved_url, Some(&team.sem), &non_departure)
        .await
        .assert_problem(StatusCode::CONFLICT, "reclaim_not_possible");
    act(&app, &team.sem, &approved, &json!({ "action": "cancel", "reason": "no_show" })).await;
    let created = app.post(&approved_url, Some(&team.sem), &non_departure).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);

    let logged: i64 = sqlx::query_scalar(
        "select count(*) from audit_events where action in ('case.reclaim_add', \
         'case.reclaim_update') and outcome = 'allowed'",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(logged, 3);
}
