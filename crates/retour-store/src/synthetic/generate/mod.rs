//! The generator: realistic cases drawn from a seeded random number generator, each lived
//! through the workflow up to the day the data is "as of", written as COPY rows.
//!
//! Everything random comes from one ChaCha8 stream seeded with the seed value (its output
//! is fixed by its specification, unlike `StdRng`'s), consumed in the same order on every
//! run; ids are UUIDv7 made from the generated timestamps and bits of that stream. So the
//! same seed, "as of" day, case count, directory and starting counters give the same bytes.
//! Each phase below draws in a fixed order: moving a draw from one place to another changes
//! every case after it.
//!
//! A case's life, one module per phase:
//! - [`opening`]: when and where it opens, for whom, with its reference;
//! - [`household`]: the persons, their vulnerabilities and medical needs;
//! - [`counselling`]: notes, a country information request, the application;
//! - [`assistance`]: the amounts requested by the tariffs, and those SEM approves;
//! - [`review`]: SEM's questions and decision;
//! - [`travel`]: bookings, no-shows and the departure;
//! - [`reintegration`]: a reclaim, the project's disbursements and monitoring visits;
//! - [`endings`]: withdrawals, cancellations and closings, at whatever phase;
//! - [`life`]: the status and history the phases build, written as the case and its events;
//! - [`deadlines`]: the deadlines its transitions and visits opened and closed;
//! - [`access_log`]: the reads and the creation the API would have logged.

mod access_log;
mod assistance;
mod batch;
mod counselling;
mod deadlines;
mod draw;
mod endings;
mod household;
mod life;
mod opening;
mod reintegration;
mod review;
#[cfg(test)]
pub(crate) mod tests;
mod travel;

use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub(crate) use self::batch::Tables;
pub use self::batch::{Batch, CaseSummary};
use self::draw::cumulative;
use self::life::Life;
use self::opening::Plan;
use super::Directory;
use super::copy::{Micros, start_of};
use super::world::{self, COUNTRIES};

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
        self.deadlines(&life, batch);
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

    /// Takes the case through the workflow until it ends or "as of" is reached, writing the
    /// records of each phase; a phase that returns nothing ended the case's life here.
    fn live(&mut self, life: &mut Life, plan: &Plan<'_>, batch: &mut Batch) {
        let Some((submitted, requested)) = self.counsel(life, plan, batch) else {
            return;
        };
        let Some((decided, approved)) = self.review(life, plan, submitted, &requested, batch)
        else {
            return;
        };
        let Some(departure) = self.travel(life, plan, decided, &approved, batch) else {
            return;
        };
        self.reintegrate(life, plan, &departure, &approved, batch);
    }
}
