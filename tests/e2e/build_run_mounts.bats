#!/usr/bin/env bats
# RUN --mount=type=tmpfs, type=bind with from=STAGE|IMAGE, and rw binds
# (writes dropped after the step): what the step sees, what stays out of the
# layer, the source and the context, and what the cache key depends on.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    d="$BATS_FILE_TMPDIR/content"
    mkdir -p "$d/opt/keep"
    echo k >"$d/opt/keep/k"
    tar --numeric-owner -C "$d" -cf "$BATS_FILE_TMPDIR/content.tar" .
    rt_bb_image mbase:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$BATS_FILE_TMPDIR/content.tar"
    export W=$BATS_FILE_TMPDIR
}

teardown() { rt_rm_all; }

teardown_file() { rt_file_teardown; }

# a context with the Nodefile given as arguments (one line each)
ctx() {
    local c=$W/ctx.$BATS_TEST_NUMBER
    rm -rf "$c" && mkdir -p "$c"
    printf '%s\n' "$@" >"$c/Nodefile"
    echo "$c"
}
layer_files() { # every path in image $1's layers
    for l in $(jq -r '.layers[].digest' "$(blob "$(manifest_of "$1")")"); do tar tf "$(blob "$l")"; done |
        sed 's|^\./||; s|/$||' | sort -u
}
# nothing of the store's bind trees is left or mounted
no_bind_left() {
    [ -z "$(ls -A "$NRUN_ROOT/cache/build/binds" 2>/dev/null)" ]
    ! grep -qF " $NRUN_ROOT/cache/build/binds" /proc/mounts || false
}

@test "RUN --mount=type=tmpfs: an empty tmpfs for the step (size= caps it), in no layer" {
    c=$(ctx 'FROM mbase:1' \
        'RUN --mount=type=tmpfs,target=/scratch,size=1m grep " /scratch tmpfs " /proc/mounts && echo data >/scratch/f && ! dd if=/dev/zero of=/scratch/big bs=1k count=2048 2>/dev/null && echo ran >/ran' \
        'RUN --mount=type=tmpfs,target=/scratch test -z "$(ls -A /scratch)" && echo empty >/empty')
    run "$NBUILD" --progress=plain -t tm:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"size=1024k"* ]]
    layer_files tm:1 >"$W/tm.files"
    grep -qx ran "$W/tm.files"
    grep -qx empty "$W/tm.files"
    ! grep -q '^scratch' "$W/tm.files" || false
}

@test "RUN --mount=type=bind,from=STAGE and from=IMAGE: the stage's or image's files, read-only, in no layer; the key follows the stage" {
    c=$(ctx 'FROM mbase:1 AS gen' \
        'RUN mkdir /out && echo built-v1 >/out/x' \
        'FROM mbase:1' \
        'RUN --mount=type=bind,from=gen,source=/out,target=/m cp /m/x /copied && ! touch /m/w 2>/dev/null' \
        'RUN --mount=type=bind,from=mbase:1,source=opt/keep,target=/k cp /k/k /k-copied')
    run "$NBUILD" --progress=plain -t bf:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    rt_run --rm bf:1 cat /copied /k-copied >"$W/out"
    [ "$(cat "$W/out")" = "built-v1
k" ]
    ! layer_files bf:1 | grep -qx 'm\|k\|m/x' || false
    no_bind_left
    # no change: every step CACHED; the source stage changed: the RUN reading it runs again
    run "$NBUILD" --progress=plain -t bf:2 "$c"
    [ "$(echo "$output" | grep -c '^--> DONE')" -eq 0 ]
    sed -i 's/built-v1/built-v2/' "$c/Nodefile"
    run "$NBUILD" --progress=plain -t bf:3 "$c"
    [ "$status" -eq 0 ]
    [ "$(rt_run --rm bf:3 cat /copied)" = built-v2 ]
    no_bind_left
}

@test "RUN --mount=type=bind,rw: the step writes, the writes are gone after it (context, stage and layer unchanged)" {
    c=$(ctx 'FROM mbase:1 AS gen' \
        'RUN mkdir /out && echo orig >/out/x' \
        'FROM mbase:1' \
        'RUN --mount=type=bind,rw,target=/src echo new >/src/new && echo changed >>/src/hello.txt && cat /src/hello.txt >/seen' \
        'RUN --mount=type=bind,from=gen,source=/out,target=/o,rw echo scribbled >/o/x && rm -f /o/missing && cat /o/x >/seen2' \
        'COPY --from=gen /out/x /after-x')
    echo hello >"$c/hello.txt"
    before=$(nr_tree_hash "$c")
    run "$NBUILD" --progress=plain -t rw:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(nr_tree_hash "$c")" = "$before" ]
    [ "$(rt_run --rm rw:1 cat /seen)" = "hello
changed" ]
    [ "$(rt_run --rm rw:1 cat /seen2)" = scribbled ]
    [ "$(rt_run --rm rw:1 cat /after-x)" = orig ]
    ! layer_files rw:1 | grep -q '^src\|^o$\|^o/' || false
    no_bind_left
}

@test "RUN --mount=type=bind: a source through a symlink resolves with the context as its root, as COPY's (an absolute or climbing link names the context's own path)" {
    c=$(ctx 'FROM mbase:1' \
        'RUN --mount=type=bind,source=abs,target=/a --mount=type=bind,source=sub/up,target=/u --mount=type=bind,source=abs/f,target=/f.txt cat /a/f /u/f /f.txt' \
        'RUN --mount=type=bind,rw,source=sub/up,target=/w sh -c "echo changed >/w/f; cat /w/f"')
    mkdir -p "$c/data" "$c/sub"
    echo inside >"$c/data/f"
    ln -s /data "$c/abs"
    ln -s ../../../../data "$c/sub/up"
    run "$NBUILD" --no-cache --progress=plain -t bl:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(grep -cx inside <<<"$output")" -eq 3 ]
    grep -qx changed <<<"$output"
    [ "$(cat "$c/data/f")" = inside ]
    no_bind_left
}

@test "RUN --mount: size= on a bind, from= on a cache, from= a later or unknown stage: errors with file:line:col, nothing tagged" {
    run "$NBUILD" -t me:1 "$(ctx 'FROM mbase:1' 'RUN --mount=type=bind,size=1m,target=/x true')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:"*"size= applies to type=tmpfs only"* ]]
    run "$NBUILD" -t me:2 "$(ctx 'FROM mbase:1' 'RUN --mount=type=cache,from=x,target=/x true')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:"*"from= is supported for type=bind only"* ]]
    run "$NBUILD" -t me:3 "$(ctx 'FROM mbase:1' 'RUN --mount=type=bind,from=1,target=/x true')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:"*"not an earlier stage"* ]]
    run "$NBUILD" -t me:4 "$(ctx 'FROM mbase:1' 'RUN --mount=type=bind,from=nosuch:1,target=/x true')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:"*"from=nosuch:1"* ]]
    [ -z "$(manifest_of me:4)" ]
}

@test "RUN --mount=type=secret,env=VAR: the secret as the step's variable (and a file only with target=), in no layer, config or store" {
    c=$(ctx 'FROM mbase:1' \
        'RUN --mount=type=secret,id=tok,env=TOK sh -c '"'"'test ! -e /run/secrets/tok && echo "env-only ${#TOK}" > /r1'"'" \
        'RUN --mount=type=secret,id=tok,env=TOK2,target=/run/t sh -c '"'"'test -n "$TOK2" && test "$TOK2" = "$(cat /run/t)" && echo both > /r2'"'" \
        'RUN --mount=type=secret,id=absent,env=ABS sh -c '"'"'test -z "${ABS+set}" && echo unset > /r3'"'")
    SECRET_TOK=s3cr3t-v run "$NBUILD" --progress=plain --secret id=tok,env=SECRET_TOK -t se:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *s3cr3t-v* ]]
    run rt_run --rm se:1 cat /r1 /r2 /r3
    [ "$output" = "$(printf 'env-only 8\nboth\nunset')" ]
    run cfg se:1 '.config.Env'
    [[ "$output" != *TOK* ]]
    ! grep -rqF s3cr3t-v "$NRUN_ROOT" || false
    layer_files se:1 | grep -qx 'run/t' && false
    # the key holds the variable's name: another name runs the step again
    c2=$(ctx 'FROM mbase:1' 'RUN --mount=type=secret,id=tok,env=OTHER sh -c '"'"'test -n "$OTHER"'"'")
    SECRET_TOK=s3cr3t-v run "$NBUILD" --progress=plain --secret id=tok,env=SECRET_TOK -t se:2 "$c2"
    [ "$status" -eq 0 ]
    [[ "$output" != *CACHED* ]]
}

@test "RUN --mount=type=secret,env=: a bad name, env= on another type, a required secret not given: file:line:col, nothing tagged" {
    run "$NBUILD" -t sb:1 "$(ctx 'FROM mbase:1' 'RUN --mount=type=secret,id=a,env=1X true')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:5: RUN --mount: unknown or bad option \"env=1X\""* ]]
    run "$NBUILD" -t sb:2 "$(ctx 'FROM mbase:1' 'RUN --mount=type=cache,target=/c,env=X true')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:5: RUN --mount: env= applies to type=secret only"* ]]
    run "$NBUILD" -t sb:3 "$(ctx 'FROM mbase:1' 'RUN --mount=type=secret,id=gone,env=G,required true')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:5: RUN --mount=type=secret,id=gone: required, and no --secret id=gone given"* ]]
    run "$NBUILD" -t sb:4 "$(ctx 'FROM mbase:1' 'RUN --mount=type=secret,env=NOID true')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:5: RUN --mount=type=secret needs an id"* ]]
    for t in sb:1 sb:2 sb:3 sb:4; do [ -z "$(manifest_of $t)" ]; done
}

@test "RUN --mount option values expand ARG and ENV (id=pnpm-\$TARGETARCH, target=\$PNPM_HOME/store), as BuildKit's do; a bad expanded value is an error at its flag" {
    c=$(ctx 'FROM mbase:1' 'ENV PNPM_HOME=/pnpm' 'ARG TARGETARCH' 'ARG WHO=1234' \
        'RUN --mount=type=cache,id=pnpm-$TARGETARCH,target=$PNPM_HOME/store,uid=${WHO} echo kept > /pnpm/store/f && stat -c %u /pnpm/store > /u' \
        'RUN --mount=type=cache,id=pnpm-amd64,target=/c cat /c/f > /seen')
    run "$NBUILD" -t mx:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm mx:1 cat /u /seen
    [ "$output" = "$(printf '1234\nkept')" ]
    # the cache's content is in no layer
    run layer_files mx:1
    [[ "$output" != *store/f* ]]
    run "$NBUILD" -t mx:2 "$(ctx 'FROM mbase:1' 'RUN echo ran' 'ARG M=0999' 'RUN --mount=type=cache,target=/c,mode=$M true')"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *'Nodefile:4:5: RUN --mount: unknown or bad option "mode=0999"'* ]]
    [ -z "$(manifest_of mx:2)" ]
}

@test "--ssh: RUN --mount=type=ssh reaches the agent (the caller's socket, or key files in an agent of the build's own) through a socket of the step's own; nothing of it stays" {
    command -v ssh-agent >/dev/null || skip "no ssh-agent (make deps installs openssh-client)"
    rt_ssh_image sshbase:1
    ssh-keygen -q -t ed25519 -N '' -C nbuild-test-key -f "$W/key"
    fp=$(ssh-keygen -lf "$W/key.pub" | awk '{print $2}')
    eval "$(ssh-agent -s -a "$W/agent.sock")" >/dev/null
    ssh-add -q "$W/key"
    c=$(ctx 'FROM sshbase:1' \
        'RUN --mount=type=ssh ssh-add -l > /seen; echo "$SSH_AUTH_SOCK" > /sock; stat -c "%a %u:%g %F" /run/buildkit/ssh_agent.0 > /st' \
        'RUN --mount=type=ssh,id=keys,target=/tmp/a.sock,uid=1000,gid=1000,mode=0660 SSH_AUTH_SOCK=/tmp/a.sock ssh-add -l > /seen2' \
        'RUN ls /run/buildkit > /after 2>&1 || true')
    run "$NBUILD" --progress plain --ssh default --ssh "keys=$W/key" -t sshok:1 "$c"
    echo "$output"
    kill "$SSH_AGENT_PID"
    [ "$status" -eq 0 ]
    run rt_run --rm sshok:1 cat /seen /sock /st /seen2
    echo "$output"
    [[ ${lines[0]} == *"$fp nbuild-test-key (ED25519)" ]]
    [ "${lines[1]}" = /run/buildkit/ssh_agent.0 ]
    [ "${lines[2]}" = "600 0:0 socket" ]
    [[ ${lines[3]} == *"$fp nbuild-test-key (ED25519)" ]]
    # the socket is not in the image, the step after saw none
    run rt_run --rm sshok:1 sh -c 'test ! -e /run/buildkit/ssh_agent.0 && test ! -e /tmp/a.sock && cat /after'
    [ "$status" -eq 0 ]
    [[ $output == *"No such file"* || -z $output ]]
    # no relay or agent of ours is left, nor their directories
    [ -z "$(find "$NRUN_ROOT/cache/build" -name 'agent.sock' -o -name relay.pid)" ]
    ! pgrep -f "ssh-agent -D -a $NRUN_ROOT" >/dev/null
}

@test "--ssh: bad values are one line before anything runs; required with no --ssh of its ID stops the build at its place" {
    before=$(nr_tree_hash "$NRUN_ROOT")
    c=$(ctx 'FROM mbase:1' 'RUN --mount=type=ssh true')
    for v in "x=$W/nonexistent" 'bad id=x' "other" "x=/dev/null"; do
        run "$NBUILD" --ssh "$v" -t sshbad:1 "$c"
        echo "$v: $output"
        [ "$status" -eq 2 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ $output == "nbuild: --ssh"* ]]
    done
    run env -u SSH_AUTH_SOCK "$NBUILD" --ssh default -t sshbad:1 "$c"
    [ "$status" -eq 2 ]
    [ "$output" = "nbuild: --ssh default: SSH_AUTH_SOCK is not set (start ssh-agent, or give =SOCKET|KEY)" ]
    echo notakey >"$W/notakey"
    c=$(ctx 'FROM mbase:1' 'RUN echo ran-first' 'RUN --mount=type=ssh,id=k,required true')
    run "$NBUILD" --ssh "k=$W/notakey" -t sshbad:1 "$c"
    echo "$output"
    [ "$status" -eq 1 ]
    [ "$output" = "nbuild: --ssh k: ssh-add $W/notakey failed (not a private key, or one with a passphrase: add it to your own agent and give --ssh k=\$SSH_AUTH_SOCK)" ]
    ! pgrep -f "ssh-agent -D -a $NRUN_ROOT" >/dev/null
    ssh-keygen -q -t ed25519 -N '' -f "$W/key2"
    run "$NBUILD" --ssh "default=$W/key2" -t sshbad:1 "$c"
    [ "$status" -eq 1 ]
    [[ $output == *"Nodefile:3:5: RUN --mount=type=ssh,id=k,required: no --ssh k given"* ]]
    [[ $output != *ran-first* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}
