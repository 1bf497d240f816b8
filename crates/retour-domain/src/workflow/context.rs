//! The facts about a case that the workflow's guards decide on, loaded by the caller (the
//! store) before it asks [`super::evaluate`]. Plain data: no I/O happens here.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::record::{ApprovedAmount, REINTEGRATION_PROJECT};
use crate::{CaseStatus, InstitutionKind};

/// A case as the workflow sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionContext {
    pub status: CaseStatus,
    /// The current time, against which "has already happened" is checked.
    pub now: DateTime<Utc>,
    /// The household, in the order the case lists them (`persons[i]`).
    pub persons: Vec<PersonFacts>,
    pub eligibility: EligibilityAnswers,
    /// `voluntariness_declaration.signed_on`.
    pub voluntariness_signed_on: Option<NaiveDate>,
    /// How many components the counsellor requested (`requested_assistance`).
    pub requested_components: usize,
    /// What SEM approved, once it did (empty before).
    pub approved_assistance: Vec<ApprovedAmount>,
    /// ISO 3166-1 alpha-2.
    pub destination_country: String,
    /// For `start_reintegration`: the institution named by the request's `mission_id`, when
    /// one with that id exists (see [`super::TransitionRequest::mission_id`]).
    pub mission: Option<MissionFacts>,
    /// Who holds the case: its SEM reviewer, and whether a canton transfer is pending.
    pub holding: Holding,
    /// The sum of the reintegration's disbursements, in Rappen.
    pub disbursed_rappen: i64,
    /// How many monitoring visits of the reintegration are planned and not done.
    pub open_visits: usize,
    /// The installation needs the signed request for return assistance (a current
    /// `return_request` document) before `submit`, and the case has none.
    pub return_request_missing: bool,
    /// For `start_reintegration`: the positions (`persons[i]`) of the travelling adults
    /// without a standing consent to the mission's processing of their data.
    pub mission_consent_missing: Vec<usize>,
}

/// Who holds a case, as far as the workflow cares: SEM's decisions are taken by the case's
/// reviewer only, and the counselling service acts on nothing while it is handing the case
/// to another service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Holding {
    /// The SEM officer the case is assigned to for review (from `start_review`).
    pub reviewer_id: Option<Uuid>,
    /// A canton transfer is proposed and not yet accepted or declined.
    pub transfer_pending: bool,
}

impl Holding {
    /// Whether `actor_id` takes SEM's decisions on the case: only its reviewer does.
    pub fn decided_by(&self, actor_id: Uuid) -> bool {
        self.reviewer_id == Some(actor_id)
    }
}

impl TransitionContext {
    /// A case as [`super::allowed_actions`] needs it: its status and what SEM approved (which
    /// decides the way out of `departed`). The facts only the guards read are left empty;
    /// listing the actions does not ask the guards.
    pub fn listing(status: CaseStatus, approved_assistance: Vec<ApprovedAmount>) -> Self {
        TransitionContext {
            status,
            now: DateTime::UNIX_EPOCH,
            persons: Vec::new(),
            eligibility: EligibilityAnswers::default(),
            voluntariness_signed_on: None,
            requested_components: 0,
            approved_assistance,
            destination_country: String::new(),
            mission: None,
            holding: Holding::default(),
            disbursed_rappen: 0,
            open_visits: 0,
            return_request_missing: false,
            mission_consent_missing: Vec::new(),
        }
    }

    /// The same case, held as `holding` says.
    pub fn held(self, holding: Holding) -> Self {
        TransitionContext { holding, ..self }
    }

    /// SEM approved a reintegration project with an amount above zero. Decides whether a
    /// departed case goes on to reintegration or is closed directly.
    pub fn reintegration_project_approved(&self) -> bool {
        self.approved_amount(REINTEGRATION_PROJECT).is_some_and(|amount| amount > 0)
    }

    /// What of the approved reintegration project is not disbursed yet, in Rappen (0 when
    /// none was approved).
    pub fn undisbursed_rappen(&self) -> i64 {
        let approved = self.approved_amount(REINTEGRATION_PROJECT).unwrap_or(0);
        approved.saturating_sub(self.disbursed_rappen).max(0)
    }

    /// The approved amount of `component`, if SEM approved it.
    pub fn approved_amount(&self, component: &str) -> Option<i64> {
        self.approved_assistance
            .iter()
            .find(|approved| approved.component == component)
            .map(|approved| approved.amount_rappen)
    }
}

/// Which fields of one person of the household are filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonFacts {
    /// The person is the principal applicant.
    pub principal: bool,
    pub surname: bool,
    pub given_names: bool,
    pub date_of_birth: bool,
    pub sex: bool,
    pub nationality: bool,
    pub residence_status: bool,
    pub zemis_number: bool,
}

impl PersonFacts {
    /// Every field present.
    pub const COMPLETE: PersonFacts = PersonFacts {
        principal: false,
        surname: true,
        given_names: true,
        date_of_birth: true,
        sex: true,
        nationality: true,
        residence_status: true,
        zemis_number: true,
    };
}

/// The counsellor's answers to the eligibility questions (`eligibility.*`); `None` while
/// unanswered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EligibilityAnswers {
    pub criminal_offences: Option<bool>,
    pub abuse: Option<bool>,
    pub sufficient_assets: Option<bool>,
    pub prior_assistance: Option<bool>,
}

/// The institution proposed as the reintegration mission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissionFacts {
    pub id: Uuid,
    pub kind: InstitutionKind,
    /// An IOM mission's country (ISO 3166-1 alpha-2).
    pub country: Option<String>,
    pub active: bool,
}
