#!/usr/bin/env bats
# Probes of the observability inputs (issue 15): forged metrics batches from
# a worker, and a hostile client of the --metrics listener.  PID 1 must not
# crash, must not grow, must not let bytes of a worker's choosing into the
# exposition, and must keep serving.
load ../lib/common
load ../lib/supervisor
load ../lib/obs
bats_require_minimum_version 1.5.0

APPS=$REPO/tests/apps

teardown() { sv_cleanup; }

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

@test "forged metrics batches: dropped or bounded; PID 1 neither crashes nor grows; nothing injected" {
    PORT=$(sv_free_port)
    MPORT=$(sv_free_port)
    PORT=$PORT sv_start -q --workers 1 --metrics "127.0.0.1:$MPORT" -- node "$APPS/hostile-metrics.js"
    sv_wait_http "$PORT"
    before=$(rss_kb "$SV_PID")
    # 15 rounds of forged batches, then, 4 times a second, one of 2500 pairs (50 kB),
    # one of 5000 (over the 64 kB PID 1 parses) and 4 MB of garbage
    sv_wait "grep -q '\"msg\":\"flooded\"' '$SV_LOGS/container.log'" 30
    # the big batch is taken, bounded to its first 32 pairs
    sv_wait '[ "$(curl -sf http://127.0.0.1:$MPORT/metrics | grep -c "^http_requests_total{worker=\"1\",method=\"A")" = 32 ]'
    kill -0 "$SV_PID"
    curl -sf "http://127.0.0.1:$PORT/" | grep -q 'still fine'
    body=$(curl -sf "http://127.0.0.1:$MPORT/metrics")
    printf '%s\n' "$body" | python3 "$REPO/tests/lib/promparse.py" >/dev/null
    ! grep -q evil_injected <<<"$body" || false
    # at most 32 method/code pairs kept per worker
    [ "$(grep -c '^http_requests_total{' <<<"$body")" -le 32 ]
    after=$(rss_kb "$SV_PID")
    echo "PID 1 RSS: $before kB -> $after kB" >&3
    # (an ASAN build in-process keeps freed memory in quarantine: no RSS figure to hold it to)
    [ -n "${NRUN_SUPERVISE_INPROCESS:-}" ] || [ "$after" -lt $((before + 4096)) ]
    sv_stop
}

@test "--metrics listener: idle and oversized clients cannot starve or grow PID 1; it serves again after them" {
    PORT=$(sv_free_port)
    MPORT=$(sv_free_port)
    PORT=$PORT sv_start -q --workers 1 --metrics "127.0.0.1:$MPORT" -- node "$APPS/obs.js"
    sv_wait_http "$PORT"
    before=$(rss_kb "$SV_PID")
    # an oversized request: 431, connection closed
    code=$(python3 - "$MPORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
try:
    s.sendall(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 100000)
except OSError:
    pass
print(s.recv(100).split(b" ")[1].decode())
PY
)
    [ "$code" = 431 ]
    # 200 idle connections that never send a request, held open
    python3 - "$MPORT" "$SV_DIR/idle.done" <<'PY' &
import socket, sys, time, os
socks = []
for _ in range(200):
    try:
        socks.append(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
    except OSError:
        pass
open(sys.argv[2], "w").close()
time.sleep(8)
PY
    idle=$!
    sv_wait "[ -e '$SV_DIR/idle.done' ]"
    kill -0 "$SV_PID"
    # the workers still serve, and the idle ones are dropped after 5 s: metrics again
    curl -sf "http://127.0.0.1:$PORT/" >/dev/null
    sv_wait "curl -sf --max-time 1 http://127.0.0.1:$MPORT/metrics | grep -q '^http_requests_total'" 15
    kill "$idle" 2>/dev/null || true
    wait "$idle" 2>/dev/null || true
    after=$(rss_kb "$SV_PID")
    echo "PID 1 RSS: $before kB -> $after kB" >&3
    [ "$after" -lt $((before + 4096)) ]
    sv_stop
    [ "$SV_RC" = 0 ]
}

@test "forged dye records: none without a rule; with one, bounded, re-encoded (no line injection), secrets masked" {
    sv_start_http -q --workers 1 -- node "$APPS/hostile-dye.js"
    curl -sf "http://127.0.0.1:$PORT/forge" >/dev/null
    sleep 1
    [ ! -e "$SV_LOGS/dye.log" ]
    "$NRUN" dye --control "$SV_CTL" --header X-None=1
    curl -sf "http://127.0.0.1:$PORT/forge" >/dev/null
    sv_wait "[ -s '$SV_LOGS/dye.log' ]"
    sleep 1
    kill -0 "$SV_PID"
    n=$(wc -l <"$SV_LOGS/dye.log")
    echo "dye records written: $n" >&3
    # at most 200 a second were taken
    [ "$n" -ge 1 ] && [ "$n" -le 400 ]
    # every line is one JSON object of the record's shape; nothing injected
    jq -e 'select(.stream != "dye" or (.console | length) > 50 or (.url | length) > 8192) | 1' "$SV_LOGS/dye.log" && false
    [ "$(jq -c . "$SV_LOGS/dye.log" | wc -l)" = "$n" ]
    ! grep -q '^{"time":"x"' "$SV_LOGS/dye.log" || false
    ! grep -q 'leaked-secret' "$SV_LOGS/dye.log" || false
    ! grep -q INJECTED "$SV_LOGS/container.log" || false
    run "$NRUN" logs --dye --log-dir "$SV_LOGS"
    [ "$(grep -c '"stream":"dye"' <<<"$output")" = "$n" ]
    sv_stop
}
