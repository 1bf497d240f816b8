//! Liveness and readiness probes.

use axum::extract::State;
use retour_store::Readiness;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::json::Json;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(live)).routes(routes!(ready))
}

/// The state of a probe.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the probe passes.
    pub status: String,
}

/// Check liveness
///
/// Liveness: the process is up and serving HTTP.
#[utoipa::path(get, path = "/health/live", tag = "operations", operation_id = "get_health_live",
    responses((status = 200, description = "The process is up", body = Health)))]
async fn live() -> Json<Health> {
    Json(Health { status: "ok".to_owned() })
}

/// Check readiness
///
/// Readiness: the database answers and every migration has been applied.
#[utoipa::path(get, path = "/health/ready", tag = "operations", operation_id = "get_health_ready",
    responses(
        (status = 200, description = "Ready to serve requests", body = Health),
        (status = 503, description = "The database is unreachable or not migrated",
            body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
async fn ready(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    match state.store().readiness().await {
        Readiness::Ready => Ok(Json(Health { status: "ok".to_owned() })),
        Readiness::DatabaseUnavailable => {
            Err(ApiError::Unavailable("the database is unreachable".to_owned()))
        }
        Readiness::MigrationsPending => {
            Err(ApiError::Unavailable("database migrations are pending".to_owned()))
        }
    }
}
