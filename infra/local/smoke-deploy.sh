#!/usr/bin/env bash
# Smoke deployment of template.yaml into ministack: a private ministack (every service) and a
# fake Jenkins on loopback, the example pool stack, the SAM template (transformed with the
# pinned aws-sam-translator), CREATE_COMPLETE, then publish-workload run by its EventBridge
# schedule against the local stack. About 2 minutes (the schedule is rate(1 minute)).
# Everything it starts is stopped at the end; logs stay in .local/smoke-deploy/.
#
#   infra/local/smoke-deploy.sh [--schedule-timeout SECS]
#
# Needs: .venv (infra/local/setup-venv.sh: ministack), .venv-sam (infra/local/setup-sam.sh:
# aws-sam-translator, boto3) and the debug binaries (cargo build --workspace --bins);
# CI_FLEET_BIN_DIR points elsewhere than target/debug.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SAM_VENV="${CI_FLEET_SAM_VENV:-$REPO/.venv-sam}"
VENV="${CI_FLEET_VENV:-$REPO/.venv}"
BIN_DIR="${CI_FLEET_BIN_DIR:-${CARGO_TARGET_DIR:-$REPO/target}/debug}"

die() { printf 'smoke-deploy: ERROR: %s\n' "$*" >&2; exit 1; }

[[ -x "$VENV/bin/ministack" ]] || die "$VENV/bin/ministack missing: run infra/local/setup-venv.sh"
[[ -x "$SAM_VENV/bin/python" ]] || die "$SAM_VENV missing: run infra/local/setup-sam.sh"
"$SAM_VENV/bin/python" -c 'import samtranslator, samcli, boto3' 2>/dev/null \
    || die "$SAM_VENV has no aws-sam-translator/boto3: run infra/local/setup-sam.sh"
for binary in fake-ci publish-workload; do
    [[ -x "$BIN_DIR/$binary" ]] || die "$BIN_DIR/$binary missing: run cargo build --workspace --bins"
done

export CI_FLEET_VENV="$VENV" CI_FLEET_BIN_DIR="$BIN_DIR"
exec "$SAM_VENV/bin/python" "$HERE/smoke_deploy.py" "$@"
