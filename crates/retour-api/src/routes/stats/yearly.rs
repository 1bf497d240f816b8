//! `GET /v1/stats/yearly`: a year in figures.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::NaiveDate;
use retour_domain::case::Programme;
use retour_domain::person::ResidenceStatus;
use retour_domain::statistics::rows::DepartureBreakdowns;
use retour_domain::statistics::yearly::{YearlyStatistics, yearly};
use retour_domain::statistics::{Figure, Report};
use retour_domain::{Canton, CountryCode};
use retour_store::stats::DateRange;

use crate::auth::Caller;
use crate::error::Problem;
use crate::{ApiError, AppState};

use super::*;

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
    let asked = Asked::new(&state, &caller, Report::Yearly, &headers, query.as_deref()).await?;
    let (Params { filter, year, top, .. }, scope) = (&asked.params, asked.access.scope);
    let year = year.ok_or_else(|| ApiError::validation("year", "required", "year is required"))?;
    let range = DateRange {
        from: NaiveDate::from_ymd_opt(year, 1, 1),
        to: NaiveDate::from_ymd_opt(year, 12, 31),
    };
    let store = state.store();
    let (departures, throughput) = tokio::try_join!(
        async {
            if asked.access.allows(Figure::Departures) {
                store.departure_breakdowns(scope, filter, range).await
            } else {
                Ok(DepartureBreakdowns::default())
            }
        },
        store.throughput(scope, filter, range),
    )?;
    let top = *top;
    let answer =
        asked.figures(move |access| yearly(access, year, top, &departures, throughput)).await?;
    asked.answer(&state, &caller, answer).await
}
