//! What an IOM mission records while it delivers a reintegration: the disbursements of the
//! approved project (support in kind) and its monitoring visits. Parsed at the edge, every
//! invalid field named; the total of the disbursements never exceeds the approved project.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Rappen;
use crate::person::{date_in, required};
use crate::validation::{DateSpan, FieldError, Validation, text};

pub use crate::money::AMOUNT_MAX_RAPPEN;
/// The longest purpose of a disbursement.
pub const PURPOSE_MAX: usize = 1000;
/// The longest outcome of a monitoring visit.
pub const OUTCOME_MAX: usize = 4000;

/// A disbursement as the mission sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisbursementInput {
    /// 1 to 100,000,000 Rappen; with the earlier disbursements at most the approved
    /// reintegration project.
    #[schema(value_type = i64, required = true, example = 120000)]
    pub amount_rappen: Option<i64>,
    /// What was paid for (1 to 1000 characters): `Sewing machine and fabric`.
    #[schema(value_type = String, required = true, max_length = 1000)]
    pub purpose: Option<String>,
    /// The day it was paid: not in the future, at most five years ago.
    #[schema(value_type = NaiveDate, required = true)]
    pub paid_on: Option<String>,
}

/// A valid disbursement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDisbursement {
    pub amount: Rappen,
    pub purpose: String,
    pub paid_on: NaiveDate,
}

/// Parses a disbursement; `paid_on` lies within a few years up to `today`.
pub fn parse_disbursement(
    input: &DisbursementInput,
    today: NaiveDate,
) -> Result<NewDisbursement, Vec<FieldError>> {
    let mut v = Validation::new();
    let amount = match input.amount_rappen {
        None => {
            v.push("amount_rappen", "required", "amount_rappen is required");
            None
        }
        Some(a) if !(1..=AMOUNT_MAX_RAPPEN).contains(&a) => {
            v.push(
                "amount_rappen",
                "out_of_range",
                format!("amount_rappen must be between 1 and {AMOUNT_MAX_RAPPEN}"),
            );
            None
        }
        Some(a) => Some(Rappen::new(a)),
    };
    let purpose = required(&mut v, "purpose", &input.purpose)
        .and_then(|s| v.check(text("purpose", s, PURPOSE_MAX)));
    let paid_on = required(&mut v, "paid_on", &input.paid_on)
        .and_then(|s| date_in(&mut v, "paid_on", s, DateSpan::past_events(today)));
    match (amount, purpose, paid_on) {
        (Some(amount), Some(purpose), Some(paid_on)) => {
            v.finish(NewDisbursement { amount, purpose, paid_on })
        }
        _ => Err(v.into_errors()),
    }
}

/// Checks that `amount` with what was `disbursed` before stays within the `approved`
/// reintegration project.
pub fn check_disbursement_total(
    approved: Rappen,
    disbursed: Rappen,
    amount: Rappen,
) -> Result<(), FieldError> {
    let remaining = match Rappen::room_for(approved, disbursed, amount) {
        Ok(()) => return Ok(()),
        Err(remaining) => remaining,
    };
    Err(FieldError::new(
        "amount_rappen",
        "exceeds_approval",
        format!(
            "amount_rappen: {remaining} of the approved reintegration project of {approved} \
             remain to be disbursed"
        ),
    ))
}

/// A monitoring visit as the mission sends it: planned (`due_on`) or done (`done_on`, with
/// its outcome, which a visit done must have).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitoringVisitInput {
    /// When the visit is due: at most five years ago or three years ahead.
    #[schema(value_type = NaiveDate, required = true)]
    pub due_on: Option<String>,
    /// When it took place: not in the future, at most five years ago. `null` for a visit
    /// still to do.
    #[schema(value_type = Option<NaiveDate>)]
    pub done_on: Option<String>,
    /// What the mission found (1 to 4000 characters): required for a visit done, refused
    /// for one still to do.
    #[schema(max_length = 4000)]
    pub outcome: Option<String>,
    /// How sustainable the reintegration looks, from 0 (not at all) to 1 (fully); only for a
    /// visit done.
    #[schema(minimum = 0, maximum = 1)]
    pub sustainability_score: Option<f64>,
}

/// A valid monitoring visit.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMonitoringVisit {
    pub due_on: NaiveDate,
    pub done_on: Option<NaiveDate>,
    pub outcome: Option<String>,
    pub sustainability_score: Option<f64>,
}

/// Parses a monitoring visit: its days lie within a few years of `today` (`done_on` not
/// after it), and a visit done has an outcome, a visit still to do none.
pub fn parse_monitoring_visit(
    input: &MonitoringVisitInput,
    today: NaiveDate,
) -> Result<NewMonitoringVisit, Vec<FieldError>> {
    let mut v = Validation::new();
    let due_on = required(&mut v, "due_on", &input.due_on)
        .and_then(|s| date_in(&mut v, "due_on", s, DateSpan::events(today)));
    let done_on = match input.done_on.as_deref() {
        None => Some(None),
        Some(s) => done_day(&mut v, s, today).map(Some),
    };
    // An invalid done_on is reported on its own; outcome and score are checked as for a
    // visit done.
    let (outcome, score) = findings(
        &mut v,
        input.done_on.is_some(),
        input.outcome.as_deref(),
        input.sustainability_score,
    );
    match (due_on, done_on, outcome, score) {
        (Some(due_on), Some(done_on), Some(outcome), Some(sustainability_score)) => {
            v.finish(NewMonitoringVisit { due_on, done_on, outcome, sustainability_score })
        }
        _ => Err(v.into_errors()),
    }
}

/// A planned monitoring visit recorded as done, as the mission sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitoringVisitDoneInput {
    /// When it took place: not in the future, not before the person departed, at most five
    /// years ago.
    #[schema(value_type = NaiveDate, required = true)]
    pub done_on: Option<String>,
    /// What the mission found (1 to 4000 characters).
    #[schema(value_type = String, required = true, max_length = 4000)]
    pub outcome: Option<String>,
    /// How sustainable the reintegration looks, from 0 (not at all) to 1 (fully).
    #[schema(minimum = 0, maximum = 1)]
    pub sustainability_score: Option<f64>,
}

/// A valid record of a planned visit done.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitoringVisitDone {
    pub done_on: NaiveDate,
    pub outcome: String,
    pub sustainability_score: Option<f64>,
}

/// Parses a planned visit recorded as done: `done_on` within a few years up to `today` and
/// not before the day the person departed (`departed_on`), with an outcome, and the score as
/// for a visit recorded done at once.
pub fn parse_monitoring_visit_done(
    input: &MonitoringVisitDoneInput,
    today: NaiveDate,
    departed_on: Option<NaiveDate>,
) -> Result<MonitoringVisitDone, Vec<FieldError>> {
    let mut v = Validation::new();
    let done_on = required(&mut v, "done_on", &input.done_on)
        .and_then(|s| done_day(&mut v, s, today))
        .and_then(|day| match departed_on {
            Some(departed) if day < departed => {
                v.push(
                    "done_on",
                    "before_departure",
                    format!("done_on must not be before the departure on {departed}"),
                );
                None
            }
            _ => Some(day),
        });
    let (outcome, score) =
        findings(&mut v, true, input.outcome.as_deref(), input.sustainability_score);
    match (done_on, outcome.flatten(), score) {
        (Some(done_on), Some(outcome), Some(sustainability_score)) => {
            v.finish(MonitoringVisitDone { done_on, outcome, sustainability_score })
        }
        _ => Err(v.into_errors()),
    }
}

/// The day a visit took place: not in the future, at most five years ago.
fn done_day(v: &mut Validation, value: &str, today: NaiveDate) -> Option<NaiveDate> {
    date_in(v, "done_on", value, DateSpan::past_events(today))
}

/// What a visit found: a visit `done` has an outcome (a visible text) and may have a
/// sustainability score from 0 to 1; a visit still to do has neither. `None` for an invalid
/// one, named in `v`.
fn findings(
    v: &mut Validation,
    done: bool,
    outcome: Option<&str>,
    score: Option<f64>,
) -> (Option<Option<String>>, Option<Option<f64>>) {
    let outcome = match outcome {
        None if done => {
            v.push("outcome", "required", "outcome is required for a visit done (done_on)");
            None
        }
        None => Some(None),
        Some(_) if !done => {
            v.push("outcome", "requires_done_on", "outcome is recorded for a visit done (done_on)");
            None
        }
        Some(s) => v.check(text("outcome", s, OUTCOME_MAX)).map(Some),
    };
    let score = match score {
        None => Some(None),
        Some(_) if !done => {
            v.push(
                "sustainability_score",
                "requires_done_on",
                "sustainability_score is recorded for a visit done (done_on)",
            );
            None
        }
        Some(s) if !(0.0..=1.0).contains(&s) => {
            v.push(
                "sustainability_score",
                "out_of_range",
                "sustainability_score must be between 0 and 1",
            );
            None
        }
        Some(s) => Some(Some(s)),
    };
    (outcome, score)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 1, 15).expect("date")
    }

    fn codes(errors: Vec<FieldError>) -> Vec<(String, String)> {
        errors.into_iter().map(|e| (e.field, e.code)).collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(f, c)| ((*f).to_owned(), (*c).to_owned())).collect()
    }

    #[test]
    fn a_disbursement_needs_an_amount_a_purpose_and_a_past_day() {
        let ok = DisbursementInput {
            amount_rappen: Some(120_000),
            purpose: Some(" Sewing machine ".into()),
            paid_on: Some("2027-01-10".into()),
        };
        let parsed = parse_disbursement(&ok, today()).expect("valid");
        assert_eq!(parsed.purpose, "Sewing machine");
        assert_eq!(parsed.amount, Rappen::new(120_000));
        assert_eq!(
            codes(parse_disbursement(&DisbursementInput::default(), today()).expect_err("empty")),
            pairs(&[
                ("amount_rappen", "required"),
                ("purpose", "required"),
                ("paid_on", "required")
            ])
        );
        let bad = DisbursementInput {
            amount_rappen: Some(0),
            purpose: Some(" ".into()),
            paid_on: Some("2027-01-16".into()),
        };
        assert_eq!(
            codes(parse_disbursement(&bad, today()).expect_err("invalid")),
            pairs(&[
                ("amount_rappen", "out_of_range"),
                ("purpose", "required"),
                ("paid_on", "in_future")
            ])
        );
    }

    #[test]
    fn disbursements_never_exceed_the_approved_project() {
        let approved = Rappen::from_chf(3_000);
        assert!(
            check_disbursement_total(approved, Rappen::from_chf(1_000), Rappen::from_chf(2_000))
                .is_ok()
        );
        let error =
            check_disbursement_total(approved, Rappen::from_chf(1_000), Rappen::new(200_001))
                .expect_err("above");
        assert_eq!(
            (error.field.as_str(), error.code.as_str()),
            ("amount_rappen", "exceeds_approval")
        );
        assert!(error.message.contains("CHF 2,000.00"), "{}", error.message);
        assert!(check_disbursement_total(Rappen::ZERO, Rappen::ZERO, Rappen::new(1)).is_err());
        assert!(check_disbursement_total(approved, Rappen::new(i64::MAX), Rappen::new(1)).is_err());
    }

    #[test]
    fn a_visit_is_planned_or_done_with_its_outcome_and_score() {
        let planned =
            MonitoringVisitInput { due_on: Some("2027-06-15".into()), ..Default::default() };
        let parsed = parse_monitoring_visit(&planned, today()).expect("valid");
        assert_eq!((parsed.done_on, parsed.outcome), (None, None));
        let done = MonitoringVisitInput {
            due_on: Some("2027-01-10".into()),
            done_on: Some("2027-01-12".into()),
            outcome: Some("Shop opened".into()),
            sustainability_score: Some(0.8),
        };
        assert_eq!(
            parse_monitoring_visit(&done, today()).expect("valid").sustainability_score,
            Some(0.8)
        );
        let early = MonitoringVisitInput {
            due_on: None,
            done_on: None,
            outcome: Some("x".into()),
            sustainability_score: Some(0.5),
        };
        assert_eq!(
            codes(parse_monitoring_visit(&early, today()).expect_err("invalid")),
            pairs(&[
                ("due_on", "required"),
                ("outcome", "requires_done_on"),
                ("sustainability_score", "requires_done_on")
            ])
        );
        let wrong = MonitoringVisitInput {
            due_on: Some("soon".into()),
            done_on: Some("2027-02-01".into()),
            outcome: None,
            sustainability_score: Some(1.5),
        };
        assert_eq!(
            codes(parse_monitoring_visit(&wrong, today()).expect_err("invalid")),
            pairs(&[
                ("due_on", "invalid_date"),
                ("done_on", "in_future"),
                ("outcome", "required"),
                ("sustainability_score", "out_of_range")
            ])
        );
    }

    #[test]
    fn a_visit_done_without_an_outcome_is_refused() {
        let silent = MonitoringVisitInput {
            due_on: Some("2027-01-10".into()),
            done_on: Some("2027-01-12".into()),
            outcome: None,
            sustainability_score: Some(0.7),
        };
        assert_eq!(
            codes(parse_monitoring_visit(&silent, today()).expect_err("no outcome")),
            pairs(&[("outcome", "required")])
        );
    }

    #[test]
    fn a_planned_visit_is_recorded_done_with_an_outcome_after_the_departure() {
        let departed = NaiveDate::from_ymd_opt(2026, 12, 15);
        let done = |day: &str, outcome: Option<&str>| MonitoringVisitDoneInput {
            done_on: Some(day.into()),
            outcome: outcome.map(Into::into),
            sustainability_score: Some(0.6),
        };
        let parsed = parse_monitoring_visit_done(
            &done("2027-01-12", Some(" Shop opened ")),
            today(),
            departed,
        )
        .expect("valid");
        assert_eq!(
            parsed,
            MonitoringVisitDone {
                done_on: NaiveDate::from_ymd_opt(2027, 1, 12).expect("date"),
                outcome: "Shop opened".to_owned(),
                sustainability_score: Some(0.6),
            }
        );
        assert!(
            parse_monitoring_visit_done(&done("2026-12-15", Some("x")), today(), departed).is_ok()
        );
        let refused = |input: MonitoringVisitDoneInput| {
            codes(parse_monitoring_visit_done(&input, today(), departed).expect_err("refused"))
        };
        assert_eq!(
            refused(done("2026-12-14", Some("x"))),
            pairs(&[("done_on", "before_departure")])
        );
        assert_eq!(refused(done("2027-01-16", Some("x"))), pairs(&[("done_on", "in_future")]));
        assert_eq!(refused(done("2027-01-12", Some("   "))), pairs(&[("outcome", "required")]));
        assert_eq!(
            refused(MonitoringVisitDoneInput::default()),
            pairs(&[("done_on", "required"), ("outcome", "required")])
        );
        let overrated = MonitoringVisitDoneInput {
            sustainability_score: Some(-0.1),
            ..done("2027-01-12", Some("x"))
        };
        assert_eq!(refused(overrated), pairs(&[("sustainability_score", "out_of_range")]));
    }

    #[test]
    fn the_days_of_disbursements_and_visits_lie_within_a_few_years_of_today() {
        let paid = |day: &str| DisbursementInput {
            amount_rappen: Some(100),
            purpose: Some("Tools".into()),
            paid_on: Some(day.into()),
        };
        for (day, code) in [
            ("0001-01-10", "too_early"),
            ("0000-01-10", "out_of_range"),
            ("2021-12-31", "too_early"),
        ] {
            assert_eq!(
                codes(parse_disbursement(&paid(day), today()).expect_err(day)),
                pairs(&[("paid_on", code)])
            );
        }
        assert!(parse_disbursement(&paid("2022-01-15"), today()).is_ok(), "five years back");

        let visit = |due: &str, done: Option<&str>| MonitoringVisitInput {
            due_on: Some(due.into()),
            done_on: done.map(Into::into),
            outcome: done.map(|_| "Shop opened".to_owned()),
            sustainability_score: None,
        };
        let refused = |input: MonitoringVisitInput| {
            codes(parse_monitoring_visit(&input, today()).expect_err("refused"))
        };
        assert_eq!(refused(visit("0000-06-01", None)), pairs(&[("due_on", "out_of_range")]));
        assert_eq!(refused(visit("-0001-06-01", None)).len(), 1);
        assert_eq!(refused(visit("2030-01-16", None)), pairs(&[("due_on", "too_far")]));
        assert!(parse_monitoring_visit(&visit("2030-01-15", None), today()).is_ok());
        assert_eq!(
            refused(visit("2027-01-10", Some("0001-01-12"))),
            pairs(&[("done_on", "too_early")])
        );
    }
}
