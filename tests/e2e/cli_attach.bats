#!/usr/bin/env bats
# nrun attach: run -dit / -dt keep running with the pty held by the
# container's host-side monitor, and `nrun attach` connects a terminal to it
# (driven here through python3's pty module, as a user's terminal would).

bats_require_minimum_version 1.5.0
load ../lib/common
load ../lib/runtime

setup_file() {
    rt_file_setup_bb
    # att.py STEPS ATTACH-ARGS...: runs `nrun attach ARGS` on a new pty; STEPS is a
    # JSON list of ["send", text] / ["expect", text] / ["eof"]; prints what
    # the terminal showed, then "EXIT <code>".  An expect that is not met in
    # 20 s prints "MISSING <text>" and stops.
    cat >"$BATS_FILE_TMPDIR/att.py" <<'PY'
import json, os, pty, select, sys, time
steps = json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "attach"] + sys.argv[3:])
buf = b""
def pump(t):
    global buf
    r, _, _ = select.select([fd], [], [], t)
    if not r:
        return True
    try:
        d = os.read(fd, 4096)
    except OSError:
        return False
    buf += d
    return bool(d)
for st in steps:
    if st[0] == "send":
        os.write(fd, st[1].encode())
    elif st[0] == "expect":
        end = time.time() + 20
        while st[1].encode() not in buf and time.time() < end:
            if not pump(0.2):
                break
        if st[1].encode() not in buf:
            print("MISSING", st[1], repr(buf))
            break
end = time.time() + 30  # attach must end by itself; else it is killed and the test fails
while time.time() < end and pump(0.5):
    pass
done, status = os.waitpid(pid, os.WNOHANG)
if done == 0:
    os.kill(pid, 9)
    print("HUNG")
    _, status = os.waitpid(pid, 0)
sys.stdout.write(buf.decode(errors="replace").replace("\r", ""))
print("EXIT", os.waitstatus_to_exitcode(status))
PY
}

teardown_file() { rt_file_teardown; }

att() { python3 "$BATS_FILE_TMPDIR/att.py" "$NRUN" "$@"; }

@test "run -dit keeps running; attach: input reaches the app, its output comes back, ctrl-p ctrl-q detaches" {
    id=$(rt_run -dit --name tty1 bb:1 sh)
    [ "$("$NRUN" inspect -f '{{.State.Status}}' tty1)" = running ]
    run att '[["send","echo hi-$((40+2)) $(tty)\n"],["expect","hi-42"],["send","\u0010\u0011"]]' tty1
    [[ $output == *"hi-42 /dev/pts/0"* ]]
    [[ $output == *"EXIT 0" ]]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' tty1)" = running ]
    # again: the shell kept its state; `exit 7` ends it and attach exits 7, as docker's
    run att '[["send","echo again\n"],["expect","again"],["send","exit 7\n"]]' tty1
    [[ $output == *"EXIT 7" ]]
    [ "$("$NRUN" wait tty1)" = 7 ]
    "$NRUN" rm tty1 >/dev/null
}

@test "run -dt and run -t: what the terminal shows is the container's log (nrun logs), rotated by --log-opt; run -d -i: the app's stdin stays open, as docker's" {
    id=$(rt_run -dt --log-opt max-size=1k --log-opt max-file=2 bb:1 sh -c \
        '[ -t 1 ] && echo on-a-tty; for i in $(seq 100); do echo line-$i; done; printf "\377 \"q\" no newline"; sleep 600')
    for _ in $(seq 100); do run "$NRUN" logs "$id"; [[ "$output" == *"no newline"* ]] && break; sleep 0.1; done
    echo "$output"
    [[ "${lines[-1]}" == *' "q" no newline' ]]
    [ "${lines[-2]}" = line-100 ]
    # 1 KiB in two files at most: the first lines rotated away, none torn
    [[ "$output" != *on-a-tty* ]]
    d=$NRUN_ROOT/containers/$id/logs
    [ -f "$d/container.log.1" ] && [ ! -e "$d/container.log.2" ]
    [ "$(stat -c %s "$d/container.log.1")" -le 1024 ]
    jq -e -s 'all(.stream == "stdout" and .worker == 1)' "$d/container.log.1" "$d/container.log"
    "$NRUN" rm -f "$id" >/dev/null
    # -d -i: a pipe nobody writes, never its end (cat is ended by timeout's TERM)
    id=$(rt_run -d -i bb:1 sh -c 'timeout 1 cat; echo "cat-ended $?"; sleep 600')
    for _ in $(seq 100); do run "$NRUN" logs "$id"; [[ "$output" == *cat-ended* ]] && break; sleep 0.1; done
    echo "$output"
    [[ "$output" == *"cat-ended 143"* ]]
    "$NRUN" rm -f "$id" >/dev/null
    # run -t in the foreground: the log has what the terminal showed, as docker's
    run rt_run -t --name fgt bb:1 sh -c 'echo fg-line; printf no-end' </dev/null
    [ "$output" = "$(printf 'fg-line\r\nno-end')" ]
    run "$NRUN" logs fgt
    [ "$output" = "$(printf 'fg-line\nno-end')" ]
    "$NRUN" rm fgt >/dev/null
}

@test "--detach-keys: other keys detach; a broken sequence reaches the app; bad keys refused" {
    rt_run -dit --name tty2 bb:1 sh >/dev/null
    # "q" then "$" is not the sequence q,w: both reach the shell (q2 is printed), then q w detaches
    run att '[["send","echo q$((1+1))\n"],["expect","q2\r\n"],["send","qw"]]' --detach-keys q,w tty2
    [[ $output == *"q2"* ]]
    [[ $output == *"EXIT 0" ]]
    run att '[["send","echo z$((2+2))\n"],["expect","z4\r\n"],["send","\u0018\u0019"]]' --detach-keys ctrl-x,ctrl-y tty2
    [[ $output == *"EXIT 0" ]]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' tty2)" = running ]
    run "$NRUN" attach --detach-keys ctrl-1 tty2
    [ "$status" -eq 2 ]
    [[ $output == *"--detach-keys ctrl-1"* ]]
    "$NRUN" rm -f tty2 >/dev/null
}

@test "--no-stdin: output only; --sig-proxy passes TERM to the container, =false keeps it" {
    rt_run -dt --name tick bb:1 sh -c 'trap "echo got-term; exit 3" TERM; while :; do echo tick; sleep 0.2; done' >/dev/null
    out="$BATS_TEST_TMPDIR/out"
    # without a terminal (stdin not a tty): signals are proxied
    "$NRUN" attach --no-stdin tick </dev/null >"$out" 2>&1 &
    pid=$!
    for _ in $(seq 200); do grep -q tick "$out" && break; sleep 0.05; done
    grep -q tick "$out"
    "$NRUN" attach --sig-proxy=false --no-stdin tick </dev/null >"$out.2" 2>&1 &
    pid2=$!
    for _ in $(seq 200); do grep -q tick "$out.2" && break; sleep 0.05; done
    kill -TERM "$pid2"
    st=0; wait "$pid2" || st=$?
    [ "$st" -eq 143 ]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' tick)" = running ]
    kill -TERM "$pid"
    st=0; wait "$pid" || st=$?
    [ "$st" -eq 3 ]
    grep -q got-term "$out"
    [ "$("$NRUN" inspect -f '{{.State.ExitCode}}' tick)" = 3 ]
    "$NRUN" rm tick >/dev/null
}

@test "create -t, start: attach reaches it; no terminal or not running: a clear error" {
    "$NRUN" create -it --name tty3 bb:1 sh >/dev/null
    "$NRUN" start tty3 >/dev/null
    run att '[["send","echo started-$((1+1))\n"],["expect","started-2"],["send","\u0010\u0011"]]' tty3
    [[ $output == *"EXIT 0" ]]
    "$NRUN" rm -f tty3 >/dev/null
    rt_run -d --name notty bb:1 sleep 100 >/dev/null
    run "$NRUN" attach notty
    [ "$status" -eq 1 ]
    [[ $output == *"container notty has no terminal to attach to"* ]]
    "$NRUN" rm -f notty >/dev/null
    rt_run --name ended bb:1 true
    run "$NRUN" attach ended
    [ "$status" -eq 1 ]
    [[ $output == *"container ended is not running"* ]]
    "$NRUN" rm ended >/dev/null
}
