//! The vocabulary of return assistance: programmes, components, person categories, how a
//! tariff counts, the procedure phases of a federal asylum centre, the eligibility answers
//! and amounts per component. Shared by tariffs, entitlement, cases and the workflow.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::money::Rappen;
use crate::string_enum;

string_enum! {
    /// The return-assistance programme a case falls under.
    pub enum Programme {
        /// Departure from a canton (AsylV 2 Art. 74).
        Cantonal = "cantonal",
        /// Departure from a federal asylum centre (BAZ): amounts degressive by procedure phase.
        FederalCentre = "federal_centre",
        /// Persons renouncing protection status S (AsylV 2 Art. 76a).
        StatusS = "status_s",
    }
}

string_enum! {
    /// A part of the assistance, requested, approved and paid separately.
    pub enum AssistanceComponent {
        /// Starthilfe: cash paid at departure (AsylV 2 Art. 74 al. 2).
        StartupCash = "startup_cash",
        /// Materielle Zusatzhilfe: a reintegration project delivered in kind (Art. 74 al. 3–4).
        ReintegrationProject = "reintegration_project",
        /// Medicines, treatment after return, medical escort; amount decided by SEM (Art. 75).
        Medical = "medical",
        /// Reisegeld: cash for the journey (Art. 59a).
        TravelMoney = "travel_money",
        /// The actual ticket costs, paid by SEM (Art. 59, 73).
        TravelCosts = "travel_costs",
    }
}

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

string_enum! {
    /// Adult or minor, on the planned departure date (minor = under 18).
    pub enum PersonCategory {
        Adult = "adult",
        Minor = "minor",
    }
}

string_enum! {
    /// Whether a tariff amount counts once per travelling person or once per household.
    pub enum TariffBasis {
        PerPerson = "per_person",
        PerFamily = "per_family",
    }
}

string_enum! {
    /// Which rate of a tariff: the standard one, or the higher one granted for country or health
    /// reasons (travel money: AsylV 2 Art. 59a).
    #[derive(Default)]
    pub enum TariffRate {
        #[default]
        Standard = "standard",
        Higher = "higher",
    }
}

string_enum! {
    /// The phase of the asylum procedure in a federal asylum centre at which a person decides to
    /// return; the earlier, the higher the assistance. EXAMPLE names: the official phase table of
    /// the federal-centre programme is not public, so these phases and their tariffs are examples.
    pub enum ProcedurePhase {
        /// EXAMPLE: preparatory phase, before the asylum interview.
        Phase1 = "phase_1",
        /// EXAMPLE: Dublin or accelerated procedure, before the first-instance decision.
        Phase2 = "phase_2",
        /// EXAMPLE: after a negative first-instance decision.
        Phase3 = "phase_3",
        /// EXAMPLE: after the decision became final, or in the extended procedure.
        Phase4 = "phase_4",
    }
}

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
        check(&Programme::ALL, Programme::as_str, Programme::parse);
        check(&AssistanceComponent::ALL, AssistanceComponent::as_str, AssistanceComponent::parse);
        check(&PersonCategory::ALL, PersonCategory::as_str, PersonCategory::parse);
        check(&TariffBasis::ALL, TariffBasis::as_str, TariffBasis::parse);
        check(&TariffRate::ALL, TariffRate::as_str, TariffRate::parse);
        check(&ProcedurePhase::ALL, ProcedurePhase::as_str, ProcedurePhase::parse);
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
