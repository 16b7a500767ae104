#!/usr/bin/env bats
# Red-team round 9: exec/run stdio, cp and the container's files, registry
# replies, build contexts (see each test's comment).
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    sec_file_setup_probes sec:1 tiocsti
    rt_bb_image bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
}
teardown() {
    rt_rm_all
}
teardown_file() { rt_file_teardown; }

# Found: `nrun run -i` hands the caller's own stdin to the app (slot 1), and
# the stdio hand-over to a non-root user (rt_stdio_own, compat7) chowned that
# pipe -- the host process's pipe that feeds nrun -- to the container's uid,
# as rt8 found for exec; a host user of that uid could then open it.
@test "run -i -u 1000: the caller's stdin pipe keeps its owner; the app still reads it" {
    pidf="$BATS_TEST_TMPDIR/writer.pid"
    run bash -c "{ echo \$BASHPID >'$pidf'; sleep 1.5; echo in; } | \"\$NRUN\" run --rm -i -u 1000 bb:1 sh -c 'cat; id -u' & sleep 0.8; stat -L -c %u /proc/\$(cat '$pidf')/fd/1; wait"
    echo "$output"
    [ "${lines[0]}" = 0 ]
    [ "${lines[1]}" = in ]
    [ "${lines[2]}" = 1000 ]
}

# Found: `nrun run -i` (no -t) from a terminal handed the caller's terminal
# itself to the app as its stdin (exec -i relays it, runtime.bats): the
# container could change its modes, set O_NONBLOCK on the shell's own open
# file (the shell's next read fails), and pass the fd over a socket to a
# process of another container that outlives the run and reads what the
# user types afterwards.  Now a child of nrun relays the terminal into a pipe.
@test "run -i from a terminal: the app reads a pipe nrun relays, never the caller's terminal; input still arrives" {
    run bash -c "{ sleep 1.5; echo typed-line; sleep 1; } | script -qec \"'$NRUN' run --rm -i sec:1 sh -c 'tiocsti; readlink /proc/self/fd/0; read x; echo got=\\\$x'\" /dev/null"
    out=$(tr -d '\r' <<<"$output")
    echo "$out"
    [[ "$out" == *"fd0=ENOTTY"* ]]
    [[ "$out" != *"=ok"* ]]
    [[ "$(grep -A1 '^ctty=' <<<"$out" | tail -1)" == pipe:* ]]
    [[ "$out" == *"got=typed-line"* ]]
    # no relay child is left reading the terminal
    ! pgrep -f "$NR_REAL_NRUN run --rm -i sec:1"
}
