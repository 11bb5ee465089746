#!/usr/bin/env bash
# The benchmarks (release builds): one publish-workload poll of a large Jenkins, the
# requests and bytes of one poll of a large TeamCity, then
# handle-interruption and protect-busy-agents on the local stack. Not part of `make test`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"
"$HERE/setup-venv.sh"
cargo build --release -p fake-ci -p publish-workload -p bench-poll -p handle-interruption -p protect-busy-agents -p ci-checkpoint
echo "== publish-workload: one poll of a large Jenkins (issue 2) =="
target/release/bench-poll
echo "== publish-workload: what one poll of a large TeamCity costs the server (issue 17) =="
"$REPO/.venv/bin/python" "$HERE/bench/teamcity_poll_cost.py" target/release/fake-ci target/release/publish-workload
trap '"$HERE/stack.sh" down >/dev/null 2>&1 || true' EXIT
"$HERE/stack.sh" down >/dev/null 2>&1 || true
FAKE_CI_BIN="$REPO/target/release/fake-ci" "$HERE/stack.sh" up >/dev/null
eval "$("$HERE/stack.sh" env)"
echo "== handle-interruption and protect-busy-agents on the local stack (issues 3, 4) =="
"$REPO/.venv/bin/python" "$HERE/bench/bench_fleet.py"
