//! The HTTP scenarios: read one case, search, transitions, the work queue, login.

use std::sync::Arc;

use anyhow::Context;
use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};

use crate::runner::{self, Load, Measurement};

const PASSWORD: &str = "retour-demo";

/// A client of the server under test.
#[derive(Clone)]
pub struct Api {
    client: Client,
    base: String,
}

impl Api {
    #[allow(deprecated)] // the ring provider, as the database's TLS: see retour-store
    pub fn new(base: &str) -> anyhow::Result<Self> {
        // Built within the workspace, reqwest has TLS without a crypto provider of its own
        // (the object store's client): ring, as everywhere else. Installed already is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .context("building the HTTP client")?;
        Ok(Self { client, base: base.trim_end_matches('/').to_owned() })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn login(&self, email: &str) -> anyhow::Result<String> {
        let response = self
            .client
            .post(self.url("/v1/auth/login"))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == StatusCode::OK,
            "login {email}: {}",
            response.status()
        );
        let body: Value = response.json().await?;
        body["access_token"].as_str().map(str::to_owned).context("access_token")
    }

    /// Sends `body` (none when null) and reads the JSON answer; a status that is not 2xx is
    /// an error.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> anyhow::Result<Value> {
        let mut request = self.client.request(method, self.url(path)).bearer_auth(token);
        if !body.is_null() {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        anyhow::ensure!(status.is_success(), "{path}: {status} {text}");
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// An access token of a service account (client-credentials grant).
    pub async fn client_credentials(
        &self,
        client_id: &str,
        secret: &str,
    ) -> anyhow::Result<String> {
        let response = self
            .client
            .post(self.url("/v1/auth/token"))
            .basic_auth(client_id, Some(secret))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await?;
        anyhow::ensure!(response.status() == StatusCode::OK, "token: {}", response.status());
        let body: Value = response.json().await?;
        body["access_token"].as_str().map(str::to_owned).context("access_token")
    }

    pub async fn get_json(&self, path: &str, token: &str) -> Result<Value, String> {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status() != StatusCode::OK {
            return Err(format!("GET {path}: {}", response.status()));
        }
        response.json().await.map_err(|e| e.to_string())
    }

    /// Posts a transition with `If-Match`; returns the new ETag.
    async fn transition(
        &self,
        token: &str,
        id: &str,
        etag: &str,
        body: &Value,
    ) -> Result<String, String> {
        let response = self
            .client
            .post(self.url(&format!("/v1/cases/{id}/transitions")))
            .bearer_auth(token)
            .header(header::IF_MATCH, etag)
            .json(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let etag =
            response.headers().get(header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        if status != StatusCode::OK {
            let text = response.text().await.unwrap_or_default();
            return Err(format!("{} {status}: {text}", body["action"]));
        }
        etag.ok_or_else(|| "no ETag".to_owned())
    }

    async fn etag_of(&self, token: &str, id: &str) -> anyhow::Result<String> {
        let response =
            self.client.get(self.url(&format!("/v1/cases/{id}"))).bearer_auth(token).send().await?;
        anyhow::ensure!(
            response.status() == StatusCode::OK,
            "GET case {id}: {}",
            response.status()
        );
        response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .context("ETag")
    }

    /// Ids of up to `want` cases the caller sees, filtered by `query` (e.g. `status=submitted`).
    pub async fn case_ids(
        &self,
        token: &str,
        query: &str,
        want: usize,
    ) -> anyhow::Result<Vec<String>> {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        while ids.len() < want {
            let mut path = format!("/v1/cases?limit=200&{query}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = self.get_json(&path, token).await.map_err(anyhow::Error::msg)?;
            for item in page["items"].as_array().into_iter().flatten() {
                if let Some(id) = item["id"].as_str() {
                    ids.push(id.to_owned());
                }
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        ids.truncate(want);
        Ok(ids)
    }
}

/// What the read scenario and its baseline share: a counsellor and the cases they may read.
pub struct ReadFixture {
    pub token: String,
    pub user_id: String,
    pub case_ids: Vec<String>,
}

pub async fn read_fixture(api: &Api) -> anyhow::Result<ReadFixture> {
    let token = api.login("counsellor.be@demo.test").await?;
    let me = api.get_json("/v1/me", &token).await.map_err(anyhow::Error::msg)?;
    let case_ids = api.case_ids(&token, "", 2000).await?;
    anyhow::ensure!(
        !case_ids.is_empty(),
        "counsellor.be@demo.test sees no case: seed the database first"
    );
    Ok(ReadFixture { token, user_id: me["id"].as_str().unwrap_or_default().to_owned(), case_ids })
}

/// `GET /v1/cases/{id}` as the case's counsellor (every read is access-logged).
pub async fn read(api: &Api, fixture: &ReadFixture, load: Load) -> Measurement {
    let api = api.clone();
    let token = Arc::new(fixture.token.clone());
    let ids = Arc::new(fixture.case_ids.clone());
    runner::run(load, move |client, iteration| {
        let api = api.clone();
        let token = Arc::clone(&token);
        let ids = Arc::clone(&ids);
        async move {
            let index = (client * 7919 + usize::try_from(iteration).unwrap_or(0)) % ids.len();
            api.get_json(&format!("/v1/cases/{}", ids[index]), &token).await.map(drop)
        }
    })
    .await
}

/// Surnames common among the seeded households, for free-text search.
pub const QUERIES: [&str; 8] =
    ["hassan", "ahmed", "ali", "mohammed", "popescu", "kovalenko", "perera", "okafor"];

/// `GET /v1/cases?q=…&status=…` as SEM (who sees every submitted case), then the next page.
pub async fn search(api: &Api, load: Load) -> anyhow::Result<Measurement> {
    let api = api.clone();
    let token = Arc::new(api.login("sem@demo.test").await?);
    Ok(runner::run(load, move |client, iteration| {
        let api = api.clone();
        let token = Arc::clone(&token);
        async move {
            let q = QUERIES[(client + usize::try_from(iteration).unwrap_or(0)) % QUERIES.len()];
            let first = api
                .get_json(
                    &format!("/v1/cases?q={q}&status=approved,departed,closed&limit=50"),
                    &token,
                )
                .await?;
            if let Some(cursor) = first["next_cursor"].as_str() {
                api.get_json(
                    &format!(
                        "/v1/cases?q={q}&status=approved,departed,closed&limit=50&cursor={cursor}"
                    ),
                    &token,
                )
                .await?;
            }
            Ok(())
        }
    })
    .await)
}

/// One submitted case per client: SEM starts the review, then SEM asks and the counsellor
/// answers, over and over (each step a transition with `If-Match`). Only a case's reviewer
/// asks, so the cases are those the officer reviews, then submitted ones (SEM's team shares
/// the reviews).
pub async fn transition(api: &Api, load: Load) -> anyhow::Result<Measurement> {
    let fixture = Arc::new(TransitionFixture::new(api, load.clients).await?);
    let api = api.clone();
    Ok(runner::run(load, move |client, _iteration| {
        let api = api.clone();
        let fixture = Arc::clone(&fixture);
        async move { fixture.step(&api, client).await }
    })
    .await)
}

/// A case under review per client, and the tokens of SEM and the counsellor who take turns
/// asking and answering on it.
pub struct TransitionFixture {
    /// Each case's id, ETag, and whether SEM asks next (else the counsellor answers).
    states: Vec<tokio::sync::Mutex<(String, String, bool)>>,
    sem: String,
    counsellor: String,
}

impl TransitionFixture {
    pub async fn new(api: &Api, clients: usize) -> anyhow::Result<Self> {
        let sem = api.login("sem@demo.test").await?;
        let counsellor = api.login("counsellor.be@demo.test").await?;
        let me = api.get_json("/v1/me", &sem).await.map_err(anyhow::Error::msg)?;
        let reviewer = me["id"].as_str().unwrap_or_default();
        let mut ids = api
            .case_ids(
                &counsellor,
                &format!("status=under_review,info_requested&reviewer_id={reviewer}"),
                clients,
            )
            .await?;
        if ids.len() < clients {
            ids.extend(api.case_ids(&counsellor, "status=submitted", clients - ids.len()).await?);
        }
        anyhow::ensure!(
            ids.len() == clients,
            "need {clients} BE cases submitted or under review, found {}",
            ids.len()
        );
        let mut states = Vec::new();
        for id in &ids {
            let mut etag = api.etag_of(&sem, id).await?;
            let case =
                api.get_json(&format!("/v1/cases/{id}"), &sem).await.map_err(anyhow::Error::msg)?;
            // Every case starts under review (an earlier run may have left it waiting for an
            // answer).
            if case["status"] == "submitted" {
                etag = api
                    .transition(&sem, id, &etag, &json!({"action": "start_review"}))
                    .await
                    .map_err(anyhow::Error::msg)?;
            } else if case["status"] == "info_requested" {
                let answer = json!({"action": "answer_info", "answer": "Answered before the run."});
                etag = api
                    .transition(&counsellor, id, &etag, &answer)
                    .await
                    .map_err(anyhow::Error::msg)?;
            }
            states.push(tokio::sync::Mutex::new((id.clone(), etag, true)));
        }
        Ok(Self { states, sem, counsellor })
    }

    /// The next step on client `client`'s case: SEM asks, or the counsellor answers.
    pub async fn step(&self, api: &Api, client: usize) -> Result<(), String> {
        let mut state = self.states[client % self.states.len()].lock().await;
        let (id, etag, asking) = &mut *state;
        let (token, body) = if *asking {
            (
                &self.sem,
                json!({"action": "request_info", "question": "Please confirm the travel documents."}),
            )
        } else {
            (
                &self.counsellor,
                json!({"action": "answer_info", "answer": "The passport is valid until 2030."}),
            )
        };
        *etag = api.transition(token, id, etag, &body).await?;
        *asking = !*asking;
        Ok(())
    }
}

/// The roles whose work queue the queue scenario reads, in turn.
pub const QUEUE_USERS: [&str; 3] = ["counsellor.be@demo.test", "sem@demo.test", "iom@demo.test"];

/// `GET /v1/me/queue` (the first page and its counts) as a counsellor, a SEM officer and the
/// IOM coordinator, in turn.
pub async fn queue(api: &Api, load: Load) -> anyhow::Result<Measurement> {
    let mut tokens = Vec::new();
    for email in QUEUE_USERS {
        tokens.push(api.login(email).await?);
    }
    let tokens = Arc::new(tokens);
    let api = api.clone();
    Ok(runner::run(load, move |client, iteration| {
        let api = api.clone();
        let tokens = Arc::clone(&tokens);
        async move {
            let token = &tokens[(client + usize::try_from(iteration).unwrap_or(0)) % tokens.len()];
            api.get_json("/v1/me/queue", token).await.map(drop)
        }
    })
    .await)
}

/// `POST /v1/auth/login`: argon2id verification dominates.
pub async fn login(api: &Api, load: Load) -> Measurement {
    const USERS: [&str; 4] =
        ["counsellor.be@demo.test", "counsellor.zh@demo.test", "sem@demo.test", "iom@demo.test"];
    let api = api.clone();
    runner::run(load, move |client, iteration| {
        let api = api.clone();
        async move {
            let email = USERS[(client + usize::try_from(iteration).unwrap_or(0)) % USERS.len()];
            api.login(email).await.map(drop).map_err(|e| e.to_string())
        }
    })
    .await
}

/// The size of each uploaded document: the installation's default limit (20 MiB) less room
/// for the form around it.
pub const UPLOAD_BYTES: usize = 20 * 1024 * 1024 - 4096;

const BOUNDARY: &str = "retour-bench-boundary";

/// A multipart upload of a `size`-byte PDF (its header, then bytes that do not compress) as
/// a document of category `other`.
fn upload_body(size: usize) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"category\"\r\n\r\nother\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"scan.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
    )
    .into_bytes();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let start = body.len();
    body.resize(start + size.saturating_sub(9), 0);
    for byte in &mut body[start..] {
        // xorshift: cheap bytes no compression or deduplication shortens.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state.to_le_bytes()[0];
    }
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// `POST /v1/cases/{id}/documents`: 20 MB documents uploaded by the Bernese counsellor to a
/// case of theirs in counselling, streamed through the server into encrypted storage. The
/// figure that matters besides throughput (reported in MB/s beside the table) is the server's
/// peak memory while `clients` uploads run at once.
pub async fn upload(api: &Api, load: Load) -> anyhow::Result<Measurement> {
    let token = api.login("counsellor.be@demo.test").await?;
    let cases = api
        .get_json("/v1/cases?status=counselling&limit=1", &token)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let case_id = cases["items"][0]["id"]
        .as_str()
        .context("the upload scenario needs a Bernese case in counselling (seed the demo)")?
        .to_owned();
    let body = Arc::new(upload_body(UPLOAD_BYTES));
    let url = api.url(&format!("/v1/cases/{case_id}/documents"));
    let client = api.client.clone();
    let token = Arc::new(token);
    Ok(runner::run(load, move |_, _| {
        let (client, url, token, body) =
            (client.clone(), url.clone(), Arc::clone(&token), Arc::clone(&body));
        async move {
            let response = client
                .post(&url)
                .bearer_auth(token.as_str())
                .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
                .body(body.as_ref().clone())
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if response.status() != StatusCode::CREATED {
                return Err(format!("upload: {}", response.status()));
            }
            Ok(())
        }
    })
    .await)
}
