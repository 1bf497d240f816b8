//! Rows in PostgreSQL's COPY text format: tab-separated columns, one row a line, `\N` for
//! null, and backslash escapes for the characters the format reserves.

use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

/// The COPY text of one table, row after row.
#[derive(Debug, Clone)]
pub(crate) struct CopyBuf {
    buf: Vec<u8>,
    /// No column written yet in the current row.
    row_start: bool,
    rows: u64,
}

/// Microseconds since the Unix epoch, UTC.
pub(crate) type Micros = i64;

pub(crate) const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The calendar day (UTC) of an instant.
pub(crate) fn day_of(at: Micros) -> NaiveDate {
    let days = at.div_euclid(MICROS_PER_DAY);
    // 719_163 days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(days + 719_163).unwrap_or(i32::MAX))
        .unwrap_or(NaiveDate::MAX)
}

/// Midnight UTC at the start of `day`.
pub(crate) fn start_of(day: NaiveDate) -> Micros {
    i64::from(day.num_days_from_ce() - 719_163) * MICROS_PER_DAY
}

impl Default for CopyBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl CopyBuf {
    pub(crate) fn new() -> Self {
        Self { buf: Vec::with_capacity(1 << 16), row_start: true, rows: 0 }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows == 0
    }

    fn sep(&mut self) -> &mut Vec<u8> {
        if self.row_start {
            self.row_start = false;
        } else {
            self.buf.push(b'\t');
        }
        &mut self.buf
    }

    /// Ends the current row.
    pub(crate) fn end(&mut self) {
        self.buf.push(b'\n');
        self.row_start = true;
        self.rows += 1;
    }

    pub(crate) fn null(&mut self) -> &mut Self {
        self.sep().extend_from_slice(b"\\N");
        self
    }

    pub(crate) fn uuid(&mut self, id: Uuid) -> &mut Self {
        let mut text = [0u8; 36];
        id.hyphenated().encode_lower(&mut text);
        self.sep().extend_from_slice(&text);
        self
    }

    pub(crate) fn opt_uuid(&mut self, id: Option<Uuid>) -> &mut Self {
        match id {
            Some(id) => self.uuid(id),
            None => self.null(),
        }
    }

    pub(crate) fn text(&mut self, value: &str) -> &mut Self {
        let buf = self.sep();
        escape_into(buf, value);
        self
    }

    pub(crate) fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(value) => self.text(value),
            None => self.null(),
        }
    }

    pub(crate) fn int(&mut self, value: i64) -> &mut Self {
        let buf = self.sep();
        push_int(buf, value);
        self
    }

    pub(crate) fn float(&mut self, value: f64) -> &mut Self {
        let text = format!("{value}");
        self.sep().extend_from_slice(text.as_bytes());
        self
    }

    pub(crate) fn opt_float(&mut self, value: Option<f64>) -> &mut Self {
        match value {
            Some(value) => self.float(value),
            None => self.null(),
        }
    }

    pub(crate) fn bool(&mut self, value: bool) -> &mut Self {
        self.sep().push(if value { b't' } else { b'f' });
        self
    }

    pub(crate) fn opt_bool(&mut self, value: Option<bool>) -> &mut Self {
        match value {
            Some(value) => self.bool(value),
            None => self.null(),
        }
    }

    pub(crate) fn date(&mut self, day: NaiveDate) -> &mut Self {
        let buf = self.sep();
        push_date(buf, day);
        self
    }

    pub(crate) fn opt_date(&mut self, day: Option<NaiveDate>) -> &mut Self {
        match day {
            Some(day) => self.date(day),
            None => self.null(),
        }
    }

    /// A `timestamptz` in UTC with microseconds: `2024-03-05 10:11:12.123456+00`.
    pub(crate) fn ts(&mut self, at: Micros) -> &mut Self {
        let buf = self.sep();
        push_date(buf, day_of(at));
        let in_day = at.rem_euclid(MICROS_PER_DAY);
        let seconds = in_day / 1_000_000;
        buf.push(b' ');
        push_padded(buf, seconds / 3600, 2);
        buf.push(b':');
        push_padded(buf, seconds / 60 % 60, 2);
        buf.push(b':');
        push_padded(buf, seconds % 60, 2);
        buf.push(b'.');
        push_padded(buf, in_day % 1_000_000, 6);
        buf.extend_from_slice(b"+00");
        self
    }

    pub(crate) fn opt_ts(&mut self, at: Option<Micros>) -> &mut Self {
        match at {
            Some(at) => self.ts(at),
            None => self.null(),
        }
    }

    /// A `text[]`: every element quoted, so spaces and commas need no care.
    pub(crate) fn text_array<S: AsRef<str>>(&mut self, items: &[S]) -> &mut Self {
        let buf = self.sep();
        buf.push(b'{');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            // The array literal's own escapes (`\"`, `\\`), then COPY's (`\` → `\\`).
            buf.push(b'"');
            for c in item.as_ref().chars() {
                match c {
                    '"' => buf.extend_from_slice(b"\\\\\""),
                    '\\' => buf.extend_from_slice(b"\\\\\\\\"),
                    c => escape_char(buf, c),
                }
            }
            buf.push(b'"');
        }
        buf.push(b'}');
        self
    }

    /// A `jsonb` given as JSON text.
    pub(crate) fn json(&mut self, value: &serde_json::Value) -> &mut Self {
        let text = value.to_string();
        self.text(&text)
    }
}

fn escape_char(buf: &mut Vec<u8>, c: char) {
    match c {
        '\\' => buf.extend_from_slice(b"\\\\"),
        '\t' => buf.extend_from_slice(b"\\t"),
        '\n' => buf.extend_from_slice(b"\\n"),
        '\r' => buf.extend_from_slice(b"\\r"),
        c => {
            let mut utf8 = [0u8; 4];
            buf.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
    }
}

fn escape_into(buf: &mut Vec<u8>, value: &str) {
    if value.bytes().all(|b| !matches!(b, b'\\' | b'\t' | b'\n' | b'\r')) {
        buf.extend_from_slice(value.as_bytes());
    } else {
        for c in value.chars() {
            escape_char(buf, c);
        }
    }
}

fn push_int(buf: &mut Vec<u8>, value: i64) {
    if value < 0 {
        buf.push(b'-');
    }
    let mut digits = [0u8; 20];
    let mut n = value.unsigned_abs();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

fn push_padded(buf: &mut Vec<u8>, value: i64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut n = value.unsigned_abs();
    let mut i = digits.len();
    while n > 0 {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let start = i.min(digits.len() - width);
    buf.extend_from_slice(&digits[start..]);
}

fn push_date(buf: &mut Vec<u8>, day: NaiveDate) {
    push_padded(buf, i64::from(day.year()), 4);
    buf.push(b'-');
    push_padded(buf, i64::from(day.month()), 2);
    buf.push(b'-');
    push_padded(buf, i64::from(day.day()), 2);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(f: impl FnOnce(&mut CopyBuf)) -> String {
        let mut buf = CopyBuf::new();
        f(&mut buf);
        buf.end();
        String::from_utf8(buf.bytes().to_vec()).expect("utf-8")
    }

    #[test]
    fn columns_are_tab_separated_and_reserved_characters_escaped() {
        let text = row(|b| {
            b.text("a\tb\\c\nd").null().int(-42).int(0).bool(true).opt_text(None);
        });
        assert_eq!(text, "a\\tb\\\\c\\nd\t\\N\t-42\t0\tt\t\\N\n");
    }

    #[test]
    fn timestamps_carry_microseconds_in_utc() {
        let day = NaiveDate::from_ymd_opt(2024, 3, 5).expect("day");
        let at = start_of(day) + ((10 * 3600 + 11 * 60 + 12) * 1_000_000) + 123;
        assert_eq!(
            row(|b| {
                b.ts(at);
            }),
            "2024-03-05 10:11:12.000123+00\n"
        );
        assert_eq!(day_of(at), day);
        assert_eq!(day_of(start_of(day) - 1), day.pred_opt().expect("day"));
        assert_eq!(
            row(|b| {
                b.date(day);
            }),
            "2024-03-05\n"
        );
    }

    #[test]
    fn array_elements_are_quoted_and_escaped_twice() {
        assert_eq!(
            row(|b| {
                b.text_array(&["Al Hassan", "a\"b"]);
            }),
            "{\"Al Hassan\",\"a\\\\\"b\"}\n"
        );
        assert_eq!(
            row(|b| {
                b.text_array::<&str>(&[]);
            }),
            "{}\n"
        );
    }
}
