//! The command line: every command, flag and environment variable of `retour`, parsed by clap.

use std::net::{IpAddr, SocketAddr};

use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;
use retour_domain::{Canton, InstitutionKind, Role};
use retour_store::documents::crypto::MasterKeys;

/// Retour: case management for Swiss voluntary return assistance.
///
/// Every option can also be given as the environment variable shown beside it.
#[derive(Debug, Parser)]
#[command(name = "retour", version, about, long_about, args_conflicts_with_subcommands = true)]
pub(crate) struct Cli {
    /// Options of `serve`, which runs when no command is given.
    #[command(flatten)]
    pub(crate) serve: ServeArgs,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    /// Log format.
    #[arg(
        long,
        env = "RETOUR_LOG",
        value_name = "RETOUR_LOG",
        default_value = "pretty",
        global = true
    )]
    pub(crate) log: LogFormat,

    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the HTTP server (the default). Applies pending migrations first.
    Serve(Box<ServeArgs>),
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
    /// Case deadlines: mark those past due as overdue (the server does this periodically).
    #[command(subcommand)]
    Deadlines(DeadlinesCommand),
    /// Documents: rotate the master key, make a new one.
    #[command(subcommand)]
    Documents(DocumentsCommand),
    /// Retention: offer the ended cases past their retention to the archive and destroy them
    /// (the server does this daily when RETOUR_ARCHIVE_DIR is set).
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// The archive: write one case's archive package (eCH-0160) without destroying it.
    #[command(subcommand)]
    Archive(ArchiveCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum RetentionCommand {
    /// Offer every ended case past its retention (and under no legal hold) to the archive,
    /// then destroy it; print what was destroyed and what a legal hold kept. Safe to run
    /// beside servers doing the same, and again: a destroyed case is gone.
    Run(RetentionRunArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RetentionRunArgs {
    /// Take this day (YYYY-MM-DD) as today: see (with --dry-run) or do what that day's run
    /// would do.
    #[arg(long, value_name = "DATE")]
    pub(crate) as_of: Option<chrono::NaiveDate>,
    /// Only list the cases due and those a legal hold keeps; change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    #[command(flatten)]
    pub(crate) archive: ArchiveArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ArchiveCommand {
    /// Write the archive package of one case to the archive directory and print its path.
    Export(ArchiveExportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ArchiveExportArgs {
    /// The case: its id or its reference (e.g. BE-2026-000123).
    #[arg(long)]
    pub(crate) case: String,
    #[command(flatten)]
    pub(crate) archive: ArchiveArgs,
}

/// Where archive packages are written, and what reads the documents into them.
#[derive(Debug, Args)]
pub(crate) struct ArchiveArgs {
    #[command(flatten)]
    pub(crate) destination: ArchiveDestination,
    #[command(flatten)]
    pub(crate) document_keys: DocumentKeysArgs,
    /// Read the documents with the published demo key when RETOUR_DOCUMENT_KEYS is not set
    /// (a demo installation's documents).
    #[arg(long)]
    pub(crate) demo: bool,
    #[command(flatten)]
    pub(crate) s3: S3Args,
}

/// The archive packages' directory and who offers them (`retour serve` and the archive
/// commands).
#[derive(Debug, Args)]
pub(crate) struct ArchiveDestination {
    /// The directory archive packages are written to (one directory per case). `serve` runs
    /// no retention without it (`retour retention run` does it by hand).
    #[arg(long, env = "RETOUR_ARCHIVE_DIR", value_name = "RETOUR_ARCHIVE_DIR")]
    pub(crate) archive_dir: Option<std::path::PathBuf>,
    /// The institution that offers the packages, as the archive knows it.
    #[arg(
        long,
        env = "RETOUR_ARCHIVE_SUBMITTER",
        value_name = "RETOUR_ARCHIVE_SUBMITTER",
        default_value = "Staatssekretariat für Migration SEM"
    )]
    pub(crate) archive_submitter: String,
}

/// The S3 bucket of the documents (`retour serve` and the archive commands).
#[derive(Debug, Args)]
pub(crate) struct S3Args {
    /// The S3 bucket of the documents; credentials and region as AWS's tools read them
    /// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, or the instance's role).
    #[arg(long, env = "RETOUR_S3_BUCKET", value_name = "RETOUR_S3_BUCKET",
        value_parser = parse_bucket)]
    pub(crate) s3_bucket: Option<String>,
    /// The S3 server, for one other than AWS's (e.g. `https://s3.example.ch`); `http://` only
    /// when given here.
    #[arg(long, env = "RETOUR_S3_ENDPOINT", value_name = "RETOUR_S3_ENDPOINT",
        value_parser = parse_s3_endpoint)]
    pub(crate) s3_endpoint: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DeadlinesCommand {
    /// Mark every open deadline due before today (UTC) as overdue, once, and print how many
    /// were marked. Safe to run beside servers doing the same.
    Run(DeadlinesRunArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DeadlinesRunArgs {
    /// Take this day (YYYY-MM-DD) as today: deadlines due before it are overdue.
    #[arg(long, value_name = "DATE")]
    pub(crate) as_of: Option<chrono::NaiveDate>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum InstitutionCommand {
    /// Create an institution and print its id.
    Create(CreateInstitutionArgs),
    /// List the institutions: id, kind and name, one a line.
    List,
}

#[derive(Debug, Args)]
pub(crate) struct CreateInstitutionArgs {
    /// counselling_service, sem, iom_bern, iom_mission, oversight or operator.
    #[arg(long, value_parser = parse_kind)]
    pub(crate) kind: InstitutionKind,
    /// Unique name, e.g. "Retour operator".
    #[arg(long)]
    pub(crate) name: String,
    /// A cantonal counselling service's canton (BE, ZH, …).
    #[arg(long, value_parser = parse_canton)]
    pub(crate) canton: Option<Canton>,
    /// The federal asylum region of a counselling service in a federal asylum centre.
    #[arg(long)]
    pub(crate) federal_region: Option<String>,
    /// An IOM mission's country (ISO 3166-1 alpha-2).
    #[arg(long)]
    pub(crate) country: Option<String>,
    #[arg(long)]
    pub(crate) contact_email: Option<String>,
    #[arg(long)]
    pub(crate) contact_phone: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a user and print their id. The password is asked for at a terminal, or read
    /// from the first line of standard input when it is not one (or with --password-stdin).
    Create(CreateUserArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CreateUserArgs {
    #[arg(long)]
    pub(crate) email: String,
    /// counsellor, sem_officer, swissrepat_officer, iom_coordinator, iom_mission_officer,
    /// auditor or admin; it must fit the institution's kind (admin: an operator).
    #[arg(long, value_parser = parse_role)]
    pub(crate) role: Role,
    /// The institution's id, or its exact name.
    #[arg(long)]
    pub(crate) institution: String,
    /// Defaults to the email.
    #[arg(long)]
    pub(crate) display_name: Option<String>,
    /// Read the password from standard input even at a terminal.
    #[arg(long)]
    pub(crate) password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
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
pub(crate) struct PruneArgs {
    /// Prune events that occurred before this day (UTC), e.g. 2025-01-01. Must be at least
    /// the retention in the past.
    #[arg(long, value_name = "DATE")]
    pub(crate) before: chrono::NaiveDate,

    /// Where to write the exported events first, one JSON object per line (JSON Lines) with
    /// its link of the chain. Must not exist yet.
    #[arg(long, value_name = "FILE")]
    pub(crate) export: std::path::PathBuf,

    /// Days the access log is kept at least; the law requires one year, so less is refused.
    #[arg(long, env = "RETOUR_AUDIT_RETENTION_DAYS", value_name = "RETOUR_AUDIT_RETENTION_DAYS",
        default_value_t = 365, value_parser = clap::value_parser!(u32).range(365..=36500))]
    pub(crate) retention_days: u32,
}

#[derive(Debug, Args)]
pub(crate) struct DatabaseArgs {
    /// PostgreSQL URL; the database is created if it does not exist.
    #[arg(
        long,
        env = "DATABASE_URL",
        value_name = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/retour",
        value_parser = parse_database_url,
        global = true
    )]
    pub(crate) database_url: String,

    /// Most database connections this process keeps open.
    #[arg(long, env = "RETOUR_DB_MAX_CONNECTIONS", value_name = "RETOUR_DB_MAX_CONNECTIONS",
        default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub(crate) db_max_connections: u32,

    /// Seconds a request waits for a free database connection before it fails with 503.
    #[arg(long, env = "RETOUR_DB_ACQUIRE_TIMEOUT", value_name = "RETOUR_DB_ACQUIRE_TIMEOUT",
        default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300), global = true)]
    pub(crate) db_acquire_timeout: u64,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "RETOUR_ADDR", value_name = "RETOUR_ADDR", default_value = "127.0.0.1:8080")]
    pub(crate) addr: SocketAddr,

    /// Browser origins allowed by CORS, comma-separated (e.g. `https://retour.example`).
    /// None by default: browsers on other origins are refused.
    #[arg(long, env = "RETOUR_CORS_ORIGINS", value_name = "RETOUR_CORS_ORIGINS",
        value_delimiter = ',', value_parser = parse_origin)]
    pub(crate) cors_origins: Vec<Option<String>>,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "RETOUR_BODY_LIMIT", value_name = "RETOUR_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub(crate) body_limit: usize,

    /// Seconds a request may take before it is abandoned with 503.
    #[arg(long, env = "RETOUR_REQUEST_TIMEOUT", value_name = "RETOUR_REQUEST_TIMEOUT",
        default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub(crate) request_timeout: u64,

    /// Ed25519 private key (PKCS#8 PEM) that signs access tokens. Without one, the
    /// installation generates a key once and keeps it in the database.
    #[arg(long, env = "RETOUR_JWT_KEY", value_name = "RETOUR_JWT_KEY", hide_env_values = true)]
    pub(crate) jwt_key: Option<String>,

    /// Failed sign-ins of one account, within the lockout window, that lock it.
    #[arg(long, env = "RETOUR_LOCKOUT_THRESHOLD", value_name = "RETOUR_LOCKOUT_THRESHOLD",
        default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) lockout_threshold: u32,

    /// Seconds within which failed sign-ins are counted towards the lockout.
    #[arg(long, env = "RETOUR_LOCKOUT_WINDOW_SECS", value_name = "RETOUR_LOCKOUT_WINDOW_SECS",
        default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub(crate) lockout_window_secs: u64,

    /// Seconds a locked account stays locked.
    #[arg(long, env = "RETOUR_LOCKOUT_SECS", value_name = "RETOUR_LOCKOUT_SECS",
        default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub(crate) lockout_secs: u64,

    /// Requests per minute and client address to the endpoints that take credentials
    /// (login, refresh, token), in this process; 0 turns the limit off.
    #[arg(long, env = "RETOUR_LOGIN_RATE_PER_MINUTE", value_name = "RETOUR_LOGIN_RATE_PER_MINUTE",
        default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub(crate) login_rate_per_minute: u32,

    /// Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For header
    /// names the client. None by default: the header is ignored.
    #[arg(long, env = "RETOUR_TRUSTED_PROXIES", value_name = "RETOUR_TRUSTED_PROXIES",
        value_delimiter = ',', value_parser = parse_proxy)]
    pub(crate) trusted_proxies: Vec<Option<IpNet>>,

    /// Seed the demo institutions and demo users (password `retour-demo`) before serving.
    #[arg(long)]
    pub(crate) demo: bool,

    /// Milliseconds between two sealing rounds of the access log: the longest an event
    /// waits for its link in the hash chain.
    #[arg(long, env = "RETOUR_AUDIT_SEAL_INTERVAL_MS", value_name = "RETOUR_AUDIT_SEAL_INTERVAL_MS",
        default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub(crate) audit_seal_interval_ms: u64,

    /// Seconds between two runs of the overdue job, which marks open deadlines past due as
    /// overdue (the first run is at start).
    #[arg(long, env = "RETOUR_DEADLINES_INTERVAL_SECS", value_name = "RETOUR_DEADLINES_INTERVAL_SECS",
        default_value_t = 900, value_parser = clap::value_parser!(u64).range(10..=86_400))]
    pub(crate) deadlines_interval_secs: u64,

    #[command(flatten)]
    pub(crate) archive: ArchiveDestination,

    /// Seconds between two retention runs (a day by default; the first run is at start).
    #[arg(long, env = "RETOUR_RETENTION_INTERVAL_SECS",
        value_name = "RETOUR_RETENTION_INTERVAL_SECS", default_value_t = 86_400,
        value_parser = clap::value_parser!(u64).range(60..=604_800))]
    pub(crate) retention_interval_secs: u64,

    #[command(flatten)]
    pub(crate) document_keys: DocumentKeysArgs,

    /// The largest document accepted, in bytes (20 MiB by default).
    #[arg(long, env = "RETOUR_DOCUMENT_MAX_BYTES", value_name = "RETOUR_DOCUMENT_MAX_BYTES",
        default_value_t = retour_api::DEFAULT_DOCUMENT_MAX_BYTES,
        value_parser = clap::value_parser!(u64).range(1..=1024 * 1024 * 1024))]
    pub(crate) document_max_bytes: u64,

    /// Whether `submit` needs the signed request for return assistance (a `return_request`
    /// document) on the case.
    #[arg(long, env = "RETOUR_REQUIRE_RETURN_REQUEST", value_name = "RETOUR_REQUIRE_RETURN_REQUEST",
        default_value_t = true, action = clap::ArgAction::Set)]
    pub(crate) require_return_request: bool,

    /// Whether webhooks may be posted over plain HTTP to loopback addresses
    /// (`http://127.0.0.1:…`): for tests and demos only.
    #[arg(long, env = "RETOUR_WEBHOOK_ALLOW_LOOPBACK", value_name = "RETOUR_WEBHOOK_ALLOW_LOOPBACK",
        default_value_t = false, action = clap::ArgAction::Set)]
    pub(crate) webhook_allow_loopback: bool,

    /// Networks (comma-separated) webhooks may reach although they are private or special
    /// (a partner's system inside the federal network, say). None by default.
    #[arg(long, env = "RETOUR_WEBHOOK_ALLOWED_NETWORKS", value_name = "RETOUR_WEBHOOK_ALLOWED_NETWORKS",
        value_delimiter = ',', value_parser = parse_proxy)]
    pub(crate) webhook_allowed_networks: Vec<Option<IpNet>>,

    /// Seconds a server process holds a webhook delivery it took; when it dies meanwhile,
    /// another process takes the delivery over after this.
    #[arg(long, env = "RETOUR_WEBHOOK_LEASE_SECS", value_name = "RETOUR_WEBHOOK_LEASE_SECS",
        default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) webhook_lease_secs: u64,

    /// Roles (comma-separated) whose users may open a case outside their scope in an
    /// emergency (break-glass: read-only, 60 minutes, reviewed by an auditor). `none` turns
    /// break-glass off.
    #[arg(long, env = "RETOUR_BREAK_GLASS_ROLES", value_name = "RETOUR_BREAK_GLASS_ROLES",
        value_delimiter = ',', default_value = "sem_officer", value_parser = parse_break_glass_role)]
    pub(crate) break_glass_roles: Vec<Option<Role>>,

    /// The NATS server the events are published to (JetStream), e.g.
    /// `nats://127.0.0.1:4222`; none by default (no bridge).
    #[arg(long, env = "RETOUR_NATS_URL", value_name = "RETOUR_NATS_URL")]
    pub(crate) nats_url: Option<String>,

    /// The JetStream stream that keeps the events (made when missing).
    #[arg(
        long,
        env = "RETOUR_NATS_STREAM",
        value_name = "RETOUR_NATS_STREAM",
        default_value = "RETOUR_EVENTS"
    )]
    pub(crate) nats_stream: String,

    /// The events' subjects are `<prefix>.<type>`.
    #[arg(
        long,
        env = "RETOUR_NATS_SUBJECT_PREFIX",
        value_name = "RETOUR_NATS_SUBJECT_PREFIX",
        default_value = "retour.events"
    )]
    pub(crate) nats_subject_prefix: String,

    /// Where new documents' encrypted content is stored: `database` (the default) or `s3`
    /// (an S3-compatible bucket, RETOUR_S3_BUCKET). Each document is read from where it was
    /// stored: the bucket stays configured while documents are kept in it.
    #[arg(
        long,
        env = "RETOUR_DOCUMENT_STORE",
        value_name = "RETOUR_DOCUMENT_STORE",
        default_value = "database"
    )]
    pub(crate) document_store: DocumentStore,

    #[command(flatten)]
    pub(crate) s3: S3Args,
}

/// Where new documents' content is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DocumentStore {
    Database,
    S3,
}

#[derive(Debug, Args)]
pub(crate) struct DocumentKeysArgs {
    /// The master keys that wrap the documents' keys: `id:base64,id:base64,…`, 32 random bytes
    /// each (`retour documents generate-key` makes one); the first wraps new documents, the
    /// others are read until `retour documents rotate-key` re-wrapped what they wrapped.
    /// Without keys documents cannot be stored (in demo mode a published demo key is used).
    #[arg(long, env = "RETOUR_DOCUMENT_KEYS", value_name = "RETOUR_DOCUMENT_KEYS",
        hide_env_values = true, value_parser = parse_document_keys)]
    pub(crate) document_keys: Option<MasterKeys>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DocumentsCommand {
    /// Re-wrap every document's key that an older master key wraps with the current one (the
    /// first of RETOUR_DOCUMENT_KEYS), while servers keep running; then the older key can be
    /// removed from the configuration.
    RotateKey(DocumentKeysArgs),
    /// Print a new random master key as `id:base64`, to add to RETOUR_DOCUMENT_KEYS.
    GenerateKey {
        /// The key's id, e.g. the date it was made (`2026-12`).
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct SeedArgs {
    /// Seed the demo institutions and the demo users of every role (password `retour-demo`).
    /// Never use on a production installation.
    #[arg(long)]
    pub(crate) demo: bool,

    /// Also generate this many realistic synthetic cases (with the demo data, a counsellor
    /// per counselling service and an officer per IOM mission), for load tests and
    /// benchmarks. Run it on an idle database.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub(crate) synthetic: Option<u64>,

    /// Seed value of the synthetic cases: the same value (with the same --as-of and N) gives
    /// the same cases.
    #[arg(long, value_name = "S", default_value_t = 1, requires = "synthetic")]
    pub(crate) seed: u64,

    /// Synthetic cases per transaction.
    #[arg(long, value_name = "B", default_value_t = 10_000, requires = "synthetic",
        value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub(crate) batch: u64,

    /// Batches of synthetic cases loaded at the same time, each on its own connection.
    #[arg(long, value_name = "C", default_value_t = 2, requires = "synthetic",
        value_parser = clap::value_parser!(u64).range(1..=16))]
    pub(crate) connections: u64,

    /// The day the synthetic data is "as of": every case's history ends before it, and the
    /// cases still open then are in progress. Defaults to today (UTC).
    #[arg(long, value_name = "DATE", requires = "synthetic")]
    pub(crate) as_of: Option<chrono::NaiveDate>,

    /// The first day synthetic cases are opened.
    #[arg(long, value_name = "DATE", requires = "synthetic", default_value_t = retour_store::synthetic::default_from())]
    pub(crate) from: chrono::NaiveDate,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    Pretty,
    Json,
}

pub(crate) fn parse_database_url(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "postgres" | "postgresql" => Ok(value.to_owned()),
        other => Err(format!("expected a postgres:// URL, got scheme `{other}`")),
    }
}

/// An origin; an empty value (an empty variable in an env file) stands for none.
pub(crate) fn parse_origin(value: &str) -> Result<Option<String>, String> {
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
pub(crate) fn parse_proxy(value: &str) -> Result<Option<IpNet>, String> {
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

/// An S3 bucket's name: 3–63 lowercase letters, digits, dots and hyphens.
pub(crate) fn parse_bucket(value: &str) -> Result<String, String> {
    let value = value.trim();
    let valid = (3..=63).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value.ends_with(|c: char| c.is_ascii_alphanumeric());
    if valid {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "`{value}` is not a bucket name (3-63 lowercase letters, digits, dots, hyphens)"
        ))
    }
}

/// The URL of an S3 server: `https://` or `http://`, without a path.
pub(crate) fn parse_s3_endpoint(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value.trim()).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("an S3 endpoint is http(s)://host[:port]".to_owned());
    }
    if url.path() != "/" || url.query().is_some() {
        return Err("an S3 endpoint has no path (the bucket is RETOUR_S3_BUCKET)".to_owned());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// A role that may use break-glass, or `none`. Administrators never may: they read no case.
fn parse_break_glass_role(value: &str) -> Result<Option<Role>, String> {
    match value.trim() {
        "none" | "" => Ok(None),
        name => match Role::parse(name) {
            Some(role) if role.administers() => {
                Err(format!("{name} administers accounts and reads no case"))
            }
            Some(role) => Ok(Some(role)),
            None => Err(format!("{name} is not a role ({})", Role::names())),
        },
    }
}

pub(crate) fn parse_document_keys(value: &str) -> Result<MasterKeys, String> {
    MasterKeys::parse(value)
}

pub(crate) fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value).ok_or_else(|| {
        let all: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("expected one of {}", all.join(", "))
    })
}

pub(crate) fn parse_kind(value: &str) -> Result<InstitutionKind, String> {
    InstitutionKind::parse(value).ok_or_else(|| {
        let all: Vec<_> = InstitutionKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("expected one of {}", all.join(", "))
    })
}

pub(crate) fn parse_canton(value: &str) -> Result<Canton, String> {
    Canton::parse(&value.trim().to_uppercase())
        .ok_or_else(|| "expected a canton's two-letter code, e.g. BE".to_owned())
}
