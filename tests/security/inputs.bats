#!/usr/bin/env bats
# Files a user names on the command line (--env-file, a seccomp profile,
# nbuild's -f Nodefile, the context's Nodefile and .dockerignore) are read
# only when they are regular files of bounded size: /dev/zero, a FIFO with no
# writer, a directory, a pipe, a 2 GiB sparse file each give one clear line,
# a non-zero exit, quickly, with nrun's memory small and nothing made.
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    rt_bb_image in:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    mkfifo "$BATS_FILE_TMPDIR/fifo"
    truncate -s 2G "$BATS_FILE_TMPDIR/sparse"
    mkdir "$BATS_FILE_TMPDIR/dir"
}

teardown() { rt_rm_all; }

teardown_file() { rt_file_teardown; }

# Run "$@" with 10 s and 512 MiB of address space at most: a hang or an
# unbounded read fails the test instead of blocking it or the machine.
# Under AddressSanitizer (make check-asan), which reserves terabytes of
# address space, the bound is its own: 512 MiB of resident memory.
bounded() { sec_bounded 10 "$@"; }

# "$1" (a flag) refused every bad file: $2... = the command, FILE where the path goes.
refuses_bad_files() {
    local what=$1 f expect
    shift
    for f in /dev/zero "$BATS_FILE_TMPDIR/fifo" "$BATS_FILE_TMPDIR/dir" "$BATS_FILE_TMPDIR/sparse" /dev/stdin; do
        case $f in
        /dev/zero) expect="$what /dev/zero: a device, not a regular file" ;;
        */fifo) expect="$what $f: a FIFO or pipe, not a regular file" ;;
        */dir) expect="$what $f: EISDIR" ;;
        */sparse) expect="$what $f: 2147483648 bytes, more than the" ;;
        /dev/stdin) expect="$what /dev/stdin: a FIFO or pipe, not a regular file" ;;
        esac
        local cmd=("${@//FILE/$f}")
        SECONDS=0
        run bounded "${cmd[@]}" < <(if [ "$f" = /dev/stdin ]; then yes A=1 | head -c 100000000; fi)
        [ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { echo "$f: exit $status"; return 1; }
        [ "$SECONDS" -lt 8 ] || { echo "$f: took ${SECONDS}s"; return 1; }
        [[ "$output" == *"$expect"* ]] || { echo "$f: $output"; return 1; }
        [ "${#lines[@]}" -eq 1 ] || { echo "$f: $output"; return 1; }
    done
}

@test "--env-file: /dev/zero, a FIFO, a directory, a 2 GiB sparse file, a pipe are refused (125) at once, nothing made" {
    n=$(ls "$NRUN_ROOT/containers" | wc -l)
    refuses_bad_files --env-file "$NRUN" run --rm --env-file FILE in:1 true
    run -125 bounded "$NRUN" run --rm --env-file /dev/zero in:1 true
    [ "$(ls "$NRUN_ROOT/containers" | wc -l)" -eq "$n" ]
    # a regular file just below 1 MiB is read, one just above is refused
    for i in 0 1 2 3 4 5 6 7 8 9; do printf "V$i="; head -c 100000 /dev/zero | tr '\0' x; echo; done >"$BATS_TEST_TMPDIR/env"
    run rt_run --rm --env-file "$BATS_TEST_TMPDIR/env" in:1 sh -c 'echo ${#V0} ${#V9}'
    [ "$output" = "100000 100000" ]
    head -c 50000 /dev/zero | tr '\0' y >>"$BATS_TEST_TMPDIR/env"
    run -125 rt_run --rm --env-file "$BATS_TEST_TMPDIR/env" in:1 true
    [[ "$output" == *"more than the 1048576 allowed"* ]]
}

@test "--security-opt seccomp=FILE: /dev/zero, a FIFO, a directory, a 2 GiB sparse file, a pipe are refused (125) at once, nothing made" {
    n=$(ls "$NRUN_ROOT/containers" | wc -l)
    refuses_bad_files "seccomp profile" "$NRUN" run --rm --security-opt seccomp=FILE in:1 true
    run -125 bounded "$NRUN" run --rm --security-opt seccomp="$BATS_FILE_TMPDIR/fifo" in:1 true
    [ "$(ls "$NRUN_ROOT/containers" | wc -l)" -eq "$n" ]
}

@test "nbuild -f: /dev/zero, a FIFO, a directory, a 2 GiB sparse file, a pipe are refused at once" {
    mkdir -p "$BATS_TEST_TMPDIR/ctx"
    refuses_bad_files Nodefile "$NBUILD" -t bad:1 -f FILE "$BATS_TEST_TMPDIR/ctx"
    # -f - still reads a Nodefile from a pipe, bounded
    run bounded "$NBUILD" -t bad:1 -f - "$BATS_TEST_TMPDIR/ctx" < <(head -c 100000000 /dev/zero)
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
}

@test "nbuild: a Nodefile or .dockerignore in the context that is a FIFO or a huge sparse file is refused at once" {
    c=$BATS_TEST_TMPDIR/ctx
    mkdir -p "$c"
    mkfifo "$c/Nodefile"
    run bounded "$NBUILD" -t bad:1 "$c"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    [[ "$output" == *"Nodefile $c/Nodefile: a FIFO or pipe, not a regular file"* ]]
    rm "$c/Nodefile"
    truncate -s 2G "$c/Nodefile"
    run bounded "$NBUILD" -t bad:1 "$c"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    [[ "$output" == *"2147483648 bytes, more than the"* ]]
    printf 'FROM scratch\nCOPY . /\n' >"$c/Nodefile"
    mkfifo "$c/.dockerignore"
    run bounded "$NBUILD" -t bad:1 "$c"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    [[ "$output" == *".dockerignore: a FIFO or pipe, not a regular file"* ]]
}

@test "nbuild: a Nodefile's own ignore file (X.dockerignore beside -f X) that is a FIFO, /dev/zero or a huge sparse file is refused at once" {
    c=$BATS_TEST_TMPDIR/ctx
    mkdir -p "$c/d"
    printf 'FROM scratch\nCOPY . /\n' >"$c/d/x"
    mkfifo "$c/d/x.dockerignore"
    run bounded "$NBUILD" -f "$c/d/x" -t bad:1 "$c"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    [[ "$output" == *"x.dockerignore: a FIFO or pipe, not a regular file"* ]]
    rm "$c/d/x.dockerignore"
    ln -s /dev/zero "$c/d/x.dockerignore"
    run bounded "$NBUILD" -f "$c/d/x" -t bad:1 "$c"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    [[ "$output" == *"x.dockerignore"* ]]
    rm "$c/d/x.dockerignore"
    truncate -s 2G "$c/d/x.nbuildignore"
    run bounded "$NBUILD" -f "$c/d/x" -t bad:1 "$c"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    [[ "$output" == *"2147483648 bytes, more than the"* ]]
    [ -z "$(manifest_of bad:1)" ]
}

@test "nbuild: an ignore file of a million one-word patterns (under its 16 MiB) is refused at its line, in bounded memory" {
    c=$BATS_TEST_TMPDIR/ctx
    mkdir -p "$c"
    printf 'FROM scratch\nCOPY . /\n' >"$c/Nodefile"
    # compiled, each pattern took kilobytes: gigabytes for this file
    seq -f 'p%g' 1 1000000 >"$c/.dockerignore"
    run bounded "$NBUILD" -t bad:1 "$c"
    echo "$output"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    [[ "$output" == *".dockerignore:10001: more than 10000 patterns"* ]]
    [ "${#lines[@]}" -eq 1 ]
    [ -z "$(manifest_of bad:1)" ]
}
