//! One module per command of `retour` (the command line itself is in `cli`).

pub(crate) mod admin;
pub(crate) mod audit;
pub(crate) mod deadlines;
pub(crate) mod lifecycle;
pub(crate) mod seed;
pub(crate) mod serve;

use std::future::Future;
use std::time::Duration;

/// Runs `job` at start and then every `interval`, until `stop` resolves. A job logs its own
/// failure and is tried again at the next interval.
pub(crate) async fn periodically<F, Fut>(
    interval: Duration,
    stop: impl Future<Output = ()>,
    mut job: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = ticks.tick() => job().await,
        }
    }
}
