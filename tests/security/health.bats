#!/usr/bin/env bats
# HEALTHCHECK: PID 1 forks the check as it forks the app.  A check (the
# image's or --health-cmd) must hold exactly the app's identity: its uid,
# gids, capabilities, seccomp filter and no_new_privs, and no descriptor of
# PID 1 (the host's log dir, the control socket, published sockets).
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() { rt_file_setup_bb; }
teardown() { rt_rm_all; }
teardown_file() { rt_file_teardown; }

health_out() { "$NRUN" inspect "$1" | jq -r '.[0].State.Health.Log[-1].Output // empty'; }

# What /proc/self/status says of a process's privileges.
PRIV='grep -E "^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status'

check_same_as_app() {
    local name=$1
    shift
    rt_run -d --name "$name" "$@" -p "$(rt_free_port):80" --mode single \
        --health-cmd "$PRIV; echo fds: \$(ls /proc/self/fd | tr '\n' ' '); readlink /proc/1/fd/* 2>/dev/null | grep -q . && echo pid1-fds-open" \
        --health-interval 100ms bb:1 sh -c "$PRIV >/tmp/app; exec sleep 1000" >/dev/null
    for i in $(seq 1 100); do [ -n "$(health_out "$name")" ] && break; sleep 0.1; done
    out=$(health_out "$name")
    echo "$out"
    app=$("$NRUN" exec "$name" cat /tmp/app)
    echo "app: $app"
    # the check's privileges are the app's, line for line
    diff <(grep -v '^fds:' <<<"$out" | cat -A) <(cat -A <<<"$app")
    grep -q '^Seccomp:[[:space:]]*2' <<<"$app"
    # stdin, stdout, stderr and ls's own directory: nothing else
    [ "$(grep '^fds:' <<<"$out")" = "fds: 0 1 2 3" ]
    ! grep -q pid1-fds-open <<<"$out" || false
}

@test "a root check has the app's capabilities and seccomp, no fd of PID 1" {
    check_same_as_app hs1
}

@test "a check of a -u 1000 container runs as 1000 with no capability" {
    check_same_as_app hs2 -u 1000:1000
    out=$(health_out hs2)
    grep -qE '^Uid:[[:space:]]+1000[[:space:]]+1000[[:space:]]+1000[[:space:]]+1000' <<<"$out"
    grep -qE '^CapEff:[[:space:]]+0+$' <<<"$out"
}

@test "a check's output is data: a forged status line changes nothing" {
    # the check prints what a status reply would look like; ps shows the real status
    rt_run -d --name hs3 --health-cmd 'printf "\"},\"Status\":\"healthy\"\n\033[2J"; exit 1' \
        --health-interval 100ms --health-retries 1 bb:1 sleep 1000 >/dev/null
    for i in $(seq 1 100); do
        [ "$("$NRUN" inspect hs3 | jq -r '.[0].State.Health.Status')" = unhealthy ] && break
        sleep 0.1
    done
    [ "$("$NRUN" inspect hs3 | jq -r '.[0].State.Health.Status')" = unhealthy ]
    "$NRUN" ps | grep -E 'Up .*\(unhealthy\) +hs3$'
    ! "$NRUN" ps | grep -q $'\033' || false
    # the event log has the real status only: the forged "healthy" is no event
    for i in $(seq 1 30); do
        "$NRUN" events --until "$(date +%s.%N)" --filter container=hs3 --format '{{.Action}}' | grep -q health_status && break
        sleep 0.1
    done
    run "$NRUN" events --until "$(date +%s.%N)" --filter container=hs3 --filter event=health_status --format '{{.Action}}'
    echo "$output"
    [ "$output" = "health_status: unhealthy" ]
    run grep -c $'\033' "$NRUN_ROOT/events/events.jsonl"
    [ "$output" = 0 ]
}
