//! Tariffs: the amounts of assistance as dated data. SEM changes them by directive, so an
//! amount is never a constant in code but a row with a validity period; a new version starts
//! where the current one ends, and the past is never edited.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use crate::assistance::{
    AssistanceComponent, PersonCategory, ProcedurePhase, Programme, TariffBasis, TariffRate,
};
use crate::money::{AMOUNT_MAX_RAPPEN, Rappen};
use crate::validation::{self, DateSpan, FieldError, Validation};

/// Longest legal reference text of a tariff.
pub const SOURCE_MAX_CHARS: usize = 500;

/// One version of one tariff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Tariff {
    pub programme: Programme,
    pub component: AssistanceComponent,
    /// Whom a per-person amount is for; `null` for every person, and always for a per-family
    /// amount.
    pub person_category: Option<PersonCategory>,
    /// The federal-centre procedure phase the amount belongs to; `null` for every phase.
    pub phase: Option<ProcedurePhase>,
    /// `higher`: the rate for country or health reasons, used when the case asks for it.
    pub rate: TariffRate,
    /// The maximum per person or per family; `null` when the component pays actual costs or
    /// SEM decides the amount.
    pub amount_rappen: Option<Rappen>,
    pub basis: TariffBasis,
    /// The most a household gets for this component, whatever its size.
    pub family_cap_rappen: Option<Rappen>,
    /// First day on which this version applies.
    pub valid_from: NaiveDate,
    /// First day on which it no longer applies (the next version's `valid_from`); `null`
    /// while it is the newest version.
    pub valid_to: Option<NaiveDate>,
    /// `true` for values that are not official (the federal-centre phase table is not public).
    pub is_example: bool,
    /// The legal reference.
    pub source: String,
}

/// What identifies a tariff across its versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TariffKey {
    pub programme: Programme,
    pub component: AssistanceComponent,
    pub person_category: Option<PersonCategory>,
    pub phase: Option<ProcedurePhase>,
    pub rate: TariffRate,
}

impl Tariff {
    /// Whether this version applies on `date` (`valid_from` inclusive, `valid_to` exclusive).
    pub fn applies_on(&self, date: NaiveDate) -> bool {
        self.valid_from <= date && self.valid_to.is_none_or(|end| date < end)
    }

    pub fn key(&self) -> TariffKey {
        TariffKey {
            programme: self.programme,
            component: self.component,
            person_category: self.person_category,
            phase: self.phase,
            rate: self.rate,
        }
    }

    /// The rules a new version must satisfy before it is stored: it starts today or later
    /// (and within a few years), its amounts are at most CHF 1,000,000, its fields fit
    /// together, and its source is given.
    pub fn check_new(&self, today: NaiveDate) -> Result<(), Vec<FieldError>> {
        let mut v = Validation::new();
        if self.valid_from < today {
            v.push(
                "valid_from",
                "in_the_past",
                format!(
                    "valid_from must be today ({today}) or later: what applied in the past is \
                     never changed"
                ),
            );
        } else {
            v.check(DateSpan::plans(today).check("valid_from", self.valid_from));
        }
        if self.valid_to.is_some() {
            v.push(
                "valid_to",
                "not_allowed",
                "a new version has no valid_to; it applies until a newer version starts",
            );
        }
        if self.basis == TariffBasis::PerFamily && self.person_category.is_some() {
            v.push("person_category", "not_allowed", "a per_family tariff has no person_category");
        }
        if self.phase.is_some() && self.programme != Programme::FederalCentre {
            v.push(
                "phase",
                "not_allowed",
                "only federal_centre tariffs depend on the procedure phase",
            );
        }
        let needs_amount = matches!(
            self.component,
            AssistanceComponent::StartupCash
                | AssistanceComponent::ReintegrationProject
                | AssistanceComponent::TravelMoney
        );
        if needs_amount && self.amount_rappen.is_none() {
            v.push(
                "amount_rappen",
                "required",
                format!("amount_rappen is required for {}", self.component),
            );
        }
        for (field, amount) in
            [("amount_rappen", self.amount_rappen), ("family_cap_rappen", self.family_cap_rappen)]
        {
            if amount.is_some_and(Rappen::is_negative) {
                v.push(field, "negative", format!("{field} must not be negative"));
            } else if amount.is_some_and(|a| a.get() > AMOUNT_MAX_RAPPEN) {
                v.push(
                    field,
                    "out_of_range",
                    format!("{field} must be at most {AMOUNT_MAX_RAPPEN} (CHF 1,000,000)"),
                );
            }
        }
        v.check(validation::text("source", &self.source, SOURCE_MAX_CHARS));
        v.finish(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn startup_adult() -> Tariff {
        Tariff {
            programme: Programme::Cantonal,
            component: AssistanceComponent::StartupCash,
            person_category: Some(PersonCategory::Adult),
            phase: None,
            rate: TariffRate::Standard,
            amount_rappen: Some(Rappen::from_chf(1_000)),
            basis: TariffBasis::PerPerson,
            family_cap_rappen: None,
            valid_from: date(2027, 1, 1),
            valid_to: None,
            is_example: false,
            source: "AsylV 2 Art. 74 al. 2".to_owned(),
        }
    }

    #[test]
    fn a_version_applies_from_valid_from_until_the_day_before_valid_to() {
        let mut t = startup_adult();
        t.valid_from = date(2019, 3, 1);
        t.valid_to = Some(date(2027, 1, 1));
        assert!(!t.applies_on(date(2019, 2, 28)));
        assert!(t.applies_on(date(2019, 3, 1)));
        assert!(t.applies_on(date(2026, 12, 31)));
        assert!(!t.applies_on(date(2027, 1, 1)));
        t.valid_to = None;
        assert!(t.applies_on(date(2099, 1, 1)));
    }

    #[test]
    fn a_valid_new_version_passes() {
        assert_eq!(startup_adult().check_new(date(2026, 11, 27)), Ok(()));
        assert_eq!(startup_adult().check_new(date(2027, 1, 1)), Ok(()));
    }

    #[test]
    fn a_new_version_that_contradicts_itself_names_every_field() {
        let mut t = startup_adult();
        t.valid_from = date(2026, 1, 1);
        t.valid_to = Some(date(2028, 1, 1));
        t.basis = TariffBasis::PerFamily;
        t.phase = Some(ProcedurePhase::Phase1);
        t.amount_rappen = None;
        t.family_cap_rappen = Some(Rappen::new(-1));
        t.source = " ".to_owned();
        let errors = t.check_new(date(2026, 11, 27)).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(
            fields,
            [
                ("valid_from", "in_the_past"),
                ("valid_to", "not_allowed"),
                ("person_category", "not_allowed"),
                ("phase", "not_allowed"),
                ("amount_rappen", "required"),
                ("family_cap_rappen", "negative"),
                ("source", "required"),
            ]
        );
    }

    #[test]
    fn a_new_version_starts_within_three_years_and_pays_at_most_a_million_francs() {
        let mut t = startup_adult();
        t.valid_from = date(3000, 1, 1);
        t.amount_rappen = Some(Rappen::new(AMOUNT_MAX_RAPPEN + 1));
        t.family_cap_rappen = Some(Rappen::new(i64::MAX));
        let errors = t.check_new(date(2026, 11, 27)).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(
            fields,
            [
                ("valid_from", "too_far"),
                ("amount_rappen", "out_of_range"),
                ("family_cap_rappen", "out_of_range"),
            ]
        );
        t.valid_from = date(2029, 11, 27);
        t.amount_rappen = Some(Rappen::new(AMOUNT_MAX_RAPPEN));
        t.family_cap_rappen = None;
        assert_eq!(t.check_new(date(2026, 11, 27)), Ok(()));
    }

    #[test]
    fn actual_cost_components_need_no_amount() {
        let mut t = startup_adult();
        t.component = AssistanceComponent::TravelCosts;
        t.person_category = None;
        t.amount_rappen = None;
        assert_eq!(t.check_new(date(2026, 11, 27)), Ok(()));
    }
}
