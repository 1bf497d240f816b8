//! The kinds of partner institution that take part in a case.

use crate::string_enum;

string_enum! {
    /// What an institution is, and so which roles its users may hold.
    pub enum InstitutionKind {
        /// A cantonal return counselling service (RKB) or IOM's counselling in a federal asylum centre.
        CounsellingService = "counselling_service",
        /// The State Secretariat for Migration, including swissREPAT.
        Sem = "sem",
        /// IOM's Swiss office.
        IomBern = "iom_bern",
        /// An IOM office in a destination country.
        IomMission = "iom_mission",
        /// The data-protection and audit function.
        Oversight = "oversight",
        /// Whoever runs the installation.
        Operator = "operator",
    }
}
