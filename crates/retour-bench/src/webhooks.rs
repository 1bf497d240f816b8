//! Webhook delivery: events written into the outbox at a steady rate (as changes of approved
//! cases), delivered by the server's dispatcher to a receiver in this process. Throughput is
//! what arrived within the measured window; the latencies are the lag from the event's
//! occurrence to its arrival. The server must allow loopback receivers
//! (`RETOUR_WEBHOOK_ALLOW_LOOPBACK=true`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::runner::{Load, Measurement};
use crate::scenarios::Api;

/// What the receiver saw: lags in microseconds, counted from `from` on.
struct Seen {
    from: Option<Instant>,
    lags: Histogram<u64>,
    before: u64,
}

type Shared = Arc<Mutex<Seen>>;

async fn receive(State(seen): State<Shared>, body: axum::body::Bytes) -> StatusCode {
    let arrived = Utc::now();
    let Ok(event) = serde_json::from_slice::<Value>(&body) else { return StatusCode::BAD_REQUEST };
    let occurred = event["occurred_at"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.to_utc());
    let Some(occurred) = occurred else { return StatusCode::BAD_REQUEST };
    let lag = u64::try_from((arrived - occurred).num_microseconds().unwrap_or(0)).unwrap_or(0);
    if let Ok(mut seen) = seen.lock() {
        match seen.from {
            Some(from) if Instant::now() >= from => {
                seen.lags.saturating_record(lag.max(1));
            }
            _ => seen.before += 1,
        }
    }
    StatusCode::NO_CONTENT
}

/// Writes `rate` events a second for the warm-up and the measured window, and measures their
/// delivery to a subscription of IOM Bern's service account.
pub async fn delivery(
    api: &Api,
    pool: &PgPool,
    load: Load,
    rate: u32,
) -> anyhow::Result<Measurement> {
    let seen: Shared = Arc::new(Mutex::new(Seen {
        from: None,
        lags: Histogram::new_with_bounds(1, 600_000_000, 3).context("histogram")?,
        before: 0,
    }));
    let app =
        axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let token = subscriber(api, pool).await?;
    let created = api
        .send_json(
            reqwest::Method::POST,
            "/v1/webhook-subscriptions",
            &token,
            &json!({ "url": url }),
        )
        .await
        .context("subscribing (does the server run with RETOUR_WEBHOOK_ALLOW_LOOPBACK=true?)")?;
    let subscription = created["id"].as_str().context("subscription id")?.to_owned();

    let cases: Vec<Uuid> = sqlx::query_scalar(
        "select id from cases where approved_at is not null order by id limit 5000",
    )
    .fetch_all(pool)
    .await?;
    anyhow::ensure!(!cases.is_empty(), "no approved case to write events of");
    let tick = Duration::from_millis(50);
    let per_tick = (rate as usize).div_ceil(20).max(1);
    let started = Instant::now();
    let measure_from = started + load.warmup;
    let end = measure_from + load.duration;
    if let Ok(mut seen) = seen.lock() {
        seen.from = Some(measure_from);
    }
    let mut written = 0usize;
    let mut next = 0usize;
    while Instant::now() < end {
        let batch: Vec<Uuid> = (0..per_tick).map(|i| cases[(next + i) % cases.len()]).collect();
        next += per_tick;
        let ids: Vec<Uuid> = batch.iter().map(|_| Uuid::now_v7()).collect();
        sqlx::query(
            "insert into event_outbox (id, type, case_id, case_version, field_group, data, occurred_at) \
             select e.id, 'case.updated', c.id, c.version, 'identity', '{}', clock_timestamp() \
             from unnest($1::uuid[], $2::uuid[]) as e(id, case_id) join cases c on c.id = e.case_id",
        )
        .bind(&ids)
        .bind(&batch)
        .execute(pool)
        .await?;
        written += batch.len();
        tokio::time::sleep(tick).await;
    }
    let measured = seen.lock().map(|s| (s.lags.clone(), s.before)).ok();
    // What arrives after the window is not counted; the subscription goes.
    api.send_json(
        reqwest::Method::DELETE,
        &format!("/v1/webhook-subscriptions/{subscription}"),
        &token,
        &Value::Null,
    )
    .await
    .ok();
    server.abort();
    let (lags, before) = measured.context("the receiver's figures")?;
    let seconds = load.duration.as_secs_f64();
    let quantile = |q: f64| lags.value_at_quantile(q) as f64 / 1000.0;
    let delivered = lags.len() + before;
    eprintln!(
        "webhooks: {written} events written at {rate}/s, {delivered} delivered in the run \
         ({} within the measured window)",
        lags.len()
    );
    Ok(Measurement {
        requests: lags.len(),
        errors: 0,
        seconds,
        throughput: lags.len() as f64 / seconds,
        p50_ms: quantile(0.50),
        p95_ms: quantile(0.95),
        p99_ms: quantile(0.99),
        first_error: None,
    })
}

/// A token of a new service account of IOM Bern with `case-events:read`.
async fn subscriber(api: &Api, pool: &PgPool) -> anyhow::Result<String> {
    let admin = api.login("admin@demo.test").await?;
    let institution: Uuid =
        sqlx::query_scalar("select id from institutions where name = 'IOM Bern'")
            .fetch_one(pool)
            .await?;
    let account = api
        .send_json(
            reqwest::Method::POST,
            "/v1/service-accounts",
            &admin,
            &json!({ "institution_id": institution, "name": "Benchmark receiver",
                "scopes": ["case-events:read"] }),
        )
        .await?;
    let client_id = account["client_id"].as_str().context("client_id")?;
    let secret = account["client_secret"].as_str().context("client_secret")?;
    api.client_credentials(client_id, secret).await
}
