-- Servers keep the accounts behind verified access tokens in memory for a short while. Every
-- change that can end a token's validity (an account disabled, a role or institution changed,
-- an institution deactivated, a service account's scopes narrowed, a token signed out)
-- notifies them on the channel `retour_auth` when it commits, whichever process made it (the
-- API, the command line, an operator in psql), and they forget what they kept.

create function notify_auth_change() returns trigger language plpgsql as $$
begin
    perform pg_notify('retour_auth', tg_table_name);
    return null;
end $$;

create trigger users_auth_change
    after update of institution_id, role, status or delete on users
    for each statement execute function notify_auth_change();
create trigger institutions_auth_change
    after update of kind, canton, country, active or delete on institutions
    for each statement execute function notify_auth_change();
create trigger service_accounts_auth_change
    after update of institution_id, scopes, status or delete on service_accounts
    for each statement execute function notify_auth_change();
create trigger revoked_access_tokens_auth_change
    after insert on revoked_access_tokens
    for each statement execute function notify_auth_change();
