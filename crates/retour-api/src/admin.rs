//! Administration of institutions, users and service accounts: parsing what an administrator
//! asks for into valid changes, shared by the HTTP handlers and the `retour` command.
//! Each write records its audit event (`institution.create`, `user.update`, …, with the names
//! of the changed fields, never their values) in the same transaction.

use retour_domain::administration::{self, AccountFacts};
use retour_domain::policy::Decision;
use retour_domain::validation::text;
use retour_domain::{Actor, Canton, FieldError, InstitutionKind, Password, Role, Validation};
use retour_store::audit::{AuditActor, AuditEvent, Outcome};
use retour_store::institutions::{Institution, NewInstitution};
use retour_store::users::{NewUser, User};
use retour_store::{Store, StoreError};
use uuid::Uuid;

use crate::ApiError;
use crate::auth::{Caller, RequestMeta, password};
use crate::error::ProblemCode;

/// Who makes an administrative change, as the access log records it.
#[derive(Debug, Clone)]
pub struct Administrator {
    actor: AuditActor,
    /// The signed-in administrator as the policy sees them; `None` for the command line.
    policy_actor: Option<Actor>,
    meta: RequestMeta,
    /// Set for changes made with the `retour` command on the server.
    via_command_line: bool,
}

impl Administrator {
    pub fn from_caller(caller: &Caller) -> Self {
        Self {
            actor: AuditActor::from(&caller.actor),
            policy_actor: Some(caller.actor.clone()),
            meta: caller.meta.clone(),
            via_command_line: false,
        }
    }

    /// The `retour` command, run by whoever operates the server (no signed-in user).
    pub fn command_line() -> Self {
        Self {
            actor: AuditActor::anonymous(),
            policy_actor: None,
            meta: RequestMeta::default(),
            via_command_line: true,
        }
    }

    /// The signed-in administrator; `None` for the command line.
    pub fn actor(&self) -> Option<&Actor> {
        self.policy_actor.as_ref()
    }

    /// The audit event of `action` on a resource, naming the changed fields.
    pub(crate) fn event(
        &self,
        action: &str,
        resource_type: &'static str,
        id: Uuid,
        fields: &[&str],
    ) -> AuditEvent {
        let mut details = serde_json::json!({ "fields": fields });
        if self.via_command_line {
            details["via"] = "command_line".into();
        }
        AuditEvent::new(self.actor.clone(), action, Outcome::Allowed)
            .resource(resource_type, id)
            .details(details)
            .request(self.meta.request_id.clone(), self.meta.client_addr)
    }
}

/// An email address: trimmed, at most 254 characters, a non-empty local part and domain,
/// no spaces.
pub fn parse_email(field: &str, value: &str) -> Result<String, FieldError> {
    let email = value.trim();
    let well_formed = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if email.chars().count() > 254 {
        return Err(FieldError::new(field, "too_long", format!("{field} is too long")));
    }
    if !well_formed {
        return Err(FieldError::new(
            field,
            "invalid_format",
            format!("{field} must be an email address"),
        ));
    }
    Ok(email.to_owned())
}

/// A new password that satisfies the policy, hashed.
pub(crate) async fn hash_new_password(password: Password) -> Result<String, ApiError> {
    password::hash(password.into_inner()).await.map_err(ApiError::internal)
}

/// The institution a user or service account is to belong to: it must exist and be active.
pub(crate) async fn active_institution(
    store: &Store,
    id: Uuid,
    errors: &mut Validation,
) -> Result<Option<Institution>, ApiError> {
    match store.get_institution(id).await {
        Ok(institution) if institution.active => Ok(Some(institution)),
        Ok(_) => {
            errors.push("institution_id", "inactive", "the institution is disabled");
            Ok(None)
        }
        Err(StoreError::NotFound) => {
            errors.push("institution_id", "unknown", "no institution has this id");
            Ok(None)
        }
        Err(other) => Err(other.into()),
    }
}

/// The 422 error of a role that does not belong to an institution of `kind`.
pub(crate) fn role_mismatch(role: Role, kind: InstitutionKind) -> FieldError {
    FieldError::new(
        "role",
        "role_institution_mismatch",
        format!(
            "role {} belongs to an institution of kind {}, not {}",
            role.as_str(),
            role.institution_kind().as_str(),
            kind.as_str()
        ),
    )
}

/// What is asked for to create a user.
#[derive(Clone)]
pub struct UserRequest {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub institution_id: Uuid,
    pub password: String,
}

/// Creates a user after checking every field: the email, the display name, the password
/// policy (`password`), and that the role fits the institution's kind (`role`). An email
/// already in use (in any case) is 409 `email_taken`.
pub async fn create_user(
    store: &Store,
    request: UserRequest,
    by: &Administrator,
) -> Result<User, ApiError> {
    let mut errors = Validation::new();
    let email = errors.check(parse_email("email", &request.email));
    let display_name = errors.check(text("display_name", &request.display_name, 200));
    let password = errors.check(Password::parse("password", request.password));
    let institution = active_institution(store, request.institution_id, &mut errors).await?;
    if let Some(institution) = &institution
        && !request.role.fits(institution.kind)
    {
        errors.add(role_mismatch(request.role, institution.kind));
    }
    let (Some(email), Some(display_name), Some(password), Some(institution), true) =
        (email, display_name, password, institution, errors.is_empty())
    else {
        return Err(ApiError::Validation(errors.into_errors()));
    };
    let facts = AccountFacts {
        institution_id: institution.id,
        institution_kind: institution.kind,
        administrator: request.role.administers(),
    };
    let approval_requested_by = match by.actor() {
        Some(actor) => grant_approval(store, actor, &facts, None, request.role).await?,
        None => None,
    };
    let new = NewUser {
        institution_id: request.institution_id,
        email,
        display_name,
        role: request.role,
        password_hash: hash_new_password(password).await?,
        created_by: by.actor().map(|a| a.id),
        approval_requested_by,
    };
    store.create_user(&new, |user| by.event("user.create", "user", user.id, &[])).await.map_err(
        |e| conflict(e, "users_email_key", ProblemCode::EmailTaken, "this email is already in use"),
    )
}

/// 403 `forbidden` for anyone who administers no accounts.
pub(crate) fn require_administrator(caller: &Caller) -> Result<(), ApiError> {
    if administration::account_reach(&caller.actor) == administration::AccountReach::Nothing {
        return Err(ApiError::Forbidden {
            code: ProblemCode::Forbidden,
            detail: "your role does not allow this".to_owned(),
        });
    }
    Ok(())
}

/// The 403 of an administrator who may not make or change this account.
pub(crate) fn separation_of_duties(detail: &str) -> ApiError {
    ApiError::Forbidden { code: ProblemCode::SeparationOfDuties, detail: detail.to_owned() }
}

/// Whether `actor` may make user `facts` (of `role`; `before`: the role it has, for a
/// change), and if it is a grant that waits for a second administrator, who asked for it.
/// The operator's administrator appoints an institution's first administrator only; an
/// institution's only administrator has each grant approved by a second one.
pub(crate) async fn grant_approval(
    store: &Store,
    actor: &Actor,
    facts: &AccountFacts,
    before: Option<Role>,
    role: Role,
) -> Result<Option<Uuid>, ApiError> {
    let decision = match before {
        None => administration::create_account(actor, facts),
        Some(_) => administration::manage_account(actor, facts),
    };
    if decision != Decision::Allow {
        return Err(separation_of_duties(
            "an administrator manages the accounts of their own institution (the operator's \
             administrators: institutions and their first administrators)",
        ));
    }
    if actor.has_role(Role::Admin) && facts.institution_kind != InstitutionKind::Operator {
        if before.is_some_and(|b| b != role) {
            return Err(separation_of_duties(
                "the operator's administrators do not change the role of another \
                 institution's administrator",
            ));
        }
        if before.is_none() && store.count_administrators(facts.institution_id).await? > 0 {
            return Err(ApiError::Conflict {
                code: ProblemCode::InstitutionHasAdministrator,
                detail: "the institution has an administrator; they appoint further ones"
                    .to_owned(),
            });
        }
        return Ok(None);
    }
    let lone = store.count_administrators(facts.institution_id).await? < 2;
    Ok((administration::user_grant(before, role) && lone).then_some(actor.id))
}

/// What is asked for to create an institution.
#[derive(Debug, Clone)]
pub struct InstitutionRequest {
    pub kind: InstitutionKind,
    pub name: String,
    pub canton: Option<Canton>,
    pub federal_region: Option<String>,
    pub country: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    /// Its users sign in with a second factor (on unless said otherwise).
    pub mfa_required: bool,
}

/// An ISO 3166-1 alpha-2 country code, upper case.
pub fn parse_country(field: &str, value: &str) -> Result<String, FieldError> {
    let code = value.trim();
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code.to_owned())
    } else {
        Err(FieldError::new(
            field,
            "invalid_format",
            format!("{field} must be an ISO 3166-1 alpha-2 code such as IQ"),
        ))
    }
}

/// Creates an institution. Where it is depends on its kind: a counselling service has a
/// canton or a federal asylum region (one of them), an IOM mission a country, other kinds
/// none. A name already taken (in any case) is 409 `name_taken`.
pub async fn create_institution(
    store: &Store,
    request: InstitutionRequest,
    by: &Administrator,
) -> Result<Institution, ApiError> {
    let mut errors = Validation::new();
    let name = errors.check(text("name", &request.name, 200));
    let federal_region = match &request.federal_region {
        Some(region) => errors.check(text("federal_region", region, 100)),
        None => None,
    };
    let country = match &request.country {
        Some(country) => errors.check(parse_country("country", country)),
        None => None,
    };
    let contact_email = match &request.contact_email {
        Some(email) => errors.check(parse_email("contact_email", email)),
        None => None,
    };
    let contact_phone = match &request.contact_phone {
        Some(phone) => errors.check(text("contact_phone", phone, 50)),
        None => None,
    };
    for error in request.kind.check_location(
        request.canton.is_some(),
        request.federal_region.is_some(),
        request.country.is_some(),
    ) {
        errors.add(error);
    }
    let (Some(name), true) = (name, errors.is_empty()) else {
        return Err(ApiError::Validation(errors.into_errors()));
    };
    let new = NewInstitution {
        kind: request.kind,
        name,
        canton: request.canton,
        federal_region,
        country,
        contact_email,
        contact_phone,
        mfa_required: request.mfa_required,
    };
    store
        .create_institution(&new, |i| by.event("institution.create", "institution", i.id, &[]))
        .await
        .map_err(|e| {
            conflict(e, "institutions_name_key", ProblemCode::NameTaken, "this name is taken")
        })
}

/// For JSON merge patch fields: absent is `None`, `null` is `Some(None)`.
pub(crate) fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}

/// Maps the violation of unique constraint `constraint` to 409 `code`.
pub(crate) fn conflict(
    error: StoreError,
    constraint: &str,
    code: ProblemCode,
    detail: &str,
) -> ApiError {
    match error {
        StoreError::Constraint(name) if name == constraint => {
            ApiError::Conflict { code, detail: detail.to_owned() }
        }
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_a_local_part_and_a_domain() {
        assert_eq!(parse_email("email", " Ana@Example.ch "), Ok("Ana@Example.ch".to_owned()));
        for bad in ["", "ana", "@example.ch", "ana@", "a b@example.ch", "ana@x@y"] {
            assert!(parse_email("email", bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_email("email", &format!("{}@x.ch", "a".repeat(250))).map_err(|e| e.code),
            Err("too_long".to_owned())
        );
    }

    #[test]
    fn countries_are_two_upper_case_letters() {
        assert_eq!(parse_country("country", "IQ"), Ok("IQ".to_owned()));
        for bad in ["iq", "IRQ", "I", "1Q"] {
            assert!(parse_country("country", bad).is_err(), "{bad}");
        }
    }
}
