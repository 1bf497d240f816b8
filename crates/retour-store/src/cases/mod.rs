//! Cases and their households: reading within the caller's scope and view, writing under
//! optimistic concurrency, references without gaps, duplicate detection and search.
//!
//! Reads select only the parts of a case the reader's [`CaseView`] includes, and only when
//! the case is within the reader's [`CaseScope`]: withheld data never leaves the database.
//! Writes take a `&mut PgConnection` of a transaction the caller opened, so the change, its
//! access-log event and anything else of the same request commit together.

mod context;
mod duplicates;
mod notes;
mod read;
mod search;
#[cfg(test)]
mod tests;
mod write;

pub use duplicates::*;
pub use notes::*;
pub use read::*;
pub use search::*;
pub use write::*;

use chrono::{DateTime, NaiveDate, Utc};
use retour_domain::case::ProcedurePhase;
use retour_domain::case::{
    AssistanceComponent, CaseFields, Eligibility, Escort, Medical, NewCase, NewNote,
    NoteVisibility, Programme, RequestedAssistance, VoluntarinessDeclaration, Vulnerability,
    format_reference, reference_prefix,
};
use retour_domain::deadline::{DeadlineKind, OpenDeadline};
use retour_domain::governance::{PendingTransfer, Proposal};
use retour_domain::person::{ResidenceStatus, Sex};
use retour_domain::policy::{CaseFacts, CaseScope, CaseView, MedicalView};
use retour_domain::records::{
    DecisionRecord, DepartureRecord, EndingRecord, ItineraryRecord, Reclaim, ReintegrationRecord,
    ReviewQuestion,
};
use retour_domain::workflow::{ApprovedAmount, Holding};
use retour_domain::{Canton, CaseStatus, CountryCode, NNumber, Person, Relationship, ZemisNumber};
use serde::Deserialize;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder, Transaction};
use uuid::Uuid;

use crate::audit::{self, AuditEvent};
use crate::{Store, StoreError};

/// The columns of a case that every reader of it may receive, and what the access policy
/// needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseHead {
    pub id: Uuid,
    pub reference: String,
    pub canton: Option<Canton>,
    pub federal_region: Option<String>,
    pub counselling_service_id: Uuid,
    pub counsellor_id: Uuid,
    pub status: CaseStatus,
    pub version: i32,
    pub programme: Programme,
    pub destination_country: CountryCode,
    pub planned_departure_date: Option<NaiveDate>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub reintegration_mission_id: Option<Uuid>,
    /// The SEM officer who took the case for review.
    pub reviewer_id: Option<Uuid>,
    /// When SEM approved or rejected it.
    pub decided_at: Option<DateTime<Utc>>,
    /// When the person left.
    pub departed_at: Option<DateTime<Utc>>,
    /// When the case was closed, withdrawn or cancelled.
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The counselling service a pending canton transfer would hand the case to.
    pub transfer_to_service_id: Option<Uuid>,
}

impl CaseHead {
    /// Who holds the case, as the workflow decides on it.
    pub fn holding(&self) -> Holding {
        Holding {
            reviewer_id: self.reviewer_id,
            transfer_pending: self.transfer_to_service_id.is_some(),
        }
    }

    /// What the access policy decides on.
    pub fn facts(&self) -> CaseFacts {
        CaseFacts {
            status: self.status,
            counselling_service_id: self.counselling_service_id,
            submitted: self.submitted_at.is_some(),
            approved: self.approved_at.is_some(),
            mission_id: self.reintegration_mission_id,
            transfer_to: self.transfer_to_service_id,
        }
    }
}

/// A member of a household as stored. Without the asylum-procedure view, its ZEMIS and N
/// numbers, residence status and entry date are `None` because they were not selected.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPerson {
    pub id: Uuid,
    pub person: Person,
}

/// A case as one reader may receive it. `None` parts were withheld by the reader's view
/// and never selected.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCase {
    pub head: CaseHead,
    pub persons: Vec<StoredPerson>,
    pub vulnerabilities: Option<Vec<Vulnerability>>,
    /// `Some(None)`: no medical record. The summary is `None` for a travel-fitness view.
    pub medical: Option<Option<Medical>>,
    pub eligibility: Option<Eligibility>,
    pub voluntariness_declaration: Option<Option<VoluntarinessDeclaration>>,
    pub requested_assistance: Option<Vec<RequestedAssistance>>,
    /// Asylum-procedure data.
    pub procedure_phase: Option<Option<ProcedurePhase>>,
    /// SEM's decision (with its grounds only for the review view).
    pub decision: Option<Option<DecisionRecord>>,
    pub review_questions: Option<Vec<ReviewQuestion>>,
    pub itineraries: Option<Vec<ItineraryRecord>>,
    pub departure: Option<Option<DepartureRecord>>,
    /// `Some(None)`: no mission assigned yet.
    pub reintegration: Option<Option<ReintegrationRecord>>,
    /// How the case ended; shown to everyone who sees the case.
    pub ending: Option<EndingRecord>,
    pub reclaims: Option<Vec<Reclaim>>,
    /// The pending canton transfer, if any (its reason only for SEM's review view).
    pub pending_transfer: Option<PendingTransfer>,
    /// The open four-eyes proposal (`Some(None)`: none); SEM's review only.
    pub pending_proposal: Option<Option<Proposal>>,
    /// The open deadlines of the kinds the reader's view holds, by due date.
    pub deadlines: Vec<OpenDeadline>,
}

impl StoredCase {
    /// What SEM approved, as far as this reader sees it (empty before the approval or when
    /// the view withholds the assistance).
    pub fn approved_assistance(&self) -> Vec<ApprovedAmount> {
        self.decision
            .iter()
            .flatten()
            .flat_map(|d| &d.approved_assistance)
            .map(|a| ApprovedAmount {
                component: a.component.as_str().to_owned(),
                amount_rappen: a.amount_rappen.get(),
            })
            .collect()
    }

    /// The current booking: the newest one without a no-show.
    pub fn current_itinerary(&self) -> Option<&ItineraryRecord> {
        self.itineraries.iter().flatten().rev().find(|i| i.no_show_at.is_none())
    }

    /// The editable fields, when the case was read with the full view.
    pub fn fields(&self) -> Option<CaseFields> {
        Some(CaseFields {
            programme: self.head.programme,
            procedure_phase: self.procedure_phase?,
            destination_country: self.head.destination_country,
            planned_departure_date: self.head.planned_departure_date,
            vulnerabilities: self.vulnerabilities.clone()?,
            medical: self.medical.clone()?,
            eligibility: self.eligibility?,
            voluntariness_declaration: self.voluntariness_declaration?,
            requested_assistance: self.requested_assistance.clone()?,
        })
    }

    pub fn person(&self, id: Uuid) -> Option<&StoredPerson> {
        self.persons.iter().find(|p| p.id == id)
    }
}

/// The result of reading one case for a reader.
#[derive(Debug)]
pub enum CaseRead {
    /// Within the reader's scope, with the parts of their view.
    Visible(Box<StoredCase>),
    /// The case exists outside the reader's scope; nothing of it was selected but the id.
    OutOfScope,
    Missing,
}
