//! The data-protection lifecycle of a case: the consents its persons give to each purpose
//! of processing, the retention of an ended case and the legal hold that extends it.
//!
//! A person consents on the information sheet of a version and a language, and signs it;
//! the signed sheet is a document of the case. A consent stands until it is withdrawn (a
//! withdrawal is recorded with its date, the consent itself is kept). A hand-over needs the
//! consent of the persons whose data goes: [`ConsentPurpose::TransferToMission`] of every
//! travelling adult before IOM Bern hands a reintegration to IOM's mission.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::person::{date, one_of, required};
use crate::string_enum;
use crate::validation::{DateSpan, FieldError, Validation, text};
use crate::{CaseStatus, CaseStatus as S};

string_enum! {
    /// What a person consents to.
    pub enum ConsentPurpose {
        /// Return counselling by the cantonal service, and the application to SEM.
        Counselling = "counselling",
        /// Handing the person's data to IOM Bern for the journey.
        TransferToIom = "transfer_to_iom",
        /// Handing the person's data to IOM's mission in the destination country for the
        /// reintegration.
        TransferToMission = "transfer_to_mission",
        /// Processing the person's medical data (fitness to travel, medical assistance).
        MedicalData = "medical_data",
    }
}

string_enum! {
    /// How a consent was given.
    pub enum ConsentMethod {
        /// The information sheet, signed by the person: a document of the case.
        SignedDocument = "signed_document",
    }
}

/// A consent as a client records it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// The person of the case (`persons[].id`) who consents.
    #[schema(value_type = Uuid, required = true)]
    pub person_id: Option<String>,
    #[schema(value_type = ConsentPurpose, required = true)]
    pub purpose: Option<String>,
    /// The version of the information sheet the person read, e.g. `2026-03`.
    #[schema(value_type = String, required = true, max_length = 50)]
    pub sheet_version: Option<String>,
    /// The language of the information sheet (ISO 639-1 or 639-2, lower case: `de`, `ti`,
    /// `prs`).
    #[schema(value_type = String, required = true, pattern = "^[a-z]{2,3}$")]
    pub sheet_language: Option<String>,
    /// The day the person signed, `YYYY-MM-DD`: not in the future.
    #[schema(value_type = chrono::NaiveDate, required = true)]
    pub given_on: Option<String>,
    /// `signed_document` (the default).
    #[schema(value_type = Option<ConsentMethod>)]
    pub method: Option<String>,
    /// The signed information sheet: a current document of the case.
    #[schema(value_type = Uuid, required = true)]
    pub document_id: Option<String>,
}

/// A valid consent to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsent {
    pub person_id: Uuid,
    pub purpose: ConsentPurpose,
    pub sheet_version: String,
    pub sheet_language: String,
    pub given_on: NaiveDate,
    pub method: ConsentMethod,
    pub document_id: Uuid,
}

/// The longest information-sheet version.
pub const SHEET_VERSION_MAX: usize = 50;

fn id(v: &mut Validation, field: &str, value: &Option<String>) -> Option<Uuid> {
    let value = required(v, field, value)?;
    match Uuid::parse_str(value.trim()) {
        Ok(id) => Some(id),
        Err(_) => {
            v.push(field, "invalid_format", format!("{field} must be an id (a UUID)"));
            None
        }
    }
}

/// Checks a consent against `today` (its day may not lie ahead, nor years back).
pub fn parse_consent(
    input: &ConsentInput,
    today: NaiveDate,
) -> Result<NewConsent, Vec<FieldError>> {
    let mut v = Validation::new();
    let person_id = id(&mut v, "person_id", &input.person_id);
    let purpose = required(&mut v, "purpose", &input.purpose)
        .and_then(|s| one_of(&mut v, "purpose", s, ConsentPurpose::parse, ConsentPurpose::names));
    let sheet_version = required(&mut v, "sheet_version", &input.sheet_version)
        .and_then(|s| v.check(text("sheet_version", s, SHEET_VERSION_MAX)));
    let sheet_language = required(&mut v, "sheet_language", &input.sheet_language).and_then(|s| {
        let s = s.trim();
        let valid = (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase());
        if !valid {
            v.push(
                "sheet_language",
                "invalid_format",
                "sheet_language must be a language code of two or three lower-case letters (de, ti, prs)",
            );
        }
        valid.then(|| s.to_owned())
    });
    let given_on = required(&mut v, "given_on", &input.given_on)
        .and_then(|s| date(&mut v, "given_on", s))
        .and_then(|d| v.check(DateSpan::past_events(today).check("given_on", d)));
    let method = match input.method.as_deref() {
        None => Some(ConsentMethod::SignedDocument),
        Some(s) => one_of(&mut v, "method", s, ConsentMethod::parse, ConsentMethod::names),
    };
    let document_id = id(&mut v, "document_id", &input.document_id);
    match (person_id, purpose, sheet_version, sheet_language, given_on, method, document_id) {
        (
            Some(person_id),
            Some(purpose),
            Some(sheet_version),
            Some(sheet_language),
            Some(given_on),
            Some(method),
            Some(document_id),
        ) => v.finish(NewConsent {
            person_id,
            purpose,
            sheet_version,
            sheet_language,
            given_on,
            method,
            document_id,
        }),
        _ => Err(v.into_errors()),
    }
}

/// A withdrawal as a client records it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalInput {
    /// The day the person withdrew the consent, `YYYY-MM-DD`: not in the future, not before
    /// the consent was given.
    #[schema(value_type = chrono::NaiveDate, required = true)]
    pub withdrawn_on: Option<String>,
}

/// Checks a withdrawal of a consent given on `given_on`.
pub fn parse_withdrawal(
    input: &WithdrawalInput,
    given_on: NaiveDate,
    today: NaiveDate,
) -> Result<NaiveDate, Vec<FieldError>> {
    let mut v = Validation::new();
    let withdrawn_on = required(&mut v, "withdrawn_on", &input.withdrawn_on)
        .and_then(|s| date(&mut v, "withdrawn_on", s))
        .and_then(|d| v.check(DateSpan::past_events(today).check("withdrawn_on", d)));
    if let Some(day) = withdrawn_on.filter(|day| *day < given_on) {
        v.push(
            "withdrawn_on",
            "before_consent",
            format!("withdrawn_on ({day}) must not be before the consent was given ({given_on})"),
        );
    }
    match withdrawn_on {
        Some(day) => v.finish(day),
        None => Err(v.into_errors()),
    }
}

/// A legal hold as a client sets it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalHoldInput {
    /// Why the case must be kept past its retention (proceedings, an inquiry, an appeal):
    /// 1 to 2,000 characters, without personal data.
    #[schema(value_type = String, required = true, max_length = 2000)]
    pub reason: Option<String>,
}

/// The longest reason of a legal hold.
pub const HOLD_REASON_MAX: usize = 2000;

pub fn parse_legal_hold(input: &LegalHoldInput) -> Result<String, Vec<FieldError>> {
    let mut v = Validation::new();
    let reason = required(&mut v, "reason", &input.reason)
        .and_then(|s| v.check(text("reason", s, HOLD_REASON_MAX)));
    match reason {
        Some(reason) => v.finish(reason),
        None => Err(v.into_errors()),
    }
}

string_enum! {
    /// How a case ended, as the retention rules know it.
    pub enum EndState {
        Closed = "closed",
        Withdrawn = "withdrawn",
        Rejected = "rejected",
        Cancelled = "cancelled",
    }
}

impl EndState {
    /// The end state of a case in `status`, if it has ended.
    pub fn of(status: CaseStatus) -> Option<EndState> {
        match status {
            S::Closed => Some(EndState::Closed),
            S::Withdrawn => Some(EndState::Withdrawn),
            S::Rejected => Some(EndState::Rejected),
            S::Cancelled => Some(EndState::Cancelled),
            _ => None,
        }
    }
}

/// How many years a retention rule may keep a case.
pub const RETENTION_YEARS: std::ops::RangeInclusive<i32> = 1..=100;

/// A change of a retention rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionRuleInput {
    /// Years after the case's end, 1 to 100.
    #[schema(value_type = i32, required = true, minimum = 1, maximum = 100)]
    pub years: Option<i64>,
}

pub fn parse_retention_rule(input: &RetentionRuleInput) -> Result<i32, Vec<FieldError>> {
    match input.years {
        None => Err(vec![FieldError::new("years", "required", "years is required")]),
        Some(years) => match i32::try_from(years).ok().filter(|y| RETENTION_YEARS.contains(y)) {
            Some(years) => Ok(years),
            None => Err(vec![FieldError::new(
                "years",
                "out_of_range",
                format!("years must be {} to {}", RETENTION_YEARS.start(), RETENTION_YEARS.end()),
            )]),
        },
    }
}

/// The first day a case that ended on `ended_on` may be destroyed under a rule of `years`:
/// the anniversary of its end that many years later (29 February ends on 28 February).
pub fn destruction_due_on(ended_on: NaiveDate, years: i32) -> NaiveDate {
    let months = u32::try_from(years).unwrap_or(0).saturating_mul(12);
    ended_on.checked_add_months(Months::new(months)).unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    fn valid() -> ConsentInput {
        ConsentInput {
            person_id: Some(Uuid::from_u128(1).to_string()),
            purpose: Some("transfer_to_mission".into()),
            sheet_version: Some(" 2026-03 ".into()),
            sheet_language: Some("prs".into()),
            given_on: Some("2026-11-02".into()),
            method: None,
            document_id: Some(Uuid::from_u128(2).to_string()),
        }
    }

    #[test]
    fn a_consent_is_checked_field_by_field() {
        let today = day("2026-12-07");
        let consent = parse_consent(&valid(), today).expect("valid");
        assert_eq!(consent.purpose, ConsentPurpose::TransferToMission);
        assert_eq!(consent.sheet_version, "2026-03");
        assert_eq!(consent.method, ConsentMethod::SignedDocument);
        let errors = parse_consent(
            &ConsentInput {
                person_id: Some("x".into()),
                purpose: Some("marketing".into()),
                sheet_version: Some("".into()),
                sheet_language: Some("German".into()),
                given_on: Some("2027-01-01".into()),
                method: Some("oral".into()),
                document_id: None,
            },
            today,
        )
        .expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(
            fields,
            [
                ("person_id", "invalid_format"),
                ("purpose", "unknown_value"),
                ("sheet_version", "required"),
                ("sheet_language", "invalid_format"),
                ("given_on", "in_future"),
                ("method", "unknown_value"),
                ("document_id", "required"),
            ]
        );
    }

    #[test]
    fn a_withdrawal_follows_the_consent() {
        let today = day("2026-12-07");
        let input = |s: &str| WithdrawalInput { withdrawn_on: Some(s.into()) };
        assert_eq!(
            parse_withdrawal(&input("2026-12-01"), day("2026-11-02"), today),
            Ok(day("2026-12-01"))
        );
        let early =
            parse_withdrawal(&input("2026-11-01"), day("2026-11-02"), today).expect_err("early");
        assert_eq!(early[0].code, "before_consent");
        let ahead =
            parse_withdrawal(&input("2026-12-08"), day("2026-11-02"), today).expect_err("ahead");
        assert_eq!(ahead[0].code, "in_future");
    }

    #[test]
    fn retention_counts_whole_years_from_the_end() {
        assert_eq!(destruction_due_on(day("2026-12-07"), 2), day("2028-12-07"));
        assert_eq!(destruction_due_on(day("2024-02-29"), 1), day("2025-02-28"));
        assert_eq!(parse_retention_rule(&RetentionRuleInput { years: Some(10) }), Ok(10));
        for years in [Some(0), Some(101), Some(i64::MAX), None] {
            assert!(parse_retention_rule(&RetentionRuleInput { years }).is_err(), "{years:?}");
        }
        assert_eq!(EndState::of(CaseStatus::Rejected), Some(EndState::Rejected));
        assert_eq!(EndState::of(CaseStatus::Departed), None);
    }

    #[test]
    fn a_legal_hold_needs_a_reason() {
        assert_eq!(
            parse_legal_hold(&LegalHoldInput { reason: Some(" appeal ".into()) }),
            Ok("appeal".into())
        );
        assert_eq!(
            parse_legal_hold(&LegalHoldInput { reason: None }).expect_err("none")[0].code,
            "required"
        );
        let long = "x".repeat(HOLD_REASON_MAX + 1);
        assert_eq!(
            parse_legal_hold(&LegalHoldInput { reason: Some(long) }).expect_err("long")[0].code,
            "too_long"
        );
    }
}
