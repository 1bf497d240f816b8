//! Every CSV the server writes: RFC 4180 (CRLF line ends, fields quoted where needed), UTF-8,
//! and no cell that a spreadsheet would run as a formula.
//!
//! A CSV export is opened in a spreadsheet, and some of its cells come from outside: a
//! request id a client sent, an action name, a filter value. A cell starting with `=`, `+`,
//! `-` or `@` is a formula to Excel, LibreOffice and Google Sheets (`=HYPERLINK(…)` sends the
//! reader elsewhere, `=cmd|…` once ran programs), and a leading tab or carriage return hides
//! such a start from a careless check. Following OWASP ("CSV injection"), such a cell gets a
//! leading single quote, which spreadsheets show as text and do not evaluate. A cell that is
//! wholly a decimal number (`-12`, `18.8`) is left alone: no spreadsheet reads a plain number
//! as a formula, and the figures the server writes must stay numbers.

use std::borrow::Cow;

/// The characters a spreadsheet reads as the start of a formula (or that hide one).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `cell`, prefixed with `'` when a spreadsheet would take it for a formula.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) && !is_plain_number(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// `-`? digits, optionally `.` and digits: a number as Rust prints an integer or a float.
fn is_plain_number(cell: &str) -> bool {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && all_digits(fraction)
}

/// Writes CSV rows into memory, neutralising every cell.
pub struct CsvWriter(csv::Writer<Vec<u8>>);

impl CsvWriter {
    pub fn new() -> Self {
        CsvWriter(
            csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .has_headers(false)
                .from_writer(Vec::new()),
        )
    }

    /// One row (the header row too: its names are the server's, neutralising changes none).
    pub fn row<I, S>(&mut self, cells: I) -> Result<(), csv::Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let cells: Vec<S> = cells.into_iter().collect();
        self.0.write_record(cells.iter().map(|cell| neutralise(cell.as_ref()).into_owned()))
    }

    /// The CSV written so far.
    pub fn into_bytes(self) -> Result<Vec<u8>, csv::Error> {
        self.0.into_inner().map_err(|e| e.into_error().into())
    }
}

impl Default for CsvWriter {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_evaluate_get_a_leading_quote() {
        for (cell, expected) in [
            ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
            ("+41 31 000 00 00", "'+41 31 000 00 00"),
            ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
            ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
            ("\t=1+1", "'\t=1+1"),
            ("\r=1+1", "'\r=1+1"),
            ("-", "'-"),
            ("-1.", "'-1."),
            ("-.5", "'-.5"),
            ("-1e5", "'-1e5"),
        ] {
            assert_eq!(neutralise(cell), expected, "{cell:?}");
        }
    }

    #[test]
    fn text_that_starts_otherwise_and_plain_numbers_are_left_alone() {
        for cell in [
            "",
            "case.read",
            "a=b",
            "'=already quoted",
            " =leading space",
            "{\"n\":-1}",
            "2026-11-27T08:00:00.000000Z",
            "0",
            "1400000",
            "-12",
            "18.8",
            "-0.25",
        ] {
            assert!(matches!(neutralise(cell), Cow::Borrowed(c) if c == cell), "{cell:?}");
        }
    }

    #[test]
    fn the_writer_quotes_fields_and_neutralises_every_cell() {
        let mut writer = CsvWriter::new();
        writer.row(["request_id", "count"]).expect("header");
        writer.row(["=HYPERLINK(\"http://x\",\"y\")", "-3"]).expect("row");
        writer.row(["Zürich, \"Nord\"", "two\nlines"]).expect("row");
        assert_eq!(
            String::from_utf8(writer.into_bytes().expect("csv")).expect("utf-8"),
            "request_id,count\r\n\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",-3\r\n\
             \"Zürich, \"\"Nord\"\"\",\"two\nlines\"\r\n"
        );
    }
}
