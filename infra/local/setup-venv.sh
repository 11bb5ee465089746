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

say() { printf 'setup-venv: %s\n' "$*" >&2; }
die() { printf 'setup-venv: ERROR: %s\n' "$*" >&2; exit 1; }

[[ -f "$LOCK" ]] || die "lock file missing: $LOCK"
command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found on PATH (need Python >= 3.10; set PYTHON=...)"

# One setup at a time (tests and scripts may call this concurrently).
mkdir -p "$REPO/.local"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$REPO/.local/setup-venv.lock"
    flock 9
fi

"$PYTHON" - <<'EOF' || die "'$PYTHON' is too old: the emulators need Python >= 3.10"
import sys
sys.exit(0 if sys.version_info >= (3, 10) else 1)
EOF

# `python3 -m venv` needs ensurepip; Debian/Ubuntu's system python ships it separately
# (python3-venv). Only install that package when it is really missing.
ensure_venv_module() {
    if "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        return 0
    fi
    local ver
    ver="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    if command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
        say "'$PYTHON -m venv' lacks ensurepip; installing Debian's python3-venv / python$ver-venv"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 || die "apt-get update failed"
        apt-get install -y -qq "python$ver-venv" >&2 \
            || apt-get install -y -qq python3-venv >&2 \
            || die "could not install python3-venv with apt-get"
        "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1 \
            || die "'$PYTHON' still has no ensurepip after installing python3-venv"
    else
        die "'$PYTHON -m venv' is unusable (no ensurepip). Install your distribution's python3-venv (Debian: apt-get install python$ver-venv) and re-run"
    fi
}

# A venv whose interpreter no longer runs (e.g. the Python it was made from is gone) is rebuilt.
if [[ -d "$VENV" ]] && ! "$VENV/bin/python" -c 'pass' >/dev/null 2>&1; then
    say "$VENV exists but its python does not run; recreating it"
    ensure_venv_module
    "$PYTHON" -m venv --clear "$VENV" || die "python3 -m venv --clear $VENV failed"
elif [[ ! -x "$VENV/bin/python" ]]; then
    ensure_venv_module
    say "creating $VENV with $("$PYTHON" -V 2>&1)"
    "$PYTHON" -m venv "$VENV" || die "python3 -m venv $VENV failed"
fi

want_stamp="$(
    {
        cat "$LOCK"
        "$VENV/bin/python" -c 'import sys; print(sys.version)'
    } | "$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
)"
have_stamp="$(cat "$STAMP" 2>/dev/null || true)"

if [[ "$want_stamp" == "$have_stamp" ]]; then
    say "$VENV is up to date with $(basename "$LOCK")"
else
    say "installing $(basename "$LOCK") into $VENV (this takes a minute the first time)"
    rm -f "$STAMP"
    # --no-deps: the lock lists every package; nothing unpinned may slip in.
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q \
        --no-deps -r "$LOCK" >&2 || die "pip install -r $LOCK failed (is PyPI reachable?)"
    "$VENV/bin/python" -m pip check >&2 \
        || die "pip check found missing/conflicting packages: $LOCK is incomplete (regenerate it, see infra/local/README.md)"
    printf '%s\n' "$want_stamp" >"$STAMP"
fi

# Entry points must run, not just exist.
"$VENV/bin/moto_server" --help >/dev/null 2>&1 \
    || die "moto_server does not run: '$VENV/bin/moto_server --help' failed (delete $VENV and re-run)"
"$VENV/bin/ministack" --help >/dev/null 2>&1 \
    || die "ministack does not run: '$VENV/bin/ministack --help' failed (delete $VENV and re-run)"
"$VENV/bin/python" -c 'import cbor2' >/dev/null 2>&1 \
    || die "cbor2 is not importable in $VENV: ministack cannot speak rpc-v2-cbor (CloudWatch) without it"

say "ok: moto $("$VENV/bin/python" -c 'import moto; print(moto.__version__)'), ministack $("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("ministack"))') in $VENV"
