//! The authorization matrix: every endpoint of the OpenAPI document × every demo role (and
//! no one) × resources in and out of the caller's scope, each answer checked against what the
//! access policy (`retour_domain::policy`) and the workflow's table (`retour_domain::workflow`)
//! decide, and every answer scanned for data of a case the caller may not see.
//!
//! The expected answers are derived, never written out: a case the policy does not let the
//! caller read answers 404 (and exactly as an id that does not exist); an operation it refuses
//! answers 403, or 409 when the same caller could do it in another status of the case; an
//! operation it allows answers 2xx (or a documented 422 when the request's data is refused).
//! An endpoint of the document without an entry in [`ENTRIES`] fails the test, named.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use retour_domain::administration::{self, AccountFacts, AccountReach};
use retour_domain::deadline::DeadlineKind;
use retour_domain::document::DocumentCategory;
use retour_domain::event::EventType;
use retour_domain::policy::{
    self, CaseScope, CaseView, Decision, FieldGroup, InformationRequestScope, Operation,
};
use retour_domain::statistics::{self, Report};
use retour_domain::workflow::{self, Action, ApprovedAmount, TransitionContext};
use retour_domain::{Actor, InstitutionKind, Relationship, Role, Scope};
use retour_store::cases::{CaseHead, CaseRead};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{TestApp, TestResponse};
use crate::support::{
    approval, approval_above_entitlement as approval_above, booking, departure, today,
};

/// The demo users, and no one: the roles the matrix asks as. Those who may change cases come
/// last, so that every other role meets the fixture's cases in their first status.
const CALLERS: [Option<&str>; 12] = [
    None,
    Some("admin@demo.test"),
    Some("dpo@demo.test"),
    Some("admin.be@demo.test"),
    Some("admin.sem@demo.test"),
    Some("auditor@demo.test"),
    Some("mission.iq@demo.test"),
    Some("counsellor.zh@demo.test"),
    Some("iom@demo.test"),
    Some("swissrepat@demo.test"),
    Some("sem@demo.test"),
    Some("counsellor.be@demo.test"),
];

/// How the matrix calls one endpoint, and which question to the policy decides the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Jwks,
    HealthLive,
    ListProblemTypes,
    GetProblemType,
    HealthReady,
    Login,
    LoginMfa,
    LoginMfaEnrol,
    StartTotp,
    ConfirmTotp,
    ListMySessions,
    EndMyOtherSessions,
    EndMySession,
    ChangePassword,
    ApproveUser,
    ResetUserMfa,
    ListUserSessions,
    EndUserSessions,
    ApproveServiceAccount,
    OpenBreakGlass,
    ListBreakGlass,
    ReviewBreakGlass,
    Refresh,
    CreateToken,
    Logout,
    GetMe,
    ListAuditEvents,
    StatsCases,
    StatsDepartures,
    StatsPipeline,
    StatsYearly,
    VerifyAuditLog,
    ListCases,
    CreateCase,
    GetCase,
    PatchCase,
    AddDisbursement,
    GetEntitlement,
    ListCaseEvents,
    CreateInformationRequest,
    AddMonitoringVisit,
    UpdateMonitoringVisit,
    ListNotes,
    AddNote,
    AddPerson,
    DeletePerson,
    PatchPerson,
    AddReclaim,
    PatchReclaim,
    ExtendDeadline,
    GetMyQueue,
    ListEvents,
    ListWebhookSubscriptions,
    CreateWebhookSubscription,
    GetWebhookSubscription,
    UpdateWebhookSubscription,
    DeleteWebhookSubscription,
    ListWebhookDeliveries,
    ReplayWebhooks,
    Transition,
    GetDestinationRules,
    ListInformationRequests,
    AnswerInformationRequest,
    ListInstitutions,
    CreateInstitution,
    GetInstitution,
    UpdateInstitution,
    ListServiceAccounts,
    CreateServiceAccount,
    GetServiceAccount,
    UpdateServiceAccount,
    ListTariffs,
    CreateTariff,
    ListUsers,
    CreateUser,
    GetUser,
    UpdateUser,
    AssignCase,
    ListProposals,
    CreateProposal,
    ConfirmProposal,
    ReturnProposal,
    ProposeTransfer,
    AcceptTransfer,
    DeclineTransfer,
    ListTransfers,
    ListDocuments,
    UploadDocument,
    GetDocumentContent,
    DeleteDocument,
    ListConsents,
    RecordConsent,
    WithdrawConsent,
    GetLegalHold,
    SetLegalHold,
    LiftLegalHold,
    ListRetentionRules,
    SetRetentionRule,
    ExportPersonData,
}

/// The matrix's entry for every endpoint of the OpenAPI document.
const ENTRIES: &[(&str, &str, Call)] = &[
    ("GET", "/.well-known/jwks.json", Call::Jwks),
    ("GET", "/health/live", Call::HealthLive),
    ("GET", "/problems", Call::ListProblemTypes),
    ("GET", "/problems/{code}", Call::GetProblemType),
    ("GET", "/health/ready", Call::HealthReady),
    ("GET", "/v1/audit-events", Call::ListAuditEvents),
    ("GET", "/v1/audit/verify", Call::VerifyAuditLog),
    ("POST", "/v1/auth/login", Call::Login),
    ("POST", "/v1/auth/login/mfa", Call::LoginMfa),
    ("POST", "/v1/auth/login/mfa/totp", Call::LoginMfaEnrol),
    ("POST", "/v1/me/mfa/totp", Call::StartTotp),
    ("POST", "/v1/me/mfa/totp/confirm", Call::ConfirmTotp),
    ("GET", "/v1/me/sessions", Call::ListMySessions),
    ("DELETE", "/v1/me/sessions", Call::EndMyOtherSessions),
    ("DELETE", "/v1/me/sessions/{id}", Call::EndMySession),
    ("POST", "/v1/me/password", Call::ChangePassword),
    ("POST", "/v1/users/{id}/approval", Call::ApproveUser),
    ("DELETE", "/v1/users/{id}/mfa", Call::ResetUserMfa),
    ("GET", "/v1/users/{id}/sessions", Call::ListUserSessions),
    ("DELETE", "/v1/users/{id}/sessions", Call::EndUserSessions),
    ("POST", "/v1/service-accounts/{id}/approval", Call::ApproveServiceAccount),
    ("POST", "/v1/cases/{id}/break-glass", Call::OpenBreakGlass),
    ("GET", "/v1/break-glass-uses", Call::ListBreakGlass),
    ("POST", "/v1/break-glass-uses/{id}/review", Call::ReviewBreakGlass),
    ("POST", "/v1/auth/logout", Call::Logout),
    ("POST", "/v1/auth/refresh", Call::Refresh),
    ("POST", "/v1/auth/token", Call::CreateToken),
    ("GET", "/v1/cases", Call::ListCases),
    ("POST", "/v1/cases", Call::CreateCase),
    ("GET", "/v1/cases/{id}", Call::GetCase),
    ("PATCH", "/v1/cases/{id}", Call::PatchCase),
    ("POST", "/v1/cases/{id}/disbursements", Call::AddDisbursement),
    ("GET", "/v1/cases/{id}/entitlement", Call::GetEntitlement),
    ("GET", "/v1/cases/{id}/events", Call::ListCaseEvents),
    ("POST", "/v1/cases/{id}/information-requests", Call::CreateInformationRequest),
    ("POST", "/v1/cases/{id}/monitoring-visits", Call::AddMonitoringVisit),
    ("PATCH", "/v1/cases/{id}/monitoring-visits/{visit_id}", Call::UpdateMonitoringVisit),
    ("GET", "/v1/cases/{id}/notes", Call::ListNotes),
    ("POST", "/v1/cases/{id}/notes", Call::AddNote),
    ("POST", "/v1/cases/{id}/persons", Call::AddPerson),
    ("DELETE", "/v1/cases/{id}/persons/{person_id}", Call::DeletePerson),
    ("PATCH", "/v1/cases/{id}/persons/{person_id}", Call::PatchPerson),
    ("POST", "/v1/cases/{id}/reclaims", Call::AddReclaim),
    ("PATCH", "/v1/cases/{id}/reclaims/{reclaim_id}", Call::PatchReclaim),
    ("POST", "/v1/cases/{id}/deadlines/{deadline_id}/extension", Call::ExtendDeadline),
    ("POST", "/v1/cases/{id}/transitions", Call::Transition),
    ("POST", "/v1/cases/{id}/assignment", Call::AssignCase),
    ("GET", "/v1/cases/{id}/proposals", Call::ListProposals),
    ("POST", "/v1/cases/{id}/proposals", Call::CreateProposal),
    ("POST", "/v1/cases/{id}/proposals/{proposal_id}/confirm", Call::ConfirmProposal),
    ("POST", "/v1/cases/{id}/proposals/{proposal_id}/return", Call::ReturnProposal),
    ("POST", "/v1/cases/{id}/transfer", Call::ProposeTransfer),
    ("POST", "/v1/cases/{id}/transfer/accept", Call::AcceptTransfer),
    ("POST", "/v1/cases/{id}/transfer/decline", Call::DeclineTransfer),
    ("GET", "/v1/transfers", Call::ListTransfers),
    ("GET", "/v1/cases/{id}/documents", Call::ListDocuments),
    ("POST", "/v1/cases/{id}/documents", Call::UploadDocument),
    ("GET", "/v1/cases/{id}/documents/{document_id}/content", Call::GetDocumentContent),
    ("DELETE", "/v1/cases/{id}/documents/{document_id}", Call::DeleteDocument),
    ("GET", "/v1/cases/{id}/consents", Call::ListConsents),
    ("POST", "/v1/cases/{id}/consents", Call::RecordConsent),
    ("POST", "/v1/cases/{id}/consents/{consent_id}/withdrawal", Call::WithdrawConsent),
    ("GET", "/v1/cases/{id}/legal-hold", Call::GetLegalHold),
    ("POST", "/v1/cases/{id}/legal-hold", Call::SetLegalHold),
    ("DELETE", "/v1/cases/{id}/legal-hold", Call::LiftLegalHold),
    ("GET", "/v1/retention-rules", Call::ListRetentionRules),
    ("PUT", "/v1/retention-rules/{end_state}", Call::SetRetentionRule),
    ("GET", "/v1/persons/data-export", Call::ExportPersonData),
    ("GET", "/v1/destination-rules", Call::GetDestinationRules),
    ("GET", "/v1/information-requests", Call::ListInformationRequests),
    ("POST", "/v1/information-requests/{id}/answer", Call::AnswerInformationRequest),
    ("GET", "/v1/institutions", Call::ListInstitutions),
    ("POST", "/v1/institutions", Call::CreateInstitution),
    ("GET", "/v1/institutions/{id}", Call::GetInstitution),
    ("PATCH", "/v1/institutions/{id}", Call::UpdateInstitution),
    ("GET", "/v1/me", Call::GetMe),
    ("GET", "/v1/events", Call::ListEvents),
    ("GET", "/v1/webhook-subscriptions", Call::ListWebhookSubscriptions),
    ("POST", "/v1/webhook-subscriptions", Call::CreateWebhookSubscription),
    ("GET", "/v1/webhook-subscriptions/{id}", Call::GetWebhookSubscription),
    ("PATCH", "/v1/webhook-subscriptions/{id}", Call::UpdateWebhookSubscription),
    ("DELETE", "/v1/webhook-subscriptions/{id}", Call::DeleteWebhookSubscription),
    ("GET", "/v1/webhook-subscriptions/{id}/deliveries", Call::ListWebhookDeliveries),
    ("POST", "/v1/webhook-subscriptions/{id}/replay", Call::ReplayWebhooks),
    ("GET", "/v1/me/queue", Call::GetMyQueue),
    ("GET", "/v1/service-accounts", Call::ListServiceAccounts),
    ("POST", "/v1/service-accounts", Call::CreateServiceAccount),
    ("GET", "/v1/service-accounts/{id}", Call::GetServiceAccount),
    ("PATCH", "/v1/service-accounts/{id}", Call::UpdateServiceAccount),
    ("GET", "/v1/stats/cases", Call::StatsCases),
    ("GET", "/v1/stats/departures", Call::StatsDepartures),
    ("GET", "/v1/stats/pipeline", Call::StatsPipeline),
    ("GET", "/v1/stats/yearly", Call::StatsYearly),
    ("GET", "/v1/tariffs", Call::ListTariffs),
    ("POST", "/v1/tariffs", Call::CreateTariff),
    ("GET", "/v1/users", Call::ListUsers),
    ("POST", "/v1/users", Call::CreateUser),
    ("GET", "/v1/users/{id}", Call::GetUser),
    ("PATCH", "/v1/users/{id}", Call::UpdateUser),
];

impl Call {
    /// Reads first, then additions and changes, removals, the transitions (which move the
    /// cases on), canton transfers (which move them elsewhere), and signing out last.
    fn phase(self) -> u8 {
        match self {
            Call::DeletePerson | Call::DeleteDocument | Call::LiftLegalHold => 2,
            Call::Transition => 3,
            // After every read: a SEM officer's break-glass opens cases the reads above judge
            // by the policy alone.
            Call::ProposeTransfer
            | Call::AcceptTransfer
            | Call::DeclineTransfer
            | Call::OpenBreakGlass => 4,
            Call::Logout => 5,
            Call::AssignCase
            | Call::CreateProposal
            | Call::ConfirmProposal
            | Call::ReturnProposal => 1,
            Call::PatchCase
            | Call::AddPerson
            | Call::PatchPerson
            | Call::AddNote
            | Call::AddDisbursement
            | Call::AddMonitoringVisit
            | Call::UpdateMonitoringVisit
            | Call::AddReclaim
            | Call::PatchReclaim
            | Call::ExtendDeadline
            | Call::UploadDocument
            | Call::CreateInformationRequest
            | Call::AnswerInformationRequest
            | Call::CreateCase
            | Call::CreateInstitution
            | Call::UpdateInstitution
            | Call::CreateServiceAccount
            | Call::UpdateServiceAccount
            | Call::CreateTariff
            | Call::CreateUser
            | Call::UpdateUser
            | Call::RecordConsent
            | Call::WithdrawConsent
            | Call::SetLegalHold
            | Call::SetRetentionRule => 1,
            _ => 0,
        }
    }

    /// The case operation an endpoint under `/v1/cases/{id}` is decided by.
    fn case_operation(self) -> Option<Operation> {
        Some(match self {
            Call::GetCase
            | Call::ListCaseEvents
            | Call::ListNotes
            | Call::Transition
            | Call::ListDocuments
            | Call::GetDocumentContent
            | Call::DeleteDocument => Operation::ReadCase,
            // Decided by the category the caller's role files (see `upload_category`).
            Call::UploadDocument => Operation::FileDocument(DocumentCategory::Other),
            Call::GetEntitlement => Operation::ReadEntitlement,
            Call::PatchCase | Call::AddPerson | Call::PatchPerson | Call::DeletePerson => {
                Operation::UpdateCase
            }
            Call::AddNote => Operation::AddNote,
            Call::CreateInformationRequest => Operation::AskInformation,
            Call::AddDisbursement | Call::AddMonitoringVisit | Call::UpdateMonitoringVisit => {
                Operation::RecordReintegration
            }
            Call::AddReclaim | Call::PatchReclaim => Operation::ManageReclaims,
            // Decided by the role asked for (see `assignment_operation`).
            Call::AssignCase => Operation::AssignCounsellor,
            Call::ListProposals => Operation::ReadProposals,
            Call::CreateProposal | Call::ConfirmProposal | Call::ReturnProposal => {
                Operation::ProposeChange
            }
            Call::ProposeTransfer => Operation::ProposeTransfer,
            Call::AcceptTransfer | Call::DeclineTransfer => Operation::DecideTransfer,
            Call::ExtendDeadline => Operation::ExtendDeadline,
            Call::ListConsents => Operation::ReadConsents,
            Call::RecordConsent | Call::WithdrawConsent => Operation::RecordConsent,
            Call::GetLegalHold | Call::SetLegalHold | Call::LiftLegalHold => Operation::HoldCase,
            _ => return None,
        })
    }
}

/// What one request of the matrix is about.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// The endpoint names no resource.
    Nothing,
    /// The accept header of a list that can also export CSV.
    Csv,
    /// A case of the fixture (by index), or `None`: an id that does not exist.
    Case(Option<usize>),
    /// An action on a case of the fixture (or on an id that does not exist).
    Action(Option<usize>, Action),
    /// Another kind of resource: one that exists, or an id that does not.
    Resource(Option<Uuid>),
    /// A document (by index) of a case of the fixture (or of an id that does not exist).
    Document(Option<usize>, usize),
}

// --- The fixture -----------------------------------------------------------------------------

/// What a fixture case's data shows, and so who may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// A field of the case in one of the access policy's field groups: those who may read
    /// the case and whose view allows the group (`CaseView::allows`).
    Case(FieldGroup),
    /// A note kept within the counselling service that wrote it.
    InstitutionNote,
    /// A note shared with everyone who may read the case.
    SharedNote,
    /// A country information question: its counselling service and IOM Bern.
    InformationQuestion,
    /// The reason of a canton transfer: the counselling service and SEM (SEM's review), and
    /// the service the case is offered to.
    TransferReason,
    /// The reason of a legal hold: those who hold cases (SEM on the cases it sees, the
    /// auditors on any).
    LegalHoldReason,
}

/// A text of the fixture that only some callers may receive.
#[derive(Debug, Clone)]
struct Secret {
    text: String,
    case: usize,
    part: Part,
}

#[derive(Debug, Clone)]
struct FixtureCase {
    label: &'static str,
    id: Uuid,
    /// The case's documents and their categories.
    documents: Vec<(Uuid, DocumentCategory)>,
    /// The principal's consent to counselling, and the signed form it rests on.
    consent: Uuid,
    consent_form: Uuid,
    principal: Uuid,
    reference: String,
    surname: &'static str,
    zemis: String,
    n_number: String,
}

/// A case as it stands now: what the policy and the workflow decide on.
#[derive(Debug, Clone)]
struct Snapshot {
    head: CaseHead,
    approved: Vec<ApprovedAmount>,
    /// A member of the household other than the principal, if there is one.
    other_person: Option<Uuid>,
    /// An open deadline SEM may extend (travel, information answer), if there is one.
    extendable_deadline: Option<Uuid>,
}

/// Surnames that occur nowhere else, none part of another.
const SURNAMES: [&str; 14] = [
    "Qorvandi",
    "Belzaryan",
    "Dashtiyar",
    "Ferozkuhi",
    "Gulbaharo",
    "Harsinezh",
    "Jawanrudi",
    "Kalhoreza",
    "Lorestavi",
    "Mehranezh",
    "Nahavandro",
    "Pavehzadi",
    "Ravansaro",
    "Zurbuchfel",
];

struct Fixture {
    cases: Vec<FixtureCase>,
    secrets: Vec<Secret>,
    /// The open country information request about the counselling case.
    information_request: Uuid,
    /// A reclaim and the case (index) it belongs to.
    reclaim: (usize, Uuid),
    /// A planned monitoring visit, the case (index) it belongs to, and the outcome the
    /// matrix records it done with: a text of that case's reintegration, which the answer
    /// echoes.
    visit: (usize, Uuid, String),
    /// A user, an institution and a service account that the administrator's changes touch.
    user: Uuid,
    institution: Uuid,
    service_account: Uuid,
    bern_service: Uuid,
    mission_iq: Uuid,
    /// The Zurich counselling service, which canton transfers go to, and its counsellor.
    zurich_service: Uuid,
    zurich_counsellor: Uuid,
    /// The SEM officer, whom SEM's reassignments name.
    sem_officer: Uuid,
    /// An id that names nothing.
    missing: Uuid,
}

impl Fixture {
    /// The facts of an account of Bern's counselling service that administers nothing.
    fn bern_account(&self) -> AccountFacts {
        AccountFacts {
            institution_id: self.bern_service,
            institution_kind: InstitutionKind::CounsellingService,
            administrator: false,
        }
    }

    fn case_targets(&self) -> Vec<Target> {
        std::iter::once(Target::Case(None))
            .chain((0..self.cases.len()).map(|i| Target::Case(Some(i))))
            .collect()
    }
}

/// A complete household that can be submitted: a principal with this surname, ZEMIS and N
/// number, and a child; the medical summary names `medical`.
fn household(surname: &str, zemis: &str, n_number: &str, medical: &str) -> Value {
    json!({
        "programme": "cantonal", "destination_country": "IQ",
        "planned_departure_date": (chrono::Utc::now().date_naive() + chrono::Days::new(30)).to_string(),
        "persons": [{
            "relationship": "principal", "surname": surname, "given_names": "Karim",
            "date_of_birth": "1988-04-12", "sex": "male", "nationality": "IQ",
            "zemis_number": zemis, "n_number": n_number, "residence_status": "N",
            "entry_date": "2024-02-01", "travelling": true
        }, {
            "relationship": "child", "surname": surname, "given_names": "Lina",
            "date_of_birth": "2015-06-01", "sex": "female", "nationality": "IQ"
        }],
        "vulnerabilities": ["medical"],
        "medical": { "summary": medical, "fit_to_travel": true, "escort": "none" },
        "eligibility": { "criminal_offences": false, "abuse": false,
                         "sufficient_assets": false, "prior_assistance": false },
        "voluntariness_declaration": { "signed_on": today() },
        "requested_assistance": [
            { "component": "startup_cash", "amount_rappen": 150000 },
            { "component": "travel_money", "amount_rappen": 20000 },
            { "component": "reintegration_project", "amount_rappen": 300000 }
        ]
    })
}

/// Uploads a document of `category` to case `id` (as the case's `i`), its description and
/// content each a text of the category's field group; returns its id.
async fn file_document(
    app: &TestApp,
    token: &str,
    id: Uuid,
    category: DocumentCategory,
    i: usize,
    secrets: &mut Vec<Secret>,
) -> Uuid {
    let name = category.as_str();
    let description = format!("Scan of the {name}, ref QD{i:02}");
    let content = format!("Page of the {name}, ref QF{i:02}");
    let parts = [
        crate::support::Part::text("category", name),
        crate::support::Part::text("description", &description),
        crate::support::Part::file("scan.pdf", "application/pdf", crate::support::pdf(&content)),
    ];
    let response = app.upload_parts(token, &id.to_string(), &parts).await;
    let document = must(response, StatusCode::CREATED, name).await;
    let part = Part::Case(category.field_group());
    secrets.push(Secret { text: description, case: i, part });
    secrets.push(Secret { text: content, case: i, part });
    document["id"].as_str().expect("id").parse().expect("uuid")
}

/// The category each role uploads in the matrix: one it files somewhere.
fn upload_category(actor: Option<&Actor>) -> DocumentCategory {
    match actor.and_then(Actor::role) {
        Some(Role::Counsellor) => DocumentCategory::IdentityDocument,
        Some(Role::SemOfficer) => DocumentCategory::SemDecision,
        Some(Role::SwissrepatOfficer) => DocumentCategory::TravelDocument,
        Some(Role::IomCoordinator) => DocumentCategory::PayoutReceipt,
        Some(Role::IomMissionOfficer) => DocumentCategory::ReintegrationEvidence,
        _ => DocumentCategory::Other,
    }
}

async fn id_of(pool: &PgPool, sql: &'static str, name: &str) -> Uuid {
    sqlx::query_scalar(sql).bind(name).fetch_one(pool).await.expect(name)
}

/// The demo users signed in, by email.
struct Tokens(Vec<(&'static str, String)>);

impl Tokens {
    /// Every demo user of [`CALLERS`], signed in.
    async fn sign_in(app: &TestApp) -> Self {
        let mut tokens = Vec::new();
        for email in CALLERS.into_iter().flatten() {
            tokens.push((email, app.login(email).await));
        }
        Tokens(tokens)
    }

    fn of(&self, email: &str) -> &str {
        &self.0.iter().find(|(e, _)| *e == email).expect(email).1
    }
}

async fn must(response: TestResponse, status: StatusCode, what: &str) -> Value {
    assert_eq!(response.status, status, "{what}: {}", response.text);
    response.body
}

/// Sends a transition with the case's current version; it must succeed.
/// A transition of the fixture; SEM's decisions that need a second officer (the approval
/// above an excluded household's entitlement) are proposed and confirmed.
async fn step(app: &TestApp, token: &str, case: &Value, body: Value) -> Value {
    crate::support::decide(app, token, case, &body).await
}

/// Cases of Bern in every status (and one of Zurich), driven there through the API, with a
/// note of each visibility, a country information request, a question of SEM, a rejection's
/// reasons, a reintegration at IOM Iraq (with a visit done and one planned) and a reclaim.
async fn fixture(app: &TestApp, tokens: &Tokens) -> Fixture {
    let pool = &app.pool;
    let institution = "select id from institutions where name = $1";
    let mission_iq = id_of(pool, institution, "IOM Iraq").await;
    let bern_service = id_of(pool, institution, "Rückkehrberatung Kanton Bern").await;
    let zurich_service = id_of(pool, institution, "Rückkehrberatung Kanton Zürich").await;
    let user = "select id from users where email = $1";
    let zurich_counsellor = id_of(pool, user, "counsellor.zh@demo.test").await;
    let sem_officer = id_of(pool, user, "sem@demo.test").await;
    let be = tokens.of("counsellor.be@demo.test");
    let zh = tokens.of("counsellor.zh@demo.test");
    let sem = tokens.of("sem@demo.test");
    let repat = tokens.of("swissrepat@demo.test");
    let iom = tokens.of("iom@demo.test");

    // (label, the status it is driven to, owned by Zurich)
    let plan: [(&str, &str, bool); 14] = [
        ("counselling", "counselling", false),
        ("submitted", "submitted", false),
        ("under_review", "under_review", false),
        ("info_requested", "info_requested", false),
        ("approved", "approved", false),
        ("rejected", "rejected", false),
        ("travel_booked", "travel_booked", false),
        ("departed", "departed", false),
        ("reintegration", "reintegration", false),
        ("closed", "closed", false),
        ("withdrawn after submission", "withdrawn", false),
        ("withdrawn draft", "withdrawn_draft", false),
        ("cancelled", "cancelled", false),
        ("Zurich's counselling", "counselling", true),
    ];
    let mut cases = Vec::new();
    let mut secrets = Vec::new();
    let mut reclaim = None;
    let mut visit = None;
    let mut information_request = None;
    for (i, (label, status, zurich)) in plan.into_iter().enumerate() {
        let surname = SURNAMES[i];
        let zemis = format!("7{i:02}90513");
        let n_number = format!("N 5{i:02} 8{i:02}");
        let medical = format!("Insulin pump, marker MX{i:02}Q");
        let owner = if zurich { zh } else { be };
        let mut body = household(surname, &zemis, &n_number, &medical);
        // Texts the entitlement's explanation derives from data of restricted field groups:
        // an exclusion ground (eligibility) and a stay since entry under three months (the
        // asylum procedure).
        let mut derived = Vec::new();
        if status == "approved" {
            body["eligibility"]["criminal_offences"] = json!(true);
            derived.push(("a crime or repeated offences", FieldGroup::Eligibility));
        }
        if status == "travel_booked" {
            let entry = chrono::Utc::now().date_naive() - chrono::Days::new(20);
            body["persons"][0]["entry_date"] = json!(entry.to_string());
            derived.push(("Stay since entry under 3 months", FieldGroup::AsylumProcedure));
        }
        let mut case =
            must(app.post("/v1/cases", Some(owner), &body).await, StatusCode::CREATED, label).await;
        let id: Uuid = case["id"].as_str().expect("id").parse().expect("uuid");
        let reference = case["reference"].as_str().expect("reference").to_owned();
        // What the counselling service files while counselling: the signed request, papers, a
        // medical certificate and something else, each telling its field group by its
        // description and its content.
        let mut filed = Vec::new();
        for category in [
            DocumentCategory::ReturnRequest,
            DocumentCategory::IdentityDocument,
            DocumentCategory::TravelDocument,
            DocumentCategory::MedicalCertificate,
            DocumentCategory::Other,
        ] {
            let document = file_document(app, owner, id, category, i, &mut secrets).await;
            filed.push((document, category));
        }
        for (text, group) in derived {
            secrets.push(Secret { text: text.to_owned(), case: i, part: Part::Case(group) });
        }
        // The principal's consent to counselling, on a signed form.
        let consent_form =
            file_document(app, owner, id, DocumentCategory::ConsentForm, i, &mut secrets).await;
        filed.push((consent_form, DocumentCategory::ConsentForm));
        let principal: Uuid =
            case["persons"][0]["id"].as_str().expect("person").parse().expect("uuid");
        let sheet_version = format!("Sheet CV{i:02}");
        let consent = json!({ "person_id": principal, "purpose": "counselling",
            "sheet_version": sheet_version, "sheet_language": "ar", "given_on": today(),
            "document_id": consent_form });
        let consent = app.post(&format!("/v1/cases/{id}/consents"), Some(owner), &consent).await;
        let consent = must(consent, StatusCode::CREATED, "consent").await;
        let consent: Uuid = consent["id"].as_str().expect("id").parse().expect("uuid");
        secrets.push(Secret {
            text: sheet_version,
            case: i,
            part: Part::Case(FieldGroup::Consent),
        });
        for (text, part) in [
            (reference.clone(), Part::Case(FieldGroup::Identity)),
            (surname.to_owned(), Part::Case(FieldGroup::Identity)),
            (zemis.clone(), Part::Case(FieldGroup::AsylumProcedure)),
            (n_number.clone(), Part::Case(FieldGroup::AsylumProcedure)),
            (medical, Part::Case(FieldGroup::MedicalSummary)),
        ] {
            secrets.push(Secret { text, case: i, part });
        }
        let steps: &[&str] = match status {
            "counselling" => &[],
            "submitted" => &["submit"],
            "under_review" => &["submit", "start_review", "request_info", "answer_info"],
            "info_requested" => &["submit", "start_review", "request_info"],
            "approved" => &["submit", "start_review", "approve"],
            "rejected" => &["submit", "start_review", "reject"],
            "travel_booked" => &[
                "submit",
                "start_review",
                "approve",
                "book_travel",
                "report_no_show",
                "book_travel",
            ],
            "departed" => {
                &["submit", "start_review", "approve", "book_travel", "confirm_departure"]
            }
            "reintegration" => &[
                "submit",
                "start_review",
                "approve",
                "book_travel",
                "confirm_departure",
                "start_reintegration",
            ],
            "closed" => &[
                "submit",
                "start_review",
                "approve",
                "book_travel",
                "confirm_departure",
                "start_reintegration",
                "close",
            ],
            "withdrawn" => &["submit", "withdraw"],
            "withdrawn_draft" => &["withdraw"],
            "cancelled" => &["submit", "start_review", "approve", "cancel"],
            other => panic!("no way to {other}"),
        };
        for action in steps {
            let question =
                format!("Is the school certificate of child {i} available, ref QZ{i:02}?");
            let reasons = format!("Sufficient assets found, ref RZ{i:02}");
            // A text of field group `group` that only this step writes.
            let mut canary = |text: String, group: FieldGroup| {
                secrets.push(Secret { text: text.clone(), case: i, part: Part::Case(group) });
                text
            };
            let (token, body) = match *action {
                "submit" => (be, json!({ "action": "submit" })),
                "start_review" => (sem, json!({ "action": "start_review" })),
                "request_info" => {
                    let question = canary(question, FieldGroup::Review);
                    (sem, json!({ "action": "request_info", "question": question }))
                }
                "answer_info" => {
                    let answer =
                        canary(format!("The school is in Bern, ref AQ{i:02}"), FieldGroup::Review);
                    (be, json!({ "action": "answer_info", "answer": answer }))
                }
                "approve" => {
                    let mut body = approval();
                    body["reasons"] =
                        json!(canary(format!("Eligible family, ref EZ{i:02}"), FieldGroup::Review));
                    body["override_justification"] = json!(canary(
                        format!("Hardship of the family, ref JZ{i:02}"),
                        FieldGroup::Review
                    ));
                    (sem, body)
                }
                "reject" => {
                    let reasons = canary(reasons, FieldGroup::Review);
                    (
                        sem,
                        json!({ "action": "reject", "legal_ground": "sufficient_assets", "reasons": reasons }),
                    )
                }
                "report_no_show" => {
                    let comment =
                        canary(format!("Missed the flight, ref TZ{i:02}"), FieldGroup::Travel);
                    (repat, json!({ "action": "report_no_show", "comment": comment }))
                }
                "book_travel" => (repat, booking(false)),
                "confirm_departure" => (repat, departure(150000, 20000)),
                "start_reintegration" => {
                    (iom, json!({ "action": "start_reintegration", "mission_id": mission_iq }))
                }
                "close" => {
                    let comment =
                        canary(format!("Shop opened, ref CZ{i:02}"), FieldGroup::Reintegration);
                    (iom, json!({ "action": "close", "outcome": "completed", "comment": comment }))
                }
                "withdraw" => {
                    let reason =
                        canary(format!("The family stays, ref WZ{i:02}"), FieldGroup::Review);
                    (be, json!({ "action": "withdraw", "reason": reason }))
                }
                "cancel" => {
                    let comment =
                        canary(format!("Left for Germany, ref KZ{i:02}"), FieldGroup::Review);
                    (sem, json!({ "action": "cancel", "reason": "absconded", "comment": comment }))
                }
                other => panic!("unknown step {other}"),
            };
            case = step(app, token, &case, body).await;
        }
        if status == "counselling" && !zurich {
            let notes = format!("/v1/cases/{id}/notes");
            for (visibility, part) in
                [("institution", Part::InstitutionNote), ("shared", Part::SharedNote)]
            {
                let text = format!("Note {visibility} about the family, ref NZ{i:02}{visibility}");
                let note = json!({ "body": text, "visibility": visibility });
                must(app.post(&notes, Some(be), &note).await, StatusCode::CREATED, "note").await;
                secrets.push(Secret { text, case: i, part });
            }
            let question = format!("Is insulin available in Erbil, ref IZ{i:02}?");
            let asked = app
                .post(
                    &format!("/v1/cases/{id}/information-requests"),
                    Some(be),
                    &json!({ "question": question }),
                )
                .await;
            let asked = must(asked, StatusCode::CREATED, "information request").await;
            information_request = Some(asked["id"].as_str().expect("id").parse().expect("uuid"));
            secrets.push(Secret { text: question, case: i, part: Part::InformationQuestion });
        }
        if status == "approved" {
            // SEM extends the travel deadline: its reason is SEM's (review), its new day the
            // travel's.
            let deadline = case["deadlines"]
                .as_array()
                .expect("deadlines")
                .iter()
                .find(|d| d["kind"] == "travel")
                .expect("a travel deadline")["id"]
                .as_str()
                .expect("id")
                .to_owned();
            let due = (chrono::Utc::now().date_naive() + chrono::Days::new(301)).to_string();
            let reason = format!("Laissez-passer pending, ref XZ{i:02}");
            let path = format!("/v1/cases/{id}/deadlines/{deadline}/extension");
            let version = format!("\"{}\"", case["version"]);
            let body = json!({ "due_on": due, "reason": reason });
            let extended = app
                .send(Method::POST, &path, Some(sem), Some(&body), &[("if-match", &version)])
                .await;
            case = must(extended, StatusCode::OK, "extension").await;
            secrets.push(Secret { text: reason, case: i, part: Part::Case(FieldGroup::Review) });
            secrets.push(Secret { text: due, case: i, part: Part::Case(FieldGroup::Travel) });
        }
        if status == "departed" {
            let comment = format!("Seen in Basel again, ref LZ{i:02}");
            let body = json!({ "reason": "re_entry", "amount_rappen": 160000, "comment": comment });
            let added = app.post(&format!("/v1/cases/{id}/reclaims"), Some(sem), &body).await;
            let added = must(added, StatusCode::CREATED, "reclaim").await;
            reclaim = Some((i, added["id"].as_str().expect("id").parse().expect("uuid")));
            secrets.push(Secret { text: comment, case: i, part: Part::Case(FieldGroup::Review) });
        }
        if status == "reintegration" {
            let mission = tokens.of("mission.iq@demo.test");
            let purpose = format!("Tools for a bakery, ref PZ{i:02}");
            let outcome = format!("The bakery sells bread, ref OZ{i:02}");
            let today = today();
            for (path, body) in [
                (
                    "disbursements",
                    json!({ "amount_rappen": 50000, "purpose": purpose, "paid_on": today }),
                ),
                (
                    "monitoring-visits",
                    json!({ "due_on": today, "done_on": today, "outcome": outcome }),
                ),
            ] {
                let added = app.post(&format!("/v1/cases/{id}/{path}"), Some(mission), &body).await;
                must(added, StatusCode::CREATED, path).await;
            }
            // A planned visit: its day is a deadline of the reintegration.
            let planned_on = (chrono::Utc::now().date_naive() + chrono::Days::new(257)).to_string();
            let visits = format!("/v1/cases/{id}/monitoring-visits");
            let planned = app.post(&visits, Some(mission), &json!({ "due_on": planned_on })).await;
            let planned = must(planned, StatusCode::CREATED, "planned visit").await;
            let planned = planned["id"].as_str().expect("id").parse().expect("uuid");
            visit = Some((i, planned, outcome.clone()));
            for (token, category) in [
                (sem, DocumentCategory::SemDecision),
                (iom, DocumentCategory::PayoutReceipt),
                (mission, DocumentCategory::ReintegrationEvidence),
            ] {
                let document = file_document(app, token, id, category, i, &mut secrets).await;
                filed.push((document, category));
            }
            for text in [purpose, outcome, planned_on] {
                secrets.push(Secret { text, case: i, part: Part::Case(FieldGroup::Reintegration) });
            }
        }
        if status == "under_review" {
            let justification = format!("Treatment in Erbil costs more, ref JZ{i:02}");
            let body = json!({ "justification": justification, "transition": approval_above() });
            let proposed = app.post(&format!("/v1/cases/{id}/proposals"), Some(sem), &body).await;
            must(proposed, StatusCode::CREATED, "proposal").await;
            secrets.push(Secret {
                text: justification,
                case: i,
                part: Part::Case(FieldGroup::Review),
            });
        }
        if status == "approved" {
            let reason = format!("Moved to Winterthur, ref TZ{i:02}X");
            let body = json!({ "to_service_id": zurich_service, "reason": reason });
            let offered = app.post(&format!("/v1/cases/{id}/transfer"), Some(owner), &body).await;
            must(offered, StatusCode::CREATED, "transfer").await;
            secrets.push(Secret { text: reason, case: i, part: Part::TransferReason });
        }
        assert_eq!(
            case["status"],
            status.trim_end_matches("_draft"),
            "{label}: {}",
            case["status"]
        );
        let documents = std::mem::take(&mut filed);
        cases.push(FixtureCase {
            label,
            id,
            documents,
            consent,
            consent_form,
            principal,
            reference,
            surname,
            zemis,
            n_number,
        });
    }
    // An auditor holds the closed case for an inquiry.
    let closed = cases.iter().position(|c| c.label == "closed").expect("closed");
    let reason = format!("Inquiry of the ombudsman, ref HZ{closed:02}");
    let held = app
        .post(
            &format!("/v1/cases/{}/legal-hold", cases[closed].id),
            Some(tokens.of("auditor@demo.test")),
            &json!({ "reason": reason }),
        )
        .await;
    must(held, StatusCode::CREATED, "legal hold").await;
    secrets.push(Secret { text: reason, case: closed, part: Part::LegalHoldReason });
    // No text of the fixture is part of another, so a scan cannot mistake one for the other.
    for a in &secrets {
        for b in &secrets {
            assert!(a.text == b.text || !a.text.contains(&b.text), "{} ⊃ {}", a.text, b.text);
        }
    }

    let admin = tokens.of("admin@demo.test");
    // Bern's only administrator makes a counsellor; the operator's administrator approves.
    let bern_admin = tokens.of("admin.be@demo.test");
    let user = app
        .post(
            "/v1/users",
            Some(bern_admin),
            &json!({ "email": "matrix.target@demo.test", "display_name": "Matrix Target",
                     "role": "counsellor", "institution_id": bern_service,
                     "password": "a long and unusual passphrase" }),
        )
        .await;
    let user = must(user, StatusCode::CREATED, "user").await;
    let approval = format!("/v1/users/{}/approval", user["id"].as_str().expect("id"));
    let approved = app.send(Method::POST, &approval, Some(admin), None, &[]).await;
    must(approved, StatusCode::OK, "approval").await;
    // The submitted case changes hands within Bern, with a reason kept in its history.
    let submitted = cases.iter().position(|c| c.label == "submitted").expect("submitted");
    let reason = "Cover during parental leave, ref AZ01".to_owned();
    let body = json!({ "role": "counsellor", "user_id": user["id"], "reason": reason });
    let moved =
        app.post(&format!("/v1/cases/{}/assignment", cases[submitted].id), Some(be), &body).await;
    must(moved, StatusCode::OK, "assignment").await;
    secrets.push(Secret { text: reason, case: submitted, part: Part::Case(FieldGroup::Review) });
    let created = app
        .post(
            "/v1/institutions",
            Some(admin),
            &json!({ "kind": "iom_mission", "name": "IOM Matrix Target", "country": "SO" }),
        )
        .await;
    let created = must(created, StatusCode::CREATED, "institution").await;
    let account = app
        .post(
            "/v1/service-accounts",
            Some(bern_admin),
            &json!({ "institution_id": bern_service, "name": "Matrix target", "scopes": ["stats:read"] }),
        )
        .await;
    let account = must(account, StatusCode::CREATED, "service account").await;
    let uuid = |v: &Value| v["id"].as_str().expect("id").parse::<Uuid>().expect("uuid");
    Fixture {
        cases,
        secrets,
        information_request: information_request.expect("an information request"),
        reclaim: reclaim.expect("a reclaim"),
        visit: visit.expect("a planned visit"),
        user: uuid(&user),
        institution: uuid(&created),
        service_account: uuid(&account),
        bern_service,
        mission_iq,
        zurich_service,
        zurich_counsellor,
        sem_officer,
        missing: Uuid::now_v7(),
    }
}

async fn snapshot(app: &TestApp, id: Uuid) -> Snapshot {
    let head = {
        let mut conn = app.pool.acquire().await.expect("connection");
        retour_store::cases::case_head(&mut conn, id).await.expect("head").expect("case")
    };
    let read = app
        .store
        .read_case(id, CaseScope::OwnService(head.counselling_service_id), &CaseView::FULL)
        .await
        .expect("case");
    let CaseRead::Visible(case) = read else { panic!("the owner reads the case") };
    let extendable_deadline = case.deadlines.iter().find(|d| d.kind.extendable()).map(|d| d.id);
    Snapshot {
        extendable_deadline,
        approved: case.approved_assistance(),
        other_person: case
            .persons
            .iter()
            .find(|p| p.person.relationship != Relationship::Principal)
            .map(|p| p.id),
        head,
    }
}

async fn snapshots(app: &TestApp, fixture: &Fixture) -> Vec<Snapshot> {
    let mut all = Vec::new();
    for case in &fixture.cases {
        all.push(snapshot(app, case.id).await);
    }
    all
}

/// The signed-in callers of [`CALLERS`], with their actors as the policy sees them.
struct Caller {
    email: Option<&'static str>,
    label: String,
    token: Option<String>,
    actor: Option<Actor>,
}

impl Caller {
    fn name(&self) -> &str {
        &self.label
    }
}

async fn callers(app: &TestApp, tokens: &Tokens) -> Vec<Caller> {
    let mut callers = Vec::new();
    for email in CALLERS {
        let (token, actor) = match email {
            None => (None, None),
            Some(email) => {
                let id = id_of(&app.pool, "select id from users where email = $1", email).await;
                let actor = app.store.active_user_actor(id, Uuid::nil()).await.expect("actor");
                (Some(tokens.of(email).to_owned()), Some(actor.expect("active")))
            }
        };
        let label = email.map_or("anonymous", |e| e.trim_end_matches("@demo.test")).to_owned();
        callers.push(Caller { email, label, token, actor });
    }
    callers
}

// --- Requests and the answers the policy expects ------------------------------------------

struct Outgoing {
    method: Method,
    path: String,
    body: Option<Value>,
    form: Option<String>,
    /// A multipart body (an upload).
    multipart: Option<Vec<u8>>,
    headers: Vec<(&'static str, String)>,
}

fn outgoing(method: &str, path: String) -> Outgoing {
    Outgoing {
        method: method.parse().expect("method"),
        path,
        body: None,
        form: None,
        multipart: None,
        headers: Vec::new(),
    }
}

/// The body of `action` as its role would send it, valid wherever the action is allowed.
fn action_body(action: Action, actor: Option<&Actor>, mission: Uuid) -> Value {
    match action {
        Action::Submit | Action::StartReview => json!({ "action": action }),
        Action::RequestInfo => json!({ "action": action, "question": "Which school?" }),
        Action::AnswerInfo => json!({ "action": action, "answer": "The public school." }),
        Action::Approve => approval(),
        Action::Reject => {
            json!({ "action": action, "legal_ground": "abuse", "reasons": "Obvious abuse." })
        }
        // IOM Bern books SIM journeys, swissREPAT the others.
        Action::BookTravel => booking(actor.and_then(Actor::role) == Some(Role::IomCoordinator)),
        Action::ReportNoShow => json!({ "action": action, "comment": "Not at the airport." }),
        Action::ConfirmDeparture => departure(150000, 20000),
        Action::StartReintegration => json!({ "action": action, "mission_id": mission }),
        Action::Close => json!({ "action": action, "outcome": "completed" }),
        Action::Withdraw => json!({ "action": action, "reason": "The family stays." }),
        Action::Cancel => json!({ "action": action, "reason": "no_show" }),
    }
}

/// The request of `call` about `target`, as `actor` (if signed in) sends it.
fn request(
    call: Call,
    path: &str,
    target: Target,
    fixture: &Fixture,
    snapshots: &[Snapshot],
    actor: Option<&Actor>,
    serial: usize,
) -> Outgoing {
    let method = ENTRIES.iter().find(|e| e.2 == call).map(|e| e.0).expect("entry");
    let case_id = |index: Option<usize>| index.map_or(fixture.missing, |i| fixture.cases[i].id);
    let version = |index: Option<usize>| index.map_or(1, |i| snapshots[i].head.version);
    let other_person = |index: Option<usize>| {
        index.and_then(|i| snapshots[i].other_person).unwrap_or(fixture.missing)
    };
    let (case, resource) = match target {
        Target::Case(index) | Target::Action(index, _) | Target::Document(index, _) => {
            (index, None)
        }
        Target::Resource(id) => (None, Some(id.unwrap_or(fixture.missing))),
        Target::Nothing | Target::Csv => (None, None),
    };
    let filled = path
        .replace("{id}", &resource.unwrap_or_else(|| case_id(case)).to_string())
        .replace("{person_id}", &other_person(case).to_string())
        .replace("{reclaim_id}", &fixture.reclaim.1.to_string())
        .replace("{proposal_id}", &fixture.missing.to_string())
        .replace("{visit_id}", &fixture.visit.1.to_string())
        .replace(
            "{deadline_id}",
            &case
                .and_then(|i| snapshots[i].extendable_deadline)
                .unwrap_or(fixture.missing)
                .to_string(),
        )
        .replace("{document_id}", &document_of(target, fixture).to_string())
        .replace(
            "{consent_id}",
            &case.map_or(fixture.missing, |i| fixture.cases[i].consent).to_string(),
        )
        .replace("{end_state}", "withdrawn")
        .replace("{code}", "not_found");
    let mut out = outgoing(method, filled);
    let if_match = format!("\"{}\"", version(case));
    let today = today();
    out.body = match call {
        Call::Login => Some(json!({ "email": "nobody@demo.test", "password": "wrong" })),
        Call::Refresh => Some(json!({ "refresh_token": "not-a-refresh-token" })),
        Call::CreateToken => {
            out.form = Some("grant_type=client_credentials&client_id=svc_x&client_secret=y".into());
            None
        }
        Call::Logout => Some(json!({})),
        Call::CreateCase => {
            let mut body = household("Neufamilie", "", "", "Asthma");
            body["persons"][0]["zemis_number"] = Value::Null;
            body["persons"][0]["n_number"] = Value::Null;
            Some(body)
        }
        Call::PatchCase | Call::PatchPerson => Some(json!({})),
        Call::AddPerson => Some(json!({
            "relationship": "child", "surname": "Neukind", "given_names": "Noor",
            "date_of_birth": "2018-01-01", "sex": "female", "nationality": "IQ"
        })),
        Call::AddNote => Some(json!({ "body": "Called the family.", "visibility": "shared" })),
        Call::CreateInformationRequest => Some(json!({ "question": "Is rent affordable?" })),
        Call::AddDisbursement => {
            Some(json!({ "amount_rappen": 1000, "purpose": "Tools", "paid_on": today }))
        }
        Call::AddMonitoringVisit => {
            Some(json!({ "due_on": today, "done_on": null, "outcome": null }))
        }
        Call::UpdateMonitoringVisit => {
            Some(json!({ "done_on": today, "outcome": fixture.visit.2 }))
        }
        Call::AddReclaim => Some(json!({ "reason": "re_entry", "amount_rappen": 1000 })),
        Call::PatchReclaim => Some(json!({ "status": "waived" })),
        Call::ExtendDeadline => Some(json!({
            "due_on": (chrono::Utc::now().date_naive() + chrono::Days::new(200)).to_string(),
            "reason": "The embassy needs more time."
        })),
        Call::Transition => {
            let Target::Action(_, action) = target else { panic!("transition without action") };
            Some(action_body(action, actor, fixture.mission_iq))
        }
        Call::AnswerInformationRequest => Some(json!({ "answer": "Yes, at the hospital." })),
        Call::UploadDocument => {
            let category = upload_category(actor).as_str();
            out.multipart = Some(crate::support::multipart(&[
                crate::support::Part::text("category", category),
                crate::support::Part::file(
                    "upload.pdf",
                    "application/pdf",
                    crate::support::pdf("matrix upload"),
                ),
            ]));
            None
        }
        Call::DeleteDocument => Some(json!({ "reason": "Filed twice." })),
        Call::RecordConsent => {
            let (person, form) = case.map_or((fixture.missing, fixture.missing), |i| {
                (fixture.cases[i].principal, fixture.cases[i].consent_form)
            });
            Some(json!({ "person_id": person, "purpose": "medical_data",
                "sheet_version": "2026-03", "sheet_language": "de", "given_on": today,
                "document_id": form }))
        }
        Call::WithdrawConsent => Some(json!({ "withdrawn_on": today })),
        Call::SetLegalHold => Some(json!({ "reason": "Matrix hold." })),
        Call::SetRetentionRule => Some(json!({ "years": 3 })),
        Call::CreateWebhookSubscription => {
            Some(json!({ "url": "https://partner.example.org/retour/events" }))
        }
        Call::UpdateWebhookSubscription => Some(json!({ "status": "disabled" })),
        Call::ReplayWebhooks => Some(json!({ "after": null })),
        // A counsellor hands the case to the matrix's second Bern counsellor; everyone else
        // asks for SEM's reviewer (the one SEM officer, who holds every reviewed case).
        Call::AssignCase => Some(match actor.and_then(Actor::role) {
            Some(Role::Counsellor) => json!({
                "role": "counsellor", "user_id": fixture.user, "reason": "Holiday cover"
            }),
            _ => {
                json!({ "role": "reviewer", "user_id": fixture.sem_officer, "reason": "Workload" })
            }
        }),
        Call::CreateProposal => {
            Some(json!({ "justification": "Above the tariff.", "transition": approval_above() }))
        }
        Call::ReturnProposal | Call::DeclineTransfer => Some(json!({ "reason": "Not now." })),
        Call::ProposeTransfer => {
            Some(json!({ "to_service_id": fixture.zurich_service, "reason": "Moved." }))
        }
        Call::AcceptTransfer => Some(json!({ "counsellor_id": fixture.zurich_counsellor })),
        Call::CreateInstitution => Some(json!({
            "kind": "iom_mission", "name": format!("IOM Matrix {serial}"), "country": "SO"
        })),
        Call::UpdateInstitution => Some(json!({ "contact_phone": "+41 31 000 00 00" })),
        Call::CreateServiceAccount => Some(json!({
            "institution_id": fixture.bern_service, "name": "Matrix export", "scopes": ["stats:read"]
        })),
        Call::LoginMfa => Some(json!({ "mfa_token": "matrix-token", "code": "123456" })),
        Call::LoginMfaEnrol => Some(json!({ "mfa_token": "matrix-token" })),
        Call::ConfirmTotp => Some(json!({ "code": "000000" })),
        Call::ChangePassword => Some(json!({
            "current_password": "not the password", "new_password": "a long and unusual passphrase"
        })),
        Call::OpenBreakGlass => {
            Some(json!({ "reason": "Matrix emergency: identity check at the border" }))
        }
        Call::ReviewBreakGlass => Some(json!({ "note": "Matrix review." })),
        Call::UpdateServiceAccount => Some(json!({ "name": "Matrix export, renamed" })),
        Call::CreateUser => Some(json!({
            "email": format!("matrix.{serial}@demo.test"), "display_name": "Matrix User",
            "role": "counsellor", "institution_id": fixture.bern_service,
            "password": "a long and unusual passphrase"
        })),
        Call::UpdateUser => Some(json!({ "display_name": "Matrix Target, renamed" })),
        Call::CreateTariff => Some(json!({
            "programme": "cantonal", "component": "startup_cash", "person_category": "adult",
            "amount_rappen": 120000, "basis": "per_person",
            "valid_from": format!("{}-01-01", chrono::Datelike::year(&chrono::Utc::now()) + 2),
            "source": "AsylV 2 Art. 74 al. 2 (SEM directive)"
        })),
        _ => None,
    };
    if matches!(
        call,
        Call::PatchCase
            | Call::AddPerson
            | Call::PatchPerson
            | Call::DeletePerson
            | Call::ExtendDeadline
            | Call::Transition
    ) {
        out.headers.push(("if-match", if_match));
    }
    if matches!(target, Target::Csv) {
        out.headers.push(("accept", "text/csv".to_owned()));
    }
    if matches!(call, Call::ListCases | Call::ListEvents) {
        out.path.push_str("?limit=200");
    }
    if call == Call::StatsYearly {
        out.path.push_str(&format!("?year={}", &today[..4]));
    }
    if call == Call::ExportPersonData {
        out.path.push_str(&format!("?zemis_number={}", fixture.cases[EXPORTED].zemis));
    }
    out
}

/// The document a request about `target` names: the fixture's, or an id that names nothing.
fn document_of(target: Target, fixture: &Fixture) -> Uuid {
    match target {
        Target::Document(Some(i), j) => fixture.cases[i].documents[j].0,
        _ => fixture.missing,
    }
}

/// The resources the matrix tries `call` with.
fn targets(call: Call, fixture: &Fixture) -> Vec<Target> {
    match call {
        Call::GetDocumentContent | Call::DeleteDocument => {
            std::iter::once(Target::Document(None, 0))
                .chain(fixture.cases.iter().enumerate().flat_map(|(i, case)| {
                    (0..case.documents.len()).map(move |j| Target::Document(Some(i), j))
                }))
                .collect()
        }
        Call::Transition => std::iter::once(Target::Action(None, Action::Submit))
            .chain((0..fixture.cases.len()).flat_map(|i| {
                Action::ALL.into_iter().map(move |action| Target::Action(Some(i), action))
            }))
            .collect(),
        call if call.case_operation().is_some() => fixture.case_targets(),
        Call::ListAuditEvents
        | Call::StatsCases
        | Call::StatsDepartures
        | Call::StatsPipeline
        | Call::StatsYearly => vec![Target::Nothing, Target::Csv],
        Call::GetInstitution | Call::UpdateInstitution => {
            vec![Target::Resource(None), Target::Resource(Some(fixture.institution))]
        }
        Call::GetUser
        | Call::UpdateUser
        | Call::ApproveUser
        | Call::ResetUserMfa
        | Call::ListUserSessions
        | Call::EndUserSessions => {
            vec![Target::Resource(None), Target::Resource(Some(fixture.user))]
        }
        Call::OpenBreakGlass => fixture.case_targets(),
        Call::EndMySession | Call::ReviewBreakGlass => vec![Target::Resource(None)],
        Call::GetServiceAccount | Call::UpdateServiceAccount | Call::ApproveServiceAccount => {
            vec![Target::Resource(None), Target::Resource(Some(fixture.service_account))]
        }
        Call::AnswerInformationRequest => {
            vec![Target::Resource(None), Target::Resource(Some(fixture.information_request))]
        }
        _ => vec![Target::Nothing],
    }
}

/// The statuses the policy allows for `call` on `target` by `actor`.
fn expected(
    call: Call,
    target: Target,
    actor: &Actor,
    fixture: &Fixture,
    snapshots: &[Snapshot],
) -> Vec<u16> {
    let decide = |operation| policy::decide(actor, operation, None);
    let allowed_or_403 = |operation, ok: &[u16]| match decide(operation) {
        Decision::Allow => ok.to_vec(),
        _ => vec![403],
    };
    let case_index = match target {
        Target::Case(index) | Target::Action(index, _) | Target::Document(index, _) => Some(index),
        _ => None,
    };
    if call == Call::OpenBreakGlass {
        // Break-glass: the configured role (SEM officers), on a case outside its scope.
        if actor.role() != Some(Role::SemOfficer) {
            return vec![403];
        }
        let Some(Some(i)) = case_index else { return vec![404] };
        let facts = snapshots[i].head.facts();
        let reads = policy::decide(actor, Operation::ReadCase, Some(&facts)) == Decision::Allow;
        return vec![if reads { 409 } else { 201 }];
    }
    if let (Some(operation), Some(index)) = (call.case_operation(), case_index) {
        let operation = match (call, actor.role()) {
            (Call::AssignCase, Some(Role::Counsellor)) => Operation::AssignCounsellor,
            (Call::AssignCase, _) => Operation::AssignReviewer,
            (Call::UploadDocument, _) => Operation::FileDocument(upload_category(Some(actor))),
            _ => operation,
        };
        let facts = index.map(|i| snapshots[i].head.facts());
        // The receiving service of a transfer answers it without seeing the case; an auditor
        // holds cases it does not see.
        if !matches!(operation, Operation::DecideTransfer | Operation::HoldCase)
            && policy::decide(actor, Operation::ReadCase, facts.as_ref()) != Decision::Allow
        {
            return vec![404];
        }
        let (Some(i), Some(facts)) = (index, facts) else { return vec![404] };
        let snapshot = &snapshots[i];
        if let Target::Document(_, j) = target {
            // A document of a category the caller's view lacks is not there for them.
            let category = fixture.cases[i].documents[j].1;
            if !policy::case_view(actor).allows(category.field_group()) {
                return vec![404];
            }
            if call == Call::GetDocumentContent {
                return vec![200];
            }
            // Deleted once; the next caller meets a deleted document (409).
            return match policy::refusal(actor, Operation::FileDocument(category), &facts) {
                None => vec![200, 409],
                Some(policy::Refusal::NotInThisStatus | policy::Refusal::TransferPending) => {
                    vec![409]
                }
                Some(_) => vec![403],
            };
        }
        if let Target::Action(_, action) = target {
            let plain = TransitionContext::listing(facts.status, snapshot.approved.clone());
            let held = plain.clone().held(snapshot.head.holding());
            if workflow::allowed_actions(actor, &held).contains(&action) {
                return vec![200, 422];
            }
            // Allowed but for who holds the case: a pending transfer stops the counselling
            // service (409); SEM's decisions belong to the case's reviewer (403).
            if workflow::allowed_actions(actor, &plain).contains(&action) {
                return if actor.role() == Some(Role::Counsellor) { vec![409] } else { vec![403] };
            }
            return match workflow::rule_for(facts.status, action) {
                Some(rule) if rule.precondition.holds(&plain) => vec![403],
                _ => vec![409],
            };
        }
        return match policy::decide(actor, operation, Some(&facts)) {
            Decision::Allow => match call {
                Call::GetCase
                | Call::ListCaseEvents
                | Call::ListNotes
                | Call::ListDocuments
                | Call::GetEntitlement
                | Call::ListConsents
                | Call::PatchCase => vec![200],
                // Once per case; a standing one (or a hold in force) makes the next a conflict.
                Call::RecordConsent | Call::SetLegalHold => vec![201, 409],
                Call::WithdrawConsent | Call::LiftLegalHold => vec![200, 409],
                Call::GetLegalHold => vec![200],
                Call::PatchPerson => vec![if snapshot.other_person.is_some() { 200 } else { 404 }],
                Call::DeletePerson => vec![if snapshot.other_person.is_some() { 204 } else { 404 }],
                // A reclaim changes once; another case's reclaim is not found in this one.
                Call::PatchReclaim if fixture.reclaim.0 == i => vec![200, 409],
                Call::PatchReclaim => vec![404],
                Call::ListProposals => vec![200],
                // Reassigning to someone who already holds the case, or who does not fit it
                // (another service's counsellor), is refused by its data.
                Call::AssignCase => vec![200, 422],
                // An approval above the entitlement is possible under review only, and one
                // proposal at a time.
                Call::CreateProposal => vec![201, 409, 422],
                // The matrix names no proposal of the case.
                Call::ConfirmProposal | Call::ReturnProposal => vec![404],
                // Zurich's own case does not go to Zurich.
                Call::ProposeTransfer => vec![201, 422],
                // A case whose travel was booked or that ended meanwhile is only declined.
                Call::AcceptTransfer if !facts.status.transferable() => vec![409],
                Call::AcceptTransfer | Call::DeclineTransfer => vec![200],
                // A planned visit changes once; another case's visit is not found in this one.
                Call::UpdateMonitoringVisit if fixture.visit.0 == i => vec![200, 409],
                Call::UpdateMonitoringVisit => vec![404],
                // Extended once to the matrix's date; a later date is refused (422).
                Call::ExtendDeadline if snapshot.extendable_deadline.is_some() => vec![200, 422],
                Call::ExtendDeadline => vec![404],
                _ => vec![201],
            },
            Decision::NotFound => vec![404],
            // Refused in this status, but possible in another: a conflict of the case's
            // status, not of the caller's role.
            Decision::Forbidden => match policy::refusal(actor, operation, &facts) {
                Some(policy::Refusal::NotInThisStatus | policy::Refusal::TransferPending) => {
                    vec![409]
                }
                _ => vec![403],
            },
        };
    }
    let exists = !matches!(target, Target::Resource(None));
    match call {
        Call::Jwks
        | Call::HealthLive
        | Call::HealthReady
        | Call::ListProblemTypes
        | Call::GetProblemType => vec![200],
        Call::Login | Call::Refresh | Call::CreateToken => vec![401],
        Call::Logout => vec![204],
        Call::GetMe
        | Call::GetMyQueue
        | Call::ListCases
        | Call::GetDestinationRules
        | Call::ListInstitutions
        | Call::ListTariffs => vec![200],
        Call::GetInstitution => vec![if exists { 200 } else { 404 }],
        Call::ListAuditEvents | Call::VerifyAuditLog => {
            allowed_or_403(Operation::ReadAuditLog, &[200])
        }
        Call::StatsCases | Call::StatsDepartures | Call::StatsPipeline | Call::StatsYearly => {
            let report = match call {
                Call::StatsCases => Report::Cases,
                Call::StatsDepartures => Report::Departures,
                Call::StatsPipeline => Report::Pipeline,
                _ => Report::Yearly,
            };
            // The matrix asks with the report's defaults: what it counts must be in the
            // caller's case view.
            let request = statistics::Request {
                report,
                group_by: report.default_dimensions(),
                filters: &[],
                period_of: report.default_period_of(),
            };
            match statistics::statistics_access(actor) {
                Some(access) if access.check(&request).is_ok() => vec![200],
                _ => vec![403],
            }
        }
        Call::CreateCase => allowed_or_403(Operation::CreateCase, &[201]),
        Call::ListEvents => vec![if policy::event_reader(actor).is_some() { 200 } else { 403 }],
        // Only service accounts subscribe to webhooks, with their own token.
        Call::ListWebhookSubscriptions
        | Call::CreateWebhookSubscription
        | Call::GetWebhookSubscription
        | Call::UpdateWebhookSubscription
        | Call::DeleteWebhookSubscription
        | Call::ListWebhookDeliveries
        | Call::ReplayWebhooks => vec![403],
        Call::ListTransfers => vec![if actor.role() == Some(Role::Counsellor) { 200 } else { 403 }],
        Call::ListInformationRequests => match policy::information_request_scope(actor) {
            InformationRequestScope::Nothing => vec![403],
            _ => vec![200],
        },
        Call::AnswerInformationRequest => match decide(Operation::AnswerInformation) {
            Decision::Allow if exists => vec![200, 409],
            Decision::Allow => vec![404],
            _ => vec![403],
        },
        Call::LoginMfa | Call::LoginMfaEnrol => vec![401],
        // A user's own second factor, sessions and password; a service account has none.
        Call::StartTotp | Call::ListMySessions => vec![200],
        // Not started yet (409), or the wrong code (422).
        Call::ConfirmTotp => vec![409, 422],
        Call::EndMyOtherSessions => vec![204],
        Call::EndMySession => vec![404],
        // The current password is wrong.
        Call::ChangePassword => vec![422],
        Call::ListBreakGlass => vec![if actor.has_role(Role::Auditor) { 200 } else { 403 }],
        Call::ReviewBreakGlass => vec![if actor.has_role(Role::Auditor) { 404 } else { 403 }],
        // Accounts: the separation of duties (`retour_domain::administration`).
        Call::ListUsers | Call::ListServiceAccounts => {
            vec![if administration::account_reach(actor) == AccountReach::Nothing {
                403
            } else {
                200
            }]
        }
        Call::CreateUser | Call::CreateServiceAccount => {
            // Both are made at Bern's counselling service (neither is an administrator).
            let facts = fixture.bern_account();
            vec![match administration::create_account(actor, &facts) {
                Decision::Allow => 201,
                _ => 403,
            }]
        }
        Call::GetUser
        | Call::UpdateUser
        | Call::ListUserSessions
        | Call::EndUserSessions
        | Call::ResetUserMfa
        | Call::ApproveUser
        | Call::GetServiceAccount
        | Call::UpdateServiceAccount
        | Call::ApproveServiceAccount => {
            let reach = administration::account_reach(actor);
            if reach == AccountReach::Nothing {
                return vec![403];
            }
            if !exists {
                return vec![404];
            }
            // The fixture's user and service account are Bern's, approved, without a second
            // factor.
            let facts = fixture.bern_account();
            if matches!(call, Call::ApproveUser | Call::ApproveServiceAccount) {
                let foreign =
                    matches!(reach, AccountReach::Institution(_)) && !reach.includes(&facts);
                return vec![if foreign { 404 } else { 409 }];
            }
            match administration::manage_account(actor, &facts) {
                Decision::Allow => vec![match call {
                    Call::EndUserSessions => 204,
                    Call::ResetUserMfa => 409,
                    _ => 200,
                }],
                Decision::NotFound => vec![404],
                Decision::Forbidden => vec![403],
            }
        }
        Call::CreateInstitution | Call::CreateTariff => {
            allowed_or_403(Operation::Administer, &[201])
        }
        Call::ListRetentionRules => allowed_or_403(Operation::ReadRetention, &[200]),
        Call::SetRetentionRule => allowed_or_403(Operation::ManageRetention, &[200]),
        Call::ExportPersonData => allowed_or_403(Operation::ExportPersonData, &[200]),
        Call::UpdateInstitution => {
            allowed_or_403(Operation::Administer, &[if exists { 200 } else { 404 }])
        }
        other => panic!("{other:?} has no expectation"),
    }
}

/// Whether `actor` may receive `secret`, as the case stands.
fn may_see(
    actor: Option<&Actor>,
    secret: &Secret,
    fixture: &Fixture,
    snapshots: &[Snapshot],
    call: Call,
) -> bool {
    let Some(actor) = actor else { return false };
    // A person's data export holds everything about that person's case, for the data
    // protection officer only.
    if call == Call::ExportPersonData
        && secret.case == EXPORTED
        && policy::decide(actor, Operation::ExportPersonData, None) == Decision::Allow
    {
        return true;
    }
    let facts = snapshots[secret.case].head.facts();
    let reads = policy::decide(actor, Operation::ReadCase, Some(&facts)) == Decision::Allow;
    let view = policy::case_view(actor);
    // The service a case is offered to sees who it is about and why, not the case.
    let offered =
        actor.role() == Some(Role::Counsellor) && facts.transfer_to == Some(actor.institution_id);
    match secret.part {
        Part::SharedNote => reads,
        Part::Case(FieldGroup::Identity) => reads || offered,
        Part::Case(group) => reads && view.allows(group),
        Part::TransferReason => (reads && view.review) || offered,
        Part::InstitutionNote => reads && actor.institution_id == fixture.bern_service,
        Part::InformationQuestion => {
            policy::information_request_scope(actor).includes(facts.counselling_service_id)
        }
        Part::LegalHoldReason => {
            actor.has_role(Role::Auditor) || (reads && actor.has_role(Role::SemOfficer))
        }
    }
}

/// The fixture case whose principal's data the matrix exports.
const EXPORTED: usize = 0;

/// The texts of the fixture in `text` that `actor` may not receive.
fn leaks<'a>(
    text: &str,
    actor: Option<&Actor>,
    fixture: &'a Fixture,
    snapshots: &[Snapshot],
) -> Vec<&'a Secret> {
    leaks_of(Call::GetCase, text, actor, fixture, snapshots)
}

/// [`leaks`] in the answer to `call`.
fn leaks_of<'a>(
    call: Call,
    text: &str,
    actor: Option<&Actor>,
    fixture: &'a Fixture,
    snapshots: &[Snapshot],
) -> Vec<&'a Secret> {
    fixture
        .secrets
        .iter()
        .filter(|s| text.contains(&s.text) && !may_see(actor, s, fixture, snapshots, call))
        .collect()
}

async fn send(app: &TestApp, out: &Outgoing, token: Option<&str>) -> TestResponse {
    let headers: Vec<(&str, &str)> = out.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    if let Some(body) = &out.multipart {
        let mut request = Request::builder()
            .method(out.method.clone())
            .uri(&out.path)
            .header(header::CONTENT_TYPE, crate::support::MULTIPART_CONTENT_TYPE);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        return app.send_request(request.body(Body::from(body.clone())).expect("request")).await;
    }
    match &out.form {
        Some(form) => {
            let mut request = Request::builder()
                .method(out.method.clone())
                .uri(&out.path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            if let Some(token) = token {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
            app.send_request(request.body(Body::from(form.clone())).expect("request")).await
        }
        None => app.send(out.method.clone(), &out.path, token, out.body.as_ref(), &headers).await,
    }
}

/// Every operation of the OpenAPI document as (method, path), and whether it needs a token.
fn documented_operations() -> Vec<(String, String, bool)> {
    let document = serde_json::to_value(retour_api::openapi()).expect("document");
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if ["get", "put", "post", "patch", "delete", "head", "options", "trace"]
                .contains(&method.as_str())
            {
                let secured = operation["security"].as_array().is_some_and(|s| !s.is_empty());
                operations.push((method.to_uppercase(), path.clone(), secured));
            }
        }
    }
    operations
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn every_endpoint_answers_every_role_as_the_access_policy_decides_and_leaks_nothing(
    pool: PgPool,
) {
    let app = TestApp::new(pool).await;
    let documented = documented_operations();
    let missing: Vec<String> = documented
        .iter()
        .filter(|(m, p, _)| !ENTRIES.iter().any(|(em, ep, _)| em == m && ep == p))
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    assert!(
        missing.is_empty(),
        "endpoints of the OpenAPI document without an entry in the authorization matrix \
         (tests/api/matrix.rs, ENTRIES): {missing:?}"
    );
    let stale: Vec<String> = ENTRIES
        .iter()
        .filter(|(m, p, _)| !documented.iter().any(|(dm, dp, _)| dm == m && dp == p))
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    assert!(stale.is_empty(), "matrix entries for endpoints the document lacks: {stale:?}");

    let tokens = Tokens::sign_in(&app).await;
    let fixture = fixture(&app, &tokens).await;
    let callers = callers(&app, &tokens).await;
    let mut snapshots = snapshots(&app, &fixture).await;

    let mut entries: Vec<&(&str, &str, Call)> = ENTRIES.iter().collect();
    entries.sort_by_key(|(_, _, call)| call.phase());
    let mut failures: Vec<String> = Vec::new();
    let (mut requests, mut in_scope, mut out_of_scope, mut refused) = (0usize, 0, 0, 0);
    let mut serial = 0;
    // The fixture's texts that reached a caller allowed to see them: the scan is not vacuous.
    let mut received = vec![false; fixture.secrets.len()];
    for (method, path, call) in entries {
        let secured = documented
            .iter()
            .find(|(m, p, _)| m == method && p == path)
            .is_some_and(|(_, _, secured)| *secured);
        for caller in &callers {
            // The answer for an id that names nothing, which an unseen case must not differ from.
            let mut not_found_body: Option<String> = None;
            for target in targets(*call, &fixture) {
                serial += 1;
                let out = request(
                    *call,
                    path,
                    target,
                    &fixture,
                    &snapshots,
                    caller.actor.as_ref(),
                    serial,
                );
                let token = match (*call, caller.email) {
                    // Signing out ends the session: a session of its own.
                    (Call::Logout, Some(email)) => Some(app.login(email).await),
                    _ => caller.token.clone(),
                };
                let response = send(&app, &out, token.as_deref()).await;
                requests += 1;
                let status = response.status.as_u16();
                let expected = match &caller.actor {
                    None if secured => vec![401],
                    None => match call {
                        Call::Jwks
                        | Call::HealthLive
                        | Call::HealthReady
                        | Call::ListProblemTypes
                        | Call::GetProblemType => vec![200],
                        _ => vec![401],
                    },
                    Some(actor) => expected(*call, target, actor, &fixture, &snapshots),
                };
                let what = format!("{method} {} as {} ({target:?}", out.path, caller.name());
                let what = match target {
                    Target::Case(Some(i))
                    | Target::Action(Some(i), _)
                    | Target::Document(Some(i), _) => {
                        format!("{what}: the {} case)", fixture.cases[i].label)
                    }
                    _ => format!("{what})"),
                };
                if !expected.contains(&status) {
                    failures.push(format!(
                        "{what}: {status}, the policy expects {expected:?}: {}",
                        response.text.chars().take(300).collect::<String>()
                    ));
                }
                match status {
                    200..=299 => in_scope += 1,
                    404 => out_of_scope += 1,
                    _ => refused += 1,
                }
                if status >= 400
                    && response.header("content-type") != Some("application/problem+json")
                    && !(*call == Call::CreateToken)
                {
                    failures.push(format!("{what}: {status} is not a problem document"));
                }
                let case_target =
                    matches!(target, Target::Case(_) | Target::Action(..) | Target::Document(..));
                if case_target && status == 404 {
                    match &not_found_body {
                        None => not_found_body = Some(response.told()),
                        Some(body) if *body != response.told() => failures.push(format!(
                            "{what}: its 404 differs from that of an id that names nothing: \
                             {} vs {body}",
                            response.told()
                        )),
                        Some(_) => {}
                    }
                }
                for (i, secret) in fixture.secrets.iter().enumerate() {
                    received[i] |= response.text.contains(&secret.text);
                }
                let leaked =
                    leaks_of(*call, &response.text, caller.actor.as_ref(), &fixture, &snapshots);
                if !leaked.is_empty() {
                    let texts: Vec<String> = leaked
                        .iter()
                        .map(|s| {
                            format!("{:?} of the {} case", s.text, fixture.cases[s.case].label)
                        })
                        .collect();
                    failures.push(format!("{what}: {status} leaks {texts:?}"));
                }
                if status < 300 && out.method != Method::GET {
                    snapshots = self::snapshots(&app, &fixture).await;
                }
            }
        }
    }
    println!(
        "authorization matrix: {} endpoints × {} callers ({} roles and no one), {} cases and \
         other resources in and out of scope: {requests} requests ({in_scope} allowed, \
         {out_of_scope} answered 404, {refused} refused otherwise), {} failures",
        ENTRIES.len(),
        CALLERS.len(),
        CALLERS.len() - 1,
        fixture.cases.len(),
        failures.len()
    );
    assert_seen_and_unfailed(&fixture, &received, &failures, "differ from the policy or leak data");
}

/// Every text of the fixture reached a caller allowed to see it (so that a leak of it would
/// show), and no answer failed.
fn assert_seen_and_unfailed(fixture: &Fixture, received: &[bool], failures: &[String], what: &str) {
    let never: Vec<&str> = fixture
        .secrets
        .iter()
        .zip(received)
        .filter(|(_, received)| !**received)
        .map(|(s, _)| s.text.as_str())
        .collect();
    assert!(never.is_empty(), "no caller ever received {never:?}, so no leak of it would show");
    assert!(
        failures.is_empty(),
        "{} answers {what}:\n{}",
        failures.len(),
        failures.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// The ids of the fixture's cases in a list answer.
/// The field group of an event of the feed, as the access policy assigns it.
fn event_group(event: &Value) -> FieldGroup {
    let kind = EventType::parse(event["type"].as_str().expect("type")).expect("event type");
    let data = &event["data"];
    match kind {
        EventType::DocumentAdded | EventType::DocumentDeleted => {
            let category = data["category"].as_str().expect("category");
            EventType::document_group(DocumentCategory::parse(category).expect("category"))
        }
        EventType::DeadlineExtended | EventType::DeadlinePassed => {
            let deadline = data["kind"].as_str().expect("kind");
            EventType::deadline_group(DeadlineKind::parse(deadline).expect("deadline kind"))
        }
        other => other.field_group(),
    }
}

fn listed(response: &TestResponse, fixture: &Fixture) -> Vec<usize> {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    let ids: Vec<&str> = response.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item["id"].as_str().or(item["case_id"].as_str()))
        .collect();
    (0..fixture.cases.len())
        .filter(|i| ids.contains(&fixture.cases[*i].id.to_string().as_str()))
        .collect()
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn no_list_search_or_refusal_reveals_a_case_outside_the_callers_scope(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let tokens = Tokens::sign_in(&app).await;
    let fixture = fixture(&app, &tokens).await;
    let callers = callers(&app, &tokens).await;
    let snapshots = snapshots(&app, &fixture).await;
    let mut searches = 0;
    for caller in callers.iter().filter(|c| c.actor.is_some()) {
        let (token, actor) = (caller.token.as_deref(), caller.actor.as_ref().expect("actor"));
        let reads = |i: usize| {
            policy::decide(actor, Operation::ReadCase, Some(&snapshots[i].head.facts()))
                == Decision::Allow
        };
        let asylum = policy::case_view(actor).asylum_procedure;

        // The whole list holds exactly the cases the policy lets the caller read.
        let all = app.get("/v1/cases?limit=200", token).await;
        let expected: Vec<usize> = (0..fixture.cases.len()).filter(|i| reads(*i)).collect();
        assert_eq!(listed(&all, &fixture), expected, "{}: the list", caller.name());

        // A search by name or reference finds a case only for those who read it, by ZEMIS or
        // N number only for those who also see the asylum procedure.
        for (i, case) in fixture.cases.iter().enumerate() {
            for (q, findable) in [
                (case.surname.to_owned(), reads(i)),
                (case.reference.clone(), reads(i)),
                (case.zemis.clone(), reads(i) && asylum),
                (case.n_number.clone(), reads(i) && asylum),
                (case.surname.to_lowercase(), reads(i)),
            ] {
                let query: String = url_encode(&q);
                let found = app.get(&format!("/v1/cases?q={query}&limit=200"), token).await;
                searches += 1;
                let expected: Vec<usize> = if findable { vec![i] } else { Vec::new() };
                assert_eq!(
                    listed(&found, &fixture),
                    expected,
                    "{} searching {q:?} of the {} case",
                    caller.name(),
                    case.label
                );
                let leaked = leaks(&found.text, Some(actor), &fixture, &snapshots);
                assert!(leaked.is_empty(), "{} searching {q:?}: {leaked:?}", caller.name());
            }
        }
        // Filters name no case of another counselling service either.
        for filter in ["canton=BE", "canton=ZH", "status=counselling", "destination_country=IQ"] {
            let found = app.get(&format!("/v1/cases?{filter}&limit=200"), token).await;
            let listed = listed(&found, &fixture);
            assert!(listed.iter().all(|i| reads(*i)), "{} {filter}: {listed:?}", caller.name());
        }

        // The event feed: only events of cases the caller reads, each of a field group the
        // caller's view holds (what has not reached the feed yet, held back behind another
        // test's open transaction, is simply not there).
        let events = app.get("/v1/events?limit=200", token).await;
        match policy::event_reader(actor) {
            None => events.assert_problem(StatusCode::FORBIDDEN, "forbidden"),
            Some((_, view)) => {
                assert_eq!(events.status, StatusCode::OK, "{}", events.text);
                for event in events.body["items"].as_array().expect("items") {
                    let case = fixture.cases.iter().position(|c| event["case_id"] == json!(c.id));
                    assert!(case.is_some_and(reads), "{}: {event}", caller.name());
                    let group = event_group(event);
                    assert!(view.allows(group), "{}: {event} ({group:?})", caller.name());
                }
                let leaked = leaks(&events.text, Some(actor), &fixture, &snapshots);
                assert!(leaked.is_empty(), "{}: events {leaked:?}", caller.name());
            }
        }

        // Country information requests: a counsellor's own service's, every one for IOM Bern.
        let requests = app.get("/v1/information-requests", token).await;
        let scope = policy::information_request_scope(actor);
        if scope == InformationRequestScope::Nothing {
            requests.assert_problem(StatusCode::FORBIDDEN, "forbidden");
        } else {
            let question = fixture
                .secrets
                .iter()
                .find(|s| s.part == Part::InformationQuestion)
                .expect("question");
            let owner = snapshots[question.case].head.counselling_service_id;
            assert_eq!(
                requests.text.contains(&question.text),
                scope.includes(owner),
                "{}",
                caller.name()
            );
            // IOM Bern sees the question, never which case it is about.
            let with_case = matches!(scope, InformationRequestScope::OwnService(_));
            assert_eq!(
                requests.text.contains(&fixture.cases[question.case].id.to_string()),
                with_case && scope.includes(owner)
            );
        }
    }

    // A refusal names no case the caller cannot see: a ZEMIS number of a Bernese case, given
    // in Zurich, is a conflict, without the Bernese case's reference or names.
    let zh = tokens.of("counsellor.zh@demo.test");
    let bern = &fixture.cases[0];
    let zurich = &fixture.cases[13];
    let mut body = household("Neufamilie", &bern.zemis, "N 999 999", "Asthma");
    body["persons"][1]["zemis_number"] = Value::Null;
    let duplicate = app.post("/v1/cases", Some(zh), &body).await;
    duplicate.assert_problem(StatusCode::CONFLICT, "duplicate_case");
    let person = json!({
        "relationship": "spouse", "surname": "Neufrau", "given_names": "Amira",
        "date_of_birth": "1990-01-01", "sex": "female", "nationality": "IQ",
        "zemis_number": bern.zemis
    });
    let version = format!("\"{}\"", snapshots[13].head.version);
    let added = app
        .send(
            Method::POST,
            &format!("/v1/cases/{}/persons", zurich.id),
            Some(zh),
            Some(&person),
            &[("if-match", &version)],
        )
        .await;
    added.assert_problem(StatusCode::CONFLICT, "duplicate_case");
    let zh_actor = callers
        .iter()
        .find(|c| c.email == Some("counsellor.zh@demo.test"))
        .and_then(|c| c.actor.as_ref());
    for refusal in [&duplicate, &added] {
        let leaked = leaks(&refusal.text, zh_actor, &fixture, &snapshots);
        assert!(leaked.is_empty(), "{}: {leaked:?}", refusal.text);
    }
    // Bern, who sees its own case, is told which one it is.
    let be = tokens.of("counsellor.be@demo.test");
    let mut body = household("Neufamilie", &bern.zemis, "N 999 998", "Asthma");
    body["persons"][1]["zemis_number"] = Value::Null;
    let own = app.post("/v1/cases", Some(be), &body).await;
    own.assert_problem(StatusCode::CONFLICT, "duplicate_case");
    assert!(own.text.contains(&bern.reference), "{}", own.text);

    // A body that does not parse is answered alike for an unseen case and for an id that names
    // nothing: the answer depends on the body only.
    let mut malformed = 0;
    for path in [
        "",
        "/persons",
        "/notes",
        "/transitions",
        "/disbursements",
        "/monitoring-visits",
        "/reclaims",
        "/information-requests",
    ] {
        for body in [json!({ "unexpected": true }), json!([1, 2]), json!({ "action": "fly" })] {
            let method = if path.is_empty() { Method::PATCH } else { Method::POST };
            let mut answers = Vec::new();
            for id in [bern.id, fixture.missing] {
                let response = app
                    .send(
                        method.clone(),
                        &format!("/v1/cases/{id}{path}"),
                        Some(zh),
                        Some(&body),
                        &[("if-match", "\"1\"")],
                    )
                    .await;
                malformed += 1;
                assert!(leaks(&response.text, zh_actor, &fixture, &snapshots).is_empty());
                answers.push((response.status, response.told().replace(&id.to_string(), "{id}")));
            }
            assert_eq!(answers[0], answers[1], "{method} {path} with {body}");
        }
    }
    println!(
        "leak checks: {searches} searches and {} list and filter reads by {} roles, {malformed} \
         malformed requests on unseen and missing cases, duplicate refusals across cantons: no leak",
        (1 + 4 + 1) * 8,
        callers.len() - 1
    );
}

fn url_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A service account of every scope at every institution that may hold it, signed in with
/// the client-credentials grant. Made in the store: which administrator may make which is
/// `tests/api/separation.rs`'s subject; this test reads as each of them.
async fn service_callers(app: &TestApp) -> Vec<Caller> {
    let institutions: Vec<(Uuid, String)> = sqlx::query_as(
        "select distinct on (kind) id, kind::text from institutions where active \
         order by kind, name in ('Rückkehrberatung Kanton Bern', 'IOM Iraq') desc, name",
    )
    .fetch_all(&app.pool)
    .await
    .expect("institutions");
    let mut callers = Vec::new();
    for (institution, kind) in institutions {
        let institution_kind = InstitutionKind::parse(&kind).expect("kind");
        for scope in Scope::ALL {
            if !administration::scope_fits(scope, institution_kind) {
                // A scope this kind of institution may not hold.
                continue;
            }
            let name = format!("Canary {kind} {}", scope.as_str());
            let (id, client_id, secret) =
                crate::tokens::store_service_account(app, institution, &name, vec![scope]).await;
            let created = json!({ "id": id, "client_id": client_id, "client_secret": secret });
            let form = format!(
                "grant_type=client_credentials&client_id={}&client_secret={}",
                created["client_id"].as_str().expect("client id"),
                url_encode(created["client_secret"].as_str().expect("secret")),
            );
            let request = Request::builder()
                .method(Method::POST)
                .uri("/v1/auth/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .expect("request");
            let token = app.send_request(request).await;
            assert_eq!(token.status, StatusCode::OK, "{}", token.text);
            let id: Uuid = created["id"].as_str().expect("id").parse().expect("uuid");
            let retour_store::sessions::Standing::Valid(actor) =
                app.store.service_token_standing(id, Uuid::nil(), 1).await.expect("standing")
            else {
                panic!("the new service account is not active");
            };
            callers.push(Caller {
                email: None,
                label: format!("{kind} service account with {}", scope.as_str()),
                token: Some(token.body["access_token"].as_str().expect("token").to_owned()),
                actor: Some(actor),
            });
        }
    }
    callers
}

/// The canary test: every restricted field of cases in every status holds a text found
/// nowhere else (the fixture's secrets, each of a field group of the access policy); every
/// documented read — JSON and CSV, history, entitlement, notes, statistics, the access log
/// and its export — is called by every demo role and by a service account of every scope at
/// every kind of institution; each text may appear only in answers to a caller whose view
/// of that case allows its field group. A read of the OpenAPI document without an entry in
/// [`ENTRIES`] fails the first matrix test.
#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn every_read_gives_every_role_and_service_account_only_the_field_groups_it_may_see(
    pool: PgPool,
) {
    let app = TestApp::new(pool).await;
    let tokens = Tokens::sign_in(&app).await;
    let fixture = fixture(&app, &tokens).await;
    let mut callers = callers(&app, &tokens).await;
    let accounts = service_callers(&app).await;
    let scopes_seen: std::collections::BTreeSet<&str> = accounts
        .iter()
        .filter_map(|c| match &c.actor.as_ref()?.kind {
            retour_domain::ActorKind::ServiceAccount { scopes } => Some(scopes[0].as_str()),
            retour_domain::ActorKind::User { .. } => None,
        })
        .collect();
    assert_eq!(scopes_seen.len(), Scope::ALL.len(), "a service account of every scope");
    let accounts_count = accounts.len();
    callers.extend(accounts);
    let snapshots = snapshots(&app, &fixture).await;

    let reads: Vec<(String, String)> = documented_operations()
        .into_iter()
        .filter(|(method, _, _)| method == "GET")
        .map(|(method, path, _)| (method, path))
        .collect();
    let mut failures = Vec::new();
    let mut received = vec![false; fixture.secrets.len()];
    let mut requests = 0;
    for (method, path) in &reads {
        let (_, _, call) = ENTRIES
            .iter()
            .find(|(m, p, _)| m == method && p == path)
            .unwrap_or_else(|| panic!("{method} {path} has no entry in ENTRIES"));
        for caller in &callers {
            for target in targets(*call, &fixture) {
                let out =
                    request(*call, path, target, &fixture, &snapshots, caller.actor.as_ref(), 0);
                let response = send(&app, &out, caller.token.as_deref()).await;
                requests += 1;
                for (i, secret) in fixture.secrets.iter().enumerate() {
                    received[i] |= response.text.contains(&secret.text);
                }
                let leaked =
                    leaks_of(*call, &response.text, caller.actor.as_ref(), &fixture, &snapshots);
                for secret in leaked {
                    failures.push(format!(
                        "GET {} as {} ({target:?}): {} leaks {:?} ({:?}) of the {} case",
                        out.path,
                        caller.name(),
                        response.status.as_u16(),
                        secret.text,
                        secret.part,
                        fixture.cases[secret.case].label
                    ));
                }
            }
        }
    }
    println!(
        "canary matrix: {} texts of {} kinds (field groups, notes, information requests) over {} cases × {} reads × {} \
         callers ({} roles, no one, {accounts_count} service accounts) = {requests} requests, \
         {} leaks",
        fixture.secrets.len(),
        fixture
            .secrets
            .iter()
            .map(|s| format!("{:?}", s.part))
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        fixture.cases.len(),
        reads.len(),
        callers.len(),
        CALLERS.len() - 1,
        failures.len()
    );
    assert_seen_and_unfailed(&fixture, &received, &failures, "leak");
}
