//! The `retour` command: the server and its administration tasks. `cli` parses the command
//! line; `commands` holds one module per command.

mod cli;
mod commands;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use retour_store::{PoolConfig, Store};
use tracing_subscriber::EnvFilter;

use crate::cli::{
    ArchiveCommand, Cli, Command, DeadlinesCommand, DocumentsCommand, InstitutionCommand,
    LogFormat, RetentionCommand, UserCommand,
};
use crate::commands::admin::{create_institution, create_user, list_institutions};
use crate::commands::audit::audit_command;
use crate::commands::seed::seed_synthetic;
use crate::commands::serve::serve;
use retour_store::documents::crypto::MasterKeys;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            use clap::error::ErrorKind;
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                error.exit();
            }
            // One line naming the variable or flag; exit code 2 as for any usage error.
            let rendered = error.render().to_string();
            eprintln!("{}", rendered.lines().next().unwrap_or("error: invalid arguments"));
            return ExitCode::from(2);
        }
    };
    init_tracing(cli.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.compact().init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).init(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let pool = PoolConfig {
        max_connections: cli.database.db_max_connections,
        min_connections: 0,
        acquire_timeout: Duration::from_secs(cli.database.db_acquire_timeout),
    };
    match cli.command.unwrap_or_else(|| Command::Serve(Box::new(cli.serve))) {
        Command::Openapi => {
            println!("{}", retour_api::openapi_json()?);
            Ok(())
        }
        Command::Migrate => {
            let store = connect(&cli.database.database_url, &pool).await?;
            store.migrate().await.context("applying migrations")?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Seed(args) => {
            if !args.demo && args.synthetic.is_none() {
                anyhow::bail!("say what to seed: --demo, or --synthetic N");
            }
            let store = connect(&cli.database.database_url, &pool).await?;
            store.migrate().await.context("applying migrations")?;
            retour_api::demo::seed(&store)
                .await
                .map_err(|e| anyhow::anyhow!(e))
                .context("seeding the demo data")?;
            tracing::info!("demo institutions and users seeded (password: retour-demo)");
            if let Some(cases) = args.synthetic {
                seed_synthetic(&store, cases, &args).await?;
            }
            Ok(())
        }
        Command::Institution(command) => {
            let store = connect(&cli.database.database_url, &pool).await?;
            store.migrate().await.context("applying migrations")?;
            match command {
                InstitutionCommand::Create(args) => create_institution(&store, args).await,
                InstitutionCommand::List => list_institutions(&store).await,
            }
        }
        Command::User(UserCommand::Create(args)) => {
            let store = connect(&cli.database.database_url, &pool).await?;
            store.migrate().await.context("applying migrations")?;
            create_user(&store, args).await
        }
        Command::Serve(args) => serve(&cli.database.database_url, &pool, *args).await,
        Command::Audit(command) => {
            let store = connect(&cli.database.database_url, &pool).await?;
            store.migrate().await.context("applying migrations")?;
            audit_command(&store, command).await
        }
        Command::Retention(RetentionCommand::Run(args)) => {
            let store = connect(&cli.database.database_url, &pool).await?;
            store.migrate().await.context("applying migrations")?;
            commands::lifecycle::run_command(&store, args).await
        }
        Command::Archive(ArchiveCommand::Export(args)) => {
            let store = connect(&cli.database.database_url, &pool).await?;
            store.migrate().await.context("applying migrations")?;
            commands::lifecycle::export_command(&store, args).await
        }
        Command::Documents(DocumentsCommand::GenerateKey { id }) => {
            let entry = MasterKeys::generate_entry(&id);
            MasterKeys::parse(&entry).map_err(|e| anyhow::anyhow!("--id: {e}"))?;
            println!("{entry}");
            Ok(())
        }
        Command::Documents(DocumentsCommand::RotateKey(args)) => {
            let keys = args.document_keys.context(
                "RETOUR_DOCUMENT_KEYS must name the new key first and the old ones after",
            )?;
            let store = connect(&cli.database.database_url, &pool).await?;
            store.migrate().await.context("applying migrations")?;
            let rotation = retour_store::documents::rotate_keys(store.pool(), &keys, 500).await?;
            let secrets = retour_store::webhooks::rewrap_secrets(store.pool(), &keys).await?;
            let factors = retour_store::mfa::rewrap_secrets(store.pool(), &keys).await?;
            println!(
                "{} document key(s), {secrets} webhook secret(s) and {factors} authenticator \
                 secret(s) re-wrapped with {}; {} left",
                rotation.rewrapped,
                keys.current_id(),
                rotation.left
            );
            if rotation.left > 0 {
                anyhow::bail!(
                    "{} document key(s) are still wrapped by other keys; run again",
                    rotation.left
                );
            }
            Ok(())
        }
        Command::Deadlines(DeadlinesCommand::Run(args)) => {
            let store = connect(&cli.database.database_url, &pool).await?;
            store.migrate().await.context("applying migrations")?;
            let today = args.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
            let marked = commands::deadlines::run_once(&store, today).await?;
            println!("{marked} deadline(s) marked overdue as of {today}");
            Ok(())
        }
    }
}

pub(crate) async fn connect(url: &str, pool: &PoolConfig) -> anyhow::Result<Store> {
    Store::connect(url, pool).await.context("connecting to PostgreSQL (DATABASE_URL)")
}
