//! Reclaims of return assistance (AsylV 2 Art. 62 al. 5): a person who does not leave, or
//! who re-enters Switzerland, repays what was paid. SEM records the reclaim after a departure
//! or a cancellation and later marks it settled or waived. All reclaims of a case together
//! never exceed what was paid out to it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Rappen;
use crate::person::{one_of, required};
use crate::string_enum;
use crate::validation::{FieldError, Validation, text};

pub use crate::money::AMOUNT_MAX_RAPPEN;
/// The longest comment.
pub const COMMENT_MAX: usize = 10_000;

string_enum! {
    /// Why assistance is reclaimed.
    pub enum ReclaimReason {
        /// The person came back to Switzerland.
        ReEntry = "re_entry",
        /// The person did not leave.
        NonDeparture = "non_departure",
    }
}

string_enum! {
    /// Where a reclaim stands: `open` until repaid (`settled`) or given up (`waived`).
    pub enum ReclaimStatus {
        Open = "open",
        Settled = "settled",
        Waived = "waived",
    }
}

/// A reclaim as SEM sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReclaimInput {
    #[schema(value_type = ReclaimReason, required = true)]
    pub reason: Option<String>,
    /// The amount to repay: 1 to 100,000,000 Rappen, and with the case's other reclaims (open
    /// or settled) at most what was paid out to it.
    #[schema(value_type = i64, required = true, example = 100000)]
    pub amount_rappen: Option<i64>,
    /// At most 10,000 characters.
    pub comment: Option<String>,
}

/// A change of a reclaim's status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReclaimUpdateInput {
    /// `settled` or `waived`; an open reclaim changes once.
    #[schema(value_type = ReclaimStatus, required = true)]
    pub status: Option<String>,
    /// Replaces the comment when given; at most 10,000 characters.
    pub comment: Option<String>,
}

/// A valid new reclaim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReclaim {
    pub reason: ReclaimReason,
    pub amount_rappen: i64,
    pub comment: Option<String>,
}

/// A valid change of status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReclaimUpdate {
    pub status: ReclaimStatus,
    pub comment: Option<String>,
}

/// What was paid to a case as far as Retour records it, and what was reclaimed of it: the
/// bounds of a new reclaim.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReclaimBasis {
    /// The cash paid at the departure (start-up cash and travel money); `None` when the case
    /// never departed.
    pub payout: Option<Rappen>,
    /// The disbursements of the reintegration project.
    pub disbursed: Rappen,
    /// Everything SEM approved.
    pub approved: Rappen,
    /// The earlier reclaims that were not waived: open, or settled (repaid; what was paid
    /// out is reclaimed once).
    pub reclaimed: Rappen,
}

impl ReclaimBasis {
    /// The most the reclaims of the case may add up to: what was paid out to it, the cash at
    /// the departure and the disbursements. Before a departure Retour records no payment,
    /// but SEM may have advanced some of what it approved (a ticket bought, medical care): a
    /// non-departure is bounded by the approval.
    pub fn ceiling(&self) -> Rappen {
        match self.payout {
            Some(cash) => cash.checked_add(self.disbursed).unwrap_or(Rappen::new(i64::MAX)),
            None => self.approved,
        }
    }

    /// Checks a new reclaim of `amount_rappen` against the ceiling, with the reclaims before.
    pub fn check(&self, amount_rappen: i64) -> Result<(), FieldError> {
        let ceiling = self.ceiling();
        Rappen::room_for(ceiling, self.reclaimed, Rappen::new(amount_rappen)).map_err(|remaining| {
            FieldError::new(
                "amount_rappen",
                "exceeds_paid_out",
                format!(
                    "amount_rappen: {remaining} of the {ceiling} paid out to the case remain to \
                     be reclaimed"
                ),
            )
        })
    }
}

pub fn parse_reclaim(input: &ReclaimInput) -> Result<NewReclaim, Vec<FieldError>> {
    let mut v = Validation::new();
    let reason = required(&mut v, "reason", &input.reason)
        .and_then(|s| one_of(&mut v, "reason", s, ReclaimReason::parse, ReclaimReason::names));
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
        Some(a) => Some(a),
    };
    let comment = optional_comment(&mut v, input.comment.as_deref());
    match (reason, amount, comment) {
        (Some(reason), Some(amount_rappen), Some(comment)) => {
            v.finish(NewReclaim { reason, amount_rappen, comment })
        }
        _ => Err(v.into_errors()),
    }
}

pub fn parse_reclaim_update(input: &ReclaimUpdateInput) -> Result<ReclaimUpdate, Vec<FieldError>> {
    let mut v = Validation::new();
    let status = required(&mut v, "status", &input.status)
        .and_then(|s| one_of(&mut v, "status", s, ReclaimStatus::parse, ReclaimStatus::names))
        .and_then(|status| {
            if status == ReclaimStatus::Open {
                v.push("status", "invalid_value", "status must be settled or waived");
                None
            } else {
                Some(status)
            }
        });
    let comment = optional_comment(&mut v, input.comment.as_deref());
    match (status, comment) {
        (Some(status), Some(comment)) => v.finish(ReclaimUpdate { status, comment }),
        _ => Err(v.into_errors()),
    }
}

fn optional_comment(v: &mut Validation, value: Option<&str>) -> Option<Option<String>> {
    match value.filter(|s| !s.trim().is_empty()) {
        None => Some(None),
        Some(s) => v.check(text("comment", s, COMMENT_MAX)).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reclaim_names_its_reason_and_a_positive_amount() {
        let ok = ReclaimInput {
            reason: Some("re_entry".into()),
            amount_rappen: Some(100_000),
            comment: Some("  ".into()),
        };
        assert_eq!(
            parse_reclaim(&ok),
            Ok(NewReclaim {
                reason: ReclaimReason::ReEntry,
                amount_rappen: 100_000,
                comment: None
            })
        );
        let bad =
            ReclaimInput { reason: Some("fraud".into()), amount_rappen: Some(0), comment: None };
        let fields: Vec<(String, String)> = parse_reclaim(&bad)
            .expect_err("invalid")
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect();
        assert_eq!(
            fields,
            [
                ("reason".to_owned(), "unknown_value".to_owned()),
                ("amount_rappen".to_owned(), "out_of_range".to_owned())
            ]
        );
    }

    #[test]
    fn reclaims_add_up_to_at_most_what_was_paid_out() {
        // The departure paid CHF 1,700; nothing was disbursed.
        let departed = ReclaimBasis {
            payout: Some(Rappen::from_chf(1_700)),
            approved: Rappen::from_chf(4_700),
            ..ReclaimBasis::default()
        };
        assert_eq!(departed.ceiling(), Rappen::from_chf(1_700));
        assert_eq!(departed.check(170_000), Ok(()));
        let error = departed.check(100_000_000).expect_err("a million on CHF 1,700");
        assert_eq!(
            (error.field.as_str(), error.code.as_str()),
            ("amount_rappen", "exceeds_paid_out")
        );
        assert!(error.message.contains("CHF 1,700.00"), "{}", error.message);

        // Across reclaims: CHF 1,000 already open or settled leaves CHF 700.
        let reclaimed = ReclaimBasis { reclaimed: Rappen::from_chf(1_000), ..departed };
        assert_eq!(reclaimed.check(70_000), Ok(()));
        let error = reclaimed.check(70_001).expect_err("above what remains");
        assert!(error.message.contains("CHF 700.00"), "{}", error.message);

        // Disbursements count; before a departure, the approval bounds a non-departure.
        let reintegrated = ReclaimBasis { disbursed: Rappen::from_chf(3_000), ..departed };
        assert_eq!(reintegrated.ceiling(), Rappen::from_chf(4_700));
        let cancelled = ReclaimBasis { payout: None, ..departed };
        assert_eq!(cancelled.ceiling(), Rappen::from_chf(4_700));
        assert!(ReclaimBasis::default().check(1).is_err(), "nothing paid, nothing reclaimed");
        let overflowing = ReclaimBasis { reclaimed: Rappen::new(i64::MAX), ..departed };
        assert!(overflowing.check(1).is_err());
    }

    #[test]
    fn a_reclaim_is_settled_or_waived_never_reopened() {
        let settle = ReclaimUpdateInput { status: Some("settled".into()), comment: None };
        assert_eq!(parse_reclaim_update(&settle).map(|u| u.status), Ok(ReclaimStatus::Settled));
        let reopen = ReclaimUpdateInput { status: Some("open".into()), comment: None };
        assert_eq!(parse_reclaim_update(&reopen).expect_err("open")[0].code, "invalid_value");
        assert_eq!(
            parse_reclaim_update(&ReclaimUpdateInput::default()).expect_err("missing")[0].code,
            "required"
        );
    }
}
