# Sourced by setup-venv.sh and setup-sam.sh: one way to make a Python venv from a pinned
# lock. The caller sets NAME (for messages), PYTHON, VENV and REPO before sourcing.
#
#   venv_prepare LOCKNAME     one setup at a time, Python >= 3.10, a venv that runs
#   venv_install LOCK STAMP WHAT   pip install -r LOCK --no-deps unless STAMP matches
#
# A stamp is the hash of the lock and the venv's Python version: a re-run with nothing
# changed installs nothing.

say() { printf '%s: %s\n' "$NAME" "$*" >&2; }
die() { printf '%s: ERROR: %s\n' "$NAME" "$*" >&2; exit 1; }

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

# venv_prepare LOCKNAME: takes .local/LOCKNAME (tests and scripts may run setups
# concurrently), checks the Python, and creates (or repairs) $VENV.
venv_prepare() {
    command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found on PATH (need Python >= 3.10; set PYTHON=...)"
    mkdir -p "$REPO/.local"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$REPO/.local/$1"
        flock 9
    fi
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
        || die "'$PYTHON' is too old: the pinned packages need Python >= 3.10"
    # A venv whose interpreter no longer runs (the Python it was made from is gone) is rebuilt.
    if [[ -d "$VENV" ]] && ! "$VENV/bin/python" -c 'pass' >/dev/null 2>&1; then
        say "$VENV exists but its python does not run; recreating it"
        ensure_venv_module
        "$PYTHON" -m venv --clear "$VENV" || die "python3 -m venv --clear $VENV failed"
    elif [[ ! -x "$VENV/bin/python" ]]; then
        ensure_venv_module
        say "creating $VENV with $("$PYTHON" -V 2>&1)"
        "$PYTHON" -m venv "$VENV" || die "python3 -m venv $VENV failed"
    fi
}

# venv_install LOCK STAMP WHAT
venv_install() {
    local lock="$1" stamp="$2" what="$3" want
    [[ -f "$lock" ]] || die "lock file missing: $lock"
    want="$(
        { cat "$lock"; "$VENV/bin/python" -c 'import sys; print(sys.version)'; } \
            | "$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
    )"
    if [[ "$want" == "$(cat "$stamp" 2>/dev/null || true)" ]]; then
        say "$what in $VENV is up to date with $(basename "$lock")"
        return 0
    fi
    say "installing $(basename "$lock") into $VENV ($what; a minute the first time)"
    rm -f "$stamp"
    # --no-deps: the lock lists every package; nothing unpinned may slip in.
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q \
        --no-deps -r "$lock" >&2 || die "pip install -r $lock failed (is PyPI reachable?)"
    "$VENV/bin/python" -m pip check >&2 \
        || die "pip check found missing/conflicting packages after installing $lock: the lock is incomplete (regenerate it, see infra/local/README.md)"
    printf '%s\n' "$want" >"$stamp"
}
