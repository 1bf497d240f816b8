//! Administration of institutions, users and service accounts.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{DEMO_PASSWORD, TestApp, TestResponse};

const NON_ADMINS: [&str; 7] = [
    "counsellor.be@demo.test",
    "counsellor.zh@demo.test",
    "sem@demo.test",
    "swissrepat@demo.test",
    "iom@demo.test",
    "mission.iq@demo.test",
    "auditor@demo.test",
];

async fn institution_id(app: &TestApp, name: &str) -> Uuid {
    let (id,): (Uuid,) = sqlx::query_as("select id from institutions where name = $1")
        .bind(name)
        .fetch_one(&app.pool)
        .await
        .expect("institution");
    id
}

async fn user_id(app: &TestApp, email: &str) -> Uuid {
    let (id,): (Uuid,) = sqlx::query_as("select id from users where email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .expect("user");
    id
}

async fn patch(app: &TestApp, path: &str, token: &str, body: &Value) -> TestResponse {
    app.send(Method::PATCH, path, Some(token), Some(body), &[]).await
}

async fn audit_events(app: &TestApp, action: &str) -> Vec<(Option<Uuid>, Option<Uuid>, Value)> {
    sqlx::query_as(
        "select actor_id, resource_id, details from audit_events where action = $1 order by id",
    )
    .bind(action)
    .fetch_all(&app.pool)
    .await
    .expect("audit")
}

fn new_user(institution: Uuid, role: &str) -> Value {
    json!({
        "email": "Nina.Frei@Caritas.test", "display_name": "Nina Frei", "role": role,
        "institution_id": institution, "password": "a long and unusual passphrase",
    })
}

#[track_caller]
fn assert_field(response: &TestResponse, field: &str, code: &str) {
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let errors = response.body["errors"].as_array().expect("errors");
    assert!(
        errors.iter().any(|e| e["field"] == field && e["code"] == code),
        "expected {field}/{code}: {}",
        response.text
    );
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn non_admins_are_refused_on_every_admin_endpoint(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let sem = institution_id(&app, "SEM").await;
    let some_user = user_id(&app, "sem@demo.test").await;
    let attempts: [(Method, String, Option<Value>); 10] = [
        (Method::GET, "/v1/users".into(), None),
        (Method::GET, format!("/v1/users/{some_user}"), None),
        (Method::POST, "/v1/users".into(), Some(new_user(sem, "sem_officer"))),
        (Method::PATCH, format!("/v1/users/{some_user}"), Some(json!({"status": "disabled"}))),
        (Method::POST, "/v1/institutions".into(), Some(json!({"kind": "sem", "name": "SEM 2"}))),
        (Method::PATCH, format!("/v1/institutions/{sem}"), Some(json!({"active": false}))),
        (Method::GET, "/v1/service-accounts".into(), None),
        (
            Method::POST,
            "/v1/service-accounts".into(),
            Some(json!({"institution_id": sem, "name": "x", "scopes": ["stats:read"]})),
        ),
        (Method::GET, format!("/v1/service-accounts/{}", Uuid::now_v7()), None),
        (Method::PATCH, format!("/v1/service-accounts/{}", Uuid::now_v7()), Some(json!({}))),
    ];
    for email in NON_ADMINS {
        let token = app.login(email).await;
        for (method, path, body) in &attempts {
            let response = app.send(method.clone(), path, Some(&token), body.as_ref(), &[]).await;
            assert_eq!(response.status, StatusCode::FORBIDDEN, "{email} {method} {path}");
            response.assert_problem(StatusCode::FORBIDDEN, "forbidden");
        }
    }
    // Nothing was written.
    assert_eq!(
        app.get("/v1/me", Some(&app.login("sem@demo.test").await)).await.status,
        StatusCode::OK
    );
    let (count,): (i64,) =
        sqlx::query_as("select count(*) from users").fetch_one(&app.pool).await.expect("count");
    assert_eq!(count, 14);
    // Without a token it is 401, as everywhere.
    app.get("/v1/users", None).await.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn every_signed_in_user_lists_institutions_but_only_admins_see_contacts(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let counsellor = app.login("counsellor.be@demo.test").await;
    let listed = app.get("/v1/institutions?kind=iom_mission", Some(&counsellor)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let items = listed.body["items"].as_array().expect("items");
    assert!(items.iter().all(|i| i["kind"] == "iom_mission"));
    assert!(items.iter().any(|i| i["name"] == "IOM Iraq" && i["country"] == "IQ"));
    let all = app.get("/v1/institutions", Some(&counsellor)).await;
    let bern = all.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["canton"] == "BE")
        .expect("Bern")
        .clone();
    assert!(bern.get("contact_email").is_none(), "{bern}");
    let one = app
        .get(&format!("/v1/institutions/{}", bern["id"].as_str().expect("id")), Some(&counsellor))
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(one.body.get("contact_email").is_none());

    let admin = app.login("admin@demo.test").await;
    let all = app.get("/v1/institutions", Some(&admin)).await;
    let bern = all.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["canton"] == "BE")
        .expect("Bern")
        .clone();
    assert_eq!(bern["contact_email"], "rueckkehr@be.demo.test");
    assert!(bern["contact_phone"].is_null() && bern.get("contact_phone").is_some());

    app.get("/v1/institutions?kind=castle", Some(&admin))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.get(&format!("/v1/institutions/{}", Uuid::now_v7()), Some(&admin))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_admin_creates_institutions_whose_location_fits_their_kind(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.login("admin@demo.test").await;
    let created = app
        .post(
            "/v1/institutions",
            Some(&admin),
            &json!({"kind": "iom_mission", "name": "IOM Somalia", "country": "SO",
                    "contact_email": "somalia@iom.test"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().expect("id");
    assert_eq!(created.header("location"), Some(format!("/v1/institutions/{id}").as_str()));
    assert_eq!(created.body["country"], "SO");
    assert_eq!(created.body["active"], true);
    let events = audit_events(&app, "institution.create").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1.map(|u| u.to_string()).as_deref(), Some(id));

    let invalid = [
        (json!({"kind": "counselling_service", "name": "RKB Nowhere"}), "canton", "required"),
        (
            json!({"kind": "counselling_service", "name": "RKB Both", "canton": "BE", "federal_region": "Bern"}),
            "federal_region",
            "not_allowed",
        ),
        (json!({"kind": "iom_mission", "name": "IOM Nowhere"}), "country", "required"),
        (
            json!({"kind": "iom_mission", "name": "IOM Lower", "country": "so"}),
            "country",
            "invalid_format",
        ),
        (json!({"kind": "sem", "name": "SEM Basel", "canton": "BS"}), "canton", "not_allowed"),
        (json!({"kind": "operator", "name": "  "}), "name", "required"),
        (
            json!({"kind": "operator", "name": "Ops", "contact_email": "not-an-email"}),
            "contact_email",
            "invalid_format",
        ),
    ];
    for (body, field, code) in invalid {
        assert_field(&app.post("/v1/institutions", Some(&admin), &body).await, field, code);
    }
    app.post("/v1/institutions", Some(&admin), &json!({"kind": "castle", "name": "x"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let taken = app
        .post("/v1/institutions", Some(&admin), &json!({"kind": "sem", "name": "iom somalia"}))
        .await;
    taken.assert_problem(StatusCode::CONFLICT, "name_taken");
    assert_eq!(audit_events(&app, "institution.create").await.len(), 1, "no partial writes");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn disabling_an_institution_stops_its_users(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.login("admin@demo.test").await;
    let login = app.login_response("counsellor.zh@demo.test").await;
    let access = login.body["access_token"].as_str().expect("access").to_owned();
    let refresh = login.body["refresh_token"].clone();
    let zurich = institution_id(&app, "Rückkehrberatung Kanton Zürich").await;

    let changed = patch(
        &app,
        &format!("/v1/institutions/{zurich}"),
        &admin,
        &json!({"active": false, "contact_phone": "+41 44 000 00 00", "contact_email": null}),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.body["active"], false);
    assert_eq!(changed.body["contact_phone"], "+41 44 000 00 00");
    assert!(changed.body["contact_email"].is_null());
    app.get("/v1/me", Some(&access))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    app.post("/v1/auth/refresh", None, &json!({"refresh_token": refresh}))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    let events = audit_events(&app, "institution.update").await;
    assert_eq!(events[0].2, json!({"fields": ["contact_email", "contact_phone", "active"]}));

    // Nor can users be added to it; and the kind cannot change.
    assert_field(
        &app.post("/v1/users", Some(&admin), &new_user(zurich, "counsellor")).await,
        "institution_id",
        "inactive",
    );
    patch(&app, &format!("/v1/institutions/{zurich}"), &admin, &json!({"kind": "sem"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // An admin cannot disable the operator itself.
    let operator = institution_id(&app, "Retour operator").await;
    assert_field(
        &patch(&app, &format!("/v1/institutions/{operator}"), &admin, &json!({"active": false}))
            .await,
        "active",
        "own_institution",
    );
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_admin_creates_a_user_who_can_then_sign_in(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.login("admin.be@demo.test").await;
    let bern = institution_id(&app, "Rückkehrberatung Kanton Bern").await;
    let created = app.post("/v1/users", Some(&admin), &new_user(bern, "counsellor")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["email"], "Nina.Frei@Caritas.test");
    assert_eq!(created.body["role"], "counsellor");
    // Bern's only administrator made it: it waits for a second administrator.
    assert_eq!(created.body["status"], "pending_approval");
    assert!(created.body.get("password").is_none() && created.body.get("password_hash").is_none());
    let id = created.body["id"].as_str().expect("id");
    assert_eq!(created.header("location"), Some(format!("/v1/users/{id}").as_str()));
    let operator = app.login("admin@demo.test").await;
    let approval = format!("/v1/users/{id}/approval");
    let approved = app.send(Method::POST, &approval, Some(&operator), None, &[]).await;
    assert_eq!(approved.body["status"], "active", "{}", approved.text);

    let token = app
        .post(
            "/v1/auth/login",
            None,
            &json!({"email": "nina.frei@caritas.test", "password": "a long and unusual passphrase"}),
        )
        .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text);

    let events = audit_events(&app, "user.create").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, Some(user_id(&app, "admin.be@demo.test").await));
    assert_eq!(events[0].1.map(|u| u.to_string()).as_deref(), Some(id));
    assert_eq!(events[0].2, json!({"fields": []}));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_user_whose_role_does_not_fit_the_institution_is_refused_with_422(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.login("admin@demo.test").await;
    let cases = [
        ("Rückkehrberatung Kanton Bern", "sem_officer"),
        ("SEM", "counsellor"),
        ("IOM Bern", "iom_mission_officer"),
        ("IOM Iraq", "iom_coordinator"),
        ("Oversight – data protection and audit", "admin"),
        ("Retour operator", "auditor"),
    ];
    for (institution, role) in cases {
        let body = new_user(institution_id(&app, institution).await, role);
        let response = app.post("/v1/users", Some(&admin), &body).await;
        assert_field(&response, "role", "role_institution_mismatch");
    }
    let (count,): (i64,) =
        sqlx::query_as("select count(*) from users").fetch_one(&app.pool).await.expect("count");
    assert_eq!(count, 14, "nothing was created");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn weak_passwords_bad_fields_and_taken_emails_are_refused(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.login("admin.sem@demo.test").await;
    let sem = institution_id(&app, "SEM").await;
    for (password, code) in
        [("short-pw", "too_short"), ("Password1234", "too_common"), ("qwertyuiop123", "too_common")]
    {
        let mut body = new_user(sem, "sem_officer");
        body["password"] = json!(password);
        assert_field(&app.post("/v1/users", Some(&admin), &body).await, "password", code);
    }
    let mut body = new_user(Uuid::now_v7(), "sem_officer");
    body["email"] = json!("no-at-sign");
    body["display_name"] = json!("");
    let response = app.post("/v1/users", Some(&admin), &body).await;
    for (field, code) in
        [("email", "invalid_format"), ("display_name", "required"), ("institution_id", "unknown")]
    {
        assert_field(&response, field, code);
    }
    let mut body = new_user(sem, "sem_officer");
    body["role"] = json!("superuser");
    assert_field(&app.post("/v1/users", Some(&admin), &body).await, "role", "invalid_value");

    let mut body = new_user(sem, "sem_officer");
    body["email"] = json!("SEM@DEMO.TEST");
    app.post("/v1/users", Some(&admin), &body)
        .await
        .assert_problem(StatusCode::CONFLICT, "email_taken");
    assert!(audit_events(&app, "user.create").await.is_empty());
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_admin_updates_a_user_and_the_audit_names_the_fields_only(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.login("admin.sem@demo.test").await;
    let id = user_id(&app, "sem2@demo.test").await;
    let old_token = app.login("sem2@demo.test").await;
    let changed = patch(
        &app,
        &format!("/v1/users/{id}"),
        &admin,
        &json!({"display_name": "David Favre-Rochat", "role": "swissrepat_officer"}),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.body["display_name"], "David Favre-Rochat");
    assert_eq!(changed.body["role"], "swissrepat_officer");
    // A new role is a grant: SEM's only administrator has it approved by a second one.
    assert_eq!(changed.body["status"], "pending_approval");
    let events = audit_events(&app, "user.update").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].2, json!({"fields": ["display_name", "role", "status"]}));
    assert!(!events[0].2.to_string().contains("Rochat"), "values are never logged");
    // The token issued for the old role stops working.
    app.get("/v1/me", Some(&old_token))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");

    // A role of another institution kind, a weak password: 422, nothing changes.
    assert_field(
        &patch(&app, &format!("/v1/users/{id}"), &admin, &json!({"role": "counsellor"})).await,
        "role",
        "role_institution_mismatch",
    );
    assert_field(
        &patch(&app, &format!("/v1/users/{id}"), &admin, &json!({"password": "letmein"})).await,
        "password",
        "too_short",
    );
    patch(&app, &format!("/v1/users/{}", Uuid::now_v7()), &admin, &json!({"display_name": "X"}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    // A patch that changes nothing records nothing.
    let same =
        patch(&app, &format!("/v1/users/{id}"), &admin, &json!({"role": "swissrepat_officer"}))
            .await;
    assert_eq!(same.status, StatusCode::OK);
    assert_eq!(audit_events(&app, "user.update").await.len(), 1);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn disabling_a_user_revokes_their_refresh_tokens_and_stops_their_access_token(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.login("admin.be@demo.test").await;
    let login = app.login_response("counsellor.be@demo.test").await;
    let access = login.body["access_token"].as_str().expect("access").to_owned();
    let refresh = login.body["refresh_token"].clone();
    let id = user_id(&app, "counsellor.be@demo.test").await;

    let disabled =
        patch(&app, &format!("/v1/users/{id}"), &admin, &json!({"status": "disabled"})).await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text);
    assert_eq!(disabled.body["status"], "disabled");
    let (unrevoked,): (i64,) = sqlx::query_as(
        "select count(*) from refresh_tokens where user_id = $1 and revoked_at is null",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .expect("tokens");
    assert_eq!(unrevoked, 0);
    app.get("/v1/me", Some(&access))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    app.post("/v1/auth/refresh", None, &json!({"refresh_token": refresh}))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    app.post(
        "/v1/auth/login",
        None,
        &json!({"email": "counsellor.be@demo.test", "password": DEMO_PASSWORD}),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");

    // Enabled again (a grant, which Bern's only administrator has approved), they sign in
    // as before.
    let enabled =
        patch(&app, &format!("/v1/users/{id}"), &admin, &json!({"status": "active"})).await;
    assert_eq!(enabled.status, StatusCode::OK);
    assert_eq!(enabled.body["status"], "pending_approval");
    let operator = app.login("admin@demo.test").await;
    let approval = format!("/v1/users/{id}/approval");
    let approved = app.send(Method::POST, &approval, Some(&operator), None, &[]).await;
    assert_eq!(approved.body["status"], "active", "{}", approved.text);
    app.login("counsellor.be@demo.test").await;
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_new_password_replaces_the_old_one_and_ends_the_sessions(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.login("admin.be@demo.test").await;
    let refresh =
        app.login_response("counsellor2.be@demo.test").await.body["refresh_token"].clone();
    let id = user_id(&app, "counsellor2.be@demo.test").await;
    let changed = patch(
        &app,
        &format!("/v1/users/{id}"),
        &admin,
        &json!({"password": "audit trail of the year"}),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    app.post("/v1/auth/refresh", None, &json!({"refresh_token": refresh}))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    app.post(
        "/v1/auth/login",
        None,
        &json!({"email": "counsellor2.be@demo.test", "password": DEMO_PASSWORD}),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let login = app
        .post(
            "/v1/auth/login",
            None,
            &json!({"email": "counsellor2.be@demo.test", "password": "audit trail of the year"}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    let events = audit_events(&app, "user.update").await;
    assert_eq!(events[0].2, json!({"fields": ["password"]}));
    assert!(!events[0].2.to_string().contains("audit trail"));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_admin_cannot_disable_or_demote_themselves(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.login("admin@demo.test").await;
    let id = user_id(&app, "admin@demo.test").await;
    assert_field(
        &patch(&app, &format!("/v1/users/{id}"), &admin, &json!({"status": "disabled"})).await,
        "status",
        "own_account",
    );
    assert_eq!(app.get("/v1/me", Some(&admin)).await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_user_list_filters_and_pages(pool: PgPool) {
    let app = TestApp::new(pool).await;
    // Bern's administrator lists Bern's users.
    let admin = app.login("admin.be@demo.test").await;
    let counsellors = app.get("/v1/users?role=counsellor", Some(&admin)).await;
    assert_eq!(counsellors.status, StatusCode::OK, "{}", counsellors.text);
    let emails: Vec<&str> = counsellors.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["email"].as_str().expect("email"))
        .collect();
    assert_eq!(emails, ["counsellor.be@demo.test", "counsellor2.be@demo.test"]);
    assert!(counsellors.body["next_cursor"].is_null());

    let by_email = app.get("/v1/users?email=COUNSELLOR2.BE@demo.TEST", Some(&admin)).await;
    assert_eq!(by_email.body["items"].as_array().expect("items").len(), 1);
    // Another institution's users are not in reach, whatever the filter.
    let iraq = institution_id(&app, "IOM Iraq").await;
    let mission =
        app.get(&format!("/v1/users?institution_id={iraq}&status=active"), Some(&admin)).await;
    assert_eq!(mission.body["items"], json!([]));

    let mut seen = Vec::new();
    let mut path = "/v1/users?limit=2".to_owned();
    loop {
        let page = app.get(&path, Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let items = page.body["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|u| u["id"].as_str().expect("id").to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/users?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);
    seen.dedup();
    assert_eq!(seen.len(), 3);

    for bad in
        ["/v1/users?role=boss", "/v1/users?limit=0", "/v1/users?limit=1000", "/v1/users?cursor=x"]
    {
        app.get(bad, Some(&admin))
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    let one = app
        .get(
            &format!("/v1/users/{}", user_id(&app, "counsellor2.be@demo.test").await),
            Some(&admin),
        )
        .await;
    assert_eq!(one.body["role"], "counsellor");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn service_accounts_show_their_secret_once_and_need_valid_scopes(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (id, client_id, _) =
        crate::tokens::service_account(&app, &["stats:read", "cases:read"]).await;
    let admin = app.login("admin.iom@demo.test").await;
    let one = app.get(&format!("/v1/service-accounts/{id}"), Some(&admin)).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.body["client_id"], client_id.as_str());
    assert_eq!(one.body["scopes"], json!(["cases:read", "stats:read"]));
    assert!(one.body.get("client_secret").is_none());
    let (stored,): (String,) =
        sqlx::query_as("select secret_hash from service_accounts where id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .expect("hash");
    assert!(stored.starts_with("sha256:"), "only a hash is stored");
    let listed = app.get("/v1/service-accounts?status=active", Some(&admin)).await;
    assert_eq!(listed.body["items"].as_array().expect("items").len(), 1);
    assert!(listed.body["items"][0].get("client_secret").is_none());

    let iom = institution_id(&app, "IOM Bern").await;
    let empty = app
        .post(
            "/v1/service-accounts",
            Some(&admin),
            &json!({"institution_id": iom, "name": "x", "scopes": []}),
        )
        .await;
    assert_field(&empty, "scopes", "required");
    let unknown = app
        .post(
            "/v1/service-accounts",
            Some(&admin),
            &json!({"institution_id": iom, "name": "x", "scopes": ["cases:write"]}),
        )
        .await;
    unknown.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let nowhere = app
        .post(
            "/v1/service-accounts",
            Some(&admin),
            &json!({"institution_id": Uuid::now_v7(), "name": "x", "scopes": ["stats:read"]}),
        )
        .await;
    assert_field(&nowhere, "institution_id", "unknown");
    assert_field(
        &patch(&app, &format!("/v1/service-accounts/{id}"), &admin, &json!({"scopes": []})).await,
        "scopes",
        "required",
    );
    let renamed =
        patch(&app, &format!("/v1/service-accounts/{id}"), &admin, &json!({"name": "BI export"}))
            .await;
    assert_eq!(renamed.body["name"], "BI export");
    assert!(renamed.body.get("client_secret").is_none());
    assert_eq!(audit_events(&app, "service_account.create").await.len(), 1);
    assert_eq!(
        audit_events(&app, "service_account.update").await[0].2,
        json!({"fields": ["name"]})
    );
}
