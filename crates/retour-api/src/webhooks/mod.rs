//! Webhooks for partner systems: where they may be sent, how they are signed, and the
//! dispatcher that delivers them (the subscriptions' routes are in `routes::webhooks`).

pub mod delivery;
pub mod destination;
pub mod signature;

pub use delivery::{Dispatcher, WebhookConfig};
