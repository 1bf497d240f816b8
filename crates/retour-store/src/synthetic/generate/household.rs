//! The household of a case: its size, the principal applicant, a spouse, children and now
//! and then an elderly parent, with their identity numbers; the vulnerabilities these imply,
//! and the medical needs recorded when the case opens.

use chrono::{Datelike, Days, NaiveDate};

use super::Generator;
use super::batch::Batch;
use super::opening::Opening;
use crate::synthetic::world::{self, Country};

/// The vulnerabilities in the order the application lists them.
const VULNERABILITY_ORDER: [&str; 6] =
    ["unaccompanied_minor", "medical", "elderly", "single_parent", "trafficking", "disability"];

/// Status S exists from this day on (the Federal Council activated it on 11 March 2022).
fn status_s_from() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 3, 12).unwrap_or(NaiveDate::MIN)
}

/// `ZEMIS` numbers: a bijection of the person's index onto 8 digits (10000000–99999999), so
/// that every generated person has their own.
pub(super) fn zemis_number(index: u64) -> String {
    const SPAN: u64 = 90_000_000;
    let n = (index % SPAN * 61_803_397 + 12_345_679) % SPAN + 10_000_000;
    format!("{n:08}")
}

/// `N 123 456`: a bijection of the person's index onto six digits (unique for the first
/// million persons, and always within a household).
pub(super) fn n_number(index: u64) -> String {
    const SPAN: u64 = 1_000_000;
    let n = (index % SPAN * 386_927 + 271_828) % SPAN;
    format!("N {:03} {:03}", n / 1000, n % 1000)
}

pub(super) struct Person {
    pub relationship: &'static str,
    pub surname: &'static str,
    pub given_names: &'static str,
    pub alias: Option<String>,
    pub birth: NaiveDate,
    pub sex: &'static str,
    pub nationality: &'static str,
    pub entry: NaiveDate,
    pub travelling: bool,
}

/// The persons of a case, principal first, and what they need.
pub(super) struct Household {
    pub persons: Vec<Person>,
    /// In [`VULNERABILITY_ORDER`], each once.
    pub vulnerabilities: Vec<&'static str>,
    pub medical: bool,
}

/// What the members of a household share.
struct Family {
    country: &'static Country,
    surname: &'static str,
    opened: NaiveDate,
    entry: NaiveDate,
}

impl Family {
    fn names(&self, male: bool) -> &'static [&'static str] {
        if male { self.country.male } else { self.country.female }
    }
}

fn sex(male: bool) -> &'static str {
    if male { "male" } else { "female" }
}

impl Generator {
    /// The household of the case that `opening` opens.
    pub(super) fn household(&mut self, opening: &Opening) -> Household {
        let mut vulnerabilities: Vec<&'static str> = Vec::new();
        let persons = self.members(opening, &mut vulnerabilities);
        let medical = self.chance(0.10);
        if medical {
            vulnerabilities.push("medical");
        }
        if self.chance(0.02) {
            vulnerabilities.push("disability");
        }
        vulnerabilities.sort_by_key(|v| VULNERABILITY_ORDER.iter().position(|o| o == v));
        vulnerabilities.dedup();
        Household { persons, vulnerabilities, medical }
    }

    /// The persons of a household, principal first.
    fn members(
        &mut self,
        opening: &Opening,
        vulnerabilities: &mut Vec<&'static str>,
    ) -> Vec<Person> {
        let country = opening.nationality;
        let opened = opening.day;
        let size =
            self.weighted(&[(1usize, 620), (2, 120), (3, 90), (4, 80), (5, 50), (6, 25), (7, 15)]);
        let entry = self.entry(opening);
        let surname = self.pick(country.surnames);
        let family = Family { country, surname, opened, entry };
        let trafficking = opening.residence == "trafficking_victim";
        if trafficking {
            vulnerabilities.push("trafficking");
        }
        // Rarely, an unaccompanied minor.
        if size == 1 && !trafficking && self.chance(0.006) {
            vulnerabilities.push("unaccompanied_minor");
            return vec![self.unaccompanied_minor(&family)];
        }
        let principal = self.principal(&family, size, trafficking);
        let (male, principal_birth) = (principal.sex == "male", principal.birth);
        let mut persons = vec![principal];
        if size == 1 {
            if opened.year() - principal_birth.year() >= 60 {
                vulnerabilities.push("elderly");
            }
            return persons;
        }
        let couple = size == 2 && self.chance(0.6) || size > 2 && self.chance(0.75);
        if couple {
            let spouse = self.spouse(&family, principal_birth, male);
            persons.push(spouse);
        }
        let elder = size >= 4 && self.chance(0.05);
        let adults = persons.len() + usize::from(elder);
        self.children(&family, &mut persons, adults..size);
        if elder {
            let parent = self.elder(&family, principal_birth);
            persons.push(parent);
        }
        if !couple && persons.iter().any(|p| p.relationship == "child") {
            vulnerabilities.push("single_parent");
        }
        if persons.iter().any(|p| opened.year() - p.birth.year() >= 60) {
            vulnerabilities.push("elderly");
        }
        persons
    }

    /// When the household entered Switzerland.
    fn entry(&mut self, opening: &Opening) -> NaiveDate {
        let opened = opening.day;
        let entered_days = if opening.status_s {
            let earliest = (opened - status_s_from()).num_days().max(15);
            self.between(14, earliest)
        } else if opening.federal {
            self.between(3, 130)
        } else {
            90 + (self.exponential(500.0) as i64).min(3000)
        };
        opened - Days::new(u64::try_from(entered_days).unwrap_or(30))
    }

    /// A birthday of someone `min` to `max` years old when the case opens.
    fn born(&mut self, family: &Family, min: i64, max: i64) -> NaiveDate {
        let days = self.between(min * 365, max * 365 + 364);
        family.opened - Days::new(u64::try_from(days).unwrap_or(0))
    }

    fn unaccompanied_minor(&mut self, family: &Family) -> Person {
        let birth = self.born(family, 15, 17);
        let male = self.chance(0.85);
        let given = self.pick(family.names(male));
        Person {
            relationship: "principal",
            surname: family.surname,
            given_names: given,
            alias: None,
            birth,
            sex: sex(male),
            nationality: family.country.code,
            entry: family.entry.max(birth),
            travelling: true,
        }
    }

    /// The principal applicant of a household of `size` persons.
    fn principal(&mut self, family: &Family, size: usize, trafficking: bool) -> Person {
        let principal_age = self.weighted(&[
            ((18, 25), 25),
            ((26, 35), 35),
            ((36, 45), 22),
            ((46, 55), 12),
            ((56, 65), 6),
        ]);
        let principal_age = if trafficking { (20, 35) } else { principal_age };
        let birth = self.born(family, principal_age.0, principal_age.1);
        let male = if trafficking {
            self.chance(0.2)
        } else {
            self.chance(if size == 1 { 0.78 } else { 0.7 })
        };
        let given = self.pick(family.names(male));
        let alias = self.chance(0.04).then(|| {
            let other = self.pick(family.names(male));
            format!("{other} {}", family.surname)
        });
        Person {
            relationship: "principal",
            surname: family.surname,
            given_names: given,
            alias,
            birth,
            sex: sex(male),
            nationality: family.country.code,
            entry: family.entry,
            travelling: true,
        }
    }

    /// The spouse of a principal born on `principal_birth`, of the other sex.
    fn spouse(&mut self, family: &Family, principal_birth: NaiveDate, male: bool) -> Person {
        let gap = self.between(-3 * 365, 8 * 365);
        let gap = if male { gap } else { -gap };
        let birth = principal_birth
            .checked_add_signed(chrono::Duration::days(gap))
            .unwrap_or(principal_birth)
            .min(family.opened - Days::new(18 * 366));
        let own_name = self.chance(0.4);
        let later = self.chance(0.2);
        let entry = if later {
            (family.entry + Days::new(u64::try_from(self.between(30, 400)).unwrap_or(30)))
                .min(family.opened - Days::new(7))
        } else {
            family.entry
        };
        let surname = if own_name { self.pick(family.country.surnames) } else { family.surname };
        let given = self.pick(family.names(!male));
        let travelling = !self.chance(0.02);
        Person {
            relationship: "spouse",
            surname,
            given_names: given,
            alias: None,
            birth,
            sex: sex(!male),
            nationality: family.country.code,
            entry: entry.max(birth),
            travelling,
        }
    }

    /// A child for each position of `positions`; the youngest parent was at least 18 at
    /// each birth.
    fn children(
        &mut self,
        family: &Family,
        persons: &mut Vec<Person>,
        positions: std::ops::Range<usize>,
    ) {
        let opened = family.opened;
        let youngest_parent =
            persons.iter().map(|p| opened.year() - p.birth.year()).min().unwrap_or(18);
        let max_child_age = (youngest_parent - 18).clamp(0, 17);
        for _ in positions {
            let birth = self.born(family, 0, i64::from(max_child_age));
            let girl = self.chance(0.5);
            let given = self.pick(family.names(!girl));
            persons.push(Person {
                relationship: "child",
                surname: family.surname,
                given_names: given,
                alias: None,
                birth,
                sex: sex(!girl),
                nationality: family.country.code,
                // Born in Switzerland, or arrived with the family.
                entry: family.entry.max(birth),
                travelling: true,
            });
        }
    }

    /// A parent of the principal applicant, living with the household.
    fn elder(&mut self, family: &Family, principal_birth: NaiveDate) -> Person {
        let birth = principal_birth
            - Days::new(u64::try_from(self.between(20 * 365, 28 * 365)).unwrap_or(9000));
        let woman = self.chance(0.6);
        let given = self.pick(family.names(!woman));
        Person {
            relationship: "parent",
            surname: family.surname,
            given_names: given,
            alias: None,
            birth,
            sex: sex(!woman),
            nationality: family.country.code,
            entry: family.entry,
            travelling: true,
        }
    }

    /// The `case_persons` rows, with the next ZEMIS and N numbers.
    pub(super) fn person_rows(&mut self, opening: &Opening, persons: &[Person], batch: &mut Batch) {
        let created = opening.created;
        for (position, person) in persons.iter().enumerate() {
            let person_id = self.id_at(created);
            let zemis = zemis_number(self.person_index);
            let n = n_number(self.person_index);
            self.person_index += 1;
            let aliases: Vec<&str> = person.alias.as_deref().into_iter().collect();
            batch
                .tables
                .persons
                .uuid(person_id)
                .uuid(opening.id)
                .int(position as i64)
                .text(person.relationship)
                .text(person.surname)
                .text(person.given_names)
                .text_array(&aliases)
                .date(person.birth)
                .text(person.sex)
                .text(person.nationality)
                .text(&zemis)
                .text(&n)
                .text(opening.residence)
                .date(person.entry)
                .bool(person.travelling)
                .ts(created)
                .ts(created)
                .end();
        }
    }

    /// The `case_medical` row of a household with medical needs.
    pub(super) fn medical_row(&mut self, opening: &Opening, batch: &mut Batch) {
        let summary = self.pick(world::MEDICAL_SUMMARIES);
        let fit = self.chance(0.92);
        let escort = self.weighted(&[("none", 75), ("social", 15), ("medical", 10)]);
        let created = opening.created;
        batch
            .tables
            .medical
            .uuid(opening.id)
            .text(summary)
            .bool(fit)
            .text(escort)
            .ts(created)
            .end();
    }
}
