-- The work queue reads a page without reading the whole queue: each kind of item is walked
-- in the queue's order (due date, then since, then the item) on an index and stops at the
-- page's end, and each kind is counted by itself.
--
-- The open deadlines of a kind in due order, then by when they opened and their case: a
-- queue's dated items (SEM's reviews, the questions a counselling service answers, the
-- journeys to book, the departures to confirm).
create index case_deadlines_open_queue_idx on case_deadlines (kind, due_on, opened_at, case_id)
    include (overdue_at)
    where closed_at is null;
-- A mission's planned visits in due order.
create index case_monitoring_visits_planned_due_idx on case_monitoring_visits
    (due_on, created_at, id)
    include (case_id)
    where done_on is null;
-- Whether a booked case's journey is a SIM one (IOM Bern confirms it) or swissREPAT's,
-- counted from the index alone.
create index case_itineraries_case_open_idx on case_itineraries (case_id)
    include (sim)
    where no_show_at is null;
-- The cases of the statuses SEM and the travel partners work on, with what their queues show
-- and their ids, so that a queue walks and counts them from the index alone (the earlier
-- queue indexes leave the id out, and a join on it went to the table).
create index cases_queue_case_idx on cases (status, reviewer_id)
    include (id, reference, submitted_at, approved_at, departed_at, updated_at)
    where status in ('submitted', 'under_review', 'approved', 'travel_booked', 'departed');
-- A mission's reintegrations with their ids, to count their planned visits from indexes.
create index cases_mission_queue_case_idx on cases (reintegration_mission_id)
    include (id)
    where status = 'reintegration';
