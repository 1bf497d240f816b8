//! What the reports are worked out from, as the store reads it: sums over groups of cases,
//! each value of a group typed. Never a case.

use std::cmp::Ordering;

use chrono::NaiveDate;

use super::Dimension;
use crate::case::Programme;
use crate::person::ResidenceStatus;
use crate::{Canton, CaseStatus, CountryCode, Rappen};

/// The values of a group; `None` where the dimension was not grouped by, or is empty for
/// the group (the canton of federal asylum centres, a household without a principal).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupKey {
    pub canton: Option<Canton>,
    pub programme: Option<Programme>,
    pub destination_country: Option<CountryCode>,
    pub status: Option<CaseStatus>,
    pub residence_status: Option<ResidenceStatus>,
    /// The first day of the period.
    pub period_start: Option<NaiveDate>,
}

/// A group's value of one dimension, ordered as the reports list their groups: codes by
/// their bytes (as the store sorts them, whatever the order of an enum's variants), a period
/// by its first day, an empty value last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    Canton(Canton),
    Programme(Programme),
    DestinationCountry(CountryCode),
    Status(CaseStatus),
    ResidenceStatus(ResidenceStatus),
    Period(NaiveDate),
    /// The group has no value of the dimension.
    Empty,
}

impl Value {
    /// A canton, or the federal asylum centres (none).
    pub fn canton(canton: Option<Canton>) -> Value {
        canton.map_or(Value::Empty, Value::Canton)
    }

    /// What orders values: empty last; values of different dimensions (never compared in
    /// one answer) by their dimension; then the code, or the day.
    fn order(self) -> (bool, u8, &'static str, Option<NaiveDate>) {
        match self {
            Value::Canton(c) => (false, 0, c.code(), None),
            Value::Programme(p) => (false, 1, p.as_str(), None),
            Value::DestinationCountry(c) => (false, 2, c.as_str(), None),
            Value::Status(s) => (false, 3, s.as_str(), None),
            Value::ResidenceStatus(r) => (false, 4, r.as_str(), None),
            Value::Period(day) => (false, 5, "", Some(day)),
            Value::Empty => (true, 0, "", None),
        }
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order().cmp(&other.order())
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl GroupKey {
    /// The group's value of `dimension`.
    pub fn value(&self, dimension: Dimension) -> Value {
        let value = match dimension {
            Dimension::Canton => self.canton.map(Value::Canton),
            Dimension::Programme => self.programme.map(Value::Programme),
            Dimension::DestinationCountry => {
                self.destination_country.map(Value::DestinationCountry)
            }
            Dimension::Status => self.status.map(Value::Status),
            Dimension::ResidenceStatus => self.residence_status.map(Value::ResidenceStatus),
            Dimension::Period => self.period_start.map(Value::Period),
        };
        value.unwrap_or(Value::Empty)
    }

    /// The group's values of `dimensions`, in their order.
    pub fn values(&self, dimensions: &[Dimension]) -> Vec<Value> {
        dimensions.iter().map(|&d| self.value(d)).collect()
    }

    /// The group of `values` (the inverse of [`GroupKey::values`]: an empty value sets
    /// nothing).
    pub fn of_values(values: &[Value]) -> GroupKey {
        let mut key = GroupKey::default();
        for value in values {
            match *value {
                Value::Canton(c) => key.canton = Some(c),
                Value::Programme(p) => key.programme = Some(p),
                Value::DestinationCountry(c) => key.destination_country = Some(c),
                Value::Status(s) => key.status = Some(s),
                Value::ResidenceStatus(r) => key.residence_status = Some(r),
                Value::Period(day) => key.period_start = Some(day),
                Value::Empty => {}
            }
        }
        key
    }
}

/// The figures of one group: a number of cases, or [`DepartureFigures`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group<T> {
    pub key: GroupKey,
    pub figures: T,
}

/// Departures and what was paid and approved for them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DepartureFigures {
    /// Departed cases (households).
    pub departures: i64,
    /// Persons who left, and of them adults and minors by age on the departure day.
    pub persons: i64,
    pub adults: i64,
    pub minors: i64,
    /// Paid in cash at the departure.
    pub startup_cash: Rappen,
    pub travel_money: Rappen,
    /// SEM's approved reintegration projects.
    pub approved_reintegration: Rappen,
}

/// The departures of a year: in total, and by destination, by canton (`None`: federal
/// asylum centres) and by programme, each list ordered by departures, most first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DepartureBreakdowns {
    pub total: DepartureFigures,
    pub destinations: Vec<(CountryCode, DepartureFigures)>,
    pub cantons: Vec<(Option<Canton>, DepartureFigures)>,
    pub programmes: Vec<(Programme, DepartureFigures)>,
}

/// Cases opened and decided within a date range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Throughput {
    pub opened: i64,
    pub approved: i64,
    pub rejected: i64,
}

/// The cases of one canton (`None`: federal asylum centres) now in one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCount {
    pub canton: Option<Canton>,
    pub status: CaseStatus,
    pub cases: i64,
}

/// Median and 90th percentile of a duration in days, over `cases` cases.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Durations {
    pub cases: i64,
    /// `None` when there were no cases.
    pub median_days: Option<f64>,
    pub p90_days: Option<f64>,
}

/// How long cases took from the first submission to SEM's decision, and from the decision
/// to the departure.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PipelineDurations {
    pub submission_to_decision: Durations,
    pub decision_to_departure: Durations,
}

/// How long cases took, in total and per canton (`None`: federal asylum centres).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DurationsByCanton {
    pub total: PipelineDurations,
    pub cantons: Vec<(Option<Canton>, PipelineDurations)>,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn values_sort_by_their_codes_and_an_empty_value_last() {
        // Declared in the order of the workflow and of the permits; sorted by their codes.
        let (approved, withdrawn) = (CaseStatus::Approved, CaseStatus::Withdrawn);
        let mut statuses = [Value::Empty, Value::Status(withdrawn), Value::Status(approved)];
        statuses.sort();
        assert_eq!(statuses, [Value::Status(approved), Value::Status(withdrawn), Value::Empty]);
        let permit = Value::ResidenceStatus;
        let (n, f) = (ResidenceStatus::AsylumSeeker, ResidenceStatus::ProvisionallyAdmitted);
        assert!(permit(f) < permit(n), "F before N");
        assert!(permit(ResidenceStatus::ProtectionS) < permit(ResidenceStatus::Dublin));
        let day = |m| NaiveDate::from_ymd_opt(2026, m, 1).map(Value::Period);
        assert!(day(2) < day(11) && day(11) < Some(Value::Empty));
        assert!(Value::canton(Some(Canton::Zh)) < Value::canton(None));
    }

    fn keys() -> impl Strategy<Value = GroupKey> {
        let of = |n: usize| proptest::option::of(0..n);
        (of(Canton::ALL.len()), of(Programme::ALL.len()), of(CaseStatus::ALL.len())).prop_flat_map(
            move |(canton, programme, status)| {
                let residence = proptest::option::of(0..ResidenceStatus::ALL.len());
                let day = proptest::option::of(1u32..=12);
                let country = proptest::option::of(prop_oneof![Just("IQ"), Just("XK"), Just("GE")]);
                (residence, day, country).prop_map(move |(residence, month, country)| GroupKey {
                    canton: canton.map(|i| Canton::ALL[i]),
                    programme: programme.map(|i| Programme::ALL[i]),
                    destination_country: country.and_then(CountryCode::parse),
                    status: status.map(|i| CaseStatus::ALL[i]),
                    residence_status: residence.map(|i| ResidenceStatus::ALL[i]),
                    period_start: month.and_then(|m| NaiveDate::from_ymd_opt(2026, m, 1)),
                })
            },
        )
    }

    proptest! {
        #[test]
        fn a_key_is_its_values(key in keys()) {
            prop_assert_eq!(GroupKey::of_values(&key.values(&Dimension::ALL)), key);
            let canton = GroupKey::of_values(&key.values(&[Dimension::Canton]));
            prop_assert_eq!(canton, GroupKey { canton: key.canton, ..GroupKey::default() });
        }
    }
}
