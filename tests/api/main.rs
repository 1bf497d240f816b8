//! End-to-end tests: the real router over a fresh PostgreSQL database per test.
//!
//! One test binary, one module per area, so the suite links once.

mod common;

mod auth;
mod foundation;
mod hardening;
