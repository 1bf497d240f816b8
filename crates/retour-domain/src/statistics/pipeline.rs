//! The pipeline: cases per status now, and how long decisions and departures took, in total
//! and per canton.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::figures::{Count, DurationFigures};
use super::rows::{Durations, DurationsByCanton, PipelineDurations, StatusCount, Value};
use super::suppression::{Counts, Withheld};
use super::{Figure, StatisticsAccess};
use crate::{Canton, CaseStatus};

/// The cases now in one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StatusFigure {
    pub status: CaseStatus,
    #[serde(flatten)]
    pub count: Count,
}

/// The pipeline of all cases of the caller's scope, or of one canton. A figure the caller's
/// access to cases does not include is absent.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CantonPipeline {
    /// Null: the federal asylum centres.
    #[schema(required = true)]
    pub canton: Option<Canton>,
    #[serde(flatten)]
    pub figures: PipelineFigures,
}

/// Cases per status now, and how long decisions and departures took.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
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

/// The pipeline as `access` may see it: the cases of `statuses` per status now, the
/// `durations` of the decisions and departures from `from` to `to`.
pub fn pipeline(
    access: &StatisticsAccess,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    statuses: &[StatusCount],
    durations: &DurationsByCanton,
) -> PipelineStatistics {
    let statuses = access.allows(Figure::Statuses).then(|| StatusTable::new(access, statuses));
    let decisions = access
        .allows(Figure::DaysToDecision)
        .then(|| DurationTable::new(access, durations, |d| d.submission_to_decision));
    let departures = access
        .allows(Figure::DaysToDeparture)
        .then(|| DurationTable::new(access, durations, |d| d.decision_to_departure));
    let figures = |of: Of| PipelineFigures {
        statuses: statuses.as_ref().map(|t| t.figures(of)),
        submission_to_decision: decisions.as_ref().map(|t| t.figures(of)),
        decision_to_departure: departures.as_ref().map(|t| t.figures(of)),
    };
    // Cantons in the order of their codes, federal asylum centres (no canton) last.
    let mut cantons: Vec<Option<Canton>> = statuses.iter().flat_map(StatusTable::cantons).collect();
    cantons.extend(decisions.iter().chain(&departures).flat_map(DurationTable::cantons));
    cantons.sort_by_key(|c| Value::canton(*c));
    cantons.dedup();
    let cantons = cantons
        .into_iter()
        .map(|canton| CantonPipeline { canton, figures: figures(Of::Canton(canton)) })
        .collect();
    PipelineStatistics { from, to, total: figures(Of::All), cantons }
}

/// The cases a figure of the pipeline counts: all of them, or one canton's (`None`: the
/// federal asylum centres).
#[derive(Debug, Clone, Copy)]
enum Of {
    All,
    Canton(Option<Canton>),
}

/// Cases by canton and status: the statuses of each canton, and of all, are one table.
struct StatusTable<'a> {
    counts: &'a [StatusCount],
    withheld: Withheld<Value>,
}

impl<'a> StatusTable<'a> {
    fn new(access: &StatisticsAccess, counts: &'a [StatusCount]) -> Self {
        let cells = counts
            .iter()
            .map(|c| (vec![Value::canton(c.canton), Value::Status(c.status)], c.cases));
        StatusTable { counts, withheld: access.withhold(&Counts::finest(2, cells)) }
    }

    /// The statuses of `of` in the order of the workflow; statuses without cases are left
    /// out, unless withheld to protect another.
    fn figures(&self, of: Of) -> Vec<StatusFigure> {
        let mut figures = Vec::new();
        for status in CaseStatus::ALL {
            let value = Value::Status(status);
            let counted = self.counts.iter().filter(|c| c.status == status);
            let (cases, withheld) = match of {
                Of::All => {
                    (counted.map(|c| c.cases).sum(), self.withheld.is_withheld(&[1], &[value]))
                }
                Of::Canton(canton) => (
                    counted.filter(|c| c.canton == canton).map(|c| c.cases).sum(),
                    self.withheld.is_withheld(&[0, 1], &[Value::canton(canton), value]),
                ),
            };
            if cases > 0 || withheld {
                figures.push(StatusFigure { status, count: Count::new(cases, withheld) });
            }
        }
        figures
    }

    /// The cantons with cases.
    fn cantons(&self) -> impl Iterator<Item = Option<Canton>> + '_ {
        self.counts.iter().map(|c| c.canton)
    }
}

/// One duration of the pipeline, in total and per canton, and what of it is withheld: the
/// cantons' counts and their total are one line.
struct DurationTable<'a> {
    durations: &'a DurationsByCanton,
    of: fn(&PipelineDurations) -> Durations,
    withheld: Withheld<Value>,
}

impl<'a> DurationTable<'a> {
    fn new(
        access: &StatisticsAccess,
        durations: &'a DurationsByCanton,
        of: fn(&PipelineDurations) -> Durations,
    ) -> Self {
        let cells = durations.cantons.iter().map(|(c, d)| (vec![Value::canton(*c)], of(d).cases));
        DurationTable { durations, of, withheld: access.withhold(&Counts::finest(1, cells)) }
    }

    fn figures(&self, of: Of) -> DurationFigures {
        match of {
            Of::All => DurationFigures::new(
                &(self.of)(&self.durations.total),
                self.withheld.is_withheld(&[], &[]),
            ),
            Of::Canton(canton) => {
                let found = self.durations.cantons.iter().find(|(c, _)| *c == canton);
                let durations = found.map(|(_, d)| (self.of)(d)).unwrap_or_default();
                let withheld = self.withheld.is_withheld(&[0], &[Value::canton(canton)]);
                DurationFigures::new(&durations, withheld)
            }
        }
    }

    /// The cantons with cases.
    fn cantons(&self) -> impl Iterator<Item = Option<Canton>> + '_ {
        self.durations.cantons.iter().filter(|(_, d)| (self.of)(d).cases > 0).map(|(c, _)| *c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(canton: Option<Canton>, status: CaseStatus, cases: i64) -> StatusCount {
        StatusCount { canton, status, cases }
    }

    fn durations(decided: i64, departed: i64) -> PipelineDurations {
        let days = |cases| Durations {
            cases,
            median_days: (cases > 0).then_some(10.0 / 3.0),
            p90_days: (cases > 0).then_some(30.0),
        };
        PipelineDurations {
            submission_to_decision: days(decided),
            decision_to_departure: days(departed),
        }
    }

    fn example() -> (Vec<StatusCount>, DurationsByCanton) {
        let statuses = vec![
            status(Some(Canton::Be), CaseStatus::Submitted, 20),
            status(Some(Canton::Be), CaseStatus::Approved, 7),
            status(Some(Canton::Zh), CaseStatus::Submitted, 30),
            status(None, CaseStatus::Approved, 9),
        ];
        let durations = DurationsByCanton {
            total: durations(40, 6),
            // AG only departed: listed, with no decision.
            cantons: vec![
                (Some(Canton::Ag), durations(0, 6)),
                (Some(Canton::Be), durations(25, 0)),
                (None, durations(15, 0)),
            ],
        };
        (statuses, durations)
    }

    #[test]
    fn cantons_are_listed_by_code_with_the_federal_centres_last_and_statuses_by_workflow() {
        let (statuses, durations) = example();
        let day = NaiveDate::from_ymd_opt(2026, 12, 31);
        let answer =
            pipeline(&StatisticsAccess::everything(false), None, day, &statuses, &durations);
        let cantons: Vec<Option<Canton>> = answer.cantons.iter().map(|c| c.canton).collect();
        assert_eq!(cantons, [Some(Canton::Ag), Some(Canton::Be), Some(Canton::Zh), None]);
        let total: Vec<(CaseStatus, Option<i64>)> =
            answer.total.statuses.iter().flatten().map(|s| (s.status, s.count.count)).collect();
        assert_eq!(total, [(CaseStatus::Submitted, Some(50)), (CaseStatus::Approved, Some(16))]);
        assert_eq!(answer.cantons[0].figures.statuses, Some(Vec::new()), "AG: no case now");
        let ag = answer.cantons[0].figures.submission_to_decision.expect("decisions");
        assert_eq!((ag.cases, ag.median_days), (Some(0), None));
        let be = answer.cantons[1].figures.submission_to_decision.expect("decisions");
        assert_eq!((be.cases, be.median_days, be.p90_days), (Some(25), Some(3.33), Some(30.0)));
        assert_eq!(answer.to, day);
    }

    #[test]
    fn small_figures_are_withheld_with_their_complements() {
        let (statuses, durations) = example();
        let answer =
            pipeline(&StatisticsAccess::everything(true), None, None, &statuses, &durations);
        // Departures: AG's 6 are all of them; nothing to withhold.
        let departed = answer.total.decision_to_departure.expect("departures");
        assert_eq!((departed.cases, departed.suppressed), (Some(6), false));
        // BE 7 and the federal centres' 9 approved are a line of their own: both shown, and
        // their total; nothing small.
        let approved = |figures: &PipelineFigures| {
            figures
                .statuses
                .iter()
                .flatten()
                .find(|s| s.status == CaseStatus::Approved)
                .map(|s| s.count)
        };
        assert_eq!(approved(&answer.total), Some(Count::new(16, false)));
        let small = [
            status(Some(Canton::Be), CaseStatus::Approved, 2),
            status(Some(Canton::Zh), CaseStatus::Approved, 30),
        ];
        let answer = pipeline(&StatisticsAccess::everything(true), None, None, &small, &durations);
        assert_eq!(approved(&answer.cantons[1].figures), Some(Count::new(2, true)), "BE");
        assert_eq!(
            approved(&answer.cantons[2].figures),
            Some(Count::new(30, true)),
            "ZH, else 32 - 30"
        );
        assert_eq!(approved(&answer.total), Some(Count::new(32, false)));
    }

    #[test]
    fn figures_a_view_lacks_are_absent() {
        let (statuses, durations) = example();
        let mut access = StatisticsAccess::everything(false);
        access.view.travel = false;
        let answer = pipeline(&access, None, None, &statuses, &durations);
        assert_eq!(answer.total.statuses, None);
        assert_eq!(answer.total.decision_to_departure, None);
        assert!(answer.total.submission_to_decision.is_some());
        // Only the cantons with decisions are listed.
        let cantons: Vec<Option<Canton>> = answer.cantons.iter().map(|c| c.canton).collect();
        assert_eq!(cantons, [Some(Canton::Be), None]);
    }
}
