//! `GET /v1/stats/yearly`: a year in figures.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use retour_domain::case::Programme;
use retour_domain::person::ResidenceStatus;
use retour_domain::statistics::suppression::Counts;
use retour_domain::statistics::{Dimension, Figure, Report};
use retour_domain::{Canton, CountryCode};
use retour_store::stats::{Breakdown, DateRange, GroupKey};

use crate::auth::Caller;
use crate::error::Problem;
use crate::json::Json;
use crate::routes::audit::wants_csv;
use crate::{ApiError, AppState};

use super::*;

/// The first `take` of `lines`, each as an entry of the yearly overview.
pub(super) fn entries<T>(
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
        (status = 403, description = "`forbidden`: no access to statistics; `dimension_not_allowed`: a filter the caller's case view does not allow (residence_status)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid parameter (year is required)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn get_yearly_stats(
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
