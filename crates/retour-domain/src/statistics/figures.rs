//! The figures of the reports as a caller receives them: withheld ones null and
//! `suppressed`, those the caller's case view lacks absent.

use serde::Serialize;
use utoipa::ToSchema;

use super::rows::{DepartureFigures, Durations};
use super::{Figure, StatisticsAccess};
use crate::Rappen;

pub(super) fn is_false(value: &bool) -> bool {
    !*value
}

/// A number of cases; null and `suppressed` when withheld (outside SEM: over 1 to 4 cases, or
/// to keep such a figure from being worked out from the others; never shown as zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Count {
    #[schema(required = true)]
    pub count: Option<i64>,
    /// Present (true) only when the figure is withheld.
    #[serde(skip_serializing_if = "is_false")]
    pub suppressed: bool,
}

impl Count {
    pub fn new(cases: i64, withheld: bool) -> Self {
        if withheld {
            Count { count: None, suppressed: true }
        } else {
            Count { count: Some(cases), suppressed: false }
        }
    }
}

/// Departed households, their persons and the amounts paid and approved for them; every
/// figure null and `suppressed` true when withheld. The amounts are absent for callers whose
/// access to cases does not include the assistance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
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
    pub startup_cash_rappen: Option<Option<Rappen>>,
    /// Travel money paid at the departure.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>, nullable)]
    pub travel_money_rappen: Option<Option<Rappen>>,
    /// Reintegration projects SEM approved for these households.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>, nullable)]
    pub approved_reintegration_rappen: Option<Option<Rappen>>,
    /// Present (true) only when the figures are withheld.
    #[serde(skip_serializing_if = "is_false")]
    pub suppressed: bool,
}

impl DepartureSums {
    /// The sums of `figures` (none: a group without departures), as `access` may see them.
    pub fn new(
        access: &StatisticsAccess,
        figures: Option<&DepartureFigures>,
        withheld: bool,
    ) -> Self {
        let shown = figures.filter(|_| !withheld);
        let figure = |value: fn(&DepartureFigures) -> i64| shown.map(value);
        let amount = |allowed: Figure, value: fn(&DepartureFigures) -> Rappen| {
            access.allows(allowed).then(|| shown.map(value))
        };
        DepartureSums {
            departures: figure(|f| f.departures),
            persons: figure(|f| f.persons),
            adults: figure(|f| f.adults),
            minors: figure(|f| f.minors),
            startup_cash_rappen: amount(Figure::Payouts, |f| f.startup_cash),
            travel_money_rappen: amount(Figure::Payouts, |f| f.travel_money),
            approved_reintegration_rappen: amount(Figure::ApprovedReintegration, |f| {
                f.approved_reintegration
            }),
            suppressed: shown.is_none(),
        }
    }
}

/// Median and 90th percentile of a duration in days, over `cases` cases; all null and
/// `suppressed` when withheld. The days are null when there were no cases.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
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
fn days(value: Option<f64>) -> Option<f64> {
    value.map(|d| (d * 100.0).round() / 100.0)
}

impl DurationFigures {
    pub fn new(d: &Durations, withheld: bool) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_withheld_count_is_null_never_zero() {
        assert_eq!(Count::new(3, true), Count { count: None, suppressed: true });
        assert_eq!(Count::new(0, false), Count { count: Some(0), suppressed: false });
        let json = serde_json::to_value(Count::new(7, false)).expect("json");
        assert_eq!(json, serde_json::json!({ "count": 7 }));
    }

    fn figures() -> DepartureFigures {
        DepartureFigures {
            departures: 6,
            persons: 11,
            adults: 7,
            minors: 4,
            startup_cash: Rappen::new(120_000),
            travel_money: Rappen::new(30_000),
            approved_reintegration: Rappen::new(900_000),
        }
    }

    #[test]
    fn departure_sums_leave_out_the_amounts_a_view_without_the_assistance_lacks() {
        let mut access = StatisticsAccess::everything(true);
        let full = DepartureSums::new(&access, Some(&figures()), false);
        assert_eq!((full.persons, full.minors), (Some(11), Some(4)));
        assert_eq!(full.travel_money_rappen, Some(Some(Rappen::new(30_000))));
        let json = serde_json::to_value(full).expect("json");
        assert_eq!(json["approved_reintegration_rappen"], 900_000);
        access.view.assistance = false;
        let counted = DepartureSums::new(&access, Some(&figures()), false);
        assert_eq!(counted.departures, Some(6));
        assert_eq!(counted.startup_cash_rappen, None);
        assert_eq!(counted.approved_reintegration_rappen, None);
    }

    #[test]
    fn withheld_departure_sums_are_all_null_and_no_group_is_withheld_too() {
        let access = StatisticsAccess::everything(true);
        for sums in [
            DepartureSums::new(&access, Some(&figures()), true),
            DepartureSums::new(&access, None, false),
        ] {
            assert!(sums.suppressed);
            assert_eq!(
                (sums.departures, sums.persons, sums.adults, sums.minors),
                (None, None, None, None)
            );
            assert_eq!(sums.startup_cash_rappen, Some(None), "present, and null");
        }
    }

    #[test]
    fn durations_are_rounded_to_two_decimals_or_withheld_whole() {
        let d = Durations { cases: 9, median_days: Some(12.345_6), p90_days: Some(40.0) };
        let shown = DurationFigures::new(&d, false);
        assert_eq!(
            (shown.cases, shown.median_days, shown.p90_days),
            (Some(9), Some(12.35), Some(40.0))
        );
        let hidden = DurationFigures::new(&d, true);
        assert_eq!((hidden.cases, hidden.median_days, hidden.suppressed), (None, None, true));
        let none = DurationFigures::new(&Durations::default(), false);
        assert_eq!((none.cases, none.median_days), (Some(0), None));
    }
}
