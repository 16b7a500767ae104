#!/usr/bin/env bats
# Alerts (--alert RULE, -d): evaluated and delivered on the host by the
# detached container's monitor: --alert-exec (the event as JSON on stdin),
# --alert-webhook (POST, retried), de-duplicated with --alert-renotify, and
# every event a line of the container's log.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() { rt_file_setup_bb; }
teardown() {
    rt_rm_all
    if [ -n "${SRV_PID:-}" ]; then kill "$SRV_PID" 2>/dev/null || true; wait "$SRV_PID" 2>/dev/null || true; fi
}
teardown_file() { rt_file_teardown; }

wait_for() {
    local i
    for i in $(seq 1 $((${2:-30} * 10))); do
        eval "$1" && return 0
        sleep 0.1
    done
    echo "timed out waiting for: $1" >&2
    return 1
}
restarts_of() { "$NRUN" inspect "$1" | jq -r '.[0].State.RestartCount'; }
# stop the container and wait for its monitor (and its deliveries) to end
stop_and_wait() {
    local mon
    mon=$(jq -r .monitor_pid "$NRUN_ROOT/containers/$("$NRUN" inspect "$1" | jq -r '.[0].Id')/state.json" 2>/dev/null || true)
    "$NRUN" stop -t 1 "$1" >/dev/null 2>&1 || true
    [ -z "$mon" ] || [ "$mon" = null ] || wait_for "! kill -0 $mon 2>/dev/null"
}

# The image $1 of this host's node with /app/$2.js (its text on stdin), whose
# command is node /app/$2.js.
node_app_image() {
    rt_node_tar "$BATS_TEST_TMPDIR/node.tar"
    mkdir -p "$BATS_TEST_TMPDIR/app/app"
    cat >"$BATS_TEST_TMPDIR/app/app/$2.js"
    tar --numeric-owner -C "$BATS_TEST_TMPDIR/app" -cf "$BATS_TEST_TMPDIR/app.tar" .
    "$NRUN" __internal mkimage -t "$1" --config '{"Cmd":["node","/app/'"$2"'.js"],"Env":["PATH=/usr/bin"]}' \
        "$BATS_TEST_TMPDIR/node.tar" "$BATS_TEST_TMPDIR/app.tar" >/dev/null
}

@test "a crash loop fires exactly once per re-notify interval, the event on the command's stdin" {
    ev=$BATS_TEST_TMPDIR/events
    rt_run -d --name loop1 --restart always --alert 'restarts>2/1m' --alert-renotify 1h \
        --alert-exec "cat >>'$ev'" bb:1 sh -c 'exit 3' >/dev/null
    wait_for '[ "$(restarts_of loop1)" -ge 7 ]' 60
    stop_and_wait loop1
    cat "$ev"
    # restarts went on past the threshold for seconds: one event
    [ "$(wc -l <"$ev")" = 1 ]
    jq -e '.type == "alert" and .status == "firing" and .rule == "restarts>2/1m" and .value > 2 and
           .container.name == "loop1" and (.container.id | length) == 64' "$ev"
    # and the log has it
    "$NRUN" logs loop1 2>&1 | grep -q 'alert firing: restarts>2/1m'
}

@test "with a short re-notify interval a lasting crash loop is notified again" {
    ev=$BATS_TEST_TMPDIR/events
    rt_run -d --name loop2 --restart always --alert 'restarts>1/1m' --alert-renotify 1ms \
        --alert-exec "cat >>'$ev'" bb:1 sh -c 'exit 3' >/dev/null
    wait_for '[ "$(restarts_of loop2)" -ge 6 ]' 60
    stop_and_wait loop2
    [ "$(wc -l <"$ev")" -ge 2 ]
    [ "$(jq -r .rule "$ev" | sort -u)" = 'restarts>1/1m' ]
}

@test "webhook: POSTed as JSON to a server on 127.0.0.1, retried after a 500" {
    port=$(rt_free_port)
    got=$BATS_TEST_TMPDIR/posts
    # in the test's network namespace, where the container's monitor runs
    # (nsenter itself, not the nr_in_ns function, so that $! is the server)
    nsenter --net="/run/netns/$NR_NETNS" python3 - "$port" "$got" <<'PY' &
import http.server, json, sys
port, out = int(sys.argv[1]), sys.argv[2]
n = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global n
        n += 1
        body = self.rfile.read(int(self.headers['Content-Length']))
        with open(out, 'a') as f:
            f.write(json.dumps({'n': n, 'type': self.headers['Content-Type'], 'path': self.path,
                                'body': json.loads(body)}) + '\n')
        self.send_response(500 if n == 1 else 200)
        self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(('127.0.0.1', port), H).serve_forever()
PY
    SRV_PID=$!
    wait_for "nr_in_ns python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $port))' 2>/dev/null" 10
    rt_run -d --name hook --health-cmd 'exit 1' --health-interval 100ms --health-retries 1 \
        --alert unhealthy --alert-webhook "http://127.0.0.1:$port/alerts?x=1" bb:1 sleep 1000 >/dev/null
    wait_for "[ \"\$(wc -l <'$got' 2>/dev/null)\" -ge 2 ]" 30
    cat "$got"
    [ "$(jq -r .n "$got" | tr '\n' ' ')" = "1 2 " ]
    [ "$(jq -r .type "$got" | sort -u)" = application/json ]
    [ "$(jq -r .path "$got" | sort -u)" = '/alerts?x=1' ]
    [ "$(jq -c .body "$got" | sort -u | wc -l)" = 1 ]
    jq -e '.body | .rule == "unhealthy" and .status == "firing" and .container.name == "hook"' "$got"
}

@test "unhealthy fires, and resolved once healthy again" {
    ev=$BATS_TEST_TMPDIR/events
    rt_run -d --name sick --health-cmd 'test -e /tmp/ok' --health-interval 100ms --health-retries 1 \
        --alert unhealthy --alert-exec "cat >>'$ev'" bb:1 sleep 1000 >/dev/null
    wait_for "grep -q firing '$ev' 2>/dev/null"
    "$NRUN" exec sick touch /tmp/ok
    wait_for "grep -q resolved '$ev'"
    [ "$(jq -r .status "$ev" | tr '\n' ' ')" = "firing resolved " ]
    # the same two in `nrun events`, and the health changes beside them
    run "$NRUN" events --until "$(date +%s.%N)" --filter container=sick --filter event=alert --filter event=health_status \
        --format '{{.Action}} {{.Actor.Attributes.state}}'
    echo "$output"
    [ "$output" = $'health_status: unhealthy <no value>\nalert firing\nhealth_status: healthy <no value>\nalert resolved' ]
}

@test "mem>P% of the --memory limit fires" {
    ev=$BATS_TEST_TMPDIR/events
    rt_run -d --name fat --memory 64m --alert 'mem>50%' --alert-exec "cat >>'$ev'" \
        bb:1 sh -c 'mkdir -p /dev/shm; head -c 40000000 /dev/zero >/dev/shm/fill; sleep 1000' >/dev/null
    wait_for "grep -q firing '$ev' 2>/dev/null"
    jq -e '.rule == "mem>50%" and .value > 50 and (.message | test("of 67108864 bytes"))' "$ev"
}

@test "oom fires when the OOM killer kills a process of the container" {
    ev=$BATS_TEST_TMPDIR/events
    rt_run -d --name oomy --memory 16m --alert oom --alert-exec "cat >>'$ev'" \
        bb:1 sh -c 'mkdir -p /dev/shm; head -c 48000000 /dev/zero >/dev/shm/fill; rm -f /dev/shm/fill; sleep 1000' >/dev/null
    wait_for "grep -q firing '$ev' 2>/dev/null"
    jq -e '.rule == "oom" and .value >= 1' "$ev"
}

@test "bad alert options: one line, exit 125, no container" {
    before=$("$NRUN" ps -aq | wc -l)
    for r in 'restarts>3' 'restarts>x/1m' 'mem>80' 'mem>120%' 'lag_p99>fast' 'http_5xx>1%' 'unhealthy>1' 'bogus'; do
        run -125 "$NRUN" run -d --alert "$r" --alert-exec true bb:1 true
        [[ "$output" == *"--alert $r: expected"* ]]
        [ "$(echo "$output" | wc -l)" = 1 ]
    done
    run -125 "$NRUN" run --alert oom --alert-exec true bb:1 true
    [[ "$output" == *"needs -d"* ]]
    run -125 "$NRUN" run -d --alert oom bb:1 true
    [[ "$output" == *"--alert-exec CMD or --alert-webhook URL"* ]]
    run -125 "$NRUN" run -d --alert oom --alert-webhook file:///etc/passwd bb:1 true
    [[ "$output" == *"http:// or https://"* ]]
    [ "$("$NRUN" ps -aq | wc -l)" = "$before" ]
}

@test "hang fires when a worker is killed for a missing heartbeat, with its stack in the log" {
    node_app_image nd:hang hang <<'JS'
const http = require('http');
function spinTheWheelForever() { for (;;) {} }
http.createServer((req, res) => {
  if (req.url === '/hang') spinTheWheelForever();
  res.end('ok ' + process.pid);
}).listen(3000);
JS
    ev=$BATS_TEST_TMPDIR/events
    port=$(rt_free_port)
    rt_run -d --name stuck -p "127.0.0.1:$port:3000" --workers 1 --heartbeat-timeout 3s \
        --alert hang --alert-exec "cat >>'$ev'" nd:hang >/dev/null
    wait_for "nr_in_ns curl -sf --max-time 1 http://127.0.0.1:$port/ >/dev/null"
    nr_in_ns curl -s --max-time 1 "http://127.0.0.1:$port/hang" || true
    wait_for "grep -q firing '$ev' 2>/dev/null"
    jq -e '.rule == "hang" and .status == "firing" and .value == 1' "$ev"
    # --alert hang turned the hang report on: the stuck function is named in the log
    "$NRUN" logs stuck 2>&1 | grep -q 'at spinTheWheelForever (file:///app/hang.js:2:'
}

@test "http_5xx fires from the agent's request metrics; lag_p99 reads the event-loop delay" {
    node_app_image nd:err err <<'JS'
require('http').createServer((req, res) => {
  res.statusCode = req.url === '/bad' ? 503 : 200;
  res.end('x');
}).listen(3000);
JS
    ev=$BATS_TEST_TMPDIR/events
    port=$(rt_free_port)
    rt_run -d --name errs -p "127.0.0.1:$port:3000" --workers 1 --alert 'http_5xx>50%/1m' \
        --alert 'lag_p99>100000ms' --alert-exec "cat >>'$ev'" nd:err >/dev/null
    wait_for "nr_in_ns curl -sf --max-time 1 http://127.0.0.1:$port/ >/dev/null"
    # PID 1 sums the workers' counters; the lag p99 comes from the agent too
    wait_for "\"\$NRUN\" stats --json errs | jq -e '.http.requests >= 1 and (.workers[0].lag_p99_ms | type) == \"number\"' >/dev/null"
    for _ in $(seq 1 20); do nr_in_ns curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$port/bad"; done
    wait_for "grep -q firing '$ev' 2>/dev/null"
    jq -e 'select(.status == "firing") | .rule == "http_5xx>50%/1m" and .value > 50' "$ev"
    # an event-loop delay of 100 s never happened: that rule stayed quiet
    run grep -c 'lag_p99' "$ev"
    [ "$output" = 0 ]
}
