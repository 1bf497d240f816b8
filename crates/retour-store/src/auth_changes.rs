//! Changes that can end an access token's validity, as PostgreSQL announces them: triggers on
//! the accounts, institutions, sessions, client-secret generations and revoked tokens notify
//! the channel `retour_auth` when such a change commits (migrations `auth_change_notify` and
//! `sessions`), whichever process made it.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;

/// The channel the triggers notify.
pub const CHANNEL: &str = "retour_auth";

/// What the watcher tells its observer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthSignal {
    /// Listening (again): every change from now on will be announced. Changes made while
    /// not listening were not, so whatever was learnt before must be forgotten.
    Listening,
    /// A change committed.
    Changed,
    /// The connection is gone: changes may pass unannounced until `Listening` again.
    Lost,
}

/// The longest wait between two attempts to listen again.
const MAX_RETRY: Duration = Duration::from_secs(2);

/// Listens on [`CHANNEL`] over a connection of `pool` and reports to `observe` until the pool
/// is closed. A lost connection is reported at once and taken up again as soon as the
/// database answers (retrying after 50 ms, doubling up to 2 s).
pub async fn watch(pool: PgPool, mut observe: impl FnMut(AuthSignal) + Send) {
    let mut retry = Duration::from_millis(50);
    while !pool.is_closed() {
        let listener = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            // Reconnecting is done here, explicitly, so that every gap is reported.
            listener.eager_reconnect(false);
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listener.await {
            Ok(mut listener) => {
                retry = Duration::from_millis(50);
                observe(AuthSignal::Listening);
                loop {
                    match listener.try_recv().await {
                        Ok(Some(_)) => observe(AuthSignal::Changed),
                        Ok(None) => {
                            observe(AuthSignal::Lost);
                            tracing::warn!("lost the connection listening for account changes");
                            break;
                        }
                        Err(sqlx::Error::PoolClosed) => {
                            observe(AuthSignal::Lost);
                            return;
                        }
                        Err(error) => {
                            observe(AuthSignal::Lost);
                            tracing::warn!(%error, "listening for account changes failed");
                            break;
                        }
                    }
                }
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                tracing::debug!(%error, "cannot listen for account changes yet");
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(MAX_RETRY);
            }
        }
    }
}
