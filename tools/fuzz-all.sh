#!/usr/bin/env bash
# The long property run (issue 13): every property test of the workspace with enough
# cases that the inputs generated add up to FUZZ_TOTAL (default 1,000,000). Not part of
# `make test`, where each property runs proptest's default 256 cases.
#
#   tools/fuzz-all.sh                      # 1,000,000 inputs in all, debug build
#   FUZZ_TOTAL=200000 tools/fuzz-all.sh    # a shorter run
#   FUZZ_CASES=5000 tools/fuzz-all.sh      # this many cases per property instead
#
# A property is a `#[test]` inside a `proptest! { }` block of a package that has proptest
# among its dev-dependencies. PROPTEST_CASES sets the cases of every one of them: proptest
# applies the variable over whatever config a block gives (`contextualize_config` in
# proptest's sugar.rs), a block's own `cases: N` included, which counts only when the
# variable is unset (`make test`). The cases per property are ceil(FUZZ_TOTAL / properties).
# A failure stops the run; proptest prints the minimal failing input (and writes no
# regressions file into the tree: PROPTEST_DISABLE_FAILURE_PERSISTENCE).
set -euo pipefail

cd "$(dirname "$0")/.."
total_wanted=${FUZZ_TOTAL:-1000000}

# The number of properties in the Rust files given. Braces are counted outside string and
# char literals and comments, so a block's end is found even when its regexes hold braces.
# (POSIX awk: mawk or gawk.)
read -r -d '' count_program <<'AWK' || true
{
    line = $0
    gsub(/'([^'\\]|\\.)'/, "", line)
    gsub(/\\\\/, "", line)
    gsub(/\\"/, "", line)
    gsub(/"[^"]*"/, "\"\"", line)
    sub(/\/\/.*/, "", line)
}
!inside && line ~ /proptest! *\{/ { inside = 1; depth = 0 }
inside {
    if ($0 ~ /^[ \t]*#\[test\]/) properties++
    depth += gsub(/\{/, "{", line) - gsub(/\}/, "}", line)
    if (depth <= 0) inside = 0
}
END { print properties + 0 }
AWK

count_properties() {
    awk "$count_program" "$@"
}

packages=()
dirs=()
for manifest in shared/Cargo.toml shared/rules/Cargo.toml functions/*/Cargo.toml tools/*/Cargo.toml; do
    [[ -f $manifest ]] || continue
    grep -q '^proptest' "$manifest" || continue
    packages+=("$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n 1)")
    dirs+=("$(dirname "$manifest")")
done

declare -A properties
all=0
for i in "${!packages[@]}"; do
    mapfile -t files < <(find "${dirs[$i]}/src" "${dirs[$i]}/tests" -name '*.rs' 2>/dev/null | sort)
    n=$(count_properties /dev/null "${files[@]}")
    properties[${packages[$i]}]=$n
    all=$((all + n))
done
if ((all == 0)); then
    echo "fuzz-all: no property test found" >&2
    exit 1
fi
cases=${FUZZ_CASES:-$(((total_wanted + all - 1) / all))}
echo "fuzz-all: ${#packages[@]} packages, $all properties × $cases cases = $((all * cases)) inputs"

start=$(date +%s)
for package in "${packages[@]}"; do
    n=${properties[$package]}
    echo "package $package: $n properties × $cases cases = $((n * cases)) inputs …"
    began=$(date +%s)
    PROPTEST_CASES=$cases PROPTEST_DISABLE_FAILURE_PERSISTENCE=1 cargo test -p "$package" --quiet
    echo "package $package: done in $(($(date +%s) - began)) s"
done
echo "fuzz-all: $((all * cases)) inputs, no failure, in $(($(date +%s) - start)) s"
