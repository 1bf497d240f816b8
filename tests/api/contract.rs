//! What the API tells a client that got something wrong: the field and what to send, the
//! header and its form, the limit, the media types it answers; and what it tells an
//! operator: HELP on every metric.

use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use retour_api::problems::ProblemCode;

use crate::support::TestApp;
use crate::support::{BE, case_body, open_case};

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_body_of_the_wrong_shape_is_answered_with_the_field_and_what_to_send(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login(BE).await;
    let mut body = case_body("Hassan", None);
    body["persons"][0]["date_of_birth"] = json!(19880412);
    let wrong_type = app.post("/v1/cases", Some(&token), &body).await;
    wrong_type.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let error = &wrong_type.body["errors"][0];
    assert_eq!(error["field"], "persons[0].date_of_birth");
    assert_eq!(error["code"], "invalid_type");
    let message = error["message"].as_str().expect("message");
    assert!(message.starts_with("persons[0].date_of_birth must be"), "{message}");
    assert!(!message.contains("line") && !message.contains("i64"), "{message}");

    let mut body = case_body("Hassan", None);
    body["persons"][0]["canton"] = json!("BE");
    let unknown = app.post("/v1/cases", Some(&token), &body).await;
    assert_eq!(unknown.body["errors"][0]["field"], "persons[0].canton");
    assert_eq!(unknown.body["errors"][0]["code"], "unknown_field");

    let mut body = case_body("Hassan", None);
    body.as_object_mut().expect("object").remove("programme");
    let missing = app.post("/v1/cases", Some(&token), &body).await;
    assert_eq!(missing.body["errors"][0]["field"], "programme");
    assert_eq!(missing.body["errors"][0]["code"], "required");
    assert_eq!(missing.body["errors"][0]["message"], "programme is required");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_unquoted_if_match_is_named_as_malformed_not_as_stale(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login(BE).await;
    let case = open_case(&app, &token, &case_body("Hassan", None)).await;
    let path = format!("/v1/cases/{}", case["id"].as_str().expect("id"));
    let body = json!({ "destination_country": "SY" });
    let bare =
        app.send(Method::PATCH, &path, Some(&token), Some(&body), &[("if-match", "1")]).await;
    bare.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(bare.body["errors"][0]["field"], "If-Match");
    assert!(bare.text.contains("in double quotes"), "{}", bare.text);
    let quoted =
        app.send(Method::PATCH, &path, Some(&token), Some(&body), &[("if-match", "\"1\"")]).await;
    assert_eq!(quoted.status, StatusCode::OK, "{}", quoted.text);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_body_over_the_limit_is_refused_with_the_limit(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login(BE).await;
    let mut body = case_body("Hassan", None);
    body["medical"]["summary"] = json!("x".repeat(2 * 1024 * 1024));
    let refused = app.post("/v1/cases", Some(&token), &body).await;
    refused.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let detail = refused.body["detail"].as_str().expect("detail");
    assert!(detail.contains("1048576 bytes"), "{detail}");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_accept_header_the_api_cannot_answer_gets_406(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login("auditor@demo.test").await;
    for (path, accept) in
        [("/v1/institutions", "application/xml"), ("/v1/institutions", "text/csv")]
    {
        let refused = app.send(Method::GET, path, Some(&token), None, &[("accept", accept)]).await;
        refused.assert_problem(StatusCode::NOT_ACCEPTABLE, "not_acceptable");
    }
    for (path, accept) in [
        ("/v1/institutions", "application/json"),
        ("/v1/institutions", "text/html, */*;q=0.1"),
        ("/v1/audit-events", "text/csv"),
    ] {
        let answered = app.send(Method::GET, path, Some(&token), None, &[("accept", accept)]).await;
        assert_eq!(answered.status, StatusCode::OK, "{path} {accept}: {}", answered.text);
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn every_metric_has_help_and_the_process_is_measured(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.get("/health/live", None).await;
    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    let families: Vec<&str> = metrics
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(families.contains(&"http_requests_total"), "{}", metrics.text);
    assert!(families.iter().any(|f| f.starts_with("process_")), "{}", metrics.text);
    for family in families {
        assert!(
            metrics.text.lines().any(|l| l.starts_with(&format!("# HELP {family} "))),
            "{family} has no HELP"
        );
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_token_without_the_scope_for_case_data_is_refused_not_answered_empty(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.login("admin.sem@demo.test").await;
    let sem: uuid::Uuid = sqlx::query_scalar("select id from institutions where name = 'SEM'")
        .fetch_one(&app.pool)
        .await
        .expect("sem");
    let account = json!({ "institution_id": sem, "name": "Figures", "scopes": ["stats:read"] });
    let created = app.post("/v1/service-accounts", Some(&admin), &account).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        created.body["client_id"].as_str().expect("client id"),
        created.body["client_secret"].as_str().expect("secret"),
    );
    let request = axum::http::Request::post("/v1/auth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(form))
        .expect("request");
    let token = app.send_request(request).await;
    let token = token.body["access_token"].as_str().expect("token").to_owned();
    for path in ["/v1/cases", "/v1/information-requests"] {
        let refused = app.get(path, Some(&token)).await;
        refused.assert_problem(StatusCode::FORBIDDEN, "insufficient_scope");
        assert_eq!(
            refused.header("www-authenticate"),
            Some("Bearer error=\"insufficient_scope\", scope=\"cases:read\"")
        );
    }
    // What the scope allows still answers.
    assert_eq!(app.get("/v1/stats/cases", Some(&token)).await.status, StatusCode::OK);
    // A refused token says so, and differs from none at all.
    let forged = app.get("/v1/cases", Some("not-a-token")).await;
    forged.assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    assert_eq!(forged.header("www-authenticate"), Some("Bearer error=\"invalid_token\""));
    let none = app.get("/v1/cases", None).await;
    none.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
}

/// Every `enum` in the document, wherever it sits (component schemas, properties, parameters,
/// items), with the JSON pointer of the schema that holds it; `null` is left out (it marks
/// an optional value in OpenAPI 3.1, not a value of the enum).
fn enums_in(value: &serde_json::Value, pointer: String, found: &mut Vec<(String, Vec<String>)>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Array(values)) = map.get("enum") {
                let names = values.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect();
                found.push((pointer.clone(), names));
            }
            for (key, child) in map {
                enums_in(
                    child,
                    format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1")),
                    found,
                );
            }
        }
        serde_json::Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                enums_in(child, format!("{pointer}/{i}"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn every_variant_of_every_enum_is_written_as_the_document_names_it() {
    let document = serde_json::to_value(retour_api::openapi()).expect("document");
    let schemas = &document["components"]["schemas"];
    let registered: Vec<_> = retour_domain::macros::wire_enums().collect();
    assert!(registered.len() > 25, "the registry holds {} enums", registered.len());

    // Serde writes each variant as the enum's own name for it, and where the enum is a schema
    // of the document, the schema lists exactly those names, in that order.
    let mut in_document = 0;
    for wire in &registered {
        let names = (wire.names)();
        let serialised: Vec<serde_json::Value> = (wire.serialised)();
        assert_eq!(
            serialised,
            names.iter().map(|n| serde_json::Value::from(*n)).collect::<Vec<_>>(),
            "{}: serde and as_str disagree",
            wire.name
        );
        if let Some(schema) = schemas.get(wire.name) {
            in_document += 1;
            assert_eq!(schema["enum"], serde_json::json!(names), "schema {}", wire.name);
        }
    }
    assert!(in_document > 25, "only {in_document} registered enums are schemas of the document");

    // Walking the whole document: every enum it declares, named or inline, is the set of
    // names of an enum declared the one way, so no hand-written list can drift from the wire.
    let mut found = Vec::new();
    enums_in(&document, String::new(), &mut found);
    assert!(found.len() > 40, "{} enums found", found.len());
    let undeclared: Vec<String> = found
        .into_iter()
        .filter_map(|(pointer, mut names)| {
            names.sort();
            // A one-value enum is the tag of a variant of a tagged union (a transition's
            // `action`): a value of a declared enum.
            let declared = registered.iter().any(|wire| {
                let mut known = (wire.names)();
                known.sort_unstable();
                known == names || (names.len() == 1 && known.contains(&names[0].as_str()))
            });
            (!declared).then(|| format!("{pointer}: {names:?}"))
        })
        .collect();
    assert!(undeclared.is_empty(), "enums not declared with string_enum!: {undeclared:#?}");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn every_problem_type_resolves_to_its_entry_in_the_catalogue(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let catalogue = app.get("/problems", None).await;
    assert_eq!(catalogue.status, StatusCode::OK);
    let codes: Vec<&str> = catalogue.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["code"].as_str())
        .collect();
    let all: Vec<&str> = ProblemCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(codes, all);

    // Problems of several kinds, each followed to its type.
    let token = app.login(BE).await;
    let answers = [
        app.get("/v1/cases", None).await,
        app.get(&format!("/v1/cases/{}", uuid::Uuid::new_v4()), Some(&token)).await,
        app.post("/v1/cases", Some(&token), &json!({})).await,
        app.send(Method::PUT, "/v1/cases", Some(&token), None, &[]).await,
    ];
    for answer in answers {
        let kind = answer.body["type"].as_str().expect("type");
        let entry = app.get(kind, None).await;
        assert_eq!(entry.status, StatusCode::OK, "{kind}");
        assert_eq!(entry.body["code"], answer.body["code"]);
        assert_eq!(entry.body["status"], answer.body["status"]);
        assert_eq!(entry.body["type"], kind);
        assert!(entry.body["description"].as_str().is_some_and(|d| d.len() > 20));
    }
    app.get("/problems/no_such_code", None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_problem_names_its_occurrence_by_the_request_id(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let generated = app.get("/v1/cases", None).await;
    let id = generated.header("x-request-id").expect("request id").to_owned();
    assert_eq!(generated.body["instance"], format!("urn:uuid:{id}"));

    let chosen = uuid::Uuid::new_v4().to_string();
    let given = app.send(Method::GET, "/v1/cases", None, None, &[("x-request-id", &chosen)]).await;
    assert_eq!(given.body["instance"], format!("urn:uuid:{chosen}"));

    // A client's request id that is no UUID is kept for the logs but names no URN.
    let free =
        app.send(Method::GET, "/v1/cases", None, None, &[("x-request-id", "trace-42")]).await;
    assert_eq!(free.header("x-request-id"), Some("trace-42"));
    assert!(free.body.get("instance").is_none(), "{}", free.body);
}

/// The document closes every request body (`additionalProperties: false`); the server refuses
/// a field it does not know on each of them, naming it, whatever the endpoint.
#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_field_the_document_does_not_declare_is_refused_on_every_kind_of_body(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login(BE).await;
    let case = open_case(&app, &token, &case_body("Hassan", None)).await;
    let case = case["id"].as_str().expect("id").to_owned();
    let unknown = |mut body: serde_json::Value| {
        body["colour"] = json!("blue");
        body
    };
    let login = json!({ "email": BE, "password": crate::support::DEMO_PASSWORD });
    let answers = [
        app.post("/v1/auth/login", None, &unknown(login)).await,
        app.post("/v1/auth/logout", Some(&token), &unknown(json!({}))).await,
        app.post("/v1/auth/refresh", None, &unknown(json!({ "refresh_token": "x" }))).await,
        app.send(
            Method::POST,
            &format!("/v1/cases/{case}/transitions"),
            Some(&token),
            Some(&unknown(json!({ "action": "withdraw", "reason": "changed plans" }))),
            &[("if-match", "\"1\"")],
        )
        .await,
    ];
    for answer in answers {
        answer.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(answer.body["errors"][0]["field"], "colour", "{}", answer.text);
        assert_eq!(answer.body["errors"][0]["code"], "unknown_field", "{}", answer.text);
    }
    // Every object a JSON request body reaches is closed in the document.
    let document = serde_json::to_value(retour_api::openapi()).expect("document");
    for name in [
        "LoginRequest",
        "LogoutRequest",
        "TransitionWithdraw",
        "ApprovedAmountInput",
        "NewTariffRequest",
    ] {
        let schema = &document["components"]["schemas"][name];
        assert_eq!(schema["additionalProperties"], false, "{name}: {schema}");
    }
}

#[test]
fn the_token_requests_scope_pattern_names_every_scope() {
    let document = serde_json::to_value(retour_api::openapi()).expect("document");
    let pattern =
        document["components"]["schemas"]["TokenRequest"]["properties"]["scope"]["pattern"]
            .as_str()
            .expect("pattern")
            .to_owned();
    let names: Vec<&str> = retour_domain::Scope::ALL.iter().map(|s| s.as_str()).collect();
    let one = format!("({})", names.join("|"));
    assert_eq!(pattern, format!("^{one}( {one})*$"));
}
