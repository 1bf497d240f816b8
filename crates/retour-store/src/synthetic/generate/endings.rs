//! How a case's life ends, at whatever phase: withdrawn by the counsellor, cancelled by SEM
//! or closed by IOM, each a last transition with its `case_endings` row.

use retour_domain::CaseStatus;

use super::batch::Batch;
use super::life::Life;
use super::{Generator, MINUTE};
use crate::synthetic::Staff;
use crate::synthetic::copy::{CopyBuf, Micros};
use crate::synthetic::world;

/// A kind of ending: the action, the end status and the `case_endings` kind.
struct Ending {
    action: &'static str,
    to: CaseStatus,
    kind: &'static str,
}

const WITHDRAWN: Ending =
    Ending { action: "withdraw", to: CaseStatus::Withdrawn, kind: "withdrawn" };
const CANCELLED: Ending = Ending { action: "cancel", to: CaseStatus::Cancelled, kind: "cancelled" };
const CLOSED: Ending = Ending { action: "close", to: CaseStatus::Closed, kind: "closed" };

/// A transition into an end status, with its `case_endings` row.
fn end(
    life: &mut Life,
    ending: &Ending,
    at: Micros,
    actor: Staff,
    reason: Option<&'static str>,
    comment: Option<&'static str>,
    endings: &mut CopyBuf,
) {
    life.go_with(ending.action, ending.to, at, actor, comment);
    if ending.to == CaseStatus::Closed {
        life.closed_at = Some(at);
    }
    endings
        .uuid(life.id)
        .text(ending.kind)
        .opt_text(reason)
        .opt_text(comment)
        .uuid(actor.user_id)
        .ts(at)
        .end();
}

impl Generator {
    /// The counsellor withdraws the case at `at`, for one of the usual reasons.
    pub(super) fn withdraw(&mut self, life: &mut Life, at: Micros, batch: &mut Batch) {
        let reason = self.pick(world::WITHDRAWAL_REASONS);
        let counsellor = life.counsellor;
        end(life, &WITHDRAWN, at, counsellor, None, Some(reason), &mut batch.tables.endings);
    }

    /// SEM cancels the approved case at `at`.
    pub(super) fn cancel(
        &self,
        life: &mut Life,
        at: Micros,
        reason: &'static str,
        comment: &'static str,
        batch: &mut Batch,
    ) {
        let sem = self.reviewer_of(life);
        end(life, &CANCELLED, at, sem, Some(reason), Some(comment), &mut batch.tables.endings);
    }

    /// IOM closes the case at `at` with this outcome.
    pub(super) fn close(
        &self,
        life: &mut Life,
        at: Micros,
        outcome: &'static str,
        batch: &mut Batch,
    ) {
        let iom = self.dir.iom;
        end(life, &CLOSED, at, iom, Some(outcome), None, &mut batch.tables.endings);
    }

    /// With probability `p`, the counsellor withdraws the case at some time between `from`
    /// and `until`; true when the case stops here (withdrawn, or still waiting at "as of").
    pub(super) fn withdraws(
        &mut self,
        life: &mut Life,
        p: f64,
        from: Micros,
        until: Micros,
        batch: &mut Batch,
    ) -> bool {
        if !self.chance(p) {
            return false;
        }
        let at = self.between(from + MINUTE, until.max(from + 2 * MINUTE));
        if at < self.cutoff {
            self.withdraw(life, at, batch);
        }
        true
    }
}
