-- Return-assistance amounts and destination rules as dated data (SEM changes them by
-- directive). Each row is one version, valid from `valid_from` (inclusive) to `valid_to`
-- (exclusive; null while it is the newest). Rows are never edited or deleted: a new version
-- closes the open one from its own start, and what applied on a past day never changes.

create extension if not exists btree_gist;

-- The calendar day in Switzerland, from the database clock, so that every server process
-- agrees on "today".
create function swiss_today() returns date
    language sql stable
    as $$ select (now() at time zone 'Europe/Zurich')::date $$;

-- Shared guard of the dated tables: inserts start today or later; the only update is closing
-- the open version (setting valid_to, from today on); nothing is deleted.
create function dated_rows_guard() returns trigger
    language plpgsql
    as $$
begin
    if tg_op = 'INSERT' then
        if new.valid_from < swiss_today() then
            raise exception '% may not start in the past (valid_from %)', tg_table_name, new.valid_from
                using errcode = 'check_violation', constraint = tg_table_name || '_valid_from_past';
        end if;
        return new;
    end if;
    if tg_op = 'UPDATE'
        and old.valid_to is null
        and new.valid_to is not null
        and new.valid_to >= swiss_today()
        and (to_jsonb(new) - 'valid_to') = (to_jsonb(old) - 'valid_to') then
        return new;
    end if;
    raise exception 'rows of % are never changed or deleted; add a new version', tg_table_name
        using errcode = 'check_violation', constraint = tg_table_name || '_immutable';
end
$$;

create table tariffs (
    id uuid primary key,
    programme text not null
        constraint tariffs_programme_check
            check (programme in ('cantonal', 'federal_centre', 'status_s')),
    component text not null
        constraint tariffs_component_check check (component in ('startup_cash',
            'reintegration_project', 'medical', 'travel_money', 'travel_costs')),
    -- null: every person (and always for a per-family amount)
    person_category text
        constraint tariffs_person_category_check check (person_category in ('adult', 'minor')),
    -- federal-centre procedure phase (EXAMPLE phases); null: every phase
    phase text
        constraint tariffs_phase_check
            check (phase in ('phase_1', 'phase_2', 'phase_3', 'phase_4')),
    -- higher: the rate for country or health reasons (travel money, AsylV 2 Art. 59a)
    rate text not null default 'standard'
        constraint tariffs_rate_check check (rate in ('standard', 'higher')),
    -- null: actual costs, or an amount decided by SEM
    amount_rappen bigint constraint tariffs_amount_check check (amount_rappen >= 0),
    basis text not null
        constraint tariffs_basis_check check (basis in ('per_person', 'per_family')),
    family_cap_rappen bigint
        constraint tariffs_family_cap_check check (family_cap_rappen >= 0),
    valid_from date not null,
    valid_to date,
    -- not official values (the federal-centre phase table is not public)
    is_example boolean not null default false,
    -- the legal reference
    source text not null
        constraint tariffs_source_length check (char_length(source) between 1 and 500),
    created_at timestamptz not null default now(),
    -- null for the rows of this migration
    created_by uuid references users (id),
    constraint tariffs_period_check check (valid_to is null or valid_to > valid_from),
    constraint tariffs_family_category_check
        check (basis = 'per_person' or person_category is null),
    constraint tariffs_phase_programme_check
        check (phase is null or programme = 'federal_centre'),
    -- one version of a tariff on any day
    constraint tariffs_versions_overlap exclude using gist (
        programme with =, component with =, (coalesce(person_category, '')) with =,
        (coalesce(phase, '')) with =, rate with =, daterange(valid_from, valid_to) with &&)
);
create index tariffs_programme_idx on tariffs (programme, valid_from);

create table visa_exempt_countries (
    id uuid primary key,
    -- ISO 3166-1 alpha-2
    country text not null
        constraint visa_exempt_countries_country_check check (country ~ '^[A-Z]{2}$'),
    valid_from date not null,
    valid_to date,
    source text not null
        constraint visa_exempt_countries_source_length
            check (char_length(source) between 1 and 500),
    created_at timestamptz not null default now(),
    created_by uuid references users (id),
    constraint visa_exempt_countries_period_check
        check (valid_to is null or valid_to > valid_from),
    constraint visa_exempt_countries_overlap
        exclude using gist (country with =, daterange(valid_from, valid_to) with &&)
);

-- Countries for which the justice department suspended return assistance.
create table suspended_destinations (
    id uuid primary key,
    country text not null
        constraint suspended_destinations_country_check check (country ~ '^[A-Z]{2}$'),
    valid_from date not null,
    valid_to date,
    reason text not null
        constraint suspended_destinations_reason_length
            check (char_length(reason) between 1 and 500),
    created_at timestamptz not null default now(),
    created_by uuid references users (id),
    constraint suspended_destinations_period_check
        check (valid_to is null or valid_to > valid_from),
    constraint suspended_destinations_overlap
        exclude using gist (country with =, daterange(valid_from, valid_to) with &&)
);

-- The tariffs of domain.md, in force since 2019-03-01 (the restructured asylum procedure);
-- status S since 2022-03-12, the day after the Federal Council activated protection status S.
insert into tariffs (id, programme, component, person_category, phase, rate, amount_rappen,
    basis, family_cap_rappen, valid_from, is_example, source)
select gen_random_uuid(), t.programme, t.component, t.person_category, t.phase, t.rate,
    t.amount_rappen, t.basis, t.family_cap_rappen, t.valid_from::date, t.is_example, t.source
from (values
    ('cantonal', 'startup_cash', 'adult', null, 'standard', 100000, 'per_person', null,
        '2019-03-01', false,
        'AsylV 2 Art. 74 al. 2; halved for a stay since entry under 3 months (cantonal practice)'),
    ('cantonal', 'startup_cash', 'minor', null, 'standard', 50000, 'per_person', null,
        '2019-03-01', false,
        'AsylV 2 Art. 74 al. 2; halved for a stay since entry under 3 months (cantonal practice)'),
    ('cantonal', 'reintegration_project', null, null, 'standard', 300000, 'per_family', null,
        '2019-03-01', false,
        'AsylV 2 Art. 74 al. 3-4; in kind; SEM may raise it with a justification'),
    ('cantonal', 'medical', null, null, 'standard', null, 'per_person', null,
        '2019-03-01', false, 'AsylV 2 Art. 75; amount decided by SEM'),
    ('cantonal', 'travel_money', null, null, 'standard', 10000, 'per_person', 50000,
        '2019-03-01', false, 'AsylV 2 Art. 59a'),
    ('cantonal', 'travel_money', null, null, 'higher', 50000, 'per_person', 100000,
        '2019-03-01', false, 'AsylV 2 Art. 59a; for country or health reasons'),
    ('cantonal', 'travel_costs', null, null, 'standard', null, 'per_person', null,
        '2019-03-01', false, 'AsylV 2 Art. 59, 73; actual ticket costs, paid by SEM'),

    ('federal_centre', 'startup_cash', 'adult', 'phase_1', 'standard', 100000, 'per_person', null,
        '2019-03-01', true, 'EXAMPLE values: the official federal-centre phase table is not public'),
    ('federal_centre', 'startup_cash', 'minor', 'phase_1', 'standard', 50000, 'per_person', null,
        '2019-03-01', true, 'EXAMPLE values: the official federal-centre phase table is not public'),
    ('federal_centre', 'startup_cash', 'adult', 'phase_2', 'standard', 75000, 'per_person', null,
        '2019-03-01', true, 'EXAMPLE values: the official federal-centre phase table is not public'),
    ('federal_centre', 'startup_cash', 'minor', 'phase_2', 'standard', 37500, 'per_person', null,
        '2019-03-01', true, 'EXAMPLE values: the official federal-centre phase table is not public'),
    ('federal_centre', 'startup_cash', 'adult', 'phase_3', 'standard', 50000, 'per_person', null,
        '2019-03-01', true, 'EXAMPLE values: the official federal-centre phase table is not public'),
    ('federal_centre', 'startup_cash', 'minor', 'phase_3', 'standard', 25000, 'per_person', null,
        '2019-03-01', true, 'EXAMPLE values: the official federal-centre phase table is not public'),
    ('federal_centre', 'startup_cash', 'adult', 'phase_4', 'standard', 25000, 'per_person', null,
        '2019-03-01', true, 'EXAMPLE values: the official federal-centre phase table is not public'),
    ('federal_centre', 'startup_cash', 'minor', 'phase_4', 'standard', 12500, 'per_person', null,
        '2019-03-01', true, 'EXAMPLE values: the official federal-centre phase table is not public'),
    ('federal_centre', 'reintegration_project', null, 'phase_1', 'standard', 300000, 'per_family',
        null, '2019-03-01', true,
        'EXAMPLE values: the official federal-centre phase table is not public; no increase'),
    ('federal_centre', 'reintegration_project', null, 'phase_2', 'standard', 200000, 'per_family',
        null, '2019-03-01', true,
        'EXAMPLE values: the official federal-centre phase table is not public; no increase'),
    ('federal_centre', 'reintegration_project', null, 'phase_3', 'standard', 100000, 'per_family',
        null, '2019-03-01', true,
        'EXAMPLE values: the official federal-centre phase table is not public; no increase'),
    ('federal_centre', 'medical', null, null, 'standard', null, 'per_person', null,
        '2019-03-01', false, 'AsylV 2 Art. 75; amount decided by SEM'),
    ('federal_centre', 'travel_money', null, null, 'standard', 10000, 'per_person', 50000,
        '2019-03-01', false, 'AsylV 2 Art. 59a'),
    ('federal_centre', 'travel_money', null, null, 'higher', 50000, 'per_person', 100000,
        '2019-03-01', false, 'AsylV 2 Art. 59a; for country or health reasons'),
    ('federal_centre', 'travel_costs', null, null, 'standard', null, 'per_person', null,
        '2019-03-01', false, 'AsylV 2 Art. 59, 73; actual ticket costs, paid by SEM'),

    ('status_s', 'startup_cash', 'adult', null, 'standard', 50000, 'per_person', 200000,
        '2022-03-12', false, 'AsylV 2 Art. 76a al. 2; after renouncing status S'),
    ('status_s', 'startup_cash', 'minor', null, 'standard', 25000, 'per_person', 200000,
        '2022-03-12', false, 'AsylV 2 Art. 76a al. 2; after renouncing status S'),
    ('status_s', 'travel_costs', null, null, 'standard', null, 'per_person', null,
        '2022-03-12', false, 'AsylV 2 Art. 59, 73; actual ticket costs, paid by SEM')
) as t (programme, component, person_category, phase, rate, amount_rappen, basis,
    family_cap_rappen, valid_from, is_example, source);

-- A starting set of visa-exempt destinations: states whose nationals need no Schengen visa
-- (Regulation (EU) 2018/1806, Annex II) and that are frequent return destinations. Check it
-- against SEM's current list before production use.
insert into visa_exempt_countries (id, country, valid_from, source)
select gen_random_uuid(), c, date '2019-03-01',
    'Starting set: Schengen visa-exempt state (Regulation (EU) 2018/1806, Annex II); '
        || 'nationals get travel costs only (AsylV 2 Art. 62-64)'
from unnest(array['AL', 'BA', 'GE', 'MD', 'ME', 'MK', 'RS', 'UA']) as c;

-- No suspension is in force at the start; the justice department's decisions are added as rows.

create trigger tariffs_guard before insert or update or delete on tariffs
    for each row execute function dated_rows_guard();
create trigger visa_exempt_countries_guard before insert or update or delete
    on visa_exempt_countries for each row execute function dated_rows_guard();
create trigger suspended_destinations_guard before insert or update or delete
    on suspended_destinations for each row execute function dated_rows_guard();
