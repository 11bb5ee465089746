#!/usr/bin/env bash
# The demo on the local stack: sets up what is missing, starts the stack, runs the acts
# in infra/local/demo/demo.py, and stops the stack again (also on failure or Ctrl-C).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"

"$HERE/setup-venv.sh"
echo "demo: building the binaries (first build on a fresh machine takes a few minutes; cargo shows its progress)" >&2
cargo build --workspace --bins

# The dashboard picture is SVG; PNG too with rsvg-convert (Debian's librsvg2-bin), installed
# here when possible (root with apt-get); without it the demo still runs, SVG only.
if ! command -v rsvg-convert >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
    echo "demo: installing librsvg2-bin (rsvg-convert) for the dashboard PNG" >&2
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq librsvg2-bin \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq librsvg2-bin; }; } >/dev/null 2>&1 \
        || echo "demo: could not install librsvg2-bin: the dashboard picture will be SVG only" >&2
fi

trap '"$HERE/stack.sh" down >/dev/null 2>&1 || true' EXIT
"$HERE/stack.sh" down >/dev/null 2>&1 || true
"$HERE/stack.sh" up
eval "$("$HERE/stack.sh" env)"
export S3_FORCE_PATH_STYLE=true
"$REPO/.venv/bin/python" "$HERE/demo/demo.py"
