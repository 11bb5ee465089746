#!/usr/bin/env bash
# Create or refresh <repo>/.venv-sam with the AWS SAM CLI pinned in
# infra/local/requirements-sam.lock (for `sam validate --lint`, run by make test), and with
# --with-cargo-lambda also cargo-lambda + zig from requirements-cargo-lambda.lock (for
# `sam build`). A venv of its own: the SAM CLI's pins never touch the emulators' .venv.
#
#   infra/local/setup-sam.sh                       SAM CLI only (~40 s the first time)
#   infra/local/setup-sam.sh --with-cargo-lambda   also cargo-lambda (+ ~10 s, ~450 MB)
#
# Idempotent: a stamp per lock in the venv; a re-run whose locks did not change only
# checks that the entry points run (~1 s).
# Env overrides: PYTHON (default python3), CI_FLEET_SAM_VENV (default <repo>/.venv-sam).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${CI_FLEET_SAM_VENV:-$REPO/.venv-sam}"
SAM_LOCK="$HERE/requirements-sam.lock"
CL_LOCK="$HERE/requirements-cargo-lambda.lock"

say() { printf 'setup-sam: %s\n' "$*" >&2; }
die() { printf 'setup-sam: ERROR: %s\n' "$*" >&2; exit 1; }

WITH_CARGO_LAMBDA=0
for arg in "$@"; do
    case "$arg" in
        --with-cargo-lambda) WITH_CARGO_LAMBDA=1 ;;
        -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$arg' (usage: setup-sam.sh [--with-cargo-lambda])" ;;
    esac
done

[[ -f "$SAM_LOCK" ]] || die "lock file missing: $SAM_LOCK"
[[ -f "$CL_LOCK" ]] || die "lock file missing: $CL_LOCK"
command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found on PATH (need Python >= 3.10; set PYTHON=...)"

mkdir -p "$REPO/.local"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$REPO/.local/setup-sam.lock"
    flock 9
fi

"$PYTHON" - <<'EOF' || die "'$PYTHON' is too old: the SAM CLI here is pinned for Python >= 3.10"
import sys
sys.exit(0 if sys.version_info >= (3, 10) else 1)
EOF

ensure_venv_module() {
    if "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        return 0
    fi
    local ver
    ver="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    if command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
        say "'$PYTHON -m venv' lacks ensurepip; installing Debian's python$ver-venv"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 || die "apt-get update failed"
        apt-get install -y -qq "python$ver-venv" >&2 \
            || apt-get install -y -qq python3-venv >&2 \
            || die "could not install python3-venv with apt-get"
    else
        die "'$PYTHON -m venv' is unusable (no ensurepip). Install your distribution's python3-venv (Debian: apt-get install python$ver-venv) and re-run"
    fi
}

if [[ -d "$VENV" ]] && ! "$VENV/bin/python" -c 'pass' >/dev/null 2>&1; then
    say "$VENV exists but its python does not run; recreating it"
    ensure_venv_module
    "$PYTHON" -m venv --clear "$VENV" || die "python3 -m venv --clear $VENV failed"
elif [[ ! -x "$VENV/bin/python" ]]; then
    ensure_venv_module
    say "creating $VENV with $("$PYTHON" -V 2>&1)"
    "$PYTHON" -m venv "$VENV" || die "python3 -m venv $VENV failed"
fi

stamp_of() {
    { cat "$1"; "$VENV/bin/python" -c 'import sys; print(sys.version)'; } \
        | "$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
}

# install LOCK STAMPFILE WHAT
install_lock() {
    local lock="$1" stamp="$2" what="$3" want
    want="$(stamp_of "$lock")"
    if [[ "$want" == "$(cat "$stamp" 2>/dev/null || true)" ]]; then
        say "$what in $VENV is up to date with $(basename "$lock")"
        return 0
    fi
    say "installing $(basename "$lock") into $VENV ($what)"
    rm -f "$stamp"
    # --no-deps: the lock lists every package; nothing unpinned may slip in.
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q \
        --no-deps -r "$lock" >&2 || die "pip install -r $lock failed (is PyPI reachable?)"
    "$VENV/bin/python" -m pip check >&2 \
        || die "pip check found missing/conflicting packages after installing $lock: the lock is incomplete (regenerate it, see infra/local/README.md)"
    printf '%s\n' "$want" >"$stamp"
}

install_lock "$SAM_LOCK" "$VENV/.ci-fleet-sam.stamp" "SAM CLI"
if [[ "$WITH_CARGO_LAMBDA" == 1 ]]; then
    install_lock "$CL_LOCK" "$VENV/.ci-fleet-cargo-lambda.stamp" "cargo-lambda"
fi

# Entry points must run, not just exist. No telemetry, no AWS account needed.
export SAM_CLI_TELEMETRY=0
sam_version="$("$VENV/bin/sam" --version 2>&1)" \
    || die "sam does not run: '$VENV/bin/sam --version' failed: $sam_version (delete $VENV and re-run)"
msg="ok: $sam_version"
if [[ -x "$VENV/bin/cargo-lambda" ]]; then
    cl_version="$("$VENV/bin/cargo-lambda" lambda --version 2>&1)" \
        || die "cargo-lambda does not run: '$VENV/bin/cargo-lambda lambda --version' failed: $cl_version"
    msg="$msg, $cl_version"
fi
say "$msg in $VENV"
