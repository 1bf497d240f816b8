-- Webhook subscriptions of service accounts, and the deliveries of the outbox's events to
-- them (Standard Webhooks 1.0). A subscription's secret is kept only wrapped by the
-- installation's master key (the documents' key, `key_id` names it); during a rotation the
-- previous secret signs too, until `previous_until`.
create table webhook_subscriptions (
    id uuid primary key,
    service_account_id uuid not null
        constraint webhook_subscriptions_account_fkey references service_accounts (id),
    url text not null constraint webhook_subscriptions_url_length
        check (char_length(url) between 10 and 2000),
    -- Empty: every type.
    event_types text[] not null default '{}',
    -- `failing`: a delivery was given up after three days; `disabled`: the receiver answered
    -- 410 Gone, or its owner disabled it. Neither receives until set `active` again.
    status text not null default 'active'
        constraint webhook_subscriptions_status_check check (status in ('active', 'failing', 'disabled')),
    status_reason text,
    key_id text not null,
    wrapped_secret bytea not null,
    previous_key_id text,
    previous_wrapped_secret bytea,
    previous_until timestamptz,
    -- Where the subscription stands in the outbox: every event up to here has its delivery.
    position_tx xid8 not null default '0',
    position_seq bigint not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    deleted_at timestamptz
);

create index webhook_subscriptions_account_idx on webhook_subscriptions (service_account_id)
    where deleted_at is null;

create table webhook_deliveries (
    id uuid primary key,
    subscription_id uuid not null
        constraint webhook_deliveries_subscription_fkey references webhook_subscriptions (id),
    event_id uuid not null constraint webhook_deliveries_event_fkey references event_outbox (id),
    case_id uuid not null,
    -- The event's place in the outbox: deliveries of one case go out in this order.
    position_tx xid8 not null,
    position_seq bigint not null,
    status text not null default 'pending'
        constraint webhook_deliveries_status_check check (status in ('pending', 'delivered', 'failed')),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    -- A server process that took the delivery holds it until then; when it dies, another
    -- takes it over after the lease.
    leased_until timestamptz,
    created_at timestamptz not null default now(),
    settled_at timestamptz
);

create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at)
    where status = 'pending';
create index webhook_deliveries_case_idx
    on webhook_deliveries (subscription_id, case_id, position_tx, position_seq)
    where status = 'pending';
create index webhook_deliveries_subscription_idx on webhook_deliveries (subscription_id, created_at, id);

create table webhook_attempts (
    id uuid primary key,
    delivery_id uuid not null
        constraint webhook_attempts_delivery_fkey references webhook_deliveries (id),
    attempted_at timestamptz not null default now(),
    -- The receiver's HTTP status; none when no answer came.
    status_code integer,
    -- Why it failed, in words (never the receiver's body).
    error text,
    duration_ms integer not null
);

create index webhook_attempts_delivery_idx on webhook_attempts (delivery_id, attempted_at);
