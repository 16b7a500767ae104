#!/usr/bin/env bats
# nrun deploy / update / rollback / history (cli/deploy.c): a named container's
# published ports move to a new image with no failed request, under wrk
# keep-alive and Connection: close load run in this file's network namespace;
# a new image that never gets ready, or that crashes, is rolled back.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

# a node app whose answer names its version; $2: what it does instead
app_image() { # TAG VERSION [JS]
    local js=${3:-"require('http').createServer((q, r) => r.end('$2\\n')).listen(3000)"}
    "$NRUN" __internal mkimage -t "$1" \
        --config "$(jq -nc --arg js "$js" '{Env:["PATH=/usr/bin"], Cmd:["node","-e",$js]}')" \
        "$BATS_FILE_TMPDIR/node.tar" >/dev/null
}

setup_file() {
    nr_make_root
    rt_node_tar "$BATS_FILE_TMPDIR/node.tar"
    app_image app:1 v1
    app_image app:2 v2
    app_image app:bad bad "setInterval(() => {}, 1000)"              # never listens
    app_image app:crash crash "process.exit(3)"                      # every worker crashes
}
teardown_file() { rt_file_teardown; }
teardown() {
    "$NRUN" rm -f web >/dev/null 2>&1 || true
    for c in $("$NRUN" ps -aq 2>/dev/null); do "$NRUN" rm -f "$c" >/dev/null 2>&1 || true; done
    rm -f "$NRUN_ROOT"/deploy/web.* # each test's own history
}

get() { nr_in_ns wget -qO- "http://127.0.0.1:$PORT/" 2>/dev/null; }
wait_v() { for _ in $(seq 150); do [ "$(get)" = "$1" ] && return 0; sleep 0.1; done; return 1; }
start_web() { # IMAGE
    PORT=$(rt_free_port)
    "$NRUN" run -d --name web --workers 2 -p "$PORT:3000" "$1" >/dev/null
    wait_v v1
}
# wrk in this file's namespace, keep-alive and close at once, for $1 seconds: wrk-ka / wrk-close
load_start() {
    nr_in_ns wrk -t1 -c8 -d"$1"s "http://127.0.0.1:$PORT/" >"$BATS_TEST_TMPDIR/wrk-ka" 2>&1 &
    WRK1=$!
    nr_in_ns wrk -t1 -c8 -d"$1"s -H 'Connection: close' "http://127.0.0.1:$PORT/" >"$BATS_TEST_TMPDIR/wrk-close" 2>&1 &
    WRK2=$!
}
# both runs: requests made, no socket error, no non-2xx
load_check() {
    wait "$WRK1" "$WRK2"
    for f in wrk-ka wrk-close; do
        cat "$BATS_TEST_TMPDIR/$f" >&2
        grep -q 'requests in' "$BATS_TEST_TMPDIR/$f"
        # (a `! cmd` line does not fail a bats test: errexit ignores it)
        if grep -qE 'Socket errors|Non-2xx' "$BATS_TEST_TMPDIR/$f"; then return 1; fi
    done
}

@test "deploy: v1 -> v2 under keep-alive and Connection: close load, 0 failed requests; the new one takes the name; history" {
    start_web app:1
    load_start 8
    sleep 1
    run "$NRUN" deploy --watch 1s web app:2
    echo "$output" >&2
    [ "$status" -eq 0 ]
    load_check
    [ "$(get)" = v2 ]
    "$NRUN" ps --format '{{.Names}}' | grep -qx web
    [ "$("$NRUN" ps -q | wc -l)" -eq 1 ]
    run "$NRUN" history web
    [[ "$output" == *"app:1"*"replaced"* ]]
    [[ "$output" == *"app:2"*"deployed"* ]]
    # rollback on demand, under load too
    load_start 8
    sleep 1
    run "$NRUN" rollback --watch 1s web
    echo "$output" >&2
    [ "$status" -eq 0 ]
    load_check
    [ "$(get)" = v1 ]
    # --to a revision, and update --image
    run "$NRUN" update --watch 0 --image app:2 web
    [ "$status" -eq 0 ]
    [ "$(get)" = v2 ]
    run "$NRUN" rollback --watch 0 --to 1 web
    [ "$status" -eq 0 ]
    [ "$(get)" = v1 ]
    run "$NRUN" rollback --to 99 web
    [ "$status" -ne 0 ]
    [[ "$output" == *"no revision 99"* ]]
    # the revisions' images stay tagged deploy/web:rN: untagged and pruned, revision 2 still comes back
    "$NRUN" images | awk '{print $1":"$2}' | grep -qx deploy/web:r2
    "$NRUN" rmi app:2 >/dev/null
    "$NRUN" image prune >/dev/null
    run "$NRUN" rollback --watch 0 --to 2 web
    echo "$output" >&2
    [ "$status" -eq 0 ]
    [ "$(get)" = v2 ]
    # only the last 5 revisions keep theirs
    [ "$("$NRUN" images | awk '{print $1":"$2}' | grep -c '^deploy/web:')" -eq 5 ]
    app_image app:2 v2
}

@test "deploy: an image that never gets ready is rolled back, the old one serves throughout" {
    start_web app:1
    load_start 5
    run "$NRUN" deploy --ready-timeout 2s web app:bad
    echo "$output" >&2
    [ "$status" -ne 0 ]
    [[ "$output" == *"did not become ready"* ]]
    load_check
    [ "$(get)" = v1 ]
    [ "$("$NRUN" ps -aq | wc -l)" -eq 1 ]
    run "$NRUN" history web
    [[ "$output" == *"app:bad"*"rolled back"* ]]
}

@test "deploy: an image whose workers crash-loop is rolled back with the reason" {
    start_web app:1
    run "$NRUN" deploy --ready-timeout 60s web app:crash
    echo "$output" >&2
    [ "$status" -ne 0 ]
    [[ "$output" == *"rolled back"* || "$output" == *"did not become ready"* ]]
    [ "$(get)" = v1 ]
    [ "$("$NRUN" ps -aq | wc -l)" -eq 1 ]
}

@test "deploy: bad input is a clear error; a corrupt revision history is named, never a crash" {
    run "$NRUN" deploy nosuch app:2
    [ "$status" -ne 0 ]
    [[ "$output" == *"nosuch"* ]]
    run "$NRUN" deploy web
    [ "$status" -ne 0 ]
    start_web app:1
    mkdir -p "$NRUN_ROOT/deploy"
    printf '{"revisions": [{"rev": "x"' >"$NRUN_ROOT/deploy/web.json"
    run "$NRUN" history web
    [ "$status" -eq 1 ]
    [[ "$output" == *"deploy/web.json:1:"* ]]
    printf '{"revisions": [{"rev": 1, "image": "--privileged", "result": "deployed"}]}' >"$NRUN_ROOT/deploy/web.json"
    run "$NRUN" rollback web
    [ "$status" -eq 1 ]
    [[ "$output" == *"not a revision history"* ]]
    rm "$NRUN_ROOT/deploy/web.json"
}

# the port's DNAT rules in this file's namespace (one per published container)
dnat_count() { nr_in_ns iptables-save -t nat | grep -c -- "--dport $PORT -j DNAT" || true; }
journal_step() { jq -r .step "$NRUN_ROOT/deploy/web.journal" 2>/dev/null; }

@test "deploy: kill -9 of nrun deploy after the switch (watching): the next ps reverts it, one revision serves, 0 failed requests" {
    start_web app:1
    load_start 8
    "$NRUN" deploy --watch 60s web app:2 2>/dev/null &
    dp=$!
    for _ in $(seq 300); do [ "$(journal_step)" = switch ] && [ "$(get)" = v2 ] && break; sleep 0.1; done
    [ "$(journal_step)" = switch ]
    kill -9 "$dp"
    wait "$dp" || true
    run "$NRUN" ps
    echo "$output" >&2
    [[ "$output" == *"reverting the deploy"* ]]
    [ ! -e "$NRUN_ROOT/deploy/web.journal" ]
    load_check
    [ "$(get)" = v1 ]
    [ "$(dnat_count)" -eq 1 ]
    [ "$("$NRUN" ps -aq | wc -l)" -eq 1 ]
    run "$NRUN" history web
    [[ "$output" == *"app:2"*"rolled back: the deploying nrun was killed"* ]]
}

@test "deploy: kill -9 of nrun deploy while it drains the old one: the next ps finishes it" {
    start_web app:1
    "$NRUN" deploy --watch 0 web app:2 2>/dev/null &
    dp=$!
    for _ in $(seq 600); do [ "$(journal_step)" = drain ] && break; sleep 0.02; done
    kill -9 "$dp"
    wait "$dp" || true
    # whether the kill came during the drain or after the end, the next command leaves one revision, v2, named web
    run "$NRUN" history web
    echo "$output" >&2
    "$NRUN" ps >/dev/null
    [ ! -e "$NRUN_ROOT/deploy/web.journal" ]
    [ "$(get)" = v2 ]
    [ "$(dnat_count)" -eq 1 ]
    for _ in $(seq 100); do [ "$("$NRUN" ps -aq | wc -l)" -eq 1 ] && break; sleep 0.1; done
    [ "$("$NRUN" ps -aq | wc -l)" -eq 1 ]
    "$NRUN" ps --format '{{.Names}}' | grep -qx web
}

@test "deploy --canary 50%: both revisions answer new connections; --promote under load (0 failed), --abort" {
    start_web app:1
    run "$NRUN" deploy --canary 50% web app:2
    echo "$output" >&2
    [ "$status" -eq 0 ]
    [[ "$output" == *"takes 50.0% of new connections"* ]]
    seen=$(for _ in $(seq 40); do get; done | sort -u | tr '\n' ' ')
    [ "$seen" = "v1 v2 " ]
    "$NRUN" ps --format '{{.Names}}' | grep -qx 'web-r[0-9]*'
    run "$NRUN" history web
    [[ "$output" == *"app:2"*"canary"* ]]
    run "$NRUN" deploy web app:1
    [ "$status" -eq 2 ]
    [[ "$output" == *"a canary of web is running"* ]]
    "$NRUN" ps >/dev/null # a held canary is not a killed deploy: left as it is
    [ -e "$NRUN_ROOT/deploy/web.journal" ]
    load_start 6
    sleep 1
    run "$NRUN" deploy --promote web
    echo "$output" >&2
    [ "$status" -eq 0 ]
    load_check
    seen=$(for _ in $(seq 20); do get; done | sort -u | tr '\n' ' ')
    [ "$seen" = "v2 " ]
    [ "$(dnat_count)" -eq 1 ]
    [ "$(nr_in_ns iptables-save -t nat | grep -c nrun-canary)" -eq 0 ]
    [ "$("$NRUN" ps -aq | wc -l)" -eq 1 ]
    "$NRUN" ps --format '{{.Names}}' | grep -qx web
    # a canary aborted: the old one alone again
    run "$NRUN" deploy --canary 30% web app:1
    [ "$status" -eq 0 ]
    run "$NRUN" deploy --abort web
    [ "$status" -eq 0 ]
    seen=$(for _ in $(seq 20); do get; done | sort -u | tr '\n' ' ')
    [ "$seen" = "v2 " ]
    [ "$(nr_in_ns iptables-save -t nat | grep -c nrun-canary)" -eq 0 ]
    [ "$("$NRUN" ps -aq | wc -l)" -eq 1 ]
    run "$NRUN" history web
    [[ "$output" == *"aborted"* ]]
    run "$NRUN" deploy --abort web
    [ "$status" -eq 2 ]
    [[ "$output" == *"no canary running"* ]]
}
