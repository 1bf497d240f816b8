//! `GET /v1/stats/departures`: departures, persons and amounts.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use retour_domain::case::Programme;
use retour_domain::person::ResidenceStatus;
use retour_domain::statistics::grouped::{DepartureStatistics, departures};
use retour_domain::statistics::{Dimension, Period, Report};
use retour_domain::{Canton, CaseStatus, CountryCode};

use crate::auth::Caller;
use crate::error::Problem;
use crate::{ApiError, AppState};

use super::*;

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
        (status = 403, description = "`forbidden`: no access to statistics; `report_not_allowed`: the caller's case view holds no travel; `dimension_not_allowed` as for /v1/stats/cases", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid parameter; `too_many_groups` beyond 10,000 groups", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn get_departure_stats(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let asked = Asked::new(&state, &caller, Report::Departures, &headers, query.as_deref()).await?;
    let Params { filter, range, dimensions, period, .. } = &asked.params;
    let (scope, store) = (asked.access.scope, state.store());
    let groups = store.departures(scope, filter, dimensions, *period, *range, MAX_GROUPS).await?;
    let groups = at_most_max_groups(groups)?;
    let (dimensions, period) = (dimensions.clone(), *period);
    let answer =
        asked.figures(move |access| departures(access, &dimensions, period, groups)).await?;
    asked.answer(&state, &caller, answer).await
}
