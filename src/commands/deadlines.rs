//! The overdue job: `retour deadlines run`, and the periodic run inside `retour serve`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use retour_store::Store;
use retour_store::deadlines::mark_overdue;

/// Marks the open deadlines due before `today` as overdue; returns how many it marked.
pub(crate) async fn run_once(store: &Store, today: NaiveDate) -> anyhow::Result<usize> {
    let marked = mark_overdue(store.pool(), today).await?;
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for deadline in &marked {
        *by_kind.entry(deadline.kind.as_str()).or_default() += 1;
    }
    tracing::info!(marked = marked.len(), as_of = %today, ?by_kind, "overdue deadlines marked");
    Ok(marked.len())
}

/// Runs the overdue job at start and then every `interval`, until `stop` resolves. A
/// failed run is logged and retried at the next interval. Several servers may run it: each
/// deadline is marked once.
pub(crate) async fn run_periodically(
    store: Store,
    interval: Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    super::periodically(interval, stop, || async {
        if let Err(error) = run_once(&store, Utc::now().date_naive()).await {
            tracing::error!(%error, "the overdue job failed; retrying at the next interval");
        }
    })
    .await;
}
