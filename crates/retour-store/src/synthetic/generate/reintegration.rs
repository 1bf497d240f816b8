//! After the departure: the assistance reclaimed from a person who re-entered Switzerland
//! (AsylV 2 Art. 62 al. 5), and either the closing or the reintegration project run by the
//! IOM mission in the destination country, with its disbursements and monitoring visits,
//! closed about a year later.

use chrono::Days;
use retour_domain::CaseStatus;

use super::Generator;
use super::assistance::{Amounts, amount_of};
use super::batch::Batch;
use super::life::Life;
use super::opening::Plan;
use super::travel::Departure;
use crate::synthetic::Staff;
use crate::synthetic::copy::{MICROS_PER_DAY, Micros, day_of, start_of};
use crate::synthetic::world;

/// A reintegration project under way.
struct Project {
    officer: Staff,
    amount: i64,
    start_at: Micros,
    close_at: Micros,
    /// The end of what is generated: the closing, or "as of" if earlier.
    until: Micros,
    outcome: &'static str,
}

impl Generator {
    /// The case's life after the departure, to its closing.
    pub(super) fn reintegrate(
        &mut self,
        life: &mut Life,
        plan: &Plan<'_>,
        departure: &Departure,
        approved: &Amounts,
        batch: &mut Batch,
    ) {
        let cutoff = self.cutoff;
        let confirmed = departure.confirmed;
        if self.chance(0.005) {
            self.reclaim(life, departure, batch);
        }
        let iom = self.dir.iom;
        let amount = amount_of(approved, "reintegration_project");
        let Some((mission_id, officer)) = plan.mission.filter(|_| amount > 0) else {
            let close_at = self.after(confirmed, 2, 30);
            if close_at < cutoff {
                self.close(life, close_at, "completed", batch);
            }
            return;
        };
        let start_at = self.after(confirmed, 7, 60);
        if start_at >= cutoff {
            return;
        }
        life.go("start_reintegration", CaseStatus::Reintegration, start_at, iom);
        life.mission = Some(mission_id);
        let close_at = self.after(start_at, 330, 420);
        let outcome = self.weighted(&[("completed", 85), ("abandoned", 8), ("unreachable", 7)]);
        let until = close_at.min(cutoff);
        let project = Project { officer, amount, start_at, close_at, until, outcome };
        self.disbursements(life, &project, batch);
        self.visits(life, &project, departure.departed, batch);
        if close_at < cutoff {
            self.close(life, close_at, outcome, batch);
        }
    }

    /// A re-entry after the return: the assistance paid is reclaimed.
    fn reclaim(&mut self, life: &Life, departure: &Departure, batch: &mut Batch) {
        let at = self.after(departure.confirmed, 60, 540);
        let paid = departure.paid;
        if at >= self.cutoff || paid <= 0 {
            return;
        }
        let reclaim_id = self.id_at(at);
        let status = self.weighted(&[("open", 40), ("settled", 20), ("waived", 40)]);
        batch
            .tables
            .reclaims
            .uuid(reclaim_id)
            .uuid(life.id)
            .text("re_entry")
            .int(paid)
            .text(status)
            .text("Re-entered Switzerland after the assisted return.")
            .uuid(self.dir.sem.user_id)
            .ts(at)
            .ts(at)
            .end();
    }

    /// The project paid in one to three instalments (half of it, once, if the project
    /// fails).
    fn disbursements(&mut self, life: &Life, project: &Project, batch: &mut Batch) {
        let completed = project.outcome == "completed";
        let parts = if completed { self.between(1, 3) } else { 1 };
        let mut paid_on =
            day_of(project.start_at) + Days::new(u64::try_from(self.between(5, 30)).unwrap_or(10));
        let mut remaining = project.amount;
        for part in 0..parts {
            let amount =
                if part == parts - 1 { remaining } else { project.amount / parts / 100 * 100 };
            let amount = if completed { amount } else { amount / 2 };
            let recorded = self.office_time(paid_on) + self.between(0, 2) * MICROS_PER_DAY;
            if recorded >= project.until || amount <= 0 {
                break;
            }
            remaining -= amount;
            let disbursement_id = self.id_at(recorded);
            let purpose = self.pick(world::DISBURSEMENT_PURPOSES);
            batch
                .tables
                .disbursements
                .uuid(disbursement_id)
                .uuid(life.id)
                .int(amount)
                .text(purpose)
                .date(paid_on)
                .uuid(project.officer.user_id)
                .ts(recorded)
                .end();
            paid_on = paid_on + Days::new(u64::try_from(self.between(30, 120)).unwrap_or(60));
        }
    }

    /// Monitoring visits at three, six and twelve months after `departed`, scheduled when
    /// the project starts; those done before the end have an outcome.
    fn visits(&mut self, life: &mut Life, project: &Project, departed: Micros, batch: &mut Batch) {
        for months in [3u64, 6, 12] {
            let due = day_of(departed) + Days::new(months * 30);
            if start_of(due) >= project.close_at {
                break;
            }
            let done =
                due.checked_add_signed(chrono::Duration::days(self.between(-7, 14))).unwrap_or(due);
            let visited = start_of(done) < project.until && done > day_of(project.start_at);
            let visit_id = self.id_at(project.start_at);
            life.visits.push((visit_id, due, visited.then_some(done), project.start_at));
            let outcome_text = self.pick(world::MONITORING_OUTCOMES);
            let score = (self.between(30, 100) as f64) / 100.0;
            batch
                .tables
                .visits
                .uuid(visit_id)
                .uuid(life.id)
                .date(due)
                .opt_date(visited.then_some(done))
                .opt_text(visited.then_some(outcome_text))
                .opt_float(visited.then_some(score))
                .uuid(project.officer.user_id)
                .ts(project.start_at)
                .end();
        }
    }
}
