//! Database faults: the real `retour` binary over a throwaway PostgreSQL cluster that is
//! stopped in immediate mode (a crash, as far as the server can tell) and started again while
//! clients keep sending requests.
//!
//! While the database is down every answer is 503 problem+json (`service_unavailable`),
//! readiness included, and never a 500; once it is back the server recovers by itself within
//! 5 s; every sign-in that was answered 200 has its access-log event, with no session
//! (refresh token) lacking one; and every case opened (201) is there whole, with its household,
//! the opening in its history and its access-log event, and no case or event exists without
//! the other.
//!
//! The cluster is this test's own (initdb into a temporary directory, on a free port), never
//! the shared server; when the test runs as root, PostgreSQL runs as the `postgres` user. The
//! test is skipped, saying so, only when no PostgreSQL server binaries exist on the machine and
//! `CI` is not set; under CI their absence fails it.

use std::collections::{BTreeMap, HashSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Stop/start cycles of the database during one run.
const FAULTS: usize = 2;
/// Clients sending requests at the same time.
const CLIENTS: usize = 6;
/// How long the database stays down in each cycle.
const DOWNTIME: Duration = Duration::from_millis(2500);
/// The server must answer ready again within this time of the database's return.
const RECOVERY: Duration = Duration::from_secs(5);
/// The whole scenario, cluster and server start included.
const BUDGET: Duration = Duration::from_secs(60);

/// The requests the clients send, in turn. Adding a kind of request is one line: its name,
/// the status it answers while the database is up, the access-log action each such answer
/// must have committed (found by its request id), and how to build it from the [`Context`]
/// (which holds what the setup created, e.g. a token).
const TRAFFIC: &[Probe] = &[
    Probe {
        name: "login",
        ok: 200,
        logs: Some("auth.login"),
        build: |c| c.post("/v1/auth/login", None, &c.credentials),
    },
    Probe { name: "me", ok: 200, logs: None, build: |c| c.get("/v1/me", Some(&c.token)) },
    Probe { name: "ready", ok: 200, logs: None, build: |c| c.get("/health/ready", None) },
    Probe {
        name: "open case",
        ok: 201,
        logs: Some("case.create"),
        build: |c| c.post("/v1/cases", Some(&c.token), &new_case()),
    },
];

/// A case the signed-in counsellor opens (without a ZEMIS number, so it may be opened often).
fn new_case() -> Value {
    let departure = chrono::Utc::now().date_naive() + chrono::Days::new(30);
    json!({
        "programme": "cantonal", "destination_country": "IQ",
        "planned_departure_date": departure.to_string(),
        "persons": [{ "relationship": "principal", "surname": "Hassan", "given_names": "Karim",
            "date_of_birth": "1988-04-12", "sex": "male", "nationality": "IQ" }]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_answers_503_while_the_database_is_down_and_recovers_without_losing_commits() {
    let Some(bin) = postgres_binaries() else {
        // CI must run it: there a missing server is a broken machine, not a reason to pass.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but no PostgreSQL server binaries (initdb, pg_ctl, postgres) were found \
             under /usr/lib/postgresql/*/bin, $PG_BIN_DIR or PATH"
        );
        println!(
            "SKIPPED database-fault test: no PostgreSQL server binaries (initdb, pg_ctl, \
             postgres) under /usr/lib/postgresql/*/bin, $PG_BIN_DIR or PATH"
        );
        return;
    };
    tokio::time::timeout(BUDGET, scenario(bin))
        .await
        .unwrap_or_else(|_| panic!("the database-fault scenario took longer than {BUDGET:?}"));
}

async fn scenario(bin: PathBuf) {
    let cluster = blocking(move || Cluster::start(&bin)).await;
    let cluster = Arc::new(cluster);
    let server = Server::start(&cluster.url("retour"), cluster.dir());
    retour_store::documents::objects::install_crypto_provider();
    let client =
        reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("HTTP client");
    wait_until_ready(&client, &server.base, Duration::from_secs(30))
        .await
        .unwrap_or_else(|| panic!("the server did not get ready{}", server.log_tail()));

    let credentials = json!({ "email": "counsellor.be@demo.test", "password": "retour-demo" });
    let login = client
        .post(format!("{}/v1/auth/login", server.base))
        .header("content-type", "application/json")
        .body(credentials.to_string())
        .send()
        .await
        .expect("sign in");
    assert_eq!(login.status(), 200, "sign in before the faults");
    let body: Value = serde_json::from_slice(&login.bytes().await.expect("body")).expect("json");
    let token = body["access_token"].as_str().expect("access_token").to_owned();
    let context =
        Arc::new(Context { client: client.clone(), base: server.base.clone(), token, credentials });

    let phase = Arc::new(AtomicU8::new(Phase::Up as u8));
    let stop = Arc::new(AtomicBool::new(false));
    let records = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let (context, phase, stop, records) =
                (context.clone(), phase.clone(), stop.clone(), records.clone());
            tokio::spawn(async move {
                let mut turn = n;
                while !stop.load(Ordering::Relaxed) {
                    let record = context.send(&TRAFFIC[turn % TRAFFIC.len()], &phase).await;
                    records.lock().expect("records").push(record);
                    turn += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        })
        .collect();

    let mut recoveries = Vec::new();
    for _ in 0..FAULTS {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        phase.store(Phase::Stopping as u8, Ordering::SeqCst);
        let c = cluster.clone();
        blocking(move || c.pg_ctl(&["stop", "-m", "immediate", "-w"])).await;
        phase.store(Phase::Down as u8, Ordering::SeqCst);

        let ready = client.get(format!("{}/health/ready", server.base)).send().await;
        let ready = ready.expect("readiness answers while the database is down");
        assert_eq!(ready.status(), 503, "readiness while the database is down");
        assert_problem(ready, "service_unavailable").await;
        tokio::time::sleep(DOWNTIME).await;

        phase.store(Phase::Starting as u8, Ordering::SeqCst);
        let c = cluster.clone();
        blocking(move || c.pg_ctl_start()).await;
        let back = Instant::now();
        let recovered = wait_until_ready(&client, &server.base, RECOVERY).await;
        assert!(
            recovered.is_some(),
            "the server was not ready {RECOVERY:?} after the database came back{}",
            server.log_tail()
        );
        recoveries.push(back.elapsed());
        phase.store(Phase::Up as u8, Ordering::SeqCst);
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.expect("client task");
    }

    let records = std::mem::take(&mut *records.lock().expect("records"));
    let mut problems = Vec::new();
    let mut tally: BTreeMap<(&str, &str, String), usize> = BTreeMap::new();
    for r in &records {
        let outcome = r.status.map_or_else(|| format!("error: {}", r.error), |s| s.to_string());
        *tally.entry((r.probe.name, r.phase(), outcome)).or_default() += 1;
        if let Some(problem) = r.problem() {
            problems.push(problem);
        }
    }
    println!("faults injected: {FAULTS}; requests: {}", records.len());
    println!("recovered (ready again) after: {recoveries:?}");
    for ((probe, phase, outcome), n) in &tally {
        println!("  {probe:9} {phase:10} {outcome:>5}: {n}");
    }
    assert!(
        problems.is_empty(),
        "unexpected answers:\n{}{}",
        problems.join("\n"),
        server.log_tail()
    );
    let down_503s = records.iter().filter(|r| r.sent == Phase::Down && r.status == Some(503));
    assert!(down_503s.count() > 0, "no request was answered while the database was down");

    // Nothing committed was lost: every answer with the probe's status has its access-log
    // event, and no session exists without one (the refresh token and the event commit
    // together).
    let pool = sqlx::PgPool::connect(&cluster.url("retour")).await.expect("connect to the cluster");
    let events: Vec<(String, Option<String>)> =
        sqlx::query_as("select action, request_id from audit_events")
            .fetch_all(&pool)
            .await
            .expect("audit events");
    let logged: HashSet<(&str, &str)> =
        events.iter().filter_map(|(a, id)| Some((a.as_str(), id.as_deref()?))).collect();
    for probe in TRAFFIC {
        let Some(action) = probe.logs else { continue };
        let answered: Vec<&Record> = records
            .iter()
            .filter(|r| r.probe.name == probe.name && r.status == Some(probe.ok))
            .collect();
        let missing: Vec<&str> = answered
            .iter()
            .filter(|r| !logged.contains(&(action, r.request_id.as_str())))
            .map(|r| r.request_id.as_str())
            .collect();
        let recorded = events.iter().filter(|(a, _)| a == action).count();
        println!(
            "{}: {} answered {}, {recorded} {action} events",
            probe.name,
            answered.len(),
            probe.ok
        );
        assert!(
            missing.is_empty(),
            "{} answered {} without its {action} event: {missing:?}",
            probe.name,
            probe.ok
        );
    }
    let sign_ins = events.iter().filter(|(a, _)| a == "auth.login").count();
    let sessions: i64 = sqlx::query_scalar("select count(*) from refresh_tokens")
        .fetch_one(&pool)
        .await
        .expect("refresh tokens");
    assert_eq!(
        usize::try_from(sessions).expect("count"),
        sign_ins,
        "every session (refresh token) has exactly one auth.login event"
    );
    // Every case that exists was written whole: its household, the opening in its history and
    // its access-log event; none of them exists without the case.
    let (cases, half_written): (i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where \
             not exists (select 1 from case_persons p where p.case_id = c.id) \
             or (select count(*) from case_events h where h.case_id = c.id and h.action = 'open') <> 1 \
             or (select count(*) from audit_events e where e.action = 'case.create' \
                 and e.resource_id = c.id) <> 1) \
         from cases c",
    )
    .fetch_one(&pool)
    .await
    .expect("cases");
    let openings: i64 = sqlx::query_scalar(
        "select count(*) from audit_events where action = 'case.create' and outcome = 'allowed'",
    )
    .fetch_one(&pool)
    .await
    .expect("openings");
    println!("cases opened: {cases}, half-written: {half_written}");
    assert!(cases > 0, "no case was opened");
    assert_eq!(half_written, 0, "a case lacks its household, its opening or its event");
    assert_eq!(openings, cases, "a case.create event without its case");
    pool.close().await;
}

/// Where the database is in the fault cycle when a request is sent or answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    Up,
    Stopping,
    Down,
    Starting,
}

impl Phase {
    fn load(phase: &AtomicU8) -> Self {
        match phase.load(Ordering::SeqCst) {
            0 => Phase::Up,
            1 => Phase::Stopping,
            2 => Phase::Down,
            _ => Phase::Starting,
        }
    }
}

/// One kind of request in [`TRAFFIC`].
struct Probe {
    name: &'static str,
    /// The status while the database is up.
    ok: u16,
    /// The access-log action that an answer with status `ok` has committed.
    logs: Option<&'static str>,
    build: fn(&Context) -> reqwest::RequestBuilder,
}

/// What the clients share: the HTTP client, the server's address and a signed-in token.
struct Context {
    client: reqwest::Client,
    base: String,
    token: String,
    credentials: Value,
}

impl Context {
    fn get(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let request = self.client.get(format!("{}{path}", self.base));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::RequestBuilder {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends one request with its own request id (which the access log records).
    async fn send(&self, probe: &'static Probe, phase: &AtomicU8) -> Record {
        let request_id = uuid::Uuid::now_v7().to_string();
        let sent = Phase::load(phase);
        let response = (probe.build)(self).header("x-request-id", &request_id).send().await;
        let mut record = Record {
            probe,
            request_id,
            sent,
            received: Phase::Up,
            status: None,
            content_type: String::new(),
            code: String::new(),
            error: String::new(),
        };
        match response {
            Ok(response) => {
                record.status = Some(response.status().as_u16());
                record.content_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let body: Value = match response.bytes().await {
                    Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
                    Err(error) => {
                        record.error = error.to_string();
                        Value::Null
                    }
                };
                record.code = body["code"].as_str().unwrap_or_default().to_owned();
            }
            Err(error) => record.error = error.to_string(),
        }
        record.received = Phase::load(phase);
        record
    }
}

/// One request and its answer.
struct Record {
    probe: &'static Probe,
    request_id: String,
    sent: Phase,
    received: Phase,
    status: Option<u16>,
    content_type: String,
    code: String,
    error: String,
}

impl Record {
    fn phase(&self) -> &'static str {
        match (self.sent, self.received) {
            (Phase::Up, Phase::Up) => "up",
            (Phase::Down, Phase::Down) => "down",
            _ => "transition",
        }
    }

    /// What is wrong with this answer, if anything. The server must always answer: with the
    /// probe's status while the database is up, a 503 problem (`service_unavailable`) while it
    /// is down, and one of the two around a stop or start.
    fn problem(&self) -> Option<String> {
        let what = format!("{} {} ({})", self.probe.name, self.request_id, self.phase());
        let Some(status) = self.status else {
            return Some(format!("{what}: no answer: {}", self.error));
        };
        let is_unavailable = status == 503
            && self.content_type.starts_with("application/problem+json")
            && self.code == "service_unavailable";
        match (self.sent, self.received) {
            (Phase::Down, Phase::Down) if !is_unavailable => {
                return Some(format!(
                    "{what}: {status} {} `{}` while the database was down",
                    self.content_type, self.code
                ));
            }
            (Phase::Up, Phase::Up) if status != self.probe.ok => {
                return Some(format!(
                    "{what}: {status} {} `{}` while the database was up",
                    self.content_type, self.code
                ));
            }
            _ => {}
        }
        if status != self.probe.ok && !is_unavailable {
            return Some(format!("{what}: {status} {} `{}`", self.content_type, self.code));
        }
        None
    }
}

async fn assert_problem(response: reqwest::Response, code: &str) {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value =
        serde_json::from_slice(&response.bytes().await.expect("body")).expect("problem json");
    assert_eq!(body["code"], code, "{body}");
}

/// Polls `/health/ready` until it answers 200; how long that took, or `None` after `limit`.
async fn wait_until_ready(
    client: &reqwest::Client,
    base: &str,
    limit: Duration,
) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        let ready =
            client.get(format!("{base}/health/ready")).timeout(Duration::from_secs(1)).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("address").port()
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`: `$PG_BIN_DIR` (which must hold
/// them), else the newest
/// `/usr/lib/postgresql/*/bin` (Debian, Ubuntu), else the directory of `initdb` on `PATH`.
fn postgres_binaries() -> Option<PathBuf> {
    let complete =
        |dir: &Path| ["initdb", "pg_ctl", "postgres"].iter().all(|b| dir.join(b).is_file());
    if let Some(dir) = std::env::var_os("PG_BIN_DIR").map(PathBuf::from) {
        assert!(complete(&dir), "PG_BIN_DIR={} lacks initdb, pg_ctl or postgres", dir.display());
        return Some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| complete(dir))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Some(dir);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).find(|dir| complete(dir))
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A throwaway PostgreSQL cluster in a temporary directory; stopped and removed on drop.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    fn start(bin: &Path) -> Self {
        let dir = tempfile::Builder::new().prefix("retour-db-faults-").tempdir().expect("temp dir");
        let as_postgres = running_as_root();
        if as_postgres {
            // PostgreSQL refuses to run as root: the cluster belongs to the `postgres` user.
            let status = Command::new("chown")
                .args(["postgres:", &dir.path().display().to_string()])
                .status()
                .expect("chown");
            assert!(status.success(), "running as root needs a `postgres` system user");
        }
        let cluster = Cluster { dir, bin: bin.to_owned(), port: free_port(), as_postgres };
        let data = cluster.data().display().to_string();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        cluster.pg_ctl_start();
        cluster
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn data(&self) -> PathBuf {
        self.dir().join("data")
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        command.current_dir(self.dir()).stdin(Stdio::null());
        command
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = self.command(program).args(args).output().expect(program);
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stderr),
            self.log_tail()
        );
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data().display().to_string();
        let mut all = vec!["-D", &data];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all);
    }

    /// Starts the server and waits until it accepts connections. `fsync=off` only gives up
    /// durability against an operating-system crash; a stopped server loses nothing.
    fn pg_ctl_start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir().display()
        );
        let log = self.dir().join("postgres.log").display().to_string();
        self.pg_ctl(&["start", "-w", "-t", "30", "-l", &log, "-o", &options]);
    }

    fn log_tail(&self) -> String {
        tail("postgres", &self.dir().join("postgres.log"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "stop", "-m", "immediate", "-w"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The `retour` binary under test; killed on drop.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    fn start(database_url: &str, dir: &Path) -> Self {
        let addr = format!("127.0.0.1:{}", free_port());
        let log = dir.join("retour.log");
        let file = std::fs::File::create(&log).expect("server log");
        let child = Command::new(env!("CARGO_BIN_EXE_retour"))
            .args(["serve", "--demo"])
            .env("DATABASE_URL", database_url)
            .env("RETOUR_ADDR", &addr)
            .env("RETOUR_LOG", "json")
            // Hundreds of sign-ins from one address are the point here, not an attack.
            .env("RETOUR_LOGIN_RATE_PER_MINUTE", "0")
            .env("RUST_LOG", "info,sqlx=warn")
            // A request waiting for a connection gives up after 1 s, so that answers
            // arrive while the database is still down.
            .env("RETOUR_DB_ACQUIRE_TIMEOUT", "1")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("start retour");
        Server { child, base: format!("http://{addr}"), log }
    }

    fn log_tail(&self) -> String {
        tail("retour", &self.log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("{}", self.log_tail());
        }
    }
}

fn tail(name: &str, path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(30);
    format!("\n--- last lines of the {name} log ---\n{}", lines[start..].join("\n"))
}
