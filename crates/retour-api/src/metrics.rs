//! Prometheus metrics: requests by route and status, latency histograms, pool usage and the
//! process (CPU, memory, open files, threads), each with its HELP text.

use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::AppState;

const LATENCY_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process-wide recorder; installed once, however many routers a process builds.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".to_owned()),
                LATENCY_BUCKETS,
            )
            .map(PrometheusBuilder::build_recorder);
        match recorder {
            Ok(recorder) => {
                let handle = recorder.handle();
                if metrics::set_global_recorder(recorder).is_err() {
                    tracing::warn!("a metrics recorder was already installed");
                }
                describe();
                handle
            }
            Err(error) => {
                tracing::error!(%error, "metrics recorder could not be built");
                PrometheusBuilder::new().build_recorder().handle()
            }
        }
    })
}

/// The HELP text of every metric the server records.
fn describe() {
    use metrics::Unit;
    metrics::describe_counter!(
        "http_requests_total",
        Unit::Count,
        "HTTP requests answered, by method, route template and status"
    );
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "Time from receiving a request to answering it, by method, route template and status"
    );
    metrics::describe_gauge!(
        "db_pool_connections",
        Unit::Count,
        "Open connections of the PostgreSQL pool"
    );
    metrics::describe_gauge!(
        "db_pool_idle_connections",
        Unit::Count,
        "Idle connections of the PostgreSQL pool"
    );
    metrics::describe_gauge!(
        "db_pool_max_connections",
        Unit::Count,
        "Most connections the PostgreSQL pool opens"
    );
    process_collector().describe();
}

fn process_collector() -> &'static metrics_process::Collector {
    static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();
    COLLECTOR.get_or_init(metrics_process::Collector::default)
}

pub(crate) fn routes() -> Router<AppState> {
    // Installed when the router is built, so the first request is already counted.
    handle();
    Router::new().route("/metrics", get(render))
}

async fn render(State(state): State<AppState>) -> Response {
    let (size, idle) = state.store().pool_usage();
    metrics::gauge!("db_pool_connections").set(f64::from(size));
    metrics::gauge!("db_pool_idle_connections").set(idle as f64);
    metrics::gauge!("db_pool_max_connections")
        .set(f64::from(state.store().pool().options().get_max_connections()));
    let handle = handle();
    process_collector().collect();
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response()
}

/// Counts each request and records its latency, labelled by route template and status.
pub(crate) async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}
