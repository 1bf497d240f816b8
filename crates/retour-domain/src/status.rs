//! The statuses a case moves through (see the workflow in `workflow`).

use crate::string_enum;

string_enum! {
    /// Where a case stands.
    pub enum CaseStatus {
        /// Being prepared with the counselling service; editable.
        Counselling = "counselling",
        /// Filed with SEM, waiting for review.
        Submitted = "submitted",
        /// A SEM officer is reviewing it.
        UnderReview = "under_review",
        /// SEM asked the counselling service a question; editable until answered.
        InfoRequested = "info_requested",
        Approved = "approved",
        Rejected = "rejected",
        TravelBooked = "travel_booked",
        Departed = "departed",
        Reintegration = "reintegration",
        Closed = "closed",
        Withdrawn = "withdrawn",
        Cancelled = "cancelled",
    }
}

impl CaseStatus {
    /// The counselling service may still edit the application.
    pub fn is_editable(self) -> bool {
        matches!(self, CaseStatus::Counselling | CaseStatus::InfoRequested)
    }

    /// A canton transfer is possible: before travel is booked (a booked journey leaves from
    /// where the person lives now), and not once the case has ended.
    pub fn transferable(self) -> bool {
        matches!(
            self,
            CaseStatus::Counselling
                | CaseStatus::Submitted
                | CaseStatus::UnderReview
                | CaseStatus::InfoRequested
                | CaseStatus::Approved
        )
    }

    /// No action leads out of this status.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            CaseStatus::Rejected
                | CaseStatus::Closed
                | CaseStatus::Withdrawn
                | CaseStatus::Cancelled
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(status.as_str()), Some(status));
        }
    }
}
