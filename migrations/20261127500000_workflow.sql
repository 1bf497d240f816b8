-- The return workflow: each transition's record, the case history, SEM's questions, travel,
-- departure and payout, reintegration, closure, country information requests and reclaims.
-- Records of decisions and payouts are never edited once written.

alter table cases
    add column reviewer_id uuid constraint cases_reviewer_fkey references users (id),
    add column decided_at timestamptz,
    add column departed_at timestamptz,
    add column closed_at timestamptz,
    -- the phase of the asylum procedure, for federal-centre tariffs
    add column procedure_phase text
        constraint cases_procedure_phase_check
            check (procedure_phase in ('phase_1', 'phase_2', 'phase_3', 'phase_4'));

create index cases_status_idx on cases (status);
create index cases_decided_idx on cases (decided_at) where decided_at is not null;
create index cases_departed_idx on cases (departed_at) where departed_at is not null;

-- The history of a case: one row per transition (and the opening), who did it and when.
create table case_events (
    id uuid primary key,
    case_id uuid not null constraint case_events_case_fkey references cases (id),
    action text not null,
    from_status text,
    to_status text not null,
    actor_id uuid not null constraint case_events_actor_fkey references users (id),
    actor_institution_id uuid not null
        constraint case_events_institution_fkey references institutions (id),
    actor_role text not null,
    comment text constraint case_events_comment_length check (char_length(comment) <= 10000),
    occurred_at timestamptz not null default now()
);
create index case_events_case_idx on case_events (case_id, occurred_at, id);

-- SEM's questions to the counselling service during review, and the answers.
create table case_review_questions (
    id uuid primary key,
    case_id uuid not null constraint case_review_questions_case_fkey references cases (id),
    question text not null
        constraint case_review_questions_question_length check (char_length(question) between 1 and 10000),
    asked_by uuid not null constraint case_review_questions_asked_by_fkey references users (id),
    asked_at timestamptz not null default now(),
    answer text constraint case_review_questions_answer_length check (char_length(answer) between 1 and 10000),
    answered_by uuid constraint case_review_questions_answered_by_fkey references users (id),
    answered_at timestamptz
);
create index case_review_questions_case_idx on case_review_questions (case_id, asked_at);

-- SEM's decision: one per case, never edited.
create table case_decisions (
    case_id uuid primary key constraint case_decisions_case_fkey references cases (id),
    decision text not null constraint case_decisions_decision_check check (decision in ('approved', 'rejected')),
    reasons text not null constraint case_decisions_reasons_length check (char_length(reasons) between 1 and 10000),
    legal_ground text constraint case_decisions_legal_ground_check check (legal_ground in
        ('crime_or_repeated_offences', 'abuse', 'sufficient_assets', 'already_received',
         'visa_exempt_travel_only', 'country_suspended', 'other')),
    -- an approval above the entitlement, and why
    override_justification text
        constraint case_decisions_override_length check (char_length(override_justification) <= 10000),
    overridden_components text[] not null default '{}',
    decided_by uuid not null constraint case_decisions_decided_by_fkey references users (id),
    decided_at timestamptz not null default now(),
    constraint case_decisions_rejection_ground check ((decision = 'rejected') = (legal_ground is not null))
);

create table case_approved_assistance (
    case_id uuid not null constraint case_approved_assistance_case_fkey references case_decisions (case_id),
    component text not null
        constraint case_approved_assistance_component_check check (component in
            ('startup_cash', 'reintegration_project', 'medical', 'travel_money', 'travel_costs')),
    amount_rappen bigint not null
        constraint case_approved_assistance_amount_check check (amount_rappen between 0 and 100000000),
    constraint case_approved_assistance_pkey primary key (case_id, component)
);

-- Bookings; a no-show leaves its booking as it was and the case is booked again.
create table case_itineraries (
    id uuid primary key,
    case_id uuid not null constraint case_itineraries_case_fkey references cases (id),
    departure_airport text not null
        constraint case_itineraries_departure_airport_check check (departure_airport in ('ZRH', 'GVA', 'BSL')),
    departure_at timestamptz not null,
    flights text[] not null constraint case_itineraries_flights_check check (cardinality(flights) between 1 and 8),
    destination_airport text not null
        constraint case_itineraries_destination_airport_check check (destination_airport ~ '^[A-Z]{3}$'),
    escort text not null constraint case_itineraries_escort_check check (escort in ('none', 'social', 'medical')),
    sim boolean not null default false,
    booked_by uuid not null constraint case_itineraries_booked_by_fkey references users (id),
    booked_at timestamptz not null default now(),
    no_show_at timestamptz,
    no_show_comment text
);
create index case_itineraries_case_idx on case_itineraries (case_id, booked_at);

-- The departure and the cash paid at the airport: one per case, never edited.
create table case_departures (
    case_id uuid primary key constraint case_departures_case_fkey references cases (id),
    itinerary_id uuid not null constraint case_departures_itinerary_fkey references case_itineraries (id),
    departed_at timestamptz not null,
    startup_cash_rappen bigint not null
        constraint case_departures_startup_cash_check check (startup_cash_rappen >= 0),
    travel_money_rappen bigint not null
        constraint case_departures_travel_money_check check (travel_money_rappen >= 0),
    receipt_reference text not null
        constraint case_departures_receipt_length check (char_length(receipt_reference) between 1 and 100),
    confirmed_by uuid not null constraint case_departures_confirmed_by_fkey references users (id),
    confirmed_at timestamptz not null default now()
);

-- Reintegration support delivered in kind by the IOM mission.
create table case_disbursements (
    id uuid primary key,
    case_id uuid not null constraint case_disbursements_case_fkey references cases (id),
    amount_rappen bigint not null
        constraint case_disbursements_amount_check check (amount_rappen between 1 and 100000000),
    purpose text not null constraint case_disbursements_purpose_length check (char_length(purpose) between 1 and 1000),
    paid_on date not null,
    recorded_by uuid not null constraint case_disbursements_recorded_by_fkey references users (id),
    created_at timestamptz not null default now()
);
create index case_disbursements_case_idx on case_disbursements (case_id, paid_on);

create table case_monitoring_visits (
    id uuid primary key,
    case_id uuid not null constraint case_monitoring_visits_case_fkey references cases (id),
    due_on date not null,
    done_on date,
    outcome text constraint case_monitoring_visits_outcome_length check (char_length(outcome) between 1 and 4000),
    -- how sustainable the reintegration looks, from 0 (not at all) to 1 (fully)
    sustainability_score double precision
        constraint case_monitoring_visits_score_check check (sustainability_score between 0 and 1),
    recorded_by uuid not null constraint case_monitoring_visits_recorded_by_fkey references users (id),
    created_at timestamptz not null default now()
);
create index case_monitoring_visits_case_idx on case_monitoring_visits (case_id, due_on);

-- How a case ended: closed (with an outcome), withdrawn or cancelled (with a reason).
create table case_endings (
    case_id uuid primary key constraint case_endings_case_fkey references cases (id),
    kind text not null constraint case_endings_kind_check check (kind in ('closed', 'withdrawn', 'cancelled')),
    -- close: completed | abandoned | unreachable | other; cancel: no_show | absconded |
    -- revoked | deceased | other; withdraw: free text is in `comment`
    reason text,
    comment text constraint case_endings_comment_length check (char_length(comment) <= 10000),
    ended_by uuid not null constraint case_endings_ended_by_fkey references users (id),
    ended_at timestamptz not null default now()
);

-- Country information requests (programme RIF): a counsellor asks IOM Bern about the
-- destination; IOM sees the question and the country, not the case file.
create table information_requests (
    id uuid primary key,
    case_id uuid not null constraint information_requests_case_fkey references cases (id),
    destination_country text not null
        constraint information_requests_country_check check (destination_country ~ '^[A-Z]{2}$'),
    question text not null
        constraint information_requests_question_length check (char_length(question) between 1 and 10000),
    asked_by uuid not null constraint information_requests_asked_by_fkey references users (id),
    asked_at timestamptz not null default now(),
    status text not null default 'open'
        constraint information_requests_status_check check (status in ('open', 'answered')),
    answer text constraint information_requests_answer_length check (char_length(answer) between 1 and 10000),
    answered_by uuid constraint information_requests_answered_by_fkey references users (id),
    answered_at timestamptz
);
create index information_requests_open_idx on information_requests (asked_at, id) where status = 'open';
create index information_requests_case_idx on information_requests (case_id);

-- Repayment of assistance (AsylV 2 Art. 62 al. 5) after a re-entry or a non-departure.
create table case_reclaims (
    id uuid primary key,
    case_id uuid not null constraint case_reclaims_case_fkey references cases (id),
    reason text not null constraint case_reclaims_reason_check check (reason in ('re_entry', 'non_departure')),
    amount_rappen bigint not null constraint case_reclaims_amount_check check (amount_rappen between 1 and 100000000),
    status text not null default 'open'
        constraint case_reclaims_status_check check (status in ('open', 'settled', 'waived')),
    comment text constraint case_reclaims_comment_length check (char_length(comment) <= 10000),
    recorded_by uuid not null constraint case_reclaims_recorded_by_fkey references users (id),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index case_reclaims_case_idx on case_reclaims (case_id);

-- Records that are never changed or deleted once written (refuse_change() is defined with
-- the cases).
create trigger case_events_append_only before update or delete on case_events
    for each row execute function refuse_change();
create trigger case_decisions_never_edited before update or delete on case_decisions
    for each row execute function refuse_change();
create trigger case_approved_assistance_never_edited before update or delete on case_approved_assistance
    for each row execute function refuse_change();
create trigger case_departures_never_edited before update or delete on case_departures
    for each row execute function refuse_change();
create trigger case_disbursements_never_edited before update or delete on case_disbursements
    for each row execute function refuse_change();
