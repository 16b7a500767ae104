# Helpers for the runtime's bats tests (tests/e2e/runtime*.bats): test images
# made without nbuild (a busybox-static rootfs, the host's node with its
# libraries), every container started through `rt_nrun run` so its id is
# recorded, and the end-of-file check that nothing is left behind.

# nrun run with --cidfile, so teardown knows every container this file made.
rt_run() {
    mkdir -p "$BATS_FILE_TMPDIR/cids"
    "$NRUN" run --cidfile "$(mktemp -u "$BATS_FILE_TMPDIR/cids/XXXXXX")" "$@"
}

# rt_run in the background, with $! the pid of nrun itself (the wrapper and
# nsenter exec it), so a test that kills $! kills nrun; `rt_run ... &` would
# run a subshell, and kill that, while nrun runs on.
rt_run_bg() {
    mkdir -p "$BATS_FILE_TMPDIR/cids"
    "$NRUN" run --cidfile "$(mktemp -u "$BATS_FILE_TMPDIR/cids/XXXXXX")" "$@" &
}

# A busybox-static rootfs as an uncompressed tar: $1 = output tar.
rt_busybox_tar() {
    local d
    d=$(mktemp -d "$BATS_FILE_TMPDIR/bbroot.XXXXXX")
    mkdir -p "$d/bin" "$d/etc" "$d/tmp" "$d/home/node" "$d/data"
    cp /bin/busybox "$d/bin/busybox"
    for a in $(/bin/busybox --list); do
        [ "$a" = busybox ] || ln -s busybox "$d/bin/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' >"$d/etc/passwd"
    printf 'root:x:0:\nnode:x:1000:\nextra:x:2000:node\n' >"$d/etc/group"
    chmod 1777 "$d/tmp"
    chown 1000:1000 "$d/home/node"
    tar --numeric-owner -C "$d" -cf "$1" .
    rm -rf "$d"
}

# The host's node binary plus the libraries it loads: $1 = output tar.
rt_node_tar() {
    local d n
    d=$(mktemp -d "$BATS_FILE_TMPDIR/noderoot.XXXXXX")
    n=$(readlink -f "$(command -v node)")
    mkdir -p "$d/usr/bin" "$d/tmp" "$d/etc"
    cp "$n" "$d/usr/bin/node"
    for lib in $(ldd "$n" | grep -o '/[^ ]*'); do
        mkdir -p "$d$(dirname "$lib")"
        cp -L "$lib" "$d$lib"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$d/etc/passwd"
    chmod 1777 "$d/tmp"
    tar --numeric-owner -C "$d" -cf "$1" .
    rm -rf "$d"
}

# bb:1 (busybox) in the current root.
rt_make_busybox_image() {
    rt_busybox_tar "$BATS_FILE_TMPDIR/bb.tar"
    "$NRUN" __internal mkimage -t bb:1 \
        --config '{"Cmd":["sh"],"Env":["PATH=/bin","IMG=1"],"StopSignal":"SIGUSR1"}' "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
}

# Controller dirs a container with id $1 would own (v1/hybrid: below our own group).
rt_cgroup_dirs() {
    local id=$1 line ctrl path
    if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        echo "/sys/fs/cgroup/nrun/$id"
        return
    fi
    for ctrl in memory cpu cpuacct pids cpuset devices freezer; do
        path=$(awk -F: -v c="$ctrl" '{n=split($2,a,","); for(i=1;i<=n;i++) if(a[i]==c) print $3}' /proc/self/cgroup)
        [ "$path" = / ] && path=
        echo "$(readlink -f /sys/fs/cgroup/$ctrl)$path/nrun/$id"
    done
}

# Nothing left: no container dir, mount, cgroup or process of this file.
rt_assert_clean() {
    local id f left=0
    for f in "$BATS_FILE_TMPDIR"/cids/*; do
        [ -f "$f" ] || continue
        id=$(cat "$f")
        if [ -d "$NRUN_ROOT/containers/$id" ]; then echo "left: container $id" >&2; left=1; fi
        for d in $(rt_cgroup_dirs "$id"); do
            if [ -d "$d" ]; then echo "left: cgroup $d" >&2; left=1; fi
        done
        if grep -ls "$id" /proc/[0-9]*/cgroup 2>/dev/null | grep -q .; then echo "left: process of $id" >&2; left=1; fi
    done
    if grep -qF " $NRUN_ROOT/" /proc/mounts; then echo "left: mounts under $NRUN_ROOT" >&2; left=1; fi
    # networks: no attachment record, no lease, no veth in the file's namespace
    if [ -n "$(ls "$NRUN_ROOT/networks/attach" 2>/dev/null)" ]; then echo "left: network attachments" >&2; left=1; fi
    if ls "$NRUN_ROOT"/networks/ipam/*/ 2>/dev/null | grep -q '^[0-9]'; then echo "left: address leases" >&2; left=1; fi
    if [ -n "${NR_NETNS:-}" ] && nr_in_ns ip -o link show type veth 2>/dev/null | grep -q .; then echo "left: veth" >&2; left=1; fi
    return $left
}

# Remove every container of the root (teardown).
rt_rm_all() {
    local ids
    ids=$("$NRUN" ps -aq 2>/dev/null) || true
    [ -z "$ids" ] || "$NRUN" rm -f $ids >/dev/null 2>&1 || true
}

# A TCP port on 127.0.0.1 that is free right now.
rt_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A file's own store with the busybox image bb:1 (setup_file), and its end:
# every container removed, nothing left, the store gone (teardown_file).
rt_file_setup_bb() {
    rt_file_setup_busybox
    rt_bb_image bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
}

# setup_file's start for a file of busybox images: the store of this file
# (nr_make_root) and the busybox rootfs tar "$BATS_FILE_TMPDIR/bb.tar".
rt_file_setup_busybox() {
    nr_make_root
    rt_busybox_tar "$BATS_FILE_TMPDIR/bb.tar"
}

# The image $1 (default nd:1: node, PATH=/usr/bin) of this host's node binary
# and its libraries (rt_node_tar, kept as "$BATS_FILE_TMPDIR/node.tar").
rt_node_image() {
    rt_node_tar "$BATS_FILE_TMPDIR/node.tar"
    "$NRUN" __internal mkimage -t "${1:-nd:1}" --config '{"Cmd":["node"],"Env":["PATH=/usr/bin"]}' \
        "$BATS_FILE_TMPDIR/node.tar" >/dev/null
}

# The image $1 with config $2 (JSON) of the busybox tar (rt_file_setup_busybox)
# and the layer tars "$3"... on top.
# An image $1 of busybox and OpenSSH's ssh-add with its libraries (a real
# agent client for RUN --mount=type=ssh); needs rt_file_setup_busybox's or
# rt_make_busybox_image's bb.tar.
rt_ssh_image() {
    local d lib
    d=$(mktemp -d "$BATS_FILE_TMPDIR/sshroot.XXXXXX")
    tar -C "$d" -xf "$BATS_FILE_TMPDIR/bb.tar"
    mkdir -p "$d/usr/bin"
    cp "$(command -v ssh-add)" "$d/usr/bin/ssh-add"
    for lib in $(ldd "$(command -v ssh-add)" | grep -o '/[^ ]*'); do
        mkdir -p "$d$(dirname "$lib")"
        cp -L "$lib" "$d$lib"
    done
    tar --numeric-owner -C "$d" -cf "$BATS_FILE_TMPDIR/ssh.tar" .
    rm -rf "$d"
    "$NRUN" __internal mkimage -t "$1" --config '{"Cmd":["sh"],"Env":["PATH=/usr/bin:/bin"]}' \
        "$BATS_FILE_TMPDIR/ssh.tar" >/dev/null
}

rt_bb_image() {
    local tag=$1 cfg=$2
    shift 2
    "$NRUN" __internal mkimage -t "$tag" --config "$cfg" "$BATS_FILE_TMPDIR/bb.tar" "$@" >/dev/null
}

rt_file_teardown() {
    rt_rm_all
    rt_assert_clean
    nr_remove_root
}
