//! Statistics: which cases an actor's figures count, the small-group rule for figures that
//! leave the partner institutions, and the vocabulary of the reports (dimensions, periods).

use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

use crate::macros::string_enum;
use crate::policy::{Decision, Operation, decide};
use crate::{Actor, ActorKind, Role};

pub mod suppression;

/// Figures over fewer cases than this are withheld from service accounts: a group of one to
/// four households could single out a person (a family from a small canton to a rare
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
    /// Figures over fewer than [`MIN_CASES_PER_FIGURE`] cases are withheld.
    pub suppress_small_groups: bool,
}

impl StatisticsAccess {
    /// Whether a figure computed over `cases` cases may be shown.
    pub fn shows(&self, cases: i64) -> bool {
        !self.suppress_small_groups || cases >= MIN_CASES_PER_FIGURE
    }
}

/// The statistics `actor` may read, or `None` when the policy refuses them
/// ([`Operation::ReadStatistics`]). SEM, swissREPAT, IOM Bern and auditors count every case;
/// a counsellor their own service's, a mission officer their mission's. Service accounts
/// with `stats:read` count every case, but their figures leave the partner institutions, so
/// small groups are withheld.
pub fn statistics_access(actor: &Actor) -> Option<StatisticsAccess> {
    if decide(actor, Operation::ReadStatistics, None) != Decision::Allow {
        return None;
    }
    let (scope, suppress_small_groups) = match &actor.kind {
        ActorKind::ServiceAccount { .. } => (StatisticsScope::All, true),
        ActorKind::User { role: Role::Counsellor } => {
            (StatisticsScope::OwnService(actor.institution_id), false)
        }
        ActorKind::User { role: Role::IomMissionOfficer } => {
            (StatisticsScope::AssignedMission(actor.institution_id), false)
        }
        ActorKind::User { .. } => (StatisticsScope::All, false),
    };
    Some(StatisticsAccess { scope, suppress_small_groups })
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
        ];
        for (role, scope) in expected {
            let access = statistics_access(&user(role));
            assert_eq!(access.map(|a| a.scope), scope, "{role:?}");
            assert!(access.is_none_or(|a| !a.suppress_small_groups), "{role:?}");
        }
    }

    #[test]
    fn service_accounts_need_the_scope_and_see_no_small_groups() {
        let mut account = user(Role::IomCoordinator);
        account.institution_kind = InstitutionKind::IomBern;
        account.kind = ActorKind::ServiceAccount { scopes: vec![Scope::CasesRead] };
        assert_eq!(statistics_access(&account), None);
        account.kind = ActorKind::ServiceAccount { scopes: vec![Scope::StatsRead] };
        let access = statistics_access(&account).expect("stats:read");
        assert_eq!(access.scope, StatisticsScope::All);
        assert!(access.suppress_small_groups);
        assert!(!access.shows(0) && !access.shows(4));
        assert!(access.shows(5) && access.shows(1000));
        let sem = statistics_access(&user(Role::SemOfficer)).expect("sem");
        assert!(sem.shows(1) && sem.shows(0));
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
