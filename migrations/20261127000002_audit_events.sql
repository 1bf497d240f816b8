-- The access log (DSV Art. 4): who did what to which personal data, when, from where.
-- Rows are appended only.

create table audit_events (
    id uuid primary key,
    occurred_at timestamptz not null default now(),
    actor_type text not null
        constraint audit_events_actor_type_check
            check (actor_type in ('user', 'service_account', 'anonymous')),
    actor_id uuid,
    actor_institution_id uuid,
    actor_role text,
    -- e.g. case.read, case.list, case.update, case.transition, auth.login, auth.login_failed
    action text not null,
    resource_type text,
    resource_id uuid,
    -- for lists and searches: every id returned
    resource_ids uuid[] not null default '{}',
    outcome text not null
        constraint audit_events_outcome_check check (outcome in ('allowed', 'denied')),
    -- non-personal context, e.g. the names of changed fields (never their values)
    details jsonb not null default '{}',
    request_id text,
    client_addr inet
);
create index audit_events_occurred_idx on audit_events (occurred_at, id);
create index audit_events_resource_idx on audit_events (resource_id, occurred_at) where resource_id is not null;
create index audit_events_actor_idx on audit_events (actor_id, occurred_at);
