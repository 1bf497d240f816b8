//! A stored case as the domain's rules take it: the workflow's context, what SEM approved,
//! and the household and answers the entitlement is computed from. Built here, next to the
//! stored case, so that a handler only asks the rules and never maps records itself.

use chrono::{DateTime, Utc};
use retour_domain::Relationship;
use retour_domain::assistance::{AssistanceAmount, EligibilityAnswers};
use retour_domain::entitlement::HouseholdMember;
use retour_domain::workflow::{self, MissionFacts, PersonFacts, TransitionContext};

use super::StoredCase;

impl StoredCase {
    /// The workflow's view of the case (read with the full view): what its guards check at
    /// `now`, with the mission a `start_reintegration` names.
    pub fn transition_context(
        &self,
        mission: Option<MissionFacts>,
        now: DateTime<Utc>,
    ) -> TransitionContext {
        let eligibility = self.eligibility.unwrap_or_default();
        let reintegration = self.reintegration.as_ref().and_then(Option::as_ref);
        TransitionContext {
            status: self.head.status,
            now,
            persons: self
                .persons
                .iter()
                .map(|p| {
                    let person = &p.person;
                    PersonFacts {
                        principal: person.relationship == Relationship::Principal,
                        surname: !person.surname.trim().is_empty(),
                        given_names: !person.given_names.trim().is_empty(),
                        date_of_birth: true,
                        sex: true,
                        nationality: true,
                        residence_status: person.residence_status.is_some(),
                        zemis_number: person.zemis_number.is_some(),
                    }
                })
                .collect(),
            eligibility: workflow::EligibilityAnswers {
                criminal_offences: eligibility.criminal_offences,
                abuse: eligibility.abuse,
                sufficient_assets: eligibility.sufficient_assets,
                prior_assistance: eligibility.prior_assistance,
            },
            voluntariness_signed_on: self.voluntariness_declaration.flatten().map(|d| d.signed_on),
            requested_components: self.requested_assistance.as_ref().map_or(0, Vec::len),
            approved_assistance: self.approved_assistance(),
            destination_country: self.head.destination_country.as_str().to_owned(),
            mission,
            holding: self.head.holding(),
            disbursed_rappen: reintegration.map_or(0, |r| r.disbursed_rappen.get()),
            open_visits: reintegration.map_or(0, |r| {
                r.monitoring_visits.iter().filter(|visit| visit.done_on.is_none()).count()
            }),
            return_request_missing: false,
            mission_consent_missing: Vec::new(),
        }
    }

    /// What SEM approved, as the assistance rules take it (empty before the approval or when
    /// the reader's view withholds the assistance).
    pub fn approved_amounts(&self) -> Vec<AssistanceAmount> {
        self.decision.iter().flatten().flat_map(|d| d.approved_assistance.iter().copied()).collect()
    }

    /// The household as the entitlement counts it.
    pub fn household(&self) -> Vec<HouseholdMember> {
        self.persons
            .iter()
            .map(|p| HouseholdMember {
                date_of_birth: p.person.date_of_birth,
                entry_date: p.person.entry_date,
                travelling: p.person.travelling,
                principal: p.person.relationship == Relationship::Principal,
            })
            .collect()
    }

    /// The eligibility answers once all are given (an unanswered question counts as no
    /// exclusion ground only after every question was answered).
    pub fn eligibility_answers(&self) -> Option<EligibilityAnswers> {
        self.eligibility.filter(|e| e.is_answered()).map(|e| EligibilityAnswers {
            criminal_offences: e.criminal_offences.unwrap_or(false),
            abuse: e.abuse.unwrap_or(false),
            sufficient_assets: e.sufficient_assets.unwrap_or(false),
            prior_assistance: e.prior_assistance.unwrap_or(false),
        })
    }
}
