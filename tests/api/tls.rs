//! The server reaches PostgreSQL over TLS when the database URL asks for it: `sslmode=require`
//! encrypts, `sslmode=verify-full` also checks the server's certificate against the given root
//! and its name against the host, and refuses a name the certificate does not carry. Held
//! against the local server's own TLS (the Debian package's certificate, for `localhost`).

use retour_store::{PoolConfig, Store};
use sqlx::PgPool;

/// The database of `pool` at 127.0.0.1 or `host`, with the connection parameters `params`.
async fn url(pool: &PgPool, host: &str, params: &str) -> String {
    let (database,): (String,) =
        sqlx::query_as("select current_database()").fetch_one(pool).await.expect("database");
    format!("postgres://postgres@{host}:5432/{database}?{params}")
}

/// Whether the session that answers on `store` is encrypted, by the server's own account.
async fn encrypted(store: &Store) -> Result<bool, sqlx::Error> {
    let (ssl,): (bool,) =
        sqlx::query_as("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
            .fetch_one(store.pool())
            .await?;
    Ok(ssl)
}

async fn connect(url: &str) -> Store {
    Store::connect(url, &PoolConfig::default()).await.expect("connect")
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn sslmode_require_encrypts_and_verify_full_checks_the_certificate(pool: PgPool) {
    let (certificate,): (String,) = sqlx::query_as("select current_setting('ssl_cert_file')")
        .fetch_one(&pool)
        .await
        .expect("setting");

    let plain = connect(&url(&pool, "127.0.0.1", "sslmode=disable").await).await;
    assert!(!encrypted(&plain).await.expect("plain session"));
    plain.pool().close().await;

    let required = connect(&url(&pool, "127.0.0.1", "sslmode=require").await).await;
    assert!(
        encrypted(&required).await.expect("sslmode=require: is ssl on in postgresql.conf?"),
        "sslmode=require gave an unencrypted session"
    );
    required.pool().close().await;

    let verified = connect(
        &url(&pool, "localhost", &format!("sslmode=verify-full&sslrootcert={certificate}")).await,
    )
    .await;
    assert!(encrypted(&verified).await.expect("verify-full against the server's own certificate"));
    verified.pool().close().await;

    // The certificate names localhost, not 127.0.0.1: verification refuses the session.
    let wrong_name = connect(
        &url(&pool, "127.0.0.1", &format!("sslmode=verify-full&sslrootcert={certificate}")).await,
    )
    .await;
    assert!(encrypted(&wrong_name).await.is_err(), "a certificate for another name was accepted");
    wrong_name.pool().close().await;
}
