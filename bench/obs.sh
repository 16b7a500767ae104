#!/usr/bin/env bash
# The agent's cost (issue 15 item 1): hello-world throughput of
#   nrun supervise --workers 2 (agent: request metrics, heartbeat, log level)
#   nrun supervise --workers 2 --no-agent
#   nrun supervise --workers 2 with a dye rule that matches no request
#   (with no rule, the dye code costs one boolean test a request: inside the
#   agent's figure; with a rule, every request is matched and AsyncLocalStorage runs)
#   pm2 -i 2 (its in-process metrics, @pm2/io) | pm2 -i 2 --no-pmx
# wrk keep-alive, rounds interleaved, medians; prints each variant's
# throughput relative to its own no-agent twin, and the CPU time each variant
# spent per request (all threads of the workers, and of the supervisor or pm2's
# daemon; from /proc/PID/task/*/schedstat): on a machine others load,
# req/s moves with the share of the cores the bench gets, CPU per request much less.
# Env: ROUNDS (default 9), DURATION (default 3s), CONNS (default 64), BUILD, PM2.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-9}
DURATION=${DURATION:-3s}
CONNS=${CONNS:-64}
bench_need wrk
bench_pm2 optional

tmp=$(mktemp -d /tmp/nrun-bench-obs.XXXXXX)
export PM2_HOME=$tmp/pm2
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    [ -z "$PM2" ] || "$PM2" kill >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# Every round starts every variant afresh: a node process's speed varies by
# up to a quarter from one process to the next (JIT decisions, placement),
# identical code or not, so twins that each ran in one process for the whole
# bench would compare two draws of that, not the agent.
names=(nrun-agent nrun-no-agent nrun-dye-rule)
[ -z "$PM2" ] || names+=(pm2 pm2-no-pmx)
start_all() { # sets ports, roots (per variant, the pids whose trees do the work) and pids
    local flags p
    ports=() roots=() pids=()
    for flags in "" "--no-agent" "--control $tmp/dye.sock"; do
        p=$(free_port)
        rm -f "$tmp/dye.sock"
        # shellcheck disable=SC2086
        PORT=$p "$NRUN" supervise -q --workers 2 $flags --log-dir "$tmp/logs" --runtime-dir "$tmp/rt$p" -- node "$APPS/hello.js" >/dev/null 2>&1 &
        pids+=($!) ports+=("$p") roots+=($!)
    done
    if [ -n "$PM2" ]; then
        p=$(free_port); PORT=$p "$PM2" start "$APPS/hello.js" -i 2 --name obs-pm2 >/dev/null 2>&1; ports+=("$p")
        p=$(free_port); PORT=$p "$PM2" start "$APPS/hello.js" -i 2 --no-pmx --name obs-pm2-nopmx >/dev/null 2>&1; ports+=("$p")
    fi
    for p in "${ports[@]}"; do wait_port "$p"; done
    # pm2: its workers (its daemon, the cluster master, moves no request on keep-alive)
    [ -z "$PM2" ] || roots+=("$("$PM2" pid obs-pm2 | tr '\n' ' ')" "$("$PM2" pid obs-pm2-nopmx | tr '\n' ' ')")
    "$NRUN" dye --control "$tmp/dye.sock" --header X-Never=1 >/dev/null
    # warm-up (JIT), not counted
    for p in "${ports[@]}"; do wrk -t2 -c"$CONNS" -d1s "http://127.0.0.1:$p/" >/dev/null 2>&1; done
}
stop_all() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
    [ -z "$PM2" ] || "$PM2" delete obs-pm2 obs-pm2-nopmx >/dev/null 2>&1 || true
}
run_wrk() { # name port roots
    local out c0 c1 n
    c0=$(cpu_ns "$3")
    out=$(wrk -t2 -c"$CONNS" -d"$DURATION" "http://127.0.0.1:$2/" 2>&1)
    c1=$(cpu_ns "$3")
    echo "$out" | awk '/^Requests\/sec:/{print $2}' >>"$tmp/res.$1"
    n=$(echo "$out" | awk '/ requests in /{print $1}')
    awk -v c=$((c1 - c0)) -v n="$n" 'BEGIN{printf "%.2f\n", c / n / 1000}' >>"$tmp/cpu.$1"
    ! echo "$out" | grep -qE 'Socket errors|Non-2xx' || echo "  ($1: $(echo "$out" | grep -E 'Socket errors|Non-2xx'))" >&2
}
for r in $(seq 1 "$ROUNDS"); do
    start_all
    # the order alternates per round so neither twin always runs first
    if ((r % 2)); then order=$(seq 0 $((${#names[@]} - 1))); else order=$(seq $((${#names[@]} - 1)) -1 0); fi
    for k in $order; do run_wrk "${names[$k]}" "${ports[$k]}" "${roots[$k]}"; done
    stop_all
    echo "round $r/$ROUNDS done" >&2
done
echo
echo "hello-world HTTP, 2 workers, wrk -t2 -c$CONNS -d$DURATION keep-alive, median of $ROUNDS interleaved rounds"
declare -A med cpu
for n in "${names[@]}"; do
    med[$n]=$(median <"$tmp/res.$n")
    cpu[$n]=$(median <"$tmp/cpu.$n")
    printf '%-14s %10.0f req/s %8.2f us CPU/req   (rounds: %s)\n' "$n" "${med[$n]}" "${cpu[$n]}" "$(cut -d. -f1 "$tmp/res.$n" | tr '\n' ' ')"
done
# A variant against its twin: the median of the per-round ratios (the twins
# run back to back in a round, so a load that drifts between rounds cancels)
# and the ratio of the medians.
paired() { # file-a file-b: median over rounds of a/b - 1, in %
    paste "$1" "$2" | awk '{print ($1 / $2 - 1) * 100}' | median
}
compare() { # what a b
    printf '%s: req/s %+.1f%% (median of per-round ratios; %+.1f%% ratio of medians), CPU/req %+.1f%% (%+.1f%%)\n' "$1" \
        "$(paired "$tmp/res.$2" "$tmp/res.$3")" "$(awk -v a="${med[$2]}" -v b="${med[$3]}" 'BEGIN{print (a / b - 1) * 100}')" \
        "$(paired "$tmp/cpu.$2" "$tmp/cpu.$3")" "$(awk -v a="${cpu[$2]}" -v b="${cpu[$3]}" 'BEGIN{print (a / b - 1) * 100}')"
}
compare "nrun agent vs --no-agent" nrun-agent nrun-no-agent
compare "a dye rule that matches nothing vs no rule" nrun-dye-rule nrun-agent
[ -z "$PM2" ] || compare "pm2 in-process metrics vs --no-pmx" pm2 pm2-no-pmx
