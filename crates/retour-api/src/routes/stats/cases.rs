//! `GET /v1/stats/cases`: case counts.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use retour_domain::case::Programme;
use retour_domain::person::ResidenceStatus;
use retour_domain::statistics::grouped::{CaseStatistics, case_counts};
use retour_domain::statistics::{Dimension, Period, PeriodOf, Report};
use retour_domain::{Canton, CaseStatus, CountryCode};
use retour_store::stats::Grouping;

use crate::auth::Caller;
use crate::error::Problem;
use crate::{ApiError, AppState};

use super::*;

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
        (status = 403, description = "`forbidden`: no access to statistics (administrators, service accounts without stats:read); `dimension_not_allowed`: a dimension grouped or filtered by is derived from a part of cases the caller may not receive", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid parameter; `too_many_groups` beyond 10,000 groups", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn get_case_stats(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let asked = Asked::new(&state, &caller, Report::Cases, &headers, query.as_deref()).await?;
    let Params { filter, range, dimensions, period, period_of, .. } = &asked.params;
    let grouping =
        Grouping { dimensions: dimensions.clone(), period: *period, period_of: *period_of };
    let scope = asked.access.scope;
    let groups = state.store().count_cases(scope, filter, &grouping, *range, MAX_GROUPS).await?;
    let groups = at_most_max_groups(groups)?;
    let answer = asked
        .figures(move |access| case_counts(access, &grouping.dimensions, grouping.period, groups))
        .await?;
    asked.answer(&state, &caller, answer).await
}
