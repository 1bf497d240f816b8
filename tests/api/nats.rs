//! The NATS bridge against the NATS server with JetStream on 127.0.0.1:4222 (`.ci/run`
//! starts it when it is not running): every event is published once, in order, as
//! `<prefix>.<type>` with `Nats-Msg-Id` set to the event's id; what a process published but
//! did not confirm is published again and dropped by JetStream as a duplicate.

use std::time::Duration;

use async_nats::jetstream;
use retour_api::nats::{Bridge, NatsConfig};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::*;

const NATS_URL: &str = "nats://127.0.0.1:4222";

/// A stream and subjects of this test's own, so tests running at once do not meet.
fn config() -> NatsConfig {
    let tag = Uuid::now_v7().simple().to_string();
    NatsConfig {
        url: NATS_URL.to_owned(),
        stream: format!("RETOUR_TEST_{tag}"),
        subject_prefix: format!("retour_test_{tag}.events"),
    }
}

/// The bridge, or `None` (after a notice) where no NATS server runs and `CI` is not set.
async fn bridge(app: &TestApp, config: &NatsConfig) -> Option<Bridge> {
    match Bridge::connect(app.store.clone(), config.clone()).await {
        Ok(bridge) => Some(bridge),
        Err(error) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but NATS is not reachable: {error}"
            );
            println!("SKIPPED NATS test: {error}");
            None
        }
    }
}

async fn stream(config: &NatsConfig) -> (jetstream::Context, jetstream::stream::Stream) {
    let client = async_nats::connect(NATS_URL).await.expect("nats");
    let context = jetstream::new(client);
    let stream = context.get_stream(&config.stream).await.expect("stream");
    (context, stream)
}

async fn messages(stream: &mut jetstream::stream::Stream) -> u64 {
    stream.info().await.expect("info").state.messages
}

/// The outbox's event ids in the feed's order.
async fn outbox(pool: &PgPool) -> Vec<Uuid> {
    sqlx::query_scalar("select id from event_outbox order by tx_id, seq")
        .fetch_all(pool)
        .await
        .expect("outbox")
}

/// Rounds of `bridges` until the stream holds `count` messages.
async fn publish(bridges: &[&Bridge], stream: &mut jetstream::stream::Stream, count: u64) {
    for _ in 0..400 {
        for bridge in bridges {
            bridge.round().await.expect("round");
        }
        if messages(stream).await >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn every_event_is_published_once_in_order_and_a_republish_is_dropped(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let config = config();
    let Some(one) = bridge(&app, &config).await else { return };
    let two = bridge(&app, &config).await.expect("a second bridge");
    let team = Team::new(&app).await;
    let case = approved_case(&app, &team, "12345678", &approval()).await;
    ready_case(&app, &team, "22345678").await;
    let (context, mut stream) = stream(&config).await;

    // Two server processes publish at once: each event once.
    let ids = outbox(&pool).await;
    publish(&[&one, &two], &mut stream, ids.len() as u64).await;
    assert_eq!(messages(&mut stream).await, ids.len() as u64);
    for (i, id) in ids.iter().enumerate() {
        let message = stream.get_raw_message(i as u64 + 1).await.expect("message");
        assert_eq!(
            message.headers.get(async_nats::header::NATS_MESSAGE_ID).map(|v| v.as_str()),
            Some(id.to_string().as_str())
        );
        let body: Value = serde_json::from_slice(&message.payload).expect("json");
        assert_eq!(body["id"], id.to_string());
        let subject = format!("{}.{}", config.subject_prefix, body["type"].as_str().expect("type"));
        assert_eq!(message.subject.as_str(), subject);
        assert!(message.headers.get("Retour-Field-Group").is_some());
    }
    let first: Value =
        serde_json::from_slice(&stream.get_raw_message(1).await.expect("first").payload)
            .expect("json");
    assert_eq!((first["type"].as_str(), &first["case_id"]), (Some("case.opened"), &case["id"]));

    // A process that published but died before moving the position on: the next one
    // publishes the same events again, and JetStream keeps one copy of each.
    sqlx::query("update event_relays set position_tx = '0', position_seq = 0")
        .execute(&pool)
        .await
        .expect("back");
    assert_eq!(one.round().await.expect("round"), ids.len());
    assert_eq!(messages(&mut stream).await, ids.len() as u64);

    // New events follow.
    act(&app, &team.repat, &case, &booking(false)).await;
    publish(&[&two], &mut stream, ids.len() as u64 + 1).await;
    let last = stream.get_raw_message(ids.len() as u64 + 1).await.expect("booking");
    assert_eq!(last.subject.as_str(), format!("{}.travel.booked", config.subject_prefix));
    context.delete_stream(&config.stream).await.expect("delete the stream");
}
