//! Opening a case: when and by which counselling service, the nationality and destination,
//! the programme and residence status, and the next reference number of the service's
//! prefix; and the plan the rest of its life follows from these and the household.

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use uuid::Uuid;

use super::draw::pick_index;
use super::household::{Household, Person};
use super::{Generator, HOUR};
use crate::synthetic::copy::{Micros, day_of, start_of};
use crate::synthetic::world::{self, COUNTRIES, Country};
use crate::synthetic::{Service, Staff};

/// A case as it opens.
pub(super) struct Opening {
    pub id: Uuid,
    pub created: Micros,
    /// The day of `created`.
    pub day: NaiveDate,
    pub service: Service,
    pub nationality: &'static Country,
    pub destination: &'static str,
    pub airports: &'static [&'static str],
    pub carriers: &'static [&'static str],
    pub status_s: bool,
    pub federal: bool,
    pub programme: &'static str,
    pub phase: Option<&'static str>,
    pub residence: &'static str,
    pub year: i32,
    pub number: i64,
    pub reference: String,
}

/// What a case's life depends on, fixed when it opens.
pub(super) struct Plan<'a> {
    pub created: Micros,
    pub destination: &'static str,
    pub airports: &'static [&'static str],
    pub carriers: &'static [&'static str],
    pub direct: bool,
    pub fare: (i64, i64),
    pub programme: &'static str,
    pub phase: Option<&'static str>,
    pub visa_exempt: bool,
    pub medical: bool,
    pub escort_needed: bool,
    pub persons: &'a [Person],
    pub planned: Option<NaiveDate>,
    pub departure_airports: &'static [&'static str],
    /// The IOM mission in the destination country and its officer.
    pub mission: Option<(Uuid, Staff)>,
}

impl Generator {
    /// Case `index` opens: its time, service, nationality and destination, programme,
    /// residence status and reference.
    pub(super) fn open(&mut self, index: u64) -> Opening {
        let created = self.opened_at(index);
        let day = day_of(created);
        let service_index = pick_index(&mut self.rng, &self.service_weights);
        let service = self.dir.services[service_index].clone();
        let nationality = self.country(day);
        let (destination, airports, carriers) = match world::THIRD_COUNTRIES
            .iter()
            .find(|(from, ..)| *from == nationality.code)
        {
            Some((_, to, airports, carriers)) if self.chance(0.03) => (*to, *airports, *carriers),
            _ => (nationality.code, nationality.airports, nationality.carriers),
        };
        let status_s = nationality.code == "UA";
        let federal = service.canton.is_none();
        let (programme, phase) = self.programme(status_s, federal);
        let residence = self.residence(status_s, federal);

        // The reference: the next number of the prefix in the opening year. Cases open in
        // office hours, far from midnight, so the UTC year is the Swiss year.
        let year = day.year();
        let counter = self.counters.entry((service.prefix.clone(), year)).or_insert(0);
        *counter += 1;
        let number = *counter;
        let reference = retour_domain::case::format_reference(&service.prefix, year, number);
        let id = self.id_at(created);
        Opening {
            id,
            created,
            day,
            service,
            nationality,
            destination,
            airports,
            carriers,
            status_s,
            federal,
            programme,
            phase,
            residence,
            year,
            number,
            reference,
        }
    }

    /// When case `index` of `total` was opened: spread evenly over the office hours of the
    /// window, in order.
    fn opened_at(&mut self, index: u64) -> Micros {
        let span = self.days.len() as f64 * 9.0 * HOUR as f64;
        let u: f64 = self.rng.random();
        let position = ((index as f64 + u) / self.total as f64 * span) as i64;
        let day = (position / (9 * HOUR)) as usize;
        start_of(self.days[day.min(self.days.len() - 1)]) + 7 * HOUR + position % (9 * HOUR)
    }

    fn country(&mut self, opened: NaiveDate) -> &'static Country {
        loop {
            let country = &COUNTRIES[pick_index(&mut self.rng, &self.country_weights)];
            // Returns to Ukraine with assistance are status S returns, from spring 2022 on.
            if country.code == "UA"
                && opened < NaiveDate::from_ymd_opt(2022, 4, 1).unwrap_or(NaiveDate::MIN)
            {
                continue;
            }
            return country;
        }
    }

    /// The programme, and the procedure phase of a case from a federal asylum centre.
    fn programme(&mut self, status_s: bool, federal: bool) -> (&'static str, Option<&'static str>) {
        if status_s {
            ("status_s", None)
        } else if federal {
            let phase = self.weighted(&[
                ("phase_1", 40),
                ("phase_2", 30),
                ("phase_3", 20),
                ("phase_4", 10),
            ]);
            ("federal_centre", Some(phase))
        } else {
            ("cantonal", None)
        }
    }

    /// The household's residence status.
    fn residence(&mut self, status_s: bool, federal: bool) -> &'static str {
        if status_s {
            "S"
        } else if federal {
            self.weighted(&[("N", 45), ("dublin", 30), ("rejected", 25)])
        } else {
            self.weighted(&[
                ("N", 250),
                ("rejected", 350),
                ("dublin", 100),
                ("F", 270),
                ("refugee", 20),
                ("trafficking_victim", 10),
            ])
        }
    }

    /// The plan of the case's life, from its opening, its household and the planned
    /// departure date.
    pub(super) fn plan<'a>(
        &self,
        opening: &Opening,
        household: &'a Household,
        planned: Option<NaiveDate>,
    ) -> Plan<'a> {
        let nationality = opening.nationality;
        let destination = opening.destination;
        Plan {
            created: opening.created,
            destination,
            airports: opening.airports,
            carriers: opening.carriers,
            direct: nationality.direct && destination == nationality.code,
            fare: nationality.fare,
            programme: opening.programme,
            phase: opening.phase,
            visa_exempt: world::VISA_EXEMPT.contains(&nationality.code) && !opening.status_s,
            medical: household.medical,
            escort_needed: household.vulnerabilities.contains(&"unaccompanied_minor"),
            persons: &household.persons,
            planned,
            departure_airports: world::departure_airports(&opening.service.prefix),
            mission: self
                .dir
                .missions
                .iter()
                .find(|m| m.country == destination)
                .map(|m| (m.institution_id, m.officer)),
        }
    }
}
