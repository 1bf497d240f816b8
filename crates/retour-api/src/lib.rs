//! Retour's HTTP API: the axum router, its handlers, authentication, problem+json errors and
//! the OpenAPI document generated from the handlers.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderValue;
use retour_store::Store;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub mod admin;
pub mod auth;
pub mod client_addr;
mod csv_out;
pub mod demo;
pub mod error;
mod health;
pub mod json;
mod layers;
pub mod lifecycle;
mod metrics;
pub mod nats;
pub mod pagination;
pub mod path;
pub mod pdf;
pub mod problems;
pub mod query;
mod refusals;
mod routes;
mod spec;
pub mod webhooks;

pub use auth::token::TokenConfig;
pub use auth::{Keys, LoginLimits, TokenCache};
pub use error::ApiError;

/// HTTP settings of a running server.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Origins allowed to call the API from a browser; empty allows none.
    pub cors_origins: Vec<HeaderValue>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Longest a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// Access and refresh tokens.
    pub tokens: TokenConfig,
    /// Sign-in lockout and rate limit.
    pub login: LoginLimits,
    /// Proxies (addresses or networks) whose `X-Forwarded-For` is believed; none by default.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Documents: their largest size, their keys and storage, and whether `submit` needs the
    /// signed request.
    pub documents: DocumentsConfig,
    /// Webhooks: where they may be sent, and how the dispatcher works.
    pub webhooks: webhooks::WebhookConfig,
    /// Break-glass: who may open a case outside their scope in an emergency, for how long.
    pub break_glass: BreakGlassConfig,
}

/// Who may open a case outside their scope in an emergency, and for how long.
#[derive(Debug, Clone)]
pub struct BreakGlassConfig {
    /// The roles that may (SEM officers by default); none turns break-glass off.
    pub roles: Vec<retour_domain::Role>,
    /// How long a use opens the case (60 minutes).
    pub duration: Duration,
}

impl Default for BreakGlassConfig {
    fn default() -> Self {
        Self {
            roles: vec![retour_domain::Role::SemOfficer],
            duration: Duration::from_secs(60 * 60),
        }
    }
}

/// How an installation keeps documents.
#[derive(Debug, Clone)]
pub struct DocumentsConfig {
    /// The largest document, in bytes (20 MB by default).
    pub max_bytes: u64,
    /// `submit` needs a current `return_request` document (on by default).
    pub require_return_request: bool,
    /// The master keys that wrap the documents' data keys; without them documents can be
    /// neither stored nor read (503).
    pub keys: Option<retour_store::documents::crypto::MasterKeys>,
    /// Where new documents' content goes.
    pub storage: retour_store::documents::content::Storage,
    /// An object store read for the documents kept there while new ones go to the
    /// database (`storage`): after switching back from an object store. When `storage` is
    /// an object store, that one is read.
    pub read_objects: Option<retour_store::documents::objects::ObjectStorage>,
}

impl DocumentsConfig {
    /// The object store documents kept in one are read from, if any.
    pub fn objects(&self) -> Option<&retour_store::documents::objects::ObjectStorage> {
        self.storage.object_store().or(self.read_objects.as_ref())
    }
}

/// The largest document by default: 20 MB.
pub const DEFAULT_DOCUMENT_MAX_BYTES: u64 = 20 * 1024 * 1024;

impl Default for DocumentsConfig {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_DOCUMENT_MAX_BYTES,
            require_return_request: true,
            keys: None,
            storage: Default::default(),
            read_objects: None,
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            cors_origins: Vec::new(),
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            tokens: TokenConfig::default(),
            login: LoginLimits::default(),
            trusted_proxies: Vec::new(),
            documents: DocumentsConfig::default(),
            webhooks: webhooks::WebhookConfig::default(),
            break_glass: BreakGlassConfig::default(),
        }
    }
}

/// What every handler can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: ApiConfig,
    keys: Keys,
    tokens: TokenCache,
}

impl AppState {
    pub fn new(store: Store, config: ApiConfig, keys: Keys) -> Self {
        Self { inner: Arc::new(Inner { store, config, keys, tokens: TokenCache::default() }) }
    }

    /// Listens for changes to accounts, institutions and signed-out tokens, so that verified
    /// tokens can be kept in memory (see [`auth::cache`]); until it listens, and whenever the
    /// connection is lost, every request is checked against the database. Holds one of the
    /// pool's connections; ends when the pool is closed.
    pub fn watch_auth_changes(&self) -> tokio::task::JoinHandle<()> {
        let tokens = self.inner.tokens.clone();
        let pool = self.inner.store.pool().clone();
        tokio::spawn(retour_store::auth_changes::watch(pool, move |signal| tokens.observe(signal)))
    }

    /// The verified tokens kept in memory.
    pub fn tokens(&self) -> &TokenCache {
        &self.inner.tokens
    }

    /// An account, an institution or a token changed here: forget the verified tokens now
    /// (the database announces it to every server too, a moment later).
    pub fn auth_changed(&self) {
        self.inner.tokens.clear();
    }

    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &ApiConfig {
        &self.inner.config
    }

    /// The installation's master keys (documents' data keys, webhook and authenticator
    /// secrets), or 503 saying that `what` needs one and none is configured.
    pub fn master_keys(
        &self,
        what: &str,
    ) -> Result<&retour_store::documents::crypto::MasterKeys, ApiError> {
        self.inner.config.documents.keys.as_ref().ok_or_else(|| {
            ApiError::Unavailable(format!(
                "{what}: this installation has no master key (RETOUR_DOCUMENT_KEYS)"
            ))
        })
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Retour",
        description = "Case management for Swiss voluntary return assistance (Rückkehrhilfe): \
            counselling services, SEM, IOM Bern and IOM missions work on one case from first \
            counselling to closure. Errors are RFC 9457 problem documents with a stable `code`. \
            Every answer carries `X-Request-Id` (the client's, or a new UUID).",
        contact(name = "Retour maintainers"),
        license(name = "AGPL-3.0-only", identifier = "AGPL-3.0-only")
    ),
    servers((url = "/", description = "The server that serves this document")),
    tags(
        (name = "audit", description = "The access log (DSV Art. 4), for those who check compliance"),
        (name = "auth", description = "Signing in, tokens and the caller's profile"),
        (name = "institutions", description = "Partner institutions (listed for every signed-in caller; managed by administrators)"),
        (name = "users", description = "User accounts (administrators)"),
        (name = "service-accounts", description = "Integrators' OAuth 2 clients (administrators)"),
        (name = "cases", description = "Cases and their households, notes, search; the return workflow, its history, entitlement, reintegration records and reclaims"),
        (name = "events", description = "What happened to cases, for partner systems: the event feed, webhook subscriptions and their deliveries"),
        (name = "data-protection", description = "The data protection officer's work: retention rules, and a person's own data (Art. 25 of the Data Protection Act)"),
        (name = "information-requests", description = "Country information requests (programme RIF) from counsellors to IOM Bern"),
        (name = "operations", description = "Health, metrics and the API description"),
        (name = "problems", description = "The catalogue of problem types: what each error `code` means and what to do"),
        (name = "assistance", description = "Tariffs of return assistance and destination rules"),
        (name = "statistics", description = "Figures and CSV exports for SEM, IOM Bern and the cantons; for service accounts, figures over fewer than 5 cases are withheld (null, `suppressed: true`)"),
    ),
    components(schemas(
        error::Problem,
        retour_domain::statistics::Period,
        retour_domain::statistics::PeriodOf,
        retour_domain::statistics::Dimension,
        retour_domain::case::CaseSort,
        routes::cases::TimeOrDate
    )),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

/// Declares the bearer-token security scheme the handlers refer to.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
            ),
        );
    }
}

/// Every documented route, with its OpenAPI description; `config` sets up the layers of
/// particular routes (the sign-in rate limit) and is not needed for the document alone.
fn routes(config: Option<&ApiConfig>, state: Option<&AppState>) -> OpenApiRouter<AppState> {
    // Case data answers a service account only with `cases:read` (the document alone needs
    // no state, and no layer).
    let case_data = routes::cases::routes()
        .merge(routes::information_requests::routes())
        .merge(routes::transfers::routes())
        .merge(routes::queue::routes());
    let case_data = match state {
        Some(state) => case_data.route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), retour_domain::Scope::CasesRead),
            auth::require_scope,
        )),
        None => case_data,
    };
    // The event feed answers a service account only with `case-events:read`.
    let events = match state {
        Some(state) => routes::events::routes().merge(routes::webhooks::routes()).route_layer(
            axum::middleware::from_fn_with_state(
                (state.clone(), retour_domain::Scope::CaseEventsRead),
                auth::require_scope,
            ),
        ),
        None => routes::events::routes().merge(routes::webhooks::routes()),
    };
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::routes())
        .merge(problems::routes())
        .merge(routes::tariffs::routes())
        .merge(routes::auth::routes(config.map(|c| &c.login)))
        .merge(routes::me::routes())
        .merge(routes::break_glass::routes())
        .merge(routes::institutions::routes())
        .merge(routes::users::routes())
        .merge(routes::service_accounts::routes())
        .merge(routes::audit::routes())
        .merge(case_data)
        .merge(events)
        .merge(routes::stats::routes())
        .merge(routes::data_protection::routes())
}

/// The OpenAPI document generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = routes(None, None).into_openapi();
    spec::complete(&mut doc);
    doc
}

/// The complete application: documented routes, docs, metrics and the HTTP layers.
pub fn router(state: AppState) -> Router {
    let (api, mut spec) = routes(Some(state.config()), Some(&state)).split_for_parts();
    spec::complete(&mut spec);
    let operations = refusals::Operations::of(&spec);
    let app = api
        .route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), operations),
            refusals::record_refusals,
        ))
        .merge(metrics::routes())
        .fallback(|| async { ApiError::NotFound })
        .with_state(state.clone())
        .merge(SwaggerUi::new("/docs").url("/openapi.json", spec));
    layers::apply(app, state.config())
}

/// The OpenAPI document as pretty-printed JSON, as committed in `openapi/openapi.json`.
pub fn openapi_json() -> Result<String, serde_json::Error> {
    openapi().to_pretty_json()
}
