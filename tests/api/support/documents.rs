//! Documents as the suites upload them: multipart bodies, small files of each accepted type
//! (and one that is not), and the signed request a submission needs.

use axum::body::Body;
use axum::http::{Method, Request, header};
use uuid::Uuid;

use super::app::{TestApp, TestResponse};

/// The master key the test server wraps documents' keys with.
pub const TEST_KEY: [u8; 32] = [0x5a; 32];

/// A small, well-formed PDF whose text holds `text`.
pub fn pdf(text: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% {text}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

/// The start of a PNG image.
pub fn png() -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d];
    bytes.extend_from_slice(b"IHDR");
    bytes.extend_from_slice(&[0; 17]);
    bytes
}

/// The start of a Windows executable.
pub fn exe() -> Vec<u8> {
    let mut bytes = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec();
    bytes.resize(512, 0);
    bytes[0x3c] = 0x80;
    bytes
}

/// One part of a multipart form.
pub struct Part<'a> {
    pub name: &'a str,
    pub file_name: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub bytes: Vec<u8>,
}

impl<'a> Part<'a> {
    pub fn text(name: &'a str, value: &str) -> Self {
        Part { name, file_name: None, content_type: None, bytes: value.as_bytes().to_vec() }
    }

    pub fn file(file_name: &'a str, content_type: &'a str, bytes: Vec<u8>) -> Self {
        Part { name: "file", file_name: Some(file_name), content_type: Some(content_type), bytes }
    }
}

const BOUNDARY: &str = "retour-test-boundary-7f3a";

/// The content type of a [`multipart`] body.
pub const MULTIPART_CONTENT_TYPE: &str = "multipart/form-data; boundary=retour-test-boundary-7f3a";

/// A `multipart/form-data` body of `parts`.
pub fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(file_name) = part.file_name {
            disposition.push_str(&format!("; filename=\"{file_name}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = part.content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&part.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

impl TestApp {
    /// Posts a multipart form to a case's documents.
    pub async fn upload_parts(
        &self,
        token: &str,
        case_id: &str,
        parts: &[Part<'_>],
    ) -> TestResponse {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("/v1/cases/{case_id}/documents"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, MULTIPART_CONTENT_TYPE)
            .body(Body::from(multipart(parts)))
            .expect("request");
        self.send_request(request).await
    }

    /// Uploads `bytes` as a document of `category`, named `file_name`.
    pub async fn upload(
        &self,
        token: &str,
        case_id: &str,
        category: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> TestResponse {
        let parts =
            [Part::text("category", category), Part::file(file_name, "application/pdf", bytes)];
        self.upload_parts(token, case_id, &parts).await
    }

    /// Whether the case holds a current signed request for return assistance.
    pub async fn has_return_request(&self, case_id: &str) -> bool {
        let id: Uuid = case_id.parse().expect("case id");
        sqlx::query_scalar(
            "select exists (select 1 from documents where case_id = $1 \
             and category = 'return_request' and superseded_by is null and deleted_at is null)",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await
        .expect("return request")
    }
}
