//! The demo installation: the partner institutions and users of every role (two SEM officers
//! and two counsellors of one service, to show work shared within an institution). Only ever
//! run in demo mode (`retour serve --demo`, `retour seed --demo`); idempotent.

use retour_domain::{Canton, InstitutionKind, Role};

use crate::institutions::NewInstitution;
use crate::{Store, StoreError};

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "retour-demo";

/// The demo users: email, display name, role and the name of their institution.
pub const DEMO_USERS: [(&str, &str, Role, &str); 14] = [
    ("counsellor.be@demo.test", "Anna Berger", Role::Counsellor, "Rückkehrberatung Kanton Bern"),
    ("counsellor2.be@demo.test", "Jonas Wyss", Role::Counsellor, "Rückkehrberatung Kanton Bern"),
    ("counsellor.zh@demo.test", "Luca Meier", Role::Counsellor, "Rückkehrberatung Kanton Zürich"),
    ("sem@demo.test", "Sara Keller", Role::SemOfficer, "SEM"),
    ("sem2@demo.test", "David Favre", Role::SemOfficer, "SEM"),
    ("swissrepat@demo.test", "Marc Rochat", Role::SwissrepatOfficer, "SEM swissREPAT"),
    ("iom@demo.test", "Leila Haddad", Role::IomCoordinator, "IOM Bern"),
    ("mission.iq@demo.test", "Omar Aziz", Role::IomMissionOfficer, "IOM Iraq"),
    ("auditor@demo.test", "Ruth Baumann", Role::Auditor, "Oversight – data protection and audit"),
    (
        "dpo@demo.test",
        "Lea Rüegg",
        Role::DataProtectionOfficer,
        "Oversight – data protection and audit",
    ),
    ("admin@demo.test", "Peter Huber", Role::Admin, "Retour operator"),
    ("admin.sem@demo.test", "Nicole Graf", Role::InstitutionAdmin, "SEM"),
    ("admin.be@demo.test", "Thomas Frei", Role::InstitutionAdmin, "Rückkehrberatung Kanton Bern"),
    ("admin.iom@demo.test", "Irina Popescu", Role::InstitutionAdmin, "IOM Bern"),
];

/// IOM missions of the demo installation: country and name.
pub const DEMO_MISSIONS: [(&str, &str); 10] = [
    ("IQ", "IOM Iraq"),
    ("GE", "IOM Georgia"),
    ("NG", "IOM Nigeria"),
    ("LK", "IOM Sri Lanka"),
    ("TR", "IOM Türkiye"),
    ("DZ", "IOM Algeria"),
    ("UA", "IOM Ukraine"),
    ("XK", "IOM Kosovo"),
    ("AF", "IOM Afghanistan"),
    ("TN", "IOM Tunisia"),
];

/// Federal asylum regions, each with IOM's counselling in its federal asylum centre.
pub const FEDERAL_REGIONS: [&str; 6] =
    ["Bern", "Nordwestschweiz", "Ostschweiz", "Tessin und Zentralschweiz", "Westschweiz", "Zürich"];

/// The name of a canton's return counselling service, in the canton's language.
pub fn counselling_service_name(canton: Canton) -> String {
    match canton {
        Canton::Ge | Canton::Vd | Canton::Ne | Canton::Ju => {
            format!("Conseil en vue du retour, canton de {}", canton.name())
        }
        Canton::Fr | Canton::Vs => format!("Conseil en vue du retour, canton du {}", canton.name()),
        Canton::Ti => format!("Consulenza per il ritorno, Cantone {}", canton.name()),
        _ => format!("Rückkehrberatung Kanton {}", canton.name()),
    }
}

fn institution(kind: InstitutionKind, name: String) -> NewInstitution {
    NewInstitution {
        kind,
        name,
        canton: None,
        federal_region: None,
        country: None,
        contact_email: None,
        contact_phone: None,
        // The demo signs in with a password alone, so that the quick start stays one step.
        mfa_required: false,
    }
}

/// Every institution of the demo installation.
pub fn demo_institutions() -> Vec<NewInstitution> {
    let mut all = Vec::new();
    for canton in Canton::ALL {
        all.push(NewInstitution {
            canton: Some(canton),
            contact_email: Some(format!("rueckkehr@{}.demo.test", canton.code().to_lowercase())),
            ..institution(InstitutionKind::CounsellingService, counselling_service_name(canton))
        });
    }
    for region in FEDERAL_REGIONS {
        all.push(NewInstitution {
            federal_region: Some(region.to_owned()),
            ..institution(
                InstitutionKind::CounsellingService,
                format!("IOM Rückkehrberatung BAZ Region {region}"),
            )
        });
    }
    all.push(institution(InstitutionKind::Sem, "SEM".to_owned()));
    all.push(institution(InstitutionKind::Sem, "SEM swissREPAT".to_owned()));
    all.push(institution(InstitutionKind::IomBern, "IOM Bern".to_owned()));
    for (country, name) in DEMO_MISSIONS {
        all.push(NewInstitution {
            country: Some(country.to_owned()),
            ..institution(InstitutionKind::IomMission, name.to_owned())
        });
    }
    all.push(institution(
        InstitutionKind::Oversight,
        "Oversight – data protection and audit".to_owned(),
    ));
    all.push(institution(InstitutionKind::Operator, "Retour operator".to_owned()));
    all
}

impl Store {
    /// Seeds the demo institutions and users; `password_hash` is the hash of
    /// [`DEMO_PASSWORD`]. Existing rows are left as they are.
    pub async fn seed_demo(&self, password_hash: &str) -> Result<(), StoreError> {
        let mut ids = std::collections::HashMap::new();
        for new in demo_institutions() {
            let institution = self.ensure_institution(&new).await?;
            ids.insert(new.name, institution.id);
        }
        let demo: Vec<uuid::Uuid> = ids.values().copied().collect();
        sqlx::query!("update institutions set mfa_required = false where id = any($1)", &demo)
            .execute(self.pool())
            .await?;
        for (email, display_name, role, institution) in DEMO_USERS {
            let institution_id = *ids.get(institution).ok_or(StoreError::NotFound)?;
            sqlx::query!(
                "insert into users (id, institution_id, email, display_name, role, password_hash) \
                 values ($1, $2, $3, $4, $5, $6) on conflict (lower(email)) do nothing",
                uuid::Uuid::now_v7(),
                institution_id,
                email,
                display_name,
                role.as_str(),
                password_hash,
            )
            .execute(self.pool())
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_user_belongs_to_a_demo_institution_of_the_right_kind() {
        let institutions = demo_institutions();
        for (email, _, role, name) in DEMO_USERS {
            let institution = institutions.iter().find(|i| i.name == name).expect(email);
            assert!(role.fits(institution.kind), "{email}");
        }
        assert_eq!(
            institutions.iter().filter(|i| i.canton.is_some()).count(),
            26,
            "one counselling service per canton"
        );
    }
}
