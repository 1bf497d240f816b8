//! Strong sign-in: enrolling an authenticator, the second step of a sign-in, replayed and
//! wrong codes, recovery codes, the lockout, an institution's requirement, sessions, the
//! user's own password, and a reset of the second factor by two administrators.

use axum::http::{Method, StatusCode};
use retour_store::demo::DEMO_PASSWORD;
use serde_json::{Value, json};
use sqlx::PgPool;
use totp_rs::{Algorithm, Secret, Totp};

use crate::support::{TestApp, TestResponse, assert_names};

const BE: &str = "counsellor.be@demo.test";

/// The authenticator app: the code of `secret` (base32) at `at` (Unix seconds).
pub(crate) fn code_at(secret: &str, at: u64) -> String {
    let secret = Secret::try_from_base32(secret).expect("base32 secret");
    let totp = totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(secret)
        .build()
        .expect("totp");
    let totp: Totp = totp;
    totp.generate(at).to_string()
}

pub(crate) fn now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).expect("time")
}

async fn password_step(app: &TestApp, email: &str) -> TestResponse {
    app.post("/v1/auth/login", None, &json!({ "email": email, "password": DEMO_PASSWORD })).await
}

/// Enrols an authenticator for `email` and confirms it: its secret, the code and instant
/// the confirmation used, and the recovery codes.
async fn enrol(app: &TestApp, email: &str) -> (String, String, u64, Vec<String>) {
    let token = app.login(email).await;
    let started = app.post("/v1/me/mfa/totp", Some(&token), &json!({})).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text);
    let secret = started.body["secret"].as_str().expect("secret").to_owned();
    let uri = started.body["otpauth_uri"].as_str().expect("uri");
    assert!(uri.starts_with("otpauth://totp/Retour:"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(started.body["qr_svg"].as_str().expect("svg").contains("<svg"), "{}", started.text);
    let at = now();
    let code = code_at(&secret, at);
    let confirmed =
        app.post("/v1/me/mfa/totp/confirm", Some(&token), &json!({ "code": code })).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text);
    let codes: Vec<String> = confirmed.body["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, code, at, codes)
}

fn mfa_token(response: &TestResponse) -> String {
    response.assert_problem(StatusCode::UNAUTHORIZED, "mfa_required");
    response.body["mfa_token"].as_str().expect("mfa_token").to_owned()
}

async fn second_step(app: &TestApp, token: &str, field: &str, code: &str) -> TestResponse {
    app.post("/v1/auth/login/mfa", None, &json!({ "mfa_token": token, field: code })).await
}

async fn audit_actions(pool: &PgPool, action: &str) -> Vec<Value> {
    sqlx::query_scalar("select details from audit_events where action = $1 order by occurred_at")
        .bind(action)
        .fetch_all(pool)
        .await
        .expect("events")
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_enrolled_user_signs_in_with_a_code_that_works_once(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (secret, used, at, _) = enrol(&app, BE).await;
    // The password alone no longer opens a session.
    let first = password_step(&app, BE).await;
    let token = mfa_token(&first);
    assert_eq!(first.body["mfa_enrolment_required"], false);
    assert!(first.body.get("access_token").is_none());
    // The code the enrolment used is not accepted again, nor a wrong one.
    second_step(&app, &token, "code", &used)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "mfa_code_invalid");
    let wrong = if used == "000000" { "111111" } else { "000000" };
    second_step(&app, &token, "code", wrong)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "mfa_code_invalid");
    // The next step's code opens a session.
    let next = code_at(&secret, at + 30);
    let signed_in = second_step(&app, &token, "code", &next).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.text);
    assert!(signed_in.body["recovery_codes"].is_null(), "{}", signed_in.text);
    let access = signed_in.body["access_token"].as_str().expect("access");
    assert_eq!(app.get("/v1/me", Some(access)).await.body["mfa_enrolled"], true);
    // The token worked once; the same code on a new challenge is a replay.
    second_step(&app, &token, "code", &next)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "mfa_token_invalid");
    let again = mfa_token(&password_step(&app, BE).await);
    second_step(&app, &again, "code", &next)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "mfa_code_invalid");
    // The wrong codes were counted towards the lockout, and the sign-in logged its factor.
    let failures: Vec<Value> = audit_actions(&pool, "auth.login_failed").await;
    assert_eq!(failures.iter().filter(|d| d["reason"] == "wrong_code").count(), 3);
    let logins = audit_actions(&pool, "auth.login").await;
    assert!(logins.iter().any(|d| d["second_factor"] == "totp"), "{logins:?}");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_recovery_code_stands_in_for_the_authenticator_once(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, _, _, codes) = enrol(&app, BE).await;
    let token = mfa_token(&password_step(&app, BE).await);
    // Typed in upper case with spaces, as people do.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let signed_in = second_step(&app, &token, "recovery_code", &typed).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.text);
    let token = mfa_token(&password_step(&app, BE).await);
    second_step(&app, &token, "recovery_code", &codes[3])
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "mfa_code_invalid");
    let signed_in = second_step(&app, &token, "recovery_code", &codes[4]).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.text);
    // Neither both nor none of code and recovery code.
    let token = mfa_token(&password_step(&app, BE).await);
    let both = app
        .post(
            "/v1/auth/login/mfa",
            None,
            &json!({ "mfa_token": token, "code": "123456", "recovery_code": codes[5] }),
        )
        .await;
    assert_names(&both, "code", "required");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn wrong_codes_end_the_challenge_and_lock_the_account(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    enrol(&app, BE).await;
    let mut wrong_codes = 0;
    // Five wrong codes end a challenge; two challenges' worth (ten) lock the account.
    for _ in 0..2 {
        let token = mfa_token(&password_step(&app, BE).await);
        for _ in 0..5 {
            second_step(&app, &token, "code", "000000")
                .await
                .assert_problem(StatusCode::UNAUTHORIZED, "mfa_code_invalid");
            wrong_codes += 1;
        }
        second_step(&app, &token, "code", "000000")
            .await
            .assert_problem(StatusCode::UNAUTHORIZED, "mfa_token_invalid");
    }
    assert_eq!(wrong_codes, 10);
    let locked: bool =
        sqlx::query_scalar("select locked_until > now() from users where email = $1")
            .bind(BE)
            .fetch_one(&pool)
            .await
            .expect("user");
    assert!(locked, "ten wrong codes lock the account like ten wrong passwords");
    password_step(&app, BE).await.assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_institution_that_requires_a_second_factor_has_its_users_enrol_at_sign_in(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let bern = crate::support::institution_id(&pool, "Rückkehrberatung Kanton Bern").await;
    let operator = app.login("admin@demo.test").await;
    let path = format!("/v1/institutions/{bern}");
    // Only the operator's administrators set the policy.
    let refused = app
        .send(
            Method::PATCH,
            &path,
            Some(&app.login("admin.be@demo.test").await),
            Some(&json!({ "mfa_required": true })),
            &[],
        )
        .await;
    refused.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let set = app
        .send(Method::PATCH, &path, Some(&operator), Some(&json!({ "mfa_required": true })), &[])
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    assert_eq!(set.body["mfa_required"], true);
    // The counsellor has no authenticator: the second step starts with an enrolment.
    let first = password_step(&app, BE).await;
    let token = mfa_token(&first);
    assert_eq!(first.body["mfa_enrolment_required"], true);
    second_step(&app, &token, "code", "123456")
        .await
        .assert_problem(StatusCode::CONFLICT, "mfa_enrolment_not_started");
    let enrolment = app.post("/v1/auth/login/mfa/totp", None, &json!({ "mfa_token": token })).await;
    assert_eq!(enrolment.status, StatusCode::OK, "{}", enrolment.text);
    let secret = enrolment.body["secret"].as_str().expect("secret");
    let signed_in = second_step(&app, &token, "code", &code_at(secret, now())).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.text);
    assert_eq!(signed_in.body["recovery_codes"].as_array().expect("codes").len(), 10);
    // Users of other institutions still sign in with a password.
    app.login("counsellor.zh@demo.test").await;
    // An unknown token is refused as such.
    app.post("/v1/auth/login/mfa/totp", None, &json!({ "mfa_token": "nope" }))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "mfa_token_invalid");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn enrolment_is_confirmed_by_its_current_code_only(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login(BE).await;
    app.post("/v1/me/mfa/totp/confirm", Some(&token), &json!({ "code": "123456" }))
        .await
        .assert_problem(StatusCode::CONFLICT, "mfa_enrolment_not_started");
    let started = app.post("/v1/me/mfa/totp", Some(&token), &json!({})).await;
    let secret = started.body["secret"].as_str().expect("secret").to_owned();
    let stale = code_at(&secret, now() - 300);
    let wrong = app.post("/v1/me/mfa/totp/confirm", Some(&token), &json!({ "code": stale })).await;
    assert_names(&wrong, "code", "invalid_code");
    // Starting again replaces the unconfirmed authenticator.
    let again = app.post("/v1/me/mfa/totp", Some(&token), &json!({})).await;
    let replaced = again.body["secret"].as_str().expect("secret").to_owned();
    assert_ne!(replaced, secret);
    let old = app
        .post("/v1/me/mfa/totp/confirm", Some(&token), &json!({ "code": code_at(&secret, now()) }))
        .await;
    assert_names(&old, "code", "invalid_code");
    let ok = app
        .post(
            "/v1/me/mfa/totp/confirm",
            Some(&token),
            &json!({ "code": code_at(&replaced, now()) }),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    app.post("/v1/me/mfa/totp", Some(&token), &json!({}))
        .await
        .assert_problem(StatusCode::CONFLICT, "mfa_already_enrolled");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn users_see_and_end_their_sessions(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let phone = app
        .send(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(&json!({ "email": BE, "password": DEMO_PASSWORD })),
            &[("user-agent", "Retour phone/1.0")],
        )
        .await;
    let phone = phone.body["access_token"].as_str().expect("phone").to_owned();
    let laptop = app.login(BE).await;
    let desk = app.login(BE).await;
    let listed = app.get("/v1/me/sessions", Some(&laptop)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let items = listed.body["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 3);
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    let phone_session =
        items.iter().find(|s| s["user_agent"] == "Retour phone/1.0").expect("the phone's session");
    // Ending the phone's session ends its tokens at once.
    let path = format!("/v1/me/sessions/{}", phone_session["id"].as_str().expect("id"));
    let ended = app.send(Method::DELETE, &path, Some(&laptop), None, &[]).await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT, "{}", ended.text);
    app.get("/v1/me", Some(&phone)).await.assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    app.send(Method::DELETE, &path, Some(&laptop), None, &[])
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    // Another user's session is not theirs to end.
    let other = app.login("counsellor2.be@demo.test").await;
    let theirs = app.get("/v1/me/sessions", Some(&other)).await;
    let their_path =
        format!("/v1/me/sessions/{}", theirs.body["items"][0]["id"].as_str().expect("id"));
    app.send(Method::DELETE, &their_path, Some(&laptop), None, &[])
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.get("/v1/me", Some(&other)).await.status, StatusCode::OK);
    // Signing out everywhere else keeps the current session only.
    let rest = app.send(Method::DELETE, "/v1/me/sessions", Some(&laptop), None, &[]).await;
    assert_eq!(rest.status, StatusCode::NO_CONTENT);
    app.get("/v1/me", Some(&desk)).await.assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    let left = app.get("/v1/me/sessions", Some(&laptop)).await;
    assert_eq!(left.body["items"].as_array().expect("items").len(), 1);
    // Service accounts have no sessions.
    let (_, client_id, secret) = crate::tokens::service_account(&app, &["stats:read"]).await;
    let service = crate::tokens::grant(&app, &client_id, &secret).await;
    app.get("/v1/me/sessions", Some(&service))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_administrator_ends_a_users_sessions(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let counsellor = app.login(BE).await;
    let id: uuid::Uuid = sqlx::query_scalar("select id from users where email = $1")
        .bind(BE)
        .fetch_one(&pool)
        .await
        .expect("user");
    let path = format!("/v1/users/{id}/sessions");
    let admin = app.login("admin.be@demo.test").await;
    let listed = app.get(&path, Some(&admin)).await;
    assert_eq!(listed.body["items"].as_array().expect("items").len(), 1, "{}", listed.text);
    // Not another institution's administrator, nor the operator's.
    for other in ["admin.sem@demo.test", "admin@demo.test"] {
        let token = app.login(other).await;
        let refused = app.send(Method::DELETE, &path, Some(&token), None, &[]).await;
        assert!(refused.status == StatusCode::NOT_FOUND || refused.status == StatusCode::FORBIDDEN);
    }
    assert_eq!(app.get("/v1/me", Some(&counsellor)).await.status, StatusCode::OK);
    let ended = app.send(Method::DELETE, &path, Some(&admin), None, &[]).await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT, "{}", ended.text);
    app.get("/v1/me", Some(&counsellor))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn users_change_their_own_password(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let elsewhere = app.login(BE).await;
    let token = app.login(BE).await;
    let change =
        |current: &str, new: &str| json!({ "current_password": current, "new_password": new });
    let wrong = app
        .post("/v1/me/password", Some(&token), &change("not my password", "a long unusual phrase"))
        .await;
    assert_names(&wrong, "current_password", "wrong_password");
    let common =
        app.post("/v1/me/password", Some(&token), &change(DEMO_PASSWORD, "password1234")).await;
    assert_names(&common, "new_password", "too_common");
    let short = app.post("/v1/me/password", Some(&token), &change(DEMO_PASSWORD, "short")).await;
    assert_names(&short, "new_password", "too_short");
    let changed = app
        .post("/v1/me/password", Some(&token), &change(DEMO_PASSWORD, "a long unusual phrase"))
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text);
    // The current session goes on; every other ended.
    assert_eq!(app.get("/v1/me", Some(&token)).await.status, StatusCode::OK);
    app.get("/v1/me", Some(&elsewhere))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    password_step(&app, BE).await.assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let new = app
        .post("/v1/auth/login", None, &json!({ "email": BE, "password": "a long unusual phrase" }))
        .await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.text);
    // The wrong current password counted as a failed sign-in.
    let failed = audit_actions(&pool, "auth.password_change_failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(audit_actions(&pool, "auth.password_changed").await.len(), 1);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_second_factor_is_reset_by_two_administrators(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    enrol(&app, BE).await;
    let id: uuid::Uuid = sqlx::query_scalar("select id from users where email = $1")
        .bind(BE)
        .fetch_one(&pool)
        .await
        .expect("user");
    let path = format!("/v1/users/{id}/mfa");
    let bern = app.login("admin.be@demo.test").await;
    // The operator does not start a reset of an institution's user, nor another institution.
    let operator = app.login("admin@demo.test").await;
    app.send(Method::DELETE, &path, Some(&operator), None, &[])
        .await
        .assert_problem(StatusCode::FORBIDDEN, "separation_of_duties");
    let sem = app.login("admin.sem@demo.test").await;
    app.send(Method::DELETE, &path, Some(&sem), None, &[])
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let requested = app.send(Method::DELETE, &path, Some(&bern), None, &[]).await;
    assert_eq!(requested.status, StatusCode::ACCEPTED, "{}", requested.text);
    assert_eq!(requested.body["status"], "requested");
    // The one who asked cannot confirm; the second factor still holds.
    app.send(Method::DELETE, &path, Some(&bern), None, &[])
        .await
        .assert_problem(StatusCode::CONFLICT, "second_person_required");
    mfa_token(&password_step(&app, BE).await);
    let done = app.send(Method::DELETE, &path, Some(&operator), None, &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.body["status"], "reset");
    // Bern requires no second factor in the demo: the password signs in again.
    app.login(BE).await;
    let user = app.get(&format!("/v1/users/{id}"), Some(&bern)).await;
    assert_eq!(user.body["mfa_enrolled"], false);
    assert!(user.body["mfa_reset_requested_by"].is_null());
    assert_eq!(audit_actions(&pool, "user.mfa_reset_requested").await.len(), 1);
    assert_eq!(audit_actions(&pool, "user.mfa_reset").await.len(), 1);
    app.send(Method::DELETE, &path, Some(&bern), None, &[])
        .await
        .assert_problem(StatusCode::CONFLICT, "mfa_not_enrolled");
}
