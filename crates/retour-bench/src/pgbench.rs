//! The read baselines run by pgbench (libpq), from the same SQL files as through sqlx, so that
//! a ratio to the database's own speed does not depend on the client library.

use std::process::Command;
use std::time::Duration;

use serde::Serialize;

use crate::runner::Load;

/// What pgbench reported.
#[derive(Debug, Clone, Serialize)]
pub struct PgBench {
    pub throughput: f64,
    pub latency_average_ms: f64,
}

/// Runs `script` with pgbench (prepared statements, one thread per core, `load.clients`
/// connections) for the warm-up, then for the measured window, against `database_url`.
/// `None`, with the reason printed, when pgbench is not installed or fails.
pub fn run(
    database_url: &str,
    script: &str,
    user: &str,
    cases: usize,
    load: Load,
    cores: usize,
) -> Option<PgBench> {
    let file = std::env::temp_dir().join(format!("retour-bench-{}.sql", std::process::id()));
    if let Err(error) = std::fs::write(&file, script) {
        eprintln!("pgbench: writing the script: {error}");
        return None;
    }
    let run = |seconds: Duration| {
        Command::new("pgbench")
            .args(["--no-vacuum", "--protocol=prepared"])
            .arg(format!("--client={}", load.clients))
            .arg(format!("--jobs={}", cores.min(load.clients).max(1)))
            .arg(format!("--time={}", seconds.as_secs().max(1)))
            .arg(format!("--define=user={user}"))
            .arg(format!("--define=cases={cases}"))
            .arg(format!("--file={}", file.display()))
            .arg(database_url)
            .output()
    };
    let outcome = run(load.warmup).and_then(|_| run(load.duration));
    let _ = std::fs::remove_file(&file);
    match outcome {
        Ok(output) if output.status.success() => {
            let text = String::from_utf8_lossy(&output.stdout);
            let parsed = parse(&text);
            if parsed.is_none() {
                eprintln!("pgbench: no tps in its output:\n{text}");
            }
            parsed
        }
        Ok(output) => {
            eprintln!("pgbench failed: {}", String::from_utf8_lossy(&output.stderr));
            None
        }
        Err(error) => {
            eprintln!("pgbench could not be run ({error}); its baselines are left out");
            None
        }
    }
}

/// The `tps = …` and `latency average = … ms` lines of pgbench's report.
fn parse(report: &str) -> Option<PgBench> {
    let number = |prefix: &str| {
        report
            .lines()
            .find_map(|line| line.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
    };
    Some(PgBench {
        throughput: number("tps = ")?,
        latency_average_ms: number("latency average = ").unwrap_or(f64::NAN),
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn the_report_gives_the_rate_and_latency() {
        let report = "number of failed transactions: 0 (0.000%)\n\
                      latency average = 4.012 ms\n\
                      initial connection time = 12.345 ms\n\
                      tps = 7976.543210 (without initial connection time)\n";
        let parsed = parse(report).expect("parsed");
        assert!((parsed.throughput - 7976.54321).abs() < 1e-6);
        assert!((parsed.latency_average_ms - 4.012).abs() < 1e-9);
        assert!(parse("no figures").is_none());
    }
}
