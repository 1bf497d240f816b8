//! `retour audit`: verify, seal and prune the access log.

use anyhow::Context;
use retour_store::Store;

use crate::cli::{AuditCommand, PruneArgs};

pub(crate) async fn audit_command(store: &Store, command: AuditCommand) -> anyhow::Result<()> {
    use retour_store::audit;
    match command {
        AuditCommand::Verify => {
            let v = audit::verify(store.pool()).await.context("verifying the access log")?;
            let head = match (v.head_seq, v.head_hash.as_deref()) {
                (Some(seq), Some(hash)) => format!("head: link {seq}, hash {hash}"),
                _ => "the chain is empty".to_owned(),
            };
            match v.first_broken {
                None => {
                    println!(
                        "ok: {} links verified after link {}; {head}; {} events not sealed yet",
                        v.checked, v.anchor_seq, v.unsealed
                    );
                    Ok(())
                }
                Some(seq) => {
                    println!(
                        "broken: link {seq} is missing, altered or forged; {} links verified \
                         before it; {head}",
                        v.checked
                    );
                    anyhow::bail!("the access log's hash chain is broken at link {seq}")
                }
            }
        }
        AuditCommand::Seal => {
            let sealed = audit::seal_pending(store.pool()).await.context("sealing")?;
            println!("sealed {sealed} events");
            Ok(())
        }
        AuditCommand::Prune(args) => prune(store, args).await,
    }
}

/// Exports the range to a new file, makes it durable, and only then deletes the range.
pub(crate) async fn prune(store: &Store, args: PruneArgs) -> anyhow::Result<()> {
    use retour_store::audit::{self, AuditActor};
    use sha2::{Digest, Sha256};
    use tokio::io::AsyncWriteExt;

    let before = args.before.and_time(chrono::NaiveTime::MIN).and_utc();
    let Some(mut prune) = audit::begin_prune(store.pool(), before, args.retention_days).await?
    else {
        println!("nothing to prune: no sealed event before {}", args.before);
        return Ok(());
    };
    let path = &args.export;
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .await
        .with_context(|| format!("creating the export file {}", path.display()))?;
    let written: anyhow::Result<(String, u64)> = async {
        let mut out = tokio::io::BufWriter::new(file);
        let mut digest = Sha256::new();
        let mut lines = 0u64;
        loop {
            let batch = prune.next_batch().await?;
            if batch.is_empty() {
                break;
            }
            for event in &batch {
                let mut line = serde_json::to_vec(event)?;
                line.push(b'\n');
                digest.update(&line);
                out.write_all(&line).await?;
                lines += 1;
            }
        }
        out.flush().await?;
        out.into_inner().sync_all().await?;
        Ok((hex::encode(digest.finalize()), lines))
    }
    .await;
    let (sha256, lines) = match written {
        Ok(written) => written,
        Err(error) => {
            // Nothing was deleted; do not leave a partial export that looks complete.
            let _ = tokio::fs::remove_file(path).await;
            return Err(error.context("exporting the events to prune"));
        }
    };
    let report = match prune.commit(AuditActor::system(), &sha256).await {
        Ok(report) => report,
        Err(error) => {
            let _ = tokio::fs::remove_file(path).await;
            return Err(anyhow::Error::new(error).context("deleting the exported events"));
        }
    };
    println!(
        "pruned links {} to {} ({} events, {lines} exported to {}, sha256 {sha256}); the \
         chain goes on from hash {}, recorded as link {}",
        report.from_seq,
        report.through_seq,
        report.events,
        path.display(),
        report.last_hash,
        report.prune_event_seq
    );
    Ok(())
}
