//! Webhook subscriptions: a service account with `case-events:read` subscribes a URL to
//! event types, with its own token, and reads its deliveries and their attempts.

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use rand::RngCore;
use retour_domain::event::EventType;
use retour_domain::{ActorKind, Validation};
use retour_store::audit::{self, Outcome};
use retour_store::documents::crypto::{DataKey, MasterKeys};
use retour_store::events::Position;
use retour_store::webhooks::{self, AttemptRow, Change, NewSubscription, Subscription};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::pagination::{Cursor, FeedCursor, cut};
use crate::path::Path;
use crate::query::QueryParams;
use crate::webhooks::destination::{check_url, resolve_checked};
use crate::webhooks::signature;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_subscriptions, create_subscription))
        .routes(routes!(get_subscription, update_subscription, delete_subscription))
        .routes(routes!(list_deliveries))
        .routes(routes!(replay))
}

/// The most subscriptions one service account holds.
const MAX_SUBSCRIPTIONS: usize = 10;
/// How long the previous secret signs beside a new one after a rotation.
const ROTATION_OVERLAP_HOURS: i64 = 24;
/// The list the deliveries' cursors belong to.
const DELIVERIES: &str = "webhook-deliveries";

/// A webhook subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookSubscription {
    pub id: Uuid,
    pub url: String,
    /// The types delivered; empty: every type.
    pub event_types: Vec<EventType>,
    /// `active`; `failing` once a delivery was given up after three days of failures;
    /// `disabled` when the receiver answered 410 Gone or the subscriber disabled it. Set it
    /// `active` again to receive (replay to catch up).
    #[schema(value_type = String, pattern = "^(active|failing|disabled)$")]
    pub status: String,
    /// Why it is failing or disabled.
    pub status_reason: Option<String>,
    /// The signing secret (`whsec_…`): only in the answer that made it (the subscription's
    /// creation or a rotation), never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Until when the previous secret signs too (after a rotation).
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookSubscription {
    fn new(row: Subscription, secret: Option<String>) -> Self {
        WebhookSubscription {
            id: row.id,
            url: row.url,
            event_types: row.event_types.iter().filter_map(|t| EventType::parse(t)).collect(),
            status: row.status,
            status_reason: row.status_reason,
            secret,
            previous_secret_until: row.previous_until.filter(|until| *until > Utc::now()),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The subscriptions of the calling service account.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookSubscriptions {
    pub items: Vec<WebhookSubscription>,
}

/// A new subscription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookSubscription {
    /// Where to post the events: `https://`, to an address on the public internet.
    #[schema(
        min_length = 10,
        max_length = 2000,
        example = "https://partner.example.org/retour/events"
    )]
    pub url: String,
    /// The types to deliver; every type when empty or absent.
    #[serde(default)]
    #[schema(max_items = 31)]
    pub event_types: Vec<EventType>,
}

/// Changes to a subscription; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookSubscription {
    #[schema(min_length = 10, max_length = 2000)]
    pub url: Option<String>,
    #[schema(max_items = 31)]
    pub event_types: Option<Vec<EventType>>,
    /// `active` (again) or `disabled`.
    #[schema(value_type = Option<String>, pattern = "^(active|disabled)$")]
    pub status: Option<String>,
    /// A new secret, shown in the answer; the current one signs beside it for 24 hours.
    #[serde(default)]
    pub rotate_secret: bool,
}

/// Where deliveries start again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// A `next_cursor` of the event feed: the events after it are delivered again (`null`:
    /// every event the account may read).
    pub after: Option<String>,
}

/// A delivery of an event to a subscription, with its attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub case_id: Uuid,
    /// `pending`, `delivered` or `failed` (given up, or the subscription was disabled).
    #[schema(value_type = String, pattern = "^(pending|delivered|failed)$")]
    pub status: String,
    /// The next attempt of a pending delivery.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
    pub attempts: Vec<WebhookAttempt>,
}

/// One attempt to deliver.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAttempt {
    pub attempted_at: DateTime<Utc>,
    /// The receiver's HTTP status; `null` when none came.
    pub status_code: Option<i32>,
    /// Why it failed.
    pub error: Option<String>,
    pub duration_ms: i32,
}

impl From<AttemptRow> for WebhookAttempt {
    fn from(row: AttemptRow) -> Self {
        WebhookAttempt {
            attempted_at: row.attempted_at,
            status_code: row.status_code,
            error: row.error,
            duration_ms: row.duration_ms,
        }
    }
}

/// A page of deliveries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveries {
    pub items: Vec<WebhookDelivery>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The calling service account, which alone manages its subscriptions.
fn subscriber(caller: &Caller) -> Result<Uuid, ApiError> {
    match caller.actor.kind {
        ActorKind::ServiceAccount { .. } => Ok(caller.actor.id),
        ActorKind::User { .. } => Err(ApiError::Forbidden {
            code: ProblemCode::Forbidden,
            detail: "webhooks are subscribed by service accounts with case-events:read, with \
                     their own token"
                .to_owned(),
        }),
    }
}

/// A fresh secret for subscription `id`: as shown once, and wrapped for storage.
fn new_secret(keys: &MasterKeys, id: Uuid) -> Result<(String, String, Vec<u8>), ApiError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let (key_id, wrapped) =
        keys.wrap(id, &DataKey::from_bytes(bytes)).map_err(ApiError::internal)?;
    Ok((signature::shown(&bytes), key_id, wrapped))
}

/// Checks a URL as written and where its name leads now.
async fn check_destination(state: &AppState, raw: &str, errors: &mut Validation) -> Option<String> {
    let allowed = &state.config().webhooks.allowed;
    let url = match check_url(raw, allowed) {
        Ok(url) => url,
        Err(why) => {
            errors.push("url", "not_allowed", why);
            return None;
        }
    };
    if let Some(url::Host::Domain(name)) = url.host() {
        let port = url.port_or_known_default().unwrap_or(443);
        if let Err(why) = resolve_checked(name, port, allowed).await {
            errors.push("url", "not_allowed", why);
            return None;
        }
    }
    Some(url.to_string())
}

fn type_names(types: &[EventType]) -> Vec<String> {
    let mut names: Vec<String> = types.iter().map(|t| t.as_str().to_owned()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Subscription `id` of `account`, locked for a change; 404 when the account has none such.
async fn locked(
    conn: &mut PgConnection,
    id: Uuid,
    account: Uuid,
) -> Result<Subscription, ApiError> {
    webhooks::lock(conn, id, account).await?.ok_or(ApiError::NoSuch("webhook subscription"))
}

/// Subscription `id` of `account`, to read; 404 when the account has none such.
async fn found(conn: &mut PgConnection, id: Uuid, account: Uuid) -> Result<Subscription, ApiError> {
    webhooks::find(conn, id, account).await?.ok_or(ApiError::NoSuch("webhook subscription"))
}

/// List my webhook subscriptions
///
/// The calling service account's subscriptions (service accounts with `case-events:read`).
#[utoipa::path(get, path = "/v1/webhook-subscriptions", tag = "events", security(("bearer" = [])),
    responses(
        (status = 200, description = "The subscriptions", body = WebhookSubscriptions),
        (status = 403, description = "`forbidden` for users, `insufficient_scope` for service accounts without case-events:read", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn list_subscriptions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<WebhookSubscriptions>, ApiError> {
    let account = subscriber(&caller)?;
    let mut conn = state.store().pool().acquire().await?;
    let rows = webhooks::list(&mut conn, account).await?;
    Ok(Json(WebhookSubscriptions {
        items: rows.into_iter().map(|r| WebhookSubscription::new(r, None)).collect(),
    }))
}

/// Subscribe to events
///
/// Subscribe a URL to event types: each event the account may read (see `GET /v1/events`)
/// from now on is posted to it as JSON, signed as Standard Webhooks 1.0 says
/// (`webhook-id`: the event's id, `webhook-timestamp`, `webhook-signature`: `v1,` and the
/// base64 HMAC-SHA256 with the secret over `id.timestamp.body`). Deliveries come at least
/// once and in order per case, and are retried with exponential backoff for up to three
/// days. The URL must use HTTPS and reach an address on the public internet (private,
/// link-local and other special addresses are refused, unless the installation allows
/// them); the answer holds the secret (`whsec_…`), shown only here.
#[utoipa::path(post, path = "/v1/webhook-subscriptions", tag = "events", security(("bearer" = [])),
    request_body = CreateWebhookSubscription,
    responses(
        (status = 201, description = "Subscribed; the answer holds the secret", body = WebhookSubscription,
            headers(("Location" = String, description = "The subscription's URL"))),
        (status = 403, description = "`forbidden` for users, `insufficient_scope` for service accounts without case-events:read", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the account holds 10 subscriptions already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `url` not allowed (`not_allowed`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No master key is configured to keep the secret", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_subscription(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateWebhookSubscription>,
) -> Result<impl IntoResponse, ApiError> {
    let account = subscriber(&caller)?;
    let keys = state.master_keys("webhook secrets are kept encrypted")?;
    let mut errors = Validation::new();
    let url = check_destination(&state, &body.url, &mut errors).await;
    let Some(url) = url.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors.into_errors()));
    };
    let mut tx = state.store().begin().await?;
    if webhooks::list(&mut tx, account).await?.len() >= MAX_SUBSCRIPTIONS {
        return Err(ApiError::Conflict {
            code: ProblemCode::Conflict,
            detail: format!("a service account holds at most {MAX_SUBSCRIPTIONS} subscriptions"),
        });
    }
    let id = Uuid::now_v7();
    let (secret, key_id, wrapped) = new_secret(keys, id)?;
    let types = type_names(&body.event_types);
    let row = webhooks::insert(
        &mut tx,
        &NewSubscription {
            id,
            service_account_id: account,
            url: &url,
            event_types: &types,
            key_id: &key_id,
            wrapped_secret: &wrapped,
        },
    )
    .await?;
    let event = caller
        .event("webhook_subscription.create", Outcome::Allowed)
        .resource("webhook_subscription", id)
        .details(serde_json::json!({ "event_types": types }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/v1/webhook-subscriptions/{id}"))],
        Json(WebhookSubscription::new(row, Some(secret))),
    ))
}

/// Get a webhook subscription
///
/// One of the calling service account's subscriptions, with its status (and why it is
/// failing or disabled); never its secret.
#[utoipa::path(get, path = "/v1/webhook-subscriptions/{id}", tag = "events", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The subscription id")),
    responses(
        (status = 200, description = "The subscription", body = WebhookSubscription),
        (status = 403, description = "Users; service accounts without case-events:read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of the calling account", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn get_subscription(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<WebhookSubscription>, ApiError> {
    let account = subscriber(&caller)?;
    let mut conn = state.store().pool().acquire().await?;
    let row = found(&mut conn, id, account).await?;
    Ok(Json(WebhookSubscription::new(row, None)))
}

/// Change a webhook subscription
///
/// Change its URL or event types, disable it or set it `active` again (after it was
/// failing or disabled), or rotate its secret: the answer shows the new secret, and for 24
/// hours every delivery carries signatures with both.
#[utoipa::path(patch, path = "/v1/webhook-subscriptions/{id}", tag = "events", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The subscription id")),
    request_body = UpdateWebhookSubscription,
    responses(
        (status = 200, description = "The subscription; with `secret` after a rotation", body = WebhookSubscription),
        (status = 403, description = "Users; service accounts without case-events:read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of the calling account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming the field", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No master key is configured to keep a new secret", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn update_subscription(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(body): Json<UpdateWebhookSubscription>,
) -> Result<Json<WebhookSubscription>, ApiError> {
    let account = subscriber(&caller)?;
    let mut errors = Validation::new();
    let url = match &body.url {
        Some(raw) => check_destination(&state, raw, &mut errors).await,
        None => None,
    };
    if let Some(status) = &body.status
        && !matches!(status.as_str(), "active" | "disabled")
    {
        errors.push("status", "unknown_value", "status must be one of: active, disabled");
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_errors()));
    }
    let mut tx = state.store().begin().await?;
    locked(&mut tx, id, account).await?;
    let types = body.event_types.as_deref().map(type_names);
    let rotated = if body.rotate_secret {
        Some(new_secret(state.master_keys("webhook secrets are kept encrypted")?, id)?)
    } else {
        None
    };
    let until = Utc::now() + chrono::Duration::hours(ROTATION_OVERLAP_HOURS);
    let change = Change {
        url: url.as_deref(),
        event_types: types.as_deref(),
        status: body.status.as_deref(),
        secret: rotated
            .as_ref()
            .map(|(_, key_id, wrapped)| (key_id.as_str(), wrapped.as_slice(), until)),
    };
    let row = webhooks::update(&mut tx, id, &change).await?;
    let mut fields: Vec<&str> = Vec::new();
    for (given, name) in [
        (body.url.is_some(), "url"),
        (body.event_types.is_some(), "event_types"),
        (body.status.is_some(), "status"),
        (body.rotate_secret, "rotate_secret"),
    ] {
        if given {
            fields.push(name);
        }
    }
    let event = caller
        .event("webhook_subscription.update", Outcome::Allowed)
        .resource("webhook_subscription", id)
        .details(serde_json::json!({ "fields": fields }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(Json(WebhookSubscription::new(row, rotated.map(|(secret, ..)| secret))))
}

/// Delete a webhook subscription
///
/// Nothing more is delivered to it; deliveries still pending are dropped.
#[utoipa::path(delete, path = "/v1/webhook-subscriptions/{id}", tag = "events", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The subscription id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Users; service accounts without case-events:read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of the calling account", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn delete_subscription(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let account = subscriber(&caller)?;
    let mut tx = state.store().begin().await?;
    locked(&mut tx, id, account).await?;
    webhooks::delete(&mut tx, id).await?;
    let event = caller
        .event("webhook_subscription.delete", Outcome::Allowed)
        .resource("webhook_subscription", id);
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List a subscription's deliveries
///
/// The deliveries of the subscription, newest first, each with its attempts (when, the
/// receiver's status or why there was none, how long it took).
#[utoipa::path(get, path = "/v1/webhook-subscriptions/{id}/deliveries", tag = "events", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The subscription id"),
        ("cursor" = Option<String>, Query, min_length = 1, description = "`next_cursor` of the previous page"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 200 (default 50)"),
    ),
    responses(
        (status = 200, description = "A page of deliveries", body = WebhookDeliveries),
        (status = 403, description = "Users; service accounts without case-events:read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of the calling account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    RawQuery(query): RawQuery,
) -> Result<Json<WebhookDeliveries>, ApiError> {
    let account = subscriber(&caller)?;
    let mut params = QueryParams::parse(query.as_deref());
    let cursor = params.cursor(DELIVERIES);
    let limit = params.limit();
    let (cursor, limit) = params.finish((cursor, limit))?;
    let mut tx = state.store().begin().await?;
    found(&mut tx, id, account).await?;
    let mut rows = webhooks::deliveries(&mut tx, id, cursor.map(|c| (c.at, c.id)), limit).await?;
    let next_cursor =
        cut(&mut rows, limit, |last| Cursor::new(last.created_at, last.id).encode(DELIVERIES));
    let mut cases: Vec<Uuid> = rows.iter().map(|r| r.case_id).collect();
    cases.sort_unstable();
    cases.dedup();
    let event = caller
        .event("webhook_deliveries.read", Outcome::Allowed)
        .resources("case", cases)
        .details(serde_json::json!({ "webhook_subscription_id": id, "items": rows.len() }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let event_type = EventType::parse(&row.event_type).ok_or_else(|| {
                ApiError::internal(retour_store::StoreError::Corrupt {
                    column: "event_outbox.type",
                    value: row.event_type.clone(),
                })
            })?;
            Ok(WebhookDelivery {
                id: row.id,
                event_id: row.event_id,
                event_type,
                case_id: row.case_id,
                status: row.status,
                next_attempt_at: row.next_attempt_at,
                created_at: row.created_at,
                settled_at: row.settled_at,
                attempts: row.tries.0.into_iter().map(WebhookAttempt::from).collect(),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Json(WebhookDeliveries { items, next_cursor }))
}

/// Replay events to a subscription
///
/// Deliver again the events after `after` (a `next_cursor` of the event feed; `null`: from
/// the first): the subscription goes on from there, and a receiver sees events it may have
/// had before (with the same `webhook-id`, to drop them).
#[utoipa::path(post, path = "/v1/webhook-subscriptions/{id}/replay", tag = "events", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The subscription id")),
    request_body = ReplayRequest,
    responses(
        (status = 200, description = "The subscription, going on from `after`", body = WebhookSubscription),
        (status = 403, description = "Users; service accounts without case-events:read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of the calling account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `after` is not a cursor of the feed (`invalid_cursor`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn replay(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(body): Json<ReplayRequest>,
) -> Result<Json<WebhookSubscription>, ApiError> {
    let account = subscriber(&caller)?;
    let after = match body.after.as_deref() {
        None => Position::default(),
        Some(raw) => match FeedCursor::decode(raw) {
            Some(cursor) => Position { tx: cursor.tx, seq: cursor.seq },
            None => {
                let mut errors = Validation::new();
                errors.push(
                    "after",
                    "invalid_cursor",
                    "after must be a next_cursor of the event feed",
                );
                return Err(ApiError::Validation(errors.into_errors()));
            }
        },
    };
    let mut tx = state.store().begin().await?;
    locked(&mut tx, id, account).await?;
    let row = webhooks::replay_from(&mut tx, id, after).await?;
    let event = caller
        .event("webhook_subscription.replay", Outcome::Allowed)
        .resource("webhook_subscription", id);
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(Json(WebhookSubscription::new(row, None)))
}
