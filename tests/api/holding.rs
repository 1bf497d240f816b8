//! Who holds a case and who decides on it: assignment and reassignment of the counsellor and
//! the SEM reviewer, four-eyes proposals, and canton transfers — each rule with its
//! refusals, and the races between two people acting at once.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::*;

async fn fetch(app: &TestApp, token: &str, case: &Value) -> Value {
    let response = app.get(&format!("/v1/cases/{}", id_of(case)), Some(token)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.body
}

async fn history(app: &TestApp, token: &str, case: &Value) -> Vec<Value> {
    let response = app.get(&format!("/v1/cases/{}/events", id_of(case)), Some(token)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.body["items"].as_array().expect("items").clone()
}

/// The history entries of `action`.
fn entries<'a>(events: &'a [Value], action: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["action"] == action).collect()
}

async fn assign(app: &TestApp, token: &str, case: &Value, body: &Value) -> TestResponse {
    app.post(&format!("/v1/cases/{}/assignment", id_of(case)), Some(token), body).await
}

async fn propose(app: &TestApp, token: &str, case: &Value, body: &Value) -> TestResponse {
    app.post(&format!("/v1/cases/{}/proposals", id_of(case)), Some(token), body).await
}

async fn settle(
    app: &TestApp,
    token: &str,
    case: &Value,
    proposal: &Value,
    how: &str,
) -> TestResponse {
    let path = format!(
        "/v1/cases/{}/proposals/{}/{how}",
        id_of(case),
        proposal["id"].as_str().expect("id")
    );
    let body = if how == "return" {
        Some(json!({ "reason": "Amount not justified, ref RT31" }))
    } else {
        None
    };
    app.send(Method::POST, &path, Some(token), body.as_ref(), &[]).await
}

async fn actions_logged(pool: &PgPool, action: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "select outcome, coalesce(actor_id::text, '') from audit_events where action = $1 \
         order by occurred_at, id",
    )
    .bind(action)
    .fetch_all(pool)
    .await
    .expect("audit")
}

#[sqlx::test]
async fn a_case_is_held_by_its_creator_until_reassigned_within_the_service(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "10000001").await;
    let anna = user_id(&app.pool, BE).await;
    assert_eq!(case["counsellor_id"], anna.as_str());
    let (bea, bea_token) = colleague(&app, BE, "bea.be@demo.test").await;
    let zh = user_id(&app.pool, ZH).await;
    let sem = user_id(&app.pool, SEM).await;

    // Only a fitting, active counsellor of the case's own service; every field named.
    for (user, field, code) in
        [(&zh, "user_id", "not_assignable"), (&sem, "user_id", "not_assignable")]
    {
        let body = json!({ "role": "counsellor", "user_id": user, "reason": "Holiday cover" });
        assert_names(&assign(&app, &team.be, &case, &body).await, field, code);
    }
    let missing = assign(&app, &team.be, &case, &json!({ "role": "counsellor" })).await;
    assert_names(&missing, "user_id", "required");
    assert_names(&missing, "reason", "required");
    let same = json!({ "role": "counsellor", "user_id": anna, "reason": "Again" });
    assert_names(&assign(&app, &team.be, &case, &same).await, "user_id", "already_assigned");
    // Another service does not see the case; SEM does not reassign counsellors.
    let body = json!({ "role": "counsellor", "user_id": bea, "reason": "Anna on leave, ref AS12" });
    assign(&app, &app.login(ZH).await, &case, &body)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");

    let moved = assign(&app, &team.be, &case, &body).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(moved.body["counsellor_id"], bea.as_str());
    assert_eq!(moved.body["version"], case["version"].as_i64().expect("version") + 1);
    assert_eq!(moved.header("etag"), Some(etag(&moved.body).as_str()));
    let events = history(&app, &team.be, &case).await;
    let reassigned = entries(&events, "reassign");
    assert_eq!(reassigned.len(), 1);
    assert_eq!(reassigned[0]["comment"], "Anna on leave, ref AS12");
    assert_eq!(reassigned[0]["from_status"], "counselling");
    assert_eq!(reassigned[0]["to_status"], "counselling");

    // `assigned_to=me` and `assignee` list what each holds.
    let mine = app.get("/v1/cases?assigned_to=me", Some(&bea_token)).await;
    assert_eq!(mine.body["items"].as_array().map(Vec::len), Some(1), "{}", mine.text);
    let anna_holds = app.get("/v1/cases?assigned_to=me", Some(&team.be)).await;
    assert_eq!(anna_holds.body["items"], json!([]));
    let by_assignee = app.get(&format!("/v1/cases?assignee={bea}"), Some(&team.be)).await;
    assert_eq!(by_assignee.body["items"][0]["id"], case["id"]);
    assert_eq!(
        actions_logged(&app.pool, "case.assign").await.last().map(|e| e.0.as_str()),
        Some("allowed")
    );
}

#[sqlx::test]
async fn only_the_assigned_reviewer_takes_sems_decisions(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "10000002").await;
    let case = act(&app, &team.be, &case, &json!({ "action": "submit" })).await;
    let (sem2, sem2_token) = colleague(&app, SEM, "sem.two@demo.test").await;
    // Before the review, no one holds it for SEM: not reassignable yet.
    let early = json!({ "role": "reviewer", "user_id": sem2, "reason": "Workload" });
    assign(&app, &team.sem, &case, &early)
        .await
        .assert_problem(StatusCode::CONFLICT, "case_not_assignable");

    let case = act(&app, &team.sem, &case, &json!({ "action": "start_review" })).await;
    assert_eq!(case["reviewer_id"], user_id(&app.pool, SEM).await.as_str());
    // The other officer sees the case but may not decide it, and is not offered to.
    let seen = fetch(&app, &sem2_token, &case).await;
    assert_eq!(seen["allowed_actions"], json!([]));
    transition(&app, &sem2_token, &case, &approval())
        .await
        .assert_problem(StatusCode::FORBIDDEN, "not_assigned");
    let ask = json!({ "action": "request_info", "question": "Which school?" });
    transition(&app, &sem2_token, &case, &ask)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "not_assigned");
    assert_eq!(
        actions_logged(&app.pool, "case.transition")
            .await
            .iter()
            .filter(|e| e.0 == "denied")
            .count(),
        2
    );

    // Counsellors do not reassign SEM's reviewer.
    assign(&app, &team.be, &case, &early).await.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let moved = assign(&app, &sem2_token, &case, &early).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(moved.body["reviewer_id"], sem2.as_str());
    transition(&app, &team.sem, &moved.body, &approval())
        .await
        .assert_problem(StatusCode::FORBIDDEN, "not_assigned");
    let by_reviewer = app.get(&format!("/v1/cases?reviewer_id={sem2}"), Some(&team.sem)).await;
    assert_eq!(by_reviewer.body["items"][0]["id"], case["id"]);
    let approved = act(&app, &sem2_token, &moved.body, &approval()).await;
    assert_eq!(approved["status"], "approved");
}

#[sqlx::test]
async fn an_approval_above_the_entitlement_needs_a_second_officer(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let (_, sem2) = colleague(&app, SEM, "sem.two@demo.test").await;
    let case = reviewed_case(&app, &team, "10000003").await;
    let above = approval_above_entitlement();
    transition(&app, &team.sem, &case, &above)
        .await
        .assert_problem(StatusCode::CONFLICT, "second_person_required");

    // Within the entitlement there is nothing to propose; without a justification neither.
    let within =
        propose(&app, &team.sem, &case, &json!({ "justification": "x", "transition": approval() }))
            .await;
    assert_names(&within, "transition", "no_second_person");
    assert_names(
        &propose(&app, &team.sem, &case, &json!({ "transition": above })).await,
        "justification",
        "required",
    );
    // The other officer is not the reviewer: a proposal is a decision.
    let body = json!({ "justification": "The child's treatment, ref PJ40", "transition": above });
    propose(&app, &sem2, &case, &body).await.assert_problem(StatusCode::FORBIDDEN, "not_assigned");

    let proposed = propose(&app, &team.sem, &case, &body).await;
    assert_eq!(proposed.status, StatusCode::CREATED, "{}", proposed.text);
    let proposal = proposed.body;
    assert_eq!(
        (proposal["kind"].as_str(), proposal["status"].as_str()),
        (Some("approval_override"), Some("open"))
    );
    propose(&app, &team.sem, &case, &body)
        .await
        .assert_problem(StatusCode::CONFLICT, "proposal_pending");
    // The case shows it to SEM and the counselling service, and waits.
    for token in [&team.sem, &team.be, &sem2] {
        let seen = fetch(&app, token, &case).await;
        assert_eq!(seen["status"], "under_review");
        assert_eq!(seen["pending_proposal"]["justification"], "The child's treatment, ref PJ40");
    }
    let listed = app.get(&format!("/v1/cases/{}/proposals", id_of(&case)), Some(&team.be)).await;
    assert_eq!(listed.body["items"][0]["id"], proposal["id"]);

    settle(&app, &team.sem, &case, &proposal, "confirm")
        .await
        .assert_problem(StatusCode::FORBIDDEN, "same_person");
    settle(&app, &team.sem, &case, &proposal, "return")
        .await
        .assert_problem(StatusCode::FORBIDDEN, "same_person");
    let confirmed = settle(&app, &sem2, &case, &proposal, "confirm").await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text);
    let case = confirmed.body;
    assert_eq!(case["status"], "approved");
    assert_eq!(case["pending_proposal"], Value::Null);
    assert_eq!(case["decision"]["decided_by"], user_id(&app.pool, SEM).await.as_str());
    assert_eq!(
        case["decision"]["review"]["override_justification"],
        "Medical needs of the child, ref OJ77"
    );
    settle(&app, &sem2, &case, &proposal, "confirm")
        .await
        .assert_problem(StatusCode::CONFLICT, "proposal_not_open");

    // Both steps in the history and the access log.
    let events = history(&app, &team.be, &case).await;
    let names: Vec<&str> = events.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(names[names.len() - 3..], ["propose", "approve", "confirm_proposal"]);
    assert_eq!(entries(&events, "propose")[0]["comment"], "The child's treatment, ref PJ40");
    let created = actions_logged(&app.pool, "case.proposal_create").await;
    let outcomes: Vec<&str> = created.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(outcomes, ["denied", "allowed"], "the other officer's attempt, then the proposal");
    let confirmations = actions_logged(&app.pool, "case.proposal_confirm").await;
    let outcomes: Vec<&str> = confirmations.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(outcomes, ["denied", "allowed"]);
}

#[sqlx::test]
async fn a_proposal_sent_back_changes_nothing_and_another_can_follow(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let (_, sem2) = colleague(&app, SEM, "sem.two@demo.test").await;
    let case = reviewed_case(&app, &team, "10000004").await;
    let body = json!({ "justification": "Treatment abroad, ref PJ41", "transition": approval_above_entitlement() });
    let proposal = propose(&app, &team.sem, &case, &body).await.body;
    let missing = app
        .post(
            &format!(
                "/v1/cases/{}/proposals/{}/return",
                id_of(&case),
                proposal["id"].as_str().expect("id")
            ),
            Some(&sem2),
            &json!({}),
        )
        .await;
    assert_names(&missing, "reason", "required");
    let returned = settle(&app, &sem2, &case, &proposal, "return").await;
    assert_eq!(returned.status, StatusCode::OK, "{}", returned.text);
    assert_eq!(returned.body["status"], "returned");
    assert_eq!(returned.body["return_reason"], "Amount not justified, ref RT31");
    let seen = fetch(&app, &team.sem, &case).await;
    assert_eq!(
        (seen["status"].as_str(), &seen["pending_proposal"]),
        (Some("under_review"), &Value::Null)
    );
    assert_eq!(seen["decision"], Value::Null);
    let events = history(&app, &team.sem, &case).await;
    assert_eq!(entries(&events, "return_proposal")[0]["comment"], "Amount not justified, ref RT31");
    // Sent back, it is settled: it cannot be confirmed; a new one can be made.
    settle(&app, &sem2, &case, &proposal, "confirm")
        .await
        .assert_problem(StatusCode::CONFLICT, "proposal_not_open");
    assert_eq!(propose(&app, &team.sem, &seen, &body).await.status, StatusCode::CREATED);
}

#[sqlx::test]
async fn two_officers_confirming_at_once_one_wins(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let (_, sem2) = colleague(&app, SEM, "sem.two@demo.test").await;
    let (_, sem3) = colleague(&app, SEM, "sem.three@demo.test").await;
    let case = reviewed_case(&app, &team, "10000005").await;
    let body = json!({ "justification": "Treatment abroad, ref PJ42", "transition": approval_above_entitlement() });
    let proposal = propose(&app, &team.sem, &case, &body).await.body;
    let (a, b) = tokio::join!(
        settle(&app, &sem2, &case, &proposal, "confirm"),
        settle(&app, &sem3, &case, &proposal, "confirm"),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "{} / {}", a.text, b.text);
    let loser = if a.status == StatusCode::CONFLICT { &a } else { &b };
    loser.assert_problem(StatusCode::CONFLICT, "proposal_not_open");
    let approvals: i64 = sqlx::query_scalar("select count(*) from case_decisions")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(approvals, 1);
    let events = history(&app, &team.sem, &case).await;
    assert_eq!(entries(&events, "confirm_proposal").len(), 1);
}

#[sqlx::test]
async fn cancelling_a_booked_case_and_waiving_a_reclaim_need_a_second_officer(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let (_, sem2) = colleague(&app, SEM, "sem.two@demo.test").await;
    // Before booking, SEM's reviewer cancels alone.
    let approved = approved_case(&app, &team, "10000006", &approval()).await;
    let cancel = json!({ "action": "cancel", "reason": "deceased" });
    assert_eq!(act(&app, &team.sem, &approved, &cancel).await["status"], "cancelled");

    let booked = approved_case(&app, &team, "10000007", &approval()).await;
    let booked = act(&app, &team.repat, &booked, &booking(false)).await;
    transition(&app, &team.sem, &booked, &cancel)
        .await
        .assert_problem(StatusCode::CONFLICT, "second_person_required");
    let body =
        json!({ "justification": "Death certificate received, ref DC55", "transition": cancel });
    let proposal = propose(&app, &team.sem, &booked, &body).await;
    assert_eq!(proposal.status, StatusCode::CREATED, "{}", proposal.text);
    assert_eq!(proposal.body["kind"], "cancellation_after_booking");
    let confirmed = settle(&app, &sem2, &booked, &proposal.body, "confirm").await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text);
    assert_eq!(confirmed.body["status"], "cancelled");

    // A reclaim after the departure: settled by one officer, waived by two.
    let departed = departed_case(&app, &team, "10000008", &approval()).await;
    let path = format!("/v1/cases/{}/reclaims", id_of(&departed));
    let reclaim = json!({ "reason": "re_entry", "amount_rappen": 50000 });
    let first = app.post(&path, Some(&team.sem), &reclaim).await.body;
    let second = app.post(&path, Some(&team.sem), &reclaim).await.body;
    let waive = json!({ "status": "waived" });
    let first_path = format!("{path}/{}", first["id"].as_str().expect("id"));
    app.send(Method::PATCH, &first_path, Some(&team.sem), Some(&waive), &[])
        .await
        .assert_problem(StatusCode::CONFLICT, "second_person_required");
    let settled = app
        .send(
            Method::PATCH,
            &first_path,
            Some(&team.sem),
            Some(&json!({ "status": "settled" })),
            &[],
        )
        .await;
    assert_eq!(settled.status, StatusCode::OK, "{}", settled.text);
    let unknown =
        json!({ "justification": "x", "reclaim_waiver": { "reclaim_id": departed["id"] } });
    assert_names(
        &propose(&app, &team.sem, &departed, &unknown).await,
        "reclaim_waiver.reclaim_id",
        "unknown_reclaim",
    );
    let settled_one =
        json!({ "justification": "x", "reclaim_waiver": { "reclaim_id": first["id"] } });
    propose(&app, &team.sem, &departed, &settled_one)
        .await
        .assert_problem(StatusCode::CONFLICT, "reclaim_not_open");
    let body = json!({ "justification": "Hardship, ref HW19", "reclaim_waiver": { "reclaim_id": second["id"] } });
    let proposal = propose(&app, &team.sem, &departed, &body).await;
    assert_eq!(proposal.status, StatusCode::CREATED, "{}", proposal.text);
    let confirmed = settle(&app, &sem2, &departed, &proposal.body, "confirm").await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text);
    let waived = confirmed.body["reclaims"]
        .as_array()
        .expect("reclaims")
        .iter()
        .find(|r| r["id"] == second["id"])
        .cloned();
    assert_eq!(
        waived.map(|r| (r["status"].clone(), r["comment"].clone())),
        Some((json!("waived"), json!("Hardship, ref HW19")))
    );
}

#[sqlx::test]
async fn the_installation_decides_which_changes_need_a_second_officer(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    sqlx::query("update four_eyes_rules set required = false where kind = 'approval_override'")
        .execute(&app.pool)
        .await
        .expect("rule");
    let case = reviewed_case(&app, &team, "10000009").await;
    let body = json!({ "justification": "x", "transition": approval_above_entitlement() });
    assert_names(&propose(&app, &team.sem, &case, &body).await, "transition", "no_second_person");
    assert_eq!(
        act(&app, &team.sem, &case, &approval_above_entitlement()).await["status"],
        "approved"
    );
}

#[sqlx::test]
async fn a_proposal_the_case_moved_past_is_superseded(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let (_, sem2) = colleague(&app, SEM, "sem.two@demo.test").await;
    let case = reviewed_case(&app, &team, "10000010").await;
    let body =
        json!({ "justification": "Treatment abroad", "transition": approval_above_entitlement() });
    let proposal = propose(&app, &team.sem, &case, &body).await.body;
    let case = fetch(&app, &team.be, &case).await;
    let withdrawn =
        act(&app, &team.be, &case, &json!({ "action": "withdraw", "reason": "Stays" })).await;
    assert_eq!(withdrawn["status"], "withdrawn");
    settle(&app, &sem2, &case, &proposal, "confirm")
        .await
        .assert_problem(StatusCode::CONFLICT, "proposal_not_open");
    let listed = app.get(&format!("/v1/cases/{}/proposals", id_of(&case)), Some(&team.sem)).await;
    assert_eq!(listed.body["items"][0]["status"], "superseded");
}

/// The Zurich counselling service and its counsellor.
async fn zurich(app: &TestApp) -> (String, String, String) {
    let service = institution_id(&app.pool, "Rückkehrberatung Kanton Zürich").await;
    (service, user_id(&app.pool, ZH).await, app.login(ZH).await)
}

async fn offer(app: &TestApp, token: &str, case: &Value, to: &str) -> TestResponse {
    let body = json!({ "to_service_id": to, "reason": "Moved to Winterthur, ref MV88" });
    app.post(&format!("/v1/cases/{}/transfer", id_of(case)), Some(token), &body).await
}

async fn answer(app: &TestApp, token: &str, case: &Value, how: &str, body: &Value) -> TestResponse {
    app.post(&format!("/v1/cases/{}/transfer/{how}", id_of(case)), Some(token), body).await
}

#[sqlx::test]
async fn a_case_moves_to_another_canton_and_the_sender_loses_it(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let (zurich, zh_counsellor, zh) = zurich(&app).await;
    let case = ready_case(&app, &team, "10000011").await;
    let case = act(&app, &team.be, &case, &json!({ "action": "submit" })).await;
    let offered = offer(&app, &team.be, &case, &zurich).await;
    assert_eq!(offered.status, StatusCode::CREATED, "{}", offered.text);
    assert_eq!(offered.body["status"], "pending");

    // The case shows the pending transfer (its reason for the counselling service and SEM);
    // the sender changes nothing meanwhile; the receiver does not see the case yet.
    let seen = fetch(&app, &team.be, &case).await;
    assert_eq!(seen["pending_transfer"]["to_service_id"], zurich.as_str());
    assert_eq!(seen["pending_transfer"]["reason"], "Moved to Winterthur, ref MV88");
    assert_eq!(seen["allowed_actions"], json!([]));
    let path = format!("/v1/cases/{}", id_of(&case));
    // (Submitted, the case is not edited anyway: that is what its answer says.)
    patch(&app, &team.be, &path, &etag(&seen), &json!({ "planned_departure_date": null }))
        .await
        .assert_problem(StatusCode::CONFLICT, "case_not_editable");
    transition(&app, &team.be, &seen, &json!({ "action": "withdraw", "reason": "x" }))
        .await
        .assert_problem(StatusCode::CONFLICT, "transfer_pending");
    let note = json!({ "body": "Called the family" });
    app.post(&format!("{path}/notes"), Some(&team.be), &note)
        .await
        .assert_problem(StatusCode::CONFLICT, "transfer_pending");
    offer(&app, &team.be, &case, &zurich)
        .await
        .assert_problem(StatusCode::CONFLICT, "transfer_pending");
    app.get(&path, Some(&zh)).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
    answer(&app, &team.sem, &case, "accept", &json!({ "counsellor_id": zh_counsellor }))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");

    // The receiver finds it with the principal's identity, and accepts it.
    let incoming = app.get("/v1/transfers?status=pending", Some(&zh)).await;
    assert_eq!(incoming.status, StatusCode::OK, "{}", incoming.text);
    assert_eq!(incoming.body["items"][0]["reference"], case["reference"]);
    assert_eq!(incoming.body["items"][0]["principal"]["surname"], "Hassan");
    let outgoing = app.get("/v1/transfers?direction=outgoing", Some(&team.be)).await;
    assert_eq!(outgoing.body["items"][0]["id"], offered.body["id"]);
    app.get("/v1/transfers", Some(&team.sem))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let anna = user_id(&app.pool, BE).await;
    let wrong = answer(&app, &zh, &case, "accept", &json!({ "counsellor_id": anna })).await;
    assert_names(&wrong, "counsellor_id", "not_assignable");
    let accepted =
        answer(&app, &zh, &case, "accept", &json!({ "counsellor_id": zh_counsellor })).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);
    assert_eq!(accepted.body["status"], "accepted");

    let moved = fetch(&app, &zh, &case).await;
    assert_eq!(moved["reference"], case["reference"]);
    assert_eq!(moved["counselling_service_id"], zurich.as_str());
    assert_eq!(moved["canton"], "ZH");
    assert_eq!(moved["counsellor_id"], zh_counsellor.as_str());
    assert_eq!(moved["pending_transfer"], Value::Null);
    app.get(&path, Some(&team.be)).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
    answer(&app, &zh, &case, "accept", &json!({ "counsellor_id": zh_counsellor }))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // SEM sees both steps; the sender's earlier reads stay in the access log.
    let events = history(&app, &team.sem, &case).await;
    assert_eq!(entries(&events, "propose_transfer")[0]["comment"], "Moved to Winterthur, ref MV88");
    assert_eq!(entries(&events, "accept_transfer").len(), 1);
    let reads: i64 = sqlx::query_scalar(
        "select count(*) from audit_events e join users u on u.id = e.actor_id \
         where u.email = $1 and e.action = 'case.read' and e.resource_id = $2::uuid and e.outcome = 'allowed'",
    )
    .bind(BE)
    .bind(id_of(&case))
    .fetch_one(&app.pool)
    .await
    .expect("reads");
    assert!(reads >= 1);
}

#[sqlx::test]
async fn a_declined_transfer_leaves_the_case_where_it_was(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let (zurich, _, zh) = zurich(&app).await;
    let case = ready_case(&app, &team, "10000012").await;
    assert_eq!(offer(&app, &team.be, &case, &zurich).await.status, StatusCode::CREATED);
    let pending = fetch(&app, &team.be, &case).await;
    let path = format!("/v1/cases/{}", id_of(&case));
    let edit = json!({ "planned_departure_date": null });
    patch(&app, &team.be, &path, &etag(&pending), &edit)
        .await
        .assert_problem(StatusCode::CONFLICT, "transfer_pending");
    assert_names(&answer(&app, &zh, &case, "decline", &json!({})).await, "reason", "required");
    let declined =
        answer(&app, &zh, &case, "decline", &json!({ "reason": "Not our canton, ref DT02" })).await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.text);
    assert_eq!(declined.body["decline_reason"], "Not our canton, ref DT02");
    answer(&app, &zh, &case, "decline", &json!({ "reason": "x" }))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let seen = fetch(&app, &team.be, &case).await;
    assert_eq!(seen["pending_transfer"], Value::Null);
    assert_eq!(seen["allowed_actions"], json!(["submit", "withdraw"]));
    let edited = patch(&app, &team.be, &path, &etag(&seen), &edit).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
    let events = history(&app, &team.be, &case).await;
    assert_eq!(entries(&events, "decline_transfer")[0]["comment"], "Not our canton, ref DT02");
}

#[sqlx::test]
async fn a_transfer_goes_to_another_service_before_travel_is_booked(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let (zurich, _, _) = zurich(&app).await;
    let bern = institution_id(&app.pool, "Rückkehrberatung Kanton Bern").await;
    let sem = institution_id(&app.pool, "SEM").await;
    let case = ready_case(&app, &team, "10000013").await;
    assert_names(&offer(&app, &team.be, &case, &bern).await, "to_service_id", "same_service");
    assert_names(
        &offer(&app, &team.be, &case, &sem).await,
        "to_service_id",
        "not_a_counselling_service",
    );
    let missing =
        app.post(&format!("/v1/cases/{}/transfer", id_of(&case)), Some(&team.be), &json!({})).await;
    assert_names(&missing, "to_service_id", "required");
    assert_names(&missing, "reason", "required");
    offer(&app, &team.sem, &case, &zurich).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
    let booked = approved_case(&app, &team, "10000014", &approval()).await;
    let booked = act(&app, &team.repat, &booked, &booking(false)).await;
    offer(&app, &team.be, &booked, &zurich)
        .await
        .assert_problem(StatusCode::CONFLICT, "transfer_not_possible");
}

#[sqlx::test]
async fn a_transfer_accepted_while_the_sender_edits_one_wins(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let (zurich, zh_counsellor, zh) = zurich(&app).await;
    let case = ready_case(&app, &team, "10000015").await;
    let path = format!("/v1/cases/{}", id_of(&case));
    // The sender edits with the version it read before proposing; the receiver accepts.
    let before = fetch(&app, &team.be, &case).await;
    assert_eq!(offer(&app, &team.be, &case, &zurich).await.status, StatusCode::CREATED);
    let edit = json!({ "planned_departure_date": null });
    let accept = json!({ "counsellor_id": zh_counsellor });
    let version = etag(&before);
    let (edited, accepted) = tokio::join!(
        patch(&app, &team.be, &path, &version, &edit),
        answer(&app, &zh, &case, "accept", &accept),
    );
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);
    assert!(
        [StatusCode::CONFLICT, StatusCode::NOT_FOUND, StatusCode::PRECONDITION_FAILED]
            .contains(&edited.status),
        "{}",
        edited.text
    );
    let now = fetch(&app, &zh, &case).await;
    assert_eq!(now["planned_departure_date"], before["planned_departure_date"]);
    assert_eq!(now["counselling_service_id"], zurich.as_str());
}

#[sqlx::test]
async fn the_queue_offers_transfers_and_proposals_to_whom_they_wait_for(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let (_, sem2) = colleague(&app, SEM, "sem.two@demo.test").await;
    let (zurich, _, zh) = zurich(&app).await;
    let queue = |token: String| {
        let app = &app;
        async move { app.get("/v1/me/queue", Some(&token)).await.body }
    };
    // A draft offered to Zurich: Zurich's queue has it, Bern's no longer offers to submit it.
    let draft = ready_case(&app, &team, "10000031").await;
    assert_eq!(offer(&app, &team.be, &draft, &zurich).await.status, StatusCode::CREATED);
    let zurich_queue = queue(zh.clone()).await;
    let offered: Vec<&Value> = zurich_queue["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["kind"] == "decide_transfer")
        .collect();
    assert_eq!(offered.len(), 1, "{zurich_queue}");
    assert_eq!(offered[0]["reference"], draft["reference"]);
    assert_eq!(zurich_queue["counts"]["decide_transfer"], 1);
    let bern_queue = queue(team.be.clone()).await;
    assert!(
        !bern_queue["items"].as_array().expect("items").iter().any(|i| i["case_id"] == draft["id"]),
        "{bern_queue}"
    );

    // A proposal waits for the other officers, not for its proposer.
    let case = reviewed_case(&app, &team, "10000032").await;
    let body =
        json!({ "justification": "Treatment abroad", "transition": approval_above_entitlement() });
    assert_eq!(propose(&app, &team.sem, &case, &body).await.status, StatusCode::CREATED);
    let confirming = |q: &Value| {
        q["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|i| i["kind"] == "confirm_proposal")
            .count()
    };
    assert_eq!(confirming(&queue(sem2.clone()).await), 1);
    assert_eq!(confirming(&queue(team.sem.clone()).await), 0);
}
