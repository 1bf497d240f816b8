//! Synthetic cases for load tests and benchmarks (`retour seed --synthetic N`): realistic
//! households, every status with its history and records, and a few access-log events per
//! case, generated deterministically from a seed and bulk-loaded with COPY.
//!
//! Only for the demo installation: the cases reference the demo institutions and users
//! (and a counsellor per counselling service and an officer per IOM mission, added here
//! where the demo has none). Run it on an idle database: it takes the reference numbers
//! after the current counters, and a case created meanwhile through the API would collide.
//!
//! # How it loads
//!
//! One transaction per batch: the cases and persons are copied into temporary tables, the
//! cases inserted from there with their search columns computed set-wise exactly as
//! `refresh_case_search()` does, then the persons, then every other table by COPY, then the
//! batch's statistics rows in one statement (`retour.bulk_load` holds back the per-row
//! statistics triggers for the batch), with `synchronous_commit` off. The batch's access-log events are sealed into the hash chain in
//! the same transaction (under the sealer's lock, computed from the generated events, which
//! are exactly what the rows hold), so the log stays verifiable and the server's sealer is
//! not left with millions of queued events. The reference counters are raised to the
//! numbers used. Generation runs on its own thread, one batch ahead of the database.

mod copy;
mod generate;
pub mod holding;
#[cfg(test)]
mod tests;
mod world;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ConnectOptions, Connection, PgConnection};
use uuid::Uuid;

pub use generate::{Batch, CaseSummary, Generator, Start, default_from};

use crate::audit::SEAL_LOCK;
use crate::audit::chain::{GENESIS, canonical, link_hash};
use crate::{Store, StoreError};

/// A user as an actor of generated records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Staff {
    pub user_id: Uuid,
    pub institution_id: Uuid,
    pub role: &'static str,
}

/// A counselling service that opens cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub id: Uuid,
    /// The reference prefix: the canton, or the federal asylum region's code.
    pub prefix: String,
    pub canton: Option<String>,
    pub federal_region: Option<String>,
    pub counsellor: Staff,
}

/// An IOM mission that delivers reintegration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mission {
    pub country: String,
    pub institution_id: Uuid,
    pub officer: Staff,
}

/// The institutions and users generated cases refer to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    pub services: Vec<Service>,
    pub sem: Staff,
    /// SEM's officers who review applications, each with their share of the reviews (their
    /// workload in percent of a full-time post); never empty.
    pub reviewers: Vec<(Staff, u32)>,
    pub swissrepat: Staff,
    pub iom: Staff,
    pub missions: Vec<Mission>,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    pub cases: u64,
    pub seed: u64,
    /// Cases per transaction.
    pub batch: usize,
    /// Batches loaded at the same time, each on its own connection.
    pub connections: usize,
    /// Cases open from this day on (UTC).
    pub from: NaiveDate,
    /// Generated activity ends before this day (UTC): cases still open then are in
    /// progress.
    pub as_of: NaiveDate,
}

/// How far a load got.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub cases: u64,
    pub rows: u64,
}

/// A finished load.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub cases: u64,
    /// Rows written across all tables, access-log seals included.
    pub rows: u64,
    pub audit_events: u64,
    /// Cases per status.
    pub statuses: Vec<(&'static str, u64)>,
    /// Reassignments, transfers and four-eyes proposals given to the loaded cases.
    pub holdings: holding::Holdings,
}

/// Why a synthetic load failed.
#[derive(Debug, thiserror::Error)]
pub enum SyntheticError {
    #[error("the demo installation is incomplete ({0}); seed it first (`retour seed --demo`)")]
    DemoMissing(String),
    #[error("the period is too short: --as-of must be at least 30 days after {0}")]
    PeriodTooShort(NaiveDate),
    #[error("the case generator stopped: {0}")]
    Generator(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for SyntheticError {
    fn from(error: sqlx::Error) -> Self {
        SyntheticError::Store(error.into())
    }
}

/// Demo emails of the actors every case needs.
const SEM_EMAIL: &str = "sem@demo.test";
const SWISSREPAT_EMAIL: &str = "swissrepat@demo.test";
const IOM_EMAIL: &str = "iom@demo.test";
/// The demo user whose password hash the added staff get (the demo password).
const HASH_FROM_EMAIL: &str = "counsellor.be@demo.test";
/// The size of SEM's team that reviews applications: the demo's two officers and the
/// officers added for a load (`sem.03@demo.test` to `sem.18@demo.test`).
const SEM_TEAM: usize = 18;
/// The workloads (percent of a full-time post) of SEM's reviewers, in turn by email: some
/// work part-time, so the demo's officers review about one application in sixteen each.
const SEM_WORKLOADS: [u32; 6] = [100, 80, 100, 60, 100, 90];

/// Adds a counsellor to every active counselling service that has none, an officer to
/// every IOM mission that has none (`counsellor.vd@demo.test`, `mission.ge@demo.test`), and
/// SEM officers up to a team of [`SEM_TEAM`] (`sem.03@demo.test`, …), with the demo
/// password. Idempotent.
pub async fn ensure_staff(store: &Store) -> Result<(), SyntheticError> {
    let pool = store.pool();
    let hash: Option<(String,)> =
        sqlx::query_as("select password_hash from users where lower(email) = $1")
            .bind(HASH_FROM_EMAIL)
            .fetch_optional(pool)
            .await?;
    let Some((hash,)) = hash else {
        return Err(SyntheticError::DemoMissing(format!("no user {HASH_FROM_EMAIL}")));
    };
    #[derive(sqlx::FromRow)]
    struct Unstaffed {
        id: Uuid,
        kind: String,
        canton: Option<String>,
        federal_region: Option<String>,
        country: Option<String>,
    }
    let missing: Vec<Unstaffed> = sqlx::query_as(
        "select i.id, i.kind, i.canton, i.federal_region, i.country from institutions i \
             where i.active and ((i.kind = 'counselling_service' and not exists ( \
                     select 1 from users u where u.institution_id = i.id \
                     and u.role = 'counsellor' and u.status = 'active')) \
                 or (i.kind = 'iom_mission' and not exists ( \
                     select 1 from users u where u.institution_id = i.id \
                     and u.role = 'iom_mission_officer' and u.status = 'active'))) \
             order by i.kind, i.canton, i.federal_region, i.country, i.id",
    )
    .fetch_all(pool)
    .await?;
    for (n, Unstaffed { id, kind, canton, federal_region: region, country }) in
        missing.into_iter().enumerate()
    {
        let (email, role) = if kind == "iom_mission" {
            let country = country.unwrap_or_default().to_lowercase();
            (format!("mission.{country}@demo.test"), "iom_mission_officer")
        } else {
            let canton = canton.map(|c| retour_domain::Canton::parse(&c));
            let prefix = retour_domain::case::reference_prefix(canton.flatten(), region.as_deref());
            (format!("counsellor.{}@demo.test", prefix.to_lowercase()), "counsellor")
        };
        let given = world::STAFF_GIVEN[n % world::STAFF_GIVEN.len()];
        let surname = world::STAFF_SURNAMES[(n * 7 + 3) % world::STAFF_SURNAMES.len()];
        sqlx::query(
            "insert into users (id, institution_id, email, display_name, role, password_hash) \
             values ($1, $2, $3, $4, $5, $6) on conflict (lower(email)) do nothing",
        )
        .bind(Uuid::now_v7())
        .bind(id)
        .bind(&email)
        .bind(format!("{given} {surname}"))
        .bind(role)
        .bind(&hash)
        .execute(pool)
        .await?;
    }
    let sem: Option<(Uuid,)> = sqlx::query_as(
        "select institution_id from users where lower(email) = $1 and status = 'active'",
    )
    .bind(SEM_EMAIL)
    .fetch_optional(pool)
    .await?;
    let Some((sem,)) = sem else {
        return Err(SyntheticError::DemoMissing(format!("no active user {SEM_EMAIL}")));
    };
    for n in 3..=SEM_TEAM {
        let given = world::STAFF_GIVEN[(n * 5 + 1) % world::STAFF_GIVEN.len()];
        let surname = world::STAFF_SURNAMES[(n * 11 + 2) % world::STAFF_SURNAMES.len()];
        sqlx::query(
            "insert into users (id, institution_id, email, display_name, role, password_hash) \
             values ($1, $2, $3, $4, 'sem_officer', $5) on conflict (lower(email)) do nothing",
        )
        .bind(Uuid::now_v7())
        .bind(sem)
        .bind(format!("sem.{n:02}@demo.test"))
        .bind(format!("{given} {surname}"))
        .bind(&hash)
        .execute(pool)
        .await?;
    }
    Ok(())
}

async fn staff_by_email(conn: &mut PgConnection, email: &str) -> Result<Staff, SyntheticError> {
    let row: Option<(Uuid, Uuid, String)> = sqlx::query_as(
        "select id, institution_id, role from users where lower(email) = $1 and status = 'active'",
    )
    .bind(email)
    .fetch_optional(&mut *conn)
    .await?;
    let (user_id, institution_id, role) =
        row.ok_or_else(|| SyntheticError::DemoMissing(format!("no active user {email}")))?;
    Ok(Staff { user_id, institution_id, role: role_name(&role) })
}

fn role_name(role: &str) -> &'static str {
    retour_domain::Role::parse(role).map_or("counsellor", retour_domain::Role::as_str)
}

impl Directory {
    /// The counselling services with their first counsellor, the IOM missions with their
    /// first officer, and the demo's SEM, swissREPAT and IOM Bern users.
    pub async fn load(conn: &mut PgConnection) -> Result<Self, SyntheticError> {
        #[derive(sqlx::FromRow)]
        struct ServiceRow {
            id: Uuid,
            canton: Option<String>,
            federal_region: Option<String>,
            counsellor: Option<Uuid>,
        }
        let services: Vec<ServiceRow> = sqlx::query_as(
            "select i.id, i.canton, i.federal_region, ( \
                 select u.id from users u where u.institution_id = i.id \
                 and u.role = 'counsellor' and u.status = 'active' \
                 order by lower(u.email) limit 1) as counsellor \
             from institutions i where i.kind = 'counselling_service' and i.active \
             order by i.canton nulls last, i.federal_region, i.name",
        )
        .fetch_all(&mut *conn)
        .await?;
        let services = services
            .into_iter()
            .map(|ServiceRow { id, canton, federal_region, counsellor }| {
                let counsellor = counsellor.ok_or_else(|| {
                    SyntheticError::DemoMissing(format!(
                        "counselling service {id} has no counsellor"
                    ))
                })?;
                let parsed = canton.as_deref().and_then(retour_domain::Canton::parse);
                let prefix =
                    retour_domain::case::reference_prefix(parsed, federal_region.as_deref());
                Ok(Service {
                    id,
                    prefix,
                    federal_region: if canton.is_some() { None } else { federal_region },
                    canton,
                    counsellor: Staff {
                        user_id: counsellor,
                        institution_id: id,
                        role: "counsellor",
                    },
                })
            })
            .collect::<Result<Vec<_>, SyntheticError>>()?;
        if services.is_empty() {
            return Err(SyntheticError::DemoMissing("no counselling service".to_owned()));
        }
        let missions: Vec<(String, Uuid, Option<Uuid>)> = sqlx::query_as(
            "select i.country, i.id, ( \
                 select u.id from users u where u.institution_id = i.id \
                 and u.role = 'iom_mission_officer' and u.status = 'active' \
                 order by lower(u.email) limit 1) \
             from institutions i where i.kind = 'iom_mission' and i.active \
                 and i.country is not null \
             order by i.country, i.name",
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut seen = std::collections::HashSet::new();
        let missions = missions
            .into_iter()
            .filter(|(country, ..)| seen.insert(country.clone()))
            .filter_map(|(country, institution_id, officer)| {
                officer.map(|user_id| Mission {
                    country,
                    institution_id,
                    officer: Staff { user_id, institution_id, role: "iom_mission_officer" },
                })
            })
            .collect();
        let sem = staff_by_email(conn, SEM_EMAIL).await?;
        let team: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "select u.id, u.institution_id from users u \
             where u.institution_id = $1 and u.role = 'sem_officer' and u.status = 'active' \
             order by lower(u.email)",
        )
        .bind(sem.institution_id)
        .fetch_all(&mut *conn)
        .await?;
        let mut reviewers: Vec<(Staff, u32)> = team
            .into_iter()
            .enumerate()
            .map(|(n, (user_id, institution_id))| {
                let staff = Staff { user_id, institution_id, role: "sem_officer" };
                (staff, SEM_WORKLOADS[n % SEM_WORKLOADS.len()])
            })
            .collect();
        if reviewers.is_empty() {
            reviewers.push((sem, 100));
        }
        Ok(Self {
            services,
            sem,
            reviewers,
            swissrepat: staff_by_email(conn, SWISSREPAT_EMAIL).await?,
            iom: staff_by_email(conn, IOM_EMAIL).await?,
            missions,
        })
    }
}

/// Where the database stands: the reference counters and how many persons it holds.
pub async fn start(conn: &mut PgConnection) -> Result<Start, SyntheticError> {
    let counters: Vec<(String, i32, i64)> =
        sqlx::query_as("select prefix, year, last_number from case_reference_counters")
            .fetch_all(&mut *conn)
            .await?;
    let (persons,): (i64,) =
        sqlx::query_as("select count(*) from case_persons").fetch_one(&mut *conn).await?;
    Ok(Start {
        counters: counters.into_iter().map(|(p, y, n)| ((p, y), n)).collect::<HashMap<_, _>>(),
        persons: u64::try_from(persons).unwrap_or(0),
    })
}

/// One table's rows of a batch.
type Rows = fn(&generate::Tables) -> &copy::CopyBuf;

/// The tables written, in an order their foreign keys accept, with their COPY statements.
const COPIES: &[(&str, Rows)] = &[
    ("copy case_medical (case_id, summary, fit_to_travel, escort, updated_at) from stdin", |t| {
        &t.medical
    }),
    (
        "copy case_eligibility (case_id, criminal_offences, abuse, sufficient_assets, \
         prior_assistance, voluntariness_signed_on, updated_at) from stdin",
        |t| &t.eligibility,
    ),
    ("copy case_requested_assistance (case_id, component, amount_rappen) from stdin", |t| {
        &t.requested
    }),
    (
        "copy case_notes (id, case_id, author_id, institution_id, visibility, body, created_at) \
         from stdin",
        |t| &t.notes,
    ),
    (
        "copy case_events (id, case_id, action, from_status, to_status, actor_id, \
         actor_institution_id, actor_role, comment, occurred_at) from stdin",
        |t| &t.events,
    ),
    (
        "copy case_review_questions (id, case_id, question, asked_by, asked_at, answer, \
         answered_by, answered_at) from stdin",
        |t| &t.questions,
    ),
    (
        "copy case_decisions (case_id, decision, reasons, legal_ground, override_justification, \
         overridden_components, decided_by, decided_at) from stdin",
        |t| &t.decisions,
    ),
    ("copy case_approved_assistance (case_id, component, amount_rappen) from stdin", |t| {
        &t.approved
    }),
    (
        "copy case_itineraries (id, case_id, departure_airport, departure_at, flights, \
         destination_airport, escort, sim, booked_by, booked_at, no_show_at, no_show_comment) \
         from stdin",
        |t| &t.itineraries,
    ),
    (
        "copy case_departures (case_id, itinerary_id, departed_at, startup_cash_rappen, \
         travel_money_rappen, receipt_reference, confirmed_by, confirmed_at) from stdin",
        |t| &t.departures,
    ),
    (
        "copy case_disbursements (id, case_id, amount_rappen, purpose, paid_on, recorded_by, \
         created_at) from stdin",
        |t| &t.disbursements,
    ),
    (
        "copy case_monitoring_visits (id, case_id, due_on, done_on, outcome, \
         sustainability_score, recorded_by, created_at) from stdin",
        |t| &t.visits,
    ),
    (
        "copy case_deadlines (id, case_id, kind, subject_id, opened_at, due_on, closed_at, \
         overdue_at) from stdin",
        |t| &t.deadlines,
    ),
    ("copy case_endings (case_id, kind, reason, comment, ended_by, ended_at) from stdin", |t| {
        &t.endings
    }),
    (
        "copy information_requests (id, case_id, destination_country, question, asked_by, \
         asked_at, status, answer, answered_by, answered_at) from stdin",
        |t| &t.info_requests,
    ),
    (
        "copy case_reclaims (id, case_id, reason, amount_rappen, status, comment, recorded_by, \
         created_at, updated_at) from stdin",
        |t| &t.reclaims,
    ),
    (
        "copy audit_events (id, occurred_at, actor_type, actor_id, actor_institution_id, \
         actor_role, action, resource_type, resource_id, resource_ids, outcome, details, \
         request_id, client_addr) from stdin",
        |t| &t.audit,
    ),
];

/// The columns of `cases` the generator writes (all but the search columns).
const CASE_COLUMNS: &str = "id, reference, canton, federal_region, counselling_service_id, \
    counsellor_id, created_by, programme, destination_country, planned_departure_date, status, \
    version, vulnerabilities, submitted_at, approved_at, reintegration_mission_id, created_at, \
    updated_at, reviewer_id, decided_at, departed_at, closed_at, procedure_phase, journey_sim, \
    reintegration_project";

const PERSON_COLUMNS: &str = "id, case_id, position, relationship, surname, given_names, \
    aliases, date_of_birth, sex, nationality, zemis_number, n_number, residence_status, \
    entry_date, travelling, created_at, updated_at";

/// Staging tables of this connection, emptied at every commit.
const STAGING: &str = "create temporary table if not exists synthetic_cases \
        (like cases including defaults) on commit delete rows; \
    create temporary table if not exists synthetic_persons \
        (like case_persons including defaults) on commit delete rows";

/// The cases from staging, with `search_text` and `search_ids` as `refresh_case_search()`
/// computes them.
const INSERT_CASES: &str = "insert into cases (id, reference, canton, federal_region, counselling_service_id, \
         counsellor_id, created_by, programme, destination_country, planned_departure_date, \
         status, version, vulnerabilities, submitted_at, approved_at, reintegration_mission_id, \
         created_at, updated_at, reviewer_id, decided_at, departed_at, closed_at, \
         procedure_phase, journey_sim, reintegration_project, search_text, search_ids) \
     select c.id, c.reference, c.canton, c.federal_region, c.counselling_service_id, \
         c.counsellor_id, c.created_by, c.programme, c.destination_country, \
         c.planned_departure_date, c.status, c.version, c.vulnerabilities, c.submitted_at, \
         c.approved_at, c.reintegration_mission_id, c.created_at, c.updated_at, c.reviewer_id, \
         c.decided_at, c.departed_at, c.closed_at, c.procedure_phase, c.journey_sim, \
         c.reintegration_project, retour_fold(c.reference || ' ' || coalesce(p.names, '')), coalesce(p.ids, '') \
     from synthetic_cases c left join ( \
         select case_id, \
             string_agg(concat_ws(' ', surname, given_names, array_to_string(aliases, ' ')), \
                 ' ' order by position) as names, \
             string_agg(concat_ws(' ', zemis_number, lower(replace(n_number, ' ', ''))), \
                 ' ' order by position) as ids \
         from synthetic_persons group by case_id) p on p.case_id = c.id \
     order by c.created_at, c.id";

/// The statistics rows of the batch's cases, computed set-wise from the same view the
/// triggers read (which `retour.bulk_load` holds back for the batch).
const INSERT_STATISTICS: &str = "insert into case_statistics (case_id, counselling_service_id, \
         reintegration_mission_id, canton, programme, destination_country, status, \
         residence_status, opened_on, submitted_at, decided_at, decided_on, decision, \
         departed_at, departed_on, persons, adults, minors, startup_cash_rappen, \
         travel_money_rappen, approved_reintegration_rappen) \
     select case_id, counselling_service_id, reintegration_mission_id, canton, programme, \
         destination_country, status, residence_status, opened_on, submitted_at, decided_at, \
         decided_on, decision, departed_at, departed_on, persons, adults, minors, \
         startup_cash_rappen, travel_money_rappen, approved_reintegration_rappen \
     from case_statistics_source s where s.case_id in (select id from synthetic_cases)";

/// The words of the batch's cases, as `refresh_case_search()` stores them.
const INSERT_WORDS: &str = "select store_case_words(array(select id from synthetic_cases))";

const INSERT_PERSONS: &str = "insert into case_persons select * from synthetic_persons \
     order by case_id, position";

async fn copy_in(
    conn: &mut PgConnection,
    statement: &str,
    buf: &copy::CopyBuf,
) -> Result<(), SyntheticError> {
    if buf.is_empty() {
        return Ok(());
    }
    let mut copy = conn.copy_in_raw(statement).await?;
    copy.send(buf.bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// Writes batch number `index` in one transaction and returns the rows written. The bulk
/// of it runs alongside other loaders; the tail (sealing into the hash chain, raising the
/// reference counters, committing) waits until every earlier batch has committed, so the
/// chain takes the batches in their order whatever the timing.
async fn write_batch(
    conn: &mut PgConnection,
    index: u64,
    batch: &Batch,
    committed: &tokio::sync::watch::Sender<u64>,
) -> Result<u64, SyntheticError> {
    let mut tx = conn.begin().await?;
    sqlx::raw_sql("set local synchronous_commit = off; set local retour.bulk_load = on")
        .execute(&mut *tx)
        .await?;
    let cases = format!("copy synthetic_cases ({CASE_COLUMNS}) from stdin");
    copy_in(&mut tx, &cases, &batch.tables.cases).await?;
    let persons = format!("copy synthetic_persons ({PERSON_COLUMNS}) from stdin");
    copy_in(&mut tx, &persons, &batch.tables.persons).await?;
    sqlx::query(INSERT_CASES).execute(&mut *tx).await?;
    sqlx::query(INSERT_WORDS).execute(&mut *tx).await?;
    sqlx::query(INSERT_PERSONS).execute(&mut *tx).await?;
    for (statement, table) in COPIES {
        copy_in(&mut tx, statement, table(&batch.tables)).await?;
    }
    sqlx::query(INSERT_STATISTICS).execute(&mut *tx).await?;
    let mut turn = committed.subscribe();
    turn.wait_for(|done| *done == index)
        .await
        .map_err(|_| SyntheticError::Generator("a loader stopped".to_owned()))?;
    let seals = seal(&mut tx, batch).await?;
    let (prefixes, years, numbers): (Vec<String>, Vec<i32>, Vec<i64>) = batch.counters.iter().fold(
        (Vec::new(), Vec::new(), Vec::new()),
        |(mut p, mut y, mut n), (prefix, year, number)| {
            p.push(prefix.clone());
            y.push(*year);
            n.push(*number);
            (p, y, n)
        },
    );
    sqlx::query(
        "insert into case_reference_counters as r (prefix, year, last_number) \
         select * from unnest($1::text[], $2::int[], $3::bigint[]) \
         on conflict (prefix, year) do update \
             set last_number = greatest(r.last_number, excluded.last_number)",
    )
    .bind(&prefixes)
    .bind(&years)
    .bind(&numbers)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    committed.send_replace(index + 1);
    Ok(batch.rows() + seals)
}

/// Appends the batch's access-log events to the hash chain, in the sealer's order
/// (`occurred_at`, then id), and takes them off the queue the insert trigger put them on.
async fn seal(conn: &mut PgConnection, batch: &Batch) -> Result<u64, SyntheticError> {
    if batch.audit.is_empty() {
        return Ok(0);
    }
    sqlx::query("select pg_advisory_xact_lock($1)").bind(SEAL_LOCK).execute(&mut *conn).await?;
    let head: Option<(i64, Vec<u8>)> =
        sqlx::query_as("select seq, hash from audit_seals order by seq desc limit 1")
            .fetch_optional(&mut *conn)
            .await?;
    let (mut seq, mut prev_hash) = match head {
        Some((seq, hash)) => {
            let hash: [u8; 32] = hash
                .as_slice()
                .try_into()
                .map_err(|_| StoreError::corrupt("audit_seals.hash", "length"))?;
            (seq, hash)
        }
        None => (0, GENESIS),
    };
    let (sealed_at,): (DateTime<Utc>,) =
        sqlx::query_as("select now()").fetch_one(&mut *conn).await?;
    let mut events: Vec<&crate::audit::StoredEvent> = batch.audit.iter().collect();
    events.sort_by_key(|e| (e.occurred_at, e.id));
    let mut rows = copy::CopyBuf::new();
    let mut ids = Vec::with_capacity(events.len());
    for event in events {
        seq += 1;
        let hash = link_hash(&prev_hash, &canonical(seq, sealed_at, event));
        rows.int(seq)
            .uuid(event.id)
            .text(&format!("\\x{}", hex::encode(prev_hash)))
            .text(&format!("\\x{}", hex::encode(hash)))
            .ts(sealed_at.timestamp_micros())
            .end();
        ids.push(event.id);
        prev_hash = hash;
    }
    copy_in(conn, "copy audit_seals (seq, event_id, prev_hash, hash, sealed_at) from stdin", &rows)
        .await?;
    sqlx::query("delete from audit_seal_queue where event_id = any($1)")
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
    Ok(rows.rows())
}

/// The tables a load writes, vacuumed and analysed at its end: the planner needs their
/// statistics, index-only scans the visibility map, and the seal queue (every event the load
/// copied passed through it) is otherwise left with millions of dead rows that the sealer
/// would scan on every round until autovacuum reached them.
const ANALYZE: &str = "vacuum (analyze) cases, case_persons, case_medical, case_eligibility, \
    case_requested_assistance, case_notes, case_events, case_review_questions, case_decisions, \
    case_approved_assistance, case_itineraries, case_departures, case_disbursements, \
    case_monitoring_visits, case_deadlines, case_endings, information_requests, case_reclaims, \
    audit_events, audit_seals, audit_seal_queue, case_reference_counters, case_transfers, \
    case_proposals";

/// How many cases the demo installation starts with.
pub const DEMO_CASES: u64 = 400;

/// Gives a demo installation its cases: [`DEMO_CASES`] cases opened in the year before
/// `as_of`, in every status, the same on every installation (a fixed seed). Only into a
/// database that holds no case yet, so a restart changes nothing; `None` then.
pub async fn load_demo_cases(
    store: &Store,
    as_of: NaiveDate,
) -> Result<Option<Report>, SyntheticError> {
    let any = sqlx::query_scalar!(r#"select exists (select 1 from cases) as "any!""#)
        .fetch_one(store.pool())
        .await?;
    if any {
        return Ok(None);
    }
    let options = Options {
        cases: DEMO_CASES,
        seed: 2026,
        batch: 200,
        connections: 1,
        from: as_of - chrono::Days::new(365),
        as_of,
    };
    load(store, &options, |_| {}).await.map(Some)
}

/// Generates and loads `options.cases` cases, calling `progress` after every batch.
/// Adds missing staff first ([`ensure_staff`]); the demo institutions and users must exist.
/// On an error, the batches committed before it stay (each is whole and consistent).
pub async fn load(
    store: &Store,
    options: &Options,
    mut progress: impl FnMut(Progress),
) -> Result<Report, SyntheticError> {
    if options.as_of < options.from + chrono::Days::new(30) {
        return Err(SyntheticError::PeriodTooShort(options.from));
    }
    ensure_staff(store).await?;
    let (directory, start) = {
        let mut conn = store.pool().acquire().await?;
        (Directory::load(&mut conn).await?, start(&mut conn).await?)
    };

    // Generation on its own thread, one batch ahead of the loaders.
    let mut generator =
        Generator::new(options.seed, options.from, options.as_of, options.cases, directory, start);
    let size = options.batch.max(1);
    let (sender, receiver) = tokio::sync::mpsc::channel::<(u64, Batch)>(1);
    let producer = tokio::task::spawn_blocking(move || {
        let mut index = 0;
        while let Some(batch) = generator.next_batch(size) {
            if sender.blocking_send((index, batch)).is_err() {
                break;
            }
            index += 1;
        }
    });

    // Loaders, each on its own connection, taking the next batch as they are free.
    let receiver = std::sync::Arc::new(tokio::sync::Mutex::new(receiver));
    let (committed, _) = tokio::sync::watch::channel(0u64);
    let committed = std::sync::Arc::new(committed);
    let (done, mut finished) =
        tokio::sync::mpsc::unbounded_channel::<(Vec<CaseSummary>, u64, u64)>();
    let mut loaders = tokio::task::JoinSet::new();
    // Statements over a second are the rule here, not a sign of trouble.
    let connect = (*store.pool().connect_options())
        .clone()
        .log_slow_statements(log::LevelFilter::Debug, std::time::Duration::from_secs(1));
    for _ in 0..options.connections.max(1) {
        let mut conn = PgConnection::connect_with(&connect).await?;
        let receiver = receiver.clone();
        let committed = committed.clone();
        let done = done.clone();
        loaders.spawn(async move {
            sqlx::raw_sql(STAGING).execute(&mut conn).await?;
            loop {
                let next = receiver.lock().await.recv().await;
                let Some((index, batch)) = next else { break };
                let rows = write_batch(&mut conn, index, &batch, &committed).await?;
                let events = batch.audit.len() as u64;
                if done.send((batch.cases, rows, events)).is_err() {
                    break;
                }
            }
            conn.close().await?;
            Ok::<(), SyntheticError>(())
        });
    }
    drop(done);

    let mut report = Report::default();
    let mut statuses: HashMap<&'static str, u64> = HashMap::new();
    let mut failure = None;
    loop {
        tokio::select! {
            Some((cases, rows, events)) = finished.recv() => {
                report.cases += cases.len() as u64;
                report.rows += rows;
                report.audit_events += events;
                for case in &cases {
                    *statuses.entry(case.status.as_str()).or_default() += 1;
                }
                progress(Progress { cases: report.cases, rows: report.rows });
            }
            Some(joined) = loaders.join_next() => {
                let outcome = joined
                    .map_err(|e| SyntheticError::Generator(e.to_string()))
                    .and_then(|result| result);
                if let Err(error) = outcome {
                    // The others stop: their open transactions roll back.
                    loaders.abort_all();
                    failure.get_or_insert(error);
                }
            }
            else => break,
        }
    }
    drop(receiver);
    if let Some(error) = failure {
        return Err(error);
    }
    producer.await.map_err(|e| SyntheticError::Generator(e.to_string()))?;
    let since = options.from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    report.holdings = holding::derive(&mut *store.pool().acquire().await?, since).await?;
    sqlx::raw_sql(ANALYZE).execute(store.pool()).await?;
    let mut statuses: Vec<(&'static str, u64)> = statuses.into_iter().collect();
    statuses.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    report.statuses = statuses;
    Ok(report)
}
