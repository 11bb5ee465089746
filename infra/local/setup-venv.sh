#!/usr/bin/env bash
# Create or refresh <repo>/.venv with the local AWS emulators (moto server, ministack)
# pinned in infra/local/requirements.lock, then check that their entry points run.
#
# Idempotent: when the stamp in .venv matches the lock (and the venv's Python), the
# install is skipped and only the quick entry-point check runs.
#
# Env overrides: PYTHON (default python3), CI_FLEET_VENV (default <repo>/.venv).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${CI_FLEET_VENV:-$REPO/.venv}"
LOCK="$HERE/requirements.lock"
STAMP="$VENV/.ci-fleet-requirements.stamp"

NAME=setup-venv
# shellcheck source=lib/venv.sh
source "$HERE/lib/venv.sh"

venv_prepare setup-venv.lock
venv_install "$LOCK" "$STAMP" "the emulators"

# Entry points must run, not just exist.
"$VENV/bin/moto_server" --help >/dev/null 2>&1 \
    || die "moto_server does not run: '$VENV/bin/moto_server --help' failed (delete $VENV and re-run)"
"$VENV/bin/ministack" --help >/dev/null 2>&1 \
    || die "ministack does not run: '$VENV/bin/ministack --help' failed (delete $VENV and re-run)"
"$VENV/bin/python" -c 'import cbor2' >/dev/null 2>&1 \
    || die "cbor2 is not importable in $VENV: ministack cannot speak rpc-v2-cbor (CloudWatch) without it"

say "ok: moto $("$VENV/bin/python" -c 'import moto; print(moto.__version__)'), ministack $("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("ministack"))') in $VENV"
