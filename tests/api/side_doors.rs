//! The doors beside the case view: an entitlement's explanations, the endings and history of
//! a case, the access log's details and its record of refusals each give a caller only what
//! the access policy's field groups allow.

use axum::http::{Method, StatusCode};
use chrono::{Days, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::decide;
use crate::support::{Team, act, approval, departed_case, id_of, ready, transition};
use crate::support::{TestApp, TestResponse};
use crate::support::{case_body, open_case};

/// The withheld sentence of an explanation.
const WITHHELD: &str = "Further rules about this household apply that your role does not see.";

fn explanation_lines(response: &TestResponse) -> Vec<String> {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.body["components"]
        .as_array()
        .expect("components")
        .iter()
        .flat_map(|c| c["explanation"].as_array().expect("explanation").clone())
        .map(|line| line.as_str().expect("line").to_owned())
        .collect()
}

/// A submitted and approved Bernese case of `body`, made ready to submit unless it says
/// otherwise (SEM approves `approve`).
async fn approved(app: &TestApp, team: &Team, body: &Value, approve: &Value) -> Value {
    let mut ready = ready(body.clone());
    if let Some(eligibility) = body.get("eligibility") {
        ready["eligibility"] = eligibility.clone();
    }
    let case = open_case(app, &team.be, &ready).await;
    let case = act(app, &team.be, &case, &json!({ "action": "submit" })).await;
    let case = act(app, &team.sem, &case, &json!({ "action": "start_review" })).await;
    decide(app, &team.sem, &case, approve).await
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn swissrepat_and_iom_bern_are_not_told_why_an_entitlement_was_cut(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    // A household that entered a month ago: its start-up cash is halved.
    let mut recent = case_body("Hassan", Some("55500001"));
    recent["persons"][0]["entry_date"] =
        json!((Utc::now().date_naive() - Days::new(30)).to_string());
    let recent = approved(
        &app,
        &team,
        &recent,
        &json!({ "action": "approve",
        "reasons": "Eligible.", "override_justification": "As before the move.",
        "approved_assistance": [
            { "component": "startup_cash", "amount_rappen": 100000 }] }),
    )
    .await;
    // A household excluded for a crime, approved above its entitlement by SEM.
    let mut excluded = ready(case_body("Hassan", Some("55500002")));
    excluded["eligibility"]["criminal_offences"] = json!(true);
    let mut approve = approval();
    approve["override_justification"] = json!("Return is in the public interest.");
    let excluded = approved(&app, &team, &excluded, &approve).await;

    let path = |case: &Value| format!("/v1/cases/{}/entitlement", id_of(case));
    let counsellor = explanation_lines(&app.get(&path(&recent), Some(&team.be)).await);
    assert!(counsellor.iter().any(|l| l.contains("halved")), "{counsellor:?}");
    assert!(counsellor.iter().any(|l| l.contains("Stay since entry")), "{counsellor:?}");
    let counsellor = explanation_lines(&app.get(&path(&excluded), Some(&team.be)).await);
    assert!(counsellor.iter().any(|l| l.contains("a crime or repeated offences")));

    for (who, token) in [("swissREPAT", &team.repat), ("IOM Bern", &team.iom)] {
        for case in [&recent, &excluded] {
            let lines = explanation_lines(&app.get(&path(case), Some(token)).await);
            for line in &lines {
                // (The tariff's source may name the halving rule: it is the same for all.)
                for word in [
                    "(halved)",
                    "Stay since entry",
                    "No entry date",
                    "Excluded",
                    "a crime",
                    "in procedure",
                    "Eligibility is not answered",
                ] {
                    assert!(!line.contains(word), "{who} reads {line:?}");
                }
            }
            assert!(lines.iter().any(|l| l == WITHHELD), "{who}: {lines:?}");
        }
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_reasons_of_a_withdrawal_or_a_cancellation_stay_with_the_canton_and_sem(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let body = case_body("Hassan", Some("55500011"));
    let withdrawn = approved(&app, &team, &body, &approval()).await;
    let withdrawal = json!({ "action": "withdraw", "reason": "Wife fell ill, ref WQ71" });
    let withdrawn = act(&app, &team.be, &withdrawn, &withdrawal).await;
    let body = case_body("Hassan", Some("55500012"));
    let cancelled = approved(&app, &team, &body, &approval()).await;
    let cancel =
        json!({ "action": "cancel", "reason": "absconded", "comment": "Police report, ref CQ72" });
    let cancelled = act(&app, &team.sem, &cancelled, &cancel).await;

    for (case, text) in [(&withdrawn, "ref WQ71"), (&cancelled, "ref CQ72")] {
        let case_path = format!("/v1/cases/{}", id_of(case));
        let history = format!("{case_path}/events");
        for token in [&team.be, &team.sem] {
            assert!(app.get(&case_path, Some(token)).await.text.contains(text));
            assert!(app.get(&history, Some(token)).await.text.contains(text));
        }
        for token in [&team.repat, &team.iom] {
            let read = app.get(&case_path, Some(token)).await;
            assert_eq!(read.status, StatusCode::OK);
            assert!(!read.text.contains(text), "{}", read.text);
            assert!(read.body["ending"]["kind"].is_string(), "the ending itself is shown");
            assert!(read.body["ending"].get("comment").is_none(), "{}", read.text);
            let events = app.get(&history, Some(token)).await;
            assert_eq!(events.status, StatusCode::OK);
            assert!(!events.text.contains(text), "{}", events.text);
        }
    }
    // The reason code of a cancellation goes with the travel: swissREPAT rebooks or stops.
    let read = app.get(&format!("/v1/cases/{}", id_of(&cancelled)), Some(&team.repat)).await;
    assert_eq!(read.body["ending"]["reason"], "absconded");
}

/// The details of every access-log event, as text.
async fn logged_details(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("select details::text from audit_events order by id")
        .fetch_all(pool)
        .await
        .expect("details")
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_access_log_holds_no_justification_reason_or_amount_of_a_case(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let mut approve = approval();
    approve["approved_assistance"][0]["amount_rappen"] = json!(171717);
    approve["override_justification"] = json!("Exceptional hardship, ref JQ73");
    let case = departed_case(&app, &team, "55500021", &approve).await;
    let reclaim = json!({ "reason": "re_entry", "amount_rappen": 42424,
        "comment": "Seen in Bern again, ref RQ74" });
    let added =
        app.post(&format!("/v1/cases/{}/reclaims", id_of(&case)), Some(&team.sem), &reclaim).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    let mission_id = crate::support::institution_id(&app.pool, "IOM Iraq").await;
    let case = app.get(&format!("/v1/cases/{}", id_of(&case)), Some(&team.iom)).await.body;
    let start = json!({ "action": "start_reintegration", "mission_id": mission_id });
    let case = act(&app, &team.iom, &case, &start).await;
    let paid = json!({ "amount_rappen": 131313, "purpose": "Tools, ref DQ75",
        "paid_on": Utc::now().date_naive().to_string() });
    let added = app
        .post(&format!("/v1/cases/{}/disbursements", id_of(&case)), Some(&team.mission), &paid)
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    let entitlement =
        app.get(&format!("/v1/cases/{}/entitlement", id_of(&case)), Some(&team.sem)).await;
    assert_eq!(entitlement.status, StatusCode::OK);

    let details = logged_details(&pool).await;
    for text in ["JQ73", "RQ74", "DQ75", "171717", "42424", "131313", "re_entry", "total_rappen"] {
        let found: Vec<&String> = details.iter().filter(|d| d.contains(text)).collect();
        assert!(found.is_empty(), "the access log holds {text:?}: {found:?}");
    }
    // What was done is still there, by field name.
    assert!(details.iter().any(|d| d.contains("overridden_components")));
    assert!(details.iter().any(|d| d.contains("\"amount_rappen\"") && d.contains("reclaim_id")));
}

/// The denied events of the access log: (action, resource id, details).
async fn refusals(pool: &PgPool) -> Vec<(String, Option<Uuid>, Value)> {
    sqlx::query_as(
        "select action, resource_id, details from audit_events where outcome = 'denied' \
         order by id",
    )
    .fetch_all(pool)
    .await
    .expect("refusals")
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_duplicate_zemis_number_is_refused_on_the_record(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let zh = app.login(crate::support::ZH).await;
    // A draft in Bern, which Zurich may not see.
    let bern = open_case(&app, &team.be, &case_body("Hassan", Some("55500031"))).await;
    let refused = app.post("/v1/cases", Some(&zh), &case_body("Hassan", Some("55500031"))).await;
    refused.assert_problem(StatusCode::CONFLICT, "duplicate_case");
    assert!(!refused.text.contains(bern["reference"].as_str().expect("reference")));
    let logged = refusals(&pool).await;
    let (action, resource, details) = logged.last().expect("an event of the refusal");
    assert_eq!(action, "create_case");
    assert_eq!(resource.map(|id| id.to_string()), Some(id_of(&bern)));
    assert_eq!(details["code"], "duplicate_case");
    assert_eq!(details["status"], 409);
    assert_eq!(details["fields"], json!(["persons[0].zemis_number"]));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn every_refusal_on_cases_and_administration_leaves_an_event_naming_the_attempt(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = open_case(&app, &team.be, &ready(case_body("Hassan", Some("55500041")))).await;
    let id = id_of(&case);
    let mut expected: Vec<(&str, Option<String>, Value)> = Vec::new();

    // 409: not possible in this status, with the workflow action that was tried.
    let early =
        transition(&app, &team.be, &case, &json!({ "action": "withdraw", "reason": "x" })).await;
    assert_eq!(early.status, StatusCode::OK, "{}", early.text);
    let closed = transition(&app, &team.be, &early.body, &json!({ "action": "submit" })).await;
    closed.assert_problem(StatusCode::CONFLICT, "invalid_transition");
    expected.push((
        "transition_case",
        Some(id.clone()),
        json!({ "status": 409, "code": "invalid_transition", "attempted": "submit" }),
    ));
    // 412: a stale If-Match.
    let path = format!("/v1/cases/{id}/transitions");
    let stale = app
        .send(
            Method::POST,
            &path,
            Some(&team.be),
            Some(&json!({ "action": "submit" })),
            &[("if-match", "\"1\"")],
        )
        .await;
    stale.assert_problem(StatusCode::PRECONDITION_FAILED, "stale_version");
    expected.push((
        "transition_case",
        Some(id.clone()),
        json!({ "status": 412, "code": "stale_version", "attempted": "submit" }),
    ));
    // 422: invalid data, by field name only.
    let other = open_case(&app, &team.be, &case_body("Hassan", Some("55500042"))).await;
    let other_id = id_of(&other);
    let invalid = crate::support::patch(
        &app,
        &team.be,
        &format!("/v1/cases/{other_id}"),
        "\"1\"",
        &json!({ "destination_country": "Secret-Land QZ9" }),
    )
    .await;
    invalid.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    expected.push((
        "patch_case",
        Some(other_id.clone()),
        json!({ "status": 422, "code": "validation_failed", "fields": ["destination_country"] }),
    ));
    // 403 on administration.
    let users = app.get("/v1/users", Some(&team.be)).await;
    assert_eq!(users.status, StatusCode::FORBIDDEN);
    expected.push(("list_users", None, json!({ "status": 403 })));
    // 401 without a token.
    let anonymous = app.get(&format!("/v1/cases/{id}"), None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    expected.push(("get_case", Some(id.clone()), json!({ "status": 401 })));

    let logged = refusals(&pool).await;
    for (action, resource, details) in expected {
        let found = logged.iter().any(|(a, r, d)| {
            a == action
                && r.map(|r| r.to_string()) == resource
                && details.as_object().expect("object").iter().all(|(k, v)| d[k] == *v)
        });
        assert!(found, "no event {action} {resource:?} {details} among {logged:#?}");
    }
    // No value of a request reaches the log.
    assert!(logged.iter().all(|(_, _, d)| !d.to_string().contains("QZ9")));
    // One event per refusal.
    let per_request: i64 = sqlx::query_scalar(
        "select max(n) from (select count(*) as n from audit_events where outcome = 'denied' \
         group by request_id) counts",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(per_request, 1);
}
