//! The query parameters of each report, parsed and checked.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, Utc};
use retour_domain::case::Programme;
use retour_domain::person::ResidenceStatus;
use retour_domain::statistics::{Dimension, Period, PeriodOf, Report, Request};
use retour_domain::{Canton, CaseStatus, CountryCode, FieldError, Validation};
use retour_store::stats::{DateRange, StatsFilter};
use serde_json::json;

use crate::ApiError;

use super::*;

/// The parameters of the case counts; the departures take all but the last (their dates
/// are always the departure days).
pub(super) const GROUPED: [&str; 10] = [
    "group_by",
    "period",
    "from",
    "to",
    "canton",
    "programme",
    "destination_country",
    "residence_status",
    "status",
    "period_of",
];

/// The query parameters each report takes.
pub(super) fn parameters(report: Report) -> &'static [&'static str] {
    match report {
        Report::Cases => &GROUPED,
        Report::Departures => &GROUPED[..GROUPED.len() - 1],
        Report::Pipeline => {
            &["from", "to", "canton", "programme", "destination_country", "residence_status"]
        }
        Report::Yearly => {
            &["year", "top", "canton", "programme", "destination_country", "residence_status"]
        }
    }
}

pub(super) fn file_name(report: Report) -> &'static str {
    match report {
        Report::Cases => "attachment; filename=\"case-statistics.csv\"",
        Report::Departures => "attachment; filename=\"departure-statistics.csv\"",
        Report::Pipeline => "attachment; filename=\"pipeline-statistics.csv\"",
        Report::Yearly => "attachment; filename=\"yearly-statistics.csv\"",
    }
}

/// A report's parameters, parsed.
#[derive(Debug)]
pub(super) struct Params {
    pub(super) filter: StatsFilter,
    pub(super) range: DateRange,
    pub(super) dimensions: Vec<Dimension>,
    pub(super) period: Period,
    pub(super) period_of: PeriodOf,
    pub(super) year: Option<i32>,
    pub(super) top: usize,
    /// The dimensions the filters restrict.
    pub(super) filtered: Vec<Dimension>,
    /// The parameters as given, for the access log (figures' filters, never personal data).
    pub(super) given: BTreeMap<String, String>,
}

/// Parameters that take several values, comma-separated or repeated.
pub(super) const LISTS: [&str; 6] =
    ["group_by", "canton", "programme", "destination_country", "status", "residence_status"];

/// The comma-separated parts of a list parameter. An empty part (`status=` or
/// `status=approved,`) is kept, so that a filter refuses it as naming nothing, as the case list
/// does.
pub(super) fn parts(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim)
}

/// Adds `value` once.
pub(super) fn add<T: PartialEq>(list: &mut Vec<T>, value: T) {
    if !list.contains(&value) {
        list.push(value);
    }
}

pub(super) fn date(v: &mut Validation, name: &str, value: &str) -> Option<NaiveDate> {
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(day) if YEARS.contains(&day.year()) && value.len() == 10 => Some(day),
        Ok(_) => {
            v.push(
                name,
                "out_of_range",
                format!("{name} must be in the years {} to {}", YEARS.start(), YEARS.end()),
            );
            None
        }
        Err(_) => {
            v.push(name, "invalid_date", format!("{name} must be a date YYYY-MM-DD"));
            None
        }
    }
}

impl Params {
    /// Parses the query string of `report`, naming every invalid parameter at once.
    pub(super) fn parse(report: Report, query: &str) -> Result<Self, ApiError> {
        let mut v = Validation::new();
        let mut params = Params {
            filter: StatsFilter::default(),
            range: DateRange::default(),
            dimensions: Vec::new(),
            period: Period::Month,
            period_of: report.default_period_of(),
            year: None,
            top: DEFAULT_TOP,
            filtered: Vec::new(),
            given: BTreeMap::new(),
        };
        let mut group_by: Option<Vec<Dimension>> = None;
        let mut period = None;
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let (name, value) = (name.as_ref(), value.trim());
            if !parameters(report).contains(&name) {
                v.push(
                    name,
                    "unknown_parameter",
                    format!(
                        "{name} is not a parameter of this report; it takes: {}",
                        parameters(report).join(", ")
                    ),
                );
                continue;
            }
            if let Some(earlier) = params.given.get_mut(name) {
                if !LISTS.contains(&name) {
                    v.push(name, "repeated", format!("{name} may be given only once"));
                    continue;
                }
                earlier.push(',');
                earlier.push_str(value);
            } else {
                params.given.insert(name.to_owned(), value.to_owned());
            }
            let filter = &mut params.filter;
            let unknown = |v: &mut Validation, names: String| {
                v.push(name, "unknown_value", format!("{name} must be one of: {names}"));
            };
            match name {
                "group_by" => {
                    let dimensions = group_by.get_or_insert_with(Vec::new);
                    // `group_by=` groups by nothing: one group, the total.
                    for part in parts(value).filter(|p| !p.is_empty()) {
                        match Dimension::parse(part) {
                            Some(d) if dimensions.contains(&d) => v.push(
                                name,
                                "repeated",
                                format!("group_by names {part} more than once"),
                            ),
                            Some(d) => dimensions.push(d),
                            None => unknown(&mut v, Dimension::names()),
                        }
                    }
                }
                "canton" => {
                    for part in parts(value) {
                        match Canton::parse(&part.to_ascii_uppercase()) {
                            Some(c) => add(&mut filter.cantons, c),
                            None => v.push(
                                name,
                                "invalid_value",
                                "canton must be a canton's two-letter code, e.g. BE",
                            ),
                        }
                    }
                }
                "programme" => {
                    for part in parts(value) {
                        match Programme::parse(part) {
                            Some(p) => add(&mut filter.programmes, p),
                            None => unknown(&mut v, Programme::names()),
                        }
                    }
                }
                "destination_country" => {
                    for part in parts(value) {
                        match CountryCode::parse(part) {
                            Some(c) => add(&mut filter.destination_countries, c),
                            None => v.push(
                                name,
                                "invalid_value",
                                "destination_country must be an ISO 3166-1 alpha-2 country code",
                            ),
                        }
                    }
                }
                "status" => {
                    for part in parts(value) {
                        match CaseStatus::parse(part) {
                            Some(s) => add(&mut filter.statuses, s),
                            None => {
                                unknown(&mut v, CaseStatus::ALL.map(CaseStatus::as_str).join(", "))
                            }
                        }
                    }
                }
                "residence_status" => {
                    for part in parts(value) {
                        match ResidenceStatus::parse(part) {
                            Some(r) => add(&mut filter.residence_statuses, r),
                            None => unknown(&mut v, ResidenceStatus::names()),
                        }
                    }
                }
                "period" => match Period::parse(value) {
                    Some(p) => period = Some(p),
                    None => unknown(&mut v, Period::names()),
                },
                "period_of" => match PeriodOf::parse(value) {
                    Some(p) => params.period_of = p,
                    None => unknown(&mut v, PeriodOf::names()),
                },
                "from" => params.range.from = date(&mut v, name, value),
                "to" => params.range.to = date(&mut v, name, value),
                "year" => match value.parse::<i32>() {
                    Ok(year) if YEARS.contains(&year) => params.year = Some(year),
                    _ => v.push(
                        name,
                        "out_of_range",
                        format!("year must be a year from {} to {}", YEARS.start(), YEARS.end()),
                    ),
                },
                "top" => match value.parse::<usize>() {
                    Ok(top) if (1..=MAX_TOP).contains(&top) => params.top = top,
                    _ => v.push(
                        name,
                        "out_of_range",
                        format!("top must be a whole number from 1 to {MAX_TOP}"),
                    ),
                },
                _ => {}
            }
        }
        let filter = &params.filter;
        for (dimension, count) in [
            (Dimension::Canton, filter.cantons.len()),
            (Dimension::Programme, filter.programmes.len()),
            (Dimension::DestinationCountry, filter.destination_countries.len()),
            (Dimension::Status, filter.statuses.len()),
            (Dimension::ResidenceStatus, filter.residence_statuses.len()),
        ] {
            if count > 0 {
                params.filtered.push(dimension);
            }
            let name = dimension.as_str();
            if count > MAX_VALUES {
                v.push(
                    name,
                    "too_many_values",
                    format!("{name} takes at most {MAX_VALUES} values"),
                );
            }
        }
        if let (Some(from), Some(to)) = (params.range.from, params.range.to)
            && from > to
        {
            v.push("to", "before_from", "to must not be before from");
        }
        params.dimensions = group_by.unwrap_or_else(|| report.default_dimensions().to_vec());
        if let Some(p) = period {
            if params.dimensions.contains(&Dimension::Period) {
                params.period = p;
            } else {
                v.push(
                    "period",
                    "unused",
                    "period sets the length of the period dimension; add period to group_by",
                );
            }
        }
        if report == Report::Pipeline {
            let span = Duration::days(PIPELINE_DAYS - 1);
            params.range = match (params.range.from, params.range.to) {
                (Some(from), None) => DateRange { from: Some(from), to: Some(from + span) },
                (None, to) => {
                    let to = to.unwrap_or_else(|| Utc::now().date_naive());
                    DateRange { from: Some(to - span), to: Some(to) }
                }
                (from, to) => DateRange { from, to },
            };
            if let (Some(from), Some(to)) = (params.range.from, params.range.to)
                && (to - from).num_days() >= PIPELINE_MAX_DAYS
            {
                v.push(
                    "to",
                    "range_too_long",
                    format!("from and to may span at most {PIPELINE_MAX_DAYS} days"),
                );
            }
        }
        if report == Report::Yearly && params.year.is_none() && !params.given.contains_key("year") {
            v.push("year", "required", "year is required, e.g. year=2026");
        }
        let errors: Vec<FieldError> = v.into_errors();
        if errors.is_empty() { Ok(params) } else { Err(ApiError::Validation(errors)) }
    }

    /// What the request asks for, for the access policy.
    pub(super) fn request(&self, report: Report) -> Request<'_> {
        Request {
            report,
            group_by: &self.dimensions,
            filters: &self.filtered,
            period_of: self.period_of,
        }
    }

    /// The parameters for the access log.
    pub(super) fn details(&self, report: Report, csv: bool, rows: usize) -> serde_json::Value {
        json!({
            "report": report.name(),
            "format": if csv { "csv" } else { "json" },
            "parameters": self.given,
            "rows": rows,
        })
    }
}
