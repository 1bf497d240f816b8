//! Verified access tokens of active callers, kept for a short while so that a request with a
//! token seen moments ago neither verifies its signature again nor looks its account up.
//!
//! Keeping them must not delay the end of a token: an account disabled, a role or institution
//! changed, a session ended, a token signed out, a client secret rotated all take effect at
//! the next request, as without the cache.
//! Three things hold that:
//!
//! - The database announces every such change when it commits (`retour_auth`, see
//!   `retour_store::auth_changes`), whichever process made it, and the cache forgets
//!   everything. Changes made through this server also clear it at once, after their commit,
//!   so the next request of the same client never races the announcement.
//! - The cache is only used while that announcement can arrive: until the server listens,
//!   and from the moment the connection is lost until it listens again, every request is
//!   checked against the database.
//! - Each entry carries the generation of the cache when its lookup began; clearing starts a
//!   new generation, so a lookup that read the account before a change and finished after it
//!   is never served.
//!
//! Entries also end with the token's own expiry, and after [`TIME_TO_LIVE`] at most.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use retour_domain::Actor;
use retour_store::auth_changes::AuthSignal;
use uuid::Uuid;

/// The longest an entry is kept.
pub const TIME_TO_LIVE: Duration = Duration::from_secs(30);

/// The most tokens kept (a few hundred bytes each).
const CAPACITY: u64 = 20_000;

/// A token verified and found standing: who acts with it, and what the token is.
#[derive(Debug, Clone)]
pub struct Verified {
    pub actor: Actor,
    /// The token's `jti`.
    pub token_id: Uuid,
    /// A user's session (`sid`).
    pub session_id: Option<Uuid>,
    /// The token's `exp` (Unix seconds).
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
struct Entry {
    verified: Verified,
    generation: u64,
}

/// The generation of the cache when a lookup began; see [`TokenCache::insert`].
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

/// Verified tokens of active callers. Cheap to clone.
#[derive(Clone)]
pub struct TokenCache {
    inner: Arc<Inner>,
}

struct Inner {
    entries: moka::sync::Cache<String, Entry>,
    generation: AtomicU64,
    /// Whether changes are being announced (see the module documentation).
    live: AtomicBool,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                entries: moka::sync::Cache::builder()
                    .max_capacity(CAPACITY)
                    .time_to_live(TIME_TO_LIVE)
                    .build(),
                generation: AtomicU64::new(0),
                live: AtomicBool::new(false),
            }),
        }
    }
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.inner.entries.entry_count())
            .field("live", &self.is_live())
            .finish()
    }
}

impl TokenCache {
    /// `token`, verified and found standing in this generation; `None` when it must be
    /// checked.
    pub fn get(&self, token: &str, now: i64) -> Option<Verified> {
        if !self.is_live() {
            return None;
        }
        let entry = self.inner.entries.get(token)?;
        (entry.generation == self.generation() && now < entry.verified.expires_at)
            .then_some(entry.verified)
    }

    /// Taken before looking a token's account up; its result is kept only if nothing changed
    /// meanwhile.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.generation())
    }

    /// Keeps a token verified and found standing under `ticket`.
    pub fn insert(&self, ticket: Ticket, token: &str, verified: Verified) {
        if !self.is_live() || ticket.0 != self.generation() {
            return;
        }
        let entry = Entry { verified, generation: ticket.0 };
        self.inner.entries.insert(token.to_owned(), entry);
    }

    /// Forgets every token: an account, an institution, a session or a token changed.
    pub fn clear(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        self.inner.entries.invalidate_all();
    }

    /// Follows the announcements of `retour_store::auth_changes::watch`.
    pub fn observe(&self, signal: AuthSignal) {
        match signal {
            AuthSignal::Listening => {
                self.clear();
                self.inner.live.store(true, Ordering::SeqCst);
            }
            AuthSignal::Changed => self.clear(),
            AuthSignal::Lost => {
                self.inner.live.store(false, Ordering::SeqCst);
                self.clear();
            }
        }
    }

    pub fn is_live(&self) -> bool {
        self.inner.live.load(Ordering::SeqCst)
    }

    fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use retour_domain::{ActorKind, InstitutionKind, Role};

    use super::*;

    fn verified(token_id: Uuid, expires_at: i64) -> Verified {
        let actor = Actor {
            id: Uuid::now_v7(),
            kind: ActorKind::User { role: Role::SemOfficer },
            institution_id: Uuid::now_v7(),
            institution_kind: InstitutionKind::Sem,
            canton: None,
            mission_country: None,
        };
        Verified { actor, token_id, session_id: Some(Uuid::now_v7()), expires_at }
    }

    #[test]
    fn nothing_is_served_until_changes_are_announced_nor_after_the_announcements_stop() {
        let cache = TokenCache::default();
        let jti = Uuid::now_v7();
        cache.insert(cache.ticket(), "t", verified(jti, 100));
        assert!(cache.get("t", 0).is_none(), "not listening yet: not kept");

        cache.observe(AuthSignal::Listening);
        cache.insert(cache.ticket(), "t", verified(jti, 100));
        assert_eq!(cache.get("t", 0).map(|v| v.token_id), Some(jti));

        cache.observe(AuthSignal::Lost);
        assert!(cache.get("t", 0).is_none(), "connection lost: every token is checked");
        cache.observe(AuthSignal::Listening);
        assert!(cache.get("t", 0).is_none(), "listening again starts afresh");
    }

    #[test]
    fn a_change_forgets_every_token_and_a_lookup_that_straddles_it_is_not_kept() {
        let cache = TokenCache::default();
        cache.observe(AuthSignal::Listening);
        let jti = Uuid::now_v7();
        cache.insert(cache.ticket(), "t", verified(jti, 100));
        cache.observe(AuthSignal::Changed);
        assert!(cache.get("t", 0).is_none());

        let ticket = cache.ticket();
        cache.clear();
        cache.insert(ticket, "t", verified(jti, 100));
        assert!(cache.get("t", 0).is_none(), "looked up before the change, finished after");
    }

    #[test]
    fn a_token_is_not_served_from_its_expiry_on() {
        let cache = TokenCache::default();
        cache.observe(AuthSignal::Listening);
        cache.insert(cache.ticket(), "t", verified(Uuid::now_v7(), 100));
        assert!(cache.get("t", 99).is_some());
        assert!(cache.get("t", 100).is_none());
        assert!(cache.get("u", 0).is_none(), "another token");
    }
}
