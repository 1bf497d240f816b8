//! What a case holds beyond its editable fields, as it is kept and shown: SEM's decision and
//! questions, the bookings, the departure and its payout, the reintegration, the ending, the
//! reclaims and the history. Written once by the workflow (decisions, payouts and
//! disbursements are never edited); plain data for the store to read and the API to show.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::assistance::AssistanceAmount;
use crate::policy::{CaseView, FieldGroup};
use crate::reclaim::{ReclaimReason, ReclaimStatus};
use crate::workflow::{Itinerary, LegalGround, Payout};
use crate::{CaseStatus, Rappen, Role, string_enum};

string_enum! {
    /// SEM's decision.
    pub enum DecisionKind {
        Approved = "approved",
        Rejected = "rejected",
    }
}

/// SEM's decision on the application. Never edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DecisionRecord {
    pub decision: DecisionKind,
    /// What SEM granted per component; empty for a rejection.
    pub approved_assistance: Vec<AssistanceAmount>,
    pub decided_by: Uuid,
    pub decided_at: DateTime<Utc>,
    /// The grounds of the decision. Only for the counselling service and SEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<DecisionReview>,
}

impl DecisionRecord {
    /// The approved amount of one component, if SEM approved it.
    pub fn approved(&self, component: crate::assistance::AssistanceComponent) -> Option<Rappen> {
        self.approved_assistance.iter().find(|a| a.component == component).map(|a| a.amount_rappen)
    }
}

/// Why SEM decided as it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DecisionReview {
    pub reasons: String,
    /// The legal ground of a rejection.
    pub legal_ground: Option<LegalGround>,
    /// Why amounts above the entitlement were approved, when some were.
    pub override_justification: Option<String>,
    /// The components approved above the entitlement.
    pub overridden_components: Vec<crate::assistance::AssistanceComponent>,
}

/// A question SEM asked the counselling service during the review, and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReviewQuestion {
    pub id: Uuid,
    pub question: String,
    pub asked_by: Uuid,
    pub asked_at: DateTime<Utc>,
    /// `null` while unanswered.
    pub answer: Option<String>,
    pub answered_by: Option<Uuid>,
    pub answered_at: Option<DateTime<Utc>>,
}

/// A booking. A no-show leaves it as it was, marked, and the case is booked again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ItineraryRecord {
    pub id: Uuid,
    #[serde(flatten)]
    pub itinerary: Itinerary,
    pub booked_by: Uuid,
    pub booked_at: DateTime<Utc>,
    /// When the person was reported not to have left with this booking.
    pub no_show_at: Option<DateTime<Utc>>,
    pub no_show_comment: Option<String>,
}

/// The confirmed departure and the cash paid at the airport. Never edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DepartureRecord {
    /// The booking the person left with.
    pub itinerary_id: Uuid,
    pub departed_at: DateTime<Utc>,
    pub payout: Payout,
    pub confirmed_by: Uuid,
    pub confirmed_at: DateTime<Utc>,
}

/// The reintegration delivered by an IOM mission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReintegrationRecord {
    pub mission_id: Uuid,
    pub mission_name: String,
    /// The approved reintegration project: what may be disbursed in all.
    pub project_rappen: Rappen,
    /// The sum of the disbursements so far.
    pub disbursed_rappen: Rappen,
    /// Oldest first.
    pub disbursements: Vec<Disbursement>,
    /// By due date.
    pub monitoring_visits: Vec<MonitoringVisit>,
}

/// Support in kind paid by the mission. Never edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Disbursement {
    pub id: Uuid,
    pub amount_rappen: Rappen,
    pub purpose: String,
    pub paid_on: NaiveDate,
    pub recorded_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// A monitoring visit, planned or done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MonitoringVisit {
    pub id: Uuid,
    pub due_on: NaiveDate,
    pub done_on: Option<NaiveDate>,
    pub outcome: Option<String>,
    /// From 0 (not sustainable) to 1 (fully).
    pub sustainability_score: Option<f64>,
    pub recorded_by: Uuid,
    pub created_at: DateTime<Utc>,
}

string_enum! {
    /// How a case ended.
    pub enum EndingKind {
        Closed = "closed",
        Withdrawn = "withdrawn",
        Cancelled = "cancelled",
    }
}

/// The end of a case: closed by IOM with an outcome, withdrawn by the counselling service,
/// or cancelled by SEM with a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EndingRecord {
    pub kind: EndingKind,
    /// The closure's outcome (for readers who see the reintegration) or the cancellation's
    /// reason (for readers who see the travel); absent for a withdrawal and for other
    /// readers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The withdrawal's reason or the comment of a cancellation (free text between the
    /// counselling service and SEM), or the comment of a closure (for readers who see the
    /// reintegration); absent when there is none or for other readers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub ended_by: Uuid,
    pub ended_at: DateTime<Utc>,
}

impl EndingRecord {
    /// The field groups of the ending's reason and of its comment.
    pub fn field_groups(&self) -> (FieldGroup, FieldGroup) {
        match self.kind {
            EndingKind::Closed => (FieldGroup::Reintegration, FieldGroup::Reintegration),
            EndingKind::Withdrawn => (FieldGroup::Review, FieldGroup::Review),
            EndingKind::Cancelled => (FieldGroup::Travel, FieldGroup::Review),
        }
    }

    /// The ending as a reader with `view` may receive it.
    pub fn as_seen_with(mut self, view: &CaseView) -> Self {
        let (reason, comment) = self.field_groups();
        if !view.allows(reason) {
            self.reason = None;
        }
        if !view.allows(comment) {
            self.comment = None;
        }
        self
    }
}

/// A reclaim of assistance (AsylV 2 Art. 62 al. 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reclaim {
    pub id: Uuid,
    pub case_id: Uuid,
    pub reason: ReclaimReason,
    pub amount_rappen: Rappen,
    pub status: ReclaimStatus,
    pub comment: Option<String>,
    pub recorded_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One entry of a case's history: its opening, a transition, or a change of who holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseEvent {
    pub id: Uuid,
    /// `open`, the workflow action (`submit`, `approve`, …), or who held the case
    /// (`reassign`, `propose`, `confirm_proposal`, `return_proposal`, `propose_transfer`,
    /// `accept_transfer`, `decline_transfer`).
    pub action: String,
    /// `null` for the opening.
    pub from_status: Option<CaseStatus>,
    pub to_status: CaseStatus,
    pub actor_id: Uuid,
    pub actor_name: String,
    pub institution_id: Uuid,
    pub institution_name: String,
    pub role: Role,
    /// The question, answer, reasons or comment of the transition; `null` for readers
    /// without its field group (`Action::comment_group`): SEM's review and the reasons of a
    /// withdrawal or cancellation only for the counselling service and SEM.
    pub comment: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_itinerary_record_reads_the_flat_json_the_store_builds() {
        let json = serde_json::json!({
            "id": "01890000-0000-7000-8000-000000000001",
            "departure_airport": "ZRH", "departure_at": "2026-12-15T09:40:00+00:00",
            "flights": ["TK1912"], "destination_airport": "EBL", "escort": "none", "sim": false,
            "booked_by": "01890000-0000-7000-8000-000000000002",
            "booked_at": "2026-11-30T10:00:00.123456+00:00",
            "no_show_at": null, "no_show_comment": null
        });
        let record: ItineraryRecord = serde_json::from_value(json).expect("itinerary");
        assert_eq!(record.itinerary.flights, ["TK1912"]);
        let back = serde_json::to_value(&record).expect("json");
        assert_eq!(back["departure_airport"], "ZRH");
    }
}
