#!/usr/bin/env bats
# Red-team round 9: exec/run stdio, cp and the container's files, registry
# replies, build contexts (see each test's comment).
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
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
