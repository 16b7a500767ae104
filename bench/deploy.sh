#!/usr/bin/env bash
# Moving a service from v1 to v2 under load, three ways, interleaved:
#   nrun-deploy  nrun deploy --watch 0 web app:2 (the port switch, issue 16)
#   stop-rm-run  nrun stop web; nrun rm web; nrun run ... app:2 (what a user does without it)
#   pm2-reload   pm2 reload of the same code, v2 by --update-env (no image: the same files)
# In each round and for each way: the v1 service (2 workers) starts, wrk
# keep-alive and wrk Connection: close run at once for DURATION, the switch
# starts SWITCH_AT into it.  Prints per way the medians over ROUNDS of the
# failed requests (socket errors + non-2xx) and p99 of each wrk, and the share
# of runs where the switch was seen (the service answered v2 at the end).
# Env: ROUNDS (default 5), DURATION (default 6s), SWITCH_AT (default 2), CONNS
# (default 16 per wrk), BUILD, PM2.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
bench_in_netns nrbd "$@"
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-6s}
SWITCH_AT=${SWITCH_AT:-2}
CONNS=${CONNS:-16}
bench_need wrk
bench_pm2

tmp=$(mktemp -d /tmp/nrun-bench-deploy.XXXXXX)
export PM2_HOME=$tmp/pm2 NRUN_ROOT=$tmp/root
cleanup() {
    for c in $("$NRUN" ps -aq 2>/dev/null); do "$NRUN" rm -f "$c" >/dev/null 2>&1 || true; done
    "$PM2" kill >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
answer() { curl -s --max-time 1 "http://127.0.0.1:$1/" 2>/dev/null || true; }
wait_answer() { # PORT TEXT
    for _ in $(seq 1 150); do [ "$(answer "$1")" = "$2" ] && return 0; sleep 0.1; done
    echo "bench: $2 does not answer on port $1" >&2
    return 1
}

# One app for all three: it answers the VERSION of its environment.
cat >"$tmp/app.js" <<'EOF'
require('http').createServer((q, r) => r.end(process.env.VERSION + '\n')).listen(+process.env.PORT || 3000)
EOF
BATS_FILE_TMPDIR=$tmp
# shellcheck source=../tests/lib/runtime.bash
source "$BENCH_REPO/tests/lib/runtime.bash"
rt_node_tar "$tmp/node.tar"
for v in 1 2; do
    "$NRUN" __internal mkimage -t "app:$v" \
        --config "$(jq -nc --arg js "$(cat "$tmp/app.js")" --arg v "VERSION=v$v" \
            '{Env:["PATH=/usr/bin", $v], Cmd:["node","-e",$js]}')" "$tmp/node.tar" >/dev/null
done

to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v}'; }
# wrk's summary -> "failed p99_ms requests"
wrk_sum() {
    local f=$1 sock non2 p99 n
    sock=$(awk '/Socket errors:/{gsub(",",""); print $4+$6+$8+$10}' "$f")
    non2=$(awk '/Non-2xx/{print $NF}' "$f")
    p99=$(awk '$1 == "99%" {print $2}' "$f" | to_ms)
    n=$(awk '/requests in/{print $1}' "$f")
    echo "$((${sock:-0} + ${non2:-0})) ${p99:-0} ${n:-0}"
}
load_start() { # PORT
    wrk -t1 -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$1/" >"$tmp/ka.out" 2>&1 &
    W1=$!
    wrk -t1 -c"$CONNS" -d"$DURATION" --latency -H 'Connection: close' "http://127.0.0.1:$1/" >"$tmp/close.out" 2>&1 &
    W2=$!
}
load_end() { # WAY PORT
    wait "$W1" "$W2"
    echo "$(wrk_sum "$tmp/ka.out") $(wrk_sum "$tmp/close.out") $([ "$(answer "$2")" = v2 ] && echo 1 || echo 0)" >>"$tmp/$1"
}

way_nrun_deploy() { # PORT
    "$NRUN" run -d --name web --workers 2 -p "127.0.0.1:$1:3000" app:1 >/dev/null
    wait_answer "$1" v1
    load_start "$1"
    sleep "$SWITCH_AT"
    "$NRUN" deploy --watch 0 web app:2 >/dev/null 2>"$tmp/deploy.err" || cat "$tmp/deploy.err" >&2
    load_end nrun-deploy "$1"
    "$NRUN" rm -f web >/dev/null
    rm -f "$NRUN_ROOT"/deploy/web.*
}
way_stop_rm_run() {
    "$NRUN" run -d --name web --workers 2 -p "127.0.0.1:$1:3000" app:1 >/dev/null
    wait_answer "$1" v1
    load_start "$1"
    sleep "$SWITCH_AT"
    "$NRUN" stop web >/dev/null
    "$NRUN" rm web >/dev/null
    "$NRUN" run -d --name web --workers 2 -p "127.0.0.1:$1:3000" app:2 >/dev/null
    load_end stop-rm-run "$1"
    "$NRUN" rm -f web >/dev/null
}
way_pm2_reload() {
    PORT=$1 VERSION=v1 "$PM2" start "$tmp/app.js" -i 2 --name web >/dev/null 2>&1
    wait_answer "$1" v1
    load_start "$1"
    sleep "$SWITCH_AT"
    PORT=$1 VERSION=v2 "$PM2" reload web --update-env >/dev/null 2>&1
    load_end pm2-reload "$1"
    "$PM2" delete web >/dev/null 2>&1
}

ways=(nrun-deploy stop-rm-run pm2-reload)
for r in $(seq 1 "$ROUNDS"); do
    for w in "${ways[@]}"; do
        "way_${w//-/_}" "$(free_port)"
    done
    echo "round $r/$ROUNDS done" >&2
done

col() { cut -d' ' -f"$2" "$tmp/$1" | median; }
echo
echo "v1 -> v2 under wrk -t1 -c$CONNS -d$DURATION keep-alive and Connection: close at once (switch at ${SWITCH_AT}s);"
echo "medians of $ROUNDS interleaved rounds (max failed in brackets)"
printf '%-12s %14s %10s %10s %14s %10s %10s %8s\n' "" "ka failed" "ka p99 ms" "ka reqs" "close failed" "cl p99 ms" "cl reqs" "on v2"
for w in "${ways[@]}"; do
    kmax=$(cut -d' ' -f1 "$tmp/$w" | sort -n | tail -1)
    cmax=$(cut -d' ' -f4 "$tmp/$w" | sort -n | tail -1)
    printf '%-12s %14s %10.2f %10s %14s %10.2f %10s %5s/%s\n' "$w" "$(col "$w" 1) [$kmax]" "$(col "$w" 2)" "$(col "$w" 3)" \
        "$(col "$w" 4) [$cmax]" "$(col "$w" 5)" "$(col "$w" 6)" "$(cut -d' ' -f7 "$tmp/$w" | paste -sd+ | bc)" "$ROUNDS"
done
