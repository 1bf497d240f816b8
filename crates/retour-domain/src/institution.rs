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

impl InstitutionKind {
    /// What an institution of this kind must say of where it works, given which of `canton`,
    /// `federal_region` and `country` it names: a counselling service a canton or a federal
    /// region (one of them), an IOM mission its country, the others none of them.
    pub fn check_location(
        self,
        canton: bool,
        federal_region: bool,
        country: bool,
    ) -> Vec<crate::FieldError> {
        use crate::FieldError;
        let mut errors = Vec::new();
        let given = [("canton", canton), ("federal_region", federal_region), ("country", country)];
        let takes: &[&str] = match self {
            InstitutionKind::CounsellingService => {
                match (canton, federal_region) {
                    (false, false) => errors.push(FieldError::new(
                        "canton",
                        "required",
                        "a counselling service needs a canton or a federal_region",
                    )),
                    (true, true) => errors.push(FieldError::new(
                        "federal_region",
                        "not_allowed",
                        "a counselling service has either a canton or a federal_region, not both",
                    )),
                    _ => {}
                }
                &["canton", "federal_region"]
            }
            InstitutionKind::IomMission => {
                if !country {
                    errors.push(FieldError::new(
                        "country",
                        "required",
                        "an IOM mission needs its country",
                    ));
                }
                &["country"]
            }
            _ => &[],
        };
        for (field, _) in given.into_iter().filter(|(f, g)| *g && !takes.contains(f)) {
            errors.push(FieldError::new(
                field,
                "not_allowed",
                format!("an institution of kind {} has no {field}", self.as_str()),
            ));
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::InstitutionKind::*;

    fn codes(errors: Vec<crate::FieldError>) -> Vec<(String, String)> {
        errors.into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn each_kind_names_where_it_works_as_its_kind_requires() {
        let pair = |f: &str, c: &str| (f.to_owned(), c.to_owned());
        assert!(CounsellingService.check_location(true, false, false).is_empty());
        assert!(CounsellingService.check_location(false, true, false).is_empty());
        assert_eq!(
            codes(CounsellingService.check_location(false, false, true)),
            [pair("canton", "required"), pair("country", "not_allowed")]
        );
        assert_eq!(
            codes(CounsellingService.check_location(true, true, false)),
            [pair("federal_region", "not_allowed")]
        );
        assert!(IomMission.check_location(false, false, true).is_empty());
        assert_eq!(
            codes(IomMission.check_location(true, false, false)),
            [pair("country", "required"), pair("canton", "not_allowed")]
        );
        for kind in [Sem, IomBern, Oversight, Operator] {
            assert!(kind.check_location(false, false, false).is_empty());
            assert_eq!(codes(kind.check_location(true, true, true)).len(), 3, "{kind}");
        }
    }
}
