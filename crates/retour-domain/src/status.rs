//! The statuses a case moves through (see the workflow in `workflow`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Being prepared with the counselling service; editable.
    Counselling,
    /// Filed with SEM, waiting for review.
    Submitted,
    /// A SEM officer is reviewing it.
    UnderReview,
    /// SEM asked the counselling service a question; editable until answered.
    InfoRequested,
    Approved,
    Rejected,
    TravelBooked,
    Departed,
    Reintegration,
    Closed,
    Withdrawn,
    Cancelled,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 12] = [
        CaseStatus::Counselling,
        CaseStatus::Submitted,
        CaseStatus::UnderReview,
        CaseStatus::InfoRequested,
        CaseStatus::Approved,
        CaseStatus::Rejected,
        CaseStatus::TravelBooked,
        CaseStatus::Departed,
        CaseStatus::Reintegration,
        CaseStatus::Closed,
        CaseStatus::Withdrawn,
        CaseStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Counselling => "counselling",
            CaseStatus::Submitted => "submitted",
            CaseStatus::UnderReview => "under_review",
            CaseStatus::InfoRequested => "info_requested",
            CaseStatus::Approved => "approved",
            CaseStatus::Rejected => "rejected",
            CaseStatus::TravelBooked => "travel_booked",
            CaseStatus::Departed => "departed",
            CaseStatus::Reintegration => "reintegration",
            CaseStatus::Closed => "closed",
            CaseStatus::Withdrawn => "withdrawn",
            CaseStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// The counselling service may still edit the application.
    pub fn is_editable(self) -> bool {
        matches!(self, CaseStatus::Counselling | CaseStatus::InfoRequested)
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

impl std::fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
