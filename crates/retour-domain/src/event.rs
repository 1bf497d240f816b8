//! Events for partner systems: what happened to a case, named `<noun>.<past participle>`,
//! with a payload of ids and statuses only (never a name, a number of the asylum procedure
//! or a free text). Each event belongs to the field group its type and payload reveal, and
//! reaches only readers whose view holds that group, like every other byte about a case.

use crate::deadline::DeadlineKind;
use crate::document::DocumentCategory;
use crate::governance::HoldingEvent;
use crate::policy::FieldGroup;
use crate::{Action, string_enum};

string_enum! {
    /// What happened to a case.
    pub enum EventType {
        /// A counselling service opened the case.
        CaseOpened = "case.opened",
        /// The case's fields or household changed.
        CaseUpdated = "case.updated",
        CaseSubmitted = "case.submitted",
        ReviewStarted = "review.started",
        /// SEM asked the counselling service a question.
        InformationRequested = "information.requested",
        /// The counselling service answered SEM's question.
        InformationProvided = "information.provided",
        CaseApproved = "case.approved",
        CaseRejected = "case.rejected",
        TravelBooked = "travel.booked",
        /// The person did not board: the travel is booked again.
        DepartureMissed = "departure.missed",
        CaseDeparted = "case.departed",
        ReintegrationStarted = "reintegration.started",
        CaseClosed = "case.closed",
        CaseWithdrawn = "case.withdrawn",
        CaseCancelled = "case.cancelled",
        /// The case's counsellor or SEM reviewer changed.
        CaseReassigned = "case.reassigned",
        TransferProposed = "transfer.proposed",
        TransferAccepted = "transfer.accepted",
        TransferDeclined = "transfer.declined",
        /// A decision that needs a second SEM officer was proposed.
        ProposalMade = "proposal.made",
        ProposalConfirmed = "proposal.confirmed",
        ProposalReturned = "proposal.returned",
        DocumentAdded = "document.added",
        DocumentDeleted = "document.deleted",
        DisbursementRecorded = "disbursement.recorded",
        VisitPlanned = "visit.planned",
        VisitCompleted = "visit.completed",
        ReclaimOpened = "reclaim.opened",
        ReclaimUpdated = "reclaim.updated",
        DeadlineExtended = "deadline.extended",
        /// A deadline passed with its step not taken (the case is overdue).
        DeadlinePassed = "deadline.passed",
        /// Someone outside the case's scope opened it in an emergency (break-glass).
        BreakGlassOpened = "break_glass.opened",
    }
}

impl EventType {
    /// The event a transition writes.
    pub fn of_transition(action: Action) -> EventType {
        match action {
            Action::Submit => EventType::CaseSubmitted,
            Action::StartReview => EventType::ReviewStarted,
            Action::RequestInfo => EventType::InformationRequested,
            Action::AnswerInfo => EventType::InformationProvided,
            Action::Approve => EventType::CaseApproved,
            Action::Reject => EventType::CaseRejected,
            Action::BookTravel => EventType::TravelBooked,
            Action::ReportNoShow => EventType::DepartureMissed,
            Action::ConfirmDeparture => EventType::CaseDeparted,
            Action::StartReintegration => EventType::ReintegrationStarted,
            Action::Close => EventType::CaseClosed,
            Action::Withdraw => EventType::CaseWithdrawn,
            Action::Cancel => EventType::CaseCancelled,
        }
    }

    /// The event a change of who holds the case writes.
    pub fn of_holding(event: HoldingEvent) -> EventType {
        match event {
            HoldingEvent::Reassign => EventType::CaseReassigned,
            HoldingEvent::Propose => EventType::ProposalMade,
            HoldingEvent::ConfirmProposal => EventType::ProposalConfirmed,
            HoldingEvent::ReturnProposal => EventType::ProposalReturned,
            HoldingEvent::ProposeTransfer => EventType::TransferProposed,
            HoldingEvent::AcceptTransfer => EventType::TransferAccepted,
            HoldingEvent::DeclineTransfer => EventType::TransferDeclined,
        }
    }

    /// The field group an event of this type belongs to, for the types whose group does not
    /// depend on the payload (documents and deadlines: [`EventType::document_group`],
    /// [`EventType::deadline_group`]).
    ///
    /// The workflow's steps, assignments and transfers say what the case's status and
    /// history say to everyone who reads the case; four-eyes proposals are SEM's review;
    /// payouts, visits and reclaims go with the parts of the case they belong to.
    pub fn field_group(self) -> FieldGroup {
        match self {
            EventType::ProposalMade
            | EventType::ProposalConfirmed
            | EventType::ProposalReturned
            | EventType::ReclaimOpened
            | EventType::ReclaimUpdated
            | EventType::BreakGlassOpened => FieldGroup::Review,
            EventType::DisbursementRecorded
            | EventType::VisitPlanned
            | EventType::VisitCompleted => FieldGroup::Reintegration,
            _ => FieldGroup::Identity,
        }
    }

    /// The group of a document event: its category's.
    pub fn document_group(category: DocumentCategory) -> FieldGroup {
        category.field_group()
    }

    /// The group of a deadline event: its kind's.
    pub fn deadline_group(kind: DeadlineKind) -> FieldGroup {
        kind.field_group()
    }

    /// The types in `list`, comma-separated (`case.approved,travel.booked`); the first
    /// unknown name otherwise.
    pub fn parse_list(list: &str) -> Result<Vec<EventType>, String> {
        let mut types = Vec::new();
        for name in list.split(',') {
            let parsed = EventType::parse(name).ok_or_else(|| name.to_owned())?;
            if !types.contains(&parsed) {
                types.push(parsed);
            }
        }
        Ok(types)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_a_noun_and_a_past_participle() {
        for kind in EventType::ALL {
            let (noun, verb) = kind.as_str().split_once('.').expect("noun.verb");
            assert!(
                !noun.is_empty() && (verb.ends_with("ed") || ["made", "withdrawn"].contains(&verb)),
                "{kind}"
            );
        }
    }

    #[test]
    fn transitions_and_holdings_each_have_their_own_type() {
        let mut seen: Vec<EventType> =
            Action::ALL.into_iter().map(EventType::of_transition).collect();
        seen.extend(HoldingEvent::ALL.into_iter().map(EventType::of_holding));
        let count = seen.len();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), count);
        assert!(!seen.contains(&EventType::CaseOpened));
    }

    #[test]
    fn a_medical_certificate_is_announced_only_within_the_medical_view() {
        assert_eq!(
            EventType::document_group(DocumentCategory::MedicalCertificate),
            FieldGroup::MedicalSummary
        );
        assert_eq!(EventType::CaseApproved.field_group(), FieldGroup::Identity);
        assert_eq!(EventType::ProposalMade.field_group(), FieldGroup::Review);
    }

    #[test]
    fn a_list_of_types_is_parsed_or_names_the_unknown_one() {
        assert_eq!(
            EventType::parse_list("case.approved,travel.booked,case.approved"),
            Ok(vec![EventType::CaseApproved, EventType::TravelBooked])
        );
        assert_eq!(EventType::parse_list("case.approved,case.eaten"), Err("case.eaten".into()));
        assert_eq!(EventType::parse_list(""), Err(String::new()));
    }
}
