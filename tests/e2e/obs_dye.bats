#!/usr/bin/env bats
# Request dyeing (issue 15 item 5): `nrun dye` rules, the dye log, masking,
# --ttl, --off, workers started later.
load ../lib/common
load ../lib/supervisor
bats_require_minimum_version 1.5.0

APPS=$REPO/tests/apps

teardown() { sv_cleanup; }

dyelog() { "$NRUN" logs --dye --log-dir "$SV_LOGS"; }
dyed() { dyelog | jq -s --arg u "$1" '[.[] | select(.url == $u)] | length'; }

@test "dye: header, query, cookie and ip rules log matching requests in full, secrets masked; --off ends it" {
    sv_start_http -q --workers 2 -- node "$APPS/obs.js"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    "$NRUN" dye --control "$SV_CTL" --header X-User=42 --query debug=1 --cookie uid=7
    # matches, on both workers (round robin)
    for i in 1 2; do
        curl -sf -H 'X-User: 42' -H 'Authorization: Bearer s3cret-token' -b 'sid=s3cret-cookie' \
            "http://127.0.0.1:$PORT/log/h$i" >/dev/null
    done
    curl -sf "http://127.0.0.1:$PORT/status/201?debug=1" >/dev/null
    curl -sf -b 'a=b; uid=7' "http://127.0.0.1:$PORT/slow/50" >/dev/null
    # no match: another header value, another query value, no cookie
    curl -sf -H 'X-User: 43' "http://127.0.0.1:$PORT/log/nomatch" >/dev/null
    curl -sf "http://127.0.0.1:$PORT/status/202?debug=2" >/dev/null
    sv_wait '[ "$(dyelog | wc -l)" = 4 ]'
    sleep 0.5
    [ "$(dyelog | wc -l)" = 4 ]
    [ "$(dyed /log/nomatch)" = 0 ]
    rec=$(dyelog | jq -c 'select(.url == "/log/h1")')
    echo "$rec" | jq -e '.method == "GET" and .status == 200 and .duration_ms >= 0 and .bytes > 0'
    echo "$rec" | jq -e '.headers["x-user"] == "42" and .headers.authorization == "***" and .headers.cookie == "***"'
    # the console output the request produced, in order
    [ "$(echo "$rec" | jq -c .console)" = '["debug-h1","info-h1","log-h1","warn-h1","error-h1"]' ]
    [ "$(dyelog | jq -s '[.[] | select(.url | startswith("/log/h")) | .worker] | unique | length')" = 2 ]
    dyelog | jq -se '[.[] | select(.url == "/status/201?debug=1")][0].status == 201'
    dyelog | jq -se '[.[] | select(.url == "/slow/50")][0].duration_ms >= 50'
    ! dyelog | grep -q s3cret || false
    # the ordinary log is untouched and the console output is still there
    grep -q '"msg":"info-h1"' "$SV_LOGS/container.log"
    # the rules in force
    run "$NRUN" dye --control "$SV_CTL"
    [ "$status" -eq 0 ]
    [[ "$output" == *"--header x-user=42"* && "$output" == *"--query debug=1"* && "$output" == *"--cookie uid=7"* ]]

    # a worker started later gets the rules too
    "$NRUN" scale --control "$SV_CTL" 3
    sv_wait '[ "$(sv_up_count)" = 3 ]'
    sleep 1.2 # its first heartbeat brings it the rules
    for i in 1 2 3 4 5 6; do curl -sf -H 'X-User: 42' "http://127.0.0.1:$PORT/log/s$i" >/dev/null; done
    sv_wait '[ "$(dyelog | jq -s "[.[] | select(.url | startswith(\"/log/s\")) | .worker] | unique | length")" = 3 ]'

    "$NRUN" dye --control "$SV_CTL" --off
    [ -z "$("$NRUN" dye --control "$SV_CTL")" ]
    n=$(dyelog | wc -l)
    curl -sf -H 'X-User: 42' "http://127.0.0.1:$PORT/log/after-off" >/dev/null
    sleep 0.5
    [ "$(dyelog | wc -l)" = "$n" ]

    # --unmask shows the secret headers; --ip matches by client address
    "$NRUN" dye --control "$SV_CTL" --ip 127.0.0.0/8 --unmask
    curl -sf -H 'Authorization: Bearer visible' "http://127.0.0.1:$PORT/log/ip" >/dev/null
    sv_wait '[ "$(dyed /log/ip)" = 1 ]'
    dyelog | jq -se '[.[] | select(.url == "/log/ip")][0].headers.authorization == "Bearer visible"'
    "$NRUN" dye --control "$SV_CTL" --ip 10.0.0.0/8
    curl -sf "http://127.0.0.1:$PORT/log/ip2" >/dev/null
    sleep 0.5
    [ "$(dyed /log/ip2)" = 0 ]
    sv_stop
    [ "$SV_RC" = 0 ]
}

@test "dye: a dyed request's bytes are the bytes its client got, also for the second request on a keep-alive connection" {
    sv_start_http -q --workers 1 -- node "$APPS/obs.js"
    "$NRUN" dye --control "$SV_CTL" --header X-User=42
    # one connection, two requests: the second one's count starts where the first one's ended
    sizes=$(curl -sf -H 'X-User: 42' -o /dev/null -o /dev/null -w '%{num_connects} %{size_header} %{size_download}\n' \
        "http://127.0.0.1:$PORT/log/k1" "http://127.0.0.1:$PORT/status/203")
    echo "$sizes"
    [ "$(echo "$sizes" | awk '{n += $1} END {print n}')" = 1 ]
    sv_wait '[ "$(dyelog | wc -l)" = 2 ]'
    [ "$(dyelog | jq -c 'select(.url == "/log/k1") | .bytes')" = "$(echo "$sizes" | awk 'NR == 1 {print $2 + $3}')" ]
    [ "$(dyelog | jq -c 'select(.url == "/status/203") | .bytes')" = "$(echo "$sizes" | awk 'NR == 2 {print $2 + $3}')" ]
}

@test "dye: --ttl ends the rules by itself; bad rules are refused with the reason" {
    sv_start_http -q --workers 1 -- node "$APPS/obs.js"
    run "$NRUN" dye --control "$SV_CTL" --header X-A=1 --ttl 1s
    [[ "$output" == *"expires in"* ]]
    curl -sf -H 'X-A: 1' "http://127.0.0.1:$PORT/log/in-ttl" >/dev/null
    sv_wait '[ "$(dyed /log/in-ttl)" = 1 ]'
    sv_wait '[ -z "$("$NRUN" dye --control "$SV_CTL")" ]'
    grep -q '"msg":"dye rules expired (--ttl)"' "$SV_LOGS/container.log"
    curl -sf -H 'X-A: 1' "http://127.0.0.1:$PORT/log/after-ttl" >/dev/null
    sleep 0.5
    [ "$(dyed /log/after-ttl)" = 0 ]
    run "$NRUN" dye --control "$SV_CTL" --header 'Bad Key=1'
    [ "$status" -ne 0 ]
    [[ "$output" == *"bad rule"* ]]
    run "$NRUN" dye --control "$SV_CTL" --ip 10.0.0.0/33
    [ "$status" -ne 0 ]
    run "$NRUN" dye --control "$SV_CTL" --header X=$'a\nb'
    [ "$status" -ne 0 ]
    run "$NRUN" dye --control "$SV_CTL" --header novalue
    [ "$status" -eq 2 ]
    run "$NRUN" dye --control "$SV_CTL" --ttl 5m
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}
