//! The `retour` command: the server and its administration tasks.

use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;
use retour_api::admin::{self, Administrator};
use retour_api::auth::Lockout;
use retour_api::{ApiConfig, ApiError, AppState, LoginLimits};
use retour_domain::{Canton, InstitutionKind, Role};
use retour_store::{PoolConfig, Store, StoreError};
use tracing_subscriber::EnvFilter;

/// Retour: case management for Swiss voluntary return assistance.
///
/// Every option can also be given as the environment variable shown beside it.
#[derive(Debug, Parser)]
#[command(name = "retour", version, about, long_about, args_conflicts_with_subcommands = true)]
struct Cli {
    /// Options of `serve`, which runs when no command is given.
    #[command(flatten)]
    serve: ServeArgs,

    #[command(flatten)]
    database: DatabaseArgs,

    /// Log format.
    #[arg(
        long,
        env = "RETOUR_LOG",
        value_name = "RETOUR_LOG",
        default_value = "pretty",
        global = true
    )]
    log: LogFormat,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (the default). Applies pending migrations first.
    Serve(ServeArgs),
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Print the OpenAPI document generated from the code.
    Openapi,
    /// Seed reference data into the database.
    Seed(SeedArgs),
    /// Manage partner institutions (e.g. create the operator institution of a new installation).
    #[command(subcommand)]
    Institution(InstitutionCommand),
    /// Manage user accounts (e.g. create the first administrator).
    #[command(subcommand)]
    User(UserCommand),
    /// The access log: verify its hash chain, seal pending events, prune past the retention.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
enum InstitutionCommand {
    /// Create an institution and print its id.
    Create(CreateInstitutionArgs),
    /// List the institutions: id, kind and name, one a line.
    List,
}

#[derive(Debug, Args)]
struct CreateInstitutionArgs {
    /// counselling_service, sem, iom_bern, iom_mission, oversight or operator.
    #[arg(long, value_parser = parse_kind)]
    kind: InstitutionKind,
    /// Unique name, e.g. "Retour operator".
    #[arg(long)]
    name: String,
    /// A cantonal counselling service's canton (BE, ZH, …).
    #[arg(long, value_parser = parse_canton)]
    canton: Option<Canton>,
    /// The federal asylum region of a counselling service in a federal asylum centre.
    #[arg(long)]
    federal_region: Option<String>,
    /// An IOM mission's country (ISO 3166-1 alpha-2).
    #[arg(long)]
    country: Option<String>,
    #[arg(long)]
    contact_email: Option<String>,
    #[arg(long)]
    contact_phone: Option<String>,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user and print their id. The password is asked for at a terminal, or read
    /// from the first line of standard input when it is not one (or with --password-stdin).
    Create(CreateUserArgs),
}

#[derive(Debug, Args)]
struct CreateUserArgs {
    #[arg(long)]
    email: String,
    /// counsellor, sem_officer, swissrepat_officer, iom_coordinator, iom_mission_officer,
    /// auditor or admin; it must fit the institution's kind (admin: an operator).
    #[arg(long, value_parser = parse_role)]
    role: Role,
    /// The institution's id, or its exact name.
    #[arg(long)]
    institution: String,
    /// Defaults to the email.
    #[arg(long)]
    display_name: Option<String>,
    /// Read the password from standard input even at a terminal.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; exit 0 when intact, 1 when a link is missing, altered or
    /// forged.
    Verify,
    /// Seal every committed event that is not sealed yet (the server does this continually).
    Seal,
    /// Export the sealed events that occurred before a date, then delete exactly those and
    /// record the prune in the chain. Only whole sealed ranges from the start of the chain
    /// go, and only past the retention.
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
struct PruneArgs {
    /// Prune events that occurred before this day (UTC), e.g. 2025-01-01. Must be at least
    /// the retention in the past.
    #[arg(long, value_name = "DATE")]
    before: chrono::NaiveDate,

    /// Where to write the exported events first, one JSON object per line (JSON Lines) with
    /// its link of the chain. Must not exist yet.
    #[arg(long, value_name = "FILE")]
    export: std::path::PathBuf,

    /// Days the access log is kept at least; the law requires one year, so less is refused.
    #[arg(long, env = "RETOUR_AUDIT_RETENTION_DAYS", value_name = "RETOUR_AUDIT_RETENTION_DAYS",
        default_value_t = 365, value_parser = clap::value_parser!(u32).range(365..=36500))]
    retention_days: u32,
}

#[derive(Debug, Args)]
struct DatabaseArgs {
    /// PostgreSQL URL; the database is created if it does not exist.
    #[arg(
        long,
        env = "DATABASE_URL",
        value_name = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/retour",
        value_parser = parse_database_url,
        global = true
    )]
    database_url: String,

    /// Most database connections this process keeps open.
    #[arg(long, env = "RETOUR_DB_MAX_CONNECTIONS", value_name = "RETOUR_DB_MAX_CONNECTIONS",
        default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    db_max_connections: u32,

    /// Seconds a request waits for a free database connection before it fails with 503.
    #[arg(long, env = "RETOUR_DB_ACQUIRE_TIMEOUT", value_name = "RETOUR_DB_ACQUIRE_TIMEOUT",
        default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300), global = true)]
    db_acquire_timeout: u64,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "RETOUR_ADDR", value_name = "RETOUR_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,

    /// Browser origins allowed by CORS, comma-separated (e.g. `https://retour.example`).
    /// None by default: browsers on other origins are refused.
    #[arg(long, env = "RETOUR_CORS_ORIGINS", value_name = "RETOUR_CORS_ORIGINS",
        value_delimiter = ',', value_parser = parse_origin)]
    cors_origins: Vec<Option<String>>,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "RETOUR_BODY_LIMIT", value_name = "RETOUR_BODY_LIMIT", default_value_t = 1024 * 1024)]
    body_limit: usize,

    /// Seconds a request may take before it is abandoned with 503.
    #[arg(long, env = "RETOUR_REQUEST_TIMEOUT", value_name = "RETOUR_REQUEST_TIMEOUT",
        default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    request_timeout: u64,

    /// Ed25519 private key (PKCS#8 PEM) that signs access tokens. Without one, the
    /// installation generates a key once and keeps it in the database.
    #[arg(long, env = "RETOUR_JWT_KEY", value_name = "RETOUR_JWT_KEY", hide_env_values = true)]
    jwt_key: Option<String>,

    /// Failed sign-ins of one account, within the lockout window, that lock it.
    #[arg(long, env = "RETOUR_LOCKOUT_THRESHOLD", value_name = "RETOUR_LOCKOUT_THRESHOLD",
        default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    lockout_threshold: u32,

    /// Seconds within which failed sign-ins are counted towards the lockout.
    #[arg(long, env = "RETOUR_LOCKOUT_WINDOW_SECS", value_name = "RETOUR_LOCKOUT_WINDOW_SECS",
        default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    lockout_window_secs: u64,

    /// Seconds a locked account stays locked.
    #[arg(long, env = "RETOUR_LOCKOUT_SECS", value_name = "RETOUR_LOCKOUT_SECS",
        default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    lockout_secs: u64,

    /// Requests per minute and client address to the endpoints that take credentials
    /// (login, refresh, token), in this process; 0 turns the limit off.
    #[arg(long, env = "RETOUR_LOGIN_RATE_PER_MINUTE", value_name = "RETOUR_LOGIN_RATE_PER_MINUTE",
        default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    login_rate_per_minute: u32,

    /// Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For header
    /// names the client. None by default: the header is ignored.
    #[arg(long, env = "RETOUR_TRUSTED_PROXIES", value_name = "RETOUR_TRUSTED_PROXIES",
        value_delimiter = ',', value_parser = parse_proxy)]
    trusted_proxies: Vec<Option<IpNet>>,

    /// Seed the demo institutions and demo users (password `retour-demo`) before serving.
    #[arg(long)]
    demo: bool,

    /// Milliseconds between two sealing rounds of the access log: the longest an event
    /// waits for its link in the hash chain.
    #[arg(long, env = "RETOUR_AUDIT_SEAL_INTERVAL_MS", value_name = "RETOUR_AUDIT_SEAL_INTERVAL_MS",
        default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    audit_seal_interval_ms: u64,
}

#[derive(Debug, Args)]
struct SeedArgs {
    /// Seed the demo institutions and one demo user per role (password `retour-demo`).
    /// Never use on a production installation.
    #[arg(long)]
    demo: bool,

    /// Also generate this many realistic synthetic cases (with the demo data, a counsellor
    /// per counselling service and an officer per IOM mission), for load tests and
    /// benchmarks. Run it on an idle database.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    synthetic: Option<u64>,

    /// Seed value of the synthetic cases: the same value (with the same --as-of and N) gives
    /// the same cases.
    #[arg(long, value_name = "S", default_value_t = 1, requires = "synthetic")]
    seed: u64,

    /// Synthetic cases per transaction.
    #[arg(long, value_name = "B", default_value_t = 10_000, requires = "synthetic",
        value_parser = clap::value_parser!(u64).range(1..=100_000))]
    batch: u64,

    /// Batches of synthetic cases loaded at the same time, each on its own connection.
    #[arg(long, value_name = "C", default_value_t = 2, requires = "synthetic",
        value_parser = clap::value_parser!(u64).range(1..=16))]
    connections: u64,

    /// The day the synthetic data is "as of": every case's history ends before it, and the
    /// cases still open then are in progress. Defaults to today (UTC).
    #[arg(long, value_name = "DATE", requires = "synthetic")]
    as_of: Option<chrono::NaiveDate>,

    /// The first day synthetic cases are opened.
    #[arg(long, value_name = "DATE", requires = "synthetic", default_value_t = retour_store::synthetic::default_from())]
    from: chrono::NaiveDate,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

fn parse_database_url(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "postgres" | "postgresql" => Ok(value.to_owned()),
        other => Err(format!("expected a postgres:// URL, got scheme `{other}`")),
    }
}

/// An origin; an empty value (an empty variable in an env file) stands for none.
fn parse_origin(value: &str) -> Result<Option<String>, String> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    let url = url::Url::parse(value.trim()).map_err(|e| format!("not an origin: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.path() != "/" {
        return Err("an origin is scheme://host[:port], without a path".to_owned());
    }
    Ok(Some(url.origin().ascii_serialization()))
}

/// An address or network; an empty value stands for none.
fn parse_proxy(value: &str) -> Result<Option<IpNet>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
        .map(Some)
        .map_err(|_| format!("`{value}` is not an IP address or network (e.g. 10.0.0.0/8)"))
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value).ok_or_else(|| {
        let all: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("expected one of {}", all.join(", "))
    })
}

fn parse_kind(value: &str) -> Result<InstitutionKind, String> {
    InstitutionKind::parse(value).ok_or_else(|| {
        let all: Vec<_> = InstitutionKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("expected one of {}", all.join(", "))
    })
}

fn parse_canton(value: &str) -> Result<Canton, String> {
    Canton::parse(&value.trim().to_uppercase())
        .ok_or_else(|| "expected a canton's two-letter code, e.g. BE".to_owned())
}

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
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
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
        Command::Serve(args) => serve(&cli.database.database_url, &pool, args).await,
        Command::Audit(command) => {
            let store = connect(&cli.database.database_url, &pool).await?;
            store.migrate().await.context("applying migrations")?;
            audit_command(&store, command).await
        }
    }
}

/// Generates and loads synthetic cases with a progress bar, then prints what was loaded.
async fn seed_synthetic(store: &Store, cases: u64, args: &SeedArgs) -> anyhow::Result<()> {
    use retour_store::synthetic;
    let options = synthetic::Options {
        cases,
        seed: args.seed,
        batch: usize::try_from(args.batch).unwrap_or(10_000),
        connections: usize::try_from(args.connections).unwrap_or(2),
        from: args.from,
        as_of: args.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive()),
    };
    eprintln!(
        "generating {cases} synthetic cases (seed {}, from {} as of {}, {} per transaction, \
         {} connections)",
        options.seed, options.from, options.as_of, options.batch, options.connections
    );
    let bar = indicatif::ProgressBar::new(cases);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} cases, {rate}, eta {eta} {msg}",
        )
        .context("progress bar template")?
        .with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0} cases/s", state.per_sec());
        })
        .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let report = synthetic::load(store, &options, |progress| {
        bar.set_position(progress.cases);
        bar.set_message(format!("({} rows)", progress.rows));
    })
    .await
    .context("seeding synthetic cases")?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "seeded {} cases ({} rows, {} access-log events sealed) in {seconds:.1} s: {:.0} cases/s",
        report.cases,
        report.rows,
        report.audit_events,
        report.cases as f64 / seconds.max(0.001)
    );
    let statuses: Vec<String> =
        report.statuses.iter().map(|(status, n)| format!("{status} {n}")).collect();
    println!("by status: {}", statuses.join(", "));
    Ok(())
}

/// An administration error as one line: each invalid field with its reason.
fn refused(error: ApiError) -> anyhow::Error {
    match error {
        ApiError::Validation(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        ApiError::Conflict { detail, .. } => anyhow::anyhow!("{detail}"),
        ApiError::Internal(cause) => anyhow::anyhow!("{cause}"),
        other => anyhow::anyhow!("{other}"),
    }
}

async fn create_institution(store: &Store, args: CreateInstitutionArgs) -> anyhow::Result<()> {
    let request = admin::InstitutionRequest {
        kind: args.kind,
        name: args.name,
        canton: args.canton,
        federal_region: args.federal_region,
        country: args.country,
        contact_email: args.contact_email,
        contact_phone: args.contact_phone,
    };
    let institution = admin::create_institution(store, request, &Administrator::command_line())
        .await
        .map_err(refused)?;
    tracing::info!(institution.id = %institution.id, "institution created");
    println!("{}", institution.id);
    Ok(())
}

async fn list_institutions(store: &Store) -> anyhow::Result<()> {
    let institutions = store.list_institutions(&Default::default()).await?;
    for institution in institutions {
        let state = if institution.active { "" } else { "\t(disabled)" };
        println!("{}\t{}\t{}{state}", institution.id, institution.kind.as_str(), institution.name);
    }
    Ok(())
}

async fn create_user(store: &Store, args: CreateUserArgs) -> anyhow::Result<()> {
    let institution = match args.institution.parse::<uuid::Uuid>() {
        Ok(id) => store.get_institution(id).await,
        Err(_) => store.institution_by_name(&args.institution).await,
    };
    let institution = match institution {
        Err(StoreError::NotFound) => {
            anyhow::bail!("institution: no institution has the id or name `{}`", args.institution)
        }
        other => other?,
    };
    let password = read_password(&args.email, args.password_stdin)?;
    let request = admin::UserRequest {
        display_name: args.display_name.unwrap_or_else(|| args.email.clone()),
        email: args.email,
        role: args.role,
        institution_id: institution.id,
        password,
    };
    let user = admin::create_user(store, request, &Administrator::command_line())
        .await
        .map_err(refused)?;
    tracing::info!(user.id = %user.id, institution = %institution.name, "user created");
    println!("{}", user.id);
    Ok(())
}

/// The new password: typed twice at a terminal, else the first line of standard input.
fn read_password(email: &str, from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("reading the password from stdin")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let first = rpassword::prompt_password(format!("Password for {email}: "))
        .context("reading the password")?;
    let second = rpassword::prompt_password("Repeat it: ").context("reading the password")?;
    if first != second {
        anyhow::bail!("the two passwords differ");
    }
    Ok(first)
}

async fn audit_command(store: &Store, command: AuditCommand) -> anyhow::Result<()> {
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
async fn prune(store: &Store, args: PruneArgs) -> anyhow::Result<()> {
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

async fn connect(url: &str, pool: &PoolConfig) -> anyhow::Result<Store> {
    Store::connect(url, pool).await.context("connecting to PostgreSQL (DATABASE_URL)")
}

async fn serve(url: &str, pool: &PoolConfig, args: ServeArgs) -> anyhow::Result<()> {
    let store = connect(url, pool).await?;
    store.migrate().await.context("applying migrations")?;
    if args.demo {
        retour_api::demo::seed(&store)
            .await
            .map_err(|e| anyhow::anyhow!(e))
            .context("seeding the demo data")?;
        tracing::info!("demo institutions and users seeded (password: retour-demo)");
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
    let _ = stop_sealer.send(());
    sealer.await.context("stopping the access log sealer")?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM; in-flight requests then finish before the server exits.
async fn shutdown_signal() {
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
