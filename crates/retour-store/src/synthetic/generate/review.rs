//! SEM's review of a submitted application: the start of the review, up to two rounds of
//! questions to the counselling service, and the decision, a rejection on a legal ground or
//! an approval with the amounts granted.

use retour_domain::CaseStatus;

use super::Generator;
use super::assistance::Amounts;
use super::batch::Batch;
use super::life::Life;
use super::opening::Plan;
use crate::synthetic::copy::Micros;
use crate::synthetic::{Staff, world};

impl Generator {
    /// The SEM officer who reviews the case: drawn by workload from the case's id (not from
    /// the generator's stream, so the rest of a load is the same whoever reviews).
    pub(super) fn reviewer_of(&self, life: &Life) -> Staff {
        let reviewers = &self.dir.reviewers;
        let total: u64 = reviewers.iter().map(|(_, w)| u64::from(*w)).sum();
        let bytes = life.id.as_bytes();
        let mut low = [0u8; 8];
        low.copy_from_slice(&bytes[8..]);
        let mut pick = u64::from_be_bytes(low) % total.max(1);
        for (staff, weight) in reviewers {
            if pick < u64::from(*weight) {
                return *staff;
            }
            pick -= u64::from(*weight);
        }
        self.dir.sem
    }

    /// The review of the application submitted at `submitted`; returns when the case was
    /// approved and the approved amounts, or `None` when its life ends in review.
    pub(super) fn review(
        &mut self,
        life: &mut Life,
        plan: &Plan<'_>,
        submitted: Micros,
        requested: &Amounts,
        batch: &mut Batch,
    ) -> Option<(Micros, Amounts)> {
        let cutoff = self.cutoff;
        let sem = self.reviewer_of(life);
        let review_at = self.after(submitted, 1, 10);
        if self.withdraws(life, 0.01, submitted, review_at, batch) || review_at >= cutoff {
            return None;
        }
        life.go("start_review", CaseStatus::UnderReview, review_at, sem);
        life.reviewer = Some(sem.user_id);
        let mut t = review_at;
        let rounds = if self.chance(0.2) { if self.chance(0.2) { 2 } else { 1 } } else { 0 };
        for _ in 0..rounds {
            t = self.question(life, t, batch)?;
        }
        let decide_at = self.after(t, 5, 40);
        if self.withdraws(life, 0.015, t, decide_at, batch) || decide_at >= cutoff {
            return None;
        }
        life.decided_at = Some(decide_at);
        if self.chance(0.07) {
            self.reject(life, decide_at, batch);
            return None;
        }
        let approved = self.approve(life, plan, requested, decide_at, batch);
        Some((decide_at, approved))
    }

    /// A round of questions after `t`: returns when the counselling service answered, or
    /// `None` when "as of" comes first.
    fn question(&mut self, life: &mut Life, t: Micros, batch: &mut Batch) -> Option<Micros> {
        let cutoff = self.cutoff;
        let sem = self.reviewer_of(life);
        let asked = self.after(t, 2, 15);
        if asked >= cutoff {
            return None;
        }
        let index = self.between(0, world::REVIEW_QUESTIONS.len() as i64 - 1) as usize;
        let question = world::REVIEW_QUESTIONS[index];
        life.go_with("request_info", CaseStatus::InfoRequested, asked, sem, Some(question));
        let answered = self.after(asked, 2, 21);
        let done = answered < cutoff;
        let question_id = self.id_at(asked);
        let counsellor = life.counsellor;
        batch
            .tables
            .questions
            .uuid(question_id)
            .uuid(life.id)
            .text(question)
            .uuid(sem.user_id)
            .ts(asked)
            .opt_text(done.then_some(world::REVIEW_ANSWERS[index]))
            .opt_uuid(done.then_some(counsellor.user_id))
            .opt_ts(done.then_some(answered))
            .end();
        if !done {
            return None;
        }
        let answer = world::REVIEW_ANSWERS[index];
        life.go_with("answer_info", CaseStatus::UnderReview, answered, counsellor, Some(answer));
        Some(answered)
    }

    /// SEM rejects the application at `at` on one of the legal grounds.
    fn reject(&mut self, life: &mut Life, at: Micros, batch: &mut Batch) {
        let sem = self.reviewer_of(life);
        let (ground, reasons) = {
            let grounds: Vec<((&str, &str), u32)> =
                world::REJECTION_GROUNDS.iter().map(|(g, w, r)| ((*g, *r), *w)).collect();
            self.weighted(&grounds)
        };
        batch
            .tables
            .decisions
            .uuid(life.id)
            .text("rejected")
            .text(reasons)
            .text(ground)
            .null()
            .text_array::<&str>(&[])
            .uuid(sem.user_id)
            .ts(at)
            .end();
        life.go_with("reject", CaseStatus::Rejected, at, sem, Some(reasons));
    }

    /// SEM approves the application at `at`; returns the approved amounts.
    fn approve(
        &mut self,
        life: &mut Life,
        plan: &Plan<'_>,
        requested: &Amounts,
        at: Micros,
        batch: &mut Batch,
    ) -> Amounts {
        let sem = self.reviewer_of(life);
        let (approved, overridden) = self.approved(plan, requested);
        let reasons = self.pick(world::APPROVAL_REASONS);
        batch
            .tables
            .decisions
            .uuid(life.id)
            .text("approved")
            .text(reasons)
            .null()
            .opt_text((!overridden.is_empty()).then_some(world::OVERRIDE_JUSTIFICATION))
            .text_array(&overridden)
            .uuid(sem.user_id)
            .ts(at)
            .end();
        for (component, amount) in &approved {
            batch.tables.approved.uuid(life.id).text(component).int(*amount).end();
        }
        life.reintegration_project = approved
            .iter()
            .any(|(component, amount)| *component == "reintegration_project" && *amount > 0);
        life.go_with("approve", CaseStatus::Approved, at, sem, Some(reasons));
        life.approved_at = Some(at);
        approved
    }
}
