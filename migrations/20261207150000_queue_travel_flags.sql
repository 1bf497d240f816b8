-- IOM Bern's work queue at a million cases: which booked cases are its to confirm (a SIM
-- journey) and which departed cases wait for a reintegration (an approved project) were
-- decided by probing another table for every booked or departed case, twice (for the page and
-- for the count): about 28,000 buffer reads per request. The case row now carries both facts,
-- kept by the transition that changes them, so that the queue walks and counts them from one
-- index.
--
-- `journey_sim`: whether the case's open journey (an itinerary without a no-show) is a SIM
-- one, which IOM Bern books and confirms (false: swissREPAT's); null without an open journey.
-- `reintegration_project`: whether SEM approved a reintegration project (an amount above
-- zero); decisions are never edited, so it is set once, at the approval.
alter table cases
    add column journey_sim boolean,
    add column reintegration_project boolean not null default false;

update cases c set journey_sim = t.sim
from case_itineraries t
where t.case_id = c.id and t.no_show_at is null;

update cases c set reintegration_project = true
where exists (select 1 from case_approved_assistance a
    where a.case_id = c.id and a.component = 'reintegration_project' and a.amount_rappen > 0);

-- The booked and departed cases by who confirms the departure and whether a reintegration
-- follows, with what the queue shows.
create index cases_travel_queue_idx on cases (status, journey_sim, reintegration_project)
    include (id, reference, approved_at, departed_at, updated_at)
    where status in ('travel_booked', 'departed');
