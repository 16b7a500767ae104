#!/usr/bin/env bats
# The workers' log level, changed live (`nrun loglevel`, issue 15 item 4):
# console.* below it is dropped by the agent in every worker at once, in
# workers started later (scale, reload, restart), with no restart.
load ../lib/common
load ../lib/supervisor
bats_require_minimum_version 1.5.0

APPS=$REPO/tests/apps

teardown() { sv_cleanup; }

# log lines of the workers whose message is $1
lines_of() { jq -r --arg m "$1" 'select(.worker > 0 and .msg == $m) | .msg' "$SV_LOGS/container.log" | wc -l; }
# N requests to /log/TAG (round robin: every worker gets some)
hit() { for _ in $(seq 1 "$2"); do curl -sf "http://127.0.0.1:$PORT/log/$1" >/dev/null; done; }

@test "loglevel: warn drops debug/info/log in every worker at once, in new workers, across a reload" {
    sv_start_http -q --workers 2 -- node "$APPS/obs.js"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    pids_before=$(sv_stats | jq -c '[.workers[].pid]')
    hit a 4
    sv_wait '[ "$(lines_of error-a)" = 4 ]'
    [ "$(lines_of info-a)" = 4 ]
    [ "$(lines_of debug-a)" = 4 ]
    [ "$(sv_stats | jq -r .log_level)" = debug ]

    "$NRUN" loglevel --control "$SV_CTL" warn
    [ "$(sv_stats | jq -r .log_level)" = warn ]
    hit b 4
    sv_wait '[ "$(lines_of error-b)" = 4 ]'
    [ "$(lines_of warn-b)" = 4 ]
    [ "$(lines_of log-b)" = 0 ]
    [ "$(lines_of info-b)" = 0 ]
    [ "$(lines_of debug-b)" = 0 ]
    # no worker was restarted for it
    [ "$(sv_stats | jq -c '[.workers[].pid]')" = "$pids_before" ]
    grep -q '"msg":"log level: warn"' "$SV_LOGS/container.log"

    # a worker started later (scale up) gets the level from its start
    "$NRUN" scale --control "$SV_CTL" 3
    sv_wait '[ "$(sv_up_count)" = 3 ]'
    hit c 9
    sv_wait '[ "$(lines_of error-c)" = 9 ]'
    [ "$(jq -r 'select(.msg == "error-c") | .worker' "$SV_LOGS/container.log" | sort -u | wc -l)" = 3 ]
    [ "$(lines_of info-c)" = 0 ]

    # a rolling reload replaces every worker: the level stays
    "$NRUN" reload --control "$SV_CTL"
    [ "$(sv_stats | jq -r .log_level)" = warn ]
    hit d 6
    sv_wait '[ "$(lines_of error-d)" = 6 ]'
    [ "$(lines_of warn-d)" = 6 ]
    [ "$(lines_of info-d)" = 0 ]
    [ "$(lines_of log-d)" = 0 ]

    # and back down to debug: everything again
    "$NRUN" loglevel --control "$SV_CTL" debug
    hit e 3
    sv_wait '[ "$(lines_of debug-e)" = 3 ]'
    [ "$(lines_of info-e)" = 3 ]
    sv_stop
    [ "$SV_RC" = 0 ]
}

@test "loglevel: --log-level sets it from the start; a bad level is refused" {
    sv_start_http -q --workers 1 --log-level error -- node "$APPS/obs.js"
    hit f 2
    sv_wait '[ "$(lines_of error-f)" = 2 ]'
    [ "$(lines_of warn-f)" = 0 ]
    [ "$(sv_stats | jq -r .log_level)" = error ]
    run "$NRUN" loglevel --control "$SV_CTL" verbose
    [ "$status" -eq 2 ]
    [[ "$output" == *"verbose: expected debug, info, warn or error"* ]]
    # the control socket checks it too (a raw request)
    reply=$(python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"{\"cmd\":\"loglevel\",\"level\":\"x\\\"y\"}\n"); print(s.recv(4096).decode())' "$SV_CTL")
    [[ "$reply" == *'"ok":false'* ]]
    [ "$(sv_stats | jq -r .log_level)" = error ]
    run "$NRUN" supervise --log-level loud -- true
    [ "$status" -eq 2 ]
}
