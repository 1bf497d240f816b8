//! Travel after the approval: booked by swissREPAT, or by IOM for journeys with an escort
//! (SIM); now and then a no-show and a new booking, or a withdrawal or cancellation before
//! the flight; then the departure confirmed with the cash paid at the airport.

use chrono::{Datelike, Days};
use retour_domain::CaseStatus;
use uuid::Uuid;

use super::assistance::{Amounts, amount_of};
use super::batch::Batch;
use super::life::Life;
use super::opening::Plan;
use super::{Generator, HOUR, MINUTE};
use crate::synthetic::Staff;
use crate::synthetic::copy::{Micros, day_of, start_of};
use crate::synthetic::world;

/// How the household travels: the escort, and who books.
struct Journey {
    escort: &'static str,
    sim: bool,
    booker: Staff,
}

/// A booked flight.
struct Itinerary {
    id: Uuid,
    departs: Micros,
    from_airport: &'static str,
    /// The person will not appear for it.
    no_show: bool,
    no_show_at: Micros,
    /// The no-show is reported before "as of".
    no_show_recorded: bool,
    no_show_comment: &'static str,
}

/// A confirmed departure.
pub(super) struct Departure {
    pub departed: Micros,
    pub confirmed: Micros,
    /// Start-up cash and travel money paid at the airport.
    pub paid: i64,
}

impl Generator {
    /// Travel after the approval at `decided`; returns the departure, or `None` when the
    /// case's life ends before it.
    pub(super) fn travel(
        &mut self,
        life: &mut Life,
        plan: &Plan<'_>,
        decided: Micros,
        approved: &Amounts,
        batch: &mut Batch,
    ) -> Option<Departure> {
        let journey = self.journey(plan);
        let mut t = decided;
        let mut bookings = 0;
        loop {
            let book_at = self.after(t, 7, 45);
            if self.chance(0.06) {
                self.drop_out(life, t, book_at, batch);
                return None;
            }
            if book_at >= self.cutoff {
                return None;
            }
            bookings += 1;
            let itinerary = self.book(life, plan, &journey, book_at, batch);
            let departs = itinerary.departs;
            if self.withdraws(life, 0.01, book_at, departs, batch) || departs >= self.cutoff {
                return None;
            }
            if itinerary.no_show {
                t = self.no_show(life, &itinerary, journey.booker, bookings, batch)?;
                continue;
            }
            let confirmed = departs + self.between(15 * MINUTE, 2 * HOUR);
            if confirmed >= self.cutoff {
                return None;
            }
            return Some(self.depart(life, &itinerary, confirmed, journey.booker, approved, batch));
        }
    }

    /// The escort the household travels with, and so who books.
    fn journey(&mut self, plan: &Plan<'_>) -> Journey {
        let escort = if plan.medical && self.chance(0.15) {
            self.weighted(&[("social", 60), ("medical", 40)])
        } else if plan.escort_needed {
            "social"
        } else {
            "none"
        };
        let sim = escort != "none";
        let booker = if sim { self.dir.iom } else { self.dir.swissrepat };
        Journey { escort, sim, booker }
    }

    /// Withdrawn or cancelled between `t` and the booking planned at `book_at`.
    fn drop_out(&mut self, life: &mut Life, t: Micros, book_at: Micros, batch: &mut Batch) {
        let at = self.between(t + HOUR, book_at);
        if at >= self.cutoff {
            return;
        }
        if self.chance(0.5) {
            self.withdraw(life, at, batch);
        } else {
            let reasons: Vec<((&str, &str), u32)> =
                world::CANCEL_REASONS.iter().map(|(r, w, c)| ((*r, *c), *w)).collect();
            let (reason, comment) = self.weighted(&reasons);
            self.cancel(life, at, reason, comment, batch);
        }
    }

    /// A flight booked at `book_at`, three to 21 days later: its `case_itineraries` row and
    /// the transition.
    fn book(
        &mut self,
        life: &mut Life,
        plan: &Plan<'_>,
        journey: &Journey,
        book_at: Micros,
        batch: &mut Batch,
    ) -> Itinerary {
        let cutoff = self.cutoff;
        let day = day_of(book_at) + Days::new(u64::try_from(self.between(3, 21)).unwrap_or(7));
        let departs = start_of(day) + self.between(6 * HOUR, 20 * HOUR);
        let id = self.id_at(book_at);
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
            .uuid(id)
            .uuid(life.id)
            .text(from_airport)
            .ts(departs)
            .text_array(&flights)
            .text(to_airport)
            .text(journey.escort)
            .bool(journey.sim)
            .uuid(journey.booker.user_id)
            .ts(book_at)
            .opt_ts(no_show_recorded.then_some(no_show_at))
            .opt_text(no_show_recorded.then_some(no_show_comment))
            .end();
        life.bookings.push(departs);
        life.journey_sim = (!no_show_recorded).then_some(journey.sim);
        life.go("book_travel", CaseStatus::TravelBooked, book_at, journey.booker);
        Itinerary {
            id,
            departs,
            from_airport,
            no_show,
            no_show_at,
            no_show_recorded,
            no_show_comment,
        }
    }

    /// The person did not appear for the `bookings`th flight: returns when the no-show was
    /// reported, for a new booking, or `None` when the case's life ends here (cancelled
    /// after a second no-show, or not reported before "as of").
    fn no_show(
        &mut self,
        life: &mut Life,
        itinerary: &Itinerary,
        booker: Staff,
        bookings: u32,
        batch: &mut Batch,
    ) -> Option<Micros> {
        if !itinerary.no_show_recorded {
            return None;
        }
        let at = itinerary.no_show_at;
        life.go_with(
            "report_no_show",
            CaseStatus::Approved,
            at,
            booker,
            Some(itinerary.no_show_comment),
        );
        if bookings >= 2 && self.chance(0.4) {
            let cancel_at = self.after(at, 1, 10);
            if cancel_at < self.cutoff {
                let comment = "The person did not appear for two flights.";
                self.cancel(life, cancel_at, "no_show", comment, batch);
            }
            return None;
        }
        Some(at)
    }

    /// The departure on `itinerary`, confirmed at `confirmed`: its `case_departures` row
    /// with the cash paid, and the transition.
    fn depart(
        &mut self,
        life: &mut Life,
        itinerary: &Itinerary,
        confirmed: Micros,
        booker: Staff,
        approved: &Amounts,
        batch: &mut Batch,
    ) -> Departure {
        let departed = itinerary.departs;
        let startup = amount_of(approved, "startup_cash");
        let startup_paid = if startup > 0 && self.chance(0.03) { startup / 2 } else { startup };
        let travel_money = amount_of(approved, "travel_money");
        let receipt = format!(
            "{}-{}-{:05}",
            itinerary.from_airport,
            day_of(departed).year(),
            self.between(1, 99_999)
        );
        batch
            .tables
            .departures
            .uuid(life.id)
            .uuid(itinerary.id)
            .ts(departed)
            .int(startup_paid)
            .int(travel_money)
            .text(&receipt)
            .uuid(booker.user_id)
            .ts(confirmed)
            .end();
        life.go("confirm_departure", CaseStatus::Departed, confirmed, booker);
        life.departed_at = Some(departed);
        Departure { departed, confirmed, paid: startup_paid + travel_money }
    }
}
