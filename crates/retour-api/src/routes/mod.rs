//! The API's handlers, one module per resource.

pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod break_glass;
pub(crate) mod cases;
pub(crate) mod data_protection;
pub(crate) mod events;
pub(crate) mod information_requests;
pub(crate) mod institutions;
pub(crate) mod me;
pub(crate) mod queue;
pub(crate) mod service_accounts;
pub(crate) mod stats;
pub(crate) mod tariffs;
pub(crate) mod transfers;
pub(crate) mod users;
pub(crate) mod webhooks;

use axum::http::{HeaderName, StatusCode, header};

use crate::json::Json;

/// A 201 answer. Every one names in `Location` the new item's own URL, or where it has none
/// (notes, reintegration records, tariff versions), the URL it is read at.
pub(crate) type Created<T> = (StatusCode, [(HeaderName, String); 1], Json<T>);

pub(crate) fn created<T>(location: String, body: T) -> Created<T> {
    (StatusCode::CREATED, [(header::LOCATION, location)], Json(body))
}
