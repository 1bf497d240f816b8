-- The data-protection lifecycle: how long an ended case is kept, the legal holds that keep it
-- longer, its destruction (leaving a tombstone and its anonymous statistics row), the data
-- protection officer, and the consent records a hand-over needs.

-- The data protection officer (at the oversight institution) answers a person's request for
-- their own data and confirms the retention rules.
alter table users drop constraint users_role_check;
alter table users add constraint users_role_check check (role in ('counsellor', 'sem_officer',
    'swissrepat_officer', 'iom_coordinator', 'iom_mission_officer', 'auditor', 'admin',
    'institution_admin', 'data_protection_officer'));

-- How many years after its end a case of each end state is kept before it is offered to the
-- archive and destroyed. The rows below are defaults, to be confirmed by the data protection
-- officer (`confirmed_at`): ten years for a closed case (its payouts are accounting records,
-- and a later application asks about prior assistance), five for a rejected or cancelled one,
-- two for a withdrawn one.
create table retention_rules (
    end_state text primary key
        constraint retention_rules_end_state_check
            check (end_state in ('closed', 'withdrawn', 'rejected', 'cancelled')),
    years integer not null constraint retention_rules_years_check check (years between 1 and 100),
    confirmed_at timestamptz,
    confirmed_by uuid constraint retention_rules_confirmed_by_fkey references users (id),
    updated_at timestamptz not null default now(),
    constraint retention_rules_confirmed check ((confirmed_at is null) = (confirmed_by is null))
);
insert into retention_rules (end_state, years) values
    ('closed', 10), ('rejected', 5), ('cancelled', 5), ('withdrawn', 2);

-- A legal hold keeps a case past its retention (proceedings, an inquiry, an appeal). At most
-- one is in force per case; lifted ones stay as the record of who held it and when.
create table legal_holds (
    id uuid primary key,
    case_id uuid not null constraint legal_holds_case_fkey references cases (id),
    reason text not null
        constraint legal_holds_reason_length check (char_length(reason) between 1 and 2000),
    set_by uuid not null constraint legal_holds_set_by_fkey references users (id),
    set_by_institution uuid not null
        constraint legal_holds_set_by_institution_fkey references institutions (id),
    set_at timestamptz not null default now(),
    lifted_by uuid constraint legal_holds_lifted_by_fkey references users (id),
    lifted_at timestamptz,
    constraint legal_holds_lifted check ((lifted_by is null) = (lifted_at is null))
);
create unique index legal_holds_in_force_key on legal_holds (case_id) where lifted_at is null;

-- What is left of a destroyed case: its reference, its dates and end state, and the rule it
-- was destroyed by. The statistics row stays too, and the access log.
create table case_tombstones (
    case_id uuid primary key,
    reference text not null constraint case_tombstones_reference_key unique,
    counselling_service_id uuid not null
        constraint case_tombstones_service_fkey references institutions (id),
    end_state text not null,
    opened_on date not null,
    ended_at timestamptz not null,
    retention_years integer not null,
    archive_package text not null,
    archive_manifest_sha256 text not null,
    destroyed_at timestamptz not null default now()
);

-- The statistics row outlives its case: it is anonymous, and the figures of past years must
-- not change when their cases are destroyed.
alter table case_statistics drop constraint case_statistics_case_fkey;

-- While a case is destroyed (`retour.destroying` set for the transaction), the statistics
-- triggers leave its row as it is rather than recount a household that is being removed; a
-- bulk load (`retour.bulk_load`) fills the table itself, as before.
create or replace function case_statistics_after_case() returns trigger language plpgsql as $$
begin
    if current_setting('retour.bulk_load', true) = 'on'
        or current_setting('retour.destroying', true) = 'on' then
        return null;
    end if;
    perform refresh_case_statistics(new.id);
    return null;
end $$;

create or replace function case_statistics_after_part() returns trigger language plpgsql as $$
begin
    if current_setting('retour.bulk_load', true) = 'on'
        or current_setting('retour.destroying', true) = 'on' then
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

-- A person's consent to one purpose of processing, as they gave it on the information sheet
-- of a version and language, signed (the signed sheet is a document of the case), and its
-- withdrawal. At most one consent per person and purpose stands at a time.
create table consents (
    id uuid primary key,
    case_id uuid not null constraint consents_case_fkey references cases (id),
    person_id uuid not null
        constraint consents_person_fkey references case_persons (id) on delete cascade,
    purpose text not null constraint consents_purpose_check check (purpose in ('counselling',
        'transfer_to_iom', 'transfer_to_mission', 'medical_data')),
    sheet_version text not null
        constraint consents_sheet_version_length check (char_length(sheet_version) between 1 and 50),
    sheet_language text not null
        constraint consents_sheet_language_check check (sheet_language ~ '^[a-z]{2,3}$'),
    given_on date not null,
    method text not null constraint consents_method_check check (method in ('signed_document')),
    document_id uuid not null constraint consents_document_fkey references documents (id),
    recorded_by uuid not null constraint consents_recorded_by_fkey references users (id),
    recorded_at timestamptz not null default now(),
    withdrawn_on date,
    withdrawal_recorded_by uuid
        constraint consents_withdrawal_recorded_by_fkey references users (id),
    withdrawal_recorded_at timestamptz,
    constraint consents_withdrawal check ((withdrawn_on is null) = (withdrawal_recorded_by is null)
        and (withdrawn_on is null) = (withdrawal_recorded_at is null)),
    constraint consents_withdrawn_after_given check (withdrawn_on >= given_on)
);
create index consents_case_idx on consents (case_id);
create unique index consents_standing_key on consents (person_id, purpose)
    where withdrawn_on is null;

-- The retention run finds the ended cases by their end: the closing, withdrawal or
-- cancellation (`closed_at`), or SEM's rejection (`decided_at`).
create index cases_ended_idx on cases (status, coalesce(closed_at, decided_at))
    where status in ('closed', 'withdrawn', 'rejected', 'cancelled');

-- A person's own data is found across cases by their ZEMIS number.
create index case_persons_zemis_number_idx on case_persons (zemis_number)
    where zemis_number is not null;

-- The signed consent form a consent rests on is a document of its own category.
alter table documents drop constraint documents_category_check;
alter table documents add constraint documents_category_check check (category in (
    'return_request', 'identity_document', 'travel_document', 'medical_certificate',
    'sem_decision', 'payout_receipt', 'reintegration_evidence', 'consent_form', 'other'));

-- The consents are a field group of their own; a consent form's events belong to it.
alter table event_outbox drop constraint event_outbox_field_group_check;
alter table event_outbox add constraint event_outbox_field_group_check check (field_group in (
    'identity', 'asylum_procedure', 'eligibility', 'medical_summary', 'travel_fitness',
    'vulnerabilities', 'assistance', 'travel', 'reintegration', 'review', 'consent'));

-- Append-only records (notes, history, decisions, …) are never changed or deleted, but for
-- the destruction of their case past its retention: the retention run sets
-- `retour.destroying` for that transaction alone.
create or replace function refuse_change() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' and current_setting('retour.destroying', true) = 'on' then
        return old;
    end if;
    raise exception '% rows are never changed or deleted', tg_table_name
        using errcode = 'restrict_violation';
end $$;
