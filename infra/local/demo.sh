#!/usr/bin/env bash
# The demo on the local stack: sets up what is missing, starts the stack, runs the acts
# in infra/local/demo/demo.py, and stops the stack again (also on failure or Ctrl-C).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"

"$HERE/setup-venv.sh"
echo "demo: building the binaries (first build on a fresh machine takes a few minutes)" >&2
cargo build --workspace --bins --quiet

trap '"$HERE/stack.sh" down >/dev/null 2>&1 || true' EXIT
"$HERE/stack.sh" down >/dev/null 2>&1 || true
"$HERE/stack.sh" up
eval "$("$HERE/stack.sh" env)"
export S3_FORCE_PATH_STYLE=true
"$REPO/.venv/bin/python" "$HERE/demo/demo.py"
