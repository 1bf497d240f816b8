//! The API's handlers, one module per resource.

pub(crate) mod audit;
pub(crate) mod auth;
