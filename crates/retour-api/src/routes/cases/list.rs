//! Listing and searching cases, page by page.

use axum::extract::{RawQuery, State};
use retour_domain::case::Programme;
use retour_domain::deadline::DeadlineKind;
use retour_domain::policy;
use retour_domain::{Canton, CaseStatus, CountryCode, FieldError};
use retour_store::StoreError;
use retour_store::audit::Outcome;
use retour_store::cases::{CaseFilter, CaseListRow, CaseSort};
use uuid::Uuid;

use super::dto::{CaseList, CaseListItem, PrincipalName};
use crate::auth::Caller;
use crate::error::Problem;
use crate::json::Json;
use crate::pagination::{Cursor, cut};
use crate::query::QueryParams;
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
        ("reviewer_id" = Option<Uuid>, Query, description = "The SEM officer the case is assigned to for review"),
        ("assignee" = Option<Uuid>, Query, description = "Held by this user, as counsellor or as SEM reviewer"),
        ("assigned_to" = Option<String>, Query, pattern = "^me$", description = "`me`: held by the caller, as counsellor or as SEM reviewer"),
        ("overdue" = Option<bool>, Query, description = "Only cases with (`true`) or without (`false`) an overdue deadline the caller sees (see `overdue` of an item)"),
        ("created_from" = Option<TimeOrDate>, Query, description = "Created at or after: RFC 3339 time or YYYY-MM-DD (00:00 UTC)"),
        ("created_to" = Option<TimeOrDate>, Query, description = "Created before: RFC 3339 time or YYYY-MM-DD (00:00 UTC)"),
        ("updated_from" = Option<TimeOrDate>, Query, description = "Changed at or after"),
        ("updated_to" = Option<TimeOrDate>, Query, description = "Changed before"),
        ("q" = Option<String>, Query, description = "Free text: each word must begin a word of a person's names or aliases, of the reference or (for readers of the asylum procedure) of a ZEMIS or N number, whatever the case and accents; words are split at every character that is not a letter or a digit (at most 200 characters, 8 words)"),
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
    let (mut filter, given) = parse_query(query.as_deref(), actor.id)?;
    filter.search_ids = view.asylum_procedure;
    filter.deadline_kinds = DeadlineKind::visible_with(&view);
    let mut rows = state.store().list_cases(policy::case_scope(actor), &filter).await?;
    let next_cursor = cut(&mut rows, filter.limit, |last| {
        let at = match filter.sort {
            CaseSort::UpdatedAt => last.updated_at,
            CaseSort::CreatedAt => last.created_at,
        };
        Cursor::new(at, last.id).encode(&list_of(filter.sort))
    });
    let items = rows.into_iter().map(list_item).collect::<Result<Vec<_>, _>>()?;
    let event = caller
        .event("case.list", Outcome::Allowed)
        .resources("case", items.iter().map(|i| i.id).collect())
        .details(serde_json::json!({ "parameters": given }));
    state.store().log(&event).await?;
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
        overdue: row.overdue,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// The cursor of the list sorted by `sort`.
fn list_of(sort: CaseSort) -> String {
    format!("cases:{}", sort.as_str())
}

/// Parses the query string into a filter, reporting every bad parameter at once; also
/// returns the names of the parameters given (for the access log, which never holds `q`'s
/// value). `assigned_to=me` names `me`.
fn parse_query(query: Option<&str>, me: Uuid) -> Result<(CaseFilter, Vec<String>), ApiError> {
    let mut params = QueryParams::parse(query);
    let mut filter = CaseFilter::default();
    // `status` repeats, or separates statuses with commas; every part must name a status:
    // `status=` or `status=approved,` is a mistake.
    let statuses: Vec<String> = params.all("status");
    for part in statuses.iter().flat_map(|v| v.split(',')).map(str::trim) {
        match CaseStatus::parse(part) {
            Some(s) if !filter.statuses.contains(&s) => filter.statuses.push(s),
            Some(_) => {}
            None => params.refuse(FieldError::new(
                "status",
                "unknown_value",
                format!("status must be one of: {}", CaseStatus::names()),
            )),
        }
    }
    filter.canton = params.parsed(
        "canton",
        |v| Canton::parse(&v.to_ascii_uppercase()),
        "must be a canton's two-letter code, e.g. BE",
    );
    filter.counselling_service_id = params.uuid("counselling_service_id");
    filter.counsellor_id = params.uuid("counsellor_id");
    filter.reviewer_id = params.uuid("reviewer_id");
    filter.assignee = params.uuid("assignee");
    if params.one_of("assigned_to", |v| (v == "me").then_some(()), "me").is_some() {
        if filter.assignee.is_some() {
            params.refuse(FieldError::new(
                "assigned_to",
                "exclusive",
                "assigned_to and assignee name the same thing: give one of them",
            ));
        }
        filter.assignee = Some(me);
    }
    filter.destination_country = params.parsed(
        "destination_country",
        CountryCode::parse,
        "must be an ISO 3166-1 alpha-2 country code",
    );
    filter.programme = params.one_of("programme", Programme::parse, &Programme::names());
    filter.overdue = params.bool("overdue");
    filter.created_from = params.time_or_date("created_from");
    filter.created_to = params.time_or_date("created_to");
    filter.updated_from = params.time_or_date("updated_from");
    filter.updated_to = params.time_or_date("updated_to");
    if let Some(q) = params.one("q") {
        if q.chars().count() > Q_MAX_CHARS {
            let message = format!("q must be at most {Q_MAX_CHARS} characters");
            params.refuse(FieldError::new("q", "too_long", message));
        } else if retour_store::cases::search_words(&q).len() > Q_MAX_WORDS {
            let message = format!("q must have at most {Q_MAX_WORDS} words");
            params.refuse(FieldError::new("q", "too_many_words", message));
        } else if !q.is_empty() {
            filter.q = Some(q);
        }
    }
    filter.sort = params.one_of("sort", CaseSort::parse, &CaseSort::names()).unwrap_or_default();
    filter.after = params.cursor(&list_of(filter.sort)).map(|c| (c.at, c.id));
    filter.limit = params.limit();
    let given = params.names().to_vec();
    params.finish((filter, given))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn statuses_come_repeated_or_comma_separated() {
        let (filter, given) =
            parse_query(Some("status=submitted,approved&status=counselling&limit=7"), Uuid::nil())
                .expect("valid");
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
            let Err(ApiError::Validation(errors)) = parse_query(Some(query), Uuid::nil()) else {
                panic!("{query} must be refused");
            };
            assert_eq!(errors[0].field, "status", "{query}");
        }
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let Err(ApiError::Validation(errors)) = parse_query(
            Some(
                "status=open&limit=201&canton=XX&created_from=yesterday&colour=red&cursor=abc&sort=x&sort=y",
            ),
            Uuid::nil(),
        ) else {
            panic!("expected validation errors");
        };
        let mut named: Vec<_> =
            errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        named.sort_unstable();
        assert_eq!(
            named,
            [
                ("canton", "invalid_value"),
                ("colour", "unknown_parameter"),
                ("created_from", "invalid_value"),
                ("cursor", "invalid_cursor"),
                ("limit", "out_of_range"),
                ("sort", "repeated"),
                ("status", "unknown_value"),
            ]
        );
    }

    #[test]
    fn assigned_to_me_names_the_caller() {
        let me = Uuid::now_v7();
        let (filter, _) = parse_query(Some("assigned_to=me"), me).expect("valid");
        assert_eq!(filter.assignee, Some(me));
        for query in ["assigned_to=you", &format!("assigned_to=me&assignee={me}")] {
            let Err(ApiError::Validation(errors)) = parse_query(Some(query), me) else {
                panic!("{query} must be refused");
            };
            assert_eq!(errors[0].field, "assigned_to", "{query}");
        }
    }

    #[test]
    fn a_cursor_of_one_sort_is_refused_by_the_other() {
        let cursor = Cursor::new(Utc::now(), Uuid::now_v7()).encode(&list_of(CaseSort::UpdatedAt));
        let (filter, _) =
            parse_query(Some(&format!("cursor={cursor}")), Uuid::nil()).expect("valid");
        assert!(filter.after.is_some());
        let created = format!("sort=created_at&cursor={cursor}");
        let Err(ApiError::Validation(errors)) = parse_query(Some(&created), Uuid::nil()) else {
            panic!("a cursor of another sort must be refused");
        };
        assert_eq!(errors[0].field, "cursor");
    }

    #[test]
    fn dates_and_times_bound_ranges() {
        let (filter, _) = parse_query(
            Some("created_from=2026-11-27&created_to=2026-11-27T10:00:00%2B01:00"),
            Uuid::nil(),
        )
        .expect("valid");
        assert_eq!(
            filter.created_from.map(|t| t.to_rfc3339()),
            Some("2026-11-27T00:00:00+00:00".into())
        );
        assert_eq!(
            filter.created_to.map(|t| t.to_rfc3339()),
            Some("2026-11-27T09:00:00+00:00".into())
        );
        for (value, expected) in [
            ("27.11.2026", "invalid_value"),
            ("0000-11-27", "out_of_range"),
            ("0000-11-27T10:00:00Z", "out_of_range"),
        ] {
            let Err(ApiError::Validation(errors)) =
                parse_query(Some(&format!("created_from={value}")), Uuid::nil())
            else {
                panic!("{value} must be refused");
            };
            assert_eq!(errors[0].code, expected, "{value}");
        }
    }
}
