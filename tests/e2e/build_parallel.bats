#!/usr/bin/env bats
# nbuild --jobs N: the stages the target needs that do not read each other
# build at once (forked jobs), each once what it reads is done; the image
# is the sequential build's.  Concurrency is proven without timing: two
# stages each wait for a file the other makes in a shared cache mount, which
# one at a time would never finish (their loops give up, failing the build).
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

# The busybox image pbase:1 in the store $1 (default: this file's).
mk_pbase() {
    "$NRUN" ${1:+--root "$1"} __internal mkimage -t pbase:1 --config '{"Cmd":["sh"],"Env":["PATH=/bin"]}' \
        "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
}

# $CTX built with "$@" --jobs 2 and with "$@" --jobs 1, each in a fresh store
# holding only pbase:1, gives one image digest.
same_digest_jobs() {
    local r1=$BATS_FILE_TMPDIR/j1 r2=$BATS_FILE_TMPDIR/j2 d1 d2
    mkdir -p "$r1" "$r2"
    mk_pbase "$r1"
    mk_pbase "$r2"
    SOURCE_DATE_EPOCH=1700000000 run "$NBUILD" --root "$r1" "$@" --jobs 2 -q -t rep:1 "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    d1=${lines[-1]}
    SOURCE_DATE_EPOCH=1700000000 run "$NBUILD" --root "$r2" "$@" --jobs 1 -q -t rep:1 "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    d2=${lines[-1]}
    [[ "$d1" == sha256:* ]]
    [ "$d1" = "$d2" ]
    NRUN_ROOT=$r1 rt_rm_all 2>/dev/null || true
    rm -rf "$r1" "$r2"
}

setup_file() {
    rt_file_setup_busybox
    mk_pbase
    export CTX="$BATS_FILE_TMPDIR/ctx"
    mkdir -p "$CTX"
}

teardown() { rt_rm_all; }

teardown_file() { rt_file_teardown; }

ctrs() { ls "$NRUN_ROOT/containers" 2>/dev/null | grep -v '^\.' || true; }

# stage $1 makes its marker, then waits (at most $3 tenths of a second) for $2's
waiter() {
    printf 'FROM pbase:1 AS %s\nARG T\nRUN --mount=type=cache,target=/sync,id=par sh -c '"'"'touch /sync/%s-$T; i=0; while [ ! -e /sync/%s-$T ]; do i=$((i+1)); [ $i -lt %s ] || { echo no-%s-seen; exit 7; }; sleep 0.1; done; echo %s >/%s.txt'"'"'\n' \
        "$1" "$1" "$2" "$3" "$2" "$1" "$1"
}

@test "--jobs 2: two independent stages run at once (each waits for the other's file); a stage not needed does not run" {
    {
        echo 'ARG T'
        waiter a b 600
        waiter b a 600
        printf 'FROM pbase:1 AS unused\nARG T\nRUN --mount=type=cache,target=/sync,id=par touch /sync/unused-$T\n'
        printf 'FROM pbase:1\nCOPY --from=a /a.txt /\nCOPY --from=b /b.txt /\nCMD ["cat", "/a.txt", "/b.txt"]\n'
    } >"$CTX/Nodefile"
    t=$$-$RANDOM
    run "$NBUILD" --jobs 2 --build-arg T="$t" -t par:1 "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"[a] STEP"* ]]
    [[ "$output" == *"[b] STEP"* ]]
    run rt_run --rm par:1
    [ "${lines[0]}" = a ]
    [ "${lines[1]}" = b ]
    [ -z "$(find "$NRUN_ROOT/cache/build/mounts" -name "unused-$t")" ]
    [ -n "$(find "$NRUN_ROOT/cache/build/mounts" -name "a-$t")" ]
    # one at a time, the same file can only fail: a waits for b, which never starts
    run "$NBUILD" --jobs 1 --build-arg T="$t-seq" -t par:2 "$CTX"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:4:"*"exit code 7"* ]]
    [[ "$output" == *"no-b-seen"* ]]
    [ -z "$(manifest_of par:2)" ]
}

@test "--jobs 2 gives the digest of --jobs 1 (both with every step run)" {
    printf 'FROM pbase:1 AS a\nRUN echo one >/one.txt && mkdir -p /d && echo x >/d/x\nFROM pbase:1 AS b\nRUN echo two >/two.txt\nFROM pbase:1 AS c\nRUN echo three >/three.txt\nFROM pbase:1\nCOPY --from=a /one.txt /d /\nCOPY --from=b /two.txt /\nCOPY --from=c /three.txt /\n' >"$CTX/Nodefile"
    same_digest_jobs
}

@test "--jobs 2: a failing stage stops the other at once, its error names file:line:col, nothing tagged or left" {
    {
        echo 'ARG T'
        printf 'FROM pbase:1 AS bad\nRUN echo failing; exit 3\n'
        waiter slow never 1200
        printf 'FROM pbase:1\nCOPY --from=bad /etc/passwd /p\nCOPY --from=slow /slow.txt /\n'
    } >"$CTX/Nodefile"
    run "$NBUILD" --jobs 2 --build-arg T=$$-$RANDOM -t pfail:1 "$CTX"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:3:"*"exit"*"3"* ]]
    [[ "$output" != *"exit code 7"* ]]   # the waiting stage was stopped, not left to give up
    [ -z "$(manifest_of pfail:1)" ]
    [ -z "$(ctrs)" ]
    ! grep -qF " $NRUN_ROOT/" /proc/mounts || false
}

@test "--jobs 2: SIGTERM to nbuild stops every running stage, nothing tagged or left" {
    {
        echo 'ARG T'
        waiter x never 1200
        waiter y never 1200
        printf 'FROM pbase:1\nCOPY --from=x /x.txt /\nCOPY --from=y /y.txt /\n'
    } >"$CTX/Nodefile"
    t=$$-$RANDOM
    "$NBUILD" --jobs 2 --build-arg T="$t" -t pterm:1 "$CTX" >"$BATS_FILE_TMPDIR/pt.out" 2>&1 &
    pid=$!
    for _ in $(seq 600); do
        [ -n "$(find "$NRUN_ROOT/cache/build/mounts" -name "x-$t")" ] &&
            [ -n "$(find "$NRUN_ROOT/cache/build/mounts" -name "y-$t")" ] && break
        sleep 0.1
    done
    kill -TERM "$pid"
    st=0
    wait "$pid" || st=$?
    cat "$BATS_FILE_TMPDIR/pt.out"
    [ "$st" -ne 0 ]
    grep -q "interrupted" "$BATS_FILE_TMPDIR/pt.out"
    ! grep -q "exit code 7" "$BATS_FILE_TMPDIR/pt.out" || false
    [ -z "$(manifest_of pterm:1)" ]
    for _ in $(seq 100); do [ -z "$(ctrs)" ] && break; sleep 0.1; done
    [ -z "$(ctrs)" ]
    ! grep -qF " $NRUN_ROOT/" /proc/mounts || false
}

@test "--no-cache --jobs 2: independent stages still run at once, every step again, and nothing else is taken from the cache" {
    {
        echo 'ARG T'
        waiter a b 600
        waiter b a 600
        printf 'FROM pbase:1 AS c\nRUN echo c >/c.txt\n'
        printf 'FROM pbase:1\nCOPY --from=a /a.txt /\nCOPY --from=b /b.txt /\nCOPY --from=c /c.txt /\nRUN cat /a.txt /b.txt /c.txt >/all.txt\nCMD ["cat", "/all.txt"]\n'
    } >"$CTX/Nodefile"
    t=$$-$RANDOM
    # first with the cache, so every step has a record the next build must not use
    run "$NBUILD" --jobs 2 --build-arg T="$t" -t ncache:1 "$CTX"
    [ "$status" -eq 0 ]
    # new markers: the waiters pass only when both run at once
    run "$NBUILD" --no-cache --jobs 2 --build-arg T="$t-2" -t ncache:2 "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"[a] STEP"* ]]
    [[ "$output" == *"[b] STEP"* ]]
    [[ "$output" == *"[c] STEP"* ]]
    [ "$(grep -c '^\[[abc]\] --> CACHED' <<<"$output")" -eq 0 ]
    # c (no T in its key) ran again in its job, and the final stage's RUN (its record is build 1's) again too
    grep -q '^\[c\] --> DONE' <<<"$output"
    [[ "$output" == *"RUN cat /a.txt /b.txt /c.txt"*"--> DONE"* ]]
    run rt_run --rm ncache:2
    [ "${lines[0]}" = a ]
}

@test "--no-cache --jobs 2: a stage FROM another stage builds on what that stage's job just made (it does not run it again)" {
    printf 'FROM pbase:1 AS a\nRUN echo run-of-a; date +%%s%%N >/a.stamp\nFROM a AS b\nRUN cp /a.stamp /b.stamp\nFROM pbase:1 AS c\nRUN echo c >/c.txt\nFROM pbase:1\nCOPY --from=b /a.stamp /b.stamp /\nCOPY --from=a /a.stamp /a2.stamp\nCOPY --from=c /c.txt /\nCMD ["sh", "-c", "cat /a.stamp /b.stamp /a2.stamp"]\n' >"$CTX/Nodefile"
    run "$NBUILD" --no-cache --jobs 2 --progress plain -t chain:1 "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(grep -c '^\[a\] run-of-a$' <<<"$output")" -eq 1 ]
    [ "$(grep -c 'run-of-a$' <<<"$output")" -eq 1 ] # its output, once in the whole build
    grep -q '^\[b\] --> CACHED' <<<"$output"
    # one run of a: the stamp b copied is the one the image has from a
    run rt_run --rm chain:1
    [ "${lines[0]}" = "${lines[1]}" ]
    [ "${lines[0]}" = "${lines[2]}" ]
}

@test "--no-cache --jobs 2 gives the digest of --no-cache --jobs 1" {
    printf 'FROM pbase:1 AS a\nRUN echo one >/one.txt\nFROM pbase:1 AS b\nRUN echo two >/two.txt\nFROM pbase:1 AS c\nRUN echo three >/three.txt\nFROM pbase:1\nCOPY --from=a /one.txt /\nCOPY --from=b /two.txt /\nCOPY --from=c /three.txt /\nRUN cat /one.txt /two.txt >/both.txt\n' >"$CTX/Nodefile"
    same_digest_jobs --no-cache
}

@test "--jobs 2, plain progress: every line of a stage's job, its RUN output too, starts with the stage" {
    printf 'FROM pbase:1 AS left\nRUN echo out-of-left; echo second-left-line >&2\nFROM pbase:1\nRUN echo out-of-unnamed\nFROM pbase:1\nCOPY --from=left /etc/passwd /l\nCOPY --from=1 /etc/passwd /u\n' >"$CTX/Nodefile"
    run "$NBUILD" --no-cache --jobs 2 --progress plain -t prefix:1 "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    grep -qx '\[left\] out-of-left' <<<"$output"
    grep -qx '\[left\] second-left-line' <<<"$output"
    grep -qx '\[stage-1\] out-of-unnamed' <<<"$output"
    grep -q '^\[left\] STEP 2/' <<<"$output"
    grep -q '^\[left\] --> DONE' <<<"$output"
    # no unprefixed output of those stages
    [ "$(grep -c '^out-of' <<<"$output")" -eq 0 ]
}

@test "--jobs 2 on a terminal: the jobs' lines stay whole and prefixed, the target's own view folds its RUN output" {
    printf 'FROM pbase:1 AS left\nRUN echo out-of-left\nFROM pbase:1 AS right\nRUN echo out-of-right\nFROM pbase:1\nCOPY --from=left /etc/passwd /l\nCOPY --from=right /etc/passwd /r\nRUN echo target-out\n' >"$CTX/Nodefile"
    run script -qec "$NBUILD --no-cache --jobs 2 --progress tty -t ttyjobs:1 $CTX" /dev/null
    echo "$output"
    [ "$status" -eq 0 ]
    out=$(tr -d '\r' <<<"$output")
    grep -qx '\[left\] out-of-left' <<<"$out"
    grep -qx '\[right\] out-of-right' <<<"$out"
    # the target's RUN output is shown, then folded away (cursor up, clear) before its DONE line
    grep -q 'target-out' <<<"$out"
    grep -q $'\033\\[1F\033\\[J--> DONE' <<<"$out"
}

@test "--jobs: a bad value is a usage error" {
    run "$NBUILD" --jobs 0 "$CTX"
    [ "$status" -eq 2 ]
    [[ "$output" == *"--jobs 0"* ]]
    run "$NBUILD" --jobs x "$CTX"
    [ "$status" -eq 2 ]
}
