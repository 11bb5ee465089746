#!/usr/bin/env bash
# The local stack ci-fleet runs against: AWS emulated by moto server (EC2, Auto Scaling,
# S3, Secrets Manager, EventBridge; started through moto_ext.py, which adds terminate
# lifecycle hooks) and ministack (CloudWatch), plus a fake Jenkins and a
# fake TeamCity (target/debug/fake-ci) when that binary has been built.
#
#   infra/local/stack.sh up       start what is not running, wait until each part answers
#   infra/local/stack.sh down     stop everything this script started (safe to repeat)
#   infra/local/stack.sh status   one line per part; exit 1 unless every part is up
#   infra/local/stack.sh check    boto3 round trips through every emulated service in use
#   infra/local/stack.sh env [jenkins|teamcity]
#                                 print `export` lines; use: eval "$(infra/local/stack.sh env)"
#
# Everything listens on 127.0.0.1 only. Pids and logs live in <repo>/.local/stack/.
# Overrides (env): MOTO_PORT (5510), MINISTACK_PORT (5511), FAKE_JENKINS_PORT (5512),
# FAKE_TEAMCITY_PORT (5513), FAKE_CI_BIN (target/debug/fake-ci), FAKE_JENKINS_STATE and
# FAKE_TEAMCITY_STATE (state JSON files passed as --state), STACK_WAIT_SECS (30),
# CI_FLEET_VENV (<repo>/.venv).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${CI_FLEET_VENV:-$REPO/.venv}"
RUN="$REPO/.local/stack"
HOST=127.0.0.1
REGION=us-east-1

MOTO_PORT="${MOTO_PORT:-5510}"
MINISTACK_PORT="${MINISTACK_PORT:-5511}"
FAKE_JENKINS_PORT="${FAKE_JENKINS_PORT:-5512}"
FAKE_TEAMCITY_PORT="${FAKE_TEAMCITY_PORT:-5513}"
FAKE_CI_BIN="${FAKE_CI_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/debug/fake-ci}"
STACK_WAIT_SECS="${STACK_WAIT_SECS:-30}"

PARTS=(moto ministack fake-jenkins fake-teamcity)

say() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: ERROR: %s\n' "$*" >&2; exit 1; }

port_of() {
    case "$1" in
        moto) echo "$MOTO_PORT" ;;
        ministack) echo "$MINISTACK_PORT" ;;
        fake-jenkins) echo "$FAKE_JENKINS_PORT" ;;
        fake-teamcity) echo "$FAKE_TEAMCITY_PORT" ;;
        *) die "unknown part '$1'" ;;
    esac
}

port_var_of() {
    case "$1" in
        moto) echo MOTO_PORT ;;
        ministack) echo MINISTACK_PORT ;;
        fake-jenkins) echo FAKE_JENKINS_PORT ;;
        fake-teamcity) echo FAKE_TEAMCITY_PORT ;;
    esac
}

# URL whose answer means "ready".
probe_url_of() {
    local port
    port="$(port_of "$1")"
    case "$1" in
        moto) echo "http://$HOST:$port/moto-api/" ;;
        ministack) echo "http://$HOST:$port/_ministack/ready" ;;
        fake-*) echo "http://$HOST:$port/_fake/requests" ;;
    esac
}

# A pattern (ERE) that must match the process's command line (guards against pid reuse:
# `down` never signals a process that is not the one it started). moto_server still
# matches so that `down` stops a moto started before moto_ext.py existed.
cmd_marker_of() {
    case "$1" in
        moto) echo 'moto_ext\.py|moto_server' ;;
        ministack) echo ministack ;;
        fake-*) echo fake-ci ;;
    esac
}

pidfile() { echo "$RUN/$1.pid"; }
logfile() { echo "$RUN/$1.log"; }

# Prints the pid when the part's recorded process is alive and is ours.
live_pid() {
    local pf pid
    pf="$(pidfile "$1")"
    [[ -f "$pf" ]] || return 1
    pid="$(cat "$pf" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qE -- "$(cmd_marker_of "$1")" || return 1
    echo "$pid"
}

fake_ci_available() { [[ -x "$FAKE_CI_BIN" ]]; }

# 0 when the URL answers with any HTTP status (or only 2xx when $2 == strict).
http_answers() {
    "$VENV/bin/python" - "$1" "${2:-any}" <<'EOF'
import sys, urllib.request, urllib.error
url, mode = sys.argv[1], sys.argv[2]
try:
    with urllib.request.urlopen(url, timeout=2) as r:
        sys.exit(0)
except urllib.error.HTTPError as e:
    sys.exit(1 if mode == "strict" else 0)
except Exception:
    sys.exit(1)
EOF
}

port_in_use() {
    "$VENV/bin/python" - "$HOST" "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.settimeout(1)
sys.exit(0 if s.connect_ex((sys.argv[1], int(sys.argv[2]))) == 0 else 1)
EOF
}

log_tail() {
    local log
    log="$(logfile "$1")"
    if [[ -s "$log" ]]; then
        printf -- '--- last lines of %s ---\n' "$log" >&2
        tail -n 25 "$log" >&2
        printf -- '---\n' >&2
    else
        printf '(log %s is empty)\n' "$log" >&2
    fi
}

require_venv() {
    if [[ ! -x "$VENV/bin/moto_server" || ! -x "$VENV/bin/ministack" ]]; then
        say "no emulators in $VENV; running infra/local/setup-venv.sh"
        CI_FLEET_VENV="$VENV" "$HERE/setup-venv.sh" || die "infra/local/setup-venv.sh failed"
    fi
}

start_part() {
    local part="$1" port log pid
    port="$(port_of "$part")"
    log="$(logfile "$part")"

    if pid="$(live_pid "$part")"; then
        say "$part already running (pid $pid, port $port)"
        return 0
    fi
    rm -f "$(pidfile "$part")"
    if port_in_use "$port"; then
        die "$part: port $HOST:$port is already taken by another process (not started by this script); free it or set $(port_var_of "$part")=<port>"
    fi

    local -a cmd envs=()
    case "$part" in
        moto)
            # moto_server plus the lifecycle-hook extension (same command line).
            cmd=("$VENV/bin/python" "$HERE/moto_ext.py" -H "$HOST" -p "$port")
            ;;
        ministack)
            # BIND_HOST keeps the gateway on loopback; IOT_MTLS_ENABLED=0 stops it opening an
            # MQTT listener on 0.0.0.0:8883; SERVICES=cloudwatch is all we use it for.
            envs=(BIND_HOST="$HOST" GATEWAY_PORT="$port" IOT_MTLS_ENABLED=0 SFTP_ENABLED=0
                SERVICES=cloudwatch MINISTACK_REGION="$REGION" PERSIST_STATE=0)
            cmd=("$VENV/bin/ministack")
            ;;
        fake-jenkins | fake-teamcity)
            local kind="${part#fake-}" state_var state
            state_var="FAKE_${kind^^}_STATE"
            state="${!state_var:-}"
            cmd=("$FAKE_CI_BIN" --kind "$kind" --port "$port")
            if [[ -n "$state" ]]; then
                [[ -f "$state" ]] || die "$part: $state_var=$state is not a file"
                cmd+=(--state "$state")
            fi
            ;;
    esac

    : >"$log"
    # setsid: own process group, so `down` can stop the part and anything it spawned, and a
    # Ctrl-C in the terminal that ran `up` does not reach it.
    env "${envs[@]}" setsid "${cmd[@]}" </dev/null >>"$log" 2>&1 &
    pid=$!
    echo "$pid" >"$(pidfile "$part")"
    say "$part starting (pid $pid, port $port, log ${log#"$REPO"/})"
}

wait_part() {
    local part="$1" port url deadline pid
    port="$(port_of "$part")"
    url="$(probe_url_of "$part")"
    deadline=$((SECONDS + STACK_WAIT_SECS))
    while :; do
        if ! pid="$(live_pid "$part")"; then
            say "$part exited before it answered on $HOST:$port"
            log_tail "$part"
            die "$part did not come up"
        fi
        local ready=1
        case "$part" in
            fake-*)
                # fake-ci announces itself on its first stdout line.
                local line
                line="$(grep -m1 -o 'listening on http://[^[:space:]]*' "$(logfile "$part")" 2>/dev/null || true)"
                if [[ -n "$line" ]]; then
                    [[ "$line" == "listening on http://$HOST:$port" ]] \
                        || die "$part announced '$line', expected 'listening on http://$HOST:$port'"
                    http_answers "$url" any && ready=0
                fi
                ;;
            *) http_answers "$url" strict && ready=0 ;;
        esac
        if [[ $ready == 0 ]]; then
            say "$part up: http://$HOST:$port (pid $pid)"
            return 0
        fi
        if ((SECONDS >= deadline)); then
            say "$part (pid $pid) did not answer $url within ${STACK_WAIT_SECS}s"
            log_tail "$part"
            stop_part "$part"
            die "$part did not come up (raise STACK_WAIT_SECS if the machine is just slow)"
        fi
        sleep 0.2
    done
}

stop_part() {
    local part="$1" pid
    if ! pid="$(live_pid "$part")"; then
        [[ -f "$(pidfile "$part")" ]] && say "$part not running (stale pid file removed)"
        rm -f "$(pidfile "$part")"
        return 0
    fi
    # The part leads its own process group (setsid at start): signal the group.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$part (pid $pid) ignored SIGTERM for 5s; sending SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(pidfile "$part")"
    say "$part stopped (pid $pid)"
}

cmd_up() {
    require_venv
    mkdir -p "$RUN"
    local -a parts=(moto ministack)
    if fake_ci_available; then
        parts+=(fake-jenkins fake-teamcity)
    else
        say "fake-ci binary not found at $FAKE_CI_BIN: skipping fake Jenkins/TeamCity (build it with: cargo build -p fake-ci)"
    fi
    local part
    for part in "${parts[@]}"; do start_part "$part"; done
    for part in "${parts[@]}"; do wait_part "$part"; done
    say "stack is up; load its environment with: eval \"\$(infra/local/stack.sh env)\""
}

cmd_down() {
    local part
    for part in "${PARTS[@]}"; do stop_part "$part"; done
}

cmd_status() {
    local part pid port ok=0
    for part in "${PARTS[@]}"; do
        port="$(port_of "$part")"
        if [[ $part == fake-* ]] && ! fake_ci_available && ! live_pid "$part" >/dev/null; then
            printf '%-14s skipped (no %s)\n' "$part" "$FAKE_CI_BIN"
            continue
        fi
        if pid="$(live_pid "$part")"; then
            local mode=strict
            [[ $part == fake-* ]] && mode=any
            if [[ -x "$VENV/bin/python" ]] && http_answers "$(probe_url_of "$part")" "$mode"; then
                printf '%-14s up        http://%s:%s  pid %s\n' "$part" "$HOST" "$port" "$pid"
            else
                printf '%-14s NOT READY http://%s:%s  pid %s (see %s)\n' "$part" "$HOST" "$port" "$pid" "$(logfile "$part")"
                ok=1
            fi
        else
            printf '%-14s down\n' "$part"
            ok=1
        fi
    done
    return $ok
}

cmd_env() {
    local ci="${1:-jenkins}" ci_url
    case "$ci" in
        jenkins) ci_url="http://$HOST:$FAKE_JENKINS_PORT" ;;
        teamcity) ci_url="http://$HOST:$FAKE_TEAMCITY_PORT" ;;
        *) die "env: CI kind must be 'jenkins' or 'teamcity', not '$ci'" ;;
    esac
    cat <<EOF
export AWS_ENDPOINT_URL=http://$HOST:$MOTO_PORT
export AWS_ENDPOINT_URL_CLOUDWATCH=http://$HOST:$MINISTACK_PORT
export AWS_REGION=$REGION
export AWS_DEFAULT_REGION=$REGION
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_EC2_METADATA_DISABLED=true
export FAKE_JENKINS_URL=http://$HOST:$FAKE_JENKINS_PORT
export FAKE_TEAMCITY_URL=http://$HOST:$FAKE_TEAMCITY_PORT
export CI_KIND=$ci
export CI_URL=$ci_url
EOF
}

cmd_check() {
    [[ -x "$VENV/bin/python" ]] || die "no $VENV: run infra/local/setup-venv.sh and infra/local/stack.sh up"
    (
        eval "$(cmd_env)"
        "$VENV/bin/python" "$HERE/check-stack.py"
    )
}

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
    exit 2
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) shift; cmd_env "$@" ;;
    check) cmd_check ;;
    -h | --help | help) usage ;;
    *) say "unknown command '${1:-}'"; usage ;;
esac
