-- Partner institutions, their users, sign-in state and signing keys.

create table institutions (
    id uuid primary key,
    kind text not null
        constraint institutions_kind_check check (kind in
            ('counselling_service', 'sem', 'iom_bern', 'iom_mission', 'oversight', 'operator')),
    name text not null
        constraint institutions_name_length check (char_length(name) between 1 and 200),
    -- a cantonal counselling service's canton
    canton text constraint institutions_canton_check check (canton ~ '^[A-Z]{2}$'),
    -- a counselling service in a federal asylum centre serves a federal asylum region
    federal_region text,
    -- an IOM mission's country (ISO 3166-1 alpha-2)
    country text constraint institutions_country_check check (country ~ '^[A-Z]{2}$'),
    contact_email text,
    contact_phone text,
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint institutions_counselling_location check
        (kind <> 'counselling_service' or canton is not null or federal_region is not null),
    constraint institutions_mission_country check (kind <> 'iom_mission' or country is not null)
);
create unique index institutions_name_key on institutions (lower(name));

create table users (
    id uuid primary key,
    institution_id uuid not null references institutions (id),
    email text not null
        constraint users_email_length check (char_length(email) between 3 and 254),
    display_name text not null
        constraint users_display_name_length check (char_length(display_name) between 1 and 200),
    role text not null
        constraint users_role_check check (role in ('counsellor', 'sem_officer',
            'swissrepat_officer', 'iom_coordinator', 'iom_mission_officer', 'auditor', 'admin')),
    status text not null default 'active'
        constraint users_status_check check (status in ('active', 'disabled')),
    password_hash text not null,
    locked_until timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index users_email_key on users (lower(email));
create index users_institution_idx on users (institution_id);

-- Failed sign-ins, counted per account across all server processes for the lockout.
create table login_failures (
    user_id uuid not null references users (id) on delete cascade,
    failed_at timestamptz not null default now()
);
create index login_failures_user_idx on login_failures (user_id, failed_at);

-- Refresh tokens, stored only as SHA-256 hashes. Each use rotates the token within its
-- family; presenting a rotated one again revokes the whole family.
create table refresh_tokens (
    id uuid primary key,
    family_id uuid not null,
    user_id uuid not null references users (id) on delete cascade,
    token_hash bytea not null constraint refresh_tokens_hash_key unique,
    expires_at timestamptz not null,
    rotated_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz not null default now()
);
create index refresh_tokens_family_idx on refresh_tokens (family_id);
create index refresh_tokens_user_idx on refresh_tokens (user_id);

-- Ed25519 keys that sign access tokens when no RETOUR_JWT_KEY is configured, so that every
-- process of an installation signs with the same key and restarts keep tokens valid.
create table signing_keys (
    kid text primary key,
    private_key_pem text not null,
    public_key_x text not null,
    created_at timestamptz not null default now(),
    retired_at timestamptz
);

-- Integrators' service accounts (OAuth 2 client credentials).
create table service_accounts (
    id uuid primary key,
    institution_id uuid not null references institutions (id),
    name text not null
        constraint service_accounts_name_length check (char_length(name) between 1 and 200),
    client_id text not null constraint service_accounts_client_id_key unique,
    secret_hash text not null,
    scopes text[] not null default '{}'
        constraint service_accounts_scopes_check
            check (scopes <@ array['cases:read', 'stats:read', 'events:read']),
    status text not null default 'active'
        constraint service_accounts_status_check check (status in ('active', 'disabled')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

-- Access tokens revoked before their expiry (logout); checked on every request.
create table revoked_access_tokens (
    jti uuid primary key,
    expires_at timestamptz not null
);
create index revoked_access_tokens_expiry_idx on revoked_access_tokens (expires_at);
