//! `retour serve`: the HTTP server until a signal stops it.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use retour_api::auth::Lockout;
use retour_api::nats::{Bridge, NatsConfig};
use retour_api::webhooks::destination::Allowed;
use retour_api::webhooks::{Dispatcher, WebhookConfig};
use retour_api::{ApiConfig, AppState, DocumentsConfig, LoginLimits};
use retour_store::PoolConfig;
use retour_store::documents::content::Storage;
use retour_store::documents::crypto::MasterKeys;
use retour_store::documents::objects::ObjectStorage;

use crate::cli::{DocumentStore, ServeArgs};
use crate::connect;

pub(crate) async fn serve(url: &str, pool: &PoolConfig, args: ServeArgs) -> anyhow::Result<()> {
    // A wrong document store stops the server before anything else.
    let objects = object_storage(&args).await?;
    let storage = match (args.document_store, &objects) {
        (DocumentStore::S3, Some(objects)) => Storage::ObjectStore(objects.clone()),
        _ => Storage::Database,
    };
    let store = connect(url, pool).await?;
    store.migrate().await.context("applying migrations")?;
    if args.demo {
        retour_api::demo::seed(&store)
            .await
            .map_err(|e| anyhow::anyhow!(e))
            .context("seeding the demo data")?;
        tracing::info!("demo institutions and users seeded (password: retour-demo)");
        let today = chrono::Utc::now().date_naive();
        if let Some(report) = retour_store::synthetic::load_demo_cases(&store, today)
            .await
            .context("loading the demo cases")?
        {
            tracing::info!(cases = report.cases, "demo cases loaded");
        }
    }
    let keys = retour_api::Keys::load(&store, args.jwt_key.as_deref())
        .await
        .context("loading the token signing key (RETOUR_JWT_KEY)")?;
    let cors_origins = args
        .cors_origins
        .iter()
        .flatten()
        .map(|o| o.parse())
        .collect::<Result<Vec<_>, _>>()
        .context("RETOUR_CORS_ORIGINS")?;
    let config = ApiConfig {
        cors_origins,
        body_limit: args.body_limit,
        request_timeout: Duration::from_secs(args.request_timeout),
        login: LoginLimits {
            lockout: Lockout {
                threshold: args.lockout_threshold,
                window: Duration::from_secs(args.lockout_window_secs),
                duration: Duration::from_secs(args.lockout_secs),
            },
            rate_per_minute: args.login_rate_per_minute,
        },
        trusted_proxies: args.trusted_proxies.into_iter().flatten().collect(),
        documents: DocumentsConfig {
            max_bytes: args.document_max_bytes,
            require_return_request: args.require_return_request,
            keys: document_keys(args.document_keys.document_keys, args.demo),
            storage,
            read_objects: objects,
        },
        webhooks: WebhookConfig {
            allowed: Allowed {
                loopback: args.webhook_allow_loopback,
                networks: args.webhook_allowed_networks.into_iter().flatten().collect(),
            },
            lease: Duration::from_secs(args.webhook_lease_secs),
            ..WebhookConfig::default()
        },
        break_glass: retour_api::BreakGlassConfig {
            roles: args.break_glass_roles.into_iter().flatten().collect(),
            ..Default::default()
        },
        ..ApiConfig::default()
    };
    let addr = args.addr;
    let (stop_sealer, sealer_stopped) = tokio::sync::oneshot::channel::<()>();
    let sealer = tokio::spawn(retour_store::audit::run_sealer(
        store.pool().clone(),
        Duration::from_millis(args.audit_seal_interval_ms),
        async move {
            let _ = sealer_stopped.await;
        },
    ));
    let (stop_deadlines, deadlines_stopped) = tokio::sync::oneshot::channel::<()>();
    let deadlines = tokio::spawn(crate::commands::deadlines::run_periodically(
        store.clone(),
        Duration::from_secs(args.deadlines_interval_secs),
        async move {
            let _ = deadlines_stopped.await;
        },
    ));
    let retention = match args.archive.archive_dir.clone() {
        Some(dir) => {
            let archive = retour_api::lifecycle::Archive {
                dir,
                keys: config.documents.keys.clone(),
                objects: config.documents.read_objects.clone(),
                submitter: args.archive.archive_submitter.clone(),
            };
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(crate::commands::lifecycle::run_periodically(
                store.clone(),
                archive,
                Duration::from_secs(args.retention_interval_secs),
                async move {
                    let _ = stopped.await;
                },
            ));
            Some((stop, task))
        }
        None => {
            tracing::info!(
                "RETOUR_ARCHIVE_DIR is not set: no retention run (ended cases are kept until \
                 `retour retention run` offers them to the archive)"
            );
            None
        }
    };
    let dispatcher =
        Dispatcher::new(store.clone(), config.documents.keys.clone(), config.webhooks.clone())
            .map_err(|e| anyhow::anyhow!(e))?;
    let (stop_webhooks, webhooks_stopped) = tokio::sync::oneshot::channel::<()>();
    let webhooks = tokio::spawn(dispatcher.run(async move {
        let _ = webhooks_stopped.await;
    }));
    let nats = match &args.nats_url {
        Some(url) => {
            let config = NatsConfig {
                url: url.clone(),
                stream: args.nats_stream.clone(),
                subject_prefix: args.nats_subject_prefix.clone(),
            };
            let bridge = Bridge::connect(store.clone(), config)
                .await
                .map_err(|e| anyhow::anyhow!(e))
                .context("connecting the NATS bridge (RETOUR_NATS_URL)")?;
            tracing::info!(%url, "publishing events to NATS");
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(bridge.run(Duration::from_millis(200), async move {
                let _ = stopped.await;
            }));
            Some((stop, task))
        }
        None => None,
    };
    let state = AppState::new(store, config, keys);
    let watcher = state.watch_auth_changes();
    let app = retour_api::router(state);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr} (RETOUR_ADDR)"))?;
    tracing::info!(%addr, "retour is listening; API docs at /docs");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;
    // The requests are done: seal what they recorded, then stop.
    watcher.abort();
    if let Some((stop, task)) = nats {
        let _ = stop.send(());
        task.await.context("stopping the NATS bridge")?;
    }
    let _ = stop_webhooks.send(());
    webhooks.await.context("stopping the webhook dispatcher")?;
    if let Some((stop, task)) = retention {
        let _ = stop.send(());
        task.await.context("stopping the retention run")?;
    }
    let _ = stop_deadlines.send(());
    deadlines.await.context("stopping the overdue job")?;
    let _ = stop_sealer.send(());
    sealer.await.context("stopping the access log sealer")?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM; in-flight requests then finish before the server exits.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "could not listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// The S3 bucket of the documents, when one is configured (for new documents with
/// RETOUR_DOCUMENT_STORE=s3, or to read those kept there): reached once with a small object
/// written, read and deleted, so that a wrong bucket, endpoint or credentials stop the
/// server now rather than fail the first upload.
async fn object_storage(args: &ServeArgs) -> anyhow::Result<Option<ObjectStorage>> {
    let Some(bucket) = args.s3.s3_bucket.as_deref() else {
        if args.document_store == DocumentStore::S3 {
            anyhow::bail!("RETOUR_S3_BUCKET must name the bucket when RETOUR_DOCUMENT_STORE is s3");
        }
        return Ok(None);
    };
    let one_line = |error: &dyn std::fmt::Display| error.to_string().replace('\n', " ");
    let objects = ObjectStorage::s3(bucket, args.s3.s3_endpoint.as_deref()).map_err(|error| {
        anyhow::anyhow!(
            "the document bucket (RETOUR_S3_BUCKET, RETOUR_S3_ENDPOINT, AWS_REGION, \
             AWS_ACCESS_KEY_ID) cannot be used: {}",
            one_line(&error)
        )
    })?;
    tokio::time::timeout(Duration::from_secs(30), objects.probe())
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "the document bucket (RETOUR_S3_BUCKET {bucket}) did not answer within 30 s"
            )
        })?
        .map_err(|error| {
            anyhow::anyhow!(
                "the document bucket (RETOUR_S3_BUCKET {bucket}) cannot be written and read \
                 with these settings (RETOUR_S3_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, \
                 AWS_SECRET_ACCESS_KEY): {}",
                one_line(&error)
            )
        })?;
    tracing::info!(bucket, store = ?args.document_store, "the document bucket is reachable");
    Ok(Some(objects))
}

/// The master keys of the documents: the configured ones; in demo mode without any, the
/// published demo key (the demo's documents are as public as its passwords).
fn document_keys(configured: Option<MasterKeys>, demo: bool) -> Option<MasterKeys> {
    if configured.is_some() {
        return configured;
    }
    if demo {
        tracing::warn!(
            "RETOUR_DOCUMENT_KEYS is not set: documents are encrypted with the published demo \
             key, fit for demo data only"
        );
        return Some(MasterKeys::demo());
    }
    tracing::warn!(
        "RETOUR_DOCUMENT_KEYS is not set: documents can be neither uploaded nor downloaded \
         (503) until a master key is configured"
    );
    None
}
