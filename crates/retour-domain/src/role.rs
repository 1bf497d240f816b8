//! User roles, and which institution kind each belongs to.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::InstitutionKind;

/// What a user does within their institution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Counsellor,
    SemOfficer,
    SwissrepatOfficer,
    IomCoordinator,
    IomMissionOfficer,
    Auditor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Counsellor,
        Role::SemOfficer,
        Role::SwissrepatOfficer,
        Role::IomCoordinator,
        Role::IomMissionOfficer,
        Role::Auditor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Counsellor => "counsellor",
            Role::SemOfficer => "sem_officer",
            Role::SwissrepatOfficer => "swissrepat_officer",
            Role::IomCoordinator => "iom_coordinator",
            Role::IomMissionOfficer => "iom_mission_officer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }

    /// The one institution kind whose users may hold this role.
    pub fn institution_kind(self) -> InstitutionKind {
        match self {
            Role::Counsellor => InstitutionKind::CounsellingService,
            Role::SemOfficer | Role::SwissrepatOfficer => InstitutionKind::Sem,
            Role::IomCoordinator => InstitutionKind::IomBern,
            Role::IomMissionOfficer => InstitutionKind::IomMission,
            Role::Auditor => InstitutionKind::Oversight,
            Role::Admin => InstitutionKind::Operator,
        }
    }

    pub fn fits(self, kind: InstitutionKind) -> bool {
        self.institution_kind() == kind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_fits_exactly_one_institution_kind() {
        for role in Role::ALL {
            let fitting: Vec<_> =
                InstitutionKind::ALL.into_iter().filter(|k| role.fits(*k)).collect();
            assert_eq!(fitting, [role.institution_kind()], "{role:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
