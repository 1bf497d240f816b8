//! Every answer the test suite receives is held against the OpenAPI document the server
//! serves: the operation (by method and path template) must declare the status, and a JSON
//! answer must match the schema declared for that status and media type (JSON Schema
//! 2020-12, with the document's components). A drift between the wire and the document
//! fails the test that met it, naming the operation, the status and the place in the body.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

/// The served document, once per test binary.
fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| serde_json::to_value(retour_api::openapi()).expect("document"))
}

/// The path template of the document that `path` is an instance of.
fn template_of(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split('/').collect();
    document()["paths"].as_object()?.keys().map(String::as_str).find(|template| {
        let parts: Vec<&str> = template.split('/').collect();
        parts.len() == segments.len()
            && parts.iter().zip(&segments).all(|(part, segment)| {
                part == segment || (part.starts_with('{') && !segment.is_empty())
            })
    })
}

type Key = (String, String, u16, String);

fn validator(key: &Key, schema: &Value) -> Arc<jsonschema::Validator> {
    static VALIDATORS: OnceLock<Mutex<HashMap<Key, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let cache = VALIDATORS.get_or_init(Default::default);
    let mut cache = cache.lock().expect("validators");
    cache
        .entry(key.clone())
        .or_insert_with(|| {
            // The schema within a root that holds the document's components, so that its
            // `#/components/schemas/…` references resolve.
            let root = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": document()["components"],
                "allOf": [schema],
            });
            Arc::new(jsonschema::draft202012::new(&root).unwrap_or_else(|error| {
                panic!("the document's schema for {key:?} does not compile: {error}")
            }))
        })
        .clone()
}

/// Panics when the answer `status`/`content_type`/`body` to `method path` breaks the
/// document. Paths outside the document (`/metrics`, `/docs`, an unknown path) are not held.
pub fn check(
    method: &Method,
    path: &str,
    status: StatusCode,
    content_type: Option<&str>,
    body: &[u8],
) {
    let Some(template) = template_of(path) else { return };
    let operation = &document()["paths"][template][method.as_str().to_ascii_lowercase()];
    if operation.is_null() {
        // A method the path does not have: 405, answered by the router.
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {template}: undocumented");
        return;
    }
    let declared = &operation["responses"][status.as_str()];
    assert!(
        !declared.is_null(),
        "{method} {template} answered {status}, which the document does not declare: {}",
        String::from_utf8_lossy(body).chars().take(300).collect::<String>()
    );
    let Some(content_type) = content_type else {
        assert!(body.is_empty(), "{method} {template} {status}: a body without a content type");
        return;
    };
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let content = &declared["content"];
    assert!(
        content.get(media).is_some(),
        "{method} {template} answered {status} as {media}, which the document does not declare \
         (it declares {:?})",
        content.as_object().map(|c| c.keys().collect::<Vec<_>>())
    );
    if !(media == "application/json" || media.ends_with("+json")) {
        return;
    }
    let instance: Value = serde_json::from_slice(body).unwrap_or_else(|error| {
        panic!("{method} {template} {status}: the {media} body is not JSON: {error}")
    });
    let key = (template.to_owned(), method.to_string(), status.as_u16(), media.to_owned());
    let validator = validator(&key, &content[media]["schema"]);
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .take(10)
        .map(|error| format!("at {}: {error}", error.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {template} answered {status} with a body that breaks the document:\n{}\nbody: {}",
        errors.join("\n"),
        instance.to_string().chars().take(600).collect::<String>()
    );
    if media == "application/problem+json" {
        check_problem_type(&instance, status);
    }
}

/// A problem's `type` is its code's entry in the catalogue, and the catalogue gives the status
/// it was answered with.
fn check_problem_type(problem: &Value, status: StatusCode) {
    let code = problem["code"].as_str().unwrap_or_default();
    let Some(known) = retour_api::problems::ProblemCode::parse(code) else {
        panic!("problem code {code} is not in the catalogue: {problem}")
    };
    assert_eq!(problem["type"], format!("/problems/{code}"), "{problem}");
    if let Some(declared) = known.status() {
        assert_eq!(declared, status, "the catalogue gives {code} another status: {problem}");
    }
}

#[test]
#[should_panic(expected = "breaks the document")]
fn a_body_that_breaks_the_document_fails_the_test_that_received_it() {
    let body = br#"{"items": "not a list", "next_cursor": null}"#;
    check(&Method::GET, "/v1/institutions", StatusCode::OK, Some("application/json"), body);
}

#[test]
#[should_panic(expected = "does not declare")]
fn a_status_the_document_does_not_declare_fails_the_test_that_received_it() {
    check(&Method::GET, "/v1/institutions", StatusCode::IM_A_TEAPOT, None, b"");
}

#[test]
fn an_answer_that_agrees_with_the_document_passes() {
    let body = br#"{"type": "/problems/not_found", "title": "Not Found", "status": 404, "detail": "no", "code": "not_found"}"#;
    check(
        &Method::GET,
        &format!("/v1/cases/{}", uuid::Uuid::now_v7()),
        StatusCode::NOT_FOUND,
        Some("application/problem+json"),
        body,
    );
}
