//! The database's own limit: the minimal SQL that does each scenario's work, issued directly
//! over a pool with as many connections as the scenario has clients.

use std::sync::{Arc, LazyLock};

use sqlx::PgPool;
use uuid::Uuid;

use crate::runner::{self, Load, Measurement};
use crate::scenarios::ReadFixture;

/// The least read of a case: its row and its persons, with the access event (the SQL file
/// pgbench runs as well).
pub const READ_LEAST: &str = include_str!("../sql/read-least.sql");

/// Every record of a case the API returns to its counsellor, with the access event.
pub const READ_DOCUMENT: &str = include_str!("../sql/read-document.sql");

/// The case of bench row `:n` in the SQL files, which the transition's baseline binds as `$1`.
const BENCH_CASE: &str = "(select b.id from retour_bench_cases b where b.n = :n)";

/// The `select` of [`READ_DOCUMENT`] alone (no access event), of case `$1`.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let select = READ_DOCUMENT
        .find("select json_build_object(")
        .map_or(READ_DOCUMENT, |at| &READ_DOCUMENT[at..]);
    select.trim().trim_end_matches(';').replace(BENCH_CASE, "$1")
});

/// [`DOCUMENT`], locking the case row.
static LOCKED: LazyLock<String> = LazyLock::new(|| format!("{} for update of c", *DOCUMENT));

/// What a baseline fetches of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    /// The case row and its persons: the least a read can be.
    Persons,
    /// Every record the API's answer holds (see [`READ_DOCUMENT`]).
    Document,
}

impl Fetch {
    /// The SQL file of the read.
    pub fn read_sql(self) -> &'static str {
        match self {
            Fetch::Persons => READ_LEAST,
            Fetch::Document => READ_DOCUMENT,
        }
    }
}

/// A pgbench script as one statement for sqlx: without its comments and meta-commands, with
/// `:n` as `$1` and `:user` as `$2`.
pub fn as_statement(script: &str) -> String {
    script
        .lines()
        .filter(|line| !line.trim_start().starts_with("--") && !line.starts_with('\\'))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .trim_end_matches(';')
        .replace(":user", "$2")
        .replace(":n", "$1")
}

/// Puts the read scenario's cases in `retour_bench_cases` (numbered from 1), where the SQL
/// files find them; returns how many.
pub async fn load_cases(pool: &PgPool, fixture: &ReadFixture) -> anyhow::Result<usize> {
    let ids: Vec<Uuid> = fixture.case_ids.iter().filter_map(|id| id.parse().ok()).collect();
    sqlx::query(
        "create unlogged table if not exists retour_bench_cases \
         (n integer primary key, id uuid not null)",
    )
    .execute(pool)
    .await?;
    sqlx::query("truncate retour_bench_cases").execute(pool).await?;
    sqlx::query(
        "insert into retour_bench_cases (n, id) \
         select n::integer, id from unnest($1::uuid[]) with ordinality as t(id, n)",
    )
    .bind(&ids)
    .execute(pool)
    .await?;
    sqlx::query("analyze retour_bench_cases").execute(pool).await?;
    Ok(ids.len())
}

/// Fetch the case (with its persons, or its whole document) and write the access event, in
/// one statement: the SQL file pgbench runs, through sqlx. [`load_cases`] first.
pub async fn read(pool: &PgPool, fixture: &ReadFixture, fetch: Fetch, load: Load) -> Measurement {
    let pool = pool.clone();
    let cases = fixture.case_ids.len();
    let user: Uuid = fixture.user_id.parse().unwrap_or_default();
    // Built once: the measured loop only binds and sends it.
    let sql: Arc<str> = as_statement(fetch.read_sql()).into();
    runner::run(load, move |client, iteration| {
        let pool = pool.clone();
        let sql = Arc::clone(&sql);
        async move {
            let index = (client * 7919 + usize::try_from(iteration).unwrap_or(0)) % cases;
            let row: Option<(serde_json::Value,)> = sqlx::query_as(sqlx::AssertSqlSafe(&*sql))
                .bind(i32::try_from(index + 1).unwrap_or(1))
                .bind(user)
                .fetch_optional(&pool)
                .await
                .map_err(|e| e.to_string())?;
            row.map(drop).ok_or_else(|| "case not found".to_owned())
        }
    })
    .await
}

/// Apply a request_info / answer_info transition with its record, history, outbox event and
/// audit rows in one transaction, on cases of its own. With [`Fetch::Document`] it also reads the whole
/// case when locking it and again before committing, as the API does (to check the
/// transition's conditions, and to answer with the case).
pub async fn transition(pool: &PgPool, fetch: Fetch, load: Load) -> anyhow::Result<Measurement> {
    transition_with(pool, fetch, Outbox::Written, load).await
}

/// Whether a transition baseline writes the event for partner systems, as the API does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outbox {
    Written,
    /// Without it: what the transition cost before the outbox, to measure what it adds.
    Left,
}

/// [`transition`] with the least SQL, with or without the outbox's event.
pub async fn transition_with(
    pool: &PgPool,
    fetch: Fetch,
    outbox: Outbox,
    load: Load,
) -> anyhow::Result<Measurement> {
    let (sem, sem_institution): (Uuid, Uuid) =
        sqlx::query_as("select id, institution_id from users where email = 'sem@demo.test'")
            .fetch_one(pool)
            .await?;
    // Cases of their own for each baseline: the history a run leaves on a case (a question
    // per cycle) is part of what the next read of it returns.
    let clients = i64::try_from(load.clients).unwrap_or(32);
    let skip = if fetch == Fetch::Document { clients } else { 0 };
    let cases: Vec<(Uuid,)> = sqlx::query_as(
        "select id from cases where status in ('under_review', 'info_requested') \
         order by id desc offset $2 limit $1",
    )
    .bind(clients)
    .bind(skip)
    .fetch_all(pool)
    .await?;
    anyhow::ensure!(
        cases.len() == load.clients,
        "need {} cases under review for the baseline",
        load.clients
    );
    let cases: Arc<Vec<Uuid>> = Arc::new(cases.into_iter().map(|(id,)| id).collect());
    let pool = pool.clone();
    Ok(runner::run(load, move |client, _iteration| {
        let pool = pool.clone();
        let cases = Arc::clone(&cases);
        async move {
            step(&pool, cases[client], sem, sem_institution, fetch, outbox)
                .await
                .map_err(|e| e.to_string())
        }
    })
    .await)
}

async fn step(
    pool: &PgPool,
    case_id: Uuid,
    actor: Uuid,
    institution: Uuid,
    fetch: Fetch,
    outbox: Outbox,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let status: String = if fetch == Fetch::Document {
        let (document,): (serde_json::Value,) = sqlx::query_as(sqlx::AssertSqlSafe(&**LOCKED))
            .bind(case_id)
            .fetch_one(&mut *tx)
            .await?;
        document["case"]["status"].as_str().unwrap_or_default().to_owned()
    } else {
        sqlx::query_scalar("select status from cases where id = $1 for update")
            .bind(case_id)
            .fetch_one(&mut *tx)
            .await?
    };
    let (action, next) = if status == "under_review" {
        ("request_info", "info_requested")
    } else {
        ("answer_info", "under_review")
    };
    sqlx::query(
        "update cases set status = $2, version = version + 1, updated_at = now() where id = $1",
    )
    .bind(case_id)
    .bind(next)
    .execute(&mut *tx)
    .await?;
    if action == "request_info" {
        sqlx::query(
            "insert into case_review_questions (id, case_id, question, asked_by) values ($1, $2, $3, $4)",
        )
        .bind(Uuid::now_v7())
        .bind(case_id)
        .bind("Please confirm the travel documents.")
        .bind(actor)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query(
            "update case_review_questions set answer = $2, answered_by = $3, answered_at = now() \
             where case_id = $1 and answered_at is null",
        )
        .bind(case_id)
        .bind("The passport is valid until 2030.")
        .bind(actor)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "insert into case_events (id, case_id, action, from_status, to_status, actor_id, \
             actor_institution_id, actor_role) values ($1, $2, $3, $4, $5, $6, $7, 'sem_officer')",
    )
    .bind(Uuid::now_v7())
    .bind(case_id)
    .bind(action)
    .bind(&status)
    .bind(next)
    .bind(actor)
    .bind(institution)
    .execute(&mut *tx)
    .await?;
    if outbox == Outbox::Written {
        let event =
            if action == "request_info" { "information.requested" } else { "information.provided" };
        sqlx::query(
            "insert into event_outbox (id, type, case_id, case_version, actor_institution_id, \
                 field_group, data) \
             select $1, $2, c.id, c.version, $3, 'identity', \
                 jsonb_build_object('from_status', $4::text, 'to_status', $5::text) \
             from cases c where c.id = $6",
        )
        .bind(Uuid::now_v7())
        .bind(event)
        .bind(institution)
        .bind(&status)
        .bind(next)
        .bind(case_id)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "insert into audit_events (id, actor_type, actor_id, actor_institution_id, actor_role, \
             action, resource_type, resource_id, outcome) \
         values ($1, 'user', $2, $3, 'sem_officer', 'case.transition', 'case', $4, 'allowed')",
    )
    .bind(Uuid::now_v7())
    .bind(actor)
    .bind(institution)
    .bind(case_id)
    .execute(&mut *tx)
    .await?;
    if fetch == Fetch::Document {
        sqlx::query(sqlx::AssertSqlSafe(DOCUMENT.as_str())).bind(case_id).execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// The queue's least SQL: the items of each role's queue (the same cases and deadlines),
/// a page of 50 by due date with the counts per kind, and the access event, in one statement
/// per role; no JSON, no reasons. As the API does, the page walks each kind's open deadlines
/// in due order and stops at the page's end, reads the items without a deadline only when
/// the dated ones do not fill it, and each kind is counted by itself. Per role: the dated
/// items (`id, status, due_on, since`, each branch ordered and limited to 51), the undated
/// ones (the same, by `since`), and the counts (one row, a column per kind). `$1` the user,
/// `$2` their institution, `$3` the event's id.
const QUEUES: [(&str, &str, &str, &str); 3] = [
    (
        "counsellor",
        "select c.id, c.status, d.due_on, d.opened_at as since
         from case_deadlines d join cases c on c.id = d.case_id
         where d.kind = 'information_answer' and d.closed_at is null
             and c.counselling_service_id = $2 and c.counsellor_id = $1
             and c.status = 'info_requested'
         order by d.due_on, d.opened_at, d.case_id limit 51",
        "select c.id, c.status, null::date as due_on, c.created_at as since from cases c
         where c.counselling_service_id = $2 and c.counsellor_id = $1
             and c.status = 'counselling'
         order by c.created_at, c.id limit 51",
        "select (select count(*) from cases c where c.counselling_service_id = $2
                 and c.counsellor_id = $1 and c.status = 'counselling') as submit,
             (select count(*) from cases c where c.counselling_service_id = $2
                 and c.counsellor_id = $1 and c.status = 'info_requested') as answer",
    ),
    (
        "sem_officer",
        "(select c.id, c.status, d.due_on, d.opened_at as since
          from case_deadlines d join cases c on c.id = d.case_id
          where d.kind = 'sem_decision' and d.closed_at is null
              and (c.status = 'submitted' or (c.status = 'under_review' and c.reviewer_id = $1))
          order by d.due_on, d.opened_at, d.case_id limit 51)
         union all
         (select c.id, c.status, d.due_on, d.overdue_at
          from case_deadlines d join cases c on c.id = d.case_id
          where d.kind = 'travel' and d.closed_at is null and d.overdue_at is not null
              and c.status = 'approved' and c.reviewer_id = $1 and $2::uuid is not null
          order by d.due_on, d.overdue_at, d.case_id limit 51)",
        "select c.id, c.status, null::date as due_on, coalesce(c.submitted_at, c.updated_at)
         from cases c
         where (c.status = 'submitted' or (c.status = 'under_review' and c.reviewer_id = $1))
             and not exists (select 1 from case_deadlines d where d.case_id = c.id
                 and d.kind = 'sem_decision' and d.closed_at is null)
         order by 4, c.id limit 51",
        "select (select count(*) from cases c where c.status = 'submitted') as take,
             (select count(*) from cases c where c.status = 'under_review'
                 and c.reviewer_id = $1) as decide,
             (select count(*) from case_deadlines d join cases c on c.id = d.case_id
                 where d.kind = 'travel' and d.closed_at is null and d.overdue_at is not null
                     and c.status = 'approved' and c.reviewer_id = $1) as expired",
    ),
    (
        "iom_coordinator",
        "(select c.id, c.status, d.due_on, d.opened_at as since
          from case_deadlines d join cases c on c.id = d.case_id
          where d.kind = 'travel' and d.closed_at is null and c.status = 'approved'
          order by d.due_on, d.opened_at, d.case_id limit 51)
         union all
         (select c.id, c.status, d.due_on, d.opened_at
          from case_deadlines d join cases c on c.id = d.case_id
          where d.kind = 'departure' and d.closed_at is null and c.status = 'travel_booked'
              and c.journey_sim
          order by d.due_on, d.opened_at, d.case_id limit 51)",
        "select c.id, c.status, null::date as due_on, c.departed_at as since from cases c
         where c.status = 'departed' and $1::uuid is not null and $2::uuid is not null
             and c.reintegration_project
         order by c.departed_at, c.id limit 51",
        "select (select count(*) from cases c where c.status = 'approved') as book,
             (select count(*) from cases c where c.status = 'travel_booked'
                 and c.journey_sim) as confirm,
             (select count(*) from cases c where c.status = 'departed'
                 and c.reintegration_project) as reintegrate",
    ),
];

/// Read each role's queue ([`QUEUES`]) in turn, as the queue scenario's users.
pub async fn queue(pool: &PgPool, load: Load) -> anyhow::Result<Measurement> {
    let mut statements = Vec::new();
    for (email, (role, dated, undated, counts)) in
        crate::scenarios::QUEUE_USERS.into_iter().zip(QUEUES)
    {
        let (user, institution): (Uuid, Uuid) =
            sqlx::query_as("select id, institution_id from users where email = $1")
                .bind(email)
                .fetch_one(pool)
                .await?;
        let sql: Arc<str> = format!(
            "with dated as ({dated}),
             undated as (select * from ({undated}) u where (select count(*) from dated) < 51),
             page as (select * from (select * from dated union all select * from undated) i
                 order by coalesce(due_on, 'infinity'::date), since, id limit 51),
             logged as (insert into audit_events (id, actor_type, actor_id, actor_role, action,
                 outcome) values ($3, 'user', $1, '{role}', 'queue.read', 'allowed'))
             select n.*, p.id, p.status, p.due_on, p.since
             from ({counts}) n left join page p on true"
        )
        .into();
        statements.push((sql, user, institution));
    }
    let statements = Arc::new(statements);
    let pool = pool.clone();
    Ok(runner::run(load, move |client, iteration| {
        let pool = pool.clone();
        let statements = Arc::clone(&statements);
        async move {
            let index = (client + usize::try_from(iteration).unwrap_or(0)) % statements.len();
            let (sql, user, institution) = &statements[index];
            sqlx::query(sqlx::AssertSqlSafe(&**sql))
                .bind(user)
                .bind(institution)
                .bind(Uuid::now_v7())
                .fetch_all(&pool)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    })
    .await)
}

/// The upload's least SQL: the same bytes written as the server stores them — 64 KiB segments
/// plus their 16-byte tags, one row each, in one transaction per document — into a table of
/// the connection's own, without the HTTP, multipart, type check, hashing or encryption.
pub async fn upload(pool: &PgPool, load: Load) -> anyhow::Result<Measurement> {
    const SEGMENT: usize = 64 * 1024 + 16;
    let segments = crate::scenarios::UPLOAD_BYTES.div_ceil(64 * 1024);
    let segment: Arc<Vec<u8>> = Arc::new((0..SEGMENT).map(|i| (i * 7 % 251) as u8).collect());
    let pool = pool.clone();
    Ok(runner::run(load, move |_, _| {
        let (pool, segment) = (pool.clone(), Arc::clone(&segment));
        async move {
            let work = async {
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "create temporary table if not exists bench_segments \
                     (document_id uuid, seq integer, bytes bytea, primary key (document_id, seq)) \
                     on commit delete rows",
                )
                .execute(&mut *tx)
                .await?;
                let id = Uuid::now_v7();
                for seq in 0..segments {
                    sqlx::query("insert into bench_segments values ($1, $2, $3)")
                        .bind(id)
                        .bind(i32::try_from(seq).unwrap_or(i32::MAX))
                        .bind(segment.as_slice())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await
            };
            work.await.map_err(|e: sqlx::Error| e.to_string())
        }
    })
    .await)
}
