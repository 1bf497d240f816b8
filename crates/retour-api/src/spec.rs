//! Completes the OpenAPI document with the error answers every route can give because of the
//! layers around it, so that a handler's `#[utoipa::path]` lists only its own outcomes and no
//! route can forget one: 500 and 503 everywhere (an unexpected failure; the database down, a
//! request timeout), 406 on the API's routes (an Accept it cannot answer), 401 where a bearer
//! token is required, 400/413/415/422 where a body is read, 400 where parameters are, and 422
//! everywhere (a body or parameter, or a NUL character in any query string).
//! It also states what the handlers leave implicit: that an operation without a security
//! requirement is public, the headers of a 429 (sent by the rate-limit layer), and the range
//! of every `limit` parameter (from the constants the lists check it against).

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

use crate::error::PROBLEM_JSON;
use crate::pagination::{DEFAULT_LIMIT, MAX_LIMIT};

/// Adds the layers' error answers to every operation that does not document them itself.
pub(crate) fn complete(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
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
            if path.starts_with("/v1/cases")
                || path.starts_with("/v1/information-requests")
                || path == "/v1/me/queue"
            {
                add(
                    operation,
                    403,
                    "A service account's token lacks `cases:read` (`insufficient_scope`, with \
                     `WWW-Authenticate: Bearer error=\"insufficient_scope\"`), or the caller may \
                     not do this",
                );
            }
            if path.starts_with("/v1/") {
                // `layers::refuse_unacceptable` reads the Accept header of every API route.
                add(
                    operation,
                    406,
                    "The Accept header allows nothing this operation answers (`not_acceptable`)",
                );
            }
            declare_public(operation);
            declare_rate_limit_headers(operation);
            declare_page_limit(operation);
        }
    }
    close_request_bodies(doc);
    declare_webhooks(doc);
}

/// The `webhooks` section: what a subscriber's endpoint receives for each event type, a POST
/// of the event (`Event`, its payload `EventData`) with the Standard Webhooks headers.
fn declare_webhooks(doc: &mut OpenApi) {
    use retour_domain::event::EventType;
    use utoipa::openapi::HttpMethod;
    use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, PathItem};
    use utoipa::openapi::request_body::RequestBodyBuilder;
    use utoipa::openapi::{PathsBuilder, Required};

    let header = |name: &str, description: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(Required::True)
            .description(Some(description))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build()
    };
    let mut webhooks = PathsBuilder::new();
    for kind in EventType::ALL {
        let operation = OperationBuilder::new()
            .operation_id(Some(format!("webhook_{}", kind.as_str().replace('.', "_"))))
            .summary(Some(format!("{kind}")))
            .description(Some(format!(
                "Posted to the subscriptions that take `{kind}` (or every type) for each such \
                 event of a case the service account may read; the body is the event as \
                 `GET /v1/events` gives it, its `type` `{kind}`."
            )))
            .tag("events")
            // The receiver checks the signature, not a token of Retour's.
            .securities(Some(Vec::<utoipa::openapi::security::SecurityRequirement>::new()))
            .parameter(header("webhook-id", "The event's id: the same on every retry and replay; drop what you have seen"))
            .parameter(header("webhook-timestamp", "Seconds since 1970 when this attempt was signed; refuse old ones"))
            .parameter(header(
                "webhook-signature",
                "`v1,` and the base64 HMAC-SHA256, with the secret's bytes (the base64 after \
                 `whsec_`), over `{webhook-id}.{webhook-timestamp}.{body}`; during a rotation \
                 a second one with the previous secret, space-separated",
            ))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Event"))).build())
                    .build(),
            ))
            .response("200", ResponseBuilder::new().description("Received (any 2xx)"))
            .response("410", ResponseBuilder::new().description("Gone: the subscription is disabled and nothing more is sent"))
            .response("default", ResponseBuilder::new().description("Anything else, or no answer within 10 s: retried with exponential backoff for up to three days"))
            .build();
        webhooks = webhooks.path(kind.as_str(), PathItem::new(HttpMethod::Post, operation));
    }
    doc.webhooks = Some(webhooks.build());
}

/// The server refuses a JSON body with a field it does not know (422 `unknown_field`): every
/// object schema a JSON request body reaches says so with `additionalProperties: false`.
fn close_request_bodies(doc: &mut OpenApi) {
    let Ok(mut value) = serde_json::to_value(&*doc) else { return };
    let mut pending: Vec<String> = Vec::new();
    if let Some(paths) = value["paths"].as_object() {
        for item in paths.values() {
            for operation in item.as_object().into_iter().flat_map(|o| o.values()) {
                let content = &operation["requestBody"]["content"];
                for (media, body) in content.as_object().into_iter().flatten() {
                    if media.ends_with("json") {
                        references(&body["schema"], &mut pending);
                    }
                }
            }
        }
    }
    let mut closed: Vec<String> = Vec::new();
    while let Some(name) = pending.pop() {
        if closed.contains(&name) {
            continue;
        }
        let schema = &mut value["components"]["schemas"][&name];
        close(schema);
        references(schema, &mut pending);
        closed.push(name);
    }
    if let Ok(completed) = serde_json::from_value(value) {
        *doc = completed;
    }
}

/// The component schemas `schema` refers to, at any depth.
fn references(schema: &serde_json::Value, found: &mut Vec<String>) {
    match schema {
        serde_json::Value::Object(members) => {
            if let Some(reference) = members.get("$ref").and_then(|r| r.as_str())
                && let Some(name) = reference.strip_prefix("#/components/schemas/")
            {
                found.push(name.to_owned());
            }
            members.values().for_each(|member| references(member, found));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

/// Closes the object schemas within `schema` (not those behind a `$ref`, which are closed
/// by name) that do not say what to do with other properties.
fn close(schema: &mut serde_json::Value) {
    let serde_json::Value::Object(members) = schema else { return };
    if members.contains_key("properties") && !members.contains_key("additionalProperties") {
        members.insert("additionalProperties".to_owned(), false.into());
    }
    for (key, member) in members.iter_mut() {
        match key.as_str() {
            "properties" => {
                for property in member.as_object_mut().into_iter().flat_map(|p| p.values_mut()) {
                    close(property);
                }
            }
            "items" | "additionalProperties" => close(member),
            "oneOf" | "anyOf" | "allOf" => {
                for variant in member.as_array_mut().into_iter().flatten() {
                    close(variant);
                }
            }
            _ => {}
        }
    }
}

/// An operation without a security requirement needs no token: `security: []` says so, so
/// that a client or linter does not have to guess.
fn declare_public(operation: &mut Operation) {
    operation.security.get_or_insert_with(Vec::new);
}

/// The headers of a 429 from the sign-in rate limit (`auth::rate_limit`).
fn declare_rate_limit_headers(operation: &mut Operation) {
    let Some(RefOr::T(response)) = operation.responses.responses.get_mut("429") else {
        return;
    };
    let seconds = "Seconds until the next attempt from this address is accepted";
    let headers = [
        ("Retry-After", seconds),
        ("RateLimit-Limit", "Attempts per client address and minute"),
        ("RateLimit-Remaining", "Attempts left now: 0"),
        ("RateLimit-Reset", seconds),
    ];
    for (name, description) in headers {
        response.headers.entry(name.to_owned()).or_insert_with(|| {
            RefOr::T(
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0))))
                    .description(Some(description))
                    .build(),
            )
        });
    }
}

/// Every list takes `limit` from 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
fn declare_page_limit(operation: &mut Operation) {
    for parameter in operation.parameters.iter_mut().flatten() {
        let RefOr::T(parameter) = parameter else { continue };
        if parameter.name == "limit" && matches!(parameter.parameter_in, ParameterIn::Query) {
            parameter.schema = Some(RefOr::T(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
                    .minimum(Some(1))
                    .maximum(Some(MAX_LIMIT))
                    .default(Some(DEFAULT_LIMIT.into()))
                    .into(),
            ));
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
            "No bearer token (`unauthorized`, with `WWW-Authenticate: Bearer`), or one that \
             is refused: expired, signed out, of a disabled account or a closed session \
             (`invalid_token`, with `WWW-Authenticate: Bearer error=\"invalid_token\"`)",
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
    } else {
        // `layers::refuse_nul_in_query` reads the query string of every route.
        add(
            operation,
            422,
            "A query parameter holds a NUL character (`validation_failed`); `errors` names it",
        );
    }
    add(
        operation,
        500,
        "An unexpected failure (`internal_error`); the answer says nothing more, the server's \
         log holds the cause",
    );
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
                for code in ["422", "500", "503"] {
                    assert!(codes.contains(&code.to_owned()), "{method} {path}: {codes:?}");
                }
                if path.starts_with("/v1/") {
                    assert!(codes.contains(&"406".to_owned()), "{method} {path}: {codes:?}");
                }
                if operation["security"].as_array().is_some_and(|s| !s.is_empty()) {
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

    /// Every operation of the document, as (method, path, operation).
    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut all = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                all.push((method.clone(), path.clone(), operation.clone()));
            }
        }
        all
    }

    #[test]
    fn every_operation_has_a_one_line_summary_and_a_description() {
        let doc = serde_json::to_value(crate::openapi()).expect("spec");
        for (method, path, operation) in operations(&doc) {
            let summary = operation["summary"].as_str().unwrap_or_default();
            assert!(
                !summary.is_empty() && summary.len() <= 60 && !summary.contains('\n'),
                "{method} {path}: {summary:?}"
            );
            let description = operation["description"].as_str().unwrap_or_default();
            assert!(!description.trim().is_empty(), "{method} {path}");
        }
    }

    #[test]
    fn only_the_sign_in_endpoints_keys_probes_and_problem_types_are_public() {
        let doc = serde_json::to_value(crate::openapi()).expect("spec");
        let mut public: Vec<String> = operations(&doc)
            .into_iter()
            .filter(|(_, _, operation)| operation["security"] == serde_json::json!([]))
            .map(|(method, path, _)| format!("{method} {path}"))
            .collect();
        public.sort();
        assert_eq!(
            public,
            [
                "get /.well-known/jwks.json",
                "get /health/live",
                "get /health/ready",
                "get /problems",
                "get /problems/{code}",
                "post /v1/auth/login",
                "post /v1/auth/login/mfa",
                "post /v1/auth/login/mfa/totp",
                "post /v1/auth/refresh",
                "post /v1/auth/token",
            ]
        );
        for (method, path, operation) in operations(&doc) {
            assert!(operation["security"].is_array(), "{method} {path} states its security");
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = serde_json::to_value(crate::openapi()).expect("spec");
        let mut found = Vec::new();
        super::references(&doc, &mut found);
        assert!(found.len() > 50, "{found:?}");
        let schemas = &doc["components"]["schemas"];
        let missing: Vec<&String> =
            found.iter().filter(|name| schemas[name.as_str()].is_null()).collect();
        assert!(missing.is_empty(), "references to schemas the document lacks: {missing:?}");
    }

    #[test]
    fn answers_declare_the_headers_they_carry() {
        let doc = serde_json::to_value(crate::openapi()).expect("spec");
        for (method, path, operation) in operations(&doc) {
            let responses = operation["responses"].as_object().expect("responses");
            for (status, response) in responses {
                let headers = &response["headers"];
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                if status == "201" {
                    assert!(headers["Location"].is_object(), "{method} {path} {status}");
                }
                if schema == "#/components/schemas/CaseResponse" {
                    assert!(headers["ETag"].is_object(), "{method} {path} {status}");
                }
                if status == "429" {
                    for name in
                        ["Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]
                    {
                        assert!(headers[name].is_object(), "{method} {path} {status} {name}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_limit_parameter_has_the_range_the_lists_accept() {
        let doc = serde_json::to_value(crate::openapi()).expect("spec");
        let mut lists = 0;
        for (method, path, operation) in operations(&doc) {
            let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
            for parameter in parameters.iter().filter(|p| p["name"] == "limit") {
                let schema = &parameter["schema"];
                assert_eq!(schema["minimum"], 1, "{method} {path}");
                assert_eq!(schema["maximum"], crate::pagination::MAX_LIMIT, "{method} {path}");
                assert_eq!(schema["default"], crate::pagination::DEFAULT_LIMIT, "{method} {path}");
                lists += 1;
            }
        }
        assert_eq!(lists, 9);
    }

    #[test]
    fn a_handlers_own_description_of_a_status_is_kept() {
        let doc = serde_json::to_value(crate::openapi()).expect("spec");
        let login = &doc["paths"]["/v1/auth/login"]["post"]["responses"];
        assert!(
            login["401"]["description"]
                .as_str()
                .is_some_and(|d| d.starts_with("`invalid_credentials`, or `mfa_required`")),
            "{}",
            login["401"]
        );
        assert_eq!(
            login["413"]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
        assert_eq!(responses(&doc, "/health/live", "get"), ["200", "422", "500", "503"]);
    }
}
