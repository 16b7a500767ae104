#!/usr/bin/env bats
# The supervisor's side of health (nrun supervise runs the same PID 1 code):
# --on-unhealthy reload replaces the workers one at a time when the
# HEALTHCHECK fails; hang diagnostics (--hang-report): a cluster worker stuck
# in a JavaScript loop has its stack and a Node diagnostic report written to
# its log before the supervisor replaces it for a missing heartbeat.
load ../lib/common
load ../lib/supervisor

teardown() { sv_cleanup; }

app() {
    cat >"$BATS_TEST_TMPDIR/hang.js" <<'JS'
const http = require('http');
function spinTheWheelForever() { let n = 0; while (true) { n++; } }
http.createServer((req, res) => {
  if (req.url === '/hang') spinTheWheelForever();
  res.end('ok ' + process.pid);
}).listen(process.env.PORT);
JS
}

@test "a worker stuck in while(true) logs its stack (function name) and a report, then is replaced" {
    app
    sv_start_http --workers 1 --hang-report --heartbeat-timeout 3s -- node "$BATS_TEST_TMPDIR/hang.js"
    old=$(curl -sf "http://127.0.0.1:$PORT/" | cut -d' ' -f2)
    curl -s --max-time 1 "http://127.0.0.1:$PORT/hang" || true
    # replaced: a new pid answers
    sv_wait '[ "$(curl -sf --max-time 1 http://127.0.0.1:'"$PORT"'/ | cut -d" " -f2)" != "" ] &&
             [ "$(curl -sf --max-time 1 http://127.0.0.1:'"$PORT"'/ | cut -d" " -f2)" != "'"$old"'" ]' 30
    log=$SV_LOGS/container.log
    # the stack of the stuck loop, innermost first, from the hung pid, before the kill
    jq -r --argjson p "$old" 'select(.pid == $p and .stream == "stderr") | .msg' "$log" >"$BATS_TEST_TMPDIR/err"
    grep -q "^nrun: hang: the event loop of pid $old is blocked for [0-9]* ms; JavaScript stack:" "$BATS_TEST_TMPDIR/err"
    grep -A1 '^nrun: hang: the event loop' "$BATS_TEST_TMPDIR/err" | tail -1 | grep -q "at spinTheWheelForever (file://$BATS_TEST_TMPDIR/hang.js:2:"
    # a Node diagnostic report (process.report), without the environment
    report=$(grep '^nrun: hang: diagnostic report ' "$BATS_TEST_TMPDIR/err" | sed 's/^nrun: hang: diagnostic report //')
    jq -e --argjson p "$old" '.header.processId == $p and (.javascriptStack.stack | tostring | test("spinTheWheelForever"))' <<<"$report"
    jq -e 'has("environmentVariables") | not' <<<"$report"
    # the order: stack, then the supervisor's kill
    first_stack=$(grep -n 'nrun: hang: the event loop' "$log" | head -1 | cut -d: -f1)
    kill_line=$(grep -n "worker 1 (pid $old) sent no heartbeat" "$log" | head -1 | cut -d: -f1)
    [ -n "$first_stack" ] && [ -n "$kill_line" ] && [ "$first_stack" -lt "$kill_line" ]
    sv_stop
}

@test "without --hang-report no watch thread runs and nothing is reported" {
    app
    sv_start_http --workers 1 --heartbeat-timeout 2s -- node "$BATS_TEST_TMPDIR/hang.js"
    pid=$(curl -sf "http://127.0.0.1:$PORT/" | cut -d' ' -f2)
    # the agent was not asked to watch
    ! tr '\0' '\n' <"/proc/$pid/environ" | grep -q '^NRUN_HANG_MS=' || false
    curl -s --max-time 1 "http://127.0.0.1:$PORT/hang" || true
    sv_wait "grep -q 'worker 1 (pid $pid) sent no heartbeat' '$SV_LOGS/container.log'" 30
    ! grep -q 'nrun: hang:' "$SV_LOGS/container.log" || false
    sv_stop
}

@test "--on-unhealthy reload: a failing HEALTHCHECK replaces every worker, one at a time" {
    PORT=$(sv_free_port)
    flag=$BATS_TEST_TMPDIR/sick
    PORT=$PORT sv_start --workers 2 --health-cmd "test ! -e $flag" --health-interval 100ms --health-retries 2 \
        --on-unhealthy reload -- node "$REPO/tests/apps/hello.js"
    sv_wait_http "$PORT"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    sv_wait '[ "$(sv_stats | jq -r .health.Status)" = healthy ]'
    before=$(sv_stats | jq -c '[.workers[].pid] | sort')
    touch "$flag"
    sv_wait '[ "$(sv_stats | jq -r .health.Status)" = unhealthy ]'
    grep -q 'health: unhealthy, --on-unhealthy reload' "$SV_LOGS/container.log"
    sv_wait '[ "$(sv_stats | jq -r .reloading)" = false ] && [ "$(sv_up_count)" = 2 ]'
    after=$(sv_stats | jq -c '[.workers[] | select(.state == "up") | .pid] | sort')
    # no pid of before is left
    [ "$(jq -n --argjson a "$before" --argjson b "$after" '[$a[] | select(. as $x | $b | index($x))] | length')" = 0 ]
    rm "$flag"
    sv_wait '[ "$(sv_stats | jq -r .health.Status)" = healthy ]'
    sv_stop
    [ "$SV_RC" = 0 ]
}
