//! `retour-bench`: drives a running Retour server over HTTP with concurrent clients and, for
//! the read and transition scenarios, runs the minimal SQL that does the same work directly
//! over a pool of the same size — the ratio API ÷ baseline is the cost of everything that is
//! not the database. Two baselines each: the least a read can fetch (the case and its
//! persons), and every record the API's answer holds (the whole case).
//!
//! Start the server (`retour serve --demo` on a seeded database), then
//! `cargo run --release -p retour-bench -- --server-pid $(pgrep -f 'retour serve')`.

mod baseline;
mod runner;
mod scenarios;
mod webhooks;

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use serde::Serialize;

use crate::baseline::{Fetch, Outbox};
use crate::runner::{Load, Measurement};

/// Benchmark a running Retour server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
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
    /// `--clients 10` for the server's peak memory) is not among the defaults.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "read,search,transition,outbox,queue,login"
    )]
    scenarios: Vec<String>,
    /// The server's process id, to report its memory (resident set) after the run.
    #[arg(long)]
    server_pid: Option<u32>,
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let load = Load {
        clients: args.clients,
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration),
    };
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(u32::try_from(args.clients).unwrap_or(32))
        .connect(&args.database_url)
        .await
        .context("connecting to the database for the baselines (DATABASE_URL)")?;
    let (cases,): (i64,) = sqlx::query_as("select count(*) from cases").fetch_one(&pool).await?;
    let api = scenarios::Api::new(&args.base_url)?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    eprintln!(
        "{cases} cases; {} clients; {}s warm-up, {}s measured per scenario",
        args.clients, args.warmup, args.duration
    );

    let mut rows = Vec::new();
    for scenario in &args.scenarios {
        eprintln!("running {scenario} …");
        let row = match scenario.as_str() {
            "read" => {
                let fixture = scenarios::read_fixture(&api).await?;
                let measured = scenarios::read(&api, &fixture, load).await;
                let least = baseline::read(&pool, &fixture, Fetch::Persons, load).await;
                let document = baseline::read(&pool, &fixture, Fetch::Document, load).await;
                row(scenario, measured, Some((least, document)))
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
        rows.push(row);
    }
    let (rss, peak) = args.server_pid.map_or((None, None), memory_of);
    let report = Report {
        clients: args.clients,
        warmup_seconds: args.warmup,
        duration_seconds: args.duration,
        cores,
        cases,
        rows,
        server_rss_mb: rss,
        server_peak_rss_mb: peak,
    };
    print_table(&report);
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(path) = &args.json {
        std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{json}");
    Ok(())
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
    }
}

/// A row with one baseline (the least SQL) and no document baseline.
fn row_with_baseline(scenario: &str, api: Measurement, baseline: Measurement) -> Row {
    let ratio = (baseline.throughput > 0.0).then(|| api.throughput / baseline.throughput);
    Row {
        scenario: scenario.to_owned(),
        api,
        baseline: Some(baseline),
        ratio,
        document_baseline: None,
        document_ratio: None,
    }
}

fn print_table(report: &Report) {
    println!(
        "\n{} cases, {} clients, {} s measured, {} cores",
        report.cases, report.clients, report.duration_seconds, report.cores
    );
    println!(
        "| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | baseline req/s | API ÷ baseline \
         | document baseline req/s | API ÷ document baseline |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let throughput = |b: &Option<Measurement>| {
        b.as_ref().map_or("–".to_owned(), |b| format!("{:.0}", b.throughput))
    };
    let percent = |r: Option<f64>| r.map_or("–".to_owned(), |r| format!("{:.0} %", r * 100.0));
    for row in &report.rows {
        let m = &row.api;
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} |",
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
    if let (Some(rss), Some(peak)) = (report.server_rss_mb, report.server_peak_rss_mb) {
        println!("server memory: {rss:.0} MB resident now, {peak:.0} MB peak");
    }
}

/// Resident and peak resident memory of a process, in MB (Linux `/proc`).
fn memory_of(pid: u32) -> (Option<f64>, Option<f64>) {
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
