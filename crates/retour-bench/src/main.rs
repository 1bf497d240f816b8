//! `retour-bench`: drives a running Retour server over HTTP with concurrent clients and, for
//! the read and transition scenarios, runs the minimal SQL that does the same work directly
//! over a pool of the same size — the ratio API ÷ baseline is the cost of everything that is
//! not the database. Two baselines each: the least a read can fetch (the case and its
//! persons), and every record the API's answer holds (the whole case).
//!
//! Start the server (`retour serve --demo` on a seeded database), then
//! `cargo run --release -p retour-bench -- --server-pid $(pgrep -f 'retour serve')`.

mod baseline;
mod pgbench;
mod runner;
mod scenarios;
mod soak;
mod webhooks;

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use serde::Serialize;

use crate::baseline::{Fetch, Outbox};
use crate::pgbench::PgBench;
use crate::runner::{Load, Measurement};
use crate::soak::Soak;

/// Benchmark a running Retour server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The server's base URL; for the soak, several (comma-separated) servers sharing one
    /// database, among which its clients are spread. Other scenarios use the first.
    #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:8080")]
    base_url: Vec<String>,
    /// The server's database, for the direct-SQL baselines.
    #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/retour")]
    database_url: String,
    /// Concurrent clients (and baseline pool connections).
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Seconds of warm-up per scenario, not measured.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Seconds measured per scenario.
    #[arg(long, default_value_t = 15)]
    duration: u64,
    /// Scenarios to run, comma-separated; `upload` (20 MB documents, best run alone with
    /// `--clients 10` for the server's peak memory) and `soak` (mixed load for `--duration`
    /// seconds, e.g. 600) are not among the defaults.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "read,search,transition,outbox,queue,login"
    )]
    scenarios: Vec<String>,
    /// The servers' process ids (comma-separated, in the order of `--base-url`), to report
    /// their memory (resident set) after the run and sample it during the soak.
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

/// One row of the result table.
#[derive(Debug, Serialize)]
struct Row {
    scenario: String,
    api: Measurement,
    /// The least SQL that does the scenario's work: the case with its persons.
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<Measurement>,
    /// API throughput ÷ baseline throughput.
    #[serde(skip_serializing_if = "Option::is_none")]
    ratio: Option<f64>,
    /// The least SQL that fetches every record the API's answer holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    document_baseline: Option<Measurement>,
    /// API throughput ÷ document baseline throughput.
    #[serde(skip_serializing_if = "Option::is_none")]
    document_ratio: Option<f64>,
    /// The least SQL (the same file) run by pgbench, and API ÷ it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pgbench: Option<PgBench>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pgbench_ratio: Option<f64>,
    /// The document SQL run by pgbench, and API ÷ it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pgbench_document: Option<PgBench>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pgbench_document_ratio: Option<f64>,
    /// The scenario's target at this number of clients, and whether it was met.
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    met: Option<bool>,
}

#[derive(Debug, Serialize)]
struct Report {
    clients: usize,
    warmup_seconds: u64,
    duration_seconds: u64,
    cores: usize,
    cases: i64,
    rows: Vec<Row>,
    server_rss_mb: Option<f64>,
    server_peak_rss_mb: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    soak: Option<Soak>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let load = Load {
        clients: args.clients,
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration),
    };
    let pool = connect(&args.database_url, args.clients).await?;
    let (cases,): (i64,) = sqlx::query_as("select count(*) from cases").fetch_one(&pool).await?;
    let apis = args
        .base_url
        .iter()
        .map(|url| scenarios::Api::new(url))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let api = apis.first().context("--base-url names no server")?.clone();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    eprintln!(
        "{cases} cases; {} clients; {}s warm-up, {}s measured per scenario",
        args.clients, args.warmup, args.duration
    );

    let mut rows = Vec::new();
    let mut soak = None;
    for scenario in &args.scenarios {
        if scenario == "soak" {
            let measured = soak::run(
                &apis,
                &args.server_pid,
                args.clients,
                Duration::from_secs(args.warmup.max(60)),
                load.duration,
            )
            .await?;
            soak = Some(measured);
            continue;
        }
        eprintln!("running {scenario} …");
        let row = match scenario.as_str() {
            "read" => {
                let fixture = scenarios::read_fixture(&api).await?;
                // A pool of its own, closed before pgbench opens as many connections.
                let own = connect(&args.database_url, args.clients).await?;
                let cases = baseline::load_cases(&own, &fixture).await?;
                let measured = scenarios::read(&api, &fixture, load).await;
                let least = baseline::read(&own, &fixture, Fetch::Persons, load).await;
                let document = baseline::read(&own, &fixture, Fetch::Document, load).await;
                own.close().await;
                let mut row = row(scenario, measured, Some((least, document)));
                let libpq = |fetch: Fetch| {
                    let script = fetch.read_sql();
                    pgbench::run(&args.database_url, script, &fixture.user_id, cases, load, cores)
                };
                row.pgbench = libpq(Fetch::Persons);
                row.pgbench_document = libpq(Fetch::Document);
                let ratio = |b: &Option<PgBench>| {
                    b.as_ref()
                        .filter(|b| b.throughput > 0.0)
                        .map(|b| row.api.throughput / b.throughput)
                };
                row.pgbench_ratio = ratio(&row.pgbench);
                row.pgbench_document_ratio = ratio(&row.pgbench_document);
                row
            }
            "search" => row(scenario, scenarios::search(&api, load).await?, None),
            "transition" => {
                let measured = scenarios::transition(&api, load).await?;
                let least = baseline::transition(&pool, Fetch::Persons, load).await?;
                let document = baseline::transition(&pool, Fetch::Document, load).await?;
                row(scenario, measured, Some((least, document)))
            }
            "outbox" => {
                // The transition's least SQL with the event for partner systems, against the
                // same without it: what the outbox adds to a transition.
                let with =
                    baseline::transition_with(&pool, Fetch::Persons, Outbox::Written, load).await?;
                let without =
                    baseline::transition_with(&pool, Fetch::Persons, Outbox::Left, load).await?;
                row_with_baseline(scenario, with, without)
            }
            "webhooks" => {
                // Delivery to a receiver of this process at twice the target rate; no
                // baseline: the figures are the delivered rate and the lag.
                let measured = webhooks::delivery(&api, &pool, load, 1000).await?;
                row(scenario, measured, None)
            }
            "queue" => {
                let measured = scenarios::queue(&api, load).await?;
                let least = baseline::queue(&pool, load).await?;
                row_with_baseline(scenario, measured, least)
            }
            "login" => row(scenario, scenarios::login(&api, load).await, None),
            "upload" => {
                let measured = scenarios::upload(&api, load).await?;
                let least = baseline::upload(&pool, load).await?;
                row_with_baseline(scenario, measured, least)
            }
            other => anyhow::bail!(
                "unknown scenario {other}; use read, search, transition, outbox, webhooks, queue, login, \
                 upload"
            ),
        };
        rows.push(judged(row, args.clients));
    }
    let (rss, peak) = args.server_pid.first().map_or((None, None), |pid| memory_of(*pid));
    let report = Report {
        clients: args.clients,
        warmup_seconds: args.warmup,
        duration_seconds: args.duration,
        cores,
        cases,
        rows,
        server_rss_mb: rss,
        server_peak_rss_mb: peak,
        soak,
    };
    print_table(&report);
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(path) = &args.json {
        std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{json}");
    Ok(())
}

/// A pool of `clients` connections for the SQL baselines.
async fn connect(url: &str, clients: usize) -> anyhow::Result<sqlx::PgPool> {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(u32::try_from(clients).unwrap_or(32))
        .connect(url)
        .await
        .context("connecting to the database for the baselines (DATABASE_URL)")
}

fn row(scenario: &str, api: Measurement, baselines: Option<(Measurement, Measurement)>) -> Row {
    let ratio = |b: &Measurement| (b.throughput > 0.0).then(|| api.throughput / b.throughput);
    let (baseline, document_baseline) = baselines.unzip();
    Row {
        scenario: scenario.to_owned(),
        ratio: baseline.as_ref().and_then(ratio),
        document_ratio: document_baseline.as_ref().and_then(ratio),
        api,
        baseline,
        document_baseline,
        pgbench: None,
        pgbench_ratio: None,
        pgbench_document: None,
        pgbench_document_ratio: None,
        target: None,
        met: None,
    }
}

/// `row` with its scenario's target at `clients` clients, and whether it was met: a read at
/// 80 % of its least SQL at least (of pgbench's where it ran, which is the stricter), a
/// transition at 50 %, a search's p95 within 50 ms at 8 clients and 600 searches a second at
/// 32 (each iteration of the search scenario is a search and its next page: two searches).
fn judged(mut row: Row, clients: usize) -> Row {
    let (target, met) = match (row.scenario.as_str(), clients) {
        ("read", _) => {
            let ratio = match (row.ratio, row.pgbench_ratio) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            ("≥ 80 % of the least SQL", ratio.map(|r| r >= 0.80))
        }
        ("transition", _) => ("≥ 50 % of the least SQL", row.ratio.map(|r| r >= 0.50)),
        ("search", 8) => ("p95 ≤ 50 ms", Some(row.api.p95_ms <= 50.0)),
        ("search", 32) => ("≥ 600 searches/s", Some(row.api.throughput * 2.0 >= 600.0)),
        _ => return row,
    };
    row.target = Some(target.to_owned());
    row.met = met.map(|m| m && row.api.errors == 0);
    row
}

/// A row with one baseline (the least SQL) and no document baseline.
fn row_with_baseline(scenario: &str, api: Measurement, baseline: Measurement) -> Row {
    let mut row = row(scenario, api, None);
    row.ratio = (baseline.throughput > 0.0).then(|| row.api.throughput / baseline.throughput);
    row.baseline = Some(baseline);
    row
}

fn print_table(report: &Report) {
    println!(
        "\n{} cases, {} clients, {} s measured, {} cores",
        report.cases, report.clients, report.duration_seconds, report.cores
    );
    println!(
        "| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | baseline req/s | API ÷ baseline \
         | document baseline req/s | API ÷ document baseline | pgbench least tps | API ÷ pgbench \
         | pgbench document tps | API ÷ pgbench document | target | met |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
    let tps = |b: &Option<PgBench>| {
        b.as_ref().map_or("–".to_owned(), |b| format!("{:.0}", b.throughput))
    };
    let throughput = |b: &Option<Measurement>| {
        b.as_ref().map_or("–".to_owned(), |b| format!("{:.0}", b.throughput))
    };
    let percent = |r: Option<f64>| r.map_or("–".to_owned(), |r| format!("{:.0} %", r * 100.0));
    for row in &report.rows {
        let m = &row.api;
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} \
             | {} |",
            row.scenario,
            m.throughput,
            m.p50_ms,
            m.p95_ms,
            m.p99_ms,
            m.errors,
            throughput(&row.baseline),
            percent(row.ratio),
            throughput(&row.document_baseline),
            percent(row.document_ratio),
            tps(&row.pgbench),
            percent(row.pgbench_ratio),
            tps(&row.pgbench_document),
            percent(row.pgbench_document_ratio),
            row.target.as_deref().unwrap_or("–"),
            row.met.map_or("–", |m| if m { "met" } else { "MISSED" }),
        );
        if let Some(error) = &m.first_error {
            println!("  first error: {error}");
        }
    }
    if let Some(login) = report.rows.iter().find(|r| r.scenario == "login") {
        println!(
            "login: {:.1} sign-ins/s per core (argon2id, m=19 MiB, t=2)",
            login.api.throughput / report.cores as f64
        );
    }
    if let Some(upload) = report.rows.iter().find(|r| r.scenario == "upload") {
        let mb = scenarios::UPLOAD_BYTES as f64 / 1_000_000.0;
        let rate = |m: &Measurement| m.throughput * mb;
        println!(
            "upload: {:.1} MB/s of documents of {mb:.0} MB by {} clients; the same bytes written \
             as SQL: {}",
            rate(&upload.api),
            report.clients,
            upload.baseline.as_ref().map_or("–".to_owned(), |b| format!("{:.1} MB/s", rate(b)))
        );
    }
    if let Some(soak) = &report.soak {
        println!(
            "soak: {} server(s), {} clients, {:.0} s: {} requests ({:.0}/s), {} errors; \
             p99 per minute {:?} ms (highest ÷ median {:.2}, target ≤ 2); resident memory \
             within {:.1} % of its mean after the warm-up (target ≤ 10 %): {}",
            soak.servers,
            soak.clients,
            soak.seconds,
            soak.requests,
            soak.throughput,
            soak.errors,
            soak.p99_per_minute_ms.iter().map(|p| (p * 10.0).round() / 10.0).collect::<Vec<_>>(),
            soak.p99_spread,
            soak.rss_drift_percent,
            if soak.passed { "met" } else { "MISSED" }
        );
        if let Some(error) = &soak.first_error {
            println!("  first error: {error}");
        }
    }
    if let (Some(rss), Some(peak)) = (report.server_rss_mb, report.server_peak_rss_mb) {
        println!("server memory: {rss:.0} MB resident now, {peak:.0} MB peak");
    }
}

/// Resident and peak resident memory of a process, in MB (Linux `/proc`).
pub(crate) fn memory_of(pid: u32) -> (Option<f64>, Option<f64>) {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return (None, None);
    };
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
