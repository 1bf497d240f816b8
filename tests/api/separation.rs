//! Separation of duties: the operator's administrators manage institutions and their first
//! administrators; an institution's administrator manages its own accounts; a grant of access
//! to case data or the access log by an institution's only administrator waits for a second
//! one; no administrator reads cases or the access log.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{TestApp, TestResponse, assert_names, institution_id};

const OPERATOR: &str = "admin@demo.test";
const BERN_ADMIN: &str = "admin.be@demo.test";
const SEM_ADMIN: &str = "admin.sem@demo.test";
const BERN: &str = "Rückkehrberatung Kanton Bern";

fn user(email: &str, role: &str, institution: &str) -> Value {
    json!({ "email": email, "display_name": "New User", "role": role,
            "institution_id": institution, "password": "a long and unusual passphrase" })
}

fn account(institution: &str, scopes: &[&str]) -> Value {
    json!({ "institution_id": institution, "name": "Integration", "scopes": scopes })
}

fn id(response: &TestResponse) -> String {
    response.body["id"].as_str().expect("id").to_owned()
}

async fn sign_in_as(app: &TestApp, email: &str) -> TestResponse {
    app.post(
        "/v1/auth/login",
        None,
        &json!({ "email": email, "password": "a long and unusual passphrase" }),
    )
    .await
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_operator_grants_no_access_to_cases_or_the_access_log(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let operator = app.login(OPERATOR).await;
    let sem = institution_id(&pool, "SEM").await;
    let bern = institution_id(&pool, BERN).await;
    let operator_institution = institution_id(&pool, "Retour operator").await;
    // No user who reads cases, at any institution.
    for (role, institution) in [("sem_officer", &sem), ("counsellor", &bern)] {
        let refused =
            app.post("/v1/users", Some(&operator), &user("x@demo.test", role, institution)).await;
        refused.assert_problem(StatusCode::FORBIDDEN, "separation_of_duties");
    }
    // No service account that reads cases; none at the operator that reads the access log.
    app.post("/v1/service-accounts", Some(&operator), &account(&sem, &["cases:read"]))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "separation_of_duties");
    let own = app
        .post(
            "/v1/service-accounts",
            Some(&operator),
            &account(&operator_institution, &["events:read"]),
        )
        .await;
    assert_names(&own, "scopes", "scope_institution_mismatch");
    // It neither reads nor changes an institution's users.
    let counsellor: Uuid =
        sqlx::query_scalar("select id from users where email = 'counsellor.be@demo.test'")
            .fetch_one(&pool)
            .await
            .expect("user");
    app.get(&format!("/v1/users/{counsellor}"), Some(&operator))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "separation_of_duties");
    let promote = app
        .send(
            Method::PATCH,
            &format!("/v1/users/{counsellor}"),
            Some(&operator),
            Some(&json!({ "display_name": "X" })),
            &[],
        )
        .await;
    promote.assert_problem(StatusCode::FORBIDDEN, "separation_of_duties");
    // Its list holds the operator's accounts and the institutions' administrators only.
    let listed = app.get("/v1/users?limit=200", Some(&operator)).await;
    let roles: Vec<&str> = listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["role"].as_str().expect("role"))
        .collect();
    assert!(!roles.is_empty());
    assert!(roles.iter().all(|r| *r == "admin" || *r == "institution_admin"), "{roles:?}");
    // It cannot make a second administrator of an institution that has one.
    let second = app
        .post("/v1/users", Some(&operator), &user("second@demo.test", "institution_admin", &sem))
        .await;
    second.assert_problem(StatusCode::CONFLICT, "institution_has_administrator");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_operator_appoints_a_new_institutions_first_administrator(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let operator = app.login(OPERATOR).await;
    let created = app
        .post(
            "/v1/institutions",
            Some(&operator),
            &json!({ "kind": "iom_mission", "name": "IOM Somalia", "country": "SO" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    // Outside the demo an institution requires a second factor unless told otherwise.
    assert_eq!(created.body["mfa_required"], true);
    let mission = id(&created);
    let first = app
        .post(
            "/v1/users",
            Some(&operator),
            &user("admin.so@demo.test", "institution_admin", &mission),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.body["status"], "active");
    let again = app
        .post(
            "/v1/users",
            Some(&operator),
            &user("admin2.so@demo.test", "institution_admin", &mission),
        )
        .await;
    again.assert_problem(StatusCode::CONFLICT, "institution_has_administrator");
    // The new administrator must sign in with a second factor (enrolling one first).
    let signed = sign_in_as(&app, "admin.so@demo.test").await;
    signed.assert_problem(StatusCode::UNAUTHORIZED, "mfa_required");
    assert_eq!(signed.body["mfa_enrolment_required"], true);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_lone_administrators_grant_waits_for_a_second_person(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let bern = institution_id(&pool, BERN).await;
    let bern_admin = app.login(BERN_ADMIN).await;
    let created = app
        .post("/v1/users", Some(&bern_admin), &user("new.be@demo.test", "counsellor", &bern))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["status"], "pending_approval");
    let user_id = id(&created);
    // Waiting, it cannot sign in.
    sign_in_as(&app, "new.be@demo.test")
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let approval = format!("/v1/users/{user_id}/approval");
    // Not by the one who asked, not by another institution's administrator, not by a user.
    app.send(Method::POST, &approval, Some(&bern_admin), None, &[])
        .await
        .assert_problem(StatusCode::CONFLICT, "second_person_required");
    let sem_admin = app.login(SEM_ADMIN).await;
    app.send(Method::POST, &approval, Some(&sem_admin), None, &[])
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let counsellor = app.login("counsellor.be@demo.test").await;
    app.send(Method::POST, &approval, Some(&counsellor), None, &[])
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // The operator's administrator seconds it.
    let operator = app.login(OPERATOR).await;
    let approved = app.send(Method::POST, &approval, Some(&operator), None, &[]).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    assert_eq!(approved.body["status"], "active");
    assert_eq!(sign_in_as(&app, "new.be@demo.test").await.status, StatusCode::OK);
    app.send(Method::POST, &approval, Some(&operator), None, &[])
        .await
        .assert_problem(StatusCode::CONFLICT, "not_pending");
    // Service accounts: statistics need no approval, case data does.
    let stats =
        app.post("/v1/service-accounts", Some(&bern_admin), &account(&bern, &["stats:read"])).await;
    assert_eq!(stats.body["status"], "active", "{}", stats.text);
    let cases =
        app.post("/v1/service-accounts", Some(&bern_admin), &account(&bern, &["cases:read"])).await;
    assert_eq!(cases.body["status"], "pending_approval", "{}", cases.text);
    let client_id = cases.body["client_id"].as_str().expect("client id");
    let secret = cases.body["client_secret"].as_str().expect("secret");
    let token = app
        .send_request(
            axum::http::Request::builder()
                .method(Method::POST)
                .uri("/v1/auth/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(format!(
                    "grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
                )))
                .expect("request"),
        )
        .await;
    assert_eq!(token.status, StatusCode::UNAUTHORIZED, "a pending account gets no token");
    // Adding a case scope to the statistics account makes it wait too.
    let widened = app
        .send(
            Method::PATCH,
            &format!("/v1/service-accounts/{}", id(&stats)),
            Some(&bern_admin),
            Some(&json!({ "scopes": ["stats:read", "case-events:read"] })),
            &[],
        )
        .await;
    assert_eq!(widened.body["status"], "pending_approval", "{}", widened.text);
    let approved = app
        .send(
            Method::POST,
            &format!("/v1/service-accounts/{}/approval", id(&cases)),
            Some(&operator),
            None,
            &[],
        )
        .await;
    assert_eq!(approved.body["status"], "active", "{}", approved.text);
    // The approvals are in the access log.
    let approvals: i64 = sqlx::query_scalar(
        "select count(*) from audit_events where action in ('user.approve', 'service_account.approve')",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(approvals, 2);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn with_two_administrators_an_institution_grants_on_its_own(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let bern = institution_id(&pool, BERN).await;
    let bern_admin = app.login(BERN_ADMIN).await;
    let operator = app.login(OPERATOR).await;
    // A second administrator is a grant too: approved by the operator's administrator.
    let second = app
        .post(
            "/v1/users",
            Some(&bern_admin),
            &user("admin2.be@demo.test", "institution_admin", &bern),
        )
        .await;
    assert_eq!(second.body["status"], "pending_approval", "{}", second.text);
    let approved = app
        .send(
            Method::POST,
            &format!("/v1/users/{}/approval", id(&second)),
            Some(&operator),
            None,
            &[],
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    let created = app
        .post("/v1/users", Some(&bern_admin), &user("new.be@demo.test", "counsellor", &bern))
        .await;
    assert_eq!(created.body["status"], "active", "{}", created.text);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_institutions_administrator_sees_only_its_own_accounts(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let bern_admin = app.login(BERN_ADMIN).await;
    let sem = institution_id(&pool, "SEM").await;
    let bern = institution_id(&pool, BERN).await;
    let listed = app.get("/v1/users?limit=200", Some(&bern_admin)).await;
    let items = listed.body["items"].as_array().expect("items");
    assert!(items.len() >= 3, "{}", listed.text);
    assert!(items.iter().all(|u| u["institution_id"] == json!(bern)), "{}", listed.text);
    let sem_officer: Uuid =
        sqlx::query_scalar("select id from users where email = 'sem@demo.test'")
            .fetch_one(&pool)
            .await
            .expect("user");
    app.get(&format!("/v1/users/{sem_officer}"), Some(&bern_admin))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    app.post("/v1/users", Some(&bern_admin), &user("x@demo.test", "sem_officer", &sem))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "separation_of_duties");
    app.post("/v1/service-accounts", Some(&bern_admin), &account(&sem, &["stats:read"]))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "separation_of_duties");
    let accounts = app.get("/v1/service-accounts", Some(&bern_admin)).await;
    assert_eq!(accounts.status, StatusCode::OK);
    // An administrator cannot change their own role.
    let me: Uuid = sqlx::query_scalar("select id from users where email = $1")
        .bind(BERN_ADMIN)
        .fetch_one(&pool)
        .await
        .expect("me");
    let own = app
        .send(
            Method::PATCH,
            &format!("/v1/users/{me}"),
            Some(&bern_admin),
            Some(&json!({ "role": "counsellor" })),
            &[],
        )
        .await;
    assert_names(&own, "role", "own_account");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn no_administrator_reads_cases_or_the_access_log(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let counsellor = app.login("counsellor.be@demo.test").await;
    let case =
        crate::support::open_case(&app, &counsellor, &crate::support::case_body("Canary", None))
            .await;
    let case_id = case["id"].as_str().expect("id");
    for email in [OPERATOR, BERN_ADMIN, SEM_ADMIN, "admin.iom@demo.test"] {
        let token = app.login(email).await;
        let listed = app.get("/v1/cases", Some(&token)).await;
        assert_eq!(listed.body["items"], json!([]), "{email}: {}", listed.text);
        app.get(&format!("/v1/cases/{case_id}"), Some(&token))
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
        app.get("/v1/audit-events", Some(&token))
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
        app.get("/v1/events", Some(&token))
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
}
