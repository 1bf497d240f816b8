//! The API's handlers, one module per resource.

pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod tariffs;
pub(crate) mod institutions;
pub(crate) mod service_accounts;
pub(crate) mod users;
pub(crate) mod cases;
