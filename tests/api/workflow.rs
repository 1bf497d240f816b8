//! The return workflow over HTTP: transitions with their records, the history, the error
//! codes, each role's actions, concurrency, reintegration records and country information
//! requests.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::*;

/// Sends `body` as JSON `n` times at once, each on its own task; returns the statuses.
async fn concurrently(
    app: &TestApp,
    n: usize,
    path: &str,
    token: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Vec<StatusCode> {
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let mut request = Request::builder()
                .method(Method::POST)
                .uri(path)
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json");
            if let Some(version) = if_match {
                request = request.header("if-match", version);
            }
            let request = request.body(Body::from(body.to_string())).expect("request");
            let router = app.router.clone();
            tokio::spawn(async move {
                use tower::ServiceExt;
                router.oneshot(request).await.expect("response").status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for handle in handles {
        statuses.push(handle.await.expect("task"));
    }
    statuses
}

async fn fetch(app: &TestApp, token: &str, case: &Value) -> Value {
    let response = app.get(&format!("/v1/cases/{}", id_of(case)), Some(token)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.body
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_whole_return_path_runs_with_the_demo_roles_and_is_kept_in_the_history(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "12345678").await;
    assert_eq!(case["status"], "counselling");
    assert_eq!(case["allowed_actions"], json!(["submit", "withdraw"]));

    let case = act(&app, &team.be, &case, &json!({ "action": "submit" })).await;
    assert_eq!((case["status"].as_str(), case["version"].as_i64()), (Some("submitted"), Some(2)));
    assert!(case["submitted_at"].is_string());
    assert_eq!(case["allowed_actions"], json!(["withdraw"]));

    let case = act(&app, &team.sem, &case, &json!({ "action": "start_review" })).await;
    assert_eq!(case["status"], "under_review");
    assert_eq!(case["reviewer_id"], json!(user_id(&pool, SEM).await));
    assert_eq!(case["allowed_actions"], json!(["request_info", "approve", "reject"]));

    let question = json!({ "action": "request_info",
        "question": "Please confirm the child's date of birth." });
    let case = act(&app, &team.sem, &case, &question).await;
    assert_eq!(case["status"], "info_requested");

    // The counselling service may edit while SEM waits for its answer.
    let path = format!("/v1/cases/{}", id_of(&case));
    let edit = app
        .send(
            Method::PATCH,
            &path,
            Some(&team.be),
            Some(&json!({ "vulnerabilities": ["medical", "single_parent"] })),
            &[("if-match", &etag(&case))],
        )
        .await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.text);
    let case = edit.body;
    let answer = json!({ "action": "answer_info", "answer": "Confirmed: 2015-06-01." });
    let case = act(&app, &team.be, &case, &answer).await;
    assert_eq!(case["status"], "under_review");
    assert_eq!(case["review_questions"][0]["answer"], "Confirmed: 2015-06-01.");
    assert!(case["review_questions"][0]["answered_at"].is_string());

    let case = act(&app, &team.sem, &case, &approval()).await;
    assert_eq!(case["status"], "approved");
    assert!(case["approved_at"].is_string() && case["decided_at"].is_string());
    assert_eq!(case["decision"]["decision"], "approved");
    assert_eq!(
        case["decision"]["approved_assistance"][0],
        json!({ "component": "startup_cash", "amount_rappen": 150000 })
    );
    assert_eq!(case["decision"]["review"]["reasons"], "Eligible; family returns together.");
    assert_eq!(case["decision"]["review"]["override_justification"], Value::Null);

    let case = act(&app, &team.repat, &case, &booking(false)).await;
    assert_eq!(case["status"], "travel_booked");
    assert_eq!(case["itineraries"][0]["flights"], json!(["TK1912", "TK294"]));
    assert_eq!(case["itineraries"][0]["departure_airport"], "ZRH");

    let case = act(&app, &team.repat, &case, &departure(150000, 20000)).await;
    assert_eq!(case["status"], "departed");
    assert_eq!(case["departure"]["payout"]["receipt_reference"], "ZRH-2026-1234");
    assert_eq!(case["departure"]["itinerary_id"], case["itineraries"][0]["id"]);
    assert!(case["departed_at"].is_string());

    let mission_id = institution_id(&pool, "IOM Iraq").await;
    let iom_view = fetch(&app, &team.iom, &case).await;
    assert_eq!(iom_view["allowed_actions"], json!(["start_reintegration"]));
    let start = json!({ "action": "start_reintegration", "mission_id": mission_id });
    let case = act(&app, &team.iom, &iom_view, &start).await;
    assert_eq!(case["status"], "reintegration");
    assert_eq!(case["reintegration"]["mission_name"], "IOM Iraq");
    assert_eq!(case["reintegration"]["project_rappen"], 300000);

    let disbursement = app
        .post(
            &format!("{path}/disbursements"),
            Some(&team.mission),
            &json!({ "amount_rappen": 120000, "purpose": "Sewing machine and fabric",
                     "paid_on": today() }),
        )
        .await;
    assert_eq!(disbursement.status, StatusCode::CREATED, "{}", disbursement.text);
    assert_eq!(disbursement.body["amount_rappen"], 120000);
    assert_eq!(disbursement.header("location"), Some(path.as_str()));
    let visit = app
        .post(
            &format!("{path}/monitoring-visits"),
            Some(&team.mission),
            &json!({ "due_on": today(), "done_on": today(), "outcome": "The shop is open.",
                     "sustainability_score": 0.75 }),
        )
        .await;
    assert_eq!(visit.status, StatusCode::CREATED, "{}", visit.text);
    assert_eq!(visit.header("location"), Some(path.as_str()));
    let mission_view = fetch(&app, &team.mission, &case).await;
    assert_eq!(mission_view["reintegration"]["disbursed_rappen"], 120000);
    assert_eq!(
        mission_view["reintegration"]["disbursements"][0]["purpose"],
        "Sewing machine and fabric"
    );
    assert_eq!(mission_view["reintegration"]["monitoring_visits"][0]["sustainability_score"], 0.75);

    let case = fetch(&app, &team.iom, &case).await;
    assert_eq!(case["allowed_actions"], json!(["close"]));
    // CHF 1,800 of the project are not disbursed: the closure says why.
    let close = json!({ "action": "close", "outcome": "completed",
        "comment": "The shop runs; the rest of the project is not needed." });
    let case = act(&app, &team.iom, &case, &close).await;
    assert_eq!(case["status"], "closed");
    assert_eq!(case["ending"]["kind"], "closed");
    assert_eq!(case["ending"]["reason"], "completed");
    assert!(case["closed_at"].is_string());
    assert_eq!(case["allowed_actions"], json!([]));

    let history = app.get(&format!("{path}/events"), Some(&team.be)).await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text);
    let steps: Vec<(String, Value, String, String, String)> = history.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action").to_owned(),
                e["from_status"].clone(),
                e["to_status"].as_str().expect("to").to_owned(),
                e["role"].as_str().expect("role").to_owned(),
                e["institution_name"].as_str().expect("institution").to_owned(),
            )
        })
        .collect();
    let expected = [
        ("open", Value::Null, "counselling", "counsellor", "Rückkehrberatung Kanton Bern"),
        ("submit", json!("counselling"), "submitted", "counsellor", "Rückkehrberatung Kanton Bern"),
        ("start_review", json!("submitted"), "under_review", "sem_officer", "SEM"),
        ("request_info", json!("under_review"), "info_requested", "sem_officer", "SEM"),
        (
            "answer_info",
            json!("info_requested"),
            "under_review",
            "counsellor",
            "Rückkehrberatung Kanton Bern",
        ),
        ("approve", json!("under_review"), "approved", "sem_officer", "SEM"),
        ("book_travel", json!("approved"), "travel_booked", "swissrepat_officer", "SEM swissREPAT"),
        (
            "confirm_departure",
            json!("travel_booked"),
            "departed",
            "swissrepat_officer",
            "SEM swissREPAT",
        ),
        ("start_reintegration", json!("departed"), "reintegration", "iom_coordinator", "IOM Bern"),
        ("close", json!("reintegration"), "closed", "iom_coordinator", "IOM Bern"),
    ];
    let expected: Vec<(String, Value, String, String, String)> = expected
        .into_iter()
        .map(|(a, f, t, r, i)| (a.to_owned(), f, t.to_owned(), r.to_owned(), i.to_owned()))
        .collect();
    assert_eq!(steps, expected);
    let items = &history.body["items"];
    assert_eq!(items[3]["comment"], "Please confirm the child's date of birth.");
    assert!(items[3]["actor_name"].is_string() && items[3]["occurred_at"].is_string());
    assert_eq!(items[2]["actor_id"], json!(user_id(&pool, SEM).await));
    // The mission sees the history, but not SEM's review.
    let theirs = app.get(&format!("{path}/events"), Some(&team.mission)).await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.text);
    assert_eq!(theirs.body["items"][3]["comment"], Value::Null);
    assert!(!theirs.text.contains("date of birth"), "{}", theirs.text);

    assert_eq!(audit_count(&pool, "case.transition", "allowed").await, 9);
    assert_eq!(audit_count(&pool, "case.events_read", "allowed").await, 2);
    assert_eq!(audit_count(&pool, "case.disbursement_add", "allowed").await, 1);
    assert_eq!(audit_count(&pool, "case.monitoring_visit_add", "allowed").await, 1);
    let details: Value = sqlx::query_scalar(
        "select details from audit_events where action = 'case.transition' order by id limit 1",
    )
    .fetch_one(&pool)
    .await
    .expect("details");
    assert_eq!(details, json!({ "action": "submit", "from": "counselling", "to": "submitted" }));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn each_refusal_has_its_code(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    // 422: submit names everything that is missing.
    let draft = open_case(&app, &team.be, &case_body("Hassan", Some("12345678"))).await;
    let response = transition(&app, &team.be, &draft, &json!({ "action": "submit" })).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields: Vec<&str> = response.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(
        fields,
        [
            "eligibility.criminal_offences",
            "eligibility.abuse",
            "eligibility.sufficient_assets",
            "eligibility.prior_assistance",
            "voluntariness_declaration.signed_on",
            "requested_assistance"
        ]
    );
    // The principal applicant needs a ZEMIS number to be submitted.
    let without = open_case(&app, &team.be, &ready(case_body("Karimi", None))).await;
    let response = transition(&app, &team.be, &without, &json!({ "action": "submit" })).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.body["errors"][0]["field"], "persons[0].zemis_number");
    // 409: not possible in this status.
    let case = ready_case(&app, &team, "23456789").await;
    transition(&app, &team.be, &case, &approval())
        .await
        .assert_problem(StatusCode::CONFLICT, "invalid_transition");
    // 428 and 412.
    let path = format!("/v1/cases/{}/transitions", id_of(&case));
    let submit = json!({ "action": "submit" });
    app.send(Method::POST, &path, Some(&team.be), Some(&submit), &[])
        .await
        .assert_problem(StatusCode::PRECONDITION_REQUIRED, "precondition_required");
    app.send(Method::POST, &path, Some(&team.be), Some(&submit), &[("if-match", "\"7\"")])
        .await
        .assert_problem(StatusCode::PRECONDITION_FAILED, "stale_version");
    // 404 out of scope, logged as denied.
    let zh = app.login(ZH).await;
    transition(&app, &zh, &case, &submit).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
    transition(&app, &team.sem, &case, &json!({ "action": "start_review" }))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    // 403: SEM sees a submitted case, but only the counselling service withdraws it.
    let case = act(&app, &team.be, &case, &submit).await;
    let response =
        transition(&app, &team.sem, &case, &json!({ "action": "withdraw", "reason": "x" })).await;
    response.assert_problem(StatusCode::FORBIDDEN, "forbidden_action");
    assert_eq!(audit_count(&pool, "case.transition", "denied").await, 3);
    // A body that is no transition.
    transition(&app, &team.sem, &case, &json!({ "action": "fly" }))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    transition(&app, &team.sem, &case, &json!({ "question": "?" }))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // Missing fields of an action are named.
    let case = act(&app, &team.sem, &case, &json!({ "action": "start_review" })).await;
    let response = transition(&app, &team.sem, &case, &json!({ "action": "reject" })).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.body["errors"][0]["field"], "legal_ground");
    assert_eq!(response.body["errors"][1]["field"], "reasons");
    // Nothing of the refusals was stored.
    assert_eq!(fetch(&app, &team.sem, &case).await["version"], case["version"]);
    assert_eq!(count(&pool, "case_decisions").await, 0);
    let rejected = act(
        &app,
        &team.sem,
        &case,
        &json!({ "action": "reject", "legal_ground": "sufficient_assets",
                 "reasons": "Savings of CHF 40,000." }),
    )
    .await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["decision"]["review"]["legal_ground"], "sufficient_assets");
    assert_eq!(rejected["decision"]["approved_assistance"], json!([]));
    // A terminal status takes no action.
    assert_eq!(rejected["allowed_actions"], json!([]));
    transition(&app, &team.be, &rejected, &json!({ "action": "withdraw", "reason": "x" }))
        .await
        .assert_problem(StatusCode::CONFLICT, "invalid_transition");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn each_role_may_take_only_its_own_actions(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = approved_case(&app, &team, "12345678", &approval()).await;
    // What each role is offered on an approved case.
    for (token, offered) in [
        (&team.be, json!(["withdraw"])),
        (&team.sem, json!(["cancel"])),
        (&team.repat, json!(["book_travel"])),
        (&team.iom, json!(["book_travel"])),
    ] {
        assert_eq!(fetch(&app, token, &case).await["allowed_actions"], offered);
    }
    let forbidden = [
        (&team.be, booking(false)),
        (&team.sem, booking(false)),
        (&team.repat, json!({ "action": "cancel", "reason": "revoked" })),
        (&team.iom, json!({ "action": "withdraw", "reason": "x" })),
        (&team.be, json!({ "action": "cancel", "reason": "revoked" })),
    ];
    for (token, body) in &forbidden {
        transition(&app, token, &case, body)
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden_action");
    }
    // The mission is not assigned yet: it does not see the case at all.
    transition(&app, &team.mission, &case, &booking(false))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    // swissREPAT books ordinary travel, IOM Bern SIM travel.
    let response = transition(&app, &team.iom, &case, &booking(false)).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.body["errors"][0]["field"], "itinerary.sim");
    let booked = act(&app, &team.iom, &case, &booking(true)).await;
    assert_eq!(booked["itineraries"][0]["sim"], true);
    assert_eq!(
        fetch(&app, &team.repat, &booked).await["allowed_actions"],
        json!(["report_no_show", "confirm_departure"])
    );
    assert_eq!(fetch(&app, &team.sem, &booked).await["allowed_actions"], json!(["cancel"]));
    assert_eq!(audit_count(&pool, "case.transition", "denied").await, 6);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_mission_officer_sees_only_assigned_cases_and_no_asylum_procedure_data(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let departed = departed_case(&app, &team, "12345678", &approval()).await;
    let path = format!("/v1/cases/{}", id_of(&departed));
    app.get(&path, Some(&team.mission)).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
    // Another mission of the wrong country is refused as the reintegration mission.
    let georgia = institution_id(&pool, "IOM Georgia").await;
    let wrong = json!({ "action": "start_reintegration", "mission_id": georgia });
    let response = transition(&app, &team.iom, &departed, &wrong).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.body["errors"][0]["code"], "wrong_country");

    let case = reintegration_case(&app, &team, "23456789").await;
    let seen = fetch(&app, &team.mission, &case).await;
    assert_eq!(seen["persons"][0]["surname"], "Hassan");
    assert_eq!(seen["allowed_actions"], json!([]));
    assert!(seen["reintegration"].is_object());
    let text = seen.to_string();
    for hidden in ["zemis_number", "n_number", "residence_status", "entry_date"] {
        assert!(seen["persons"][0].get(hidden).is_none(), "{hidden}: {text}");
    }
    for hidden in [
        "procedure_phase",
        "eligibility",
        "voluntariness_declaration",
        "medical",
        "decision",
        "review_questions",
        "itineraries",
        "departure",
        "reclaims",
        "requested_assistance",
        "vulnerabilities",
    ] {
        assert!(seen.get(hidden).is_none(), "{hidden}: {text}");
    }
    for hidden in ["23456789", "N 123 456", "Eligible; family", "Diabetes"] {
        assert!(!text.contains(hidden), "{hidden}: {text}");
    }
    let list = app.get("/v1/cases", Some(&team.mission)).await;
    let ids: Vec<&Value> =
        list.body["items"].as_array().expect("items").iter().map(|i| &i["id"]).collect();
    assert_eq!(ids, [&case["id"]]);
    // The mission records; IOM Bern and SEM do not.
    let disbursement = json!({ "amount_rappen": 1000, "purpose": "Tools", "paid_on": today() });
    let url = format!("/v1/cases/{}/disbursements", id_of(&case));
    for token in [&team.iom, &team.sem] {
        app.post(&url, Some(token), &disbursement)
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    app.post(
        &format!("/v1/cases/{}/disbursements", id_of(&departed)),
        Some(&team.mission),
        &disbursement,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn of_eight_concurrent_approvals_exactly_one_succeeds(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "12345678").await;
    let case = act(&app, &team.be, &case, &json!({ "action": "submit" })).await;
    let case = act(&app, &team.sem, &case, &json!({ "action": "start_review" })).await;
    let path = format!("/v1/cases/{}/transitions", id_of(&case));
    let statuses = concurrently(&app, 8, &path, &team.sem, &approval(), Some(&etag(&case))).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [
            StatusCode::OK,
            StatusCode::PRECONDITION_FAILED,
            StatusCode::CONFLICT
        ]
        .contains(s)),
        "{statuses:?}"
    );
    let approvals: i64 =
        sqlx::query_scalar("select count(*) from case_events where action = 'approve'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(approvals, 1);
    assert_eq!(count(&pool, "case_decisions").await, 1);
    assert_eq!(count(&pool, "case_approved_assistance").await, 3);
    assert_eq!(audit_count(&pool, "case.transition", "allowed").await, 3);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_payout_above_the_approval_is_refused_and_leaves_nothing(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = approved_case(&app, &team, "12345678", &approval()).await;
    let case = act(&app, &team.repat, &case, &booking(false)).await;
    let response = transition(&app, &team.repat, &case, &departure(150001, 20000)).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.body["errors"][0]["field"], "payout.startup_cash_rappen");
    let after = fetch(&app, &team.repat, &case).await;
    assert_eq!(
        (after["status"].clone(), after["version"].clone()),
        (json!("travel_booked"), case["version"].clone())
    );
    assert_eq!(count(&pool, "case_departures").await, 0);
    assert_eq!(audit_count(&pool, "case.transition", "allowed").await, 4);
    // Less than approved is fine.
    let departed = act(&app, &team.repat, &case, &departure(100000, 0)).await;
    assert_eq!(departed["departure"]["payout"]["startup_cash_rappen"], 100000);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_no_show_returns_the_case_to_be_booked_again(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = approved_case(&app, &team, "12345678", &approval()).await;
    let case = act(&app, &team.repat, &case, &booking(false)).await;
    let no_show = json!({ "action": "report_no_show", "comment": "Did not come to the gate." });
    let case = act(&app, &team.repat, &case, &no_show).await;
    assert_eq!(case["status"], "approved");
    assert!(case["itineraries"][0]["no_show_at"].is_string());
    assert_eq!(case["itineraries"][0]["no_show_comment"], "Did not come to the gate.");
    let case = act(&app, &team.repat, &case, &booking(false)).await;
    let case = act(&app, &team.repat, &case, &departure(150000, 20000)).await;
    assert_eq!(case["itineraries"].as_array().expect("itineraries").len(), 2);
    assert_eq!(case["departure"]["itinerary_id"], case["itineraries"][1]["id"]);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_case_is_withdrawn_or_cancelled_and_then_takes_nothing(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let draft = ready_case(&app, &team, "12345678").await;
    let withdrawn = act(
        &app,
        &team.be,
        &draft,
        &json!({ "action": "withdraw", "reason": "The family decided to stay." }),
    )
    .await;
    assert_eq!(withdrawn["status"], "withdrawn");
    assert_eq!(withdrawn["ending"]["kind"], "withdrawn");
    assert_eq!(withdrawn["ending"]["comment"], "The family decided to stay.");
    assert_eq!(withdrawn["allowed_actions"], json!([]));
    transition(&app, &team.be, &withdrawn, &json!({ "action": "submit" }))
        .await
        .assert_problem(StatusCode::CONFLICT, "invalid_transition");

    let approved = approved_case(&app, &team, "23456789", &approval()).await;
    let response =
        transition(&app, &team.sem, &approved, &json!({ "action": "cancel", "reason": "other" }))
            .await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.body["errors"][0]["field"], "comment");
    let cancelled =
        act(&app, &team.sem, &approved, &json!({ "action": "cancel", "reason": "absconded" }))
            .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        cancelled["ending"],
        json!({ "kind": "cancelled", "reason": "absconded",
        "ended_by": user_id(&pool, SEM).await,
        "ended_at": cancelled["ending"]["ended_at"] })
    );
    for token in [&team.be, &team.sem, &team.repat, &team.iom] {
        let seen = fetch(&app, token, &cancelled).await;
        assert_eq!(seen["allowed_actions"], json!([]));
        for body in [booking(false), json!({ "action": "withdraw", "reason": "x" })] {
            transition(&app, token, &cancelled, &body)
                .await
                .assert_problem(StatusCode::CONFLICT, "invalid_transition");
        }
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_case_without_reintegration_project_is_closed_after_departure(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let mut approve = approval();
    approve["approved_assistance"] = json!([
        { "component": "startup_cash", "amount_rappen": 150000 },
        { "component": "travel_money", "amount_rappen": 20000 }
    ]);
    let case = departed_case(&app, &team, "12345678", &approve).await;
    let case = fetch(&app, &team.iom, &case).await;
    assert_eq!(case["allowed_actions"], json!(["close"]));
    let mission_id = institution_id(&pool, "IOM Iraq").await;
    transition(
        &app,
        &team.iom,
        &case,
        &json!({ "action": "start_reintegration", "mission_id": mission_id }),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "invalid_transition");
    let closed =
        act(&app, &team.iom, &case, &json!({ "action": "close", "outcome": "completed" })).await;
    assert_eq!(closed["status"], "closed");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn disbursements_never_exceed_the_approved_project(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = reintegration_case(&app, &team, "12345678").await;
    let url = format!("/v1/cases/{}/disbursements", id_of(&case));
    let pay =
        |amount: i64| json!({ "amount_rappen": amount, "purpose": "Stock", "paid_on": today() });
    let first = app.post(&url, Some(&team.mission), &pay(200000)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let response = app.post(&url, Some(&team.mission), &pay(100001)).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.body["errors"][0]["code"], "exceeds_approval");
    // Concurrent disbursements cannot pass the total together.
    let statuses = concurrently(&app, 4, &url, &team.mission, &pay(60000), None).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    let total: i64 =
        sqlx::query_scalar("select sum(amount_rappen)::bigint from case_disbursements")
            .fetch_one(&pool)
            .await
            .expect("total");
    assert_eq!(total, 260000);
    let invalid = app
        .post(&url, Some(&team.mission), &json!({ "amount_rappen": -5, "paid_on": "soon" }))
        .await;
    invalid.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields: Vec<&str> = invalid.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, ["amount_rappen", "purpose", "paid_on"]);
    let visit = app
        .post(
            &format!("/v1/cases/{}/monitoring-visits", id_of(&case)),
            Some(&team.mission),
            &json!({ "due_on": "2027-06-15", "sustainability_score": 2 }),
        )
        .await;
    visit.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // After the closure, nothing more is recorded.
    let case = fetch(&app, &team.iom, &case).await;
    let close = json!({ "action": "close", "outcome": "abandoned",
        "comment": "The family moved on; CHF 400 stay unspent." });
    act(&app, &team.iom, &case, &close).await;
    app.post(&url, Some(&team.mission), &pay(100))
        .await
        .assert_problem(StatusCode::CONFLICT, "case_not_in_reintegration");
}

fn days_from_today(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

/// Plans a monitoring visit of the case (as its mission); returns its id.
async fn plan_visit(app: &TestApp, team: &Team, case: &Value) -> String {
    let url = format!("/v1/cases/{}/monitoring-visits", id_of(case));
    let planned = app.post(&url, Some(&team.mission), &json!({ "due_on": today() })).await;
    assert_eq!(planned.status, StatusCode::CREATED, "{}", planned.text);
    assert_eq!(planned.body["done_on"], Value::Null);
    planned.body["id"].as_str().expect("id").to_owned()
}

async fn patch(app: &TestApp, token: &str, url: &str, body: &Value) -> TestResponse {
    app.send(Method::PATCH, url, Some(token), Some(body), &[]).await
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_planned_visit_is_recorded_done_once_by_the_assigned_mission(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = reintegration_case(&app, &team, "12345678").await;
    let other = reintegration_case(&app, &team, "23456789").await;
    let visit = plan_visit(&app, &team, &case).await;
    let others_visit = plan_visit(&app, &team, &other).await;
    let path = format!("/v1/cases/{}", id_of(&case));
    let url = format!("{path}/monitoring-visits/{visit}");
    let done = json!({ "done_on": today(), "outcome": " The shop is open. ",
        "sustainability_score": 0.5 });

    // Another mission does not see the case; IOM Bern sees it but does not record visits.
    let georgia = institution_id(&pool, "IOM Georgia").await;
    sqlx::query(
        "insert into users (id, institution_id, email, display_name, role, password_hash) \
         select $1, $2::uuid, 'mission.ge@demo.test', 'Nino', 'iom_mission_officer', \
             password_hash from users where email = $3",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(&georgia)
    .bind(MISSION)
    .execute(&pool)
    .await
    .expect("user");
    let georgian = app.login("mission.ge@demo.test").await;
    patch(&app, &georgian, &url, &done).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
    patch(&app, &team.iom, &url, &done).await.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // A visit of another case, or none at all, is not found in this one, and named.
    for missing in [others_visit.clone(), uuid::Uuid::now_v7().to_string()] {
        let response =
            patch(&app, &team.mission, &format!("{path}/monitoring-visits/{missing}"), &done).await;
        response.assert_problem(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(response.body["detail"], "the monitoring visit does not exist");
    }

    // A day ahead, a day before the departure, a blank outcome, a field that is not the
    // visit's: each named, nothing changed.
    let invalid = [
        (json!({ "done_on": days_from_today(1), "outcome": "x" }), "done_on", "in_future"),
        (json!({ "done_on": days_from_today(-3), "outcome": "x" }), "done_on", "before_departure"),
        (json!({ "done_on": today(), "outcome": "  " }), "outcome", "required"),
        (json!({ "done_on": today() }), "outcome", "required"),
        (
            json!({ "done_on": today(), "outcome": "x", "sustainability_score": 2 }),
            "sustainability_score",
            "out_of_range",
        ),
        (
            json!({ "done_on": today(), "outcome": "x", "due_on": today() }),
            "due_on",
            "unknown_field",
        ),
    ];
    for (body, field, code) in invalid {
        assert_names(&patch(&app, &team.mission, &url, &body).await, field, code);
    }
    let before = fetch(&app, &team.mission, &case).await;
    assert_eq!(before["reintegration"]["monitoring_visits"][0]["done_on"], Value::Null);

    let recorded = patch(&app, &team.mission, &url, &done).await;
    assert_eq!(recorded.status, StatusCode::OK, "{}", recorded.text);
    assert_eq!(recorded.body["id"], json!(visit));
    assert_eq!(recorded.body["due_on"], json!(today()));
    assert_eq!(recorded.body["done_on"], json!(today()));
    assert_eq!(recorded.body["outcome"], "The shop is open.");
    assert_eq!(recorded.body["sustainability_score"], 0.5);
    let after = fetch(&app, &team.mission, &case).await;
    assert_eq!(after["version"], before["version"].as_i64().expect("version") + 1);
    assert_eq!(after["reintegration"]["monitoring_visits"][0], recorded.body);
    let details: Vec<Value> = sqlx::query_scalar(
        "select details from audit_events \
         where action = 'case.monitoring_visit_update' and outcome = 'allowed'",
    )
    .fetch_all(&pool)
    .await
    .expect("details");
    assert_eq!(details, [json!({ "monitoring_visit_id": visit })]);

    // A visit done is not changed.
    let again = json!({ "done_on": today(), "outcome": "Closed again." });
    let response = patch(&app, &team.mission, &url, &again).await;
    response.assert_problem(StatusCode::CONFLICT, "visit_already_done");
    assert_eq!(fetch(&app, &team.mission, &case).await["version"], after["version"]);

    // Once the case is closed, nothing is recorded.
    let second = plan_visit(&app, &team, &case).await;
    let case = fetch(&app, &team.iom, &case).await;
    let close = json!({ "action": "close", "outcome": "unreachable",
        "comment": "The family cannot be reached." });
    act(&app, &team.iom, &case, &close).await;
    patch(&app, &team.mission, &format!("{path}/monitoring-visits/{second}"), &done)
        .await
        .assert_problem(StatusCode::CONFLICT, "case_not_in_reintegration");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_reintegration_closed_with_money_or_visits_open_says_why(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = reintegration_case(&app, &team, "12345678").await;
    let path = format!("/v1/cases/{}", id_of(&case));
    let pay =
        |amount: i64| json!({ "amount_rappen": amount, "purpose": "Stock", "paid_on": today() });
    let paid = app.post(&format!("{path}/disbursements"), Some(&team.mission), &pay(180000)).await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    let first = plan_visit(&app, &team, &case).await;
    let second = plan_visit(&app, &team, &case).await;
    let close = json!({ "action": "close", "outcome": "completed" });
    let refused = |expected: &'static str| {
        let (app, team, path, close) = (&app, &team, &path, &close);
        async move {
            let case = app.get(path, Some(&team.iom)).await.body;
            let response = transition(app, &team.iom, &case, close).await;
            assert_names(&response, "comment", "required");
            assert_eq!(response.body["errors"][0]["message"], expected, "{}", response.text);
        }
    };
    refused(
        "CHF 1,200.00 of the approved project is not disbursed and 2 planned visits are open: \
         say why the case closes anyway",
    )
    .await;

    let paid = app.post(&format!("{path}/disbursements"), Some(&team.mission), &pay(120000)).await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    let done = json!({ "done_on": today(), "outcome": "The shop is open." });
    let url = format!("{path}/monitoring-visits/{first}");
    assert_eq!(patch(&app, &team.mission, &url, &done).await.status, StatusCode::OK);
    refused("1 planned visit is open: say why the case closes anyway").await;
    assert_eq!(fetch(&app, &team.iom, &case).await["status"], "reintegration");

    // With nothing open the case closes without a word.
    let url = format!("{path}/monitoring-visits/{second}");
    assert_eq!(patch(&app, &team.mission, &url, &done).await.status, StatusCode::OK);
    let case = fetch(&app, &team.iom, &case).await;
    let closed = act(&app, &team.iom, &case, &close).await;
    assert_eq!(closed["ending"]["reason"], "completed");
    assert_eq!(closed["ending"]["comment"], Value::Null);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn iom_bern_answers_country_questions_without_seeing_the_case(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "12345678").await;
    let url = format!("/v1/cases/{}/information-requests", id_of(&case));
    let asked = app
        .post(&url, Some(&team.be), &json!({ "question": "Is insulin available in Erbil?" }))
        .await;
    assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.text);
    assert_eq!(asked.body["case_id"], case["id"]);
    assert_eq!(asked.body["status"], "open");
    let request_id = asked.body["id"].as_str().expect("id").to_owned();
    app.post(&url, Some(&team.be), &json!({ "question": " " }))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.post(&url, Some(&app.login(ZH).await), &json!({ "question": "?" }))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");

    let open = app.get("/v1/information-requests?status=open", Some(&team.iom)).await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.text);
    let item = &open.body["items"][0];
    assert_eq!(item["question"], "Is insulin available in Erbil?");
    assert_eq!(item["destination_country"], "IQ");
    assert!(item.get("case_id").is_none(), "{}", open.text);
    assert!(!open.text.contains("Hassan") && !open.text.contains(&id_of(&case)));
    // IOM Bern still does not see the case itself.
    app.get(&format!("/v1/cases/{}", id_of(&case)), Some(&team.iom))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");

    let answer_url = format!("/v1/information-requests/{request_id}/answer");
    app.post(&answer_url, Some(&team.be), &json!({ "answer": "Yes" }))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let answered = app
        .post(&answer_url, Some(&team.iom), &json!({ "answer": "Yes, at the public hospital." }))
        .await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.text);
    assert_eq!(answered.body["status"], "answered");
    app.post(&answer_url, Some(&team.iom), &json!({ "answer": "Again" }))
        .await
        .assert_problem(StatusCode::CONFLICT, "already_answered");
    app.post(
        &format!("/v1/information-requests/{}/answer", uuid::Uuid::now_v7()),
        Some(&team.iom),
        &json!({ "answer": "x" }),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");

    let open = app.get("/v1/information-requests?status=open", Some(&team.iom)).await;
    assert_eq!(open.body["items"], json!([]));
    let mine = app.get("/v1/information-requests?status=answered", Some(&team.be)).await;
    assert_eq!(mine.body["items"][0]["answer"], "Yes, at the public hospital.");
    assert_eq!(mine.body["items"][0]["case_id"], case["id"]);
    let zurich = app.get("/v1/information-requests", Some(&app.login(ZH).await)).await;
    assert_eq!(zurich.body["items"], json!([]));
    for token in [&team.sem, &team.mission] {
        app.get("/v1/information-requests", Some(token))
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    app.get("/v1/information-requests?status=closed", Some(&team.iom))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // Only while the case is in counselling.
    let case = act(&app, &team.be, &case, &json!({ "action": "submit" })).await;
    app.post(&url, Some(&team.be), &json!({ "question": "Rent?" }))
        .await
        .assert_problem(StatusCode::CONFLICT, "case_not_in_counselling");
    assert_eq!(case["status"], "submitted");
    assert_eq!(audit_count(&pool, "information_request.create", "allowed").await, 1);
    assert_eq!(audit_count(&pool, "information_request.answer", "allowed").await, 1);
    assert_eq!(audit_count(&pool, "information_request.list", "allowed").await, 4);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn information_requests_page_by_cursor(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "12345678").await;
    let url = format!("/v1/cases/{}/information-requests", id_of(&case));
    for n in 0..3 {
        let asked =
            app.post(&url, Some(&team.be), &json!({ "question": format!("Question {n}") })).await;
        assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.text);
    }
    let first = app.get("/v1/information-requests?limit=2", Some(&team.iom)).await;
    assert_eq!(first.body["items"].as_array().expect("items").len(), 2);
    let cursor = first.body["next_cursor"].as_str().expect("cursor").to_owned();
    let second = app
        .get(&format!("/v1/information-requests?limit=2&cursor={cursor}"), Some(&team.iom))
        .await;
    assert_eq!(second.body["items"][0]["question"], "Question 2");
    assert_eq!(second.body["next_cursor"], Value::Null);
}
