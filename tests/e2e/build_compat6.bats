#!/usr/bin/env bats
# Forms found building public Node apps with their own Dockerfiles (round 6),
# each reproduced by a Nodefile written here.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    rt_bb_image cbase:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    export W=$BATS_FILE_TMPDIR
}

teardown() { rt_rm_all; }

teardown_file() { rt_file_teardown; }

# a context holding the Nodefile given as arguments (one line each)
ctx() {
    local c=$W/ctx.$BATS_TEST_NUMBER
    rm -rf "$c" && mkdir -p "$c"
    echo '{}' >"$c/package.json"
    printf '%s\n' "$@" >"$c/Nodefile"
    echo "$c"
}

@test "COPY/ADD source with a leading / names the context's root, as BuildKit's join(\"/\", src): /dir, /glob, / alone; .. is still refused at file:line:col" {
    c=$(ctx 'FROM cbase:1' 'COPY /public ./p/' 'COPY /public/*.txt /g/' 'ADD //public/a.txt /add.txt' \
        'COPY --parents /public/./sub/b.txt /par/' 'COPY / /all/')
    mkdir -p "$c/public/sub" && echo a >"$c/public/a.txt" && echo b >"$c/public/sub/b.txt"
    run "$NBUILD" --progress=plain -t lead:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm lead:1 sh -c 'cat /p/a.txt /p/sub/b.txt /g/a.txt /add.txt /par/sub/b.txt /all/public/a.txt; ls /g'
    [ "$output" = "$(printf 'a\nb\na\na\nb\na\na.txt')" ]
    # the host's root is never read: /etc/passwd is the context's etc/passwd
    run "$NBUILD" -t lead:2 "$(ctx 'FROM cbase:1' 'COPY /etc/passwd /x')"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:"*"/etc/passwd"* ]]
    run "$NBUILD" -t lead:3 "$(ctx 'FROM cbase:1' 'COPY ../x /x')"
    echo "$output"
    [ "$status" -ne 0 ]
    [ "$(grep -c '^nbuild:' <<<"$output")" -eq 1 ]
    [[ "${lines[-1]}" == "nbuild: "*"Nodefile:2:6: COPY: source ../x is outside the build context" ]]
    ! "$NRUN" images | grep -q '^lead *[23] ' || false
}
