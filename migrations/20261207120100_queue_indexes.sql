-- What the work queue (`GET /v1/me/queue`) reads per role, indexed so that a queue stays a
-- few index lookups at a million cases: a counsellor's drafts and questions to answer, and a
-- SEM officer's reviews and approvals. The other queues take the cases of one status
-- (submitted, approved, booked, departed) by `cases_status_idx`.
create index cases_counsellor_queue_idx on cases (counsellor_id, status)
    where status in ('counselling', 'info_requested');
create index cases_reviewer_queue_idx on cases (reviewer_id, status)
    where status in ('under_review', 'approved');
