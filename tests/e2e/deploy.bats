#!/usr/bin/env bats
# nrun deploy / update / rollback / history (cli/deploy.c): a named container's
# published ports move to a new image with no failed request, under wrk
# keep-alive and Connection: close load run in this file's network namespace;
# a new image that never gets ready, or that crashes, is rolled back.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

# a node app whose answer names its version; $2: what it does instead; $4: a HEALTHCHECK
app_image() { # TAG VERSION [JS] [HEALTHCHECK-JSON]
    local js=${3:-"require('http').createServer((q, r) => r.end('$2\\n')).listen(3000)"}
    "$NRUN" __internal mkimage -t "$1" \
        --config "$(jq -nc --arg js "$js" --argjson hc "${4:-null}" \
            '{Env:["PATH=/usr/bin"], Cmd:["node","-e",$js], ExposedPorts:{"3000/tcp":{}}}
             + (if $hc then {Healthcheck:$hc} else {} end)')" \
        "$BATS_FILE_TMPDIR/node.tar" >/dev/null
}
# GET /health from inside the container: exit 0 on 200 (no shell in these images)
HC_JS="require('http').get('http://127.0.0.1:3000/health', r => process.exit(r.statusCode == 200 ? 0 : 1)).on('error', () => process.exit(1))"
HC=$(jq -nc --arg js "$HC_JS" '{Test:["CMD","node","-e",$js], Interval:200000000, Retries:2}')
# the same with a start period: failures in the first minute do not count (docker's rule)
HC_SLOW=$(jq -c '. + {StartPeriod:60000000000, StartInterval:200000000}' <<<"$HC")
# an app answering '/' with $2 whose /health is 200 only while $3 (JS, t = seconds since start) holds
health_app() { # TAG VERSION CONDITION [HEALTHCHECK]
    app_image "$1" "$2" "const t0 = Date.now(); require('http').createServer((q, r) => {
        const t = (Date.now() - t0) / 1000;
        if (q.url === '/health') { r.statusCode = ($3) ? 200 : 500; return r.end(); }
        r.end('$2\\n'); }).listen(3000)" "${4:-$HC}"
}

setup_file() {
    nr_make_root
    rt_node_tar "$BATS_FILE_TMPDIR/node.tar"
    app_image app:1 v1
    app_image app:2 v2
    app_image app:bad bad "setInterval(() => {}, 1000)"              # never listens
    app_image app:crash crash "process.exit(3)"                      # every worker crashes
    health_app app:warm v2 "t > 3" "$HC_SLOW" # healthy only after 3 s, its port accepts at once
    health_app app:sick v2 "t < 4"     # healthy, then unhealthy after 4 s
    health_app app:never v2 "false"    # never healthy
    app_image app:env env "require('http').createServer((q, r) => r.end((process.env.GREETING || 'none') + '\\n')).listen(3000)"
    # of two workers, the one with the even id listens 3 s late
    app_image app:late v2 "setTimeout(() => require('http').createServer((q, r) => r.end('v2\\n')).listen(3000),
        process.env.NODE_UNIQUE_ID % 2 ? 0 : 3000)"
    for v in 2 3; do
        app_image app:log$v v$v "console.log('v$v up'); require('http').createServer((q, r) => r.end('v$v\\n')).listen(3000)"
    done
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

# Under load (load_start before), `nrun deploy "$3"...` fails with output
# matching *$1* (a glob): the load saw no failure, $2 still serves, and only the
# old container is left.
deploy_refused_under_load() {
    local want=$1 serving=$2
    shift 2
    run "$NRUN" deploy "$@"
    echo "$output" >&2
    [ "$status" -ne 0 ]
    [[ "$output" == *$want* ]]
    load_check
    [ "$(get)" = "$serving" ]
    [ "$("$NRUN" ps -aq | wc -l)" -eq 1 ]
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
    deploy_refused_under_load "did not become ready" v1 --ready-timeout 2s web app:bad
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

health_of() { "$NRUN" inspect "$1" | jq -r '.[0].State.Health.Status'; }

@test "deploy: with a HEALTHCHECK, ready means healthy (not only accepting); unhealthy or still starting at --ready-timeout is rolled back" {
    start_web app:1
    # app:warm accepts at once but is healthy only after 3 s: the switch waits for it
    run "$NRUN" deploy --watch 0 web app:warm
    echo "$output" >&2
    [ "$status" -eq 0 ]
    [[ "$output" == *"its HEALTHCHECK is healthy"* ]]
    [ "$(health_of web)" = healthy ]
    [ "$(get)" = v2 ]
    # never healthy: rolled back as soon as it is unhealthy (well before the timeout), saying so
    load_start 6
    deploy_refused_under_load "did not become ready: its HEALTHCHECK turned unhealthy" v2 --ready-timeout 5m web app:never
    # a start period longer than --ready-timeout: still starting, rolled back at the timeout
    run "$NRUN" deploy --ready-timeout 2s --health-start-period 1h web app:never
    echo "$output" >&2
    [ "$status" -ne 0 ]
    [[ "$output" == *"not ready within 2000 ms: its HEALTHCHECK is still starting"* ]]
    [ "$("$NRUN" ps -aq | wc -l)" -eq 1 ]
    run "$NRUN" history web
    [[ "$output" == *"app:never"*"rolled back"*"app:never"*"rolled back"* ]]
}

@test "deploy: without a HEALTHCHECK, ready means every worker listens (not only the first)" {
    start_web app:1
    run "$NRUN" deploy --watch 0 web app:late
    echo "$output" >&2
    [ "$status" -eq 0 ]
    [[ "$output" == *"no HEALTHCHECK: its workers listen"* ]]
    run "$NRUN" stats --json web
    echo "$output" >&2
    [ "$(jq '[.workers[] | select(.worker > 0 and .state == "up")] | length' <<<"$output")" -eq 2 ]
    [ "$(get)" = v2 ]
}

@test "deploy --watch: a revision that turns unhealthy after the switch is rolled back under load, 0 failed requests" {
    start_web app:1
    load_start 12
    sleep 1
    # healthy for 4 s, then its /health fails: unhealthy within the watch
    deploy_refused_under_load 'failed within --watch: its HEALTHCHECK turned unhealthy*rolled back' v1 --watch 60s web app:sick
    [[ "$output" == *"revision 2 serves the ports"* ]]
    "$NRUN" ps --format '{{.Names}}' | grep -qx web
    [ "$(dnat_count)" -eq 1 ]
    run "$NRUN" history web
    [[ "$output" == *"app:sick"*"rolled back"*"unhealthy"* ]]
}

@test "deploy takes run's flags as overrides (env, label, memory, health); the next deploy keeps them; a bad one starts nothing" {
    start_web app:1
    run "$NRUN" deploy --watch 0 -e GREETING=hi --label team=blue -m 256m \
        --health-test "$(jq -nc --arg js "$HC_JS" '["CMD","node","-e",$js]')" --health-interval 200ms web app:env
    echo "$output" >&2
    [ "$status" -eq 0 ]
    [[ "$output" == *"its HEALTHCHECK is healthy"* ]]
    [ "$(get)" = hi ]
    "$NRUN" inspect web >"$BATS_TEST_TMPDIR/i.json"
    [ "$(jq -r '.[0].Config.Labels.team' "$BATS_TEST_TMPDIR/i.json")" = blue ]
    [ "$(jq -r '.[0].Config.Labels["org.nrun.revision"]' "$BATS_TEST_TMPDIR/i.json")" = 2 ]
    [ "$(jq -r '.[0].HostConfig.Memory' "$BATS_TEST_TMPDIR/i.json")" = 268435456 ]
    # the next deploy starts from the serving one's flags: the overrides stay; -e by key
    run "$NRUN" deploy --watch 0 -e GREETING=hello web app:env
    [ "$status" -eq 0 ]
    [ "$(get)" = hello ]
    "$NRUN" inspect web >"$BATS_TEST_TMPDIR/i.json"
    [ "$(jq -r '.[0].Config.Labels.team' "$BATS_TEST_TMPDIR/i.json")" = blue ]
    [ "$(jq -r '.[0].Config.Labels["org.nrun.revision"]' "$BATS_TEST_TMPDIR/i.json")" = 3 ]
    [ "$(jq -r '.[0].HostConfig.Memory' "$BATS_TEST_TMPDIR/i.json")" = 268435456 ]
    [ "$(jq '[.[0].Config.Env[] | select(startswith("GREETING="))] | length' "$BATS_TEST_TMPDIR/i.json")" -eq 1 ]
    # refused by run's own parser before anything starts; flags a deploy sets itself are not taken
    run "$NRUN" deploy -m 1k web app:2
    echo "$output" >&2
    [ "$status" -eq 2 ]
    [[ "$output" == *"--memory 1k"* ]]
    for f in --name=x -d -t --rm --cidfile=/tmp/x; do
        run "$NRUN" deploy "$f" web app:2
        [ "$status" -eq 2 ]
        [[ "$output" == *"unknown option"* ]]
    done
    [ "$("$NRUN" ps -aq | wc -l)" -eq 1 ]
    [ "$(get)" = hello ]
    run "$NRUN" history web
    [ "$(grep -c . <<<"$output")" -eq 4 ] # a header and revisions 1-3: the refused ones left no trace
    # the help lists run's flags
    run "$NRUN" deploy --help
    [[ "$output" == *"--env-file"* && "$output" == *"--health-cmd"* && "$output" == *"--volume"* ]]
    run grep -E -- '^ +(-., )?--(cidfile|detach|name|rm|tty|interactive) ' <<<"$output"
    [ "$status" -eq 1 ]
}

@test "deploy: random host ports (-p CTR, -P) stay the same across deploys" {
    for flags in "-p 3000" "-P"; do
        # shellcheck disable=SC2086
        "$NRUN" run -d --name web --workers 1 $flags app:1 >/dev/null
        PORT=$("$NRUN" port web 3000 | sed -n 's/.*://p' | head -1)
        [ -n "$PORT" ]
        wait_v v1
        run "$NRUN" deploy --watch 0 web app:2
        echo "$output" >&2
        [ "$status" -eq 0 ]
        [ "$("$NRUN" port web 3000 | sed -n 's/.*://p' | head -1)" = "$PORT" ]
        [ "$(get)" = v2 ]
        run "$NRUN" rollback --watch 0 web
        [ "$status" -eq 0 ]
        [ "$("$NRUN" port web 3000 | sed -n 's/.*://p' | head -1)" = "$PORT" ]
        [ "$(get)" = v1 ]
        [ "$(dnat_count)" -eq 1 ]
        "$NRUN" rm -f web >/dev/null
        rm -f "$NRUN_ROOT"/deploy/web.*
    done
}

ip_of() { "$NRUN" inspect "$1" | jq -r '.[0].NetworkSettings.Networks[].IPAddress' | head -1; }
metrics_of() { nr_in_ns wget -qO- "http://$(ip_of "$1"):9100/metrics"; }

@test "deploy --canary: /metrics, logs and events tell the two revisions apart" {
    PORT=$(rt_free_port)
    "$NRUN" run -d --name web --workers 1 --metrics 9100 -p "$PORT:3000" app:1 >/dev/null
    wait_v v1
    run "$NRUN" deploy --watch 0 web app:log2
    [ "$status" -eq 0 ]
    run "$NRUN" deploy --canary 50% web app:log3
    echo "$output" >&2
    [ "$status" -eq 0 ]
    # traffic to both, then a scrape of each while the canary holds
    for _ in $(seq 40); do get; done | sort -u | tr '\n' ' ' | grep -qx 'v2 v3 '
    metrics_of web >"$BATS_TEST_TMPDIR/m2"
    # the agent reports its request counts in batches (about once a second)
    for _ in $(seq 50); do
        metrics_of web-r3 >"$BATS_TEST_TMPDIR/m3"
        grep -q '^http_requests_total{revision="3",worker="1",method="GET",code="200"} [1-9]' "$BATS_TEST_TMPDIR/m3" && break
        sleep 0.2
    done
    grep -q '^nrun_workers{revision="2"} 1$' "$BATS_TEST_TMPDIR/m2"
    grep -q '^nrun_workers{revision="3"} 1$' "$BATS_TEST_TMPDIR/m3"
    grep -q '^http_requests_total{revision="3",worker="1",method="GET",code="200"} [1-9]' "$BATS_TEST_TMPDIR/m3"
    # every sample of each carries its revision, none the other's
    [ "$(grep -v '^#' "$BATS_TEST_TMPDIR/m2" | grep -vc 'revision="2"')" -eq 0 ]
    [ "$(grep -v '^#' "$BATS_TEST_TMPDIR/m3" | grep -vc 'revision="3"')" -eq 0 ]
    # the log lines: revision as a field
    "$NRUN" logs --json web-r3 >"$BATS_TEST_TMPDIR/l3"
    grep -q '"msg":"v3 up"' "$BATS_TEST_TMPDIR/l3"
    [ "$(jq -r .revision "$BATS_TEST_TMPDIR/l3" | sort -u)" = 3 ]
    "$NRUN" logs --json web >"$BATS_TEST_TMPDIR/l2"
    grep -q '"msg":"v2 up"' "$BATS_TEST_TMPDIR/l2"
    [ "$(jq -r .revision "$BATS_TEST_TMPDIR/l2" | sort -u)" = 2 ]
    # the events: the org.nrun.revision label among the attributes
    run "$NRUN" events --since 10m --until "$(date +%s)" --filter event=start --format json
    echo "$output" >&2
    for r in 2 3; do
        [ "$(grep '^{' <<<"$output" | jq -r --arg n "web-r$r" 'select(.Actor.Attributes.name == $n) | .Actor.Attributes["org.nrun.revision"]' | tail -1)" = "$r" ]
    done
    run "$NRUN" deploy --abort web
    [ "$status" -eq 0 ]
}
