//! Synthetic cases (`retour seed --synthetic N`): what is loaded is exactly what the
//! generator produced, every record is consistent with the workflow, and the API works on it.

use std::collections::HashMap;

use axum::http::StatusCode;
use chrono::{DateTime, Days, NaiveDate, Utc};
use retour_domain::CaseStatus;
use retour_domain::governance::HoldingEvent;
use retour_domain::workflow::{Action, rule_for};
use retour_store::synthetic::{self, Directory, Generator, Options};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::TestApp;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("day")
}

/// Loads `options` into the app's database and returns the generator's own output for the
/// same inputs, generated again in memory.
async fn load(app: &TestApp, options: &Options) -> Vec<synthetic::CaseSummary> {
    synthetic::ensure_staff(&app.store).await.expect("staff");
    let mut conn = app.pool.acquire().await.expect("connection");
    let directory = Directory::load(&mut conn).await.expect("directory");
    let start = synthetic::start(&mut conn).await.expect("start");
    drop(conn);
    let mut batches = 0;
    let report = synthetic::load(&app.store, options, |_| batches += 1).await.expect("load");
    assert_eq!(report.cases, options.cases);
    assert_eq!(batches as u64, options.cases.div_ceil(options.batch as u64));

    let mut generator =
        Generator::new(options.seed, options.from, options.as_of, options.cases, directory, start);
    std::iter::from_fn(|| generator.next_batch(options.batch)).flat_map(|b| b.cases).collect()
}

#[derive(sqlx::FromRow)]
struct CaseRow {
    id: Uuid,
    reference: String,
    status: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    submitted_at: Option<DateTime<Utc>>,
    approved_at: Option<DateTime<Utc>>,
    decided_at: Option<DateTime<Utc>>,
    departed_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    version: i32,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    case_id: Uuid,
    action: String,
    from_status: Option<String>,
    to_status: String,
    occurred_at: DateTime<Utc>,
}

/// Rows of `sql` (a count of inconsistent rows) must be zero.
async fn none(pool: &PgPool, what: &str, sql: &'static str) {
    let (count,): (i64,) = sqlx::query_as(sql).fetch_one(pool).await.expect(what);
    assert_eq!(count, 0, "{what}");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn seeded_cases_are_the_generators_output_and_consistent_in_every_record(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let as_of = day(2026, 11, 27);
    let options = Options {
        cases: 600,
        seed: 11,
        batch: 250,
        connections: 2,
        from: as_of - Days::new(200),
        as_of,
    };
    let generated = load(&app, &options).await;

    // Exactly the generated cases, with their references and statuses.
    let cases: Vec<CaseRow> = sqlx::query_as(
        "select id, reference, status, created_at, updated_at, submitted_at, approved_at, \
         decided_at, departed_at, closed_at, version from cases order by created_at, id",
    )
    .fetch_all(&pool)
    .await
    .expect("cases");
    assert_eq!(cases.len(), 600);
    let stored: HashMap<Uuid, (&str, &str)> =
        cases.iter().map(|c| (c.id, (c.reference.as_str(), c.status.as_str()))).collect();
    for case in &generated {
        assert_eq!(
            stored.get(&case.id),
            Some(&(case.reference.as_str(), case.status.as_str())),
            "{}",
            case.reference
        );
    }
    for status in CaseStatus::ALL {
        assert!(cases.iter().any(|c| c.status == status.as_str()), "no case is {status}");
    }
    // Who held the cases: canton transfers with their history entries; every approval above
    // the entitlement proposed by its reviewer and confirmed by a second officer; a pending
    // transfer marked on its case and on no other; every reassignment within the service.
    for (what, sql) in [
        ("accepted transfers", "select count(*) from case_transfers where status = 'accepted'"),
        (
            "transfer histories",
            "select count(*) from case_events where action = 'propose_transfer'",
        ),
    ] {
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.expect(what);
        assert!(n > 0 && n < 600 / 10, "{what}: {n}");
    }
    none(
        &pool,
        "an approval above the entitlement without a confirmed proposal",
        "select count(*) from case_decisions d where cardinality(d.overridden_components) > 0 \
         and not exists (select 1 from case_proposals p where p.case_id = d.case_id \
             and p.status = 'confirmed' and p.proposed_by = d.decided_by \
             and p.decided_by <> d.decided_by)",
    )
    .await;
    none(
        &pool,
        "a pending transfer not marked on its case, or a mark without one",
        "select count(*) from cases c full join (select * from case_transfers \
             where status = 'pending') t on t.case_id = c.id \
         where c.transfer_to_service_id is distinct from t.to_service_id \
           and (c.transfer_to_service_id is not null or t.id is not null)",
    )
    .await;
    none(
        &pool,
        "a case held by a counsellor of another service",
        "select count(*) from cases c join users u on u.id = c.counsellor_id \
         where u.institution_id <> c.counselling_service_id",
    )
    .await;

    // Each history is a path through the workflow, from the opening to the case's status.
    let events: Vec<EventRow> = sqlx::query_as(
        "select case_id, action, from_status, to_status, occurred_at from case_events \
         order by case_id, occurred_at, id",
    )
    .fetch_all(&pool)
    .await
    .expect("events");
    let mut history: HashMap<Uuid, Vec<&EventRow>> = HashMap::new();
    for event in &events {
        history.entry(event.case_id).or_default().push(event);
    }
    let cutoff = as_of.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    for case in &cases {
        let steps = &history[&case.id];
        let first = steps[0];
        assert_eq!((first.action.as_str(), first.from_status.as_deref()), ("open", None));
        assert_eq!((first.to_status.as_str(), first.occurred_at), ("counselling", case.created_at));
        let mut status = CaseStatus::Counselling;
        for step in &steps[1..] {
            // Who held the case changes hands without moving it on.
            if HoldingEvent::parse(&step.action).is_some() {
                assert_eq!(step.from_status.as_deref(), Some(step.to_status.as_str()));
                continue;
            }
            let action = Action::parse(&step.action).expect("action");
            assert_eq!(step.from_status.as_deref(), Some(status.as_str()), "{}", case.reference);
            let rule = rule_for(status, action).expect("a workflow transition");
            assert_eq!(step.to_status, rule.to.as_str(), "{}", case.reference);
            status = rule.to;
        }
        assert_eq!(status.as_str(), case.status, "{}", case.reference);
        let last = steps.last().expect("an event").occurred_at;
        assert!(case.updated_at >= last && case.updated_at < cutoff, "{}", case.reference);
        // The version counts the opening, each transition and each edit.
        let moves = steps.iter().filter(|s| HoldingEvent::parse(&s.action).is_none()).count();
        assert!(case.version as usize >= moves, "{}", case.reference);

        let took = |action: &str| steps.iter().find(|s| s.action == action).map(|s| s.occurred_at);
        assert_eq!(case.submitted_at, took("submit"), "{}", case.reference);
        assert_eq!(case.approved_at, took("approve"), "{}", case.reference);
        assert_eq!(case.decided_at, took("approve").or(took("reject")), "{}", case.reference);
        assert_eq!(case.closed_at, took("close"), "{}", case.reference);
        assert_eq!(case.departed_at.is_some(), took("confirm_departure").is_some());
        let times: Vec<DateTime<Utc>> = [
            Some(case.created_at),
            case.submitted_at,
            case.decided_at,
            case.departed_at,
            took("confirm_departure"),
            case.closed_at,
        ]
        .into_iter()
        .flatten()
        .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{}: {times:?}", case.reference);
    }

    // Records agree with the history.
    none(
        &pool,
        "submitted cases have their eligibility answered and the declaration signed",
        "select count(*) from cases c left join case_eligibility e on e.case_id = c.id \
         where c.submitted_at is not null and (e.case_id is null or e.criminal_offences is null \
             or e.abuse is null or e.sufficient_assets is null or e.prior_assistance is null \
             or e.voluntariness_signed_on is null \
             or e.voluntariness_signed_on > c.submitted_at::date \
             or not exists (select 1 from case_requested_assistance r where r.case_id = c.id))",
    )
    .await;
    none(
        &pool,
        "decided cases have their decision, approvals their amounts",
        "select count(*) from cases c left join case_decisions d on d.case_id = c.id \
         where (c.decided_at is null) <> (d.case_id is null) \
            or d.decided_at <> c.decided_at \
            or (d.decision = 'approved') <> (c.approved_at is not null) \
            or (d.decision = 'approved' and not exists ( \
                select 1 from case_approved_assistance a where a.case_id = c.id))",
    )
    .await;
    none(
        &pool,
        "departed cases have a departure whose payout is within the approval",
        "select count(*) from cases c left join case_departures d on d.case_id = c.id \
         where (c.departed_at is null) <> (d.case_id is null) \
            or d.case_id is not null and (d.departed_at <> c.departed_at \
            or d.startup_cash_rappen > coalesce((select a.amount_rappen \
                from case_approved_assistance a \
                where a.case_id = c.id and a.component = 'startup_cash'), 0) \
            or d.travel_money_rappen > coalesce((select a.amount_rappen \
                from case_approved_assistance a \
                where a.case_id = c.id and a.component = 'travel_money'), 0) \
            or not exists (select 1 from case_itineraries i \
                where i.id = d.itinerary_id and i.case_id = c.id and i.no_show_at is null))",
    )
    .await;
    none(
        &pool,
        "the case says who confirms its open journey and whether a reintegration was approved",
        "select count(*) from cases c \
         where c.journey_sim is distinct from (select i.sim from case_itineraries i \
                where i.case_id = c.id and i.no_show_at is null) \
            or c.reintegration_project <> exists (select 1 from case_approved_assistance a \
                where a.case_id = c.id and a.component = 'reintegration_project' \
                    and a.amount_rappen > 0)",
    )
    .await;
    none(
        &pool,
        "each booking and no-show in the history has its itinerary",
        "select count(*) from cases c where \
            (select count(*) from case_events e where e.case_id = c.id \
                and e.action = 'book_travel') \
            <> (select count(*) from case_itineraries i where i.case_id = c.id) \
         or (select count(*) from case_events e where e.case_id = c.id \
                and e.action = 'report_no_show') \
            <> (select count(*) from case_itineraries i where i.case_id = c.id \
                and i.no_show_at is not null)",
    )
    .await;
    none(
        &pool,
        "reintegration goes to the mission of the destination, within the approved project",
        "select count(*) from cases c \
         left join institutions m on m.id = c.reintegration_mission_id \
         where (c.reintegration_mission_id is not null) \
                <> exists (select 1 from case_events e where e.case_id = c.id \
                    and e.action = 'start_reintegration') \
            or m.country <> c.destination_country \
            or (select coalesce(sum(d.amount_rappen), 0) from case_disbursements d \
                where d.case_id = c.id) > coalesce((select a.amount_rappen \
                    from case_approved_assistance a where a.case_id = c.id \
                    and a.component = 'reintegration_project'), 0) \
            or exists (select 1 from case_disbursements d where d.case_id = c.id \
                and d.paid_on < c.departed_at::date)",
    )
    .await;
    none(
        &pool,
        "ended cases have their ending, others none",
        "select count(*) from cases c left join case_endings x on x.case_id = c.id \
         where (c.status in ('closed', 'withdrawn', 'cancelled')) <> (x.case_id is not null) \
            or x.kind <> c.status",
    )
    .await;
    none(
        &pool,
        "review questions match the history, answered ones too",
        "select count(*) from cases c where \
            (select count(*) from case_events e where e.case_id = c.id \
                and e.action = 'request_info') \
            <> (select count(*) from case_review_questions q where q.case_id = c.id) \
         or (select count(*) from case_events e where e.case_id = c.id \
                and e.action = 'answer_info') \
            <> (select count(*) from case_review_questions q where q.case_id = c.id \
                and q.answer is not null)",
    )
    .await;
    let (medical, persons): (i64, i64) = sqlx::query_as(
        "select (select count(*) from case_medical), (select count(*) from case_persons)",
    )
    .fetch_one(&pool)
    .await
    .expect("counts");
    assert!((20..=120).contains(&medical), "about a tenth have medical data: {medical}");
    assert!(persons > 600 && persons < 1800, "households of one to seven: {persons}");

    // The statistics the load computed per batch are what the triggers would keep: one row
    // per case, equal to the view they read.
    none(
        &pool,
        "every case has its statistics row, equal to what the triggers compute",
        "select count(*) from ( \
             (select * from case_statistics_source except all select * from case_statistics) \
             union all \
             (select * from case_statistics except all select * from case_statistics_source)) d",
    )
    .await;
    let (statistics,): (i64,) = sqlx::query_as("select count(*) from case_statistics")
        .fetch_one(&pool)
        .await
        .expect("statistics");
    assert_eq!(statistics, 600, "one statistics row per case");

    // References run without gaps per prefix and year, up to the counters.
    none(
        &pool,
        "references count from 1 to the counter without gaps",
        "select count(*) from ( \
             select split_part(reference, '-', 1) as prefix, \
                 split_part(reference, '-', 2)::int as year, \
                 count(*) as n, max(split_part(reference, '-', 3)::bigint) as last \
             from cases group by 1, 2) r \
         left join case_reference_counters k on k.prefix = r.prefix and k.year = r.year \
         where r.n <> r.last or k.last_number is distinct from r.last",
    )
    .await;

    // The search columns are what refresh_case_search() computes.
    let mut tx = pool.begin().await.expect("tx");
    sqlx::query(
        "create temporary table seeded_search as select id, search_text, search_ids from cases",
    )
    .execute(&mut *tx)
    .await
    .expect("copy");
    sqlx::query("select refresh_case_search(id) from cases")
        .execute(&mut *tx)
        .await
        .expect("refresh");
    let (differing,): (i64,) = sqlx::query_as(
        "select count(*) from cases c join seeded_search s using (id) \
         where (c.search_text, c.search_ids) is distinct from (s.search_text, s.search_ids)",
    )
    .fetch_one(&mut *tx)
    .await
    .expect("compare");
    tx.rollback().await.expect("rollback");
    assert_eq!(differing, 0);

    // The access log holds a few events per case, all sealed into an intact chain.
    let (events, queued, per_case): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from audit_events where resource_type = 'case'), \
             (select count(*) from audit_seal_queue), \
             (select max(n) from (select count(*) as n from audit_events \
                 where resource_type = 'case' group by resource_id) x)",
    )
    .fetch_one(&pool)
    .await
    .expect("audit");
    assert!(events >= 600 && per_case <= 4, "{events} events, at most {per_case} per case");
    assert_eq!(queued, 0);
    let verification = retour_store::audit::verify(&pool).await.expect("verify");
    assert_eq!(verification.first_broken, None);
    assert_eq!(verification.checked, events as u64);
}

/// `q` as a query parameter value.
fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_api_reads_searches_and_numbers_after_seeded_cases(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let today = Utc::now().date_naive();
    let options = Options {
        cases: 300,
        seed: 5,
        batch: 100,
        connections: 3,
        from: today - Days::new(120),
        as_of: today + Days::new(1),
    };
    load(&app, &options).await;
    let token = app.login("counsellor.be@demo.test").await;

    // A seeded Bernese case reads, and its principal's name finds it.
    let (id, reference, surname, given): (Uuid, String, String, String) = sqlx::query_as(
        "select c.id, c.reference, p.surname, p.given_names from cases c \
         join case_persons p on p.case_id = c.id and p.position = 0 \
         where c.canton = 'BE' order by c.created_at limit 1",
    )
    .fetch_one(&pool)
    .await
    .expect("a Bernese case");
    let case = app.get(&format!("/v1/cases/{id}"), Some(&token)).await;
    assert_eq!(case.status, StatusCode::OK, "{}", case.text);
    assert_eq!(case.body["reference"], reference.as_str());
    assert_eq!(case.body["persons"][0]["surname"], surname.as_str());

    let q = encode(&format!("{surname} {given}"));
    let list = app.get(&format!("/v1/cases?q={q}&limit=200"), Some(&token)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let items = list.body["items"].as_array().expect("items");
    assert!(items.iter().any(|i| i["id"] == id.to_string()), "{q}: {}", list.text);
    assert!(items.iter().all(|i| i["canton"] == "BE"), "only the service's own cases");

    // Another canton's counsellor does not reach it.
    let zurich = app.login("counsellor.zh@demo.test").await;
    let other = app.get(&format!("/v1/cases/{id}"), Some(&zurich)).await;
    other.assert_problem(StatusCode::NOT_FOUND, "not_found");

    // A case created now takes the next number after the seeded ones of this year.
    let (last,): (Option<i64>,) = sqlx::query_as(
        "select max(last_number) from case_reference_counters where prefix = 'BE' \
         and year = extract(year from now() at time zone 'Europe/Zurich')::int",
    )
    .fetch_one(&pool)
    .await
    .expect("counter");
    let created =
        app.post("/v1/cases", Some(&token), &crate::support::case_body("Neumann", None)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let number = created.body["reference"]
        .as_str()
        .expect("reference")
        .rsplit('-')
        .next()
        .map(str::to_owned);
    assert_eq!(number, Some(format!("{:05}", last.unwrap_or(0) + 1)));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_period_shorter_than_a_month_is_refused_before_anything_is_written(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let as_of = day(2026, 11, 27);
    let options = Options {
        cases: 10,
        seed: 1,
        batch: 10,
        connections: 1,
        from: as_of - Days::new(10),
        as_of,
    };
    let error = synthetic::load(&app.store, &options, |_| {}).await.expect_err("refused");
    assert!(error.to_string().contains("at least 30 days"), "{error}");
    let (cases,): (i64,) =
        sqlx::query_as("select count(*) from cases").fetch_one(&pool).await.expect("count");
    assert_eq!(cases, 0);
}

/// Runs `retour args…` against the test's database.
fn retour(pool: &PgPool, args: &[&str]) -> std::process::Output {
    let database = pool.connect_options().get_database().expect("database name").to_owned();
    let mut url =
        url::Url::parse(&std::env::var("DATABASE_URL").expect("DATABASE_URL")).expect("url");
    url.set_path(&database);
    std::process::Command::new(env!("CARGO_BIN_EXE_retour"))
        .args(args)
        .env("DATABASE_URL", url.as_str())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run retour")
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_seed_command_loads_synthetic_cases_on_the_demo_and_reports_the_rate(pool: PgPool) {
    let args = [
        "seed",
        "--synthetic",
        "40",
        "--seed",
        "3",
        "--batch",
        "15",
        "--from",
        "2026-05-01",
        "--as-of",
        "2026-11-27",
    ];
    let output = retour(&pool, &args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("seeded 40 cases") && stdout.contains("cases/s"), "{stdout}");
    let (cases, counsellors): (i64, i64) = sqlx::query_as(
        "select (select count(*) from cases), \
             (select count(*) from users where role = 'counsellor')",
    )
    .fetch_one(&pool)
    .await
    .expect("counts");
    assert_eq!(cases, 40);
    assert_eq!(counsellors, 33, "one counsellor per counselling service, and Bern's second");

    // The demo users it relies on were seeded too: they sign in.
    let app = TestApp::new(pool.clone()).await;
    app.login("counsellor.vd@demo.test").await;

    // Nothing to seed, or a synthetic option without --synthetic, is refused.
    let nothing = retour(&pool, &["seed"]);
    assert!(!nothing.status.success());
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("--synthetic N"));
    let stray = retour(&pool, &["seed", "--demo", "--seed", "4"]);
    assert_eq!(stray.status.code(), Some(2));
}

/// Every id a SEM officer gets for `q`, page after page of `limit`.
async fn search_all(app: &TestApp, token: &str, q: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let page =
            app.get(&format!("/v1/cases?q={}&limit={limit}{cursor}", encode(q)), Some(token)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let items = page.body["items"].as_array().expect("items");
        assert!(items.len() <= limit);
        ids.extend(items.iter().map(|i| i["id"].as_str().expect("id").to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return ids,
        }
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_search_pages_through_exactly_the_matching_cases_newest_first(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let as_of = day(2026, 11, 27);
    let options = Options {
        cases: 400,
        seed: 3,
        batch: 400,
        connections: 1,
        from: as_of - Days::new(300),
        as_of,
    };
    load(&app, &options).await;
    let sem = app.login("sem@demo.test").await;
    // The most common surname among the cases SEM sees, a surname of one case, a ZEMIS
    // number's first digits, and a word that matches nothing.
    let (common,): (String,) = sqlx::query_as(
        "select p.surname from case_persons p join cases c on c.id = p.case_id \
         where c.submitted_at is not null group by 1 order by count(*) desc, 1 limit 1",
    )
    .fetch_one(&pool)
    .await
    .expect("common surname");
    let (rare, digits): (String, String) = sqlx::query_as(
        "select p.surname || ' ' || p.given_names, left(p.zemis_number, 3) \
         from case_persons p join cases c on c.id = p.case_id \
         where c.submitted_at is not null and p.zemis_number is not null \
         order by c.created_at desc limit 1",
    )
    .fetch_one(&pool)
    .await
    .expect("a person");
    for q in [common.as_str(), rare.as_str(), digits.as_str(), "zzqx"] {
        let mut expected = sqlx::QueryBuilder::new(
            "select c.id::text from cases c where c.submitted_at is not null",
        );
        // Each word begins a word of the folded names and reference, or of the numbers
        // (decision 0009): after a space, once every other character is one.
        for word in q.split_whitespace() {
            let pattern = format!("% {}%", word.to_lowercase());
            expected
                .push(" and ((' ' || regexp_replace(c.search_text, '[^[:alnum:]]+', ' ', 'g')) like retour_fold(")
                .push_bind(pattern.clone())
                .push(") or (' ' || regexp_replace(c.search_ids, '[^[:alnum:]]+', ' ', 'g')) like retour_fold(")
                .push_bind(pattern)
                .push("))");
        }
        expected.push(" order by c.updated_at desc, c.id desc");
        let expected: Vec<String> =
            expected.build_query_scalar().fetch_all(&pool).await.expect("expected ids");
        if q == common {
            assert!(expected.len() > 7, "{q} fills a page: {}", expected.len());
        }
        assert_eq!(search_all(&app, &sem, q, 7).await, expected, "q={q}");
    }
}

/// The README's run command (`retour serve --demo`) gives the demo installation its cases
/// once: a newcomer who signs in finds cases of their own in progress, and a restart adds none.
#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_demo_starts_with_cases_in_progress_once(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let today = Utc::now().date_naive();
    let report = synthetic::load_demo_cases(&app.store, today)
        .await
        .expect("load")
        .expect("an installation without cases gets the demo's");
    assert_eq!(report.cases, synthetic::DEMO_CASES);
    let in_progress: Vec<_> = report
        .statuses
        .iter()
        .filter(|(status, n)| {
            *n > 0 && !matches!(*status, "closed" | "withdrawn" | "rejected" | "cancelled")
        })
        .collect();
    assert!(in_progress.len() >= 5, "cases in progress in few statuses: {:?}", report.statuses);
    let again = synthetic::load_demo_cases(&app.store, today).await.expect("load again");
    assert!(again.is_none(), "a restart loads no more cases");

    let token = app.login("counsellor.be@demo.test").await;
    let list = app.get("/v1/cases?limit=5", Some(&token)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let items = list.body["items"].as_array().expect("items");
    assert!(!items.is_empty(), "the Bernese counsellor sees cases: {}", list.text);
    assert!(items.iter().all(|i| i["canton"] == "BE"), "only the service's own cases");
}
