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
        /// The operator's administrator: institutions and their first administrators.
        Admin = "admin",
        /// An institution's administrator: its own users and service accounts.
        InstitutionAdmin = "institution_admin",
        /// The oversight's data protection officer: a person's own data, the retention rules.
        DataProtectionOfficer = "data_protection_officer",
    }
}

impl Role {
    /// The institution kinds whose users may hold this role: one for every role but the
    /// institution administrator, which every institution but the operator may have.
    pub fn institution_kinds(self) -> &'static [InstitutionKind] {
        use InstitutionKind::*;
        match self {
            Role::InstitutionAdmin => &[CounsellingService, Sem, IomBern, IomMission, Oversight],
            Role::Counsellor => &[CounsellingService],
            Role::SemOfficer | Role::SwissrepatOfficer => &[Sem],
            Role::IomCoordinator => &[IomBern],
            Role::IomMissionOfficer => &[IomMission],
            Role::Auditor | Role::DataProtectionOfficer => &[Oversight],
            Role::Admin => &[Operator],
        }
    }

    /// The first institution kind whose users may hold this role.
    pub fn institution_kind(self) -> InstitutionKind {
        match self {
            Role::InstitutionAdmin => InstitutionKind::CounsellingService,
            Role::Counsellor => InstitutionKind::CounsellingService,
            Role::SemOfficer | Role::SwissrepatOfficer => InstitutionKind::Sem,
            Role::IomCoordinator => InstitutionKind::IomBern,
            Role::IomMissionOfficer => InstitutionKind::IomMission,
            Role::Auditor | Role::DataProtectionOfficer => InstitutionKind::Oversight,
            Role::Admin => InstitutionKind::Operator,
        }
    }

    pub fn fits(self, kind: InstitutionKind) -> bool {
        self.institution_kinds().contains(&kind)
    }

    /// Administrators manage accounts and read no case and no access log.
    pub fn administers(self) -> bool {
        matches!(self, Role::Admin | Role::InstitutionAdmin)
    }

    /// A user of this role reads case data or the access log (or, as an institution's
    /// administrator, can make users who do): making one is a grant of access.
    pub fn grants_access(self) -> bool {
        self != Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_fits_the_institution_kinds_it_names() {
        for role in Role::ALL {
            let fitting: Vec<_> =
                InstitutionKind::ALL.into_iter().filter(|k| role.fits(*k)).collect();
            assert_eq!(fitting, role.institution_kinds(), "{role:?}");
            assert_eq!(role.institution_kinds()[0], role.institution_kind(), "{role:?}");
        }
        // Every institution but the operator may have administrators of its own.
        assert_eq!(
            Role::InstitutionAdmin.institution_kinds().len(),
            InstitutionKind::ALL.len() - 1
        );
        assert!(!Role::InstitutionAdmin.fits(InstitutionKind::Operator));
    }

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
