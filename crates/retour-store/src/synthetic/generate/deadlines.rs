//! The deadlines of a generated case: those its transitions opened and closed (by the
//! workflow's own table, [`DeadlineChanges`], and the default rules), its bookings'
//! departures and its planned monitoring visits. A deadline still open whose day passed
//! before "as of" is overdue, marked the next morning as the overdue job would have.

use chrono::Days;
use retour_domain::deadline::{DeadlineChanges, DeadlineKind, DeadlineRule};
use retour_domain::workflow::Action;
use uuid::Uuid;

use super::Generator;
use super::batch::Batch;
use super::life::Life;
use crate::synthetic::copy::{Micros, day_of, start_of};

/// A deadline while the case's life is replayed.
struct Open {
    kind: DeadlineKind,
    subject: Option<Uuid>,
    opened: Micros,
    due: chrono::NaiveDate,
}

const HOUR: Micros = 3_600_000_000;

impl Generator {
    /// The `case_deadlines` rows of the case's life.
    pub(super) fn deadlines(&mut self, life: &Life, batch: &mut Batch) {
        let mut open: Vec<Open> = Vec::new();
        let mut closed: Vec<(Open, Micros)> = Vec::new();
        let mut bookings = life.bookings.iter();
        for step in &life.steps {
            let Some(action) = Action::parse(step.action) else {
                continue;
            };
            let changes = DeadlineChanges::of(action);
            let (done, kept): (Vec<Open>, Vec<Open>) = open.into_iter().partition(|d| {
                changes.closes_all || (d.subject.is_none() && changes.closes.contains(&d.kind))
            });
            open = kept;
            closed.extend(done.into_iter().map(|d| (d, step.at)));
            let departure = match action {
                Action::BookTravel => bookings.next().map(|&at| day_of(at)),
                _ => None,
            };
            if let Some(kind) = changes.opens {
                let rule = DeadlineRule::default_of(kind);
                if let Some(due) = rule.due_on(day_of(step.at), departure) {
                    open.push(Open { kind, subject: None, opened: step.at, due });
                }
            }
        }
        // The visits: planned when the project started, done on their day (or still open).
        let ended = life.closed_at;
        for &(id, due, done, planned) in &life.visits {
            let visit = Open {
                kind: DeadlineKind::MonitoringVisit,
                subject: Some(id),
                opened: planned,
                due,
            };
            let met = done.map(|day| (start_of(day) + 12 * HOUR).max(planned));
            match (met, ended) {
                (Some(at), Some(end)) => closed.push((visit, at.min(end).max(planned))),
                (Some(at), None) => closed.push((visit, at)),
                (None, Some(end)) => closed.push((visit, end.max(planned))),
                (None, None) => open.push(visit),
            }
        }
        let cutoff = self.cutoff;
        let marked = |due: chrono::NaiveDate, until: Micros| {
            // The overdue job's run after the deadline's day: 06:00 UTC the day after.
            let at = start_of(due.checked_add_days(Days::new(1)).unwrap_or(due)) + 6 * HOUR;
            (at < until && at < cutoff).then_some(at)
        };
        for (deadline, closed_at) in closed {
            let overdue = marked(deadline.due, closed_at);
            self.deadline_row(life, &deadline, Some(closed_at), overdue, batch);
        }
        for deadline in open {
            let overdue = marked(deadline.due, cutoff);
            self.deadline_row(life, &deadline, None, overdue, batch);
        }
    }

    fn deadline_row(
        &mut self,
        life: &Life,
        deadline: &Open,
        closed: Option<Micros>,
        overdue: Option<Micros>,
        batch: &mut Batch,
    ) {
        let id = self.id_at(deadline.opened);
        batch
            .tables
            .deadlines
            .uuid(id)
            .uuid(life.id)
            .text(deadline.kind.as_str())
            .opt_uuid(deadline.subject)
            .ts(deadline.opened)
            .date(deadline.due)
            .opt_ts(closed)
            .opt_ts(overdue)
            .end();
    }
}
