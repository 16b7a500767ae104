#!/usr/bin/env bats
# The supervisor's verbs (supervise, stats, top, scale, reload) as a pm2 user
# drives them, and the messages and counters issue 10 found wrong.

bats_require_minimum_version 1.5.0
load ../lib/common
load ../lib/supervisor

APPS=$REPO/tests/apps

teardown() { sv_cleanup; }

@test "supervise, top, stats (table and json), scale and reload; singular '1 worker'" {
    sv_start_http -q --workers 2 -- node "$APPS/hello.js"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    run "$NRUN" top --control "$SV_CTL"
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == WORKER*PID*STATE*UPTIME*RESTARTS ]]
    [ "${#lines[@]}" -eq 3 ]
    run "$NRUN" stats --control "$SV_CTL"
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == WORKER*CPU%*RSS*CONNS*LAG*REQ/S*ERR%*P99 ]]
    run "$NRUN" stats --format json --control "$SV_CTL"
    [ "$(jq '.workers | length' <<<"$output")" -eq 2 ]
    run "$NRUN" scale --control "$SV_CTL" 1
    [ "$status" -eq 0 ]
    sv_wait '[ "$(sv_stats | jq ".workers | length")" = 1 ]'
    grep -q 'scale: 2 -> 1 worker$' "$SV_DIR/err" || grep -q '"msg":"scale: 2 -> 1 worker"' "$SV_LOGS/container.log"
    run "$NRUN" reload --control "$SV_CTL"
    [ "$status" -eq 0 ]
    [ "$output" = "reloaded: 1 worker replaced" ]
    grep -q '"msg":"reload done: 1 worker replaced"' "$SV_LOGS/container.log"
    sv_stop
    [ "$SV_RC" = 0 ]
}

@test "a worker killed by a signal is reported by the signal's name (killed by SIGKILL)" {
    sv_start_http -q --workers 1 -- node "$APPS/hello.js"
    pid=$(sv_stats | jq '.workers[0].pid')
    kill -KILL "$pid"
    sv_wait "grep -q 'killed by SIGKILL' '$SV_LOGS/container.log'" 10
    ! grep -q 'killed by Killed' "$SV_LOGS/container.log" || false
    sv_stop
}

@test "--max-memory: a replacement counts in RESTARTS, as pm2 counts it" {
    sv_start_http -q --workers 1 --max-memory 120m -- node "$APPS/hello.js"
    [ "$(sv_stats | jq .restarts)" = 0 ]
    old=$(sv_stats | jq '.workers[0].pid')
    curl -sf "http://127.0.0.1:$PORT/grow"
    sv_wait '[ "$(sv_stats | jq ".workers | length")" = 1 ] && [ "$(sv_stats | jq ".workers[0].pid")" != "$old" ]' 15
    [ "$(sv_stats | jq .restarts)" = 1 ]
    [ "$(sv_stats | jq '.workers[0].restarts')" = 1 ]
    run "$NRUN" top --control "$SV_CTL"
    [[ ${lines[1]} =~ [[:space:]]1$ ]]
    sv_stop
    [ "$SV_RC" = 0 ]
}

@test "--log-max-files N keeps N files in all (the current one and N-1 rotated)" {
    for n in 1 3; do
        sv_start -q --log-max-size 4k --log-max-files "$n" -- \
            sh -c 'i=0; while [ $i -lt 400 ]; do echo "line $i of a log that has to rotate a few times"; i=$((i+1)); done'
        wait "$SV_PID"
        SV_PID=
        ls "$SV_LOGS"
        [ "$(ls "$SV_LOGS" | wc -l)" -eq "$n" ]
        [ -f "$SV_LOGS/container.log" ]
        [ ! -e "$SV_LOGS/container.log.$n" ]
        sv_cleanup
    done
}

@test "supervise: a script whose interpreter is missing names the interpreter, exit 127" {
    d=$(mktemp -d /tmp/nrun-cli-sv.XXXXXX)
    printf '#!/nonexistent/bash\necho hi\n' >"$d/app.sh"
    chmod +x "$d/app.sh"
    run -127 "$NRUN" supervise -q -- "$d/app.sh"
    rm -rf "$d"
    [ "$status" -eq 127 ]
    [[ $output == *"exec $d/app.sh: its interpreter /nonexistent/bash was not found"* ]]
}

@test "pm2 habits: scale +N / -N / max, monit --no-stream" {
    sv_start_http -q --workers 1 -- node "$APPS/hello.js"
    run "$NRUN" scale --control "$SV_CTL" +2
    [ "$status" -eq 0 ]
    sv_wait '[ "$(sv_up_count)" = 3 ]'
    run "$NRUN" scale --control "$SV_CTL" -1
    [ "$status" -eq 0 ]
    sv_wait '[ "$(sv_stats | jq ".workers | length")" = 2 ]'
    run "$NRUN" scale --control "$SV_CTL" -5
    [ "$status" -eq 2 ]
    [[ $output == *"that makes -3 workers"* ]]
    run "$NRUN" monit --no-stream --control "$SV_CTL"
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == WORKER*CPU%*RSS*CONNS*LAG*REQ/S*ERR%*P99 ]]
    [ "${#lines[@]}" -eq 3 ]
    sv_stop
    [ "$SV_RC" = 0 ]
}

@test "loglevel and dye: the verbs as a user drives them (tests/e2e/obs_*.bats test what they do)" {
    sv_start_http -q --workers 1 -- node "$APPS/hello.js"
    run "$NRUN" loglevel --control "$SV_CTL" warn
    [ "$status" -eq 0 ]
    [ "$(sv_stats | jq -r .log_level)" = warn ]
    run "$NRUN" loglevel --control "$SV_CTL" loud
    [ "$status" -eq 2 ]
    run "$NRUN" dye --control "$SV_CTL" --header X-User=42 --ttl 10m
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "--header x-user=42" ]]
    [[ ${lines[1]} == "expires in "* ]]
    run "$NRUN" dye --control "$SV_CTL" --off
    [ "$status" -eq 0 ]
    run "$NRUN" dye --help
    [ "$status" -eq 0 ]
    [[ $output == *"--header K=V"* ]]
    sv_stop
}
