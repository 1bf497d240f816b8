//! Integrators' service accounts (OAuth 2 clients), managed by administrators. A client
//! secret is shown once, when the account is created or its secret rotated.

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use retour_domain::administration::{self, AccountFacts};
use retour_domain::policy::Decision;
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
use crate::admin::{self, Administrator, require_administrator};
use crate::auth::{Caller, client_secret};
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::path::Path;
use crate::query::QueryParams;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_service_accounts, create_service_account))
        .routes(routes!(get_service_account, update_service_account))
        .routes(routes!(approve_service_account))
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
    /// While `pending_approval`: the administrator who asked for the account.
    pub approval_requested_by: Option<Uuid>,
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
            approval_requested_by: account.approval_requested_by,
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

/// The facts the policy judges an administrator's access to a service account of
/// `institution_id` by (a service account never administers).
async fn facts_of(state: &AppState, institution_id: Uuid) -> Result<AccountFacts, ApiError> {
    let institution = state.store().get_institution(institution_id).await?;
    Ok(AccountFacts {
        institution_id: institution.id,
        institution_kind: institution.kind,
        administrator: false,
    })
}

/// Service account `id`, if the caller manages it (404 for another institution's, to an
/// institution's administrator; 403 `separation_of_duties` to the operator's).
async fn managed_account(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> Result<(ServiceAccount, AccountFacts), ApiError> {
    require_administrator(caller)?;
    let account = state.store().get_service_account(id).await?;
    let facts = facts_of(state, account.institution_id).await?;
    match administration::manage_account(&caller.actor, &facts) {
        Decision::Allow => Ok((account, facts)),
        Decision::NotFound => Err(ApiError::NotFound),
        Decision::Forbidden => Err(admin::separation_of_duties(
            "an institution's service accounts are managed by its own administrators",
        )),
    }
}

/// The scopes an institution of `facts` may give, each named when it does not fit.
fn check_scopes_fit(scopes: &[Scope], facts: &AccountFacts, errors: &mut Validation) {
    for scope in scopes.iter().filter(|s| !administration::scope_fits(**s, facts.institution_kind))
    {
        errors.push(
            "scopes",
            "scope_institution_mismatch",
            format!(
                "an institution of kind {} cannot have a service account with {}",
                facts.institution_kind.as_str(),
                scope.as_str()
            ),
        );
    }
}

/// Whether a grant of `after` (from `before`) by the caller waits for a second administrator.
async fn approval_for(
    state: &AppState,
    caller: &Caller,
    facts: &AccountFacts,
    before: &[Scope],
    after: &[Scope],
) -> Result<Option<Uuid>, ApiError> {
    let lone = state.store().count_administrators(facts.institution_id).await? < 2;
    Ok((administration::scopes_grant(before, after) && lone).then_some(caller.actor.id))
}

/// List service accounts
///
/// List the service accounts the caller administers (an institution's administrator: its
/// own; the operator's administrator: the operator's).
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
    require_administrator(&caller)?;
    let query = ServiceAccountQuery::parse(query.as_deref())?;
    let filter = ServiceAccountFilter {
        reach: Some(administration::account_reach(&caller.actor)),
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
/// One service account the caller administers.
#[utoipa::path(get, path = "/v1/service-accounts/{id}", tag = "service-accounts",
    params(("id" = Uuid, Path, description = "The service account's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The service account", body = ServiceAccountView),
        (status = 403, description = "Not an administrator, or `separation_of_duties`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service account (of the caller's institution)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_service_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<ServiceAccountView>, ApiError> {
    let (account, _) = managed_account(&state, &caller, id).await?;
    Ok(Json(ServiceAccountView::new(account, None)))
}

/// Create a service account
///
/// Create a service account of the caller's institution (its administrators; the
/// operator's administrator for the operator's own, which read neither cases nor the access
/// log). Case scopes (`cases:read`, `case-events:read`) go to institutions that work on cases,
/// the access log (`events:read`) to the oversight. An account with a scope that reads case
/// data or the access log, made by an institution's only administrator, is
/// `pending_approval` until a second administrator approves it. The answer carries the
/// `client_secret`, which is not shown again.
#[utoipa::path(post, path = "/v1/service-accounts", tag = "service-accounts",
    request_body = CreateServiceAccount,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created (maybe `pending_approval`); the answer holds the client secret", body = ServiceAccountView,
            headers(("Location" = String, description = "The new service account's URL"))),
        (status = 403, description = "Not an administrator, or `separation_of_duties`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a scope the institution cannot have", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_service_account(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateServiceAccount>,
) -> Result<impl IntoResponse, ApiError> {
    require_administrator(&caller)?;
    let mut errors = Validation::new();
    let name = errors.check(text("name", &body.name, 200));
    let scopes = parse_scopes(body.scopes, &mut errors);
    let institution =
        admin::active_institution(state.store(), body.institution_id, &mut errors).await?;
    let facts = institution.map(|i| AccountFacts {
        institution_id: i.id,
        institution_kind: i.kind,
        administrator: false,
    });
    if let Some(facts) = &facts
        && administration::create_account(&caller.actor, facts) != Decision::Allow
    {
        return Err(admin::separation_of_duties(
            "an institution's service accounts are made by its own administrators",
        ));
    }
    if let (Some(facts), Some(scopes)) = (&facts, &scopes) {
        check_scopes_fit(scopes, facts, &mut errors);
    }
    let (Some(name), Some(scopes), Some(facts), true) = (name, scopes, facts, errors.is_empty())
    else {
        return Err(ApiError::Validation(errors.into_errors()));
    };
    let approval_requested_by = approval_for(&state, &caller, &facts, &[], &scopes).await?;
    let secret = client_secret::new_secret();
    let new = NewServiceAccount {
        institution_id: body.institution_id,
        name,
        client_id: client_secret::new_client_id(),
        secret_hash: client_secret::hash(&secret),
        scopes,
        approval_requested_by,
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
/// Change a service account's name, scopes or status, or rotate its secret (its
/// administrators). With `rotate_secret`, the answer carries the new `client_secret`, once.
/// Adding a scope that reads case data or the access log, or enabling such an account, by an
/// institution's only administrator makes it `pending_approval` until a second administrator
/// approves it.
#[utoipa::path(patch, path = "/v1/service-accounts/{id}", tag = "service-accounts",
    params(("id" = Uuid, Path, description = "The service account's id")),
    request_body = UpdateServiceAccount,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed service account", body = ServiceAccountView),
        (status = 403, description = "Not an administrator, or `separation_of_duties`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service account (of the caller's institution)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a scope the institution cannot have", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_service_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(body): Json<UpdateServiceAccount>,
) -> Result<Json<ServiceAccountView>, ApiError> {
    let (current, facts) = managed_account(&state, &caller, id).await?;
    let mut errors = Validation::new();
    let name = body.name.as_deref().and_then(|n| errors.check(text("name", n, 200)));
    let scopes = body.scopes.and_then(|s| parse_scopes(s, &mut errors));
    if let Some(scopes) = &scopes {
        check_scopes_fit(scopes, &facts, &mut errors);
    }
    if body.status == Some(AccountStatus::PendingApproval) {
        errors.push(
            "status",
            "not_allowed",
            "status is active or disabled; pending_approval is set by the server",
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_errors()));
    }
    let status = body.status.map(UserStatus::from);
    let after = scopes.clone().unwrap_or_else(|| current.scopes.clone());
    // Enabling a disabled account grants again what it reads.
    let before: &[Scope] =
        if current.status == UserStatus::Disabled && status == Some(UserStatus::Active) {
            &[]
        } else {
            &current.scopes
        };
    let stays_disabled = status == Some(UserStatus::Disabled)
        || (status.is_none() && current.status == UserStatus::Disabled);
    let approval_requested_by = match stays_disabled {
        true => None,
        false => approval_for(&state, &caller, &facts, before, &after).await?,
    };
    let secret = body.rotate_secret.then(client_secret::new_secret);
    let changes = ServiceAccountChanges {
        name,
        scopes,
        status,
        secret_hash: secret.as_deref().map(client_secret::hash),
        approval_requested_by,
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

/// Approve a service account
///
/// A second administrator approves a service account waiting for it (`pending_approval`):
/// another administrator of its institution, or the operator's administrator, but neither
/// the one who asked for it nor the one who made the asker's account (409
/// `second_person_required`).
#[utoipa::path(post, path = "/v1/service-accounts/{id}/approval", tag = "service-accounts",
    params(("id" = Uuid, Path, description = "The service account's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Approved: the account is active", body = ServiceAccountView),
        (status = 403, description = "Not an administrator who may approve it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service account (of the caller's institution)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_pending`, or `second_person_required`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn approve_service_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<ServiceAccountView>, ApiError> {
    require_administrator(&caller)?;
    let account = state.store().get_service_account(id).await?;
    let facts = facts_of(&state, account.institution_id).await?;
    super::users::second_person(&state, &caller, account.approval_requested_by, &facts).await?;
    let event = Administrator::from_caller(&caller).event(
        "service_account.approve",
        "service_account",
        id,
        &[],
    );
    let approved =
        state.store().approve_service_account(id, &event).await?.ok_or(ApiError::Conflict {
            code: ProblemCode::NotPending,
            detail: "nothing of this account waits for approval".to_owned(),
        })?;
    state.auth_changed();
    Ok(Json(ServiceAccountView::new(approved, None)))
}
