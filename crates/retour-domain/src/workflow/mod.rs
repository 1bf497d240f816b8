//! The return workflow (domain.md, "The workflow"): the status machine as one table,
//! `(from, action) → (to, roles allowed, precondition)`, and the guards that say what each
//! action needs.
//!
//! [`evaluate`] decides one requested transition; [`allowed_actions`] lists what a caller may
//! do now. Both read the same [`TABLE`], so a case never offers an action the workflow would
//! refuse with 409 or 403. Both assume the caller may see the case: the access policy
//! ([`crate::policy::decide`] with `ReadCase`) answers 404 before either is asked.

mod context;
mod guards;
mod record;
mod request;

#[cfg(test)]
mod tests;

pub use context::{EligibilityAnswers, Holding, MissionFacts, PersonFacts, TransitionContext};
pub use record::{
    Approval, ApprovedAmount, CancelReason, Cancellation, Closure, ClosureOutcome, Departure,
    DepartureAirport, Escort, Itinerary, LegalGround, Payout, Rejection, TransitionRecord,
};
pub use request::{
    AnswerInfo, Approve, ApprovedAmountInput, BookTravel, Cancel, Close, ConfirmDeparture,
    ItineraryInput, PayoutInput, Reject, ReportNoShow, RequestInfo, StartReintegration,
    TransitionRequest, Withdraw,
};

use crate::policy::{CaseView, FieldGroup};
use crate::string_enum;
use crate::{Actor, CaseStatus, FieldError, Role};

string_enum! {
    /// Something that moves a case from one status to the next.
    pub enum Action {
        Submit = "submit",
        StartReview = "start_review",
        RequestInfo = "request_info",
        AnswerInfo = "answer_info",
        Approve = "approve",
        Reject = "reject",
        BookTravel = "book_travel",
        ReportNoShow = "report_no_show",
        ConfirmDeparture = "confirm_departure",
        StartReintegration = "start_reintegration",
        Close = "close",
        Withdraw = "withdraw",
        Cancel = "cancel",
    }
}

impl Action {
    /// SEM's decisions on a case, taken only by the SEM officer the case is assigned to for
    /// review (`start_review` makes the officer who takes it the reviewer).
    pub fn needs_reviewer(self) -> bool {
        matches!(self, Action::RequestInfo | Action::Approve | Action::Reject | Action::Cancel)
    }

    /// The field group of the free text a transition of this kind leaves in the case's
    /// history (its question, answer, reasons or comment): SEM's review and the reasons of
    /// a withdrawal or cancellation stay between the counselling service and SEM; a no-show
    /// goes with the travel, a closure with the reintegration.
    pub fn comment_group(self) -> FieldGroup {
        match self {
            Action::Submit
            | Action::StartReview
            | Action::RequestInfo
            | Action::AnswerInfo
            | Action::Approve
            | Action::Reject
            | Action::Withdraw
            | Action::Cancel => FieldGroup::Review,
            Action::BookTravel | Action::ReportNoShow | Action::ConfirmDeparture => {
                FieldGroup::Travel
            }
            Action::StartReintegration | Action::Close => FieldGroup::Reintegration,
        }
    }

    /// The actions whose history comments a reader with `view` may not receive.
    pub fn comments_withheld_from(view: &CaseView) -> Vec<Action> {
        Action::ALL.into_iter().filter(|a| !view.allows(a.comment_group())).collect()
    }
}

/// A condition on the case, beyond its status, that decides which way a case goes on.
/// Checked by [`allowed_actions`] too; when unmet, the action is not possible (409).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    None,
    /// SEM approved a reintegration project: the case goes on to reintegration.
    ReintegrationProjectApproved,
    /// SEM approved no reintegration project: the case is closed after the departure.
    NoReintegrationProject,
}

impl Precondition {
    pub fn holds(self, ctx: &TransitionContext) -> bool {
        match self {
            Precondition::None => true,
            Precondition::ReintegrationProjectApproved => ctx.reintegration_project_approved(),
            Precondition::NoReintegrationProject => !ctx.reintegration_project_approved(),
        }
    }

    /// Why the action is not possible when the precondition does not hold.
    fn unmet(self) -> &'static str {
        match self {
            Precondition::None => "",
            Precondition::ReintegrationProjectApproved => {
                "no reintegration project was approved, so the case is closed after the departure"
            }
            Precondition::NoReintegrationProject => {
                "a reintegration project was approved, so the case is closed after its reintegration"
            }
        }
    }
}

/// One row of the status machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub from: CaseStatus,
    pub action: Action,
    pub to: CaseStatus,
    /// The roles that may take the action. For `book_travel` the itinerary's `sim` flag
    /// narrows this to one of the two (a guard: swissREPAT books, IOM books SIM journeys).
    pub roles: &'static [Role],
    pub precondition: Precondition,
}

const COUNSELLOR: &[Role] = &[Role::Counsellor];
const SEM: &[Role] = &[Role::SemOfficer];
const TRAVEL: &[Role] = &[Role::SwissrepatOfficer, Role::IomCoordinator];
const IOM: &[Role] = &[Role::IomCoordinator];

const fn rule(
    from: CaseStatus,
    action: Action,
    to: CaseStatus,
    roles: &'static [Role],
    precondition: Precondition,
) -> Rule {
    Rule { from, action, to, roles, precondition }
}

/// The status machine: every transition a case can take, and nothing else. A status that
/// appears in no `from` (rejected, closed, withdrawn, cancelled) is terminal.
#[rustfmt::skip]
pub const TABLE: &[Rule] = {
    use Action as A;
    use CaseStatus as S;
    use Precondition as P;
    &[
        //   from             action                  to               roles       precondition
        rule(S::Counselling,   A::Submit,             S::Submitted,     COUNSELLOR, P::None),
        rule(S::Submitted,     A::StartReview,        S::UnderReview,   SEM,        P::None),
        rule(S::UnderReview,   A::RequestInfo,        S::InfoRequested, SEM,        P::None),
        rule(S::InfoRequested, A::AnswerInfo,         S::UnderReview,   COUNSELLOR, P::None),
        rule(S::UnderReview,   A::Approve,            S::Approved,      SEM,        P::None),
        rule(S::UnderReview,   A::Reject,             S::Rejected,      SEM,        P::None),
        rule(S::Approved,      A::BookTravel,         S::TravelBooked,  TRAVEL,     P::None),
        rule(S::TravelBooked,  A::ReportNoShow,       S::Approved,      TRAVEL,     P::None),
        rule(S::TravelBooked,  A::ConfirmDeparture,   S::Departed,      TRAVEL,     P::None),
        rule(S::Departed,      A::StartReintegration, S::Reintegration, IOM,        P::ReintegrationProjectApproved),
        rule(S::Reintegration, A::Close,              S::Closed,        IOM,        P::None),
        rule(S::Departed,      A::Close,              S::Closed,        IOM,        P::NoReintegrationProject),
        rule(S::Counselling,   A::Withdraw,           S::Withdrawn,     COUNSELLOR, P::None),
        rule(S::Submitted,     A::Withdraw,           S::Withdrawn,     COUNSELLOR, P::None),
        rule(S::UnderReview,   A::Withdraw,           S::Withdrawn,     COUNSELLOR, P::None),
        rule(S::InfoRequested, A::Withdraw,           S::Withdrawn,     COUNSELLOR, P::None),
        rule(S::Approved,      A::Withdraw,           S::Withdrawn,     COUNSELLOR, P::None),
        rule(S::TravelBooked,  A::Withdraw,           S::Withdrawn,     COUNSELLOR, P::None),
        rule(S::Approved,      A::Cancel,             S::Cancelled,     SEM,        P::None),
        rule(S::TravelBooked,  A::Cancel,             S::Cancelled,     SEM,        P::None),
    ]
};

/// The row for `action` out of `from`, if the workflow has one.
pub fn rule_for(from: CaseStatus, action: Action) -> Option<&'static Rule> {
    TABLE.iter().find(|rule| rule.from == from && rule.action == action)
}

/// A transition the workflow accepted: what the store writes, with the history event, in one
/// transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: CaseStatus,
    pub to: CaseStatus,
    pub action: Action,
    pub record: TransitionRecord,
}

/// Why a transition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// Not possible in the case's status (or, out of `departed`, not on this case's way):
    /// 409 `invalid_transition`.
    #[error("{action} is not possible while the case is {status}{}", reason_suffix(.reason))]
    InvalidTransition { status: CaseStatus, action: Action, reason: Option<&'static str> },
    /// The caller sees the case, but their role may not take this action:
    /// 403 `forbidden_action`.
    #[error("your role may not {action} a case that is {status}")]
    Forbidden { status: CaseStatus, action: Action },
    /// A decision SEM takes on a case assigned to another officer: 403 `not_assigned`.
    #[error(
        "the case is assigned to another SEM officer for review; only its reviewer may {action} it, until it is reassigned"
    )]
    NotAssigned { action: Action },
    /// The counselling service proposed to hand the case to another service and acts on it
    /// no more until that service accepts or declines: 409 `transfer_pending`.
    #[error(
        "a transfer of the case to another counselling service is pending; it can be changed again once the transfer is declined"
    )]
    TransferPending { action: Action },
    /// What is missing or invalid, each field named: 422 `validation_failed`.
    #[error("the transition is missing or has invalid fields")]
    Invalid(Vec<FieldError>),
}

fn reason_suffix(reason: &Option<&'static str>) -> String {
    reason.map(|reason| format!(": {reason}")).unwrap_or_default()
}

/// The role an actor acts in, if it may act on cases at all: service accounts only read, and
/// a role that does not fit its institution takes no action.
fn acting_role(actor: &Actor) -> Option<Role> {
    actor.role().filter(|role| role.fits(actor.institution_kind))
}

/// Decides whether `actor` may take `request` on the case described by `ctx`, and what to
/// record. In this order: the table must have the action for the case's status (and its
/// precondition must hold), else [`TransitionError::InvalidTransition`]; the actor's role must
/// be allowed, else [`TransitionError::Forbidden`]; then the guards, whose findings are all
/// returned together as [`TransitionError::Invalid`].
pub fn evaluate(
    actor: &Actor,
    ctx: &TransitionContext,
    request: &TransitionRequest,
) -> Result<Transition, TransitionError> {
    let action = request.action();
    let invalid =
        |reason| TransitionError::InvalidTransition { status: ctx.status, action, reason };
    let rule = rule_for(ctx.status, action).ok_or_else(|| invalid(None))?;
    if !rule.precondition.holds(ctx) {
        return Err(invalid(Some(rule.precondition.unmet())));
    }
    let role = acting_role(actor)
        .filter(|role| rule.roles.contains(role))
        .ok_or(TransitionError::Forbidden { status: ctx.status, action })?;
    if let Some(error) = held_elsewhere(actor, role, action, ctx) {
        return Err(error);
    }
    let record = guards::check(role, actor.id, ctx, request).map_err(TransitionError::Invalid)?;
    Ok(Transition { from: rule.from, to: rule.to, action, record })
}

/// Why the case's holding keeps `actor` (in `role`) from `action`, if it does.
fn held_elsewhere(
    actor: &Actor,
    role: Role,
    action: Action,
    ctx: &TransitionContext,
) -> Option<TransitionError> {
    if role == Role::Counsellor && ctx.holding.transfer_pending {
        return Some(TransitionError::TransferPending { action });
    }
    if role == Role::SemOfficer && action.needs_reviewer() && !ctx.holding.decided_by(actor.id) {
        return Some(TransitionError::NotAssigned { action });
    }
    None
}

/// The actions `actor` may take on the case now, in the order of [`Action::ALL`]: those the
/// table has for its status whose precondition holds and which the actor's role may take.
/// What depends on the request's fields or on the data being complete (the guards) is not
/// checked, so a listed action can still be answered 422 naming what is missing.
pub fn allowed_actions(actor: &Actor, ctx: &TransitionContext) -> Vec<Action> {
    let Some(role) = acting_role(actor) else {
        return Vec::new();
    };
    Action::ALL
        .into_iter()
        .filter(|action| {
            rule_for(ctx.status, *action)
                .is_some_and(|rule| rule.roles.contains(&role) && rule.precondition.holds(ctx))
                && held_elsewhere(actor, role, *action, ctx).is_none()
        })
        .collect()
}
