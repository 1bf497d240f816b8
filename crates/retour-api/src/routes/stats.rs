//! Statistics for SEM, IOM Bern and the cantons: case counts by any of a case's dimensions,
//! departures with persons and amounts, the pipeline's statuses and durations, and a yearly
//! overview. JSON, or RFC 4180 CSV (UTF-8, header row) with `Accept: text/csv`.
//!
//! What a caller may count is `retour_domain::statistics`: the cases of their scope
//! (filtered in SQL), by the dimensions and figures their case view holds (a dimension
//! asked for without it is refused, any other figure left out), with figures over 1 to 4
//! cases withheld outside SEM together with whatever would give them away (its
//! `suppression` module works out which; this module lists the groups and totals of each
//! answer). Withheld is `count: null, suppressed: true`, never zero, and the same for every
//! sum over the group. Reads are logged as `stats.read`, CSV exports as `stats.export`,
//! with their parameters, and so is every refusal.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Duration, NaiveDate, Utc};
use retour_domain::case::Programme;
use retour_domain::person::ResidenceStatus;
use retour_domain::statistics::suppression::{Counts, Withheld};
use retour_domain::statistics::{
    Dimension, Figure, Period, PeriodOf, RefusalCode, Report, Request, StatisticsAccess,
    statistics_access,
};
use retour_domain::{Canton, CaseStatus, CountryCode, FieldError, Validation};
use retour_store::StoreError;
use retour_store::audit::{self, AuditActor, AuditEvent, Outcome};
use retour_store::stats::{
    Breakdown, CaseCount, DateRange, DepartureFigures, DepartureGroup, Durations, GroupKey,
    Grouping, PipelineDurations, StatsFilter,
};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit::wants_csv;
use crate::auth::Caller;
use crate::csv_out::CsvWriter;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_case_stats))
        .routes(routes!(get_departure_stats))
        .routes(routes!(get_pipeline_stats))
        .routes(routes!(get_yearly_stats))
}

/// The most groups one answer holds; a query with more is refused (narrow it).
const MAX_GROUPS: u32 = 10_000;
/// The most values one filter takes.
const MAX_VALUES: usize = 50;
/// The years dates and `year` may be in.
/// The years statistics cover; the document states them in the `year`, `from` and `to`
/// parameters (as bounds and as a pattern), and a test holds the two together.
pub(crate) const YEARS: std::ops::RangeInclusive<i32> = 1970..=2100;
/// Top destinations of the yearly overview unless `top` says otherwise, and the most.
const DEFAULT_TOP: usize = 10;
const MAX_TOP: usize = 50;
/// The pipeline's durations count the decisions and departures of this many days: up to
/// `to` (default today), or from `from`.
const PIPELINE_DAYS: i64 = 365;
/// The longest range of the pipeline's durations: a year, leap or not. Exact percentiles sort
/// every duration, which stays fast for a year of a large installation's cases, not for ten.
const PIPELINE_MAX_DAYS: i64 = 366;

// --- Parameters ---------------------------------------------------------------------------

/// The parameters of the case counts; the departures take all but the last (their dates
/// are always the departure days).
const GROUPED: [&str; 10] = [
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
fn parameters(report: Report) -> &'static [&'static str] {
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

fn file_name(report: Report) -> &'static str {
    match report {
        Report::Cases => "attachment; filename=\"case-statistics.csv\"",
        Report::Departures => "attachment; filename=\"departure-statistics.csv\"",
        Report::Pipeline => "attachment; filename=\"pipeline-statistics.csv\"",
        Report::Yearly => "attachment; filename=\"yearly-statistics.csv\"",
    }
}

/// A report's parameters, parsed.
#[derive(Debug)]
struct Params {
    filter: StatsFilter,
    range: DateRange,
    dimensions: Vec<Dimension>,
    period: Period,
    period_of: PeriodOf,
    year: Option<i32>,
    top: usize,
    /// The dimensions the filters restrict.
    filtered: Vec<Dimension>,
    /// The parameters as given, for the access log (figures' filters, never personal data).
    given: BTreeMap<String, String>,
}

/// Parameters that take several values, comma-separated or repeated.
const LISTS: [&str; 6] =
    ["group_by", "canton", "programme", "destination_country", "status", "residence_status"];

/// The values of a list parameter (comma-separated; empty parts ignored).
/// The comma-separated parts of a list parameter. An empty part (`status=` or
/// `status=approved,`) is kept, so that a filter refuses it as naming nothing, as the case list
/// does.
fn parts(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim)
}

/// Adds `value` once.
fn add<T: PartialEq>(list: &mut Vec<T>, value: T) {
    if !list.contains(&value) {
        list.push(value);
    }
}

fn date(v: &mut Validation, name: &str, value: &str) -> Option<NaiveDate> {
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
    fn parse(report: Report, query: &str) -> Result<Self, ApiError> {
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
    fn request(&self, report: Report) -> Request<'_> {
        Request {
            report,
            group_by: &self.dimensions,
            filters: &self.filtered,
            period_of: self.period_of,
        }
    }

    /// The parameters for the access log.
    fn details(&self, report: Report, csv: bool, rows: usize) -> serde_json::Value {
        json!({
            "report": report.name(),
            "format": if csv { "csv" } else { "json" },
            "parameters": self.given,
            "rows": rows,
        })
    }
}

// --- Authorisation and the access log -----------------------------------------------------

fn action(csv: bool) -> &'static str {
    if csv { "stats.export" } else { "stats.read" }
}

/// What the caller may see of the statistics, and the request's parameters. A caller without
/// statistics, or a request for what their case view does not hold (a dimension, a report),
/// is logged and answered 403; invalid parameters 422.
async fn authorise(
    state: &AppState,
    caller: &Caller,
    report: Report,
    csv: bool,
    query: Option<&str>,
) -> Result<(StatisticsAccess, Params), ApiError> {
    let Some(access) = statistics_access(&caller.actor) else {
        deny(state, caller, csv, json!({ "report": report.name() })).await?;
        return Err(ApiError::Forbidden {
            code: ProblemCode::Forbidden,
            detail: "statistics are for the partner institutions, auditors and service \
                accounts with stats:read"
                .to_owned(),
        });
    };
    let params = Params::parse(report, query.unwrap_or_default())?;
    if let Err(refusal) = access.check(&params.request(report)) {
        let details = json!({
            "report": report.name(),
            "refused": refusal.code.as_str(),
            "parameter": refusal.parameter,
        });
        deny(state, caller, csv, details).await?;
        let code = match refusal.code {
            RefusalCode::ReportNotAllowed => ProblemCode::ReportNotAllowed,
            RefusalCode::DimensionNotAllowed => ProblemCode::DimensionNotAllowed,
        };
        return Err(ApiError::Forbidden { code, detail: refusal.message });
    }
    Ok((access, params))
}

async fn deny(
    state: &AppState,
    caller: &Caller,
    csv: bool,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    let event = AuditEvent::new(AuditActor::from(&caller.actor), action(csv), Outcome::Denied)
        .details(details)
        .request(caller.meta.request_id.clone(), caller.meta.client_addr);
    audit::record(state.store().pool(), &event).await?;
    Ok(())
}

/// Logs the read or export of a report.
async fn record(
    state: &AppState,
    caller: &Caller,
    params: &Params,
    report: Report,
    csv: bool,
    rows: usize,
) -> Result<(), ApiError> {
    let event = AuditEvent::new(AuditActor::from(&caller.actor), action(csv), Outcome::Allowed)
        .details(params.details(report, csv, rows))
        .request(caller.meta.request_id.clone(), caller.meta.client_addr);
    audit::record(state.store().pool(), &event).await?;
    Ok(())
}

fn too_many_groups() -> ApiError {
    ApiError::validation(
        "group_by",
        "too_many_groups",
        format!(
            "the report would have more than {MAX_GROUPS} groups; group by fewer dimensions, \
             a longer period, or filter"
        ),
    )
}

// --- Groups and what is withheld ----------------------------------------------------------

/// A group's value of one dimension as the suppression orders it: as the store orders the
/// groups (codes by their bytes, a period by its first day), an empty value last.
type Value = (bool, String);

fn value(text: Option<&str>) -> Value {
    (text.is_none(), text.unwrap_or_default().to_owned())
}

/// The values of `key` for `dimensions`, in their order.
fn values(key: &GroupKey, dimensions: &[Dimension]) -> Vec<Value> {
    dimensions
        .iter()
        .map(|dimension| match dimension {
            Dimension::Canton => value(key.canton.as_deref()),
            Dimension::Programme => value(key.programme.as_deref()),
            Dimension::DestinationCountry => value(key.destination_country.as_deref()),
            Dimension::Status => value(key.status.as_deref()),
            Dimension::ResidenceStatus => value(key.residence_status.as_deref()),
            Dimension::Period => value(key.period_start.map(|d| d.to_string()).as_deref()),
        })
        .collect()
}

/// The group of `values` for `dimensions` (the inverse of [`values`]).
fn group_key(values: &[Value], dimensions: &[Dimension]) -> Result<GroupKey, ApiError> {
    let mut key = GroupKey::default();
    for ((empty, text), dimension) in values.iter().zip(dimensions) {
        let text = (!empty).then(|| text.clone());
        match dimension {
            Dimension::Canton => key.canton = text,
            Dimension::Programme => key.programme = text,
            Dimension::DestinationCountry => key.destination_country = text,
            Dimension::Status => key.status = text,
            Dimension::ResidenceStatus => key.residence_status = text,
            Dimension::Period => {
                key.period_start = typed(text.as_deref(), "case_statistics.period", |t| {
                    NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()
                })?
            }
        }
    }
    Ok(key)
}

/// What of `counts` is withheld from the caller, worked out off the async runtime: a table
/// of thousands of groups by several dimensions takes a while.
async fn withhold(
    access: StatisticsAccess,
    counts: Counts<Value>,
) -> Result<Withheld<Value>, ApiError> {
    if !access.suppress_small_groups {
        return Ok(Withheld::nothing());
    }
    tokio::task::spawn_blocking(move || access.withhold(&counts)).await.map_err(ApiError::internal)
}

/// One group of an answer: its values, its figures (none for a group without cases listed
/// only to be withheld), and whether it is withheld.
struct Listed<T> {
    values: Vec<Value>,
    figures: Option<T>,
    withheld: bool,
}

/// The groups of an answer grouped by `dimensions`, each with `cases`, and what the caller
/// may see of them: the withheld ones flagged, and the groups without cases that are withheld
/// to protect another among them, in the order of their values.
async fn suppressed<T>(
    access: StatisticsAccess,
    dimensions: &[Dimension],
    groups: Vec<(GroupKey, T)>,
    cases: impl Fn(&T) -> i64,
) -> Result<Vec<Listed<T>>, ApiError> {
    let all: Vec<usize> = (0..dimensions.len()).collect();
    let groups: Vec<(Vec<Value>, T)> =
        groups.into_iter().map(|(key, figures)| (values(&key, dimensions), figures)).collect();
    let counts =
        Counts::finest(dimensions.len(), groups.iter().map(|(v, f)| (v.clone(), cases(f))));
    let withheld = withhold(access, counts).await?;
    let mut listed: Vec<Listed<T>> = groups
        .into_iter()
        .map(|(values, figures)| Listed {
            withheld: withheld.is_withheld(&all, &values),
            values,
            figures: Some(figures),
        })
        .collect();
    let added = withheld.added(&all);
    if !added.is_empty() {
        listed.extend(added.iter().map(|values| Listed {
            values: values.clone(),
            figures: None,
            withheld: true,
        }));
        listed.sort_by(|a, b| a.values.cmp(&b.values));
    }
    Ok(listed)
}

// --- Response bodies ----------------------------------------------------------------------

fn is_false(value: &bool) -> bool {
    !*value
}

/// The values of a group's dimensions. Only the dimensions grouped by are present.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct GroupValues {
    /// The counselling service's canton; null for federal asylum centres.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Canton>, nullable)]
    pub canton: Option<Option<Canton>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Programme>)]
    pub programme: Option<Option<Programme>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<CountryCode>)]
    pub destination_country: Option<Option<CountryCode>>,
    /// The status now.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<CaseStatus>)]
    pub status: Option<Option<CaseStatus>>,
    /// The principal applicant's; null when not recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ResidenceStatus>, nullable)]
    pub residence_status: Option<Option<ResidenceStatus>>,
    /// `2026-11` (month), `2026-Q4` (quarter) or `2026` (year), in Swiss time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
}

fn corrupt(column: &'static str, value: &str) -> ApiError {
    ApiError::internal(StoreError::Corrupt { column, value: value.to_owned() })
}

fn typed<T>(
    value: Option<&str>,
    column: &'static str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    value.map(|v| parse(v).ok_or_else(|| corrupt(column, v))).transpose()
}

impl GroupValues {
    /// The values of a group for the grouped `dimensions`.
    fn new(values: &[Value], dimensions: &[Dimension], period: Period) -> Result<Self, ApiError> {
        let key = group_key(values, dimensions)?;
        let mut values = GroupValues::default();
        for dimension in dimensions {
            match dimension {
                Dimension::Canton => {
                    values.canton =
                        Some(typed(key.canton.as_deref(), "case_statistics.canton", Canton::parse)?)
                }
                Dimension::Programme => {
                    values.programme = Some(typed(
                        key.programme.as_deref(),
                        "case_statistics.programme",
                        Programme::parse,
                    )?)
                }
                Dimension::DestinationCountry => {
                    values.destination_country = Some(typed(
                        key.destination_country.as_deref(),
                        "case_statistics.destination_country",
                        CountryCode::parse,
                    )?)
                }
                Dimension::Status => {
                    values.status = Some(typed(
                        key.status.as_deref(),
                        "case_statistics.status",
                        CaseStatus::parse,
                    )?)
                }
                Dimension::ResidenceStatus => {
                    values.residence_status = Some(typed(
                        key.residence_status.as_deref(),
                        "case_statistics.residence_status",
                        ResidenceStatus::parse,
                    )?)
                }
                Dimension::Period => values.period = key.period_start.map(|d| period.label(d)),
            }
        }
        Ok(values)
    }

    /// The CSV fields of `dimensions`, in their order; empty for null.
    fn fields(&self, dimensions: &[Dimension]) -> Vec<String> {
        fn text<T: ToString>(value: &Option<Option<T>>) -> String {
            value.as_ref().and_then(|v| v.as_ref()).map(T::to_string).unwrap_or_default()
        }
        dimensions
            .iter()
            .map(|d| match d {
                Dimension::Canton => {
                    self.canton.flatten().map(|c| c.code().to_owned()).unwrap_or_default()
                }
                Dimension::Programme => text(&self.programme),
                Dimension::DestinationCountry => text(&self.destination_country),
                Dimension::Status => {
                    self.status.flatten().map(|s| s.as_str().to_owned()).unwrap_or_default()
                }
                Dimension::ResidenceStatus => text(&self.residence_status),
                Dimension::Period => self.period.clone().unwrap_or_default(),
            })
            .collect()
    }
}

/// A number of cases; null and `suppressed` when withheld (outside SEM: over 1 to 4 cases, or
/// to keep such a figure from being worked out from the others; never shown as zero).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Count {
    #[schema(required = true)]
    pub count: Option<i64>,
    /// Present (true) only when the figure is withheld.
    #[serde(skip_serializing_if = "is_false")]
    pub suppressed: bool,
}

impl Count {
    fn new(cases: i64, withheld: bool) -> Self {
        if withheld {
            Count { count: None, suppressed: true }
        } else {
            Count { count: Some(cases), suppressed: false }
        }
    }

    fn fields(&self) -> [String; 2] {
        [self.count.map(|c| c.to_string()).unwrap_or_default(), self.suppressed.to_string()]
    }
}

/// One group of case counts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseGroup {
    #[serde(flatten)]
    pub values: GroupValues,
    #[serde(flatten)]
    pub count: Count,
}

/// Case counts, one entry per group that has cases (and, rarely, a withheld group without
/// any: see the statistics in the README).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseStatistics {
    pub groups: Vec<CaseGroup>,
}

/// Departed households, their persons and the amounts paid and approved for them; every
/// figure null and `suppressed` true when withheld. The amounts are absent for callers whose
/// access to cases does not include the assistance.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct DepartureSums {
    /// Departed cases (households).
    #[schema(required = true)]
    pub departures: Option<i64>,
    /// Persons who left.
    #[schema(required = true)]
    pub persons: Option<i64>,
    /// Of them, 18 or older on the departure day.
    #[schema(required = true)]
    pub adults: Option<i64>,
    #[schema(required = true)]
    pub minors: Option<i64>,
    /// Start-up cash paid at the departure.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>, nullable)]
    pub startup_cash_rappen: Option<Option<i64>>,
    /// Travel money paid at the departure.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>, nullable)]
    pub travel_money_rappen: Option<Option<i64>>,
    /// Reintegration projects SEM approved for these households.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>, nullable)]
    pub approved_reintegration_rappen: Option<Option<i64>>,
    /// Present (true) only when the figures are withheld.
    #[serde(skip_serializing_if = "is_false")]
    pub suppressed: bool,
}

impl DepartureSums {
    /// The sums of `figures` (none: a group without departures), as `access` may see them.
    fn new(access: &StatisticsAccess, figures: Option<&DepartureFigures>, withheld: bool) -> Self {
        let shown = figures.filter(|_| !withheld);
        let figure = |value: fn(&DepartureFigures) -> i64| shown.map(value);
        let amount = |allowed: Figure, value: fn(&DepartureFigures) -> i64| {
            access.allows(allowed).then(|| shown.map(value))
        };
        DepartureSums {
            departures: figure(|f| f.departures),
            persons: figure(|f| f.persons),
            adults: figure(|f| f.adults),
            minors: figure(|f| f.minors),
            startup_cash_rappen: amount(Figure::Payouts, |f| f.startup_cash_rappen),
            travel_money_rappen: amount(Figure::Payouts, |f| f.travel_money_rappen),
            approved_reintegration_rappen: amount(Figure::ApprovedReintegration, |f| {
                f.approved_reintegration_rappen
            }),
            suppressed: shown.is_none(),
        }
    }

    /// The CSV columns for `access`.
    fn columns(access: &StatisticsAccess) -> Vec<&'static str> {
        let mut columns = vec!["departures", "persons", "adults", "minors"];
        if access.allows(Figure::Payouts) {
            columns.extend(["startup_cash_rappen", "travel_money_rappen"]);
        }
        if access.allows(Figure::ApprovedReintegration) {
            columns.push("approved_reintegration_rappen");
        }
        columns.push("suppressed");
        columns
    }

    /// The CSV fields, in the order of [`DepartureSums::columns`].
    fn fields(&self) -> Vec<String> {
        let text = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        let mut fields: Vec<String> =
            [self.departures, self.persons, self.adults, self.minors].map(text).into();
        let amounts = [
            self.startup_cash_rappen,
            self.travel_money_rappen,
            self.approved_reintegration_rappen,
        ];
        fields.extend(amounts.into_iter().flatten().map(text));
        fields.push(self.suppressed.to_string());
        fields
    }
}

/// The departures of one group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DepartureGroupFigures {
    #[serde(flatten)]
    pub values: GroupValues,
    #[serde(flatten)]
    pub figures: DepartureSums,
}

/// Departures, one entry per group that has departures (and, rarely, a withheld group
/// without any).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DepartureStatistics {
    pub groups: Vec<DepartureGroupFigures>,
}

/// The cases now in one status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusFigure {
    pub status: CaseStatus,
    #[serde(flatten)]
    pub count: Count,
}

/// Median and 90th percentile of a duration in days, over `cases` cases; all null and
/// `suppressed` when withheld. The days are null when there were no cases.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct DurationFigures {
    #[schema(required = true)]
    pub cases: Option<i64>,
    #[schema(required = true)]
    pub median_days: Option<f64>,
    #[schema(required = true)]
    pub p90_days: Option<f64>,
    /// Present (true) only when the figures are withheld.
    #[serde(skip_serializing_if = "is_false")]
    pub suppressed: bool,
}

/// Days, to two decimals.
fn days(value: Option<f64>) -> Option<f64> {
    value.map(|d| (d * 100.0).round() / 100.0)
}

impl DurationFigures {
    fn new(d: &Durations, withheld: bool) -> Self {
        if withheld {
            DurationFigures { cases: None, median_days: None, p90_days: None, suppressed: true }
        } else {
            DurationFigures {
                cases: Some(d.cases),
                median_days: days(d.median_days),
                p90_days: days(d.p90_days),
                suppressed: false,
            }
        }
    }
}

/// The pipeline of all cases of the caller's scope, or of one canton. A figure the caller's
/// access to cases does not include is absent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PipelineFigures {
    /// Cases per status now, in the order of the workflow; statuses without cases are left
    /// out (unless withheld). Absent without access to the assistance and the travel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statuses: Option<Vec<StatusFigure>>,
    /// Days from the (first) submission to SEM's decision, of the decisions in the range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submission_to_decision: Option<DurationFigures>,
    /// Days from SEM's decision to the departure, of the departures in the range. Absent
    /// without access to the travel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_to_departure: Option<DurationFigures>,
}

/// The pipeline of one canton.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CantonPipeline {
    /// Null: the federal asylum centres.
    #[schema(required = true)]
    pub canton: Option<Canton>,
    #[serde(flatten)]
    pub figures: PipelineFigures,
}

/// Cases per status now, and how long decisions and departures took.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PipelineStatistics {
    /// The range of decision (resp. departure) days the durations count.
    #[schema(required = true)]
    pub from: Option<NaiveDate>,
    #[schema(required = true)]
    pub to: Option<NaiveDate>,
    pub total: PipelineFigures,
    /// Per canton, in the order of their codes; federal asylum centres last.
    pub cantons: Vec<CantonPipeline>,
}

/// The departures of one destination country.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DestinationFigures {
    pub destination_country: CountryCode,
    #[serde(flatten)]
    pub figures: DepartureSums,
}

/// The departures from one canton.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CantonFigures {
    /// Null: the federal asylum centres.
    #[schema(required = true)]
    pub canton: Option<Canton>,
    #[serde(flatten)]
    pub figures: DepartureSums,
}

/// The departures of one programme.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProgrammeFigures {
    pub programme: Programme,
    #[serde(flatten)]
    pub figures: DepartureSums,
}

/// A year in figures: departures, persons and amounts, the top destinations, the cantons
/// and programmes they left from, and the cases opened and decided. A figure the caller's
/// access to cases does not include is absent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct YearlyStatistics {
    pub year: i32,
    /// All departures of the year. Absent without access to the travel, as are the lists of
    /// departures by destination, canton and programme.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub departures: Option<DepartureSums>,
    /// Cases opened in the year.
    pub opened_cases: Count,
    /// SEM's approvals and rejections in the year. Absent without access to the assistance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_cases: Option<Count>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_cases: Option<Count>,
    /// The destinations with the most departures, most first (at most `top`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_destinations: Option<Vec<DestinationFigures>>,
    /// Departures per canton, most first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cantons: Option<Vec<CantonFigures>>,
    /// Departures per programme, most first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programmes: Option<Vec<ProgrammeFigures>>,
}

// --- CSV ----------------------------------------------------------------------------------

/// RFC 4180 CSV (CRLF line ends, fields quoted where needed) with a header row, UTF-8, no
/// cell a spreadsheet would evaluate ([`crate::csv_out`]).
fn csv_body(columns: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, ApiError> {
    let mut writer = CsvWriter::new();
    writer.row(columns).map_err(ApiError::internal)?;
    for row in rows {
        writer.row(row).map_err(ApiError::internal)?;
    }
    writer.into_bytes().map_err(ApiError::internal)
}

fn csv_response(
    report: Report,
    columns: &[&str],
    rows: &[Vec<String>],
) -> Result<Response, ApiError> {
    let body = csv_body(columns, rows)?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8; header=present"),
    );
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(file_name(report)));
    Ok(response)
}

// --- Handlers -----------------------------------------------------------------------------

/// Count cases
///
/// Case counts grouped by any of `canton`, `programme`, `destination_country`, `status`
/// (now), `residence_status` (of the principal applicant) and `period`, e.g.
/// `group_by=canton,status` → `{ "groups": [{ "canton": "BE", "status": "approved",
/// "count": 3 }] }`; without `group_by`, one group: the total. Each group holds the values
/// of the dimensions grouped by and `count`; groups without cases are left out.
///
/// `period` is the month (`2026-11`), quarter (`2026-Q4`) or year (`2026`) of the date
/// `period_of` names: the day the case was `opened` (default), SEM `decided` or the
/// household `departed`. Counting by the decision or the departure counts only decided
/// (departed) cases. `from` and `to` (both inclusive) limit that date; days, months and
/// years are Swiss time. Filters take comma-separated values, any of which matches.
///
/// Scope: SEM, swissREPAT, IOM Bern and auditors count every case; a counsellor their own
/// service's, a mission officer their mission's; a service account with `stats:read` as a
/// user of its institution would.
///
/// What may be counted follows the caller's case view: `residence_status` needs the asylum
/// procedure, `status` the assistance and the travel, `period_of=departed` the travel.
/// Grouping or filtering by a dimension the view lacks answers 403 `dimension_not_allowed`,
/// naming the parameter.
///
/// Small groups: outside SEM a group of 1 to 4 cases is withheld (`count` null, `suppressed`
/// true, never shown as zero), and so are enough other groups that none can be worked out
/// from the totals the caller can ask for (see the README); rarely that lists a withheld
/// group without cases.
///
/// With `Accept: text/csv` the same groups as RFC 4180 CSV with a header row (the
/// dimensions grouped by, `count`, `suppressed`). Reads are logged as `stats.read`,
/// exports as `stats.export`, with their parameters.
#[utoipa::path(get, path = "/v1/stats/cases", tag = "statistics", security(("bearer" = [])),
    params(
        ("group_by" = Option<Vec<Dimension>>, Query, style = Form, explode = false, description = "Dimensions, comma-separated"),
        ("period" = Option<Period>, Query, description = "Length of the period dimension (default month); only with group_by=period"),
        ("period_of" = Option<PeriodOf>, Query, description = "The date period, from and to refer to (default opened)"),
        ("from" = Option<NaiveDate>, Query, pattern = "^(19[7-9][0-9]|20[0-9][0-9]|2100)-", description = "First day (inclusive), YYYY-MM-DD"),
        ("to" = Option<NaiveDate>, Query, pattern = "^(19[7-9][0-9]|20[0-9][0-9]|2100)-", description = "Last day (inclusive), YYYY-MM-DD"),
        ("canton" = Option<Vec<Canton>>, Query, style = Form, explode = false, min_items = 1, description = "Cantons (two-letter codes), comma-separated"),
        ("programme" = Option<Vec<Programme>>, Query, style = Form, explode = false, min_items = 1, description = "Programmes, comma-separated"),
        ("destination_country" = Option<Vec<CountryCode>>, Query, style = Form, explode = false, min_items = 1, description = "ISO 3166-1 alpha-2 codes, comma-separated"),
        ("status" = Option<Vec<CaseStatus>>, Query, style = Form, explode = false, min_items = 1, description = "Statuses now, comma-separated"),
        ("residence_status" = Option<Vec<ResidenceStatus>>, Query, style = Form, explode = false, min_items = 1, description = "The principal applicant's residence statuses, comma-separated"),
    ),
    responses(
        (status = 200, description = "Case counts, or their CSV export", content(
            (CaseStatistics = "application/json"),
            (String = "text/csv")
        )),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: no access to statistics (administrators, service accounts without stats:read); `dimension_not_allowed`: a dimension grouped or filtered by is derived from a part of cases the caller may not receive", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid parameter; `too_many_groups` beyond 10,000 groups", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_case_stats(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let report = Report::Cases;
    let csv = wants_csv(&headers);
    let (access, params) = authorise(&state, &caller, report, csv, query.as_deref()).await?;
    let dimensions = &params.dimensions;
    let grouping = Grouping {
        dimensions: dimensions.clone(),
        period: params.period,
        period_of: params.period_of,
    };
    let rows = state
        .store()
        .count_cases(access.scope, &params.filter, &grouping, params.range, MAX_GROUPS)
        .await?;
    if rows.len() > MAX_GROUPS as usize {
        return Err(too_many_groups());
    }
    let rows = rows.into_iter().map(|CaseCount { key, cases }| (key, cases)).collect();
    let groups = suppressed(access, dimensions, rows, |cases| *cases)
        .await?
        .into_iter()
        .map(|group| {
            Ok(CaseGroup {
                values: GroupValues::new(&group.values, dimensions, params.period)?,
                count: Count::new(group.figures.unwrap_or_default(), group.withheld),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    record(&state, &caller, &params, report, csv, groups.len()).await?;
    if !csv {
        return Ok(Json(CaseStatistics { groups }).into_response());
    }
    let mut header: Vec<&str> = dimensions.iter().map(|d| d.as_str()).collect();
    header.extend(["count", "suppressed"]);
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            let mut row = g.values.fields(dimensions);
            row.extend(g.count.fields());
            row
        })
        .collect();
    csv_response(report, &header, &rows)
}

/// Count departures
///
/// Departures grouped by `period` (of the departure day), `destination_country` and
/// `canton` unless `group_by` names other dimensions (any of those of `/v1/stats/cases`),
/// each group with the departed households (`departures`), the persons who left (`persons`,
/// and of them `adults` and `minors` by age on the departure day), the cash paid at the
/// departure (`startup_cash_rappen`, `travel_money_rappen`) and the reintegration projects
/// SEM approved for them (`approved_reintegration_rappen`), all amounts in Rappen.
/// `from` and `to` (inclusive) limit the departure day, in Swiss time.
///
/// Scope as for `/v1/stats/cases`. Departures need the travel in the caller's case view
/// (else 403 `report_not_allowed`), the amounts the assistance (else they are absent);
/// dimensions as for `/v1/stats/cases`. Small groups as there, counted in departures: every
/// figure of a withheld group is null and `suppressed` true (never zero). With
/// `Accept: text/csv`, RFC 4180 CSV with a header row; logged as `stats.read` /
/// `stats.export`.
#[utoipa::path(get, path = "/v1/stats/departures", tag = "statistics", security(("bearer" = [])),
    params(
        ("group_by" = Option<Vec<Dimension>>, Query, style = Form, explode = false, description = "Dimensions, comma-separated (default period,destination_country,canton)"),
        ("period" = Option<Period>, Query, description = "Length of the period dimension (default month)"),
        ("from" = Option<NaiveDate>, Query, pattern = "^(19[7-9][0-9]|20[0-9][0-9]|2100)-", description = "First departure day (inclusive), YYYY-MM-DD"),
        ("to" = Option<NaiveDate>, Query, pattern = "^(19[7-9][0-9]|20[0-9][0-9]|2100)-", description = "Last departure day (inclusive), YYYY-MM-DD"),
        ("canton" = Option<Vec<Canton>>, Query, style = Form, explode = false, min_items = 1, description = "Cantons (two-letter codes), comma-separated"),
        ("programme" = Option<Vec<Programme>>, Query, style = Form, explode = false, min_items = 1, description = "Programmes, comma-separated"),
        ("destination_country" = Option<Vec<CountryCode>>, Query, style = Form, explode = false, min_items = 1, description = "ISO 3166-1 alpha-2 codes, comma-separated"),
        ("status" = Option<Vec<CaseStatus>>, Query, style = Form, explode = false, min_items = 1, description = "Statuses now, comma-separated"),
        ("residence_status" = Option<Vec<ResidenceStatus>>, Query, style = Form, explode = false, min_items = 1, description = "The principal applicant's residence statuses, comma-separated"),
    ),
    responses(
        (status = 200, description = "Departures, or their CSV export", content(
            (DepartureStatistics = "application/json"),
            (String = "text/csv")
        )),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: no access to statistics; `report_not_allowed`: the caller's case view holds no travel; `dimension_not_allowed` as for /v1/stats/cases", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid parameter; `too_many_groups` beyond 10,000 groups", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_departure_stats(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let report = Report::Departures;
    let csv = wants_csv(&headers);
    let (access, params) = authorise(&state, &caller, report, csv, query.as_deref()).await?;
    let dimensions = &params.dimensions;
    let rows = state
        .store()
        .departures(
            access.scope,
            &params.filter,
            dimensions,
            params.period,
            params.range,
            MAX_GROUPS,
        )
        .await?;
    if rows.len() > MAX_GROUPS as usize {
        return Err(too_many_groups());
    }
    let rows = rows.into_iter().map(|DepartureGroup { key, figures }| (key, figures)).collect();
    let groups = suppressed(access, dimensions, rows, |f: &DepartureFigures| f.departures)
        .await?
        .into_iter()
        .map(|group| {
            Ok(DepartureGroupFigures {
                values: GroupValues::new(&group.values, dimensions, params.period)?,
                figures: DepartureSums::new(&access, group.figures.as_ref(), group.withheld),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    record(&state, &caller, &params, report, csv, groups.len()).await?;
    if !csv {
        return Ok(Json(DepartureStatistics { groups }).into_response());
    }
    let mut header: Vec<&str> = dimensions.iter().map(|d| d.as_str()).collect();
    header.extend(DepartureSums::columns(&access));
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            let mut row = g.values.fields(dimensions);
            row.extend(g.figures.fields());
            row
        })
        .collect();
    csv_response(report, &header, &rows)
}

/// One duration of the pipeline, in total and per canton, and what of it is withheld: the
/// cantons' counts and their total are one line.
struct DurationTable<'a> {
    rows: &'a [PipelineDurations],
    of: fn(&PipelineDurations) -> &Durations,
    withheld: Withheld<Value>,
}

impl<'a> DurationTable<'a> {
    async fn new(
        access: StatisticsAccess,
        rows: &'a [PipelineDurations],
        of: fn(&PipelineDurations) -> &Durations,
    ) -> Result<Self, ApiError> {
        let cells =
            rows.iter().filter(|d| !d.total).map(|d| (vec![canton_value(d.canton)], of(d).cases));
        let withheld = withhold(access, Counts::finest(1, cells)).await?;
        Ok(DurationTable { rows, of, withheld })
    }

    fn total(&self) -> DurationFigures {
        let none = Durations { cases: 0, median_days: None, p90_days: None };
        let total = self.rows.iter().find(|d| d.total).map_or(&none, self.of);
        DurationFigures::new(total, self.withheld.is_withheld(&[], &[]))
    }

    fn canton(&self, canton: &Value) -> DurationFigures {
        let row = self.rows.iter().find(|d| !d.total && canton_value(d.canton) == *canton);
        let none = Durations { cases: 0, median_days: None, p90_days: None };
        let withheld = self.withheld.is_withheld(&[0], std::slice::from_ref(canton));
        DurationFigures::new(row.map_or(&none, self.of), withheld)
    }

    /// The cantons with cases.
    fn cantons(&self) -> impl Iterator<Item = Value> + '_ {
        self.rows
            .iter()
            .filter(|d| !d.total && (self.of)(d).cases > 0)
            .map(|d| canton_value(d.canton))
    }
}

fn canton_value(canton: Option<Canton>) -> Value {
    value(canton.map(|c| c.code()))
}

/// Get the pipeline's figures
///
/// The pipeline: cases per status now, and the median and 90th percentile of the days from
/// submission to SEM's decision and from the decision to the departure, in total and per
/// canton. The durations count the decisions (resp. departures) whose day is within `from`
/// and `to` (inclusive, Swiss time), at most 366 days apart; without `from`, the 365 days up
/// to `to`, without `to` the 365 days from `from`, without either the 365 days up to today.
/// The response names the range. The status counts are of now and ignore it.
///
/// Scope as for `/v1/stats/cases`. The statuses need the assistance and the travel in the
/// caller's case view, the days to the departure the travel; a figure the view lacks is
/// absent. Small groups as for `/v1/stats/cases`: a status count or a duration over 1 to 4
/// cases is withheld (null, `suppressed` true; never zero), with enough others (per canton,
/// per status, in total) that none can be worked out. With `Accept: text/csv`, one row per
/// figure: `level` (`total` or `canton`), `canton`, `figure` (`status`,
/// `submission_to_decision`, `decision_to_departure`), `status`, `cases`, `median_days`,
/// `p90_days`, `suppressed`. Logged as `stats.read` / `stats.export`.
#[utoipa::path(get, path = "/v1/stats/pipeline", tag = "statistics", security(("bearer" = [])),
    params(
        ("from" = Option<NaiveDate>, Query, pattern = "^(19[7-9][0-9]|20[0-9][0-9]|2100)-", description = "First decision/departure day the durations count (inclusive; default: 364 days before to)"),
        ("to" = Option<NaiveDate>, Query, pattern = "^(19[7-9][0-9]|20[0-9][0-9]|2100)-", description = "Last decision/departure day the durations count (inclusive; default: today, or 364 days after from); at most 366 days after from"),
        ("canton" = Option<Vec<Canton>>, Query, style = Form, explode = false, min_items = 1, description = "Cantons (two-letter codes), comma-separated"),
        ("programme" = Option<Vec<Programme>>, Query, style = Form, explode = false, min_items = 1, description = "Programmes, comma-separated"),
        ("destination_country" = Option<Vec<CountryCode>>, Query, style = Form, explode = false, min_items = 1, description = "ISO 3166-1 alpha-2 codes, comma-separated"),
        ("residence_status" = Option<Vec<ResidenceStatus>>, Query, style = Form, explode = false, min_items = 1, description = "The principal applicant's residence statuses, comma-separated"),
    ),
    responses(
        (status = 200, description = "The pipeline, or its CSV export", content(
            (PipelineStatistics = "application/json"),
            (String = "text/csv")
        )),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: no access to statistics; `dimension_not_allowed`: a filter the caller's case view does not allow (residence_status)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid parameter; a range longer than 366 days", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_pipeline_stats(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let report = Report::Pipeline;
    let csv = wants_csv(&headers);
    let (access, params) = authorise(&state, &caller, report, csv, query.as_deref()).await?;
    let range = params.range;
    let store = state.store();
    let statuses_allowed = access.allows(Figure::Statuses);
    // Two scans, side by side on two connections.
    let (counts, durations) = tokio::try_join!(
        async {
            if statuses_allowed {
                store.status_counts(access.scope, &params.filter).await
            } else {
                Ok(Vec::new())
            }
        },
        store.pipeline_durations(access.scope, &params.filter, range),
    )?;

    // Cases by canton and status: the statuses of each canton, and of all, are one table.
    let mut cells: Vec<(Vec<Value>, i64)> = Vec::with_capacity(counts.len());
    for count in &counts {
        CaseStatus::parse(&count.status)
            .ok_or_else(|| corrupt("case_statistics.status", &count.status))?;
        cells.push((vec![value(count.canton.as_deref()), value(Some(&count.status))], count.cases));
    }
    let statuses_withheld = withhold(access, Counts::finest(2, cells.clone())).await?;
    let statuses = |canton: Option<&Value>| -> Vec<StatusFigure> {
        let mut figures = Vec::new();
        for status in CaseStatus::ALL {
            let status_value = value(Some(status.as_str()));
            let of_status = cells.iter().filter(|(key, _)| key[1] == status_value);
            let (cases, withheld) = match canton {
                None => (
                    of_status.map(|(_, cases)| cases).sum(),
                    statuses_withheld.is_withheld(&[1], std::slice::from_ref(&status_value)),
                ),
                Some(canton) => {
                    let cases = of_status.filter(|(k, _)| k[0] == *canton).map(|(_, n)| n).sum();
                    let key = [canton.clone(), status_value.clone()];
                    (cases, statuses_withheld.is_withheld(&[0, 1], &key))
                }
            };
            // Statuses without cases are left out, unless withheld to protect another.
            if cases > 0 || withheld {
                figures.push(StatusFigure { status, count: Count::new(cases, withheld) });
            }
        }
        figures
    };
    let decisions = if access.allows(Figure::DaysToDecision) {
        Some(DurationTable::new(access, &durations, |d| &d.submission_to_decision).await?)
    } else {
        None
    };
    let departures = if access.allows(Figure::DaysToDeparture) {
        Some(DurationTable::new(access, &durations, |d| &d.decision_to_departure).await?)
    } else {
        None
    };
    let figures = |canton: Option<&Value>| PipelineFigures {
        statuses: statuses_allowed.then(|| statuses(canton)),
        submission_to_decision: decisions
            .as_ref()
            .map(|t| canton.map_or_else(|| t.total(), |c| t.canton(c))),
        decision_to_departure: departures
            .as_ref()
            .map(|t| canton.map_or_else(|| t.total(), |c| t.canton(c))),
    };
    // Cantons in the order of their codes, federal asylum centres (no canton) last.
    let mut cantons: BTreeSet<Value> = cells.iter().map(|(key, _)| key[0].clone()).collect();
    for table in decisions.iter().chain(&departures) {
        cantons.extend(table.cantons());
    }
    let cantons = cantons
        .iter()
        .map(|canton| {
            let code = (!canton.0).then_some(canton.1.as_str());
            Ok(CantonPipeline {
                canton: typed(code, "case_statistics.canton", Canton::parse)?,
                figures: figures(Some(canton)),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let pipeline =
        PipelineStatistics { from: range.from, to: range.to, total: figures(None), cantons };
    record(&state, &caller, &params, report, csv, pipeline.cantons.len() + 1).await?;
    if !csv {
        return Ok(Json(pipeline).into_response());
    }
    let mut rows = Vec::new();
    let mut push = |level: &str, canton: Option<Canton>, f: &PipelineFigures| {
        let canton = canton.map(|c| c.code().to_owned()).unwrap_or_default();
        for s in f.statuses.iter().flatten() {
            rows.push(vec![
                level.to_owned(),
                canton.clone(),
                "status".to_owned(),
                s.status.as_str().to_owned(),
                s.count.count.map(|c| c.to_string()).unwrap_or_default(),
                String::new(),
                String::new(),
                s.count.suppressed.to_string(),
            ]);
        }
        for (name, d) in [
            ("submission_to_decision", &f.submission_to_decision),
            ("decision_to_departure", &f.decision_to_departure),
        ] {
            let Some(d) = d else { continue };
            let text = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
            rows.push(vec![
                level.to_owned(),
                canton.clone(),
                name.to_owned(),
                String::new(),
                d.cases.map(|c| c.to_string()).unwrap_or_default(),
                text(d.median_days),
                text(d.p90_days),
                d.suppressed.to_string(),
            ]);
        }
    };
    push("total", None, &pipeline.total);
    for c in &pipeline.cantons {
        push("canton", c.canton, &c.figures);
    }
    csv_response(
        report,
        &["level", "canton", "figure", "status", "cases", "median_days", "p90_days", "suppressed"],
        &rows,
    )
}

/// The first `take` of `lines`, each as an entry of the yearly overview.
fn entries<T>(
    lines: Vec<&Breakdown>,
    take: usize,
    entry: impl Fn(&Breakdown) -> Result<T, ApiError>,
) -> Result<Vec<T>, ApiError> {
    lines.into_iter().take(take).map(entry).collect()
}

/// Get a year's figures
///
/// A year in figures, like IOM Bern's yearly report: the departures of the year (households,
/// persons, adults and minors, start-up cash and travel money paid, reintegration approved,
/// in Rappen), the `top` destinations (default 10), the cantons and programmes they left
/// from, and the cases opened, approved and rejected in the year. Days and years are Swiss
/// time.
///
/// Scope as for `/v1/stats/cases`. The departures (and their lists) need the travel in the
/// caller's case view, their amounts and the approvals and rejections the assistance; a
/// figure the view lacks is absent. Small groups as for `/v1/stats/cases`: a figure over 1 to
/// 4 cases is withheld (null, `suppressed` true; never zero) with enough others of its list
/// (and the approvals with the rejections) that none can be worked out from the total, and
/// withheld destinations, cantons and programmes are listed after the others in the order of
/// their codes. With `Accept: text/csv`, one row per figure: `section` (`departures`,
/// `destination_country`, `canton`, `programme`, `opened_cases`, `approved_cases`,
/// `rejected_cases`), `value` (the country, canton or programme), `count` (departures, or
/// cases), the persons and amounts, and `suppressed`. Logged as `stats.read` /
/// `stats.export`.
#[utoipa::path(get, path = "/v1/stats/yearly", tag = "statistics", security(("bearer" = [])),
    params(
        ("year" = i32, Query, minimum = 1970, maximum = 2100, description = "The year, e.g. 2026"),
        ("top" = Option<u32>, Query, minimum = 1, maximum = 50, description = "How many destinations to list, 1 to 50 (default 10)"),
        ("canton" = Option<Vec<Canton>>, Query, style = Form, explode = false, min_items = 1, description = "Cantons (two-letter codes), comma-separated"),
        ("programme" = Option<Vec<Programme>>, Query, style = Form, explode = false, min_items = 1, description = "Programmes, comma-separated"),
        ("destination_country" = Option<Vec<CountryCode>>, Query, style = Form, explode = false, min_items = 1, description = "ISO 3166-1 alpha-2 codes, comma-separated"),
        ("residence_status" = Option<Vec<ResidenceStatus>>, Query, style = Form, explode = false, min_items = 1, description = "The principal applicant's residence statuses, comma-separated"),
    ),
    responses(
        (status = 200, description = "The year in figures, or its CSV export", content(
            (YearlyStatistics = "application/json"),
            (String = "text/csv")
        )),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: no access to statistics; `dimension_not_allowed`: a filter the caller's case view does not allow (residence_status)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid parameter (year is required)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_yearly_stats(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let report = Report::Yearly;
    let csv = wants_csv(&headers);
    let (access, params) = authorise(&state, &caller, report, csv, query.as_deref()).await?;
    let year =
        params.year.ok_or_else(|| ApiError::validation("year", "required", "year is required"))?;
    let range = DateRange {
        from: NaiveDate::from_ymd_opt(year, 1, 1),
        to: NaiveDate::from_ymd_opt(year, 12, 31),
    };
    let store = state.store();
    let travel = access.allows(Figure::Departures);
    let dimensions = [Dimension::DestinationCountry, Dimension::Canton, Dimension::Programme];
    let (breakdowns, throughput) = tokio::try_join!(
        async {
            if travel {
                store.departure_breakdowns(access.scope, &params.filter, &dimensions, range).await
            } else {
                Ok(Vec::new())
            }
        },
        store.throughput(access.scope, &params.filter, range),
    )?;

    // The departures by destination, by canton and by programme, each a line to the total.
    let line = |b: &Breakdown| b.by.and_then(|by| dimensions.iter().position(|d| *d == by));
    let key = |b: &Breakdown| -> Vec<Value> {
        line(b).map_or_else(Vec::new, |i| values(&b.key, &dimensions[i..=i]))
    };
    let mut counts = Counts::new(dimensions.len());
    for grouping in [None, Some(0), Some(1), Some(2)] {
        let groups = breakdowns.iter().filter(|b| line(b) == grouping);
        let cells: Vec<(Vec<Value>, i64)> =
            groups.map(|b| (key(b), b.figures.departures)).collect();
        counts = counts.grouping(grouping.as_slice(), cells);
    }
    let departures_withheld = withhold(access, counts).await?;
    let withheld = |b: &Breakdown| departures_withheld.is_withheld(line(b).as_slice(), &key(b));
    let sums = |b: &Breakdown| DepartureSums::new(&access, Some(&b.figures), withheld(b));
    // Withheld lines go last, in the order of their codes, so their order says nothing of
    // their hidden sizes.
    let lines = |by: Dimension| -> Vec<&Breakdown> {
        let mut lines: Vec<&Breakdown> = breakdowns.iter().filter(|b| b.by == Some(by)).collect();
        lines.sort_by_key(|b| withheld(b));
        let first_hidden = lines.iter().position(|b| withheld(b));
        if let Some(i) = first_hidden {
            lines[i..].sort_by(|a, b| {
                let key = |k: &GroupKey| {
                    (k.destination_country.clone(), k.canton.clone(), k.programme.clone())
                };
                key(&a.key).cmp(&key(&b.key))
            });
        }
        lines
    };
    let (mut total, mut top_destinations, mut cantons, mut programmes) = (None, None, None, None);
    if travel {
        total = Some(
            breakdowns
                .iter()
                .find(|b| b.by.is_none())
                .map(sums)
                .ok_or_else(|| corrupt("departure_breakdowns", "no total"))?,
        );
        top_destinations = Some(entries(lines(Dimension::DestinationCountry), params.top, |b| {
            let country = b.key.destination_country.as_deref().unwrap_or_default();
            Ok(DestinationFigures {
                destination_country: CountryCode::parse(country)
                    .ok_or_else(|| corrupt("case_statistics.destination_country", country))?,
                figures: sums(b),
            })
        })?);
        cantons = Some(entries(lines(Dimension::Canton), usize::MAX, |b| {
            Ok(CantonFigures {
                canton: typed(b.key.canton.as_deref(), "case_statistics.canton", Canton::parse)?,
                figures: sums(b),
            })
        })?);
        programmes = Some(entries(lines(Dimension::Programme), usize::MAX, |b| {
            let programme = b.key.programme.as_deref().unwrap_or_default();
            Ok(ProgrammeFigures {
                programme: Programme::parse(programme)
                    .ok_or_else(|| corrupt("case_statistics.programme", programme))?,
                figures: sums(b),
            })
        })?);
    }
    // Cases opened stand alone; approvals and rejections add up to the year's decisions.
    let opened = withhold(access, Counts::finest(0, [(Vec::new(), throughput.opened)])).await?;
    let (mut approved_cases, mut rejected_cases) = (None, None);
    if access.allows(Figure::Decisions) {
        let decisions = [("approved", throughput.approved), ("rejected", throughput.rejected)]
            .map(|(decision, cases)| (vec![value(Some(decision))], cases));
        let withheld = withhold(access, Counts::finest(1, decisions.clone())).await?;
        let [approved, rejected] =
            decisions.map(|(key, cases)| Count::new(cases, withheld.is_withheld(&[0], &key)));
        (approved_cases, rejected_cases) = (Some(approved), Some(rejected));
    }
    let yearly = YearlyStatistics {
        year,
        departures: total,
        opened_cases: Count::new(throughput.opened, opened.is_withheld(&[], &[])),
        approved_cases,
        rejected_cases,
        top_destinations,
        cantons,
        programmes,
    };
    let listed = |list: Option<usize>| list.map_or(0, |n| n + 1);
    let rows = 1
        + 2 * usize::from(yearly.approved_cases.is_some())
        + listed(yearly.top_destinations.as_ref().map(Vec::len))
        + yearly.cantons.as_ref().map_or(0, Vec::len)
        + yearly.programmes.as_ref().map_or(0, Vec::len);
    record(&state, &caller, &params, report, csv, rows).await?;
    if !csv {
        return Ok(Json(yearly).into_response());
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut departures = |section: &str, value: String, f: &DepartureSums| {
        let mut row = vec![section.to_owned(), value];
        row.extend(f.fields());
        rows.push(row);
    };
    if let Some(total) = &yearly.departures {
        departures("departures", String::new(), total);
    }
    for d in yearly.top_destinations.iter().flatten() {
        departures("destination_country", d.destination_country.to_string(), &d.figures);
    }
    for c in yearly.cantons.iter().flatten() {
        departures("canton", c.canton.map(|c| c.code().to_owned()).unwrap_or_default(), &c.figures);
    }
    for p in yearly.programmes.iter().flatten() {
        departures("programme", p.programme.to_string(), &p.figures);
    }
    let mut header = vec!["section", "value", "count"];
    // Without departures, a count and whether it is withheld.
    let columns = match yearly.departures {
        Some(_) => DepartureSums::columns(&access),
        None => vec!["count", "suppressed"],
    };
    header.extend(&columns[1..]);
    for (section, count) in [
        ("opened_cases", Some(yearly.opened_cases)),
        ("approved_cases", yearly.approved_cases),
        ("rejected_cases", yearly.rejected_cases),
    ] {
        let Some(count) = count else { continue };
        let [count, suppressed] = count.fields();
        let mut row = vec![section.to_owned(), String::new(), count];
        row.extend(std::iter::repeat_n(String::new(), columns.len() - 2));
        row.push(suppressed);
        rows.push(row);
    }
    csv_response(report, &header, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_states_the_years_and_the_top_the_parameters_accept() {
        let document = serde_json::to_value(crate::openapi()).expect("document");
        let parameter = |path: &str, name: &str| {
            document["paths"][path]["get"]["parameters"]
                .as_array()
                .and_then(|all| all.iter().find(|p| p["name"] == name))
                .map(|p| p["schema"].clone())
                .unwrap_or_default()
        };
        let year = parameter("/v1/stats/yearly", "year");
        assert_eq!((year["minimum"].as_i64(), year["maximum"].as_i64()), (Some(1970), Some(2100)));
        assert_eq!(YEARS, 1970..=2100);
        let top = parameter("/v1/stats/yearly", "top");
        assert_eq!(
            (top["minimum"].as_u64(), top["maximum"].as_u64()),
            (Some(1), Some(MAX_TOP as u64))
        );
        for path in ["/v1/stats/cases", "/v1/stats/departures", "/v1/stats/pipeline"] {
            for name in ["from", "to"] {
                // 1970–1999, 2000–2099, 2100: the years of YEARS.
                assert_eq!(parameter(path, name)["pattern"], "^(19[7-9][0-9]|20[0-9][0-9]|2100)-");
            }
        }
    }

    fn fields(result: Result<Params, ApiError>) -> Vec<(String, String)> {
        match result {
            Err(ApiError::Validation(errors)) => {
                errors.into_iter().map(|e| (e.field, e.code)).collect()
            }
            Err(other) => panic!("expected validation errors, got {other:?}"),
            Ok(_) => panic!("expected validation errors"),
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(f, c)| ((*f).to_owned(), (*c).to_owned())).collect()
    }

    #[test]
    fn group_by_and_filters_take_comma_separated_or_repeated_values() {
        let params = Params::parse(
            Report::Cases,
            "group_by=canton,period&period=quarter&period_of=decided&canton=be,ZH&canton=BE\
             &status=approved&from=2026-01-01&to=2026-12-31",
        )
        .expect("valid");
        assert_eq!(params.dimensions, [Dimension::Canton, Dimension::Period]);
        assert_eq!(params.period, Period::Quarter);
        assert_eq!(params.period_of, PeriodOf::Decided);
        assert_eq!(params.filter.cantons, [Canton::Be, Canton::Zh]);
        assert_eq!(params.filter.statuses, [CaseStatus::Approved]);
        assert_eq!(params.given["canton"], "be,ZH,BE");
        assert_eq!(params.range.to, NaiveDate::from_ymd_opt(2026, 12, 31));
    }

    #[test]
    fn every_bad_parameter_is_named() {
        assert_eq!(
            fields(Params::parse(
                Report::Cases,
                "group_by=canton,colour&period=week&period_of=born&from=2026-13-01&to=1850-01-01\
                 &canton=XX&programme=other&destination_country=QQ&status=open\
                 &residence_status=B&limit=5&group_by=canton",
            )),
            pairs(&[
                ("group_by", "unknown_value"),
                ("period", "unknown_value"),
                ("period_of", "unknown_value"),
                ("from", "invalid_date"),
                ("to", "out_of_range"),
                ("canton", "invalid_value"),
                ("programme", "unknown_value"),
                ("destination_country", "invalid_value"),
                ("status", "unknown_value"),
                ("residence_status", "unknown_value"),
                ("limit", "unknown_parameter"),
                ("group_by", "repeated"),
            ])
        );
    }

    #[test]
    fn ranges_periods_and_years_are_checked_across_parameters() {
        assert_eq!(
            fields(Params::parse(Report::Cases, "from=2026-02-01&to=2026-01-31&period=year")),
            pairs(&[("to", "before_from"), ("period", "unused")])
        );
        assert_eq!(
            fields(Params::parse(Report::Cases, "period_of=opened&period_of=decided")),
            pairs(&[("period_of", "repeated")])
        );
        assert_eq!(
            fields(Params::parse(Report::Yearly, "top=0")),
            pairs(&[("top", "out_of_range"), ("year", "required")])
        );
        assert_eq!(
            fields(Params::parse(Report::Yearly, "year=20x6")),
            pairs(&[("year", "out_of_range")])
        );
        assert_eq!(
            fields(Params::parse(Report::Pipeline, "group_by=canton&status=approved")),
            pairs(&[("group_by", "unknown_parameter"), ("status", "unknown_parameter")])
        );
        let countries = [
            "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW",
            "AX", "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN",
            "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG",
            "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU",
        ];
        let query = |n: usize| format!("destination_country={}", countries[..n].join(","));
        assert!(Params::parse(Report::Cases, &query(MAX_VALUES)).is_ok());
        assert_eq!(
            fields(Params::parse(Report::Cases, &query(MAX_VALUES + 1))),
            pairs(&[("destination_country", "too_many_values")])
        );
    }

    #[test]
    fn csv_quotes_fields_with_separators_quotes_and_line_breaks() {
        let rows = vec![
            vec!["BE".to_owned(), "Zürich, \"Nord\"".to_owned()],
            vec![String::new(), "two\nlines".to_owned()],
        ];
        let body = csv_body(&["canton", "note"], &rows).expect("csv");
        assert_eq!(
            String::from_utf8(body).expect("utf-8"),
            "canton,note\r\nBE,\"Zürich, \"\"Nord\"\"\"\r\n,\"two\nlines\"\r\n"
        );
    }

    #[test]
    fn the_pipeline_counts_a_year_at_most() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        let range = |query: &str| Params::parse(Report::Pipeline, query).map(|p| p.range);
        let leap_year = range("from=2028-01-01&to=2028-12-31").expect("366 days");
        assert_eq!(leap_year, DateRange { from: day(2028, 1, 1), to: day(2028, 12, 31) });
        assert_eq!(
            range("from=2026-03-01").expect("from").to,
            day(2027, 2, 28),
            "365 days from from"
        );
        assert_eq!(range("to=2026-12-31").expect("to").from, day(2026, 1, 1));
        let today = Utc::now().date_naive();
        assert_eq!(
            range("").expect("default"),
            DateRange { from: Some(today - Duration::days(364)), to: Some(today) }
        );
        assert_eq!(
            fields(Params::parse(Report::Pipeline, "from=2026-01-01&to=2027-01-02")),
            pairs(&[("to", "range_too_long")])
        );
    }

    #[test]
    fn departures_group_by_period_destination_and_canton_by_default() {
        let params = Params::parse(Report::Departures, "period=year").expect("valid");
        assert_eq!(
            params.dimensions,
            [Dimension::Period, Dimension::DestinationCountry, Dimension::Canton]
        );
        assert_eq!(params.period, Period::Year);
        let total = Params::parse(Report::Departures, "group_by=").expect("valid");
        assert!(total.dimensions.is_empty());
    }
}
