//! Documents in an S3 object store, against a real S3 server (moto's, started per test):
//! the content goes in encrypted as one object per document, multipart beyond a part, and
//! comes out as it was; a changed object fails the download; a refused upload leaves no
//! object; documents stay readable wherever they were stored when the storage changes.

use axum::http::StatusCode;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use retour_api::{ApiConfig, DocumentsConfig};
use retour_store::documents::content::Storage;
use retour_store::documents::crypto::{CHUNK_SIZE, TAG_SIZE, segments};
use retour_store::documents::objects::ObjectStorage;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::support::s3::{S3Server, contains};
use crate::support::*;

/// The test configuration, new documents going to `storage`.
fn config(storage: Storage, read_objects: Option<ObjectStorage>) -> ApiConfig {
    ApiConfig {
        documents: DocumentsConfig { storage, read_objects, ..test_config().documents },
        ..test_config()
    }
}

async fn s3_app(pool: sqlx::PgPool, s3: &S3Server) -> TestApp {
    TestApp::with_config(pool, config(Storage::ObjectStore(s3.storage()), None)).await
}

fn content_path(case: &Value, document: &Value) -> String {
    format!("/v1/cases/{}/documents/{}/content", id_of(case), document["id"].as_str().expect("id"))
}

fn object_path(case: &Value, document: &Value) -> Path {
    let uuid = |v: &Value| v.as_str().expect("id").parse::<Uuid>().expect("uuid");
    ObjectStorage::path(uuid(&case["id"]), uuid(&document["id"]))
}

async fn filed(app: &TestApp, token: &str, case: &Value, bytes: Vec<u8>) -> Value {
    let response = app.upload(token, &id_of(case), "identity_document", "scan.pdf", bytes).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    response.body
}

async fn stored_bytes(s3: &S3Server, path: &Path) -> Vec<u8> {
    let object = s3.storage().store().get(path).await.expect("the object");
    object.bytes().await.expect("its bytes").to_vec()
}

#[sqlx::test]
async fn a_document_goes_to_the_bucket_encrypted_and_comes_back_as_it_was(pool: sqlx::PgPool) {
    let Some(s3) = S3Server::start().await else { return };
    let app = s3_app(pool, &s3).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "21111111").await;
    // Past one part (5 MiB): a multipart upload of two parts, 97 segments; and one small
    // document, sent with one PUT.
    let marker = "PLAINTEXT-MARKER-S3-QX7";
    let big = pdf(&format!("{marker} ").repeat(6 * 1024 * 1024 / (marker.len() + 1)));
    let small = pdf(&format!("{marker} Pass"));
    for content in [big, small] {
        let document = filed(&app, &team.be, &case, content.clone()).await;
        assert_eq!(document["size"], content.len());
        assert_eq!(document["sha256"], hex::encode(Sha256::digest(&content)));

        let listed =
            app.get(&format!("/v1/cases/{}/documents", id_of(&case)), Some(&team.be)).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
        let items = listed.body["items"].as_array().expect("items");
        assert!(items.contains(&document), "{}", listed.text);

        let download = app.get(&content_path(&case, &document), Some(&team.be)).await;
        assert_eq!(download.status, StatusCode::OK, "{}", download.text);
        assert!(download.text.as_bytes() == content.as_slice(), "the content differs");

        // One object, the segments one after the other, each with its tag: never the
        // plaintext, nothing of it in the database.
        let stored = stored_bytes(&s3, &object_path(&case, &document)).await;
        let n = segments(content.len() as u64, CHUNK_SIZE) as usize;
        assert_eq!(stored.len(), content.len() + n * TAG_SIZE);
        assert!(!contains(&stored, marker.as_bytes()), "the marker is stored in clear");
        assert!(!contains(&stored, b"%PDF-"), "the PDF header is stored in clear");
        assert_eq!(count(&app.pool, "document_chunks").await, 0);
        let storage: String = sqlx::query_scalar("select storage from documents where id = $1")
            .bind(document["id"].as_str().expect("id").parse::<Uuid>().expect("uuid"))
            .fetch_one(&app.pool)
            .await
            .expect("storage");
        assert_eq!(storage, "object_store");
    }
    assert_eq!(s3.objects().await.len(), 2);
    assert_eq!(s3.open_uploads().await, 0);
}

#[sqlx::test]
async fn a_changed_object_fails_the_download_and_nothing_is_sent(pool: sqlx::PgPool) {
    let Some(s3) = S3Server::start().await else { return };
    let app = s3_app(pool, &s3).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "21111112").await;
    let storage = s3.storage();
    let store = storage.store();
    let integrity_fails = |document: Value| {
        let app = &app;
        let case = &case;
        let token = team.be.clone();
        async move {
            let download = app.get(&content_path(case, &document), Some(&token)).await;
            download.assert_problem(StatusCode::INTERNAL_SERVER_ERROR, "document_integrity");
            assert!(!download.text.contains("Reisepass"), "content was sent");
        }
    };

    // One bit in the last segment: everything before it authenticates, and still nothing
    // may be sent.
    let document = filed(&app, &team.be, &case, pdf(&"Reisepass ".repeat(30_000))).await;
    let path = object_path(&case, &document);
    let mut bytes = stored_bytes(&s3, &path).await;
    let last = bytes.len() - 10;
    bytes[last] ^= 1;
    store.put(&path, PutPayload::from(bytes)).await.expect("tamper");
    integrity_fails(document.clone()).await;
    let denied: Vec<Value> = sqlx::query_scalar(
        "select details from audit_events where action = 'document.download' \
         and outcome = 'denied'",
    )
    .fetch_all(&app.pool)
    .await
    .expect("access log");
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0]["integrity"], "failed");

    // Bytes appended, the object cut short, the object gone: each fails the same way.
    let appended = filed(&app, &team.be, &case, pdf(&"Reisepass ".repeat(100))).await;
    let path = object_path(&case, &appended);
    let mut bytes = stored_bytes(&s3, &path).await;
    bytes.extend_from_slice(b"more");
    store.put(&path, PutPayload::from(bytes)).await.expect("append");
    integrity_fails(appended).await;

    let cut = filed(&app, &team.be, &case, pdf(&"Reisepass ".repeat(20_000))).await;
    let path = object_path(&case, &cut);
    let bytes = stored_bytes(&s3, &path).await;
    store.put(&path, PutPayload::from(bytes[..bytes.len() - 100].to_vec())).await.expect("cut");
    integrity_fails(cut).await;

    let gone = filed(&app, &team.be, &case, pdf("Reisepass")).await;
    store.delete(&object_path(&case, &gone)).await.expect("delete");
    integrity_fails(gone).await;
}

#[sqlx::test]
async fn a_refused_upload_leaves_no_object(pool: sqlx::PgPool) {
    let Some(s3) = S3Server::start().await else { return };
    // Larger than a part, so that the refusal comes after a multipart upload started.
    let max = 6 * 1024 * 1024;
    let mut config = config(Storage::ObjectStore(s3.storage()), None);
    config.documents.max_bytes = max;
    let app = TestApp::with_config(pool, config).await;
    let team = Team::new(&app).await;
    let case = ready_case(&app, &team, "21111113").await;
    let id = id_of(&case);

    // An executable: refused from its first bytes.
    let parts = [
        Part::text("category", "travel_document"),
        Part::file("ticket.pdf", "application/pdf", exe()),
    ];
    app.upload_parts(&team.be, &id, &parts)
        .await
        .assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "document_type_not_accepted");

    // Too large: refused past 6 MiB, one part sent already (and within the request's
    // limit, the document's and 1 MiB).
    let big = pdf(&"x".repeat(max as usize + 512 * 1024));
    app.upload(&team.be, &id, "other", "big.pdf", big)
        .await
        .assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "document_too_large");

    // Stored whole, then refused: the category, named after the file, is not one.
    let content = pdf(&"y".repeat(100_000));
    let parts = [
        Part::file("a.pdf", "application/pdf", content.clone()),
        Part::text("category", "passport"),
    ];
    let refused = app.upload_parts(&team.be, &id, &parts).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);

    // Stored whole, then refused under the case's lock: it replaces no document there is.
    let missing = Uuid::now_v7().to_string();
    let parts = [
        Part::file("a.pdf", "application/pdf", content),
        Part::text("category", "other"),
        Part::text("supersedes", &missing),
    ];
    let refused = app.upload_parts(&team.be, &id, &parts).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text);

    assert_eq!(count(&app.pool, "documents").await, 0);
    assert_eq!(s3.objects().await, Vec::<Path>::new(), "objects left in the bucket");
    assert_eq!(s3.open_uploads().await, 0, "multipart uploads left open");
}

#[sqlx::test]
async fn documents_stay_readable_where_they_were_stored_when_the_storage_changes(
    pool: sqlx::PgPool,
) {
    let Some(s3) = S3Server::start().await else { return };
    // Filed while documents went to the database.
    let before = TestApp::with_config(pool.clone(), config(Storage::Database, None)).await;
    let team = Team::new(&before).await;
    let case = ready_case(&before, &team, "21111114").await;
    let in_database = pdf(&"Datenbank ".repeat(10_000));
    let kept_in_database = filed(&before, &team.be, &case, in_database.clone()).await;

    // Switched to the bucket: the old document still downloads, new ones go to the bucket.
    let after = s3_app(pool.clone(), &s3).await;
    let download = after.get(&content_path(&case, &kept_in_database), Some(&team.be)).await;
    assert_eq!(download.status, StatusCode::OK, "{}", download.text);
    assert!(download.text.as_bytes() == in_database.as_slice());
    let in_bucket = pdf(&"Bucket ".repeat(10_000));
    let kept_in_bucket = filed(&after, &team.be, &case, in_bucket.clone()).await;
    assert_eq!(s3.objects().await, vec![object_path(&case, &kept_in_bucket)]);

    // Back to the database with the bucket still configured: both download.
    let back =
        TestApp::with_config(pool.clone(), config(Storage::Database, Some(s3.storage()))).await;
    for (document, content) in [(&kept_in_database, &in_database), (&kept_in_bucket, &in_bucket)] {
        let download = back.get(&content_path(&case, document), Some(&team.be)).await;
        assert_eq!(download.status, StatusCode::OK, "{}", download.text);
        assert!(download.text.as_bytes() == content.as_slice());
    }

    // Without the bucket, its documents are unavailable, not corrupt.
    let without = TestApp::with_config(pool, config(Storage::Database, None)).await;
    without
        .get(&content_path(&case, &kept_in_bucket), Some(&team.be))
        .await
        .assert_problem(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
}

/// Runs `retour` with `env`; its exit code and what it printed on stderr.
fn retour(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_retour"));
    command.args(args).env("RETOUR_LOG", "json").env("RUST_LOG", "off");
    for variable in ["RETOUR_DOCUMENT_STORE", "RETOUR_S3_BUCKET", "RETOUR_S3_ENDPOINT"] {
        command.env_remove(variable);
    }
    for (variable, value) in env {
        command.env(variable, value);
    }
    let output = command.output().expect("run retour");
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn bad_document_store_settings_stop_the_command_with_one_line_naming_the_variable() {
    for (variable, value) in [
        ("RETOUR_DOCUMENT_STORE", "tape"),
        ("RETOUR_S3_BUCKET", "Not_A_Bucket"),
        ("RETOUR_S3_ENDPOINT", "ftp://s3.example.ch"),
        ("RETOUR_S3_ENDPOINT", "https://s3.example.ch/bucket"),
    ] {
        let (code, message) = retour(&["openapi"], &[(variable, value)]);
        assert_eq!(code, Some(2), "{variable}={value}: {message}");
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.contains(variable), "{message}");
    }
    // The bucket is required for s3, before anything else is done.
    let (code, message) = retour(&["serve"], &[("RETOUR_DOCUMENT_STORE", "s3")]);
    assert_eq!(code, Some(1), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("RETOUR_S3_BUCKET"), "{message}");
}

#[tokio::test]
async fn a_bucket_that_cannot_be_used_stops_the_server_with_one_line() {
    let Some(s3) = S3Server::start().await else { return };
    let endpoint = s3.endpoint.clone();
    let (code, message) = tokio::task::spawn_blocking(move || {
        retour(
            &["serve"],
            &[
                ("RETOUR_DOCUMENT_STORE", "s3"),
                ("RETOUR_S3_BUCKET", "no-such-bucket"),
                ("RETOUR_S3_ENDPOINT", &endpoint),
                ("AWS_ACCESS_KEY_ID", "retour-test"),
                ("AWS_SECRET_ACCESS_KEY", "retour-test-secret"),
                ("AWS_REGION", "us-east-1"),
            ],
        )
    })
    .await
    .expect("retour serve");
    assert_eq!(code, Some(1), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("RETOUR_S3_BUCKET"), "{message}");
}
