//! Drives one scenario: N concurrent clients in closed loops, a warm-up whose requests are
//! not counted, then a fixed measuring window.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// How long and how wide a scenario runs.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub clients: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// What one scenario measured.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub throughput: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// The first error seen, to tell what went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

/// Runs `operation(client, iteration)` from `load.clients` concurrent loops. Latencies are
/// recorded in microseconds; an `Err` counts as an error (its latency is not recorded).
pub async fn run<F, Fut>(load: Load, operation: F) -> Measurement
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let operation = Arc::new(operation);
    let start = Instant::now();
    let measure_from = start + load.warmup;
    let end = measure_from + load.duration;
    let mut tasks = Vec::with_capacity(load.clients);
    for client in 0..load.clients {
        let operation = Arc::clone(&operation);
        tasks.push(tokio::spawn(async move {
            let mut histogram = new_histogram();
            let mut errors = 0u64;
            let mut first_error = None;
            let mut iteration = 0u64;
            loop {
                let began = Instant::now();
                if began >= end {
                    break;
                }
                let result = operation(client, iteration).await;
                iteration += 1;
                if began < measure_from {
                    continue;
                }
                match result {
                    Ok(()) => {
                        let micros = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
                        histogram.saturating_record(micros.max(1));
                    }
                    Err(error) => {
                        errors += 1;
                        first_error.get_or_insert(error);
                    }
                }
            }
            (histogram, errors, first_error)
        }));
    }
    let mut histogram = new_histogram();
    let mut errors = 0;
    let mut first_error = None;
    for task in tasks {
        if let Ok((h, e, f)) = task.await {
            histogram.add(&h).ok();
            errors += e;
            if first_error.is_none() {
                first_error = f;
            }
        }
    }
    let seconds = load.duration.as_secs_f64();
    let quantile = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    Measurement {
        requests: histogram.len(),
        errors,
        seconds,
        throughput: histogram.len() as f64 / seconds,
        p50_ms: quantile(0.50),
        p95_ms: quantile(0.95),
        p99_ms: quantile(0.99),
        first_error,
    }
}

pub fn new_histogram() -> Histogram<u64> {
    // 1 µs to 60 s at 3 significant digits: constant, valid bounds.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}
