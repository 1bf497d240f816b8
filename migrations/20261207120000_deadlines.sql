-- Deadlines of the workflow: how long each stage may take (configurable per stage), and the
-- deadlines of each case, opened and closed in the transaction of the change that causes them.

-- How the due date of each kind of deadline is set. The rows below are the defaults the
-- installation starts with: an operator may change a length or the way it counts (`update
-- deadline_rules set length_days = 15 where kind = 'sem_decision'`); the new rule applies
-- to the deadlines opened from then on, never to those already open.
create table deadline_rules (
    kind text primary key
        constraint deadline_rules_kind_check check (kind in ('sem_decision', 'information_answer',
            'travel', 'departure', 'monitoring_visit')),
    -- `working_days`: Monday to Friday without the federal public holidays;
    -- `calendar_days`: every day; `own_date`: due on a date the change itself gives (the
    -- booked departure, a visit's planned day), so without a length.
    counting text not null
        constraint deadline_rules_counting_check
            check (counting in ('working_days', 'calendar_days', 'own_date')),
    length_days integer
        constraint deadline_rules_length_check check (length_days between 1 and 366),
    description text not null
        constraint deadline_rules_description_length check (char_length(description) between 1 and 500),
    constraint deadline_rules_length_given check ((counting = 'own_date') = (length_days is null))
);

insert into deadline_rules (kind, counting, length_days, description) values
    ('sem_decision', 'working_days', 20,
     'SEM decides within 20 working days of the submission (or of the answer to its information request)'),
    ('information_answer', 'working_days', 10,
     'The counselling service answers SEM''s information request within 10 working days'),
    ('travel', 'calendar_days', 90,
     'The person travels within 90 days of the approval; after that the approval has expired'),
    ('departure', 'own_date', null, 'The booked departure takes place on the booked day'),
    ('monitoring_visit', 'own_date', null, 'A planned monitoring visit is done by its planned day');

-- The deadlines of a case. Open while `closed_at` is null; `overdue_at` is set once, by the
-- overdue job, when an open deadline's day has passed. An extension (SEM, for `travel` and
-- `information_answer`) moves `due_on` and keeps the first due date in `original_due_on`.
create table case_deadlines (
    id uuid primary key,
    case_id uuid not null constraint case_deadlines_case_fkey references cases (id),
    kind text not null constraint case_deadlines_kind_fkey references deadline_rules (kind),
    -- what the deadline is about within the case, where it has several (a monitoring visit)
    subject_id uuid,
    opened_at timestamptz not null default now(),
    due_on date not null,
    closed_at timestamptz,
    overdue_at timestamptz,
    original_due_on date,
    extended_at timestamptz,
    extended_by uuid constraint case_deadlines_extended_by_fkey references users (id),
    extension_reason text
        constraint case_deadlines_extension_reason_length check (char_length(extension_reason) between 1 and 2000),
    constraint case_deadlines_closed_after_opened check (closed_at >= opened_at),
    constraint case_deadlines_extension_complete check (
        (extended_at is null) = (extended_by is null)
        and (extended_at is null) = (extension_reason is null)
        and (extended_at is null) = (original_due_on is null))
);

-- One open deadline per case, kind and subject.
create unique index case_deadlines_one_open_key on case_deadlines (case_id, kind, subject_id)
    nulls not distinct where closed_at is null;
-- The open deadlines of one case (the case's read, closing them with the case).
create index case_deadlines_case_open_idx on case_deadlines (case_id) where closed_at is null;
-- The open deadlines of a kind by due date (the work queue, the overdue list filter).
create index case_deadlines_open_due_idx on case_deadlines (kind, due_on, case_id)
    where closed_at is null;
-- The overdue deadlines of one case (the `overdue` flag and filter of case lists).
create index case_deadlines_overdue_idx on case_deadlines (case_id, kind)
    where closed_at is null and overdue_at is not null;
-- What the overdue job looks at: open deadlines not marked yet, by due date.
create index case_deadlines_unmarked_idx on case_deadlines (due_on)
    where closed_at is null and overdue_at is null;

-- How a case ended: the reason is one of the closed vocabularies of its kind (a withdrawal's
-- reason is free text, kept in `comment`). `approval_expired`: the approval's travel deadline
-- passed and SEM let the case lapse.
alter table case_endings add constraint case_endings_reason_check check (
    (kind = 'closed' and reason in ('completed', 'abandoned', 'unreachable', 'other'))
    or (kind = 'cancelled' and reason in ('no_show', 'absconded', 'revoked', 'deceased',
        'approval_expired', 'other'))
    or (kind = 'withdrawn' and reason is null));
