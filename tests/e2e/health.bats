#!/usr/bin/env bats
# HEALTHCHECK as docker runs it: the image's (or --health-* flags'), run by
# the container's PID 1 every interval; `nrun ps` shows (health: starting),
# (healthy), (unhealthy); `inspect` has .State.Health with the last results.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_bb
    # healthy once /tmp/ok exists; 200 ms between checks, 2 failures = unhealthy
    "$NRUN" __internal mkimage -t hc:1 --config '{"Cmd":["sleep","1000"],"Env":["PATH=/bin"],
        "Healthcheck":{"Test":["CMD-SHELL","test -e /tmp/ok && echo fine-$HOSTNAME"],"Interval":200000000,"Retries":2}}' \
        "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
    "$NRUN" __internal mkimage -t hc:none --config '{"Cmd":["sleep","1000"],"Env":["PATH=/bin"],
        "Healthcheck":{"Test":["NONE"]}}' "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
    "$NRUN" __internal mkimage -t hc:exec --config '{"Cmd":["sleep","1000"],"Env":["PATH=/bin"],
        "Healthcheck":{"Test":["CMD","sh","-c","echo \"$0;$1\"; exit 3","a $HOSTNAME","b"],"Retries":1}}' \
        "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
    "$NRUN" __internal mkimage -t hc:bad --config '{"Cmd":["sleep","1000"],"Env":["PATH=/bin"],
        "Healthcheck":{"Test":["CMD"]}}' "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
}

teardown() { rt_rm_all; }
teardown_file() { rt_file_teardown; }

# Wait until a command succeeds (up to $2 seconds, default 20).
wait_for() {
    local i
    for i in $(seq 1 $((${2:-20} * 10))); do
        eval "$1" && return 0
        sleep 0.1
    done
    echo "timed out waiting for: $1" >&2
    return 1
}

status_of() { "$NRUN" ps --format json | jq -r --arg n "$1" 'select(.Names == $n) | .Status'; }
health_of() { "$NRUN" inspect "$1" | jq -c '.[0].State.Health'; }

@test "image HEALTHCHECK: starting, unhealthy, healthy in ps and inspect" {
    rt_run -d --name h1 --health-start-period 1h hc:1 >/dev/null
    # inside the start period failures do not count
    wait_for '[ "$(health_of h1 | jq ".Log | length")" -ge 2 ]'
    [[ "$(status_of h1)" == Up*"(health: starting)" ]]
    h=$(health_of h1)
    [ "$(jq -r .Status <<<"$h")" = starting ]
    [ "$(jq -r .FailingStreak <<<"$h")" = 0 ]
    [ "$(jq -r '.Log[0].ExitCode' <<<"$h")" = 1 ]
    "$NRUN" exec h1 touch /tmp/ok
    wait_for '[ "$(health_of h1 | jq -r .Status)" = healthy ]'
    [[ "$(status_of h1)" == Up*"(healthy)" ]]
    # the table too
    "$NRUN" ps | grep -E '^[0-9a-f]{12} .*Up .*\(healthy\) +h1$'
    h=$(health_of h1)
    [ "$(jq -r '.Log[-1].ExitCode' <<<"$h")" = 0 ]
    [ "$(jq -r '.Log[-1].Output' <<<"$h")" = "fine-$("$NRUN" inspect h1 | jq -r '.[0].Config.Hostname')" ]
    jq -e '.Log[-1] | (.Start | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")) and (.End >= .Start)' <<<"$h"
    # at most the last 5 results
    wait_for '[ "$(health_of h1 | jq ".Log | length")" = 5 ]'
    sleep 0.5
    [ "$(health_of h1 | jq '.Log | length')" = 5 ]
    "$NRUN" exec h1 rm /tmp/ok
    wait_for '[ "$(health_of h1 | jq -r .Status)" = unhealthy ]'
    [[ "$(status_of h1)" == Up*"(unhealthy)" ]]
    [ "$(health_of h1 | jq -r .FailingStreak)" -ge 2 ]
    # each change is in the container's log
    "$NRUN" logs h1 >"$BATS_TEST_TMPDIR/log" 2>&1
    grep -q 'health: healthy -> unhealthy' "$BATS_TEST_TMPDIR/log"
    grep -q 'health: starting -> healthy' "$BATS_TEST_TMPDIR/log"
}

@test "without the start period a failing check makes it unhealthy after --health-retries" {
    rt_run -d --name h2 --health-retries 3 hc:1 >/dev/null
    wait_for '[ "$(health_of h2 | jq -r .Status)" = unhealthy ]'
    [ "$(health_of h2 | jq -r .FailingStreak)" -ge 3 ]
    [ "$(health_of h2 | jq '[.Log[] | select(.ExitCode == 0)] | length')" = 0 ]
}

@test "--health-cmd replaces the image's test, --no-healthcheck turns it off, NONE has none" {
    rt_run -d --name h3 --health-cmd 'echo from-flag; exit 0' --health-interval 100ms hc:1 >/dev/null
    wait_for '[ "$(health_of h3 | jq -r .Status)" = healthy ]'
    [ "$(health_of h3 | jq -r '.Log[0].Output')" = from-flag ]
    rt_run -d --name h4 --no-healthcheck hc:1 >/dev/null
    [ "$(health_of h4)" = null ]
    [ "$(status_of h4 | grep -c health)" = 0 ]
    [[ "$(status_of h4)" != *"("* ]]
    rt_run -d --name h5 hc:none >/dev/null
    [ "$(health_of h5)" = null ]
    # timing flags alone do not make a healthcheck
    rt_run -d --name h6 --health-interval 100ms bb:1 sleep 100 >/dev/null
    [ "$(health_of h6)" = null ]
    # the exec form ["CMD", arg...] runs without a shell
    rt_run -d --name h8 --health-interval 100ms hc:exec >/dev/null
    wait_for '[ "$(health_of h8 | jq -r .Status)" = unhealthy ]'
    [ "$(health_of h8 | jq -r '.Log[0].Output')" = 'a $HOSTNAME;b' ]
}

@test "a check that outlives --health-timeout is killed and counts as a failure" {
    rt_run -d --name h7 --health-cmd 'echo slow; sleep 60' --health-timeout 200ms --health-interval 100ms \
        --health-retries 1 bb:1 sleep 1000 >/dev/null
    wait_for '[ "$(health_of h7 | jq -r .Status)" = unhealthy ]'
    h=$(health_of h7)
    [ "$(jq -r '.Log[0].ExitCode' <<<"$h")" = -1 ]
    jq -e '.Log[0].Output | test("exceeded timeout")' <<<"$h"
    # the killed check's sleep is gone: only PID 1's app and maybe a current check
    n=$("$NRUN" top h7 2>/dev/null | grep -c 'sleep 60' || true)
    [ "$n" -le 1 ]
}

@test "bad healthcheck input: one line, exit 125, no container" {
    before=$("$NRUN" ps -aq | wc -l)
    run -125 "$NRUN" run -d --health-interval 10x bb:1 true
    [[ "$output" == *"--health-interval 10x"* ]]
    run -125 "$NRUN" run -d --health-retries -1 bb:1 true
    [[ "$output" == *"--health-retries"* ]]
    run -125 "$NRUN" run -d --health-cmd '' bb:1 true
    [[ "$output" == *"empty command"* ]]
    run -125 "$NRUN" run -d --no-healthcheck --health-cmd true bb:1 true
    [[ "$output" == *"conflicts"* ]]
    run "$NRUN" run -d hc:bad
    [ "$status" -ne 0 ]
    [[ "$output" == *"healthcheck test"* ]]
    [ "$(echo "$output" | wc -l)" = 1 ]
    [ "$("$NRUN" ps -aq | wc -l)" = "$before" ]
}
