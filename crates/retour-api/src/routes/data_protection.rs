//! The data protection officer's work: the retention rules (how long an ended case is kept
//! before it is offered to the archive and destroyed), and a person's own data (Art. 25 of
//! the Data Protection Act) as JSON or as a readable PDF.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use retour_domain::lifecycle::{EndState, RetentionRuleInput, parse_retention_rule};
use retour_domain::policy::Operation;
use retour_domain::{FieldError, Relationship, ZemisNumber};
use retour_store::StoreError;
use retour_store::audit::{self, Outcome};
use retour_store::lifecycle::{self, RetentionRule};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::Problem;
use crate::json::Json;
use crate::lifecycle::{CaseRecord, DocumentRecord, case_record};
use crate::path::Path;
use crate::pdf::{Line, Report, Section};
use crate::query::QueryParams;
use crate::routes::cases::consents::ConsentResponse;
use crate::routes::cases::dto::CaseResponse;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_retention_rules))
        .routes(routes!(set_retention_rule))
        .routes(routes!(export_person_data))
}

/// How long the cases of one end state are kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionRuleResponse {
    pub end_state: EndState,
    /// Years after the case's end (its closing, withdrawal, cancellation or rejection).
    pub years: i32,
    /// Whether the data protection officer confirmed the rule; `false`: the installation's
    /// default.
    pub confirmed: bool,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub confirmed_by: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<RetentionRule> for RetentionRuleResponse {
    /// An end state the code does not know: a stored value it cannot read.
    type Error = StoreError;

    fn try_from(r: RetentionRule) -> Result<Self, StoreError> {
        let end_state = EndState::parse(&r.end_state).ok_or_else(|| StoreError::Corrupt {
            column: "retention_rules.end_state",
            value: r.end_state.clone(),
        })?;
        Ok(RetentionRuleResponse {
            end_state,
            years: r.years,
            confirmed: r.confirmed_at.is_some(),
            confirmed_at: r.confirmed_at,
            confirmed_by: r.confirmed_by,
            updated_at: r.updated_at,
        })
    }
}

/// The retention rules, one per end state.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionRuleList {
    pub items: Vec<RetentionRuleResponse>,
}

/// List the retention rules
///
/// How many years after its end a case of each end state is kept before the daily retention
/// run offers it to the archive and destroys it (a legal hold keeps it longer). For the data
/// protection officer and the auditors.
#[utoipa::path(get, path = "/v1/retention-rules", tag = "data-protection",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The rules", body = RetentionRuleList),
        (status = 403, description = "Only the data protection officer and the auditors read them", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_retention_rules(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<RetentionRuleList>, ApiError> {
    caller
        .require_recorded(state.store(), Operation::ReadRetention, "retention.rules_read")
        .await?;
    // The four rules come whole: no paging, and no parameter.
    QueryParams::parse(raw.as_deref()).finish(())?;
    let rules = lifecycle::retention_rules(state.store().pool()).await?;
    let items = rules.into_iter().map(RetentionRuleResponse::try_from).collect::<Result<_, _>>()?;
    Ok(Json(RetentionRuleList { items }))
}

/// Set a retention rule
///
/// Sets (and so confirms) how many years, 1 to 100, the cases of one end state are kept
/// after their end. The next retention run applies it. For the data protection officer.
#[utoipa::path(put, path = "/v1/retention-rules/{end_state}", tag = "data-protection",
    security(("bearer" = [])),
    params(("end_state" = EndState, Path, description = "closed, withdrawn, rejected or cancelled")),
    request_body = RetentionRuleInput,
    responses(
        (status = 200, description = "The rule", body = RetentionRuleResponse),
        (status = 403, description = "Only the data protection officer sets them", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such end state", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming `years`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_retention_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path(end_state): Path<String>,
    Json(input): Json<RetentionRuleInput>,
) -> Result<Json<RetentionRuleResponse>, ApiError> {
    caller
        .require_recorded(state.store(), Operation::ManageRetention, "retention.rule_set")
        .await?;
    let end_state = EndState::parse(&end_state).ok_or(ApiError::NoSuch("end state"))?;
    let years = parse_retention_rule(&input).map_err(ApiError::Validation)?;
    let mut tx = state.store().begin().await?;
    let rule = lifecycle::set_retention_rule(&mut tx, end_state.as_str(), years, caller.actor.id)
        .await?
        .ok_or(ApiError::NoSuch("end state"))?;
    let event = caller
        .event("retention.rule_set", Outcome::Allowed)
        .details(serde_json::json!({ "end_state": end_state.as_str(), "years": years }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(Json(rule.try_into()?))
}

/// Whose data, and how.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// The person's ZEMIS number (8 digits): every person record with it, in every case.
    #[param(value_type = Option<String>, pattern = "^[0-9]{8}$")]
    pub zemis_number: Option<String>,
    /// A person record (`persons[].id` of a case): that record, and every other with its
    /// ZEMIS number.
    pub person_id: Option<Uuid>,
    /// `json` (the default) or `pdf`, a readable report to hand to the person.
    #[param(value_type = Option<String>, pattern = "^(json|pdf)$")]
    pub format: Option<String>,
}

impl ExportQuery {
    fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let mut params = QueryParams::parse(raw);
        let zemis_number = params.checked("zemis_number", |value| {
            ZemisNumber::parse(value.trim()).map(|_| value.trim().to_owned()).ok_or_else(|| {
                FieldError::new(
                    "zemis_number",
                    "invalid_format",
                    "zemis_number must be a ZEMIS number of 8 digits",
                )
            })
        });
        let person_id = params.uuid("person_id");
        let format = params.one_of(
            "format",
            |value| matches!(value, "json" | "pdf").then(|| value.to_owned()),
            "json, pdf",
        );
        let wanted = ExportQuery { zemis_number, person_id, format };
        let wanted = params.finish(wanted)?;
        if wanted.zemis_number.is_none() && wanted.person_id.is_none() {
            return Err(ApiError::validation(
                "zemis_number",
                "required",
                "name the person: zemis_number or person_id",
            ));
        }
        Ok(wanted)
    }
}

/// Everything held about one person.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonDataExport {
    pub exported_at: DateTime<Utc>,
    /// The ZEMIS number asked for, or that of the person record asked for.
    pub zemis_number: Option<String>,
    /// One entry per case the person is part of, oldest first.
    pub cases: Vec<ExportedCase>,
}

/// What one case holds about the person.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedCase {
    /// The person's own record in the case.
    pub person_id: Uuid,
    /// The case, every part of it; of its household, only the person's own record.
    pub case: CaseResponse,
    /// The other persons of the household, by their relationship only.
    pub household: Vec<Relationship>,
    /// Every note on the case, of every institution.
    pub notes: Vec<ExportedNote>,
    /// The case's history.
    pub history: Vec<retour_domain::records::CaseEvent>,
    /// The person's consents.
    pub consents: Vec<ConsentResponse>,
    /// The case's documents (their records, not their content).
    pub documents: Vec<DocumentRecord>,
    /// Every entry of the access log about the case: when, which institution and role, what,
    /// and whether it was allowed.
    pub access_log: Vec<ExportedAccess>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedNote {
    pub id: Uuid,
    pub institution_id: Uuid,
    pub visibility: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedAccess {
    pub occurred_at: DateTime<Utc>,
    /// The institution of whoever accessed the case (`null`: the system itself).
    pub institution: Option<String>,
    pub role: Option<String>,
    /// `case.read`, `case.update`, `case.transition`, …
    pub action: String,
    /// `allowed`, `denied` or `failed`.
    pub outcome: String,
}

/// Export a person's data
///
/// Everything held about one person, for their request under Art. 25 of the Data Protection
/// Act: every case they are part of with every part of it (of the household only their own
/// record), the notes, the history, their consents, the documents' records, and every access
/// to those cases from the access log (institution and role, not the staff member). As JSON,
/// or with `format=pdf` as a readable report. For the data protection officer; the export is
/// in the access log.
#[utoipa::path(get, path = "/v1/persons/data-export", tag = "data-protection",
    security(("bearer" = [])),
    params(ExportQuery),
    responses(
        (status = 200, description = "The person's data", content(
            (PersonDataExport = "application/json"),
            ([u8] = "application/pdf"),
        )),
        (status = 403, description = "Only the data protection officer exports a person's data", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No person with this ZEMIS number or id", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: no person named, or a malformed parameter", body = Problem, content_type = "application/problem+json"),
    ))]
async fn export_person_data(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller
        .require_recorded(state.store(), Operation::ExportPersonData, "person.data_export")
        .await?;
    let wanted = ExportQuery::parse(raw.as_deref())?;
    let pdf = wanted.format.as_deref() == Some("pdf");
    let store = state.store();
    let records =
        lifecycle::person_records(store.pool(), wanted.zemis_number.as_deref(), wanted.person_id)
            .await?;
    if records.is_empty() {
        return Err(ApiError::NoSuch("person"));
    }
    let zemis_number =
        wanted.zemis_number.clone().or_else(|| records.iter().find_map(|r| r.zemis_number.clone()));
    let case_ids: Vec<Uuid> = records.iter().map(|r| r.case_id).collect();
    // The access log as it stood before this export.
    let accesses = lifecycle::case_accesses(store.pool(), &case_ids).await?;
    let mut conn = store.pool().acquire().await.map_err(StoreError::from)?;
    let mut cases = Vec::with_capacity(records.len());
    for record in &records {
        let CaseRecord { case, notes, history, consents, documents, .. } =
            case_record(store, &mut conn, record.case_id).await.map_err(ApiError::internal)?;
        cases.push(exported(
            record.person_id,
            case,
            notes,
            history,
            consents,
            documents,
            &accesses,
        ));
    }
    let export = PersonDataExport { exported_at: Utc::now(), zemis_number, cases };
    let event = caller
        .event("person.data_export", Outcome::Allowed)
        .resources("case", case_ids)
        .details(serde_json::json!({
            "person_records": records.len(),
            "format": if pdf { "pdf" } else { "json" },
        }));
    audit::record(&mut *conn, &event).await?;
    if !pdf {
        return Ok(Json(export).into_response());
    }
    let pdf = render_pdf(&export);
    let mut response = pdf.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"personal-data.pdf\""),
    );
    Ok(response)
}

fn exported(
    person_id: Uuid,
    mut case: CaseResponse,
    notes: Vec<lifecycle::ArchivedNote>,
    history: Vec<retour_domain::records::CaseEvent>,
    consents: Vec<ConsentResponse>,
    documents: Vec<DocumentRecord>,
    accesses: &[lifecycle::CaseAccess],
) -> ExportedCase {
    let household =
        case.persons.iter().filter(|p| p.id != person_id).map(|p| p.relationship).collect();
    case.persons.retain(|p| p.id == person_id);
    let case_id = case.id;
    ExportedCase {
        person_id,
        case,
        household,
        notes: notes
            .into_iter()
            .map(|n| ExportedNote {
                id: n.id,
                institution_id: n.institution_id,
                visibility: n.visibility,
                body: n.body,
                created_at: n.created_at,
            })
            .collect(),
        history,
        consents: consents.into_iter().filter(|c| c.person_id == person_id).collect(),
        documents,
        access_log: accesses
            .iter()
            .filter(|a| a.case_id == case_id)
            .map(|a| ExportedAccess {
                occurred_at: a.occurred_at,
                institution: a.institution.clone(),
                role: a.role.clone(),
                action: a.action.clone(),
                outcome: a.outcome.clone(),
            })
            .collect(),
    }
}

fn field(label: &str, value: impl std::fmt::Display) -> Line {
    Line::Field { label: label.to_owned(), value: value.to_string() }
}

fn day(value: Option<NaiveDate>) -> String {
    value.map_or_else(|| "–".to_owned(), |d| d.to_string())
}

/// The export as a report to hand to the person: their records, the cases, notes, consents,
/// documents and the accesses.
fn render_pdf(export: &PersonDataExport) -> Vec<u8> {
    let mut sections = Vec::new();
    for exported in &export.cases {
        let case = &exported.case;
        let mut lines = vec![
            field("Case", &case.reference),
            field("Status", case.status),
            field("Destination", case.destination_country),
            field("Opened", case.created_at.format("%Y-%m-%d")),
        ];
        for person in &case.persons {
            lines.push(Line::Blank);
            lines.push(field("Surname", &person.surname));
            lines.push(field("Given names", &person.given_names));
            if !person.aliases.is_empty() {
                lines.push(field("Aliases", person.aliases.join(", ")));
            }
            lines.push(field("Date of birth", person.date_of_birth));
            lines.push(field("Relationship", person.relationship));
            lines.push(field("Nationality", person.nationality));
            if let Some(Some(zemis)) = &person.zemis_number {
                lines.push(field("ZEMIS number", zemis.as_str()));
            }
            if let Some(Some(n_number)) = &person.n_number {
                lines.push(field("N number", n_number.as_str()));
            }
        }
        if !exported.household.is_empty() {
            let others: Vec<String> = exported.household.iter().map(ToString::to_string).collect();
            lines.push(field("Household", others.join(", ")));
        }
        if let Some(Some(medical)) = &case.medical
            && let Some(Some(summary)) = &medical.summary
        {
            lines.push(field("Medical summary", summary));
        }
        sections.push(Section { heading: format!("Case {}", case.reference), lines });
        let case_json = serde_json::to_value(case).unwrap_or_default();
        sections.push(Section {
            heading: format!("Case {}: every recorded field", case.reference),
            lines: flatten("", &case_json),
        });
        if !exported.notes.is_empty() {
            sections.push(Section {
                heading: format!("Case {}: notes", case.reference),
                lines: exported
                    .notes
                    .iter()
                    .flat_map(|n| {
                        [field(&n.created_at.format("%Y-%m-%d").to_string(), &n.body), Line::Blank]
                    })
                    .collect(),
            });
        }
        if !exported.consents.is_empty() {
            sections.push(Section {
                heading: format!("Case {}: consents", case.reference),
                lines: exported
                    .consents
                    .iter()
                    .map(|c| {
                        field(
                            c.purpose.as_str(),
                            format!(
                                "given {} (sheet {}, {}), withdrawn {}",
                                c.given_on,
                                c.sheet_version,
                                c.sheet_language,
                                day(c.withdrawn_on)
                            ),
                        )
                    })
                    .collect(),
            });
        }
        if !exported.documents.is_empty() {
            sections.push(Section {
                heading: format!("Case {}: documents", case.reference),
                lines: exported
                    .documents
                    .iter()
                    .map(|d| {
                        field(
                            &d.category,
                            format!(
                                "{} (version {}, {} bytes, {})",
                                d.file_name,
                                d.version,
                                d.size_bytes,
                                d.uploaded_at.format("%Y-%m-%d")
                            ),
                        )
                    })
                    .collect(),
            });
        }
        sections.push(Section {
            heading: format!("Case {}: who accessed it", case.reference),
            lines: exported
                .access_log
                .iter()
                .map(|a| {
                    Line::Text(format!(
                        "{}  {}  {} ({})  {}",
                        a.occurred_at.format("%Y-%m-%d %H:%M UTC"),
                        a.action,
                        a.institution.as_deref().unwrap_or("Retour"),
                        a.role.as_deref().unwrap_or("system"),
                        a.outcome
                    ))
                })
                .collect(),
        });
    }
    let subtitle = format!(
        "Exported {} · ZEMIS number {}",
        export.exported_at.format("%Y-%m-%d %H:%M UTC"),
        export.zemis_number.as_deref().unwrap_or("–")
    );
    crate::pdf::render(&Report {
        title: "Personal data held by Retour",
        subtitle: &subtitle,
        sections: &sections,
    })
}

/// Every value of a JSON document as `path: value` lines, so that the report holds every
/// recorded field.
fn flatten(prefix: &str, value: &serde_json::Value) -> Vec<Line> {
    use serde_json::Value;
    match value {
        Value::Null => Vec::new(),
        Value::Object(map) => map
            .iter()
            .flat_map(|(key, value)| {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten(&path, value)
            })
            .collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .flat_map(|(i, value)| flatten(&format!("{prefix}[{i}]"), value))
            .collect(),
        Value::String(text) => vec![field(prefix, text)],
        other => vec![field(prefix, other)],
    }
}
