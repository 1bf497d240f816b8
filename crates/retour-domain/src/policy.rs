//! The access policy: who may see which case, which parts of it, and what they may do.
//! One pure function of (actor, operation, case facts); handlers ask it on every request
//! and the store turns [`case_scope`] into the `where` clause of every case query, so a list
//! never holds a case that [`decide`] would refuse.

use uuid::Uuid;

use crate::document::DocumentCategory;
use crate::{Actor, ActorKind, CaseStatus, InstitutionKind, Role, Scope};

/// What the policy needs to know about a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFacts {
    pub status: CaseStatus,
    /// The counselling service that owns the case.
    pub counselling_service_id: Uuid,
    /// The case was ever submitted to SEM (drafts stay with the canton).
    pub submitted: bool,
    /// SEM approved it at some point (travel and reintegration partners come in from here).
    pub approved: bool,
    /// The IOM mission assigned to deliver the reintegration, if any.
    pub mission_id: Option<Uuid>,
    /// The counselling service a pending canton transfer would hand the case to: it may
    /// accept or decline the transfer, and the sending service changes nothing meanwhile.
    pub transfer_to: Option<Uuid>,
}

/// Which cases an actor may see at all, as a filter the store can express in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseScope {
    /// Every case of this counselling service, in every status.
    OwnService(Uuid),
    /// Every case that was ever submitted to SEM.
    Submitted,
    /// Every case that SEM ever approved.
    Approved,
    /// Every case whose reintegration is assigned to this IOM mission.
    AssignedMission(Uuid),
    /// This one case, opened outside the actor's scope in an emergency (break-glass), to
    /// read only; [`case_scope`] never gives it.
    Case(Uuid),
    /// No case.
    Nothing,
}

impl CaseScope {
    pub fn includes(self, facts: &CaseFacts) -> bool {
        match self {
            CaseScope::OwnService(id) => facts.counselling_service_id == id,
            CaseScope::Submitted => facts.submitted,
            CaseScope::Approved => facts.approved,
            CaseScope::AssignedMission(id) => facts.mission_id == Some(id),
            CaseScope::Case(_) | CaseScope::Nothing => false,
        }
    }
}

/// The cases `actor` may see. Service accounts with `cases:read` see what a user of their
/// institution would see.
pub fn case_scope(actor: &Actor) -> CaseScope {
    let role = match &actor.kind {
        ActorKind::User { role } => *role,
        ActorKind::ServiceAccount { scopes } if scopes.contains(&Scope::CasesRead) => {
            match actor.institution_kind {
                InstitutionKind::CounsellingService => Role::Counsellor,
                InstitutionKind::Sem => Role::SemOfficer,
                InstitutionKind::IomBern => Role::IomCoordinator,
                InstitutionKind::IomMission => Role::IomMissionOfficer,
                InstitutionKind::Oversight | InstitutionKind::Operator => {
                    return CaseScope::Nothing;
                }
            }
        }
        ActorKind::ServiceAccount { .. } => return CaseScope::Nothing,
    };
    // A role that does not fit its institution sees nothing (the store refuses such users;
    // this keeps the policy total).
    if !role.fits(actor.institution_kind) {
        return CaseScope::Nothing;
    }
    match role {
        Role::Counsellor => CaseScope::OwnService(actor.institution_id),
        Role::SemOfficer => CaseScope::Submitted,
        Role::SwissrepatOfficer | Role::IomCoordinator => CaseScope::Approved,
        Role::IomMissionOfficer => CaseScope::AssignedMission(actor.institution_id),
        Role::Auditor | Role::Admin | Role::InstitutionAdmin | Role::DataProtectionOfficer => {
            CaseScope::Nothing
        }
    }
}

/// How much of the medical record a reader gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MedicalView {
    /// Diagnosis summary, fitness to travel and escort.
    Full,
    /// Fitness to travel and escort needs only.
    TravelFitness,
    None,
}

/// The parts of a case a reader may receive (data minimisation). Identity (names, date of
/// birth, sex, nationality, relationship, travelling) goes to everyone who sees the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseView {
    /// Residence status, ZEMIS and N numbers, date of entry: never to a destination country.
    pub asylum_procedure: bool,
    /// The exclusion-ground answers and the declaration of voluntariness.
    pub eligibility: bool,
    pub medical: MedicalView,
    /// Vulnerabilities (trafficking, minors…).
    pub vulnerabilities: bool,
    /// Requested and approved assistance, the decision and payouts.
    pub assistance: bool,
    pub travel: bool,
    pub reintegration: bool,
    /// SEM's review: its questions and the answers, the reasons and legal ground of the
    /// decision, an override's justification, and reclaims. Between the counselling service
    /// and SEM only.
    pub review: bool,
    /// The persons' consents to each purpose of processing: for those who record them (the
    /// counselling service, IOM Bern) and SEM.
    pub consent: bool,
}

impl CaseView {
    pub const FULL: CaseView = CaseView {
        asylum_procedure: true,
        eligibility: true,
        medical: MedicalView::Full,
        vulnerabilities: true,
        assistance: true,
        travel: true,
        reintegration: true,
        review: true,
        consent: true,
    };

    /// Nothing but the identity of a case.
    pub const IDENTITY: CaseView = CaseView {
        asylum_procedure: false,
        eligibility: false,
        medical: MedicalView::None,
        vulnerabilities: false,
        assistance: false,
        travel: false,
        reintegration: false,
        review: false,
        consent: false,
    };
}

/// A group of fields of a case, the unit in which the policy hands out data: every byte
/// that leaves the server about a case (JSON, CSV, history, explanations, statistics,
/// problem details) belongs to one of these, and a caller receives it only when their
/// [`CaseView`] holds the group ([`CaseView::allows`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldGroup {
    /// Reference, status, programme, destination, names, date of birth, sex, nationality,
    /// relationship, travelling, and the dates of the workflow: everyone who reads the case.
    Identity,
    /// Residence status, ZEMIS and N numbers, date of entry, procedure phase.
    AsylumProcedure,
    /// Exclusion-ground answers and the declaration of voluntariness.
    Eligibility,
    /// The diagnosis summary.
    MedicalSummary,
    /// Fitness to travel and escort needs.
    TravelFitness,
    /// Vulnerabilities (trafficking, minors…).
    Vulnerabilities,
    /// Requested and approved amounts, the decision's outcome, payouts.
    Assistance,
    /// Bookings, departures, no-shows and the reason code of a cancellation.
    Travel,
    /// The mission, disbursements, monitoring visits and the outcome of a closure.
    Reintegration,
    /// SEM's questions and the answers, reasons, legal ground, override justifications,
    /// reclaims, and the free-text reasons of a withdrawal or cancellation.
    Review,
    /// The persons' consents: purpose, information sheet, dates, the signed document.
    Consent,
}

impl FieldGroup {
    /// The group's name where it is stored (the outbox keeps each event's group).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldGroup::Identity => "identity",
            FieldGroup::AsylumProcedure => "asylum_procedure",
            FieldGroup::Eligibility => "eligibility",
            FieldGroup::MedicalSummary => "medical_summary",
            FieldGroup::TravelFitness => "travel_fitness",
            FieldGroup::Vulnerabilities => "vulnerabilities",
            FieldGroup::Assistance => "assistance",
            FieldGroup::Travel => "travel",
            FieldGroup::Reintegration => "reintegration",
            FieldGroup::Review => "review",
            FieldGroup::Consent => "consent",
        }
    }

    pub const ALL: [FieldGroup; 11] = [
        FieldGroup::Identity,
        FieldGroup::AsylumProcedure,
        FieldGroup::Eligibility,
        FieldGroup::MedicalSummary,
        FieldGroup::TravelFitness,
        FieldGroup::Vulnerabilities,
        FieldGroup::Assistance,
        FieldGroup::Travel,
        FieldGroup::Reintegration,
        FieldGroup::Review,
        FieldGroup::Consent,
    ];
}

impl CaseView {
    /// Whether a reader with this view receives the fields of `group` (of a case within
    /// their scope).
    pub fn allows(&self, group: FieldGroup) -> bool {
        match group {
            FieldGroup::Identity => true,
            FieldGroup::AsylumProcedure => self.asylum_procedure,
            FieldGroup::Eligibility => self.eligibility,
            FieldGroup::MedicalSummary => self.medical == MedicalView::Full,
            FieldGroup::TravelFitness => self.medical != MedicalView::None,
            FieldGroup::Vulnerabilities => self.vulnerabilities,
            FieldGroup::Assistance => self.assistance,
            FieldGroup::Travel => self.travel,
            FieldGroup::Reintegration => self.reintegration,
            FieldGroup::Review => self.review,
            FieldGroup::Consent => self.consent,
        }
    }

    /// Whether a reader with this view receives every group of `groups`.
    pub fn allows_all(&self, groups: &[FieldGroup]) -> bool {
        groups.iter().all(|&group| self.allows(group))
    }
}

/// The parts of a case `actor` may receive, for a case within their [`case_scope`].
pub fn case_view(actor: &Actor) -> CaseView {
    match effective_role(actor) {
        Some(Role::Counsellor | Role::SemOfficer) => CaseView::FULL,
        Some(Role::SwissrepatOfficer) => CaseView {
            asylum_procedure: false,
            eligibility: false,
            medical: MedicalView::TravelFitness,
            vulnerabilities: false,
            assistance: true,
            travel: true,
            reintegration: false,
            review: false,
            consent: false,
        },
        Some(Role::IomCoordinator) => CaseView {
            asylum_procedure: false,
            eligibility: false,
            medical: MedicalView::TravelFitness,
            vulnerabilities: true,
            assistance: true,
            travel: true,
            reintegration: true,
            review: false,
            consent: true,
        },
        Some(Role::IomMissionOfficer) => CaseView { reintegration: true, ..CaseView::IDENTITY },
        Some(
            Role::Auditor | Role::Admin | Role::InstitutionAdmin | Role::DataProtectionOfficer,
        )
        | None => CaseView::IDENTITY,
    }
}

/// Which cases' events an actor may read from the feed (and receive as webhooks), and with
/// which view: a user as they read cases; a service account with `case-events:read` as a
/// user of its institution would (as `cases:read` reads cases). `None`: no events at all.
pub fn event_reader(actor: &Actor) -> Option<(CaseScope, CaseView)> {
    let reader = match &actor.kind {
        ActorKind::User { .. } => actor.clone(),
        ActorKind::ServiceAccount { scopes } if scopes.contains(&Scope::CaseEventsRead) => Actor {
            kind: ActorKind::ServiceAccount { scopes: vec![Scope::CasesRead] },
            ..actor.clone()
        },
        ActorKind::ServiceAccount { .. } => return None,
    };
    match case_scope(&reader) {
        CaseScope::Nothing => None,
        scope => Some((scope, case_view(&reader))),
    }
}

/// A user's role, or for a service account the role whose view it borrows.
fn effective_role(actor: &Actor) -> Option<Role> {
    match &actor.kind {
        ActorKind::User { role } => Some(*role),
        ActorKind::ServiceAccount { .. } => match case_scope(actor) {
            CaseScope::OwnService(_) => Some(Role::Counsellor),
            CaseScope::Submitted => Some(Role::SemOfficer),
            CaseScope::Approved => Some(Role::IomCoordinator),
            CaseScope::AssignedMission(_) => Some(Role::IomMissionOfficer),
            CaseScope::Case(_) | CaseScope::Nothing => None,
        },
    }
}

/// Which country information requests (programme RIF) an actor may list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InformationRequestScope {
    /// Every request, as IOM Bern answers them: the question and the country, never the case.
    All,
    /// The requests about the cases of this counselling service, with the case.
    OwnService(Uuid),
    /// None: listing them is refused (403).
    Nothing,
}

impl InformationRequestScope {
    /// Whether a request about a case of `counselling_service_id` is within the scope.
    pub fn includes(self, counselling_service_id: Uuid) -> bool {
        match self {
            InformationRequestScope::All => true,
            InformationRequestScope::OwnService(id) => id == counselling_service_id,
            InformationRequestScope::Nothing => false,
        }
    }
}

/// The country information requests `actor` may list: IOM Bern's coordinators every one (to
/// answer them), counsellors those of their own service. Integrations none.
pub fn information_request_scope(actor: &Actor) -> InformationRequestScope {
    match actor.role().filter(|role| role.fits(actor.institution_kind)) {
        Some(Role::IomCoordinator) => InformationRequestScope::All,
        Some(Role::Counsellor) => InformationRequestScope::OwnService(actor.institution_id),
        _ => InformationRequestScope::Nothing,
    }
}

/// Something an actor asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Open a new case (for the actor's own counselling service).
    CreateCase,
    /// Read a case, its persons and its history.
    ReadCase,
    /// Read a case's entitlement: for those whose view includes the case's assistance.
    ReadEntitlement,
    /// Change an editable case's data and persons.
    UpdateCase,
    /// Write a note on a case.
    AddNote,
    /// Ask IOM Bern a country-information question about a case's destination.
    AskInformation,
    /// Answer country-information questions.
    AnswerInformation,
    /// Record disbursements and monitoring visits of a reintegration.
    RecordReintegration,
    /// Record a reclaim of assistance (AsylV 2 Art. 62 al. 5), or settle or waive one.
    ManageReclaims,
    /// Reassign the case's counsellor within its counselling service.
    AssignCounsellor,
    /// Reassign the case's SEM reviewer within SEM.
    AssignReviewer,
    /// Propose a change that needs a second SEM officer, or confirm or return one.
    ProposeChange,
    /// Read the four-eyes proposals of a case (SEM's review).
    ReadProposals,
    /// Propose handing the case to another counselling service.
    ProposeTransfer,
    /// Accept or decline a transfer to the actor's counselling service.
    DecideTransfer,
    /// Extend a deadline of the approval's travel or of SEM's information request (SEM).
    ExtendDeadline,
    /// Upload a document of this category (or a new version of one), or delete one: the
    /// document table of [`may_file_document`].
    FileDocument(DocumentCategory),
    /// Manage institutions, users and service accounts.
    Administer,
    /// Read the access log.
    ReadAuditLog,
    /// Read aggregated statistics.
    ReadStatistics,
    /// Read the consents of a case's persons.
    ReadConsents,
    /// Record a person's consent, or its withdrawal (the counselling service, IOM Bern).
    RecordConsent,
    /// Set or lift a legal hold on a case, which keeps it past its retention: SEM on the
    /// cases it sees, the oversight's auditors on any case.
    HoldCase,
    /// Export everything held about one person (Art. 25 of the Data Protection Act).
    ExportPersonData,
    /// Read the retention rules (the data protection officer and the auditors); change them
    /// (the data protection officer).
    ReadRetention,
    ManageRetention,
}

/// The policy's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// The actor may see the resource but not do this: 403.
    Forbidden,
    /// Outside the actor's scope: 404, so its existence is not revealed.
    NotFound,
}

/// Why an operation on a case is refused, as the answer tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The case is outside the actor's scope: 404, so its existence is not revealed.
    NotFound,
    /// The actor could do this in another status of the case, not in this one: 409, a
    /// conflict with the case's state rather than with the actor's role.
    NotInThisStatus,
    /// The counselling service proposed to hand the case to another one and changes nothing
    /// until that service accepts or declines: 409 `transfer_pending`.
    TransferPending,
    /// Not the actor's to do on this case in any status: 403.
    Forbidden,
}

/// Why `actor` may not perform `operation` on the case described by `facts`; `None` when
/// they may. Handlers answer from it, and the authorization matrix test expects from it.
pub fn refusal(actor: &Actor, operation: Operation, facts: &CaseFacts) -> Option<Refusal> {
    match decide(actor, operation, Some(facts)) {
        Decision::Allow => None,
        Decision::NotFound => Some(Refusal::NotFound),
        Decision::Forbidden => {
            // Without the pending transfer: is it the transfer, the status or the role?
            let settled = CaseFacts { transfer_to: None, ..facts.clone() };
            if facts.transfer_to.is_some()
                && decide(actor, operation, Some(&settled)) == Decision::Allow
            {
                return Some(Refusal::TransferPending);
            }
            let elsewhere = CaseStatus::ALL.into_iter().any(|status| {
                let other = CaseFacts { status, ..settled.clone() };
                decide(actor, operation, Some(&other)) == Decision::Allow
            });
            Some(if elsewhere { Refusal::NotInThisStatus } else { Refusal::Forbidden })
        }
    }
}

/// May `actor` perform `operation` (on the case described by `facts`, where there is one)?
/// Case operations on a case outside the actor's scope are always [`Decision::NotFound`].
pub fn decide(actor: &Actor, operation: Operation, facts: Option<&CaseFacts>) -> Decision {
    let role = actor.role();
    let allow = |ok: bool| if ok { Decision::Allow } else { Decision::Forbidden };
    let visible = facts.is_some_and(|f| case_scope(actor).includes(f));
    match operation {
        Operation::CreateCase => allow(role == Some(Role::Counsellor)),
        Operation::ReadCase => {
            if visible {
                Decision::Allow
            } else {
                Decision::NotFound
            }
        }
        Operation::DecideTransfer => match facts {
            Some(f)
                if role == Some(Role::Counsellor)
                    && actor.institution_kind == InstitutionKind::CounsellingService
                    && f.transfer_to == Some(actor.institution_id) =>
            {
                Decision::Allow
            }
            Some(_) if visible => Decision::Forbidden,
            _ => Decision::NotFound,
        },
        Operation::ReadProposals => match facts.filter(|_| visible) {
            Some(_) => allow(case_view(actor).review),
            None => Decision::NotFound,
        },
        Operation::ReadEntitlement => match facts.filter(|_| visible) {
            Some(_) => allow(case_view(actor).assistance),
            None => Decision::NotFound,
        },
        Operation::ReadConsents => match facts.filter(|_| visible) {
            Some(_) => allow(case_view(actor).consent),
            None => Decision::NotFound,
        },
        Operation::RecordConsent => match facts.filter(|_| visible) {
            Some(f) => allow(
                !f.status.is_terminal()
                    && match role {
                        Some(Role::Counsellor) => f.transfer_to.is_none(),
                        Some(Role::IomCoordinator) => true,
                        _ => false,
                    },
            ),
            None => Decision::NotFound,
        },
        // An auditor holds any case (it sees none, and finds them in the access log).
        Operation::HoldCase => match facts {
            Some(_) if role == Some(Role::Auditor) => Decision::Allow,
            Some(_) if visible => allow(role == Some(Role::SemOfficer)),
            _ => Decision::NotFound,
        },
        Operation::UpdateCase
        | Operation::AddNote
        | Operation::AskInformation
        | Operation::RecordReintegration
        | Operation::ManageReclaims
        | Operation::AssignCounsellor
        | Operation::AssignReviewer
        | Operation::ProposeChange
        | Operation::ProposeTransfer
        | Operation::ExtendDeadline => {
            let Some(facts) = facts.filter(|_| visible) else {
                return Decision::NotFound;
            };
            // While a transfer is pending the sending service changes nothing.
            let counsellor = role == Some(Role::Counsellor) && facts.transfer_to.is_none();
            match operation {
                Operation::UpdateCase => allow(counsellor && facts.status.is_editable()),
                Operation::AssignCounsellor => allow(counsellor && !facts.status.is_terminal()),
                Operation::ProposeTransfer => allow(counsellor && facts.status.transferable()),
                Operation::AssignReviewer => allow(
                    role == Some(Role::SemOfficer)
                        && matches!(
                            facts.status,
                            CaseStatus::UnderReview
                                | CaseStatus::InfoRequested
                                | CaseStatus::Approved
                                | CaseStatus::TravelBooked
                        ),
                ),
                Operation::ProposeChange => allow(role == Some(Role::SemOfficer)),
                Operation::AskInformation => {
                    allow(counsellor && facts.status == CaseStatus::Counselling)
                }
                Operation::RecordReintegration => allow(
                    role == Some(Role::IomMissionOfficer)
                        && facts.status == CaseStatus::Reintegration,
                ),
                // After a departure (a re-entry) or a cancellation (a non-departure).
                Operation::ManageReclaims => allow(
                    role == Some(Role::SemOfficer)
                        && matches!(
                            facts.status,
                            CaseStatus::Departed
                                | CaseStatus::Reintegration
                                | CaseStatus::Closed
                                | CaseStatus::Cancelled
                        ),
                ),
                // While its travel or an information request has a deadline.
                Operation::ExtendDeadline => allow(
                    role == Some(Role::SemOfficer)
                        && matches!(
                            facts.status,
                            CaseStatus::InfoRequested
                                | CaseStatus::Approved
                                | CaseStatus::TravelBooked
                        ),
                ),
                // Anyone who works on a case (not a read-only integration) may note on it.
                // Notes: everyone who sees the case, but not a sending service.
                _ => allow(role.is_some() && (counsellor || role != Some(Role::Counsellor))),
            }
        }
        Operation::FileDocument(category) => {
            let Some(facts) = facts.filter(|_| visible) else {
                return Decision::NotFound;
            };
            // A document the caller could not read back is not theirs to file.
            if !case_view(actor).allows(category.field_group()) {
                return Decision::Forbidden;
            }
            let Some(role) = role else { return Decision::Forbidden };
            // While a transfer is pending the sending service changes nothing.
            if role == Role::Counsellor && facts.transfer_to.is_some() {
                return Decision::Forbidden;
            }
            allow(may_file_document(role, category, facts.status))
        }
        Operation::AnswerInformation => allow(role == Some(Role::IomCoordinator)),
        Operation::Administer => allow(role == Some(Role::Admin)),
        Operation::ReadAuditLog => {
            allow(role == Some(Role::Auditor) || actor.has_scope(Scope::EventsRead))
        }
        Operation::ReadStatistics => allow(
            matches!(
                role,
                Some(
                    Role::Counsellor
                        | Role::SemOfficer
                        | Role::SwissrepatOfficer
                        | Role::IomCoordinator
                        | Role::IomMissionOfficer
                        | Role::Auditor
                        | Role::DataProtectionOfficer
                )
            ) || actor.has_scope(Scope::StatsRead),
        ),
        Operation::ExportPersonData | Operation::ManageRetention => {
            allow(role == Some(Role::DataProtectionOfficer))
        }
        Operation::ReadRetention => {
            allow(matches!(role, Some(Role::DataProtectionOfficer | Role::Auditor)))
        }
    }
}

/// Who files (uploads, supersedes and deletes) which documents, in which status of the case:
///
/// | category | who | statuses |
/// |---|---|---|
/// | `return_request` | the counselling service | counselling, info requested |
/// | `identity_document`, `travel_document` | the counselling service; swissREPAT and IOM Bern | until travel is booked; approved and travel booked |
/// | `medical_certificate` | the counselling service | until travel is booked |
/// | `sem_decision` | SEM | once decided (approved to closed, rejected, cancelled) |
/// | `payout_receipt` | the counselling service, swissREPAT, IOM Bern | travel booked, departed, reintegration |
/// | `reintegration_evidence` | the IOM mission, IOM Bern | reintegration |
/// | `consent_form` | the counselling service; IOM Bern | until the case ends; from the approval until it ends |
/// | `other` | the counselling service, SEM | until the case ends |
///
/// Whoever files a category must also be able to read it ([`decide`] checks the view).
pub fn may_file_document(role: Role, category: DocumentCategory, status: CaseStatus) -> bool {
    use CaseStatus::*;
    use DocumentCategory as D;
    let before_travel = matches!(
        status,
        Counselling | Submitted | UnderReview | InfoRequested | Approved | TravelBooked
    );
    let booking_partner = matches!(role, Role::SwissrepatOfficer | Role::IomCoordinator);
    match category {
        D::ReturnRequest => {
            role == Role::Counsellor && matches!(status, Counselling | InfoRequested)
        }
        D::IdentityDocument | D::TravelDocument => {
            (role == Role::Counsellor && before_travel)
                || (booking_partner && matches!(status, Approved | TravelBooked))
        }
        D::MedicalCertificate => role == Role::Counsellor && before_travel,
        D::SemDecision => {
            role == Role::SemOfficer
                && matches!(
                    status,
                    Approved
                        | Rejected
                        | TravelBooked
                        | Departed
                        | Reintegration
                        | Closed
                        | Cancelled
                )
        }
        D::PayoutReceipt => {
            (role == Role::Counsellor || booking_partner)
                && matches!(status, TravelBooked | Departed | Reintegration)
        }
        D::ReintegrationEvidence => {
            matches!(role, Role::IomMissionOfficer | Role::IomCoordinator)
                && status == Reintegration
        }
        D::ConsentForm => {
            (role == Role::Counsellor && !status.is_terminal())
                || (role == Role::IomCoordinator
                    && matches!(status, Approved | TravelBooked | Departed | Reintegration))
        }
        D::Other => matches!(role, Role::Counsellor | Role::SemOfficer) && !status.is_terminal(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CaseStatus::*;

    const OWN: Uuid = Uuid::from_u128(1);
    const OTHER: Uuid = Uuid::from_u128(2);

    fn user(role: Role, institution_id: Uuid) -> Actor {
        Actor {
            id: Uuid::from_u128(99),
            kind: ActorKind::User { role },
            institution_id,
            institution_kind: role.institution_kind(),
            canton: None,
            mission_country: None,
        }
    }

    /// The facts a case in `status` has when it got there the usual way, owned by the
    /// counselling service `OWN` and, once in reintegration, assigned to the mission `OWN`.
    fn facts(status: CaseStatus) -> CaseFacts {
        CaseFacts {
            status,
            counselling_service_id: OWN,
            submitted: status != Counselling,
            approved: matches!(
                status,
                Approved | TravelBooked | Departed | Reintegration | Closed | Cancelled
            ),
            mission_id: matches!(status, Reintegration | Closed).then_some(OWN),
            transfer_to: None,
        }
    }

    /// Who may read a case in each status, in the order of `CaseStatus::ALL`:
    /// counselling, submitted, under_review, info_requested, approved, rejected,
    /// travel_booked, departed, reintegration, closed, withdrawn, cancelled.
    /// `x` visible, `.` answered 404. "own" = the case's service / the assigned mission.
    const READ_TABLE: [(Role, bool, &str); 14] = [
        (Role::Counsellor, true, "xxxxxxxxxxxx"),
        (Role::Counsellor, false, "............"),
        (Role::SemOfficer, true, ".xxxxxxxxxxx"),
        (Role::SemOfficer, false, ".xxxxxxxxxxx"),
        (Role::SwissrepatOfficer, true, "....x.xxxx.x"),
        (Role::SwissrepatOfficer, false, "....x.xxxx.x"),
        (Role::IomCoordinator, true, "....x.xxxx.x"),
        (Role::IomCoordinator, false, "....x.xxxx.x"),
        (Role::IomMissionOfficer, true, "........xx.."),
        (Role::IomMissionOfficer, false, "............"),
        (Role::Auditor, true, "............"),
        (Role::Auditor, false, "............"),
        (Role::Admin, true, "............"),
        (Role::Admin, false, "............"),
    ];

    #[test]
    fn whoever_files_a_document_can_read_it_back() {
        let roles = [
            Role::Counsellor,
            Role::SemOfficer,
            Role::SwissrepatOfficer,
            Role::IomCoordinator,
            Role::IomMissionOfficer,
            Role::Auditor,
            Role::Admin,
        ];
        let mut filed = 0;
        for role in roles {
            let actor = user(role, OWN);
            for category in DocumentCategory::ALL {
                for status in CaseStatus::ALL {
                    let facts = facts(status);
                    let decision = decide(&actor, Operation::FileDocument(category), Some(&facts));
                    if decision == Decision::Allow {
                        filed += 1;
                        assert_eq!(
                            decide(&actor, Operation::ReadCase, Some(&facts)),
                            Decision::Allow
                        );
                        assert!(
                            case_view(&actor).allows(category.field_group()),
                            "{role:?} files {category:?} it cannot read"
                        );
                    }
                }
            }
        }
        assert!(filed > 20, "the table allows filing somewhere");
        // The medical certificate is the counselling service's alone; the mission files only
        // its evidence; a sending service files nothing.
        let repat = user(Role::SwissrepatOfficer, OWN);
        let medical = Operation::FileDocument(DocumentCategory::MedicalCertificate);
        assert_eq!(refusal(&repat, medical, &facts(Approved)), Some(Refusal::Forbidden));
        let mission = user(Role::IomMissionOfficer, OWN);
        let decision = Operation::FileDocument(DocumentCategory::SemDecision);
        assert_eq!(refusal(&mission, decision, &facts(Reintegration)), Some(Refusal::Forbidden));
        let counsellor = user(Role::Counsellor, OWN);
        let request = Operation::FileDocument(DocumentCategory::ReturnRequest);
        assert_eq!(refusal(&counsellor, request, &facts(Counselling)), None);
        assert_eq!(
            refusal(&counsellor, request, &facts(Submitted)),
            Some(Refusal::NotInThisStatus)
        );
        let sending = CaseFacts { transfer_to: Some(OTHER), ..facts(Counselling) };
        assert_eq!(refusal(&counsellor, request, &sending), Some(Refusal::TransferPending));
    }

    #[test]
    fn who_may_read_which_case_follows_the_table() {
        for (role, own, expected) in READ_TABLE {
            let actor = user(role, if own { OWN } else { OTHER });
            let got: String = CaseStatus::ALL
                .into_iter()
                .map(|status| match decide(&actor, Operation::ReadCase, Some(&facts(status))) {
                    Decision::Allow => 'x',
                    Decision::NotFound => '.',
                    Decision::Forbidden => 'F',
                })
                .collect();
            assert_eq!(got, expected, "{role:?} own={own}");
            // The SQL scope and the per-object decision never disagree.
            for status in CaseStatus::ALL {
                assert_eq!(
                    case_scope(&actor).includes(&facts(status)),
                    decide(&actor, Operation::ReadCase, Some(&facts(status))) == Decision::Allow
                );
            }
        }
    }

    #[test]
    fn a_case_withdrawn_before_submission_stays_with_the_canton() {
        let withdrawn_draft = CaseFacts { submitted: false, ..facts(Withdrawn) };
        for role in [Role::SemOfficer, Role::SwissrepatOfficer, Role::IomCoordinator] {
            assert_eq!(
                decide(&user(role, OWN), Operation::ReadCase, Some(&withdrawn_draft)),
                Decision::NotFound
            );
        }
        assert_eq!(
            decide(&user(Role::Counsellor, OWN), Operation::ReadCase, Some(&withdrawn_draft)),
            Decision::Allow
        );
    }

    #[test]
    fn the_entitlement_is_read_by_those_who_see_the_assistance_in_any_status() {
        for role in Role::ALL {
            for institution in [OWN, OTHER] {
                let actor = user(role, institution);
                for status in CaseStatus::ALL {
                    let facts = facts(status);
                    let got = decide(&actor, Operation::ReadEntitlement, Some(&facts));
                    let expected = match decide(&actor, Operation::ReadCase, Some(&facts)) {
                        Decision::Allow if case_view(&actor).assistance => Decision::Allow,
                        Decision::Allow => Decision::Forbidden,
                        _ => Decision::NotFound,
                    };
                    assert_eq!(got, expected, "{role:?} at {institution} on {status}");
                    // What a role's view holds does not change with the status.
                    assert_ne!(
                        refusal(&actor, Operation::ReadEntitlement, &facts),
                        Some(Refusal::NotInThisStatus)
                    );
                }
            }
        }
        assert_eq!(
            decide(
                &user(Role::IomMissionOfficer, OWN),
                Operation::ReadEntitlement,
                Some(&facts(Reintegration))
            ),
            Decision::Forbidden,
            "a mission sees the reintegration, not the assistance"
        );
    }

    #[test]
    fn a_refusal_says_whether_the_status_or_the_role_stands_in_the_way() {
        let own = user(Role::Counsellor, OWN);
        // Editing a submitted case: the counsellor could in counselling, so the status refuses.
        let submitted = facts(Submitted);
        assert_eq!(
            refusal(&own, Operation::UpdateCase, &submitted),
            Some(Refusal::NotInThisStatus)
        );
        assert_eq!(refusal(&own, Operation::UpdateCase, &facts(Counselling)), None);
        // SEM may read a submitted case but never edit a household: the role refuses.
        let sem = user(Role::SemOfficer, OTHER);
        assert_eq!(refusal(&sem, Operation::UpdateCase, &submitted), Some(Refusal::Forbidden));
        // Another canton's counsellor does not learn that the case exists.
        let other = user(Role::Counsellor, OTHER);
        assert_eq!(refusal(&other, Operation::UpdateCase, &submitted), Some(Refusal::NotFound));
    }

    #[test]
    fn only_the_owning_counsellor_edits_and_only_while_editable() {
        for status in CaseStatus::ALL {
            for role in Role::ALL {
                for own in [true, false] {
                    let actor = user(role, if own { OWN } else { OTHER });
                    let got = decide(&actor, Operation::UpdateCase, Some(&facts(status)));
                    let readable = decide(&actor, Operation::ReadCase, Some(&facts(status)));
                    let expected = if readable == Decision::NotFound {
                        Decision::NotFound
                    } else if role == Role::Counsellor && status.is_editable() {
                        Decision::Allow
                    } else {
                        Decision::Forbidden
                    };
                    assert_eq!(got, expected, "{role:?} own={own} {status:?}");
                }
            }
        }
    }

    #[test]
    fn only_sem_records_reclaims_and_only_after_a_departure_or_a_cancellation() {
        for status in CaseStatus::ALL {
            for role in Role::ALL {
                let actor = user(role, OWN);
                let got = decide(&actor, Operation::ManageReclaims, Some(&facts(status)));
                let readable = decide(&actor, Operation::ReadCase, Some(&facts(status)));
                let expected = if readable == Decision::NotFound {
                    Decision::NotFound
                } else if role == Role::SemOfficer
                    && matches!(status, Departed | Reintegration | Closed | Cancelled)
                {
                    Decision::Allow
                } else {
                    Decision::Forbidden
                };
                assert_eq!(got, expected, "{role:?} {status:?}");
            }
        }
    }

    #[test]
    fn the_review_stays_between_the_counselling_service_and_sem() {
        for role in Role::ALL {
            assert_eq!(
                case_view(&user(role, OWN)).review,
                matches!(role, Role::Counsellor | Role::SemOfficer),
                "{role:?}"
            );
        }
    }

    #[test]
    fn field_groups_follow_the_view_of_each_role() {
        for role in Role::ALL {
            let view = case_view(&user(role, OWN));
            let allowed: Vec<FieldGroup> =
                FieldGroup::ALL.into_iter().filter(|&g| view.allows(g)).collect();
            let expected: &[FieldGroup] = match role {
                Role::Counsellor | Role::SemOfficer => &FieldGroup::ALL,
                Role::SwissrepatOfficer => &[
                    FieldGroup::Identity,
                    FieldGroup::TravelFitness,
                    FieldGroup::Assistance,
                    FieldGroup::Travel,
                ],
                Role::IomCoordinator => &[
                    FieldGroup::Identity,
                    FieldGroup::TravelFitness,
                    FieldGroup::Vulnerabilities,
                    FieldGroup::Assistance,
                    FieldGroup::Travel,
                    FieldGroup::Reintegration,
                    FieldGroup::Consent,
                ],
                Role::IomMissionOfficer => &[FieldGroup::Identity, FieldGroup::Reintegration],
                Role::Auditor
                | Role::Admin
                | Role::InstitutionAdmin
                | Role::DataProtectionOfficer => &[FieldGroup::Identity],
            };
            assert_eq!(allowed, expected, "{role:?}");
        }
    }

    #[test]
    fn a_mission_officer_never_receives_asylum_procedure_or_medical_data() {
        let view = case_view(&user(Role::IomMissionOfficer, OWN));
        assert!(!view.asylum_procedure && !view.eligibility);
        assert_eq!(view.medical, MedicalView::None);
        assert!(view.reintegration);
    }

    #[test]
    fn each_role_receives_the_parts_of_domain_md() {
        assert_eq!(case_view(&user(Role::Counsellor, OWN)), CaseView::FULL);
        assert_eq!(case_view(&user(Role::SemOfficer, OWN)), CaseView::FULL);
        let repat = case_view(&user(Role::SwissrepatOfficer, OWN));
        assert!(repat.travel && !repat.reintegration && !repat.asylum_procedure);
        assert_eq!(repat.medical, MedicalView::TravelFitness);
        let iom = case_view(&user(Role::IomCoordinator, OWN));
        assert!(iom.travel && iom.reintegration && !iom.eligibility && !iom.asylum_procedure);
        assert_eq!(iom.medical, MedicalView::TravelFitness);
    }

    #[test]
    fn service_accounts_see_cases_only_with_the_cases_scope() {
        let mut account = user(Role::SemOfficer, OWN);
        account.kind = ActorKind::ServiceAccount { scopes: vec![Scope::StatsRead] };
        assert_eq!(case_scope(&account), CaseScope::Nothing);
        account.kind = ActorKind::ServiceAccount { scopes: vec![Scope::CasesRead] };
        assert_eq!(case_scope(&account), CaseScope::Submitted);
        assert_eq!(
            decide(&account, Operation::UpdateCase, Some(&facts(Submitted))),
            Decision::Forbidden
        );
        assert_eq!(
            decide(&account, Operation::AddNote, Some(&facts(Submitted))),
            Decision::Forbidden
        );
    }

    #[test]
    fn iom_bern_lists_every_information_request_and_a_counsellor_those_of_their_service() {
        for role in Role::ALL {
            let scope = information_request_scope(&user(role, OWN));
            let expected = match role {
                Role::IomCoordinator => InformationRequestScope::All,
                Role::Counsellor => InformationRequestScope::OwnService(OWN),
                _ => InformationRequestScope::Nothing,
            };
            assert_eq!(scope, expected, "{role:?}");
        }
        let counsellor = information_request_scope(&user(Role::Counsellor, OWN));
        assert!(counsellor.includes(OWN) && !counsellor.includes(OTHER));
        let mut account = user(Role::IomCoordinator, OWN);
        account.kind = ActorKind::ServiceAccount { scopes: vec![Scope::CasesRead] };
        assert_eq!(information_request_scope(&account), InformationRequestScope::Nothing);
    }

    #[test]
    fn administration_audit_and_statistics_go_to_their_roles() {
        for role in Role::ALL {
            let actor = user(role, OWN);
            assert_eq!(
                decide(&actor, Operation::Administer, None) == Decision::Allow,
                role == Role::Admin
            );
            assert_eq!(
                decide(&actor, Operation::ReadAuditLog, None) == Decision::Allow,
                role == Role::Auditor
            );
            assert_eq!(
                decide(&actor, Operation::ReadStatistics, None) == Decision::Allow,
                !role.administers()
            );
            assert_eq!(
                decide(&actor, Operation::CreateCase, None) == Decision::Allow,
                role == Role::Counsellor
            );
        }
    }

    #[test]
    fn consents_are_recorded_by_who_hands_data_on_and_read_by_who_relies_on_them() {
        for status in CaseStatus::ALL {
            for role in Role::ALL {
                let actor = user(role, OWN);
                let facts = facts(status);
                let readable = decide(&actor, Operation::ReadCase, Some(&facts));
                let record = decide(&actor, Operation::RecordConsent, Some(&facts));
                let read = decide(&actor, Operation::ReadConsents, Some(&facts));
                if readable == Decision::NotFound {
                    assert_eq!((record, read), (Decision::NotFound, Decision::NotFound));
                    continue;
                }
                let records = matches!(role, Role::Counsellor | Role::IomCoordinator)
                    && !status.is_terminal();
                assert_eq!(record == Decision::Allow, records, "{role:?} {status:?}");
                let reads =
                    matches!(role, Role::Counsellor | Role::SemOfficer | Role::IomCoordinator);
                assert_eq!(read == Decision::Allow, reads, "{role:?} {status:?}");
                // Whoever records a consent reads it back.
                assert!(record != Decision::Allow || read == Decision::Allow);
            }
        }
    }

    #[test]
    fn sem_holds_the_cases_it_sees_and_an_auditor_any_case() {
        for status in CaseStatus::ALL {
            let facts = facts(status);
            for role in Role::ALL {
                let got = decide(&user(role, OTHER), Operation::HoldCase, Some(&facts));
                let expected = match role {
                    Role::Auditor => Decision::Allow,
                    Role::SemOfficer if status != Counselling => Decision::Allow,
                    _ if decide(&user(role, OTHER), Operation::ReadCase, Some(&facts))
                        == Decision::Allow =>
                    {
                        Decision::Forbidden
                    }
                    _ => Decision::NotFound,
                };
                assert_eq!(got, expected, "{role:?} {status:?}");
            }
        }
        assert_eq!(
            decide(&user(Role::Auditor, OWN), Operation::HoldCase, None),
            Decision::NotFound
        );
    }

    #[test]
    fn only_the_data_protection_officer_exports_a_persons_data_and_sets_retention() {
        for role in Role::ALL {
            let actor = user(role, OWN);
            let dpo = role == Role::DataProtectionOfficer;
            assert_eq!(decide(&actor, Operation::ExportPersonData, None) == Decision::Allow, dpo);
            assert_eq!(decide(&actor, Operation::ManageRetention, None) == Decision::Allow, dpo);
            assert_eq!(
                decide(&actor, Operation::ReadRetention, None) == Decision::Allow,
                dpo || role == Role::Auditor
            );
        }
        let dpo = user(Role::DataProtectionOfficer, OWN);
        assert_eq!(case_scope(&dpo), CaseScope::Nothing);
        assert_eq!(case_view(&dpo), CaseView::IDENTITY);
    }

    #[test]
    fn a_pending_transfer_stops_the_sender_and_lets_the_receiver_answer() {
        const RECEIVER: Uuid = Uuid::from_u128(3);
        let pending = CaseFacts { transfer_to: Some(RECEIVER), ..facts(Counselling) };
        let sender = user(Role::Counsellor, OWN);
        for operation in [
            Operation::UpdateCase,
            Operation::AddNote,
            Operation::AskInformation,
            Operation::AssignCounsellor,
            Operation::ProposeTransfer,
        ] {
            assert_eq!(decide(&sender, operation, Some(&facts(Counselling))), Decision::Allow);
            assert_eq!(
                refusal(&sender, operation, &pending),
                Some(Refusal::TransferPending),
                "{operation:?}"
            );
        }
        // The sender still reads it; the receiver does not, until it accepts, but answers.
        assert_eq!(decide(&sender, Operation::ReadCase, Some(&pending)), Decision::Allow);
        let receiver = user(Role::Counsellor, RECEIVER);
        assert_eq!(decide(&receiver, Operation::ReadCase, Some(&pending)), Decision::NotFound);
        assert_eq!(decide(&receiver, Operation::DecideTransfer, Some(&pending)), Decision::Allow);
        assert_eq!(decide(&sender, Operation::DecideTransfer, Some(&pending)), Decision::Forbidden);
        let other = user(Role::Counsellor, OTHER);
        assert_eq!(decide(&other, Operation::DecideTransfer, Some(&pending)), Decision::NotFound);
        let sem = user(Role::SemOfficer, OTHER);
        let submitted = CaseFacts { transfer_to: Some(RECEIVER), ..facts(UnderReview) };
        assert_eq!(decide(&sem, Operation::DecideTransfer, Some(&submitted)), Decision::Forbidden);
        // SEM's notes go on during a transfer.
        assert_eq!(decide(&sem, Operation::AddNote, Some(&submitted)), Decision::Allow);
    }

    #[test]
    fn who_holds_and_who_proposes() {
        let counsellor = user(Role::Counsellor, OWN);
        let sem = user(Role::SemOfficer, OTHER);
        for status in CaseStatus::ALL {
            let f = facts(status);
            let expected = if status.is_terminal() { Decision::Forbidden } else { Decision::Allow };
            assert_eq!(decide(&counsellor, Operation::AssignCounsellor, Some(&f)), expected);
            let reviewable =
                matches!(status, UnderReview | InfoRequested | Approved | TravelBooked);
            let expected = match (sem_sees(status), reviewable) {
                (false, _) => Decision::NotFound,
                (true, true) => Decision::Allow,
                (true, false) => Decision::Forbidden,
            };
            assert_eq!(decide(&sem, Operation::AssignReviewer, Some(&f)), expected, "{status}");
            let transferable =
                if status.transferable() { Decision::Allow } else { Decision::Forbidden };
            assert_eq!(decide(&counsellor, Operation::ProposeTransfer, Some(&f)), transferable);
            if sem_sees(status) {
                assert_eq!(decide(&sem, Operation::ProposeChange, Some(&f)), Decision::Allow);
                assert_eq!(decide(&sem, Operation::ReadProposals, Some(&f)), Decision::Allow);
                assert_eq!(
                    decide(&counsellor, Operation::ProposeChange, Some(&f)),
                    Decision::Forbidden
                );
            }
        }
        // Those without SEM's review do not read its proposals.
        let iom = user(Role::IomCoordinator, OTHER);
        assert_eq!(
            decide(&iom, Operation::ReadProposals, Some(&facts(Approved))),
            Decision::Forbidden
        );
        assert_eq!(
            refusal(&counsellor, Operation::ProposeTransfer, &facts(TravelBooked)),
            Some(Refusal::NotInThisStatus)
        );
    }

    fn sem_sees(status: CaseStatus) -> bool {
        status != Counselling
    }
}
