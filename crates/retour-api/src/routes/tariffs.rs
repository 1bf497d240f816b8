//! Tariffs and destination rules: what amounts apply on a date, new tariff versions (admin),
//! and the visa-exempt and suspended destination lists.

use axum::extract::{RawQuery, State};
use chrono::{DateTime, NaiveDate, Utc};
use retour_domain::Rappen;
use retour_domain::assistance::{
    AssistanceComponent, PersonCategory, ProcedurePhase, Programme, TariffBasis, TariffRate,
};
use retour_domain::policy::{self, Decision, Operation};
use retour_domain::tariff::Tariff;
use retour_store::audit::{AuditActor, AuditEvent, Outcome};
use retour_store::tariffs::{AddedTariff, TariffVersion};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::query::QueryParams;
use crate::routes::{Created, created};
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tariffs, create_tariff))
        .routes(routes!(get_destination_rules))
}

/// Filters of the tariff list.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TariffQuery {
    /// Only this programme's tariffs.
    programme: Option<Programme>,
    /// The day (`YYYY-MM-DD`) whose tariffs to list; today in Switzerland when absent.
    on: Option<NaiveDate>,
}

impl TariffQuery {
    fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut params = QueryParams::parse(query);
        let programme = params.one_of("programme", Programme::parse, &Programme::names());
        let query = TariffQuery { programme, on: params.date("on") };
        params.finish(query)
    }
}

/// The day of a dated list.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OnQuery {
    /// The day (`YYYY-MM-DD`); today in Switzerland when absent.
    on: Option<NaiveDate>,
}

impl OnQuery {
    fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut params = QueryParams::parse(query);
        let query = OnQuery { on: params.date("on") };
        params.finish(query)
    }
}

/// One tariff version.
#[derive(Debug, Serialize, ToSchema)]
pub struct TariffResponse {
    pub id: Uuid,
    #[serde(flatten)]
    pub tariff: Tariff,
    pub created_at: DateTime<Utc>,
}

impl From<TariffVersion> for TariffResponse {
    fn from(version: TariffVersion) -> Self {
        Self { id: version.id, tariff: version.tariff, created_at: version.created_at }
    }
}

/// The tariffs that apply on a day.
#[derive(Debug, Serialize, ToSchema)]
pub struct TariffList {
    pub on: NaiveDate,
    pub items: Vec<TariffResponse>,
}

/// A new version of a tariff. The tariff is identified by programme, component,
/// person_category, phase and rate; the new version starts on `valid_from` (today or later,
/// and after every existing version) and ends the current one that day.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTariffRequest {
    pub programme: Programme,
    pub component: AssistanceComponent,
    #[serde(default)]
    pub person_category: Option<PersonCategory>,
    /// Federal-centre tariffs only.
    #[serde(default)]
    pub phase: Option<ProcedurePhase>,
    #[serde(default)]
    pub rate: TariffRate,
    /// `null` for actual costs or an amount decided by SEM (medical, travel costs only).
    #[serde(default)]
    pub amount_rappen: Option<i64>,
    pub basis: TariffBasis,
    #[serde(default)]
    pub family_cap_rappen: Option<i64>,
    pub valid_from: NaiveDate,
    /// Not accepted: a version applies until a newer one starts.
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
    #[serde(default)]
    pub is_example: bool,
    /// The legal reference (up to 500 characters).
    pub source: String,
}

/// A country on the visa-exempt list.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisaExemptCountry {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub source: String,
}

/// A country for which return assistance is suspended.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuspendedDestination {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub reason: String,
}

/// The destination lists on a day. Nationals of a visa-exempt country get travel costs only
/// (except under the status S programme); for a suspended country nothing is granted.
#[derive(Debug, Serialize, ToSchema)]
pub struct DestinationRulesResponse {
    pub on: NaiveDate,
    pub visa_exempt: Vec<VisaExemptCountry>,
    pub suspended: Vec<SuspendedDestination>,
}

/// The day given as `on`, in the years 1 to 9999; `None` when not given.
/// The given day, or today in Switzerland.
async fn day_or_today(state: &AppState, day: Option<NaiveDate>) -> Result<NaiveDate, ApiError> {
    match day {
        Some(day) => Ok(day),
        None => Ok(state.store().swiss_today().await?),
    }
}

/// List the tariffs on a day
///
/// The tariffs that apply on a day (default today), optionally of one programme. Values
/// with `is_example: true` are not official (the federal-centre phase table is not public).
#[utoipa::path(get, path = "/v1/tariffs", tag = "assistance", params(TariffQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tariffs on the day", body = TariffList),
        (status = 422, description = "Invalid programme or date", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_tariffs(
    State(state): State<AppState>,
    _caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<TariffList>, ApiError> {
    let query = TariffQuery::parse(query.as_deref())?;
    let on = day_or_today(&state, query.on).await?;
    let items = state.store().tariffs_on(query.programme, on).await?;
    Ok(Json(TariffList { on, items: items.into_iter().map(TariffResponse::from).collect() }))
}

/// Add a tariff version
///
/// Adds a new version of a tariff (administrators). A past version is never edited: the new
/// one starts today or later, after every existing version of the same tariff, and the
/// current version ends the day the new one starts.
#[utoipa::path(post, path = "/v1/tariffs", tag = "assistance", request_body = NewTariffRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new version", body = TariffResponse,
            headers(("Location" = String, description = "The programme's tariffs on the day the new version starts"))),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another version was added at the same time", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid tariff, or valid_from not after the latest version", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_tariff(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewTariffRequest>,
) -> Result<Created<TariffResponse>, ApiError> {
    let actor = &caller.actor;
    if policy::decide(actor, Operation::Administer, None) != Decision::Allow {
        let event = AuditEvent::new(AuditActor::from(actor), "tariff.create", Outcome::Denied)
            .request(caller.meta.request_id, caller.meta.client_addr);
        state.store().log(&event).await?;
        return Err(ApiError::Forbidden {
            code: ProblemCode::Forbidden,
            detail: "only administrators add tariff versions".to_owned(),
        });
    }
    let tariff = Tariff {
        programme: body.programme,
        component: body.component,
        person_category: body.person_category,
        phase: body.phase,
        rate: body.rate,
        amount_rappen: body.amount_rappen.map(Rappen::new),
        basis: body.basis,
        family_cap_rappen: body.family_cap_rappen.map(Rappen::new),
        valid_from: body.valid_from,
        valid_to: body.valid_to,
        is_example: body.is_example,
        source: body.source.trim().to_owned(),
    };
    let today = state.store().swiss_today().await?;
    tariff.check_new(today).map_err(ApiError::Validation)?;
    let event = AuditEvent::new(AuditActor::from(actor), "tariff.create", Outcome::Allowed)
        .details(serde_json::json!({
            "programme": tariff.programme,
            "component": tariff.component,
            "person_category": tariff.person_category,
            "phase": tariff.phase,
            "rate": tariff.rate,
            "amount_rappen": tariff.amount_rappen,
            "family_cap_rappen": tariff.family_cap_rappen,
            "valid_from": tariff.valid_from,
        }))
        .request(caller.meta.request_id, caller.meta.client_addr);
    match state.store().add_tariff_version(&tariff, actor.id, &event).await? {
        AddedTariff::Added(version) => {
            tracing::info!(tariff.id = %version.id, valid_from = %version.tariff.valid_from, "tariff version added");
            let location = format!(
                "/v1/tariffs?programme={}&on={}",
                version.tariff.programme.as_str(),
                version.tariff.valid_from
            );
            Ok(created(location, version.into()))
        }
        AddedTariff::NotAfterLatest { latest_valid_from } => Err(ApiError::validation(
            "valid_from",
            "not_after_latest_version",
            format!(
                "valid_from must be after {latest_valid_from}, the start of the latest version \
                 of this tariff"
            ),
        )),
    }
}

/// Get the destination rules on a day
///
/// The visa-exempt and suspended destination countries on a day (default today).
#[utoipa::path(get, path = "/v1/destination-rules", tag = "assistance", params(OnQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The destination lists on the day", body = DestinationRulesResponse),
        (status = 422, description = "Invalid date", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_destination_rules(
    State(state): State<AppState>,
    _caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<DestinationRulesResponse>, ApiError> {
    let query = OnQuery::parse(query.as_deref())?;
    let on = day_or_today(&state, query.on).await?;
    let rules = state.store().destination_rules_on(on).await?;
    Ok(Json(DestinationRulesResponse {
        on,
        visa_exempt: rules
            .visa_exempt
            .into_iter()
            .map(|r| VisaExemptCountry {
                country: r.country,
                valid_from: r.valid_from,
                valid_to: r.valid_to,
                source: r.source,
            })
            .collect(),
        suspended: rules
            .suspended
            .into_iter()
            .map(|r| SuspendedDestination {
                country: r.country,
                valid_from: r.valid_from,
                valid_to: r.valid_to,
                reason: r.reason,
            })
            .collect(),
    }))
}
