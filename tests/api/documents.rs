//! Documents: uploaded streamed and encrypted, judged by their bytes, listed with their
//! versions, downloaded only after their integrity is checked, deleted softly, each category
//! seen by its field group only, every step in the access log, and the master key rotated
//! while every document still downloads.

use axum::http::{Method, StatusCode};
use retour_api::{ApiConfig, DocumentsConfig};
use retour_store::documents::crypto::MasterKeys;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::support::*;

fn documents_path(case: &Value) -> String {
    format!("/v1/cases/{}/documents", id_of(case))
}

fn content_path(case: &Value, document: &Value) -> String {
    format!("{}/{}/content", documents_path(case), document["id"].as_str().expect("id"))
}

async fn list(app: &TestApp, token: &str, case: &Value) -> Vec<Value> {
    let response = app.get(&documents_path(case), Some(token)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.body["items"].as_array().expect("items").clone()
}

/// Uploads a document that must be taken; returns it.
async fn filed(app: &TestApp, token: &str, case: &Value, category: &str, bytes: Vec<u8>) -> Value {
    let response = app.upload(token, &id_of(case), category, "scan.pdf", bytes).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    response.body
}

async fn logged(app: &TestApp, action: &str) -> Vec<(String, Value)> {
    sqlx::query_as(
        "select outcome, details from audit_events where action = $1 order by occurred_at, id",
    )
    .bind(action)
    .fetch_all(&app.pool)
    .await
    .expect("access log")
}

#[sqlx::test]
async fn a_document_goes_in_encrypted_and_comes_out_as_it_was(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "11111111").await;
    let content = pdf("Gesuch um Rueckkehrhilfe, unterschrieben von Hassan Karimi");
    let parts = [
        Part::text("category", "return_request"),
        Part::text("description", "Signed request, 2 pages"),
        Part::file("C:\\Scans\\Gesuch Karimi – März.pdf", "application/pdf", content.clone()),
    ];
    let response = app.upload_parts(&team.be, &id_of(&case), &parts).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    let document = response.body;
    let sha256 = hex::encode(Sha256::digest(&content));
    assert_eq!(document["category"], "return_request");
    assert_eq!(document["media_type"], "application/pdf");
    assert_eq!(document["size"], content.len());
    assert_eq!(document["sha256"], sha256);
    assert_eq!(document["version"], 1);
    assert_eq!(document["series_id"], document["id"]);
    assert_eq!(document["file_name"], "Gesuch Karimi – März.pdf");
    assert_eq!(document["description"], "Signed request, 2 pages");
    assert_eq!(document["uploaded_by"], user_id(&app.pool, BE).await);
    assert_eq!(response.headers["location"], content_path(&case, &document));

    assert_eq!(list(&app, &team.be, &case).await, vec![document.clone()]);

    let download = app.get(&content_path(&case, &document), Some(&team.be)).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.text.as_bytes(), content.as_slice());
    assert_eq!(download.header("content-type"), Some("application/pdf"));
    assert_eq!(download.header("content-length"), Some(content.len().to_string().as_str()));
    assert_eq!(download.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(download.header("content-security-policy"), Some("sandbox; default-src 'none'"));
    assert_eq!(
        download.header("content-disposition"),
        Some(
            "attachment; filename=\"Gesuch Karimi _ M_rz.pdf\"; \
             filename*=UTF-8''Gesuch%20Karimi%20%E2%80%93%20M%C3%A4rz.pdf"
        )
    );

    // The access log names the document and its category, never the file's name.
    let id = document["id"].clone();
    for action in ["document.upload", "document.list", "document.download"] {
        let events = logged(&app, action).await;
        assert_eq!(events.len(), 1, "{action}");
        assert_eq!(events[0].0, "allowed");
        let details = events[0].1.to_string();
        assert!(!details.contains("Karimi") && !details.contains("Gesuch"), "{action}: {details}");
    }
    assert_eq!(logged(&app, "document.upload").await[0].1["document_id"], id);
    assert_eq!(logged(&app, "document.upload").await[0].1["category"], "return_request");
    assert_eq!(logged(&app, "document.download").await[0].1["document_id"], id);
}

#[sqlx::test]
async fn stored_bytes_never_hold_the_plaintext(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "11111112").await;
    // Several segments, the marker in each.
    let marker = "PLAINTEXT-MARKER-QX7";
    let content = pdf(&format!("{marker} ").repeat(20_000));
    let document = filed(&app, &team.be, &case, "identity_document", content.clone()).await;
    let chunks: Vec<Vec<u8>> =
        sqlx::query_scalar("select bytes from document_chunks where document_id = $1 order by seq")
            .bind(document["id"].as_str().expect("id").parse::<Uuid>().expect("uuid"))
            .fetch_all(&app.pool)
            .await
            .expect("chunks");
    assert!(chunks.len() >= 6, "{} segments", chunks.len());
    let stored: usize = chunks.iter().map(Vec::len).sum();
    assert_eq!(stored, content.len() + 16 * chunks.len(), "each segment carries its tag");
    for chunk in &chunks {
        assert!(!chunk.windows(marker.len()).any(|w| w == marker.as_bytes()));
        assert!(!chunk.windows(5).any(|w| w == b"%PDF-"));
    }
    let download = app.get(&content_path(&case, &document), Some(&team.be)).await;
    assert_eq!(download.text.as_bytes(), content.as_slice());
}

#[sqlx::test]
async fn a_flipped_byte_in_storage_fails_the_download_and_is_logged(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "11111113").await;
    let content = pdf(&"Reisepass ".repeat(30_000));
    let document = filed(&app, &team.be, &case, "identity_document", content).await;
    let id: Uuid = document["id"].as_str().expect("id").parse().expect("uuid");
    // One bit of the last segment: everything before it authenticates, and still nothing
    // may be sent.
    sqlx::query(
        "update document_chunks set bytes = set_byte(bytes, 3, get_byte(bytes, 3) # 1) \
         where document_id = $1 and seq = (select max(seq) from document_chunks where document_id = $1)",
    )
    .bind(id)
    .execute(&app.pool)
    .await
    .expect("tamper");
    let download = app.get(&content_path(&case, &document), Some(&team.be)).await;
    download.assert_problem(StatusCode::INTERNAL_SERVER_ERROR, "document_integrity");
    assert!(!download.text.contains("Reisepass"));
    let denied = logged(&app, "document.download").await;
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].0, "denied");
    assert_eq!(denied[0].1["integrity"], "failed");
    assert_eq!(denied[0].1["document_id"], document["id"]);

    // A changed wrapped key fails too.
    let other = filed(&app, &team.be, &case, "identity_document", pdf("second")).await;
    sqlx::query("update documents set wrapped_key = set_byte(wrapped_key, 20, 0) where id = $1")
        .bind(other["id"].as_str().expect("id").parse::<Uuid>().expect("uuid"))
        .execute(&app.pool)
        .await
        .expect("tamper key");
    app.get(&content_path(&case, &other), Some(&team.be))
        .await
        .assert_problem(StatusCode::INTERNAL_SERVER_ERROR, "document_integrity");
}

#[sqlx::test]
async fn the_type_is_judged_from_the_bytes_not_the_name(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "11111114").await;
    let id = id_of(&case);
    // A PDF named .exe, declared as an executable: a PDF.
    let parts = [
        Part::text("category", "travel_document"),
        Part::file("ticket.exe", "application/x-msdownload", pdf("ticket")),
    ];
    let response = app.upload_parts(&team.be, &id, &parts).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    assert_eq!(response.body["media_type"], "application/pdf");
    // An executable named .pdf, declared as a PDF: refused, naming what it is.
    let parts = [
        Part::text("category", "travel_document"),
        Part::file("ticket.pdf", "application/pdf", exe()),
    ];
    let refused = app.upload_parts(&team.be, &id, &parts).await;
    refused.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "document_type_not_accepted");
    assert!(
        refused.body["detail"]
            .as_str()
            .expect("detail")
            .contains("application/vnd.microsoft.portable-executable"),
        "{}",
        refused.text
    );
    // Images are taken; text, HTML and an empty file are not.
    let parts =
        [Part::text("category", "identity_document"), Part::file("id.png", "image/png", png())];
    let image = app.upload_parts(&team.be, &id, &parts).await;
    assert_eq!(image.status, StatusCode::CREATED, "{}", image.text);
    assert_eq!(image.body["media_type"], "image/png");
    for bytes in
        [b"<html><script>alert(1)</script></html>".to_vec(), b"plain text".to_vec(), Vec::new()]
    {
        let parts =
            [Part::text("category", "other"), Part::file("note.pdf", "application/pdf", bytes)];
        app.upload_parts(&team.be, &id, &parts)
            .await
            .assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "document_type_not_accepted");
    }
    let count: i64 = sqlx::query_scalar("select count(*) from documents")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(count, 2, "refused uploads leave nothing");
    let chunks: i64 = sqlx::query_scalar(
        "select count(*) from document_chunks d \
        where not exists (select 1 from documents where id = d.document_id)",
    )
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(chunks, 0, "no segment without its document");
}

#[sqlx::test]
async fn a_document_too_large_is_refused_and_leaves_nothing(pool: sqlx::PgPool) {
    let config = ApiConfig {
        documents: DocumentsConfig { max_bytes: 100_000, ..test_config().documents },
        ..test_config()
    };
    let app = TestApp::with_config(pool, config).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "11111115").await;
    let big = pdf(&"x".repeat(150_000));
    let response = app.upload(&team.be, &id_of(&case), "other", "big.pdf", big).await;
    response.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "document_too_large");
    assert!(response.body["detail"].as_str().expect("detail").contains("100000"));
    for table in ["documents", "document_chunks"] {
        assert_eq!(count(&app.pool, table).await, 0, "{table}");
    }
    // Just under the limit is taken.
    let fits = pdf(&"x".repeat(99_000));
    let response = app.upload(&team.be, &id_of(&case), "other", "fits.pdf", fits).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
}

#[sqlx::test]
async fn the_form_is_checked_field_by_field(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "11111116").await;
    let id = id_of(&case);
    let file = || Part::file("a.pdf", "application/pdf", pdf("a"));
    let no_category = app.upload_parts(&team.be, &id, &[file()]).await;
    assert_names(&no_category, "category", "required");
    let wrong =
        app.upload_parts(&team.be, &id, &[Part::text("category", "passport"), file()]).await;
    assert_names(&wrong, "category", "invalid_value");
    let no_file = app.upload_parts(&team.be, &id, &[Part::text("category", "other")]).await;
    assert_names(&no_file, "file", "required");
    let stray = app
        .upload_parts(
            &team.be,
            &id,
            &[Part::text("category", "other"), Part::text("owner", "x"), file()],
        )
        .await;
    assert_names(&stray, "owner", "unknown_field");
    let bad_successor = app
        .upload_parts(
            &team.be,
            &id,
            &[Part::text("category", "other"), Part::text("supersedes", "7"), file()],
        )
        .await;
    assert_names(&bad_successor, "supersedes", "invalid_value");
    // The schema says `uuid` and an enum: an empty predecessor or a padded category is not
    // quietly read as something else.
    for (field, value) in [("supersedes", ""), ("supersedes", &format!(" {} ", Uuid::now_v7()))] {
        let parts = [Part::text("category", "other"), Part::text(field, value), file()];
        assert_names(&app.upload_parts(&team.be, &id, &parts).await, field, "invalid_value");
    }
    let padded = app.upload_parts(&team.be, &id, &[Part::text("category", "other "), file()]).await;
    assert_names(&padded, "category", "invalid_value");
    let long = "d".repeat(2001);
    let too_long = app
        .upload_parts(
            &team.be,
            &id,
            &[Part::text("category", "other"), Part::text("description", &long), file()],
        )
        .await;
    assert_names(&too_long, "description", "too_long");
    // Not multipart at all.
    let json =
        app.post(&documents_path(&case), Some(&team.be), &json!({ "category": "other" })).await;
    json.assert_problem(StatusCode::BAD_REQUEST, "malformed_request");
    assert_eq!(count(&app.pool, "documents").await, 0);
}

#[sqlx::test]
async fn a_new_version_supersedes_and_a_deletion_keeps_the_record(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "11111117").await;
    let id = id_of(&case);
    let first = filed(&app, &team.be, &case, "identity_document", pdf("passport, page 1")).await;
    let parts = [
        Part::text("category", "identity_document"),
        Part::text("supersedes", first["id"].as_str().expect("id")),
        Part::file("passport.pdf", "application/pdf", pdf("passport, pages 1 and 2")),
    ];
    let second = app.upload_parts(&team.be, &id, &parts).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    let second = second.body;
    assert_eq!(second["version"], 2);
    assert_eq!(second["series_id"], first["id"]);

    // Only the current version is replaced, and only by the same category.
    let again = app.upload_parts(&team.be, &id, &parts).await;
    again.assert_problem(StatusCode::CONFLICT, "document_not_current");
    let other_category = [
        Part::text("category", "travel_document"),
        Part::text("supersedes", second["id"].as_str().expect("id")),
        Part::file("ticket.pdf", "application/pdf", pdf("ticket")),
    ];
    assert_names(
        &app.upload_parts(&team.be, &id, &other_category).await,
        "supersedes",
        "category_differs",
    );
    let unknown = [
        Part::text("category", "identity_document"),
        Part::text("supersedes", &Uuid::now_v7().to_string()),
        Part::file("x.pdf", "application/pdf", pdf("x")),
    ];
    app.upload_parts(&team.be, &id, &unknown)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");

    let items = list(&app, &team.be, &case).await;
    assert_eq!(items.len(), 2, "every version is listed");
    assert_eq!(items[0]["id"], first["id"]);
    assert_eq!(items[0]["superseded_by"], second["id"]);
    assert!(items[0]["superseded_at"].is_string());
    // The older version still downloads.
    let old = app.get(&content_path(&case, &first), Some(&team.be)).await;
    assert_eq!(old.text.as_bytes(), pdf("passport, page 1").as_slice());

    // Deleting needs a reason, takes the current version only, and keeps the record.
    let delete = |document: &Value, body: Value| {
        let path = format!("{}/{}", documents_path(&case), document["id"].as_str().expect("id"));
        let token = team.be.clone();
        let app = &app;
        async move { app.send(Method::DELETE, &path, Some(&token), Some(&body), &[]).await }
    };
    assert_names(&delete(&second, json!({})).await, "reason", "required");
    delete(&first, json!({ "reason": "wrong person" }))
        .await
        .assert_problem(StatusCode::CONFLICT, "document_not_current");
    let deleted = delete(&second, json!({ "reason": "scanned for the wrong case" })).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    assert_eq!(deleted.body["deletion_reason"], "scanned for the wrong case");
    assert_eq!(deleted.body["deleted_by"], user_id(&app.pool, BE).await);
    app.get(&content_path(&case, &second), Some(&team.be))
        .await
        .assert_problem(StatusCode::GONE, "document_deleted");
    assert_eq!(list(&app, &team.be, &case).await.len(), 2);
    assert_eq!(count(&app.pool, "documents").await, 2, "nothing is removed");
    let deletions = logged(&app, "document.delete").await;
    assert_eq!(deletions.iter().filter(|(outcome, _)| outcome == "allowed").count(), 1);
    assert_eq!(deletions.last().expect("deletion").1["category"], "identity_document");
}

/// A submission sent as it is, without the signed request the suites' helper adds.
async fn submit_as_is(app: &TestApp, token: &str, case: &Value) -> TestResponse {
    let path = format!("/v1/cases/{}/transitions", id_of(case));
    let body = json!({ "action": "submit" });
    app.send(Method::POST, &path, Some(token), Some(&body), &[("if-match", &etag(case))]).await
}

#[sqlx::test]
async fn submit_needs_the_signed_request_unless_the_installation_says_otherwise(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "11111118").await;
    assert_names(&submit_as_is(&app, &team.be, &case).await, "documents", "return_request_missing");
    // A deleted request does not count.
    let signed = filed(&app, &team.be, &case, "return_request", pdf("signed")).await;
    let path = format!("{}/{}", documents_path(&case), signed["id"].as_str().expect("id"));
    let body = json!({ "reason": "unsigned copy" });
    let deleted = app.send(Method::DELETE, &path, Some(&team.be), Some(&body), &[]).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    assert_names(&submit_as_is(&app, &team.be, &case).await, "documents", "return_request_missing");
    filed(&app, &team.be, &case, "return_request", pdf("signed, this time")).await;
    let submitted = submit_as_is(&app, &team.be, &case).await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.text);
    // Once submitted, the request is evidence: the counselling service no longer replaces
    // or deletes it.
    let late = app.upload(&team.be, &id_of(&case), "return_request", "late.pdf", pdf("late")).await;
    late.assert_problem(StatusCode::CONFLICT, "document_not_fileable");

    // An installation that keeps the signed request on paper turns the rule off.
    let config = ApiConfig {
        documents: DocumentsConfig { require_return_request: false, ..test_config().documents },
        ..test_config()
    };
    let paper = TestApp::with_config(pool, config).await;
    let other = ready_case(&paper, &team, "11111119").await;
    let submitted = submit_as_is(&paper, &team.be, &other).await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.text);
}

#[sqlx::test]
async fn each_category_is_filed_and_seen_by_its_field_group_only(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let case = reintegration_case(&app, &team, "11111120").await;
    let id = id_of(&case);
    // Filed by whoever the table names in this status (reintegration).
    let evidence =
        filed(&app, &team.mission, &case, "reintegration_evidence", pdf("shop lease")).await;
    let receipt = filed(&app, &team.iom, &case, "payout_receipt", pdf("cash receipt")).await;
    let decision = filed(&app, &team.sem, &case, "sem_decision", pdf("Verfuegung")).await;
    // Not in this status, or never for this role.
    app.upload(&team.be, &id, "medical_certificate", "m.pdf", pdf("m"))
        .await
        .assert_problem(StatusCode::CONFLICT, "document_not_fileable");
    app.upload(&team.repat, &id, "medical_certificate", "m.pdf", pdf("m"))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.upload(&team.mission, &id, "sem_decision", "d.pdf", pdf("d"))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");

    let seen = |items: Vec<Value>| -> Vec<String> {
        items.iter().map(|d| d["category"].as_str().expect("category").to_owned()).collect()
    };
    assert_eq!(seen(list(&app, &team.mission, &case).await), ["reintegration_evidence"]);
    assert_eq!(seen(list(&app, &team.repat, &case).await), ["payout_receipt"]);
    let mut iom = seen(list(&app, &team.iom, &case).await);
    iom.sort();
    // The consent form IOM Bern filed before the reintegration started.
    assert_eq!(iom, ["consent_form", "payout_receipt", "reintegration_evidence"]);
    assert_eq!(list(&app, &team.sem, &case).await.len(), 5, "SEM sees every category");

    // A document outside the caller's view answers as one that does not exist.
    let missing = app
        .get(&format!("{}/{}/content", documents_path(&case), Uuid::now_v7()), Some(&team.mission))
        .await;
    let hidden = app.get(&content_path(&case, &decision), Some(&team.mission)).await;
    hidden.assert_problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(hidden.told(), missing.told());
    assert_eq!(
        app.get(&content_path(&case, &receipt), Some(&team.mission)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&content_path(&case, &evidence), Some(&team.mission)).await.status,
        StatusCode::OK
    );
    // Another counselling service does not see the case at all.
    let zh = app.login("counsellor.zh@demo.test").await;
    app.get(&documents_path(&case), Some(&zh))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test]
async fn rotating_the_master_key_rewraps_and_every_document_still_downloads(pool: sqlx::PgPool) {
    let old = MasterKeys::single("old", TEST_KEY);
    let config = |keys: MasterKeys| ApiConfig {
        documents: DocumentsConfig { keys: Some(keys), ..DocumentsConfig::default() },
        ..test_config()
    };
    let app = TestApp::with_config(pool.clone(), config(old)).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "11111121").await;
    let mut uploaded = Vec::new();
    for i in 0..3 {
        let content = pdf(&format!("document {i} ").repeat(10_000 * i + 1));
        uploaded.push((filed(&app, &team.be, &case, "other", content.clone()).await, content));
    }
    let new = MasterKeys::generate_entry("new");
    let old_entry = format!("old:{}", base64_key(&TEST_KEY));
    let url = database_url(&pool).await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_retour"))
        .args(["documents", "rotate-key"])
        .env("DATABASE_URL", &url)
        .env("RETOUR_DOCUMENT_KEYS", format!("{new},{old_entry}"))
        .output()
        .expect("retour documents rotate-key");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{printed}{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        printed.contains("3 document key(s), 0 webhook secret(s) and 0 authenticator secret(s) re-wrapped with new; 0 left"),
        "{printed}"
    );
    let key_ids: Vec<String> = sqlx::query_scalar("select distinct key_id from documents")
        .fetch_all(&pool)
        .await
        .expect("key ids");
    assert_eq!(key_ids, ["new"]);

    // A server that knows only the new key serves every document.
    let rotated =
        TestApp::with_config(pool.clone(), config(MasterKeys::parse(&new).expect("new"))).await;
    for (document, content) in &uploaded {
        let download = rotated.get(&content_path(&case, document), Some(&team.be)).await;
        assert_eq!(download.status, StatusCode::OK, "{}", download.text);
        assert_eq!(download.text.as_bytes(), content.as_slice());
    }
    // Run again: nothing left to do.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_retour"))
        .args(["documents", "rotate-key"])
        .env("DATABASE_URL", &url)
        .env("RETOUR_DOCUMENT_KEYS", &new)
        .output()
        .expect("rotate again");
    assert!(String::from_utf8_lossy(&again.stdout).contains(
        "0 document key(s), 0 webhook secret(s) and 0 authenticator secret(s) re-wrapped"
    ));
}

/// The test's database, for a `retour` command run against it.
async fn database_url(pool: &sqlx::PgPool) -> String {
    let database = pool.connect_options().get_database().expect("database name").to_owned();
    let mut url =
        url::Url::parse(&std::env::var("DATABASE_URL").expect("DATABASE_URL")).expect("url");
    url.set_path(&database);
    url.to_string()
}

fn base64_key(key: &[u8; 32]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(key)
}

#[sqlx::test]
async fn documents_at_the_edges_of_a_segment_come_back_whole(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "11111122").await;
    let segment = 64 * 1024;
    for size in [segment - 1, segment, segment + 1, 2 * segment, 3 * segment + 7] {
        let mut content = pdf("edge");
        content.resize(size, b'.');
        let document = filed(&app, &team.be, &case, "other", content.clone()).await;
        assert_eq!(document["size"], size);
        let download = app.get(&content_path(&case, &document), Some(&team.be)).await;
        assert_eq!(download.status, StatusCode::OK, "{size}: {}", download.text);
        assert_eq!(download.text.len(), size, "{size}");
        assert!(download.text.as_bytes() == content.as_slice(), "{size}");
    }
}
