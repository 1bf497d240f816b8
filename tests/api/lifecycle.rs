//! The data-protection lifecycle: retention and destruction (nothing of a destroyed case is
//! left in the database but its tombstone, its statistics row and the access log), the
//! archive package offered first, legal holds, a person's own data, and the consents a
//! hand-over needs.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use chrono::{Datelike, Duration, Utc};
use retour_api::lifecycle::{self, Archive};
use retour_store::audit;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{
    Team, TestApp, act, approval, audit_count, case_body, consent_to_mission, departed_case, id_of,
    institution_id, open_case, ready,
};

const DPO: &str = "dpo@demo.test";
const AUDITOR: &str = "auditor@demo.test";

/// The archive of a test: a temporary directory, the test's document key.
fn archive(app: &TestApp, dir: &tempfile::TempDir) -> Archive {
    Archive {
        dir: dir.path().to_path_buf(),
        keys: app.state.config().documents.keys.clone(),
        objects: None,
        submitter: "SEM".to_owned(),
    }
}

/// The day a run destroys a case rejected today (five years by default), and one more.
fn after_retention() -> chrono::NaiveDate {
    let today = Utc::now().date_naive();
    today.with_year(today.year() + 6).unwrap_or(today + Duration::days(6 * 366))
}

/// The whole database as `pg_dump` writes it (data only).
fn dump(database: &str) -> String {
    let output = std::process::Command::new("pg_dump")
        .args(["--data-only", "--no-owner", "-h", "127.0.0.1", "-U", "postgres", database])
        .output()
        .expect("pg_dump runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn database(pool: &PgPool) -> String {
    sqlx::query_scalar("select current_database()").fetch_one(pool).await.expect("name")
}

/// A case of Bern with `canary` in every free text a counsellor and SEM write, driven to
/// `rejected` through the API (with SEM's question and the answer, and the reasons); its
/// documents hold `canary` in their description and content. Returns the case.
async fn rejected_case(app: &TestApp, team: &Team, canary: &str, zemis: &str) -> Value {
    let mut body = ready(case_body(&format!("{canary}surname"), Some(zemis)));
    body["persons"][0]["given_names"] = json!(format!("{canary}given"));
    body["persons"][0]["aliases"] = json!([format!("{canary}alias")]);
    body["persons"][0]["n_number"] = json!(format!("N {} {}", &zemis[..3], &zemis[3..6]));
    body["medical"] = json!({ "summary": format!("{canary}medical"), "fit_to_travel": true,
        "escort": "none" });
    let case = open_case(app, &team.be, &body).await;
    let id = id_of(&case);
    let note = json!({ "body": format!("{canary}note"), "visibility": "shared" });
    assert_eq!(app.post(&format!("/v1/cases/{id}/notes"), Some(&team.be), &note).await.status, 201);
    let description = format!("{canary}description");
    let file_name = format!("{canary}file.pdf");
    let parts = [
        crate::support::Part::text("category", "identity_document"),
        crate::support::Part::text("description", &description),
        crate::support::Part::file(
            &file_name,
            "application/pdf",
            crate::support::pdf(&format!("{canary}content")),
        ),
    ];
    assert_eq!(app.upload_parts(&team.be, &id, &parts).await.status, 201);
    let form = consent_to_mission(app, &team.be, &id).await;
    let consents = app.get(&format!("/v1/cases/{id}/consents"), Some(&team.be)).await;
    assert_eq!(consents.body["items"][0]["document_id"], json!(form));
    let asked = json!({ "question": format!("{canary}information") });
    let path = format!("/v1/cases/{id}/information-requests");
    assert_eq!(app.post(&path, Some(&team.be), &asked).await.status, 201);
    let case = act(app, &team.be, &case, &json!({ "action": "submit" })).await;
    let case = act(app, &team.sem, &case, &json!({ "action": "start_review" })).await;
    let question = json!({ "action": "request_info", "question": format!("{canary}question") });
    let case = act(app, &team.sem, &case, &question).await;
    let answer = json!({ "action": "answer_info", "answer": format!("{canary}answer") });
    let case = act(app, &team.be, &case, &answer).await;
    let reject = json!({ "action": "reject", "legal_ground": "sufficient_assets",
        "reasons": format!("{canary}reasons") });
    let case = act(app, &team.sem, &case, &reject).await;
    assert_eq!(case["status"], "rejected");
    case
}

/// The texts of `canary`'s case that the database keeps as written.
fn plain_canaries(canary: &str, zemis: &str) -> Vec<String> {
    let mut texts: Vec<String> = [
        "surname",
        "given",
        "alias",
        "medical",
        "note",
        "description",
        "file.pdf",
        "information",
        "question",
        "answer",
        "reasons",
    ]
    .iter()
    .map(|part| format!("{canary}{part}"))
    .collect();
    texts.push(zemis.to_owned());
    texts.push(format!("N {} {}", &zemis[..3], &zemis[3..6]));
    texts
}

async fn statistics_row(pool: &PgPool, id: Uuid) -> Value {
    sqlx::query_scalar("select to_jsonb(s) from case_statistics s where case_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("statistics row")
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_destroyed_case_leaves_nothing_of_its_persons_in_the_database(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = rejected_case(&app, &team, "Qxdestroy", "81234567").await;
    // Another case, not due: the control that the dump holds what is kept.
    let kept = rejected_case(&app, &team, "Qxkeepme", "82345678").await;
    let id: Uuid = id_of(&case).parse().expect("id");
    let kept_id: Uuid = id_of(&kept).parse().expect("id");
    sqlx::query("update cases set decided_at = now() + interval '10 years' where id = $1")
        .bind(kept_id)
        .execute(&pool)
        .await
        .expect("the control case ends later");

    let database = database(&pool).await;
    let before = dump(&database);
    for text in plain_canaries("Qxdestroy", "81234567") {
        assert!(before.contains(&text), "the dump holds {text:?} before the destruction");
    }
    let statistics = statistics_row(&pool, id).await;
    let sem = app.login("sem@demo.test").await;
    let year = Utc::now().year();
    let figures = app.get(&format!("/v1/stats/yearly?year={year}"), Some(&sem)).await;
    assert_eq!(figures.status, StatusCode::OK, "{}", figures.text);

    let dir = tempfile::tempdir().expect("archive");
    let report =
        lifecycle::run(&app.store, &archive(&app, &dir), after_retention()).await.expect("run");
    assert_eq!(report.due, 1, "{report:?}");
    assert_eq!(report.destroyed.len(), 1, "{report:?}");
    assert_eq!(report.destroyed[0].0, id);

    // The archive package came first: the case as JSON and the document's bytes.
    let package = &report.destroyed[0].2;
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(package.join("manifest.json")).expect("manifest"))
            .expect("json");
    let case_json =
        std::fs::read_to_string(package.join("content/d0000001/case.json")).expect("case.json");
    assert!(case_json.contains("Qxdestroysurname") && case_json.contains("Qxdestroynote"));
    let files = manifest["files"].as_array().expect("files");
    let documents: Vec<Vec<u8>> = files
        .iter()
        .filter(|f| f["path"] != "content/d0000001/case.json")
        .map(|f| std::fs::read(package.join(f["path"].as_str().expect("path"))).expect("file"))
        .collect();
    assert!(
        documents.iter().any(|bytes| crate::support::s3::contains(bytes, b"Qxdestroycontent")),
        "the document's content is in the package"
    );
    assert!(
        std::fs::read_to_string(package.join("header/metadata.xml"))
            .expect("metadata")
            .contains("arelda")
    );

    let after = dump(&database);
    for text in plain_canaries("Qxdestroy", "81234567") {
        assert!(!after.contains(&text), "the dump still holds {text:?}");
    }
    for text in plain_canaries("Qxkeepme", "82345678") {
        assert!(after.contains(&text), "the kept case's {text:?} is still there");
    }
    assert_nothing_left(&pool, id).await;
    let chunks: i64 = sqlx::query_scalar(
        "select count(*) from document_chunks c where not exists \
         (select 1 from documents d where d.id = c.document_id)",
    )
    .fetch_one(&pool)
    .await
    .expect("chunks");
    assert_eq!(chunks, 0, "no document content outlives its data key");
    let tombstone =
        retour_store::lifecycle::tombstone(&pool, id).await.expect("read").expect("tombstone");
    assert_eq!((tombstone.end_state.as_str(), tombstone.retention_years), ("rejected", 5));
    assert_eq!(tombstone.reference, case["reference"].as_str().expect("reference"));
    assert_eq!(statistics_row(&pool, id).await, statistics, "the statistics row is unchanged");
    let again = app.get(&format!("/v1/stats/yearly?year={year}"), Some(&sem)).await;
    assert_eq!(again.body, figures.body, "the yearly figures are unchanged");
    assert_eq!(audit_count(&pool, "case.archive_offered", "allowed").await, 1);
    assert_eq!(audit_count(&pool, "case.destroyed", "allowed").await, 1);
    audit::seal_pending(&pool).await.expect("seal");
    assert!(audit::verify(&pool).await.expect("verify").ok, "the hash chain still verifies");
    // The case is gone for everyone.
    let read = app.get(&format!("/v1/cases/{id}"), Some(&team.be)).await;
    read.assert_problem(StatusCode::NOT_FOUND, "not_found");
}

/// No table names case `id` but its tombstone and its statistics row (the access log names it
/// by `resource_id`).
async fn assert_nothing_left(pool: &PgPool, id: Uuid) {
    let tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.columns \
         where table_schema = 'public' and column_name = 'case_id' and data_type = 'uuid' \
         and table_name in (select table_name from information_schema.tables \
             where table_schema = 'public' and table_type = 'BASE TABLE')",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    assert!(tables.len() > 20, "{tables:?}");
    for table in tables {
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select count(*) from {table} where case_id = $1"
        )))
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("count");
        let expected = i64::from(matches!(table.as_str(), "case_tombstones" | "case_statistics"));
        assert_eq!(rows, expected, "{table} holds {rows} row(s) of the destroyed case");
    }
    let case: i64 = sqlx::query_scalar("select count(*) from cases where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("count");
    assert_eq!(case, 0);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_case_that_went_the_whole_way_is_destroyed_with_every_record(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    // Approved, booked, departed with a payout, in reintegration with a disbursement and a
    // visit, a reclaim, then closed: every kind of record a case can hold.
    let case = crate::support::reintegration_case(&app, &team, "81357913").await;
    let id = id_of(&case);
    let paid =
        json!({ "amount_rappen": 50000, "purpose": "Tools", "paid_on": crate::support::today() });
    let added =
        app.post(&format!("/v1/cases/{id}/disbursements"), Some(&team.mission), &paid).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    let visit = json!({ "due_on": crate::support::today(), "done_on": crate::support::today(),
        "outcome": "The shop is open." });
    let added =
        app.post(&format!("/v1/cases/{id}/monitoring-visits"), Some(&team.mission), &visit).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    let reclaim = json!({ "reason": "re_entry", "amount_rappen": 1000 });
    let added = app.post(&format!("/v1/cases/{id}/reclaims"), Some(&team.sem), &reclaim).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    let case = app.get(&format!("/v1/cases/{id}"), Some(&team.iom)).await.body;
    let close = json!({ "action": "close", "outcome": "completed",
        "comment": "The rest of the project is paid by the family." });
    let closed = act(&app, &team.iom, &case, &close).await;
    assert_eq!(closed["status"], "closed");
    let id: Uuid = id.parse().expect("id");
    let statistics = statistics_row(&pool, id).await;
    let dir = tempfile::tempdir().expect("archive");
    let today = Utc::now().date_naive();
    let later = today.with_year(today.year() + 11).unwrap_or(today + Duration::days(11 * 366));
    let report = lifecycle::run(&app.store, &archive(&app, &dir), later).await.expect("run");
    assert_eq!((report.destroyed.len(), report.failed), (1, 0), "{report:?}");
    assert_nothing_left(&pool, id).await;
    assert_eq!(statistics_row(&pool, id).await, statistics, "the statistics row is unchanged");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_legal_hold_keeps_a_case_past_its_retention_until_it_is_lifted(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = rejected_case(&app, &team, "Qxheld", "83456789").await;
    let id = id_of(&case);
    let path = format!("/v1/cases/{id}/legal-hold");
    let auditor = app.login(AUDITOR).await;
    let hold = json!({ "reason": "Inquiry of the parliamentary oversight" });
    // Only SEM and the auditors hold cases.
    app.post(&path, Some(&team.be), &hold).await.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.post(&path, Some(&auditor), &json!({ "reason": " " }))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let set = app.post(&path, Some(&auditor), &hold).await;
    assert_eq!(set.status, StatusCode::CREATED, "{}", set.text);
    app.post(&path, Some(&team.sem), &hold)
        .await
        .assert_problem(StatusCode::CONFLICT, "legal_hold_in_force");
    let holds = app.get(&path, Some(&team.sem)).await;
    assert_eq!(holds.body["in_force"]["reason"], "Inquiry of the parliamentary oversight");

    let dir = tempfile::tempdir().expect("archive");
    let archive = archive(&app, &dir);
    let report = lifecycle::run(&app.store, &archive, after_retention()).await.expect("run");
    assert_eq!((report.due, report.held, report.destroyed.len()), (1, 1, 0), "{report:?}");
    assert_eq!(app.get(&format!("/v1/cases/{id}"), Some(&team.sem)).await.status, StatusCode::OK);

    let lifted = app.send(Method::DELETE, &path, Some(&team.sem), None, &[]).await;
    assert_eq!(lifted.status, StatusCode::OK, "{}", lifted.text);
    assert!(lifted.body["lifted_at"].is_string());
    app.send(Method::DELETE, &path, Some(&team.sem), None, &[])
        .await
        .assert_problem(StatusCode::CONFLICT, "no_legal_hold");
    let report = lifecycle::run(&app.store, &archive, after_retention()).await.expect("run");
    assert_eq!((report.held, report.destroyed.len()), (0, 1), "{report:?}");
    assert_eq!(app.get(&format!("/v1/cases/{id}"), Some(&team.sem)).await.status, 404);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn retention_runs_side_by_side_destroy_each_case_once_and_a_second_run_finds_nothing(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let mut ids = BTreeSet::new();
    for i in 0..4 {
        let case =
            open_case(&app, &team.be, &case_body("Parallel", Some(&format!("8456780{i}")))).await;
        let case =
            act(&app, &team.be, &case, &json!({ "action": "withdraw", "reason": "Stays." })).await;
        ids.insert(id_of(&case).parse::<Uuid>().expect("id"));
    }
    // Withdrawn cases are kept two years by default: three years on, they are due.
    let as_of = Utc::now().date_naive() + Duration::days(3 * 366);
    let dir = tempfile::tempdir().expect("archive");
    let archive = archive(&app, &dir);
    let (one, two) = tokio::join!(
        lifecycle::run(&app.store, &archive, as_of),
        lifecycle::run(&app.store, &archive, as_of)
    );
    let (one, two) = (one.expect("first"), two.expect("second"));
    let destroyed: Vec<Uuid> =
        one.destroyed.iter().chain(&two.destroyed).map(|(id, _, _)| *id).collect();
    assert_eq!(destroyed.len(), 4, "{one:?} {two:?}");
    assert_eq!(destroyed.iter().copied().collect::<BTreeSet<_>>(), ids);
    assert_eq!(audit_count(&pool, "case.destroyed", "allowed").await, 4);
    assert_eq!(one.failed + two.failed, 0);
    let packages = std::fs::read_dir(dir.path()).expect("archive").count();
    assert_eq!(packages, 4, "one package per case");
    let third = lifecycle::run(&app.store, &archive, as_of).await.expect("third");
    assert_eq!((third.due, third.destroyed.len()), (0, 0));
    // A case whose retention is not over stays.
    let early = lifecycle::run(&app.store, &archive, Utc::now().date_naive()).await.expect("run");
    assert_eq!(early.due, 0);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_dpo_sets_retention_rules_and_a_run_follows_them(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let dpo = app.login(DPO).await;
    let rules = app.get("/v1/retention-rules", Some(&dpo)).await;
    assert_eq!(rules.status, StatusCode::OK, "{}", rules.text);
    let withdrawn = rules.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| r["end_state"] == "withdrawn")
        .expect("withdrawn")
        .clone();
    assert_eq!(
        (withdrawn["years"].as_i64(), withdrawn["confirmed"].as_bool()),
        (Some(2), Some(false))
    );
    app.get("/v1/retention-rules", Some(&team.be))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let put = |years: Value| {
        let app = &app;
        let dpo = dpo.clone();
        async move {
            app.send(
                Method::PUT,
                "/v1/retention-rules/withdrawn",
                Some(&dpo),
                Some(&json!({ "years": years })),
                &[],
            )
            .await
        }
    };
    put(json!(0)).await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let set = put(json!(7)).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    assert_eq!(
        (set.body["years"].as_i64(), set.body["confirmed"].as_bool()),
        (Some(7), Some(true))
    );
    let auditor = app.login(AUDITOR).await;
    app.send(
        Method::PUT,
        "/v1/retention-rules/withdrawn",
        Some(&auditor),
        Some(&json!({ "years": 3 })),
        &[],
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.send(
        Method::PUT,
        "/v1/retention-rules/departed",
        Some(&dpo),
        Some(&json!({ "years": 3 })),
        &[],
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");

    let case = open_case(&app, &team.be, &case_body("Sevenyears", Some("85678901"))).await;
    act(&app, &team.be, &case, &json!({ "action": "withdraw", "reason": "Stays." })).await;
    let dir = tempfile::tempdir().expect("archive");
    let archive = archive(&app, &dir);
    let six = Utc::now().date_naive() + Duration::days(6 * 366);
    assert_eq!(lifecycle::run(&app.store, &archive, six).await.expect("run").due, 0);
    let eight = Utc::now().date_naive() + Duration::days(8 * 366);
    assert_eq!(lifecycle::run(&app.store, &archive, eight).await.expect("run").destroyed.len(), 1);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_persons_export_holds_all_of_them_and_nothing_of_anyone_else(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    // The person in two cases (the same ZEMIS number), with a spouse in the first; another
    // person in a third case.
    let mut first = case_body("Qxsubjectone", Some("86789012"));
    first["persons"][1] = json!({ "relationship": "spouse", "surname": "Qxspouse",
        "given_names": "Qxspousegiven", "date_of_birth": "1990-01-01", "sex": "female",
        "nationality": "IQ", "zemis_number": "86789099" });
    let first = open_case(&app, &team.be, &first).await;
    let note = json!({ "body": "Qxsubjectnote", "visibility": "institution" });
    app.post(&format!("/v1/cases/{}/notes", id_of(&first)), Some(&team.be), &note).await;
    consent_to_mission(&app, &team.be, &id_of(&first)).await;
    // The first case ended before the second was opened (one open case per person).
    let withdraw = json!({ "action": "withdraw", "reason": "Chose to stay for now." });
    act(&app, &team.be, &first, &withdraw).await;
    let second = open_case(&app, &team.be, &case_body("Qxsubjecttwo", Some("86789012"))).await;
    let other = open_case(&app, &team.be, &case_body("Qxotherperson", Some("87890123"))).await;
    app.post(
        &format!("/v1/cases/{}/notes", id_of(&other)),
        Some(&team.be),
        &json!({ "body": "Qxothernote", "visibility": "shared" }),
    )
    .await;
    let dpo = app.login(DPO).await;

    let export = app.get("/v1/persons/data-export?zemis_number=86789012", Some(&dpo)).await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.text);
    for text in ["Qxsubjectone", "Qxsubjecttwo", "Qxsubjectnote", "86789012", "transfer_to_mission"]
    {
        assert!(export.text.contains(text), "the export holds {text}");
    }
    for text in ["Qxspouse", "86789099", "Qxotherperson", "Qxothernote", "87890123"] {
        assert!(!export.text.contains(text), "the export holds {text}, someone else's");
    }
    let cases = export.body["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0]["household"], json!(["spouse"]));
    // Who read the cases: the counsellor's reads are in the access log of the export.
    let log = cases[0]["access_log"].as_array().expect("access log");
    assert!(
        log.iter().any(|entry| entry["action"] == "case.create"
            && entry["institution"] == "Rückkehrberatung Kanton Bern"),
        "{log:?}"
    );
    // Of whoever accessed a case, the access log tells the institution and the role.
    let keys: BTreeSet<&str> =
        log.iter().flat_map(|e| e.as_object().expect("entry").keys().map(String::as_str)).collect();
    assert_eq!(keys, BTreeSet::from(["action", "institution", "occurred_at", "outcome", "role"]));
    // The same person found from one of their records.
    let person = second["persons"][0]["id"].as_str().expect("person");
    let by_id = app.get(&format!("/v1/persons/data-export?person_id={person}"), Some(&dpo)).await;
    assert_eq!(by_id.body["cases"].as_array().map(Vec::len), Some(2), "{}", by_id.text);

    let pdf = app.get("/v1/persons/data-export?zemis_number=86789012&format=pdf", Some(&dpo)).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    let bytes = pdf.text.as_bytes();
    assert!(bytes.starts_with(b"%PDF-"));
    for text in ["Qxsubjectone", "Qxsubjecttwo", "Qxsubjectnote", "86789012"] {
        assert!(pdf.text.contains(text), "the PDF holds {text}");
    }
    for text in ["Qxspouse", "Qxotherperson", "Qxothernote"] {
        assert!(!pdf.text.contains(text), "the PDF holds {text}, someone else's");
    }

    // Every export is in the access log; no one but the data protection officer exports.
    assert_eq!(audit_count(&pool, "person.data_export", "allowed").await, 3);
    for token in [&team.be, &team.sem] {
        app.get("/v1/persons/data-export?zemis_number=86789012", Some(token))
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    let auditor = app.login(AUDITOR).await;
    app.get("/v1/persons/data-export?zemis_number=86789012", Some(&auditor))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(audit_count(&pool, "person.data_export", "denied").await, 3);
    app.get("/v1/persons/data-export", Some(&dpo))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.get("/v1/persons/data-export?zemis_number=12", Some(&dpo))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.get("/v1/persons/data-export?zemis_number=99999999", Some(&dpo))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_reintegration_waits_for_every_travelling_adults_consent_to_the_mission(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = departed_case(&app, &team, "88901234", &approval()).await;
    let id = id_of(&case);
    let mission_id = institution_id(&pool, "IOM Iraq").await;
    let start = json!({ "action": "start_reintegration", "mission_id": mission_id });
    let path = format!("/v1/cases/{id}/transitions");
    let send_start = |case: Value| {
        let app = &app;
        let start = start.clone();
        let path = path.clone();
        let iom = team.iom.clone();
        async move {
            let etag = format!("\"{}\"", case["version"]);
            app.send(Method::POST, &path, Some(&iom), Some(&start), &[("if-match", &etag)]).await
        }
    };
    let refused = send_start(case.clone()).await;
    refused.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(refused.text.contains("consent_missing") && refused.text.contains("persons[0]"));
    // The child (a minor) needs no consent of their own.
    assert!(!refused.text.contains("persons[1]"), "{}", refused.text);

    // IOM Bern records the principal's consent on a signed form.
    let form = crate::support::pdf("Einwilligung, unterschrieben");
    let uploaded = app.upload(&team.iom, &id, "consent_form", "form.pdf", form).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text);
    let principal = case["persons"][0]["id"].clone();
    let consents = format!("/v1/cases/{id}/consents");
    let consent = json!({ "person_id": principal, "purpose": "transfer_to_mission",
        "sheet_version": "2026-03", "sheet_language": "ar", "given_on": crate::support::today(),
        "document_id": uploaded.body["id"] });
    let recorded = app.post(&consents, Some(&team.iom), &consent).await;
    assert_eq!(recorded.status, StatusCode::CREATED, "{}", recorded.text);
    app.post(&consents, Some(&team.iom), &consent)
        .await
        .assert_problem(StatusCode::CONFLICT, "consent_standing");
    // Withdrawn, it no longer counts.
    let withdrawal = format!("{consents}/{}/withdrawal", recorded.body["id"].as_str().expect("id"));
    let today = json!({ "withdrawn_on": crate::support::today() });
    let withdrawn = app.post(&withdrawal, Some(&team.iom), &today).await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{}", withdrawn.text);
    app.post(&withdrawal, Some(&team.iom), &today)
        .await
        .assert_problem(StatusCode::CONFLICT, "consent_withdrawn");
    let case = app.get(&format!("/v1/cases/{id}"), Some(&team.iom)).await.body;
    send_start(case.clone())
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // Given again, it does.
    let again = app.post(&consents, Some(&team.iom), &consent).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    let started = send_start(case).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text);
    assert_eq!(started.body["status"], "reintegration");

    // Who reads the consents, and what a record must name.
    let listed = app.get(&consents, Some(&team.sem)).await;
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(2), "{}", listed.text);
    for token in [&team.repat, &team.mission] {
        let refused = app.get(&consents, Some(token)).await;
        assert!(matches!(refused.status.as_u16(), 403 | 404), "{}", refused.text);
    }
    let other = open_case(&app, &team.be, &case_body("Elsewhere", Some("89012345"))).await;
    let foreign = json!({ "person_id": other["persons"][0]["id"], "purpose": "medical_data",
        "sheet_version": "2026-03", "sheet_language": "de", "given_on": crate::support::today(),
        "document_id": uploaded.body["id"] });
    let refused = app.post(&consents, Some(&team.iom), &foreign).await;
    refused.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(refused.text.contains("person_id"), "{}", refused.text);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_archive_export_writes_a_package_and_changes_nothing(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = open_case(&app, &team.be, &case_body("Exported", Some("80123456"))).await;
    let dir = tempfile::tempdir().expect("archive");
    let id = lifecycle::find_case(&app.store, case["reference"].as_str().expect("reference"))
        .await
        .expect("found by reference");
    let receipt = lifecycle::export(&app.store, &archive(&app, &dir), id).await.expect("export");
    assert!(receipt.path.join("manifest.json").is_file());
    assert_eq!(app.get(&format!("/v1/cases/{id}"), Some(&team.be)).await.status, StatusCode::OK);
    assert_eq!(audit_count(&pool, "case.archive_exported", "allowed").await, 1);
}
