//! User accounts, managed by administrators.

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use retour_domain::policy::Operation;
use retour_domain::validation::text;
use retour_domain::{FieldError, Password, Role, Validation, string_enum};
use retour_store::users::{User, UserChanges, UserFilter, UserStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::admin::{self, Administrator, UserRequest};
use crate::auth::Caller;
use crate::error::Problem;
use crate::json::Json;
use crate::pagination::cut;
use crate::path::Path;
use crate::query::QueryParams;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
}

string_enum! {
    /// Whether an account (a user or a service account) may sign in.
    pub enum AccountStatus {
        Active = "active",
        Disabled = "disabled",
    }
}

impl From<UserStatus> for AccountStatus {
    fn from(status: UserStatus) -> Self {
        match status {
            UserStatus::Active => AccountStatus::Active,
            UserStatus::Disabled => AccountStatus::Disabled,
        }
    }
}

impl From<AccountStatus> for UserStatus {
    fn from(status: AccountStatus) -> Self {
        match status {
            AccountStatus::Active => UserStatus::Active,
            AccountStatus::Disabled => UserStatus::Disabled,
        }
    }
}

/// A user account.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub institution_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub status: AccountStatus,
    /// Set while the account is locked after repeated failed sign-ins.
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            institution_id: user.institution_id,
            email: user.email,
            display_name: user.display_name,
            role: user.role,
            status: user.status.into(),
            locked_until: user.locked_until.filter(|until| *until > Utc::now()),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// A page of users.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserView>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Filters and paging of the user list.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    pub institution_id: Option<Uuid>,
    pub role: Option<Role>,
    pub status: Option<AccountStatus>,
    /// Exact email, without regard to case (at most 254 characters; no NUL character, which
    /// every query parameter refuses).
    #[param(max_length = 254, pattern = "^[^\\u0000]*$")]
    pub email: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u32>)]
    pub limit: u32,
}

impl UserQuery {
    fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut params = QueryParams::parse(query);
        // No address is longer (RFC 5321).
        let email = params.checked("email", |v| match v.chars().count() {
            0..=254 => Ok(v.to_owned()),
            _ => Err(FieldError::new("email", "too_long", "email must be at most 254 characters")),
        });
        let query = UserQuery {
            institution_id: params.uuid("institution_id"),
            role: params.one_of("role", Role::parse, &Role::names()),
            status: params.one_of("status", AccountStatus::parse, &AccountStatus::names()),
            email,
            cursor: params.uuid("cursor"),
            limit: params.limit(),
        };
        params.finish(query)
    }
}

/// A new user with an initial password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Unique without regard to case.
    pub email: String,
    pub display_name: String,
    /// Must fit the institution's kind (a counsellor belongs to a counselling service, …).
    pub role: Role,
    pub institution_id: Uuid,
    /// At least 12 characters and not among the most common passwords.
    #[schema(format = Password)]
    pub password: String,
}

impl std::fmt::Debug for UpdateUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateUser")
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Changes to a user; absent fields stay as they are.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub display_name: Option<String>,
    /// Must fit the institution's kind. The user's current access tokens stop working.
    pub role: Option<Role>,
    /// `disabled` revokes the user's refresh tokens; their access tokens stop working at
    /// the next request.
    pub status: Option<AccountStatus>,
    /// A new password (same policy as on creation); revokes the user's refresh tokens.
    #[schema(format = Password)]
    pub password: Option<String>,
}

/// List user accounts
///
/// List user accounts (administrators only), in creation order, a page at a time.
#[utoipa::path(get, path = "/v1/users", tag = "users", params(UserQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of users", body = UserList),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<UserList>, ApiError> {
    caller.require(Operation::Administer)?;
    let query = UserQuery::parse(query.as_deref())?;
    let limit = query.limit;
    let filter = UserFilter {
        institution_id: query.institution_id,
        role: query.role,
        status: query.status.map(UserStatus::from),
        email: query.email,
        after: query.cursor,
        limit: i64::from(limit) + 1,
    };
    let mut users = state.store().list_users(&filter).await?;
    let next_cursor = cut(&mut users, limit, |u| u.id.to_string());
    Ok(Json(UserList { items: users.into_iter().map(UserView::from).collect(), next_cursor }))
}

/// Get a user account
///
/// One user account (administrators only).
#[utoipa::path(get, path = "/v1/users/{id}", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<UserView>, ApiError> {
    caller.require(Operation::Administer)?;
    Ok(Json(state.store().get_user(id).await?.into()))
}

/// Create a user account
///
/// Create a user with an initial password (administrators only). The role must fit the
/// institution's kind; the email must not be in use, in any case.
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = CreateUser,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = UserView,
            headers(("Location" = String, description = "The new user's URL"))),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`: another account has this email", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, a weak `password`, or a `role` that does not fit the institution", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateUser>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Operation::Administer)?;
    let request = UserRequest {
        email: body.email,
        display_name: body.display_name,
        role: body.role,
        institution_id: body.institution_id,
        password: body.password,
    };
    let user =
        admin::create_user(state.store(), request, &Administrator::from_caller(&caller)).await?;
    let location = format!("/v1/users/{}", user.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(UserView::from(user))))
}

/// Change a user account
///
/// Change a user's display name, role, status or password (administrators only).
/// Disabling the account or setting a password revokes its refresh tokens in the same
/// transaction; its access tokens stop working at the next request.
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")),
    request_body = UpdateUser,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed user", body = UserView),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, a weak `password`, or a `role` that does not fit the institution", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(body): Json<UpdateUser>,
) -> Result<Json<UserView>, ApiError> {
    caller.require(Operation::Administer)?;
    let current = state.store().get_user(id).await?;
    let mut errors = Validation::new();
    let display_name =
        body.display_name.as_deref().and_then(|n| errors.check(text("display_name", n, 200)));
    let password = body.password.and_then(|p| errors.check(Password::parse("password", p)));
    if let Some(role) = body.role {
        let institution = state.store().get_institution(current.institution_id).await?;
        if !role.fits(institution.kind) {
            let error = admin::role_mismatch(role, institution.kind);
            errors.push(error.field, &error.code, error.message);
        }
    }
    if id == caller.actor.id {
        // Administrators cannot lock themselves (and maybe everyone) out.
        if body.status == Some(AccountStatus::Disabled) {
            errors.push("status", "own_account", "you cannot disable your own account");
        }
        if body.role.is_some_and(|r| r != Role::Admin) {
            errors.push("role", "own_account", "you cannot give up your own administrator role");
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_errors()));
    }
    let password_hash = match password {
        Some(password) => Some(admin::hash_new_password(password).await?),
        None => None,
    };
    let changes = UserChanges {
        display_name,
        role: body.role,
        status: body.status.map(UserStatus::from),
        password_hash,
    };
    let by = Administrator::from_caller(&caller);
    let user = state
        .store()
        .update_user(id, &changes, |user, fields| by.event("user.update", "user", user.id, fields))
        .await?;
    state.auth_changed();
    Ok(Json(user.into()))
}
