//! Statistics for SEM, IOM Bern and the cantons: case counts by any of a case's dimensions,
//! departures with persons and amounts, the pipeline's statuses and durations, and a yearly
//! overview. JSON, or RFC 4180 CSV (UTF-8, header row) with `Accept: text/csv`.
//!
//! What a caller may count is `retour_domain::statistics`: the cases of their scope
//! (filtered in SQL), by the dimensions and figures their case view holds (a dimension
//! asked for without it is refused, any other figure left out), with figures over 1 to 4
//! cases withheld outside SEM together with whatever would give them away (its
//! `suppression` module works out which). Withheld is `count: null, suppressed: true`, never
//! zero, and the same for every sum over the group. Reads are logged as `stats.read`, CSV
//! exports as `stats.export`, with their parameters, and so is every refusal.
//!
//! Every report is the same few steps ([`report`]): parse and authorise the request, read
//! its sums from the store, work the answer out in `retour_domain::statistics` (its groups
//! and totals, and what of them is withheld), log the read and answer JSON or CSV ([`csv`]).

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

mod access;
mod cases;
mod csv;
mod departures;
mod params;
mod pipeline;
mod report;
#[cfg(test)]
mod tests;
mod yearly;

use access::*;
use cases::*;
use csv::*;
use departures::*;
use params::*;
use pipeline::*;
use report::*;
use yearly::*;

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
