#!/usr/bin/env bash
# Create or refresh <repo>/.venv-checkov with checkov pinned in
# infra/local/requirements-checkov.lock (for infra/local/checkov.sh, run by make test).
# A venv of its own: checkov's pins (boto3, aiohttp, networkx, ...) never touch the
# emulators' .venv or the SAM CLI's .venv-sam.
#
#   infra/local/setup-checkov.sh     1-2 min and ~290 MB the first time (pip downloads ~95 wheels)
#
# Idempotent: a stamp in the venv; a re-run whose lock did not change only checks the
# installed version (<1 s).
# Env overrides: PYTHON (default python3), CI_FLEET_CHECKOV_VENV (default <repo>/.venv-checkov).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${CI_FLEET_CHECKOV_VENV:-$REPO/.venv-checkov}"
LOCK="$HERE/requirements-checkov.lock"

NAME=setup-checkov
# shellcheck source=lib/venv.sh
source "$HERE/lib/venv.sh"

for arg in "$@"; do
    case "$arg" in
        -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$arg' (usage: setup-checkov.sh)" ;;
    esac
done

venv_prepare setup-checkov.lock
venv_install "$LOCK" "$VENV/.ci-fleet-checkov.stamp" "checkov"

# The pinned version must be the one installed. Not `checkov --version`: that imports every
# runner (~5 s on each make test); checkov.sh runs the entry point itself right after.
want="$(sed -n 's/^checkov==//p' "$LOCK")"
got="$("$VENV/bin/python" -c 'from checkov.version import version; print(version)' 2>&1)" \
    || die "checkov does not import in $VENV: $got (delete $VENV and re-run)"
[[ -x "$VENV/bin/checkov" ]] || die "$VENV/bin/checkov is missing (delete $VENV and re-run)"
[[ "$got" == "$want" ]] \
    || die "$VENV has checkov $got, but $(basename "$LOCK") pins $want (delete $VENV and re-run)"
say "ok: checkov $got in $VENV"
