//! Completes the OpenAPI document with the error answers every route can give because of the
//! layers around it, so that a handler's `#[utoipa::path]` lists only its own outcomes and no
//! route can forget one: 503 everywhere (database down, request timeout), 401 where a bearer
//! token is required, 400/413/415/422 where a body is read, 400/422 where parameters are.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

use crate::error::PROBLEM_JSON;

/// Adds the layers' error answers to every operation that does not document them itself.
pub(crate) fn complete(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
        ];
        for operation in operations.into_iter().flatten() {
            complete_operation(operation);
        }
    }
}

fn complete_operation(operation: &mut Operation) {
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_body = operation.request_body.is_some();
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has_parameters = parameters.iter().any(|p| match p {
        RefOr::T(p) => matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query),
        RefOr::Ref(_) => true,
    });
    let has_query = parameters
        .iter()
        .any(|p| matches!(p, RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Query)));

    if has_body || has_parameters {
        add(operation, 400, "The request body or a parameter is malformed (`malformed_request`)");
    }
    if secured {
        add(
            operation,
            401,
            "No valid bearer token, or its account is disabled (`unauthorized`); \
             answered with `WWW-Authenticate: Bearer`",
        );
    }
    if has_body {
        add(operation, 413, "The request body is over the size limit (`payload_too_large`)");
        add(
            operation,
            415,
            "The request body is not `application/json` (`unsupported_media_type`)",
        );
    }
    if has_body || has_query {
        add(
            operation,
            422,
            "A field or parameter is invalid (`validation_failed`); `errors` names each one",
        );
    }
    add(
        operation,
        503,
        "The database is unavailable (`service_unavailable`) or the request took too long \
         (`request_timeout`); retry later",
    );
}

fn add(operation: &mut Operation, status: u16, description: &str) {
    operation.responses.responses.entry(status.to_string()).or_insert_with(|| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
                )
                .build(),
        )
    });
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn responses(doc: &Value, path: &str, method: &str) -> Vec<String> {
        let mut codes: Vec<String> = doc["paths"][path][method]["responses"]
            .as_object()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        codes.sort();
        codes
    }

    #[test]
    fn every_operation_documents_the_answers_of_the_layers() {
        let doc = serde_json::to_value(crate::openapi()).expect("spec");
        let paths = doc["paths"].as_object().expect("paths");
        for (path, item) in paths {
            for (method, operation) in item.as_object().expect("path item") {
                let codes = responses(&doc, path, method);
                assert!(codes.contains(&"503".to_owned()), "{method} {path}: {codes:?}");
                if operation.get("security").is_some() {
                    assert!(codes.contains(&"401".to_owned()), "{method} {path}: {codes:?}");
                }
                if operation.get("requestBody").is_some() {
                    for code in ["400", "413", "415", "422"] {
                        assert!(codes.contains(&code.to_owned()), "{method} {path}: {codes:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_handlers_own_description_of_a_status_is_kept() {
        let doc = serde_json::to_value(crate::openapi()).expect("spec");
        let login = &doc["paths"]["/v1/auth/login"]["post"]["responses"];
        assert_eq!(login["401"]["description"], "Invalid credentials");
        assert_eq!(
            login["413"]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
        assert_eq!(responses(&doc, "/health/live", "get"), ["200", "503"]);
    }
}
