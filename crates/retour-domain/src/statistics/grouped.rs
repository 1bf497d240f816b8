//! The grouped reports, case counts and departures: their groups, and what of them the
//! caller may see.

use serde::Serialize;
use utoipa::ToSchema;

use super::figures::{Count, DepartureSums};
use super::rows::{DepartureFigures, Group, GroupKey};
use super::suppression::Counts;
use super::{Dimension, Period, StatisticsAccess};
use crate::case::Programme;
use crate::person::ResidenceStatus;
use crate::{Canton, CaseStatus, CountryCode};

/// The values of a group's dimensions. Only the dimensions grouped by are present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
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

impl GroupValues {
    /// The values of the group `key` for the grouped `dimensions`, a period of `period`.
    pub fn new(key: &GroupKey, dimensions: &[Dimension], period: Period) -> Self {
        let mut values = GroupValues::default();
        for dimension in dimensions {
            match dimension {
                Dimension::Canton => values.canton = Some(key.canton),
                Dimension::Programme => values.programme = Some(key.programme),
                Dimension::DestinationCountry => {
                    values.destination_country = Some(key.destination_country)
                }
                Dimension::Status => values.status = Some(key.status),
                Dimension::ResidenceStatus => values.residence_status = Some(key.residence_status),
                Dimension::Period => values.period = key.period_start.map(|d| period.label(d)),
            }
        }
        values
    }
}

/// One group of case counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CaseGroup {
    #[serde(flatten)]
    pub values: GroupValues,
    #[serde(flatten)]
    pub count: Count,
}

/// Case counts, one entry per group that has cases (and, rarely, a withheld group without
/// any: see the statistics in the README).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CaseStatistics {
    pub groups: Vec<CaseGroup>,
}

/// The departures of one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DepartureGroupFigures {
    #[serde(flatten)]
    pub values: GroupValues,
    #[serde(flatten)]
    pub figures: DepartureSums,
}

/// Departures, one entry per group that has departures (and, rarely, a withheld group
/// without any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DepartureStatistics {
    pub groups: Vec<DepartureGroupFigures>,
}

/// The case counts of `groups` (grouped by `dimensions`, a period of `period`, in the order
/// of their values) as `access` may see them.
pub fn case_counts(
    access: &StatisticsAccess,
    dimensions: &[Dimension],
    period: Period,
    groups: Vec<Group<i64>>,
) -> CaseStatistics {
    let groups = listed(access, dimensions, groups, |cases| *cases)
        .into_iter()
        .map(|group| CaseGroup {
            values: GroupValues::new(&group.key, dimensions, period),
            count: Count::new(group.figures.unwrap_or_default(), group.withheld),
        })
        .collect();
    CaseStatistics { groups }
}

/// The departures of `groups` (grouped by `dimensions`, a period of `period`, in the order
/// of their values) as `access` may see them, counted in departures.
pub fn departures(
    access: &StatisticsAccess,
    dimensions: &[Dimension],
    period: Period,
    groups: Vec<Group<DepartureFigures>>,
) -> DepartureStatistics {
    let groups = listed(access, dimensions, groups, |f| f.departures)
        .into_iter()
        .map(|group| DepartureGroupFigures {
            values: GroupValues::new(&group.key, dimensions, period),
            figures: DepartureSums::new(access, group.figures.as_ref(), group.withheld),
        })
        .collect();
    DepartureStatistics { groups }
}

/// One group of an answer: its key, its figures (none for a group without cases listed
/// only to be withheld), and whether it is withheld.
struct Listed<T> {
    key: GroupKey,
    figures: Option<T>,
    withheld: bool,
}

/// The groups of an answer grouped by `dimensions`, each with `cases`, and what the caller
/// may see of them: the withheld ones flagged, and the groups without cases that are withheld
/// to protect another among them, in the order of their values.
fn listed<T>(
    access: &StatisticsAccess,
    dimensions: &[Dimension],
    groups: Vec<Group<T>>,
    cases: impl Fn(&T) -> i64,
) -> Vec<Listed<T>> {
    let all: Vec<usize> = (0..dimensions.len()).collect();
    let counts = Counts::finest(
        dimensions.len(),
        groups.iter().map(|g| (g.key.values(dimensions), cases(&g.figures))),
    );
    let withheld = access.withhold(&counts);
    let mut listed: Vec<Listed<T>> = groups
        .into_iter()
        .map(|Group { key, figures }| Listed {
            withheld: withheld.is_withheld(&all, &key.values(dimensions)),
            key,
            figures: Some(figures),
        })
        .collect();
    let added = withheld.added(&all);
    if !added.is_empty() {
        listed.extend(added.iter().map(|values| Listed {
            key: GroupKey::of_values(values),
            figures: None,
            withheld: true,
        }));
        listed.sort_by_cached_key(|group| group.key.values(dimensions));
    }
    listed
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::*;
    use crate::Rappen;

    fn by_canton(groups: &[(Option<Canton>, i64)]) -> Vec<Group<i64>> {
        let group = |&(canton, cases)| Group {
            key: GroupKey { canton, ..GroupKey::default() },
            figures: cases,
        };
        groups.iter().map(group).collect()
    }

    /// The canton and count of each group.
    fn shown(answer: &CaseStatistics) -> Vec<(Option<Canton>, Option<i64>)> {
        answer.groups.iter().map(|g| (g.values.canton.flatten(), g.count.count)).collect()
    }

    #[test]
    fn case_counts_are_shown_whole_to_sem_and_without_small_groups_to_others() {
        let groups = by_canton(&[(Some(Canton::Be), 8), (Some(Canton::Zh), 1), (None, 12)]);
        let sem = case_counts(
            &StatisticsAccess::everything(false),
            &[Dimension::Canton],
            Period::Month,
            groups.clone(),
        );
        assert_eq!(
            shown(&sem),
            [(Some(Canton::Be), Some(8)), (Some(Canton::Zh), Some(1)), (None, Some(12))]
        );
        let others = case_counts(
            &StatisticsAccess::everything(true),
            &[Dimension::Canton],
            Period::Month,
            groups,
        );
        // ZH's 1, and BE's 8 (the smallest other) with it: else 21 - 12 - 8.
        assert_eq!(
            shown(&others),
            [(Some(Canton::Be), None), (Some(Canton::Zh), None), (None, Some(12))]
        );
        assert!(others.groups[1].count.suppressed && !others.groups[2].count.suppressed);
        let json = serde_json::to_value(&others.groups[2]).expect("json");
        assert_eq!(json, serde_json::json!({ "canton": null, "count": 12 }));
    }

    #[test]
    fn a_group_without_cases_withheld_to_protect_another_is_listed_in_the_order_of_values() {
        // The table of the suppression's own test: C's group without cases (y) is withheld.
        let group = |c: &str, s: &str, cases| Group {
            key: GroupKey {
                canton: Canton::parse(c),
                residence_status: ResidenceStatus::parse(s),
                ..GroupKey::default()
            },
            figures: cases,
        };
        let groups = vec![
            group("AG", "N", 1),
            group("AG", "S", 3),
            group("BE", "N", 13),
            group("GE", "F", 13),
            group("GE", "S", 13),
        ];
        // F, N, S: the order of the codes, not of the variants (N is declared before F).
        let dimensions = [Dimension::Canton, Dimension::ResidenceStatus];
        let answer =
            case_counts(&StatisticsAccess::everything(true), &dimensions, Period::Month, groups);
        let listed: Vec<(&str, &str, Option<i64>)> = answer
            .groups
            .iter()
            .map(|g| {
                let canton = g.values.canton.flatten().map_or("", Canton::code);
                let status =
                    g.values.residence_status.flatten().map_or("", ResidenceStatus::as_str);
                (canton, status, g.count.count)
            })
            .collect();
        assert_eq!(
            listed,
            [
                ("AG", "N", None),
                ("AG", "S", None),
                ("BE", "N", None),
                ("GE", "F", Some(13)),
                ("GE", "N", None),
                ("GE", "S", None),
            ]
        );
    }

    #[test]
    fn group_values_name_the_dimensions_grouped_by_and_label_the_period() {
        let key = GroupKey {
            canton: None,
            status: Some(CaseStatus::Departed),
            period_start: NaiveDate::from_ymd_opt(2026, 10, 1),
            ..GroupKey::default()
        };
        let dimensions = [Dimension::Period, Dimension::Canton, Dimension::Status];
        let values = GroupValues::new(&key, &dimensions, Period::Quarter);
        let json = serde_json::to_value(values).expect("json");
        assert_eq!(
            json,
            serde_json::json!({ "canton": null, "status": "departed", "period": "2026-Q4" })
        );
        assert_eq!(GroupValues::new(&key, &[], Period::Year), GroupValues::default());
    }

    #[test]
    fn departures_are_withheld_by_their_number_of_households() {
        let figures = |departures, persons| DepartureFigures {
            departures,
            persons,
            adults: persons,
            startup_cash: Rappen::new(100 * persons),
            ..DepartureFigures::default()
        };
        let group = |country: &str, figures| Group {
            key: GroupKey {
                destination_country: CountryCode::parse(country),
                ..GroupKey::default()
            },
            figures,
        };
        // Two households of 9 persons: withheld, although 9 persons are many.
        let groups = vec![
            group("GE", figures(2, 9)),
            group("IQ", figures(3, 3)),
            group("XK", figures(20, 31)),
        ];
        let answer = departures(
            &StatisticsAccess::everything(true),
            &[Dimension::DestinationCountry],
            Period::Month,
            groups,
        );
        let shown: Vec<(Option<i64>, Option<i64>, bool)> = answer
            .groups
            .iter()
            .map(|g| (g.figures.departures, g.figures.persons, g.figures.suppressed))
            .collect();
        assert_eq!(shown, [(None, None, true), (None, None, true), (Some(20), Some(31), false)]);
        assert_eq!(answer.groups[2].figures.startup_cash_rappen, Some(Some(Rappen::new(3_100))));
    }

    proptest! {
        /// Whatever the groups: every group given is listed, in its place, with its count
        /// unless withheld; every count of 1 to 4 is withheld; what is added has no cases.
        #[test]
        fn every_group_is_listed_and_no_small_count_shows(
            counts in proptest::collection::vec(0i64..=12, Canton::ALL.len()),
        ) {
            let groups: Vec<Group<i64>> = Canton::ALL
                .iter()
                .zip(&counts)
                .filter(|(_, n)| **n > 0)
                .map(|(&c, &n)| Group { key: GroupKey { canton: Some(c), ..GroupKey::default() }, figures: n })
                .collect();
            let dimensions = [Dimension::Canton];
            let answer = case_counts(&StatisticsAccess::everything(true), &dimensions, Period::Month, groups.clone());
            let mut given = groups.iter().peekable();
            for group in &answer.groups {
                let canton = group.values.canton.flatten();
                match given.peek() {
                    Some(g) if g.key.canton == canton => {
                        prop_assert!(group.count.count.is_none_or(|n| n == g.figures));
                        prop_assert!(!(1..5).contains(&g.figures) || group.count.suppressed);
                        given.next();
                    }
                    _ => prop_assert!(group.count.suppressed, "added {canton:?} is withheld"),
                }
                prop_assert!(group.count.count.is_none_or(|n| n >= 5));
            }
            prop_assert!(given.next().is_none(), "every group is listed");
            let sem = case_counts(&StatisticsAccess::everything(false), &dimensions, Period::Month, groups.clone());
            prop_assert_eq!(sem.groups.len(), groups.len());
            prop_assert!(sem.groups.iter().all(|g| !g.count.suppressed));
        }
    }
}
