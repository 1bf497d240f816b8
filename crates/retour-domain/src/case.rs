//! The case: one application per household, its fields, and the parsing of what clients send.
//!
//! References read `BE-2026-00042`: the canton of the counselling service, the year (Swiss
//! time) and a number counted without gaps per prefix and year. Counselling services in a
//! federal asylum centre have no canton; their prefix names their federal asylum region:
//! `FBE` Bern, `FNW` Nordwestschweiz, `FOS` Ostschweiz, `FTZ` Tessin und Zentralschweiz,
//! `FWE` Westschweiz, `FZH` Zürich, and `FED` for any other region. Three letters, so they
//! never collide with a canton.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::assistance::{AssistanceComponent, ProcedurePhase, Programme};
use crate::person::{PersonInput, country, date, one_of, parse_person, path, required};
use crate::string_enum;
use crate::validation::{DateSpan, FieldError, Validation, text};
use crate::workflow::{self, Action, TransitionContext};
use crate::{Actor, Canton, CaseStatus, CountryCode, Person, Relationship};

/// The most persons one household may have.
pub const PERSONS_MAX: usize = 20;
/// The longest medical summary accepted.
pub const MEDICAL_SUMMARY_MAX: usize = 4000;
pub use crate::money::AMOUNT_MAX_RAPPEN;

string_enum! {
    /// A vulnerability that shapes counselling, travel and reintegration.
    pub enum Vulnerability {
        UnaccompaniedMinor = "unaccompanied_minor",
        Medical = "medical",
        Elderly = "elderly",
        SingleParent = "single_parent",
        Trafficking = "trafficking",
        Disability = "disability",
    }
}

string_enum! {
    /// Who accompanies the travel.
    pub enum Escort {
        None = "none",
        Social = "social",
        Medical = "medical",
    }
}

string_enum! {
    /// Who may read a note on a case.
    pub enum NoteVisibility {
        /// Only the author's institution.
        Institution = "institution",
        /// Everyone who may see the case.
        Shared = "shared",
    }
}

/// Medical needs (sensitive).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Medical {
    /// The diagnosis summary.
    pub summary: Option<String>,
    pub fit_to_travel: Option<bool>,
    pub escort: Option<Escort>,
}

/// The answers to the exclusion grounds of AsylV 2 Art. 62–64; `None` is not yet answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct Eligibility {
    /// Excluded for a crime or repeated offences.
    pub criminal_offences: Option<bool>,
    /// Obvious abuse.
    pub abuse: Option<bool>,
    /// Sufficient assets of one's own.
    pub sufficient_assets: Option<bool>,
    /// Return assistance already received (also from another European state).
    pub prior_assistance: Option<bool>,
}

impl Eligibility {
    /// Every question has an answer.
    pub fn is_answered(&self) -> bool {
        self.criminal_offences.is_some()
            && self.abuse.is_some()
            && self.sufficient_assets.is_some()
            && self.prior_assistance.is_some()
    }
}

/// The signed declaration of voluntariness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VoluntarinessDeclaration {
    pub signed_on: NaiveDate,
}

/// An amount requested for one component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RequestedAssistance {
    pub component: AssistanceComponent,
    /// In Rappen (CHF 1 = 100), not negative.
    pub amount_rappen: i64,
}

/// The fields of a case the counselling service fills in and edits, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFields {
    pub programme: Programme,
    /// The phase of the asylum procedure, for the federal-centre programme only.
    pub procedure_phase: Option<ProcedurePhase>,
    pub destination_country: CountryCode,
    pub planned_departure_date: Option<NaiveDate>,
    /// Sorted, without repeats.
    pub vulnerabilities: Vec<Vulnerability>,
    pub medical: Option<Medical>,
    pub eligibility: Eligibility,
    pub voluntariness_declaration: Option<VoluntarinessDeclaration>,
    /// One entry per component, sorted by component.
    pub requested_assistance: Vec<RequestedAssistance>,
}

impl CaseFields {
    /// The names of the fields that differ between `self` and `other`.
    pub fn changed_fields(&self, other: &CaseFields) -> Vec<&'static str> {
        let mut changed = Vec::new();
        let mut check = |differs: bool, name| {
            if differs {
                changed.push(name);
            }
        };
        check(self.programme != other.programme, "programme");
        check(self.procedure_phase != other.procedure_phase, "procedure_phase");
        check(self.destination_country != other.destination_country, "destination_country");
        check(
            self.planned_departure_date != other.planned_departure_date,
            "planned_departure_date",
        );
        check(self.vulnerabilities != other.vulnerabilities, "vulnerabilities");
        check(self.medical != other.medical, "medical");
        check(self.eligibility != other.eligibility, "eligibility");
        check(
            self.voluntariness_declaration != other.voluntariness_declaration,
            "voluntariness_declaration",
        );
        check(self.requested_assistance != other.requested_assistance, "requested_assistance");
        changed
    }

    /// The names of the fields that hold something, for the access log of a creation.
    pub fn filled_fields(&self) -> Vec<&'static str> {
        let mut filled = vec!["programme", "destination_country"];
        if self.procedure_phase.is_some() {
            filled.push("procedure_phase");
        }
        if self.planned_departure_date.is_some() {
            filled.push("planned_departure_date");
        }
        if !self.vulnerabilities.is_empty() {
            filled.push("vulnerabilities");
        }
        if self.medical.is_some() {
            filled.push("medical");
        }
        if self.eligibility != Eligibility::default() {
            filled.push("eligibility");
        }
        if self.voluntariness_declaration.is_some() {
            filled.push("voluntariness_declaration");
        }
        if !self.requested_assistance.is_empty() {
            filled.push("requested_assistance");
        }
        filled
    }
}

/// A new case: its fields and its household, principal applicant first as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCase {
    pub fields: CaseFields,
    pub persons: Vec<Person>,
}

/// Medical needs as a client sends them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MedicalInput {
    /// Diagnosis summary (at most 4000 characters).
    #[schema(max_length = 4000)]
    pub summary: Option<String>,
    pub fit_to_travel: Option<bool>,
    #[schema(value_type = Option<Escort>)]
    pub escort: Option<String>,
}

/// The eligibility answers as a client sends them; `null` is not yet answered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EligibilityInput {
    pub criminal_offences: Option<bool>,
    pub abuse: Option<bool>,
    pub sufficient_assets: Option<bool>,
    pub prior_assistance: Option<bool>,
}

/// The declaration of voluntariness as a client sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoluntarinessInput {
    /// The day it was signed: not in the future, and at most five years ago when set or
    /// changed.
    #[schema(value_type = NaiveDate, required = true)]
    pub signed_on: Option<String>,
}

/// A requested amount as a client sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestedAssistanceInput {
    #[schema(value_type = AssistanceComponent, required = true)]
    pub component: Option<String>,
    /// In Rappen, 0 to 100,000,000.
    #[schema(value_type = i64, required = true, example = 100000)]
    pub amount_rappen: Option<i64>,
}

/// The editable fields of a case as a document: the target of a JSON merge patch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseFieldsInput {
    #[schema(value_type = Option<Programme>)]
    pub programme: Option<String>,
    /// The phase of the asylum procedure in which the person decided to return; only for
    /// the `federal_centre` programme, whose tariffs depend on it.
    #[schema(value_type = Option<ProcedurePhase>)]
    pub procedure_phase: Option<String>,
    /// ISO 3166-1 alpha-2; not `CH`.
    #[schema(value_type = Option<String>, example = "IQ")]
    pub destination_country: Option<String>,
    /// Not in the past, and at most three years ahead, when set or changed.
    #[schema(value_type = Option<NaiveDate>)]
    pub planned_departure_date: Option<String>,
    #[schema(value_type = Option<Vec<Vulnerability>>, max_items = 6)]
    pub vulnerabilities: Option<Vec<String>>,
    pub medical: Option<MedicalInput>,
    pub eligibility: Option<EligibilityInput>,
    pub voluntariness_declaration: Option<VoluntarinessInput>,
    /// One entry per component.
    #[schema(max_items = 5)]
    pub requested_assistance: Option<Vec<RequestedAssistanceInput>>,
}

/// A new case as a counsellor sends it. The canton, counselling service and responsible
/// counsellor come from the caller, never from the body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCaseInput {
    #[schema(value_type = Programme, required = true)]
    pub programme: Option<String>,
    /// The phase of the asylum procedure; only for the `federal_centre` programme.
    #[schema(value_type = Option<ProcedurePhase>)]
    pub procedure_phase: Option<String>,
    /// ISO 3166-1 alpha-2; not `CH`.
    #[schema(value_type = String, required = true, example = "IQ")]
    pub destination_country: Option<String>,
    /// Not in the past, and at most three years ahead.
    #[schema(value_type = Option<NaiveDate>)]
    pub planned_departure_date: Option<String>,
    /// The household: 1 to 20 persons, exactly one of them the principal applicant.
    #[schema(required = true, nullable = false, min_items = 1, max_items = 20)]
    pub persons: Option<Vec<PersonInput>>,
    #[schema(value_type = Option<Vec<Vulnerability>>, max_items = 6)]
    pub vulnerabilities: Option<Vec<String>>,
    pub medical: Option<MedicalInput>,
    pub eligibility: Option<EligibilityInput>,
    pub voluntariness_declaration: Option<VoluntarinessInput>,
    /// One entry per component.
    #[schema(max_items = 5)]
    pub requested_assistance: Option<Vec<RequestedAssistanceInput>>,
}

impl From<&CaseFields> for CaseFieldsInput {
    fn from(fields: &CaseFields) -> Self {
        CaseFieldsInput {
            programme: Some(fields.programme.as_str().to_owned()),
            procedure_phase: fields.procedure_phase.map(|p| p.as_str().to_owned()),
            destination_country: Some(fields.destination_country.as_str().to_owned()),
            planned_departure_date: fields.planned_departure_date.map(|d| d.to_string()),
            vulnerabilities: Some(
                fields.vulnerabilities.iter().map(|v| v.as_str().to_owned()).collect(),
            ),
            medical: fields.medical.as_ref().map(|m| MedicalInput {
                summary: m.summary.clone(),
                fit_to_travel: m.fit_to_travel,
                escort: m.escort.map(|e| e.as_str().to_owned()),
            }),
            eligibility: Some(EligibilityInput {
                criminal_offences: fields.eligibility.criminal_offences,
                abuse: fields.eligibility.abuse,
                sufficient_assets: fields.eligibility.sufficient_assets,
                prior_assistance: fields.eligibility.prior_assistance,
            }),
            voluntariness_declaration: fields
                .voluntariness_declaration
                .map(|d| VoluntarinessInput { signed_on: Some(d.signed_on.to_string()) }),
            requested_assistance: Some(
                fields
                    .requested_assistance
                    .iter()
                    .map(|r| RequestedAssistanceInput {
                        component: Some(r.component.as_str().to_owned()),
                        amount_rappen: Some(r.amount_rappen),
                    })
                    .collect(),
            ),
        }
    }
}

/// Parses a new case: every problem of the body at once, with paths such as
/// `persons[1].zemis_number`.
pub fn parse_new_case(input: NewCaseInput, today: NaiveDate) -> Result<NewCase, Vec<FieldError>> {
    let mut v = Validation::new();
    let fields_input = CaseFieldsInput {
        programme: input.programme,
        procedure_phase: input.procedure_phase,
        destination_country: input.destination_country,
        planned_departure_date: input.planned_departure_date,
        vulnerabilities: input.vulnerabilities,
        medical: input.medical,
        eligibility: input.eligibility,
        voluntariness_declaration: input.voluntariness_declaration,
        requested_assistance: input.requested_assistance,
    };
    let fields = parse_case_fields(&mut v, &fields_input, today, None);
    let persons = match input.persons {
        None => {
            v.push("persons", "required", "persons is required");
            None
        }
        Some(persons) => parse_household(&mut v, &persons, today),
    };
    match (fields, persons) {
        (Some(fields), Some(persons)) if v.is_empty() => Ok(NewCase { fields, persons }),
        _ => Err(v.into_errors()),
    }
}

/// Parses a household: each person, then the rules between them (1 to 20 persons, exactly
/// one principal applicant, no ZEMIS or N number twice).
fn parse_household(
    v: &mut Validation,
    inputs: &[PersonInput],
    today: NaiveDate,
) -> Option<Vec<Person>> {
    if inputs.is_empty() {
        v.push("persons", "required", "persons must hold at least the principal applicant");
        return None;
    }
    if inputs.len() > PERSONS_MAX {
        v.push("persons", "too_many", format!("a household has at most {PERSONS_MAX} persons"));
        return None;
    }
    let mut persons = Vec::with_capacity(inputs.len());
    let mut ok = true;
    for (i, input) in inputs.iter().enumerate() {
        let prefix = format!("persons[{i}]");
        match parse_person(v, &prefix, input, today) {
            Some(person) => {
                let known: Vec<&Person> = persons.iter().flatten().collect();
                check_person_in_household(v, &prefix, &person, &known, None);
                persons.push(Some(person));
            }
            None => {
                ok = false;
                persons.push(None);
            }
        }
    }
    let principal_sent = inputs.iter().any(|p| p.relationship.as_deref() == Some("principal"));
    if !principal_sent {
        v.push(
            "persons",
            "principal_required",
            "persons must hold exactly one principal applicant (relationship principal)",
        );
        ok = false;
    }
    if ok { persons.into_iter().collect() } else { None }
}

/// The rules between `person` (at `prefix`) and the other members of its household: one
/// principal applicant, who stays principal (`was_principal` for a change of an existing
/// person), and no ZEMIS or N number twice.
pub fn check_person_in_household(
    v: &mut Validation,
    prefix: &str,
    person: &Person,
    others: &[&Person],
    was_principal: Option<bool>,
) {
    let is_principal = person.relationship == Relationship::Principal;
    let field = path(prefix, "relationship");
    if was_principal == Some(true) && !is_principal {
        v.push(
            field,
            "principal_fixed",
            "the principal applicant stays the principal; open a new case for another applicant",
        );
    } else if is_principal
        && was_principal != Some(true)
        && others.iter().any(|o| o.relationship == Relationship::Principal)
    {
        v.push(field, "duplicate_principal", "the household already has a principal applicant");
    }
    if let Some(zemis) = &person.zemis_number
        && others.iter().any(|o| o.zemis_number.as_ref() == Some(zemis))
    {
        let field = path(prefix, "zemis_number");
        v.push(
            &field,
            "duplicate",
            format!("{field}: another person of the household has this ZEMIS number"),
        );
    }
    if let Some(n) = &person.n_number
        && others.iter().any(|o| o.n_number.as_ref() == Some(n))
    {
        let field = path(prefix, "n_number");
        v.push(
            &field,
            "duplicate",
            format!("{field}: another person of the household has this N number"),
        );
    }
}

/// Parses the editable fields of a case. `previous` is the stored state when a patch is
/// applied: a departure date or a declaration already stored may have aged out of its span
/// (into the past, or more than a few years back); a newly set one may not.
pub fn parse_case_fields(
    v: &mut Validation,
    input: &CaseFieldsInput,
    today: NaiveDate,
    previous: Option<&CaseFields>,
) -> Option<CaseFields> {
    let programme = required(v, "programme", &input.programme)
        .and_then(|s| one_of(v, "programme", s, Programme::parse, Programme::names));
    let procedure_phase = match input.procedure_phase.as_deref() {
        None => Some(None),
        Some(s) => one_of(v, "procedure_phase", s, ProcedurePhase::parse, ProcedurePhase::names)
            .and_then(|phase| {
                if programme.is_some_and(|p| p != Programme::FederalCentre) {
                    v.push(
                        "procedure_phase",
                        "not_allowed",
                        "procedure_phase is only recorded for the federal_centre programme",
                    );
                    None
                } else {
                    Some(Some(phase))
                }
            }),
    };
    let destination_country = required(v, "destination_country", &input.destination_country)
        .and_then(|s| country(v, "destination_country", s))
        .and_then(|c| {
            if c.as_str() == "CH" {
                v.push(
                    "destination_country",
                    "not_a_destination",
                    "destination_country must be a country other than Switzerland",
                );
                None
            } else {
                Some(c)
            }
        });
    let planned_departure_date = match input.planned_departure_date.as_deref() {
        None => Some(None),
        Some(s) => date(v, "planned_departure_date", s).and_then(|d| {
            let unchanged = previous.is_some_and(|p| p.planned_departure_date == Some(d));
            if unchanged {
                return Some(Some(d));
            }
            v.check(DateSpan::plans(today).check("planned_departure_date", d)).map(Some)
        }),
    };
    let vulnerabilities = {
        let mut parsed = Vec::new();
        let mut ok = true;
        let values = input.vulnerabilities.as_deref().unwrap_or_default();
        if values.len() > Vulnerability::ALL.len() {
            v.push(
                "vulnerabilities",
                "too_many",
                format!("vulnerabilities must hold at most {} values", Vulnerability::ALL.len()),
            );
        }
        for (i, value) in values.iter().take(Vulnerability::ALL.len()).enumerate() {
            let field = format!("vulnerabilities[{i}]");
            match one_of(v, &field, value, Vulnerability::parse, Vulnerability::names) {
                Some(x) => parsed.push(x),
                None => ok = false,
            }
        }
        parsed.sort();
        parsed.dedup();
        (ok && values.len() <= Vulnerability::ALL.len()).then_some(parsed)
    };
    let medical = match &input.medical {
        None => Some(None),
        Some(m) => parse_medical(v, m),
    };
    let eligibility =
        input.eligibility.as_ref().map_or_else(Eligibility::default, |e| Eligibility {
            criminal_offences: e.criminal_offences,
            abuse: e.abuse,
            sufficient_assets: e.sufficient_assets,
            prior_assistance: e.prior_assistance,
        });
    let voluntariness_declaration = match &input.voluntariness_declaration {
        None => Some(None),
        Some(d) => {
            let field = "voluntariness_declaration.signed_on";
            required(v, field, &d.signed_on).and_then(|s| date(v, field, s)).and_then(|signed_on| {
                let declaration = VoluntarinessDeclaration { signed_on };
                // A declaration already stored stays valid as it ages.
                let unchanged =
                    previous.is_some_and(|p| p.voluntariness_declaration == Some(declaration));
                if !unchanged {
                    v.check(DateSpan::past_events(today).check(field, signed_on))?;
                }
                Some(Some(declaration))
            })
        }
    };
    let requested_assistance =
        parse_requested(v, input.requested_assistance.as_deref().unwrap_or_default());
    Some(CaseFields {
        programme: programme?,
        procedure_phase: procedure_phase?,
        destination_country: destination_country?,
        planned_departure_date: planned_departure_date?,
        vulnerabilities: vulnerabilities?,
        medical: medical?,
        eligibility,
        voluntariness_declaration: voluntariness_declaration?,
        requested_assistance: requested_assistance?,
    })
}

/// Medical needs; an empty record is no record.
fn parse_medical(v: &mut Validation, input: &MedicalInput) -> Option<Option<Medical>> {
    let summary = match input.summary.as_deref().filter(|s| !s.trim().is_empty()) {
        None => Some(None),
        Some(s) => v.check(text("medical.summary", s, MEDICAL_SUMMARY_MAX)).map(Some),
    };
    let escort = match input.escort.as_deref() {
        None => Some(None),
        Some(s) => one_of(v, "medical.escort", s, Escort::parse, Escort::names).map(Some),
    };
    let medical =
        Medical { summary: summary?, fit_to_travel: input.fit_to_travel, escort: escort? };
    Some((medical != Medical::default()).then_some(medical))
}

fn parse_requested(
    v: &mut Validation,
    inputs: &[RequestedAssistanceInput],
) -> Option<Vec<RequestedAssistance>> {
    // One entry per component: a longer list cannot be valid, and is refused before its
    // entries are looked at.
    if inputs.len() > AssistanceComponent::ALL.len() {
        v.push(
            "requested_assistance",
            "too_many",
            format!(
                "requested_assistance must hold at most {} entries, one per component",
                AssistanceComponent::ALL.len()
            ),
        );
        return None;
    }
    let mut parsed: Vec<RequestedAssistance> = Vec::new();
    let mut seen: Vec<AssistanceComponent> = Vec::new();
    let mut ok = true;
    for (i, input) in inputs.iter().enumerate() {
        let prefix = format!("requested_assistance[{i}]");
        let component_field = format!("{prefix}.component");
        let component = required(v, &component_field, &input.component).and_then(|s| {
            one_of(v, &component_field, s, AssistanceComponent::parse, AssistanceComponent::names)
        });
        let amount_field = format!("{prefix}.amount_rappen");
        let amount = match input.amount_rappen {
            None => {
                v.push(&amount_field, "required", format!("{amount_field} is required"));
                None
            }
            Some(a) if a < 0 => {
                v.push(&amount_field, "negative", format!("{amount_field} must not be negative"));
                None
            }
            Some(a) if a > AMOUNT_MAX_RAPPEN => {
                v.push(
                    &amount_field,
                    "too_large",
                    format!("{amount_field} must be at most {AMOUNT_MAX_RAPPEN} (CHF 1,000,000)"),
                );
                None
            }
            Some(a) => Some(a),
        };
        if let Some(component) = component {
            if seen.contains(&component) {
                v.push(
                    &component_field,
                    "duplicate",
                    format!("{component_field}: {component} is requested twice"),
                );
                ok = false;
                continue;
            }
            seen.push(component);
        }
        match (component, amount) {
            (Some(component), Some(amount_rappen)) => {
                parsed.push(RequestedAssistance { component, amount_rappen })
            }
            _ => ok = false,
        }
    }
    parsed.sort_by_key(|r| r.component);
    ok.then_some(parsed)
}

/// A note as a client sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    /// 1 to 10,000 characters.
    #[schema(value_type = String, required = true, max_length = 10000)]
    pub body: Option<String>,
    /// `institution` (the default) or `shared`.
    #[schema(value_type = Option<NoteVisibility>)]
    pub visibility: Option<String>,
}

/// The longest note accepted.
pub const NOTE_MAX: usize = 10_000;

/// A valid new note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNote {
    pub body: String,
    pub visibility: NoteVisibility,
}

pub fn parse_note(input: &NoteInput) -> Result<NewNote, Vec<FieldError>> {
    let mut v = Validation::new();
    let body =
        required(&mut v, "body", &input.body).and_then(|s| v.check(text("body", s, NOTE_MAX)));
    let visibility = match input.visibility.as_deref() {
        None => Some(NoteVisibility::Institution),
        Some(s) => one_of(&mut v, "visibility", s, NoteVisibility::parse, NoteVisibility::names),
    };
    match (body, visibility) {
        (Some(body), Some(visibility)) => v.finish(NewNote { body, visibility }),
        _ => Err(v.into_errors()),
    }
}

/// The first part of a case's reference: the canton of the counselling service, or the
/// code of its federal asylum region (see the module documentation).
pub fn reference_prefix(canton: Option<Canton>, federal_region: Option<&str>) -> String {
    if let Some(canton) = canton {
        return canton.code().to_owned();
    }
    match federal_region.map(str::trim) {
        Some("Bern") => "FBE",
        Some("Nordwestschweiz") => "FNW",
        Some("Ostschweiz") => "FOS",
        Some("Tessin und Zentralschweiz") => "FTZ",
        Some("Westschweiz") => "FWE",
        Some("Zürich") => "FZH",
        _ => "FED",
    }
    .to_owned()
}

/// `BE-2026-00042`.
pub fn format_reference(prefix: &str, year: i32, number: i64) -> String {
    format!("{prefix}-{year}-{number:05}")
}

/// The workflow actions `actor` may take now on a case in `status` for which SEM approved
/// `approved` (empty before the approval), as every case response lists them in
/// `allowed_actions`: the status machine's answer ([`workflow::allowed_actions`]).
pub fn allowed_actions(
    actor: &Actor,
    status: CaseStatus,
    approved: Vec<workflow::ApprovedAmount>,
    holding: workflow::Holding,
) -> Vec<Action> {
    workflow::allowed_actions(actor, &TransitionContext::listing(status, approved).held(holding))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).expect("date")
    }

    fn person(relationship: &str, zemis: Option<&str>) -> PersonInput {
        PersonInput {
            relationship: Some(relationship.into()),
            surname: Some("Hassan".into()),
            given_names: Some("Karim".into()),
            date_of_birth: Some("1988-04-12".into()),
            sex: Some("male".into()),
            nationality: Some("IQ".into()),
            zemis_number: zemis.map(Into::into),
            ..PersonInput::default()
        }
    }

    fn case() -> NewCaseInput {
        NewCaseInput {
            programme: Some("cantonal".into()),
            destination_country: Some("IQ".into()),
            planned_departure_date: Some("2026-12-15".into()),
            persons: Some(vec![person("principal", Some("12345678")), person("child", None)]),
            ..NewCaseInput::default()
        }
    }

    fn codes(input: NewCaseInput) -> Vec<(String, String)> {
        parse_new_case(input, today())
            .expect_err("invalid")
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(f, c)| ((*f).to_owned(), (*c).to_owned())).collect()
    }

    #[test]
    fn a_minimal_case_parses() {
        let parsed = parse_new_case(case(), today()).expect("valid");
        assert_eq!(parsed.persons.len(), 2);
        assert_eq!(parsed.fields.programme, Programme::Cantonal);
        assert_eq!(
            parsed.fields.filled_fields(),
            ["programme", "destination_country", "planned_departure_date"]
        );
    }

    #[test]
    fn exactly_one_principal_applicant() {
        let none = NewCaseInput { persons: Some(vec![person("child", None)]), ..case() };
        assert_eq!(codes(none), pairs(&[("persons", "principal_required")]));
        let two = NewCaseInput {
            persons: Some(vec![person("principal", None), person("principal", None)]),
            ..case()
        };
        assert_eq!(codes(two), pairs(&[("persons[1].relationship", "duplicate_principal")]));
        let empty = NewCaseInput { persons: Some(vec![]), ..case() };
        assert_eq!(codes(empty), pairs(&[("persons", "required")]));
    }

    #[test]
    fn at_most_twenty_persons() {
        let mut persons = vec![person("principal", None)];
        persons.extend((0..20).map(|_| person("child", None)));
        assert_eq!(
            codes(NewCaseInput { persons: Some(persons), ..case() }),
            pairs(&[("persons", "too_many")])
        );
    }

    #[test]
    fn a_zemis_number_appears_once_per_household() {
        let input = NewCaseInput {
            persons: Some(vec![
                person("principal", Some("12345678")),
                person("spouse", Some("12345678")),
            ]),
            ..case()
        };
        assert_eq!(codes(input), pairs(&[("persons[1].zemis_number", "duplicate")]));
    }

    #[test]
    fn every_case_field_error_is_collected() {
        let input = NewCaseInput {
            programme: Some("private".into()),
            destination_country: Some("CH".into()),
            planned_departure_date: Some("2026-11-26".into()),
            vulnerabilities: Some(vec!["medical".into(), "poor".into()]),
            medical: Some(MedicalInput { escort: Some("nurse".into()), ..MedicalInput::default() }),
            voluntariness_declaration: Some(VoluntarinessInput {
                signed_on: Some("2026-12-01".into()),
            }),
            requested_assistance: Some(vec![
                RequestedAssistanceInput {
                    component: Some("startup_cash".into()),
                    amount_rappen: Some(-1),
                },
                RequestedAssistanceInput {
                    component: Some("startup_cash".into()),
                    amount_rappen: Some(5),
                },
                RequestedAssistanceInput { component: Some("gift".into()), amount_rappen: None },
            ]),
            persons: Some(vec![person("principal", Some("123"))]),
            ..NewCaseInput::default()
        };
        assert_eq!(
            codes(input),
            pairs(&[
                ("programme", "unknown_value"),
                ("destination_country", "not_a_destination"),
                ("planned_departure_date", "in_past"),
                ("vulnerabilities[1]", "unknown_value"),
                ("medical.escort", "unknown_value"),
                ("voluntariness_declaration.signed_on", "in_future"),
                ("requested_assistance[0].amount_rappen", "negative"),
                ("requested_assistance[1].component", "duplicate"),
                ("requested_assistance[2].component", "unknown_value"),
                ("requested_assistance[2].amount_rappen", "required"),
                ("persons[0].zemis_number", "invalid_format"),
            ])
        );
    }

    #[test]
    fn missing_required_fields_are_named() {
        assert_eq!(
            codes(NewCaseInput::default()),
            pairs(&[
                ("programme", "required"),
                ("destination_country", "required"),
                ("persons", "required")
            ])
        );
    }

    #[test]
    fn a_stored_past_departure_date_survives_a_patch_but_a_new_one_may_not_be_past() {
        let stored = parse_new_case(case(), today()).expect("valid").fields;
        let later = today() + chrono::Days::new(60);
        let mut v = Validation::new();
        let doc = CaseFieldsInput::from(&stored);
        assert_eq!(parse_case_fields(&mut v, &doc, later, Some(&stored)), Some(stored.clone()));
        let moved = CaseFieldsInput { planned_departure_date: Some("2026-12-16".into()), ..doc };
        assert_eq!(parse_case_fields(&mut v, &moved, later, Some(&stored)), None);
        assert_eq!(v.into_errors()[0].code, "in_past");
    }

    #[test]
    fn a_declaration_is_signed_within_five_years_and_a_departure_planned_within_three() {
        let signed = |day: &str| NewCaseInput {
            voluntariness_declaration: Some(VoluntarinessInput { signed_on: Some(day.into()) }),
            ..case()
        };
        let field = "voluntariness_declaration.signed_on";
        assert_eq!(codes(signed("0001-05-01")), pairs(&[(field, "too_early")]));
        assert_eq!(codes(signed("0000-05-01")), pairs(&[(field, "out_of_range")]));
        assert_eq!(codes(signed("2021-11-26")), pairs(&[(field, "too_early")]));
        assert!(parse_new_case(signed("2021-11-27"), today()).is_ok());
        let planned =
            |day: &str| NewCaseInput { planned_departure_date: Some(day.into()), ..case() };
        assert_eq!(codes(planned("2029-11-28")), pairs(&[("planned_departure_date", "too_far")]));
        assert!(parse_new_case(planned("2029-11-27"), today()).is_ok());

        // A declaration stored years ago stays as it is when other fields change.
        let stored = parse_new_case(signed("2026-11-01"), today()).expect("valid").fields;
        let years_later = today() + chrono::Days::new(6 * 366);
        let doc = CaseFieldsInput { planned_departure_date: None, ..(&stored).into() };
        let mut v = Validation::new();
        let patched = parse_case_fields(&mut v, &doc, years_later, Some(&stored));
        assert_eq!(
            patched.map(|f| f.voluntariness_declaration),
            Some(stored.voluntariness_declaration)
        );
        let resigned = CaseFieldsInput {
            voluntariness_declaration: Some(VoluntarinessInput {
                signed_on: Some("2026-10-01".into()),
            }),
            ..doc
        };
        assert_eq!(parse_case_fields(&mut v, &resigned, years_later, Some(&stored)), None);
        assert_eq!(v.into_errors()[0].code, "too_early");
    }

    #[test]
    fn changed_fields_names_what_differs() {
        let a = parse_new_case(case(), today()).expect("valid").fields;
        let mut b = a.clone();
        b.medical = Some(Medical { fit_to_travel: Some(true), ..Medical::default() });
        b.eligibility.abuse = Some(false);
        assert_eq!(a.changed_fields(&b), ["medical", "eligibility"]);
        assert!(a.changed_fields(&a).is_empty());
    }

    #[test]
    fn an_empty_medical_record_is_no_record() {
        let input = NewCaseInput { medical: Some(MedicalInput::default()), ..case() };
        assert_eq!(parse_new_case(input, today()).expect("valid").fields.medical, None);
    }

    #[test]
    fn notes_default_to_the_authors_institution() {
        let note =
            parse_note(&NoteInput { body: Some(" hi ".into()), visibility: None }).expect("valid");
        assert_eq!((note.body.as_str(), note.visibility), ("hi", NoteVisibility::Institution));
        let errors =
            parse_note(&NoteInput { body: Some("".into()), visibility: Some("public".into()) })
                .expect_err("invalid");
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn allowed_actions_come_from_the_status_table() {
        use crate::workflow::ApprovedAmount;
        use crate::{ActorKind, Role};
        let actor = |role: Role| Actor {
            id: uuid::Uuid::from_u128(1),
            kind: ActorKind::User { role },
            institution_id: uuid::Uuid::from_u128(2),
            institution_kind: role.institution_kind(),
            canton: None,
            mission_country: None,
        };
        let counsellor = actor(Role::Counsellor);
        assert_eq!(
            allowed_actions(
                &counsellor,
                CaseStatus::Counselling,
                Vec::new(),
                workflow::Holding::default()
            ),
            [Action::Submit, Action::Withdraw]
        );
        let iom = actor(Role::IomCoordinator);
        let project = vec![ApprovedAmount {
            component: "reintegration_project".to_owned(),
            amount_rappen: 300_000,
        }];
        assert_eq!(
            allowed_actions(&iom, CaseStatus::Departed, project, workflow::Holding::default()),
            [Action::StartReintegration]
        );
        assert_eq!(
            allowed_actions(&iom, CaseStatus::Departed, Vec::new(), workflow::Holding::default()),
            [Action::Close]
        );
        let mission = actor(Role::IomMissionOfficer);
        assert!(
            allowed_actions(
                &mission,
                CaseStatus::Reintegration,
                Vec::new(),
                workflow::Holding::default()
            )
            .is_empty()
        );
        assert!(
            allowed_actions(
                &counsellor,
                CaseStatus::Withdrawn,
                Vec::new(),
                workflow::Holding::default()
            )
            .is_empty()
        );
    }

    #[test]
    fn a_procedure_phase_belongs_to_the_federal_centre_programme() {
        let federal = NewCaseInput {
            programme: Some("federal_centre".into()),
            procedure_phase: Some("phase_2".into()),
            ..case()
        };
        let parsed = parse_new_case(federal, today()).expect("valid");
        assert_eq!(parsed.fields.procedure_phase, Some(ProcedurePhase::Phase2));
        let cantonal = NewCaseInput { procedure_phase: Some("phase_2".into()), ..case() };
        assert_eq!(codes(cantonal), pairs(&[("procedure_phase", "not_allowed")]));
        let unknown = NewCaseInput {
            programme: Some("federal_centre".into()),
            procedure_phase: Some("phase_9".into()),
            ..case()
        };
        assert_eq!(codes(unknown), pairs(&[("procedure_phase", "unknown_value")]));
    }

    #[test]
    fn references_use_the_canton_or_the_federal_region() {
        assert_eq!(
            format_reference(&reference_prefix(Some(Canton::Be), None), 2026, 42),
            "BE-2026-00042"
        );
        assert_eq!(reference_prefix(None, Some("Zürich")), "FZH");
        assert_eq!(reference_prefix(None, Some("Nowhere")), "FED");
        assert_eq!(format_reference("ZH", 2027, 123_456), "ZH-2027-123456");
    }
}

string_enum! {
    /// The order of a case list: newest first by this timestamp, then by id.
    #[derive(Default)]
    pub enum CaseSort {
        /// The last change (the default).
        #[default]
        UpdatedAt = "updated_at",
        /// The opening.
        CreatedAt = "created_at",
    }
}
