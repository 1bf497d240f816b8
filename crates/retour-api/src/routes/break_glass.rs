//! Break-glass: opening a case outside one's scope in an emergency, and the auditors' review
//! of every such use.

use axum::extract::{RawQuery, State};
use chrono::{DateTime, Utc};
use retour_domain::policy::{self, Decision, Operation};
use retour_domain::{Role, Validation};
use retour_store::audit::Outcome;
use retour_store::break_glass::{BreakGlassFilter, BreakGlassUse, Opener};
use retour_store::cases;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{Created, created};
use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::pagination::cut;
use crate::path::Path;
use crate::query::QueryParams;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(open_break_glass))
        .routes(routes!(list_break_glass))
        .routes(routes!(review_break_glass))
}

/// The fewest characters of a break-glass reason.
const MIN_REASON: usize = 20;
/// The most characters of a reason or a review note.
const MAX_TEXT: usize = 2000;

/// Why the case is opened.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenBreakGlass {
    /// The emergency, in at least 20 characters; the auditors read it.
    #[schema(min_length = 20, max_length = 2000)]
    pub reason: String,
}

/// One use of break-glass.
#[derive(Debug, Serialize, ToSchema)]
pub struct BreakGlassView {
    pub id: Uuid,
    pub case_id: Uuid,
    /// Who opened the case.
    pub user_id: Uuid,
    pub institution_id: Uuid,
    pub reason: String,
    pub opened_at: DateTime<Utc>,
    /// Until when the case is open to its user (read-only).
    pub expires_at: DateTime<Utc>,
    /// When an auditor reviewed the use; `null` while it waits.
    pub reviewed_at: Option<DateTime<Utc>>,
    pub reviewed_by: Option<Uuid>,
    pub review_note: Option<String>,
}

impl From<BreakGlassUse> for BreakGlassView {
    fn from(u: BreakGlassUse) -> Self {
        Self {
            id: u.id,
            case_id: u.case_id,
            user_id: u.user_id,
            institution_id: u.institution_id,
            reason: u.reason,
            opened_at: u.opened_at,
            expires_at: u.expires_at,
            reviewed_at: u.reviewed_at,
            reviewed_by: u.reviewed_by,
            review_note: u.review_note,
        }
    }
}

fn check_text(field: &str, value: &str, min: usize, errors: &mut Validation) -> Option<String> {
    let value = value.trim();
    let chars = value.chars().count();
    if chars < min {
        errors.push(field, "too_short", format!("{field} must have at least {min} characters"));
        None
    } else if chars > MAX_TEXT {
        errors.push(field, "too_long", format!("{field} must have at most {MAX_TEXT} characters"));
        None
    } else if value.chars().any(|c| c == '\0') {
        errors.push(field, "invalid_characters", format!("{field} must not hold a NUL character"));
        None
    } else {
        Some(value.to_owned())
    }
}

/// Open a case in an emergency (break-glass)
///
/// Opens a case outside the caller's scope in an emergency (users of the configured roles,
/// SEM officers by default): for 60 minutes the case view (`GET /v1/cases/{id}`) answers the
/// caller as it would answer a user of their role who sees the case, read-only (no action is
/// allowed). The reason (at least 20 characters) is kept; the use is in the access log, in
/// the case's event feed (`break_glass.opened`) and in the auditors' queue
/// (`GET /v1/break-glass-uses`), where an auditor reviews it.
#[utoipa::path(post, path = "/v1/cases/{id}/break-glass", tag = "cases",
    params(("id" = Uuid, Path, description = "The case's id")),
    request_body = OpenBreakGlass,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Opened", body = BreakGlassView,
            headers(("Location" = String, description = "The case's URL"))),
        (status = 403, description = "Your role may not use break-glass", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`break_glass_not_needed`: the case is in your scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid `reason`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn open_break_glass(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(body): Json<OpenBreakGlass>,
) -> Result<Created<BreakGlassView>, ApiError> {
    let config = &state.config().break_glass;
    if !caller.actor.role().is_some_and(|role| config.roles.contains(&role)) {
        return Err(ApiError::Forbidden {
            code: ProblemCode::Forbidden,
            detail: "your role may not open cases outside its scope".to_owned(),
        });
    }
    let mut errors = Validation::new();
    let reason = check_text("reason", &body.reason, MIN_REASON, &mut errors);
    let Some(reason) = errors.finish(reason).map_err(ApiError::Validation)? else {
        return Err(ApiError::validation("reason", "required", "reason is required"));
    };
    let mut conn = state.store().pool().acquire().await.map_err(retour_store::StoreError::from)?;
    let head = cases::case_head(&mut conn, id).await?.ok_or(ApiError::NotFound)?;
    drop(conn);
    if policy::decide(&caller.actor, Operation::ReadCase, Some(&head.facts())) == Decision::Allow {
        return Err(ApiError::Conflict {
            code: ProblemCode::BreakGlassNotNeeded,
            detail: "the case is in your scope: read it as usual".to_owned(),
        });
    }
    let expires = Utc::now()
        + chrono::Duration::from_std(config.duration).unwrap_or(chrono::Duration::hours(1));
    let by = Opener { user_id: caller.actor.id, institution_id: caller.actor.institution_id };
    let opened = state
        .store()
        .open_break_glass(id, by, &reason, expires, |use_id| {
            caller
                .event("case.break_glass", Outcome::Allowed)
                .resource("case", id)
                .details(serde_json::json!({ "break_glass_id": use_id }))
        })
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(created(format!("/v1/cases/{id}"), BreakGlassView::from(opened)))
}

/// A page of break-glass uses.
#[derive(Debug, Serialize, ToSchema)]
pub struct BreakGlassList {
    pub items: Vec<BreakGlassView>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Filters and paging of the break-glass uses.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BreakGlassQuery {
    /// `open` (not reviewed yet: the auditors' queue; the default), `reviewed` or `all`.
    #[param(value_type = Option<String>, pattern = "^(open|reviewed|all)$")]
    pub status: BreakGlassFilter,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u32>)]
    pub limit: u32,
}

impl BreakGlassQuery {
    fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut params = QueryParams::parse(query);
        let status = params
            .one_of(
                "status",
                |v| match v {
                    "open" => Some(BreakGlassFilter::Open),
                    "reviewed" => Some(BreakGlassFilter::Reviewed),
                    "all" => Some(BreakGlassFilter::All),
                    _ => None,
                },
                "open, reviewed, all",
            )
            .unwrap_or(BreakGlassFilter::Open);
        let query =
            BreakGlassQuery { status, cursor: params.uuid("cursor"), limit: params.limit() };
        params.finish(query)
    }
}

fn require_auditor(caller: &Caller) -> Result<(), ApiError> {
    if !caller.actor.has_role(Role::Auditor) {
        return Err(ApiError::Forbidden {
            code: ProblemCode::Forbidden,
            detail: "auditors review break-glass uses".to_owned(),
        });
    }
    Ok(())
}

/// List break-glass uses
///
/// The uses of break-glass, oldest first (auditors): by default those not reviewed yet,
/// the auditors' queue.
#[utoipa::path(get, path = "/v1/break-glass-uses", tag = "audit", params(BreakGlassQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of uses", body = BreakGlassList),
        (status = 403, description = "Not an auditor", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_break_glass(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<BreakGlassList>, ApiError> {
    require_auditor(&caller)?;
    let query = BreakGlassQuery::parse(query.as_deref())?;
    let mut uses = state
        .store()
        .list_break_glass(query.status, query.cursor, i64::from(query.limit) + 1)
        .await?;
    let next_cursor = cut(&mut uses, query.limit, |u| u.id.to_string());
    let event = caller.event("break_glass.list", Outcome::Allowed);
    state.store().log(&event).await?;
    Ok(Json(BreakGlassList {
        items: uses.into_iter().map(BreakGlassView::from).collect(),
        next_cursor,
    }))
}

/// An auditor's review of a break-glass use.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBreakGlass {
    /// What the auditor found.
    #[schema(min_length = 1, max_length = 2000)]
    pub note: String,
}

/// Review a break-glass use
///
/// An auditor reviews a use of break-glass and closes it, with a note.
#[utoipa::path(post, path = "/v1/break-glass-uses/{id}/review", tag = "audit",
    params(("id" = Uuid, Path, description = "The use's id")),
    request_body = ReviewBreakGlass,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Reviewed", body = BreakGlassView),
        (status = 403, description = "Not an auditor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such use", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_reviewed`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid `note`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn review_break_glass(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(body): Json<ReviewBreakGlass>,
) -> Result<Json<BreakGlassView>, ApiError> {
    require_auditor(&caller)?;
    let mut errors = Validation::new();
    let note = check_text("note", &body.note, 1, &mut errors);
    let Some(note) = errors.finish(note).map_err(ApiError::Validation)? else {
        return Err(ApiError::validation("note", "required", "note is required"));
    };
    let event =
        caller.event("break_glass.review", Outcome::Allowed).resource("break_glass_use", id);
    match state.store().review_break_glass(id, caller.actor.id, &note, &event).await {
        Ok(Ok(reviewed)) => Ok(Json(reviewed.into())),
        Ok(Err(_)) => Err(ApiError::Conflict {
            code: ProblemCode::AlreadyReviewed,
            detail: "this use was reviewed already".to_owned(),
        }),
        Err(retour_store::StoreError::NotFound) => Err(ApiError::NoSuch("break-glass use")),
        Err(other) => Err(other.into()),
    }
}
