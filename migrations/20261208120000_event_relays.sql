-- Where each relay of the outbox to a message broker stands (the NATS bridge: one row per
-- JetStream stream). One server process publishes at a time (it holds the row); every event
-- up to the position has been published and acknowledged.
create table event_relays (
    name text primary key constraint event_relays_name_length check (char_length(name) between 1 and 64),
    position_tx xid8 not null default '0',
    position_seq bigint not null default 0,
    updated_at timestamptz not null default now()
);
