#!/usr/bin/env bash
# Fuzzes the API against its own OpenAPI document with schemathesis: starts `retour serve
# --demo` on a fresh database, signs in as several demo roles and lets schemathesis generate
# valid and invalid requests for every operation, once per role. Fails on any 5xx, any
# response that breaks the document (status, content type, headers, body schema), any
# invalid request that is accepted, and any error logged by the server.
#
# Usage: scripts/fuzz-api.sh   (FUZZ_MAX_EXAMPLES=n for more or fewer cases per operation,
#                               FUZZ_SEED=n or FUZZ_SEED=random, FUZZ_ROLES="sem auditor" to
#                               fuzz as some roles only)
# Needs python3 (for the virtualenv), PostgreSQL on 127.0.0.1:5432 (or FUZZ_PG_URL), cargo.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-100}
# A fixed seed makes CI reproducible; FUZZ_SEED=random explores new cases.
SEED=${FUZZ_SEED:-20261127}
PG_URL=${FUZZ_PG_URL:-postgres://postgres@127.0.0.1:5432}
DATABASE=retour_fuzz_$$
read -ra ROLES <<<"${FUZZ_ROLES:-counsellor.be sem iom mission.iq auditor dpo admin admin.be}"

log() { printf '\n==> %s\n' "$*"; }

# A scratch folder ($workdir) and the throwaway server, stopped on exit.
# shellcheck source=scripts/demo-server.sh
source scripts/demo-server.sh

log "schemathesis $SCHEMATHESIS_VERSION in .venv/"
if [ "$(.venv/bin/schemathesis --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
.venv/bin/schemathesis --version

log "retour serve --demo on database $DATABASE"
demo_server_start "$PG_URL" "$DATABASE" "$workdir/server.log"
base=$demo_base

# Requests the server has answered so far, from /metrics: to the API (not the OpenAPI
# document or the metrics themselves), and with a 5xx status (any route).
answered() {
    curl -sf "$base/metrics" | python3 -c '
import re, sys
total = errors = 0
for line in sys.stdin:
    m = re.match(r"http_requests_total\{(.*)\} (\S+)$", line.strip())
    if m:
        n = int(float(m.group(2)))
        if not re.search(r"route=\"/(openapi\.json|metrics)\"", m.group(1)):
            total += n
        if re.search(r"status=\"5\d\d\"", m.group(1)):
            errors += n
print(total, errors)'
}

login() {
    curl -sf -X POST "$base/v1/auth/login" -H 'content-type: application/json' \
        -d "{\"email\": \"$1@demo.test\", \"password\": \"retour-demo\"}" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

# --checks all, positive_data_acceptance included (its accepted statuses are in
# scripts/schemathesis.toml), except what cannot hold for this API by design:
# - use_after_free, ensure_resource_availability: need links between operations that create
#   and delete resources; none are declared, so they only add noise.
checks=(--checks all --exclude-checks use_after_free,ensure_resource_availability)
seed=()
[ "$SEED" = random ] || seed=(--seed "$SEED")
common=("${checks[@]}" "${seed[@]}" --max-examples "$MAX_EXAMPLES" --max-response-time 5
    --no-color --suppress-health-check all --generation-database none --workers 1)
# One worker: with two threads, Python 3.11's AST parser (used by hypothesis to describe
# strategies) fails at random with "AST constructor recursion depth mismatch".

failed=0
run() {
    local name=$1
    shift
    log "fuzzing as $name"
    if ! .venv/bin/schemathesis --config-file scripts/schemathesis.toml run "$base/openapi.json" \
        "${common[@]}" "$@" >"$workdir/$name.out" 2>&1; then
        failed=1
        cat "$workdir/$name.out"
    else
        grep -E "^  [0-9]+ generated" "$workdir/$name.out" || true
    fi
}

read -r before_total _ < <(answered)
run anonymous --exclude-path /v1/auth/logout
for role in "${ROLES[@]}"; do
    token=$(login "$role")
    # Logout would revoke the token the rest of the run relies on; it has its own run below.
    run "$role" --header "Authorization: Bearer $token" --exclude-path /v1/auth/logout
done
run logout --header "Authorization: Bearer $(login counsellor.zh)" --include-path /v1/auth/logout
read -r after_total server_errors < <(answered)

# The sign-ins that obtained the tokens are not fuzzing.
fuzzed=$((after_total - before_total - ${#ROLES[@]} - 1))
logged_errors=$(grep -c '"level":"ERROR"' "$workdir/server.log" || true)
log "summary"
echo "requests fuzzed: $fuzzed (answered by the server, sign-ins excluded)"
echo "5xx answers:     $server_errors"
echo "errors logged:   $logged_errors"
if [ "$logged_errors" != 0 ]; then
    grep '"level":"ERROR"' "$workdir/server.log" | head -20
fi
if [ "$failed" != 0 ] || [ "$server_errors" != 0 ] || [ "$logged_errors" != 0 ]; then
    echo "FAILED: schemathesis found problems (see above)" >&2
    exit 1
fi
echo "no findings"
