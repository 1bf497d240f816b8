//! The vocabulary of return assistance: programmes, components, person categories, how a
//! tariff counts, the procedure phases of a federal asylum centre, the eligibility answers
//! and amounts per component. Shared by tariffs, entitlement, cases and the workflow.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::money::Rappen;

/// Names an enum's variants by their wire names, with `as_str`, `parse`, `names` and `ALL`.
macro_rules! wire_names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }

            pub fn parse(value: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == value)
            }

            /// The accepted values, for error messages: `a, b, c`.
            pub fn names() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// The return-assistance programme a case falls under.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Programme {
    /// Departure from a canton (AsylV 2 Art. 74).
    Cantonal,
    /// Departure from a federal asylum centre (BAZ): amounts degressive by procedure phase.
    FederalCentre,
    /// Persons renouncing protection status S (AsylV 2 Art. 76a).
    StatusS,
}

wire_names!(Programme {
    Cantonal => "cantonal",
    FederalCentre => "federal_centre",
    StatusS => "status_s",
});

/// A part of the assistance, requested, approved and paid separately.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AssistanceComponent {
    /// Starthilfe: cash paid at departure (AsylV 2 Art. 74 al. 2).
    StartupCash,
    /// Materielle Zusatzhilfe: a reintegration project delivered in kind (Art. 74 al. 3–4).
    ReintegrationProject,
    /// Medicines, treatment after return, medical escort; amount decided by SEM (Art. 75).
    Medical,
    /// Reisegeld: cash for the journey (Art. 59a).
    TravelMoney,
    /// The actual ticket costs, paid by SEM (Art. 59, 73).
    TravelCosts,
}

wire_names!(AssistanceComponent {
    StartupCash => "startup_cash",
    ReintegrationProject => "reintegration_project",
    Medical => "medical",
    TravelMoney => "travel_money",
    TravelCosts => "travel_costs",
});

impl AssistanceComponent {
    /// How explanation texts name the component.
    pub fn label(self) -> &'static str {
        match self {
            AssistanceComponent::StartupCash => "start-up cash",
            AssistanceComponent::ReintegrationProject => "reintegration project",
            AssistanceComponent::Medical => "medical assistance",
            AssistanceComponent::TravelMoney => "travel money",
            AssistanceComponent::TravelCosts => "travel costs",
        }
    }

    /// Paid in cash at departure, and so part of the payout confirmed at departure.
    pub fn is_cash_at_departure(self) -> bool {
        matches!(self, AssistanceComponent::StartupCash | AssistanceComponent::TravelMoney)
    }
}

/// Adult or minor, on the planned departure date (minor = under 18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PersonCategory {
    Adult,
    Minor,
}

wire_names!(PersonCategory { Adult => "adult", Minor => "minor" });

/// Whether a tariff amount counts once per travelling person or once per household.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TariffBasis {
    PerPerson,
    PerFamily,
}

wire_names!(TariffBasis { PerPerson => "per_person", PerFamily => "per_family" });

/// Which rate of a tariff: the standard one, or the higher one granted for country or health
/// reasons (travel money: AsylV 2 Art. 59a).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TariffRate {
    #[default]
    Standard,
    Higher,
}

wire_names!(TariffRate { Standard => "standard", Higher => "higher" });

/// The phase of the asylum procedure in a federal asylum centre at which a person decides to
/// return; the earlier, the higher the assistance. EXAMPLE names: the official phase table of
/// the federal-centre programme is not public, so these phases and their tariffs are examples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum ProcedurePhase {
    /// EXAMPLE: preparatory phase, before the asylum interview.
    #[serde(rename = "phase_1")]
    Phase1,
    /// EXAMPLE: Dublin or accelerated procedure, before the first-instance decision.
    #[serde(rename = "phase_2")]
    Phase2,
    /// EXAMPLE: after a negative first-instance decision.
    #[serde(rename = "phase_3")]
    Phase3,
    /// EXAMPLE: after the decision became final, or in the extended procedure.
    #[serde(rename = "phase_4")]
    Phase4,
}

wire_names!(ProcedurePhase {
    Phase1 => "phase_1",
    Phase2 => "phase_2",
    Phase3 => "phase_3",
    Phase4 => "phase_4",
});

/// The eligibility questions answered by the counsellor before submission
/// (AsylV 2 Art. 62–64). Each `true` is an exclusion ground from financial assistance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EligibilityAnswers {
    /// Convicted of a crime or of repeated offences.
    pub criminal_offences: bool,
    /// Obvious abuse of the assistance.
    pub abuse: bool,
    /// Has sufficient assets of their own.
    pub sufficient_assets: bool,
    /// Already received return assistance (in Switzerland or another European state).
    pub prior_assistance: bool,
}

impl EligibilityAnswers {
    /// The exclusion grounds answered `true`, as human-readable phrases.
    pub fn exclusion_grounds(&self) -> Vec<&'static str> {
        [
            (self.criminal_offences, "a crime or repeated offences"),
            (self.abuse, "obvious abuse"),
            (self.sufficient_assets, "sufficient assets of their own"),
            (self.prior_assistance, "return assistance already received"),
        ]
        .into_iter()
        .filter_map(|(answered, ground)| answered.then_some(ground))
        .collect()
    }
}

/// An amount for one component: requested by the counsellor or approved by SEM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AssistanceAmount {
    pub component: AssistanceComponent,
    pub amount_rappen: Rappen,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_and_match_serde() {
        fn check<T: Copy + PartialEq + std::fmt::Debug + Serialize>(
            all: &[T],
            as_str: fn(T) -> &'static str,
            parse: fn(&str) -> Option<T>,
        ) {
            for value in all {
                assert_eq!(parse(as_str(*value)), Some(*value));
                assert_eq!(
                    serde_json::to_value(value).ok(),
                    Some(serde_json::Value::String(as_str(*value).to_owned()))
                );
            }
        }
        check(Programme::ALL, Programme::as_str, Programme::parse);
        check(AssistanceComponent::ALL, AssistanceComponent::as_str, AssistanceComponent::parse);
        check(PersonCategory::ALL, PersonCategory::as_str, PersonCategory::parse);
        check(TariffBasis::ALL, TariffBasis::as_str, TariffBasis::parse);
        check(TariffRate::ALL, TariffRate::as_str, TariffRate::parse);
        check(ProcedurePhase::ALL, ProcedurePhase::as_str, ProcedurePhase::parse);
        assert_eq!(Programme::parse("Cantonal"), None);
    }

    #[test]
    fn exclusion_grounds_name_every_true_answer() {
        assert!(EligibilityAnswers::default().exclusion_grounds().is_empty());
        let answers =
            EligibilityAnswers { abuse: true, prior_assistance: true, ..Default::default() };
        assert_eq!(
            answers.exclusion_grounds(),
            ["obvious abuse", "return assistance already received"]
        );
    }
}
