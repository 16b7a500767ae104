#!/usr/bin/env bash
# The supervisor's hand-off against its peers, in one interleaved run:
#   nrun supervise --workers 2 | nrun run --workers 2 -p (a container) |
#   the same container on --network host (its own cost without the network
#   path: veth, bridge, NAT) | node cluster (SCHED_RR) 2 workers | pm2 -i 2 | one node process
# wrk keep-alive and `Connection: close`; medians of ROUNDS runs, ratios to
# node cluster RR (or the first row), p99 latency, the CPU time per request of
# the nrun rows (server: every thread of the supervisor and workers; client:
# wrk's user+sys, which also carries most of the loopback/veth/netfilter
# softirq work run in its context), and the supervisor's RSS (on the host and
# as a container's PID 1).
# Every server runs in a session of its own (setsid), as a service manager
# starts one: with autogroup scheduling (on here, as on most desktops and
# VMs) each session or cgroup is one CFS group, so a server started from
# this script's session would share its group with wrk and get 3/5 of the
# CPU where a container (a session and a cgroup of its own, like pm2's
# daemon) gets 1/2: a scheduling artefact of wrk on the same 2 cores, not a
# data-path cost (it read 0.82x for the container before).
# Env: ROUNDS (default 5), DURATION (default 4s), CONNS (default 64), BUILD,
# ROWS (the rows to run, default "nrun nrun-ctr nrun-ctr-host cluster-rr pm2
# single").
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
bench_in_netns nrb "$@"
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-4s}
CONNS=${CONNS:-64}
bench_need wrk
bench_pm2

tmp=$(mktemp -d /tmp/nrun-bench-sv.XXXXXX)
export PM2_HOME=$tmp/pm2
pids=()
export NRUN_ROOT=$tmp/root
cleanup() {
    local c
    for c in ${ctr:-} ${ctr_host:-}; do "$NRUN" rm -f "$c" >/dev/null 2>&1 || true; done
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    "$PM2" kill >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT


P_NRUN=$(free_port); P_CLUSTER=$(free_port); P_PM2=$(free_port); P_SINGLE=$(free_port); P_CTR=$(free_port); P_CTRH=$(free_port)
# the container: an image of this host's node binary and its libraries
BATS_FILE_TMPDIR=$tmp
# shellcheck source=../tests/lib/runtime.bash
source "$BENCH_REPO/tests/lib/runtime.bash"
rt_node_tar "$tmp/node.tar"
"$NRUN" __internal mkimage -t bench-node:1 --config '{"Env":["PATH=/usr/bin"]}' "$tmp/node.tar" >/dev/null
ctr=$("$NRUN" run -d --workers 2 -p "127.0.0.1:$P_CTR:3000" -v "$APPS:/app:ro" bench-node:1 node /app/hello.js)
ctr_host=$("$NRUN" run -d --workers 2 --network host -e "PORT=$P_CTRH" -v "$APPS:/app:ro" bench-node:1 node /app/hello.js)
PORT=$P_NRUN setsid "$NRUN" supervise -q --workers 2 --control "$tmp/ctl.sock" --runtime-dir "$tmp/rt" -- node "$APPS/hello.js" >/dev/null 2>&1 &
pids+=($!)
PORT=$P_CLUSTER WORKERS=2 NODE_CLUSTER_SCHED_POLICY=rr setsid node "$APPS/cluster-master.js" >/dev/null 2>&1 &
pids+=($!)
PORT=$P_SINGLE setsid node "$APPS/hello.js" >/dev/null 2>&1 &
pids+=($!)
PORT=$P_PM2 "$PM2" start "$APPS/hello.js" -i 2 --name nrun-bench >/dev/null 2>&1
for p in $P_NRUN $P_CTR $P_CTRH $P_CLUSTER $P_PM2 $P_SINGLE; do wait_port "$p" || { echo "ports: nrun=$P_NRUN cluster=$P_CLUSTER pm2=$P_PM2 single=$P_SINGLE" >&2; "$PM2" logs --nostream --lines 20 >&2 || true; exit 1; }; done
sleep 1

names=() ports=()
declare -A all_ports
all_ports=([nrun]=$P_NRUN [nrun-ctr]=$P_CTR [nrun-ctr-host]=$P_CTRH [cluster-rr]=$P_CLUSTER [pm2]=$P_PM2 [single]=$P_SINGLE)
for n in ${ROWS:-nrun nrun-ctr nrun-ctr-host cluster-rr pm2 single}; do
    [ -n "${all_ports[$n]:-}" ] || { echo "bench/supervisor.sh: ROWS: no row $n" >&2; exit 1; }
    names+=("$n") ports+=("${all_ports[$n]}")
done
# results: $tmp/<name>.<mode> lines "rps p99_ms"
declare -A roots
roots[nrun]=${pids[0]}
roots[nrun-ctr]=$("$NRUN" inspect "$ctr" | jq '.[0].State.Pid')
roots[nrun-ctr-host]=$("$NRUN" inspect "$ctr_host" | jq '.[0].State.Pid')
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v}'; }
run_wrk() { # name port mode
    local out hdr=()
    [ "$3" = close ] && hdr=(-H 'Connection: close')
    local c0=0 c1=0
    [ -z "${roots[$1]:-}" ] || c0=$(cpu_ns "${roots[$1]}")
    out=$(/usr/bin/time -f 'wrk-cpu %U %S' wrk -t2 -c"$CONNS" -d"$DURATION" --latency "${hdr[@]}" "http://127.0.0.1:$2/" 2>&1)
    [ -z "${roots[$1]:-}" ] || c1=$(cpu_ns "${roots[$1]}")
    local rps p99 errs n srv cli
    rps=$(echo "$out" | awk '/^Requests\/sec:/{print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}' | to_ms)
    errs=$(echo "$out" | grep -E 'Socket errors|Non-2xx' | tr '\n' ' ' || true)
    n=$(echo "$out" | awk '/ requests in /{print $1}')
    srv=$(awk -v c=$((c1 - c0)) -v n="$n" 'BEGIN{printf "%.2f", c / n / 1000}')
    cli=$(echo "$out" | awk -v n="$n" '$1 == "wrk-cpu" {printf "%.2f", ($2 + $3) * 1e6 / n}')
    echo "$rps $p99 $srv $cli" >>"$tmp/$1.$3"
    [ -z "$errs" ] || echo "  ($1 $3: $errs)" >&2
}
# Warm-up (JIT, connection pools), not counted.
for p in "${ports[@]}"; do wrk -t2 -c"$CONNS" -d1s "http://127.0.0.1:$p/" >/dev/null 2>&1; done
for r in $(seq 1 "$ROUNDS"); do
    # the order alternates per round so that no row always runs first
    if ((r % 2)); then order=$(seq 0 $((${#names[@]} - 1))); else order=$(seq $((${#names[@]} - 1)) -1 0); fi
    for mode in keepalive close; do
        for k in $order; do
            run_wrk "${names[$k]}" "${ports[$k]}" "$mode"
        done
    done
    echo "round $r/$ROUNDS done" >&2
done
rss=$("$NRUN" stats --json --control "$tmp/ctl.sock" | jq '.supervisor_rss')
sv_pid=$("$NRUN" stats --json --control "$tmp/ctl.sock" | jq '.pid')
pss=$(awk '/^Pss:/{print $2}' "/proc/$sv_pid/smaps_rollup" 2>/dev/null || echo "?")
crss=$("$NRUN" stats --json "$ctr" | jq '.supervisor_rss')
cpid=$("$NRUN" inspect "$ctr" | jq '.[0].State.Pid')
cpss=$(awk '/^Pss:/{print $2}' "/proc/$cpid/smaps_rollup" 2>/dev/null || echo "?")

echo
echo "hello-world HTTP, 2 workers, wrk -t2 -c$CONNS -d$DURATION, median of $ROUNDS interleaved rounds"
base=cluster-rr
[ -e "$tmp/$base.keepalive" ] || base=${names[0]}
printf '%-13s %12s %9s %8s %12s %9s %8s\n' "" "keep-alive" "p99 ms" "vs $base" "conn:close" "p99 ms" "vs $base"
base_ka=$(cut -d' ' -f1 "$tmp/$base.keepalive" | median)
base_cl=$(cut -d' ' -f1 "$tmp/$base.close" | median)
for n in "${names[@]}"; do
    ka=$(cut -d' ' -f1 "$tmp/$n.keepalive" | median); kp=$(cut -d' ' -f2 "$tmp/$n.keepalive" | median)
    cl=$(cut -d' ' -f1 "$tmp/$n.close" | median); cp=$(cut -d' ' -f2 "$tmp/$n.close" | median)
    printf '%-13s %12.0f %9.2f %7.2fx %12.0f %9.2f %7.2fx\n' "$n" "$ka" "$kp" "$(awk -v a="$ka" -v b="$base_ka" 'BEGIN{print a/b}')" \
        "$cl" "$cp" "$(awk -v a="$cl" -v b="$base_cl" 'BEGIN{print a/b}')"
done
echo "CPU us per request, medians (server: supervisor+workers; client: wrk user+sys, with the softirq work it carries)"
for n in "${names[@]}"; do
    [ -n "${roots[$n]:-}" ] || continue
    printf '%-13s keep-alive server %6.2f client %6.2f   conn:close server %6.2f client %6.2f\n' "$n" \
        "$(cut -d' ' -f3 "$tmp/$n.keepalive" | median)" "$(cut -d' ' -f4 "$tmp/$n.keepalive" | median)" \
        "$(cut -d' ' -f3 "$tmp/$n.close" | median)" "$(cut -d' ' -f4 "$tmp/$n.close" | median)"
done
echo "supervisor RSS after the load: container PID 1 (nrun-init) $((crss / 1024)) kB (PSS ${cpss} kB);" \
    "nrun supervise on the host $((rss / 1024)) kB (PSS ${pss} kB)"
echo "errors: see lines in parentheses above (none printed = none)"
