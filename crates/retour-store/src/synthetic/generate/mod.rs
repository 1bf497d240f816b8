//! The generator: realistic cases drawn from a seeded random number generator, each lived
//! through the workflow up to the day the data is "as of", written as COPY rows.
//!
//! Everything random comes from one ChaCha8 stream seeded with the seed value (its output
//! is fixed by its specification, unlike `StdRng`'s), consumed in the same order on every
//! run; ids are UUIDv7 made from the generated timestamps and bits of that stream. So the
//! same seed, "as of" day, case count, directory and starting counters give the same bytes.

mod access_log;
mod batch;
mod draw;
mod household;
mod life;
mod opening;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub(crate) use self::batch::Tables;
pub use self::batch::{Batch, CaseSummary};
use self::draw::cumulative;
use retour_domain::CaseStatus;

use self::household::Person;
use self::life::Life;
use self::opening::Plan;
use super::copy::{MICROS_PER_DAY, Micros, day_of, start_of};
use super::world::{self, COUNTRIES};
use super::{Directory, Staff};

const MINUTE: i64 = 60_000_000;
const HOUR: i64 = 60 * MINUTE;

/// The default first day of generated activity.
pub fn default_from() -> NaiveDate {
    NaiveDate::from_ymd_opt(2019, 1, 7).unwrap_or(NaiveDate::MIN)
}

/// Where generation starts: what the database holds already.
#[derive(Debug, Clone, Default)]
pub struct Start {
    /// The last reference number per (prefix, year).
    pub counters: HashMap<(String, i32), i64>,
    /// Persons stored so far: ZEMIS and N numbers go on from here, so they stay unique.
    pub persons: u64,
}

/// Generates `total` cases in batches, in the order of their opening.
pub struct Generator {
    rng: ChaCha8Rng,
    dir: Directory,
    service_weights: Vec<u64>,
    country_weights: Vec<u64>,
    /// Working days from the window's start to the day before "as of".
    days: Vec<NaiveDate>,
    cutoff: Micros,
    total: u64,
    next: u64,
    counters: HashMap<(String, i32), i64>,
    person_index: u64,
}

impl Generator {
    /// A generator of `total` cases for `dir`, opened from `from` on, "as of" the start of
    /// `as_of` (UTC): nothing generated happens on or after it.
    pub fn new(
        seed: u64,
        from: NaiveDate,
        as_of: NaiveDate,
        total: u64,
        dir: Directory,
        start: Start,
    ) -> Self {
        let federal = dir.services.iter().filter(|s| s.canton.is_none()).count() as u64;
        let service_weights = cumulative(dir.services.iter().map(|s| match &s.canton {
            Some(canton) => {
                let population = world::CANTON_WEIGHTS
                    .iter()
                    .find(|(code, _)| code == canton)
                    .map_or(20, |(_, w)| u64::from(*w));
                population * u64::from(100 - world::FEDERAL_CENTRE_PERCENT) * 1000
            }
            None => {
                let cantonal: u64 = world::CANTON_WEIGHTS.iter().map(|(_, w)| u64::from(*w)).sum();
                cantonal * u64::from(world::FEDERAL_CENTRE_PERCENT) * 1000 / federal.max(1)
            }
        }));
        let country_weights = cumulative(COUNTRIES.iter().map(|c| u64::from(c.weight)));
        let mut days = Vec::new();
        let mut day = from;
        while day < as_of {
            if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                days.push(day);
            }
            day = day + Days::new(1);
        }
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            dir,
            service_weights,
            country_weights,
            days,
            cutoff: start_of(as_of),
            total,
            next: 0,
            counters: start.counters,
            person_index: start.persons,
        }
    }

    /// The next batch of up to `size` cases; `None` once all were generated.
    pub fn next_batch(&mut self, size: usize) -> Option<Batch> {
        if self.next >= self.total || self.days.is_empty() {
            return None;
        }
        let count = (self.total - self.next).min(size as u64);
        let mut batch = Batch {
            tables: Tables::default(),
            audit: Vec::with_capacity(count as usize * 4),
            counters: Vec::new(),
            cases: Vec::with_capacity(count as usize),
        };
        let mut touched: HashMap<(String, i32), i64> = HashMap::new();
        for _ in 0..count {
            let index = self.next;
            self.next += 1;
            let (summary, prefix, year, number) = self.case(index, &mut batch);
            touched.insert((prefix, year), number);
            batch.cases.push(summary);
        }
        let mut counters: Vec<(String, i32, i64)> =
            touched.into_iter().map(|((p, y), n)| (p, y, n)).collect();
        counters.sort();
        batch.counters = counters;
        Some(batch)
    }

    /// Case number `index`, from its opening to "as of": its rows go into `batch`; returns
    /// what the caller sees of it and the reference number it took (prefix, year, number).
    fn case(&mut self, index: u64, batch: &mut Batch) -> (CaseSummary, String, i32, i64) {
        let opening = self.open(index);
        let household = self.household(&opening);
        let planned = self.chance(0.6).then(|| {
            let days = u64::try_from(self.between(45, 150)).unwrap_or(60);
            opening.day + Days::new(days)
        });
        self.person_rows(&opening, &household.persons, batch);
        if household.medical {
            self.medical_row(&opening, batch);
        }
        let mut life = Life::open(opening.id, opening.service.counsellor, opening.created);
        let plan = self.plan(&opening, &household, planned);
        self.live(&mut life, &plan, batch);
        life::case_row(&mut batch.tables.cases, &opening, &life, &household, planned);
        self.history(&life, batch);
        self.access_log(&life, household.medical, batch);

        let summary = CaseSummary {
            id: opening.id,
            status: life.status,
            counselling_service_id: opening.service.id,
            surname: household.persons[0].surname.to_owned(),
            reference: opening.reference,
        };
        (summary, opening.service.prefix, opening.year, opening.number)
    }
}

/// Assistance amounts in Rappen, by component, in a fixed order.
type Amounts = Vec<(&'static str, i64)>;

fn amount_of(amounts: &Amounts, component: &str) -> i64 {
    amounts.iter().find(|(c, _)| *c == component).map_or(0, |(_, a)| *a)
}

impl Generator {
    /// Takes the case through the workflow until it ends or "as of" is reached, writing the
    /// records of each step.
    fn live(&mut self, life: &mut Life, plan: &Plan<'_>, batch: &mut Batch) {
        let cutoff = self.cutoff;
        let counsellor = life.counsellor;
        let created = plan.created;
        let id = life.id;

        // Counselling: notes, a country information request, the application.
        let counselling_days = 7 + (self.exponential(40.0) as i64).min(300);
        if self.chance(0.2) {
            let at = self.after(created, 0, counselling_days);
            if at < cutoff {
                let note_id = self.id_at(at);
                let body = self.pick(world::NOTES);
                let visibility = if self.chance(0.7) { "institution" } else { "shared" };
                batch
                    .tables
                    .notes
                    .uuid(note_id)
                    .uuid(id)
                    .uuid(counsellor.user_id)
                    .uuid(counsellor.institution_id)
                    .text(visibility)
                    .text(body)
                    .ts(at)
                    .end();
            }
        }
        if self.chance(0.08) {
            let asked = self.after(created, 1, (counselling_days / 2).max(2));
            if asked < cutoff {
                let answered = self.after(asked, 2, 20);
                let index = self.between(0, world::RIF_QUESTIONS.len() as i64 - 1) as usize;
                let request_id = self.id_at(asked);
                let iom = self.dir.iom;
                let done = answered < cutoff;
                batch
                    .tables
                    .info_requests
                    .uuid(request_id)
                    .uuid(id)
                    .text(plan.destination)
                    .text(world::RIF_QUESTIONS[index])
                    .uuid(counsellor.user_id)
                    .ts(asked)
                    .text(if done { "answered" } else { "open" })
                    .opt_text(done.then_some(world::RIF_ANSWERS[index]))
                    .opt_uuid(done.then_some(iom.user_id))
                    .opt_ts(done.then_some(answered))
                    .end();
            }
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
                let reason = self.pick(world::WITHDRAWAL_REASONS);
                self.end(
                    life,
                    "withdraw",
                    CaseStatus::Withdrawn,
                    at,
                    counsellor,
                    "withdrawn",
                    None,
                    Some(reason),
                    batch,
                );
            } else if edit_at < cutoff {
                self.application(life, plan, &requested, edit_at, false, batch);
            }
            return;
        }
        if submit_at >= cutoff {
            if edit_at < cutoff && self.chance(0.5) {
                self.application(life, plan, &requested, edit_at, false, batch);
            }
            return;
        }
        self.application(life, plan, &requested, edit_at, true, batch);
        life.go("submit", CaseStatus::Submitted, submit_at, counsellor);
        life.submitted_at = Some(submit_at);

        // SEM's review.
        let sem = self.dir.sem;
        let review_at = self.after(submit_at, 1, 10);
        if self.withdraws(life, 0.01, submit_at, review_at, batch) || review_at >= cutoff {
            return;
        }
        life.go("start_review", CaseStatus::UnderReview, review_at, sem);
        life.reviewer = Some(sem.user_id);
        let mut t = review_at;
        let rounds = if self.chance(0.2) { if self.chance(0.2) { 2 } else { 1 } } else { 0 };
        for _ in 0..rounds {
            let asked = self.after(t, 2, 15);
            if asked >= cutoff {
                return;
            }
            let index = self.between(0, world::REVIEW_QUESTIONS.len() as i64 - 1) as usize;
            let question = world::REVIEW_QUESTIONS[index];
            life.go_with("request_info", CaseStatus::InfoRequested, asked, sem, Some(question));
            let answered = self.after(asked, 2, 21);
            let done = answered < cutoff;
            let question_id = self.id_at(asked);
            batch
                .tables
                .questions
                .uuid(question_id)
                .uuid(id)
                .text(question)
                .uuid(sem.user_id)
                .ts(asked)
                .opt_text(done.then_some(world::REVIEW_ANSWERS[index]))
                .opt_uuid(done.then_some(counsellor.user_id))
                .opt_ts(done.then_some(answered))
                .end();
            if !done {
                return;
            }
            let answer = world::REVIEW_ANSWERS[index];
            life.go_with(
                "answer_info",
                CaseStatus::UnderReview,
                answered,
                counsellor,
                Some(answer),
            );
            t = answered;
        }
        let decide_at = self.after(t, 5, 40);
        if self.withdraws(life, 0.015, t, decide_at, batch) || decide_at >= cutoff {
            return;
        }
        life.decided_at = Some(decide_at);
        if self.chance(0.07) {
            let (ground, reasons) = {
                let grounds: Vec<((&str, &str), u32)> =
                    world::REJECTION_GROUNDS.iter().map(|(g, w, r)| ((*g, *r), *w)).collect();
                self.weighted(&grounds)
            };
            batch
                .tables
                .decisions
                .uuid(id)
                .text("rejected")
                .text(reasons)
                .text(ground)
                .null()
                .text_array::<&str>(&[])
                .uuid(sem.user_id)
                .ts(decide_at)
                .end();
            life.go_with("reject", CaseStatus::Rejected, decide_at, sem, Some(reasons));
            return;
        }
        let (approved, overridden) = self.approved(plan, &requested);
        let reasons = self.pick(world::APPROVAL_REASONS);
        batch
            .tables
            .decisions
            .uuid(id)
            .text("approved")
            .text(reasons)
            .null()
            .opt_text((!overridden.is_empty()).then_some(world::OVERRIDE_JUSTIFICATION))
            .text_array(&overridden)
            .uuid(sem.user_id)
            .ts(decide_at)
            .end();
        for (component, amount) in &approved {
            batch.tables.approved.uuid(id).text(component).int(*amount).end();
        }
        life.go_with("approve", CaseStatus::Approved, decide_at, sem, Some(reasons));
        life.approved_at = Some(decide_at);

        // Travel: booked by swissREPAT, or by IOM for journeys with an escort (SIM).
        let escort = if plan.medical && self.chance(0.15) {
            self.weighted(&[("social", 60), ("medical", 40)])
        } else if plan.escort_needed {
            "social"
        } else {
            "none"
        };
        let sim = escort != "none";
        let booker = if sim { self.dir.iom } else { self.dir.swissrepat };
        let mut t = decide_at;
        let mut bookings = 0;
        let departure = loop {
            let book_at = self.after(t, 7, 45);
            if self.chance(0.06) {
                // Withdrawn or cancelled before a booking.
                let at = self.between(t + HOUR, book_at);
                if at < cutoff {
                    if self.chance(0.5) {
                        let reason = self.pick(world::WITHDRAWAL_REASONS);
                        self.end(
                            life,
                            "withdraw",
                            CaseStatus::Withdrawn,
                            at,
                            counsellor,
                            "withdrawn",
                            None,
                            Some(reason),
                            batch,
                        );
                    } else {
                        let reasons: Vec<((&str, &str), u32)> =
                            world::CANCEL_REASONS.iter().map(|(r, w, c)| ((*r, *c), *w)).collect();
                        let (reason, comment) = self.weighted(&reasons);
                        self.end(
                            life,
                            "cancel",
                            CaseStatus::Cancelled,
                            at,
                            sem,
                            "cancelled",
                            Some(reason),
                            Some(comment),
                            batch,
                        );
                    }
                }
                return;
            }
            if book_at >= cutoff {
                return;
            }
            bookings += 1;
            let day = day_of(book_at) + Days::new(u64::try_from(self.between(3, 21)).unwrap_or(7));
            let departs = start_of(day) + self.between(6 * HOUR, 20 * HOUR);
            let itinerary_id = self.id_at(book_at);
            let from_airport = self.pick(plan.departure_airports);
            let to_airport = self.pick(plan.airports);
            let carrier = self.pick(plan.carriers);
            let first = format!("{carrier}{}", self.between(100, 1999));
            let flights = if plan.direct {
                vec![first]
            } else {
                let second = format!("{carrier}{}", self.between(100, 1999));
                vec![first, second]
            };
            let no_show = self.chance(0.06);
            let no_show_at = departs + self.between(2 * HOUR, 30 * HOUR);
            let no_show_recorded = no_show && departs < cutoff && no_show_at < cutoff;
            let no_show_comment = self.pick(world::NO_SHOW_COMMENTS);
            batch
                .tables
                .itineraries
                .uuid(itinerary_id)
                .uuid(id)
                .text(from_airport)
                .ts(departs)
                .text_array(&flights)
                .text(to_airport)
                .text(escort)
                .bool(sim)
                .uuid(booker.user_id)
                .ts(book_at)
                .opt_ts(no_show_recorded.then_some(no_show_at))
                .opt_text(no_show_recorded.then_some(no_show_comment))
                .end();
            life.go("book_travel", CaseStatus::TravelBooked, book_at, booker);
            if self.withdraws(life, 0.01, book_at, departs, batch) || departs >= cutoff {
                return;
            }
            if no_show {
                if !no_show_recorded {
                    return;
                }
                life.go_with(
                    "report_no_show",
                    CaseStatus::Approved,
                    no_show_at,
                    booker,
                    Some(no_show_comment),
                );
                t = no_show_at;
                if bookings >= 2 && self.chance(0.4) {
                    let at = self.after(no_show_at, 1, 10);
                    if at < cutoff {
                        self.end(
                            life,
                            "cancel",
                            CaseStatus::Cancelled,
                            at,
                            sem,
                            "cancelled",
                            Some("no_show"),
                            Some("The person did not appear for two flights."),
                            batch,
                        );
                    }
                    return;
                }
                continue;
            }
            let confirmed = departs + self.between(15 * MINUTE, 2 * HOUR);
            if confirmed >= cutoff {
                return;
            }
            break (itinerary_id, departs, confirmed, from_airport);
        };
        let (itinerary_id, departed, confirmed, from_airport) = departure;
        let startup = amount_of(&approved, "startup_cash");
        let startup_paid = if startup > 0 && self.chance(0.03) { startup / 2 } else { startup };
        let travel_money = amount_of(&approved, "travel_money");
        let receipt =
            format!("{from_airport}-{}-{:05}", day_of(departed).year(), self.between(1, 99_999));
        batch
            .tables
            .departures
            .uuid(id)
            .uuid(itinerary_id)
            .ts(departed)
            .int(startup_paid)
            .int(travel_money)
            .text(&receipt)
            .uuid(booker.user_id)
            .ts(confirmed)
            .end();
        life.go("confirm_departure", CaseStatus::Departed, confirmed, booker);
        life.departed_at = Some(departed);

        // A re-entry after the return: the assistance is reclaimed (AsylV 2 Art. 62 al. 5).
        if self.chance(0.005) {
            let at = self.after(confirmed, 60, 540);
            let paid = startup_paid + travel_money;
            if at < cutoff && paid > 0 {
                let reclaim_id = self.id_at(at);
                let status = self.weighted(&[("open", 40), ("settled", 20), ("waived", 40)]);
                batch
                    .tables
                    .reclaims
                    .uuid(reclaim_id)
                    .uuid(id)
                    .text("re_entry")
                    .int(paid)
                    .text(status)
                    .text("Re-entered Switzerland after the assisted return.")
                    .uuid(sem.user_id)
                    .ts(at)
                    .ts(at)
                    .end();
            }
        }

        let iom = self.dir.iom;
        let project = amount_of(&approved, "reintegration_project");
        let Some((mission_id, officer)) = plan.mission.filter(|_| project > 0) else {
            let close_at = self.after(confirmed, 2, 30);
            if close_at < cutoff {
                self.end(
                    life,
                    "close",
                    CaseStatus::Closed,
                    close_at,
                    iom,
                    "closed",
                    Some("completed"),
                    None,
                    batch,
                );
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
        // Disbursements: the project in one to three instalments.
        let parts = if outcome == "completed" { self.between(1, 3) } else { 1 };
        let mut paid_on =
            day_of(start_at) + Days::new(u64::try_from(self.between(5, 30)).unwrap_or(10));
        let mut remaining = project;
        for part in 0..parts {
            let amount = if part == parts - 1 { remaining } else { project / parts / 100 * 100 };
            let amount = if outcome == "completed" { amount } else { amount / 2 };
            let recorded = self.office_time(paid_on) + self.between(0, 2) * MICROS_PER_DAY;
            if recorded >= until || amount <= 0 {
                break;
            }
            remaining -= amount;
            let disbursement_id = self.id_at(recorded);
            let purpose = self.pick(world::DISBURSEMENT_PURPOSES);
            batch
                .tables
                .disbursements
                .uuid(disbursement_id)
                .uuid(id)
                .int(amount)
                .text(purpose)
                .date(paid_on)
                .uuid(officer.user_id)
                .ts(recorded)
                .end();
            paid_on = paid_on + Days::new(u64::try_from(self.between(30, 120)).unwrap_or(60));
        }
        // Monitoring visits at three, six and twelve months, scheduled at the start.
        for months in [3u64, 6, 12] {
            let due = day_of(departed) + Days::new(months * 30);
            if start_of(due) >= close_at {
                break;
            }
            let done =
                due.checked_add_signed(chrono::Duration::days(self.between(-7, 14))).unwrap_or(due);
            let visited = start_of(done) < until && done > day_of(start_at);
            let visit_id = self.id_at(start_at);
            let outcome_text = self.pick(world::MONITORING_OUTCOMES);
            let score = (self.between(30, 100) as f64) / 100.0;
            batch
                .tables
                .visits
                .uuid(visit_id)
                .uuid(id)
                .date(due)
                .opt_date(visited.then_some(done))
                .opt_text(visited.then_some(outcome_text))
                .opt_float(visited.then_some(score))
                .uuid(officer.user_id)
                .ts(start_at)
                .end();
        }
        if close_at < cutoff {
            self.end(
                life,
                "close",
                CaseStatus::Closed,
                close_at,
                iom,
                "closed",
                Some(outcome),
                None,
                batch,
            );
        }
    }

    /// With probability `p`, the counsellor withdraws the case at some time between `from`
    /// and `until`; true when the case stops here (withdrawn, or still waiting at "as of").
    fn withdraws(
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
            let reason = self.pick(world::WITHDRAWAL_REASONS);
            let counsellor = life.counsellor;
            self.end(
                life,
                "withdraw",
                CaseStatus::Withdrawn,
                at,
                counsellor,
                "withdrawn",
                None,
                Some(reason),
                batch,
            );
        }
        true
    }

    /// A transition into an end status, with its `case_endings` row.
    #[expect(clippy::too_many_arguments, reason = "one row's columns")]
    fn end(
        &mut self,
        life: &mut Life,
        action: &'static str,
        to: CaseStatus,
        at: Micros,
        actor: Staff,
        kind: &'static str,
        reason: Option<&'static str>,
        comment: Option<&'static str>,
        batch: &mut Batch,
    ) {
        life.go_with(action, to, at, actor, comment);
        if to == CaseStatus::Closed {
            life.closed_at = Some(at);
        }
        batch
            .tables
            .endings
            .uuid(life.id)
            .text(kind)
            .opt_text(reason)
            .opt_text(comment)
            .uuid(actor.user_id)
            .ts(at)
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

    /// The assistance the counselling service asks for, roughly by the tariffs
    /// (domain.md, "Programmes and assistance"); amounts in Rappen.
    fn requested(&mut self, plan: &Plan<'_>, submit_at: Micros) -> Amounts {
        let on = plan.planned.unwrap_or(day_of(submit_at) + Days::new(45));
        let travellers: Vec<&Person> = plan.persons.iter().filter(|p| p.travelling).collect();
        let minor = |p: &Person| {
            let age = on.year()
                - p.birth.year()
                - i32::from((on.month(), on.day()) < (p.birth.month(), p.birth.day()));
            age < 18
        };
        let minors = travellers.iter().filter(|p| minor(p)).count() as i64;
        let adults = travellers.len() as i64 - minors;
        let mut amounts = Amounts::new();
        // Travel costs: the actual tickets, children for less.
        let mut fares = 0;
        for person in &travellers {
            let fare = self.between(plan.fare.0, plan.fare.1) / 10 * 10;
            fares += if minor(person) { fare * 3 / 4 } else { fare };
        }
        let medical_amount =
            (plan.medical && self.chance(0.4)).then(|| self.between(5, 60) * 100 * 100);
        if plan.programme == "status_s" {
            amounts.push(("startup_cash", ((adults * 500 + minors * 250) * 100).min(200_000)));
            amounts.push(("travel_costs", fares * 100));
            return amounts;
        }
        if plan.visa_exempt {
            if let Some(amount) = medical_amount {
                amounts.push(("medical", amount));
            }
            amounts.push(("travel_costs", fares * 100));
            return amounts;
        }
        let (adult, child, project) = match plan.phase {
            Some("phase_1") => (1000, 500, 3000),
            Some("phase_2") => (750, 375, 2000),
            Some("phase_3") => (500, 250, 1000),
            Some(_) => (250, 125, 0),
            None => (1000, 500, 3000),
        };
        let mut startup = (adults * adult + minors * child) * 100;
        let entry = plan.persons.first().map(|p| p.entry).unwrap_or(on);
        if plan.programme == "cantonal" && (on - entry).num_days() < 90 {
            startup /= 2;
        }
        amounts.push(("startup_cash", startup));
        if plan.mission.is_some() && project > 0 && self.chance(0.55) {
            let amount = if plan.phase.is_some() {
                project
            } else {
                self.weighted(&[(3000, 70), (2000, 15), (1500, 10), (4500, 5)])
            };
            amounts.push(("reintegration_project", amount * 100));
        }
        if let Some(amount) = medical_amount {
            amounts.push(("medical", amount));
        }
        let persons = travellers.len() as i64;
        let travel_money = if plan.medical || self.chance(0.05) {
            (persons * 500).min(1000)
        } else {
            (persons * 100).min(500)
        };
        amounts.push(("travel_money", travel_money * 100));
        amounts.push(("travel_costs", fares * 100));
        amounts
    }

    /// SEM's approved amounts: as requested, now and then a project cut down; and the
    /// components granted above the tariff (a larger project, medical costs for a
    /// visa-exempt national).
    fn approved(&mut self, plan: &Plan<'_>, requested: &Amounts) -> (Amounts, Vec<&'static str>) {
        let mut overridden = Vec::new();
        let approved = requested
            .iter()
            .map(|&(component, amount)| {
                let amount = match component {
                    "reintegration_project" if amount > 300_000 => {
                        overridden.push(component);
                        amount
                    }
                    "reintegration_project" if self.chance(0.08) => 200_000.min(amount),
                    "medical" if plan.visa_exempt => {
                        overridden.push(component);
                        amount
                    }
                    _ => amount,
                };
                (component, amount)
            })
            .collect();
        (approved, overridden)
    }
}
