//! Partner institutions: every signed-in caller may list them (to pick an IOM mission or a
//! canton); only administrators see contact data and create or change them.

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use retour_domain::policy::Operation;
use retour_domain::validation::text;
use retour_domain::{Canton, InstitutionKind, Role, Validation};
use retour_store::institutions::{Institution, InstitutionChanges, InstitutionFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::admin::{self, Administrator, InstitutionRequest, double_option};
use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::path::Path;
use crate::query::QueryParams;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_institutions, create_institution))
        .routes(routes!(get_institution, update_institution))
}

/// A partner institution.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstitutionView {
    pub id: Uuid,
    pub kind: InstitutionKind,
    pub name: String,
    /// A cantonal counselling service's canton.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canton: Option<Canton>,
    /// The federal asylum region of a counselling service in a federal asylum centre.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub federal_region: Option<String>,
    /// An IOM mission's country (ISO 3166-1 alpha-2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    pub active: bool,
    /// Its users sign in with a second factor.
    pub mfa_required: bool,
    /// Administrators only (absent for everyone else).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub contact_email: Option<Option<String>>,
    /// Administrators only (absent for everyone else).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub contact_phone: Option<Option<String>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl InstitutionView {
    fn new(institution: Institution, with_contact: bool) -> Self {
        Self {
            id: institution.id,
            kind: institution.kind,
            name: institution.name,
            canton: institution.canton,
            federal_region: institution.federal_region,
            country: institution.country,
            active: institution.active,
            mfa_required: institution.mfa_required,
            contact_email: with_contact.then_some(institution.contact_email),
            contact_phone: with_contact.then_some(institution.contact_phone),
            created_at: institution.created_at,
            updated_at: institution.updated_at,
        }
    }
}

/// A list of institutions.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstitutionList {
    pub items: Vec<InstitutionView>,
}

/// Filters of the institution list.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InstitutionQuery {
    /// Only institutions of this kind.
    pub kind: Option<InstitutionKind>,
    /// Only active (`true`) or disabled (`false`) institutions.
    pub active: Option<bool>,
}

impl InstitutionQuery {
    fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut params = QueryParams::parse(query);
        let kind = params.one_of("kind", InstitutionKind::parse, &InstitutionKind::names());
        let query = InstitutionQuery { kind, active: params.bool("active") };
        params.finish(query)
    }
}

/// A new institution.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInstitution {
    pub kind: InstitutionKind,
    pub name: String,
    /// Required for a cantonal counselling service.
    pub canton: Option<Canton>,
    /// Required (instead of `canton`) for a counselling service in a federal asylum centre.
    pub federal_region: Option<String>,
    /// Required for an IOM mission: ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    /// Its users sign in with a second factor (TOTP); `true` unless given.
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub mfa_required: bool,
}

fn yes() -> bool {
    true
}

/// Changes to an institution (JSON merge patch: absent fields stay, `null` clears a contact).
/// Its kind and location cannot change, since case visibility depends on them.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateInstitution {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub contact_email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub contact_phone: Option<Option<String>>,
    /// `false` disables the institution: its users and service accounts can no longer sign
    /// in, their refresh tokens are revoked and their access tokens stop working.
    pub active: Option<bool>,
    /// `true`: its users sign in with a second factor from their next sign-in (enrolling
    /// one then if they have none).
    pub mfa_required: Option<bool>,
}

fn is_admin(caller: &Caller) -> bool {
    caller.actor.role().is_some_and(Role::administers)
}

/// List institutions
///
/// List the partner institutions, by kind and name. Every signed-in caller may; contact
/// data is shown to administrators only.
#[utoipa::path(get, path = "/v1/institutions", tag = "institutions", params(InstitutionQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The institutions", body = InstitutionList),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_institutions(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<InstitutionList>, ApiError> {
    let query = InstitutionQuery::parse(query.as_deref())?;
    let filter = InstitutionFilter { kind: query.kind, active: query.active };
    let institutions = state.store().list_institutions(&filter).await?;
    let with_contact = is_admin(&caller);
    Ok(Json(InstitutionList {
        items: institutions.into_iter().map(|i| InstitutionView::new(i, with_contact)).collect(),
    }))
}

/// Get an institution
///
/// One institution. Every signed-in caller may read it; contact data is shown to
/// administrators only.
#[utoipa::path(get, path = "/v1/institutions/{id}", tag = "institutions",
    params(("id" = Uuid, Path, description = "The institution's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The institution", body = InstitutionView),
        (status = 404, description = "No such institution", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_institution(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<InstitutionView>, ApiError> {
    let institution = state.store().get_institution(id).await?;
    Ok(Json(InstitutionView::new(institution, is_admin(&caller))))
}

/// Create an institution
///
/// Create an institution (the operator's administrators only). A counselling service needs a `canton` or a
/// `federal_region`, an IOM mission its `country`; other kinds have neither.
#[utoipa::path(post, path = "/v1/institutions", tag = "institutions",
    request_body = CreateInstitution,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = InstitutionView,
            headers(("Location" = String, description = "The new institution's URL"))),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`name_taken`: another institution has this name", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_institution(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateInstitution>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Operation::Administer)?;
    let request = InstitutionRequest {
        kind: body.kind,
        name: body.name,
        canton: body.canton,
        federal_region: body.federal_region,
        country: body.country,
        contact_email: body.contact_email,
        contact_phone: body.contact_phone,
        mfa_required: body.mfa_required,
    };
    let institution =
        admin::create_institution(state.store(), request, &Administrator::from_caller(&caller))
            .await?;
    let location = format!("/v1/institutions/{}", institution.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(InstitutionView::new(institution, true)),
    ))
}

/// Change an institution
///
/// Change an institution's name, contact data, `active` flag or whether its users need a
/// second factor (`mfa_required`); the operator's administrators only.
#[utoipa::path(patch, path = "/v1/institutions/{id}", tag = "institutions",
    params(("id" = Uuid, Path, description = "The institution's id")),
    request_body = UpdateInstitution,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed institution", body = InstitutionView),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such institution", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`name_taken`: another institution has this name", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_institution(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(body): Json<UpdateInstitution>,
) -> Result<Json<InstitutionView>, ApiError> {
    caller.require(Operation::Administer)?;
    let mut errors = Validation::new();
    let name = body.name.as_deref().and_then(|n| errors.check(text("name", n, 200)));
    let contact_email = match body.contact_email {
        Some(Some(email)) => errors.check(admin::parse_email("contact_email", &email)).map(Some),
        other => other,
    };
    let contact_phone = match body.contact_phone {
        Some(Some(phone)) => errors.check(text("contact_phone", &phone, 50)).map(Some),
        other => other,
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_errors()));
    }
    if body.active == Some(false) && caller.actor.institution_id == id {
        return Err(ApiError::validation(
            "active",
            "own_institution",
            "administrators cannot disable their own institution",
        ));
    }
    let changes = InstitutionChanges {
        name,
        contact_email,
        contact_phone,
        active: body.active,
        mfa_required: body.mfa_required,
    };
    let by = Administrator::from_caller(&caller);
    let institution = state
        .store()
        .update_institution(id, &changes, |i, fields| {
            by.event("institution.update", "institution", i.id, fields)
        })
        .await
        .map_err(|e| {
            admin::conflict(
                e,
                "institutions_name_key",
                ProblemCode::NameTaken,
                "this name is taken",
            )
        })?;
    state.auth_changed();
    Ok(Json(InstitutionView::new(institution, true)))
}
