//! Cases and households: opening, reading, changing, scope, data minimisation, concurrency,
//! idempotency, duplicates, search and pagination.

use std::collections::HashSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::*;

fn id_of(case: &Value) -> String {
    case["id"].as_str().expect("id").to_owned()
}

async fn events(
    pool: &PgPool,
    action: &str,
) -> Vec<(String, Option<uuid::Uuid>, Vec<uuid::Uuid>, Value)> {
    sqlx::query_as(
        "select outcome, resource_id, resource_ids, details from audit_events \
         where action = $1 order by occurred_at, id",
    )
    .bind(action)
    .fetch_all(pool)
    .await
    .expect("events")
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_counsellor_opens_reads_lists_and_changes_a_case(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let token = app.login(BE).await;
    let response =
        app.post("/v1/cases", Some(&token), &case_body("Hassan", Some("12345678"))).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    assert_eq!(response.header("etag"), Some("\"1\""));
    let case = response.body.clone();
    let id = id_of(&case);
    assert_eq!(response.header("location"), Some(format!("/v1/cases/{id}").as_str()));
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(case["reference"], format!("BE-{year}-00001"));
    assert_eq!(case["canton"], "BE");
    assert_eq!(case["status"], "counselling");
    assert_eq!(case["version"], 1);
    assert_eq!(case["allowed_actions"], json!(["submit", "withdraw"]));
    assert_eq!(case["persons"][0]["n_number"], "N 123 456");
    assert_eq!(case["persons"][1]["zemis_number"], Value::Null);
    assert_eq!(case["persons"][1]["travelling"], true);
    assert_eq!(case["medical"]["summary"], "Diabetes type 1");
    assert_eq!(case["eligibility"]["abuse"], Value::Null);
    assert_eq!(case["voluntariness_declaration"], Value::Null);

    let read = app.get(&format!("/v1/cases/{id}"), Some(&token)).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.header("etag"), Some("\"1\""));
    assert_eq!(read.body, case);

    let list = app.get("/v1/cases", Some(&token)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(list.body["next_cursor"], Value::Null);
    let item = &list.body["items"][0];
    assert_eq!(item["id"], case["id"]);
    assert_eq!(item["principal"], json!({"surname": "Hassan", "given_names": "Karim"}));
    assert_eq!(item["persons_count"], 2);

    let changes = json!({
        "eligibility": { "criminal_offences": false, "abuse": false,
                         "sufficient_assets": false, "prior_assistance": false },
        "voluntariness_declaration": { "signed_on": chrono::Utc::now().date_naive().to_string() },
        "requested_assistance": [{ "component": "startup_cash", "amount_rappen": 100000 }],
        "medical": { "escort": "medical" }
    });
    let changed = patch(&app, &token, &format!("/v1/cases/{id}"), "\"1\"", &changes).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.header("etag"), Some("\"2\""));
    assert_eq!(changed.body["version"], 2);
    assert_eq!(changed.body["eligibility"]["abuse"], false);
    assert_eq!(changed.body["requested_assistance"][0]["amount_rappen"], 100000);
    // Objects merge field by field.
    assert_eq!(
        changed.body["medical"],
        json!({"summary": "Diabetes type 1", "fit_to_travel": true, "escort": "medical"})
    );

    // Removing with null, and a patch that changes nothing keeps the version.
    let removed = patch(
        &app,
        &token,
        &format!("/v1/cases/{id}"),
        "\"2\"",
        &json!({"medical": null, "vulnerabilities": []}),
    )
    .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.text);
    assert_eq!(removed.body["medical"], Value::Null);
    assert_eq!(removed.body["vulnerabilities"], json!([]));
    assert_eq!(count(&pool, "case_medical").await, 0);
    let same =
        patch(&app, &token, &format!("/v1/cases/{id}"), "\"3\"", &json!({"programme": "cantonal"}))
            .await;
    assert_eq!(same.body["version"], 3, "{}", same.text);

    // The access log: create, read, list and update events, field names and no values.
    let case_id: uuid::Uuid = id.parse().expect("uuid");
    let created = events(&pool, "case.create").await;
    assert_eq!(created.len(), 1);
    assert_eq!((created[0].0.as_str(), created[0].1), ("allowed", Some(case_id)));
    let reads = events(&pool, "case.read").await;
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].1, Some(case_id));
    let lists = events(&pool, "case.list").await;
    assert_eq!(lists[0].2, [case_id]);
    let updates = events(&pool, "case.update").await;
    assert_eq!(
        updates.iter().map(|e| e.3["fields"].clone()).collect::<Vec<_>>(),
        [
            json!(["medical", "eligibility", "voluntariness_declaration", "requested_assistance"]),
            json!(["vulnerabilities", "medical"]),
            json!([])
        ]
    );
    let details = updates[0].3.to_string();
    assert!(!details.contains("100000") && !details.contains("Diabetes"), "{details}");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_patch_is_accepted_as_merge_patch_json_and_refused_as_plain_text(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login(BE).await;
    let id = id_of(&open_case(&app, &token, &case_body("Hassan", None)).await);
    let send = |media_type: &'static str| {
        Request::builder()
            .method(Method::PATCH)
            .uri(format!("/v1/cases/{id}"))
            .header("authorization", format!("Bearer {token}"))
            .header("if-match", "\"1\"")
            .header("content-type", media_type)
            .body(Body::from(r#"{"destination_country": "GE"}"#))
            .expect("request")
    };
    let merged = app.send_request(send("application/merge-patch+json")).await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.text);
    assert_eq!(merged.body["destination_country"], "GE");
    app.send_request(send("text/plain"))
        .await
        .assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_patch_names_fields_that_cannot_be_changed_and_every_invalid_value(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login(BE).await;
    let id = id_of(&open_case(&app, &token, &case_body("Hassan", None)).await);
    let path = format!("/v1/cases/{id}");
    let response =
        patch(&app, &token, &path, "\"1\"", &json!({"status": "approved", "reference": "x"})).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields: Vec<_> = response.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(fields, [json!("reference"), json!("status")]);
    let response = patch(
        &app,
        &token,
        &path,
        "\"1\"",
        &json!({"destination_country": "XX", "requested_assistance": [{"component": "startup_cash", "amount_rappen": -5}], "programme": null}),
    )
    .await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields: Vec<_> = response.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(
        fields,
        [
            json!("programme"),
            json!("destination_country"),
            json!("requested_assistance[0].amount_rappen")
        ]
    );
    let wrong_type =
        patch(&app, &token, &path, "\"1\"", &json!({"medical": {"fit_to_travel": "yes"}})).await;
    wrong_type.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        wrong_type.body["errors"][0]["field"], "medical.fit_to_travel",
        "{}",
        wrong_type.text
    );
    let read = app.get(&path, Some(&token)).await;
    assert_eq!(read.body["version"], 1, "nothing was written");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_change_needs_if_match_and_an_old_version_is_refused(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login(BE).await;
    let id = id_of(&open_case(&app, &token, &case_body("Hassan", None)).await);
    let path = format!("/v1/cases/{id}");
    let body = json!({"destination_country": "GE"});
    app.send(Method::PATCH, &path, Some(&token), Some(&body), &[])
        .await
        .assert_problem(StatusCode::PRECONDITION_REQUIRED, "precondition_required");
    assert_eq!(patch(&app, &token, &path, "\"1\"", &body).await.status, StatusCode::OK);
    patch(&app, &token, &path, "\"1\"", &json!({"destination_country": "NG"}))
        .await
        .assert_problem(StatusCode::PRECONDITION_FAILED, "stale_version");
    let person = json!({"relationship": "spouse", "surname": "Hassan", "given_names": "Mona",
        "date_of_birth": "1990-01-01", "sex": "female", "nationality": "IQ"});
    app.send(Method::POST, &format!("{path}/persons"), Some(&token), Some(&person), &[])
        .await
        .assert_problem(StatusCode::PRECONDITION_REQUIRED, "precondition_required");
    app.send(
        Method::POST,
        &format!("{path}/persons"),
        Some(&token),
        Some(&person),
        &[("if-match", "\"1\"")],
    )
    .await
    .assert_problem(StatusCode::PRECONDITION_FAILED, "stale_version");
    assert_eq!(app.get(&path, Some(&token)).await.body["destination_country"], "GE");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn of_ten_concurrent_changes_with_one_version_exactly_one_succeeds(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login(BE).await;
    let id = id_of(&open_case(&app, &token, &case_body("Hassan", None)).await);
    // None of them the case's current destination (IQ): a patch that changes nothing
    // does not take the version.
    let countries = ["GE", "NG", "LK", "TR", "DZ", "UA", "XK", "AF", "TN", "MA"];
    let requests = countries.map(|country| {
        let request = Request::builder()
            .method(Method::PATCH)
            .uri(format!("/v1/cases/{id}"))
            .header("authorization", format!("Bearer {token}"))
            .header("if-match", "\"1\"")
            .header("content-type", "application/json")
            .body(Body::from(json!({"destination_country": country}).to_string()))
            .expect("request");
        let router = app.router.clone();
        tokio::spawn(async move {
            use tower::ServiceExt;
            router.oneshot(request).await.expect("response").status()
        })
    });
    let mut statuses = Vec::new();
    for handle in requests {
        statuses.push(handle.await.expect("task"));
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::PRECONDITION_FAILED),
        "{statuses:?}"
    );
    let read = app.get(&format!("/v1/cases/{id}"), Some(&token)).await;
    assert_eq!(read.body["version"], 2);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn references_count_per_canton_and_year_without_gaps_under_concurrent_creation(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let be = app.login(BE).await;
    let zh = app.login(ZH).await;
    let handles: Vec<_> = (0..10)
        .map(|i| {
            let request = Request::builder()
                .method(Method::POST)
                .uri("/v1/cases")
                .header("authorization", format!("Bearer {be}"))
                .header("content-type", "application/json")
                .body(Body::from(case_body(&format!("Family{i}"), None).to_string()))
                .expect("request");
            let router = app.router.clone();
            tokio::spawn(async move {
                use tower::ServiceExt;
                let response = router.oneshot(request).await.expect("response");
                assert_eq!(response.status(), StatusCode::CREATED);
                let bytes = http_body_util::BodyExt::collect(response.into_body())
                    .await
                    .expect("body")
                    .to_bytes();
                serde_json::from_slice::<Value>(&bytes).expect("json")["reference"]
                    .as_str()
                    .expect("reference")
                    .to_owned()
            })
        })
        .collect();
    let mut references = HashSet::new();
    for handle in handles {
        references.insert(handle.await.expect("task"));
    }
    let year = chrono::Utc::now().format("%Y").to_string();
    let expected: HashSet<String> = (1..=10).map(|n| format!("BE-{year}-{n:05}")).collect();
    assert_eq!(references, expected);
    let zurich = open_case(&app, &zh, &case_body("Meier", None)).await;
    assert_eq!(zurich["reference"], format!("ZH-{year}-00001"));
    assert_eq!(zurich["canton"], "ZH");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_zurich_counsellor_never_reaches_a_bernese_case(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let be = app.login(BE).await;
    let zh = app.login(ZH).await;
    let case = open_case(&app, &be, &case_body("Hassan", Some("12345678"))).await;
    let id = id_of(&case);
    let path = format!("/v1/cases/{id}");
    app.get(&path, Some(&zh)).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
    patch(&app, &zh, &path, "\"1\"", &json!({"destination_country": "GE"}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    app.get(&format!("{path}/notes"), Some(&zh))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    app.post(
        &format!("{path}/notes"),
        Some(&zh),
        &json!({"body": "hello", "visibility": "shared"}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let person_id = case["persons"][1]["id"].as_str().expect("person");
    app.send(
        Method::DELETE,
        &format!("{path}/persons/{person_id}"),
        Some(&zh),
        None,
        &[("if-match", "\"1\"")],
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    // An unknown id answers the same.
    let unknown = app.get(&format!("/v1/cases/{}", uuid::Uuid::now_v7()), Some(&zh)).await;
    unknown.assert_problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(unknown.body["detail"], app.get(&path, Some(&zh)).await.body["detail"]);
    let reference = case["reference"].as_str().expect("reference");
    for query in ["", "?q=Hassan", &format!("?q={reference}"), "?q=12345678", "?canton=BE"] {
        let list = app.get(&format!("/v1/cases{query}"), Some(&zh)).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text);
        assert_eq!(list.body["items"], json!([]), "{query}");
    }
    // Every refused attempt is in the access log with the case it aimed at.
    let denied: Vec<(String, Option<uuid::Uuid>)> = sqlx::query_as(
        "select action, resource_id from audit_events where outcome = 'denied' order by occurred_at, id",
    )
    .fetch_all(&pool)
    .await
    .expect("events");
    let case_id: uuid::Uuid = id.parse().expect("uuid");
    let actions: Vec<&str> =
        denied.iter().filter(|d| d.1 == Some(case_id)).map(|d| d.0.as_str()).collect();
    assert_eq!(
        actions,
        [
            "case.read",
            "case.update",
            "case.notes_read",
            "case.note_add",
            "case.person_delete",
            "case.read"
        ]
    );
    assert_eq!(app.get(&path, Some(&be)).await.body["version"], 1, "nothing changed");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn sem_swissrepat_iom_and_missions_get_404_for_a_draft(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let be = app.login(BE).await;
    let id = id_of(&open_case(&app, &be, &case_body("Hassan", Some("12345678"))).await);
    for email in [
        "sem@demo.test",
        "swissrepat@demo.test",
        "iom@demo.test",
        "mission.iq@demo.test",
        "auditor@demo.test",
        "admin@demo.test",
    ] {
        let token = app.login(email).await;
        app.get(&format!("/v1/cases/{id}"), Some(&token))
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
        let list = app.get("/v1/cases?q=Hassan", Some(&token)).await;
        assert_eq!(list.body["items"], json!([]), "{email}");
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn each_role_receives_only_its_parts_of_a_case(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let be = app.login(BE).await;
    let mut body = case_body("Hassan", Some("12345678"));
    body["eligibility"] = json!({"criminal_offences": false});
    let id = id_of(&open_case(&app, &be, &body).await);
    let path = format!("/v1/cases/{id}");

    set_status(&pool, &id, "submitted", None).await;
    let sem = app.get(&path, Some(&app.login("sem@demo.test").await)).await;
    assert_eq!(sem.status, StatusCode::OK, "{}", sem.text);
    assert_eq!(sem.body["persons"][0]["zemis_number"], "12345678");
    assert_eq!(sem.body["medical"]["summary"], "Diabetes type 1");
    assert_eq!(sem.body["eligibility"]["criminal_offences"], false);

    set_status(&pool, &id, "approved", None).await;
    let repat = app.get(&path, Some(&app.login("swissrepat@demo.test").await)).await;
    assert_eq!(repat.status, StatusCode::OK, "{}", repat.text);
    let person = repat.body["persons"][0].as_object().expect("person");
    for hidden in ["zemis_number", "n_number", "residence_status", "entry_date"] {
        assert!(!person.contains_key(hidden), "{hidden}: {}", repat.text);
    }
    assert_eq!(repat.body["medical"], json!({"fit_to_travel": true, "escort": "none"}));
    for hidden in ["eligibility", "voluntariness_declaration", "vulnerabilities"] {
        assert!(repat.body.get(hidden).is_none(), "{hidden}: {}", repat.text);
    }
    assert!(repat.body.get("requested_assistance").is_some());

    let mission = app.login("mission.iq@demo.test").await;
    app.get(&path, Some(&mission)).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
    set_status(&pool, &id, "reintegration", Some("IOM Iraq")).await;
    let seen = app.get(&path, Some(&mission)).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text);
    assert_eq!(seen.body["persons"][0]["surname"], "Hassan");
    let text = seen.text.clone();
    for hidden in [
        "zemis_number",
        "n_number",
        "residence_status",
        "entry_date",
        "eligibility",
        "medical",
        "Diabetes",
        "12345678",
        "N 123 456",
        "vulnerabilities",
        "requested_assistance",
    ] {
        assert!(!text.contains(hidden), "{hidden}: {text}");
    }
    // Nor can a mission probe ZEMIS or N numbers through the search.
    for q in ["12345678", "N%20123%20456", "Hassan"] {
        let list = app.get(&format!("/v1/cases?q={q}"), Some(&mission)).await;
        let expected = usize::from(q == "Hassan");
        assert_eq!(list.body["items"].as_array().expect("items").len(), expected, "{q}");
    }
    let sem_search = app.get("/v1/cases?q=12345678", Some(&app.login("sem@demo.test").await)).await;
    assert_eq!(sem_search.body["items"][0]["id"], json!(id));
    // Another mission sees nothing.
    sqlx::query("update cases set reintegration_mission_id = (select id from institutions where name = 'IOM Georgia')")
        .execute(&pool)
        .await
        .expect("reassign");
    app.get(&path, Some(&mission)).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn only_the_counselling_service_changes_a_case_and_only_while_editable(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let be = app.login(BE).await;
    let id = id_of(&open_case(&app, &be, &case_body("Hassan", None)).await);
    let path = format!("/v1/cases/{id}");
    set_status(&pool, &id, "submitted", None).await;
    patch(&app, &be, &path, "\"1\"", &json!({"destination_country": "GE"}))
        .await
        .assert_problem(StatusCode::CONFLICT, "case_not_editable");
    let sem = app.login("sem@demo.test").await;
    patch(&app, &sem, &path, "\"1\"", &json!({"destination_country": "GE"}))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    sqlx::query("update cases set status = 'info_requested' where id = $1::uuid")
        .bind(&id)
        .execute(&pool)
        .await
        .expect("status");
    assert_eq!(
        patch(&app, &be, &path, "\"1\"", &json!({"destination_country": "GE"})).await.status,
        StatusCode::OK
    );
    app.post("/v1/cases", Some(&sem), &case_body("Hassan", None))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_repeated_creation_with_its_idempotency_key_opens_one_case(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let token = app.login(BE).await;
    let body = case_body("Hassan", Some("12345678"));
    let send = |body: Value, key: &'static str| {
        let token = token.clone();
        let app = &app;
        async move {
            app.send(
                Method::POST,
                "/v1/cases",
                Some(&token),
                Some(&body),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let first = send(body.clone(), "key-1").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    // The same body with its keys in another order is the same request.
    let reordered: Value = serde_json::from_str(&{
        let mut fields: Vec<(String, Value)> =
            body.as_object().expect("object").clone().into_iter().collect();
        fields.reverse();
        let inner: Vec<String> =
            fields.iter().map(|(k, v)| format!("{}:{}", json!(k), v)).collect();
        format!("{{{}}}", inner.join(","))
    })
    .expect("json");
    let again = send(reordered, "key-1").await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(count(&pool, "cases").await, 1);
    let mut other = body.clone();
    other["destination_country"] = json!("GE");
    send(other, "key-1")
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    assert_eq!(count(&pool, "cases").await, 1);
    // Another key is another request (here refused as a duplicate of the open case).
    send(body.clone(), "key-2").await.assert_problem(StatusCode::CONFLICT, "duplicate_case");
    // After 24 hours the key may be used again.
    sqlx::query("update idempotency_keys set created_at = now() - interval '25 hours'")
        .execute(&pool)
        .await
        .expect("age");
    let mut fresh = case_body("Meier", None);
    fresh["destination_country"] = json!("NG");
    assert_eq!(send(fresh, "key-1").await.status, StatusCode::CREATED);
    assert_eq!(count(&pool, "cases").await, 2);
    app.send(Method::POST, "/v1/cases", Some(&token), Some(&body), &[("idempotency-key", "")])
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn every_validation_rule_answers_422_naming_the_field_and_stores_nothing(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let token = app.login(BE).await;
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Days::new(1)).to_string();
    let child = json!({"relationship": "child", "surname": "Hassan", "given_names": "Lina",
        "date_of_birth": "2015-06-01", "sex": "female", "nationality": "IQ"});
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "zemis",
            json!({"persons": [{"zemis_number": "1234567"}]}),
            "persons[0].zemis_number",
            "invalid_format",
        ),
        (
            "n number",
            json!({"persons": [{"n_number": "N 12 34"}]}),
            "persons[0].n_number",
            "invalid_format",
        ),
        (
            "nationality",
            json!({"persons": [{"nationality": "XX"}]}),
            "persons[0].nationality",
            "unknown_country",
        ),
        (
            "destination",
            json!({"destination_country": "ZZ"}),
            "destination_country",
            "unknown_country",
        ),
        (
            "birth",
            json!({"persons": [{"date_of_birth": tomorrow}]}),
            "persons[0].date_of_birth",
            "in_future",
        ),
        (
            "entry",
            json!({"persons": [{"entry_date": "1980-01-01"}]}),
            "persons[0].entry_date",
            "before_birth",
        ),
        (
            "date format",
            json!({"persons": [{"date_of_birth": "12.04.1988"}]}),
            "persons[0].date_of_birth",
            "invalid_date",
        ),
        (
            "departure",
            json!({"planned_departure_date": yesterday}),
            "planned_departure_date",
            "in_past",
        ),
        (
            "no principal",
            json!({"persons": [{"relationship": "spouse"}]}),
            "persons",
            "principal_required",
        ),
        (
            "two principals",
            json!({"persons": [{}, {"relationship": "principal"}]}),
            "persons[1].relationship",
            "duplicate_principal",
        ),
        (
            "relationship",
            json!({"persons": [{"relationship": "cousin"}]}),
            "persons[0].relationship",
            "unknown_value",
        ),
        ("sex", json!({"persons": [{"sex": "m"}]}), "persons[0].sex", "unknown_value"),
        (
            "residence",
            json!({"persons": [{"residence_status": "B"}]}),
            "persons[0].residence_status",
            "unknown_value",
        ),
        ("programme", json!({"programme": "private"}), "programme", "unknown_value"),
        (
            "vulnerability",
            json!({"vulnerabilities": ["poor"]}),
            "vulnerabilities[0]",
            "unknown_value",
        ),
        ("escort", json!({"medical": {"escort": "nurse"}}), "medical.escort", "unknown_value"),
        (
            "surname",
            json!({"persons": [{"surname": "x".repeat(101)}]}),
            "persons[0].surname",
            "too_long",
        ),
        (
            "blank",
            json!({"persons": [{"given_names": "  "}]}),
            "persons[0].given_names",
            "required",
        ),
        (
            "summary",
            json!({"medical": {"summary": "x".repeat(4001)}}),
            "medical.summary",
            "too_long",
        ),
        (
            "amount",
            json!({"requested_assistance": [{"component": "startup_cash", "amount_rappen": -1}]}),
            "requested_assistance[0].amount_rappen",
            "negative",
        ),
        (
            "component",
            json!({"requested_assistance": [{"component": "bonus", "amount_rappen": 1}]}),
            "requested_assistance[0].component",
            "unknown_value",
        ),
        (
            "signed",
            json!({"voluntariness_declaration": {"signed_on": tomorrow}}),
            "voluntariness_declaration.signed_on",
            "in_future",
        ),
        (
            "too many",
            json!({"persons": std::iter::once(principal("Hassan", None)).chain(std::iter::repeat_n(child.clone(), 20)).collect::<Vec<_>>()}),
            "persons",
            "too_many",
        ),
        ("canton from body", json!({"canton": "ZH"}), "canton", "unknown_field"),
        (
            "wrong type",
            json!({"persons": [{"travelling": "yes"}]}),
            "persons[0].travelling",
            "invalid_type",
        ),
    ];
    for (name, change, field, code) in cases {
        let mut body = case_body("Hassan", Some("12345678"));
        merge(&mut body, &change);
        let response = app.post("/v1/cases", Some(&token), &body).await;
        response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let errors = response.body["errors"].as_array().expect("errors");
        assert!(
            errors.iter().any(|e| e["field"] == field && e["code"] == code),
            "{name}: expected {field} {code}, got {}",
            response.text
        );
    }
    // Several problems are reported together.
    let mut body = case_body("Hassan", Some("1"));
    body["destination_country"] = json!("ZZ");
    body["persons"][1]["sex"] = json!("x");
    let response = app.post("/v1/cases", Some(&token), &body).await;
    assert_eq!(response.body["errors"].as_array().expect("errors").len(), 3, "{}", response.text);
    for table in [
        "cases",
        "case_persons",
        "case_medical",
        "case_eligibility",
        "case_requested_assistance",
        "case_reference_counters",
    ] {
        assert_eq!(count(&pool, table).await, 0, "{table}");
    }
    assert_eq!(count(&pool, "audit_events where action = 'case.create'").await, 0);
}

/// Merges `change` into `body`; arrays of objects merge element by element.
fn merge(body: &mut Value, change: &Value) {
    match (body, change) {
        (Value::Object(target), Value::Object(source)) => {
            for (key, value) in source {
                merge(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (Value::Array(target), Value::Array(source))
            if source.iter().all(Value::is_object) && source.len() <= target.len() =>
        {
            for (t, s) in target.iter_mut().zip(source) {
                merge(t, s);
            }
        }
        (target, source) => *target = source.clone(),
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_search_ignores_case_and_accents_and_finds_references_aliases_and_numbers(
    pool: PgPool,
) {
    let app = TestApp::new(pool).await;
    let token = app.login(BE).await;
    let mut body = case_body("Müller", Some("87654321"));
    body["persons"][0]["aliases"] = json!(["Abu Sami"]);
    body["persons"][0]["n_number"] = json!("N654321");
    let muller = open_case(&app, &token, &body).await;
    let other = open_case(&app, &token, &case_body("Hassan", None)).await;
    let find = |q: &str| {
        let app = &app;
        let token = token.clone();
        let q = q.to_owned();
        async move {
            let list = app.get(&format!("/v1/cases?q={q}"), Some(&token)).await;
            assert_eq!(list.status, StatusCode::OK, "{}", list.text);
            list.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["id"].clone())
                .collect::<Vec<_>>()
        }
    };
    for q in [
        "muller",
        "MULLER",
        "M%C3%BCller",
        "mül",
        "abu%20sami",
        "sami",
        "muller%20karim",
        "87654321",
        "N%20654%20321",
        "n654321",
    ] {
        assert_eq!(find(q).await, [muller["id"].clone()], "{q}");
    }
    let reference = other["reference"].as_str().expect("reference");
    assert_eq!(find(reference).await, [other["id"].clone()]);
    assert_eq!(find(&reference.to_lowercase()).await, [other["id"].clone()]);
    assert!(find("mueller").await.is_empty());
    assert!(find("%25").await.is_empty(), "a % is a character, not a wildcard");
    assert_eq!(find("karim").await.len(), 2);
    // Words match from their beginning (decision 0009): a word's middle finds nothing; one
    // or two letters find every word they begin.
    assert!(find("uller").await.is_empty(), "the middle of a word");
    assert!(find("654321").await.is_empty(), "the middle of an N number");
    assert_eq!(find("mu").await, [muller["id"].clone()]);
    assert_eq!(find("ab%20s").await, [muller["id"].clone()]);
    assert_eq!(find("karim&sort=created_at").await.len(), 2);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_search_pages_through_every_match_newest_change_first(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login(BE).await;
    let mut ids = Vec::new();
    for i in 0..23 {
        let case = open_case(&app, &token, &case_body(&format!("Zqwalk{i}"), None)).await;
        ids.push(case["id"].as_str().expect("id").to_owned());
    }
    open_case(&app, &token, &case_body("Zqlich", None)).await;
    // A change moves a case to the front of the order of last change.
    let first = &ids[0];
    let etag = app.get(&format!("/v1/cases/{first}"), Some(&token)).await;
    let etag = etag.headers["etag"].to_str().expect("etag").to_owned();
    let patched = app
        .send(
            Method::PATCH,
            &format!("/v1/cases/{first}"),
            Some(&token),
            Some(&json!({"destination_country": "TR"})),
            &[("if-match", etag.as_str())],
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    for (q, sort) in [("zqwal", "updated_at"), ("zq", "updated_at"), ("zqwal", "created_at")] {
        let mut found: Vec<String> = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = app
                .get(&format!("/v1/cases?q={q}&sort={sort}&limit=10{cursor}"), Some(&token))
                .await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text);
            found.extend(
                page.body["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .map(|i| i["id"].as_str().expect("id").to_owned()),
            );
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => break,
            }
        }
        let expected_len = if q == "zq" { 24 } else { 23 };
        assert_eq!(found.len(), expected_len, "{q} by {sort}: every match once");
        let unique: std::collections::HashSet<&String> = found.iter().collect();
        assert_eq!(unique.len(), found.len(), "{q} by {sort}: no match twice");
        if sort == "updated_at" {
            assert_eq!(&found[0], first, "{q}: the case changed last comes first");
        } else {
            assert_eq!(found.last(), Some(first), "{q}: the case opened first comes last");
        }
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_second_open_case_for_a_zemis_number_is_refused_naming_it_only_to_those_who_see_it(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    let be = app.login(BE).await;
    let zh = app.login(ZH).await;
    let first = open_case(&app, &be, &case_body("Hassan", Some("12345678"))).await;
    let reference = first["reference"].as_str().expect("reference");
    let mut again = case_body("Hassan", None);
    again["persons"][1]["zemis_number"] = json!("12345678");
    let own = app.post("/v1/cases", Some(&be), &again).await;
    own.assert_problem(StatusCode::CONFLICT, "duplicate_case");
    assert!(
        own.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains(reference) && d.contains("persons[1].zemis_number")),
        "{}",
        own.text
    );
    let foreign = app.post("/v1/cases", Some(&zh), &case_body("Hassan", Some("12345678"))).await;
    foreign.assert_problem(StatusCode::CONFLICT, "duplicate_case");
    assert!(!foreign.text.contains(reference) && !foreign.text.contains("BE-"), "{}", foreign.text);
    assert_eq!(count(&pool, "cases").await, 1);
    // Adding the number to another household is refused the same way.
    let second = open_case(&app, &zh, &case_body("Meier", None)).await;
    let person = json!({"relationship": "spouse", "surname": "Meier", "given_names": "Eva",
        "date_of_birth": "1990-01-01", "sex": "female", "nationality": "IQ", "zemis_number": "12345678"});
    let added = app
        .send(
            Method::POST,
            &format!("/v1/cases/{}/persons", id_of(&second)),
            Some(&zh),
            Some(&person),
            &[("if-match", "\"1\"")],
        )
        .await;
    added.assert_problem(StatusCode::CONFLICT, "duplicate_case");
    assert!(!added.text.contains(reference), "{}", added.text);
    // Once the first case is closed, the person may apply again.
    set_status(&pool, &id_of(&first), "withdrawn", None).await;
    assert_eq!(
        app.post("/v1/cases", Some(&zh), &case_body("Hassan", Some("12345678"))).await.status,
        StatusCode::CREATED
    );
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn cursor_pages_never_repeat_or_skip_a_case(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let token = app.login(BE).await;
    let mut all = HashSet::new();
    for i in 0..25 {
        all.insert(
            open_case(&app, &token, &case_body(&format!("Family{i}"), None)).await["id"].clone(),
        );
    }
    // Equal timestamps are ordered by id.
    sqlx::query(
        "update cases set updated_at = '2026-01-01T00:00:00Z' where reference like '%0000_'",
    )
    .execute(&pool)
    .await
    .expect("ties");
    for sort in ["updated_at", "created_at"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/cases?limit=7&sort={sort}&cursor={c}"),
                None => format!("/v1/cases?limit=7&sort={sort}"),
            };
            let page = app.get(&path, Some(&token)).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text);
            let items = page.body["items"].as_array().expect("items");
            assert!(items.len() <= 7);
            let stamps: Vec<chrono::DateTime<chrono::Utc>> = items
                .iter()
                .map(|i| i[sort].as_str().expect("time").parse().expect("time"))
                .collect();
            assert!(stamps.windows(2).all(|w| w[0] >= w[1]), "{stamps:?}");
            seen.extend(items.iter().map(|i| i["id"].clone()));
            pages += 1;
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(pages, 4, "{sort}");
        assert_eq!(seen.len(), 25, "{sort}: no case twice");
        assert_eq!(seen.into_iter().collect::<HashSet<_>>(), all, "{sort}: none skipped");
    }
    for bad in ["limit=201", "limit=0", "cursor=nope", "sort=reference"] {
        app.get(&format!("/v1/cases?{bad}"), Some(&token))
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    let first = app.get("/v1/cases?limit=7", Some(&token)).await;
    let cursor = first.body["next_cursor"].as_str().expect("cursor");
    app.get(&format!("/v1/cases?sort=created_at&cursor={cursor}"), Some(&token))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // One access-log event per page, naming every case returned.
    let lists = events(&pool, "case.list").await;
    assert_eq!(lists[0].2.len(), 7);
    assert_eq!(lists.iter().take(4).map(|e| e.2.len()).sum::<usize>(), 25);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_list_filters_by_status_programme_destination_counsellor_and_time(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let token = app.login(BE).await;
    let a = id_of(&open_case(&app, &token, &case_body("Alpha", None)).await);
    let mut body = case_body("Beta", None);
    body["programme"] = json!("status_s");
    body["destination_country"] = json!("UA");
    let b = id_of(&open_case(&app, &token, &body).await);
    let c = id_of(&open_case(&app, &token, &case_body("Gamma", None)).await);
    sqlx::query("update cases set status = 'withdrawn', created_at = '2025-01-01T00:00:00Z' where id = $1::uuid").bind(&c).execute(&pool).await.expect("status");
    let ids = |list: &TestResponse| {
        let mut ids: Vec<String> = list.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["id"].as_str().expect("id").to_owned())
            .collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<&String>| {
        v.sort();
        v.into_iter().cloned().collect::<Vec<_>>()
    };
    let me = app.get("/v1/me", Some(&token)).await.body;
    let service = me["institution"]["id"].as_str().expect("service");
    let counsellor = me["id"].as_str().expect("id");
    let queries = [
        ("status=counselling", sorted(vec![&a, &b])),
        ("status=withdrawn,approved", vec![c.clone()]),
        ("status=withdrawn&status=counselling", sorted(vec![&a, &b, &c])),
        ("programme=status_s", vec![b.clone()]),
        ("destination_country=UA", vec![b.clone()]),
        ("canton=BE", sorted(vec![&a, &b, &c])),
        ("canton=ZH", vec![]),
        (&format!("counselling_service_id={service}"), sorted(vec![&a, &b, &c])),
        (&format!("counsellor_id={counsellor}"), sorted(vec![&a, &b, &c])),
        ("created_to=2026-01-01", vec![c.clone()]),
        ("created_from=2026-01-01", sorted(vec![&a, &b])),
        ("updated_from=2999-01-01T00:00:00Z", vec![]),
    ];
    for (query, expected) in queries {
        let list = app.get(&format!("/v1/cases?{query}"), Some(&token)).await;
        assert_eq!(list.status, StatusCode::OK, "{query}: {}", list.text);
        assert_eq!(ids(&list), expected, "{query}");
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_household_changes_person_by_person(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let token = app.login(BE).await;
    let case = open_case(&app, &token, &case_body("Hassan", Some("12345678"))).await;
    let id = id_of(&case);
    let path = format!("/v1/cases/{id}/persons");
    let spouse = json!({"relationship": "spouse", "surname": "Hassan", "given_names": "Mona",
        "date_of_birth": "1990-01-01", "sex": "female", "nationality": "IQ", "zemis_number": "11112222"});
    let added =
        app.send(Method::POST, &path, Some(&token), Some(&spouse), &[("if-match", "\"1\"")]).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    assert_eq!(added.header("etag"), Some("\"2\""));
    let persons = added.body["persons"].as_array().expect("persons");
    assert_eq!(persons.len(), 3);
    let spouse_id = persons[2]["id"].as_str().expect("id");
    assert_eq!(added.header("location"), Some(format!("{path}/{spouse_id}").as_str()));

    let renamed = patch(
        &app,
        &token,
        &format!("{path}/{spouse_id}"),
        "\"2\"",
        &json!({"given_names": "Mouna", "aliases": ["Mona"], "zemis_number": null}),
    )
    .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    assert_eq!(renamed.body["persons"][2]["given_names"], "Mouna");
    assert_eq!(renamed.body["persons"][2]["zemis_number"], Value::Null);
    assert_eq!(renamed.body["version"], 3);
    let list = app.get("/v1/cases?q=mouna", Some(&token)).await;
    assert_eq!(list.body["items"][0]["id"], json!(id), "the search follows the change");
    let updated = events(&pool, "case.person_update").await;
    assert_eq!(updated[0].3["fields"], json!(["given_names", "aliases", "zemis_number"]));

    let principal_id = case["persons"][0]["id"].as_str().expect("id");
    let second = patch(
        &app,
        &token,
        &format!("{path}/{spouse_id}"),
        "\"3\"",
        &json!({"relationship": "principal"}),
    )
    .await;
    second.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(second.body["errors"][0]["code"], "duplicate_principal");
    let demoted = patch(
        &app,
        &token,
        &format!("{path}/{principal_id}"),
        "\"3\"",
        &json!({"relationship": "spouse"}),
    )
    .await;
    assert_eq!(demoted.body["errors"][0]["code"], "principal_fixed", "{}", demoted.text);
    let bad = patch(
        &app,
        &token,
        &format!("{path}/{spouse_id}"),
        "\"3\"",
        &json!({"date_of_birth": "2999-01-01", "id": "x"}),
    )
    .await;
    assert_eq!(bad.body["errors"][0]["field"], "id", "{}", bad.text);
    let bad = patch(
        &app,
        &token,
        &format!("{path}/{spouse_id}"),
        "\"3\"",
        &json!({"date_of_birth": "2999-01-01"}),
    )
    .await;
    assert_eq!(bad.body["errors"][0]["field"], "date_of_birth", "{}", bad.text);
    let duplicate = app.send(Method::POST, &path, Some(&token), Some(&json!({"relationship": "other", "surname": "X", "given_names": "Y",
        "date_of_birth": "1990-01-01", "sex": "male", "nationality": "IQ", "zemis_number": "12345678"})), &[("if-match", "\"3\"")]).await;
    assert_eq!(duplicate.body["errors"][0]["field"], "zemis_number", "{}", duplicate.text);
    assert_eq!(duplicate.body["errors"][0]["code"], "duplicate");

    app.send(
        Method::DELETE,
        &format!("{path}/{principal_id}"),
        Some(&token),
        None,
        &[("if-match", "\"3\"")],
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "principal_required");
    let deleted = app
        .send(
            Method::DELETE,
            &format!("{path}/{spouse_id}"),
            Some(&token),
            None,
            &[("if-match", "\"3\"")],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(deleted.header("etag"), Some("\"4\""));
    app.send(
        Method::DELETE,
        &format!("{path}/{spouse_id}"),
        Some(&token),
        None,
        &[("if-match", "\"4\"")],
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(count(&pool, "case_persons").await, 2);

    // A household has at most 20 persons.
    sqlx::query(
        "insert into case_persons (id, case_id, position, relationship, surname, given_names, date_of_birth, sex, nationality) \
         select gen_random_uuid(), $1::uuid, 100 + n, 'child', 'Hassan', 'Kid', '2010-01-01', 'male', 'IQ' from generate_series(1, 18) n",
    )
    .bind(&id)
    .execute(&pool)
    .await
    .expect("persons");
    let full =
        app.send(Method::POST, &path, Some(&token), Some(&spouse), &[("if-match", "\"4\"")]).await;
    full.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(full.body["errors"][0]["code"], "too_many");
    let actions: Vec<String> = sqlx::query_scalar("select action from audit_events where action like 'case.person%' and outcome = 'allowed' order by occurred_at, id")
        .fetch_all(&pool)
        .await
        .expect("events");
    assert_eq!(actions, ["case.person_add", "case.person_update", "case.person_delete"]);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn notes_are_appended_and_shown_by_their_visibility(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let be = app.login(BE).await;
    let id = id_of(&open_case(&app, &be, &case_body("Hassan", None)).await);
    let path = format!("/v1/cases/{id}/notes");
    let internal =
        app.post(&path, Some(&be), &json!({"body": "Prefers a female interpreter"})).await;
    assert_eq!(internal.status, StatusCode::CREATED, "{}", internal.text);
    assert_eq!(internal.body["visibility"], "institution");
    assert_eq!(internal.body["author_name"], "Anna Berger");
    assert_eq!(internal.body["institution_name"], "Rückkehrberatung Kanton Bern");
    let shared = app
        .post(&path, Some(&be), &json!({"body": "Passport copy on file", "visibility": "shared"}))
        .await;
    assert_eq!(shared.status, StatusCode::CREATED, "{}", shared.text);
    app.post(&path, Some(&be), &json!({"body": "", "visibility": "public"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    set_status(&pool, &id, "submitted", None).await;
    let sem = app.login("sem@demo.test").await;
    let sem_note = app
        .post(&path, Some(&sem), &json!({"body": "Checked with ZEMIS", "visibility": "shared"}))
        .await;
    assert_eq!(sem_note.status, StatusCode::CREATED, "{}", sem_note.text);
    app.post(&path, Some(&sem), &json!({"body": "SEM internal"})).await;
    let bodies = |list: &TestResponse| {
        list.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|n| n["body"].as_str().expect("body").to_owned())
            .collect::<Vec<_>>()
    };
    let seen_by_sem = app.get(&path, Some(&sem)).await;
    assert_eq!(
        bodies(&seen_by_sem),
        ["Passport copy on file", "Checked with ZEMIS", "SEM internal"]
    );
    let seen_by_be = app.get(&path, Some(&be)).await;
    assert_eq!(
        bodies(&seen_by_be),
        ["Prefers a female interpreter", "Passport copy on file", "Checked with ZEMIS"]
    );
    assert_eq!(events(&pool, "case.notes_read").await.len(), 2);
    assert_eq!(events(&pool, "case.note_add").await.len(), 4);
    let changed = sqlx::query("update case_notes set body = 'rewritten'").execute(&pool).await;
    assert!(changed.is_err(), "notes are never changed");
    let deleted = sqlx::query("delete from case_notes").execute(&pool).await;
    assert!(deleted.is_err(), "notes are never deleted");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn case_endpoints_need_a_signed_in_caller(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.get("/v1/cases", None).await.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    app.post("/v1/cases", None, &case_body("Hassan", None))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    app.get(&format!("/v1/cases/{}", uuid::Uuid::now_v7()), None)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_federal_asylum_centre_numbers_its_cases_by_federal_region(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    sqlx::query(
        "insert into users (id, institution_id, email, display_name, role, password_hash) \
         select gen_random_uuid(), i.id, 'counsellor.baz@demo.test', 'Nina Frei', 'counsellor', u.password_hash \
         from institutions i, users u \
         where i.name = 'IOM Rückkehrberatung BAZ Region Zürich' and u.email = $1",
    )
    .bind(BE)
    .execute(&pool)
    .await
    .expect("user");
    let token = app.login("counsellor.baz@demo.test").await;
    let mut body = case_body("Hassan", None);
    body["programme"] = json!("federal_centre");
    let case = open_case(&app, &token, &body).await;
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(case["reference"], format!("FZH-{year}-00001"));
    assert_eq!(case["canton"], Value::Null);
    assert_eq!(case["federal_region"], "Zürich");
    // Its cases stay with it: the Bernese counsellor does not see them.
    let be = app.login(BE).await;
    app.get(&format!("/v1/cases/{}", id_of(&case)), Some(&be))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
}
