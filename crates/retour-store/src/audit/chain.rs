//! The hash chain over the access log, and the canonical encoding of the event each link
//! seals. This is the specification an independent verifier needs; keep it exact.
//!
//! # The chain
//!
//! Link `n` is the row of `audit_seals` with `seq = n`; links are numbered from 1 without
//! gaps, in the order the sealer appended them (not necessarily the order of `occurred_at`:
//! an event of a long transaction becomes visible, and so is sealed, after later ones).
//!
//! ```text
//! hash(n)      = SHA-256( prev_hash(n) ‖ UTF-8 bytes of canonical(n) )
//! prev_hash(n) = hash(n − 1); for n = 1 it is 32 zero bytes
//! ```
//!
//! `prev_hash` and `hash` are the 32 raw digest bytes (`bytea`); reports and exports show
//! them as lowercase hex. After a prune of links `a..=k` the chain goes on from link `k + 1`,
//! whose `prev_hash` is still `hash(k)`: the sealed `audit.prune` event records
//! `pruned_through_seq = k` and `last_hash = hex(hash(k))`, and verification starts from the
//! latest such record (the anchor) instead of from zero.
//!
//! # The canonical encoding
//!
//! `canonical(n)` is one JSON array, written without any whitespace, of exactly these 17
//! elements in this order (column names of `audit_seals` and `audit_events`):
//!
//! | # | value | encoding |
//! |---|---|---|
//! | 1 | the literal `"retour-audit-v1"` | string (the encoding's version) |
//! | 2 | `seq` | integer |
//! | 3 | `sealed_at` | timestamp |
//! | 4 | `id` | uuid |
//! | 5 | `occurred_at` | timestamp |
//! | 6 | `actor_type` | string |
//! | 7 | `actor_id` | uuid or null |
//! | 8 | `actor_institution_id` | uuid or null |
//! | 9 | `actor_role` | string or null |
//! | 10 | `action` | string |
//! | 11 | `resource_type` | string or null |
//! | 12 | `resource_id` | uuid or null |
//! | 13 | `resource_ids` | array of uuid, in stored order; `[]` when empty |
//! | 14 | `outcome` | string |
//! | 15 | `details` | canonical JSON |
//! | 16 | `request_id` | string or null |
//! | 17 | `client_addr` | inet or null |
//!
//! Elements are separated by `,` and the array is enclosed in `[` `]`. Values:
//!
//! - **null** (SQL `NULL`): `null`.
//! - **integer**: decimal digits, with `-` when negative, no leading zeros.
//! - **string**: `"`, then the text with `"` written `\"`, `\` written `\\`, U+0008 `\b`,
//!   U+000C `\f`, U+000A `\n`, U+000D `\r`, U+0009 `\t`, every other character below U+0020
//!   as `\u00xx` (lowercase hex), and every other character as itself in UTF-8 (no escaping
//!   of `/` or of non-ASCII); then `"`.
//! - **uuid**: a string holding the lowercase hyphenated form, e.g.
//!   `"0193a6f0-2b1c-7d3e-8f40-123456789abc"`.
//! - **timestamp**: a string `YYYY-MM-DDTHH:MM:SS.ffffffZ`: UTC, always exactly six
//!   fractional digits (PostgreSQL stores microseconds), e.g. `"2026-11-27T09:05:00.120000Z"`.
//! - **inet**: a string: the address in standard text form (IPv4 dotted decimal; IPv6 per
//!   RFC 5952, lowercase, the longest run of two or more zero groups written `::`, an
//!   IPv4-mapped address as `::ffff:a.b.c.d`), followed by `/prefix` only when the prefix is
//!   shorter than the address (32 or 128 bits), e.g. `"192.0.2.7"`, `"2001:db8::1"`,
//!   `"10.1.0.0/16"`.
//! - **canonical JSON** (`details`, a `jsonb`): objects as `{"key":value,…}` with their keys
//!   sorted by Unicode code point (which is byte-wise UTF-8 order); arrays as `[a,b,…]` in
//!   their order; strings as above; `true`, `false`, `null`; numbers as read from PostgreSQL's
//!   text form of the jsonb: integers within 64 bits as plain decimal, any other as the
//!   shortest decimal that reads back as the same IEEE 754 double (`0.5`, `1.0`, `1e300`).
//!   Details are meant to hold strings, integers and booleans.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::query::{Seal, StoredEvent};

/// The encoding's version, the first element of every canonical record.
pub const VERSION: &str = "retour-audit-v1";

/// `prev_hash` of link 1.
pub const GENESIS: [u8; 32] = [0; 32];

/// The canonical encoding of link `seq`, sealed at `sealed_at`, over `event`.
pub fn canonical(seq: i64, sealed_at: DateTime<Utc>, event: &StoredEvent) -> String {
    let mut out = String::with_capacity(512);
    out.push('[');
    string(&mut out, VERSION);
    out.push(',');
    let _ = write!(out, "{seq}");
    out.push(',');
    timestamp(&mut out, sealed_at);
    out.push(',');
    uuid(&mut out, Some(event.id));
    out.push(',');
    timestamp(&mut out, event.occurred_at);
    out.push(',');
    string(&mut out, &event.actor_type);
    out.push(',');
    uuid(&mut out, event.actor_id);
    out.push(',');
    uuid(&mut out, event.actor_institution_id);
    out.push(',');
    opt_string(&mut out, event.actor_role.as_deref());
    out.push(',');
    string(&mut out, &event.action);
    out.push(',');
    opt_string(&mut out, event.resource_type.as_deref());
    out.push(',');
    uuid(&mut out, event.resource_id);
    out.push(',');
    out.push('[');
    for (i, id) in event.resource_ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        uuid(&mut out, Some(*id));
    }
    out.push(']');
    out.push(',');
    string(&mut out, &event.outcome);
    out.push(',');
    json(&mut out, &event.details);
    out.push(',');
    opt_string(&mut out, event.request_id.as_deref());
    out.push(',');
    opt_string(&mut out, event.client_addr_text().as_deref());
    out.push(']');
    out
}

/// `hash(n)` from `prev_hash(n)` and `canonical(n)`.
pub fn link_hash(prev_hash: &[u8], canonical: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(canonical.as_bytes());
    hasher.finalize().into()
}

/// `details` (or any JSON value) in canonical form.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    json(&mut out, value);
    out
}

fn json(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(out, key);
                out.push(':');
                json(out, item);
            }
            out.push('}');
        }
    }
}

fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn opt_string(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.push_str("null"),
    }
}

fn uuid(out: &mut String, id: Option<Uuid>) {
    match id {
        Some(id) => {
            let _ = write!(out, "\"{}\"", id.hyphenated());
        }
        None => out.push_str("null"),
    }
}

fn timestamp(out: &mut String, at: DateTime<Utc>) {
    let _ = write!(out, "\"{}\"", at.format("%Y-%m-%dT%H:%M:%S%.6fZ"));
}

/// Checks links one after another, from an anchor: the seq and hash of the link before the
/// first one (0 and [`GENESIS`] for a chain that was never pruned).
#[derive(Debug, Clone)]
pub(crate) struct Walker {
    next_seq: i64,
    prev_hash: [u8; 32],
    checked: u64,
    broken: Option<i64>,
}

impl Walker {
    pub(crate) fn new(anchor_seq: i64, anchor_hash: [u8; 32]) -> Self {
        Self { next_seq: anchor_seq + 1, prev_hash: anchor_hash, checked: 0, broken: None }
    }

    /// Checks the next link and its event (`None`: the event row is missing). Returns false,
    /// and remembers where, once the chain is broken: at the first missing seq of a gap, at a
    /// link whose `prev_hash` is not the previous hash, whose event is missing, or whose hash
    /// does not match its recomputed value.
    pub(crate) fn check(&mut self, seal: &Seal, event: Option<&StoredEvent>) -> bool {
        if self.broken.is_some() {
            return false;
        }
        let intact = seal.seq == self.next_seq
            && seal.prev_hash == self.prev_hash
            && event.is_some_and(|event| {
                link_hash(&self.prev_hash, &canonical(seal.seq, seal.sealed_at, event))
                    == seal.hash.as_slice()
            });
        if !intact {
            self.broken = Some(seal.seq.min(self.next_seq));
            return false;
        }
        self.prev_hash.copy_from_slice(&seal.hash);
        self.next_seq += 1;
        self.checked += 1;
        true
    }

    /// Marks the chain broken at the next expected link (e.g. a missing start).
    pub(crate) fn break_here(&mut self) {
        if self.broken.is_none() {
            self.broken = Some(self.next_seq);
        }
    }

    pub(crate) fn checked(&self) -> u64 {
        self.checked
    }

    pub(crate) fn broken(&self) -> Option<i64> {
        self.broken
    }

    /// The hash of the last link checked (the anchor's before any).
    pub(crate) fn last_hash(&self) -> [u8; 32] {
        self.prev_hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> StoredEvent {
        StoredEvent {
            id: Uuid::from_u128(0x0193a6f0_2b1c_7d3e_8f40_123456789abc),
            occurred_at: DateTime::parse_from_rfc3339("2026-11-27T09:05:00.12Z")
                .expect("time")
                .with_timezone(&Utc),
            actor_type: "user".to_owned(),
            actor_id: Some(Uuid::from_u128(1)),
            actor_institution_id: None,
            actor_role: Some("counsellor".to_owned()),
            action: "case.list".to_owned(),
            resource_type: Some("case".to_owned()),
            resource_id: None,
            resource_ids: vec![Uuid::from_u128(2), Uuid::from_u128(3)],
            outcome: "allowed".to_owned(),
            details: json!({"z": 1, "a": [true, null, 0.5], "m": {"b": "x\"y", "a": "\u{1}"}}),
            request_id: Some("req\n1".to_owned()),
            client_addr: Some("2001:db8:0:0:0:0:0:1/128".parse().expect("inet")),
        }
    }

    #[test]
    fn the_canonical_encoding_is_exactly_the_documented_one() {
        let sealed_at =
            DateTime::parse_from_rfc3339("2026-11-27T09:05:01Z").expect("time").with_timezone(&Utc);
        assert_eq!(
            canonical(7, sealed_at, &event()),
            concat!(
                r#"["retour-audit-v1",7,"2026-11-27T09:05:01.000000Z","#,
                r#""0193a6f0-2b1c-7d3e-8f40-123456789abc","2026-11-27T09:05:00.120000Z","#,
                r#""user","00000000-0000-0000-0000-000000000001",null,"counsellor","case.list","#,
                r#""case",null,["00000000-0000-0000-0000-000000000002","#,
                r#""00000000-0000-0000-0000-000000000003"],"allowed","#,
                r#"{"a":[true,null,0.5],"m":{"a":"\u0001","b":"x\"y"},"z":1},"req\n1","#,
                r#""2001:db8::1"]"#
            )
        );
    }

    #[test]
    fn addresses_keep_their_prefix_only_when_it_is_shorter_than_the_address() {
        let mut e = event();
        e.client_addr = Some("192.0.2.7/32".parse().expect("inet"));
        assert_eq!(e.client_addr_text().as_deref(), Some("192.0.2.7"));
        e.client_addr = Some("10.1.0.0/16".parse().expect("inet"));
        assert_eq!(e.client_addr_text().as_deref(), Some("10.1.0.0/16"));
        e.client_addr = Some("::ffff:192.0.2.7/128".parse().expect("inet"));
        assert_eq!(e.client_addr_text().as_deref(), Some("::ffff:192.0.2.7"));
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_control_characters_only() {
        let mut out = String::new();
        string(&mut out, "a\"b\\c/d\u{8}\u{c}\n\r\t\u{1f}é€");
        assert_eq!(out, "\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\\u001fé€\"");
    }

    #[test]
    fn the_hash_covers_the_previous_hash_and_every_field() {
        let sealed_at = Utc::now();
        let base = link_hash(&GENESIS, &canonical(1, sealed_at, &event()));
        assert_ne!(base, link_hash(&[1; 32], &canonical(1, sealed_at, &event())));
        assert_ne!(base, link_hash(&GENESIS, &canonical(2, sealed_at, &event())));
        let mut changed = event();
        changed.outcome = "denied".to_owned();
        assert_ne!(base, link_hash(&GENESIS, &canonical(1, sealed_at, &changed)));
        let mut changed = event();
        changed.details = json!({"z": 2, "a": [true, null, 0.5], "m": {}});
        assert_ne!(base, link_hash(&GENESIS, &canonical(1, sealed_at, &changed)));
        // Key order in the stored object does not matter; the values do.
        let mut reordered = event();
        reordered.details =
            json!({"m": {"a": "\u{1}", "b": "x\"y"}, "z": 1, "a": [true, null, 0.5]});
        assert_eq!(base, link_hash(&GENESIS, &canonical(1, sealed_at, &reordered)));
    }

    #[test]
    fn the_walker_reports_gaps_at_the_first_missing_link() {
        let sealed_at = Utc::now();
        let e = event();
        let h1 = link_hash(&GENESIS, &canonical(1, sealed_at, &e));
        let seal = |seq, prev: [u8; 32], hash: [u8; 32]| Seal {
            seq,
            prev_hash: prev.to_vec(),
            hash: hash.to_vec(),
            sealed_at,
        };
        let mut walker = Walker::new(0, GENESIS);
        assert!(walker.check(&seal(1, GENESIS, h1), Some(&e)));
        let h3 = link_hash(&h1, &canonical(3, sealed_at, &e));
        assert!(!walker.check(&seal(3, h1, h3), Some(&e)));
        assert_eq!(walker.broken(), Some(2));
        assert_eq!(walker.checked(), 1);

        let mut walker = Walker::new(0, GENESIS);
        assert!(!walker.check(&seal(1, GENESIS, h1), None), "a missing event breaks its link");
        assert_eq!(walker.broken(), Some(1));
    }
}
