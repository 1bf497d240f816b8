//! Money, as whole Rappen (1 CHF = 100 Rappen) in an `i64`: never floating point. Sums go
//! through checked arithmetic; CHF formatting exists only for display.
//!
//! Display style: `CHF 3,500.00` — the currency code, a comma between thousands and a point
//! before the Rappen. This is the English-language style of the API's explanation texts
//! (Swiss German print would write `CHF 3’500.00`); clients that localise format the integer
//! `_rappen` fields themselves.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;

/// The largest amount a client sends for any one thing (a component requested or approved,
/// a payout, a disbursement, a reclaim, a tariff): CHF 1,000,000. Far above any assistance
/// (a few thousand francs), and low enough that sums of amounts never overflow.
pub const AMOUNT_MAX_RAPPEN: i64 = 100_000_000;

/// An amount of Swiss francs in Rappen. Serialised as a plain JSON integer.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
)]
#[serde(transparent)]
#[schema(value_type = i64, format = Int64, example = 100000)]
pub struct Rappen(i64);

impl Rappen {
    pub const ZERO: Rappen = Rappen(0);

    pub const fn new(rappen: i64) -> Self {
        Rappen(rappen)
    }

    /// Whole francs; `u32` francs always fit.
    pub const fn from_chf(francs: u32) -> Self {
        Rappen(francs as i64 * 100)
    }

    /// The amount in Rappen.
    pub const fn get(self) -> i64 {
        self.0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn checked_add(self, other: Rappen) -> Option<Rappen> {
        self.0.checked_add(other.0).map(Rappen)
    }

    pub fn checked_sub(self, other: Rappen) -> Option<Rappen> {
        self.0.checked_sub(other.0).map(Rappen)
    }

    pub fn checked_mul(self, factor: i64) -> Option<Rappen> {
        self.0.checked_mul(factor).map(Rappen)
    }

    /// Half the amount, rounded down to the Rappen.
    pub fn half(self) -> Rappen {
        Rappen(self.0.div_euclid(2))
    }

    /// Whether `amount` added to what was `used` of `limit` stays within it; if not, what
    /// remains of `limit` (never less than zero).
    pub fn room_for(limit: Rappen, used: Rappen, amount: Rappen) -> Result<(), Rappen> {
        if used.checked_add(amount).is_some_and(|total| total <= limit) {
            return Ok(());
        }
        Err(limit.checked_sub(used).unwrap_or(Rappen::ZERO).max(Rappen::ZERO))
    }

    /// The sum of `amounts`, or `None` on overflow.
    pub fn checked_sum(amounts: impl IntoIterator<Item = Rappen>) -> Option<Rappen> {
        amounts.into_iter().try_fold(Rappen::ZERO, Rappen::checked_add)
    }

    /// A non-negative amount given in a request, or an error naming `field`.
    pub fn parse_amount(field: &str, rappen: i64) -> Result<Rappen, FieldError> {
        if rappen < 0 {
            return Err(FieldError::new(
                field,
                "negative",
                format!("{field} must not be negative (an amount in Rappen)"),
            ));
        }
        Ok(Rappen(rappen))
    }

    /// `CHF 3,500.00`; negative amounts as `CHF -5.00`. For display only.
    pub fn format_chf(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let francs = (abs / 100).to_string();
        let cents = abs % 100;
        let mut grouped = String::with_capacity(francs.len() + francs.len() / 3);
        for (i, digit) in francs.chars().enumerate() {
            if i > 0 && (francs.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        format!("CHF {sign}{grouped}.{cents:02}")
    }
}

impl std::fmt::Display for Rappen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.format_chf())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn francs_are_a_hundred_rappen() {
        assert_eq!(Rappen::from_chf(1_000).get(), 100_000);
        assert_eq!(Rappen::from_chf(u32::MAX).get(), i64::from(u32::MAX) * 100);
        assert_eq!(Rappen::from_chf(0), Rappen::ZERO);
    }

    #[test]
    fn amounts_are_formatted_as_chf_with_thousands_separators() {
        assert_eq!(Rappen::new(0).format_chf(), "CHF 0.00");
        assert_eq!(Rappen::new(5).format_chf(), "CHF 0.05");
        assert_eq!(Rappen::new(10_000).format_chf(), "CHF 100.00");
        assert_eq!(Rappen::new(100_000).format_chf(), "CHF 1,000.00");
        assert_eq!(Rappen::new(350_050).format_chf(), "CHF 3,500.50");
        assert_eq!(Rappen::new(12_345_678_901).format_chf(), "CHF 123,456,789.01");
        assert_eq!(Rappen::new(-500).format_chf(), "CHF -5.00");
        assert_eq!(Rappen::new(i64::MIN).format_chf(), "CHF -92,233,720,368,547,758.08");
        assert_eq!(Rappen::from_chf(500).to_string(), "CHF 500.00");
    }

    #[test]
    fn arithmetic_is_checked() {
        let a = Rappen::new(100_000);
        assert_eq!(a.checked_add(Rappen::new(50_000)), Some(Rappen::new(150_000)));
        assert_eq!(a.checked_sub(Rappen::new(150_000)), Some(Rappen::new(-50_000)));
        assert_eq!(a.checked_mul(3), Some(Rappen::new(300_000)));
        assert_eq!(Rappen::new(i64::MAX).checked_add(Rappen::new(1)), None);
        assert_eq!(Rappen::new(i64::MIN).checked_sub(Rappen::new(1)), None);
        assert_eq!(Rappen::new(i64::MAX).checked_mul(2), None);
        assert_eq!(Rappen::checked_sum([a, a, a]), Some(Rappen::new(300_000)));
        assert_eq!(Rappen::checked_sum([Rappen::new(i64::MAX), a]), None);
        assert_eq!(Rappen::checked_sum([]), Some(Rappen::ZERO));
    }

    #[test]
    fn halving_rounds_down_to_the_rappen() {
        assert_eq!(Rappen::new(100_000).half(), Rappen::new(50_000));
        assert_eq!(Rappen::new(5).half(), Rappen::new(2));
    }

    #[test]
    fn serde_uses_a_plain_integer() {
        assert_eq!(serde_json::to_string(&Rappen::new(350_000)).ok(), Some("350000".to_owned()));
        let parsed: Option<Rappen> = serde_json::from_str("12345").ok();
        assert_eq!(parsed, Some(Rappen::new(12_345)));
        assert!(serde_json::from_str::<Rappen>("\"12345\"").is_err());
        assert!(serde_json::from_str::<Rappen>("12.5").is_err());
    }

    #[test]
    fn request_amounts_must_not_be_negative() {
        assert_eq!(Rappen::parse_amount("x_rappen", 0), Ok(Rappen::ZERO));
        let error = Rappen::parse_amount("payout.startup_cash_rappen", -1).expect_err("negative");
        assert_eq!(error.field, "payout.startup_cash_rappen");
        assert_eq!(error.code, "negative");
    }
}
