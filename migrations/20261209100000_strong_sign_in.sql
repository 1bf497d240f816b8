-- Strong sign-in and separation of duties: a second factor (TOTP) with recovery codes,
-- sign-in challenges, what a session knows of its client, institution administrators, grants
-- of access that a second administrator approves, and break-glass access to a case.

-- Every institution may require a second factor of its users; institutions created from now
-- on require one unless an administrator says otherwise (the demo's institutions do not).
alter table institutions add column mfa_required boolean not null default true;

-- `institution_admin` manages the users and service accounts of its own institution.
alter table users drop constraint users_role_check;
alter table users add constraint users_role_check check (role in ('counsellor', 'sem_officer',
    'swissrepat_officer', 'iom_coordinator', 'iom_mission_officer', 'auditor', 'admin',
    'institution_admin'));

-- An account that grants access to case data or the access log, made by an institution's only
-- administrator, waits for a second administrator: `pending_approval` cannot sign in.
alter table users drop constraint users_status_check;
alter table users add constraint users_status_check
    check (status in ('active', 'disabled', 'pending_approval'));
alter table users
    add column created_by uuid constraint users_created_by_fkey references users (id),
    add column approval_requested_by uuid
        constraint users_approval_requested_by_fkey references users (id),
    add column mfa_reset_requested_by uuid
        constraint users_mfa_reset_requested_by_fkey references users (id),
    add column mfa_reset_requested_at timestamptz,
    add constraint users_pending_approval check
        ((status = 'pending_approval') = (approval_requested_by is not null));

alter table service_accounts drop constraint service_accounts_status_check;
alter table service_accounts add constraint service_accounts_status_check
    check (status in ('active', 'disabled', 'pending_approval'));
alter table service_accounts
    add column approval_requested_by uuid
        constraint service_accounts_approval_requested_by_fkey references users (id),
    add constraint service_accounts_pending_approval check
        ((status = 'pending_approval') = (approval_requested_by is not null));

-- A user's TOTP authenticator (RFC 6238). The secret is kept wrapped by the installation's
-- master key (as documents' keys are), bound to `id`. `last_step` is the newest time step
-- whose code was accepted: no code of it or of an earlier step is accepted again.
create table totp_factors (
    user_id uuid primary key constraint totp_factors_user_fkey references users (id)
        on delete cascade,
    id uuid not null constraint totp_factors_id_key unique,
    key_id text not null,
    wrapped_secret bytea not null,
    confirmed_at timestamptz,
    last_step bigint not null default 0,
    created_at timestamptz not null default now()
);

-- Ten single-use recovery codes per confirmed factor, kept as SHA-256 hashes (each code holds
-- 80 random bits).
create table recovery_codes (
    user_id uuid not null constraint recovery_codes_user_fkey references users (id)
        on delete cascade,
    code_hash bytea not null,
    used_at timestamptz,
    primary key (user_id, code_hash)
);

-- The second step of a sign-in: a password accepted, a code still to come. Kept as a hash of
-- the token the client holds; short-lived, used once, and given up after five wrong codes.
create table mfa_challenges (
    id uuid primary key,
    user_id uuid not null constraint mfa_challenges_user_fkey references users (id)
        on delete cascade,
    token_hash bytea not null constraint mfa_challenges_token_key unique,
    -- the user has no confirmed factor yet and must enrol one (their institution requires it)
    enrolment boolean not null,
    failures integer not null default 0,
    expires_at timestamptz not null,
    completed_at timestamptz,
    created_at timestamptz not null default now()
);
create index mfa_challenges_user_idx on mfa_challenges (user_id);

-- What a user sees of their sessions: when each was last used (its last refresh) and from
-- which client.
alter table sessions
    add column last_used_at timestamptz,
    add column client_addr inet,
    add column user_agent text constraint sessions_user_agent_length
        check (char_length(user_agent) <= 512);
update sessions set last_used_at = started_at;
alter table sessions alter column last_used_at set default now();
alter table sessions alter column last_used_at set not null;
alter table sessions drop constraint sessions_end_reason_check;
alter table sessions add constraint sessions_end_reason_check check (end_reason in ('logout',
    'refresh_reused', 'account_disabled', 'password_changed', 'institution_deactivated',
    'revoked', 'ended_by_user', 'ended_by_administrator', 'mfa_reset'));

-- Break-glass: a user of a configured role opens a case outside their scope in an emergency,
-- read-only, for a limited time, with a reason; an auditor reviews and closes each use.
create table break_glass_uses (
    id uuid primary key,
    case_id uuid not null constraint break_glass_uses_case_fkey references cases (id),
    user_id uuid not null constraint break_glass_uses_user_fkey references users (id),
    institution_id uuid not null
        constraint break_glass_uses_institution_fkey references institutions (id),
    reason text not null
        constraint break_glass_uses_reason_length check (char_length(reason) between 20 and 2000),
    opened_at timestamptz not null default now(),
    expires_at timestamptz not null,
    reviewed_at timestamptz,
    reviewed_by uuid constraint break_glass_uses_reviewed_by_fkey references users (id),
    review_note text
        constraint break_glass_uses_review_note_length check (char_length(review_note) <= 2000),
    constraint break_glass_uses_reviewed check
        ((reviewed_at is null) = (reviewed_by is null) and (reviewed_at is null) = (review_note is null))
);
create index break_glass_uses_user_case_idx on break_glass_uses (user_id, case_id, expires_at);
create index break_glass_uses_open_idx on break_glass_uses (opened_at) where reviewed_at is null;
