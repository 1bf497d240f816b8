//! The soak: a long run of mixed load (reads, lists, searches, work queues, documents, a
//! case's events, transitions and the odd sign-in) against one server or several sharing a
//! database, with the servers' memory sampled throughout and the latency kept per minute.
//! It passes with no error, each server's resident memory within ±10 % of its mean after
//! the warm-up, and the p99 of every minute within twice the median minute's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::scenarios::{self, Api, ReadFixture, TransitionFixture};

/// One operation of the mix and its share (out of [`SHARES`]).
#[derive(Debug, Clone, Copy)]
enum Operation {
    Read,
    List,
    Search,
    Queue,
    Documents,
    CaseEvents,
    Transition,
    SignIn,
}

/// The mix, in shares of 200: mostly reads, as a day of case work is; a sign-in in 200
/// (argon2id is meant to be slow, and would otherwise take the machine).
const MIX: [(Operation, u32); 8] = [
    (Operation::Read, 90),
    (Operation::List, 25),
    (Operation::Search, 30),
    (Operation::Queue, 20),
    (Operation::Documents, 15),
    (Operation::CaseEvents, 10),
    (Operation::Transition, 9),
    (Operation::SignIn, 1),
];
const SHARES: u32 = 200;

/// What the soak measured.
#[derive(Debug, Serialize)]
pub struct Soak {
    pub servers: usize,
    pub clients: usize,
    pub seconds: f64,
    pub requests: u64,
    pub errors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    pub throughput: f64,
    /// p99 of each minute, in ms.
    pub p99_per_minute_ms: Vec<f64>,
    /// Resident memory of each server (MB), sampled every 10 s.
    pub rss_mb: Vec<Vec<f64>>,
    /// The largest departure of a sample after the warm-up from its server's mean, in %.
    pub rss_drift_percent: f64,
    /// The highest minute's p99 ÷ the median minute's.
    pub p99_spread: f64,
    pub passed: bool,
}

/// Runs the mix from `clients` loops spread over `apis` (one per server) for `duration`, after
/// `warmup` (not counted, nor its memory samples).
pub async fn run(
    apis: &[Api],
    pids: &[u32],
    clients: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<Soak> {
    anyhow::ensure!(!apis.is_empty(), "the soak needs a server");
    let first = &apis[0];
    let read = Arc::new(scenarios::read_fixture(first).await?);
    let transitions = Arc::new(TransitionFixture::new(first, clients).await?);
    let sem = Arc::new(first.login("sem@demo.test").await?);
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let minutes = usize::try_from(duration.as_secs().div_ceil(60)).unwrap_or(1).max(1);

    let sampler = {
        let pids = pids.to_vec();
        tokio::spawn(async move {
            let mut samples = vec![Vec::new(); pids.len()];
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            while Instant::now() < end {
                tick.tick().await;
                if Instant::now() < measure_from {
                    continue;
                }
                for (pid, samples) in pids.iter().zip(&mut samples) {
                    if let (Some(rss), _) = crate::memory_of(*pid) {
                        samples.push(rss);
                    }
                }
            }
            samples
        })
    };

    let mut tasks = Vec::with_capacity(clients);
    for client in 0..clients {
        let api = apis[client % apis.len()].clone();
        let (read, transitions, sem) =
            (Arc::clone(&read), Arc::clone(&transitions), Arc::clone(&sem));
        tasks.push(tokio::spawn(async move {
            let mut histograms: Vec<Histogram<u64>> =
                (0..minutes).map(|_| crate::runner::new_histogram()).collect();
            let (mut errors, mut first_error) = (0u64, None);
            let mut iteration = 0u64;
            loop {
                let began = Instant::now();
                if began >= end {
                    break;
                }
                let operation = pick(client, iteration);
                let result =
                    perform(operation, &api, &read, &transitions, &sem, client, iteration).await;
                iteration += 1;
                if began < measure_from {
                    continue;
                }
                match result {
                    Ok(()) => {
                        let minute = usize::try_from((began - measure_from).as_secs() / 60)
                            .unwrap_or(0)
                            .min(minutes - 1);
                        let micros = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
                        histograms[minute].saturating_record(micros.max(1));
                    }
                    Err(error) => {
                        errors += 1;
                        first_error.get_or_insert(format!("{operation:?}: {error}"));
                    }
                }
            }
            (histograms, errors, first_error)
        }));
    }
    let mut histograms: Vec<Histogram<u64>> =
        (0..minutes).map(|_| crate::runner::new_histogram()).collect();
    let (mut errors, mut first_error) = (0, None);
    for task in tasks {
        let (h, e, f) = task.await?;
        for (total, minute) in histograms.iter_mut().zip(&h) {
            total.add(minute).ok();
        }
        errors += e;
        if first_error.is_none() {
            first_error = f;
        }
    }
    let rss_mb = sampler.await?;
    let requests: u64 = histograms.iter().map(Histogram::len).sum();
    let p99_per_minute_ms: Vec<f64> = histograms
        .iter()
        .filter(|h| !h.is_empty())
        .map(|h| h.value_at_quantile(0.99) as f64 / 1000.0)
        .collect();
    let rss_drift_percent = rss_mb
        .iter()
        .filter(|s| !s.is_empty())
        .map(|samples| {
            let mean = samples.iter().sum::<f64>() / samples.len() as f64;
            samples.iter().map(|s| (s - mean).abs() / mean * 100.0).fold(0.0, f64::max)
        })
        .fold(0.0, f64::max);
    let p99_spread = spread(&p99_per_minute_ms);
    let passed = errors == 0 && rss_drift_percent <= 10.0 && p99_spread <= 2.0;
    Ok(Soak {
        servers: apis.len(),
        clients,
        seconds: duration.as_secs_f64(),
        requests,
        errors,
        first_error,
        throughput: requests as f64 / duration.as_secs_f64(),
        p99_per_minute_ms,
        rss_mb,
        rss_drift_percent,
        p99_spread,
        passed,
    })
}

/// The highest value ÷ the median; 1 for fewer than two values.
fn spread(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 1.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    if median <= 0.0 { 1.0 } else { sorted[sorted.len() - 1] / median }
}

/// The operation of `client`'s `iteration`th request: the mix, in an order that differs per
/// client.
fn pick(client: usize, iteration: u64) -> Operation {
    let slot = u32::try_from((iteration * 7919 + client as u64 * 104_729) % u64::from(SHARES))
        .unwrap_or(0);
    let mut bound = 0;
    for (operation, share) in MIX {
        bound += share;
        if slot < bound {
            return operation;
        }
    }
    Operation::Read
}

async fn perform(
    operation: Operation,
    api: &Api,
    read: &ReadFixture,
    transitions: &TransitionFixture,
    sem: &str,
    client: usize,
    iteration: u64,
) -> Result<(), String> {
    let index = (client * 7919 + usize::try_from(iteration).unwrap_or(0)) % read.case_ids.len();
    let case = &read.case_ids[index];
    let word = scenarios::QUERIES[index % scenarios::QUERIES.len()];
    let token = &read.token;
    match operation {
        Operation::Read => api.get_json(&format!("/v1/cases/{case}"), token).await.map(drop),
        Operation::List => api.get_json("/v1/cases?limit=50", token).await.map(drop),
        Operation::Search => api
            .get_json(&format!("/v1/cases?q={word}&status=approved,departed,closed&limit=50"), sem)
            .await
            .map(drop),
        Operation::Queue => api.get_json("/v1/me/queue", token).await.map(drop),
        Operation::Documents => {
            api.get_json(&format!("/v1/cases/{case}/documents"), token).await.map(drop)
        }
        Operation::CaseEvents => {
            api.get_json(&format!("/v1/cases/{case}/events"), token).await.map(drop)
        }
        Operation::Transition => transitions.step(api, client).await,
        Operation::SignIn => {
            api.login("counsellor.zh@demo.test").await.map(drop).map_err(|e| e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MIX, Operation, SHARES, pick, spread};

    #[test]
    fn the_mix_is_out_of_its_shares() {
        assert_eq!(MIX.iter().map(|(_, s)| s).sum::<u32>(), SHARES);
        let signins = (0..20_000).filter(|i| matches!(pick(3, *i), Operation::SignIn)).count();
        assert_eq!(signins, 100, "one sign-in in 200");
    }

    #[test]
    fn the_spread_is_the_highest_over_the_median() {
        assert_eq!(spread(&[10.0]), 1.0);
        assert_eq!(spread(&[10.0, 10.0, 30.0]), 3.0);
    }
}
