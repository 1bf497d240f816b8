//! Access tokens under attack, the client-credentials grant, and the sign-in rate limit.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use retour_api::{ApiConfig, LoginLimits};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{DEMO_PASSWORD, TestApp, TestResponse};

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Part `index` of a token (0: header, 1: claims), decoded without verifying it.
pub(crate) fn decode_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64")).expect("json")
}

/// What a token of the demo counsellor of Bern must say to be accepted: among others, the
/// session of a real sign-in.
struct Forge {
    user_id: Uuid,
    institution_id: Uuid,
    session_id: Value,
    kid: String,
    real_key: EncodingKey,
    public_x: String,
}

impl Forge {
    async fn new(app: &TestApp) -> Self {
        let (user_id, institution_id): (Uuid, Uuid) = sqlx::query_as(
            "select id, institution_id from users where email = 'counsellor.be@demo.test'",
        )
        .fetch_one(&app.pool)
        .await
        .expect("user");
        let session_id = decode_part(&app.login("counsellor.be@demo.test").await, 1)["sid"].clone();
        let (kid, pem, public_x): (String, String, String) =
            sqlx::query_as("select kid, private_key_pem, public_key_x from signing_keys")
                .fetch_one(&app.pool)
                .await
                .expect("key");
        let real_key = EncodingKey::from_ed_pem(pem.as_bytes()).expect("pem");
        Self { user_id, institution_id, session_id, kid, real_key, public_x }
    }

    fn claims(&self) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "sub": self.user_id, "iss": "retour", "aud": "retour-api",
            "iat": now, "nbf": now, "exp": now + 600, "jti": Uuid::now_v7(),
            "sub_type": "user", "role": "counsellor", "institution": self.institution_id,
            "sid": self.session_id,
        })
    }

    fn sign(&self, claims: &Value, key: &EncodingKey, alg: Algorithm, kid: &str) -> String {
        let mut header = Header::new(alg);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, key).expect("sign")
    }

    fn real(&self, claims: &Value) -> String {
        self.sign(claims, &self.real_key, Algorithm::EdDSA, &self.kid)
    }
}

/// Sends `token` to `/v1/me` from a client address with a request id. It must be refused
/// with 401, and the refusal must be in the access log: one `auth.token_rejected` event,
/// denied, with the request id, the client address and one of `reasons`, and nothing of the
/// token.
async fn assert_refused(app: &TestApp, token: &str, what: &str, reasons: &[&str]) {
    assert_refused_as(app, token, what, reasons).await;
}

/// [`assert_refused`], returning the actor type of the event.
async fn assert_refused_as(app: &TestApp, token: &str, what: &str, reasons: &[&str]) -> String {
    let request_id = Uuid::now_v7().to_string();
    let mut request = Request::get("/v1/me")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("x-request-id", &request_id)
        .body(Body::empty())
        .expect("request");
    let peer: SocketAddr = "203.0.113.77:41000".parse().expect("addr");
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = app.send_request(request).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{what}: {}", response.text);
    response.assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\""),
        "{what}"
    );
    assert_rejection_logged(app, &request_id, token, what, reasons).await
}

/// The one `auth.token_rejected` event of request `request_id`: denied, from the test's client
/// address, with one of `reasons`, holding no part of `token`. Returns its actor type.
async fn assert_rejection_logged(
    app: &TestApp,
    request_id: &str,
    token: &str,
    what: &str,
    reasons: &[&str],
) -> String {
    let events: Vec<(String, String, Option<String>, Value, String)> = sqlx::query_as(
        "select outcome, actor_type, host(client_addr), details, row_to_json(e)::text \
         from audit_events e where action = 'auth.token_rejected' and request_id = $1",
    )
    .bind(request_id)
    .fetch_all(&app.pool)
    .await
    .expect("events");
    assert_eq!(events.len(), 1, "{what}: one event of the refusal, found {events:?}");
    let (outcome, actor_type, addr, details, row) = &events[0];
    assert_eq!(outcome, "denied", "{what}");
    assert_eq!(addr.as_deref(), Some("203.0.113.77"), "{what}");
    let reason = details["reason"].as_str().unwrap_or_default();
    assert!(reasons.contains(&reason), "{what}: reason {reason:?}, expected one of {reasons:?}");
    for part in token.split('.').filter(|p| p.len() >= 8) {
        assert!(!row.contains(part), "{what}: the access log holds part of the token: {row}");
    }
    actor_type.clone()
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_token_forged_with_the_real_key_is_accepted_so_the_attacks_below_are_meaningful(
    pool: PgPool,
) {
    let app = TestApp::new(pool).await;
    let forge = Forge::new(&app).await;
    let me = app.get("/v1/me", Some(&forge.real(&forge.claims()))).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["email"], "counsellor.be@demo.test");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn tokens_with_a_wrong_algorithm_key_or_kid_get_401(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let forge = Forge::new(&app).await;
    let claims = forge.claims();

    let none_header = json!({"alg": "none", "typ": "JWT", "kid": forge.kid});
    assert_refused(
        &app,
        &format!("{}.{}.", b64(&none_header), b64(&claims)),
        "alg none",
        &["algorithm"],
    )
    .await;
    let none_lower = json!({"alg": "None", "kid": forge.kid});
    assert_refused(
        &app,
        &format!("{}.{}.", b64(&none_lower), b64(&claims)),
        "alg None",
        &["algorithm"],
    )
    .await;

    // HS256 keyed with the public key, in each form an attacker could take it from the JWKS.
    let raw_public = URL_SAFE_NO_PAD.decode(&forge.public_x).expect("x");
    for secret in [raw_public.as_slice(), forge.public_x.as_bytes()] {
        let token =
            forge.sign(&claims, &EncodingKey::from_secret(secret), Algorithm::HS256, &forge.kid);
        assert_refused(&app, &token, "HS256 with the public key", &["algorithm"]).await;
    }

    let other = SigningKey::from_bytes(&[7u8; 32]);
    let other_pem = other.to_pkcs8_pem(LineEnding::LF).expect("pem");
    let other_key = EncodingKey::from_ed_pem(other_pem.as_bytes()).expect("key");
    let token = forge.sign(&claims, &other_key, Algorithm::EdDSA, &forge.kid);
    assert_refused(&app, &token, "another Ed25519 key with our kid", &["signature"]).await;

    let token = forge.sign(&claims, &forge.real_key, Algorithm::EdDSA, "unknown-kid");
    assert_refused(&app, &token, "unknown kid", &["unknown_key"]).await;
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = None;
    let token = jsonwebtoken::encode(&header, &claims, &forge.real_key).expect("sign");
    assert_refused(&app, &token, "no kid", &["unknown_key"]).await;
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn expired_premature_and_misaddressed_tokens_get_401(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let forge = Forge::new(&app).await;
    let now = chrono::Utc::now().timestamp();
    let cases: [(&str, Value, &str); 9] = [
        ("expired", json!({"iat": now - 3600, "nbf": now - 3600, "exp": now - 60}), "expired"),
        ("not yet valid", json!({"nbf": now + 600, "exp": now + 1200}), "not_yet_valid"),
        ("wrong issuer", json!({"iss": "someone-else"}), "issuer"),
        ("wrong audience", json!({"aud": "another-api"}), "audience"),
        ("no expiry", json!({"exp": null}), "claims"),
        ("a user's token without a session", json!({"sid": null}), "claims"),
        ("another session", json!({"sid": Uuid::now_v7()}), "session_ended"),
        (
            "a service-account subject for a user",
            json!({"sub_type": "service_account", "secret_generation": 1}),
            "inactive",
        ),
        (
            "a service-account token without a secret generation",
            json!({"sub_type": "service_account"}),
            "claims",
        ),
    ];
    for (what, changes, reason) in cases {
        let mut claims = forge.claims();
        for (key, value) in changes.as_object().expect("object") {
            if value.is_null() {
                claims.as_object_mut().expect("object").remove(key);
            } else {
                claims[key] = value.clone();
            }
        }
        assert_refused(&app, &forge.real(&claims), what, &[reason]).await;
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn tampered_and_truncated_tokens_get_401(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login("counsellor.be@demo.test").await;
    let mut payload = decode_part(&token, 1);
    assert_eq!(payload["role"], "counsellor");
    payload["role"] = json!("sem_officer");
    let parts: Vec<&str> = token.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], b64(&payload), parts[2]);
    assert_refused(&app, &tampered, "role edited to sem_officer", &["signature"]).await;

    // A role that really changed since the token was issued also ends it.
    sqlx::query("update users set role = 'admin' where email = 'counsellor.be@demo.test'")
        .execute(&app.pool)
        .await
        .expect("role");
    assert_refused(&app, &token, "stale role", &["stale_claims"]).await;

    let token = app.login("sem@demo.test").await;
    for cut in [token.len() - 1, token.len() - 20, parts[0].len() + 5] {
        assert_refused(&app, &token[..cut], "truncated", &["malformed", "signature"]).await;
    }
    let without_signature = token.rsplit_once('.').expect("dot").0;
    assert_refused(&app, without_signature, "no signature", &["malformed"]).await;
    assert_refused(
        &app,
        &format!("{without_signature}."),
        "empty signature",
        &["signature", "malformed"],
    )
    .await;
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_tokens_of_a_disabled_or_signed_out_user_are_refused_and_logged_with_the_user(
    pool: PgPool,
) {
    let app = TestApp::new(pool).await;
    let signed_out = app.login("iom@demo.test").await;
    app.post("/v1/auth/logout", Some(&signed_out), &json!({}))
        .await
        .status
        .is_success()
        .then_some(())
        .expect("signed out");
    assert_refused(&app, &signed_out, "a signed-out token", &["session_ended"]).await;

    let login = app.login_response("counsellor.zh@demo.test").await;
    let token = login.body["access_token"].as_str().expect("token").to_owned();
    let refresh = json!({"refresh_token": login.body["refresh_token"]});
    sqlx::query("update users set status = 'disabled' where email = 'counsellor.zh@demo.test'")
        .execute(&app.pool)
        .await
        .expect("disable");
    assert_refused(&app, &token, "a disabled user's token", &["inactive"]).await;
    // Its signature held, so the event names the user whose token it was.
    let (actor_type, actor_id): (String, Option<Uuid>) = sqlx::query_as(
        "select actor_type, actor_id from audit_events where action = 'auth.token_rejected' \
         order by occurred_at desc, id desc limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("event");
    let zh: Uuid =
        sqlx::query_scalar("select id from users where email = 'counsellor.zh@demo.test'")
            .fetch_one(&app.pool)
            .await
            .expect("user");
    assert_eq!((actor_type.as_str(), actor_id), ("user", Some(zh)));
    let refused = app.post("/v1/auth/refresh", None, &refresh).await;
    refused.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    let details: Value = sqlx::query_scalar(
        "select details from audit_events where action = 'auth.token_rejected' \
         and actor_id = $1 and details->>'token' = 'refresh'",
    )
    .bind(zh)
    .fetch_one(&app.pool)
    .await
    .expect("refresh refusal");
    assert_eq!(details, json!({"reason": "inactive", "token": "refresh"}));

    // A request without a bearer token presents nothing to refuse, and logs nothing.
    let before: i64 = sqlx::query_scalar("select count(*) from audit_events")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    app.get("/v1/me", None).await.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    let basic = app
        .send(Method::GET, "/v1/me", None, None, &[("authorization", "Basic dXNlcjpwdw==")])
        .await;
    basic.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    let after: i64 = sqlx::query_scalar("select count(*) from audit_events")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(after, before);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn unknown_expired_and_reused_refresh_tokens_are_refused_and_logged(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let refresh_from = |token: &Value| {
        let mut request = Request::post("/v1/auth/refresh")
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-request-id", Uuid::now_v7().to_string())
            .body(Body::from(json!({"refresh_token": token}).to_string()))
            .expect("request");
        request
            .extensions_mut()
            .insert(ConnectInfo("203.0.113.77:41000".parse::<SocketAddr>().expect("addr")));
        request
    };
    let request_id = |request: &Request<Body>| {
        request.headers()["x-request-id"].to_str().expect("id").to_owned()
    };

    let unknown = json!("an-unknown-refresh-token-of-some-length");
    let request = refresh_from(&unknown);
    let id = request_id(&request);
    app.send_request(request).await.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    let actor = assert_rejection_logged(
        &app,
        &id,
        unknown.as_str().expect("str"),
        "unknown refresh token",
        &["unknown"],
    )
    .await;
    assert_eq!(actor, "anonymous");

    let first = app.login_response("sem@demo.test").await.body["refresh_token"].clone();
    sqlx::query("update refresh_tokens set expires_at = now() - interval '1 minute'")
        .execute(&app.pool)
        .await
        .expect("expire");
    let request = refresh_from(&first);
    let id = request_id(&request);
    app.send_request(request).await.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    let actor = assert_rejection_logged(
        &app,
        &id,
        first.as_str().expect("str"),
        "expired refresh token",
        &["expired"],
    )
    .await;
    assert_eq!(actor, "user");

    // Reuse revokes the family and is logged as such, with the request and the address.
    let second = app.login_response("sem@demo.test").await.body["refresh_token"].clone();
    let rotated = app.post("/v1/auth/refresh", None, &json!({"refresh_token": second})).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let request = refresh_from(&second);
    let id = request_id(&request);
    app.send_request(request).await.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    let (outcome, addr, row): (String, Option<String>, String) = sqlx::query_as(
        "select outcome, host(client_addr), row_to_json(e)::text from audit_events e \
         where action = 'auth.refresh_reused' and request_id = $1",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .expect("reuse event");
    assert_eq!((outcome.as_str(), addr.as_deref()), ("denied", Some("203.0.113.77")));
    assert!(!row.contains(second.as_str().expect("str")), "{row}");
}

// --- The end of a session -----------------------------------------------------------------

/// A sign-in refreshed once: both access tokens of the session, its first refresh token
/// (used) and its current one.
struct RefreshedSession {
    first_access: String,
    second_access: String,
    first_refresh: Value,
    current_refresh: Value,
}

async fn sign_in_and_refresh_once(app: &TestApp, email: &str) -> RefreshedSession {
    let login = app.login_response(email).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    let first_refresh = login.body["refresh_token"].clone();
    let refreshed =
        app.post("/v1/auth/refresh", None, &json!({"refresh_token": first_refresh})).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    let access = |body: &Value| body["access_token"].as_str().expect("access token").to_owned();
    RefreshedSession {
        first_access: access(&login.body),
        second_access: access(&refreshed.body),
        first_refresh,
        current_refresh: refreshed.body["refresh_token"].clone(),
    }
}

/// Each token is accepted (and so, while changes are announced, kept in memory).
async fn assert_accepted(app: &TestApp, tokens: &[&str]) {
    for token in tokens {
        let me = app.get("/v1/me", Some(token)).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    }
}

async fn assert_refresh_refused(app: &TestApp, refresh_token: &Value) {
    app.post("/v1/auth/refresh", None, &json!({"refresh_token": refresh_token}))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_replayed_refresh_token_ends_every_access_token_of_its_session(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.until_tokens_are_kept().await;
    let session = sign_in_and_refresh_once(&app, "iom@demo.test").await;
    let elsewhere = app.login("iom@demo.test").await;
    let sid = |token: &str| decode_part(token, 1)["sid"].clone();
    assert!(sid(&session.first_access).is_string(), "{}", decode_part(&session.first_access, 1));
    assert_eq!(sid(&session.first_access), sid(&session.second_access), "one session");
    assert_ne!(sid(&session.first_access), sid(&elsewhere), "another sign-in");
    assert_accepted(&app, &[&session.first_access, &session.second_access, &elsewhere]).await;

    // Someone replays the first refresh token: the whole sign-in ends at once.
    assert_refresh_refused(&app, &session.first_refresh).await;
    for (token, what) in [(&session.first_access, "first"), (&session.second_access, "second")] {
        let what = format!("the {what} access token of a session whose refresh token was replayed");
        assert_refused(&app, token, &what, &["session_ended"]).await;
    }
    assert_refresh_refused(&app, &session.current_refresh).await;
    // Another sign-in of the same user is not the one copied.
    assert_accepted(&app, &[&elsewhere]).await;
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn logout_ends_every_access_token_of_the_session_and_without_a_refresh_token_every_session(
    pool: PgPool,
) {
    let app = TestApp::new(pool).await;
    app.until_tokens_are_kept().await;
    let session = sign_in_and_refresh_once(&app, "sem@demo.test").await;
    let elsewhere = app.login("sem@demo.test").await;
    assert_accepted(&app, &[&session.first_access, &session.second_access, &elsewhere]).await;

    let logout = json!({"refresh_token": session.current_refresh});
    let out = app.post("/v1/auth/logout", Some(&session.second_access), &logout).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    assert_refused(
        &app,
        &session.first_access,
        "an earlier token of the session",
        &["session_ended"],
    )
    .await;
    assert_refused(&app, &session.second_access, "the token signed out", &["session_ended"]).await;
    assert_refresh_refused(&app, &session.current_refresh).await;
    assert_accepted(&app, &[&elsewhere]).await;

    // Without a refresh token, every sign-in of the user ends.
    let another = app.login("sem@demo.test").await;
    let out = app.send(Method::POST, "/v1/auth/logout", Some(&elsewhere), None, &[]).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    assert_refused(&app, &elsewhere, "the token signed out everywhere", &["session_ended"]).await;
    assert_refused(&app, &another, "another sign-in", &["session_ended"]).await;
    let sessions: Vec<(Option<String>,)> = sqlx::query_as(
        "select s.end_reason from sessions s join users u on u.id = s.user_id \
         where u.email = 'sem@demo.test'",
    )
    .fetch_all(&app.pool)
    .await
    .expect("sessions");
    assert_eq!(sessions, vec![(Some("logout".to_owned()),); 3]);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_disabled_users_tokens_stay_dead_when_the_account_is_enabled_again(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.until_tokens_are_kept().await;
    let admin = app.login("admin.be@demo.test").await;
    let session = sign_in_and_refresh_once(&app, "counsellor2.be@demo.test").await;
    assert_accepted(&app, &[&session.first_access, &session.second_access]).await;
    let id: Uuid =
        sqlx::query_scalar("select id from users where email = 'counsellor2.be@demo.test'")
            .fetch_one(&app.pool)
            .await
            .expect("user");
    let set_status = |status: &'static str| {
        let body = json!({"status": status});
        let path = format!("/v1/users/{id}");
        let admin = admin.clone();
        let app = &app;
        async move { app.send(Method::PATCH, &path, Some(&admin), Some(&body), &[]).await }
    };

    let disabled = set_status("disabled").await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text);
    for token in [&session.first_access, &session.second_access] {
        assert_refused(&app, token, "a disabled user's token", &["inactive"]).await;
    }
    let enabled = set_status("active").await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.text);
    // Enabling is a grant: Bern's only administrator has it approved by the operator's.
    assert_eq!(enabled.body["status"], "pending_approval");
    let operator = app.login("admin@demo.test").await;
    let approval = format!("/v1/users/{id}/approval");
    let approved = app.send(Method::POST, &approval, Some(&operator), None, &[]).await;
    assert_eq!(approved.body["status"], "active", "{}", approved.text);
    for token in [&session.first_access, &session.second_access] {
        assert_refused(
            &app,
            token,
            "a token of before the account was disabled",
            &["session_ended"],
        )
        .await;
    }
    assert_refresh_refused(&app, &session.current_refresh).await;
    // The user signs in afresh.
    assert_accepted(&app, &[&app.login("counsellor2.be@demo.test").await]).await;
}

// --- The client-credentials grant ---------------------------------------------------------

/// Creates a service account of IOM Bern with `scopes` as the demo admin; returns
/// (id, client_id, client_secret).
/// A service account of IOM Bern with `scopes`, made by IOM Bern's administrator (and, as
/// its only one, approved by the operator's when a scope reads case data).
pub async fn service_account(app: &TestApp, scopes: &[&str]) -> (String, String, String) {
    let admin = app.login("admin.iom@demo.test").await;
    let (institution,): (Uuid,) =
        sqlx::query_as("select id from institutions where name = 'IOM Bern'")
            .fetch_one(&app.pool)
            .await
            .expect("institution");
    let created = app
        .post(
            "/v1/service-accounts",
            Some(&admin),
            &json!({"institution_id": institution, "name": "Reintegration reports", "scopes": scopes}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let field = |name: &str| created.body[name].as_str().expect(name).to_owned();
    if created.body["status"] == "pending_approval" {
        let operator = app.login("admin@demo.test").await;
        let path = format!("/v1/service-accounts/{}/approval", field("id"));
        let approved = app.send(Method::POST, &path, Some(&operator), None, &[]).await;
        assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    }
    (field("id"), field("client_id"), field("client_secret"))
}

/// A service account of institution `institution` (by name) with `scopes`, made in the store:
/// for tests of what a scope reads, not of who may grant it (`separation.rs`).
pub async fn stored_service_account(
    app: &TestApp,
    institution: &str,
    scopes: &[&str],
) -> (String, String, String) {
    let (institution_id,): (Uuid,) = sqlx::query_as("select id from institutions where name = $1")
        .bind(institution)
        .fetch_one(&app.pool)
        .await
        .expect("institution");
    let scopes: Vec<_> =
        scopes.iter().map(|s| retour_domain::Scope::parse(s).expect("scope")).collect();
    let (id, client_id, secret) =
        store_service_account(app, institution_id, "Stored integration", scopes).await;
    (id.to_string(), client_id, secret)
}

/// Makes a service account in the store: its id, client id and secret.
pub async fn store_service_account(
    app: &TestApp,
    institution_id: Uuid,
    name: &str,
    scopes: Vec<retour_domain::Scope>,
) -> (Uuid, String, String) {
    let secret = retour_api::auth::client_secret::new_secret();
    let new = retour_store::service_accounts::NewServiceAccount {
        institution_id,
        name: name.to_owned(),
        client_id: retour_api::auth::client_secret::new_client_id(),
        secret_hash: retour_api::auth::client_secret::hash(&secret),
        scopes,
        approval_requested_by: None,
    };
    let made = app
        .store
        .create_service_account(&new, |a| {
            retour_store::audit::AuditEvent::new(
                retour_store::audit::AuditActor::anonymous(),
                "service_account.create",
                retour_store::audit::Outcome::Allowed,
            )
            .resource("service_account", a.id)
        })
        .await
        .expect("service account");
    (made.id, made.client_id, secret)
}

/// An access token of a service account, asked for with its credentials in the body.
pub async fn grant(app: &TestApp, client_id: &str, secret: &str) -> String {
    let body =
        format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}");
    let response = token_request(app, &body, &[]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.body["access_token"].as_str().expect("access token").to_owned()
}

async fn token_request(app: &TestApp, body: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/v1/auth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send_request(request.body(Body::from(body.to_owned())).expect("request")).await
}

#[track_caller]
fn assert_oauth_error(response: &TestResponse, status: StatusCode, error: &str) {
    assert_eq!(response.status, status, "{}", response.text);
    assert_eq!(response.header("content-type"), Some("application/json"), "{}", response.text);
    assert_eq!(response.body["error"], error, "{}", response.text);
    assert!(response.body["error_description"].is_string(), "{}", response.text);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_service_account_gets_a_token_with_its_credentials_in_the_body(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (id, client_id, secret) = service_account(&app, &["cases:read", "stats:read"]).await;
    let response = token_request(
        &app,
        &format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}"),
        &[],
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.body["token_type"], "Bearer");
    assert_eq!(response.body["expires_in"], 900);
    assert_eq!(response.body["scope"], "cases:read stats:read");
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("pragma"), Some("no-cache"));
    let token = response.body["access_token"].as_str().expect("token");
    let claims = decode_part(token, 1);
    assert_eq!(claims["sub"], id);
    assert_eq!(claims["sub_type"], "service_account");
    assert_eq!(claims["scope"], "cases:read stats:read");
    assert!(claims.get("role").is_none(), "{claims}");
    assert_eq!(decode_part(token, 0)["alg"], "EdDSA");

    // It reads the institutions (without contact data), and nothing of the administration.
    let institutions = app.get("/v1/institutions", Some(token)).await;
    assert_eq!(institutions.status, StatusCode::OK, "{}", institutions.text);
    let items = institutions.body["items"].as_array().expect("items");
    assert!(items.len() > 40, "{}", items.len());
    assert!(items.iter().all(|i| i.get("contact_email").is_none()));
    app.get("/v1/users", Some(token)).await.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.get("/v1/me", Some(token)).await.assert_problem(StatusCode::NOT_FOUND, "not_found");

    let (audited,): (i64,) = sqlx::query_as(
        "select count(*) from audit_events where action = 'auth.token' \
         and actor_type = 'service_account' and actor_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .expect("audit");
    assert_eq!(audited, 1);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn http_basic_authentication_and_a_narrower_scope_are_accepted(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, client_id, secret) = service_account(&app, &["cases:read", "stats:read"]).await;
    let basic = format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")));
    let response = token_request(
        &app,
        "grant_type=client_credentials&scope=stats:read",
        &[("authorization", &basic)],
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.body["scope"], "stats:read");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn wrong_client_credentials_get_invalid_client_with_a_basic_challenge(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, client_id, secret) = service_account(&app, &["stats:read"]).await;
    let wrong_secret = format!("{}x", &secret[..secret.len() - 1]);
    let bad_basic = format!("Basic {}", STANDARD.encode(format!("{client_id}:{wrong_secret}")));
    let attempts = [
        (
            format!(
                "grant_type=client_credentials&client_id={client_id}&client_secret={wrong_secret}"
            ),
            None,
        ),
        (
            format!("grant_type=client_credentials&client_id=svc_nobody&client_secret={secret}"),
            None,
        ),
        ("grant_type=client_credentials".to_owned(), None),
        ("grant_type=client_credentials".to_owned(), Some(bad_basic)),
        ("grant_type=client_credentials".to_owned(), Some("Basic !!!not-base64".to_owned())),
    ];
    let mut bodies = Vec::new();
    for (body, authorization) in attempts {
        let headers: Vec<(&str, &str)> =
            authorization.iter().map(|a| ("authorization", a.as_str())).collect();
        let response = token_request(&app, &body, &headers).await;
        assert_oauth_error(&response, StatusCode::UNAUTHORIZED, "invalid_client");
        assert_eq!(response.header("www-authenticate"), Some("Basic realm=\"retour\""));
        bodies.push(response.text);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    let (failures,): (i64,) =
        sqlx::query_as("select count(*) from audit_events where action = 'auth.token_failed'")
            .fetch_one(&app.pool)
            .await
            .expect("audit");
    assert_eq!(failures, 3, "each rejected credential is logged");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn malformed_token_requests_get_the_rfc_6749_errors(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, client_id, secret) = service_account(&app, &["stats:read"]).await;
    let creds = format!("client_id={client_id}&client_secret={secret}");
    let basic = format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")));

    let response = token_request(&app, &creds, &[]).await;
    assert_oauth_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    let response = token_request(&app, &format!("grant_type=password&{creds}"), &[]).await;
    assert_oauth_error(&response, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    let response = token_request(
        &app,
        &format!("grant_type=client_credentials&{creds}&scope=cases:read"),
        &[],
    )
    .await;
    assert_oauth_error(&response, StatusCode::BAD_REQUEST, "invalid_scope");
    let response =
        token_request(&app, &format!("grant_type=client_credentials&{creds}&scope=admin"), &[])
            .await;
    assert_oauth_error(&response, StatusCode::BAD_REQUEST, "invalid_scope");
    let response = token_request(
        &app,
        &format!("grant_type=client_credentials&{creds}"),
        &[("authorization", &basic)],
    )
    .await;
    assert_oauth_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    let response = token_request(
        &app,
        &format!("grant_type=client_credentials&grant_type=client_credentials&{creds}"),
        &[],
    )
    .await;
    assert_oauth_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    let json = app
        .post(
            "/v1/auth/token",
            None,
            &json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}),
        )
        .await;
    assert_oauth_error(&json, StatusCode::BAD_REQUEST, "invalid_request");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_disabled_service_account_gets_no_token_and_its_tokens_stop_at_once(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (id, client_id, secret) = service_account(&app, &["stats:read"]).await;
    let body =
        format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}");
    let granted = token_request(&app, &body, &[]).await;
    let token = granted.body["access_token"].as_str().expect("token").to_owned();
    assert_eq!(app.get("/v1/institutions", Some(&token)).await.status, StatusCode::OK);

    let admin = app.login("admin.iom@demo.test").await;
    let disabled = app
        .send(
            Method::PATCH,
            &format!("/v1/service-accounts/{id}"),
            Some(&admin),
            Some(&json!({"status": "disabled"})),
            &[],
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text);
    assert_eq!(disabled.body["status"], "disabled");
    app.get("/v1/institutions", Some(&token))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    assert_oauth_error(
        &token_request(&app, &body, &[]).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
}

/// Rotates the secret of service account `id` as IOM Bern's administrator; the answer holds
/// the new one.
async fn rotate_secret(app: &TestApp, id: &str) -> TestResponse {
    let admin = app.login("admin.iom@demo.test").await;
    let body = json!({"rotate_secret": true});
    let path = format!("/v1/service-accounts/{id}");
    let rotated = app.send(Method::PATCH, &path, Some(&admin), Some(&body), &[]).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    rotated
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_rotated_secret_replaces_the_old_one(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (id, client_id, old_secret) = service_account(&app, &["stats:read"]).await;
    let rotated = rotate_secret(&app, &id).await;
    let new_secret = rotated.body["client_secret"].as_str().expect("new secret");
    assert_ne!(new_secret, old_secret);
    let with = |secret: &str| {
        format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}")
    };
    assert_oauth_error(
        &token_request(&app, &with(&old_secret), &[]).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
    assert_eq!(token_request(&app, &with(new_secret), &[]).await.status, StatusCode::OK);
    let (details,): (Value,) = sqlx::query_as(
        "select details from audit_events where action = 'service_account.update' \
         and resource_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .expect("audit");
    assert_eq!(details, json!({"fields": ["client_secret"]}));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_service_accounts_logout_ends_the_token_it_is_made_with(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.until_tokens_are_kept().await;
    let (_, client_id, secret) = service_account(&app, &["stats:read"]).await;
    let token = grant(&app, &client_id, &secret).await;
    let other_worker = grant(&app, &client_id, &secret).await;
    for token in [&token, &other_worker] {
        assert_eq!(app.get("/v1/institutions", Some(token)).await.status, StatusCode::OK);
    }

    let out = app.post("/v1/auth/logout", Some(&token), &json!({})).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    let actor =
        assert_refused_as(&app, &token, "a signed-out service-account token", &["revoked"]).await;
    assert_eq!(actor, "service_account");
    // The account's other tokens (another worker's) end with a rotation of the secret.
    assert_eq!(app.get("/v1/institutions", Some(&other_worker)).await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn rotating_a_client_secret_ends_every_token_obtained_with_the_old_one(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.until_tokens_are_kept().await;
    let (id, client_id, old_secret) = service_account(&app, &["stats:read"]).await;
    let before = grant(&app, &client_id, &old_secret).await;
    assert_eq!(app.get("/v1/institutions", Some(&before)).await.status, StatusCode::OK);

    let rotated = rotate_secret(&app, &id).await;
    assert_refused(&app, &before, "a token of the old secret", &["secret_rotated"]).await;
    let after =
        grant(&app, &client_id, rotated.body["client_secret"].as_str().expect("secret")).await;
    assert_eq!(app.get("/v1/institutions", Some(&after)).await.status, StatusCode::OK);
    assert_eq!(decode_part(&before, 1)["secret_generation"], 1);
    assert_eq!(decode_part(&after, 1)["secret_generation"], 2);
}

// --- The sign-in rate limit ---------------------------------------------------------------

async fn login_from(app: &TestApp, peer: &str, forwarded_for: Option<&str>) -> TestResponse {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(forwarded_for) = forwarded_for {
        request = request.header("x-forwarded-for", forwarded_for);
    }
    let body = json!({"email": "counsellor.zh@demo.test", "password": DEMO_PASSWORD});
    let mut request = request.body(Body::from(body.to_string())).expect("request");
    let peer: SocketAddr = format!("{peer}:40000").parse().expect("addr");
    request.extensions_mut().insert(ConnectInfo(peer));
    app.send_request(request).await
}

async fn limited_app(pool: PgPool, trusted_proxies: &[&str]) -> TestApp {
    let config = ApiConfig {
        login: LoginLimits { rate_per_minute: 3, ..LoginLimits::default() },
        trusted_proxies: trusted_proxies.iter().map(|p| p.parse().expect("net")).collect(),
        ..ApiConfig::default()
    };
    TestApp::with_config(pool, config).await
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_sign_in_endpoints_answer_429_per_client_address_beyond_the_limit(pool: PgPool) {
    let app = limited_app(pool, &[]).await;
    for _ in 0..3 {
        assert_eq!(login_from(&app, "198.51.100.7", None).await.status, StatusCode::OK);
    }
    let limited = login_from(&app, "198.51.100.7", None).await;
    limited.assert_problem(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    let retry_after: u64 =
        limited.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    assert_eq!(limited.header("ratelimit-limit"), Some("3"));
    assert_eq!(limited.header("ratelimit-remaining"), Some("0"));
    assert_eq!(limited.header("ratelimit-reset"), Some(retry_after.to_string().as_str()));

    // Another address has its own allowance; other endpoints are not limited.
    assert_eq!(login_from(&app, "198.51.100.8", None).await.status, StatusCode::OK);
    let token = app.login("sem@demo.test").await;
    assert_eq!(app.get("/v1/me", Some(&token)).await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn forwarded_for_names_the_client_only_behind_a_trusted_proxy(pool: PgPool) {
    let app = limited_app(pool, &["10.0.0.0/8"]).await;
    // Behind the proxy, each forwarded client has its own allowance.
    for client in ["203.0.113.1", "203.0.113.2"] {
        for _ in 0..3 {
            let response = login_from(&app, "10.0.0.2", Some(client)).await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text);
        }
    }
    login_from(&app, "10.0.0.2", Some("203.0.113.1"))
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");

    // A client that is not a trusted proxy cannot escape its limit with the header.
    for n in 0..3 {
        let spoofed = format!("192.0.2.{n}");
        let response = login_from(&app, "198.51.100.9", Some(&spoofed)).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    }
    login_from(&app, "198.51.100.9", Some("192.0.2.99"))
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");

    // The access log records the forwarded client.
    let (addr,): (String,) = sqlx::query_as(
        "select host(client_addr) from audit_events where action = 'auth.login' \
         order by id limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("audit");
    assert_eq!(addr, "203.0.113.1");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_token_endpoint_is_rate_limited_too(pool: PgPool) {
    let app = limited_app(pool, &[]).await;
    let mut last = None;
    for _ in 0..4 {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/v1/auth/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("grant_type=client_credentials&client_id=x&client_secret=y"))
            .expect("request");
        request
            .extensions_mut()
            .insert(ConnectInfo("198.51.100.20:5000".parse::<SocketAddr>().expect("addr")));
        last = Some(app.send_request(request).await);
    }
    last.expect("response").assert_problem(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
}
