#!/usr/bin/env bash
# checkov (pinned in requirements-checkov.lock, venv from setup-checkov.sh) on the
# CloudFormation templates. Fails on every finding that is not accepted, naming check,
# resource and file. Run by make test.
#
#   infra/local/checkov.sh                 template.yaml, infra/pool.yaml, infra/example-pool.yaml
#   infra/local/checkov.sh FILE...         other templates (paths from the repo root)
#   infra/local/checkov.sh --accepted      also list every accepted finding with its reason
#
# A finding is accepted only by a skip in the resource's own Metadata, with its reason, where
# a reviewer of the resource sees it (docs/checkov.md lists them all):
#     Metadata:
#       checkov:
#         skip:
#           - id: CKV_AWS_158
#             comment: why this is a deliberate choice
# A skip without a comment fails too. Offline: no API key, --skip-download, no version check.
# Env override: CI_FLEET_CHECKOV_VENV (default <repo>/.venv-checkov).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${CI_FLEET_CHECKOV_VENV:-$REPO/.venv-checkov}"
LOCK="$HERE/requirements-checkov.lock"

die() { printf 'checkov: ERROR: %s\n' "$*" >&2; exit 2; }

LIST_ACCEPTED=0
FILES=()
for arg in "$@"; do
    case "$arg" in
        --accepted) LIST_ACCEPTED=1 ;;
        -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option '$arg' (usage: checkov.sh [--accepted] [FILE...])" ;;
        *) FILES+=("$arg") ;;
    esac
done
[[ ${#FILES[@]} -gt 0 ]] || FILES=(template.yaml infra/pool.yaml infra/example-pool.yaml)

[[ -x "$VENV/bin/checkov" ]] \
    || die "no checkov in $VENV: run infra/local/setup-checkov.sh (make setup does)"
cd "$REPO"
for f in "${FILES[@]}"; do
    [[ -f "$f" ]] || die "template not found: $REPO/$f"
done
# checkov reads .checkov.yaml/.yml from the working directory; skips there would sit away
# from the resources they excuse.
for cfg in .checkov.yaml .checkov.yml; do
    [[ ! -e "$cfg" ]] || die "$REPO/$cfg exists: accept findings in the resource's Metadata instead (see the header of $0)"
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

args=(--framework cloudformation --skip-download --compact -o json)
for f in "${FILES[@]}"; do args+=(-f "$f"); done

# A clean environment: no BC_API_KEY / PRISMA_API_URL (platform calls), no CKV_CHECK /
# CKV_SKIP_CHECK / CKV_FRAMEWORK (they would change what is checked), no ~/.checkov.yaml
# (HOME is the scratch directory). CKV_SKIP_PACKAGE_UPDATE_CHECK: no PyPI version lookup;
# BC_SKIP_MAPPING: no download of the platform's id mapping (--skip-download covers it too).
rc=0
env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$work" TMPDIR="$work" LANG=C.UTF-8 \
    CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE LOG_LEVEL=WARNING \
    "$VENV/bin/checkov" "${args[@]}" >"$work/report.json" 2>"$work/stderr" || rc=$?
# 0: nothing failed, 1: something failed; anything else is checkov itself failing.
if [[ $rc -ne 0 && $rc -ne 1 ]]; then
    cat "$work/stderr" >&2
    die "checkov exited $rc (see above)"
fi

# checkov exits 0 on a template it cannot parse, and on a file it does not recognise as
# CloudFormation; both must fail here, hence the per-file count.
"$VENV/bin/python" - "$work/report.json" "$work/stderr" "$LOCK" "$LIST_ACCEPTED" "${FILES[@]}" <<'PY'
import json
import os
import sys

report_path, stderr_path, lock_path, list_accepted, *files = sys.argv[1:]

def fail(msg):
    print(f"checkov: ERROR: {msg}", file=sys.stderr)
    sys.exit(2)

try:
    with open(report_path) as fh:
        report = json.load(fh)
except ValueError as err:
    with open(stderr_path) as fh:
        sys.stderr.write(fh.read())
    fail(f"checkov's JSON report does not parse ({err})")

want = next(l.split("==", 1)[1].strip() for l in open(lock_path) if l.startswith("checkov=="))
# One framework gives one report (a dict); a file set with no resources gives a bare summary.
reports = report if isinstance(report, list) else [report]
reports = [r for r in reports if isinstance(r, dict) and "results" in r]
got = next((r["summary"].get("checkov_version") for r in reports), None)
if got is not None and got != want:
    fail(f"checkov in the venv is {got}, requirements-checkov.lock pins {want}: run infra/local/setup-checkov.sh")

failed, skipped, passed, parse_errors = [], [], [], []
for r in reports:
    res = r["results"]
    failed += res.get("failed_checks", [])
    skipped += res.get("skipped_checks", [])
    passed += res.get("passed_checks", [])
    parse_errors += res.get("parsing_errors", [])

def where(rec):
    lines = rec.get("file_line_range") or []
    span = f":{lines[0]}-{lines[1]}" if len(lines) == 2 else ""
    return rec["file_path"].lstrip("/") + span

problems = 0
for path in parse_errors:
    print(f"checkov: PARSE ERROR {path}: checkov could not read it, so nothing in it was checked", file=sys.stderr)
    problems += 1
# Report paths are "/" + the path from the working directory (the repo root).
checked = {os.path.normpath(rec["file_path"].lstrip("/")) for rec in failed + skipped + passed}
unparsed = {os.path.relpath(os.path.abspath(p)) for p in parse_errors}
for f in files:
    f = os.path.relpath(os.path.abspath(f))
    if f not in checked and f not in unparsed:
        print(f"checkov: NOT CHECKED {f}: checkov ran no check on it (not CloudFormation, or no resource it knows)", file=sys.stderr)
        problems += 1
for rec in sorted(failed, key=lambda r: (r["file_path"], r["file_line_range"][0], r["check_id"])):
    print(f"checkov: FAILED {rec['check_id']} {rec['resource']} {where(rec)}  {rec['check_name']}", file=sys.stderr)
    problems += 1
accepted = 0
for rec in skipped:
    comment = (rec.get("check_result") or {}).get("suppress_comment") or ""
    # checkov's stand-in when a skip has no comment.
    if not comment.strip() or comment == "No comment provided":
        print(f"checkov: NO REASON {rec['check_id']} {rec['resource']} {where(rec)}: its Metadata skip needs a comment saying why", file=sys.stderr)
        problems += 1
        continue
    accepted += 1
    if list_accepted == "1":
        print(f"checkov: accepted {rec['check_id']} {rec['resource']} {where(rec)}: {comment}")

summary = f"{len(files)} template{'s' if len(files) != 1 else ''}, {len(passed)} passed, {accepted} accepted, {len(failed)} failed"
if problems:
    print(f"checkov {want}: {summary}. Fix each finding above, or accept it in the resource's "
          "Metadata with its reason (docs/checkov.md).", file=sys.stderr)
    sys.exit(1)
print(f"checkov {want}: {summary}")
PY
