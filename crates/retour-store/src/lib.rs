//! Retour's PostgreSQL store: the connection pool, the embedded migrations and one module
//! per aggregate. It is the only crate that writes SQL.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

pub mod archive;
pub mod audit;
pub mod auth_changes;
pub mod break_glass;
pub mod cases;
pub mod deadlines;
pub mod demo;
pub mod documents;
mod error;
pub mod events;
pub mod holding;
pub mod institutions;
pub mod lifecycle;
pub mod mfa;
pub mod refresh_tokens;
pub mod service_accounts;
pub mod sessions;
pub mod signing_keys;
pub mod stats;
pub mod synthetic;
pub mod tariffs;
pub mod users;
pub mod webhooks;
pub mod workflow;

pub use error::StoreError;

/// The migrations of `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self { max_connections: 16, min_connections: 0, acquire_timeout: Duration::from_secs(5) }
    }
}

/// A handle on the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
    /// Access events that stand alone, written in groups.
    access_log: audit::AccessLog,
}

impl Store {
    /// Wraps an existing pool (tests get theirs from `#[sqlx::test]`).
    pub fn from_pool(pool: PgPool) -> Self {
        Self { access_log: audit::AccessLog::new(pool.clone()), pool }
    }

    /// Connects to `url`, first creating the database if it does not exist yet.
    pub async fn connect(url: &str, config: &PoolConfig) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        create_database_if_missing(&options).await?;
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .min_connections(config.min_connections)
            .acquire_timeout(config.acquire_timeout)
            .connect_lazy_with(options);
        Ok(Self::from_pool(pool))
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Records an access event that stands alone (a read, a refusal, a sign-in), grouped with
    /// the events of other requests; returns once it is committed.
    pub async fn log(&self, event: &audit::AuditEvent) -> Result<(), StoreError> {
        self.access_log.record(event).await
    }

    /// Applies every pending migration. With none pending it changes nothing, so a role that
    /// may not create tables (the application role of a production installation, see README)
    /// starts once the owner has migrated.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        if self.readiness().await == Readiness::Ready {
            return Ok(());
        }
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Whether the database answers and every embedded migration has been applied.
    pub async fn readiness(&self) -> Readiness {
        let applied = sqlx::query_scalar!(
            "select version from _sqlx_migrations where success order by version"
        )
        .fetch_all(&self.pool)
        .await;
        match applied {
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => {
                Readiness::MigrationsPending
            }
            Err(_) => Readiness::DatabaseUnavailable,
            Ok(applied) => {
                let all_applied = MIGRATOR
                    .iter()
                    .filter(|m| m.migration_type.is_up_migration())
                    .all(|m| applied.contains(&m.version));
                if all_applied { Readiness::Ready } else { Readiness::MigrationsPending }
            }
        }
    }

    /// Connections open and idle, for the metrics endpoint.
    pub fn pool_usage(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }
}

/// What `/health/ready` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    DatabaseUnavailable,
    MigrationsPending,
}

async fn create_database_if_missing(options: &PgConnectOptions) -> Result<(), StoreError> {
    let Some(name) = options.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let maintenance = options.clone().database("postgres");
    // The server may be unreachable right now; the pool connects lazily and readiness says so.
    let Ok(mut conn) = maintenance.connect().await else {
        tracing::warn!(database = %name, "could not reach PostgreSQL to check that the database exists");
        return Ok(());
    };
    let exists = sqlx::query_scalar!("select 1 from pg_database where datname = $1", name)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_none() {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        // Not a macro: the database's name is an identifier, which no parameter can stand for.
        let sql = format!("create database {quoted}");
        match sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await {
            Ok(_) => tracing::info!(database = %name, "created database"),
            // Another process created it at the same moment.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e.into()),
        }
    }
    conn.close().await?;
    Ok(())
}
