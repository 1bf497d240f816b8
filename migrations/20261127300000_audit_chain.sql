-- Tamper evidence and immutability of the access log. The hash chain's encoding is
-- documented in crates/retour-store/src/audit/chain.rs.

-- Retour's own maintenance commands (e.g. a prune run from the command line) act as `system`.
alter table audit_events drop constraint audit_events_actor_type_check;
alter table audit_events add constraint audit_events_actor_type_check
    check (actor_type in ('user', 'service_account', 'anonymous', 'system'));

-- Filters of GET /v1/audit-events: by action, and by case among the ids a list returned.
create index audit_events_action_idx on audit_events (action, occurred_at);
create index audit_events_resource_ids_idx on audit_events using gin (resource_ids);

-- The hash chain: one link per sealed event, in seal order (which is the chain's order, not
-- necessarily the order of occurred_at). Append-only like the events themselves.
create table audit_seals (
    seq bigint primary key
        constraint audit_seals_seq_check check (seq > 0),
    -- No foreign key: its check locks the event row, which takes the UPDATE privilege that
    -- the tables' owner gives up below. Verification reports a link without its event.
    event_id uuid not null
        constraint audit_seals_event_id_key unique,
    prev_hash bytea not null
        constraint audit_seals_prev_hash_check check (length(prev_hash) = 32),
    hash bytea not null
        constraint audit_seals_hash_check check (length(hash) = 32),
    sealed_at timestamptz not null
);

-- Events waiting for their seal. A row is added in the transaction that inserts the event
-- (so it becomes visible exactly when the event commits) and removed by the sealer. It keeps
-- the sealer from scanning the whole log for unsealed events.
create table audit_seal_queue (
    event_id uuid primary key
);

create function audit_events_enqueue() returns trigger
    language plpgsql as $$
begin
    insert into audit_seal_queue (event_id) values (new.id);
    return null;
end
$$;

create trigger audit_events_enqueue after insert on audit_events
    for each row execute function audit_events_enqueue();

insert into audit_seal_queue (event_id) select id from audit_events;

-- Refuses UPDATE, DELETE and TRUNCATE on the access log. The one exception is a DELETE made
-- while audit_prune() runs: it announces the sealed prefix it removes in the transaction-local
-- setting retour.audit_prune_through, and only rows of that prefix whose event is older than
-- the legal minimum of 365 days may go. Any session could set that setting itself, so it is a
-- guard against mistakes, not against a role that holds DELETE: the grants are (see README).
create function audit_refuse_change() returns trigger
    language plpgsql as $$
declare
    through bigint := nullif(current_setting('retour.audit_prune_through', true), '')::bigint;
begin
    -- Nested, not joined with "and": a condition on one table's columns must not be
    -- evaluated for the other's rows.
    if tg_op = 'DELETE' and through is not null then
        if tg_table_name = 'audit_events' then
            if old.occurred_at < now() - interval '365 days'
                and exists (
                    select 1 from audit_seals s where s.event_id = old.id and s.seq <= through)
            then
                return old;
            end if;
        elsif tg_table_name = 'audit_seals' then
            if old.seq <= through
                and not exists (
                    select 1 from audit_events e
                    where e.id = old.event_id and e.occurred_at >= now() - interval '365 days')
            then
                return old;
            end if;
        end if;
    end if;
    raise exception 'the access log is append-only: % on % is refused', tg_op, tg_table_name
        using errcode = 'insufficient_privilege',
              hint = 'sealed events older than the retention leave only through audit_prune()';
end
$$;

create trigger audit_events_append_only before update or delete on audit_events
    for each row execute function audit_refuse_change();
create trigger audit_events_no_truncate before truncate on audit_events
    for each statement execute function audit_refuse_change();
create trigger audit_seals_append_only before update or delete on audit_seals
    for each row execute function audit_refuse_change();
create trigger audit_seals_no_truncate before truncate on audit_seals
    for each statement execute function audit_refuse_change();

-- The only way rows leave the access log: removes the sealed prefix up to through_seq, which
-- must be the oldest links of the chain, all of events older than 365 days, not the newest
-- link (the chain goes on from it), and only after the prune itself was recorded as the
-- unsealed event prune_event_id naming that range and the hash of its last link, so that the
-- removal is sealed into the chain in the same transaction. Runs as the owner of the tables
-- (security definer), so an application role needs no DELETE privilege to prune.
create function audit_prune(through_seq bigint, prune_event_id uuid) returns bigint
    language plpgsql security definer set search_path = pg_catalog, public as $$
declare
    first_seq bigint;
    head_seq bigint;
    last_hash bytea;
    newest timestamptz;
    deleted bigint;
    self_grant boolean := false;
begin
    -- The sealer's lock (retour_store::audit::SEAL_LOCK): no link is added meanwhile.
    perform pg_advisory_xact_lock(8243122715032170081);
    select min(seq), max(seq) into first_seq, head_seq from audit_seals;
    if first_seq is null or through_seq < first_seq or through_seq >= head_seq then
        raise exception 'audit_prune: seq % does not end a prunable prefix of the chain (links % to %, the newest stays)',
            through_seq, first_seq, head_seq
            using errcode = 'invalid_parameter_value';
    end if;
    select hash into last_hash from audit_seals where seq = through_seq;
    select max(e.occurred_at) into newest
        from audit_seals s left join audit_events e on e.id = s.event_id
        where s.seq between first_seq and through_seq;
    if newest is null or newest >= now() - interval '365 days' then
        raise exception 'audit_prune: the range holds events younger than 365 days, the legal minimum'
            using errcode = 'invalid_parameter_value';
    end if;
    if not exists (
        select 1 from audit_events e
        where e.id = prune_event_id
          and e.action = 'audit.prune'
          and e.details ->> 'pruned_from_seq' = first_seq::text
          and e.details ->> 'pruned_through_seq' = through_seq::text
          and e.details ->> 'last_hash' = encode(last_hash, 'hex')
          and not exists (select 1 from audit_seals s where s.event_id = e.id))
    then
        raise exception 'audit_prune: record the prune first as an unsealed audit.prune event naming links % to % and the last hash',
            first_seq, through_seq
            using errcode = 'invalid_parameter_value';
    end if;
    -- Where the owner revoked its own DELETE (see the end of this file), lend it back for
    -- this transaction only.
    if not has_table_privilege(current_user, 'audit_events', 'delete')
        or not has_table_privilege(current_user, 'audit_seals', 'delete') then
        execute format('grant delete on audit_events, audit_seals to %I', current_user);
        self_grant := true;
    end if;
    perform set_config('retour.audit_prune_through', through_seq::text, true);
    delete from audit_events e using audit_seals s
        where s.event_id = e.id and s.seq between first_seq and through_seq;
    get diagnostics deleted = row_count;
    delete from audit_seals where seq between first_seq and through_seq;
    perform set_config('retour.audit_prune_through', '', true);
    if self_grant then
        execute format('revoke delete on audit_events, audit_seals from %I', current_user);
    end if;
    if deleted <> through_seq - first_seq + 1 then
        raise exception 'audit_prune: links % to % do not all have their event; verify the chain',
            first_seq, through_seq
            using errcode = 'data_corrupted';
    end if;
    return deleted;
end
$$;

revoke execute on function audit_prune(bigint, uuid) from public;

-- Nobody changes the log through privileges either. A superuser ignores grants (the triggers
-- above still refuse); an owner that is not a superuser gives up its own UPDATE, DELETE and
-- TRUNCATE here, and an application role should never have been given them (see README).
revoke update, delete, truncate on audit_events, audit_seals from public;
do $$
begin
    if not (select rolsuper from pg_roles where rolname = current_user) then
        execute format('revoke update, delete, truncate on audit_events, audit_seals from %I',
            current_user);
    end if;
end
$$;
