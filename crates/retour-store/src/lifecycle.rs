//! The data-protection lifecycle: the persons' consents, legal holds, the retention rules,
//! the ended cases they make due, and the destruction of a case (which leaves a tombstone,
//! the anonymous statistics row and the access log).

use chrono::{DateTime, NaiveDate, Utc};
use retour_domain::lifecycle::NewConsent;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::StoreError;

/// A person's consent to one purpose, and its withdrawal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredConsent {
    pub id: Uuid,
    pub case_id: Uuid,
    pub person_id: Uuid,
    pub purpose: String,
    pub sheet_version: String,
    pub sheet_language: String,
    pub given_on: NaiveDate,
    pub method: String,
    pub document_id: Uuid,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
    pub withdrawn_on: Option<NaiveDate>,
    pub withdrawal_recorded_by: Option<Uuid>,
    pub withdrawal_recorded_at: Option<DateTime<Utc>>,
}

macro_rules! select_consents {
    ($tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            StoredConsent,
            "select id, case_id, person_id, purpose, sheet_version, sheet_language, given_on, \
                 method, document_id, recorded_by, recorded_at, withdrawn_on, \
                 withdrawal_recorded_by, withdrawal_recorded_at \
             from consents " + $tail,
            $($arg),*
        )
    };
}

/// Why a consent was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentRefusal {
    /// `person_id` is no person of the case.
    UnknownPerson,
    /// `document_id` is no document of the case, or a deleted one.
    UnknownDocument,
    /// The person's consent to this purpose stands already.
    Standing,
}

/// The consents of a case's persons, oldest first.
pub async fn list_consents(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Vec<StoredConsent>, StoreError> {
    Ok(select_consents!("where case_id = $1 order by recorded_at, id", case_id)
        .fetch_all(conn)
        .await?)
}

/// Records `consent` on case `case_id` (locked by the caller).
pub async fn insert_consent(
    conn: &mut PgConnection,
    case_id: Uuid,
    recorded_by: Uuid,
    consent: &NewConsent,
) -> Result<Result<StoredConsent, ConsentRefusal>, StoreError> {
    let known = sqlx::query!(
        "select exists (select 1 from case_persons where id = $2 and case_id = $1) as \"person!\", \
             exists (select 1 from documents where id = $3 and case_id = $1 \
                 and deleted_at is null) as \"document!\", \
             exists (select 1 from consents where person_id = $2 and purpose = $4 \
                 and withdrawn_on is null) as \"standing!\"",
        case_id,
        consent.person_id,
        consent.document_id,
        consent.purpose.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    if !known.person {
        return Ok(Err(ConsentRefusal::UnknownPerson));
    }
    if !known.document {
        return Ok(Err(ConsentRefusal::UnknownDocument));
    }
    if known.standing {
        return Ok(Err(ConsentRefusal::Standing));
    }
    let stored = sqlx::query_as!(
        StoredConsent,
        "insert into consents (id, case_id, person_id, purpose, sheet_version, sheet_language, \
             given_on, method, document_id, recorded_by) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         returning id, case_id, person_id, purpose, sheet_version, sheet_language, given_on, \
             method, document_id, recorded_by, recorded_at, withdrawn_on, \
             withdrawal_recorded_by, withdrawal_recorded_at",
        Uuid::now_v7(),
        case_id,
        consent.person_id,
        consent.purpose.as_str(),
        consent.sheet_version,
        consent.sheet_language,
        consent.given_on,
        consent.method.as_str(),
        consent.document_id,
        recorded_by,
    )
    .fetch_one(conn)
    .await?;
    Ok(Ok(stored))
}

/// A consent of case `case_id`, locked for the rest of the transaction.
pub async fn lock_consent(
    conn: &mut PgConnection,
    case_id: Uuid,
    consent_id: Uuid,
) -> Result<Option<StoredConsent>, StoreError> {
    Ok(select_consents!("where case_id = $1 and id = $2 for update", case_id, consent_id)
        .fetch_optional(conn)
        .await?)
}

/// Records the withdrawal of a standing consent (locked by the caller).
pub async fn withdraw_consent(
    conn: &mut PgConnection,
    consent_id: Uuid,
    withdrawn_on: NaiveDate,
    by: Uuid,
) -> Result<StoredConsent, StoreError> {
    Ok(sqlx::query_as!(
        StoredConsent,
        "update consents set withdrawn_on = $2, withdrawal_recorded_by = $3, \
             withdrawal_recorded_at = now() \
         where id = $1 and withdrawn_on is null \
         returning id, case_id, person_id, purpose, sheet_version, sheet_language, given_on, \
             method, document_id, recorded_by, recorded_at, withdrawn_on, \
             withdrawal_recorded_by, withdrawal_recorded_at",
        consent_id,
        withdrawn_on,
        by,
    )
    .fetch_one(conn)
    .await?)
}

/// The positions in the household (`persons[i]`, in the case's order) of the travelling
/// adults (18 or older on `today`) without a standing consent to the mission's processing.
pub async fn mission_consent_missing(
    conn: &mut PgConnection,
    case_id: Uuid,
    today: NaiveDate,
) -> Result<Vec<usize>, StoreError> {
    let rows = sqlx::query_scalar!(
        "select n - 1 as \"index!\" from (select p.id, p.travelling, p.date_of_birth, \
             row_number() over (order by p.position) as n \
             from case_persons p where p.case_id = $1) p \
         where p.travelling and p.date_of_birth <= ($2::date - interval '18 years')::date \
             and not exists (select 1 from consents k where k.person_id = p.id \
                 and k.purpose = 'transfer_to_mission' and k.withdrawn_on is null) \
         order by n",
        case_id,
        today,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().filter_map(|i| usize::try_from(i).ok()).collect())
}

/// A legal hold on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    pub id: Uuid,
    pub case_id: Uuid,
    pub reason: String,
    pub set_by: Uuid,
    pub set_by_institution: Uuid,
    pub set_at: DateTime<Utc>,
    pub lifted_by: Option<Uuid>,
    pub lifted_at: Option<DateTime<Utc>>,
}

/// Sets a legal hold on case `case_id` (locked by the caller); `None` when one is in force.
pub async fn set_legal_hold(
    conn: &mut PgConnection,
    case_id: Uuid,
    reason: &str,
    by: Uuid,
    institution_id: Uuid,
) -> Result<Option<LegalHold>, StoreError> {
    Ok(sqlx::query_as!(
        LegalHold,
        "insert into legal_holds (id, case_id, reason, set_by, set_by_institution) \
         select $1, $2, $3, $4, $5 where not exists \
             (select 1 from legal_holds where case_id = $2 and lifted_at is null) \
         returning id, case_id, reason, set_by, set_by_institution, set_at, lifted_by, lifted_at",
        Uuid::now_v7(),
        case_id,
        reason,
        by,
        institution_id,
    )
    .fetch_optional(conn)
    .await?)
}

/// Every legal hold of case `case_id`, in force or lifted, oldest first.
pub async fn legal_holds(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Vec<LegalHold>, StoreError> {
    Ok(sqlx::query_as!(
        LegalHold,
        "select id, case_id, reason, set_by, set_by_institution, set_at, lifted_by, lifted_at \
         from legal_holds where case_id = $1 order by set_at, id",
        case_id,
    )
    .fetch_all(conn)
    .await?)
}

/// Lifts the legal hold in force on case `case_id` (locked by the caller); `None` when there
/// is none.
pub async fn lift_legal_hold(
    conn: &mut PgConnection,
    case_id: Uuid,
    by: Uuid,
) -> Result<Option<LegalHold>, StoreError> {
    Ok(sqlx::query_as!(
        LegalHold,
        "update legal_holds set lifted_by = $2, lifted_at = now() \
         where case_id = $1 and lifted_at is null \
         returning id, case_id, reason, set_by, set_by_institution, set_at, lifted_by, lifted_at",
        case_id,
        by,
    )
    .fetch_optional(conn)
    .await?)
}

/// How long the cases of one end state are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRule {
    pub end_state: String,
    pub years: i32,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub confirmed_by: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
}

/// Every retention rule, by end state.
pub async fn retention_rules(pool: &PgPool) -> Result<Vec<RetentionRule>, StoreError> {
    Ok(sqlx::query_as!(
        RetentionRule,
        "select end_state, years, confirmed_at, confirmed_by, updated_at from retention_rules \
         order by array_position(array['closed', 'rejected', 'cancelled', 'withdrawn'], end_state)"
    )
    .fetch_all(pool)
    .await?)
}

/// Sets (and so confirms) the rule of `end_state`; `None` when there is no such end state.
pub async fn set_retention_rule(
    conn: &mut PgConnection,
    end_state: &str,
    years: i32,
    by: Uuid,
) -> Result<Option<RetentionRule>, StoreError> {
    Ok(sqlx::query_as!(
        RetentionRule,
        "update retention_rules set years = $2, confirmed_at = now(), confirmed_by = $3, \
             updated_at = now() \
         where end_state = $1 \
         returning end_state, years, confirmed_at, confirmed_by, updated_at",
        end_state,
        years,
        by,
    )
    .fetch_optional(conn)
    .await?)
}

/// An ended case past its retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCase {
    pub case_id: Uuid,
    pub reference: String,
    pub counselling_service_id: Uuid,
    pub end_state: String,
    pub opened_on: NaiveDate,
    pub ended_at: DateTime<Utc>,
    pub retention_years: i32,
    /// A legal hold is in force: the case is kept.
    pub held: bool,
}

/// The ended cases whose retention is over on `$1` (the day, in Switzerland, of their end
/// plus the years of their end state's rule), with whether a legal hold is in force; `$tail`
/// filters, orders and limits them further.
macro_rules! select_due {
    ($tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            DueCase,
            "select c.id as case_id, c.reference, c.counselling_service_id, \
                 c.status as end_state, \
                 (c.created_at at time zone 'Europe/Zurich')::date as \"opened_on!\", \
                 coalesce(c.closed_at, c.decided_at) as \"ended_at!\", \
                 r.years as retention_years, \
                 exists (select 1 from legal_holds h where h.case_id = c.id \
                     and h.lifted_at is null) as \"held!\" \
             from cases c join retention_rules r on r.end_state = c.status \
             where c.status in ('closed', 'withdrawn', 'rejected', 'cancelled') \
                 and coalesce(c.closed_at, c.decided_at) is not null \
                 and ((coalesce(c.closed_at, c.decided_at) at time zone 'Europe/Zurich')::date \
                     + make_interval(years => r.years))::date <= $1 " + $tail,
            $($arg),*
        )
    };
}

/// The ended cases whose retention is over on `as_of`, held ones included, oldest end first.
pub async fn due_cases(pool: &PgPool, as_of: NaiveDate) -> Result<Vec<DueCase>, StoreError> {
    Ok(select_due!("order by coalesce(c.closed_at, c.decided_at), c.id", as_of)
        .fetch_all(pool)
        .await?)
}

/// Takes one due case without a legal hold (and not in `skip`) and locks it for the rest of
/// the transaction; cases another transaction holds are skipped, so that processes running
/// side by side never take the same case. `None` when no case is left.
pub async fn claim_due_case(
    conn: &mut PgConnection,
    as_of: NaiveDate,
    skip: &[Uuid],
) -> Result<Option<DueCase>, StoreError> {
    Ok(select_due!(
        "and not exists (select 1 from legal_holds h where h.case_id = c.id \
             and h.lifted_at is null) \
             and c.id <> all($2) \
         order by coalesce(c.closed_at, c.decided_at), c.id \
         limit 1 for update of c skip locked",
        as_of,
        skip,
    )
    .fetch_optional(conn)
    .await?)
}

/// What a case's destruction removed that lives outside the database: the objects of its
/// documents kept in the object store, which the caller deletes once the destruction is
/// committed (their data keys are gone with it, so a copy left behind stays unreadable).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destroyed {
    pub documents: usize,
    pub objects: Vec<Uuid>,
}

/// The tables of a case's records that its destruction empties by `case_id`, in an order
/// their references allow (a delivery before its event, the approved amounts before their
/// decision, a departure before its itinerary, a proposal before the reclaim it waives); the
/// documents follow with their content. The
/// case's own row goes last, and with it the tables that cascade from it (persons, medical
/// record, eligibility, requested assistance).
/// `tests/api/lifecycle.rs` finds no row of a destroyed case in any table but the tombstone
/// and the statistics, so a table added later without being named here fails it.
const CASE_RECORDS: [&str; 20] = [
    "webhook_deliveries",
    "event_outbox",
    "consents",
    "legal_holds",
    "break_glass_uses",
    "case_notes",
    "case_events",
    "case_review_questions",
    "case_approved_assistance",
    "case_decisions",
    "case_departures",
    "case_itineraries",
    "case_disbursements",
    "case_monitoring_visits",
    "case_endings",
    "information_requests",
    "case_proposals",
    "case_reclaims",
    "case_transfers",
    "case_deadlines",
];

/// Destroys case `due` (locked by the caller, offered to the archive as `package`): every
/// row about it and its persons, its documents' content and data keys, its events for
/// partner systems; a tombstone stays with its reference, dates and end state, and the
/// statistics row stays as it was.
pub async fn destroy_case(
    conn: &mut PgConnection,
    due: &DueCase,
    package: &str,
    manifest_sha256: &str,
) -> Result<Destroyed, StoreError> {
    let id = due.case_id;
    // The statistics triggers leave the case's row alone for the rest of the transaction.
    sqlx::query_scalar!("select set_config('retour.destroying', 'on', true)")
        .fetch_one(&mut *conn)
        .await?;
    let documents = sqlx::query!("select id, storage from documents where case_id = $1", id)
        .fetch_all(&mut *conn)
        .await?;
    let objects = documents.iter().filter(|d| d.storage == "object_store").map(|d| d.id).collect();
    sqlx::query!(
        "delete from webhook_attempts where delivery_id in \
             (select id from webhook_deliveries where case_id = $1)",
        id
    )
    .execute(&mut *conn)
    .await?;
    for table in CASE_RECORDS {
        // The names are this module's constants, never input.
        sqlx::query(sqlx::AssertSqlSafe(format!("delete from {table} where case_id = $1")))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query!(
        "delete from document_chunks where document_id in \
             (select id from documents where case_id = $1)",
        id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("delete from documents where case_id = $1", id).execute(&mut *conn).await?;
    sqlx::query!("delete from idempotency_keys where resource_id = $1", id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "insert into case_tombstones (case_id, reference, counselling_service_id, end_state, \
             opened_on, ended_at, retention_years, archive_package, archive_manifest_sha256) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        id,
        due.reference,
        due.counselling_service_id,
        due.end_state,
        due.opened_on,
        due.ended_at,
        due.retention_years,
        package,
        manifest_sha256,
    )
    .execute(&mut *conn)
    .await?;
    // The household, medical record, eligibility and requested assistance go with the case.
    sqlx::query!("delete from cases where id = $1", id).execute(&mut *conn).await?;
    Ok(Destroyed { documents: documents.len(), objects })
}

/// The id of the case with `reference`.
pub async fn case_id_by_reference(
    pool: &PgPool,
    reference: &str,
) -> Result<Option<Uuid>, StoreError> {
    Ok(sqlx::query_scalar!("select id from cases where reference = $1", reference)
        .fetch_optional(pool)
        .await?)
}

/// A destroyed case's tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub case_id: Uuid,
    pub reference: String,
    pub counselling_service_id: Uuid,
    pub end_state: String,
    pub opened_on: NaiveDate,
    pub ended_at: DateTime<Utc>,
    pub retention_years: i32,
    pub archive_package: String,
    pub archive_manifest_sha256: String,
    pub destroyed_at: DateTime<Utc>,
}

/// The tombstone of a destroyed case.
pub async fn tombstone(pool: &PgPool, case_id: Uuid) -> Result<Option<Tombstone>, StoreError> {
    Ok(sqlx::query_as!(
        Tombstone,
        "select case_id, reference, counselling_service_id, end_state, opened_on, ended_at, \
             retention_years, archive_package, archive_manifest_sha256, destroyed_at \
         from case_tombstones where case_id = $1",
        case_id,
    )
    .fetch_optional(pool)
    .await?)
}

/// Every note of a case, of every institution, oldest first: for the archive.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArchivedNote {
    pub id: Uuid,
    pub author_id: Uuid,
    pub institution_id: Uuid,
    pub visibility: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

pub async fn all_notes(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Vec<ArchivedNote>, StoreError> {
    Ok(sqlx::query_as!(
        ArchivedNote,
        "select id, author_id, institution_id, visibility, body, created_at from case_notes \
         where case_id = $1 order by created_at, id",
        case_id,
    )
    .fetch_all(conn)
    .await?)
}

/// One person record (a person of a case) that a data export covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRecord {
    pub person_id: Uuid,
    pub case_id: Uuid,
    pub zemis_number: Option<String>,
}

/// The person records of one person: those with `zemis_number`, or the record `person_id`
/// and every record sharing its ZEMIS number; by case, oldest case first.
pub async fn person_records(
    pool: &PgPool,
    zemis_number: Option<&str>,
    person_id: Option<Uuid>,
) -> Result<Vec<PersonRecord>, StoreError> {
    Ok(sqlx::query_as!(
        PersonRecord,
        // One lookup per way of finding the person, each on its own index.
        "with subject as (select $1::text as zemis_number \
                 union select zemis_number from case_persons where id = $2), \
             found as (select id from case_persons where id = $2 \
                 union select p.id from case_persons p \
                     join subject s on p.zemis_number = s.zemis_number) \
         select p.id as person_id, p.case_id, p.zemis_number from found f \
         join case_persons p on p.id = f.id join cases c on c.id = p.case_id \
         order by c.created_at, p.case_id, p.position",
        zemis_number,
        person_id,
    )
    .fetch_all(pool)
    .await?)
}

/// An entry of the access log about a case, as a person's data export tells it: when, which
/// institution and role, what, and whether it was allowed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CaseAccess {
    pub occurred_at: DateTime<Utc>,
    pub case_id: Uuid,
    pub institution: Option<String>,
    pub role: Option<String>,
    pub action: String,
    pub outcome: String,
}

/// The access log's entries about `case_ids` (as the case, or among the cases of a list),
/// oldest first.
pub async fn case_accesses(
    pool: &PgPool,
    case_ids: &[Uuid],
) -> Result<Vec<CaseAccess>, StoreError> {
    Ok(sqlx::query_as!(
        CaseAccess,
        "with hits as ( \
             select e.id, k.case_id from unnest($1::uuid[]) as k(case_id) \
                 join audit_events e on e.resource_id = k.case_id and e.resource_type = 'case' \
             union \
             select e.id, k.case_id from unnest($1::uuid[]) as k(case_id) \
                 join audit_events e on e.resource_ids @> array[k.case_id] \
                     and e.resource_type = 'case') \
         select e.occurred_at, h.case_id as \"case_id!\", i.name as \"institution?\", \
             e.actor_role as role, e.action, e.outcome \
         from hits h join audit_events e on e.id = h.id \
         left join institutions i on i.id = e.actor_institution_id \
         order by e.occurred_at, e.id",
        case_ids,
    )
    .fetch_all(pool)
    .await?)
}
