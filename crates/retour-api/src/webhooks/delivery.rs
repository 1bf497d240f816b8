//! The dispatcher: fans the outbox's new events out into deliveries of each subscription,
//! and delivers what is due, at least once and in order per case, under leases that let
//! several server processes share the work and take over from one that dies.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::Rng;
use retour_domain::event::EventType;
use retour_domain::policy;
use retour_store::Store;
use retour_store::StoreError;
use retour_store::documents::crypto::MasterKeys;
use retour_store::events::{self, Filter, Position};
use retour_store::webhooks::{self, Attempt, Claimed, Outcome};

use super::destination::{Allowed, CheckedResolver};
use super::signature;
use crate::routes::events::Event;

/// How the dispatcher works.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub allowed: Allowed,
    /// How long a process holds a delivery it took; another takes it over afterwards.
    pub lease: Duration,
    /// The longest a receiver may take to answer.
    pub timeout: Duration,
    /// Pause between rounds when there was nothing to do.
    pub idle: Duration,
    /// Deliveries taken per round.
    pub batch: i64,
    /// A delivery that fails is tried again until this long after its first attempt, then
    /// given up and its subscription marked failing.
    pub give_up_after: chrono::Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            allowed: Allowed::default(),
            lease: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            idle: Duration::from_millis(200),
            batch: 64,
            give_up_after: chrono::Duration::days(3),
        }
    }
}

/// The wait before attempt `attempt + 1` after `attempt` failed ones: 5 s doubled each time,
/// at most 6 hours, each with up to a fifth more or less at random so that receivers coming
/// back are not hit by every retry at once.
pub fn retry_delay(attempt: i32) -> Duration {
    let base = 5.0 * 2f64.powi(attempt.clamp(1, 30) - 1);
    let capped = base.min(6.0 * 3600.0);
    let jitter = rand::rng().random_range(0.8..1.2);
    Duration::from_secs_f64(capped * jitter)
}

/// Fans out and delivers webhooks.
#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    keys: Option<MasterKeys>,
    config: WebhookConfig,
    client: reqwest::Client,
}

/// What a round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub fanned_out: usize,
    pub attempted: usize,
}

impl Dispatcher {
    pub fn new(
        store: Store,
        keys: Option<MasterKeys>,
        config: WebhookConfig,
    ) -> Result<Self, String> {
        retour_store::documents::objects::install_crypto_provider();
        let resolver = CheckedResolver { allowed: Arc::new(config.allowed.clone()) };
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(resolver))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .user_agent("Retour-Webhooks/1")
            .build()
            .map_err(|e| format!("the webhook client: {e}"))?;
        Ok(Self { store, keys, config, client })
    }

    /// Rounds until `stop` resolves.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let round = self.round().await;
            let pause = match &round {
                Ok(done) if done.fanned_out + done.attempted > 0 => Duration::ZERO,
                Ok(_) => self.config.idle,
                Err(error) => {
                    tracing::warn!(%error, "webhook round failed");
                    self.config.idle * 5
                }
            };
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// One round: fan out every subscription's new events, then deliver what is due.
    pub async fn round(&self) -> Result<Round, StoreError> {
        let fanned_out = self.fan_out().await?;
        let claimed =
            webhooks::claim(self.store.pool(), self.config.batch, self.config.lease.as_secs_f64())
                .await?;
        let attempted = claimed.len();
        let sends = claimed.into_iter().map(|c| self.deliver(c));
        for result in futures_util::future::join_all(sends).await {
            result?;
        }
        Ok(Round { fanned_out, attempted })
    }

    /// Adds deliveries of the events each subscription's service account may read, after
    /// its position; a subscription another process holds is left to it.
    pub async fn fan_out(&self) -> Result<usize, StoreError> {
        let mut added = 0;
        for id in webhooks::active_ids(self.store.pool()).await? {
            let mut tx = self.store.pool().begin().await?;
            let Some(held) = webhooks::hold(&mut tx, id).await? else { continue };
            let reader = match self.store.service_account_actor(held.service_account_id).await? {
                Some(actor) => policy::event_reader(&actor),
                None => None,
            };
            // An account that lost its scope, or was disabled, receives nothing; its
            // position stays, so events are delivered once it may read them again.
            let Some((scope, view)) = reader else { continue };
            let types: Vec<EventType> =
                held.event_types.iter().filter_map(|t| EventType::parse(t)).collect();
            let filter = Filter { scope, view: &view, types: &types };
            let after = Position { tx: held.tx, seq: held.seq };
            let page = events::read(&mut tx, &filter, Some(after), 500).await?;
            if let Some(next) = page.next {
                added += page.events.len();
                webhooks::fan_out(&mut tx, id, &page.events, next).await?;
                tx.commit().await?;
            }
        }
        Ok(added)
    }

    /// Sends one delivery and records how it went.
    async fn deliver(&self, claimed: Claimed) -> Result<(), StoreError> {
        let started = Instant::now();
        let result = self.send(&claimed).await;
        let duration_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        let (attempt, outcome) = match result {
            Ok(status) if status.is_success() => (
                Attempt { status_code: Some(i32::from(status.as_u16())), error: None, duration_ms },
                Outcome::Delivered,
            ),
            Ok(status) if status == reqwest::StatusCode::GONE => (
                Attempt {
                    status_code: Some(410),
                    error: Some("the receiver answered 410 Gone".to_owned()),
                    duration_ms,
                },
                Outcome::Gone,
            ),
            Ok(status) => (
                Attempt {
                    status_code: Some(i32::from(status.as_u16())),
                    error: Some(format!("the receiver answered {status}")),
                    duration_ms,
                },
                self.retry(&claimed),
            ),
            Err(error) => (
                Attempt { status_code: None, error: Some(error), duration_ms },
                self.retry(&claimed),
            ),
        };
        webhooks::settle(self.store.pool(), &claimed, &attempt, &outcome).await
    }

    fn retry(&self, claimed: &Claimed) -> Outcome {
        let next = Utc::now()
            + chrono::Duration::from_std(retry_delay(claimed.attempts)).unwrap_or_default();
        if next - claimed.created_at > self.config.give_up_after {
            Outcome::GivenUp
        } else {
            Outcome::Retry(next)
        }
    }

    /// Posts the event, signed; the receiver's status, or why there was none.
    async fn send(&self, claimed: &Claimed) -> Result<reqwest::StatusCode, String> {
        let secrets = self.secrets(claimed)?;
        let url = super::destination::check_url(&claimed.url, &self.config.allowed)?;
        let stored = events::StoredEvent {
            id: claimed.event_id,
            event_type: claimed.event_type.clone(),
            case_id: claimed.case_id,
            case_version: claimed.case_version,
            occurred_at: claimed.occurred_at,
            data: claimed.data.clone(),
            position: Position::default(),
        };
        let event =
            Event::from_stored(stored).map_err(|_| "the event cannot be read".to_owned())?;
        let body = serde_json::to_vec(&event).map_err(|e| e.to_string())?;
        let id = claimed.event_id.to_string();
        let timestamp = Utc::now().timestamp();
        let refs: Vec<&[u8]> = secrets.iter().map(|s| s.as_slice()).collect();
        let signature = signature::header(&refs, &id, timestamp, &body);
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        Ok(response.status())
    }

    /// The secrets a delivery is signed with: the current one, and during a rotation the
    /// previous one.
    fn secrets(&self, claimed: &Claimed) -> Result<Vec<Vec<u8>>, String> {
        let keys = self.keys.as_ref().ok_or("no master key is configured to read the secret")?;
        let open = |key_id: &str, wrapped: &[u8]| {
            keys.unwrap(claimed.subscription_id, key_id, wrapped)
                .map(|k| k.as_bytes().to_vec())
                .map_err(|e| format!("the subscription's secret cannot be read: {e}"))
        };
        let mut secrets = vec![open(&claimed.key_id, &claimed.wrapped_secret)?];
        if let (Some(key_id), Some(wrapped), Some(until)) =
            (&claimed.previous_key_id, &claimed.previous_wrapped_secret, claimed.previous_until)
            && until > Utc::now()
        {
            secrets.push(open(key_id, wrapped)?);
        }
        Ok(secrets)
    }
}

/// Why a request got no answer, without the URL (which the attempt's record need not
/// repeat).
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "no answer in time".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_with_jitter_up_to_six_hours() {
        for attempt in 1..40 {
            let delay = retry_delay(attempt).as_secs_f64();
            let base = (5.0 * 2f64.powi(attempt.min(30) - 1)).min(21_600.0);
            assert!(delay >= base * 0.8 && delay <= base * 1.2, "{attempt}: {delay}");
        }
        // Three days of failures take about 24 attempts: 13 doubling waits (11 hours), then
        // one every six hours.
        let mut elapsed = 0.0;
        let mut attempts = 0;
        while elapsed < 3.0 * 86_400.0 {
            attempts += 1;
            elapsed += (5.0 * 2f64.powi(attempts - 1)).min(21_600.0);
        }
        assert!((22..=26).contains(&attempts), "{attempts}");
    }
}
