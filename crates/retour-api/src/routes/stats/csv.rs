//! The CSV form of a report.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use retour_domain::statistics::Report;

use crate::ApiError;
use crate::csv_out::CsvWriter;

use super::*;

/// RFC 4180 CSV (CRLF line ends, fields quoted where needed) with a header row, UTF-8, no
/// cell a spreadsheet would evaluate ([`crate::csv_out`]).
pub(super) fn csv_body(columns: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, ApiError> {
    let mut writer = CsvWriter::new();
    writer.row(columns).map_err(ApiError::internal)?;
    for row in rows {
        writer.row(row).map_err(ApiError::internal)?;
    }
    writer.into_bytes().map_err(ApiError::internal)
}

pub(super) fn csv_response(
    report: Report,
    columns: &[&str],
    rows: &[Vec<String>],
) -> Result<Response, ApiError> {
    let body = csv_body(columns, rows)?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8; header=present"),
    );
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(file_name(report)));
    Ok(response)
}
