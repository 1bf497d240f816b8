//! What every report does around its own figures: parse and authorise the request, work the
//! figures out, log the read, and answer JSON or CSV.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use retour_domain::statistics::{Report, StatisticsAccess};

use crate::auth::Caller;
use crate::json::Json;
use crate::routes::audit::wants_csv;
use crate::{ApiError, AppState};

use super::*;

/// A request for a report, authorised: what the caller may see, what they ask for, and
/// whether they want CSV.
pub(super) struct Asked {
    pub(super) report: Report,
    pub(super) access: StatisticsAccess,
    pub(super) params: Params,
    csv: bool,
}

impl Asked {
    /// The request for `report` ([`authorise`]).
    pub(super) async fn new(
        state: &AppState,
        caller: &Caller,
        report: Report,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<Self, ApiError> {
        let csv = wants_csv(headers);
        let (access, params) = authorise(state, caller, report, csv, query).await?;
        Ok(Asked { report, access, params, csv })
    }

    /// What `work` works out for the caller; off the async runtime where small groups are
    /// withheld: a table of thousands of groups by several dimensions takes a while.
    pub(super) async fn figures<T: Send + 'static>(
        &self,
        work: impl FnOnce(&StatisticsAccess) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let access = self.access;
        if !access.suppress_small_groups {
            return Ok(work(&access));
        }
        tokio::task::spawn_blocking(move || work(&access)).await.map_err(ApiError::internal)
    }

    /// Logs the read (or export) of `answer`, and answers it as JSON or CSV.
    pub(super) async fn answer(
        &self,
        state: &AppState,
        caller: &Caller,
        answer: impl Answer,
    ) -> Result<Response, ApiError> {
        record(state, caller, &self.params, self.report, self.csv, answer.listed()).await?;
        if !self.csv {
            return Ok(Json(answer).into_response());
        }
        csv_response(self.report, &answer.columns(self), &answer.rows(self))
    }
}
