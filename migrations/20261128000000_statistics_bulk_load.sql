-- A bulk load (the synthetic seed) fills `case_statistics` set-wise for each batch it copies,
-- in the same transaction: the per-row triggers would recompute every case once for each of
-- its rows (the case, every person, the decision, the departure, each approved component),
-- which made loading a million cases three times slower. A transaction that sets
-- `retour.bulk_load` to `on` (with `set local`) takes that duty on itself; every other
-- writer leaves the setting unset and the triggers keep the table current as before.

create or replace function case_statistics_after_case() returns trigger language plpgsql as $$
begin
    if current_setting('retour.bulk_load', true) = 'on' then
        return null;
    end if;
    perform refresh_case_statistics(new.id);
    return null;
end $$;

create or replace function case_statistics_after_part() returns trigger language plpgsql as $$
begin
    if current_setting('retour.bulk_load', true) = 'on' then
        return null;
    end if;
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
