//! Who holds a case and who decides on it beyond the workflow's table: the assigned
//! counsellor and SEM reviewer and their reassignment, the four-eyes proposals SEM confirms
//! with a second officer, and canton transfers between counselling services.
//!
//! The requests arrive as plain options and strings and are parsed here, so that every
//! missing or malformed field is named in one 422 (like the workflow's transitions).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::person::{one_of, required};
use crate::policy::{CaseView, FieldGroup};
use crate::string_enum;
use crate::validation::{FieldError, Validation, text};
use crate::workflow::{Action, Transition, TransitionRecord, TransitionRequest};
use crate::{CaseStatus, Role};

/// The longest reason or justification.
pub const REASON_MAX: usize = 4_000;

string_enum! {
    /// Which assignment of a case: its counsellor at the counselling service, or its SEM
    /// reviewer.
    pub enum AssignmentRole {
        Counsellor = "counsellor",
        Reviewer = "reviewer",
    }
}

impl AssignmentRole {
    /// The role the assigned user holds.
    pub fn role(self) -> Role {
        match self {
            AssignmentRole::Counsellor => Role::Counsellor,
            AssignmentRole::Reviewer => Role::SemOfficer,
        }
    }
}

/// The body of `POST /v1/cases/{id}/assignment`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentInput {
    /// `counsellor` (by a counsellor of the case's service, to a counsellor of the same
    /// service) or `reviewer` (by a SEM officer, to a SEM officer).
    #[schema(value_type = AssignmentRole, required = true)]
    pub role: Option<String>,
    /// The user who holds the case from now on.
    #[schema(value_type = Uuid, required = true)]
    pub user_id: Option<String>,
    /// Why the case changes hands; kept in the history for the counselling service and SEM.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 4000)]
    pub reason: Option<String>,
}

/// A parsed reassignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub role: AssignmentRole,
    pub user_id: Uuid,
    pub reason: String,
}

/// A uuid field.
fn uuid_field(v: &mut Validation, field: &str, value: &Option<String>) -> Option<Uuid> {
    let raw = required(v, field, value)?;
    let parsed = Uuid::parse_str(raw.trim()).ok();
    if parsed.is_none() {
        v.push(field, "invalid_format", format!("{field} must be a UUID"));
    }
    parsed
}

fn reason_field(v: &mut Validation, field: &str, value: &Option<String>) -> Option<String> {
    let raw = required(v, field, value)?;
    v.check(text(field, raw, REASON_MAX))
}

pub fn parse_assignment(input: &AssignmentInput) -> Result<Assignment, Vec<FieldError>> {
    let mut v = Validation::new();
    let role = required(&mut v, "role", &input.role)
        .and_then(|s| one_of(&mut v, "role", s, AssignmentRole::parse, AssignmentRole::names));
    let user_id = uuid_field(&mut v, "user_id", &input.user_id);
    let reason = reason_field(&mut v, "reason", &input.reason);
    match (role, user_id, reason) {
        (Some(role), Some(user_id), Some(reason)) => v.finish(Assignment { role, user_id, reason }),
        _ => Err(v.into_errors()),
    }
}

/// What the store knows of the user a case is to be assigned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignee {
    pub id: Uuid,
    pub role: Role,
    pub institution_id: Uuid,
    pub active: bool,
}

/// Whether `assignee` (`None`: no such user) may hold the case as `role`, where the case's
/// counselling service is `service_id` and SEM's institution is the assigning officer's
/// (`assigner_institution`): a counsellor of the same service, or a SEM officer of SEM.
pub fn check_assignee(
    role: AssignmentRole,
    assignee: Option<&Assignee>,
    service_id: Uuid,
    assigner_institution: Uuid,
) -> Result<(), FieldError> {
    let institution = match role {
        AssignmentRole::Counsellor => service_id,
        AssignmentRole::Reviewer => assigner_institution,
    };
    let fits = assignee
        .is_some_and(|a| a.active && a.role == role.role() && a.institution_id == institution);
    if fits {
        return Ok(());
    }
    let whom = match role {
        AssignmentRole::Counsellor => "an active counsellor of the case's counselling service",
        AssignmentRole::Reviewer => "an active SEM officer",
    };
    Err(FieldError::new("user_id", "not_assignable", format!("user_id must name {whom}")))
}

string_enum! {
    /// A change that one SEM officer proposes and a second confirms (four-eyes). Which of
    /// them need the second officer is configured in the database (`four_eyes_rules`).
    pub enum FourEyesKind {
        /// An approval above the household's entitlement.
        ApprovalOverride = "approval_override",
        /// Giving up a reclaim of assistance.
        ReclaimWaiver = "reclaim_waiver",
        /// Cancelling a case whose travel is booked.
        CancellationAfterBooking = "cancellation_after_booking",
    }
}

impl FourEyesKind {
    /// What the change is, for a sentence.
    pub fn describe(self) -> &'static str {
        match self {
            FourEyesKind::ApprovalOverride => "an approval above the household's entitlement",
            FourEyesKind::ReclaimWaiver => "waiving a reclaim",
            FourEyesKind::CancellationAfterBooking => "cancelling a case whose travel is booked",
        }
    }
}

/// The four-eyes kind of a transition the workflow accepted, if it is one: `overridden` are
/// the components an approval grants above the entitlement.
pub fn four_eyes_kind(transition: &Transition, overridden: bool) -> Option<FourEyesKind> {
    match &transition.record {
        TransitionRecord::Approval(_) if overridden => Some(FourEyesKind::ApprovalOverride),
        TransitionRecord::Cancellation(_) if transition.from == CaseStatus::TravelBooked => {
            Some(FourEyesKind::CancellationAfterBooking)
        }
        _ => None,
    }
}

/// The body of `POST /v1/cases/{id}/proposals`: exactly one of `transition` (an `approve`
/// above the entitlement, a `cancel` of a booked case) and `reclaim_waiver`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalInput {
    /// Why the change is right, for the officer who confirms it.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 4000)]
    pub justification: Option<String>,
    /// The transition proposed, as `POST /v1/cases/{id}/transitions` takes it.
    pub transition: Option<TransitionRequest>,
    /// The reclaim to waive.
    pub reclaim_waiver: Option<ReclaimWaiverInput>,
}

/// A proposed waiver of a reclaim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReclaimWaiverInput {
    #[schema(value_type = Uuid, required = true)]
    pub reclaim_id: Option<String>,
}

/// What a proposal changes once confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProposedChange {
    Transition(TransitionRequest),
    ReclaimWaiver { reclaim_id: Uuid },
}

/// A parsed proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProposal {
    pub justification: String,
    pub change: ProposedChange,
}

pub fn parse_proposal(input: &ProposalInput) -> Result<NewProposal, Vec<FieldError>> {
    let mut v = Validation::new();
    let justification = reason_field(&mut v, "justification", &input.justification);
    let change = match (&input.transition, &input.reclaim_waiver) {
        (Some(transition), None) => match transition.action() {
            Action::Approve | Action::Cancel => {
                Some(ProposedChange::Transition(transition.clone()))
            }
            action => {
                v.push(
                    "transition.action",
                    "no_second_person",
                    format!(
                        "{action} needs no second SEM officer: take it at /v1/cases/{{id}}/transitions"
                    ),
                );
                None
            }
        },
        (None, Some(waiver)) => uuid_field(&mut v, "reclaim_waiver.reclaim_id", &waiver.reclaim_id)
            .map(|reclaim_id| ProposedChange::ReclaimWaiver { reclaim_id }),
        (None, None) => {
            v.push("transition", "required", "one of transition and reclaim_waiver is required");
            None
        }
        (Some(_), Some(_)) => {
            v.push(
                "reclaim_waiver",
                "exclusive",
                "a proposal holds either transition or reclaim_waiver, not both",
            );
            None
        }
    };
    match (justification, change) {
        (Some(justification), Some(change)) => v.finish(NewProposal { justification, change }),
        _ => Err(v.into_errors()),
    }
}

string_enum! {
    /// Where a four-eyes proposal stands.
    pub enum ProposalStatus {
        /// Waiting for a second SEM officer.
        Open = "open",
        /// Confirmed by a second officer and carried out.
        Confirmed = "confirmed",
        /// Sent back by a second officer, with a reason.
        Returned = "returned",
        /// The case moved on another way (withdrawn, cancelled, departed…) before anyone
        /// confirmed it.
        Superseded = "superseded",
    }
}

/// A four-eyes proposal as SEM and the counselling service read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Proposal {
    pub id: Uuid,
    pub case_id: Uuid,
    pub kind: FourEyesKind,
    /// The transition proposed (`approve`, `cancel`), or `null` for a reclaim waiver.
    #[schema(value_type = Option<Object>)]
    pub transition: Option<serde_json::Value>,
    /// The reclaim to waive, or `null`.
    pub reclaim_id: Option<Uuid>,
    pub justification: String,
    pub status: ProposalStatus,
    pub proposed_by: Uuid,
    pub proposed_by_name: String,
    pub proposed_at: DateTime<Utc>,
    /// Who confirmed or returned it.
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was sent back.
    pub return_reason: Option<String>,
}

/// The body of returning a proposal, or declining a transfer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    #[schema(value_type = String, required = true, min_length = 1, max_length = 4000)]
    pub reason: Option<String>,
}

pub fn parse_reason(input: &ReasonInput) -> Result<String, Vec<FieldError>> {
    let mut v = Validation::new();
    let reason = reason_field(&mut v, "reason", &input.reason);
    match reason {
        Some(reason) => v.finish(reason),
        None => Err(v.into_errors()),
    }
}

/// Why the officer who proposed a change may not confirm or return it themselves: 403
/// `same_person`.
pub fn check_second_person(proposed_by: Uuid, officer: Uuid) -> Result<(), &'static str> {
    if proposed_by == officer {
        Err("the officer who proposed a change cannot confirm it: a second SEM officer does")
    } else {
        Ok(())
    }
}

/// The body of `POST /v1/cases/{id}/transfer`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    /// The counselling service that takes the case over.
    #[schema(value_type = Uuid, required = true)]
    pub to_service_id: Option<String>,
    /// Why (the person moved to another canton…); kept for the two services and SEM.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 4000)]
    pub reason: Option<String>,
}

/// A parsed transfer proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransfer {
    pub to_service_id: Uuid,
    pub reason: String,
}

pub fn parse_transfer(input: &TransferInput) -> Result<NewTransfer, Vec<FieldError>> {
    let mut v = Validation::new();
    let to = uuid_field(&mut v, "to_service_id", &input.to_service_id);
    let reason = reason_field(&mut v, "reason", &input.reason);
    match (to, reason) {
        (Some(to_service_id), Some(reason)) => v.finish(NewTransfer { to_service_id, reason }),
        _ => Err(v.into_errors()),
    }
}

/// The body of accepting a transfer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferAcceptInput {
    /// The counsellor of the receiving service who holds the case from now on.
    #[schema(value_type = Uuid, required = true)]
    pub counsellor_id: Option<String>,
}

pub fn parse_transfer_accept(input: &TransferAcceptInput) -> Result<Uuid, Vec<FieldError>> {
    let mut v = Validation::new();
    match uuid_field(&mut v, "counsellor_id", &input.counsellor_id) {
        Some(id) => v.finish(id),
        None => Err(v.into_errors()),
    }
}

string_enum! {
    /// Where a canton transfer stands.
    pub enum TransferStatus {
        /// Proposed by the sending service; the receiving one has not answered.
        Pending = "pending",
        Accepted = "accepted",
        Declined = "declined",
    }
}

/// A canton transfer as the two counselling services read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Transfer {
    pub id: Uuid,
    pub case_id: Uuid,
    /// The case's reference, which stays the same after the transfer.
    pub reference: String,
    pub from_service_id: Uuid,
    pub from_service_name: String,
    pub to_service_id: Uuid,
    pub to_service_name: String,
    pub reason: String,
    pub status: TransferStatus,
    pub proposed_by: Uuid,
    pub proposed_at: DateTime<Utc>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decline_reason: Option<String>,
    /// The principal applicant, so that the receiving service can tell whom the case is
    /// about before it accepts it (identity only).
    pub principal: Option<TransferPrincipal>,
}

/// A transfer of a case to another counselling service that waits for its answer, as every
/// reader of the case sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PendingTransfer {
    pub id: Uuid,
    pub to_service_id: Uuid,
    pub to_service_name: String,
    pub proposed_by: Uuid,
    pub proposed_at: DateTime<Utc>,
    /// Why the case is to move; only for the counselling service and SEM (absent for the
    /// others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Who a transferred case is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TransferPrincipal {
    pub surname: Option<String>,
    pub given_names: Option<String>,
    pub date_of_birth: Option<chrono::NaiveDate>,
}

/// What the store knows of the service a case is to be transferred to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivingService {
    pub id: Uuid,
    pub is_counselling_service: bool,
    pub active: bool,
    pub canton: Option<String>,
}

/// Whether the case of `from_service` may go to `to` (`None`: no such institution).
pub fn check_receiving_service(
    from_service: Uuid,
    to: Option<&ReceivingService>,
) -> Result<(), FieldError> {
    match to {
        Some(to) if to.id == from_service => Err(FieldError::new(
            "to_service_id",
            "same_service",
            "to_service_id is the case's own counselling service",
        )),
        Some(to) if to.is_counselling_service && to.active && to.canton.is_some() => Ok(()),
        _ => Err(FieldError::new(
            "to_service_id",
            "not_a_counselling_service",
            "to_service_id must name another active cantonal counselling service",
        )),
    }
}

string_enum! {
    /// An entry of a case's history that is not a workflow transition: who holds the case
    /// and the four-eyes steps. Their comments (reasons, justifications) are SEM's review.
    pub enum HoldingEvent {
        Reassign = "reassign",
        Propose = "propose",
        ConfirmProposal = "confirm_proposal",
        ReturnProposal = "return_proposal",
        ProposeTransfer = "propose_transfer",
        AcceptTransfer = "accept_transfer",
        DeclineTransfer = "decline_transfer",
    }
}

impl HoldingEvent {
    /// The reasons and justifications of these entries are SEM's review: between the
    /// counselling service and SEM.
    pub fn comment_group(self) -> FieldGroup {
        FieldGroup::Review
    }
}

/// The history entries (by `action`) whose comments a reader with `view` may not receive:
/// the workflow's and the deadlines' ([`crate::deadline::history_comments_withheld_from`])
/// and who held the case.
pub fn history_comments_withheld_from(view: &CaseView) -> Vec<&'static str> {
    let mut withheld = crate::deadline::history_comments_withheld_from(view);
    withheld.extend(
        HoldingEvent::ALL
            .into_iter()
            .filter(|e| !view.allows(e.comment_group()))
            .map(HoldingEvent::as_str),
    );
    withheld
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{Approve, Cancel};

    fn reason(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn an_assignment_names_every_missing_field() {
        let errors = parse_assignment(&AssignmentInput::default()).expect_err("refused");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["role", "user_id", "reason"]);
        let errors = parse_assignment(&AssignmentInput {
            role: reason("boss"),
            user_id: reason("nope"),
            reason: reason("  "),
        })
        .expect_err("refused");
        let codes: Vec<&str> = errors.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["unknown_value", "invalid_format", "required"]);
    }

    #[test]
    fn only_a_fitting_user_holds_the_case() {
        let service = Uuid::from_u128(1);
        let sem = Uuid::from_u128(2);
        let counsellor = Assignee {
            id: Uuid::from_u128(3),
            role: Role::Counsellor,
            institution_id: service,
            active: true,
        };
        let officer = Assignee {
            id: Uuid::from_u128(4),
            role: Role::SemOfficer,
            institution_id: sem,
            active: true,
        };
        let c = AssignmentRole::Counsellor;
        let r = AssignmentRole::Reviewer;
        assert!(check_assignee(c, Some(&counsellor), service, sem).is_ok());
        assert!(check_assignee(r, Some(&officer), service, sem).is_ok());
        // Another service's counsellor, a deactivated one, the wrong role, nobody.
        let elsewhere = Assignee { institution_id: Uuid::from_u128(9), ..counsellor.clone() };
        let inactive = Assignee { active: false, ..counsellor.clone() };
        for (role, assignee) in [
            (c, Some(&elsewhere)),
            (c, Some(&inactive)),
            (c, Some(&officer)),
            (r, Some(&counsellor)),
            (r, None),
        ] {
            let error = check_assignee(role, assignee, service, sem).expect_err("refused");
            assert_eq!((error.field.as_str(), error.code.as_str()), ("user_id", "not_assignable"));
        }
    }

    #[test]
    fn a_proposal_holds_one_change_that_needs_a_second_officer() {
        let approve = TransitionRequest::Approve(Approve::default());
        let ok = parse_proposal(&ProposalInput {
            justification: reason("Medical needs above the tariff"),
            transition: Some(approve.clone()),
            reclaim_waiver: None,
        })
        .expect("accepted");
        assert_eq!(ok.change, ProposedChange::Transition(approve.clone()));
        let both = parse_proposal(&ProposalInput {
            justification: reason("x"),
            transition: Some(approve),
            reclaim_waiver: Some(ReclaimWaiverInput { reclaim_id: reason("x") }),
        })
        .expect_err("refused");
        assert_eq!(both[0].code, "exclusive");
        let direct = parse_proposal(&ProposalInput {
            justification: None,
            transition: Some(TransitionRequest::Submit),
            reclaim_waiver: None,
        })
        .expect_err("refused");
        let codes: Vec<&str> = direct.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["required", "no_second_person"]);
        let cancel = TransitionRequest::Cancel(Cancel::default());
        assert!(
            parse_proposal(&ProposalInput {
                justification: reason("Deceased"),
                transition: Some(cancel),
                reclaim_waiver: None,
            })
            .is_ok()
        );
    }

    #[test]
    fn the_proposer_is_not_the_second_person() {
        let a = Uuid::from_u128(1);
        assert!(check_second_person(a, a).is_err());
        assert!(check_second_person(a, Uuid::from_u128(2)).is_ok());
    }

    #[test]
    fn a_case_goes_to_another_active_cantonal_service() {
        let from = Uuid::from_u128(1);
        let to = ReceivingService {
            id: Uuid::from_u128(2),
            is_counselling_service: true,
            active: true,
            canton: Some("ZH".into()),
        };
        assert!(check_receiving_service(from, Some(&to)).is_ok());
        let same = ReceivingService { id: from, ..to.clone() };
        assert_eq!(
            check_receiving_service(from, Some(&same)).expect_err("refused").code,
            "same_service"
        );
        for other in [
            ReceivingService { active: false, ..to.clone() },
            ReceivingService { is_counselling_service: false, ..to.clone() },
            ReceivingService { canton: None, ..to.clone() },
        ] {
            assert_eq!(
                check_receiving_service(from, Some(&other)).expect_err("refused").code,
                "not_a_counselling_service"
            );
        }
        assert!(check_receiving_service(from, None).is_err());
    }
}
