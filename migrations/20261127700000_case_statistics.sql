-- What the statistics count, one narrow row per case, kept current by triggers on the tables
-- it is derived from. Reports scan this table alone: no join to the households, decisions or
-- payouts, and none of the wide columns of `cases` (search text, references). Every figure is
-- recomputed from its sources on each change, so a row never drifts from them.
--
-- The `*_on` dates are calendar days in Switzerland (Europe/Zurich): the days, months and years
-- the statistics count by. The `*_at` times measure durations.

-- The statistics row of every case, computed from the sources.
create view case_statistics_source as
select
    c.id as case_id,
    c.counselling_service_id,
    c.reintegration_mission_id,
    c.canton,
    c.programme,
    c.destination_country,
    c.status,
    (select p.residence_status from case_persons p
        where p.case_id = c.id and p.relationship = 'principal') as residence_status,
    (c.created_at at time zone 'Europe/Zurich')::date as opened_on,
    c.submitted_at,
    coalesce(c.decided_at, k.decided_at) as decided_at,
    (coalesce(c.decided_at, k.decided_at) at time zone 'Europe/Zurich')::date as decided_on,
    k.decision,
    coalesce(c.departed_at, d.departed_at) as departed_at,
    (coalesce(c.departed_at, d.departed_at) at time zone 'Europe/Zurich')::date as departed_on,
    h.persons,
    h.adults,
    h.minors,
    d.startup_cash_rappen,
    d.travel_money_rappen,
    (select a.amount_rappen from case_approved_assistance a
        where a.case_id = c.id and a.component = 'reintegration_project')
        as approved_reintegration_rappen
from cases c
left join case_decisions k on k.case_id = c.id
left join case_departures d on d.case_id = c.id
-- the persons who left, by age on the day they left (adult from the 18th birthday, as the
-- entitlement counts); only for departed cases
left join lateral (
    select count(*)::integer as persons,
        count(*) filter (where p.date_of_birth <= x.day - interval '18 years')::integer as adults,
        count(*) filter (where p.date_of_birth > x.day - interval '18 years')::integer as minors
    from case_persons p,
        lateral (select (coalesce(c.departed_at, d.departed_at) at time zone 'Europe/Zurich')::date
            as day) x
    where p.case_id = c.id and p.travelling
) h on coalesce(c.departed_at, d.departed_at) is not null;

create table case_statistics (
    case_id uuid primary key
        constraint case_statistics_case_fkey references cases (id) on delete cascade,
    counselling_service_id uuid not null,
    reintegration_mission_id uuid,
    canton text,
    programme text not null,
    destination_country text not null,
    status text not null,
    -- of the principal applicant
    residence_status text,
    opened_on date not null,
    submitted_at timestamptz,
    decided_at timestamptz,
    decided_on date,
    -- SEM's decision: approved | rejected
    decision text,
    departed_at timestamptz,
    departed_on date,
    -- travelling persons, adults and minors (age on the departure day); null until departed
    persons integer,
    adults integer,
    minors integer,
    -- paid at the departure
    startup_cash_rappen bigint,
    travel_money_rappen bigint,
    -- SEM's approved reintegration project
    approved_reintegration_rappen bigint
) with (fillfactor = 90);

-- The scopes of counsellors and mission officers, and the dates the reports count by. Reports
-- over every case scan the table (narrow, and in parallel); those of one service, one mission
-- or a date range read only their rows.
create index case_statistics_service_idx on case_statistics (counselling_service_id);
create index case_statistics_mission_idx on case_statistics (reintegration_mission_id)
    where reintegration_mission_id is not null;
create index case_statistics_opened_idx on case_statistics (opened_on);
create index case_statistics_decided_idx on case_statistics (decided_on)
    where decided_on is not null;
create index case_statistics_departed_idx on case_statistics (departed_on)
    where departed_on is not null;

-- PL/pgSQL keeps the plan of its statement across calls (a SQL function is planned again on
-- every call, which made each change of a case a millisecond slower).
create function refresh_case_statistics(target uuid) returns void language plpgsql as $$
begin
    insert into case_statistics (case_id, counselling_service_id, reintegration_mission_id,
        canton, programme, destination_country, status, residence_status, opened_on,
        submitted_at, decided_at, decided_on, decision, departed_at, departed_on, persons,
        adults, minors, startup_cash_rappen, travel_money_rappen, approved_reintegration_rappen)
    select case_id, counselling_service_id, reintegration_mission_id,
        canton, programme, destination_country, status, residence_status, opened_on,
        submitted_at, decided_at, decided_on, decision, departed_at, departed_on, persons,
        adults, minors, startup_cash_rappen, travel_money_rappen, approved_reintegration_rappen
    from case_statistics_source s where s.case_id = target
    on conflict (case_id) do update set
        counselling_service_id = excluded.counselling_service_id,
        reintegration_mission_id = excluded.reintegration_mission_id,
        canton = excluded.canton,
        programme = excluded.programme,
        destination_country = excluded.destination_country,
        status = excluded.status,
        residence_status = excluded.residence_status,
        opened_on = excluded.opened_on,
        submitted_at = excluded.submitted_at,
        decided_at = excluded.decided_at,
        decided_on = excluded.decided_on,
        decision = excluded.decision,
        departed_at = excluded.departed_at,
        departed_on = excluded.departed_on,
        persons = excluded.persons,
        adults = excluded.adults,
        minors = excluded.minors,
        startup_cash_rappen = excluded.startup_cash_rappen,
        travel_money_rappen = excluded.travel_money_rappen,
        approved_reintegration_rappen = excluded.approved_reintegration_rappen;
end $$;

create function case_statistics_after_case() returns trigger language plpgsql as $$
begin
    perform refresh_case_statistics(new.id);
    return null;
end $$;

create function case_statistics_after_part() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        perform refresh_case_statistics(new.case_id);
    elsif tg_op = 'DELETE' then
        perform refresh_case_statistics(old.case_id);
    else
        perform refresh_case_statistics(old.case_id);
        if new.case_id <> old.case_id then
            perform refresh_case_statistics(new.case_id);
        end if;
    end if;
    return null;
end $$;

create trigger case_statistics_cases after insert or update of counselling_service_id,
    reintegration_mission_id, canton, programme, destination_country, status, created_at,
    submitted_at, decided_at, departed_at on cases
    for each row execute function case_statistics_after_case();
create trigger case_statistics_persons after insert or update of case_id, relationship,
    residence_status, date_of_birth, travelling or delete on case_persons
    for each row execute function case_statistics_after_part();
create trigger case_statistics_decisions after insert or update or delete on case_decisions
    for each row execute function case_statistics_after_part();
create trigger case_statistics_departures after insert or update or delete on case_departures
    for each row execute function case_statistics_after_part();
create trigger case_statistics_approved_assistance after insert or update or delete
    on case_approved_assistance
    for each row execute function case_statistics_after_part();

-- The cases there already.
insert into case_statistics (case_id, counselling_service_id, reintegration_mission_id,
    canton, programme, destination_country, status, residence_status, opened_on,
    submitted_at, decided_at, decided_on, decision, departed_at, departed_on, persons,
    adults, minors, startup_cash_rappen, travel_money_rappen, approved_reintegration_rappen)
select case_id, counselling_service_id, reintegration_mission_id,
    canton, programme, destination_country, status, residence_status, opened_on,
    submitted_at, decided_at, decided_on, decision, departed_at, departed_on, persons,
    adults, minors, startup_cash_rappen, travel_money_rappen, approved_reintegration_rappen
from case_statistics_source;
