//! What a transition leaves behind: the parsed, typed record the store keeps beside the new
//! status (a decision, an itinerary, a payout, …), and the closed vocabularies it uses.

use crate::string_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub use crate::case::Escort;

/// The record of one transition, by action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionRecord {
    /// `submit`: the application goes to SEM as it stands.
    Submission,
    /// `start_review`: the SEM officer who took the case becomes its reviewer.
    ReviewStarted {
        reviewer_id: Uuid,
    },
    /// `request_info`: SEM's question to the counselling service.
    InfoRequest {
        question: String,
    },
    /// `answer_info`: the counselling service's answer.
    InfoAnswer {
        answer: String,
    },
    Approval(Approval),
    Rejection(Rejection),
    /// `book_travel`.
    Booking(Itinerary),
    /// `report_no_show`: the person did not board; the case goes back to be rebooked.
    NoShow {
        comment: String,
    },
    /// `confirm_departure`.
    Departure(Departure),
    /// `start_reintegration`: the IOM mission that delivers the reintegration.
    ReintegrationStarted {
        mission_id: Uuid,
    },
    Closure(Closure),
    /// `withdraw`: the person no longer wishes to return with assistance.
    Withdrawal {
        reason: String,
    },
    Cancellation(Cancellation),
}

impl TransitionRecord {
    /// The free text a history entry shows for this transition, if it has one.
    pub fn comment(&self) -> Option<&str> {
        match self {
            TransitionRecord::InfoRequest { question } => Some(question),
            TransitionRecord::InfoAnswer { answer } => Some(answer),
            TransitionRecord::Approval(approval) => Some(&approval.reasons),
            TransitionRecord::Rejection(rejection) => Some(&rejection.reasons),
            TransitionRecord::NoShow { comment } => Some(comment),
            TransitionRecord::Withdrawal { reason } => Some(reason),
            TransitionRecord::Closure(closure) => closure.comment.as_deref(),
            TransitionRecord::Cancellation(cancellation) => cancellation.comment.as_deref(),
            TransitionRecord::Submission
            | TransitionRecord::ReviewStarted { .. }
            | TransitionRecord::Booking(_)
            | TransitionRecord::Departure(_)
            | TransitionRecord::ReintegrationStarted { .. } => None,
        }
    }
}

/// Assistance component names as the API writes them (see domain.md, "Programmes and
/// assistance").
pub(crate) const COMPONENTS: [&str; 5] =
    ["startup_cash", "reintegration_project", "medical", "travel_money", "travel_costs"];

/// The component of an approved reintegration project.
pub(crate) const REINTEGRATION_PROJECT: &str = "reintegration_project";
pub(crate) const STARTUP_CASH: &str = "startup_cash";
pub(crate) const TRAVEL_MONEY: &str = "travel_money";

/// An amount SEM approved for one assistance component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApprovedAmount {
    /// `startup_cash`, `reintegration_project`, `medical`, `travel_money` or `travel_costs`.
    pub component: String,
    pub amount_rappen: i64,
}

impl ApprovedAmount {
    /// The amount as the assistance rules take it; `None` for a component they do not know
    /// (a request's validation refuses those before a rule sees them).
    pub fn amount(&self) -> Option<crate::assistance::AssistanceAmount> {
        Some(crate::assistance::AssistanceAmount {
            component: crate::assistance::AssistanceComponent::parse(&self.component)?,
            amount_rappen: crate::Rappen::new(self.amount_rappen),
        })
    }
}

/// SEM's decision to grant assistance. Never edited afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Approval {
    pub reasons: String,
    /// Why an amount above the tariff is granted, when one is.
    pub override_justification: Option<String>,
    /// One entry per component, each at most once.
    pub approved_assistance: Vec<ApprovedAmount>,
}

/// SEM's decision to refuse assistance. Never edited afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Rejection {
    pub legal_ground: LegalGround,
    pub reasons: String,
}

string_enum! {
    /// The legal ground of a rejection (AsylV 2 Art. 62–64, 76a).
    pub enum LegalGround {
        /// Excluded for a crime or repeated offences.
        CrimeOrRepeatedOffences = "crime_or_repeated_offences",
        /// Obvious abuse.
        Abuse = "abuse",
        SufficientAssets = "sufficient_assets",
        /// Assistance is granted only once, including by other European states.
        AlreadyReceived = "already_received",
        /// Nationals of visa-exempt countries get travel costs only.
        VisaExemptTravelOnly = "visa_exempt_travel_only",
        /// The justice department suspended assistance for the destination country.
        CountrySuspended = "country_suspended",
        Other = "other",
    }
}

/// A booked return journey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Itinerary {
    pub departure_airport: DepartureAirport,
    pub departure_at: DateTime<Utc>,
    /// IATA flight numbers in travel order, normalised (`TK1912`).
    pub flights: Vec<String>,
    /// IATA airport code (`EBL`).
    pub destination_airport: String,
    pub escort: Escort,
    /// Organised by IOM Bern for a vulnerable person (programme SIM).
    pub sim: bool,
}

string_enum! {
    /// The Swiss airports swissREPAT departs from.
    pub enum DepartureAirport {
        /// Zurich.
        Zrh = "ZRH",
        /// Geneva.
        Gva = "GVA",
        /// Basel-Mulhouse.
        Bsl = "BSL",
    }
}

/// The confirmed departure and the cash handed over at the airport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Departure {
    pub departed_at: DateTime<Utc>,
    pub payout: Payout,
}

/// Cash paid on departure, each part at most what SEM approved for its component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Payout {
    pub startup_cash_rappen: i64,
    pub travel_money_rappen: i64,
    /// The number of the signed receipt.
    pub receipt_reference: String,
}

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Closure {
    pub outcome: ClosureOutcome,
    pub comment: Option<String>,
}

string_enum! {
    /// The outcome recorded when IOM closes a case.
    pub enum ClosureOutcome {
        /// The support was delivered as planned (for a case without reintegration project: the
        /// person returned and received what was approved).
        Completed = "completed",
        /// The returnee gave up the reintegration before it was completed.
        Abandoned = "abandoned",
        /// The mission lost contact with the returnee.
        Unreachable = "unreachable",
        /// Anything else, explained in the comment.
        Other = "other",
    }
}

/// Why SEM cancelled an approved case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Cancellation {
    pub reason: CancelReason,
    pub comment: Option<String>,
}

string_enum! {
    /// The reason SEM cancels an approved case.
    pub enum CancelReason {
        /// The person did not come to the departure and is not rebooked.
        NoShow = "no_show",
        /// The person's whereabouts are unknown.
        Absconded = "absconded",
        /// The approval was revoked.
        Revoked = "revoked",
        Deceased = "deceased",
        /// The travel deadline passed without a departure and SEM did not extend it: the
        /// approval has expired.
        ApprovalExpired = "approval_expired",
        /// Anything else, explained in the comment.
        Other = "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_names_round_trip() {
        for value in LegalGround::ALL {
            assert_eq!(LegalGround::parse(value.as_str()), Some(value));
        }
        for value in DepartureAirport::ALL {
            assert_eq!(DepartureAirport::parse(value.as_str()), Some(value));
        }
        for value in Escort::ALL {
            assert_eq!(Escort::parse(value.as_str()), Some(value));
        }
        for value in ClosureOutcome::ALL {
            assert_eq!(ClosureOutcome::parse(value.as_str()), Some(value));
        }
        for value in CancelReason::ALL {
            assert_eq!(CancelReason::parse(value.as_str()), Some(value));
        }
    }

    fn json<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).expect("serialisable")
    }

    #[test]
    fn serde_names_match_the_parsed_names() {
        for value in LegalGround::ALL {
            assert_eq!(json(&value), format!("\"{}\"", value.as_str()));
        }
        for value in DepartureAirport::ALL {
            assert_eq!(json(&value), format!("\"{}\"", value.as_str()));
        }
        for value in Escort::ALL {
            assert_eq!(json(&value), format!("\"{}\"", value.as_str()));
        }
        for value in ClosureOutcome::ALL {
            assert_eq!(json(&value), format!("\"{}\"", value.as_str()));
        }
        for value in CancelReason::ALL {
            assert_eq!(json(&value), format!("\"{}\"", value.as_str()));
        }
    }
}
