//! Limits with clear answers: every text, array and page a client sends is bounded, and what
//! passes a bound is refused with 422 naming the field or parameter (413 for a body over the
//! size limit); a path id that is not one answers 404 like any id that names nothing.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{BE, case_body, principal};
use crate::support::{
    IOM, MISSION, REPAT, SEM, Team, act, approval, approved_case, booking, departed_case,
    ready_case, reintegration_case, today, transition,
};
use crate::support::{TestApp, TestResponse, assert_names};

fn long(n: usize) -> String {
    "x".repeat(n)
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_body_over_the_size_limit_is_a_413_problem_on_every_kind_of_write(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login(BE).await;
    let case = ready_case(&app, &Team::new(&app).await, "12345678").await;
    let id = case["id"].as_str().expect("id");
    // Over the default limit of 1 MiB, whatever the body says.
    let huge = json!({ "body": long(1024 * 1024 + 1) });
    for (method, path) in [
        (Method::POST, "/v1/cases".to_owned()),
        (Method::PATCH, format!("/v1/cases/{id}")),
        (Method::POST, format!("/v1/cases/{id}/notes")),
        (Method::POST, format!("/v1/cases/{id}/transitions")),
        (Method::POST, format!("/v1/cases/{id}/persons")),
    ] {
        let response = app
            .send(method.clone(), &path, Some(&token), Some(&huge), &[("if-match", "\"1\"")])
            .await;
        response.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn every_text_of_a_case_has_a_length_named_when_passed(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;
    let mut body = case_body("Hassan", Some("12345678"));
    body["persons"][0]["surname"] = json!(long(101));
    body["persons"][0]["given_names"] = json!(long(101));
    body["persons"][0]["aliases"] = json!([long(101)]);
    body["medical"]["summary"] = json!(long(4001));
    let response = app.post("/v1/cases", Some(&team.be), &body).await;
    for field in
        ["persons[0].surname", "persons[0].given_names", "persons[0].aliases[0]", "medical.summary"]
    {
        assert_names(&response, field, "too_long");
    }
    // At the limits they are accepted.
    let mut body = case_body("Hassan", Some("12345678"));
    body["persons"][0]["surname"] = json!(long(100));
    body["medical"]["summary"] = json!(long(4000));
    let case = app.post("/v1/cases", Some(&team.be), &body).await;
    assert_eq!(case.status, StatusCode::CREATED, "{}", case.text);
    let id = case.body["id"].as_str().expect("id").to_owned();

    let note = app
        .post(&format!("/v1/cases/{id}/notes"), Some(&team.be), &json!({ "body": long(10_001) }))
        .await;
    assert_names(&note, "body", "too_long");
    let question = app
        .post(
            &format!("/v1/cases/{id}/information-requests"),
            Some(&team.be),
            &json!({ "question": long(10_001) }),
        )
        .await;
    assert_names(&question, "question", "too_long");
    let withdraw = json!({ "action": "withdraw", "reason": long(4001) });
    assert_names(&transition(&app, &team.be, &case.body, &withdraw).await, "reason", "too_long");

    // SEM's texts.
    let case = ready_case(&app, &team, "23456789").await;
    let case = act(&app, &team.be, &case, &json!({ "action": "submit" })).await;
    let case = act(&app, &team.sem, &case, &json!({ "action": "start_review" })).await;
    let ask = json!({ "action": "request_info", "question": long(4001) });
    assert_names(&transition(&app, &team.sem, &case, &ask).await, "question", "too_long");
    let reject = json!({ "action": "reject", "legal_ground": "abuse", "reasons": long(4001) });
    assert_names(&transition(&app, &team.sem, &case, &reject).await, "reasons", "too_long");
    let mut approve = approval();
    approve["override_justification"] = json!(long(4001));
    assert_names(
        &transition(&app, &team.sem, &case, &approve).await,
        "override_justification",
        "too_long",
    );

    // The travel partners' and the mission's texts.
    let approved = approved_case(&app, &team, "34567890", &approval()).await;
    let booked = act(&app, &team.repat, &approved, &booking(false)).await;
    let mut depart = crate::support::departure(150000, 20000);
    depart["payout"]["receipt_reference"] = json!(long(101));
    assert_names(
        &transition(&app, &team.repat, &booked, &depart).await,
        "payout.receipt_reference",
        "too_long",
    );
    let no_show = json!({ "action": "report_no_show", "comment": long(4001) });
    assert_names(&transition(&app, &team.repat, &booked, &no_show).await, "comment", "too_long");
    let case = reintegration_case(&app, &team, "45678901").await;
    let path = format!("/v1/cases/{}", case["id"].as_str().expect("id"));
    let pay = json!({ "amount_rappen": 1000, "purpose": long(1001), "paid_on": today() });
    let paid = app.post(&format!("{path}/disbursements"), Some(&team.mission), &pay).await;
    assert_names(&paid, "purpose", "too_long");
    let visit = json!({ "due_on": today(), "done_on": today(), "outcome": long(4001) });
    let visited = app.post(&format!("{path}/monitoring-visits"), Some(&team.mission), &visit).await;
    assert_names(&visited, "outcome", "too_long");
    let departed = departed_case(&app, &team, "56789012", &approval()).await;
    let reclaim = json!({ "reason": "re_entry", "amount_rappen": 1000, "comment": long(10_001) });
    let path = format!("/v1/cases/{}/reclaims", departed["id"].as_str().expect("id"));
    assert_names(&app.post(&path, Some(&team.sem), &reclaim).await, "comment", "too_long");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn every_array_a_client_sends_is_bounded_and_refused_with_one_error_beyond(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let team = Team::new(&app).await;

    // A household of 21 persons.
    let mut body = case_body("Hassan", Some("12345678"));
    let child = body["persons"][1].clone();
    body["persons"] = json!(
        std::iter::once(principal("Hassan", Some("12345678")))
            .chain(std::iter::repeat_n(child, 20))
            .collect::<Vec<Value>>()
    );
    assert_names(&app.post("/v1/cases", Some(&team.be), &body).await, "persons", "too_many");

    // More values than there are: vulnerabilities, components, aliases. A list as long as the
    // body limit allows is answered with one error, not one per entry.
    let mut body = case_body("Hassan", Some("12345678"));
    body["vulnerabilities"] = json!(vec!["medical"; 7]);
    assert_names(
        &app.post("/v1/cases", Some(&team.be), &body).await,
        "vulnerabilities",
        "too_many",
    );
    body["vulnerabilities"] = json!(vec!["no-such-vulnerability"; 30_000]);
    let response = app.post("/v1/cases", Some(&team.be), &body).await;
    assert_names(&response, "vulnerabilities", "too_many");
    assert!(
        response.body["errors"].as_array().expect("errors").len() <= 7,
        "{}",
        response.text.len()
    );
    let mut body = case_body("Hassan", Some("12345678"));
    body["requested_assistance"] =
        json!(vec![json!({ "component": "medical", "amount_rappen": 1 }); 6]);
    assert_names(
        &app.post("/v1/cases", Some(&team.be), &body).await,
        "requested_assistance",
        "too_many",
    );
    let mut body = case_body("Hassan", Some("12345678"));
    body["persons"][0]["aliases"] = json!(vec!["Abu Karim"; 11]);
    assert_names(
        &app.post("/v1/cases", Some(&team.be), &body).await,
        "persons[0].aliases",
        "too_many",
    );

    // A case of 20 persons takes no 21st.
    let mut body = case_body("Hassan", Some("12345678"));
    let child = body["persons"][1].clone();
    body["persons"] = json!(
        std::iter::once(principal("Hassan", Some("12345678")))
            .chain(std::iter::repeat_n(child.clone(), 19))
            .collect::<Vec<Value>>()
    );
    let full = app.post("/v1/cases", Some(&team.be), &body).await;
    assert_eq!(full.status, StatusCode::CREATED, "{}", full.text);
    let path = format!("/v1/cases/{}/persons", full.body["id"].as_str().expect("id"));
    let added =
        app.send(Method::POST, &path, Some(&team.be), Some(&child), &[("if-match", "\"1\"")]).await;
    assert_names(&added, "persons", "too_many");

    // SEM's approval: one entry per component, amounts up to CHF 1,000,000.
    let case = ready_case(&app, &team, "23456789").await;
    let case = act(&app, &team.be, &case, &json!({ "action": "submit" })).await;
    let case = act(&app, &team.sem, &case, &json!({ "action": "start_review" })).await;
    let mut approve = approval();
    approve["approved_assistance"] =
        json!(vec![json!({ "component": "medical", "amount_rappen": 1 }); 20_000]);
    let response = transition(&app, &team.sem, &case, &approve).await;
    assert_names(&response, "approved_assistance", "too_many");
    assert_eq!(response.body["errors"].as_array().expect("errors").len(), 1, "{}", response.text);
    let mut approve = approval();
    approve["approved_assistance"][0]["amount_rappen"] = json!(100_000_001);
    approve["override_justification"] = json!("Exceptional medical costs.");
    assert_names(
        &transition(&app, &team.sem, &case, &approve).await,
        "approved_assistance[0].amount_rappen",
        "out_of_range",
    );

    // swissREPAT's itinerary: at most 8 flights.
    let approved = approved_case(&app, &team, "34567890", &approval()).await;
    let mut book = booking(false);
    book["itinerary"]["flights"] = json!(vec!["TK1912"; 9]);
    assert_names(
        &transition(&app, &team.repat, &approved, &book).await,
        "itinerary.flights",
        "too_many",
    );

    // An integration's scopes: at most the four there are.
    let admin = app.login("admin.iom@demo.test").await;
    let iom_bern = crate::support::institution_id(&app.pool, "IOM Bern").await;
    let account = json!({ "institution_id": iom_bern, "name": "Exports",
        "scopes": ["stats:read", "stats:read", "cases:read", "events:read", "case-events:read"] });
    assert_names(
        &app.post("/v1/service-accounts", Some(&admin), &account).await,
        "scopes",
        "too_many",
    );
}

/// The list endpoints of the OpenAPI document: GET without path parameters whose answer has
/// `items`.
fn documented_lists() -> Vec<String> {
    let document = serde_json::to_value(retour_api::openapi()).expect("document");
    let schemas = &document["components"]["schemas"];
    let mut lists = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        let Some(get) = item.get("get") else { continue };
        if path.contains('{') {
            continue;
        }
        let content = &get["responses"]["200"]["content"]["application/json"]["schema"];
        let schema = match content["$ref"].as_str() {
            Some(reference) => &schemas[reference.trim_start_matches("#/components/schemas/")],
            None => content,
        };
        if schema["properties"].get("items").is_none() {
            continue;
        }
        // A list without pages holds a bounded number of items (a service account's webhook
        // subscriptions: at most ten; a user's own open sessions).
        let paged = get["parameters"]
            .as_array()
            .is_some_and(|parameters| parameters.iter().any(|p| p["name"] == "limit"));
        if paged || !["/v1/webhook-subscriptions", "/v1/me/sessions"].contains(&path.as_str()) {
            lists.push(path.clone());
        }
    }
    lists
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn every_list_refuses_a_page_over_200_and_any_parameter_it_does_not_know(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let mut tokens = Vec::new();
    for email in [BE, SEM, REPAT, IOM, MISSION, "auditor@demo.test", "admin@demo.test"] {
        tokens.push(app.login(email).await);
    }
    let lists = documented_lists();
    assert!(lists.len() >= 7, "{lists:?}");
    for list in &lists {
        // Asked by a role that may read it.
        let mut token = None;
        for candidate in &tokens {
            if app.get(list, Some(candidate)).await.status == StatusCode::OK {
                token = Some(candidate.as_str());
                break;
            }
        }
        let token = token.unwrap_or_else(|| panic!("no demo role reads {list}"));
        for bad in ["limit=201", "limit=0", "limit=-1", "limit=ten"] {
            let response = app.get(&format!("{list}?{bad}"), Some(token)).await;
            assert_eq!(
                response.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{list}?{bad}: {}",
                response.text
            );
            assert_names_field(&response, "limit", &format!("{list}?{bad}"));
        }
        let response = app.get(&format!("{list}?colour=red"), Some(token)).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{list}: {}", response.text);
        assert_names_field(&response, "colour", list);
    }
    println!(
        "page limits: {} list endpoints refuse limit=201, 0, -1, ten and unknown parameters",
        lists.len()
    );
}

/// Asserts a 422 problem naming `field`, whatever its code.
#[track_caller]
fn assert_names_field(response: &TestResponse, field: &str, what: &str) {
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let errors = response.body["errors"].as_array().expect("errors");
    assert!(errors.iter().any(|e| e["field"] == field), "{what}: {}", response.text);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn bad_filter_values_are_422_naming_the_parameter(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let be = app.login(BE).await;
    let iom = app.login(IOM).await;
    let admin = app.login("admin@demo.test").await;
    let auditor = app.login("auditor@demo.test").await;
    let long_cursor = format!("cursor={}", "A".repeat(600));
    let cases_cursor = format!("/v1/cases?{long_cursor}");
    let requests_cursor = format!("/v1/information-requests?{long_cursor}");
    let events_cursor = format!("/v1/audit-events?{long_cursor}");
    let cases: [(&str, &str, &str); 20] = [
        (&be, &cases_cursor, "cursor"),
        (&iom, &requests_cursor, "cursor"),
        (&auditor, &events_cursor, "cursor"),
        (&be, "/v1/cases?status=open", "status"),
        (&be, "/v1/cases?status=approved,closing", "status"),
        (&be, "/v1/cases?created_from=yesterday", "created_from"),
        (&be, "/v1/cases?updated_to=2026-13-01", "updated_to"),
        (&be, "/v1/cases?counselling_service_id=abc", "counselling_service_id"),
        (&be, "/v1/cases?canton=XX", "canton"),
        (&be, "/v1/cases?q=a%20b%20c%20d%20e%20f%20g%20h%20i", "q"),
        (&iom, "/v1/information-requests?status=closed", "status"),
        (&admin, "/v1/users?status=gone", "status"),
        (&admin, "/v1/users?institution_id=abc", "institution_id"),
        (&admin, "/v1/service-accounts?status=gone", "status"),
        (&admin, "/v1/institutions?kind=castle", "kind"),
        (&be, "/v1/tariffs?on=tomorrow", "on"),
        (&be, "/v1/destination-rules?on=2026-02-30", "on"),
        (&auditor, "/v1/audit-events?from=yesterday", "from"),
        (&auditor, "/v1/audit-events?case_id=abc", "case_id"),
        (&auditor, "/v1/audit-events?outcome=maybe", "outcome"),
    ];
    for (token, path, field) in cases {
        let response = app.get(path, Some(token)).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {}", response.text);
        assert_names_field(&response, field, path);
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_id_in_a_path_that_is_not_a_uuid_answers_404_on_every_endpoint(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let tokens = [app.login(BE).await, app.login("admin@demo.test").await, app.login(IOM).await];
    let document = serde_json::to_value(retour_api::openapi()).expect("document");
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().expect("paths") {
        if !path.contains('{') {
            continue;
        }
        for (method, operation) in item.as_object().expect("item") {
            // Ids only: a path parameter of another kind (a problem code) is no id.
            let ids = operation["parameters"].as_array().into_iter().flatten().all(|parameter| {
                parameter["in"] != "path" || parameter["schema"]["format"] == "uuid"
            });
            if !ids {
                continue;
            }
            let method: Method = method.to_uppercase().parse().expect("method");
            for bad in ["not-a-uuid", "1", "00000000-0000-0000-0000-00000000000g"] {
                let filled = path
                    .split('/')
                    .map(|segment| if segment.starts_with('{') { bad } else { segment })
                    .collect::<Vec<_>>()
                    .join("/");
                for token in &tokens {
                    let response = app
                        .send(
                            method.clone(),
                            &filled,
                            Some(token),
                            Some(&json!({})),
                            &[("if-match", "\"1\"")],
                        )
                        .await;
                    response.assert_problem(StatusCode::NOT_FOUND, "not_found");
                    checked += 1;
                }
                let anonymous =
                    app.send(method.clone(), &filled, None, Some(&json!({})), &[]).await;
                anonymous.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
            }
        }
    }
    assert!(checked >= 17 * 3 * 3, "{checked}");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn credentials_and_refresh_tokens_of_any_length_or_byte_are_refused_cleanly(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for client_id in ["%00", &"c".repeat(10_000), "svc_%FF%FE"] {
        let request = axum::http::Request::post("/v1/auth/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(format!(
                "grant_type=client_credentials&client_id={client_id}&client_secret=x"
            )))
            .expect("request");
        let response = app.send_request(request).await;
        assert!(response.status.is_client_error(), "{}: {}", response.status, response.text);
    }
    let refresh =
        app.post("/v1/auth/refresh", None, &json!({ "refresh_token": long(10_000) })).await;
    assert_names(&refresh, "refresh_token", "too_long");
    let token = app.login(BE).await;
    let logout =
        app.post("/v1/auth/logout", Some(&token), &json!({ "refresh_token": long(10_000) })).await;
    assert_names(&logout, "refresh_token", "too_long");
    let admin = app.login("admin@demo.test").await;
    let users = app.get(&format!("/v1/users?email={}", long(300)), Some(&admin)).await;
    assert_names(&users, "email", "too_long");
}

/// PostgreSQL cannot compare text holding a NUL character: a filter with one is refused up
/// front, naming its parameter, rather than failing in the database.
#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_nul_character_in_a_text_filter_is_a_422_naming_it(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let be = app.login(BE).await;
    let admin = app.login("admin@demo.test").await;
    let auditor = app.login("auditor@demo.test").await;
    for (token, path, field) in [
        (&be, "/v1/cases?q=Has%00san", "q"),
        (&be, "/v1/cases?q%00=x", "q%00"),
        (&auditor, "/v1/audit-events?action=case%00read", "action"),
        (&admin, "/v1/users?email=a%00b@demo.test", "email"),
        (&be, "/v1/tariffs?programme=cantonal%00", "programme"),
        // Also where the route reads no parameter (the OpenAPI document declares 422 there).
        (&be, "/health/live?probe=%00", "probe"),
    ] {
        let response = app.get(path, Some(token)).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {}", response.text);
        assert_names_field(&response, field, path);
    }
}
