#!/usr/bin/env bats
# The control socket: the host CLI talks only to the container's real PID 1.
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() { sec_file_setup_probes ctl:1 ctlsteal; }

teardown() { rt_rm_all; }

teardown_file() { rt_file_teardown; }

@test "control socket: a container process that steals PID 1's socket (CAP_SYS_PTRACE) cannot answer the CLI" {
    id=$(rt_run -d --cap-add SYS_PTRACE ctl:1 sh -c 'ctlsteal 20 >/tmp/steal.log 2>&1; sleep 100')
    for _ in $(seq 100); do "$NRUN" exec "$id" grep -q ready /tmp/steal.log 2>/dev/null && break; sleep 0.05; done
    run "$NRUN" exec "$id" cat /tmp/steal.log
    [[ "$output" == *"stole fd"* ]]
    refused=0
    for _ in $(seq 15); do
        run "$NRUN" stats "$id"
        echo "$status: $output"
        [[ "$output" != *FORGED* && "$output" != *4242* ]]
        if [ "$status" -ne 0 ]; then
            [[ "$output" == *"other than the container's init"* ]]
            refused=$((refused + 1))
        fi
        run "$NRUN" top --json "$id"
        [[ "$output" != *FORGED* ]]
        [ "$status" -eq 0 ] || refused=$((refused + 1))
    done
    # the thief did take connections (else this proved nothing)
    echo "refused: $refused"
    [ "$refused" -gt 0 ]
    # stop still stops it, whoever answers
    run "$NRUN" stop -t 2 "$id"
    [ "$status" -eq 0 ]
    run "$NRUN" ps -a --format json
    [[ "$output" == *Exited* ]]
    "$NRUN" rm -f "$id"
}

@test "control socket: the monitor's health poll takes no stolen-socket reply; no event is forged" {
    # the thief answers with a health Status that, copied unescaped, would be a
    # second event line; the monitor polls through the same checked call as stats
    t0=$(date +%s.%N)
    id=$(rt_run -d --cap-add SYS_PTRACE --health-cmd true --health-interval 100ms ctl:1 \
        sh -c 'ctlsteal 8 >/tmp/steal.log 2>&1; sleep 100')
    for _ in $(seq 100); do "$NRUN" exec "$id" grep -q ready /tmp/steal.log 2>/dev/null && break; sleep 0.05; done
    for _ in $(seq 100); do "$NRUN" exec "$id" grep -q answered /tmp/steal.log 2>/dev/null && break; sleep 0.1; done
    run "$NRUN" exec "$id" cat /tmp/steal.log
    echo "$output"
    [[ "$output" == *"stole fd"* ]]
    # it did answer (the monitor's polls: no CLI call was made), else this proved nothing
    [[ "$output" =~ answered\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 0 ]
    # the thief has let go: PID 1's own "healthy" comes through as one event
    for _ in $(seq 100); do
        "$NRUN" events --since "$t0" --until "$(date +%s.%N)" --filter container="$id" --format '{{.Action}}' |
            grep -qx 'health_status: healthy' && break
        sleep 0.1
    done
    "$NRUN" rm -f "$id" >/dev/null
    run "$NRUN" events --since "$t0" --until "$(date +%s.%N)" --filter container="$id" --format '{{.Action}}'
    echo "$output"
    [[ "$output" != *FORGED* ]]
    # only the actions the host writes, health_status once
    run grep -vxE 'create|start|kill|die|stop|destroy|health_status: healthy' <<<"$output"
    [ "$status" -eq 1 ]
    run "$NRUN" events --since "$t0" --until "$(date +%s.%N)" --filter container="$id" --format '{{.Action}}'
    [ "$(grep -cx 'health_status: healthy' <<<"$output")" = 1 ]
    # the log: one JSON object a line, none with the thief's word
    jq -e . "$NRUN_ROOT/events/events.jsonl" >/dev/null
    run grep -c FORGED "$NRUN_ROOT/events/events.jsonl"
    [ "$output" = 0 ]
}

@test "control socket: PID 1's own replies are accepted (stats, top, scale)" {
    id=$(rt_run -d ctl:1 sleep 100)
    run "$NRUN" stats "$id"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == WORKER* ]]
    [ "${#lines[@]}" -eq 2 ]
    "$NRUN" rm -f "$id"
}
