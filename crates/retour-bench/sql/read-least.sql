-- The least a read of one case can be: the case row and its persons, with the access event,
-- in one statement. Run by pgbench (`-M prepared`, `-D user=<uuid> -D cases=<n>`) and by
-- retour-bench through sqlx, the same text: `:n` is a case of `retour_bench_cases` (the
-- cases the API's read scenario reads), `:user` the counsellor.
\set n random(1, :cases)
with logged as (
    insert into audit_events (id, actor_type, actor_id, actor_role, action, resource_type,
        resource_id, outcome)
    select gen_random_uuid(), 'user', :user::uuid, 'counsellor', 'case.read', 'case', b.id,
        'allowed'
    from retour_bench_cases b where b.n = :n)
select json_build_object(
    'case', to_jsonb(c),
    'persons', (select json_agg(p order by p.position) from case_persons p
                where p.case_id = c.id))
from cases c where c.id = (select b.id from retour_bench_cases b where b.n = :n);
