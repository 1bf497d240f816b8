-- Events for partner systems (the transactional outbox). Every change of a case writes one
-- row here in the transaction that makes the change, so an event exists exactly when its
-- change committed. The payload holds ids and statuses, never personal data; `field_group`
-- is the part of the access policy the event belongs to, and only readers whose view holds
-- it receive the event.
--
-- Order and the late commit: `tx_id` is the writing transaction's id and the feed's order is
-- (tx_id, seq). A transaction that took its id earlier but commits later would land behind
-- a reader's cursor; so readers only take events of transactions older than the oldest one
-- still running (`pg_snapshot_xmin(pg_current_snapshot())`), below which no event can
-- appear any more. A long transaction delays the feed; it never makes it skip.
create table event_outbox (
    id uuid primary key,
    tx_id xid8 not null default pg_current_xact_id(),
    seq bigint generated always as identity,
    type text not null constraint event_outbox_type_length check (char_length(type) between 3 and 64),
    case_id uuid not null constraint event_outbox_case_fkey references cases (id),
    case_version integer not null,
    occurred_at timestamptz not null default now(),
    -- None for the system (a deadline passing).
    actor_institution_id uuid constraint event_outbox_institution_fkey references institutions (id),
    field_group text not null constraint event_outbox_field_group_check check (field_group in (
        'identity', 'asylum_procedure', 'eligibility', 'medical_summary', 'travel_fitness',
        'vulnerabilities', 'assistance', 'travel', 'reintegration', 'review')),
    data jsonb not null default '{}'
);

create unique index event_outbox_position_idx on event_outbox (tx_id, seq);
create index event_outbox_case_idx on event_outbox (case_id, tx_id, seq);

-- Service accounts read the feed with a scope of their own.
alter table service_accounts drop constraint service_accounts_scopes_check;
alter table service_accounts add constraint service_accounts_scopes_check
    check (scopes <@ array['cases:read', 'stats:read', 'events:read', 'case-events:read']);
