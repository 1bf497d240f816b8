#!/usr/bin/env bash
# Checks the published contract, openapi/openapi.json, as an integrator meets it: lints it
# with Redocly (recommended rules) and Spectral (spectral:oas), generates a TypeScript client
# (openapi-typescript + openapi-fetch, type-checked with tsc --strict) and a Python client
# (openapi-python-client), starts `retour serve --demo` on a fresh database, checks that it
# serves the same document, and drives one case from opening to closing with each client.
# Fails on any lint error, type error, unexpected answer or answer the client cannot parse.
#
# Usage: scripts/contract.sh
# Needs node and npm (20.19 or newer), python3, cargo, and PostgreSQL on 127.0.0.1:5432
# (or CONTRACT_PG_URL). The tools are pinned in contract/package-lock.json and
# contract/python/requirements.txt and installed once, into contract/node_modules and
# .venv-contract/.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL=${CONTRACT_PG_URL:-postgres://postgres@127.0.0.1:5432}
DATABASE=retour_contract_$$
DOCUMENT=openapi/openapi.json
BUILD=contract/build
VENV=.venv-contract
# No telemetry, update notices or install-time analytics from the tools.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true SCARF_ANALYTICS=false \
    npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

log() { printf '\n==> %s\n' "$*"; }

started=$(date +%s%N)
stage_started=$started
timings=()
# Closes the running stage: records how long it took.
done_stage() {
    local now
    now=$(date +%s%N)
    timings+=("$(printf '%-12s %6.1f s' "$1" "$(((now - stage_started) / 1000000))e-3")")
    stage_started=$now
}

# A scratch folder ($workdir) and the throwaway server, stopped on exit.
# shellcheck source=scripts/demo-server.sh
source scripts/demo-server.sh

log "tools (contract/package-lock.json, contract/python/requirements.txt)"
# npm ci only when the lockfile changed since the last install.
lock_hash=$(sha256sum contract/package-lock.json | cut -d' ' -f1)
if [ "$(cat contract/node_modules/.retour-lock 2>/dev/null)" != "$lock_hash" ]; then
    (cd contract && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_hash" >contract/node_modules/.retour-lock
fi
# The virtualenv only when it is missing or holds other versions than the requirements.
requirements_hash=$(sha256sum contract/python/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$VENV/.retour-requirements" 2>/dev/null)" != "$requirements_hash" ]; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps \
        -r contract/python/requirements.txt
    echo "$requirements_hash" >"$VENV/.retour-requirements"
fi
node --version
(cd contract && npx --no-install redocly --version 2>/dev/null | sed 's/^/redocly /' &&
    npx --no-install spectral --version | sed 's/^/spectral /' &&
    npx --no-install tsc --version)
"$VENV/bin/openapi-python-client" --version
done_stage tools

log "lint $DOCUMENT"
# Both linters must find no error; their warnings are shown and counted.
redocly_json=$workdir/redocly.json
spectral_json=$workdir/spectral.json
(cd contract && npx --no-install redocly lint "../$DOCUMENT" --config redocly.yaml \
    --format=json >"$redocly_json" 2>"$workdir/redocly.err") || true
(cd contract && npx --no-install spectral lint "../$DOCUMENT" --ruleset .spectral.yaml \
    --format json --fail-severity error --quiet >"$spectral_json" 2>"$workdir/spectral.err") || true
lint_failed=0
python3 - "$redocly_json" "$spectral_json" <<'EOF' || lint_failed=1
import json, sys

def load(path, name):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"{name} gave no report: {e}")

redocly = load(sys.argv[1], "Redocly")
spectral = load(sys.argv[2], "Spectral")
failed = False
totals = redocly["totals"]
print(f"Redocly (recommended):  {totals['errors']} errors, {totals['warnings']} warnings")
for p in redocly.get("problems", []):
    where = (p.get("location") or [{}])[0].get("pointer", "")
    print(f"  {p['severity']:7} {p['ruleId']}: {p['message']} {where}")
failed |= totals["errors"] > 0
severities = ["error", "warning", "info", "hint"]
counts = {s: 0 for s in severities}
for r in spectral:
    counts[severities[r["severity"]]] += 1
print(f"Spectral (spectral:oas): {counts['error']} errors, {counts['warning']} warnings")
for r in spectral:
    print(f"  {severities[r['severity']]:7} {r['code']}: {r['message']} {'.'.join(map(str, r['path']))}")
failed |= counts["error"] > 0
sys.exit(1 if failed else 0)
EOF
if [ "$lint_failed" != 0 ]; then
    cat "$workdir/redocly.err" "$workdir/spectral.err" >&2
    echo "FAILED: the OpenAPI document has lint errors" >&2
    exit 1
fi
done_stage lint

log "generate the clients"
rm -rf "$BUILD"
mkdir -p "$BUILD/python"
(cd contract && npx --no-install openapi-typescript "../$DOCUMENT" -o build/schema.d.ts --silent)
"$VENV/bin/openapi-python-client" generate --path "$DOCUMENT" --meta none \
    --output-path "$BUILD/python/retour_client" --config contract/python/generator.yaml \
    --fail-on-warning
done_stage generate

log "type-check the TypeScript client (tsc --strict)"
# Every type comes from the document: no `any`, no casts (`as`) in the program.
if grep -nP '\bany\b|\bas\s+(?!const\b)[A-Za-z_{[(<]' contract/ts/*.ts | grep -v '^\S*:\s*//'; then
    echo "FAILED: contract/ts must not use any or casts" >&2
    exit 1
fi
(cd contract && npx --no-install tsc -p tsconfig.json)
"$VENV/bin/python" -m compileall -q "$BUILD/python" contract/python/flow.py >/dev/null
done_stage typecheck

log "retour serve --demo on database $DATABASE"
demo_server_start "$PG_URL" "$DATABASE" "$workdir/server.log"
base=$demo_base
# The clients were generated from the committed document: it must be the one served.
curl -sf "$base/openapi.json" >"$workdir/served.json"
python3 - "$DOCUMENT" "$workdir/served.json" <<'EOF' || { echo "FAILED: the server serves another document than $DOCUMENT" >&2; exit 1; }
import json, sys
committed, served = (json.load(open(p)) for p in sys.argv[1:3])
sys.exit(0 if committed == served else 1)
EOF
echo "serving $base (the committed document)"
done_stage server

log "drive a case with the TypeScript client"
RETOUR_BASE_URL=$base node contract/build/ts/ts/flow.js
done_stage typescript

log "drive a case with the Python client"
RETOUR_BASE_URL=$base PYTHONPATH=$BUILD/python "$VENV/bin/python" contract/python/flow.py
done_stage python

if grep -q '"level":"ERROR"' "$workdir/server.log"; then
    grep '"level":"ERROR"' "$workdir/server.log" | head -20
    echo "FAILED: the server logged errors" >&2
    exit 1
fi

log "timings"
printf '%s\n' "${timings[@]}"
now=$(date +%s%N)
printf '%-12s %6.1f s\n' total "$(((now - started) / 1000000))e-3"
echo "contract checks passed"
