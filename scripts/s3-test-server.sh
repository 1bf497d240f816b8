#!/usr/bin/env bash
# Installs the S3 server the object-store tests start (moto's `moto_server`, every package
# pinned in scripts/s3-test-server.txt) into a virtualenv, once: again only when the pins
# change. Prints the server's path; the tests find it there through RETOUR_TEST_S3_SERVER,
# or in .venv-s3/ (the default place) without it. The virtualenv also holds the Standard
# Webhooks reference library, which the webhook tests run with its `python`.
#
# Usage: scripts/s3-test-server.sh   (RETOUR_S3_VENV=dir for another virtualenv)
# Needs python3 (for the virtualenv) and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${RETOUR_S3_VENV:-.venv-s3}
pins=scripts/s3-test-server.txt
wanted=$(grep -v '^#' "$pins" | sort -f)
installed=$("$venv/bin/pip" freeze --disable-pip-version-check 2>/dev/null | sort -f || true)
if [ "$installed" != "$wanted" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$pins" >&2
    "$venv/bin/pip" check --disable-pip-version-check >&2
fi
echo "$(cd "$venv/bin" && pwd)/moto_server"
