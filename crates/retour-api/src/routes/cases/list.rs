//! Listing and searching cases, page by page.

use axum::extract::{RawQuery, State};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use retour_domain::case::Programme;
use retour_domain::policy;
use retour_domain::validation::within_years;
use retour_domain::{Canton, CaseStatus, CountryCode, FieldError, Validation};
use retour_store::StoreError;
use retour_store::audit::{self, Outcome};
use retour_store::cases::{CaseFilter, CaseListRow, CaseSort};
use uuid::Uuid;

use super::dto::{CaseList, CaseListItem, PrincipalName};
use super::event;
use crate::auth::Caller;
use crate::error::Problem;
use crate::json::Json;
use crate::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::{ApiError, AppState};

/// The longest free-text query, and the most words in it.
const Q_MAX_CHARS: usize = 200;
const Q_MAX_WORDS: usize = 8;

/// A bound of a time filter: an RFC 3339 time, or a date `YYYY-MM-DD` (00:00 UTC).
pub(crate) struct TimeOrDate;

impl utoipa::PartialSchema for TimeOrDate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{
            AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type,
        };
        let format = |f| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(f)))
        };
        AnyOfBuilder::new()
            .description(Some("An RFC 3339 time, or a date YYYY-MM-DD (00:00 UTC)"))
            .item(format(KnownFormat::DateTime))
            .item(format(KnownFormat::Date))
            .into()
    }
}

impl utoipa::ToSchema for TimeOrDate {}

/// List and search cases
///
/// The cases the caller may see, newest first, filtered. Only cases within the caller's scope
/// are ever selected. `q` searches, without regard to case or accents (`muller` finds
/// `Müller`), the persons' surnames, given names and aliases and the reference — and the ZEMIS
/// and N numbers, for the roles that may see them (counselling services and SEM); each word
/// must match. Pages are linked by an opaque `next_cursor`; a page never repeats or skips a
/// case that existed when the first page was read.
#[utoipa::path(get, path = "/v1/cases", tag = "cases", security(("bearer" = [])),
    params(
        ("status" = Option<Vec<CaseStatus>>, Query, min_items = 1, description = "Statuses; repeat the parameter or separate with commas", explode = true),
        ("canton" = Option<Canton>, Query, description = "The counselling service's canton"),
        ("counselling_service_id" = Option<Uuid>, Query, description = "The counselling service"),
        ("destination_country" = Option<CountryCode>, Query, description = "ISO 3166-1 alpha-2"),
        ("programme" = Option<Programme>, Query, description = "The programme"),
        ("counsellor_id" = Option<Uuid>, Query, description = "The responsible counsellor"),
        ("created_from" = Option<TimeOrDate>, Query, description = "Created at or after: RFC 3339 time or YYYY-MM-DD (00:00 UTC)"),
        ("created_to" = Option<TimeOrDate>, Query, description = "Created before: RFC 3339 time or YYYY-MM-DD (00:00 UTC)"),
        ("updated_from" = Option<TimeOrDate>, Query, description = "Changed at or after"),
        ("updated_to" = Option<TimeOrDate>, Query, description = "Changed before"),
        ("q" = Option<String>, Query, description = "Free text: names, aliases, reference, ZEMIS and N numbers (at most 200 characters, 8 words)"),
        ("sort" = Option<CaseSort>, Query, description = "The timestamp the list is ordered by, newest first"),
        ("cursor" = Option<String>, Query, min_length = 1, description = "`next_cursor` of the previous page"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 200 (default 50)"),
    ),
    responses(
        (status = 200, description = "A page of cases", body = CaseList),
        (status = 422, description = "`validation_failed` naming every invalid parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn list_cases(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<CaseList>, ApiError> {
    let actor = &caller.actor;
    let view = policy::case_view(actor);
    let (mut filter, given) = parse_query(query.as_deref().unwrap_or_default())?;
    filter.search_ids = view.asylum_procedure;
    let mut rows = state.store().list_cases(policy::case_scope(actor), &filter).await?;
    let next_cursor = if rows.len() > filter.limit as usize {
        rows.truncate(filter.limit as usize);
        rows.last().map(|last| encode_cursor(filter.sort, last))
    } else {
        None
    };
    let items = rows.into_iter().map(list_item).collect::<Result<Vec<_>, _>>()?;
    let event = event(&caller, "case.list", Outcome::Allowed)
        .resources("case", items.iter().map(|i| i.id).collect())
        .details(serde_json::json!({ "parameters": given }));
    audit::record(state.store().pool(), &event).await?;
    Ok(Json(CaseList { items, next_cursor }))
}

fn list_item(row: CaseListRow) -> Result<CaseListItem, ApiError> {
    let corrupt = |column: &'static str, value: &str| {
        ApiError::internal(StoreError::Corrupt { column, value: value.to_owned() })
    };
    Ok(CaseListItem {
        status: CaseStatus::parse(&row.status)
            .ok_or_else(|| corrupt("cases.status", &row.status))?,
        canton: row
            .canton
            .as_deref()
            .map(|c| Canton::parse(c).ok_or_else(|| corrupt("cases.canton", c)))
            .transpose()?,
        programme: Programme::parse(&row.programme)
            .ok_or_else(|| corrupt("cases.programme", &row.programme))?,
        destination_country: CountryCode::parse(&row.destination_country)
            .ok_or_else(|| corrupt("cases.destination_country", &row.destination_country))?,
        principal: match (row.principal_surname, row.principal_given_names) {
            (Some(surname), Some(given_names)) => Some(PrincipalName { surname, given_names }),
            _ => None,
        },
        id: row.id,
        reference: row.reference,
        counselling_service_id: row.counselling_service_id,
        persons_count: row.persons_count,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// `sort|time|id`, base64url: opaque to clients, and tied to its sort order.
fn encode_cursor(sort: CaseSort, row: &CaseListRow) -> String {
    let at = match sort {
        CaseSort::UpdatedAt => row.updated_at,
        CaseSort::CreatedAt => row.created_at,
    };
    URL_SAFE_NO_PAD.encode(format!("{}|{}|{}", sort.as_str(), at.to_rfc3339(), row.id))
}

fn decode_cursor(cursor: &str, sort: CaseSort) -> Option<(DateTime<Utc>, Uuid)> {
    if cursor.len() > crate::pagination::MAX_CURSOR_LEN {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split('|');
    let (s, at, id) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || s != sort.as_str() {
        return None;
    }
    let at = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
    within_years("cursor", at.date_naive()).ok()?;
    Some((at, Uuid::parse_str(id).ok()?))
}

/// An RFC 3339 time, or a date meaning its midnight UTC, in the years 1 to 9999 (the
/// database would take year 0 or a negative year for a time BC).
fn time(name: &str, value: &str) -> Result<DateTime<Utc>, FieldError> {
    let at = DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| value.parse::<NaiveDate>().ok()?.and_hms_opt(0, 0, 0).map(|t| t.and_utc()))
        .ok_or_else(|| {
            FieldError::new(
                name,
                "invalid_value",
                format!("{name} must be an RFC 3339 time or a date YYYY-MM-DD"),
            )
        })?;
    within_years(name, at.date_naive()).map(|_| at)
}

/// Parses the query string into a filter, reporting every bad parameter at once; also
/// returns the names of the parameters given (for the access log, which never holds `q`'s
/// value).
fn parse_query(query: &str) -> Result<(CaseFilter, Vec<String>), ApiError> {
    let mut v = Validation::new();
    let mut filter = CaseFilter { limit: DEFAULT_LIMIT, ..CaseFilter::default() };
    let mut given: Vec<String> = Vec::new();
    let mut cursor = None;
    let invalid = |v: &mut Validation, name: &str, message: &str| {
        v.push(name, "invalid_value", format!("{name} {message}"));
    };
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let (name, value) = (name.as_ref(), value.trim());
        if name != "status" && given.iter().any(|g| g == name) {
            v.push(name, "repeated", format!("{name} may be given only once"));
            continue;
        }
        if !given.iter().any(|g| g == name) {
            given.push(name.to_owned());
        }
        match name {
            "status" => {
                // Every part must name a status: `status=` or `status=approved,` is a mistake.
                for part in value.split(',').map(str::trim) {
                    match CaseStatus::parse(part) {
                        Some(s) if !filter.statuses.contains(&s) => filter.statuses.push(s),
                        Some(_) => {}
                        None => v.push(
                            "status",
                            "unknown_value",
                            format!(
                                "status must be one of: {}",
                                CaseStatus::ALL.map(CaseStatus::as_str).join(", ")
                            ),
                        ),
                    }
                }
            }
            "canton" => match Canton::parse(&value.to_ascii_uppercase()) {
                Some(c) => filter.canton = Some(c),
                None => invalid(&mut v, name, "must be a canton's two-letter code, e.g. BE"),
            },
            "counselling_service_id" | "counsellor_id" => match Uuid::parse_str(value) {
                Ok(id) if name == "counsellor_id" => filter.counsellor_id = Some(id),
                Ok(id) => filter.counselling_service_id = Some(id),
                Err(_) => invalid(&mut v, name, "must be a UUID"),
            },
            "destination_country" => match CountryCode::parse(value) {
                Some(c) => filter.destination_country = Some(c),
                None => invalid(&mut v, name, "must be an ISO 3166-1 alpha-2 country code"),
            },
            "programme" => match Programme::parse(value) {
                Some(p) => filter.programme = Some(p),
                None => v.push(
                    name,
                    "unknown_value",
                    format!("programme must be one of: {}", Programme::names()),
                ),
            },
            "created_from" | "created_to" | "updated_from" | "updated_to" => {
                let at = v.check(time(name, value));
                match name {
                    "created_from" => filter.created_from = at,
                    "created_to" => filter.created_to = at,
                    "updated_from" => filter.updated_from = at,
                    _ => filter.updated_to = at,
                }
            }
            "q" => {
                if value.chars().count() > Q_MAX_CHARS {
                    v.push(name, "too_long", format!("q must be at most {Q_MAX_CHARS} characters"));
                } else if value.split_whitespace().count() > Q_MAX_WORDS {
                    v.push(
                        name,
                        "too_many_words",
                        format!("q must have at most {Q_MAX_WORDS} words"),
                    );
                } else if !value.is_empty() {
                    filter.q = Some(value.to_owned());
                }
            }
            "sort" => match CaseSort::parse(value) {
                Some(s) => filter.sort = s,
                None => v.push(name, "unknown_value", "sort must be updated_at or created_at"),
            },
            "cursor" => cursor = Some(value.to_owned()),
            "limit" => match value.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => filter.limit = n,
                _ => v.push(
                    name,
                    "out_of_range",
                    format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                ),
            },
            other => v.push(
                other,
                "unknown_parameter",
                format!("{other} is not a parameter of this list"),
            ),
        }
    }
    if let Some(cursor) = cursor {
        match decode_cursor(&cursor, filter.sort) {
            Some(after) => filter.after = Some(after),
            None => v.push(
                "cursor",
                "invalid_cursor",
                "cursor must be a next_cursor of this list with the same sort",
            ),
        }
    }
    let errors: Vec<FieldError> = v.into_errors();
    if errors.is_empty() { Ok((filter, given)) } else { Err(ApiError::Validation(errors)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_come_repeated_or_comma_separated() {
        let (filter, given) =
            parse_query("status=submitted,approved&status=counselling&limit=7").expect("valid");
        assert_eq!(
            filter.statuses,
            [CaseStatus::Submitted, CaseStatus::Approved, CaseStatus::Counselling]
        );
        assert_eq!(filter.limit, 7);
        assert_eq!(given, ["status", "limit"]);
    }

    #[test]
    fn an_empty_status_names_no_status() {
        for query in ["status=", "status=approved,", "status=,"] {
            let Err(ApiError::Validation(errors)) = parse_query(query) else {
                panic!("{query} must be refused");
            };
            assert_eq!(errors[0].field, "status", "{query}");
        }
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let Err(ApiError::Validation(errors)) = parse_query(
            "status=open&limit=201&canton=XX&created_from=yesterday&colour=red&cursor=abc",
        ) else {
            panic!("expected validation errors");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["status", "limit", "canton", "created_from", "colour", "cursor"]);
    }

    #[test]
    fn a_cursor_round_trips_only_with_its_sort() {
        let row = CaseListRow {
            id: Uuid::now_v7(),
            reference: "BE-2026-00001".into(),
            status: "counselling".into(),
            canton: Some("BE".into()),
            counselling_service_id: Uuid::now_v7(),
            programme: "cantonal".into(),
            destination_country: "IQ".into(),
            principal_surname: None,
            principal_given_names: None,
            persons_count: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let cursor = encode_cursor(CaseSort::UpdatedAt, &row);
        assert_eq!(decode_cursor(&cursor, CaseSort::UpdatedAt), Some((row.updated_at, row.id)));
        assert_eq!(decode_cursor(&cursor, CaseSort::CreatedAt), None);
        assert_eq!(decode_cursor("bm9wZQ", CaseSort::UpdatedAt), None);
    }

    #[test]
    fn dates_and_times_bound_ranges() {
        assert_eq!(
            time("created_from", "2026-11-27").map(|t| t.to_rfc3339()),
            Ok("2026-11-27T00:00:00+00:00".into())
        );
        assert!(time("created_from", "2026-11-27T10:00:00+01:00").is_ok());
        let code = |value: &str| time("created_from", value).map_err(|e| e.code);
        assert_eq!(code("27.11.2026"), Err("invalid_value".into()));
        assert_eq!(code("0000-11-27"), Err("out_of_range".into()));
        assert_eq!(code("0000-11-27T10:00:00Z"), Err("out_of_range".into()));
    }
}
