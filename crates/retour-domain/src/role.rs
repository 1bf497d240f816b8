//! User roles, and which institution kind each belongs to.

use crate::InstitutionKind;
use crate::string_enum;

string_enum! {
    /// What a user does within their institution.
    pub enum Role {
        Counsellor = "counsellor",
        SemOfficer = "sem_officer",
        SwissrepatOfficer = "swissrepat_officer",
        IomCoordinator = "iom_coordinator",
        IomMissionOfficer = "iom_mission_officer",
        Auditor = "auditor",
        Admin = "admin",
    }
}

impl Role {
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
