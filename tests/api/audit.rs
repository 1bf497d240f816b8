//! The access log itself: sealing into the hash chain, immutability, verification,
//! the auditors' endpoints and the retention prune.

use std::collections::HashSet;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use retour_api::auth::token::{self, Claims, Subject};
use retour_api::{Keys, TokenConfig};
use retour_store::audit::{self, AuditActor, AuditEvent, Outcome, PruneError};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::TestApp;

const AUDITOR: &str = "auditor@demo.test";

const NON_AUDITORS: [&str; 7] = [
    "counsellor.be@demo.test",
    "counsellor.zh@demo.test",
    "sem@demo.test",
    "swissrepat@demo.test",
    "iom@demo.test",
    "mission.iq@demo.test",
    "admin@demo.test",
];

async fn seal(pool: &PgPool) -> u64 {
    audit::seal_pending(pool).await.expect("seal")
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect("count")
}

/// Runs `sql` as the database superuser with the log's triggers disabled: what an attacker
/// with full access to the database could do.
async fn tamper(pool: &PgPool, sql: &'static str) {
    let mut conn = pool.acquire().await.expect("connection");
    sqlx::raw_sql(
        "alter table audit_events disable trigger user; \
         alter table audit_seals disable trigger user",
    )
    .execute(&mut *conn)
    .await
    .expect("disable triggers");
    sqlx::raw_sql(sql).execute(&mut *conn).await.expect("tamper");
    sqlx::raw_sql(
        "alter table audit_events enable trigger user; \
         alter table audit_seals enable trigger user",
    )
    .execute(&mut *conn)
    .await
    .expect("enable triggers");
}

/// An event recorded `days_ago` days in the past (the API only ever records the present).
async fn old_event(pool: &PgPool, days_ago: i32) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into audit_events (id, occurred_at, actor_type, action, outcome) \
         values ($1, now() - make_interval(days => $2), 'anonymous', 'auth.login_failed', 'denied')",
    )
    .bind(id)
    .bind(days_ago)
    .execute(pool)
    .await
    .expect("old event");
    id
}

async fn record(pool: &PgPool, event: AuditEvent) {
    audit::record(pool, &event).await.expect("record");
}

fn test_event(action: &str) -> AuditEvent {
    AuditEvent::new(AuditActor::anonymous(), action, Outcome::Allowed)
}

/// Produces `n` sealed sign-in events (and returns the auditor's token).
async fn sealed_log(app: &TestApp, n: usize) -> String {
    for _ in 0..n.saturating_sub(1) {
        app.login("counsellor.be@demo.test").await;
    }
    let token = app.login(AUDITOR).await;
    seal(&app.pool).await;
    token
}

async fn verify_endpoint(app: &TestApp, token: &str) -> Value {
    let response = app.get("/v1/audit/verify", Some(token)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.body
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn sign_ins_are_sealed_and_verify_checks_every_link(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    app.login("counsellor.be@demo.test").await;
    app.login("sem@demo.test").await;
    let failed = app
        .post("/v1/auth/login", None, &json!({"email": "sem@demo.test", "password": "wrong"}))
        .await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    let token = app.login(AUDITOR).await;
    assert_eq!(count(&pool, "select count(*) from audit_seals").await, 0, "sealing is not inline");

    assert_eq!(seal(&pool).await, 4);
    assert_eq!(seal(&pool).await, 0, "each event is sealed once");
    let seqs: Vec<i64> = sqlx::query_scalar("select seq from audit_seals order by seq")
        .fetch_all(&pool)
        .await
        .expect("seqs");
    assert_eq!(seqs, vec![1, 2, 3, 4]);

    let verification = audit::verify(&pool).await.expect("verify");
    assert!(verification.ok);
    assert_eq!(verification.checked, 4);
    assert_eq!(verification.first_broken, None);
    assert_eq!(verification.anchor_seq, 0);
    assert_eq!(verification.head_seq, Some(4));
    assert_eq!(verification.unsealed, 0);

    let body = verify_endpoint(&app, &token).await;
    assert_eq!(body["ok"], true);
    assert_eq!(body["checked"], 4);
    assert_eq!(body["first_broken"], Value::Null);
    assert_eq!(body["head_seq"], 4);
    assert_eq!(body["head_hash"].as_str().map(str::len), Some(64));

    // The verification is itself logged and sealed in turn.
    assert_eq!(
        count(&pool, "select count(*) from audit_events where action = 'audit.verify'").await,
        1
    );
    seal(&pool).await;
    let body = verify_endpoint(&app, &token).await;
    assert_eq!(body["ok"], true);
    assert_eq!(body["checked"], 5);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_application_connection_cannot_update_delete_or_truncate_the_log(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    sealed_log(&app, 2).await;
    let refused = [
        "update audit_events set action = 'auth.logout'",
        "update audit_events set details = '{\"changed\": true}' where true",
        "delete from audit_events",
        "truncate audit_events cascade",
        "update audit_seals set hash = prev_hash",
        "delete from audit_seals where seq = 1",
        "truncate audit_seals",
    ];
    for sql in refused {
        let error = sqlx::raw_sql(sql).execute(&pool).await.expect_err(sql);
        let message = error.to_string();
        assert!(message.contains("the access log is append-only"), "{sql}: {message}");
    }
    // Old enough and sealed, yet not through audit_prune(): still refused.
    old_event(&pool, 800).await;
    seal(&pool).await;
    let error =
        sqlx::raw_sql("delete from audit_events where occurred_at < now() - interval '700 days'")
            .execute(&pool)
            .await
            .expect_err("direct delete");
    assert!(error.to_string().contains("append-only"), "{error}");
    // Setting the prune marker by hand does not open recent events either.
    let mut tx = pool.begin().await.expect("tx");
    sqlx::raw_sql("set local retour.audit_prune_through = '1000'")
        .execute(&mut *tx)
        .await
        .expect("set");
    let error = sqlx::raw_sql("delete from audit_events where action = 'auth.login'")
        .execute(&mut *tx)
        .await
        .expect_err("recent events stay");
    assert!(error.to_string().contains("append-only"), "{error}");
    drop(tx);

    // The prune function refuses a range that is too young or was not recorded first.
    for sql in
        ["select audit_prune(1, gen_random_uuid())", "select audit_prune(3, gen_random_uuid())"]
    {
        let error = sqlx::raw_sql(sql).execute(&pool).await.expect_err(sql);
        assert!(error.to_string().contains("audit_prune"), "{sql}: {error}");
    }
    assert_eq!(count(&pool, "select count(*) from audit_events").await, 3);
    assert!(audit::verify(&pool).await.expect("verify").ok);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_application_role_set_up_as_the_readme_says_has_no_update_or_delete(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    sealed_log(&app, 2).await;
    let role = format!("retour_app_{}", Uuid::new_v4().simple());
    let database: String =
        sqlx::query_scalar("select current_database()").fetch_one(&pool).await.expect("db");
    let setup = format!(
        "create role {role} login; \
         grant usage on schema public to {role}; \
         grant select, insert, update, delete on all tables in schema public to {role}; \
         revoke update, delete, truncate on audit_events, audit_seals from {role};"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(setup)).execute(&pool).await.expect("role");
    let mut url =
        url::Url::parse(&std::env::var("DATABASE_URL").expect("DATABASE_URL")).expect("url");
    url.set_path(&database);
    url.set_username(&role).expect("user");
    let app_pool = PgPool::connect(url.as_str()).await.expect("connect as the role");

    for sql in ["update audit_events set action = 'x'", "delete from audit_seals"] {
        let error = sqlx::raw_sql(sql).execute(&app_pool).await.expect_err(sql);
        assert!(error.to_string().contains("permission denied"), "{sql}: {error}");
    }
    let error = sqlx::raw_sql("select audit_prune(1, gen_random_uuid())")
        .execute(&app_pool)
        .await
        .expect_err("no execute grant");
    assert!(error.to_string().contains("permission denied"), "{error}");
    // It records and seals as the server does.
    record(&app_pool, test_event("test.app_role")).await;
    assert_eq!(seal(&app_pool).await, 1);
    assert!(audit::verify(&app_pool).await.expect("verify").ok);

    app_pool.close().await;
    let teardown = format!("drop owned by {role}; drop role {role};");
    sqlx::raw_sql(sqlx::AssertSqlSafe(teardown)).execute(&pool).await.expect("drop role");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_altered_event_is_reported_as_the_first_broken_link(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let token = sealed_log(&app, 5).await;
    tamper(
        &pool,
        "update audit_events set outcome = 'denied' \
          where id = (select event_id from audit_seals where seq = 3)",
    )
    .await;
    let verification = audit::verify(&pool).await.expect("verify");
    assert!(!verification.ok);
    assert_eq!(verification.first_broken, Some(3));
    assert_eq!(verification.checked, 2);
    let body = verify_endpoint(&app, &token).await;
    assert_eq!(body["ok"], false);
    assert_eq!(body["first_broken"], 3);
    assert_eq!(body["checked"], 2);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_altered_detail_or_seal_time_breaks_the_link(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    record(&pool, test_event("test.details").details(json!({"fields": ["surname"]}))).await;
    sealed_log(&app, 3).await;
    tamper(
        &pool,
        "update audit_events set details = '{\"fields\": [\"surname\", \"aliases\"]}' \
          where action = 'test.details'",
    )
    .await;
    assert_eq!(audit::verify(&pool).await.expect("verify").first_broken, Some(1));
    tamper(
        &pool,
        "update audit_events set details = '{\"fields\": [\"surname\"]}' \
          where action = 'test.details'",
    )
    .await;
    assert!(audit::verify(&pool).await.expect("verify").ok, "restored, it verifies again");
    tamper(
        &pool,
        "update audit_seals set sealed_at = sealed_at + interval '1 second' where seq = 2",
    )
    .await;
    assert_eq!(audit::verify(&pool).await.expect("verify").first_broken, Some(2));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_deleted_row_is_reported_where_the_chain_has_its_gap(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let token = sealed_log(&app, 6).await;
    // The event alone: its link has nothing left to seal.
    tamper(
        &pool,
        "delete from audit_events where id = (select event_id from audit_seals where seq = 5)",
    )
    .await;
    assert_eq!(audit::verify(&pool).await.expect("verify").first_broken, Some(5));
    // Event and link together: a gap.
    tamper(
        &pool,
        "delete from audit_events where id = (select event_id from audit_seals where seq = 2); \
         delete from audit_seals where seq = 2",
    )
    .await;
    let verification = audit::verify(&pool).await.expect("verify");
    assert_eq!(verification.first_broken, Some(2));
    assert_eq!(verification.checked, 1);
    let body = verify_endpoint(&app, &token).await;
    assert_eq!(body["first_broken"], 2);
    // The oldest links gone without a recorded prune: broken from the start.
    tamper(&pool, "delete from audit_seals where seq = 1").await;
    assert_eq!(audit::verify(&pool).await.expect("verify").first_broken, Some(1));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_forged_sealed_row_is_reported(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let token = sealed_log(&app, 4).await;
    // A made-up event linked after the head with a hash that is not its own.
    tamper(
        &pool,
        "insert into audit_events (id, actor_type, action, outcome) \
           values ('00000000-0000-7000-8000-000000000001', 'anonymous', 'auth.login', 'allowed'); \
         delete from audit_seal_queue; \
         insert into audit_seals (seq, event_id, prev_hash, hash, sealed_at) \
           select 5, '00000000-0000-7000-8000-000000000001', hash, \
                  sha256(hash || 'forged'::bytea), now() \
             from audit_seals where seq = 4",
    )
    .await;
    let verification = audit::verify(&pool).await.expect("verify");
    assert_eq!(verification.first_broken, Some(5));
    assert_eq!(verification.checked, 4);
    // Swapping in another event under an existing link.
    tamper(
        &pool,
        "delete from audit_seals where seq = 5; \
         update audit_seals set event_id = '00000000-0000-7000-8000-000000000001' where seq = 2",
    )
    .await;
    let body = verify_endpoint(&app, &token).await;
    assert_eq!(body["ok"], false);
    assert_eq!(body["first_broken"], 2);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_verify_command_exits_0_on_an_intact_chain_and_1_on_a_broken_one(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    sealed_log(&app, 3).await;
    let ok = retour(&pool, &["audit", "verify"]).await;
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("ok: 3 links verified"), "{ok:?}");
    tamper(&pool, "update audit_events set action = 'auth.logout' where action = 'auth.login'")
        .await;
    let broken = retour(&pool, &["audit", "verify"]).await;
    assert_eq!(broken.status.code(), Some(1), "{broken:?}");
    assert!(String::from_utf8_lossy(&broken.stdout).contains("broken: link 1"), "{broken:?}");
}

/// Runs the `retour` command against the test's database.
async fn retour(pool: &PgPool, args: &[&str]) -> std::process::Output {
    let database: String =
        sqlx::query_scalar("select current_database()").fetch_one(pool).await.expect("db");
    let mut url =
        url::Url::parse(&std::env::var("DATABASE_URL").expect("DATABASE_URL")).expect("url");
    url.set_path(&database);
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_retour"));
    command.args(args).env("DATABASE_URL", url.as_str()).env("RUST_LOG", "warn");
    tokio::task::spawn_blocking(move || command.output()).await.expect("join").expect("run retour")
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn only_auditors_may_read_or_verify_the_log_and_refusals_are_logged(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    for path in ["/v1/audit-events", "/v1/audit/verify"] {
        app.get(path, None).await.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    for email in NON_AUDITORS {
        let token = app.login(email).await;
        for path in ["/v1/audit-events", "/v1/audit/verify", "/v1/audit-events?limit=999"] {
            app.get(path, Some(&token)).await.assert_problem(StatusCode::FORBIDDEN, "forbidden");
        }
        app.send(Method::GET, "/v1/audit-events", Some(&token), None, &[("accept", "text/csv")])
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    let denied: Vec<(String, i64)> = sqlx::query_as(
        "select action, count(*) from audit_events where outcome = 'denied' \
          and action like 'audit.%' group by action order by action",
    )
    .fetch_all(&pool)
    .await
    .expect("denied");
    assert_eq!(
        denied,
        vec![
            ("audit.export".to_owned(), 7),
            ("audit.read".to_owned(), 14),
            ("audit.verify".to_owned(), 7)
        ]
    );
    let token = app.login(AUDITOR).await;
    assert_eq!(app.get("/v1/audit-events", Some(&token)).await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn service_accounts_read_the_log_only_with_the_events_read_scope(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let keys = Keys::load(&app.store, None).await.expect("keys");
    let oversight: Uuid =
        sqlx::query_scalar("select id from institutions where kind = 'oversight' limit 1")
            .fetch_one(&pool)
            .await
            .expect("oversight");
    let mut tokens = Vec::new();
    for scopes in [vec!["events:read"], vec!["stats:read"]] {
        let id = Uuid::now_v7();
        sqlx::query(
            "insert into service_accounts (id, institution_id, name, client_id, secret_hash, scopes) \
             values ($1, $2, 'integration', $3, 'unused', $4)",
        )
        .bind(id)
        .bind(oversight)
        .bind(id.to_string())
        .bind(&scopes)
        .execute(&pool)
        .await
        .expect("service account");
        let mut claims =
            Claims::new(&TokenConfig::default(), id, Subject::ServiceAccount, oversight);
        claims.scope = Some(scopes.join(" "));
        // The account's first client secret.
        claims.secret_generation = Some(1);
        tokens.push(token::sign(&keys, &claims).expect("token"));
    }
    let allowed = app.get("/v1/audit-events", Some(&tokens[0])).await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.text);
    assert_eq!(app.get("/v1/audit/verify", Some(&tokens[0])).await.status, StatusCode::OK);
    app.get("/v1/audit-events", Some(&tokens[1]))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}

/// The auditor's page of events for `query`.
async fn page(app: &TestApp, token: &str, query: &str) -> Value {
    let response = app.get(&format!("/v1/audit-events?{query}"), Some(token)).await;
    assert_eq!(response.status, StatusCode::OK, "{query}: {}", response.text);
    response.body
}

fn actions(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["action"].as_str().expect("action").to_owned())
        .collect()
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn filters_select_by_actor_case_action_outcome_and_time(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (case_a, case_b) = (Uuid::now_v7(), Uuid::now_v7());
    let counsellor = AuditActor::user(Uuid::now_v7(), Uuid::now_v7(), "counsellor");
    let other = AuditActor::user(Uuid::now_v7(), Uuid::now_v7(), "counsellor");
    let ip: std::net::IpAddr = "192.0.2.7".parse().expect("ip");
    record(
        &pool,
        AuditEvent::new(counsellor.clone(), "case.read", Outcome::Allowed)
            .resource("case", case_a)
            .request(Some("req-1".to_owned()), Some(ip)),
    )
    .await;
    record(
        &pool,
        AuditEvent::new(counsellor.clone(), "case.list", Outcome::Allowed)
            .resources("case", vec![case_b, case_a]),
    )
    .await;
    record(
        &pool,
        AuditEvent::new(other.clone(), "case.read", Outcome::Denied).resource("case", case_b),
    )
    .await;
    record(
        &pool,
        AuditEvent::new(other.clone(), "case.update", Outcome::Allowed)
            .resource("case", case_b)
            .details(json!({"fields": ["surname"]})),
    )
    .await;
    seal(&pool).await;
    let token = app.login(AUDITOR).await;

    let by_case = page(&app, &token, &format!("case_id={case_a}")).await;
    assert_eq!(actions(&by_case), ["case.list", "case.read"], "newest first");
    let read = &by_case["items"][1];
    assert_eq!(read["resource_id"], case_a.to_string());
    assert_eq!(read["actor_id"], counsellor.id.expect("id").to_string());
    assert_eq!(read["actor_role"], "counsellor");
    assert_eq!(read["actor_type"], "user");
    assert_eq!(read["outcome"], "allowed");
    assert_eq!(read["request_id"], "req-1");
    assert_eq!(read["client_addr"], "192.0.2.7");
    assert_eq!(read["seal"]["seq"], 1);
    assert_eq!(read["seal"]["hash"].as_str().map(str::len), Some(64));
    assert_eq!(by_case["items"][0]["resource_ids"], json!([case_b, case_a]));
    assert_eq!(by_case["next_cursor"], Value::Null);

    let by_actor = page(&app, &token, &format!("actor_id={}", other.id.expect("id"))).await;
    assert_eq!(actions(&by_actor), ["case.update", "case.read"]);
    assert_eq!(by_actor["items"][0]["details"], json!({"fields": ["surname"]}));
    let denied = page(&app, &token, &format!("case_id={case_b}&outcome=denied")).await;
    assert_eq!(actions(&denied), ["case.read"]);
    assert_eq!(denied["items"][0]["actor_id"], other.id.expect("id").to_string());
    let reads = page(&app, &token, "action=case.read").await;
    assert_eq!(reads["items"].as_array().map(Vec::len), Some(2));
    let logins = page(&app, &token, "action=auth.login&outcome=allowed").await;
    assert_eq!(actions(&logins), ["auth.login"], "the auditor's own sign-in");
    assert_eq!(logins["items"][0]["seal"], Value::Null, "not sealed yet");

    // Time: from is inclusive, to exclusive.
    let times: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "select occurred_at from audit_events where action like 'case.%' order by occurred_at",
    )
    .fetch_all(&pool)
    .await
    .expect("times");
    let range = page(
        &app,
        &token,
        &format!("from={}&to={}&action=case.read", urlencode(times[0]), urlencode(times[2])),
    )
    .await;
    assert_eq!(range["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(range["items"][0]["resource_id"], case_a.to_string());

    // Each of these reads was logged with its filters.
    let logged: Vec<Value> = sqlx::query_scalar(
        "select details from audit_events where action = 'audit.read' and outcome = 'allowed' \
          order by occurred_at",
    )
    .fetch_all(&pool)
    .await
    .expect("reads");
    assert_eq!(logged.len(), 6);
    assert_eq!(logged[0]["filters"]["case_id"], case_a.to_string());
    assert_eq!(logged[0]["returned"], 2);
}

fn urlencode(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true).replace('+', "%2B")
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn bad_filters_answer_422_naming_each_parameter(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login(AUDITOR).await;
    let cases = [
        ("limit=201", "limit"),
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("actor_id=someone", "actor_id"),
        ("case_id=42", "case_id"),
        ("outcome=maybe", "outcome"),
        ("from=yesterday", "from"),
        ("to=2026-13-01T00:00:00Z", "to"),
        ("cursor=not-a-cursor", "cursor"),
        ("action=", "action"),
        ("sort=desc", "sort"),
        ("limit=5&limit=6", "limit"),
        ("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
    ];
    for (query, field) in cases {
        let response = app.get(&format!("/v1/audit-events?{query}"), Some(&token)).await;
        response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let fields: Vec<&str> = response.body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(fields, [field], "{query}: {}", response.text);
    }
    let both = app.get("/v1/audit-events?limit=500&outcome=x", Some(&token)).await;
    assert_eq!(both.body["errors"].as_array().map(Vec::len), Some(2), "{}", both.text);
    assert_eq!(app.get("/v1/audit-events?limit=200", Some(&token)).await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn pages_follow_the_cursor_without_repeats_or_gaps(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    for i in 0..25 {
        record(&pool, test_event("test.page").details(json!({ "n": i }))).await;
    }
    let token = app.login(AUDITOR).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut sizes = Vec::new();
    loop {
        let query = match &cursor {
            Some(cursor) => format!("action=test.page&limit=7&cursor={cursor}"),
            None => "action=test.page&limit=7".to_owned(),
        };
        let body = page(&app, &token, &query).await;
        let items = body["items"].as_array().expect("items");
        sizes.push(items.len());
        seen.extend(items.iter().map(|item| item["details"]["n"].as_i64().expect("n")));
        // Events recorded meanwhile (this read's own) do not shift later pages.
        record(&pool, test_event("test.page").details(json!({ "n": 100 }))).await;
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(sizes, [7, 7, 7, 4]);
    assert_eq!(seen, (0..25).rev().collect::<Vec<i64>>(), "newest first, each once");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_csv_export_has_a_header_quotes_fields_and_is_itself_logged(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let case = Uuid::now_v7();
    record(
        &pool,
        test_event("test.csv")
            .resources("case", vec![case, Uuid::nil()])
            .details(json!({"reason": "a \"quoted\", value\non two lines"}))
            .request(Some("req,1".to_owned()), None),
    )
    .await;
    record(&pool, test_event("test.csv")).await;
    seal(&pool).await;
    let token = app.login(AUDITOR).await;
    let response = app
        .send(
            Method::GET,
            "/v1/audit-events?action=test.csv&limit=1",
            Some(&token),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.header("content-type"), Some("text/csv; charset=utf-8; header=present"));
    let header = "id,occurred_at,actor_type,actor_id,actor_institution_id,actor_role,action,\
                  resource_type,resource_id,resource_ids,outcome,details,request_id,client_addr,\
                  seal_seq,seal_hash,sealed_at\r\n";
    assert!(response.text.starts_with(header), "{}", response.text);
    assert!(response.text.ends_with("\r\n"));
    assert!(
        response.text.contains(r#""{""reason"":""a \""quoted\"", value\non two lines""}""#),
        "{}",
        response.text
    );
    assert!(response.text.contains(",\"req,1\","), "{}", response.text);

    let mut reader = csv::Reader::from_reader(response.text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("csv");
    assert_eq!(rows.len(), 2, "limit does not cut an export");
    assert!(rows.iter().all(|row| row.len() == 17));
    let quoted = &rows[1];
    assert_eq!(&quoted[6], "test.csv");
    assert_eq!(&quoted[9], format!("{case} {}", Uuid::nil()));
    let details: Value = serde_json::from_str(&quoted[11]).expect("details");
    assert_eq!(details["reason"], "a \"quoted\", value\non two lines");
    assert_eq!(&quoted[12], "req,1");
    assert_eq!(&quoted[13], "");
    assert_eq!(&quoted[14], "1");
    assert_eq!(quoted[15].len(), 64);

    let exports: Vec<(Uuid, Value)> = sqlx::query_as(
        "select actor_id, details from audit_events \
          where action = 'audit.export' and outcome = 'allowed'",
    )
    .fetch_all(&pool)
    .await
    .expect("exports");
    assert_eq!(exports.len(), 1);
    assert_eq!(exports[0].1["filters"]["action"], "test.csv");
    let auditor: Uuid = sqlx::query_scalar("select id from users where email = $1")
        .bind(AUDITOR)
        .fetch_one(&pool)
        .await
        .expect("auditor");
    assert_eq!(exports[0].0, auditor);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_request_id_chosen_as_a_formula_reaches_the_auditors_csv_as_text(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let formula = r#"=HYPERLINK("http://x","y")"#;
    let failed = app
        .send(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(&json!({ "email": "nobody@demo.test", "password": "wrong password" })),
            &[("x-request-id", formula)],
        )
        .await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED, "{}", failed.text);
    let (stored,): (Option<String>,) =
        sqlx::query_as("select request_id from audit_events where action = 'auth.login_failed'")
            .fetch_one(&pool)
            .await
            .expect("failed sign-in");
    assert_eq!(stored.as_deref(), Some(formula), "the log keeps what was sent");

    let token = app.login(AUDITOR).await;
    seal(&pool).await;
    let response = app
        .send(Method::GET, "/v1/audit-events", Some(&token), None, &[("accept", "text/csv")])
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert!(response.text.contains(r#"'=HYPERLINK(""http://x"",""y"")"#), "{}", response.text);
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).from_reader(response.text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("csv");
    let request_ids: Vec<&str> = rows.iter().map(|row| &row[12]).collect();
    assert!(request_ids.contains(&format!("'{formula}").as_str()), "{request_ids:?}");
    for cell in rows.iter().flat_map(|row| row.iter()) {
        assert!(
            !cell.starts_with(['=', '+', '@', '\t', '\r'])
                && (!cell.starts_with('-') || cell.parse::<f64>().is_ok()),
            "a cell a spreadsheet would evaluate: {cell:?}"
        );
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn prune_removes_a_whole_old_prefix_and_records_itself_in_the_chain(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    for days in [900, 850, 800] {
        old_event(&pool, days).await;
    }
    seal(&pool).await;
    let token = sealed_log(&app, 2).await;
    // Old, but sealed after younger ones: not part of a prunable prefix.
    let late = old_event(&pool, 820).await;
    seal(&pool).await;
    assert_eq!(count(&pool, "select count(*) from audit_seals").await, 6);

    let before = Utc::now() - chrono::Duration::days(400);
    let mut prune =
        audit::begin_prune(&pool, before, 365).await.expect("begin").expect("something to prune");
    assert_eq!((prune.from_seq(), prune.through_seq()), (1, 3));
    let mut exported = Vec::new();
    loop {
        let batch = prune.next_batch().await.expect("batch");
        if batch.is_empty() {
            break;
        }
        exported.extend(batch);
    }
    assert_eq!(
        exported.iter().filter_map(|e| e.seal.as_ref()).map(|s| s.seq).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let report = prune.commit(AuditActor::system(), "ab12").await.expect("commit");
    assert_eq!((report.from_seq, report.through_seq, report.events), (1, 3, 3));
    assert_eq!(report.prune_event_seq, 7);

    let remaining: Vec<i64> = sqlx::query_scalar("select seq from audit_seals order by seq")
        .fetch_all(&pool)
        .await
        .expect("seqs");
    assert_eq!(remaining, [4, 5, 6, 7]);
    assert_eq!(count(&pool, "select count(*) from audit_events").await, 4);
    let late_kept: bool =
        sqlx::query_scalar("select exists (select 1 from audit_events where id = $1)")
            .bind(late)
            .fetch_one(&pool)
            .await
            .expect("late");
    assert!(late_kept);

    let (actor_type, details): (String, Value) =
        sqlx::query_as("select actor_type, details from audit_events where action = 'audit.prune'")
            .fetch_one(&pool)
            .await
            .expect("prune event");
    assert_eq!(actor_type, "system");
    assert_eq!(details["pruned_from_seq"], 1);
    assert_eq!(details["pruned_through_seq"], 3);
    assert_eq!(details["last_hash"], report.last_hash);
    assert_eq!(details["events"], 3);
    assert_eq!(details["export_sha256"], "ab12");
    let third_hash = exported[2].seal.as_ref().map(|s| hex::encode(&s.hash));
    assert_eq!(Some(report.last_hash.clone()), third_hash);

    let verification = audit::verify(&pool).await.expect("verify");
    assert!(verification.ok, "{verification:?}");
    assert_eq!(verification.anchor_seq, 3);
    assert_eq!(verification.checked, 4);
    let body = verify_endpoint(&app, &token).await;
    assert_eq!((body["ok"].clone(), body["checked"].clone()), (json!(true), json!(4)));

    // The prefix now starts with young events: nothing more to prune.
    assert!(audit::begin_prune(&pool, before, 365).await.expect("begin").is_none());

    // Tampering after the prune is still found, and so is removing the anchor link.
    tamper(&pool, "update audit_events set action = 'x' where id = (select event_id from audit_seals where seq = 5)")
        .await;
    assert_eq!(audit::verify(&pool).await.expect("verify").first_broken, Some(5));
    tamper(&pool, "update audit_events set action = 'auth.login' where action = 'x'").await;
    assert!(audit::verify(&pool).await.expect("verify").ok);
    tamper(&pool, "delete from audit_seals where seq = 4").await;
    assert_eq!(audit::verify(&pool).await.expect("verify").first_broken, Some(4));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn prune_refuses_a_short_retention_a_recent_cutoff_an_unexported_range_and_a_broken_chain(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    old_event(&pool, 900).await;
    old_event(&pool, 800).await;
    sealed_log(&app, 1).await;
    let old_cutoff = Utc::now() - chrono::Duration::days(400);

    let short = audit::begin_prune(&pool, old_cutoff, 364).await.err();
    assert!(matches!(short, Some(PruneError::RetentionTooShort(364))), "{short:?}");
    let recent =
        audit::begin_prune(&pool, Utc::now() - chrono::Duration::days(100), 365).await.err();
    assert!(matches!(recent, Some(PruneError::TooRecent { .. })), "{recent:?}");
    let within_longer = audit::begin_prune(&pool, old_cutoff, 3650).await.err();
    assert!(matches!(within_longer, Some(PruneError::TooRecent { .. })), "{within_longer:?}");

    let prune = audit::begin_prune(&pool, old_cutoff, 365).await.expect("begin").expect("range");
    let unexported = prune.commit(AuditActor::system(), "ab").await.err();
    assert!(matches!(unexported, Some(PruneError::NotExported { from: 1, through: 2 })));
    assert_eq!(count(&pool, "select count(*) from audit_seals").await, 3, "nothing deleted");

    tamper(&pool, "update audit_events set action = 'x' where id = (select event_id from audit_seals where seq = 2)")
        .await;
    let mut prune =
        audit::begin_prune(&pool, old_cutoff, 365).await.expect("begin").expect("range");
    let broken = prune.next_batch().await.err();
    assert!(matches!(broken, Some(PruneError::ChainBroken(2))), "{broken:?}");
    drop(prune);
    assert_eq!(count(&pool, "select count(*) from audit_events").await, 3);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_prune_command_exports_deletes_and_leaves_a_verifiable_chain(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    old_event(&pool, 900).await;
    old_event(&pool, 800).await;
    sealed_log(&app, 2).await;
    let dir = std::env::temp_dir().join(format!("retour-prune-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("audit.jsonl");
    let file_arg = file.to_str().expect("path");
    let before = (Utc::now() - chrono::Duration::days(400)).format("%Y-%m-%d").to_string();

    let recent =
        retour(&pool, &["audit", "prune", "--before", "2099-01-01", "--export", file_arg]).await;
    assert_eq!(recent.status.code(), Some(1), "{recent:?}");
    assert!(!file.exists(), "a refused prune writes nothing");
    let short = retour(
        &pool,
        &["audit", "prune", "--before", &before, "--export", file_arg, "--retention-days", "30"],
    )
    .await;
    assert_eq!(short.status.code(), Some(2), "{short:?}");

    let pruned =
        retour(&pool, &["audit", "prune", "--before", &before, "--export", file_arg]).await;
    assert_eq!(pruned.status.code(), Some(0), "{pruned:?}");
    let lines: Vec<Value> = std::fs::read_to_string(&file)
        .expect("export")
        .lines()
        .map(|line| serde_json::from_str(line).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["seal"]["seq"], 1);
    assert_eq!(lines[1]["seal"]["seq"], 2);
    assert_eq!(lines[1]["action"], "auth.login_failed");
    assert_eq!(lines[0]["seal"]["prev_hash"], "0".repeat(64));

    let recorded: Value = sqlx::query_scalar(
        "select e.details from audit_events e join audit_seals s on s.event_id = e.id \
          where e.action = 'audit.prune'",
    )
    .fetch_one(&pool)
    .await
    .expect("sealed prune event");
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(std::fs::read(&file).expect("read")));
    assert_eq!(recorded["export_sha256"], digest);
    assert_eq!(recorded["last_hash"], lines[1]["seal"]["hash"]);

    let again = retour(&pool, &["audit", "prune", "--before", &before, "--export", file_arg]).await;
    assert_eq!(again.status.code(), Some(0), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to prune"));
    let verified = retour(&pool, &["audit", "verify"]).await;
    assert_eq!(verified.status.code(), Some(0), "{verified:?}");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_sealer_task_seals_within_its_interval_and_stops_on_shutdown(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let sealer = tokio::spawn(audit::run_sealer(pool.clone(), Duration::from_millis(20), async {
        let _ = stopped.await;
    }));
    app.login("counsellor.be@demo.test").await;
    let mut sealed = 0;
    for _ in 0..100 {
        sealed = count(&pool, "select count(*) from audit_seals").await;
        if sealed == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sealed, 1, "sealed within two seconds");
    record(&pool, test_event("test.last")).await;
    stop.send(()).expect("stop");
    tokio::time::timeout(Duration::from_secs(5), sealer).await.expect("stops").expect("joins");
    assert_eq!(count(&pool, "select count(*) from audit_seals").await, 2, "a last round on stop");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_sealer_vacuums_its_queue_so_that_dead_rows_do_not_pile_up(pool: PgPool) {
    // 25,000 events pass through the queue: sealed, then deleted from it.
    sqlx::query(
        "insert into audit_events (id, actor_type, action, outcome) \
         select gen_random_uuid(), 'anonymous', 'test.churn', 'allowed' \
         from generate_series(1, 25000)",
    )
    .execute(&pool)
    .await
    .expect("events");
    let pages = || count(&pool, "select pg_relation_size('audit_seal_queue') / 8192");
    assert!(pages().await > 50, "the queue holds the events");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let sealer = tokio::spawn(audit::run_sealer(pool.clone(), Duration::from_millis(20), async {
        let _ = stopped.await;
    }));
    // Vacuumed, the emptied queue gives its pages back; left to autovacuum (off on some
    // servers) it would keep them, and every round would read them all.
    let mut left = i64::MAX;
    for _ in 0..250 {
        left = pages().await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(()).expect("stop");
    tokio::time::timeout(Duration::from_secs(5), sealer).await.expect("stops").expect("joins");
    assert_eq!(count(&pool, "select count(*) from audit_seals").await, 25_000);
    assert_eq!(left, 0, "pages left in the queue");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn concurrent_sealers_take_turns_and_seal_every_event_once(pool: PgPool) {
    // A sealer that finds the lock taken leaves the events to the one holding it.
    record(&pool, test_event("test.lock")).await;
    let mut holder = pool.begin().await.expect("tx");
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(audit::SEAL_LOCK)
        .execute(&mut *holder)
        .await
        .expect("lock");
    assert_eq!(audit::try_seal_pending(&pool).await.expect("try"), None);
    holder.rollback().await.expect("release");
    assert_eq!(audit::try_seal_pending(&pool).await.expect("try"), Some(1));

    let writers = (0..4).map(|w| {
        let pool = pool.clone();
        tokio::spawn(async move {
            for i in 0..50 {
                record(&pool, test_event("test.concurrent").details(json!({"w": w, "i": i}))).await;
            }
        })
    });
    let sealers: Vec<_> = (0..3)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                for _ in 0..20 {
                    audit::seal_pending(&pool).await.expect("seal");
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    for sealer in sealers {
        sealer.await.expect("sealer");
    }
    seal(&pool).await;
    assert_eq!(count(&pool, "select count(*) from audit_seals").await, 201);
    assert_eq!(count(&pool, "select count(distinct event_id) from audit_seals").await, 201);
    assert_eq!(count(&pool, "select count(*) from audit_seal_queue").await, 0);
    let verification = audit::verify(&pool).await.expect("verify");
    assert!(verification.ok);
    assert_eq!(verification.checked, 201);
    let unique: HashSet<i64> = sqlx::query_scalar("select seq from audit_seals")
        .fetch_all(&pool)
        .await
        .expect("seqs")
        .into_iter()
        .collect();
    assert_eq!(unique, (1..=201).collect());
}
