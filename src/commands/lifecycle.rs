//! `retour retention run` and `retour archive export`, and the daily retention run inside
//! `retour serve`.

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use retour_api::lifecycle::{self, Archive};
use retour_store::Store;
use retour_store::documents::crypto::MasterKeys;
use retour_store::documents::objects::ObjectStorage;

use crate::cli::{ArchiveArgs, ArchiveExportArgs, RetentionRunArgs};

/// The archive the arguments describe; the directory is required.
fn archive(args: ArchiveArgs) -> anyhow::Result<Archive> {
    let dir = args.destination.archive_dir.context(
        "RETOUR_ARCHIVE_DIR (or --archive-dir) must name the directory the archive packages \
         are written to",
    )?;
    let keys = match args.document_keys.document_keys {
        Some(keys) => Some(keys),
        None if args.demo => Some(MasterKeys::demo()),
        None => None,
    };
    let objects = match args.s3.s3_bucket.as_deref() {
        Some(bucket) => Some(
            ObjectStorage::s3(bucket, args.s3.s3_endpoint.as_deref())
                .map_err(|error| anyhow::anyhow!("RETOUR_S3_BUCKET {bucket}: {error}"))?,
        ),
        None => None,
    };
    Ok(Archive { dir, keys, objects, submitter: args.destination.archive_submitter })
}

/// `retour retention run`: prints what the run destroyed (or, with `--dry-run`, would
/// destroy) and what a legal hold keeps; fails when a case could not be offered.
pub(crate) async fn run_command(store: &Store, args: RetentionRunArgs) -> anyhow::Result<()> {
    let as_of = args.as_of.unwrap_or_else(|| Utc::now().date_naive());
    if args.dry_run {
        let due = lifecycle::preview(store, as_of).await?;
        for case in &due {
            println!(
                "{}\t{}\t{}\tended {}\t{} years\t{}",
                case.reference,
                case.case_id,
                case.end_state,
                case.ended_at.date_naive(),
                case.retention_years,
                if case.held { "kept: legal hold" } else { "due" }
            );
        }
        let held = due.iter().filter(|case| case.held).count();
        println!("{} case(s) due on {as_of}, {held} of them kept by a legal hold", due.len());
        return Ok(());
    }
    let archive = archive(args.archive)?;
    let report = lifecycle::run(store, &archive, as_of).await?;
    for (id, reference, package) in &report.destroyed {
        println!("{reference}\t{id}\tdestroyed\t{}", package.display());
    }
    println!(
        "{} case(s) offered to the archive and destroyed on {as_of}; {} kept by a legal hold; \
         {} failed",
        report.destroyed.len(),
        report.held,
        report.failed
    );
    if report.failed > 0 {
        anyhow::bail!(
            "{} case(s) could not be offered to the archive (see the log)",
            report.failed
        );
    }
    Ok(())
}

/// `retour archive export`: writes one case's package and prints its path.
pub(crate) async fn export_command(store: &Store, args: ArchiveExportArgs) -> anyhow::Result<()> {
    let archive = archive(args.archive)?;
    let id = lifecycle::find_case(store, &args.case)
        .await
        .with_context(|| format!("--case {}: no such case", args.case))?;
    let receipt = lifecycle::export(store, &archive, id).await?;
    println!(
        "{}\t{} file(s), {} bytes\tmanifest sha256 {}",
        receipt.path.display(),
        receipt.files,
        receipt.bytes,
        receipt.manifest_sha256
    );
    Ok(())
}

/// Runs the retention at start and then every `interval`, until `stop` resolves. A failed
/// run is logged and retried at the next interval.
pub(crate) async fn run_periodically(
    store: Store,
    archive: Archive,
    interval: Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    super::periodically(interval, stop, || async {
        match lifecycle::run(&store, &archive, Utc::now().date_naive()).await {
            Ok(report) => tracing::info!(
                due = report.due,
                held = report.held,
                destroyed = report.destroyed.len(),
                failed = report.failed,
                "retention run"
            ),
            Err(error) => {
                tracing::error!(%error, "the retention run failed; retrying at the next interval")
            }
        }
    })
    .await;
}
