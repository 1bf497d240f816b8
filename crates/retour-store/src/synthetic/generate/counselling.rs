//! Counselling: the counsellor's notes, a request for country information to IOM, and the
//! application (eligibility answers, declaration of voluntariness, requested assistance)
//! that is submitted to SEM, unless the case is withdrawn first or still in counselling.

use chrono::Days;
use retour_domain::CaseStatus;

use super::assistance::Amounts;
use super::batch::Batch;
use super::life::Life;
use super::opening::Plan;
use super::{Generator, HOUR, MINUTE};
use crate::synthetic::copy::{Micros, day_of};
use crate::synthetic::world;

impl Generator {
    /// The counselling phase; returns when the application was submitted and what it asks
    /// for, or `None` when the case's life ends in counselling.
    pub(super) fn counsel(
        &mut self,
        life: &mut Life,
        plan: &Plan<'_>,
        batch: &mut Batch,
    ) -> Option<(Micros, Amounts)> {
        let cutoff = self.cutoff;
        let created = plan.created;
        let counselling_days = 7 + (self.exponential(40.0) as i64).min(300);
        if self.chance(0.2) {
            self.note(life, created, counselling_days, batch);
        }
        if self.chance(0.08) {
            self.info_request(life, plan, counselling_days, batch);
        }
        let submit_at = self.after(created, counselling_days, counselling_days);
        let requested = self.requested(plan, submit_at);
        // The eligibility answers, the declaration and the requested assistance, entered
        // with one edit shortly before the submission.
        let edit_at = (submit_at - self.between(10 * MINUTE, 5 * HOUR)).max(created + MINUTE);
        // Many counselling cases end without an application (about half of them lead to a
        // departure).
        if self.chance(0.3) {
            let at = self.after(created, 2, counselling_days.max(3));
            if at < cutoff {
                self.application(life, plan, &requested, edit_at.min(at - MINUTE), false, batch);
                self.withdraw(life, at, batch);
            } else if edit_at < cutoff {
                self.application(life, plan, &requested, edit_at, false, batch);
            }
            return None;
        }
        if submit_at >= cutoff {
            if edit_at < cutoff && self.chance(0.5) {
                self.application(life, plan, &requested, edit_at, false, batch);
            }
            return None;
        }
        self.application(life, plan, &requested, edit_at, true, batch);
        life.go("submit", CaseStatus::Submitted, submit_at, life.counsellor);
        life.submitted_at = Some(submit_at);
        Some((submit_at, requested))
    }

    /// A note of the counsellor's in the first `days` days after `created`.
    fn note(&mut self, life: &Life, created: Micros, days: i64, batch: &mut Batch) {
        let at = self.after(created, 0, days);
        if at >= self.cutoff {
            return;
        }
        let note_id = self.id_at(at);
        let body = self.pick(world::NOTES);
        let visibility = if self.chance(0.7) { "institution" } else { "shared" };
        let counsellor = life.counsellor;
        batch
            .tables
            .notes
            .uuid(note_id)
            .uuid(life.id)
            .uuid(counsellor.user_id)
            .uuid(counsellor.institution_id)
            .text(visibility)
            .text(body)
            .ts(at)
            .end();
    }

    /// A question about the destination country to IOM during counselling, answered unless
    /// "as of" comes first.
    fn info_request(&mut self, life: &Life, plan: &Plan<'_>, days: i64, batch: &mut Batch) {
        let asked = self.after(plan.created, 1, (days / 2).max(2));
        if asked >= self.cutoff {
            return;
        }
        let answered = self.after(asked, 2, 20);
        let index = self.between(0, world::RIF_QUESTIONS.len() as i64 - 1) as usize;
        let request_id = self.id_at(asked);
        let iom = self.dir.iom;
        let done = answered < self.cutoff;
        batch
            .tables
            .info_requests
            .uuid(request_id)
            .uuid(life.id)
            .text(plan.destination)
            .text(world::RIF_QUESTIONS[index])
            .uuid(life.counsellor.user_id)
            .ts(asked)
            .text(if done { "answered" } else { "open" })
            .opt_text(done.then_some(world::RIF_ANSWERS[index]))
            .opt_uuid(done.then_some(iom.user_id))
            .opt_ts(done.then_some(answered))
            .end();
    }

    /// The eligibility answers and requested assistance, entered with one edit at `at`;
    /// `complete` with the declaration of voluntariness signed (as a submission needs).
    fn application(
        &mut self,
        life: &mut Life,
        plan: &Plan<'_>,
        requested: &Amounts,
        at: Micros,
        complete: bool,
        batch: &mut Batch,
    ) {
        if at <= plan.created || at >= self.cutoff {
            return;
        }
        life.edits += 1;
        life.last_change = life.last_change.max(at);
        let answer = |g: &mut Self| if complete || g.chance(0.8) { Some(false) } else { None };
        let answers = [answer(self), answer(self), answer(self), answer(self)];
        let signed = complete.then(|| {
            let back = u64::try_from(self.between(0, 5)).unwrap_or(0);
            (day_of(at) - Days::new(back)).max(day_of(plan.created))
        });
        batch
            .tables
            .eligibility
            .uuid(life.id)
            .opt_bool(answers[0])
            .opt_bool(answers[1])
            .opt_bool(answers[2])
            .opt_bool(answers[3])
            .opt_date(signed)
            .ts(at)
            .end();
        if complete || self.chance(0.5) {
            for (component, amount) in requested {
                batch.tables.requested.uuid(life.id).text(component).int(*amount).end();
            }
        }
    }
}
