//! The CSV form of a report.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use retour_domain::statistics::figures::{Count, DepartureSums};
use retour_domain::statistics::grouped::{CaseStatistics, DepartureStatistics, GroupValues};
use retour_domain::statistics::pipeline::{PipelineFigures, PipelineStatistics};
use retour_domain::statistics::yearly::YearlyStatistics;
use retour_domain::statistics::{Dimension, Figure, Report, StatisticsAccess};
use serde::Serialize;

use crate::ApiError;
use crate::csv_out::CsvWriter;

use super::*;

/// RFC 4180 CSV (CRLF line ends, fields quoted where needed) with a header row, UTF-8, no
/// cell a spreadsheet would evaluate ([`crate::csv_out`]).
pub(super) fn csv_body(columns: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, ApiError> {
    let mut writer = CsvWriter::new();
    writer.row(columns).map_err(ApiError::internal)?;
    for row in rows {
        writer.row(row).map_err(ApiError::internal)?;
    }
    writer.into_bytes().map_err(ApiError::internal)
}

pub(super) fn csv_response(
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

/// The answer of a report: JSON as it is, or a table of CSV rows.
pub(super) trait Answer: Serialize {
    /// How many entries the answer lists, for the access log.
    fn listed(&self) -> usize;
    /// The CSV header.
    fn columns(&self, asked: &Asked) -> Vec<&'static str>;
    /// The CSV rows, a field per column.
    fn rows(&self, asked: &Asked) -> Vec<Vec<String>>;
}

/// A field; empty for null.
fn text<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The fields of the grouped `dimensions`, in their order.
fn group_fields(values: &GroupValues, dimensions: &[Dimension]) -> Vec<String> {
    dimensions
        .iter()
        .map(|d| match d {
            Dimension::Canton => text(values.canton.flatten()),
            Dimension::Programme => text(values.programme.flatten()),
            Dimension::DestinationCountry => text(values.destination_country.flatten()),
            Dimension::Status => text(values.status.flatten()),
            Dimension::ResidenceStatus => text(values.residence_status.flatten()),
            Dimension::Period => values.period.clone().unwrap_or_default(),
        })
        .collect()
}

fn count_fields(count: &Count) -> [String; 2] {
    [text(count.count), count.suppressed.to_string()]
}

/// The columns of departure sums for `access`.
fn departure_columns(access: &StatisticsAccess) -> Vec<&'static str> {
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

/// The fields of departure sums, in the order of [`departure_columns`].
fn departure_fields(sums: &DepartureSums) -> Vec<String> {
    let mut fields: Vec<String> =
        [sums.departures, sums.persons, sums.adults, sums.minors].map(text).into();
    let amounts =
        [sums.startup_cash_rappen, sums.travel_money_rappen, sums.approved_reintegration_rappen];
    fields.extend(amounts.into_iter().flatten().map(|a| text(a.map(|a| a.get()))));
    fields.push(sums.suppressed.to_string());
    fields
}

/// A row per group: its values of the dimensions grouped by, then its figures.
fn grouped_rows<G>(
    groups: &[G],
    asked: &Asked,
    fields: impl Fn(&G) -> (&GroupValues, Vec<String>),
) -> Vec<Vec<String>> {
    let row = |group| {
        let (values, figures) = fields(group);
        [group_fields(values, &asked.params.dimensions), figures].concat()
    };
    groups.iter().map(row).collect()
}

/// The dimensions grouped by, then the figures of each group.
fn grouped_columns(asked: &Asked, figures: Vec<&'static str>) -> Vec<&'static str> {
    let mut columns: Vec<&str> = asked.params.dimensions.iter().map(|d| d.as_str()).collect();
    columns.extend(figures);
    columns
}

impl Answer for CaseStatistics {
    fn listed(&self) -> usize {
        self.groups.len()
    }

    fn columns(&self, asked: &Asked) -> Vec<&'static str> {
        grouped_columns(asked, vec!["count", "suppressed"])
    }

    fn rows(&self, asked: &Asked) -> Vec<Vec<String>> {
        grouped_rows(&self.groups, asked, |g| (&g.values, count_fields(&g.count).into()))
    }
}

impl Answer for DepartureStatistics {
    fn listed(&self) -> usize {
        self.groups.len()
    }

    fn columns(&self, asked: &Asked) -> Vec<&'static str> {
        grouped_columns(asked, departure_columns(&asked.access))
    }

    fn rows(&self, asked: &Asked) -> Vec<Vec<String>> {
        grouped_rows(&self.groups, asked, |g| (&g.values, departure_fields(&g.figures)))
    }
}

impl Answer for PipelineStatistics {
    /// The total and each canton.
    fn listed(&self) -> usize {
        self.cantons.len() + 1
    }

    fn columns(&self, _: &Asked) -> Vec<&'static str> {
        vec![
            "level",
            "canton",
            "figure",
            "status",
            "cases",
            "median_days",
            "p90_days",
            "suppressed",
        ]
    }

    /// One row per figure.
    fn rows(&self, _: &Asked) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        let mut push = |level: &str, canton: String, f: &PipelineFigures| {
            let mut row = |figure: &str, [status, cases, median, p90, suppressed]: [String; 5]| {
                let start = [level.to_owned(), canton.clone(), figure.to_owned()];
                rows.push([start.as_slice(), &[status, cases, median, p90, suppressed]].concat());
            };
            for s in f.statuses.iter().flatten() {
                let [count, suppressed] = count_fields(&s.count);
                let status = s.status.to_string();
                row("status", [status, count, String::new(), String::new(), suppressed]);
            }
            for (figure, d) in [
                ("submission_to_decision", &f.submission_to_decision),
                ("decision_to_departure", &f.decision_to_departure),
            ] {
                let Some(d) = d else { continue };
                let (median, p90) = (text(d.median_days), text(d.p90_days));
                row(figure, [String::new(), text(d.cases), median, p90, d.suppressed.to_string()]);
            }
        };
        push("total", String::new(), &self.total);
        for c in &self.cantons {
            push("canton", text(c.canton), &c.figures);
        }
        rows
    }
}

impl Answer for YearlyStatistics {
    /// The departures and each line of their lists, and each count of cases.
    fn listed(&self) -> usize {
        let listed = |list: Option<usize>| list.map_or(0, |n| n + 1);
        1 + 2 * usize::from(self.approved_cases.is_some())
            + listed(self.top_destinations.as_ref().map(Vec::len))
            + self.cantons.as_ref().map_or(0, Vec::len)
            + self.programmes.as_ref().map_or(0, Vec::len)
    }

    fn columns(&self, asked: &Asked) -> Vec<&'static str> {
        let mut columns = vec!["section", "value", "count"];
        columns.extend(&yearly_figures(self, &asked.access)[1..]);
        columns
    }

    /// One row per figure: `section`, `value` (the country, canton or programme), then the
    /// figures.
    fn rows(&self, asked: &Asked) -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut departures = |section: &str, value: String, f: &DepartureSums| {
            let mut row = vec![section.to_owned(), value];
            row.extend(departure_fields(f));
            rows.push(row);
        };
        if let Some(total) = &self.departures {
            departures("departures", String::new(), total);
        }
        for d in self.top_destinations.iter().flatten() {
            departures("destination_country", d.destination_country.to_string(), &d.figures);
        }
        for c in self.cantons.iter().flatten() {
            departures("canton", text(c.canton), &c.figures);
        }
        for p in self.programmes.iter().flatten() {
            departures("programme", p.programme.to_string(), &p.figures);
        }
        // A count of cases fills the first and the last of the figures' columns.
        let between = yearly_figures(self, &asked.access).len() - 2;
        for (section, count) in [
            ("opened_cases", Some(self.opened_cases)),
            ("approved_cases", self.approved_cases),
            ("rejected_cases", self.rejected_cases),
        ] {
            let Some(count) = count else { continue };
            let [count, suppressed] = count_fields(&count);
            let mut row = vec![section.to_owned(), String::new(), count];
            row.extend(std::iter::repeat_n(String::new(), between));
            row.push(suppressed);
            rows.push(row);
        }
        rows
    }
}

/// The columns of the yearly overview's figures: those of the departures, or without them
/// a count and whether it is withheld. The first is `count` in the header.
fn yearly_figures(yearly: &YearlyStatistics, access: &StatisticsAccess) -> Vec<&'static str> {
    match yearly.departures {
        Some(_) => departure_columns(access),
        None => vec!["count", "suppressed"],
    }
}
