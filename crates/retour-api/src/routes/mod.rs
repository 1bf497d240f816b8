//! The API's handlers, one module per resource.

pub(crate) mod auth;
pub(crate) mod cases;
