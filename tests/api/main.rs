//! End-to-end tests: the real router over a fresh PostgreSQL database per test.
//!
//! One test binary, one module per area, so the suite links once.

mod support;

mod access_log;
mod admin;
mod audit;
mod auth;
mod bounds;
mod break_glass;
mod cases;
mod cli;
mod conformance;
mod contract;
mod deadlines;
mod documents;
mod documents_s3;
mod entitlement;
mod events;
mod foundation;
mod hardening;
mod holding;
mod lifecycle;
mod limits;
mod matrix;
mod nats;
mod queue;
mod races;
mod separation;
mod side_doors;
mod sign_in;
mod stats;
mod synthetic;
mod tariffs;
mod tls;
mod tokens;
mod webhooks;
mod workflow;
