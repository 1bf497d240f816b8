-- Who holds a case and who decides on it beyond the workflow's table: the SEM reviewer (and
-- the counsellor, already `cases.counsellor_id`) and their reassignment, the four-eyes
-- proposals a second SEM officer confirms, and canton transfers between counselling services.
-- Reassignments, proposals and transfers also leave an entry in `case_events`.

-- Lists filter by assignee (`assigned_to=me`, `assignee=`).
create index cases_reviewer_idx on cases (reviewer_id) where reviewer_id is not null;

-- The counselling service a pending transfer would hand the case to (its decision is
-- recorded in `case_transfers`); kept on the case so that the access policy reads it with
-- the case's other facts.
alter table cases
    add column transfer_to_service_id uuid
        constraint cases_transfer_to_service_fkey references institutions (id);

-- Which changes need a second SEM officer. The defaults below are the installation's
-- starting point: an approval above the entitlement, waiving a reclaim and cancelling a case
-- whose travel is booked. An operator turns one off with an update of `required`.
create table four_eyes_rules (
    kind text primary key
        constraint four_eyes_rules_kind_check check (kind in
            ('approval_override', 'reclaim_waiver', 'cancellation_after_booking')),
    required boolean not null,
    description text not null
);
insert into four_eyes_rules (kind, required, description) values
    ('approval_override', true, 'An approval above the household''s entitlement'),
    ('reclaim_waiver', true, 'Waiving a reclaim of assistance'),
    ('cancellation_after_booking', true, 'Cancelling a case whose travel is booked');

-- A change proposed by one SEM officer, carried out when a second confirms it.
create table case_proposals (
    id uuid primary key,
    case_id uuid not null constraint case_proposals_case_fkey references cases (id),
    kind text not null constraint case_proposals_kind_check check (kind in
        ('approval_override', 'reclaim_waiver', 'cancellation_after_booking')),
    -- the transition request as `POST /v1/cases/{id}/transitions` takes it, for approvals
    -- and cancellations; the reclaim for a waiver
    transition jsonb,
    reclaim_id uuid constraint case_proposals_reclaim_fkey references case_reclaims (id),
    justification text not null
        constraint case_proposals_justification_length check (char_length(justification) between 1 and 4000),
    status text not null default 'open'
        constraint case_proposals_status_check check (status in ('open', 'confirmed', 'returned', 'superseded')),
    proposed_by uuid not null constraint case_proposals_proposed_by_fkey references users (id),
    proposed_at timestamptz not null default now(),
    decided_by uuid constraint case_proposals_decided_by_fkey references users (id),
    decided_at timestamptz,
    return_reason text
        constraint case_proposals_return_reason_length check (char_length(return_reason) between 1 and 4000),
    constraint case_proposals_change_check check ((transition is null) <> (reclaim_id is null)),
    constraint case_proposals_second_person check (decided_by is distinct from proposed_by),
    constraint case_proposals_decided_check check ((status = 'open') = (decided_at is null))
);
-- At most one open proposal per case.
create unique index case_proposals_open_idx on case_proposals (case_id) where status = 'open';
create index case_proposals_case_idx on case_proposals (case_id, proposed_at);
create index case_proposals_open_since_idx on case_proposals (proposed_at) where status = 'open';

-- Handing a case to the counselling service of the canton the person moved to.
create table case_transfers (
    id uuid primary key,
    case_id uuid not null constraint case_transfers_case_fkey references cases (id),
    from_service_id uuid not null constraint case_transfers_from_fkey references institutions (id),
    to_service_id uuid not null constraint case_transfers_to_fkey references institutions (id),
    reason text not null
        constraint case_transfers_reason_length check (char_length(reason) between 1 and 4000),
    status text not null default 'pending'
        constraint case_transfers_status_check check (status in ('pending', 'accepted', 'declined')),
    proposed_by uuid not null constraint case_transfers_proposed_by_fkey references users (id),
    proposed_at timestamptz not null default now(),
    decided_by uuid constraint case_transfers_decided_by_fkey references users (id),
    decided_at timestamptz,
    decline_reason text
        constraint case_transfers_decline_reason_length check (char_length(decline_reason) between 1 and 4000),
    -- the counsellor of the receiving service who took the case over
    counsellor_id uuid constraint case_transfers_counsellor_fkey references users (id),
    constraint case_transfers_services_check check (from_service_id <> to_service_id),
    constraint case_transfers_decided_check check ((status = 'pending') = (decided_at is null))
);
-- At most one pending transfer per case.
create unique index case_transfers_pending_idx on case_transfers (case_id) where status = 'pending';
create index case_transfers_case_idx on case_transfers (case_id, proposed_at);
create index case_transfers_to_idx on case_transfers (to_service_id, proposed_at desc);
create index case_transfers_from_idx on case_transfers (from_service_id, proposed_at desc);
