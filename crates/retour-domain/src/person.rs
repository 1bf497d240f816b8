//! The persons of a household: identity, asylum-procedure data and their parsing.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::CountryCode;
use crate::string_enum;
pub use crate::validation::EARLIEST_BIRTH;
use crate::validation::{DateSpan, Validation, parse_date, text};

/// The longest name or alias accepted.
pub const NAME_MAX: usize = 100;
/// The most aliases one person may have.
pub const ALIASES_MAX: usize = 10;

/// A ZEMIS number (the personal number in SEM's central migration information system):
/// exactly eight digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[schema(value_type = String, example = "12345678", pattern = "^[0-9]{8}$")]
pub struct ZemisNumber(String);

impl ZemisNumber {
    /// Eight ASCII digits, surrounding whitespace ignored.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        (value.len() == 8 && value.bytes().all(|b| b.is_ascii_digit()))
            .then(|| ZemisNumber(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An asylum dossier number (N number): `N` and six digits, stored as `N 123 456`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[schema(value_type = String, example = "N 123 456", pattern = "^N [0-9]{3} [0-9]{3}$")]
pub struct NNumber(String);

impl NNumber {
    /// Accepts the ways it is commonly written — `N 123 456`, `N123456`, `n 123456`,
    /// `N-123-456`, `N 123'456`, `N 123.456` — and normalises to `N 123 456`.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let rest = value.strip_prefix('N').or_else(|| value.strip_prefix('n'))?;
        let mut digits = String::with_capacity(6);
        let mut last_was_digit = false;
        for (i, c) in rest.chars().enumerate() {
            match c {
                '0'..='9' => {
                    digits.push(c);
                    last_was_digit = true;
                }
                // Separators only between groups, never doubled or trailing.
                ' ' | '-' | '.' | '\'' if (i == 0 || last_was_digit) => last_was_digit = false,
                _ => return None,
            }
        }
        if digits.len() != 6 || !last_was_digit {
            return None;
        }
        Some(NNumber(format!("N {} {}", &digits[..3], &digits[3..])))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form kept in the search index: `n123456`.
    pub fn compact(&self) -> String {
        self.0.replace(' ', "").to_ascii_lowercase()
    }
}

string_enum! {
    /// How a person relates to the principal applicant of the household.
    pub enum Relationship {
        /// The principal applicant; exactly one per case.
        Principal = "principal",
        Spouse = "spouse",
        Child = "child",
        Parent = "parent",
        Other = "other",
    }
}

string_enum! {
    /// Sex as recorded in the person's papers.
    pub enum Sex {
        Female = "female",
        Male = "male",
        Other = "other",
        Unknown = "unknown",
    }
}

string_enum! {
    /// The person's residence status in Switzerland.
    pub enum ResidenceStatus {
        /// Asylum seeker (permit N).
        AsylumSeeker = "N",
        /// Provisionally admitted (permit F).
        ProvisionallyAdmitted = "F",
        /// Recognised refugee.
        Refugee = "refugee",
        /// Protection status S.
        ProtectionS = "S",
        /// Rejected, or a non-entry decision.
        Rejected = "rejected",
        /// In a Dublin procedure.
        Dublin = "dublin",
        /// Victim of human trafficking.
        TraffickingVictim = "trafficking_victim",
    }
}

/// One member of a household, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub relationship: Relationship,
    pub surname: String,
    pub given_names: String,
    pub aliases: Vec<String>,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    pub nationality: CountryCode,
    /// Asylum-procedure data (never to a destination country): ZEMIS number, N number,
    /// residence status and date of entry.
    pub zemis_number: Option<ZemisNumber>,
    pub n_number: Option<NNumber>,
    pub residence_status: Option<ResidenceStatus>,
    pub entry_date: Option<NaiveDate>,
    /// Whether the person leaves with the household.
    pub travelling: bool,
}

impl Person {
    /// The names of the fields whose values differ between `self` and `other`.
    pub fn changed_fields(&self, other: &Person) -> Vec<&'static str> {
        let mut changed = Vec::new();
        let mut check = |differs: bool, name| {
            if differs {
                changed.push(name);
            }
        };
        check(self.relationship != other.relationship, "relationship");
        check(self.surname != other.surname, "surname");
        check(self.given_names != other.given_names, "given_names");
        check(self.aliases != other.aliases, "aliases");
        check(self.date_of_birth != other.date_of_birth, "date_of_birth");
        check(self.sex != other.sex, "sex");
        check(self.nationality != other.nationality, "nationality");
        check(self.zemis_number != other.zemis_number, "zemis_number");
        check(self.n_number != other.n_number, "n_number");
        check(self.residence_status != other.residence_status, "residence_status");
        check(self.entry_date != other.entry_date, "entry_date");
        check(self.travelling != other.travelling, "travelling");
        changed
    }
}

/// A person as a client sends it. Values are checked by [`parse_person`], which reports every
/// problem at once; absent and `null` are the same.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    #[schema(value_type = Relationship, required = true)]
    pub relationship: Option<String>,
    #[schema(value_type = String, required = true, max_length = 100, example = "Hassan")]
    pub surname: Option<String>,
    #[schema(value_type = String, required = true, max_length = 100, example = "Karim")]
    pub given_names: Option<String>,
    /// Other names the person is known by (at most 10).
    #[serde(default)]
    #[schema(max_items = 10)]
    pub aliases: Option<Vec<String>>,
    /// From 1900-01-01 to today.
    #[schema(value_type = NaiveDate, required = true)]
    pub date_of_birth: Option<String>,
    #[schema(value_type = Sex, required = true)]
    pub sex: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(value_type = String, required = true, example = "IQ")]
    pub nationality: Option<String>,
    /// Eight digits.
    #[schema(value_type = Option<String>, example = "12345678")]
    pub zemis_number: Option<String>,
    /// `N 123 456`; `N123456`, `N-123-456` and similar are accepted and normalised.
    #[schema(value_type = Option<String>, example = "N 123 456")]
    pub n_number: Option<String>,
    #[schema(value_type = Option<ResidenceStatus>)]
    pub residence_status: Option<String>,
    /// Date of entry into Switzerland: from the date of birth (and 1900-01-01) to today.
    #[schema(value_type = Option<NaiveDate>)]
    pub entry_date: Option<String>,
    /// Whether the person leaves with the household; `true` when absent.
    pub travelling: Option<bool>,
}

impl From<&Person> for PersonInput {
    fn from(person: &Person) -> Self {
        PersonInput {
            relationship: Some(person.relationship.as_str().to_owned()),
            surname: Some(person.surname.clone()),
            given_names: Some(person.given_names.clone()),
            aliases: Some(person.aliases.clone()),
            date_of_birth: Some(person.date_of_birth.to_string()),
            sex: Some(person.sex.as_str().to_owned()),
            nationality: Some(person.nationality.as_str().to_owned()),
            zemis_number: person.zemis_number.as_ref().map(|z| z.as_str().to_owned()),
            n_number: person.n_number.as_ref().map(|n| n.as_str().to_owned()),
            residence_status: person.residence_status.map(|r| r.as_str().to_owned()),
            entry_date: person.entry_date.map(|d| d.to_string()),
            travelling: Some(person.travelling),
        }
    }
}

/// `prefix.name`, or `name` when there is no prefix.
pub(crate) fn path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") }
}

pub(crate) fn required<'a>(
    v: &mut Validation,
    field: &str,
    value: &'a Option<String>,
) -> Option<&'a str> {
    if value.is_none() {
        v.push(field, "required", format!("{field} is required"));
    }
    value.as_deref()
}

/// A date written `YYYY-MM-DD`, in the years 1 to 9999.
pub(crate) fn date(v: &mut Validation, field: &str, value: &str) -> Option<NaiveDate> {
    v.check(parse_date(field, value))
}

/// A date written `YYYY-MM-DD` within `span`.
pub(crate) fn date_in(
    v: &mut Validation,
    field: &str,
    value: &str,
    span: DateSpan,
) -> Option<NaiveDate> {
    let day = date(v, field, value)?;
    v.check(span.check(field, day))
}

/// A value of a closed set; the message lists the accepted values.
pub(crate) fn one_of<T>(
    v: &mut Validation,
    field: &str,
    value: &str,
    parse: fn(&str) -> Option<T>,
    names: fn() -> String,
) -> Option<T> {
    let parsed = parse(value);
    if parsed.is_none() {
        v.push(field, "unknown_value", format!("{field} must be one of: {}", names()));
    }
    parsed
}

pub(crate) fn country(v: &mut Validation, field: &str, value: &str) -> Option<CountryCode> {
    let parsed = CountryCode::parse(value);
    if parsed.is_none() {
        v.push(
            field,
            "unknown_country",
            format!("{field} must be an assigned ISO 3166-1 alpha-2 country code, e.g. IQ"),
        );
    }
    parsed
}

/// A blank optional string counts as absent.
fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.trim().is_empty())
}

/// Parses one person; every error is recorded in `v` with its path under `prefix`
/// (`persons[1]`, or empty for a lone person). `today` bounds dates of birth and entry.
pub fn parse_person(
    v: &mut Validation,
    prefix: &str,
    input: &PersonInput,
    today: NaiveDate,
) -> Option<Person> {
    let f = |name: &str| path(prefix, name);
    let relationship = required(v, &f("relationship"), &input.relationship)
        .and_then(|s| one_of(v, &f("relationship"), s, Relationship::parse, Relationship::names));
    let surname = required(v, &f("surname"), &input.surname)
        .and_then(|s| v.check(text(&f("surname"), s, NAME_MAX)));
    let given_names = required(v, &f("given_names"), &input.given_names)
        .and_then(|s| v.check(text(&f("given_names"), s, NAME_MAX)));
    let aliases = parse_aliases(v, &f("aliases"), input.aliases.as_deref().unwrap_or_default());
    let lifetime = DateSpan::lifetime(today);
    let date_of_birth = required(v, &f("date_of_birth"), &input.date_of_birth)
        .and_then(|s| date_in(v, &f("date_of_birth"), s, lifetime));
    let sex = required(v, &f("sex"), &input.sex)
        .and_then(|s| one_of(v, &f("sex"), s, Sex::parse, Sex::names));
    let nationality = required(v, &f("nationality"), &input.nationality)
        .and_then(|s| country(v, &f("nationality"), s));
    let zemis_number = match present(&input.zemis_number) {
        None => Some(None),
        Some(s) => match ZemisNumber::parse(s) {
            Some(z) => Some(Some(z)),
            None => {
                v.push(
                    f("zemis_number"),
                    "invalid_format",
                    format!("{} must be exactly 8 digits", f("zemis_number")),
                );
                None
            }
        },
    };
    let n_number = match present(&input.n_number) {
        None => Some(None),
        Some(s) => match NNumber::parse(s) {
            Some(n) => Some(Some(n)),
            None => {
                v.push(
                    f("n_number"),
                    "invalid_format",
                    format!("{} must be N followed by 6 digits, e.g. N 123 456", f("n_number")),
                );
                None
            }
        },
    };
    let residence_status = match present(&input.residence_status) {
        None => Some(None),
        Some(s) => {
            one_of(v, &f("residence_status"), s, ResidenceStatus::parse, ResidenceStatus::names)
                .map(Some)
        }
    };
    let entry_date = match present(&input.entry_date) {
        None => Some(None),
        Some(s) => date_in(v, &f("entry_date"), s, lifetime).and_then(|d| {
            if date_of_birth.is_some_and(|birth| d < birth) {
                v.push(
                    f("entry_date"),
                    "before_birth",
                    format!("{} must not be before the date of birth", f("entry_date")),
                );
                None
            } else {
                Some(Some(d))
            }
        }),
    };
    Some(Person {
        relationship: relationship?,
        surname: surname?,
        given_names: given_names?,
        aliases: aliases?,
        date_of_birth: date_of_birth?,
        sex: sex?,
        nationality: nationality?,
        zemis_number: zemis_number?,
        n_number: n_number?,
        residence_status: residence_status?,
        entry_date: entry_date?,
        travelling: input.travelling.unwrap_or(true),
    })
}

fn parse_aliases(v: &mut Validation, field: &str, aliases: &[String]) -> Option<Vec<String>> {
    if aliases.len() > ALIASES_MAX {
        v.push(field, "too_many", format!("{field} must hold at most {ALIASES_MAX} names"));
        return None;
    }
    let mut parsed = Vec::with_capacity(aliases.len());
    let mut ok = true;
    for (i, alias) in aliases.iter().enumerate() {
        match v.check(text(&format!("{field}[{i}]"), alias, NAME_MAX)) {
            Some(a) if !parsed.contains(&a) => parsed.push(a),
            Some(_) => {}
            None => ok = false,
        }
    }
    ok.then_some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).expect("date")
    }

    fn input() -> PersonInput {
        PersonInput {
            relationship: Some("principal".into()),
            surname: Some("Hassan".into()),
            given_names: Some("Karim".into()),
            aliases: None,
            date_of_birth: Some("1988-04-12".into()),
            sex: Some("male".into()),
            nationality: Some("IQ".into()),
            zemis_number: Some("12345678".into()),
            n_number: Some("N 123 456".into()),
            residence_status: Some("N".into()),
            entry_date: Some("2024-02-01".into()),
            travelling: None,
        }
    }

    fn errors(input: &PersonInput) -> Vec<(String, String)> {
        let mut v = Validation::new();
        parse_person(&mut v, "persons[1]", input, today());
        v.into_errors().into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn zemis_numbers_are_exactly_eight_digits() {
        assert_eq!(ZemisNumber::parse(" 12345678 ").map(|z| z.0), Some("12345678".into()));
        for bad in ["1234567", "123456789", "1234567a", "", "1234 5678", "１２３４５６７８"]
        {
            assert_eq!(ZemisNumber::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn n_numbers_accept_common_spellings_and_are_normalised() {
        for good in [
            "N 123 456",
            "N123456",
            "n 123456",
            "N-123-456",
            "N 123'456",
            "N 123.456",
            " N 123 456 ",
        ] {
            assert_eq!(NNumber::parse(good).map(|n| n.0), Some("N 123 456".into()), "{good}");
        }
        for bad in [
            "123456",
            "N 12345",
            "N 1234567",
            "N  123 456",
            "X 123 456",
            "N 123 45a",
            "N 123 456-",
            "N",
        ] {
            assert_eq!(NNumber::parse(bad), None, "{bad}");
        }
        assert_eq!(NNumber::parse("N 123 456").map(|n| n.compact()), Some("n123456".into()));
    }

    #[test]
    fn a_complete_person_parses() {
        let mut v = Validation::new();
        let person = parse_person(&mut v, "", &input(), today()).expect("valid");
        assert!(v.is_empty());
        assert_eq!(person.relationship, Relationship::Principal);
        assert_eq!(person.residence_status, Some(ResidenceStatus::AsylumSeeker));
        assert!(person.travelling);
        assert_eq!(PersonInput::from(&person).relationship.as_deref(), Some("principal"));
    }

    #[test]
    fn every_bad_field_is_reported_with_its_path() {
        let bad = PersonInput {
            relationship: Some("cousin".into()),
            surname: None,
            given_names: Some("x".repeat(101)),
            aliases: Some(vec!["".into()]),
            date_of_birth: Some("2030-01-01".into()),
            sex: Some("m".into()),
            nationality: Some("XX".into()),
            zemis_number: Some("1234".into()),
            n_number: Some("123456".into()),
            residence_status: Some("B".into()),
            entry_date: Some("27.11.2026".into()),
            travelling: None,
        };
        assert_eq!(
            errors(&bad),
            [
                ("persons[1].relationship", "unknown_value"),
                ("persons[1].surname", "required"),
                ("persons[1].given_names", "too_long"),
                ("persons[1].aliases[0]", "required"),
                ("persons[1].date_of_birth", "in_future"),
                ("persons[1].sex", "unknown_value"),
                ("persons[1].nationality", "unknown_country"),
                ("persons[1].zemis_number", "invalid_format"),
                ("persons[1].n_number", "invalid_format"),
                ("persons[1].residence_status", "unknown_value"),
                ("persons[1].entry_date", "invalid_date"),
            ]
            .map(|(f, c)| (f.to_owned(), c.to_owned()))
        );
    }

    #[test]
    fn entry_must_follow_birth_and_not_be_in_the_future() {
        let before_birth = PersonInput { entry_date: Some("1980-01-01".into()), ..input() };
        assert_eq!(
            errors(&before_birth),
            [("persons[1].entry_date".into(), "before_birth".into())]
        );
        let future = PersonInput { entry_date: Some("2026-11-28".into()), ..input() };
        assert_eq!(errors(&future), [("persons[1].entry_date".into(), "in_future".into())]);
        let born_today = PersonInput {
            date_of_birth: Some("2026-11-27".into()),
            entry_date: Some("2026-11-27".into()),
            ..input()
        };
        assert!(errors(&born_today).is_empty());
    }

    #[test]
    fn births_and_entries_lie_between_1900_and_today_even_when_the_birth_is_invalid() {
        let unknown_birth = |entry: &str| PersonInput {
            date_of_birth: Some("soon".into()),
            entry_date: Some(entry.into()),
            ..input()
        };
        let entry_code = |entry: &str| {
            errors(&unknown_birth(entry))
                .into_iter()
                .find(|(field, _)| field == "persons[1].entry_date")
                .map(|(_, code)| code)
        };
        assert_eq!(entry_code("0000-05-01").as_deref(), Some("out_of_range"));
        assert_eq!(entry_code("1899-12-31").as_deref(), Some("too_early"));
        assert_eq!(entry_code("1900-01-01"), None);
        let born = |day: &str| PersonInput { date_of_birth: Some(day.into()), ..input() };
        assert_eq!(
            errors(&born("0000-01-01")),
            [("persons[1].date_of_birth".into(), "out_of_range".into())]
        );
        assert_eq!(
            errors(&born("1899-12-31")),
            [("persons[1].date_of_birth".into(), "too_early".into())]
        );
    }

    #[test]
    fn blank_optional_values_count_as_absent() {
        let blank = PersonInput {
            zemis_number: Some(" ".into()),
            n_number: Some(String::new()),
            ..input()
        };
        let mut v = Validation::new();
        let person = parse_person(&mut v, "", &blank, today()).expect("valid");
        assert_eq!((person.zemis_number, person.n_number), (None, None));
    }
}
