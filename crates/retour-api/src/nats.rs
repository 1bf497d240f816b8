//! The NATS bridge (`RETOUR_NATS_URL`): publishes every event of the outbox to JetStream as
//! `retour.events.<type>`, in the feed's order, with `Nats-Msg-Id` set to the event's id so
//! that JetStream drops a message it already holds. One server process publishes at a time
//! (it holds the relay's row); the position moves on only after JetStream acknowledged every
//! message, so a process that dies in between leaves them to be published again, and the
//! stream keeps one copy.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use retour_store::Store;
use retour_store::events::{self, RelayedEvent};

use crate::routes::events::Event;

/// Where and how the bridge publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConfig {
    /// The NATS server, e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// The JetStream stream that keeps the events; made when missing.
    pub stream: String,
    /// Subjects are `<prefix>.<type>`.
    pub subject_prefix: String,
}

impl NatsConfig {
    pub fn new(url: impl Into<String>) -> Self {
        NatsConfig {
            url: url.into(),
            stream: "RETOUR_EVENTS".to_owned(),
            subject_prefix: "retour.events".to_owned(),
        }
    }
}

/// Events published per round.
const BATCH: i64 = 500;
/// How long JetStream keeps a message id to drop its duplicates; a process taking over
/// publishes again what its predecessor left unconfirmed well within it.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);

/// Publishes the outbox to JetStream.
#[derive(Clone)]
pub struct Bridge {
    store: Store,
    jetstream: jetstream::Context,
    config: NatsConfig,
}

impl Bridge {
    /// Connects to the server and makes sure the stream exists.
    pub async fn connect(store: Store, config: NatsConfig) -> Result<Self, String> {
        let client = async_nats::connect(config.url.as_str())
            .await
            .map_err(|e| format!("NATS at {}: {e}", config.url))?;
        let jetstream = jetstream::new(client);
        jetstream
            .get_or_create_stream(stream::Config {
                name: config.stream.clone(),
                subjects: vec![format!("{}.>", config.subject_prefix)],
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(|e| format!("the JetStream stream {}: {e}", config.stream))?;
        Ok(Bridge { store, jetstream, config })
    }

    /// Rounds until `stop` resolves.
    pub async fn run(self, idle: Duration, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let pause = match self.round().await {
                Ok(0) => idle,
                Ok(_) => Duration::ZERO,
                Err(error) => {
                    tracing::warn!(%error, "publishing events to NATS failed");
                    idle * 10
                }
            };
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Publishes the events after the relay's position (when no other process holds it);
    /// how many.
    pub async fn round(&self) -> Result<usize, String> {
        let mut tx = self.store.pool().begin().await.map_err(|e| e.to_string())?;
        let Some(after) =
            events::hold_relay(&mut tx, &self.config.stream).await.map_err(|e| e.to_string())?
        else {
            return Ok(0);
        };
        let due = events::read_all(&mut tx, after, BATCH).await.map_err(|e| e.to_string())?;
        let Some(last) = due.last().map(|e| e.event.position) else { return Ok(0) };
        let mut acks = Vec::with_capacity(due.len());
        for relayed in &due {
            acks.push(self.publish(relayed).await?);
        }
        for ack in acks {
            ack.await.map_err(|e| format!("JetStream did not acknowledge: {e}"))?;
        }
        events::advance_relay(&mut tx, &self.config.stream, last)
            .await
            .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        Ok(due.len())
    }

    async fn publish(
        &self,
        relayed: &RelayedEvent,
    ) -> Result<jetstream::context::PublishAckFuture, String> {
        let event = Event::from_stored(relayed.event.clone())
            .map_err(|_| "an event of the outbox cannot be read".to_owned())?;
        let body = serde_json::to_vec(&event).map_err(|e| e.to_string())?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, event.id.to_string().as_str());
        headers.insert("Retour-Field-Group", relayed.group.as_str());
        let subject = format!("{}.{}", self.config.subject_prefix, event.event_type.as_str());
        self.jetstream
            .publish_with_headers(subject, headers, body.into())
            .await
            .map_err(|e| format!("publishing to NATS: {e}"))
    }
}
