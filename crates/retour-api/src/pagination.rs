//! The page size and cursor bounds every list shares. Each list parses its own `limit` and
//! `cursor` against these (its cursor encodes its own sort key), and `spec.rs` declares every
//! `limit` parameter of the document from them, so the two cannot drift.

/// Items per page when the request does not say. The OpenAPI document declares every
/// `limit` parameter with this default and [`MAX_LIMIT`] (see `spec.rs`).
pub const DEFAULT_LIMIT: u32 = 50;
/// The most items one page holds.
pub const MAX_LIMIT: u32 = 200;
/// Longer `cursor` values are refused before they are decoded.
pub const MAX_CURSOR_LEN: usize = 512;
