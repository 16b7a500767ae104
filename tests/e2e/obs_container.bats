#!/usr/bin/env bats
# Observability of a container (issue 15 items 1-4): --metrics served by the
# container's PID 1 in its own network namespace (scraped from inside with
# `nrun exec`), the container cgroup's figures, the log level in inspect.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() {
    nr_make_root
    rt_node_image
}

teardown_file() { rt_file_teardown; }

scrape() {
    "$NRUN" exec "$1" node -e \
        'fetch("http://127.0.0.1:9100/metrics").then(r => r.text()).then(t => process.stdout.write(t), e => { console.error(e); process.exit(1) })' |
        python3 "$REPO/tests/lib/promparse.py"
}

@test "container: --metrics from PID 1 inside the container, with its cgroup; loglevel shown in inspect, kept across reload" {
    port=$(rt_free_port)
    id=$(rt_run -d --workers 2 --metrics 9100 --log-level info -v "$REPO/tests/apps:/app:ro" \
        -p "127.0.0.1:$port:3000" nd:1 node /app/obs.js)
    jq -e '.annotations["org.nrun.supervisor.metrics"] == "9100"' "$NRUN_ROOT/containers/$id/config.json"
    # -p publishes in the test file's network namespace
    for _ in $(seq 100); do nr_in_ns curl -sf --max-time 2 "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
    for _ in $(seq 1 10); do nr_in_ns curl -sf "http://127.0.0.1:$port/status/201" >/dev/null; done
    # not on the host: the listener is in the container's network namespace
    run sh -c "curl -sf --max-time 1 http://127.0.0.1:9100/metrics 2>/dev/null | grep -c 'worker=\"1\"'"
    [ "$output" = 0 ]
    for _ in $(seq 50); do
        out=$(scrape "$id") && [ "$(echo "$out" | jq -s '[.[] | select(.name == "http_requests_total" and .labels.code == "201") | .value] | add')" = 10 ] && break
        sleep 0.2
    done
    [ "$(echo "$out" | jq -s '[.[] | select(.name == "http_requests_total" and .labels.code == "201") | .value] | add')" = 10 ]
    # the container's cgroup: PID 1 + 2 workers (+ the exec'd node) at least
    [ "$(echo "$out" | jq -s '[.[] | select(.name == "container_pids") | .value] | add')" -ge 3 ]
    [ "$(echo "$out" | jq -s '[.[] | select(.name == "container_memory_usage_bytes") | .value] | add')" -gt 1000000 ]
    echo "$out" | jq -se '[.[] | select(.name == "container_cpu_usage_seconds_total")] | length == 1'

    [ "$("$NRUN" inspect "$id" | jq -r '.[0].Supervisor.LogLevel')" = info ]
    "$NRUN" loglevel "$id" error
    [ "$("$NRUN" inspect "$id" | jq -r '.[0].Supervisor.LogLevel')" = error ]
    "$NRUN" reload "$id"
    [ "$("$NRUN" inspect "$id" | jq -r '.[0].Supervisor.LogLevel')" = error ]
    for _ in $(seq 1 4); do nr_in_ns curl -sf "http://127.0.0.1:$port/log/z" >/dev/null; done
    for _ in $(seq 50); do [ "$("$NRUN" logs "$id" 2>&1 | grep -c '^error-z$')" = 4 ] && break; sleep 0.1; done
    run "$NRUN" logs "$id"
    [ "$(grep -c '^error-z$' <<<"$output")" = 4 ]
    [ "$(grep -c '^warn-z$' <<<"$output")" = 0 ]
    "$NRUN" stats "$id" | head -1 | grep -q 'REQ/S'
    "$NRUN" rm -f "$id"
}
