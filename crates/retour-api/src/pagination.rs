//! Cursor pagination for list endpoints: `?limit=&cursor=` in, `{items, next_cursor}` out.
//!
//! A list endpoint takes its filters and these two parameters through [`crate::query::Query`]
//! (a bad value is a 422 naming the parameter), turns them into a [`PageRequest`] and answers
//! a [`Page`]:
//!
//! ```ignore
//! #[derive(Deserialize, IntoParams)]
//! #[into_params(parameter_in = Query)]
//! struct ListCasesQuery {
//!     status: Option<CaseStatus>,
//!     /// Items per page, 1 to 200 (default 50).
//!     limit: Option<i64>,
//!     /// `next_cursor` of the previous page.
//!     cursor: Option<String>,
//! }
//!
//! // in the handler (`CasePosition` is the sort key of the last item, e.g. (created_at, id)):
//! let page = PageRequest::<CasePosition>::parse(query.limit, query.cursor.as_deref())?;
//! let rows = store.list_cases(&scope, page.after.as_ref(), page.fetch_limit()).await?;
//! Ok(Json(Page::from_rows(rows, page.limit, |case| CasePosition::of(case))))
//! ```
//!
//! The store reads `fetch_limit()` rows (one more than asked) with a keyset condition
//! (`where (created_at, id) > ($1, $2) order by created_at, id`), so [`Page::from_rows`] knows
//! whether another page follows without counting.
//!
//! A cursor is base64url of the JSON of the position: opaque to clients, not secret and not
//! signed. It must only ever say where to continue; every query still filters by the caller's
//! access scope, so a forged cursor can at most skip through the caller's own results.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::error::ApiError;

/// Items per page when the request does not say. The OpenAPI document declares every
/// `limit` parameter with this default and [`MAX_LIMIT`] (see `spec.rs`).
pub const DEFAULT_LIMIT: u32 = 50;
/// The most items one page holds.
pub const MAX_LIMIT: u32 = 200;
/// Longer `cursor` values are refused before they are decoded.
pub const MAX_CURSOR_LEN: usize = 512;

/// Parses `limit`: absent → [`DEFAULT_LIMIT`]; 1 to [`MAX_LIMIT`]; anything else is a 422
/// naming `limit`.
pub fn parse_limit(raw: Option<i64>) -> Result<u32, ApiError> {
    let Some(raw) = raw else { return Ok(DEFAULT_LIMIT) };
    u32::try_from(raw).ok().filter(|limit| (1..=MAX_LIMIT).contains(limit)).ok_or_else(|| {
        ApiError::validation(
            "limit",
            "out_of_range",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        )
    })
}

/// Encodes a position in a list as an opaque cursor.
pub fn encode_cursor<C: Serialize>(position: &C) -> String {
    // Serialising a plain position (timestamps, ids, numbers) cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).unwrap_or_default())
}

/// Decodes a cursor made by [`encode_cursor`]; anything else is a 422 naming `cursor`.
pub fn decode_cursor<C: DeserializeOwned>(raw: &str) -> Result<C, ApiError> {
    let invalid = || {
        ApiError::validation(
            "cursor",
            "invalid_cursor",
            "cursor is not a `next_cursor` this list returned",
        )
    };
    if raw.len() > MAX_CURSOR_LEN {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
    serde_json::from_slice(&bytes).map_err(|_| invalid())
}

/// A validated page request: how many items, and after which position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest<C> {
    pub limit: u32,
    /// The position of the last item of the previous page; `None` for the first page.
    pub after: Option<C>,
}

impl<C: DeserializeOwned> PageRequest<C> {
    /// Parses the `limit` and `cursor` parameters; both errors name their parameter, and both
    /// are reported together.
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let limit = parse_limit(limit);
        let after = cursor.map(decode_cursor).transpose();
        match (limit, after) {
            (Ok(limit), Ok(after)) => Ok(Self { limit, after }),
            (Err(ApiError::Validation(mut a)), Err(ApiError::Validation(b))) => {
                a.extend(b);
                Err(ApiError::Validation(a))
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }
}

impl<C> PageRequest<C> {
    /// Rows to read: one more than the page holds, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows read in list order; the extra row only says
    /// that another page follows, which then starts after the position of the last item kept.
    pub fn from_rows<C: Serialize>(
        mut rows: Vec<T>,
        limit: u32,
        position: impl Fn(&T) -> C,
    ) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor =
            if more { rows.last().map(|last| encode_cursor(&position(last))) } else { None };
        Self { items: rows, next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    struct Position {
        created_at: String,
        id: u32,
    }

    fn fields(error: ApiError) -> Vec<(String, String)> {
        match error {
            ApiError::Validation(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn limit_defaults_to_50_and_accepts_1_to_200() {
        assert_eq!(parse_limit(None).expect("default"), DEFAULT_LIMIT);
        assert_eq!(parse_limit(Some(1)).expect("1"), 1);
        assert_eq!(parse_limit(Some(200)).expect("200"), 200);
    }

    #[test]
    fn limit_outside_1_to_200_is_a_422_naming_limit() {
        for raw in [0, -1, 201, i64::MAX, i64::MIN] {
            let error = parse_limit(Some(raw)).expect_err("out of range");
            assert_eq!(error.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(fields(error), [("limit".to_owned(), "out_of_range".to_owned())]);
        }
    }

    #[test]
    fn a_cursor_round_trips_and_is_url_safe() {
        let position = Position { created_at: "2026-11-27T10:00:00Z".to_owned(), id: 7 };
        let cursor = encode_cursor(&position);
        assert!(cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(decode_cursor::<Position>(&cursor).expect("decode"), position);
    }

    #[test]
    fn a_forged_or_oversized_cursor_is_a_422_naming_cursor() {
        let not_base64 = "not base64!";
        let not_a_position = URL_SAFE_NO_PAD.encode(b"{\"x\":1}");
        let huge = "A".repeat(MAX_CURSOR_LEN + 1);
        for raw in [not_base64, not_a_position.as_str(), huge.as_str(), ""] {
            let error = decode_cursor::<Position>(raw).expect_err(raw);
            assert_eq!(fields(error), [("cursor".to_owned(), "invalid_cursor".to_owned())]);
        }
    }

    #[test]
    fn a_page_request_reports_a_bad_limit_and_a_bad_cursor_together() {
        let error = PageRequest::<Position>::parse(Some(500), Some("%%%")).expect_err("both bad");
        assert_eq!(
            fields(error),
            [
                ("limit".to_owned(), "out_of_range".to_owned()),
                ("cursor".to_owned(), "invalid_cursor".to_owned())
            ]
        );
        let first = PageRequest::<Position>::parse(None, None).expect("first page");
        assert_eq!(first, PageRequest { limit: DEFAULT_LIMIT, after: None });
        assert_eq!(first.fetch_limit(), 51);
    }

    #[test]
    fn a_page_keeps_limit_rows_and_points_after_the_last_one_kept() {
        let rows: Vec<u32> = (1..=4).collect();
        let page = Page::from_rows(rows, 3, |n| Position { created_at: String::new(), id: *n });
        assert_eq!(page.items, [1, 2, 3]);
        let next: Position = decode_cursor(page.next_cursor.as_deref().expect("more")).expect("ok");
        assert_eq!(next.id, 3);
        let request = PageRequest::<Position>::parse(Some(3), page.next_cursor.as_deref())
            .expect("next page");
        assert_eq!(request.after.map(|p| p.id), Some(3));

        let last =
            Page::from_rows(vec![1, 2], 3, |n| Position { created_at: String::new(), id: *n });
        assert_eq!(last.items, [1, 2]);
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn a_page_is_documented_as_items_and_next_cursor() {
        #[derive(Serialize, ToSchema)]
        struct Item {
            id: u32,
        }
        #[utoipa::path(get, path = "/items", responses((status = 200, body = Page<Item>)))]
        #[expect(dead_code, reason = "only documented")]
        fn list_items() {}
        #[derive(utoipa::OpenApi)]
        #[openapi(paths(list_items))]
        struct Doc;
        let doc = serde_json::to_value(<Doc as utoipa::OpenApi>::openapi()).expect("spec");
        let text = doc.to_string();
        assert!(text.contains("\"items\"") && text.contains("\"next_cursor\""), "{text}");
        let serialized =
            serde_json::to_value(Page { items: vec![1], next_cursor: None }).expect("page");
        assert_eq!(serialized, serde_json::json!({"items": [1]}));
    }
}
