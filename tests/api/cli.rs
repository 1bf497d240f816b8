//! The `retour` command's administration: a fresh installation gets its first administrator.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use axum::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::support::TestApp;

/// Runs `retour args…` against the test's database, with `stdin` as standard input.
fn retour(pool: &PgPool, args: &[&str], stdin: &str) -> Output {
    let database = pool.connect_options().get_database().expect("database name").to_owned();
    let mut url =
        url::Url::parse(&std::env::var("DATABASE_URL").expect("DATABASE_URL")).expect("url");
    url.set_path(&database);
    let mut child = Command::new(env!("CARGO_BIN_EXE_retour"))
        .args(args)
        .env("DATABASE_URL", url.as_str())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run retour");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("output")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_command_creates_an_operator_and_its_first_admin_who_can_sign_in(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let created = retour(
        &pool,
        &["institution", "create", "--kind", "operator", "--name", "Canton IT operations"],
        "",
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let institution_id = String::from_utf8(created.stdout).expect("utf-8").trim().to_owned();
    assert!(uuid::Uuid::parse_str(&institution_id).is_ok(), "{institution_id}");

    let user = retour(
        &pool,
        &[
            "user",
            "create",
            "--email",
            "ops@canton.test",
            "--role",
            "admin",
            "--institution",
            "canton it OPERATIONS",
            "--display-name",
            "Operations",
        ],
        "the first admin's passphrase\n",
    );
    assert!(user.status.success(), "{}", stderr(&user));
    let password = app
        .post(
            "/v1/auth/login",
            None,
            &json!({"email": "ops@canton.test", "password": "the first admin's passphrase"}),
        )
        .await;
    // An institution made outside the demo requires a second factor: the first sign-in
    // enrols one.
    password.assert_problem(StatusCode::UNAUTHORIZED, "mfa_required");
    assert_eq!(password.body["mfa_enrolment_required"], true);
    let token = password.body["mfa_token"].clone();
    let enrolment = app.post("/v1/auth/login/mfa/totp", None, &json!({ "mfa_token": token })).await;
    assert_eq!(enrolment.status, StatusCode::OK, "{}", enrolment.text);
    let secret = enrolment.body["secret"].as_str().expect("secret");
    let code = crate::sign_in::code_at(secret, crate::sign_in::now());
    let login =
        app.post("/v1/auth/login/mfa", None, &json!({ "mfa_token": token, "code": code })).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    let me = app.get("/v1/me", login.body["access_token"].as_str()).await;
    assert_eq!(me.body["role"], "admin");
    assert_eq!(me.body["institution"]["id"], institution_id.as_str());

    let (via,): (serde_json::Value,) =
        sqlx::query_as("select details->'via' from audit_events where action = 'user.create'")
            .fetch_one(&pool)
            .await
            .expect("audit");
    assert_eq!(via, "command_line");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_command_applies_the_password_policy_and_the_role_rule(pool: PgPool) {
    let _app = TestApp::new(pool.clone()).await;
    let create = |role: &str, institution: &str, password: &str| {
        retour(
            &pool,
            &[
                "user",
                "create",
                "--email",
                "x@canton.test",
                "--role",
                role,
                "--institution",
                institution,
            ],
            password,
        )
    };
    let weak = create("admin", "Retour operator", "password1234\n");
    assert!(!weak.status.success());
    assert!(stderr(&weak).contains("password:"), "{}", stderr(&weak));
    let mismatch = create("counsellor", "Retour operator", "a long and unusual passphrase\n");
    assert!(!mismatch.status.success());
    assert!(stderr(&mismatch).contains("role:"), "{}", stderr(&mismatch));
    let nowhere = create("admin", "No such operator", "a long and unusual passphrase\n");
    assert!(!nowhere.status.success());
    assert!(stderr(&nowhere).contains("institution"), "{}", stderr(&nowhere));
    let bad_role = create("root", "Retour operator", "");
    assert_eq!(bad_role.status.code(), Some(2), "{}", stderr(&bad_role));
    let (count,): (i64,) =
        sqlx::query_as("select count(*) from users").fetch_one(&pool).await.expect("count");
    assert_eq!(count, 14);
}

#[test]
fn bad_sign_in_settings_stop_the_command_with_one_line_naming_the_variable() {
    let cases = [
        ("RETOUR_LOCKOUT_THRESHOLD", "0"),
        ("RETOUR_LOCKOUT_WINDOW_SECS", "soon"),
        ("RETOUR_LOCKOUT_SECS", "-5"),
        ("RETOUR_LOGIN_RATE_PER_MINUTE", "many"),
        ("RETOUR_TRUSTED_PROXIES", "10.0.0.0/8,proxy.local"),
    ];
    for (variable, value) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_retour"))
            .arg("openapi")
            .env(variable, value)
            .output()
            .expect("run retour");
        assert_eq!(output.status.code(), Some(2), "{variable}={value}");
        let message = String::from_utf8_lossy(&output.stderr);
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.contains(variable), "{message}");
    }
    // Empty lists, as an env file writes them, mean none.
    let output = Command::new(env!("CARGO_BIN_EXE_retour"))
        .arg("openapi")
        .env("RETOUR_TRUSTED_PROXIES", "")
        .env("RETOUR_CORS_ORIGINS", "")
        .output()
        .expect("run retour");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// The README's run command, `cargo run -- serve --demo`, serves the database `retour`: the
/// binary's default, and no cargo configuration hands `cargo run` another DATABASE_URL (the
/// test suite's server is named in `.env`, which only sqlx reads).
#[test]
fn the_quick_start_serves_the_retour_database() {
    let help = Command::new(env!("CARGO_BIN_EXE_retour"))
        .args(["serve", "--help"])
        .env_remove("DATABASE_URL")
        .output()
        .expect("retour serve --help");
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("[default: postgres://postgres@127.0.0.1:5432/retour]"), "{text}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for config in [".cargo/config.toml", ".cargo/config"] {
        let text = std::fs::read_to_string(root.join(config)).unwrap_or_default();
        assert!(!text.contains("DATABASE_URL"), "{config} would set DATABASE_URL for cargo run");
    }
    let env = std::fs::read_to_string(root.join(".env")).expect(".env");
    assert!(env.lines().any(|l| l.starts_with("DATABASE_URL=")), "{env}");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_overdue_job_runs_from_the_command_line_as_of_a_day(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = crate::support::Team::new(&app).await;
    let case = crate::support::ready_case(&app, &team, "12345678").await;
    crate::support::act(&app, &team.be, &case, &json!({ "action": "submit" })).await;
    // Today nothing is due; a year on, SEM's decision is.
    let today = chrono::Utc::now().date_naive().to_string();
    let run = retour(&pool, &["deadlines", "run", "--as-of", &today], "");
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).trim(),
        format!("0 deadline(s) marked overdue as of {today}")
    );
    let later = (chrono::Utc::now().date_naive() + chrono::Days::new(365)).to_string();
    let run = retour(&pool, &["deadlines", "run", "--as-of", &later], "");
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).trim(),
        format!("1 deadline(s) marked overdue as of {later}")
    );
    let again = retour(&pool, &["deadlines", "run", "--as-of", &later], "");
    assert!(String::from_utf8_lossy(&again.stdout).starts_with("0 deadline(s)"));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_retention_run_previews_then_offers_and_destroys_from_the_command_line(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = crate::support::Team::new(&app).await;
    let case = crate::support::ready_case(&app, &team, "13579246").await;
    let reference = case["reference"].as_str().expect("reference").to_owned();
    let withdraw = json!({ "action": "withdraw", "reason": "The family stays." });
    crate::support::act(&app, &team.be, &case, &withdraw).await;
    let archive = tempfile::tempdir().expect("archive");
    let dir = archive.path().to_str().expect("path");
    let later = (chrono::Utc::now().date_naive() + chrono::Days::new(3 * 366)).to_string();
    // Without a directory the run refuses, naming the variable.
    let refused = retour(&pool, &["retention", "run", "--as-of", &later], "");
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("RETOUR_ARCHIVE_DIR"), "{}", stderr(&refused));
    let preview = retour(&pool, &["retention", "run", "--as-of", &later, "--dry-run"], "");
    let printed = String::from_utf8_lossy(&preview.stdout).into_owned();
    assert!(preview.status.success(), "{}", stderr(&preview));
    assert!(printed.contains(&reference) && printed.contains("withdrawn"), "{printed}");
    assert!(printed.contains(&format!("1 case(s) due on {later}, 0 of them kept")), "{printed}");
    // An export writes the package and keeps the case.
    let export =
        retour(&pool, &["archive", "export", "--case", &reference, "--archive-dir", dir], "");
    assert!(export.status.success(), "{}", stderr(&export));
    assert!(String::from_utf8_lossy(&export.stdout).contains(&format!("RETOUR_{reference}")));
    let run = retour(&pool, &["retention", "run", "--as-of", &later, "--archive-dir", dir], "");
    let printed = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        printed.contains(&format!("{reference}\t")) && printed.contains("destroyed"),
        "{printed}"
    );
    assert!(printed.contains("1 case(s) offered to the archive and destroyed"), "{printed}");
    let again = retour(&pool, &["retention", "run", "--as-of", &later, "--archive-dir", dir], "");
    assert!(String::from_utf8_lossy(&again.stdout).starts_with("0 case(s)"));
}
