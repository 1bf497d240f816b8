//! Pages of a list: the page size and cursor bounds every list shares (`spec.rs` declares
//! every `limit` parameter of the document from them, so the two cannot drift), the cursor of
//! a list sorted by a time and an id, and the cut of a fetched page. `crate::query` reads
//! `limit` and `cursor` from a request.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use retour_domain::validation::within_years;
use uuid::Uuid;

/// Items per page when the request does not say. The OpenAPI document declares every
/// `limit` parameter with this default and [`MAX_LIMIT`] (see `spec.rs`).
pub const DEFAULT_LIMIT: u32 = 50;
/// The most items one page holds.
pub const MAX_LIMIT: u32 = 200;
/// Longer `cursor` values are refused before they are decoded.
pub const MAX_CURSOR_LEN: usize = 512;

/// Where the next page of a list sorted by a time and then an id starts: after this row.
/// Opaque to clients (base64url of `list|time|id`) and taken only by the list it came from,
/// so a cursor of one sort is not read as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn new(at: DateTime<Utc>, id: Uuid) -> Self {
        Cursor { at, id }
    }

    /// The `next_cursor` of list `list` (e.g. `cases:updated_at`).
    pub fn encode(&self, list: &str) -> String {
        URL_SAFE_NO_PAD.encode(format!("{list}|{}|{}", self.at.to_rfc3339(), self.id))
    }

    /// A cursor [`Cursor::encode`] gave for `list`; `None` for anything else.
    pub fn decode(list: &str, value: &str) -> Option<Self> {
        if value.len() > MAX_CURSOR_LEN {
            return None;
        }
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(value).ok()?).ok()?;
        let mut parts = text.split('|');
        let (tag, at, id) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || tag != list {
            return None;
        }
        let at = DateTime::parse_from_rfc3339(at).ok()?.to_utc();
        within_years("cursor", at.date_naive()).ok()?;
        Some(Cursor { at, id: Uuid::parse_str(id).ok()? })
    }
}

/// A place in the event feed: after the event of the writing transaction `tx` with
/// sequence number `seq` (see `retour_store::events`). Opaque like [`Cursor`] (base64url of
/// `events|tx|seq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedCursor {
    pub tx: i64,
    pub seq: i64,
}

impl FeedCursor {
    const TAG: &str = "events";

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}|{}", Self::TAG, self.tx, self.seq))
    }

    /// A cursor [`FeedCursor::encode`] gave; `None` for anything else.
    pub fn decode(value: &str) -> Option<Self> {
        if value.len() > MAX_CURSOR_LEN {
            return None;
        }
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(value).ok()?).ok()?;
        let mut parts = text.split('|');
        let (tag, tx, seq) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || tag != Self::TAG {
            return None;
        }
        let (tx, seq) = (tx.parse::<i64>().ok()?, seq.parse::<i64>().ok()?);
        (tx >= 0 && seq >= 0).then_some(FeedCursor { tx, seq })
    }
}

/// Where the next page of a list sorted by a day (lists without one last), then a time and
/// an id starts (the work queue: by due date, then since when). Opaque like [`Cursor`]
/// (base64url of `list|day|time|id`, the day empty when there is none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCursor {
    pub on: Option<NaiveDate>,
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl DayCursor {
    pub fn encode(&self, list: &str) -> String {
        let on = self.on.map(|d| d.to_string()).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(format!("{list}|{on}|{}|{}", self.at.to_rfc3339(), self.id))
    }

    /// A cursor [`DayCursor::encode`] gave for `list`; `None` for anything else.
    pub fn decode(list: &str, value: &str) -> Option<Self> {
        if value.len() > MAX_CURSOR_LEN {
            return None;
        }
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(value).ok()?).ok()?;
        let (tag, rest) = text.split_once('|')?;
        let (on, rest) = rest.split_once('|')?;
        if tag != list {
            return None;
        }
        let on = match on {
            "" => None,
            day => Some(within_years("cursor", day.parse::<NaiveDate>().ok()?).ok()?),
        };
        let Cursor { at, id } =
            Cursor::decode(list, &URL_SAFE_NO_PAD.encode(format!("{list}|{rest}")))?;
        Some(DayCursor { on, at, id })
    }
}

/// Cuts `rows`, fetched with one row more than `limit`, to the page, and returns the position
/// after its last row when another page follows.
pub fn cut<T, K>(rows: &mut Vec<T>, limit: u32, key: impl FnOnce(&T) -> K) -> Option<K> {
    let limit = limit as usize;
    let more = rows.len() > limit;
    rows.truncate(limit);
    if more { rows.last().map(key) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_cursor_round_trips_and_refuses_what_it_did_not_give() {
        let cursor = FeedCursor { tx: 7_000_123, seq: 42 };
        assert_eq!(FeedCursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(
            FeedCursor::decode(&Cursor::new(Utc::now(), Uuid::nil()).encode("events")),
            None
        );
        assert_eq!(FeedCursor::decode(&URL_SAFE_NO_PAD.encode("events|-1|2")), None);
        assert_eq!(FeedCursor::decode(&URL_SAFE_NO_PAD.encode("events|1|2|3")), None);
        assert_eq!(FeedCursor::decode("not base64!"), None);
    }

    #[test]
    fn a_cursor_is_taken_only_by_its_own_list() {
        let at =
            DateTime::parse_from_rfc3339("2026-11-27T08:00:00.123456Z").expect("time").to_utc();
        let cursor = Cursor::new(at, Uuid::from_u128(7));
        let encoded = cursor.encode("cases:updated_at");
        assert_eq!(Cursor::decode("cases:updated_at", &encoded), Some(cursor));
        assert_eq!(Cursor::decode("cases:created_at", &encoded), None);
        assert_eq!(Cursor::decode("cases:updated_at", "bm9wZQ"), None);
        assert_eq!(Cursor::decode("cases:updated_at", &"A".repeat(MAX_CURSOR_LEN + 1)), None);
        // A year the database does not keep is no cursor of ours.
        let far = URL_SAFE_NO_PAD.encode(format!("x|0000-01-01T00:00:00Z|{}", Uuid::nil()));
        assert_eq!(Cursor::decode("x", &far), None);
    }

    #[test]
    fn a_day_cursor_keeps_its_day_or_its_absence() {
        let at = DateTime::parse_from_rfc3339("2026-11-27T08:00:00.5Z").expect("time").to_utc();
        let day = NaiveDate::from_ymd_opt(2026, 12, 14);
        for on in [day, None] {
            let cursor = DayCursor { on, at, id: Uuid::from_u128(9) };
            let encoded = cursor.encode("queue");
            assert_eq!(DayCursor::decode("queue", &encoded), Some(cursor));
            assert_eq!(DayCursor::decode("cases:updated_at", &encoded), None);
        }
        let plain = Cursor::new(at, Uuid::from_u128(9)).encode("queue");
        assert_eq!(DayCursor::decode("queue", &plain), None);
    }

    #[test]
    fn a_page_is_cut_to_its_limit_and_says_whether_more_follow() {
        let mut rows = vec![1, 2, 3];
        assert_eq!(cut(&mut rows, 2, |r| *r), Some(2));
        assert_eq!(rows, [1, 2]);
        let mut rows = vec![1, 2];
        assert_eq!(cut(&mut rows, 2, |r| *r), None);
        assert_eq!(rows, [1, 2]);
    }
}
