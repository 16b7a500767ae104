#!/usr/bin/env bats
# Build steps are hostile too: a RUN enters a container through the runtime's
# one entry, and COPY --from reads a stage's tree, which the stage's own
# commands made (symlinks pointing anywhere).
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    rt_bb_image bbase:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    export CTX="$BATS_FILE_TMPDIR/ctx"
    mkdir -p "$CTX"
    # a secret only the host has
    export SECRET_FILE="$BATS_FILE_TMPDIR/host-secret"
    echo "host-secret-$$-$RANDOM" >"$SECRET_FILE"
}

teardown() { rt_rm_all; }

teardown_file() { rt_file_teardown; }

# Every layer blob of the store: fails if one holds $1.
no_layer_holds() {
    local b
    for b in "$NRUN_ROOT"/blobs/sha256/*; do
        if gzip -t "$b" 2>/dev/null && zcat "$b" | grep -qaF "$1"; then
            echo "a layer holds $1: $b" >&2
            return 1
        fi
    done
}

# A Nodefile whose stage s plants links to the host's secret, then copies $1 from it.
links_nodefile() {
    printf 'FROM bbase:1 AS s\n' >"$CTX/Nodefile"
    printf 'RUN ln -s %s /leak && ln -s / /rootlink && mkdir -p /d && ln -s ../../../..%s /d/up && ln -s %s /d/abs\n' \
        "$SECRET_FILE" "$SECRET_FILE" "$SECRET_FILE" >>"$CTX/Nodefile"
    printf 'FROM bbase:1\nCOPY --from=s %s /x\n' "$1" >>"$CTX/Nodefile"
}

# The Nodefile $1 (printf %b escapes), whose RUN --mount binds "out": a link
# in the context to the host secret's directory.  The build as $2 fails and
# never prints $secret; the link is removed.
refused_through_link() {
    ln -sfn "$(dirname "$SECRET_FILE")" "$CTX/out"
    printf '%b' "$1" >"$CTX/Nodefile"
    run "$NBUILD" --no-cache -t "$2" "$CTX"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" != *"$secret"* ]]
    rm "$CTX/out"
}

@test "COPY --from: a stage's symlinks to host paths are never followed out of the stage" {
    secret=$(cat "$SECRET_FILE")
    links_nodefile /d
    run "$NBUILD" -t cf:1 "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm cf:1 sh -c 'readlink /x/up; readlink /x/abs; cat /x/up /x/abs 2>&1'
    echo "$output"
    [ "${lines[0]}" = "../../../..$SECRET_FILE" ] # copied as links, never followed
    [[ "$output" != *"$secret"* ]]
    for src in /leak "/rootlink$SECRET_FILE" /d/up /d/abs /rootlink/etc/hostname; do
        links_nodefile "$src"
        run "$NBUILD" -t cf:2 "$CTX"
        echo "$src: $status $output"
        [[ "$output" != *"$secret"* ]]
        if [ "$status" -eq 0 ]; then
            run rt_run --rm cf:2 sh -c 'cat /x 2>&1; ls -la /x'
            [[ "$output" != *"$secret"* ]]
        fi
    done
    no_layer_holds "$secret"
}

@test "RUN: no host fd, a read-only trust store, the host's bundle unchanged, no host path in its mounts" {
    ca=/etc/ssl/certs/ca-certificates.crt
    [ -f "$ca" ] || skip "the host has no $ca"
    before=$(sha256sum <"$ca")
    cat >"$CTX/Nodefile" <<'EOF'
FROM bbase:1
RUN ls /proc/self/fd | tr '\n' ' ' >/fds; echo >>/fds; \
    (echo x >>"$NODE_EXTRA_CA_CERTS" && echo CA-WRITABLE) >/ca-write 2>&1; \
    cut -d' ' -f4 /proc/self/mountinfo | sort -u >/roots
EOF
    run "$NBUILD" --no-cache -t rs:1 "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm rs:1 sh -c 'cat /fds /ca-write; cat /roots'
    echo "$output"
    [ "${lines[0]}" = "0 1 2 3 " ] # stdio and ls's own directory fd
    [[ "$output" != *CA-WRITABLE* ]]
    [ "$(sha256sum <"$ca")" = "$before" ]
    [[ "$output" != *"$NRUN_ROOT"* ]]
}

@test "RUN --mount: a bind source through a symlink out of the context, a secret from a FIFO or /dev/zero: refused" {
    secret=$(cat "$SECRET_FILE")
    refused_through_link 'FROM bbase:1\nRUN --mount=type=bind,source=out/host-secret,target=/m cat /m\n' mb:1
    mkfifo "$BATS_FILE_TMPDIR/fifo"
    printf 'FROM bbase:1\nRUN --mount=type=secret,id=s cat /run/secrets/s\n' >"$CTX/Nodefile"
    for src in "$BATS_FILE_TMPDIR/fifo" /dev/zero "$BATS_FILE_TMPDIR"; do
        run timeout 20 "$NBUILD" --no-cache --secret "id=s,src=$src" -t mb:2 "$CTX"
        echo "$src: $status $output"
        [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
        [[ "$output" == *"$src"* ]]
    done
    no_layer_holds "$secret"
}

@test "RUN --mount=type=bind never shows the step a file the ignore file excludes" {
    c=$BATS_FILE_TMPDIR/ign
    mkdir -p "$c/app/conf" "$c/src"
    echo "ignored-secret-$$" >"$c/.env"
    echo "ignored-cred-$$" >"$c/app/conf/credentials.json"
    echo code >"$c/src/main.js"
    printf '.env\n**/credentials.json\n' >"$c/.dockerignore"
    for src in . app app/conf .,rw app/conf,rw; do # rw: checked again in its overlay
        printf 'FROM bbase:1\nRUN --mount=type=bind,source=%s,target=/ctx cat /ctx/.env /ctx/conf/credentials.json /ctx/credentials.json >/leak 2>&1; true\n' \
            "$src" >"$c/Nodefile"
        run "$NBUILD" --no-cache -t ign:1 "$c"
        echo "$src: $status $output"
        [ "$status" -ne 0 ]
        [[ "$output" == *"which the ignore file excludes"* ]]
        [[ "$output" != *ignored-secret* && "$output" != *ignored-cred* ]]
    done
    # a directory without excluded files binds
    printf 'FROM bbase:1\nRUN --mount=type=bind,source=src,target=/ctx cp /ctx/main.js /copied\n' >"$c/Nodefile"
    run "$NBUILD" --no-cache -t ign:2 "$c"
    [ "$status" -eq 0 ]
    no_layer_holds "ignored-secret-$$"
    no_layer_holds "ignored-cred-$$"
}

@test "an ignore file that is a link out of the context (.dockerignore, Nodefile.dockerignore) never reads the host's file" {
    c=$BATS_FILE_TMPDIR/ignlink
    mkdir -p "$c/conf"
    # the host's file names a context file: read as patterns, it would
    # exclude that file from the image, an oracle of the host file's lines
    h=$BATS_FILE_TMPDIR/host-patterns
    echo "guess-$$" >"$h"
    echo "probe-$$" >"$c/guess-$$"
    printf 'FROM bbase:1\nCOPY . /ctx/\n' >"$c/Nodefile"
    for f in .dockerignore .nbuildignore Nodefile.dockerignore; do
        ln -s "$h" "$c/$f"
        run "$NBUILD" --no-cache -t ignlink:1 "$c"
        echo "$f: $status $output"
        [ "$status" -ne 0 ]
        [[ "$output" == *"ignore file "*"$f: a symlink that resolves inside the build context"* ]]
        [ "${#lines[@]}" -eq 1 ]
        [ -z "$(manifest_of ignlink:1)" ]
        rm "$c/$f"
    done
    # a link inside the context (absolute: the context is its root) is read
    echo "guess-$$" >"$c/conf/ignore"
    ln -s /conf/ignore "$c/.dockerignore"
    "$NBUILD" --no-cache -t ignlink:2 "$c" >/dev/null
    run "$NRUN" run --rm ignlink:2 ls /ctx
    [ "$status" -eq 0 ]
    [[ "$output" == *conf* && "$output" != *"guess-$$"* ]]
}

@test "the context's Nodefile, Dockerfile or package.json as a link out of the context never shows the host's file" {
    c=$BATS_FILE_TMPDIR/nflink
    mkdir -p "$c/docker"
    h=$BATS_FILE_TMPDIR/host-secret
    echo "hostline-$$ secret" >"$h"
    for f in Nodefile Dockerfile dockerfile package.json; do
        ln -s "$h" "$c/$f"
        run "$NBUILD" --no-cache -t nflink:1 "$c"
        echo "$f: $status $output"
        [ "$status" -ne 0 ]
        [[ "$output" != *"hostline-$$"* ]]
        [[ "$output" == *"$f: a symlink that resolves inside the build context"* ]]
        [ "${#lines[@]}" -eq 1 ]
        [ -z "$(manifest_of nflink:1)" ]
        rm "$c/$f"
    done
    # a link inside the context is read, relative or absolute (the context is its root)
    printf 'FROM bbase:1\nCMD ["true"]\n' >"$c/docker/Dockerfile.prod"
    for target in docker/Dockerfile.prod /docker/Dockerfile.prod; do
        ln -s "$target" "$c/Dockerfile"
        "$NBUILD" --no-cache -t nflink:2 "$c" >/dev/null
        [ -n "$(manifest_of nflink:2)" ]
        rm "$c/Dockerfile"
    done
}

@test "RUN --mount=type=bind through a link to a directory holding an excluded file: refused as the directory itself is" {
    # the ignore file judges the path the source resolved to: pub -> app/conf
    # (relative, or absolute as the context's root) showed app/conf/key.pem
    c=$BATS_FILE_TMPDIR/ign-link
    mkdir -p "$c/app/conf"
    echo "ignored-key-$$" >"$c/app/conf/key.pem"
    ln -s app/conf "$c/pub"
    ln -s /app/conf "$c/pub-abs"
    ln -s /app "$c/up"
    printf 'app/conf/key.pem\n' >"$c/.dockerignore"
    for src in pub pub-abs up/conf pub,rw pub-abs,rw; do
        printf 'FROM bbase:1\nRUN --mount=type=bind,source=%s,target=/ctx cat /ctx/key.pem >/leak 2>&1; true\n' \
            "$src" >"$c/Nodefile"
        run "$NBUILD" --no-cache -t ignl:1 "$c"
        echo "$src: $status $output"
        [ "$status" -ne 0 ]
        [[ "$output" == *"it holds app/conf/key.pem, which the ignore file excludes"* ]]
        [[ "$output" != *ignored-key* ]]
    done
    no_layer_holds "ignored-key-$$"
}

@test "RUN --mount=type=bind,from=STAGE: '..', absolute and relative links in the stage resolve inside the stage, never to the host" {
    mkdir -p "$CTX"
    cat >"$CTX/Nodefile" <<'NF'
FROM bbase:1 AS evil
RUN mkdir -p /etc /deep/a/b && echo stage-etc >/etc/stage-marker && ln -s /etc /abs && ln -s ../../../../../../../etc /deep/a/b/rel && ln -s /proc/self/root/etc /magic
FROM bbase:1
RUN --mount=type=bind,from=evil,source=../../../../etc,target=/m1 --mount=type=bind,from=evil,source=/abs,target=/m2 --mount=type=bind,from=evil,source=/deep/a/b/rel,target=/m3 sh -c 'for m in /m1 /m2 /m3; do cat $m/stage-marker; test -e $m/debian_version && echo HOST-ETC; done >/seen; true'
NF
    [ -e /etc/debian_version ] || skip "the probe needs a host file the stage lacks (/etc/debian_version)"
    run "$NBUILD" --no-cache -t mf:1 "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(rt_run --rm mf:1 cat /seen)" = "stage-etc
stage-etc
stage-etc" ]
    # a magic link (/proc/self/root/...) as the source is refused, not followed
    printf 'FROM bbase:1 AS evil\nRUN ln -s /proc/self/root/etc /magic\nFROM bbase:1\nRUN --mount=type=bind,from=evil,source=/magic,target=/m cat /m/hostname\n' >"$CTX/Nodefile"
    run "$NBUILD" --no-cache -t mf:2 "$CTX"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:4:"*"source=/magic"* ]]
    [ -z "$(ls -A "$NRUN_ROOT/cache/build/binds" 2>/dev/null)" ]
    ! grep -qF " $NRUN_ROOT/cache/build/binds" /proc/mounts || false
}

@test "RUN --mount=type=bind,rw: a source through a symlink out of the context is refused; rw writes never reach the host" {
    secret=$(cat "$SECRET_FILE")
    refused_through_link 'FROM bbase:1\nRUN --mount=type=bind,rw,source=out,target=/m sh -c "cat /m/host-secret; echo pwned >/m/host-secret"\n' rwb:1
    [ "$(cat "$SECRET_FILE")" = "$secret" ]
    # a rw bind of the context: the step's writes (even through a link it makes) stay in its overlay
    echo keep >"$CTX/file"
    printf 'FROM bbase:1\nRUN --mount=type=bind,rw,target=/c sh -c "echo pwned >/c/file; ln -s %s /c/lnk; echo pwned >/c/lnk/host-secret 2>/dev/null; true"\n' \
        "$(dirname "$SECRET_FILE")" >"$CTX/Nodefile"
    run "$NBUILD" --no-cache -t rwb:2 "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(cat "$CTX/file")" = keep ]
    [ ! -e "$CTX/lnk" ]
    [ "$(cat "$SECRET_FILE")" = "$secret" ]
    rm -f "$CTX/file"
}

@test "RUN --mount targets with '..' or through a link in the image stay inside the container" {
    printf 'FROM bbase:1\nRUN ln -s / /up\nRUN --mount=type=tmpfs,target=/up/../../../tmp/t1 --mount=type=tmpfs,target=/up/tmp/t2 sh -c "touch /tmp/t1/x /tmp/t2/y"\n' >"$CTX/Nodefile"
    run "$NBUILD" --no-cache -t tg:1 "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    # the tmpfs were in the container's /tmp (the link resolved in its root), so nothing stayed
    [ "$(rt_run --rm tg:1 sh -c 'test ! -e /tmp/t1/x && test ! -e /tmp/t2/y && echo clean')" = clean ]
    [ ! -e /tmp/t1 ] && [ ! -e /tmp/t2 ] # whatever the step did, on the host: nothing
    ! grep -qE ' /tmp/t[12] ' /proc/mounts || false
    [ ! -e /up ]
}

@test "RUN --mount values from variables (a --build-arg) get the checks literal ones get: '..' targets stay inside, a secret id with '/' is refused" {
    printf 'FROM bbase:1\nARG T\nARG I\nRUN --mount=type=tmpfs,target=$T sh -c "touch /tmp/t3/x"\nRUN --mount=type=secret,id=$I true\n' >"$CTX/Nodefile"
    run "$NBUILD" --no-cache --build-arg T=../../../../tmp/t3 --build-arg I=../../etc/passwd -t tv:1 "$CTX"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *'Nodefile:5:5: RUN --mount=type=secret: bad id "../../etc/passwd"'* ]]
    [[ "$output" != *"root:x:0"* ]]
    [ ! -e /tmp/t3 ]
    ! grep -qE ' /tmp/t3 ' /proc/mounts || false
    [ -z "$(manifest_of tv:1)" ]
}

@test "proxy build args: credentials in them reach no layer, config, cache record or output; look-alike names are ordinary args" {
    cred="u:pw-$$-$RANDOM"
    px="http://$cred@127.0.0.1:9/"
    # the step sees the proxy; an undeclared arg that only looks like one (a
    # longer name, a prefix) is not passed, as for any undeclared ARG
    printf 'FROM bbase:1\nRUN test -n "$HTTPS_PROXY" && test -z "$HTTPS_PROXY_X$http_prox$TOKEN" && touch /ok\n' >"$CTX/Nodefile"
    run "$NBUILD" --progress=plain -t px:1 --build-arg "HTTPS_PROXY=$px" --build-arg "HTTPS_PROXY_X=$px" \
        --build-arg "http_prox=$px" --build-arg "TOKEN=$px" "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    # the look-alikes are reported unconsumed, by name only; the proxy is not
    [[ "$output" == *"build-arg HTTPS_PROXY_X was not consumed"* ]]
    [[ "$output" == *"build-arg TOKEN was not consumed"* ]]
    [[ "$output" != *"build-arg HTTPS_PROXY was"* ]]
    [[ "$output" != *"$cred"* ]]
    no_layer_holds "$cred"
    run grep -rlaF "$cred" "$NRUN_ROOT/blobs" "$NRUN_ROOT/cache"
    [ "$status" -eq 1 ]
    # a failing step's report does not print the environment
    printf 'FROM bbase:1\nRUN echo failing; exit 3\n' >"$CTX/Nodefile"
    run "$NBUILD" -t px:2 --build-arg "http_proxy=$px" "$CTX"
    [ "$status" -ne 0 ]
    [[ "$output" != *"$cred"* ]]
}

@test "ONBUILD triggers of a hostile base image: not a list, not strings, several lines, FROM, too many, a COPY out of the context: one line naming the trigger, nothing tagged" {
    local many
    many=$(jq -nc '[range(65) | "RUN true"]')
    rt_bb_image ob-notlist:1 '{"Env":["PATH=/bin"],"OnBuild":"RUN true"}'
    rt_bb_image ob-nonstr:1 '{"Env":["PATH=/bin"],"OnBuild":[7]}'
    rt_bb_image ob-lines:1 '{"Env":["PATH=/bin"],"OnBuild":["RUN true\nRUN cat /etc/shadow"]}'
    rt_bb_image ob-from:1 '{"Env":["PATH=/bin"],"OnBuild":["FROM bbase:1"]}'
    rt_bb_image ob-many:1 "{\"Env\":[\"PATH=/bin\"],\"OnBuild\":$many}"
    rt_bb_image ob-escape:1 '{"Env":["PATH=/bin"],"OnBuild":["COPY ../../../../../../etc/passwd /x"]}'
    local want=(
        "ob-notlist:1:Nodefile:1:1: FROM ob-notlist:1: the image's OnBuild is not a list of at most 64 instructions"
        "ob-nonstr:1:Nodefile:1: ONBUILD trigger 1 of ob-nonstr:1: not one instruction line"
        "ob-lines:1:Nodefile:1: ONBUILD trigger 1 of ob-lines:1: not one instruction line"
        "ob-from:1:Nodefile:1: ONBUILD trigger 1 of ob-from:1:1:1: FROM isn't allowed as an ONBUILD trigger"
        "ob-many:1:Nodefile:1:1: FROM ob-many:1: the image's OnBuild is not a list of at most 64 instructions"
        "ob-escape:1:Nodefile:1: ONBUILD trigger 1 of ob-escape:1:1:6: COPY: source ../../../../../../etc/passwd is outside the build context"
    )
    local w img
    for w in "${want[@]}"; do
        img=${w%%:Nodefile*}
        printf 'FROM %s\nRUN true\n' "$img" >"$CTX/Nodefile"
        run "$NBUILD" -t obx:1 "$CTX"
        echo "$output"
        [ "$status" -ne 0 ]
        [[ "$output" == *"${w#"$img":}"* ]]
        [ "$(echo "$output" | wc -l)" -le 3 ]
        [ -z "$(manifest_of obx:1)" ]
    done
}

@test "--iidfile / --metadata-file: a hard link or a symlink planted at the path is replaced or refused, its other file never written" {
    printf 'FROM bbase:1\nLABEL a=1\n' >"$CTX/Nodefile"
    echo victim >"$BATS_FILE_TMPDIR/victim"
    ln -f "$BATS_FILE_TMPDIR/victim" "$BATS_FILE_TMPDIR/iid"
    ln -f "$BATS_FILE_TMPDIR/victim" "$BATS_FILE_TMPDIR/md.json"
    run "$NBUILD" -q --iidfile "$BATS_FILE_TMPDIR/iid" --metadata-file "$BATS_FILE_TMPDIR/md.json" -t iid:1 "$CTX"
    [ "$status" -eq 0 ]
    [ "$(cat "$BATS_FILE_TMPDIR/victim")" = victim ]
    [[ $(cat "$BATS_FILE_TMPDIR/iid") == sha256:* ]]
    [ "$(stat -c %h "$BATS_FILE_TMPDIR/victim")" = 1 ]
    # a symlink (to a host file) is refused before anything is built
    ln -sf "$SECRET_FILE" "$BATS_FILE_TMPDIR/iid2"
    before=$(cat "$SECRET_FILE")
    run "$NBUILD" -q --iidfile "$BATS_FILE_TMPDIR/iid2" -t iid:2 "$CTX"
    [ "$status" -eq 2 ]
    [ "$output" = "nbuild: --iidfile $BATS_FILE_TMPDIR/iid2: not a regular file" ]
    [ "$(cat "$SECRET_FILE")" = "$before" ]
    # no temporary file is left beside them
    [ -z "$(find "$BATS_FILE_TMPDIR" -maxdepth 1 -name '.iid*' -o -maxdepth 1 -name '.md.json*')" ]
}

@test "nbuild -: a Nodefile on stdin past the 4 MiB cap, or endless (/dev/zero), is refused; the store unchanged" {
    before=$(nr_tree_hash "$NRUN_ROOT")
    run "$NBUILD" -t big:1 - </dev/zero
    [ "$status" -eq 1 ]
    [ "$output" = "nbuild: stdin: a Nodefile is at most 4 MiB" ]
    run "$NBUILD" -t big:1 - < <(head -c $((5 << 20)) /dev/zero | tr '\0' '#')
    [ "$status" -eq 1 ]
    [ "$output" = "nbuild: stdin: a Nodefile is at most 4 MiB" ]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

@test "--build-context DIR: links in the named directory (absolute, '..') never read the host's files; its .dockerignore as a link out is not read from the host" {
    nd=$BATS_FILE_TMPDIR/named && rm -rf "$nd" && mkdir -p "$nd/sub"
    ln -s "$SECRET_FILE" "$nd/abs"
    ln -s "../../$(basename "$SECRET_FILE")" "$nd/sub/up"
    ln -s "$SECRET_FILE" "$nd/.dockerignore"
    printf 'FROM bbase:1\nCOPY --from=docs / /d/\n' >"$CTX/Nodefile"
    run "$NBUILD" -q --build-context docs="$nd" -t nd:1 "$CTX"
    [ "$status" -eq 1 ]
    [[ $output == *"Nodefile:2:6: COPY --from=docs: --build-context docs: build context $nd: ignore file .dockerignore: a symlink that resolves inside the build context (as BuildKit does), and nothing is there" ]]
    [[ $output != *"$(cat "$SECRET_FILE")"* ]]
    rm "$nd/.dockerignore"
    run "$NBUILD" -q --build-context docs="$nd" -t nd:1 "$CTX"
    [ "$status" -eq 0 ]
    no_layer_holds "$(cat "$SECRET_FILE")"
    for src in abs sub/up; do
        printf 'FROM bbase:1\nCOPY --from=docs %s /x\n' "$src" >"$CTX/Nodefile"
        run "$NBUILD" -q --build-context docs="$nd" -t nd:2 "$CTX"
        [ "$status" -eq 1 ]
        [[ $output == *"Nodefile:2:"*"COPY --from=docs: source $src not found in the build context: it is a symlink to"* ]]
        [[ $output != *"$(cat "$SECRET_FILE")"* ]]
    done
    no_layer_holds "$(cat "$SECRET_FILE")"
}

@test "--ssh: a step's agent socket keeps the mount's owner and mode (USER 1000 cannot use a 0600 root one), a step without the mount has none, and the caller's agent path is never shown to a step" {
    command -v ssh-agent >/dev/null || skip "no ssh-agent (make deps installs openssh-client)"
    rt_ssh_image sshsec:1
    ssh-keygen -q -t ed25519 -N '' -C sec-key -f "$BATS_FILE_TMPDIR/skey"
    eval "$(ssh-agent -s -a "$BATS_FILE_TMPDIR/sagent.sock")" >/dev/null
    ssh-add -q "$BATS_FILE_TMPDIR/skey"
    cat >"$CTX/Nodefile" <<'EOF'
FROM sshsec:1
USER 1000:1000
RUN --mount=type=ssh ssh-add -l > /tmp/denied 2>&1; echo "rc=$?" >> /tmp/denied
RUN --mount=type=ssh,uid=1000,gid=1000 ssh-add -l > /tmp/allowed 2>&1
RUN env > /tmp/env; ls -la /run/buildkit > /tmp/nosock 2>&1; cat /proc/self/mountinfo > /tmp/mounts
EOF
    run "$NBUILD" -q --ssh default -t sshsec:2 "$CTX"
    kill "$SSH_AGENT_PID"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm sshsec:2 cat /tmp/denied
    [[ $output == *"Permission denied"* ]]
    [[ $output == *"rc=2"* || $output == *"rc=1"* ]]
    run rt_run --rm sshsec:2 cat /tmp/allowed
    [[ $output == *"sec-key (ED25519)" ]]
    run rt_run --rm sshsec:2 cat /tmp/env /tmp/nosock /tmp/mounts
    echo "$output"
    [[ $output != *SSH_AUTH_SOCK* ]]
    [[ $output == *"No such file or directory"* ]]
    [[ $output != *"$BATS_FILE_TMPDIR"* ]]
    no_layer_holds "$(cat "$BATS_FILE_TMPDIR/skey" | sed -n 2p)"
}

@test "Alpine translations (FROM node:20-alpine): package, group and user names with shell metacharacters or options are refused before apt or useradd sees them; the translations' directory is read-only and in no layer" {
    "$NR_REAL_NRUN" base node:20-slim >"$BATS_FILE_TMPDIR/slim.log" 2>&1 || { tail -5 "$BATS_FILE_TMPDIR/slim.log"; false; }
    cat >"$CTX/Nodefile" <<'EOF'
FROM node:20-alpine
RUN r=/probe; : >$r; \
    t() { if "$@" >>/probe.out 2>&1; then echo "accepted: $*" >>$r; fi; }; \
    t apk add 'x;touch /pwned'; \
    t apk add '$(touch /pwned)'; \
    t apk add '`touch /pwned`'; \
    t apk add -- '-oDpkg::Pre-Invoke::=touch /pwned' x; \
    t apk add '-oAPT::Update::Pre-Invoke::=touch /pwned' x; \
    t apk --virtual '../../../tmp/v' add x; \
    t apk add -t '/tmp/v' x; \
    t apk del '../../../etc/passwd'; \
    t apk add 'x*'; \
    t apk add 'a=$(touch /pwned)'; \
    t adduser -D 'u;touch /pwned'; \
    t adduser -D -- '-ou'; \
    t addgroup 'g$(touch /pwned)'; \
    t addgroup -g 1 -- '-r'; \
    t deluser 'node;touch /pwned'; \
    t delgroup -r node; \
    if touch /dev/nrun-alpine/apk 2>/dev/null || touch /dev/nrun-alpine/new 2>/dev/null; then echo "wrote the translations" >>$r; fi; \
    if [ -e /pwned ] || [ -e /tmp/v ] || getent passwd u >/dev/null || getent group g >/dev/null; then echo pwned >>$r; fi
EOF
    run "$NBUILD" --network none -t alsec:1 "$CTX"
    echo "$output" | tail -5
    [ "$status" -eq 0 ]
    run rt_run --rm alsec:1 sh -c 'cat /probe; echo ---; cat /probe.out'
    echo "$output"
    [ "${lines[0]}" = --- ]
    [ "$(grep -c 'is not a package name' <<<"$output")" -ge 7 ]
    [[ "$output" == *'add: "a=$(touch /pwned)" is not a package name'* ]]
    [[ "$output" == *'"/tmp/v" is not a group name'* ]]
    [[ "$output" == *'option -o is not translated'* ]]
    [[ "$output" == *'"u;touch /pwned" is not a user name'* ]]
    [[ "$output" == *'"-r" is not a group name'* ]]
    [[ "$output" == *'"node;touch /pwned" is not a user or group name'* ]]
    [[ "$output" == *'"-r" is not a user or group name'* ]]
    # the image holds none of it, and the host's copy is what nbuild wrote
    no_layer_holds "shellcheck disable=SC2086 # one checked name a line"
    new=$(find "$NRUN_ROOT/cache/build/alpine" -name compat.sh | head -1)
    [ -n "$new" ]
    cmp "$new" "$REPO/builder/alpine/compat.sh"
    [ "$(find "$NRUN_ROOT/cache/build/alpine" -mindepth 2 | wc -l)" -eq 8 ] # compat.sh, packages.txt, pins.txt, 5 links
}
