#!/usr/bin/env bash
# The agent's cost (issue 15 item 1): hello-world throughput of
#   nrun supervise --workers 2 (agent: request metrics, heartbeat, log level)
#   nrun supervise --workers 2 --no-agent
#   nrun supervise --workers 2 with a dye rule that matches no request
#   (with no rule, the dye code costs one boolean test a request: inside the
#   agent's figure; with a rule, every request is matched and AsyncLocalStorage runs)
#   pm2 -i 2 (its in-process metrics, @pm2/io) | pm2 -i 2 --no-pmx
# wrk keep-alive, rounds interleaved, medians; prints each variant's
# throughput relative to its own no-agent twin.
# Env: ROUNDS (default 7), DURATION (default 3s), CONNS (default 64), BUILD, PM2.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$here/build}
NRUN=$BUILD/nrun
APPS=$here/tests/apps
ROUNDS=${ROUNDS:-7}
DURATION=${DURATION:-3s}
CONNS=${CONNS:-64}
unset NODE_EXTRA_CA_CERTS
command -v wrk >/dev/null || { echo "bench/obs.sh: wrk is missing (make deps)" >&2; exit 1; }
PM2=${PM2:-$APPS/node_modules/.bin/pm2}
[ -x "$PM2" ] || { echo "bench/obs.sh: no pm2 ($PM2): pm2 rows skipped (make deps)" >&2; PM2=; }

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
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 12000))
        ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
    done
}
wait_port() {
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$1/" >/dev/null && return 0; sleep 0.1; done
    echo "bench: nothing answers on port $1" >&2
    return 1
}

names=(nrun-agent nrun-no-agent nrun-dye-rule)
ports=()
for flags in "" "--no-agent" "--control $tmp/dye.sock"; do
    p=$(free_port)
    # shellcheck disable=SC2086
    PORT=$p "$NRUN" supervise -q --workers 2 $flags --log-dir "$tmp/logs$p" --runtime-dir "$tmp/rt$p" -- node "$APPS/hello.js" >/dev/null 2>&1 &
    pids+=($!)
    ports+=("$p")
done
if [ -n "$PM2" ]; then
    names+=(pm2 pm2-no-pmx)
    p=$(free_port); PORT=$p "$PM2" start "$APPS/hello.js" -i 2 --name obs-pm2 >/dev/null 2>&1; ports+=("$p")
    p=$(free_port); PORT=$p "$PM2" start "$APPS/hello.js" -i 2 --no-pmx --name obs-pm2-nopmx >/dev/null 2>&1; ports+=("$p")
fi
for p in "${ports[@]}"; do wait_port "$p"; done
"$NRUN" dye --control "$tmp/dye.sock" --header X-Never=1 >/dev/null
sleep 1
run_wrk() { # name port
    local out
    out=$(wrk -t2 -c"$CONNS" -d"$DURATION" "http://127.0.0.1:$2/" 2>&1)
    echo "$out" | awk '/^Requests\/sec:/{print $2}' >>"$tmp/res.$1"
    ! echo "$out" | grep -qE 'Socket errors|Non-2xx' || echo "  ($1: $(echo "$out" | grep -E 'Socket errors|Non-2xx'))" >&2
}
for p in "${ports[@]}"; do wrk -t2 -c"$CONNS" -d1s "http://127.0.0.1:$p/" >/dev/null 2>&1; done
for r in $(seq 1 "$ROUNDS"); do
    # the order alternates per round so neither twin always runs first
    if ((r % 2)); then order=$(seq 0 $((${#names[@]} - 1))); else order=$(seq $((${#names[@]} - 1)) -1 0); fi
    for k in $order; do run_wrk "${names[$k]}" "${ports[$k]}"; done
    echo "round $r/$ROUNDS done" >&2
done
median() { sort -n | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
echo
echo "hello-world HTTP, 2 workers, wrk -t2 -c$CONNS -d$DURATION keep-alive, median of $ROUNDS interleaved rounds"
declare -A med
for n in "${names[@]}"; do
    med[$n]=$(median <"$tmp/res.$n")
    printf '%-14s %10.0f req/s   (rounds: %s)\n' "$n" "${med[$n]}" "$(cut -d. -f1 "$tmp/res.$n" | tr '\n' ' ')"
done
cost() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f%%", (1 - a / b) * 100}'; }
echo "nrun agent cost (vs --no-agent): $(cost "${med[nrun-agent]}" "${med[nrun-no-agent]}")"
echo "a dye rule that matches nothing (vs no rule): $(cost "${med[nrun-dye-rule]}" "${med[nrun-agent]}")"
[ -z "$PM2" ] || echo "pm2 in-process metrics cost (vs --no-pmx): $(cost "${med[pm2]}" "${med[pm2-no-pmx]}")"
