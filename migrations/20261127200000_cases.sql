-- Cases and their households, the parts of a case kept apart for data minimisation, notes,
-- reference counters and idempotency keys.

create extension if not exists pg_trgm;
create extension if not exists unaccent;

-- Lower case without accents (`Müller` → `muller`), for case- and accent-insensitive search.
-- unaccent() is only STABLE because its dictionary could change; naming the dictionary
-- makes this wrapper safe to declare IMMUTABLE, so it can feed an index.
create function retour_fold(value text) returns text
    language sql immutable parallel safe strict
    return lower(public.unaccent('public.unaccent'::regdictionary, value));

create table cases (
    id uuid primary key,
    -- `BE-2026-00042`: prefix (canton or federal asylum region), year, gap-free number
    reference text not null constraint cases_reference_key unique,
    -- the counselling service's canton; null for a federal asylum centre
    canton text constraint cases_canton_check check (canton ~ '^[A-Z]{2}$'),
    federal_region text,
    counselling_service_id uuid not null
        constraint cases_counselling_service_fkey references institutions (id),
    -- the responsible counsellor
    counsellor_id uuid not null constraint cases_counsellor_fkey references users (id),
    created_by uuid not null constraint cases_created_by_fkey references users (id),
    programme text not null
        constraint cases_programme_check check (programme in ('cantonal', 'federal_centre', 'status_s')),
    destination_country text not null
        constraint cases_destination_country_check check (destination_country ~ '^[A-Z]{2}$'),
    planned_departure_date date,
    status text not null default 'counselling'
        constraint cases_status_check check (status in ('counselling', 'submitted',
            'under_review', 'info_requested', 'approved', 'rejected', 'travel_booked', 'departed',
            'reintegration', 'closed', 'withdrawn', 'cancelled')),
    -- optimistic concurrency: every write bumps it; the ETag of the case
    version integer not null default 1 constraint cases_version_check check (version >= 1),
    vulnerabilities text[] not null default '{}'
        constraint cases_vulnerabilities_check check (vulnerabilities <@ array['unaccompanied_minor',
            'medical', 'elderly', 'single_parent', 'trafficking', 'disability']),
    -- first submission to SEM and first approval: from here SEM, resp. swissREPAT and IOM
    -- Bern, see the case (the access policy's scope), whatever its status later
    submitted_at timestamptz,
    approved_at timestamptz,
    -- the IOM mission that delivers the reintegration
    reintegration_mission_id uuid
        constraint cases_reintegration_mission_fkey references institutions (id),
    -- folded names, aliases and reference of the household (see refresh_case_search)
    search_text text not null default '',
    -- ZEMIS and N numbers, searchable only by roles that may see asylum-procedure data
    search_ids text not null default '',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint cases_location_check check (canton is not null or federal_region is not null)
);

-- Every list query filters by the caller's scope and sorts by (updated_at | created_at, id).
create index cases_service_updated_idx on cases (counselling_service_id, updated_at desc, id desc);
create index cases_service_created_idx on cases (counselling_service_id, created_at desc, id desc);
create index cases_submitted_updated_idx on cases (updated_at desc, id desc)
    where submitted_at is not null;
create index cases_submitted_created_idx on cases (created_at desc, id desc)
    where submitted_at is not null;
create index cases_approved_updated_idx on cases (updated_at desc, id desc)
    where approved_at is not null;
create index cases_mission_updated_idx on cases (reintegration_mission_id, updated_at desc, id desc)
    where reintegration_mission_id is not null;
create index cases_counsellor_idx on cases (counsellor_id);
create index cases_search_text_idx on cases using gin (search_text gin_trgm_ops);
create index cases_search_ids_idx on cases using gin (search_ids gin_trgm_ops);

create table case_persons (
    id uuid primary key,
    case_id uuid not null constraint case_persons_case_fkey references cases (id) on delete cascade,
    -- the order in which the household was entered
    position integer not null,
    relationship text not null
        constraint case_persons_relationship_check
            check (relationship in ('principal', 'spouse', 'child', 'parent', 'other')),
    surname text not null
        constraint case_persons_surname_length check (char_length(surname) between 1 and 100),
    given_names text not null
        constraint case_persons_given_names_length check (char_length(given_names) between 1 and 100),
    aliases text[] not null default '{}'
        constraint case_persons_aliases_count check (cardinality(aliases) <= 10),
    date_of_birth date not null,
    sex text not null
        constraint case_persons_sex_check check (sex in ('female', 'male', 'other', 'unknown')),
    nationality text not null
        constraint case_persons_nationality_check check (nationality ~ '^[A-Z]{2}$'),
    -- asylum-procedure data: never selected for a reader whose view excludes it
    zemis_number text constraint case_persons_zemis_number_check check (zemis_number ~ '^[0-9]{8}$'),
    n_number text constraint case_persons_n_number_check check (n_number ~ '^N [0-9]{3} [0-9]{3}$'),
    residence_status text
        constraint case_persons_residence_status_check check (residence_status in
            ('N', 'F', 'refugee', 'S', 'rejected', 'dublin', 'trafficking_victim')),
    entry_date date,
    travelling boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint case_persons_entry_after_birth check (entry_date >= date_of_birth),
    constraint case_persons_position_key unique (case_id, position),
    constraint case_persons_zemis_in_case_key unique (case_id, zemis_number),
    constraint case_persons_n_number_in_case_key unique (case_id, n_number)
);
create unique index case_persons_one_principal_key on case_persons (case_id)
    where relationship = 'principal';
-- duplicate detection across open cases
create index case_persons_zemis_idx on case_persons (zemis_number) where zemis_number is not null;

-- Medical needs: selected only for readers whose view includes them.
create table case_medical (
    case_id uuid primary key constraint case_medical_case_fkey references cases (id) on delete cascade,
    summary text constraint case_medical_summary_length check (char_length(summary) between 1 and 4000),
    fit_to_travel boolean,
    escort text constraint case_medical_escort_check check (escort in ('none', 'social', 'medical')),
    updated_at timestamptz not null default now()
);

-- The exclusion-ground answers and the declaration of voluntariness (null = not answered):
-- selected only for readers whose view includes eligibility.
create table case_eligibility (
    case_id uuid primary key
        constraint case_eligibility_case_fkey references cases (id) on delete cascade,
    criminal_offences boolean,
    abuse boolean,
    sufficient_assets boolean,
    prior_assistance boolean,
    voluntariness_signed_on date,
    updated_at timestamptz not null default now()
);

create table case_requested_assistance (
    case_id uuid not null
        constraint case_requested_assistance_case_fkey references cases (id) on delete cascade,
    component text not null
        constraint case_requested_assistance_component_check check (component in
            ('startup_cash', 'reintegration_project', 'medical', 'travel_money', 'travel_costs')),
    amount_rappen bigint not null
        constraint case_requested_assistance_amount_check check (amount_rappen between 0 and 100000000),
    constraint case_requested_assistance_pkey primary key (case_id, component)
);

-- Notes are appended, never changed.
create table case_notes (
    id uuid primary key,
    case_id uuid not null constraint case_notes_case_fkey references cases (id),
    author_id uuid not null constraint case_notes_author_fkey references users (id),
    institution_id uuid not null constraint case_notes_institution_fkey references institutions (id),
    visibility text not null
        constraint case_notes_visibility_check check (visibility in ('institution', 'shared')),
    body text not null constraint case_notes_body_length check (char_length(body) between 1 and 10000),
    created_at timestamptz not null default now()
);
create index case_notes_case_idx on case_notes (case_id, created_at, id);

create function refuse_change() returns trigger language plpgsql as $$
begin
    raise exception '% rows are never changed or deleted', tg_table_name
        using errcode = 'restrict_violation';
end $$;
create trigger case_notes_append_only before update or delete on case_notes
    for each row execute function refuse_change();

-- The last reference number per prefix and year. Incremented with
-- `insert … on conflict do update … returning` in the creating transaction: the row lock
-- serialises concurrent creations and a rollback returns the number, so there are no gaps.
create table case_reference_counters (
    prefix text not null,
    year integer not null,
    last_number bigint not null constraint case_reference_counters_last_check check (last_number >= 1),
    constraint case_reference_counters_pkey primary key (prefix, year)
);

-- Idempotency-Key of POST requests, per actor, for 24 hours. The response is recorded as its
-- status and the created resource (re-read on replay, so no copy of personal data is kept).
create table idempotency_keys (
    actor_id uuid not null,
    key text not null constraint idempotency_keys_key_length check (char_length(key) between 1 and 255),
    request_hash bytea not null,
    response_status smallint,
    resource_id uuid,
    created_at timestamptz not null default now(),
    constraint idempotency_keys_pkey primary key (actor_id, key)
);
create index idempotency_keys_created_idx on idempotency_keys (created_at);

-- Recomputes a case's search columns from its reference and persons. Called in the same
-- transaction as every change to them.
create function refresh_case_search(target uuid) returns void language sql as $$
    update cases c set
        search_text = retour_fold(c.reference || ' ' || coalesce((
            select string_agg(concat_ws(' ', p.surname, p.given_names,
                       array_to_string(p.aliases, ' ')), ' ' order by p.position)
            from case_persons p where p.case_id = c.id), '')),
        search_ids = coalesce((
            select string_agg(concat_ws(' ', p.zemis_number,
                       lower(replace(p.n_number, ' ', ''))), ' ' order by p.position)
            from case_persons p where p.case_id = c.id), '')
    where c.id = target
$$;
