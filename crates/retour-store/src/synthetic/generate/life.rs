//! The life of a case as the phases build it: its status, the history of its transitions
//! and the times they set; written at the end as the `cases` row and its `case_events`.

use retour_domain::CaseStatus;
use uuid::Uuid;

use super::Generator;
use super::batch::Batch;
use super::household::Household;
use super::opening::Opening;
use crate::synthetic::Staff;
use crate::synthetic::copy::{CopyBuf, Micros};

/// An event of the case's history.
pub(super) struct Step {
    pub action: &'static str,
    pub from: Option<CaseStatus>,
    pub to: CaseStatus,
    pub at: Micros,
    pub actor: Staff,
    pub comment: Option<&'static str>,
}

/// What the case went through, built while it lives.
pub(super) struct Life {
    pub id: Uuid,
    pub counsellor: Staff,
    pub status: CaseStatus,
    pub steps: Vec<Step>,
    /// Edits of the application besides transitions (each bumps the version).
    pub edits: u32,
    pub last_change: Micros,
    pub submitted_at: Option<Micros>,
    pub approved_at: Option<Micros>,
    pub decided_at: Option<Micros>,
    pub departed_at: Option<Micros>,
    pub closed_at: Option<Micros>,
    pub reviewer: Option<Uuid>,
    pub mission: Option<Uuid>,
    /// The departure time of each booking, in order (a booking's deadline is due that day).
    pub bookings: Vec<Micros>,
    /// Whether the open journey is a SIM one (`None`: no open journey), as a booking and a
    /// reported no-show set it.
    pub journey_sim: Option<bool>,
    /// Whether SEM approved a reintegration project above zero.
    pub reintegration_project: bool,
    /// The monitoring visits planned: id, due day, the day done, when planned.
    pub visits: Vec<(Uuid, chrono::NaiveDate, Option<chrono::NaiveDate>, Micros)>,
}

impl Life {
    /// A case the counsellor opened at `created`, in counselling.
    pub fn open(id: Uuid, counsellor: Staff, created: Micros) -> Self {
        Life {
            id,
            counsellor,
            status: CaseStatus::Counselling,
            steps: vec![Step {
                action: "open",
                from: None,
                to: CaseStatus::Counselling,
                at: created,
                actor: counsellor,
                comment: None,
            }],
            edits: 0,
            last_change: created,
            submitted_at: None,
            approved_at: None,
            decided_at: None,
            departed_at: None,
            closed_at: None,
            reviewer: None,
            mission: None,
            bookings: Vec::new(),
            journey_sim: None,
            reintegration_project: false,
            visits: Vec::new(),
        }
    }

    pub fn go(&mut self, action: &'static str, to: CaseStatus, at: Micros, actor: Staff) {
        self.go_with(action, to, at, actor, None);
    }

    pub fn go_with(
        &mut self,
        action: &'static str,
        to: CaseStatus,
        at: Micros,
        actor: Staff,
        comment: Option<&'static str>,
    ) {
        let from = Some(self.status);
        self.steps.push(Step { action, from, to, at, actor, comment });
        self.status = to;
        self.last_change = self.last_change.max(at);
    }
}

/// The `cases` row, now that the case's life is known.
pub(super) fn case_row(
    cases: &mut CopyBuf,
    opening: &Opening,
    life: &Life,
    household: &Household,
    planned: Option<chrono::NaiveDate>,
) {
    let service = &opening.service;
    let counsellor = life.counsellor;
    let version = 1 + (life.steps.len() as i64 - 1) + i64::from(life.edits);
    cases
        .uuid(life.id)
        .text(&opening.reference)
        .opt_text(service.canton.as_deref())
        .opt_text(service.federal_region.as_deref())
        .uuid(service.id)
        .uuid(counsellor.user_id)
        .uuid(counsellor.user_id)
        .text(opening.programme)
        .text(opening.destination)
        .opt_date(planned)
        .text(life.status.as_str())
        .int(version)
        .text_array(&household.vulnerabilities)
        .opt_ts(life.submitted_at)
        .opt_ts(life.approved_at)
        .opt_uuid(life.mission)
        .ts(opening.created)
        .ts(life.last_change)
        .opt_uuid(life.reviewer)
        .opt_ts(life.decided_at)
        .opt_ts(life.departed_at)
        .opt_ts(life.closed_at)
        .opt_text(opening.phase)
        .opt_bool(life.journey_sim)
        .bool(life.reintegration_project)
        .end();
}

impl Generator {
    /// The `case_events` rows: every step of the case's life.
    pub(super) fn history(&mut self, life: &Life, batch: &mut Batch) {
        for step in &life.steps {
            let event_id = self.id_at(step.at);
            batch
                .tables
                .events
                .uuid(event_id)
                .uuid(life.id)
                .text(step.action)
                .opt_text(step.from.map(CaseStatus::as_str))
                .text(step.to.as_str())
                .uuid(step.actor.user_id)
                .uuid(step.actor.institution_id)
                .text(step.actor.role)
                .opt_text(step.comment)
                .ts(step.at)
                .end();
        }
    }
}
