# Sourced by the scripts that test a running server (fuzz-api.sh, contract.sh): a throwaway
# `retour serve --demo` on a fresh database, with the sign-in rate limit off so that a tool
# can sign in as many roles as often as it needs and reach the handlers behind the limit.
#
#   demo_server_start PG_URL DATABASE LOG   builds and starts it, logging JSON to LOG, and
#                                           waits until it is ready; sets demo_base (its URL)
#   demo_server_stop                        stops it and drops DATABASE; safe to call twice,
#                                           and before it was started
#
# Sourcing it also makes a scratch folder, $workdir, and an EXIT trap that stops the server
# and removes the folder.

demo_pid=
demo_pg_url=
demo_database=
demo_base=

demo_server_start() {
    demo_pg_url=$1
    demo_database=$2
    local log=$3 port
    cargo build --locked --quiet --bin retour
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    demo_base="http://127.0.0.1:$port"
    DATABASE_URL="$demo_pg_url/$demo_database" RETOUR_ADDR="127.0.0.1:$port" RETOUR_LOG=json \
        RETOUR_LOGIN_RATE_PER_MINUTE=0 RUST_LOG="warn,retour=info" \
        "${CARGO_TARGET_DIR:-target}/debug/retour" serve --demo >"$log" 2>&1 &
    demo_pid=$!
    for _ in $(seq 1 120); do
        curl -sf "$demo_base/health/ready" >/dev/null && return 0
        kill -0 "$demo_pid" 2>/dev/null || { cat "$log" >&2; return 1; }
        sleep 0.5
    done
    echo "the server did not get ready" >&2
    return 1
}

workdir=$(mktemp -d)
trap 'demo_server_stop; rm -rf "$workdir"' EXIT

demo_server_stop() {
    if [ -n "$demo_pid" ] && kill -0 "$demo_pid" 2>/dev/null; then
        kill "$demo_pid" 2>/dev/null || true
        wait "$demo_pid" 2>/dev/null || true
    fi
    demo_pid=
    if [ -n "$demo_database" ]; then
        psql "$demo_pg_url/postgres" -qAt -c "drop database if exists $demo_database with (force)" \
            >/dev/null 2>&1 || echo "warning: could not drop database $demo_database" >&2
    fi
}
