//! The return workflow as the suites drive it: the demo team signed in, transition bodies,
//! and cases brought to a status through the real transitions.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use super::app::{TestApp, TestResponse};
use super::cases::{BE, case_body, open_case};

pub const SEM: &str = "sem@demo.test";
pub const REPAT: &str = "swissrepat@demo.test";
pub const IOM: &str = "iom@demo.test";
pub const MISSION: &str = "mission.iq@demo.test";

/// The demo users signed in.
pub struct Team {
    pub be: String,
    pub sem: String,
    pub repat: String,
    pub iom: String,
    pub mission: String,
}

impl Team {
    pub async fn new(app: &TestApp) -> Self {
        Team {
            be: app.login(BE).await,
            sem: app.login(SEM).await,
            repat: app.login(REPAT).await,
            iom: app.login(IOM).await,
            mission: app.login(MISSION).await,
        }
    }
}

/// What a case needs to be submitted: eligibility answered, the declaration signed and the
/// assistance requested.
pub fn ready(mut body: Value) -> Value {
    body["eligibility"] = json!({ "criminal_offences": false, "abuse": false,
        "sufficient_assets": false, "prior_assistance": false });
    body["voluntariness_declaration"] = json!({ "signed_on": today() });
    body["requested_assistance"] = json!([
        { "component": "startup_cash", "amount_rappen": 150000 },
        { "component": "travel_money", "amount_rappen": 20000 },
        { "component": "reintegration_project", "amount_rappen": 300000 }
    ]);
    body
}

pub fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

/// The principal (adult) and the child of `case_body`, in the cantonal programme, are
/// entitled to CHF 1,500 start-up cash, CHF 200 travel money and a CHF 3,000 project.
pub fn approval() -> Value {
    json!({ "action": "approve", "reasons": "Eligible; family returns together.",
        "override_justification": null,
        "approved_assistance": [
            { "component": "startup_cash", "amount_rappen": 150000 },
            { "component": "travel_money", "amount_rappen": 20000 },
            { "component": "reintegration_project", "amount_rappen": 300000 }
        ] })
}

pub fn booking(sim: bool) -> Value {
    let departure = (chrono::Utc::now() + chrono::Duration::days(14)).to_rfc3339();
    json!({ "action": "book_travel", "itinerary": { "departure_airport": "ZRH",
        "departure_at": departure, "flights": ["TK1912", "TK 294"],
        "destination_airport": "EBL", "escort": "none", "sim": sim } })
}

pub fn departure(startup_cash: i64, travel_money: i64) -> Value {
    let at = (chrono::Utc::now() - chrono::Duration::minutes(10)).to_rfc3339();
    json!({ "action": "confirm_departure", "departed_at": at,
        "payout": { "startup_cash_rappen": startup_cash, "travel_money_rappen": travel_money,
                    "receipt_reference": "ZRH-2026-1234" } })
}

pub fn id_of(case: &Value) -> String {
    case["id"].as_str().expect("id").to_owned()
}

pub fn etag(case: &Value) -> String {
    format!("\"{}\"", case["version"])
}

/// Sends a transition with the case's current ETag. A `submit` of a case without the signed
/// request for return assistance, which the installation requires, is preceded by its
/// upload (as the caller: a refused upload leaves the submission to be refused).
pub async fn transition(app: &TestApp, token: &str, case: &Value, body: &Value) -> TestResponse {
    if body["action"] == "submit" && !app.has_return_request(&id_of(case)).await {
        let signed = super::documents::pdf("Antrag auf Rueckkehrhilfe, unterschrieben");
        app.upload(token, &id_of(case), "return_request", "antrag.pdf", signed).await;
    }
    if body["action"] == "start_reintegration" && !has_mission_consent(app, &id_of(case)).await {
        consent_to_mission(app, token, &id_of(case)).await;
    }
    let path = format!("/v1/cases/{}/transitions", id_of(case));
    app.send(Method::POST, &path, Some(token), Some(body), &[("if-match", &etag(case))]).await
}

/// Whether some person of the case consents to the transfer of their data to the mission.
pub async fn has_mission_consent(app: &TestApp, case_id: &str) -> bool {
    let id: uuid::Uuid = case_id.parse().expect("case id");
    sqlx::query_scalar(
        "select exists (select 1 from consents where case_id = $1 \
         and purpose = 'transfer_to_mission' and withdrawn_on is null)",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .expect("consents")
}

/// Records, as `token`, the consent of every travelling person of the case to the transfer
/// of their data to the mission, on a signed consent form uploaded first; returns the form's
/// id.
pub async fn consent_to_mission(app: &TestApp, token: &str, case_id: &str) -> String {
    let form = super::documents::pdf("Einwilligung Datenweitergabe, unterschrieben");
    let uploaded = app.upload(token, case_id, "consent_form", "einwilligung.pdf", form).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text);
    let document_id = uploaded.body["id"].as_str().expect("document id").to_owned();
    let id: uuid::Uuid = case_id.parse().expect("case id");
    let persons: Vec<uuid::Uuid> =
        sqlx::query_scalar("select id from case_persons where case_id = $1 and travelling")
            .bind(id)
            .fetch_all(&app.pool)
            .await
            .expect("persons");
    for person in persons {
        let consent = json!({ "person_id": person, "purpose": "transfer_to_mission",
            "sheet_version": "2026-03", "sheet_language": "de", "given_on": today(),
            "document_id": document_id });
        let path = format!("/v1/cases/{case_id}/consents");
        let recorded = app.post(&path, Some(token), &consent).await;
        assert_eq!(recorded.status, StatusCode::CREATED, "{}", recorded.text);
    }
    document_id
}

/// A transition that must succeed; returns the case after it.
pub async fn act(app: &TestApp, token: &str, case: &Value, body: &Value) -> Value {
    let response = transition(app, token, case, body).await;
    assert_eq!(response.status, StatusCode::OK, "{body}: {}", response.text);
    assert_eq!(response.header("etag"), Some(etag(&response.body).as_str()));
    response.body
}

pub async fn institution_id(pool: &PgPool, name: &str) -> String {
    let id: uuid::Uuid = sqlx::query_scalar("select id from institutions where name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
        .expect("institution");
    id.to_string()
}

pub async fn user_id(pool: &PgPool, email: &str) -> String {
    let id: uuid::Uuid = sqlx::query_scalar("select id from users where email = $1")
        .bind(email)
        .fetch_one(pool)
        .await
        .expect("user");
    id.to_string()
}

/// A case of the Bernese counselling service, ready to submit.
pub async fn ready_case(app: &TestApp, team: &Team, zemis: &str) -> Value {
    open_case(app, &team.be, &ready(case_body("Hassan", Some(zemis)))).await
}

/// A case driven through submission and review to `approved`.
pub async fn approved_case(app: &TestApp, team: &Team, zemis: &str, approve: &Value) -> Value {
    let case = ready_case(app, team, zemis).await;
    let case = act(app, &team.be, &case, &json!({ "action": "submit" })).await;
    let case = act(app, &team.sem, &case, &json!({ "action": "start_review" })).await;
    decide(app, &team.sem, &case, approve).await
}

/// A case driven on to `departed` with the full payout.
pub async fn departed_case(app: &TestApp, team: &Team, zemis: &str, approve: &Value) -> Value {
    let case = approved_case(app, team, zemis, approve).await;
    let case = act(app, &team.repat, &case, &booking(false)).await;
    act(app, &team.repat, &case, &departure(150000, 20000)).await
}

/// A case in reintegration at IOM Iraq.
pub async fn reintegration_case(app: &TestApp, team: &Team, zemis: &str) -> Value {
    let case = departed_case(app, team, zemis, &approval()).await;
    let mission_id = institution_id(&app.pool, "IOM Iraq").await;
    let start = json!({ "action": "start_reintegration", "mission_id": mission_id });
    act(app, &team.iom, &case, &start).await
}

/// A colleague of `email` at the same institution, in the same role and with the demo
/// password, signed in: `(user id, token)`.
pub async fn colleague(app: &TestApp, email: &str, new_email: &str) -> (String, String) {
    let id = uuid::Uuid::now_v7();
    sqlx::query(
        "insert into users (id, institution_id, email, display_name, role, password_hash) \
         select $1, institution_id, $2, 'Colleague of ' || display_name, role, password_hash \
         from users where email = $3",
    )
    .bind(id)
    .bind(new_email)
    .bind(email)
    .execute(&app.pool)
    .await
    .expect("colleague");
    (id.to_string(), app.login(new_email).await)
}

/// An approval of start-up cash above the household's entitlement, with its justification.
pub fn approval_above_entitlement() -> Value {
    json!({ "action": "approve", "reasons": "Eligible; family returns together.",
        "override_justification": "Medical needs of the child, ref OJ77",
        "approved_assistance": [
            { "component": "startup_cash", "amount_rappen": 250000 },
            { "component": "travel_money", "amount_rappen": 20000 },
            { "component": "reintegration_project", "amount_rappen": 300000 }
        ] })
}

/// A case of the Bernese service submitted and taken for review by `team.sem`.
pub async fn reviewed_case(app: &TestApp, team: &Team, zemis: &str) -> Value {
    let case = ready_case(app, team, zemis).await;
    let case = act(app, &team.be, &case, &json!({ "action": "submit" })).await;
    act(app, &team.sem, &case, &json!({ "action": "start_review" })).await
}

/// A second SEM officer (`sem.second@demo.test`), added once, signed in.
pub async fn second_officer(app: &TestApp) -> String {
    let exists: bool = sqlx::query_scalar(
        "select exists (select 1 from users where email = 'sem.second@demo.test')",
    )
    .fetch_one(&app.pool)
    .await
    .expect("user");
    if exists {
        return app.login("sem.second@demo.test").await;
    }
    colleague(app, SEM, "sem.second@demo.test").await.1
}

/// A SEM decision by `sem` that must be carried out: taken directly, or, where it needs a
/// second officer (an approval above the entitlement, a cancellation after booking),
/// proposed by `sem` and confirmed by [`second_officer`]. Returns the case after it.
pub async fn decide(app: &TestApp, sem: &str, case: &Value, body: &Value) -> Value {
    let direct = transition(app, sem, case, body).await;
    if direct.status == StatusCode::OK {
        return direct.body;
    }
    direct.assert_problem(StatusCode::CONFLICT, "second_person_required");
    let path = format!("/v1/cases/{}/proposals", id_of(case));
    let proposal = json!({ "justification": "As the reviewer proposes.", "transition": body });
    let proposed = app.post(&path, Some(sem), &proposal).await;
    assert_eq!(proposed.status, StatusCode::CREATED, "{}", proposed.text);
    let confirm = format!("{path}/{}/confirm", proposed.body["id"].as_str().expect("id"));
    let second = second_officer(app).await;
    let confirmed = app.send(Method::POST, &confirm, Some(&second), None, &[]).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text);
    confirmed.body
}

/// Waives an open reclaim of `case`: proposed by `sem`, confirmed by [`second_officer`].
pub async fn waive_reclaim(app: &TestApp, sem: &str, case: &Value, reclaim_id: &str) {
    let path = format!("/v1/cases/{}/proposals", id_of(case));
    let body =
        json!({ "justification": "Hardship.", "reclaim_waiver": { "reclaim_id": reclaim_id } });
    let proposed = app.post(&path, Some(sem), &body).await;
    assert_eq!(proposed.status, StatusCode::CREATED, "{}", proposed.text);
    let confirm = format!("{path}/{}/confirm", proposed.body["id"].as_str().expect("id"));
    let second = second_officer(app).await;
    let confirmed = app.send(Method::POST, &confirm, Some(&second), None, &[]).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text);
}

/// How many access-log events of `action` ended with `outcome` (`allowed`, `denied`).
pub async fn audit_count(pool: &PgPool, action: &str, outcome: &str) -> i64 {
    sqlx::query_scalar("select count(*) from audit_events where action = $1 and outcome = $2")
        .bind(action)
        .bind(outcome)
        .fetch_one(pool)
        .await
        .expect("count")
}
