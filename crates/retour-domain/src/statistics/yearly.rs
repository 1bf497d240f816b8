//! The yearly overview: a year's departures, where they went, where they left from, and the
//! cases opened and decided.

use serde::Serialize;
use utoipa::ToSchema;

use super::figures::{Count, DepartureSums};
use super::rows::{DepartureBreakdowns, DepartureFigures, Throughput, Value};
use super::suppression::{Counts, Withheld};
use super::{Figure, StatisticsAccess};
use crate::case::Programme;
use crate::{Canton, CaseStatus, CountryCode};

/// The departures of one destination country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DestinationFigures {
    pub destination_country: CountryCode,
    #[serde(flatten)]
    pub figures: DepartureSums,
}

/// The departures from one canton.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CantonFigures {
    /// Null: the federal asylum centres.
    #[schema(required = true)]
    pub canton: Option<Canton>,
    #[serde(flatten)]
    pub figures: DepartureSums,
}

/// The departures of one programme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProgrammeFigures {
    pub programme: Programme,
    #[serde(flatten)]
    pub figures: DepartureSums,
}

/// A year in figures: departures, persons and amounts, the top destinations, the cantons
/// and programmes they left from, and the cases opened and decided. A figure the caller's
/// access to cases does not include is absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
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

/// The overview of `year` as `access` may see it: its `departures` (the `top` destinations),
/// and the cases it opened and decided (`throughput`).
pub fn yearly(
    access: &StatisticsAccess,
    year: i32,
    top: usize,
    departures: &DepartureBreakdowns,
    throughput: Throughput,
) -> YearlyStatistics {
    let mut yearly = YearlyStatistics {
        year,
        departures: None,
        opened_cases: opened(access, throughput.opened),
        approved_cases: None,
        rejected_cases: None,
        top_destinations: None,
        cantons: None,
        programmes: None,
    };
    if access.allows(Figure::Departures) {
        let lists = Lists::new(access, departures);
        yearly.departures = Some(lists.total(&departures.total));
        let d = &departures.destinations;
        yearly.top_destinations = Some(lists.entries(d, 0, top, |destination_country, figures| {
            DestinationFigures { destination_country, figures }
        }));
        let c = &departures.cantons;
        yearly.cantons = Some(
            lists.entries(c, 1, usize::MAX, |canton, figures| CantonFigures { canton, figures }),
        );
        let p = &departures.programmes;
        yearly.programmes = Some(lists.entries(p, 2, usize::MAX, |programme, figures| {
            ProgrammeFigures { programme, figures }
        }));
    }
    if access.allows(Figure::Decisions) {
        let [approved, rejected] = decisions(access, throughput.approved, throughput.rejected);
        (yearly.approved_cases, yearly.rejected_cases) = (Some(approved), Some(rejected));
    }
    yearly
}

/// Cases opened stand alone.
fn opened(access: &StatisticsAccess, cases: i64) -> Count {
    let withheld = access.withhold(&Counts::finest(0, [(Vec::<Value>::new(), cases)]));
    Count::new(cases, withheld.is_withheld(&[], &[]))
}

/// Approvals and rejections add up to the year's decisions.
fn decisions(access: &StatisticsAccess, approved: i64, rejected: i64) -> [Count; 2] {
    let decisions = [(CaseStatus::Approved, approved), (CaseStatus::Rejected, rejected)]
        .map(|(decision, cases)| (vec![Value::Status(decision)], cases));
    let withheld = access.withhold(&Counts::finest(1, decisions.clone()));
    decisions.map(|(key, cases)| Count::new(cases, withheld.is_withheld(&[0], &key)))
}

/// A value a list of departures is by: a destination, a canton, a programme.
trait ListValue: Copy {
    fn value(self) -> Value;
    /// Its code; `None` for the federal asylum centres.
    fn code(self) -> Option<&'static str>;
}

impl ListValue for CountryCode {
    fn value(self) -> Value {
        Value::DestinationCountry(self)
    }
    fn code(self) -> Option<&'static str> {
        Some(self.as_str())
    }
}

impl ListValue for Option<Canton> {
    fn value(self) -> Value {
        Value::canton(self)
    }
    fn code(self) -> Option<&'static str> {
        self.map(Canton::code)
    }
}

impl ListValue for Programme {
    fn value(self) -> Value {
        Value::Programme(self)
    }
    fn code(self) -> Option<&'static str> {
        Some(self.as_str())
    }
}

/// The departures by destination (list 0), by canton (1) and by programme (2), each a line
/// to the year's total, and what of them is withheld.
struct Lists<'a> {
    access: &'a StatisticsAccess,
    withheld: Withheld<Value>,
}

impl<'a> Lists<'a> {
    fn new(access: &'a StatisticsAccess, departures: &DepartureBreakdowns) -> Self {
        fn cells<T: ListValue>(
            list: &[(T, DepartureFigures)],
        ) -> impl Iterator<Item = (Vec<Value>, i64)> + '_ {
            list.iter().map(|(by, figures)| (vec![by.value()], figures.departures))
        }
        let counts = Counts::new(3)
            .grouping(&[], [(Vec::new(), departures.total.departures)])
            .grouping(&[0], cells(&departures.destinations))
            .grouping(&[1], cells(&departures.cantons))
            .grouping(&[2], cells(&departures.programmes));
        Lists { access, withheld: access.withhold(&counts) }
    }

    fn total(&self, total: &DepartureFigures) -> DepartureSums {
        DepartureSums::new(self.access, Some(total), self.withheld.is_withheld(&[], &[]))
    }

    /// The first `take` lines of list number `list`, each as an entry. Withheld lines go
    /// last, in the order of their codes (the federal asylum centres first), so their order
    /// says nothing of their hidden sizes.
    fn entries<T: ListValue, E>(
        &self,
        lines: &[(T, DepartureFigures)],
        list: usize,
        take: usize,
        entry: impl Fn(T, DepartureSums) -> E,
    ) -> Vec<E> {
        let mut lines: Vec<(T, &DepartureFigures, bool)> = lines
            .iter()
            .map(|(by, figures)| (*by, figures, self.withheld.is_withheld(&[list], &[by.value()])))
            .collect();
        lines.sort_by_key(|&(by, _, withheld)| (withheld, withheld.then(|| by.code())));
        lines
            .into_iter()
            .take(take)
            .map(|(by, figures, withheld)| {
                entry(by, DepartureSums::new(self.access, Some(figures), withheld))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rappen;

    fn figures(departures: i64) -> DepartureFigures {
        DepartureFigures {
            departures,
            persons: 2 * departures,
            adults: departures,
            minors: departures,
            startup_cash: Rappen::new(1_000 * departures),
            travel_money: Rappen::new(100 * departures),
            approved_reintegration: Rappen::ZERO,
        }
    }

    fn country(code: &str) -> CountryCode {
        CountryCode::parse(code).expect("country")
    }

    fn departures() -> DepartureBreakdowns {
        DepartureBreakdowns {
            total: figures(40),
            destinations: vec![
                (country("IQ"), figures(20)),
                (country("XK"), figures(12)),
                (country("GE"), figures(5)),
                (country("TR"), figures(2)),
                (country("AF"), figures(1)),
            ],
            cantons: vec![
                (Some(Canton::Zh), figures(30)),
                (None, figures(6)),
                (Some(Canton::Be), figures(4)),
            ],
            programmes: vec![
                (Programme::Cantonal, figures(34)),
                (Programme::FederalCentre, figures(6)),
            ],
        }
    }

    fn throughput() -> Throughput {
        Throughput { opened: 50, approved: 3, rejected: 30 }
    }

    /// The top destinations and their departures.
    fn top(answer: &YearlyStatistics) -> Vec<(&str, Option<i64>)> {
        let destinations = answer.top_destinations.iter().flatten();
        destinations.map(|d| (d.destination_country.as_str(), d.figures.departures)).collect()
    }

    #[test]
    fn sem_sees_the_year_whole_with_the_top_destinations_most_first() {
        let answer =
            yearly(&StatisticsAccess::everything(false), 2026, 3, &departures(), throughput());
        assert_eq!(answer.year, 2026);
        assert_eq!(
            answer.departures.and_then(|d| d.startup_cash_rappen),
            Some(Some(Rappen::new(40_000)))
        );
        assert_eq!(top(&answer), [("IQ", Some(20)), ("XK", Some(12)), ("GE", Some(5))]);
        assert_eq!(answer.cantons.as_ref().map(Vec::len), Some(3));
        assert_eq!(answer.approved_cases, Some(Count::new(3, false)));
        assert_eq!(answer.opened_cases, Count::new(50, false));
    }

    #[test]
    fn withheld_lines_go_last_in_the_order_of_their_codes() {
        let answer =
            yearly(&StatisticsAccess::everything(true), 2026, 10, &departures(), throughput());
        // TR's 2 and AF's 1: two unknowns of the year's total, neither can be worked out.
        assert_eq!(
            top(&answer),
            [("IQ", Some(20)), ("XK", Some(12)), ("GE", Some(5)), ("AF", None), ("TR", None)]
        );
        // BE's 4, and the federal centres' 6 with it; withheld, the centres (no code) first.
        let cantons: Vec<(Option<Canton>, Option<i64>)> =
            answer.cantons.iter().flatten().map(|c| (c.canton, c.figures.departures)).collect();
        assert_eq!(cantons, [(Some(Canton::Zh), Some(30)), (None, None), (Some(Canton::Be), None)]);
        let programmes = answer.programmes.expect("programmes");
        assert!(programmes.iter().all(|p| !p.figures.suppressed));
        // 3 approvals are withheld, and the rejections with them: else 33 - 30.
        assert_eq!(answer.approved_cases, Some(Count::new(3, true)));
        assert_eq!(answer.rejected_cases, Some(Count::new(30, true)));
        assert_eq!(answer.departures.map(|d| d.suppressed), Some(false));
    }

    #[test]
    fn a_small_year_is_withheld_whole_and_a_view_without_travel_gets_no_departures() {
        let small = DepartureBreakdowns {
            total: figures(3),
            destinations: vec![(country("IQ"), figures(3))],
            cantons: vec![(Some(Canton::Be), figures(3))],
            programmes: vec![(Programme::Cantonal, figures(3))],
        };
        let throughput = Throughput { opened: 4, approved: 0, rejected: 0 };
        let answer = yearly(&StatisticsAccess::everything(true), 2026, 10, &small, throughput);
        assert_eq!(answer.departures.map(|d| d.suppressed), Some(true));
        assert_eq!(answer.opened_cases, Count::new(4, true));
        assert_eq!(answer.approved_cases, Some(Count::new(0, false)), "zero is no one's figure");
        let mut access = StatisticsAccess::everything(true);
        access.view.travel = false;
        access.view.assistance = false;
        let answer = yearly(&access, 2026, 10, &small, throughput);
        assert_eq!(
            (answer.departures, answer.top_destinations, answer.cantons),
            (None, None, None)
        );
        assert_eq!((answer.approved_cases, answer.rejected_cases), (None, None));
        assert_eq!(answer.opened_cases, Count::new(4, true));
    }
}
