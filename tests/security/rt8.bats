#!/usr/bin/env bats
# Red-team round 8: image-controlled configuration, this session's changes
# (stdio hand-over, gzip threads, made-base marks), races (see each test's comment).
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    rt_bb_image bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
}
setup() {
    CTX="$BATS_TEST_TMPDIR/ctx"
    mkdir -p "$CTX"
}
teardown() {
    [ -z "${RT8_AGENT:-}" ] || kill "$RT8_AGENT" 2>/dev/null || true
    [ -z "${RT8_NB:-}" ] || { kill -KILL "$RT8_NB" 2>/dev/null; wait "$RT8_NB" 2>/dev/null; } || true
    RT8_AGENT= RT8_NB=
    rt_rm_all
}
teardown_file() { rt_file_teardown; }

# Found: an ONBUILD trigger of a base image could RUN --mount=type=secret
# (or type=ssh): a secret the caller gave the build for one stage (FROM a
# base it trusts) was read, and baked into the image, by a trigger of an
# untrusted base in another stage; type=ssh lent it the caller's agent.
@test "an ONBUILD trigger of a base image mounts no --secret or --ssh and reads no stage or --build-context of the build; an image still, and the Dockerfile's own steps all of them" {
    rt_bb_image ob-secret:1 '{"Env":["PATH=/bin"],"OnBuild":["RUN --mount=type=secret,id=tok cp /run/secrets/tok /leak"]}'
    rt_bb_image ob-secenv:1 '{"Env":["PATH=/bin"],"OnBuild":["ARG K=secret","RUN --mount=type=$K,id=tok,env=T sh -c \"echo $T >/leak\""]}'
    rt_bb_image ob-ssh:1 '{"Env":["PATH=/bin"],"OnBuild":["RUN --mount=type=ssh,required cat /run/buildkit/ssh_agent.0"]}'
    # an agent of the test's own, as the caller's
    local img sock="$BATS_TEST_TMPDIR/agent.sock"
    eval "$(ssh-agent -a "$sock" -s)" >/dev/null
    RT8_AGENT=$SSH_AGENT_PID
    for img in ob-secret:1 ob-secenv:1 ob-ssh:1; do
        printf 'FROM bb:1 AS trusted\nRUN --mount=type=secret,id=tok test -s /run/secrets/tok\nFROM %s\nCOPY --from=trusted /etc/passwd /p\n' \
            "$img" >"$CTX/Nodefile"
        TOK=rt8-secret-value run "$NBUILD" --progress=plain --network none --secret id=tok,env=TOK \
            --ssh "default=$sock" -t obs:1 "$CTX"
        echo "$output"
        [ "$status" -ne 0 ]
        [[ "$output" == *"ONBUILD trigger"*"in an ONBUILD trigger: the build's --s"* ]]
        [[ "$output" != *rt8-secret-value* ]]
        [ -z "$(manifest_of obs:1)" ]
    done
    # nor another stage of the build (by number or name, COPY or RUN --mount),
    # nor a --build-context directory: only images
    rt_bb_image ob-from0:1 '{"Env":["PATH=/bin"],"OnBuild":["COPY --from=0 /secret /leak"]}'
    rt_bb_image ob-fromname:1 '{"Env":["PATH=/bin"],"OnBuild":["ARG S=Builder","RUN --mount=type=bind,from=$S,target=/s cp /s/secret /leak"]}'
    rt_bb_image ob-fromctx:1 '{"Env":["PATH=/bin"],"OnBuild":["COPY --from=keys id_rsa /leak"]}'
    rt_bb_image ob-fromimg:1 '{"Env":["PATH=/bin"],"OnBuild":["COPY --from=bb:1 /etc/passwd /from-image"]}'
    mkdir -p "$BATS_TEST_TMPDIR/keys"
    echo rt8-key >"$BATS_TEST_TMPDIR/keys/id_rsa"
    for img in ob-from0:1 ob-fromname:1 ob-fromctx:1; do
        printf 'FROM bb:1 AS builder
RUN echo rt8-stage-secret >/secret
FROM %s
COPY --from=builder /etc/passwd /p
' \
            "$img" >"$CTX/Nodefile"
        run "$NBUILD" --network none --build-context "keys=$BATS_TEST_TMPDIR/keys" -t obs:1 "$CTX"
        echo "$output"
        [ "$status" -ne 0 ]
        [[ "$output" == *"ONBUILD trigger"*"in an ONBUILD trigger: a base image's trigger reads no stage"* ]]
        [ -z "$(manifest_of obs:1)" ]
    done
    printf 'FROM bb:1 AS builder
RUN echo rt8-stage-secret >/secret
FROM ob-fromimg:1
COPY --from=builder /secret /s
' >"$CTX/Nodefile"
    run "$NBUILD" --network none -t obs:3 "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    # the Dockerfile's own RUN still gets it
    printf 'FROM bb:1\nRUN --mount=type=secret,id=tok test "$(cat /run/secrets/tok)" = rt8-secret-value\n' >"$CTX/Nodefile"
    TOK=rt8-secret-value run "$NBUILD" --network none --secret id=tok,env=TOK -t obs:2 "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
}

# Found: after a RUN step's container ran, nbuild kept the runtime's signal
# set (SIGINT, SIGTERM, SIGHUP blocked, no-op handlers) and the layer writer
# never looked at a stop: a Dockerfile's RUN truncate -s 1T made nbuild
# compress a terabyte of zeros on every CPU with ^C and SIGTERM queued and
# never seen (only SIGKILL ended it), and a stop after the last RUN was lost:
# the build went on and tagged its image.
@test "a stop while nbuild writes a huge layer (a sparse file of a RUN step): it stops at once, tags nothing, adds no blob, leaves no container" {
    printf 'FROM bb:1\nRUN truncate -s 100G /big\n' >"$CTX/Nodefile"
    local before out="$BATS_TEST_TMPDIR/nb.out" blk
    before=$(ls -A "$NRUN_ROOT/blobs/sha256")
    "$NBUILD" --progress=plain --network none -t sparse:1 "$CTX" >"$out" 2>&1 &
    RT8_NB=$!
    for _ in $(seq 600); do grep -q -- '--> DONE' "$out" && break; sleep 0.1; done
    grep -q -- '--> DONE' "$out"
    # the step is done and its layer is being written: the build's stop
    # signals are its own again (not blocked)
    blk=$(awk '/^SigBlk:/ {print $2}' "/proc/$RT8_NB/task/$RT8_NB/status")
    echo "SigBlk $blk"
    (( (0x$blk & (1 << 1)) == 0 && (0x$blk & (1 << 14)) == 0 ))
    kill -INT "$RT8_NB"
    local st=0
    wait "$RT8_NB" || st=$?
    RT8_NB=
    cat "$out"
    [ "$st" -ne 0 ]
    grep -q interrupted "$out"
    [ -z "$(manifest_of sparse:1)" ]
    [ "$(ls -A "$NRUN_ROOT/blobs/sha256")" = "$before" ]
    [ -z "$(ls "$NRUN_ROOT/containers" | grep -v '^\.')" ]
}

@test "the stdio hand-over to a non-root user (rt_stdio_own) never reaches the caller's own pipes: run and exec from a host pipe keep its owner" {
    id=$(rt_run -d bb:1 sleep 100)
    # the pipe nrun writes to is this shell's; the reader stats it while the
    # container's uid 1000 writes through /dev/stdout
    for cmd in "run --rm -u 1000 bb:1" "exec -u 1000 $id"; do
        run bash -c "\"\$NRUN\" $cmd sh -c 'sleep 1; echo hi >/dev/stdout' | { sleep 0.5; stat -L -c %u /proc/self/fd/0; cat; }"
        echo "$cmd: $output"
        [ "${lines[0]}" = 0 ]
        [ "${lines[1]}" = hi ]
    done
    # the same from the caller's stdin
    run bash -c "{ sleep 1.5; echo in; } | \"\$NRUN\" exec -i -u 1000 $id sh -c 'cat /dev/stdin' & p=\$!; sleep 0.7; stat -L -c %u /proc/\$p/fd/0 2>/dev/null || stat -L -c %u /proc/\$(pgrep -P \$\$ -n)/fd/0; wait"
    echo "$output"
    [ "${lines[0]}" = 0 ]
}
