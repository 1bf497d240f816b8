//! The kinds of partner institution that take part in a case.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an institution is, and so which roles its users may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstitutionKind {
    /// A cantonal return counselling service (RKB) or IOM's counselling in a federal asylum centre.
    CounsellingService,
    /// The State Secretariat for Migration, including swissREPAT.
    Sem,
    /// IOM's Swiss office.
    IomBern,
    /// An IOM office in a destination country.
    IomMission,
    /// The data-protection and audit function.
    Oversight,
    /// Whoever runs the installation.
    Operator,
}

impl InstitutionKind {
    pub const ALL: [InstitutionKind; 6] = [
        InstitutionKind::CounsellingService,
        InstitutionKind::Sem,
        InstitutionKind::IomBern,
        InstitutionKind::IomMission,
        InstitutionKind::Oversight,
        InstitutionKind::Operator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InstitutionKind::CounsellingService => "counselling_service",
            InstitutionKind::Sem => "sem",
            InstitutionKind::IomBern => "iom_bern",
            InstitutionKind::IomMission => "iom_mission",
            InstitutionKind::Oversight => "oversight",
            InstitutionKind::Operator => "operator",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}
