//! The query string of a request: one parser for every route that takes parameters, and the
//! refusal of a NUL character (`%00`) in a parameter's name or value, which PostgreSQL cannot
//! compare with text (see `layers::refuse_nul_in_query`).
//!
//! A route reads each of its parameters from [`QueryParams`] once, by name and with the
//! parser of its type; [`QueryParams::finish`] then names every problem in one 422: an
//! unknown parameter (`unknown_parameter`), one given twice (`repeated`), a value that does
//! not parse (`invalid_value`, or `unknown_value` for a value outside a list), a page size or
//! time out of range (`out_of_range`), a cursor of another list (`invalid_cursor`).

use axum::extract::Query as AxumQuery;
use axum::http::Uri;
use chrono::{DateTime, NaiveDate, Utc};
use retour_domain::validation::within_years;
use retour_domain::{FieldError, Validation};
use uuid::Uuid;

use crate::ApiError;
use crate::pagination::{Cursor, DEFAULT_LIMIT, DayCursor, FeedCursor, MAX_LIMIT};

/// The parameters of one request's query string, read one by one.
#[derive(Debug)]
pub(crate) struct QueryParams {
    /// Every pair given, values trimmed, in order; `None` once a reader took it.
    pairs: Vec<Option<(String, String)>>,
    names: Vec<String>,
    errors: Validation,
}

impl QueryParams {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs: Vec<_> = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .map(|(name, value)| Some((name.into_owned(), value.trim().to_owned())))
            .collect();
        let mut names: Vec<String> = Vec::new();
        for (name, _) in pairs.iter().flatten() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        QueryParams { pairs, names, errors: Validation::new() }
    }

    /// The names of the parameters given, once each, in order: what an access-log event may
    /// hold of a query (never a value).
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// Every value given for `name` (a parameter that may repeat).
    pub(crate) fn all(&mut self, name: &str) -> Vec<String> {
        self.pairs
            .iter_mut()
            .filter(|pair| pair.as_ref().is_some_and(|(n, _)| n == name))
            .filter_map(|pair| pair.take().map(|(_, value)| value))
            .collect()
    }

    /// The value of `name`, which may be given once.
    pub(crate) fn one(&mut self, name: &str) -> Option<String> {
        let mut values = self.all(name).into_iter();
        let value = values.next();
        if values.next().is_some() {
            self.errors.push(name, "repeated", format!("{name} may be given only once"));
            return None;
        }
        value
    }

    /// `name` read by `parse`; a value it refuses is `invalid_value`, told by `expected`
    /// ("must be a UUID").
    pub(crate) fn parsed<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Option<T>,
        expected: &str,
    ) -> Option<T> {
        self.read(name, "invalid_value", parse, expected)
    }

    /// `name` as one of a list of values (`names`, comma-separated, for the message).
    pub(crate) fn one_of<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Option<T>,
        names: &str,
    ) -> Option<T> {
        self.read(name, "unknown_value", parse, &format!("must be one of: {names}"))
    }

    fn read<T>(
        &mut self,
        name: &str,
        code: &str,
        parse: impl FnOnce(&str) -> Option<T>,
        expected: &str,
    ) -> Option<T> {
        let value = self.one(name)?;
        let parsed = parse(&value);
        if parsed.is_none() {
            self.errors.push(name, code, format!("{name} {expected}"));
        }
        parsed
    }

    /// `name` read by `parse`, whose error names the field itself.
    pub(crate) fn checked<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, FieldError>,
    ) -> Option<T> {
        let value = self.one(name)?;
        self.errors.check(parse(&value))
    }

    /// A date `YYYY-MM-DD` in the years the database keeps.
    pub(crate) fn date(&mut self, name: &str) -> Option<NaiveDate> {
        self.checked(name, |v| retour_domain::validation::parse_date(name, v))
    }

    pub(crate) fn uuid(&mut self, name: &str) -> Option<Uuid> {
        self.parsed(name, |v| Uuid::parse_str(v).ok(), "must be a UUID")
    }

    pub(crate) fn bool(&mut self, name: &str) -> Option<bool> {
        self.parsed(name, |v| v.parse().ok(), "must be true or false")
    }

    /// An RFC 3339 time in the years the database keeps.
    pub(crate) fn time(&mut self, name: &str) -> Option<DateTime<Utc>> {
        let at = self.parsed(
            name,
            |v| DateTime::parse_from_rfc3339(v).ok().map(|t| t.to_utc()),
            "must be an RFC 3339 time, e.g. 2026-11-27T08:00:00Z",
        )?;
        self.errors.check(within_years(name, at.date_naive())).map(|_| at)
    }

    /// An RFC 3339 time, or a date meaning its midnight UTC, in the years the database keeps.
    pub(crate) fn time_or_date(&mut self, name: &str) -> Option<DateTime<Utc>> {
        let at = self.parsed(
            name,
            |v| {
                DateTime::parse_from_rfc3339(v).ok().map(|t| t.to_utc()).or_else(|| {
                    v.parse::<NaiveDate>().ok()?.and_hms_opt(0, 0, 0).map(|t| t.and_utc())
                })
            },
            "must be an RFC 3339 time or a date YYYY-MM-DD",
        )?;
        self.errors.check(within_years(name, at.date_naive())).map(|_| at)
    }

    /// `limit`: the page size, 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when not given.
    pub(crate) fn limit(&mut self) -> u32 {
        let limit = self.read(
            "limit",
            "out_of_range",
            |v| v.parse::<u32>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)),
            &format!("must be a whole number from 1 to {MAX_LIMIT}"),
        );
        limit.unwrap_or(DEFAULT_LIMIT)
    }

    /// `cursor`: a `next_cursor` the list `list` gave (see [`Cursor`]).
    pub(crate) fn cursor(&mut self, list: &str) -> Option<Cursor> {
        self.read(
            "cursor",
            "invalid_cursor",
            |v| Cursor::decode(list, v),
            "must be a next_cursor of this list (with the same sort)",
        )
    }

    /// `cursor`: a `next_cursor` the list `list`, sorted by a day first, gave (see
    /// [`DayCursor`]).
    pub(crate) fn day_cursor(&mut self, list: &str) -> Option<DayCursor> {
        self.read(
            "cursor",
            "invalid_cursor",
            |v| DayCursor::decode(list, v),
            "must be a next_cursor of this list",
        )
    }

    /// `after`: a `next_cursor` of the event feed (see [`FeedCursor`]).
    pub(crate) fn feed_cursor(&mut self, name: &str) -> Option<FeedCursor> {
        self.read(
            name,
            "invalid_cursor",
            FeedCursor::decode,
            "must be a next_cursor of the event feed",
        )
    }

    /// Notes a problem a route found in the values it read (e.g. `to` before `from`).
    pub(crate) fn refuse(&mut self, error: FieldError) {
        self.errors.add(error);
    }

    /// Ends the reading: a parameter no reader took is unknown. `value` when all was well,
    /// otherwise 422 naming every problem.
    pub(crate) fn finish<T>(mut self, value: T) -> Result<T, ApiError> {
        let mut unknown: Vec<&str> = Vec::new();
        for (name, _) in self.pairs.iter().flatten() {
            if !unknown.contains(&name.as_str()) {
                unknown.push(name);
                self.errors.push(
                    name.as_str(),
                    "unknown_parameter",
                    format!("{name} is not a parameter of this endpoint"),
                );
            }
        }
        self.errors.finish(value).map_err(ApiError::Validation)
    }
}

/// Every parameter whose name or value holds a NUL character.
pub(crate) fn nul_errors(uri: &Uri) -> Vec<FieldError> {
    if !uri.query().is_some_and(|q| q.contains("%00")) {
        return Vec::new();
    }
    let Ok(AxumQuery(pairs)) = AxumQuery::<Vec<(String, String)>>::try_from_uri(uri) else {
        return Vec::new();
    };
    pairs
        .iter()
        .filter(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| {
            let name = name.replace('\0', "%00");
            let message = format!("{name} must not contain NUL characters");
            FieldError::new(name, "invalid_characters", message)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use axum::http::Uri;

    use super::{QueryParams, nul_errors};

    #[test]
    fn every_parameter_is_read_once_and_the_rest_is_unknown() {
        let mut params = QueryParams::parse(Some("a=1&b=x&a=2&c=3&c=4&d=%20true%20&limit=0"));
        assert_eq!(params.names(), ["a", "b", "c", "d", "limit"]);
        assert_eq!(params.all("a"), ["1", "2"]);
        assert_eq!(params.uuid("b"), None);
        assert_eq!(params.bool("d"), Some(true), "values are trimmed");
        assert_eq!(params.limit(), crate::pagination::DEFAULT_LIMIT);
        assert_eq!(params.one("absent"), None);
        let Err(crate::ApiError::Validation(errors)) = params.finish(()) else {
            panic!("expected the problems named");
        };
        let named: Vec<(&str, &str)> =
            errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        // `c` was read by no one: unknown, and named once however often it was given.
        assert_eq!(
            named,
            [("b", "invalid_value"), ("limit", "out_of_range"), ("c", "unknown_parameter")]
        );
        assert!(QueryParams::parse(None).finish(()).is_ok());
    }

    #[test]
    fn a_nul_character_in_a_name_or_value_is_named() {
        let uri: Uri = "/v1/cases?status=op%00en&q=x&na%00me=1".parse().expect("uri");
        let errors = nul_errors(&uri);
        let named: Vec<(&str, &str)> =
            errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(named, [("status", "invalid_characters"), ("na%00me", "invalid_characters")]);
        assert!(nul_errors(&"/v1/cases?q=a%2500b".parse().expect("uri")).is_empty());
        assert!(nul_errors(&"/v1/cases".parse().expect("uri")).is_empty());
    }
}
