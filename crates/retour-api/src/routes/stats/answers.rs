//! The response bodies of the reports.

use chrono::NaiveDate;
use retour_domain::case::Programme;
use retour_domain::person::ResidenceStatus;
use retour_domain::statistics::{Dimension, Figure, Period, StatisticsAccess};
use retour_domain::{Canton, CaseStatus, CountryCode};
use retour_store::StoreError;
use retour_store::stats::{DepartureFigures, Durations};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiError;

use super::*;

pub(super) fn is_false(value: &bool) -> bool {
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

pub(super) fn corrupt(column: &'static str, value: &str) -> ApiError {
    ApiError::internal(StoreError::Corrupt { column, value: value.to_owned() })
}

pub(super) fn typed<T>(
    value: Option<&str>,
    column: &'static str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    value.map(|v| parse(v).ok_or_else(|| corrupt(column, v))).transpose()
}

impl GroupValues {
    /// The values of a group for the grouped `dimensions`.
    pub(super) fn new(
        values: &[Value],
        dimensions: &[Dimension],
        period: Period,
    ) -> Result<Self, ApiError> {
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
    pub(super) fn fields(&self, dimensions: &[Dimension]) -> Vec<String> {
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
    pub(super) fn new(cases: i64, withheld: bool) -> Self {
        if withheld {
            Count { count: None, suppressed: true }
        } else {
            Count { count: Some(cases), suppressed: false }
        }
    }

    pub(super) fn fields(&self) -> [String; 2] {
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
    pub(super) fn new(
        access: &StatisticsAccess,
        figures: Option<&DepartureFigures>,
        withheld: bool,
    ) -> Self {
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
    pub(super) fn columns(access: &StatisticsAccess) -> Vec<&'static str> {
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
    pub(super) fn fields(&self) -> Vec<String> {
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
pub(super) fn days(value: Option<f64>) -> Option<f64> {
    value.map(|d| (d * 100.0).round() / 100.0)
}

impl DurationFigures {
    pub(super) fn new(d: &Durations, withheld: bool) -> Self {
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
