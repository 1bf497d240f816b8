//! Statistics: which cases an actor's figures count, which parts of a case they may be
//! derived from, the rule that keeps groups of one to four cases from being read off them,
//! and the vocabulary of the reports (reports, figures, dimensions, periods). The reports
//! themselves are worked out here too, from the sums the store reads ([`rows`]): the grouped
//! case counts and departures ([`grouped`]), the [`pipeline`] and the [`yearly`] overview,
//! each as the caller may see it ([`figures`]).
//!
//! Every figure and every dimension names the field groups of the access policy
//! ([`FieldGroup`]) it is derived from, and a caller receives it only when their view of a
//! case holds all of them: statistics never tell more about a case than reading it would.

use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

use crate::policy::{self, CaseView, Decision, FieldGroup, Operation, decide};
use crate::string_enum;
use crate::{Actor, ActorKind, InstitutionKind, Role};

pub mod figures;
pub mod grouped;
pub mod pipeline;
pub mod rows;
pub mod suppression;
pub mod yearly;

use suppression::{Counts, Withheld};

/// Figures over fewer cases than this are withheld outside SEM: a group of one to four
/// households could single out a person (a family from a small canton to a rare
/// destination).
pub const MIN_CASES_PER_FIGURE: i64 = 5;

/// The cases an actor's statistics count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatisticsScope {
    /// Every case, in every status (figures only: no case is disclosed).
    All,
    /// The cases of one counselling service.
    OwnService(Uuid),
    /// The cases whose reintegration is assigned to one IOM mission.
    AssignedMission(Uuid),
}

/// What an actor may see of the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatisticsAccess {
    pub scope: StatisticsScope,
    /// The parts of a case the figures may be derived from.
    pub view: CaseView,
    /// Figures over 1 to 4 cases are withheld, and as many others as it takes that none of
    /// them can be worked out from the rest ([`suppression`]).
    pub suppress_small_groups: bool,
}

/// The statistics `actor` may read, or `None` when the policy refuses them
/// ([`Operation::ReadStatistics`]).
///
/// A user counts the cases of their role's scope (SEM, swissREPAT, IOM Bern and auditors
/// every case; a counsellor their service's; a mission officer their mission's) by what their
/// case view holds. A service account with `stats:read` reads no case, so the policy gives it
/// no case view of its own; it counts as a user of its institution who reads cases would
/// (an oversight or operator account as an auditor): an integration of a counselling service
/// gets that service's figures, one of IOM Bern no residence status. Never more than the
/// institution's own people, whose figures it passes on.
///
/// Figures are withheld from small groups for everyone but SEM's own users (SEM and
/// swissREPAT, who decide on every case anyway): counsellors and missions would otherwise
/// count the few cases they know by name, and a service account's figures leave for another
/// system, even SEM's.
pub fn statistics_access(actor: &Actor) -> Option<StatisticsAccess> {
    if decide(actor, Operation::ReadStatistics, None) != Decision::Allow {
        return None;
    }
    let (role, user) = match &actor.kind {
        ActorKind::User { role } => (*role, true),
        ActorKind::ServiceAccount { .. } => (institution_reader(actor.institution_kind), false),
    };
    let reader = Actor { kind: ActorKind::User { role }, ..actor.clone() };
    let scope = match role {
        Role::Counsellor => StatisticsScope::OwnService(actor.institution_id),
        Role::IomMissionOfficer => StatisticsScope::AssignedMission(actor.institution_id),
        _ => StatisticsScope::All,
    };
    Some(StatisticsAccess {
        scope,
        view: policy::case_view(&reader),
        suppress_small_groups: !(user && actor.institution_kind == InstitutionKind::Sem),
    })
}

/// The role of those in an institution of `kind` who read cases.
fn institution_reader(kind: InstitutionKind) -> Role {
    match kind {
        InstitutionKind::CounsellingService => Role::Counsellor,
        InstitutionKind::Sem => Role::SemOfficer,
        InstitutionKind::IomBern => Role::IomCoordinator,
        InstitutionKind::IomMission => Role::IomMissionOfficer,
        InstitutionKind::Oversight | InstitutionKind::Operator => Role::Auditor,
    }
}

impl StatisticsAccess {
    /// Whether the caller receives `figure`.
    pub fn allows(&self, figure: Figure) -> bool {
        self.view.allows_all(figure.groups())
    }

    /// Whether the caller may group or filter by `dimension` (a period of the `period_of`
    /// date).
    pub fn allows_dimension(&self, dimension: Dimension, period_of: PeriodOf) -> bool {
        self.view.allows_all(dimension.groups(period_of))
    }

    /// Whether `request` asks only for what the caller may receive; else the first thing it
    /// asks for that they may not, to be answered 403.
    pub fn check(&self, request: &Request<'_>) -> Result<(), Refusal> {
        let missing = |groups: &[FieldGroup]| -> Vec<FieldGroup> {
            groups.iter().copied().filter(|&g| !self.view.allows(g)).collect()
        };
        let report = request.report;
        if !self.allows(report.base()) {
            return Err(Refusal::new(
                RefusalCode::ReportNotAllowed,
                None,
                format!("the {} report counts {}", report.name(), report.base().describe()),
                missing(report.base().groups()),
            ));
        }
        let period_of = request.period_of;
        for &dimension in request.group_by {
            if !self.allows_dimension(dimension, period_of) {
                return Err(Refusal::new(
                    RefusalCode::DimensionNotAllowed,
                    Some("group_by"),
                    format!("group_by names {dimension}"),
                    missing(dimension.groups(period_of)),
                ));
            }
        }
        for &dimension in request.filters {
            if !self.allows_dimension(dimension, period_of) {
                return Err(Refusal::new(
                    RefusalCode::DimensionNotAllowed,
                    Some(dimension.as_str()),
                    format!("the filter {dimension}"),
                    missing(dimension.groups(period_of)),
                ));
            }
        }
        if !self.view.allows_all(period_of.groups()) {
            return Err(Refusal::new(
                RefusalCode::DimensionNotAllowed,
                Some("period_of"),
                format!("period_of={period_of} counts the cases by the day they {period_of}"),
                missing(period_of.groups()),
            ));
        }
        Ok(())
    }

    /// What of `counts` is withheld from the caller.
    pub fn withhold<K: Ord + Clone>(&self, counts: &Counts<K>) -> Withheld<K> {
        if self.suppress_small_groups { counts.withhold() } else { Withheld::nothing() }
    }

    /// Every figure of every case, with small groups withheld or not: what the reports'
    /// tests start from.
    #[cfg(test)]
    pub(crate) fn everything(suppress_small_groups: bool) -> Self {
        StatisticsAccess {
            scope: StatisticsScope::All,
            view: CaseView::FULL,
            suppress_small_groups,
        }
    }
}

/// What a request for statistics asks for, as far as the access policy is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub report: Report,
    /// The dimensions grouped by.
    pub group_by: &'a [Dimension],
    /// The dimensions filtered by.
    pub filters: &'a [Dimension],
    /// The date periods and ranges refer to (the departure day for departures).
    pub period_of: PeriodOf,
}

string_enum! {
    /// What a refused request for statistics asked for.
    pub enum RefusalCode {
        /// A report the caller's access does not cover.
        ReportNotAllowed = "report_not_allowed",
        /// A dimension, filter or range the caller's access does not cover.
        DimensionNotAllowed = "dimension_not_allowed",
    }
}

/// Why a request for statistics is refused (403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: RefusalCode,
    /// The query parameter that asked for it.
    pub parameter: Option<&'static str>,
    /// The field groups the caller's view lacks.
    pub missing: Vec<FieldGroup>,
    /// Says what was asked for, from which part of a case, and that the caller's access
    /// does not include it.
    pub message: String,
}

impl Refusal {
    fn new(
        code: RefusalCode,
        parameter: Option<&'static str>,
        asked: String,
        missing: Vec<FieldGroup>,
    ) -> Self {
        let parts: Vec<&str> = missing.iter().map(|&g| describe_group(g)).collect();
        let message = format!(
            "{asked}, which is derived from {}; your access to cases does not include it",
            parts.join(" and ")
        );
        Refusal { code, parameter, missing, message }
    }
}

/// A field group, for messages.
fn describe_group(group: FieldGroup) -> &'static str {
    match group {
        FieldGroup::Identity => "what identifies a case",
        FieldGroup::AsylumProcedure => "the asylum procedure",
        FieldGroup::Eligibility => "the eligibility answers",
        FieldGroup::MedicalSummary => "the medical summary",
        FieldGroup::TravelFitness => "the fitness to travel",
        FieldGroup::Vulnerabilities => "the vulnerabilities",
        FieldGroup::Assistance => "the assistance (amounts and SEM's decision)",
        FieldGroup::Travel => "the travel (bookings and departures)",
        FieldGroup::Reintegration => "the reintegration",
        FieldGroup::Review => "SEM's review",
        FieldGroup::Consent => "the consents",
    }
}

/// The status now names SEM's decision (approved, rejected) and what followed from it
/// (travel booked, departed). In a case view the scope keeps each status from readers who
/// lack those parts (a mission only meets its cases after the departure, and no one without
/// the assistance meets a rejected case); counted over a scope that holds every status, it
/// needs them.
const STATUS_GROUPS: &[FieldGroup] = &[FieldGroup::Assistance, FieldGroup::Travel];

/// A figure the reports give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Figure {
    /// A number of cases: of a group, opened in a year, behind a duration.
    Cases,
    /// Cases per status now.
    Statuses,
    /// Departed households, and the persons who left (adults, minors).
    Departures,
    /// Start-up cash and travel money paid at the departure.
    Payouts,
    /// The reintegration projects SEM approved for departed households.
    ApprovedReintegration,
    /// SEM's approvals and rejections.
    Decisions,
    /// Days from the submission to SEM's decision.
    DaysToDecision,
    /// Days from SEM's decision to the departure.
    DaysToDeparture,
}

impl Figure {
    pub const ALL: [Figure; 8] = [
        Figure::Cases,
        Figure::Statuses,
        Figure::Departures,
        Figure::Payouts,
        Figure::ApprovedReintegration,
        Figure::Decisions,
        Figure::DaysToDecision,
        Figure::DaysToDeparture,
    ];

    /// The field groups the figure is derived from.
    pub fn groups(self) -> &'static [FieldGroup] {
        match self {
            // Counting cases, and the dates of the workflow (opened, submitted, decided),
            // tells what everyone who reads a case sees.
            Figure::Cases | Figure::DaysToDecision => &[FieldGroup::Identity],
            Figure::Statuses => STATUS_GROUPS,
            Figure::Departures | Figure::DaysToDeparture => &[FieldGroup::Travel],
            // Amounts, counted by the departure at which they were paid.
            Figure::Payouts | Figure::ApprovedReintegration => {
                &[FieldGroup::Assistance, FieldGroup::Travel]
            }
            // The outcome of SEM's decision.
            Figure::Decisions => &[FieldGroup::Assistance],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Figure::Cases => "cases",
            Figure::Statuses => "cases per status",
            Figure::Departures => "departures",
            Figure::Payouts => "the amounts paid",
            Figure::ApprovedReintegration => "the reintegration approved",
            Figure::Decisions => "SEM's approvals and rejections",
            Figure::DaysToDecision => "the days to SEM's decision",
            Figure::DaysToDeparture => "the days to the departure",
        }
    }
}

/// The four reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Report {
    /// Case counts by any dimensions.
    Cases,
    /// Departures with persons and amounts.
    Departures,
    /// Cases per status now, and the durations of decisions and departures.
    Pipeline,
    /// A year in figures.
    Yearly,
}

impl Report {
    pub const ALL: [Report; 4] =
        [Report::Cases, Report::Departures, Report::Pipeline, Report::Yearly];

    pub fn name(self) -> &'static str {
        match self {
            Report::Cases => "cases",
            Report::Departures => "departures",
            Report::Pipeline => "pipeline",
            Report::Yearly => "yearly",
        }
    }

    /// The figure without which the report says nothing; the report is refused to whoever
    /// may not receive it.
    pub fn base(self) -> Figure {
        match self {
            Report::Departures => Figure::Departures,
            Report::Cases | Report::Pipeline | Report::Yearly => Figure::Cases,
        }
    }

    /// The figures the report gives (each one omitted for a caller who may not receive it):
    /// what it declares it returns, for whoever checks what leaves.
    pub fn figures(self) -> &'static [Figure] {
        match self {
            Report::Cases => &[Figure::Cases],
            Report::Departures => {
                &[Figure::Departures, Figure::Payouts, Figure::ApprovedReintegration]
            }
            Report::Pipeline => {
                &[Figure::Cases, Figure::Statuses, Figure::DaysToDecision, Figure::DaysToDeparture]
            }
            Report::Yearly => &[
                Figure::Departures,
                Figure::Payouts,
                Figure::ApprovedReintegration,
                Figure::Cases,
                Figure::Decisions,
            ],
        }
    }

    /// The grouping when `group_by` is not given.
    pub fn default_dimensions(self) -> &'static [Dimension] {
        match self {
            Report::Departures => {
                &[Dimension::Period, Dimension::DestinationCountry, Dimension::Canton]
            }
            Report::Cases | Report::Pipeline | Report::Yearly => &[],
        }
    }

    /// The date its periods and ranges refer to, when the request does not say.
    pub fn default_period_of(self) -> PeriodOf {
        match self {
            Report::Departures => PeriodOf::Departed,
            Report::Cases | Report::Pipeline | Report::Yearly => PeriodOf::Opened,
        }
    }
}

string_enum! {
    /// What case counts can be grouped and filtered by.
    pub enum Dimension {
        /// The counselling service's canton (none for a federal asylum centre).
        Canton = "canton",
        Programme = "programme",
        DestinationCountry = "destination_country",
        /// The status now.
        Status = "status",
        /// The principal applicant's residence status.
        ResidenceStatus = "residence_status",
        /// The month, quarter or year of the date counted by.
        Period = "period",
    }
}

string_enum! {
    /// The length of a reporting period.
    pub enum Period {
        Month = "month",
        Quarter = "quarter",
        Year = "year",
    }
}

impl Period {
    /// The label of the period that starts on `start`: `2026-11`, `2026-Q4` or `2026`.
    pub fn label(self, start: NaiveDate) -> String {
        match self {
            Period::Month => format!("{:04}-{:02}", start.year(), start.month()),
            Period::Quarter => format!("{:04}-Q{}", start.year(), start.month0() / 3 + 1),
            Period::Year => format!("{:04}", start.year()),
        }
    }
}

string_enum! {
    /// The date of a case that periods and date ranges refer to.
    pub enum PeriodOf {
        /// The day the case was opened.
        Opened = "opened",
        /// The day SEM decided (only decided cases count).
        Decided = "decided",
        /// The day the household left (only departed cases count).
        Departed = "departed",
    }
}

impl Dimension {
    /// The field groups the dimension is derived from; a period, from those of its date.
    pub fn groups(self, period_of: PeriodOf) -> &'static [FieldGroup] {
        match self {
            Dimension::Canton | Dimension::Programme | Dimension::DestinationCountry => {
                &[FieldGroup::Identity]
            }
            Dimension::Status => STATUS_GROUPS,
            Dimension::ResidenceStatus => &[FieldGroup::AsylumProcedure],
            Dimension::Period => period_of.groups(),
        }
    }
}

impl PeriodOf {
    /// The field groups the date is derived from: opening and decision are dates of the
    /// workflow that everyone who reads a case sees; counting by the departure day counts
    /// departures.
    pub fn groups(self) -> &'static [FieldGroup] {
        match self {
            PeriodOf::Opened | PeriodOf::Decided => &[FieldGroup::Identity],
            PeriodOf::Departed => &[FieldGroup::Travel],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InstitutionKind, Scope};

    fn user(role: Role) -> Actor {
        Actor {
            id: Uuid::from_u128(1),
            kind: ActorKind::User { role },
            institution_id: Uuid::from_u128(2),
            institution_kind: role.institution_kind(),
            canton: None,
            mission_country: None,
        }
    }

    fn account(kind: InstitutionKind, scopes: Vec<Scope>) -> Actor {
        Actor {
            kind: ActorKind::ServiceAccount { scopes },
            institution_kind: kind,
            ..user(Role::Counsellor)
        }
    }

    #[test]
    fn each_role_counts_its_own_cases_and_admins_none() {
        let own = Uuid::from_u128(2);
        let expected = [
            (Role::Counsellor, Some(StatisticsScope::OwnService(own))),
            (Role::SemOfficer, Some(StatisticsScope::All)),
            (Role::SwissrepatOfficer, Some(StatisticsScope::All)),
            (Role::IomCoordinator, Some(StatisticsScope::All)),
            (Role::IomMissionOfficer, Some(StatisticsScope::AssignedMission(own))),
            (Role::Auditor, Some(StatisticsScope::All)),
            (Role::Admin, None),
            (Role::InstitutionAdmin, None),
        ];
        for (role, scope) in expected {
            let access = statistics_access(&user(role));
            assert_eq!(access.map(|a| a.scope), scope, "{role:?}");
        }
    }

    #[test]
    fn small_groups_are_withheld_from_everyone_but_sems_own_users() {
        for role in Role::ALL {
            let Some(access) = statistics_access(&user(role)) else { continue };
            let sem = role.institution_kind() == InstitutionKind::Sem;
            assert_eq!(access.suppress_small_groups, !sem, "{role:?}");
        }
        let sem_account = statistics_access(&account(InstitutionKind::Sem, vec![Scope::StatsRead]));
        assert!(sem_account.expect("stats:read").suppress_small_groups);
    }

    #[test]
    fn figures_follow_the_case_view_of_each_role() {
        for role in Role::ALL {
            let Some(access) = statistics_access(&user(role)) else { continue };
            let view = policy::case_view(&user(role));
            assert_eq!(access.view, view, "{role:?}");
            for figure in Figure::ALL {
                assert_eq!(access.allows(figure), view.allows_all(figure.groups()));
            }
        }
        let allowed = |role| {
            let access = statistics_access(&user(role)).expect("statistics");
            Figure::ALL.into_iter().filter(|&f| access.allows(f)).collect::<Vec<_>>()
        };
        let identity = [Figure::Cases, Figure::DaysToDecision];
        assert_eq!(allowed(Role::Counsellor), Figure::ALL);
        assert_eq!(allowed(Role::SemOfficer), Figure::ALL);
        assert_eq!(allowed(Role::SwissrepatOfficer), Figure::ALL);
        assert_eq!(allowed(Role::IomCoordinator), Figure::ALL);
        assert_eq!(allowed(Role::IomMissionOfficer), identity, "no status, no money");
        assert_eq!(allowed(Role::Auditor), identity);
    }

    #[test]
    fn a_mission_officer_cannot_count_its_cases_by_residence_status_or_status() {
        let access = statistics_access(&user(Role::IomMissionOfficer)).expect("statistics");
        let request =
            |group_by: &'static [Dimension], filters: &'static [Dimension]| Request::<'static> {
                report: Report::Cases,
                group_by,
                filters,
                period_of: PeriodOf::Opened,
            };
        let refusal = access
            .check(&request(&[Dimension::ResidenceStatus, Dimension::Status], &[]))
            .expect_err("residence status");
        assert_eq!(refusal.code, RefusalCode::DimensionNotAllowed);
        assert_eq!(refusal.parameter, Some("group_by"));
        assert_eq!(refusal.missing, [FieldGroup::AsylumProcedure]);
        assert!(refusal.message.contains("residence_status"), "{}", refusal.message);
        let refusal = access.check(&request(&[Dimension::Status], &[])).expect_err("status");
        assert_eq!(refusal.missing, [FieldGroup::Assistance, FieldGroup::Travel]);
        let refusal =
            access.check(&request(&[], &[Dimension::ResidenceStatus])).expect_err("filter");
        assert_eq!(refusal.parameter, Some("residence_status"));
        let departed = Request { period_of: PeriodOf::Departed, ..request(&[], &[]) };
        assert_eq!(access.check(&departed).expect_err("departed").parameter, Some("period_of"));
        const IDENTITY: &[Dimension] =
            &[Dimension::Canton, Dimension::Programme, Dimension::DestinationCountry];
        assert_eq!(access.check(&request(IDENTITY, IDENTITY)), Ok(()));
        assert_eq!(access.check(&request(&[Dimension::Period], &[])), Ok(()));
    }

    #[test]
    fn departures_are_refused_to_whoever_may_not_see_travel_and_money_omitted_without_assistance() {
        let departures = |access: StatisticsAccess| {
            access.check(&Request {
                report: Report::Departures,
                group_by: Report::Departures.default_dimensions(),
                filters: &[],
                period_of: Report::Departures.default_period_of(),
            })
        };
        for role in [Role::IomMissionOfficer, Role::Auditor] {
            let access = statistics_access(&user(role)).expect("statistics");
            let refusal = departures(access).expect_err("departures");
            assert_eq!((refusal.code, refusal.parameter), (RefusalCode::ReportNotAllowed, None));
            assert_eq!(refusal.missing, [FieldGroup::Travel]);
        }
        // A view with the travel but not the assistance (no role has one today) counts
        // departures without their amounts.
        let mut access = statistics_access(&user(Role::SwissrepatOfficer)).expect("statistics");
        access.view.assistance = false;
        assert_eq!(departures(access), Ok(()));
        assert!(access.allows(Figure::Departures));
        assert!(!access.allows(Figure::Payouts) && !access.allows(Figure::ApprovedReintegration));
        assert!(!access.allows(Figure::Decisions) && !access.allows(Figure::Statuses));
    }

    #[test]
    fn a_report_refused_for_its_base_gives_nothing_and_an_allowed_one_gives_its_base() {
        for report in Report::ALL {
            assert!(report.figures().contains(&report.base()), "{report:?}");
            for role in Role::ALL {
                let Some(access) = statistics_access(&user(role)) else { continue };
                let request = Request {
                    report,
                    group_by: report.default_dimensions(),
                    filters: &[],
                    period_of: report.default_period_of(),
                };
                let given: Vec<Figure> =
                    report.figures().iter().copied().filter(|&f| access.allows(f)).collect();
                assert_eq!(access.check(&request).is_ok(), given.contains(&report.base()));
            }
        }
    }

    #[test]
    fn every_dimension_is_allowed_exactly_when_the_view_holds_its_groups() {
        for role in Role::ALL {
            let Some(access) = statistics_access(&user(role)) else { continue };
            for dimension in Dimension::ALL {
                for period_of in PeriodOf::ALL {
                    let request = Request {
                        report: Report::Cases,
                        group_by: std::slice::from_ref(&dimension),
                        filters: &[],
                        period_of: PeriodOf::Opened,
                    };
                    let allowed = access.view.allows_all(dimension.groups(PeriodOf::Opened));
                    assert_eq!(access.check(&request).is_ok(), allowed, "{role:?} {dimension}");
                    assert_eq!(
                        access.allows_dimension(dimension, period_of),
                        access.view.allows_all(dimension.groups(period_of))
                    );
                }
            }
        }
    }

    #[test]
    fn a_stats_account_counts_as_its_institutions_readers_do() {
        let own = Uuid::from_u128(2);
        for (kind, role, scope) in [
            (
                InstitutionKind::CounsellingService,
                Role::Counsellor,
                StatisticsScope::OwnService(own),
            ),
            (InstitutionKind::Sem, Role::SemOfficer, StatisticsScope::All),
            (InstitutionKind::IomBern, Role::IomCoordinator, StatisticsScope::All),
            (
                InstitutionKind::IomMission,
                Role::IomMissionOfficer,
                StatisticsScope::AssignedMission(own),
            ),
            (InstitutionKind::Oversight, Role::Auditor, StatisticsScope::All),
            (InstitutionKind::Operator, Role::Auditor, StatisticsScope::All),
        ] {
            assert_eq!(statistics_access(&account(kind, vec![Scope::CasesRead])), None, "{kind:?}");
            let access =
                statistics_access(&account(kind, vec![Scope::StatsRead])).expect("stats:read");
            assert_eq!(access.scope, scope, "{kind:?}");
            assert_eq!(access.view, policy::case_view(&user(role)), "{kind:?}");
            assert!(access.suppress_small_groups, "{kind:?}");
        }
        let iom = statistics_access(&account(InstitutionKind::IomBern, vec![Scope::StatsRead]))
            .expect("stats:read");
        assert!(!iom.allows_dimension(Dimension::ResidenceStatus, PeriodOf::Opened));
        assert!(iom.allows(Figure::Payouts) && iom.allows(Figure::Statuses));
    }

    #[test]
    fn sem_sees_every_figure_and_others_lose_small_groups_with_their_complements() {
        let counts = Counts::finest(1, [(vec!["N"], 8), (vec!["F"], 1)]);
        let sem = statistics_access(&user(Role::SemOfficer)).expect("sem");
        assert!(!sem.withhold(&counts).is_withheld(&[0], &["F"]));
        let iom = statistics_access(&user(Role::IomCoordinator)).expect("iom");
        let withheld = iom.withhold(&counts);
        assert!(withheld.is_withheld(&[0], &["F"]) && withheld.is_withheld(&[0], &["N"]));
    }

    #[test]
    fn periods_are_labelled_by_their_start() {
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).expect("date");
        assert_eq!(Period::Month.label(day(11, 1)), "2026-11");
        assert_eq!(Period::Month.label(day(2, 1)), "2026-02");
        assert_eq!(Period::Quarter.label(day(1, 1)), "2026-Q1");
        assert_eq!(Period::Quarter.label(day(10, 1)), "2026-Q4");
        assert_eq!(Period::Year.label(day(1, 1)), "2026");
    }
}
