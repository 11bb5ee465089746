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

NAME=setup-sam
# shellcheck source=lib/venv.sh
source "$HERE/lib/venv.sh"

WITH_CARGO_LAMBDA=0
for arg in "$@"; do
    case "$arg" in
        --with-cargo-lambda) WITH_CARGO_LAMBDA=1 ;;
        -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$arg' (usage: setup-sam.sh [--with-cargo-lambda])" ;;
    esac
done

venv_prepare setup-sam.lock
venv_install "$SAM_LOCK" "$VENV/.ci-fleet-sam.stamp" "SAM CLI"
if [[ "$WITH_CARGO_LAMBDA" == 1 ]]; then
    venv_install "$CL_LOCK" "$VENV/.ci-fleet-cargo-lambda.stamp" "cargo-lambda"
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
