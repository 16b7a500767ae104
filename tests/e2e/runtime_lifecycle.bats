#!/usr/bin/env bats
# nrun run / ps / stop / kill / rm / exec / inspect on a busybox image.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() {
    nr_make_root
    rt_make_busybox_image
}

teardown_file() { rt_file_teardown; }

wait_ready() { # the app has set its traps
    for _ in $(seq 100); do "$NRUN" exec "$1" test -e /tmp/ready 2>/dev/null && return 0; sleep 0.05; done
    return 1
}

@test "run: foreground command output and its exit code" {
    run rt_run bb:1 sh -c 'echo hello; exit 7'
    [ "$status" -eq 7 ]
    [ "$output" = hello ]
}

@test "run: IMAGE shorthand without the run verb" {
    run "$NRUN" --root "$NRUN_ROOT" bb:1 echo short
    [ "$status" -eq 0 ]
    [ "$output" = short ]
    rt_rm_all
}

@test "run: image Env and Cmd, -e overrides, --env-file, -w, --entrypoint" {
    printf '# comment\nFROMFILE=yes\n\nIMG=file\n' >"$BATS_TEST_TMPDIR/env"
    run rt_run --rm -e A=1 --env-file "$BATS_TEST_TMPDIR/env" -e IMG=2 -w /tmp bb:1 sh -c 'echo $A $IMG $FROMFILE $(pwd) $PATH'
    [ "$status" -eq 0 ]
    [ "$output" = "1 2 yes /tmp /bin" ]
    run rt_run --rm --entrypoint echo bb:1 a b
    [ "$output" = "a b" ]
}

@test "run -w: a missing working directory is made (root's, 0755); one that cannot be entered is a chdir error, 126" {
    run rt_run --rm -u node -w /nonexistent/deep bb:1 sh -c 'pwd; stat -c "%a %u" /nonexistent /nonexistent/deep'
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '/nonexistent/deep\n755 0\n755 0')" ]
    run rt_run --rm -w /etc/passwd bb:1 pwd
    [ "$status" -eq 126 ]
    [ "$output" = "nrun: chdir /etc/passwd: ENOTDIR (Not a directory)" ]
    run rt_run --rm -t -w /etc/passwd/x bb:1 pwd
    [ "$status" -eq 126 ]
    [[ "$output" == *"chdir /etc/passwd/x: ENOTDIR"* ]]
}

@test "run --env-file: VAR=VAL or VAR (from here), comments, any length; a name with whitespace or a directory is an error" {
    f=$BATS_TEST_TMPDIR/env
    { printf '  # comment\n\n  LEAD=  v  \r\nFROMHOST\nUNSETHERE\nBIG='; head -c 20000 /dev/zero | tr '\0' x; echo; } >"$f"
    FROMHOST=here run rt_run --rm --env-file "$f" bb:1 sh -c 'echo "[$LEAD]" $FROMHOST ${#BIG} ${UNSETHERE-unset}'
    [ "$status" -eq 0 ]
    [ "$output" = "[  v  ] here 20000 unset" ]
    printf 'E1=one\nE2 = two\n' >"$f"
    run -125 rt_run --rm --env-file "$f" bb:1 true
    [ "$output" = "nrun: --env-file $f:2: variable name \"E2 \" contains whitespace" ]
    printf 'export E6=x\n' >"$f"
    run -125 rt_run --rm --env-file "$f" bb:1 true
    [[ "$output" == *"$f:1: variable name \"export E6\" contains whitespace" ]]
    run -125 rt_run --rm --env-file "$BATS_TEST_TMPDIR" bb:1 true
    [ "$output" = "nrun: --env-file $BATS_TEST_TMPDIR: EISDIR (Is a directory)" ]
}

@test "run: image Env < --env-file (in order) < -e, whatever the order of the flags" {
    printf 'X=file\nY=file\nZ=file1\nIMG=file\n' >"$BATS_TEST_TMPDIR/f1"
    printf 'Z=file2\n' >"$BATS_TEST_TMPDIR/f2"
    run rt_run --rm -e X=cli --env-file "$BATS_TEST_TMPDIR/f1" --env-file "$BATS_TEST_TMPDIR/f2" bb:1 sh -c 'echo $X $Y $Z $IMG'
    [ "$output" = "cli file file2 file" ]
}

@test "run: HOSTNAME defaults to the hostname; -e HOSTNAME=custom stays" {
    run rt_run --rm --name hn1 bb:1 sh -c 'echo $HOSTNAME; env | grep -c ^HOSTNAME='
    [ "$output" = "$(printf 'hn1\n1')" ]
    run rt_run --rm --name hn2 -e HOSTNAME=custom bb:1 sh -c 'echo $HOSTNAME $(hostname); env | grep -c ^HOSTNAME='
    [ "$output" = "$(printf 'custom hn2\n1')" ]
}

@test "run: the image's default command when none is given" {
    run rt_run --rm bb:1
    [ "$status" -eq 0 ]
}

@test "run: missing image and missing command fail with 125/127 and a message" {
    run rt_run --rm nosuch:1 true
    [ "$status" -eq 125 ]
    [[ "$output" == *nosuch* ]]
    run -127 rt_run --rm bb:1 /no/such/cmd
    [[ "$output" == *"/no/such/cmd"* ]]
}

@test "run: --user name and uid:gid, supplementary groups from /etc/group" {
    run rt_run --rm --user node bb:1 id
    [ "$output" = "uid=1000(node) gid=1000(node) groups=1000(node),2000(extra)" ]
    run rt_run --rm --user 1234:5678 bb:1 sh -c 'id -u; id -g'
    [ "${lines[0]}" = 1234 ]
    [ "${lines[1]}" = 5678 ]
    run rt_run --rm --user nobody bb:1 true
    [ "$status" -eq 125 ]
    [[ "$output" == *nobody*passwd* ]]
}

@test "run: hostname is the container name; names are unique" {
    run rt_run --name box1 bb:1 hostname
    [ "$output" = box1 ]
    run rt_run --name box1 bb:1 true
    [ "$status" -eq 125 ]
    [[ "$output" == *"already in use"* ]]
    "$NRUN" rm box1
}

@test "names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 characters, each refusal one line" {
    for n in "" -x .x _x "a b" a/b "a:b"; do
        run -125 rt_run --rm --name "$n" bb:1 true
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == "nrun: --name \"$n\": "* ]]
    done
    run -125 rt_run --rm --name "" bb:1 true
    [[ "$output" == *"cannot be empty"* ]]
    run -125 rt_run --rm --name -x bb:1 true
    [[ "$output" == *"must start with a letter or a digit"* ]]
    run -125 rt_run --rm --name "$(printf 'a%.0s' $(seq 300))" bb:1 true
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"300 characters, at most 128"* ]]
    # 128 is fine; a name too long for a hostname (63) leaves the short id as hostname
    long=$(printf 'b%.0s' $(seq 128))
    id=$(rt_run -d --name "$long" bb:1 hostname)
    for _ in $(seq 100); do "$NRUN" inspect "$id" | jq -e '.[0].State.Status == "exited"' >/dev/null && break; sleep 0.05; done
    [ "$("$NRUN" logs "$long")" = "${id:0:12}" ]
    "$NRUN" rm "$long"
    run rt_run --rm --name 9.a_b-c bb:1 hostname
    [ "$output" = 9.a_b-c ]
}

@test "names: of 4 concurrent runs with one --name exactly one gets it" {
    for i in 1 2 3 4; do
        "$NRUN" run --cidfile "$BATS_FILE_TMPDIR/cids/race$i" -d --name racer bb:1 sleep 100 >/dev/null 2>&1 &
    done
    wait
    [ "$("$NRUN" ps -a --format json | jq -r .Names | grep -cx racer)" -eq 1 ]
    "$NRUN" rm -f racer
}

@test "run: signals to a foreground nrun reach the app" {
    mkdir -p "$BATS_FILE_TMPDIR/cids"
    # nrun itself in the background (not a shell function), so the signal reaches it
    "$NRUN" run --cidfile "$BATS_FILE_TMPDIR/cids/sig" --rm bb:1 sh -c 'trap "echo TERM; exit 42" TERM USR1; echo ready; while :; do sleep 0.1; done' >"$BATS_TEST_TMPDIR/out" &
    pid=$!
    for _ in $(seq 100); do grep -q ready "$BATS_TEST_TMPDIR/out" && break; sleep 0.05; done
    kill -TERM $pid
    wait $pid || st=$?
    [ "${st:-0}" -eq 42 ]
    grep -q TERM "$BATS_TEST_TMPDIR/out"
}

@test "detached: -d prints the id, ps shows it, stop uses the image STOPSIGNAL, ps -a shows the exit" {
    id=$(rt_run -d --name d1 bb:1 sh -c 'trap "exit 5" USR1; touch /tmp/ready; while :; do sleep 0.1; done')
    [[ "$id" =~ ^[0-9a-f]{64}$ ]]
    wait_ready d1
    run "$NRUN" ps
    [[ "$output" == *"${id:0:12}"*"Up "*d1* ]]
    run "$NRUN" stop -t 5 d1
    [ "$status" -eq 0 ]
    run "$NRUN" ps
    [[ "$output" != *d1* ]]
    run "$NRUN" ps -a --format json
    echo "$output" | jq -e 'select(.Names=="d1") | .State.ExitCode == 5 and .State.Status == "exited"'
    run "$NRUN" inspect d1
    echo "$output" | jq -e '.[0].State.ExitCode == 5 and .[0].Spec.ociVersion == "1.0.2"'
    "$NRUN" rm d1
    [ ! -d "$NRUN_ROOT/containers/$id" ]
}

@test "stop: SIGKILL after the timeout when the app ignores the stop signal" {
    rt_run -d --name d2 bb:1 sh -c 'trap "" USR1 TERM; touch /tmp/ready; while :; do sleep 0.1; done' >/dev/null
    wait_ready d2
    run "$NRUN" stop -t 1 d2
    [ "$status" -eq 0 ]
    run "$NRUN" inspect d2
    echo "$output" | jq -e '.[0].State.ExitCode == 137'
    "$NRUN" rm d2
}

@test "kill -s and rm -f; rm refuses a running container without -f" {
    rt_run -d --name d3 bb:1 sh -c 'trap "exit 9" HUP; touch /tmp/ready; while :; do sleep 0.1; done' >/dev/null
    wait_ready d3
    run "$NRUN" rm d3
    [ "$status" -ne 0 ]
    [[ "$output" == *running* ]]
    "$NRUN" kill -s HUP d3
    for _ in $(seq 100); do "$NRUN" ps | grep -q d3 || break; sleep 0.05; done
    run "$NRUN" inspect d3
    echo "$output" | jq -e '.[0].State.ExitCode == 9'
    rt_run -d --name d4 bb:1 sleep 1000 >/dev/null
    run "$NRUN" rm -f d3 d4
    [ "$status" -eq 0 ]
    run "$NRUN" ps -a
    [[ "$output" != *d3* && "$output" != *d4* ]]
}

@test "signal names: one table for kill -s and an image's StopSignal" {
    "$NRUN" __internal mkimage -t bbalrm:1 \
        --config '{"Cmd":["sh"],"Env":["PATH=/bin"],"StopSignal":"SIGALRM"}' "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
    id=$(rt_run -d bbalrm:1 sh -c 'trap "exit 7" ALRM; trap "exit 8" USR2; touch /tmp/ready; while :; do sleep 0.1; done')
    wait_ready "$id"
    for s in "" SIG NOPE 0 65 RTMIN+31 "TERM "; do
        run "$NRUN" kill -s "$s" "$id"
        [ "$status" -eq 2 ]
        [[ "$output" == *"-s \"$s\": unknown signal"* ]]
    done
    run "$NRUN" kill --signal=sigUSR2 "$id"
    [ "$status" -eq 0 ]
    for _ in $(seq 100); do "$NRUN" inspect "$id" | jq -e '.[0].State.Status == "exited"' >/dev/null && break; sleep 0.05; done
    "$NRUN" inspect "$id" | jq -e '.[0].State.ExitCode == 8'
    "$NRUN" rm "$id"
    # the image's STOPSIGNAL SIGALRM: accepted, and what stop sends
    id=$(rt_run -d bbalrm:1 sh -c 'trap "exit 7" ALRM; touch /tmp/ready; while :; do sleep 0.1; done')
    wait_ready "$id"
    "$NRUN" stop -t 5 "$id"
    "$NRUN" inspect "$id" | jq -e '.[0].State.ExitCode == 7'
    "$NRUN" rm "$id"
}

@test "kill -s: every signal PID 1 does not handle itself reaches the app (supervisor, and -t's init)" {
    id=$(rt_run -d bb:1 sh -c 'for s in WINCH CONT ALRM PIPE URG TSTP QUIT 34 35 64; do trap "echo $s >> /tmp/got" $s; done
        touch /tmp/ready; while :; do sleep 0.1; done')
    wait_ready "$id"
    n=0
    for s in WINCH SIGCONT alrm PIPE URG TSTP QUIT 34 RTMIN+1 SIGRTMAX; do
        "$NRUN" kill -s "$s" "$id" >/dev/null
        n=$((n + 1))
        for _ in $(seq 100); do [ "$("$NRUN" exec "$id" sh -c 'cat /tmp/got 2>/dev/null' | wc -l)" -ge $n ] && break; sleep 0.05; done
    done
    run "$NRUN" exec "$id" cat /tmp/got
    [ "$output" = "$(printf 'WINCH\nCONT\nALRM\nPIPE\nURG\nTSTP\nQUIT\n34\n35\n64')" ]
    "$NRUN" rm -f "$id"
    rt_run --rm -t --name mt bb:1 sh -c 'trap "echo got-WINCH" WINCH; trap "exit 5" ALRM; touch /tmp/ready
        while :; do sleep 0.1; done' >"$BATS_TEST_TMPDIR/out" 2>&1 &
    pid=$!
    wait_ready mt
    "$NRUN" kill -s WINCH mt
    for _ in $(seq 100); do grep -q got-WINCH "$BATS_TEST_TMPDIR/out" && break; sleep 0.05; done
    "$NRUN" kill -s ALRM mt
    wait $pid || st=$?
    [ "${st:-0}" -eq 5 ]
    grep -q got-WINCH "$BATS_TEST_TMPDIR/out"
}

@test "kill -s STOP stops the app, not PID 1; CONT (forwarded by PID 1) resumes it" {
    id=$(rt_run -d bb:1 sh -c 'trap "echo cont >> /tmp/got" CONT; trap "exit 6" USR1; touch /tmp/ready
        while :; do sleep 0.1; done')
    wait_ready "$id"
    pid1=$(jq .pid "$NRUN_ROOT/containers/$id/state.json")
    app=$(pgrep -P "$pid1")
    "$NRUN" kill -s SIGSTOP "$id"
    for _ in $(seq 100); do grep -q 'State:.*T (stopped)' /proc/"$app"/status && break; sleep 0.05; done
    grep -q 'State:.*T (stopped)' /proc/"$app"/status
    ! grep -q 'State:.*T (stopped)' /proc/"$pid1"/status || false
    "$NRUN" kill -s 18 "$id"
    for _ in $(seq 100); do [ "$("$NRUN" exec "$id" sh -c 'cat /tmp/got 2>/dev/null')" = cont ] && break; sleep 0.05; done
    ! grep -q 'State:.*T (stopped)' /proc/"$app"/status || false
    # PID 1 was never stopped: a graceful stop (the image's SIGUSR1) still goes through it
    "$NRUN" stop -t 5 "$id"
    "$NRUN" inspect "$id" | jq -e '.[0].State.ExitCode == 6'
    "$NRUN" rm "$id"
}

@test "restart: on-failure:2 restarts twice, then records the exit" {
    id=$(rt_run -d --restart on-failure:2 bb:1 sh -c 'exit 3')
    for _ in $(seq 200); do
        "$NRUN" inspect "$id" | jq -e '.[0].State.Status == "exited" and .[0].State.RestartCount == 2' >/dev/null && break
        sleep 0.05
    done
    run "$NRUN" inspect "$id"
    echo "$output" | jq -e '.[0].State.RestartCount == 2 and .[0].State.ExitCode == 3'
    "$NRUN" rm "$id"
}

@test "restart: always restarts a clean exit; stop ends it for good" {
    id=$(rt_run -d --restart always bb:1 sh -c 'sleep 0.2')
    for _ in $(seq 200); do
        "$NRUN" inspect "$id" | jq -e '.[0].State.RestartCount >= 2' >/dev/null && break
        sleep 0.05
    done
    "$NRUN" inspect "$id" | jq -e '.[0].State.RestartCount >= 2'
    "$NRUN" stop -t 2 "$id"
    sleep 0.5
    run "$NRUN" inspect "$id"
    echo "$output" | jq -e '.[0].State.Status == "exited"'
    n=$(echo "$output" | jq '.[0].State.RestartCount')
    sleep 0.5
    "$NRUN" inspect "$id" | jq -e ".[0].State.Status == \"exited\" and .[0].State.RestartCount == $n"
    "$NRUN" rm "$id"
}

@test "state: a container whose init and monitor died is shown exited, never running" {
    id=$(rt_run -d bb:1 sleep 1000)
    pid=$(jq .pid "$NRUN_ROOT/containers/$id/state.json")
    mon=$(jq .monitor_pid "$NRUN_ROOT/containers/$id/state.json")
    kill -9 "$mon"
    kill -9 "$pid"
    for _ in $(seq 100); do [ -e /proc/$pid ] || break; sleep 0.05; done
    run "$NRUN" ps -a
    [[ "$output" == *"${id:0:12}"*Exited* ]]
    run "$NRUN" ps
    [[ "$output" != *"${id:0:12}"* ]]
    "$NRUN" rm "$id"
}

@test "exec: joins the namespaces with the container's identity, caps and seccomp" {
    id=$(rt_run -d --user node bb:1 sh -c 'echo marker > /tmp/m; sleep 1000')
    for _ in $(seq 50); do [ -n "$("$NRUN" exec "$id" cat /tmp/m 2>/dev/null)" ] && break; sleep 0.05; done
    run "$NRUN" exec -e X=y "$id" sh -c 'cat /tmp/m; id -u; echo $X; hostname; grep -E "^(CapEff|Seccomp|NoNewPrivs):" /proc/self/status; ps -o pid | wc -l'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = marker ]
    [ "${lines[1]}" = 1000 ]
    [ "${lines[2]}" = y ]
    [ "${lines[3]}" = "${id:0:12}" ]
    [[ "${lines[4]}" == *0000000000000000 ]]
    [[ "${lines[5]}" == NoNewPrivs:*1 ]]
    [[ "${lines[6]}" == Seccomp:*2 ]]
    run "$NRUN" exec "$id" sh -c 'exit 4'
    [ "$status" -eq 4 ]
    # -u: a name from the container's /etc/passwd (with its groups), or numbers
    run "$NRUN" exec -u root "$id" id
    [ "$output" = "uid=0(root) gid=0(root) groups=0(root)" ]
    run "$NRUN" exec -u node "$id" id
    [ "$output" = "uid=1000(node) gid=1000(node) groups=1000(node),2000(extra)" ]
    run "$NRUN" exec -u 4321:99 "$id" sh -c 'id -u; id -g'
    [ "$output" = "$(printf '4321\n99')" ]
    run "$NRUN" exec -u nosuchuser "$id" id
    [ "$status" -eq 125 ]
    [[ "$output" == *'user "nosuchuser" not found'* ]]
    "$NRUN" rm -f "$id"
}

@test "exec -t: a pty from the container's devpts" {
    id=$(rt_run -d bb:1 sleep 1000)
    run "$NRUN" exec -t "$id" sh -c 'tty; test -t 0 && echo isatty'
    [[ "$output" == */dev/pts/0* ]]
    [[ "$output" == *isatty* ]]
    "$NRUN" rm -f "$id"
}

@test "run -t / -it: a pty from the container's devpts, input relayed, exit code kept" {
    run rt_run --rm -t bb:1 sh -c 'tty; test -t 0 && echo isatty; exit 3'
    [ "$status" -eq 3 ]
    [[ "$output" == */dev/pts/0* ]]
    [[ "$output" == *isatty* ]]
    run sh -c "echo 'echo typed-\$((6*7)); exit 4' | '$NRUN' run --cidfile '$BATS_FILE_TMPDIR/cids/it' --rm -it bb:1 sh"
    [ "$status" -eq 4 ]
    [[ "$output" == *typed-42* ]]
}

@test "run -i: the app reads the caller's stdin to EOF; without -i stdin is /dev/null; with -d -i a pipe that stays open, never the caller's" {
    lines_in() { printf 'a\nb\n' | rt_run --rm "$@" bb:1 wc -l; }
    cat_in() { echo hi | rt_run --rm "$@" bb:1 cat; }
    run lines_in -i
    [ "$status" -eq 0 ]
    [ "$output" = 2 ]
    run cat_in --interactive
    [ "$output" = hi ]
    run lines_in
    [ "$output" = 0 ]
    # -d -i: not the caller's stdin, and one that stays open, as docker's
    # (cat is ended by timeout's TERM, never by an end of input; no "hi")
    id=$(echo hi | rt_run -d -i bb:1 sh -c '(timeout 1 cat) 2>/dev/null; echo "rc=$?"')
    for _ in $(seq 100); do "$NRUN" inspect "$id" | jq -e '.[0].State.Status == "exited"' >/dev/null && break; sleep 0.05; done
    run "$NRUN" logs "$id"
    [[ "$output" == *"rc=143"* && "$output" != *hi* ]]
    "$NRUN" rm "$id"
    run "$NRUN" run --help
    [[ "$output" == *"-i, --interactive"*"stdin"* ]]
}

@test "logs -f: returns when the container exits or is stopped, at once when it has already exited" {
    id=$(rt_run -d bb:1 sh -c 'echo one; sleep 1; echo two')
    run timeout 10 "$NRUN" logs -f "$id"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'one\ntwo')" ]
    run timeout 5 "$NRUN" logs -f "$id"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'one\ntwo')" ]
    # --tail 0 -f: only what comes from now on (nothing, the container is done)
    run timeout 5 "$NRUN" logs -f --tail 0 "$id"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    "$NRUN" rm "$id"
    rt_run -d --name lf bb:1 sh -c 'echo up; touch /tmp/ready; while :; do sleep 0.1; done' >/dev/null
    wait_ready lf
    timeout 10 "$NRUN" logs -f lf >"$BATS_TEST_TMPDIR/out" &
    pid=$!
    "$NRUN" stop -t 5 lf >/dev/null
    wait $pid
    [ "$(cat "$BATS_TEST_TMPDIR/out")" = up ]
    "$NRUN" rm lf
}

@test "inspect: 127 fallthrough when no container matches; bad usage errors" {
    run -127 "$NRUN" inspect no-such-thing
    run "$NRUN" run --memory 1 bb:1 true
    [ "$status" -eq 125 ]
    run "$NRUN" run --restart sometimes bb:1 true
    [ "$status" -eq 125 ]
    run "$NRUN" run --rm --restart always bb:1 true
    [ "$status" -eq 125 ]
}
