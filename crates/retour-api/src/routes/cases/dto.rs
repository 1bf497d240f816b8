//! What the case endpoints answer. Parts a reader's role may not receive (data minimisation,
//! domain.md "Who may see what") are left out of the response, not sent as `null`: a field
//! marked "absent for some roles" below is missing for those roles, and `null` means that
//! the reader may see it but nothing is recorded.

use chrono::{DateTime, NaiveDate, Utc};
use retour_domain::case::{
    Eligibility, Escort, NoteVisibility, ProcedurePhase, Programme, RequestedAssistance,
    VoluntarinessDeclaration, Vulnerability,
};
use retour_domain::deadline::OpenDeadline;
use retour_domain::governance::{PendingTransfer, Proposal};
use retour_domain::person::{ResidenceStatus, Sex};
use retour_domain::policy::{CaseView, MedicalView};
use retour_domain::records::{
    DecisionRecord, DepartureRecord, EndingRecord, ItineraryRecord, Reclaim, ReintegrationRecord,
    ReviewQuestion,
};
use retour_domain::workflow::Action;
use retour_domain::{Canton, CaseStatus, CountryCode, NNumber, Relationship, ZemisNumber};
use retour_store::cases::{StoredCase, StoredNote, StoredPerson};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A case with its household, as the caller may see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseResponse {
    pub id: Uuid,
    /// `BE-2026-00042`: the canton (or, for a federal asylum centre, `FBE`, `FNW`, `FOS`,
    /// `FTZ`, `FWE`, `FZH` or `FED` by federal asylum region), the year and a number
    /// without gaps per prefix and year.
    #[schema(example = "BE-2026-00042")]
    pub reference: String,
    pub status: CaseStatus,
    /// The canton of the counselling service; `null` for a federal asylum centre.
    pub canton: Option<Canton>,
    /// The federal asylum region of a federal asylum centre's counselling service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub federal_region: Option<String>,
    pub counselling_service_id: Uuid,
    /// The responsible counsellor.
    pub counsellor_id: Uuid,
    pub programme: Programme,
    /// The phase of the asylum procedure (federal-centre programme); `null` when not
    /// recorded. Asylum-procedure data: only for the counselling service and SEM.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ProcedurePhase>, nullable)]
    pub procedure_phase: Option<Option<ProcedurePhase>>,
    pub destination_country: CountryCode,
    pub planned_departure_date: Option<NaiveDate>,
    /// The household, in the order it was entered.
    pub persons: Vec<PersonResponse>,
    /// Absent for swissREPAT and IOM missions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vulnerabilities: Option<Vec<Vulnerability>>,
    /// Medical needs; `null` when none are recorded. Absent for IOM missions; without
    /// `summary` for swissREPAT and IOM Bern.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<MedicalResponse>, nullable)]
    pub medical: Option<Option<MedicalResponse>>,
    /// The exclusion-ground answers (`null` = not yet answered). Only for the counselling
    /// service and SEM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eligibility: Option<Eligibility>,
    /// `null` until signed. Only for the counselling service and SEM.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<VoluntarinessDeclaration>, nullable)]
    pub voluntariness_declaration: Option<Option<VoluntarinessDeclaration>>,
    /// Absent for IOM missions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_assistance: Option<Vec<RequestedAssistance>>,
    /// SEM's decision; `null` before it. Absent for IOM missions; its `review` (reasons,
    /// legal ground, override justification) only for the counselling service and SEM.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<DecisionRecord>, nullable)]
    pub decision: Option<Option<DecisionRecord>>,
    /// SEM's questions during the review and the answers, oldest first. Only for the
    /// counselling service and SEM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_questions: Option<Vec<ReviewQuestion>>,
    /// The bookings, oldest first (a no-show leaves its booking, marked). Absent for IOM
    /// missions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub itineraries: Option<Vec<ItineraryRecord>>,
    /// The confirmed departure and its payout; `null` before it. Absent for IOM missions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<DepartureRecord>, nullable)]
    pub departure: Option<Option<DepartureRecord>>,
    /// The reintegration: the mission, its disbursements and monitoring visits; `null`
    /// until a mission is assigned. Absent for swissREPAT.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ReintegrationRecord>, nullable)]
    pub reintegration: Option<Option<ReintegrationRecord>>,
    /// How the case ended (closed, withdrawn or cancelled); `null` while it goes on. Its free
    /// texts only for the readers of their field group (see `EndingRecord`).
    pub ending: Option<EndingRecord>,
    /// Reclaims of assistance (AsylV 2 Art. 62 al. 5). Only for the counselling service and
    /// SEM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reclaims: Option<Vec<Reclaim>>,
    /// A transfer of the case to another counselling service waiting for its answer;
    /// `null` when none is. Its `reason` only for the counselling service and SEM.
    pub pending_transfer: Option<PendingTransfer>,
    /// SEM's open four-eyes proposal, waiting for a second officer; `null` when none is.
    /// Only for the counselling service and SEM.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Proposal>, nullable)]
    pub pending_proposal: Option<Option<Proposal>>,
    /// The open deadlines, by due date: SEM's decision and the answer to its information
    /// request for every reader; the travel and the booked departure for those who see the
    /// travel; planned monitoring visits for those who see the reintegration.
    pub deadlines: Vec<OpenDeadline>,
    /// The IOM mission that delivers the reintegration.
    pub reintegration_mission_id: Option<Uuid>,
    /// The SEM officer who reviews the case.
    pub reviewer_id: Option<Uuid>,
    /// First submitted to SEM.
    pub submitted_at: Option<DateTime<Utc>>,
    /// First approved by SEM.
    pub approved_at: Option<DateTime<Utc>>,
    /// When SEM approved or rejected it.
    pub decided_at: Option<DateTime<Utc>>,
    /// When the person left.
    pub departed_at: Option<DateTime<Utc>>,
    /// When the case was closed, withdrawn or cancelled.
    pub closed_at: Option<DateTime<Utc>>,
    /// Bumped by every change; also the `ETag`. Send it as `If-Match` to change the case.
    pub version: i32,
    /// The workflow actions the caller may take now (`POST /v1/cases/{id}/transitions`),
    /// from the same table that decides a transition. An action listed can still be refused
    /// with 422 naming what is missing.
    pub allowed_actions: Vec<Action>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A member of the household. The asylum-procedure fields (`zemis_number`, `n_number`,
/// `residence_status`, `entry_date`) are absent for swissREPAT, IOM Bern and IOM missions.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonResponse {
    pub id: Uuid,
    pub relationship: Relationship,
    pub surname: String,
    pub given_names: String,
    pub aliases: Vec<String>,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    pub nationality: CountryCode,
    pub travelling: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ZemisNumber>, nullable)]
    pub zemis_number: Option<Option<ZemisNumber>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<NNumber>, nullable)]
    pub n_number: Option<Option<NNumber>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ResidenceStatus>, nullable)]
    pub residence_status: Option<Option<ResidenceStatus>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub entry_date: Option<Option<NaiveDate>>,
}

/// Medical needs.
#[derive(Debug, Serialize, ToSchema)]
pub struct MedicalResponse {
    /// The diagnosis summary; absent for swissREPAT and IOM Bern, who see fitness to travel
    /// and escort only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable)]
    pub summary: Option<Option<String>>,
    pub fit_to_travel: Option<bool>,
    pub escort: Option<Escort>,
}

impl CaseResponse {
    /// The response for a reader with `view`; `allowed_actions` as the workflow computes them.
    pub fn new(case: StoredCase, view: &CaseView, allowed_actions: Vec<Action>) -> Self {
        let asylum = view.asylum_procedure;
        let head = case.head;
        CaseResponse {
            id: head.id,
            reference: head.reference,
            status: head.status,
            canton: head.canton,
            federal_region: head.federal_region,
            counselling_service_id: head.counselling_service_id,
            counsellor_id: head.counsellor_id,
            programme: head.programme,
            procedure_phase: case.procedure_phase.filter(|_| asylum),
            destination_country: head.destination_country,
            planned_departure_date: head.planned_departure_date,
            persons: case.persons.into_iter().map(|p| PersonResponse::new(p, asylum)).collect(),
            vulnerabilities: case.vulnerabilities.filter(|_| view.vulnerabilities),
            medical: match view.medical {
                MedicalView::None => None,
                level => case.medical.map(|m| {
                    m.map(|m| MedicalResponse {
                        summary: (level == MedicalView::Full).then_some(m.summary),
                        fit_to_travel: m.fit_to_travel,
                        escort: m.escort,
                    })
                }),
            },
            eligibility: case.eligibility.filter(|_| view.eligibility),
            voluntariness_declaration: case.voluntariness_declaration.filter(|_| view.eligibility),
            requested_assistance: case.requested_assistance.filter(|_| view.assistance),
            decision: case.decision.filter(|_| view.assistance).map(|decision| {
                decision.map(|mut d| {
                    if !view.review {
                        d.review = None;
                    }
                    d
                })
            }),
            review_questions: case.review_questions.filter(|_| view.review),
            itineraries: case.itineraries.filter(|_| view.travel),
            departure: case.departure.filter(|_| view.travel),
            reintegration: case.reintegration.filter(|_| view.reintegration),
            ending: case.ending.map(|ending| ending.as_seen_with(view)),
            reclaims: case.reclaims.filter(|_| view.review),
            pending_transfer: case
                .pending_transfer
                .map(|t| PendingTransfer { reason: t.reason.filter(|_| view.review), ..t }),
            pending_proposal: case.pending_proposal.filter(|_| view.review),
            deadlines: case
                .deadlines
                .into_iter()
                .filter(|d| view.allows(d.kind.field_group()))
                .collect(),
            reintegration_mission_id: head.reintegration_mission_id,
            reviewer_id: head.reviewer_id,
            submitted_at: head.submitted_at,
            approved_at: head.approved_at,
            decided_at: head.decided_at,
            departed_at: head.departed_at,
            closed_at: head.closed_at,
            version: head.version,
            allowed_actions,
            created_at: head.created_at,
            updated_at: head.updated_at,
        }
    }
}

impl PersonResponse {
    fn new(stored: StoredPerson, asylum: bool) -> Self {
        let p = stored.person;
        PersonResponse {
            id: stored.id,
            relationship: p.relationship,
            surname: p.surname,
            given_names: p.given_names,
            aliases: p.aliases,
            date_of_birth: p.date_of_birth,
            sex: p.sex,
            nationality: p.nationality,
            travelling: p.travelling,
            zemis_number: asylum.then_some(p.zemis_number),
            n_number: asylum.then_some(p.n_number),
            residence_status: asylum.then_some(p.residence_status),
            entry_date: asylum.then_some(p.entry_date),
        }
    }
}

/// A page of cases, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    pub items: Vec<CaseListItem>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A case in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseListItem {
    pub id: Uuid,
    #[schema(example = "BE-2026-00042")]
    pub reference: String,
    pub status: CaseStatus,
    pub canton: Option<Canton>,
    pub counselling_service_id: Uuid,
    pub programme: Programme,
    pub destination_country: CountryCode,
    /// The principal applicant's name.
    pub principal: Option<PrincipalName>,
    pub persons_count: i64,
    /// An open deadline of the case is overdue: one of SEM's decision or of the answer to
    /// its information request, or of a kind the caller sees (travel, departure, monitoring
    /// visit).
    pub overdue: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A person's name.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrincipalName {
    pub surname: String,
    pub given_names: String,
}

/// A note on a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteResponse {
    pub id: Uuid,
    pub case_id: Uuid,
    pub author_id: Uuid,
    pub author_name: String,
    pub institution_id: Uuid,
    pub institution_name: String,
    /// `institution`: only the author's institution reads it; `shared`: everyone who may
    /// see the case.
    pub visibility: NoteVisibility,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<StoredNote> for NoteResponse {
    fn from(n: StoredNote) -> Self {
        NoteResponse {
            id: n.id,
            case_id: n.case_id,
            author_id: n.author_id,
            author_name: n.author_name,
            institution_id: n.institution_id,
            institution_name: n.institution_name,
            visibility: n.visibility,
            body: n.body,
            created_at: n.created_at,
        }
    }
}

/// The notes of a case the caller may read, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteList {
    pub items: Vec<NoteResponse>,
}
