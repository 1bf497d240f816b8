-- Every record of a case the API returns to its counsellor, as JSON, minimally: each table's
-- rows as they are (`to_jsonb`), no access policy, no shaping, with the access event, in one
-- statement. Run as `read-least.sql` is.
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
                where p.case_id = c.id),
    'medical', (select to_jsonb(m) from case_medical m where m.case_id = c.id),
    'eligibility', (select to_jsonb(e) from case_eligibility e where e.case_id = c.id),
    'requested', (select json_agg(a) from case_requested_assistance a where a.case_id = c.id),
    'decision', (select to_jsonb(d) from case_decisions d where d.case_id = c.id),
    'approved', (select json_agg(a) from case_approved_assistance a where a.case_id = c.id),
    'questions', (select json_agg(q order by q.asked_at) from case_review_questions q
                  where q.case_id = c.id),
    'itineraries', (select json_agg(t order by t.booked_at) from case_itineraries t
                    where t.case_id = c.id),
    'departure', (select to_jsonb(x) from case_departures x where x.case_id = c.id),
    'mission', (select i.name from institutions i where i.id = c.reintegration_mission_id),
    'disbursements', (select json_agg(b order by b.paid_on) from case_disbursements b
                      where b.case_id = c.id),
    'visits', (select json_agg(v order by v.due_on) from case_monitoring_visits v
               where v.case_id = c.id),
    'ending', (select to_jsonb(n) from case_endings n where n.case_id = c.id),
    'reclaims', (select json_agg(r order by r.created_at) from case_reclaims r
                 where r.case_id = c.id))
from cases c where c.id = (select b.id from retour_bench_cases b where b.n = :n);
