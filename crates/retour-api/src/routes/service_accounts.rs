//! Integrators' service accounts (OAuth 2 clients), managed by administrators. A client
//! secret is shown once, when the account is created or its secret rotated.

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use retour_domain::policy::Operation;
use retour_domain::validation::text;
use retour_domain::{Scope, Validation};
use retour_store::service_accounts::{
    NewServiceAccount, ServiceAccount, ServiceAccountChanges, ServiceAccountFilter,
};
use retour_store::users::UserStatus;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::users::AccountStatus;
use crate::admin::{self, Administrator};
use crate::auth::{Caller, client_secret};
use crate::error::Problem;
use crate::json::Json;
use crate::path::Path;
use crate::query::QueryParams;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_service_accounts, create_service_account))
        .routes(routes!(get_service_account, update_service_account))
}

/// A service account.
#[derive(Serialize, ToSchema)]
pub struct ServiceAccountView {
    pub id: Uuid,
    pub institution_id: Uuid,
    pub name: String,
    /// The OAuth 2 `client_id`.
    pub client_id: String,
    pub scopes: Vec<Scope>,
    pub status: AccountStatus,
    /// The OAuth 2 `client_secret`: only in the answer to a creation or a secret rotation,
    /// and never again. Only its hash is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ServiceAccountView {
    fn new(account: ServiceAccount, client_secret: Option<String>) -> Self {
        Self {
            id: account.id,
            institution_id: account.institution_id,
            name: account.name,
            client_id: account.client_id,
            scopes: account.scopes,
            status: account.status.into(),
            client_secret,
            created_at: account.created_at,
            updated_at: account.updated_at,
        }
    }
}

/// A list of service accounts.
#[derive(Serialize, ToSchema)]
pub struct ServiceAccountList {
    pub items: Vec<ServiceAccountView>,
}

/// Filters of the service-account list.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ServiceAccountQuery {
    pub institution_id: Option<Uuid>,
    pub status: Option<AccountStatus>,
}

impl ServiceAccountQuery {
    fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut params = QueryParams::parse(query);
        let query = ServiceAccountQuery {
            institution_id: params.uuid("institution_id"),
            status: params.one_of("status", AccountStatus::parse, &AccountStatus::names()),
        };
        params.finish(query)
    }
}

/// A new service account of an institution.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceAccount {
    pub institution_id: Uuid,
    /// What the integration is, e.g. "Cantonal statistics export".
    pub name: String,
    /// At least one of `cases:read`, `stats:read`, `events:read` (the access log),
    /// `case-events:read` (the case event feed and webhooks).
    #[schema(min_items = 1, max_items = 4)]
    pub scopes: Vec<Scope>,
}

/// Changes to a service account; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateServiceAccount {
    pub name: Option<String>,
    /// The new scopes (at least one). Tokens already issued keep theirs no longer than the
    /// account has them.
    #[schema(min_items = 1, max_items = 4)]
    pub scopes: Option<Vec<Scope>>,
    /// `disabled` stops the account at once: no new tokens, and its access tokens stop
    /// working at the next request.
    pub status: Option<AccountStatus>,
    /// `true` replaces the client secret; the new one is in the answer, once. The old one
    /// stops working at once (tokens already issued run until they expire).
    #[serde(default)]
    pub rotate_secret: bool,
}

fn parse_scopes(scopes: Vec<Scope>, errors: &mut Validation) -> Option<Vec<Scope>> {
    if scopes.is_empty() {
        errors.push("scopes", "required", "name at least one scope");
        return None;
    }
    if scopes.len() > Scope::ALL.len() {
        errors.push(
            "scopes",
            "too_many",
            format!("scopes must hold at most {} values", Scope::ALL.len()),
        );
        return None;
    }
    // Stored in one canonical order, without repeats.
    Some(Scope::ALL.into_iter().filter(|s| scopes.contains(s)).collect())
}

/// List service accounts
///
/// List the service accounts (administrators only).
#[utoipa::path(get, path = "/v1/service-accounts", tag = "service-accounts",
    params(ServiceAccountQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The service accounts", body = ServiceAccountList),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_service_accounts(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<ServiceAccountList>, ApiError> {
    caller.require(Operation::Administer)?;
    let query = ServiceAccountQuery::parse(query.as_deref())?;
    let filter = ServiceAccountFilter {
        institution_id: query.institution_id,
        status: query.status.map(UserStatus::from),
    };
    let accounts = state.store().list_service_accounts(&filter).await?;
    Ok(Json(ServiceAccountList {
        items: accounts.into_iter().map(|a| ServiceAccountView::new(a, None)).collect(),
    }))
}

/// Get a service account
///
/// One service account (administrators only).
#[utoipa::path(get, path = "/v1/service-accounts/{id}", tag = "service-accounts",
    params(("id" = Uuid, Path, description = "The service account's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The service account", body = ServiceAccountView),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service account", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_service_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<ServiceAccountView>, ApiError> {
    caller.require(Operation::Administer)?;
    let account = state.store().get_service_account(id).await?;
    Ok(Json(ServiceAccountView::new(account, None)))
}

/// Create a service account
///
/// Create a service account for an institution (administrators only). The answer carries
/// the `client_secret`, which is not shown again.
#[utoipa::path(post, path = "/v1/service-accounts", tag = "service-accounts",
    request_body = CreateServiceAccount,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; the answer holds the client secret", body = ServiceAccountView,
            headers(("Location" = String, description = "The new service account's URL"))),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_service_account(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateServiceAccount>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Operation::Administer)?;
    let mut errors = Validation::new();
    let name = errors.check(text("name", &body.name, 200));
    let scopes = parse_scopes(body.scopes, &mut errors);
    admin::active_institution(state.store(), body.institution_id, &mut errors).await?;
    let (Some(name), Some(scopes), true) = (name, scopes, errors.is_empty()) else {
        return Err(ApiError::Validation(errors.into_errors()));
    };
    let secret = client_secret::new_secret();
    let new = NewServiceAccount {
        institution_id: body.institution_id,
        name,
        client_id: client_secret::new_client_id(),
        secret_hash: client_secret::hash(&secret),
        scopes,
    };
    let by = Administrator::from_caller(&caller);
    let account = state
        .store()
        .create_service_account(&new, |a| {
            by.event("service_account.create", "service_account", a.id, &[])
        })
        .await?;
    let location = format!("/v1/service-accounts/{}", account.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(ServiceAccountView::new(account, Some(secret))),
    ))
}

/// Change a service account
///
/// Change a service account's name, scopes or status, or rotate its secret (administrators
/// only). With `rotate_secret`, the answer carries the new `client_secret`, once.
#[utoipa::path(patch, path = "/v1/service-accounts/{id}", tag = "service-accounts",
    params(("id" = Uuid, Path, description = "The service account's id")),
    request_body = UpdateServiceAccount,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed service account", body = ServiceAccountView),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_service_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(body): Json<UpdateServiceAccount>,
) -> Result<Json<ServiceAccountView>, ApiError> {
    caller.require(Operation::Administer)?;
    let mut errors = Validation::new();
    let name = body.name.as_deref().and_then(|n| errors.check(text("name", n, 200)));
    let scopes = body.scopes.and_then(|s| parse_scopes(s, &mut errors));
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_errors()));
    }
    let secret = body.rotate_secret.then(client_secret::new_secret);
    let changes = ServiceAccountChanges {
        name,
        scopes,
        status: body.status.map(UserStatus::from),
        secret_hash: secret.as_deref().map(client_secret::hash),
    };
    let by = Administrator::from_caller(&caller);
    let account = state
        .store()
        .update_service_account(id, &changes, |a, fields| {
            by.event("service_account.update", "service_account", a.id, fields)
        })
        .await?;
    state.auth_changed();
    Ok(Json(ServiceAccountView::new(account, secret)))
}
