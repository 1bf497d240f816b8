//! Who may read statistics, and the access log of every read, export and refusal.

use retour_domain::statistics::{RefusalCode, Report, StatisticsAccess, statistics_access};
use retour_store::audit::Outcome;
use serde_json::json;

use crate::auth::Caller;
use crate::error::ProblemCode;
use crate::{ApiError, AppState};

use super::*;

pub(super) fn action(csv: bool) -> &'static str {
    if csv { "stats.export" } else { "stats.read" }
}

/// What the caller may see of the statistics, and the request's parameters. A caller without
/// statistics, or a request for what their case view does not hold (a dimension, a report),
/// is logged and answered 403; invalid parameters 422.
pub(super) async fn authorise(
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

pub(super) async fn deny(
    state: &AppState,
    caller: &Caller,
    csv: bool,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    let event = caller.event(action(csv), Outcome::Denied).details(details);
    state.store().log(&event).await?;
    Ok(())
}

/// Logs the read or export of a report.
pub(super) async fn record(
    state: &AppState,
    caller: &Caller,
    params: &Params,
    report: Report,
    csv: bool,
    rows: usize,
) -> Result<(), ApiError> {
    let event =
        caller.event(action(csv), Outcome::Allowed).details(params.details(report, csv, rows));
    state.store().log(&event).await?;
    Ok(())
}

/// The groups of an answer, unless the store found more than [`MAX_GROUPS`] (it reads one
/// more to tell).
pub(super) fn at_most_max_groups<T>(groups: Vec<T>) -> Result<Vec<T>, ApiError> {
    if groups.len() <= MAX_GROUPS as usize {
        return Ok(groups);
    }
    Err(ApiError::validation(
        "group_by",
        "too_many_groups",
        format!(
            "the report would have more than {MAX_GROUPS} groups; group by fewer dimensions, \
             a longer period, or filter"
        ),
    ))
}
