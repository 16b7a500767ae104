#!/usr/bin/env bats
# Request metrics from the agent, the Prometheus endpoint PID 1 serves
# (--metrics), and the live figures of `nrun stats` (issue 15 items 1-3).
load ../lib/common
load ../lib/supervisor
load ../lib/obs
bats_require_minimum_version 1.5.0

APPS=$REPO/tests/apps

teardown() {
    [ -z "${PROM_PID:-}" ] || { kill -TERM "$PROM_PID" 2>/dev/null; wait "$PROM_PID" 2>/dev/null || true; }
    sv_cleanup
}

@test "--metrics: PID 1 serves /metrics (strict exposition format) with the requests each worker answered" {
    PORT=$(sv_free_port)
    MPORT=$(sv_free_port)
    PORT=$PORT sv_start -q --workers 2 --metrics "127.0.0.1:$MPORT" -- node "$APPS/obs.js"
    sv_wait_http "$PORT"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    # the listener is the supervisor's own socket, not a worker's
    owner=$(ss -Htlnp "sport = :$MPORT" | grep -o 'pid=[0-9]*' | sort -u)
    [ "$owner" = "pid=$SV_PID" ]
    # (sv_wait_http's probes are GET 200s: the counted ones have codes of their own)
    for i in $(seq 1 20); do curl -sf "http://127.0.0.1:$PORT/status/201" >/dev/null; done
    for i in $(seq 1 5); do curl -s "http://127.0.0.1:$PORT/status/503" >/dev/null; done
    for i in $(seq 1 3); do curl -s -X POST "http://127.0.0.1:$PORT/status/404" >/dev/null; done
    # batches come every second: wait until all 28 are counted
    sv_wait '[ "$(obs_sum "$(obs_scrape "$MPORT")" http_requests_total ".labels.code != \"200\"")" = 28 ]'
    out=$(obs_scrape "$MPORT")
    all=$(obs_sum "$out" http_requests_total)
    [ "$(obs_sum "$out" http_requests_total '.labels.method == "GET" and .labels.code == "201"')" = 20 ]
    [ "$(obs_sum "$out" http_requests_total '.labels.method == "GET" and .labels.code == "503"')" = 5 ]
    [ "$(obs_sum "$out" http_requests_total '.labels.method == "POST" and .labels.code == "404"')" = 3 ]
    # both workers answered, each under its own label
    [ "$(printf '%s\n' "$out" | jq -rs '[.[] | select(.name == "http_requests_total") | .labels.worker] | unique | join(",")')" = "1,2" ]
    [ "$all" -ge 28 ]
    [ "$(obs_sum "$out" http_request_duration_seconds_count)" = "$all" ]
    [ "$(obs_sum "$out" http_request_duration_seconds_bucket '.labels.le == "+Inf"')" = "$all" ]
    # the other families the issue names, per worker
    for m in nodejs_eventloop_lag_seconds nodejs_heap_size_used_bytes process_cpu_seconds_total \
        process_resident_memory_bytes nrun_worker_restarts_total http_requests_in_flight http_response_bytes_total \
        nodejs_eventloop_delay_p99_seconds nodejs_active_handles nodejs_gc_duration_seconds_total; do
        [ "$(printf '%s\n' "$out" | jq -s --arg m "$m" '[.[] | select(.name == $m)] | length')" = 2 ] || { echo "missing $m" >&2; false; }
    done
    [ "$(obs_sum "$out" nodejs_heap_size_used_bytes '.labels.worker == "1"' | cut -d. -f1)" -gt 1000000 ]
    [ "$(obs_sum "$out" http_response_bytes_total | cut -d. -f1)" -gt 1000 ]
    # the supervisor's cgroup (a container's: tests/e2e/obs_container.bats)
    [ "$(obs_sum "$out" container_memory_usage_bytes | cut -d. -f1)" -gt 0 ]
    # a crash shows as a restart of its slot
    kill -KILL "$(sv_stats | jq '.workers[0].pid')"
    sv_wait '[ "$(obs_sum "$(obs_scrape "$MPORT")" nrun_worker_restarts_total)" = 1 ]'
    # anything but /metrics is 404, anything but GET/HEAD 405
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/")" = 404 ]
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$MPORT/metrics")" = 405 ]
    sv_stop
    [ "$SV_RC" = 0 ]
}

@test "--metrics: promtool accepts the exposition and a real Prometheus scrapes it" {
    BIN=$(obs_prometheus) || skip "could not fetch Debian's prometheus package (apt-get download prometheus)"
    PORT=$(sv_free_port)
    MPORT=$(sv_free_port)
    PPORT=$(sv_free_port)
    # with a deploy's --revision: a label on every sample, still valid exposition
    PORT=$PORT sv_start -q --workers 2 --metrics "127.0.0.1:$MPORT" --revision r-7 -- node "$APPS/obs.js"
    sv_wait_http "$PORT"
    for i in $(seq 1 12); do curl -sf "http://127.0.0.1:$PORT/status/202" >/dev/null; done
    sv_wait '[ "$(obs_sum "$(obs_scrape "$MPORT")" http_requests_total ".labels.code == \"202\"")" = 12 ]'
    curl -sf "http://127.0.0.1:$MPORT/metrics" | "$BIN/promtool" check metrics
    cat >"$SV_DIR/prom.yml" <<YML
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: nrun
    static_configs: [{targets: ["127.0.0.1:$MPORT"]}]
YML
    "$BIN/prometheus" --config.file="$SV_DIR/prom.yml" --storage.tsdb.path="$SV_DIR/tsdb" \
        --web.listen-address="127.0.0.1:$PPORT" >"$SV_DIR/prom.log" 2>&1 &
    PROM_PID=$!
    q() { curl -sf --max-time 2 "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // empty'; }
    Q='sum(http_requests_total{code="202"})'
    sv_wait '[ "$(q "$Q")" = 12 ]' 30
    [ "$(q 'up{job="nrun"}')" = 1 ]
    [ "$(q 'count(nodejs_heap_size_used_bytes{revision="r-7"})')" = 2 ]
    [ "$(q 'count(nrun_workers{revision="r-7"})')" = 1 ]
    [ -n "$(q 'histogram_quantile(0.99, sum by (le) (http_request_duration_seconds_bucket))')" ]
}

@test "nrun stats: requests/s, error rate and p99 per worker, from the agent" {
    PORT=$(sv_free_port)
    PORT=$PORT sv_start -q --workers 1 -- node "$APPS/obs.js"
    sv_wait_http "$PORT"
    # 3 s of traffic, one answer in four a 500, some slow ones
    end=$((SECONDS + 3))
    while [ $SECONDS -lt $end ]; do
        curl -s "http://127.0.0.1:$PORT/" "http://127.0.0.1:$PORT/" "http://127.0.0.1:$PORT/slow/120" \
            "http://127.0.0.1:$PORT/status/500" >/dev/null
    done &
    load=$!
    sv_wait '[ "$(sv_stats | jq ".workers[0].rps > 0 and .workers[0].error_rate > 0")" = true ]'
    s=$(sv_stats)
    wait $load
    echo "$s" | jq -e '.workers[0].error_rate > 0.1 and .workers[0].error_rate < 0.5'
    # one request in four takes 120 ms: the p99 bucket is at least 0.1 s
    echo "$s" | jq -e '.workers[0].p99_ms >= 100'
    run "$NRUN" stats --control "$SV_CTL"
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == *"REQ/S"*"ERR%"*"P99"* ]]
    [[ "${lines[1]}" =~ [0-9]+\.[0-9]+\ +[0-9]+\.[0-9]+\ +[0-9.]+ms ]]
}

@test "--metrics and --no-agent: bad values are refused; a busy port is an error naming it" {
    run "$NRUN" supervise --metrics 127.0.0.1:99999 -- true
    [ "$status" -eq 2 ]
    [[ "$output" == *"--metrics 127.0.0.1:99999"* ]]
    run "$NRUN" supervise --metrics nothost:80 -- true
    [ "$status" -eq 2 ]
    [[ "$output" == *"not an IP address"* ]]
    PORT=$(sv_free_port)
    sv_start -q --workers 1 --metrics "127.0.0.1:$PORT" -- node "$APPS/obs.js"
    sv_wait "ss -Htln 'sport = :$PORT' | grep -q ."
    run "$NRUN" supervise -q --metrics "127.0.0.1:$PORT" -- node "$APPS/obs.js"
    [ "$status" -ne 0 ]
    [[ "$output" == *"--metrics 127.0.0.1:$PORT: listen"* ]]
    sv_stop
    # without the agent: served, but no request metrics and no log level
    P2=$(sv_free_port)
    PORT=$P2 sv_start -q --workers 1 --no-agent -- node "$APPS/obs.js"
    sv_wait_http "$P2"
    sleep 1.5
    [ "$(sv_stats | jq '.workers[0] | has("rps")')" = false ]
    run "$NRUN" loglevel --control "$SV_CTL" warn
    [ "$status" -ne 0 ]
    [[ "$output" == *"agent"* ]]
}

@test "--metrics: pipelined requests (two in one write on one connection) are each timed from their own start, none left in flight" {
    PORT=$(sv_free_port)
    MPORT=$(sv_free_port)
    PORT=$PORT sv_start -q --workers 1 --metrics "127.0.0.1:$MPORT" -- node "$APPS/obs.js"
    sv_wait_http "$PORT"
    # the second request arrives while the first (300 ms) is in flight; then a third after both
    python3 - "$PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /slow/300 HTTP/1.1\r\nHost: x\r\n\r\nGET /status/202 HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while data.count(b"HTTP/1.1 ") < 2:
    data += s.recv(4096)
s.sendall(b"GET /status/203 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
assert data.count(b"HTTP/1.1 ") == 3, data
PY
    sv_wait '[ "$(obs_sum "$(obs_scrape "$MPORT")" http_requests_total ".labels.code == \"203\"")" = 1 ]'
    out=$(obs_scrape "$MPORT")
    [ "$(obs_sum "$out" http_requests_total '.labels.code == "202"')" = 1 ]
    [ "$(obs_sum "$out" http_requests_in_flight)" = 0 ]
    # /slow/300 and /status/202 (its response waits for the first one's, as
    # HTTP/1.1 orders them) took 0.25..0.5 s; /status/203, which came after both,
    # and the probes of sv_wait_http took less
    le25=$(obs_sum "$out" http_request_duration_seconds_bucket '.labels.le == "0.25"')
    le5=$(obs_sum "$out" http_request_duration_seconds_bucket '.labels.le == "0.5"')
    all=$(obs_sum "$out" http_request_duration_seconds_count)
    echo "le 0.25: $le25, le 0.5: $le5, all: $all"
    [ "$((le5 - le25))" = 2 ]
    [ "$le5" = "$all" ]
}

@test "--metrics: requests whose client closes the connection before the response ends leave the in-flight count, once" {
    PORT=$(sv_free_port)
    MPORT=$(sv_free_port)
    PORT=$PORT sv_start -q --workers 1 --metrics "127.0.0.1:$MPORT" -- node "$APPS/obs.js"
    sv_wait_http "$PORT"
    # three connections: one slow request, two pipelined behind a slow one,
    # and one the app answers only after its client has gone (/late); the
    # client holds them until the test has seen the 4 in flight, then closes
    python3 - "$PORT" "$SV_DIR/close" >"$SV_DIR/client.out" 2>&1 <<'PY' &
import os, socket, sys, time
port, flag = int(sys.argv[1]), sys.argv[2]
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
conns[0].sendall(b"GET /slow/600000 HTTP/1.1\r\nHost: x\r\n\r\n")
conns[1].sendall(b"GET /slow/600000 HTTP/1.1\r\nHost: x\r\n\r\nGET /status/202 HTTP/1.1\r\nHost: x\r\n\r\n")
conns[2].sendall(b"GET /late/c HTTP/1.1\r\nHost: x\r\n\r\n")
for _ in range(600):
    if os.path.exists(flag):
        break
    time.sleep(0.05)
for c in conns:
    c.close()
PY
    CLIENT=$!
    sv_wait '[ "$(obs_sum "$(obs_scrape "$MPORT")" http_requests_in_flight)" = 4 ]'
    touch "$SV_DIR/close"
    wait "$CLIENT"
    sv_wait "grep -q 'late end c' '$SV_LOGS/container.log'"
    # a request after all that: once it is counted, its batch is after the closes
    curl -sf "http://127.0.0.1:$PORT/status/204" >/dev/null
    sv_wait '[ "$(obs_sum "$(obs_scrape "$MPORT")" http_requests_total ".labels.code == \"204\"")" = 1 ]'
    out=$(obs_scrape "$MPORT")
    echo "in flight: $(obs_sum "$out" http_requests_in_flight)"
    [ "$(obs_sum "$out" http_requests_in_flight)" = 0 ]
    [ "$(sv_stats | jq '.workers[0].state')" = '"up"' ]
    # and stays 0 (a late detach of an aborted response is not counted again)
    curl -sf "http://127.0.0.1:$PORT/status/205" >/dev/null
    sv_wait '[ "$(obs_sum "$(obs_scrape "$MPORT")" http_requests_total ".labels.code == \"205\"")" = 1 ]'
    [ "$(obs_sum "$(obs_scrape "$MPORT")" http_requests_in_flight)" = 0 ]
}
