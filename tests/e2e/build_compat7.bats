#!/usr/bin/env bats
# Forms found building and running public Node apps with their own
# Dockerfiles (round 7), each reproduced by a Nodefile written here.
load ../lib/compat
bats_require_minimum_version 1.5.0

@test "a non-root process opens /dev/stdout, /dev/stderr and /dev/fd/N of its stdio pipes, as runc gives them to the container's user (homer: lighttpd's accesslog /dev/fd/3 after exec 3>&1 under USER 1000); run -d, run, exec and a RUN step; a file given as stdout is not chowned" {
    c=$(ctx 'FROM cbase:1' 'USER 1000:1000' 'RUN echo step-out >/dev/stdout && echo step-err >/dev/stderr' \
        'CMD ["sh", "-c", "exec 3>&1; echo fd3 >/dev/fd/3; echo out >/dev/stdout; echo err >/dev/stderr; sleep 100"]')
    run "$NBUILD" --progress=plain -t stdio:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *step-out* ]]
    [[ "$output" == *step-err* ]]
    rt_run -d --name stdio stdio:1 >/dev/null
    for _ in $(seq 50); do "$NRUN" logs stdio 2>&1 | grep -q err && break; sleep 0.1; done
    run "$NRUN" logs stdio
    echo "$output"
    [[ "$output" == *fd3* ]]
    [[ "$output" == *out* ]]
    [[ "$output" == *err* ]]
    [[ "$output" != *"ermission denied"* ]]
    run "$NRUN" exec stdio sh -c 'echo exec-out >/dev/stdout; echo exec-err >/dev/stderr'
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *exec-out*exec-err* ]]
    # foreground, stdout a pipe of the caller's
    run --separate-stderr rt_run --rm --user 1000 cbase:1 sh -c 'echo fg >/dev/stdout'
    echo "$output $stderr"
    [ "$status" -eq 0 ]
    [ "$output" = fg ]
    # a file of the host given as stdout stays root's
    rt_run --rm --user 1000 cbase:1 sh -c 'echo f >/dev/stdout' >"$W/out.txt" 2>/dev/null || true
    [ "$(stat -c %u "$W/out.txt")" = 0 ]
}
