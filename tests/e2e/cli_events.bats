#!/usr/bin/env bats
# nrun events: the store's event log (runtime/events.h) as docker's events
# shows it -- actions in order, die's exitCode, --since/--until windows,
# --filter, --format, a follower seeing what happens after it started, oom.

bats_require_minimum_version 1.5.0
load ../lib/common
load ../lib/runtime

setup_file() { rt_file_setup_bb; }

teardown_file() { rt_file_teardown; }

now() { date +%s.%N; }

# events of container $1 between $2 and now, one "{{.Action}}" a line, joined by spaces
actions() {
    "$NRUN" events --since "$2" --until "$(now)" --filter "container=$1" --format '{{.Action}}' | tr '\n' ' '
}

@test "run -d, stop, rm: create start kill die stop destroy, in order, docker-shaped lines" {
    t0=$(now)
    id=$(rt_run -d --name ev1 --label team=web bb:1 sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done')
    "$NRUN" stop ev1 >/dev/null
    "$NRUN" rm ev1 >/dev/null
    [ "$(actions ev1 "$t0")" = "create start kill die stop destroy " ]
    # by id prefix too
    [ "$(actions "${id:0:12}" "$t0")" = "create start kill die stop destroy " ]
    run "$NRUN" events --since "$t0" --until "$(now)" --filter container=ev1 --filter event=die --format json
    [ "$status" -eq 0 ]
    jq -e --arg id "$id" '.status == "die" and .id == $id and .from == "bb:1" and .Type == "container"
        and .Action == "die" and .Actor.ID == $id and .Actor.Attributes.name == "ev1"
        and .Actor.Attributes.image == "bb:1" and .Actor.Attributes.exitCode == "0"
        and .Actor.Attributes.team == "web" and (.time | type == "number")
        and (.timeNano / 1000000000 | floor) == .time' <<<"$output"
    # docker's text form: TIME container ACTION ID (attributes sorted)
    run "$NRUN" events --since "$t0" --until "$(now)" --filter container=ev1 --filter event=kill
    [[ $output =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z\ container\ kill\ $id\ \(image=bb:1,\ name=ev1,\ signal=15,\ team=web\)$ ]]
}

@test "die carries the exit code; kill its signal; rename the old name; restart" {
    t0=$(now)
    rt_run --name ev2 bb:1 sh -c 'exit 3' || true
    run "$NRUN" events --since "$t0" --until "$(now)" --filter container=ev2 --filter event=die \
        --format '{{.Actor.Attributes.exitCode}}'
    [ "$output" = 3 ]
    "$NRUN" rename ev2 ev2b
    run "$NRUN" events --since "$t0" --until "$(now)" --filter event=rename \
        --format '{{.Actor.Attributes.oldName}} {{.Actor.Attributes.name}}'
    [ "$output" = "/ev2 ev2b" ]
    rt_run -d --name ev3 bb:1 sh -c 'trap "echo usr1" USR1; while :; do sleep 0.1; done' >/dev/null
    t1=$(now)
    "$NRUN" restart -t 1 ev3 >/dev/null
    [ "$(actions ev3 "$t1")" = "kill die stop start restart " ]
    t2=$(now)
    "$NRUN" kill -s USR1 ev3 >/dev/null
    "$NRUN" kill ev3 >/dev/null
    run "$NRUN" events --since "$t2" --until "$(now)" --filter container=ev3 --filter event=kill \
        --format '{{.Actor.Attributes.signal}}'
    [ "$(tr '\n' ' ' <<<"$output")" = "10 9 " ]
    "$NRUN" rm -f ev2b ev3 >/dev/null
}

@test "--since and --until cut the window; --filter type, event, label, image; bad input refused" {
    t0=$(now)
    "$NRUN" create --name win1 --label tier=a bb:1 true >/dev/null
    t1=$(now)
    "$NRUN" create --name win2 --label tier=b bb:1 true >/dev/null
    t2=$(now)
    q() { "$NRUN" events "$@" --format '{{.Actor.Attributes.name}}' | tr '\n' ' '; }
    [ "$(q --since "$t0" --until "$t1" --filter event=create)" = "win1 " ]
    [ "$(q --since "$t1" --until "$t2" --filter event=create)" = "win2 " ]
    [ "$(q --since "$t0" --until "$t2" --filter event=create)" = "win1 win2 " ]
    # RFC 3339 and durations name the same window
    since=$(date -u -d "@${t0%.*}" +%Y-%m-%dT%H:%M:%SZ)
    [ "$(q --since "$since" --until "$t2" --filter event=create --filter label=tier)" = "win1 win2 " ]
    [ "$(q --since 10m --until "$t2" --filter event=create --filter label=tier)" = "win1 win2 " ]
    [ "$(q --since "$t0" --until "$t2" --filter label=tier=b)" = "win2 " ]
    [ "$(q --since "$t0" --until "$t2" --filter label=tier=b --filter label=nope)" = "" ]
    [ "$(q --since "$t0" --until "$t2" --filter type=container --filter event=create --filter image=bb)" = "win1 win2 " ]
    [ "$(q --since "$t0" --until "$t2" --filter type=image)" = "" ]
    run "$NRUN" events --filter bogus=1
    [ "$status" -eq 2 ]
    [[ $output == *"--filter bogus=1"* ]]
    run "$NRUN" events --since yesterday
    [ "$status" -eq 2 ]
    [[ $output == *"--since yesterday"* ]]
    run "$NRUN" events --since "$t2" --until "$t0"
    [ "$status" -eq 2 ]
    run "$NRUN" events --format table
    [ "$status" -eq 2 ]
    "$NRUN" rm win1 win2 >/dev/null
}

@test "a follower sees an event emitted after it started, and no other container's" {
    t0=$(now)
    "$NRUN" create --name fol1 bb:1 true >/dev/null
    out="$BATS_TEST_TMPDIR/follow"
    "$NRUN" events --since "$t0" --filter container=fol1 --filter container=fol2 --format '{{.Action}} {{.Actor.Attributes.name}}' \
        >"$out" 2>&1 &
    pid=$!
    # the replay is done (it is in the follow loop) once fol1's create is out
    for _ in $(seq 200); do grep -q "create fol1" "$out" && break; sleep 0.05; done
    grep -q "create fol1" "$out"
    "$NRUN" create --name other bb:1 true >/dev/null
    "$NRUN" create --name fol2 bb:1 true >/dev/null
    for _ in $(seq 400); do grep -q "create fol2" "$out" && break; sleep 0.05; done
    kill "$pid"
    wait "$pid" || true
    [ "$(cat "$out")" = "create fol1
create fol2" ]
    "$NRUN" rm fol1 fol2 other >/dev/null
}

@test "oom: a --memory-limited container that allocates past it: oom, then die 137" {
    t0=$(now)
    rt_run --name evoom --memory 16m bb:1 sh -c "x=\$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived" || true
    run "$NRUN" inspect -f '{{.State.OOMKilled}}' evoom
    [ "$output" = true ]
    [ "$(actions evoom "$t0")" = "create start oom die " ]
    run "$NRUN" events --since "$t0" --until "$(now)" --filter container=evoom --filter event=die \
        --format '{{.Actor.Attributes.exitCode}}'
    [ "$output" = 137 ]
    "$NRUN" rm evoom >/dev/null
}

@test "the log: one JSON object a line, 0600, a name with control characters escaped" {
    t0=$(now)
    "$NRUN" create --name esc --label $'note=a\nb"c' bb:1 true >/dev/null
    f="$NRUN_ROOT/events/events.jsonl"
    [ "$(stat -c %a "$f")" = 600 ]
    while IFS= read -r line; do jq -e . >/dev/null <<<"$line"; done <"$f"
    run "$NRUN" events --since "$t0" --until "$(now)" --filter container=esc --format '{{json .Actor.Attributes.note}}'
    [ "$output" = '"a\nb\"c"' ]
    "$NRUN" rm esc >/dev/null
}

@test "health: the monitor writes health_status: healthy / unhealthy on each change, event=health_status matches both" {
    t0=$(now)
    flag=/tmp/ok
    rt_run -d --name evh1 --health-cmd "test -e $flag" --health-interval 100ms --health-retries 2 \
        bb:1 sleep 1000 >/dev/null
    "$NRUN" exec evh1 touch "$flag"
    for _ in $(seq 150); do [[ "$(actions evh1 "$t0")" == *"health_status: healthy"* ]] && break; sleep 0.1; done
    "$NRUN" exec evh1 rm "$flag"
    for _ in $(seq 150); do [[ "$(actions evh1 "$t0")" == *"health_status: unhealthy"* ]] && break; sleep 0.1; done
    "$NRUN" rm -f evh1 >/dev/null
    run actions evh1 "$t0"
    echo "$output"
    # docker's: no event for "starting" (the status it begins with), one per change
    [[ "$output" == "create start health_status: healthy health_status: unhealthy "* ]]
    # docker's filter: event=health_status matches the prefix before ':'
    run "$NRUN" events --since "$t0" --until "$(now)" --filter container=evh1 --filter event=health_status \
        --format '{{.Action}}|{{.Actor.Attributes.name}}|{{.Type}}'
    [ "$output" = $'health_status: healthy|evh1|container\nhealth_status: unhealthy|evh1|container' ]
    run "$NRUN" events --since "$t0" --until "$(now)" --filter container=evh1 --filter 'event=health_status: unhealthy' \
        --format '{{.Action}}'
    [ "$output" = "health_status: unhealthy" ]
    # a prefix that is not a whole word before ':' does not match
    run "$NRUN" events --since "$t0" --until "$(now)" --filter container=evh1 --filter event=health --format '{{.Action}}'
    [ -z "$output" ]
}

@test "health: no healthcheck, no health event; nrun start brings them back" {
    t0=$(now)
    rt_run -d --name evh2 bb:1 sleep 1000 >/dev/null
    "$NRUN" create --name evh3 --health-cmd true --health-interval 100ms bb:1 sleep 1000 >/dev/null
    "$NRUN" start evh3 >/dev/null
    for _ in $(seq 150); do [[ "$(actions evh3 "$t0")" == *"health_status: healthy"* ]] && break; sleep 0.1; done
    sleep 1
    "$NRUN" rm -f evh2 evh3 >/dev/null
    run actions evh3 "$t0"
    echo "$output"
    [[ "$output" == *"start health_status: healthy "* ]]
    run actions evh2 "$t0"
    echo "$output"
    [[ "$output" != *health* ]]
}

@test "alerts: fired and resolved are 'alert' events with rule, state, value; --filter event=alert" {
    t0=$(now)
    rt_run -d --name eva1 --health-cmd 'test -e /tmp/ok' --health-interval 100ms --health-retries 1 \
        --alert unhealthy --alert-exec true bb:1 sleep 1000 >/dev/null
    q() { "$NRUN" events --since "$t0" --until "$(now)" --filter container=eva1 --filter event=alert \
        --format '{{.Actor.Attributes.rule}} {{.Actor.Attributes.state}} {{.Actor.Attributes.value}}' | tr '\n' ' '; }
    for _ in $(seq 150); do [[ "$(q)" == *"unhealthy firing 1"* ]] && break; sleep 0.1; done
    "$NRUN" exec eva1 touch /tmp/ok
    for _ in $(seq 150); do [[ "$(q)" == *"resolved"* ]] && break; sleep 0.1; done
    "$NRUN" rm -f eva1 >/dev/null
    run q
    echo "$output"
    [ "$output" = "unhealthy firing 1 unhealthy resolved 0 " ]
    run "$NRUN" events --since "$t0" --until "$(now)" --filter container=eva1 --filter event=alert --format json
    jq -e 'select(.Type == "container" and .Action == "alert" and .Actor.Attributes.name == "eva1")' <<<"${lines[0]}"
}

@test "--on-unhealthy reload: the turn to unhealthy is an event, the reload a log line, the container keeps running" {
    t0=$(now)
    rt_run -d --name evh4 --health-cmd 'test ! -e /tmp/sick' --health-interval 100ms --health-retries 2 \
        --on-unhealthy reload --mode cluster --workers 2 bb:1 sleep 1000 >/dev/null
    for _ in $(seq 150); do [[ "$(actions evh4 "$t0")" == *"health_status: healthy"* ]] && break; sleep 0.1; done
    "$NRUN" exec evh4 touch /tmp/sick
    for _ in $(seq 150); do [[ "$(actions evh4 "$t0")" == *"health_status: unhealthy"* ]] && break; sleep 0.1; done
    run "$NRUN" events --since "$t0" --until "$(now)" --filter container=evh4 --filter event=health_status --format '{{.Action}}'
    echo "$output"
    [ "$output" = $'health_status: healthy\nhealth_status: unhealthy' ]
    # PID 1 acted on it (its system log line in the container's log)
    id=$("$NRUN" inspect evh4 | jq -r '.[0].Id')
    for _ in $(seq 50); do grep -q 'health: unhealthy, --on-unhealthy reload' "$NRUN_ROOT/containers/$id/logs/container.log" && break; sleep 0.1; done
    grep -q 'health: unhealthy, --on-unhealthy reload' "$NRUN_ROOT/containers/$id/logs/container.log"
    [ "$("$NRUN" inspect evh4 | jq -r '.[0].State.Status')" = running ]
    "$NRUN" rm -f evh4 >/dev/null
}

@test "health: a foreground nrun run is its own monitor and writes health events too" {
    t0=$(now)
    "$NRUN" run --name evh5 --health-cmd 'test -e /tmp/ok' --health-interval 100ms bb:1 \
        sh -c 'touch /tmp/ok; while [ ! -e /tmp/done ]; do sleep 0.1; done' >/dev/null 2>&1 </dev/null &
    fg=$!
    for _ in $(seq 150); do [[ "$(actions evh5 "$t0")" == *"health_status: healthy"* ]] && break; sleep 0.1; done
    "$NRUN" exec evh5 touch /tmp/done || true
    wait "$fg"
    run actions evh5 "$t0"
    echo "$output"
    "$NRUN" rm -f evh5 >/dev/null
    [[ "$output" == "create start health_status: healthy die"* ]]
}
