//! A real S3 server for the object-store tests: moto's server mode (`moto_server`), started
//! per test on a free port, with an empty bucket, stopped when dropped.
//!
//! The server is found at `$RETOUR_TEST_S3_SERVER`, in `.venv-s3/bin/` (where `.ci/run`
//! installs it, pinned), or on `PATH`. Without one the tests are skipped, saying so, unless
//! `CI` is set: there a missing server is a broken machine, and the tests fail.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use retour_store::documents::objects::ObjectStorage;

/// How long the server may take to answer after it was started (a loaded CI machine).
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct S3Server {
    child: Child,
    pub endpoint: String,
    pub bucket: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

fn server_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RETOUR_TEST_S3_SERVER") {
        return Some(PathBuf::from(path));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-s3/bin/moto_server");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|dir| dir.join("moto_server")).find(|p| p.is_file())
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

impl S3Server {
    /// A running server with an empty bucket; `None` (after a notice) where no server is
    /// installed and `CI` is not set.
    pub async fn start() -> Option<S3Server> {
        let Some(binary) = server_binary() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but no S3 test server (moto_server) was found at \
                 $RETOUR_TEST_S3_SERVER, .venv-s3/bin/ or on PATH: .ci/run installs it"
            );
            println!(
                "SKIPPED object-store test: no S3 test server (moto_server) at \
                 $RETOUR_TEST_S3_SERVER, .venv-s3/bin/ or on PATH (.ci/run installs it)"
            );
            return None;
        };
        // A port found free may be taken before the server binds it: try another.
        let mut last_error = String::new();
        for _ in 0..3 {
            match Self::try_start(&binary).await {
                Ok(server) => return Some(server),
                Err(error) => last_error = error,
            }
        }
        panic!("the S3 test server ({}) did not start: {last_error}", binary.display());
    }

    async fn try_start(binary: &std::path::Path) -> Result<S3Server, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let log = dir.path().join("s3.log");
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let port = free_port();
        let child = Command::new(binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("spawning it: {e}"))?;
        let mut server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: "retour-documents".to_owned(),
            log,
            _dir: dir,
        };
        // Ready when it creates the bucket (moto takes unsigned requests).
        retour_store::documents::objects::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("it exited ({status}): {}", server.log_tail()));
            }
            let created = client.put(format!("{}/{}", server.endpoint, server.bucket)).send().await;
            if let Ok(response) = created {
                if response.status().is_success() {
                    return Ok(server);
                }
                return Err(format!("creating the bucket: {}", response.status()));
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(format!("no answer within {START_TIMEOUT:?}: {}", server.log_tail()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The bucket as the server under test sees it.
    pub fn storage(&self) -> ObjectStorage {
        let builder = AmazonS3Builder::new()
            .with_bucket_name(&self.bucket)
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id("retour-test")
            .with_secret_access_key("retour-test-secret");
        ObjectStorage::s3_with(builder).expect("the test bucket's client")
    }

    /// Every object's path under `documents/`.
    pub async fn objects(&self) -> Vec<Path> {
        let storage = self.storage();
        let listed: Vec<_> = storage
            .store()
            .list(Some(&Path::from("documents")))
            .try_collect()
            .await
            .expect("list the bucket");
        listed.into_iter().map(|meta| meta.location).collect()
    }

    /// Multipart uploads started and neither completed nor aborted.
    pub async fn open_uploads(&self) -> usize {
        retour_store::documents::objects::install_crypto_provider();
        let response = reqwest::Client::new()
            .get(format!("{}/{}?uploads", self.endpoint, self.bucket))
            .send()
            .await
            .expect("list multipart uploads");
        assert!(response.status().is_success(), "listing multipart uploads: {}", response.status());
        let text = response.text().await.expect("body");
        text.matches("<Upload>").count()
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `haystack` holds `needle`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
