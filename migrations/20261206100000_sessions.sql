-- A user's sign-in is a session. Its refresh tokens rotate within it, and every access token
-- issued in it names it (the `sid` claim), so that a replayed refresh token, a logout or a
-- disabled account ends all of them at once rather than each when it expires.

create table sessions (
    id uuid primary key,
    user_id uuid not null references users (id) on delete cascade,
    started_at timestamptz not null default now(),
    ended_at timestamptz,
    -- why it ended; `revoked` for sessions ended before the reason was kept
    end_reason text constraint sessions_end_reason_check check (end_reason in ('logout',
        'refresh_reused', 'account_disabled', 'password_changed', 'institution_deactivated',
        'revoked')),
    constraint sessions_ended check ((ended_at is null) = (end_reason is null))
);
create index sessions_user_idx on sessions (user_id);

-- The refresh-token families so far become sessions; a family with a revoked token was
-- revoked whole (reuse, logout, a disabled account), so its session has ended.
insert into sessions (id, user_id, started_at, ended_at, end_reason)
select family_id, (array_agg(user_id))[1], min(created_at), max(revoked_at),
       case when bool_or(revoked_at is not null) then 'revoked' end
from refresh_tokens
group by family_id;

alter table refresh_tokens rename column family_id to session_id;
alter index refresh_tokens_family_idx rename to refresh_tokens_session_idx;
alter table refresh_tokens add constraint refresh_tokens_session_fkey
    foreign key (session_id) references sessions (id) on delete cascade;

-- Ending a session ends its access tokens: the servers that keep verified tokens in memory
-- must hear of it (see `auth_change_notify`).
create trigger sessions_auth_change
    after update of ended_at or delete on sessions
    for each statement execute function notify_auth_change();

-- A service account's access tokens name the generation of the client secret they were
-- obtained with; rotating the secret starts a new generation and so ends every earlier token.
alter table service_accounts add column secret_generation integer not null default 1
    constraint service_accounts_secret_generation_check check (secret_generation >= 1);

create trigger service_accounts_secret_change
    after update of secret_generation on service_accounts
    for each statement execute function notify_auth_change();
