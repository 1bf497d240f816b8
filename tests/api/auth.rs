//! Signing in, tokens, and the caller's profile.

use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::TestApp;

const DEMO_USERS: [&str; 11] = [
    "counsellor.be@demo.test",
    "counsellor2.be@demo.test",
    "counsellor.zh@demo.test",
    "sem@demo.test",
    "sem2@demo.test",
    "swissrepat@demo.test",
    "iom@demo.test",
    "mission.iq@demo.test",
    "auditor@demo.test",
    "dpo@demo.test",
    "admin@demo.test",
];

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn every_demo_user_signs_in_and_sees_their_profile(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for email in DEMO_USERS {
        let response = app.login_response(email).await;
        assert_eq!(response.status, StatusCode::OK, "{email}: {}", response.text);
        assert_eq!(response.body["token_type"], "Bearer");
        assert_eq!(response.body["expires_in"], 900);
        assert!(response.body["refresh_token"].as_str().is_some_and(|t| t.len() >= 43));
        let token = response.body["access_token"].as_str().expect("token");
        let me = app.get("/v1/me", Some(token)).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.text);
        assert_eq!(me.body["email"], email);
    }
    let me = app.get("/v1/me", Some(&app.login("counsellor.be@demo.test").await)).await;
    assert_eq!(me.body["role"], "counsellor");
    assert_eq!(me.body["institution"]["canton"], "BE");
    assert_eq!(me.body["institution"]["kind"], "counselling_service");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn email_is_matched_without_regard_to_case(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.login("Counsellor.BE@Demo.Test").await;
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn unknown_email_wrong_password_and_disabled_account_get_the_same_401(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    sqlx::query("update users set status = 'disabled' where email = 'sem@demo.test'")
        .execute(&pool)
        .await
        .expect("disable");
    let attempts = [
        ("nobody@demo.test", "retour-demo"),
        ("counsellor.be@demo.test", "wrong-password"),
        ("sem@demo.test", "retour-demo"),
    ];
    let mut bodies = Vec::new();
    for (email, password) in attempts {
        let response =
            app.post("/v1/auth/login", None, &json!({"email": email, "password": password})).await;
        response.assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
        // A failed sign-in is no bearer-token problem: no challenge.
        assert_eq!(response.header("www-authenticate"), None);
        bodies.push(response.told());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn requests_without_a_valid_token_get_401(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.get("/v1/me", None).await.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    app.get("/v1/me", Some("not.a.token"))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    let token = app.login("counsellor.be@demo.test").await;
    let truncated = &token[..token.len() - 10];
    app.get("/v1/me", Some(truncated))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_disabled_users_access_token_stops_working_at_once(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    app.until_tokens_are_kept().await;
    let token = app.login("counsellor.be@demo.test").await;
    // Used, so kept in memory.
    assert_eq!(app.get("/v1/me", Some(&token)).await.status, StatusCode::OK);
    let user: Uuid =
        sqlx::query_scalar("select id from users where email = 'counsellor.be@demo.test'")
            .fetch_one(&pool)
            .await
            .expect("user");
    let admin = app.login("admin.be@demo.test").await;
    let disabled = app
        .send(
            Method::PATCH,
            &format!("/v1/users/{user}"),
            Some(&admin),
            Some(&json!({"status": "disabled"})),
            &[],
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text);
    app.get("/v1/me", Some(&token)).await.assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
}

/// `/v1/me` as `token` until it answers 401, for up to two seconds; whether it did.
async fn refused_soon(app: &TestApp, token: &str) -> bool {
    for _ in 0..200 {
        if app.get("/v1/me", Some(token)).await.status == StatusCode::UNAUTHORIZED {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_change_made_by_another_process_ends_kept_tokens_when_the_database_announces_it(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    app.until_tokens_are_kept().await;
    let token = app.login("counsellor.be@demo.test").await;
    assert_eq!(app.get("/v1/me", Some(&token)).await.status, StatusCode::OK);

    // Without the announcement the server goes on with what it kept (which shows that it
    // keeps it) ...
    let mut tx = pool.begin().await.expect("tx");
    sqlx::raw_sql(
        "alter table users disable trigger users_auth_change; \
         update users set status = 'disabled' where email = 'counsellor.be@demo.test'; \
         alter table users enable trigger users_auth_change",
    )
    .execute(&mut *tx)
    .await
    .expect("disable unannounced");
    tx.commit().await.expect("commit");
    assert_eq!(app.get("/v1/me", Some(&token)).await.status, StatusCode::OK);

    // ... and with it, forgets it: the change, made in psql, ends the token.
    sqlx::query("update users set status = 'disabled' where email = 'counsellor.be@demo.test'")
        .execute(&pool)
        .await
        .expect("disable");
    assert!(refused_soon(&app, &token).await, "the token still works");

    // The same for a token signed out and an institution closed by another process.
    let iom = app.login("iom@demo.test").await;
    assert_eq!(app.get("/v1/me", Some(&iom)).await.status, StatusCode::OK);
    let jti = crate::tokens::decode_part(&iom, 1)["jti"].as_str().expect("jti").to_owned();
    sqlx::query(
        "insert into revoked_access_tokens (jti, expires_at) \
         values ($1::uuid, now() + interval '1 hour')",
    )
    .bind(&jti)
    .execute(&pool)
    .await
    .expect("revoke");
    assert!(refused_soon(&app, &iom).await, "a signed-out token still works");

    // A session ended and a client secret rotated in psql end their tokens too.
    let auditor = app.login("auditor@demo.test").await;
    assert_eq!(app.get("/v1/me", Some(&auditor)).await.status, StatusCode::OK);
    let session = crate::tokens::decode_part(&auditor, 1)["sid"].as_str().expect("sid").to_owned();
    sqlx::query("update sessions set ended_at = now(), end_reason = 'logout' where id = $1::uuid")
        .bind(&session)
        .execute(&pool)
        .await
        .expect("end the session");
    assert!(refused_soon(&app, &auditor).await, "a token of an ended session still works");

    let (_, client_id, secret) = crate::tokens::service_account(&app, &["stats:read"]).await;
    let integrator = crate::tokens::grant(&app, &client_id, &secret).await;
    assert_eq!(app.get("/v1/me", Some(&integrator)).await.status, StatusCode::NOT_FOUND);
    sqlx::query("update service_accounts set secret_generation = secret_generation + 1")
        .execute(&pool)
        .await
        .expect("rotate");
    assert!(refused_soon(&app, &integrator).await, "a token of a rotated secret still works");

    let mission = app.login("mission.iq@demo.test").await;
    assert_eq!(app.get("/v1/me", Some(&mission)).await.status, StatusCode::OK);
    sqlx::query("update institutions set active = false where name = 'IOM Iraq'")
        .execute(&pool)
        .await
        .expect("close");
    assert!(refused_soon(&app, &mission).await, "a closed institution's token still works");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_refresh_token_works_once_and_its_reuse_revokes_the_family(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let first = app.login_response("iom@demo.test").await.body["refresh_token"].clone();
    let second = app.post("/v1/auth/refresh", None, &json!({"refresh_token": first})).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    let second_refresh = second.body["refresh_token"].clone();
    assert_ne!(second_refresh, first);
    let me = app.get("/v1/me", second.body["access_token"].as_str()).await;
    assert_eq!(me.status, StatusCode::OK);

    // The first token again: someone holds a copy, so the whole family goes.
    app.post("/v1/auth/refresh", None, &json!({"refresh_token": first}))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    app.post("/v1/auth/refresh", None, &json!({"refresh_token": second_refresh}))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn logout_ends_the_access_and_refresh_tokens(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let login = app.login_response("sem@demo.test").await;
    let access = login.body["access_token"].as_str().expect("access");
    let refresh = login.body["refresh_token"].clone();
    let out = app.post("/v1/auth/logout", Some(access), &json!({"refresh_token": refresh})).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    app.get("/v1/me", Some(access)).await.assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    app.post("/v1/auth/refresh", None, &json!({"refresh_token": refresh}))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_jwks_publishes_the_key_that_signs_tokens(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.status, StatusCode::OK);
    let key = &jwks.body["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    let token = app.login("auditor@demo.test").await;
    let header = crate::tokens::decode_part(&token, 0);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], key["kid"]);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn sign_ins_and_failures_are_in_the_access_log(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.login("counsellor.be@demo.test").await;
    app.post(
        "/v1/auth/login",
        None,
        &json!({"email": "counsellor.be@demo.test", "password": "nope-nope-nope"}),
    )
    .await;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select action, outcome from audit_events where action like 'auth.%' order by occurred_at",
    )
    .fetch_all(&app.pool)
    .await
    .expect("events");
    assert_eq!(
        rows,
        [
            ("auth.login".to_owned(), "allowed".to_owned()),
            ("auth.login_failed".to_owned(), "denied".to_owned())
        ]
    );
}

// --- Lockout ------------------------------------------------------------------------------

async fn login_with(app: &TestApp, email: &str, password: &str) -> crate::support::TestResponse {
    app.post("/v1/auth/login", None, &json!({"email": email, "password": password})).await
}

async fn fail_logins(app: &TestApp, email: &str, times: usize) {
    for _ in 0..times {
        login_with(app, email, "not-the-password")
            .await
            .assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
}

async fn audit_details(app: &TestApp, action: &str) -> Vec<serde_json::Value> {
    sqlx::query_as::<_, (serde_json::Value,)>(
        "select details from audit_events where action = $1 order by id",
    )
    .bind(action)
    .fetch_all(&app.pool)
    .await
    .expect("audit")
    .into_iter()
    .map(|(d,)| d)
    .collect()
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn ten_failed_sign_ins_lock_the_account_even_against_the_right_password(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let email = "counsellor.zh@demo.test";
    fail_logins(&app, email, 9).await;
    // Nine failures: not locked yet.
    let wrong = login_with(&app, email, "not-the-password").await;
    let locked = login_with(&app, email, crate::support::DEMO_PASSWORD).await;
    locked.assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(locked.told(), wrong.told(), "a locked account looks like a wrong password");

    let details = audit_details(&app, "auth.login_failed").await;
    assert_eq!(details.len(), 11);
    assert_eq!(details[8]["lockout"], "counted");
    assert_eq!(details[9]["lockout"], "locked");
    assert_eq!(details[10]["reason"], "locked");
    // Other accounts are unaffected.
    app.login("counsellor.be@demo.test").await;
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_lock_ends_after_its_duration_and_a_success_clears_the_count(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let email = "iom@demo.test";
    fail_logins(&app, email, 10).await;
    login_with(&app, email, crate::support::DEMO_PASSWORD)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    // Failures while locked do not extend the lock.
    fail_logins(&app, email, 3).await;
    let (remaining,): (f64,) = sqlx::query_as(
        "select extract(epoch from locked_until - now())::float8 from users where email = $1",
    )
    .bind(email)
    .fetch_one(&app.pool)
    .await
    .expect("locked_until");
    assert!((800.0..=900.0).contains(&remaining), "{remaining}");

    // Fifteen minutes later (moved in the database rather than waited for).
    sqlx::query("update users set locked_until = now() - interval '1 second' where email = $1")
        .bind(email)
        .execute(&app.pool)
        .await
        .expect("age the lock");
    app.login(email).await;
    let (failures, locked_until): (i64, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
        "select (select count(*) from login_failures f where f.user_id = u.id), u.locked_until \
         from users u where email = $1",
    )
    .bind(email)
    .fetch_one(&app.pool)
    .await
    .expect("state");
    assert_eq!((failures, locked_until), (0, None));

    // The count starts afresh: nine more failures do not lock.
    fail_logins(&app, email, 9).await;
    app.login(email).await;
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_successful_sign_in_clears_the_failure_count(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let email = "sem@demo.test";
    fail_logins(&app, email, 9).await;
    app.login(email).await;
    fail_logins(&app, email, 9).await;
    app.login(email).await;
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn failures_older_than_the_window_do_not_count(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let email = "swissrepat@demo.test";
    fail_logins(&app, email, 9).await;
    sqlx::query(
        "update login_failures set failed_at = failed_at - interval '16 minutes' \
         where user_id = (select id from users where email = $1)",
    )
    .bind(email)
    .execute(&app.pool)
    .await
    .expect("age the failures");
    fail_logins(&app, email, 9).await;
    app.login(email).await;
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_lockout_threshold_is_configurable(pool: PgPool) {
    let config = retour_api::ApiConfig {
        login: retour_api::LoginLimits {
            lockout: retour_api::auth::Lockout {
                threshold: 3,
                window: std::time::Duration::from_secs(60),
                duration: std::time::Duration::from_secs(120),
            },
            rate_per_minute: 0,
        },
        ..retour_api::ApiConfig::default()
    };
    let app = TestApp::with_config(pool, config).await;
    fail_logins(&app, "auditor@demo.test", 3).await;
    login_with(&app, "auditor@demo.test", crate::support::DEMO_PASSWORD)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let (remaining,): (f64,) = sqlx::query_as(
        "select extract(epoch from locked_until - now())::float8 from users \
         where email = 'auditor@demo.test'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("locked_until");
    assert!((100.0..=120.0).contains(&remaining), "{remaining}");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn users_of_a_disabled_institution_cannot_sign_in(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login("mission.iq@demo.test").await;
    sqlx::query("update institutions set active = false where name = 'IOM Iraq'")
        .execute(&app.pool)
        .await
        .expect("disable");
    let refused = login_with(&app, "mission.iq@demo.test", crate::support::DEMO_PASSWORD).await;
    refused.assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    app.get("/v1/me", Some(&token)).await.assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    let details = audit_details(&app, "auth.login_failed").await;
    assert_eq!(details.last().expect("event")["reason"], "institution_inactive");
}
