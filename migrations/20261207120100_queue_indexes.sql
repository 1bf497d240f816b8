-- What the work queue (`GET /v1/me/queue`) reads per role, indexed so that each queue is
-- read from indexes alone at a million cases (each index carries the columns its queue
-- shows): a counsellor's drafts and questions to answer, a SEM officer's reviews and
-- approvals, the cases of the statuses the travel partners and SEM work on, a mission's
-- reintegrations and their planned visits, and the open deadline of a kind of a case.
create index cases_counsellor_queue_idx on cases (counsellor_id, status)
    include (counselling_service_id, reference, created_at, updated_at)
    where status in ('counselling', 'info_requested');
create index cases_reviewer_queue_idx on cases (reviewer_id, status)
    include (reference, submitted_at, updated_at)
    where status in ('under_review', 'approved');
create index cases_queue_status_idx on cases (status)
    include (reference, submitted_at, approved_at, departed_at, updated_at)
    where status in ('submitted', 'approved', 'travel_booked', 'departed');
create index cases_mission_queue_idx on cases (reintegration_mission_id)
    include (reference, status)
    where status = 'reintegration';
create index case_deadlines_kind_case_open_idx on case_deadlines (kind, case_id)
    include (subject_id, due_on, opened_at, overdue_at)
    where closed_at is null;
create index case_monitoring_visits_planned_idx on case_monitoring_visits (case_id)
    include (due_on, created_at)
    where done_on is null;
-- A departed case waits for its reintegration to start when SEM approved a project.
create index case_approved_assistance_project_idx on case_approved_assistance (case_id)
    where component = 'reintegration_project' and amount_rappen > 0;
