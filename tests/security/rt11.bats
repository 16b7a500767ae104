#!/usr/bin/env bats
# Red-team round 11: run -d -i's stdin, the -t container log the host's
# monitor writes, --volumes-from, --link, --ip and networks' ipam, compose's
# deploy keys (see each test's comment).
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    rt_bb_image bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    # host-side: did anyone open this node while a command ran? (rt10's)
    gcc -O1 -Wall -o "$BATS_FILE_TMPDIR/openwatch" "$REPO/tests/security/probes/openwatch.c"
}
teardown() {
    rt_rm_all
    local sfx n
    sfx=$(printf %s "$NR_NETNS" | tail -c 6 | tr -dc a-z0-9)
    for n in ipa$sfx ipb$sfx lka$sfx lkb$sfx; do "$NRUN" network rm "$n" >/dev/null 2>&1 || true; done
}
teardown_file() { rt_file_teardown; }

# Found (high): the logs dir of a -t container is reachable from inside it
# (PID 1 holds it; a process with CAP_SYS_PTRACE opens /proc/1/fd/N), and the
# host-side monitor, as root and outside the container's device rules,
# opened whatever container.log was there at each (re)start and rotation:
# with CAP_MKNOD a node of the host's disk took the log's JSON (a FIFO held
# the monitor in open forever).  Now a container.log that is not a regular
# file is removed and made afresh, and only a regular file is opened.
@test "-t log: a device node the container plants as container.log is never opened or written by the host's monitor" {
    id=$(rt_run -dt --restart on-failure:2 --cap-add SYS_PTRACE --cap-add MKNOD --log-opt max-size=2k --log-opt max-file=20 bb:1 sh -c '
        if [ ! -e /tmp/planted ]; then
            n=0 # until the monitor has made the log
            while [ ! -e /tmp/planted ] && [ $n -lt 300 ]; do
                for f in /proc/1/fd/*; do
                    [ -f "$f/container.log" ] || continue
                    rm "$f/container.log" && mknod "$f/container.log" c 1 3 && touch /tmp/planted
                done
                n=$((n + 1)); sleep 0.1
            done
            [ -e /tmp/planted ] || echo no-logs-dir-reached
            exit 1
        fi
        i=0; while [ $i -lt 200 ]; do echo "second-run line $i"; i=$((i + 1)); done
        echo second-run-done
        sleep 600')
    d=$NRUN_ROOT/containers/$id/logs
    for _ in $(seq 300); do
        grep -qs second-run-done "$d/container.log" && break
        grep -qs no-logs-dir-reached "$d/container.log" && break
        sleep 0.1
    done
    ls -l "$d"
    grep -qs no-logs-dir-reached "$d/container.log" && skip "the logs dir was not reachable from the container here"
    grep -qs second-run-done "$d/container.log"
    # nothing but regular files, and the second run's lines in them
    [ -z "$(find "$d" -mindepth 1 ! -type f)" ]
    [ "$(stat -c %h "$d/container.log")" = 1 ]
    # and no line of it went to the node
    grep -qs '"msg":"second-run line 0"' "$d"/container.log*
}

# Found (high, older than the round): nrun logs read container.log and its
# rotated files by name in the same container-reachable logs dir, opened
# O_RDONLY: a FIFO planted there held `nrun logs` forever, a device node was
# opened (a watchdog armed) and read by root on the host (a host disk's
# blocks printed as the container's log).  Now only a regular file is opened.
@test "nrun logs: a device node the container plants among its log files is never opened; the real lines are still shown" {
    id=$(rt_run -d --cap-add SYS_PTRACE --cap-add MKNOD bb:1 sh -c '
        echo real-line
        for f in /proc/1/fd/*; do
            [ -f "$f/container.log" ] && mknod "$f/container.log.3" c 1 3 && mknod "$f/container.log.2" p
        done
        sleep 600')
    d=$NRUN_ROOT/containers/$id/logs
    for _ in $(seq 100); do [ -p "$d/container.log.2" ] && break; sleep 0.1; done
    [ -c "$d/container.log.3" ] || skip "the logs dir was not reachable from the container here"
    run timeout 20 "$BATS_FILE_TMPDIR/openwatch" "$d/container.log.3" "$NRUN" logs "$id"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = real-line ]
    [ "${lines[-1]}" = not-opened ]
}

# Held (pinned): --ip asks host-local for the address, which refuses the
# network's gateway, its network and broadcast addresses and another
# network's address; nothing is left of a refused run (no container, no
# lease), and the gateway stays the bridge's.
@test "--ip: the gateway, the network and broadcast addresses, another network's address are refused; nothing left" {
    sfx=$(printf %s "$NR_NETNS" | tail -c 6 | tr -dc a-z0-9)
    s=ipa$sfx t=ipb$sfx
    "$NRUN" network create --subnet 10.71.0.0/24 "$s" >/dev/null
    "$NRUN" network create --subnet 10.72.0.0/24 "$t" >/dev/null
    other=$(rt_run -d --network "$t" --ip 10.72.0.9 bb:1 sleep 600)
    before=$("$NRUN" ps -aq | sort)
    for ip in 10.71.0.1 10.71.0.0 10.71.0.255 10.72.0.9 10.72.0.1; do
        run rt_run --rm --network "$s" --ip "$ip" bb:1 true
        echo "$ip: $status $output"
        [ "$status" -ne 0 ]
        [ "$("$NRUN" ps -aq | sort)" = "$before" ]
    done
    run "$NRUN" network connect --ip 10.71.0.1 "$s" "$other"
    echo "$output"
    [ "$status" -ne 0 ]
    # no lease of a refused run (host-local's files: the address, named)
    [ -z "$(ls "$NRUN_ROOT/networks/ipam/$s" 2>/dev/null | grep -E '^10\.71\.')" ]
    ok=$(rt_run -d --network "$s" --ip 10.71.0.7 bb:1 sleep 600)
    [ "$("$NRUN" inspect "$ok" | jq -r --arg n "$s" '.[0].NetworkSettings.Networks[$n].IPAddress')" = 10.71.0.7 ]
    "$NRUN" rm -f "$ok" "$other" >/dev/null
    "$NRUN" network rm "$s" "$t" >/dev/null
}

# Held (pinned): --link's names reach /etc/hosts only as DNS names: a
# name or alias with a newline, a space or a '#' is refused before anything
# is made, and a link to a container of another network is refused.
@test "--link: an alias with a newline, a space or '#' is refused; a container on another network is refused" {
    sfx=$(printf %s "$NR_NETNS" | tail -c 6 | tr -dc a-z0-9)
    s=lka$sfx t=lkb$sfx
    "$NRUN" network create "$s" >/dev/null
    "$NRUN" network create "$t" >/dev/null
    c=$(rt_run -d --network "$s" --name "lk$sfx" bb:1 sleep 600)
    before=$("$NRUN" ps -aq | sort)
    for al in $'x\n10.0.0.1 evil' 'x evil' 'x#y' 'x:y' ''; do
        run rt_run --rm --network "$s" --link "lk$sfx:$al" bb:1 cat /etc/hosts
        echo "$status $output"
        [ "$status" -eq 125 ]
        [ "${#lines[@]}" -eq 1 ] # the name escaped in the error, no line of its own
        [ "$("$NRUN" ps -aq | sort)" = "$before" ]
    done
    run rt_run --rm --network "$t" --link "lk$sfx:db" bb:1 true
    echo "$output"
    [ "$status" -eq 125 ]
    [[ "$output" == *"not on network $t"* ]]
    run rt_run --rm --network "$s" --link "lk$sfx:db" bb:1 cat /etc/hosts
    [ "$status" -eq 0 ]
    [ "$(grep -c 'db$' <<<"$output")" = 1 ]
    "$NRUN" rm -f "$c" >/dev/null
    "$NRUN" network rm "$s" "$t" >/dev/null
}

# Held (pinned): run -d -i's stdin is a pipe whose write end only the
# host-side monitor holds: no process of the container has it.  The app
# may open its own stdin for writing (/proc/self/fd/0) and fill it; that
# reaches no one else, and stop and rm still end the container and its
# monitor.
@test "run -d -i: the stdin pipe's write end is in no container process; filling it from inside holds nothing up" {
    id=$(rt_run -d -i bb:1 sh -c 'sleep 600')
    pid=$("$NRUN" inspect "$id" | jq -r '.[0].State.Pid')
    procs=""
    for _ in $(seq 100); do
        procs=$(for c in $(rt_cgroup_dirs "$id"); do cat "$c/cgroup.procs" 2>/dev/null; done | sort -u)
        [ -n "$procs" ] && pgrep -P "$pid" >/dev/null && break
        sleep 0.1
    done
    # the app's stdin: a pipe
    app=$(for p in $procs; do [ "$(cat /proc/$p/comm)" = sleep ] && echo "$p"; done | head -1)
    [ -n "$app" ]
    in=$(readlink "/proc/$app/fd/0")
    [[ "$in" == pipe:* ]]
    # no fd of any container process on that pipe is open for writing
    seen=0
    for p in $procs; do
        for f in /proc/$p/fd/*; do
            [ "$(readlink "$f")" = "$in" ] || continue
            seen=$((seen + 1))
            flags=$(awk '/^flags:/ {print $2}' "/proc/$p/fdinfo/${f##*/}")
            [ $((8#$flags & 3)) -eq 0 ] || { echo "pid $p fd ${f##*/} writes $in"; false; }
        done
    done
    echo "readers: $seen"
    [ "$seen" -ge 1 ]
    # filled from inside: the writer blocks in the container, nothing else
    cpid=$(awk '/^NSpid/ {print $NF}' "/proc/$app/status")
    timeout 60 "$NRUN" exec "$id" sh -c "head -c 1048576 /dev/zero >/proc/$cpid/fd/0 2>/dev/null </dev/null & echo started"
    "$NRUN" exec "$id" sh -c 'exec 3>/proc/self/fd/0; echo opened'
    run timeout 60 "$NRUN" stop -t 1 "$id"
    [ "$status" -eq 0 ]
    run timeout 60 "$NRUN" rm "$id"
    [ "$status" -eq 0 ]
    [ ! -d "$NRUN_ROOT/containers/$id" ]
}

# Held (pinned): --volumes-from C:ro makes every mount it takes from C
# read-only (a named volume, a host bind, an anonymous volume, a bind whose
# path has a ':'), never nrun's own files of C (/etc/hosts) or its run dir;
# a path with a ',' is passed on as the same bind.
@test "--volumes-from C:ro: every mount taken read-only, none of nrun's own; a path with ',' the same bind" {
    h=$BATS_TEST_TMPDIR/h && mkdir -p "$h/plain" "$h/co:lon" "$h/com,ma"
    c=$(rt_run -d -v "rt11v:/a" -v "$h/plain:/b" -v /c --mount "type=bind,source=$h/co:lon,target=/d" \
        --add-host "evil.example:10.9.9.9" bb:1 sleep 600)
    run rt_run --rm --volumes-from "$c:ro" bb:1 sh -c '
        for d in /a /b /c /d; do touch $d/x 2>/dev/null && echo "wrote $d"; done
        grep -c evil.example /etc/hosts; ls -d /dev/.nrun/* 2>/dev/null | wc -l'
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *wrote* ]]
    [ "${lines[0]}" = 0 ]
    [ ! -e "$h/plain/x" ] && [ ! -e "$h/co:lon/x" ]
    # without :ro, C's own modes: all writable here
    run rt_run --rm --volumes-from "$c" bb:1 sh -c 'for d in /a /b /c /d; do touch $d/x && echo "wrote $d"; done'
    [ "${#lines[@]}" -eq 4 ]
    # a ',' in a path (C had it by -v): passed on as the same bind, read-only as C's
    c2=$(rt_run -d -v "$h/com,ma:/e:ro" bb:1 sleep 600)
    run rt_run --rm --volumes-from "$c2" bb:1 sh -c 'touch /e/x 2>/dev/null && echo wrote; grep " /e " /proc/mounts'
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *wrote* ]]
    [[ "$output" == *" /e "*"ro,"* ]]
    "$NRUN" rm -f "$c" "$c2" >/dev/null
    "$NRUN" volume rm rt11v >/dev/null 2>&1 || true
}

# Found (medium): a directory the container plants as container.log.1 in its
# logs dir (reached as above) made every rotation fail to move container.log
# away; the writer reopened the same file and counted from 0, so the log
# grew past --log-opt max-size without bound (the host's store filled).
# Now a file rotation cannot move is removed, and the limit holds.
@test "-t log: a directory planted as container.log.1 does not let the log grow past --log-opt max-size" {
    id=$(rt_run -dt --cap-add SYS_PTRACE --log-opt max-size=4k --log-opt max-file=2 bb:1 sh -c '
        n=0
        while [ ! -e /tmp/planted ] && [ $n -lt 300 ]; do
            for f in /proc/1/fd/*; do
                [ -f "$f/container.log" ] || continue
                mkdir -p "$f/container.log.1/keep" && touch /tmp/planted
            done
            n=$((n + 1)); sleep 0.1
        done
        [ -e /tmp/planted ] || echo no-logs-dir-reached
        i=0; while [ $i -lt 2000 ]; do echo "line $i of the flood"; i=$((i + 1)); done
        echo flood-done
        sleep 600')
    d=$NRUN_ROOT/containers/$id/logs
    for _ in $(seq 300); do
        grep -qs -e flood-done -e no-logs-dir-reached "$d/container.log" && break
        sleep 0.1
    done
    grep -qs no-logs-dir-reached "$d/container.log" && skip "the logs dir was not reachable from the container here"
    grep -qs flood-done "$d/container.log"
    ls -l "$d"
    [ "$(stat -c %s "$d/container.log")" -le 4096 ]
}

# Held (pinned): deploy.resources and restart_policy become run's flags as
# --flag=VALUE, so a value never becomes a flag of its own ("--privileged"
# is a bad --cpus); a negative, huge or non-numeric value is an error and
# no container is left; max_attempts that is not a count is refused.
@test "compose deploy: hostile resources values are errors, never flags; nothing left" {
    d=$BATS_TEST_TMPDIR/p && mkdir -p "$d"
    for lim in 'cpus: "--privileged"' 'memory: "-5"' 'memory: "99999999999999999999999"' 'cpus: "1e308"' \
        'pids: "--cap-add=ALL"'; do
        printf 'services:\n  a:\n    image: bb:1\n    command: ["true"]\n    deploy:\n      resources:\n        limits: {%s}\n' \
            "$lim" >"$d/compose.yaml"
        run -0 sh -c "cd '$d' && '$NRUN' compose config"
        run sh -c "cd '$d' && '$NRUN' compose -p rt11d up -d 2>&1"
        echo "$lim: $status $output"
        [ "$status" -ne 0 ]
        [ -z "$("$NRUN" ps -aq)" ]
        (cd "$d" && "$NRUN" compose -p rt11d down >/dev/null 2>&1) || true
    done
    printf 'services:\n  a:\n    image: bb:1\n    deploy:\n      restart_policy: {condition: on-failure, max_attempts: "--privileged"}\n' >"$d/compose.yaml"
    run sh -c "cd '$d' && '$NRUN' compose config 2>&1"
    [ "$status" -ne 0 ]
    [[ "$output" == *"services.a.deploy.restart_policy.max_attempts: expected a number"* ]]
}

# Found (high, older than the round, same cause as the -t log's): an alert
# is written into container.log by the host-side monitor, which opened that
# name O_WRONLY as it found it: a node the container planted there (with
# CAP_MKNOD, any device) was opened and written by root outside the
# container's device rules, a FIFO held the monitor.  Now only a regular
# file is opened.
@test "--alert: a device node the container plants as container.log is never opened by the host's monitor" {
    ev=$BATS_TEST_TMPDIR/events
    id=$(rt_run -d --cap-add SYS_PTRACE --cap-add MKNOD --memory 64m --alert 'mem>50%' \
        --alert-exec "cat >>'$ev'" bb:1 sh -c '
        n=0
        while [ ! -e /tmp/planted ] && [ $n -lt 300 ]; do
            for f in /proc/1/fd/*; do
                [ -f "$f/container.log" ] || continue
                rm "$f/container.log" && mknod "$f/container.log" c 1 3 && touch /tmp/planted
            done
            n=$((n + 1)); sleep 0.1
        done
        while [ ! -e /tmp/go ]; do sleep 0.1; done
        mkdir -p /dev/shm; head -c 40000000 /dev/zero >/dev/shm/fill; sleep 1000')
    d=$NRUN_ROOT/containers/$id/logs
    for _ in $(seq 300); do [ -c "$d/container.log" ] && break; sleep 0.1; done
    [ -c "$d/container.log" ] || skip "the logs dir was not reachable from the container here"
    pid=$("$NRUN" inspect "$id" | jq -r '.[0].State.Pid')
    # go, then until the alert has fired (its log line is written before the exec)
    run "$BATS_FILE_TMPDIR/openwatch" "$d/container.log" sh -c "
        touch /proc/$pid/root/tmp/go
        for _ in \$(seq 600); do grep -qs firing '$ev' && exit 0; sleep 0.1; done; exit 1"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = not-opened ]
}
