//! Field-level validation errors, collected so a client sees every problem at once, and the
//! plausible ranges of the dates clients send.

use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// One invalid or missing field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Path of the field in the request body, e.g. `persons[1].zemis_number`.
    pub field: String,
    /// Stable machine-readable code, e.g. `required`, `invalid_format`, `too_long`.
    pub code: String,
    /// Human-readable explanation naming the field.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.to_owned(), message: message.into() }
    }
}

/// Collects field errors while a request is parsed; empty means valid.
#[derive(Debug, Default)]
pub struct Validation {
    errors: Vec<FieldError>,
}

impl Validation {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, field: impl Into<String>, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, code, message));
    }

    /// Records an error a rule produced whole.
    pub fn add(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// Records the error of a parse result and returns its value, if any.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.errors.push(error);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(value)` when nothing was recorded, else every recorded error.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() { Ok(value) } else { Err(self.errors) }
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }
}

/// A required, trimmed, non-empty string of at most `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, "required", format!("{field} must not be empty")));
    }
    if trimmed.chars().count() > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("{field} must be at most {max} characters"),
        ));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(FieldError::new(
            field,
            "invalid_characters",
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// The years any date or time a client sends may fall in, before it is checked further or
/// reaches the database: PostgreSQL would store year 0 and negative years as dates BC, which
/// the server cannot read back, and beyond 9999 nobody means a calendar date.
pub const YEARS: RangeInclusive<i32> = 1..=9999;

/// The earliest date of birth, and of entry into Switzerland.
pub const EARLIEST_BIRTH: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(date) => date,
    None => panic!("valid date"),
};

/// How many years before today an event of a case may be dated: a declaration signed, a
/// departure, a flight, a payment, a monitoring visit. A case runs its course within a few
/// years; an older date is a typing error (`0001` for `2026`).
pub const EVENT_YEARS_BACK: u32 = 5;

/// How many years after today an event may be planned: a departure, a flight, a monitoring
/// visit due, a tariff taking effect.
pub const EVENT_YEARS_AHEAD: u32 = 3;

/// A date of a field, within [`YEARS`]; the error names the field.
pub fn within_years(field: &str, date: NaiveDate) -> Result<NaiveDate, FieldError> {
    if YEARS.contains(&date.year()) {
        Ok(date)
    } else {
        Err(FieldError::new(
            field,
            "out_of_range",
            format!("{field} must lie in the years {} to {}", YEARS.start(), YEARS.end()),
        ))
    }
}

/// A date written `YYYY-MM-DD`, in [`YEARS`].
pub fn parse_date(field: &str, value: &str) -> Result<NaiveDate, FieldError> {
    let date = value.trim().parse::<NaiveDate>().map_err(|_| {
        FieldError::new(field, "invalid_date", format!("{field} must be a date written YYYY-MM-DD"))
    })?;
    within_years(field, date)
}

/// An RFC 3339 time (`2026-12-15T09:40:00Z`), in [`YEARS`].
pub fn parse_time(field: &str, value: &str) -> Result<DateTime<Utc>, FieldError> {
    let at = DateTime::parse_from_rfc3339(value.trim()).map_err(|_| {
        FieldError::new(
            field,
            "invalid_format",
            format!("{field} must be an RFC 3339 timestamp such as 2026-12-15T09:40:00Z"),
        )
    })?;
    let at = at.with_timezone(&Utc);
    within_years(field, at.date_naive())?;
    Ok(at)
}

/// The days a date may fall on, both ends included, around today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateSpan {
    pub earliest: NaiveDate,
    pub latest: NaiveDate,
    /// The span starts (ends) today: a date before (after) it is in the past (future).
    starts_today: bool,
    ends_today: bool,
}

impl DateSpan {
    /// A date of birth or of entry: from [`EARLIEST_BIRTH`] to today.
    pub fn lifetime(today: NaiveDate) -> Self {
        DateSpan { earliest: EARLIEST_BIRTH, latest: today, starts_today: false, ends_today: true }
    }

    /// An event that has happened: within [`EVENT_YEARS_BACK`] years up to today.
    pub fn past_events(today: NaiveDate) -> Self {
        DateSpan {
            earliest: years_before(today, EVENT_YEARS_BACK),
            latest: today,
            starts_today: false,
            ends_today: true,
        }
    }

    /// An event that happened or is planned: within [`EVENT_YEARS_BACK`] years before and
    /// [`EVENT_YEARS_AHEAD`] years after today.
    pub fn events(today: NaiveDate) -> Self {
        DateSpan {
            earliest: years_before(today, EVENT_YEARS_BACK),
            latest: years_after(today, EVENT_YEARS_AHEAD),
            starts_today: false,
            ends_today: false,
        }
    }

    /// An event planned: from today to [`EVENT_YEARS_AHEAD`] years after.
    pub fn plans(today: NaiveDate) -> Self {
        DateSpan {
            earliest: today,
            latest: years_after(today, EVENT_YEARS_AHEAD),
            starts_today: true,
            ends_today: false,
        }
    }

    /// `date` when it lies in the span, else an error naming `field`: `in_past` or
    /// `in_future` beyond an end that is today, `too_early` or `too_far` beyond another.
    pub fn check(self, field: &str, date: NaiveDate) -> Result<NaiveDate, FieldError> {
        let (code, message) = match (date < self.earliest, date > self.latest) {
            (true, _) if self.starts_today => {
                ("in_past", format!("{field} must not be in the past"))
            }
            (true, _) => ("too_early", format!("{field} must not be before {}", self.earliest)),
            (_, true) if self.ends_today => {
                ("in_future", format!("{field} must not be in the future"))
            }
            (_, true) => ("too_far", format!("{field} must not be after {}", self.latest)),
            (false, false) => return Ok(date),
        };
        Err(FieldError::new(field, code, message))
    }

    /// A time whose day (UTC) lies in the span.
    pub fn check_time(self, field: &str, at: DateTime<Utc>) -> Result<DateTime<Utc>, FieldError> {
        self.check(field, at.date_naive()).map(|_| at)
    }
}

/// `today` less `years`; `YEARS` keeps the result representable.
fn years_before(today: NaiveDate, years: u32) -> NaiveDate {
    today.checked_sub_months(Months::new(years * 12)).unwrap_or(NaiveDate::MIN)
}

fn years_after(today: NaiveDate, years: u32) -> NaiveDate {
    today.checked_add_months(Months::new(years * 12)).unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("name", "  Ana ", 10), Ok("Ana".to_owned()));
        assert_eq!(text("name", "   ", 10).map_err(|e| e.code), Err("required".to_owned()));
        assert_eq!(text("name", "abcdef", 5).map_err(|e| e.code), Err("too_long".to_owned()));
        assert_eq!(
            text("name", "a\u{0}b", 5).map_err(|e| e.code),
            Err("invalid_characters".to_owned())
        );
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    fn code<T>(result: Result<T, FieldError>) -> String {
        result.err().map(|e| e.code).unwrap_or_default()
    }

    #[test]
    fn dates_and_times_outside_the_years_1_to_9999_are_out_of_range() {
        assert_eq!(parse_date("d", " 2026-12-06 "), Ok(day(2026, 12, 6)));
        assert_eq!(parse_date("d", "0001-01-01"), Ok(day(1, 1, 1)));
        assert_eq!(parse_date("d", "9999-12-31"), Ok(day(9999, 12, 31)));
        for bad in ["0000-01-01", "-0001-05-01", "+10000-01-01"] {
            let error = parse_date("persons[0].entry_date", bad).expect_err(bad);
            assert_eq!(error.field, "persons[0].entry_date", "{bad}");
            assert!(["out_of_range", "invalid_date"].contains(&error.code.as_str()), "{bad}");
        }
        assert_eq!(code(parse_date("d", "0000-01-01")), "out_of_range");
        assert_eq!(code(parse_date("d", "06.12.2026")), "invalid_date");
        assert_eq!(
            parse_time("t", "2026-12-15T09:40:00+01:00").map(|t| t.to_rfc3339()),
            Ok("2026-12-15T08:40:00+00:00".to_owned())
        );
        assert_eq!(code(parse_time("t", "0000-06-01T00:00:00Z")), "out_of_range");
        assert_eq!(code(parse_time("t", "0001-01-01T00:30:00+01:00")), "out_of_range");
        assert_eq!(code(parse_time("t", "2026-12-15")), "invalid_format");
        assert_eq!(code(within_years("d", day(0, 1, 1))), "out_of_range");
        assert_eq!(code(within_years("d", day(-44, 3, 15))), "out_of_range");
    }

    #[test]
    fn each_span_names_what_lies_beyond_its_ends() {
        let today = day(2026, 12, 6);
        let life = DateSpan::lifetime(today);
        assert_eq!(life.check("d", day(1900, 1, 1)), Ok(day(1900, 1, 1)));
        assert_eq!(code(life.check("d", day(1899, 12, 31))), "too_early");
        assert_eq!(code(life.check("d", day(2026, 12, 7))), "in_future");

        let past = DateSpan::past_events(today);
        assert_eq!(past.earliest, day(2021, 12, 6));
        assert!(past.check("d", day(2021, 12, 6)).is_ok() && past.check("d", today).is_ok());
        assert_eq!(code(past.check("d", day(2021, 12, 5))), "too_early");
        assert_eq!(code(past.check("d", day(1, 1, 1))), "too_early");
        assert_eq!(code(past.check("d", day(2026, 12, 7))), "in_future");

        let events = DateSpan::events(today);
        assert_eq!((events.earliest, events.latest), (day(2021, 12, 6), day(2029, 12, 6)));
        assert_eq!(code(events.check("d", day(2029, 12, 7))), "too_far");
        assert_eq!(code(events.check("d", day(2021, 12, 5))), "too_early");

        let plans = DateSpan::plans(today);
        assert_eq!(code(plans.check("d", day(2026, 12, 5))), "in_past");
        assert_eq!(code(plans.check("d", day(2029, 12, 7))), "too_far");
        assert!(plans.check("d", day(2029, 12, 6)).is_ok());

        let at = DateTime::parse_from_rfc3339("0001-01-01T10:00:00Z").expect("t").to_utc();
        assert_eq!(code(past.check_time("departed_at", at)), "too_early");
        // A leap day moves to the last day of February.
        assert_eq!(DateSpan::past_events(day(2028, 2, 29)).earliest, day(2023, 2, 28));
    }

    #[test]
    fn validation_collects_every_error() {
        let mut v = Validation::new();
        assert_eq!(v.check(text("a", "", 3)), None);
        assert_eq!(v.check(text("b", "ok", 3)), Some("ok".to_owned()));
        v.push("c", "required", "c is required");
        let errors = v.finish(()).expect_err("two errors");
        assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["a", "c"]);
    }
}
