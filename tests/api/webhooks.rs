//! Webhooks: a service account subscribes a URL; the dispatcher posts each event it may read,
//! signed as Standard Webhooks 1.0 says (checked with the reference library), at least once
//! and in order per case, retried with backoff, given up after three days, stopped by 410;
//! two dispatchers share the work, and one that dies loses nothing. Subscriptions to
//! private, link-local and loopback addresses are refused.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::post;
use retour_api::ApiConfig;
use retour_api::webhooks::destination::Allowed;
use retour_api::webhooks::{Dispatcher, WebhookConfig};
use retour_store::webhooks;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::*;
use crate::tokens::{grant, service_account};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("json body")
    }
}

#[derive(Clone, Default)]
struct Inbox {
    received: Arc<Mutex<Vec<Received>>>,
    /// The statuses to answer with, in turn; 200 once they are used up.
    replies: Arc<Mutex<VecDeque<u16>>>,
}

/// A partner's receiver on a loopback port.
struct Receiver {
    addr: SocketAddr,
    inbox: Inbox,
}

async fn receive(
    State(inbox): State<Inbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let headers = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    inbox.received.lock().expect("inbox").push(Received { headers, body: body.to_vec() });
    let status = inbox.replies.lock().expect("replies").pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}

impl Receiver {
    async fn start(replies: &[u16]) -> Receiver {
        let inbox = Inbox::default();
        inbox.replies.lock().expect("replies").extend(replies);
        let app = axum::Router::new().route("/hook", post(receive)).with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, inbox }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.inbox.received.lock().expect("inbox").clone()
    }
}

fn config(lease: Duration) -> ApiConfig {
    let mut config = test_config();
    config.webhooks = WebhookConfig {
        allowed: Allowed { loopback: true, networks: Vec::new() },
        lease,
        idle: Duration::from_millis(20),
        ..WebhookConfig::default()
    };
    config
}

fn dispatcher(app: &TestApp) -> Dispatcher {
    let config = app.state.config();
    Dispatcher::new(app.store.clone(), config.documents.keys.clone(), config.webhooks.clone())
        .expect("dispatcher")
}

/// Runs dispatcher rounds until the receiver holds `count` requests (events are held back
/// while another test's transaction is open on the server).
async fn deliver(dispatcher: &Dispatcher, receiver: &Receiver, count: usize) -> Vec<Received> {
    for _ in 0..400 {
        dispatcher.round().await.expect("round");
        if receiver.received().len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    receiver.received()
}

/// A service account of IOM Bern with `case-events:read`, signed in.
async fn subscriber(app: &TestApp) -> String {
    let (_, client, secret) = service_account(app, &["case-events:read"]).await;
    grant(app, &client, &secret).await
}

async fn subscribe(app: &TestApp, token: &str, body: &Value) -> Value {
    let created = app.post("/v1/webhook-subscriptions", Some(token), body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    created.body
}

/// The reference library's `python`: beside the S3 test server (`.ci/run` installs both).
fn reference_python() -> Option<PathBuf> {
    let beside = std::env::var_os("RETOUR_TEST_S3_SERVER")
        .map(PathBuf::from)
        .and_then(|server| server.parent().map(|dir| dir.join("python")));
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-s3/bin/python");
    beside.into_iter().chain([venv]).find(|p| p.is_file())
}

/// Verifies every request with the Standard Webhooks reference library and `secret`; fails
/// the test when one does not verify.
fn verify_with_reference_library(received: &[Received], secret: &str) {
    let Some(python) = reference_python() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but the Standard Webhooks reference library was not found (.ci/run \
             installs it with scripts/s3-test-server.sh)"
        );
        println!("SKIPPED the reference library's check: run scripts/s3-test-server.sh");
        return;
    };
    let messages: Vec<Value> = received
        .iter()
        .map(|r| json!({ "headers": r.headers, "body": String::from_utf8(r.body.clone()).expect("utf-8") }))
        .collect();
    let file = tempfile::NamedTempFile::new().expect("file");
    std::fs::write(file.path(), serde_json::to_vec(&messages).expect("json")).expect("write");
    let script = "import json, sys\n\
        from standardwebhooks.webhooks import Webhook\n\
        hook = Webhook(sys.argv[1])\n\
        for m in json.load(open(sys.argv[2])):\n\
        \x20   hook.verify(m['body'], m['headers'])\n\
        print('verified', len(json.load(open(sys.argv[2]))))\n";
    let output = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(secret)
        .arg(file.path())
        .output()
        .expect("python");
    assert!(
        output.status.success(),
        "the reference library refused a signature: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(said.trim(), format!("verified {}", received.len()));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn events_are_posted_signed_as_standard_webhooks_in_order_per_case(pool: PgPool) {
    let app = TestApp::with_config(pool.clone(), config(Duration::from_secs(30))).await;
    let team = Team::new(&app).await;
    let before = approved_case(&app, &team, "42345678", &approval()).await;
    let token = subscriber(&app).await;
    let receiver = Receiver::start(&[]).await;
    let subscription = subscribe(&app, &token, &json!({ "url": receiver.url() })).await;
    let secret = subscription["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(subscription["status"], "active");
    // The secret is shown once.
    let id = subscription["id"].as_str().expect("id");
    let read = app.get(&format!("/v1/webhook-subscriptions/{id}"), Some(&token)).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert!(read.body.get("secret").is_none(), "{}", read.text);

    // IOM Bern's account receives what IOM Bern reads from now on: the approved cases.
    let first = approved_case(&app, &team, "12345678", &approval()).await;
    let second = approved_case(&app, &team, "22345678", &approval()).await;
    let first = act(&app, &team.repat, &first, &booking(false)).await;
    ready_case(&app, &team, "32345678").await;
    let dispatcher = dispatcher(&app);
    let received = deliver(&dispatcher, &receiver, 9).await;
    let bodies: Vec<Value> = received.iter().map(Received::json).collect();
    let of = |case: &Value| -> Vec<String> {
        bodies
            .iter()
            .filter(|b| b["case_id"] == case["id"])
            .map(|b| b["type"].as_str().expect("type").to_owned())
            .collect()
    };
    assert_eq!(
        of(&first),
        ["case.opened", "case.submitted", "review.started", "case.approved", "travel.booked"]
    );
    assert_eq!(of(&second), ["case.opened", "case.submitted", "review.started", "case.approved"]);
    assert!(of(&before).is_empty(), "events before the subscription are not sent");
    assert_eq!(bodies.len(), 9, "{bodies:?}");

    // Standard Webhooks headers: the event's id, a current timestamp, the signature.
    for (message, body) in received.iter().zip(&bodies) {
        assert_eq!(message.headers["webhook-id"], body["id"].as_str().expect("id"));
        assert_eq!(message.headers["content-type"], "application/json");
        let at: i64 = message.headers["webhook-timestamp"].parse().expect("timestamp");
        assert!((chrono::Utc::now().timestamp() - at).abs() < 60);
        assert!(message.headers["webhook-signature"].starts_with("v1,"));
    }
    verify_with_reference_library(&received, &secret);

    // The subscriber reads its deliveries, each with its attempt.
    let deliveries = app
        .get(&format!("/v1/webhook-subscriptions/{id}/deliveries?limit=200"), Some(&token))
        .await;
    assert_eq!(deliveries.status, StatusCode::OK, "{}", deliveries.text);
    let items = deliveries.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 9);
    for item in items {
        assert_eq!(item["status"], "delivered", "{item}");
        assert_eq!(item["attempts"][0]["status_code"], 200, "{item}");
    }
    // Nothing is sent twice.
    assert_eq!(deliver(&dispatcher, &receiver, 10).await.len(), 9);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_failed_delivery_is_retried_before_the_cases_later_events_and_410_disables(pool: PgPool) {
    let app = TestApp::with_config(pool.clone(), config(Duration::from_secs(30))).await;
    let team = Team::new(&app).await;
    let token = subscriber(&app).await;
    let receiver = Receiver::start(&[503]).await;
    let subscription = subscribe(
        &app,
        &token,
        &json!({ "url": receiver.url(), "event_types": ["case.approved", "travel.booked"] }),
    )
    .await;
    let id = subscription["id"].as_str().expect("id").to_owned();
    let case = approved_case(&app, &team, "12345678", &approval()).await;
    act(&app, &team.repat, &case, &booking(false)).await;
    let dispatcher = dispatcher(&app);

    // The approval fails once (503): the booking of the same case waits behind it.
    let received = deliver(&dispatcher, &receiver, 1).await;
    for _ in 0..5 {
        dispatcher.round().await.expect("round");
    }
    assert_eq!(receiver.received().len(), 1, "the booking went out before the approval");
    assert_eq!(received[0].json()["type"], "case.approved");
    let pending: (i32, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "select attempts, next_attempt_at from webhook_deliveries d \
         join event_outbox e on e.id = d.event_id where e.type = 'case.approved'",
    )
    .fetch_one(&pool)
    .await
    .expect("pending");
    assert_eq!(pending.0, 1);
    let wait = (pending.1 - chrono::Utc::now()).num_milliseconds();
    assert!((3_000..=6_000).contains(&wait), "the first retry comes after about 5 s: {wait} ms");

    // When the retry is due, the approval goes out again, then the booking.
    sqlx::query("update webhook_deliveries set next_attempt_at = now()")
        .execute(&pool)
        .await
        .expect("due");
    let received = deliver(&dispatcher, &receiver, 3).await;
    let types: Vec<Value> = received.iter().map(|r| r.json()["type"].clone()).collect();
    assert_eq!(types, [json!("case.approved"), json!("case.approved"), json!("travel.booked")]);
    assert_eq!(received[0].headers["webhook-id"], received[1].headers["webhook-id"]);
    let deliveries =
        app.get(&format!("/v1/webhook-subscriptions/{id}/deliveries"), Some(&token)).await;
    let first_delivery = deliveries.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|d| d["type"] == "case.approved")
        .expect("approval")
        .clone();
    let statuses: Vec<&Value> = first_delivery["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| &a["status_code"])
        .collect();
    assert_eq!(statuses, [&json!(503), &json!(200)]);

    // After three days of failures a delivery is given up and the subscription is failing.
    receiver.inbox.replies.lock().expect("replies").extend([500, 500]);
    approved_case(&app, &team, "22345678", &approval()).await;
    deliver(&dispatcher, &receiver, 4).await;
    sqlx::query("update webhook_deliveries set created_at = now() - interval '4 days', next_attempt_at = now() where status = 'pending'")
        .execute(&pool)
        .await
        .expect("old");
    deliver(&dispatcher, &receiver, 5).await;
    let failing = app.get(&format!("/v1/webhook-subscriptions/{id}"), Some(&token)).await;
    assert_eq!(failing.body["status"], "failing", "{}", failing.text);

    // Set active again; a receiver that answers 410 Gone disables it.
    let gone = Receiver::start(&[410]).await;
    let change = json!({ "status": "active", "url": gone.url() });
    let path = format!("/v1/webhook-subscriptions/{id}");
    let active = app.send(Method::PATCH, &path, Some(&token), Some(&change), &[]).await;
    assert_eq!(active.body["status"], "active", "{}", active.text);
    approved_case(&app, &team, "32345678", &approval()).await;
    deliver(&dispatcher, &gone, 1).await;
    let disabled = app.get(&path, Some(&token)).await;
    assert_eq!(disabled.body["status"], "disabled", "{}", disabled.text);
    assert!(disabled.body["status_reason"].as_str().expect("reason").contains("410"));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn two_dispatchers_deliver_each_event_once_and_a_dead_one_loses_nothing(pool: PgPool) {
    let app = TestApp::with_config(pool.clone(), config(Duration::from_secs(1))).await;
    let team = Team::new(&app).await;
    let token = subscriber(&app).await;
    let receiver = Receiver::start(&[]).await;
    subscribe(&app, &token, &json!({ "url": receiver.url() })).await;
    for zemis in ["12345678", "22345678", "32345678"] {
        approved_case(&app, &team, zemis, &approval()).await;
    }
    // Two server processes, each with its own dispatcher, at the same time.
    let (one, two) = (dispatcher(&app), dispatcher(&app));
    let run = |d: Dispatcher| {
        let received = receiver.inbox.received.clone();
        async move {
            for _ in 0..400 {
                d.round().await.expect("round");
                if received.lock().expect("inbox").len() >= 12 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    tokio::join!(run(one.clone()), run(two.clone()));
    let ids: Vec<String> =
        receiver.received().iter().map(|r| r.headers["webhook-id"].clone()).collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!((ids.len(), unique.len()), (12, 12), "each event once: {ids:?}");

    // A process takes deliveries and dies before sending them: after its lease, another
    // process sends them.
    approved_case(&app, &team, "42345678", &approval()).await;
    let mut taken = Vec::new();
    for _ in 0..400 {
        one.fan_out().await.expect("fan out");
        taken.extend(webhooks::claim(&pool, 10, 1.0).await.expect("claim"));
        if !taken.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(taken.len(), 1, "the opening first; the case's later events wait behind it");
    two.round().await.expect("round");
    assert_eq!(receiver.received().len(), 12, "nothing is sent while the lease holds");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let received = deliver(&two, &receiver, 16).await;
    assert_eq!(received.len(), 16);
    assert_eq!(received[12].headers["webhook-id"], taken[0].event_id.to_string());
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_rotated_secret_signs_beside_the_old_one_and_a_replay_sends_again(pool: PgPool) {
    let app = TestApp::with_config(pool.clone(), config(Duration::from_secs(30))).await;
    let team = Team::new(&app).await;
    let token = subscriber(&app).await;
    let receiver = Receiver::start(&[]).await;
    let subscription = subscribe(
        &app,
        &token,
        &json!({ "url": receiver.url(), "event_types": ["case.approved"] }),
    )
    .await;
    let id = subscription["id"].as_str().expect("id").to_owned();
    let old = subscription["secret"].as_str().expect("secret").to_owned();
    let path = format!("/v1/webhook-subscriptions/{id}");
    let rotated = app
        .send(Method::PATCH, &path, Some(&token), Some(&json!({ "rotate_secret": true })), &[])
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let new = rotated.body["secret"].as_str().expect("new secret").to_owned();
    assert_ne!(new, old);
    assert!(rotated.body["previous_secret_until"].is_string());

    approved_case(&app, &team, "12345678", &approval()).await;
    let dispatcher = dispatcher(&app);
    let received = deliver(&dispatcher, &receiver, 1).await;
    assert_eq!(received[0].headers["webhook-signature"].split(' ').count(), 2);
    verify_with_reference_library(&received, &new);
    verify_with_reference_library(&received, &old);

    // A rotation of the master key re-wraps the secrets: the old master key can go.
    let both = retour_store::documents::crypto::MasterKeys::parse(&format!(
        "next:{},test:{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]),
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, TEST_KEY)
    ))
    .expect("keys");
    assert_eq!(webhooks::rewrap_secrets(&pool, &both).await.expect("rewrap"), 1);
    let next_only = retour_store::documents::crypto::MasterKeys::single("next", [7u8; 32]);
    let dispatcher =
        Dispatcher::new(app.store.clone(), Some(next_only), app.state.config().webhooks.clone())
            .expect("dispatcher");

    // A replay from the start sends the approval again, with the same id.
    let replay = app.post(&format!("{path}/replay"), Some(&token), &json!({ "after": null })).await;
    assert_eq!(replay.status, StatusCode::OK, "{}", replay.text);
    let received = deliver(&dispatcher, &receiver, 2).await;
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].headers["webhook-id"], received[1].headers["webhook-id"]);
    verify_with_reference_library(&received[1..], &new);
    verify_with_reference_library(&received[1..], &old);
    let bad = app.post(&format!("{path}/replay"), Some(&token), &json!({ "after": "nope" })).await;
    assert_names(&bad, "after", "invalid_cursor");

    // Deleted, it receives nothing more and is gone from the list.
    let deleted = app.send(Method::DELETE, &path, Some(&token), None, &[]).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    approved_case(&app, &team, "22345678", &approval()).await;
    for _ in 0..10 {
        dispatcher.round().await.expect("round");
    }
    assert_eq!(receiver.received().len(), 2);
    let list = app.get("/v1/webhook-subscriptions", Some(&token)).await;
    assert_eq!(list.body["items"], json!([]));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn private_link_local_and_loopback_destinations_are_refused(pool: PgPool) {
    // The default configuration: no loopback.
    let app = TestApp::new(pool.clone()).await;
    let token = subscriber(&app).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.8/hook",
        "https://192.168.1.20/hook",
        "https://[fd12::1]/hook",
        "http://partner.example.org/hook",
    ] {
        let refused =
            app.post("/v1/webhook-subscriptions", Some(&token), &json!({ "url": url })).await;
        assert_names(&refused, "url", "not_allowed");
    }
    assert_eq!(count(&pool, "webhook_subscriptions").await, 0);

    // Only service accounts with case-events:read subscribe.
    let be = app.login(BE).await;
    let user = app
        .post(
            "/v1/webhook-subscriptions",
            Some(&be),
            &json!({ "url": "https://partner.example.org/h" }),
        )
        .await;
    user.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let (_, client, secret) = service_account(&app, &["cases:read"]).await;
    let other = grant(&app, &client, &secret).await;
    app.get("/v1/webhook-subscriptions", Some(&other))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "insufficient_scope");
    // Another account's subscription is not found.
    let loopback = TestApp::with_config(pool.clone(), config(Duration::from_secs(30))).await;
    let receiver = Receiver::start(&[]).await;
    let by_name = format!("https://localhost:{}/hook", receiver.addr.port());
    let mine = subscribe(&loopback, &token, &json!({ "url": by_name })).await;
    let (_, client, secret) = service_account(&app, &["case-events:read"]).await;
    let stranger = grant(&app, &client, &secret).await;
    let path = format!("/v1/webhook-subscriptions/{}", mine["id"].as_str().expect("id"));
    app.get(&path, Some(&stranger)).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
    // An account holds at most ten subscriptions.
    for _ in 0..10 {
        subscribe(
            &loopback,
            &stranger,
            &json!({ "url": receiver.url(), "event_types": ["case.closed"] }),
        )
        .await;
    }
    let eleventh = loopback
        .post("/v1/webhook-subscriptions", Some(&stranger), &json!({ "url": receiver.url() }))
        .await;
    eleventh.assert_problem(StatusCode::CONFLICT, "conflict");

    // The address is checked again at delivery: a dispatcher that may not reach loopback
    // sends nothing there, and records why.
    let team = Team::new(&app).await;
    approved_case(&app, &team, "12345678", &approval()).await;
    let strict = Dispatcher::new(
        app.store.clone(),
        app.state.config().documents.keys.clone(),
        WebhookConfig::default(),
    )
    .expect("dispatcher");
    let mut attempts = 0;
    for _ in 0..400 {
        attempts += strict.round().await.expect("round").attempted;
        if attempts > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(receiver.received().is_empty());
    let error: String = sqlx::query_scalar("select error from webhook_attempts limit 1")
        .fetch_one(&pool)
        .await
        .expect("attempt");
    assert!(error.contains("loopback"), "{error}");
}
