//! User accounts, managed by administrators.

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use retour_domain::administration::{self, AccountFacts, AccountReach};
use retour_domain::policy::Decision;
use retour_domain::validation::text;
use retour_domain::{FieldError, Password, Role, Validation, string_enum};
use retour_store::mfa::MfaReset;
use retour_store::sessions::{SessionEnd, Sessions};
use retour_store::users::{User, UserChanges, UserFilter, UserStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::me::{SessionList, session_list};
use crate::admin::{self, Administrator, UserRequest, require_administrator};
use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::pagination::cut;
use crate::path::Path;
use crate::query::QueryParams;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(approve_user))
        .routes(routes!(reset_user_mfa))
        .routes(routes!(list_user_sessions, end_user_sessions))
}

string_enum! {
    /// Whether an account (a user or a service account) may sign in.
    pub enum AccountStatus {
        Active = "active",
        Disabled = "disabled",
        /// A grant of access waiting for a second administrator's approval (it cannot sign
        /// in); set by the server, never by a request.
        PendingApproval = "pending_approval",
    }
}

impl From<UserStatus> for AccountStatus {
    fn from(status: UserStatus) -> Self {
        match status {
            UserStatus::Active => AccountStatus::Active,
            UserStatus::Disabled => AccountStatus::Disabled,
            UserStatus::PendingApproval => AccountStatus::PendingApproval,
        }
    }
}

impl From<AccountStatus> for UserStatus {
    fn from(status: AccountStatus) -> Self {
        match status {
            AccountStatus::Active => UserStatus::Active,
            AccountStatus::Disabled => UserStatus::Disabled,
            AccountStatus::PendingApproval => UserStatus::PendingApproval,
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
    /// While `pending_approval`: the administrator who asked for the account.
    pub approval_requested_by: Option<Uuid>,
    /// The user has a confirmed authenticator (second factor).
    pub mfa_enrolled: bool,
    /// While a reset of the second factor waits for a second administrator: who asked.
    pub mfa_reset_requested_by: Option<Uuid>,
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
            approval_requested_by: user.approval_requested_by,
            mfa_enrolled: user.mfa_enrolled,
            mfa_reset_requested_by: user.mfa_reset_requested_by,
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

/// The facts the policy judges an administrator's access to `user` by.
async fn facts_of(state: &AppState, user: &User) -> Result<AccountFacts, ApiError> {
    let institution = state.store().get_institution(user.institution_id).await?;
    Ok(AccountFacts {
        institution_id: institution.id,
        institution_kind: institution.kind,
        administrator: user.role.administers(),
    })
}

/// User `id`, if the caller manages it: 404 for another institution's account (to an
/// institution's administrator), 403 `separation_of_duties` for one the operator's
/// administrator does not manage, 403 `forbidden` for everyone but administrators.
async fn managed_user(state: &AppState, caller: &Caller, id: Uuid) -> Result<User, ApiError> {
    require_administrator(caller)?;
    let user = state.store().get_user(id).await?;
    match administration::manage_account(&caller.actor, &facts_of(state, &user).await?) {
        Decision::Allow => Ok(user),
        Decision::NotFound => Err(ApiError::NotFound),
        Decision::Forbidden => Err(admin::separation_of_duties(
            "the operator's administrators manage their own accounts and each institution's \
             administrators, not the institution's users",
        )),
    }
}

/// List user accounts
///
/// List the user accounts the caller administers, in creation order, a page at a time: an
/// institution's administrator those of their institution; the operator's administrator the
/// operator's accounts and every institution's administrators.
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
    require_administrator(&caller)?;
    let query = UserQuery::parse(query.as_deref())?;
    let limit = query.limit;
    let filter = UserFilter {
        reach: Some(administration::account_reach(&caller.actor)),
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
/// One user account the caller administers.
#[utoipa::path(get, path = "/v1/users/{id}", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 403, description = "Not an administrator, or `separation_of_duties`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user (of the caller's institution)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(managed_user(&state, &caller, id).await?.into()))
}

/// Create a user account
///
/// Create a user with an initial password. An institution's administrator creates the users
/// of their institution; the operator's administrator creates the operator's administrators
/// and each institution's first administrator (`institution_admin`), never a user who reads
/// cases (403 `separation_of_duties`). The role must fit the institution's kind; the email
/// must not be in use, in any case. A user who reads case data or the access log (or another
/// administrator) made by an institution's only administrator is `pending_approval` until a
/// second administrator approves it (`POST /v1/users/{id}/approval`).
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = CreateUser,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created (maybe `pending_approval`)", body = UserView,
            headers(("Location" = String, description = "The new user's URL"))),
        (status = 403, description = "Not an administrator, or `separation_of_duties`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`, or `institution_has_administrator`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, a weak `password`, or a `role` that does not fit the institution", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateUser>,
) -> Result<impl IntoResponse, ApiError> {
    require_administrator(&caller)?;
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
/// Change a user's display name, role, status or password (the user's administrators, as
/// for a creation). Disabling the account or setting a password ends its sessions in the
/// same transaction. A change that grants access (a role that reads more, or enabling an
/// account that reads cases) made by an institution's only administrator makes the account
/// `pending_approval` until a second administrator approves it.
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")),
    request_body = UpdateUser,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed user", body = UserView),
        (status = 403, description = "Not an administrator, or `separation_of_duties`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user (of the caller's institution)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, a weak `password`, or a `role` that does not fit the institution", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(body): Json<UpdateUser>,
) -> Result<Json<UserView>, ApiError> {
    let current = managed_user(&state, &caller, id).await?;
    let facts = facts_of(&state, &current).await?;
    let mut errors = Validation::new();
    let display_name =
        body.display_name.as_deref().and_then(|n| errors.check(text("display_name", n, 200)));
    let password = body.password.and_then(|p| errors.check(Password::parse("password", p)));
    if let Some(role) = body.role
        && !role.fits(facts.institution_kind)
    {
        let error = admin::role_mismatch(role, facts.institution_kind);
        errors.push(error.field, &error.code, error.message);
    }
    if body.status == Some(AccountStatus::PendingApproval) {
        errors.push(
            "status",
            "not_allowed",
            "status is active or disabled; pending_approval is set by the server",
        );
    }
    if id == caller.actor.id {
        // Administrators cannot lock themselves (and maybe everyone) out.
        if body.status == Some(AccountStatus::Disabled) {
            errors.push("status", "own_account", "you cannot disable your own account");
        }
        if body.role.is_some_and(|r| r != current.role) {
            errors.push("role", "own_account", "you cannot change your own role");
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_errors()));
    }
    let role = body.role.unwrap_or(current.role);
    // Enabling a disabled account grants again what it reads.
    let enabling =
        current.status == UserStatus::Disabled && body.status == Some(AccountStatus::Active);
    let before = if enabling { None } else { Some(current.role) };
    let mut approval_requested_by =
        admin::grant_approval(state.store(), &caller.actor, &facts, Some(current.role), role)
            .await?;
    if enabling && approval_requested_by.is_none() && caller.actor.has_role(Role::InstitutionAdmin)
    {
        let lone = state.store().count_administrators(facts.institution_id).await? < 2;
        if lone && administration::user_grant(before, role) {
            approval_requested_by = Some(caller.actor.id);
        }
    }
    // A disabled account stays disabled; a grant waits only when the account would be active.
    let status = body.status.map(UserStatus::from);
    if status == Some(UserStatus::Disabled)
        || (status.is_none() && current.status == UserStatus::Disabled)
    {
        approval_requested_by = None;
    }
    let password_hash = match password {
        Some(password) => Some(admin::hash_new_password(password).await?),
        None => None,
    };
    let changes =
        UserChanges { display_name, role: body.role, status, password_hash, approval_requested_by };
    let by = Administrator::from_caller(&caller);
    let user = state
        .store()
        .update_user(id, &changes, |user, fields| by.event("user.update", "user", user.id, fields))
        .await?;
    state.auth_changed();
    Ok(Json(user.into()))
}

/// Approve a user account
///
/// A second administrator approves an account waiting for it (`pending_approval`): another
/// administrator of its institution, or the operator's administrator, but neither the one
/// who asked for it nor the one who made the asker's account (409 `second_person_required`).
#[utoipa::path(post, path = "/v1/users/{id}/approval", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Approved: the account is active", body = UserView),
        (status = 403, description = "Not an administrator who may approve it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user (of the caller's institution)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_pending`, or `second_person_required`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn approve_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<UserView>, ApiError> {
    require_administrator(&caller)?;
    let user = state.store().get_user(id).await?;
    let facts = facts_of(&state, &user).await?;
    second_person(&state, &caller, user.approval_requested_by, &facts).await?;
    let event = Administrator::from_caller(&caller).event("user.approve", "user", id, &[]);
    let approved = state.store().approve_user(id, &event).await?.ok_or_else(not_pending)?;
    state.auth_changed();
    Ok(Json(approved.into()))
}

fn not_pending() -> ApiError {
    ApiError::Conflict {
        code: ProblemCode::NotPending,
        detail: "nothing of this account waits for approval".to_owned(),
    }
}

/// Checks that the caller may second a request made by `requested_by` on an account of
/// `facts`: 404 for an account outside an institution administrator's own institution, 409
/// `not_pending` without a request, 409 `second_person_required` for the asker (or whoever
/// made the asker's account), 403 for anyone else.
pub(crate) async fn second_person(
    state: &AppState,
    caller: &Caller,
    requested_by: Option<Uuid>,
    facts: &AccountFacts,
) -> Result<(), ApiError> {
    let reach = administration::account_reach(&caller.actor);
    if matches!(reach, AccountReach::Institution(_)) && !reach.includes(facts) {
        return Err(ApiError::NotFound);
    }
    let Some(asker) = requested_by else { return Err(not_pending()) };
    let asker_made_by = state.store().get_user(asker).await?.created_by;
    if administration::may_approve(&caller.actor, asker, asker_made_by, facts) {
        return Ok(());
    }
    if caller.actor.id == asker || asker_made_by == Some(caller.actor.id) {
        return Err(ApiError::Conflict {
            code: ProblemCode::SecondPersonRequired,
            detail: "a second administrator must approve this: not the one who asked, nor \
                     the one who made the asker's account"
                .to_owned(),
        });
    }
    Err(admin::separation_of_duties("you may not approve this account"))
}

/// What a reset of a second factor did.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaResetView {
    /// `requested`: a second administrator must confirm with the same call; `reset`: the
    /// authenticator and the recovery codes are gone and every session of the user ended.
    pub status: MfaResetStatus,
}

string_enum! {
    /// Whether a reset of a second factor happened or waits for confirmation.
    pub enum MfaResetStatus {
        Requested = "requested",
        Reset = "reset",
    }
}

/// Reset a user's second factor
///
/// Removes a user's authenticator and recovery codes (a lost phone) so that they enrol
/// again: two administrators are needed. The first call (by one of the user's
/// administrators) records the request (202 `requested`); the same call by a second
/// administrator (another of the institution's, or the operator's) carries it out (200
/// `reset`), ending every session of the user. Both steps are in the access log.
#[utoipa::path(delete, path = "/v1/users/{id}/mfa", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Reset", body = MfaResetView),
        (status = 202, description = "Requested: a second administrator must confirm", body = MfaResetView),
        (status = 403, description = "Not an administrator who may do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user (of the caller's institution)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_not_enrolled`, or `second_person_required` (you asked for it already)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn reset_user_mfa(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, Json<MfaResetView>), ApiError> {
    require_administrator(&caller)?;
    let user = state.store().get_user(id).await?;
    let facts = facts_of(&state, &user).await?;
    match user.mfa_reset_requested_by {
        Some(_) => second_person(&state, &caller, user.mfa_reset_requested_by, &facts).await?,
        None => {
            managed_user(&state, &caller, id).await?;
            if state.store().totp_factor(id).await?.is_none() {
                return Err(ApiError::Conflict {
                    code: ProblemCode::MfaNotEnrolled,
                    detail: "the user has no authenticator".to_owned(),
                });
            }
        }
    }
    let by = Administrator::from_caller(&caller);
    let outcome = state
        .store()
        .reset_mfa(
            id,
            caller.actor.id,
            |_| true,
            |done| {
                let action = if done { "user.mfa_reset" } else { "user.mfa_reset_requested" };
                by.event(action, "user", id, &[])
            },
        )
        .await?;
    match outcome {
        MfaReset::Requested => {
            Ok((StatusCode::ACCEPTED, Json(MfaResetView { status: MfaResetStatus::Requested })))
        }
        MfaReset::Done { .. } => {
            state.auth_changed();
            Ok((StatusCode::OK, Json(MfaResetView { status: MfaResetStatus::Reset })))
        }
        MfaReset::AlreadyRequested | MfaReset::NotYours => Err(ApiError::Conflict {
            code: ProblemCode::SecondPersonRequired,
            detail: "the reset waits for a second administrator".to_owned(),
        }),
    }
}

/// List a user's sessions
///
/// The open sessions of a user the caller administers.
#[utoipa::path(get, path = "/v1/users/{id}/sessions", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The open sessions", body = SessionList),
        (status = 403, description = "Not an administrator, or `separation_of_duties`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user (of the caller's institution)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_user_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<SessionList>, ApiError> {
    let user = managed_user(&state, &caller, id).await?;
    Ok(Json(session_list(state.store().open_sessions(user.id).await?, None)))
}

/// End a user's sessions
///
/// Ends every open session of a user the caller administers (a lost device, a suspected
/// break-in): their refresh and access tokens stop working at once.
#[utoipa::path(delete, path = "/v1/users/{id}/sessions", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Ended"),
        (status = 403, description = "Not an administrator, or `separation_of_duties`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user (of the caller's institution)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn end_user_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let user = managed_user(&state, &caller, id).await?;
    let by = Administrator::from_caller(&caller);
    state
        .store()
        .end_user_sessions(
            user.id,
            Sessions::OfUser(user.id),
            SessionEnd::EndedByAdministrator,
            |_| by.event("user.sessions_ended", "user", user.id, &[]),
        )
        .await?;
    state.auth_changed();
    Ok(StatusCode::NO_CONTENT)
}
