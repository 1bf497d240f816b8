//! `GET /v1/stats/pipeline`: statuses now and how long decisions and departures took.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use retour_domain::case::Programme;
use retour_domain::person::ResidenceStatus;
use retour_domain::statistics::pipeline::{PipelineStatistics, pipeline};
use retour_domain::statistics::{Figure, Report};
use retour_domain::{Canton, CountryCode};

use crate::auth::Caller;
use crate::error::Problem;
use crate::{ApiError, AppState};

use super::*;

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
        (status = 403, description = "`forbidden`: no access to statistics; `dimension_not_allowed`: a filter the caller's case view does not allow (residence_status)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid parameter; a range longer than 366 days", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn get_pipeline_stats(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let asked = Asked::new(&state, &caller, Report::Pipeline, &headers, query.as_deref()).await?;
    let (Params { filter, range, .. }, scope) = (&asked.params, asked.access.scope);
    let store = state.store();
    // Two scans, side by side on two connections.
    let (statuses, durations) = tokio::try_join!(
        async {
            if asked.access.allows(Figure::Statuses) {
                store.status_counts(scope, filter).await
            } else {
                Ok(Vec::new())
            }
        },
        store.pipeline_durations(scope, filter, *range),
    )?;
    let (from, to) = (range.from, range.to);
    let answer =
        asked.figures(move |access| pipeline(access, from, to, &statuses, &durations)).await?;
    asked.answer(&state, &caller, answer).await
}
