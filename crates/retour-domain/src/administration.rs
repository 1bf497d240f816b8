//! Separation of duties: which administrator manages which accounts, what counts as a grant of
//! access, and who may approve one.
//!
//! - The operator's administrators (`admin`) manage institutions, the operator's own
//!   accounts, and each institution's administrators: they appoint an institution's first
//!   administrator and can disable one. They never make an account that reads cases or the
//!   access log.
//! - An institution's administrator (`institution_admin`) manages the users and service
//!   accounts of their own institution only.
//! - A **grant** is an account that reads case data or the access log, or that can make such
//!   accounts: a user of any role but the operator's `admin`, or a service account with
//!   `cases:read`, `case-events:read` or `events:read`. A grant made by an institution's only
//!   administrator waits for a second administrator's approval.
//! - No administrator reads a case or the access log ([`crate::policy::case_scope`] gives
//!   them nothing, and [`crate::policy::Operation::ReadAuditLog`] is refused to them).

use uuid::Uuid;

use crate::policy::Decision;
use crate::{Actor, InstitutionKind, Role, Scope};

/// What the policy needs to know of an account an administrator acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountFacts {
    pub institution_id: Uuid,
    pub institution_kind: InstitutionKind,
    /// A user whose role administers (`admin` or `institution_admin`).
    pub administrator: bool,
}

/// Whose accounts an administrator sees in a list, as a filter the store can express in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountReach {
    /// The operator's accounts and every institution's administrators.
    Operator(Uuid),
    /// The accounts of this institution.
    Institution(Uuid),
    /// None: listing accounts is refused (403).
    Nothing,
}

impl AccountReach {
    pub fn includes(self, facts: &AccountFacts) -> bool {
        match self {
            AccountReach::Operator(operator) => {
                facts.institution_id == operator || facts.administrator
            }
            AccountReach::Institution(id) => facts.institution_id == id,
            AccountReach::Nothing => false,
        }
    }
}

/// The accounts `actor` manages.
pub fn account_reach(actor: &Actor) -> AccountReach {
    match actor.role() {
        Some(Role::Admin) if actor.institution_kind == InstitutionKind::Operator => {
            AccountReach::Operator(actor.institution_id)
        }
        Some(Role::InstitutionAdmin) if actor.institution_kind != InstitutionKind::Operator => {
            AccountReach::Institution(actor.institution_id)
        }
        _ => AccountReach::Nothing,
    }
}

/// May `actor` read or change the existing account described by `facts`? An institution's
/// administrator does not learn of other institutions' accounts (404); the operator's
/// administrator is refused those that are not theirs to manage (403); anyone else 403.
pub fn manage_account(actor: &Actor, facts: &AccountFacts) -> Decision {
    let reach = account_reach(actor);
    match reach {
        _ if reach.includes(facts) => Decision::Allow,
        AccountReach::Institution(_) => Decision::NotFound,
        AccountReach::Operator(_) | AccountReach::Nothing => Decision::Forbidden,
    }
}

/// May `actor` make an account described by `facts`? (Whether the operator's administrator
/// may appoint an institution's administrator also depends on there being none yet, which
/// the store knows.)
pub fn create_account(actor: &Actor, facts: &AccountFacts) -> Decision {
    if account_reach(actor).includes(facts) { Decision::Allow } else { Decision::Forbidden }
}

/// The scopes that read case data or the access log.
pub fn scope_grants_access(scope: Scope) -> bool {
    matches!(scope, Scope::CasesRead | Scope::CaseEventsRead | Scope::EventsRead)
}

/// Whether a service account of an institution of `kind` may hold `scope`: case data goes to
/// the institutions that work on cases, the access log to the oversight, statistics to all
/// but the operator.
pub fn scope_fits(scope: Scope, kind: InstitutionKind) -> bool {
    use InstitutionKind::*;
    match scope {
        Scope::CasesRead | Scope::CaseEventsRead => {
            matches!(kind, CounsellingService | Sem | IomBern | IomMission)
        }
        Scope::EventsRead => kind == Oversight,
        Scope::StatsRead => kind != Operator,
    }
}

/// Whether a change from `before` (`None`: a new account) to `after` grants access that was
/// not granted: a user who reads more, or a service account with a scope it lacked.
pub fn user_grant(before: Option<Role>, after: Role) -> bool {
    after.grants_access() && before != Some(after)
}

/// Whether scopes `after` hold a scope that grants access and that `before` lacks.
pub fn scopes_grant(before: &[Scope], after: &[Scope]) -> bool {
    after.iter().any(|s| scope_grants_access(*s) && !before.contains(s))
}

/// May `approver` approve a grant (or confirm a second-factor reset) requested by
/// `requested_by`, on an account described by `facts`? A second person: neither who asked
/// nor who made the asker's account, and an administrator who manages the account or the
/// operator's administrator.
pub fn may_approve(
    approver: &Actor,
    requested_by: Uuid,
    requester_created_by: Option<Uuid>,
    facts: &AccountFacts,
) -> bool {
    if approver.id == requested_by || requester_created_by == Some(approver.id) {
        return false;
    }
    match account_reach(approver) {
        AccountReach::Operator(_) => true,
        reach @ AccountReach::Institution(_) => reach.includes(facts),
        AccountReach::Nothing => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ActorKind;

    const OPERATOR: Uuid = Uuid::from_u128(1);
    const BERN: Uuid = Uuid::from_u128(2);
    const SEM: Uuid = Uuid::from_u128(3);

    fn user(id: u128, role: Role, institution_id: Uuid, kind: InstitutionKind) -> Actor {
        Actor {
            id: Uuid::from_u128(id),
            kind: ActorKind::User { role },
            institution_id,
            institution_kind: kind,
            canton: None,
            mission_country: None,
        }
    }

    fn account(institution_id: Uuid, kind: InstitutionKind, administrator: bool) -> AccountFacts {
        AccountFacts { institution_id, institution_kind: kind, administrator }
    }

    #[test]
    fn the_operator_manages_its_own_accounts_and_institution_administrators_only() {
        let operator = user(10, Role::Admin, OPERATOR, InstitutionKind::Operator);
        let sem_officer = account(SEM, InstitutionKind::Sem, false);
        let sem_admin = account(SEM, InstitutionKind::Sem, true);
        let colleague = account(OPERATOR, InstitutionKind::Operator, true);
        assert_eq!(manage_account(&operator, &sem_officer), Decision::Forbidden);
        assert_eq!(create_account(&operator, &sem_officer), Decision::Forbidden);
        assert_eq!(manage_account(&operator, &sem_admin), Decision::Allow);
        assert_eq!(create_account(&operator, &sem_admin), Decision::Allow);
        assert_eq!(manage_account(&operator, &colleague), Decision::Allow);
    }

    #[test]
    fn an_institution_administrator_manages_their_own_institution_only() {
        let admin = user(11, Role::InstitutionAdmin, BERN, InstitutionKind::CounsellingService);
        let own = account(BERN, InstitutionKind::CounsellingService, false);
        let other = account(SEM, InstitutionKind::Sem, false);
        assert_eq!(manage_account(&admin, &own), Decision::Allow);
        assert_eq!(create_account(&admin, &own), Decision::Allow);
        assert_eq!(manage_account(&admin, &other), Decision::NotFound);
        assert_eq!(create_account(&admin, &other), Decision::Forbidden);
        for role in Role::ALL.into_iter().filter(|r| !r.administers()) {
            let actor = user(12, role, BERN, role.institution_kind());
            assert_eq!(account_reach(&actor), AccountReach::Nothing, "{role:?}");
            assert_eq!(manage_account(&actor, &own), Decision::Forbidden, "{role:?}");
        }
    }

    #[test]
    fn grants_are_what_reads_cases_or_the_access_log() {
        assert!(user_grant(None, Role::SemOfficer));
        assert!(user_grant(None, Role::InstitutionAdmin));
        assert!(!user_grant(None, Role::Admin));
        assert!(!user_grant(Some(Role::SemOfficer), Role::SemOfficer));
        assert!(user_grant(Some(Role::SwissrepatOfficer), Role::SemOfficer));
        assert!(scopes_grant(&[Scope::StatsRead], &[Scope::StatsRead, Scope::CasesRead]));
        assert!(!scopes_grant(&[Scope::CasesRead], &[Scope::CasesRead]));
        assert!(!scopes_grant(&[], &[Scope::StatsRead]));
        assert!(scopes_grant(&[], &[Scope::EventsRead]));
    }

    #[test]
    fn the_access_log_scope_belongs_to_the_oversight_and_case_scopes_to_case_work() {
        for kind in InstitutionKind::ALL {
            assert_eq!(scope_fits(Scope::EventsRead, kind), kind == InstitutionKind::Oversight);
            let works_on_cases =
                !matches!(kind, InstitutionKind::Oversight | InstitutionKind::Operator);
            assert_eq!(scope_fits(Scope::CasesRead, kind), works_on_cases, "{kind}");
            assert_eq!(scope_fits(Scope::CaseEventsRead, kind), works_on_cases, "{kind}");
        }
        assert!(!scope_fits(Scope::StatsRead, InstitutionKind::Operator));
    }

    #[test]
    fn a_grant_is_approved_by_a_second_person_who_did_not_make_the_asker() {
        let asker = user(20, Role::InstitutionAdmin, BERN, InstitutionKind::CounsellingService);
        let maker = user(21, Role::Admin, OPERATOR, InstitutionKind::Operator);
        let other_operator = user(22, Role::Admin, OPERATOR, InstitutionKind::Operator);
        let colleague = user(23, Role::InstitutionAdmin, BERN, InstitutionKind::CounsellingService);
        let stranger = user(24, Role::InstitutionAdmin, SEM, InstitutionKind::Sem);
        let officer = user(25, Role::SemOfficer, SEM, InstitutionKind::Sem);
        let facts = account(BERN, InstitutionKind::CounsellingService, false);
        let approve = |approver: &Actor| may_approve(approver, asker.id, Some(maker.id), &facts);
        assert!(!approve(&asker));
        assert!(!approve(&maker));
        assert!(approve(&other_operator));
        assert!(approve(&colleague));
        assert!(!approve(&stranger));
        assert!(!approve(&officer));
    }
}
