//! `GET /v1/stats/pipeline`: statuses now and how long decisions and departures took.

use std::collections::BTreeSet;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use retour_domain::case::Programme;
use retour_domain::person::ResidenceStatus;
use retour_domain::statistics::suppression::{Counts, Withheld};
use retour_domain::statistics::{Figure, Report, StatisticsAccess};
use retour_domain::{Canton, CaseStatus, CountryCode};
use retour_store::stats::{Durations, PipelineDurations};

use crate::auth::Caller;
use crate::error::Problem;
use crate::json::Json;
use crate::routes::audit::wants_csv;
use crate::{ApiError, AppState};

use super::*;

/// One duration of the pipeline, in total and per canton, and what of it is withheld: the
/// cantons' counts and their total are one line.
pub(super) struct DurationTable<'a> {
    pub(super) rows: &'a [PipelineDurations],
    pub(super) of: fn(&PipelineDurations) -> &Durations,
    pub(super) withheld: Withheld<Value>,
}

impl<'a> DurationTable<'a> {
    pub(super) async fn new(
        access: StatisticsAccess,
        rows: &'a [PipelineDurations],
        of: fn(&PipelineDurations) -> &Durations,
    ) -> Result<Self, ApiError> {
        let cells =
            rows.iter().filter(|d| !d.total).map(|d| (vec![canton_value(d.canton)], of(d).cases));
        let withheld = withhold(access, Counts::finest(1, cells)).await?;
        Ok(DurationTable { rows, of, withheld })
    }

    pub(super) fn total(&self) -> DurationFigures {
        let none = Durations { cases: 0, median_days: None, p90_days: None };
        let total = self.rows.iter().find(|d| d.total).map_or(&none, self.of);
        DurationFigures::new(total, self.withheld.is_withheld(&[], &[]))
    }

    pub(super) fn canton(&self, canton: &Value) -> DurationFigures {
        let row = self.rows.iter().find(|d| !d.total && canton_value(d.canton) == *canton);
        let none = Durations { cases: 0, median_days: None, p90_days: None };
        let withheld = self.withheld.is_withheld(&[0], std::slice::from_ref(canton));
        DurationFigures::new(row.map_or(&none, self.of), withheld)
    }

    /// The cantons with cases.
    pub(super) fn cantons(&self) -> impl Iterator<Item = Value> + '_ {
        self.rows
            .iter()
            .filter(|d| !d.total && (self.of)(d).cases > 0)
            .map(|d| canton_value(d.canton))
    }
}

pub(super) fn canton_value(canton: Option<Canton>) -> Value {
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
        (status = 403, description = "`forbidden`: no access to statistics; `dimension_not_allowed`: a filter the caller's case view does not allow (residence_status)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid parameter; a range longer than 366 days", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn get_pipeline_stats(
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
