#!/usr/bin/env bats
# nbuild as a non-root user (runtime/userns.c): a user namespace with the
# caller's subuid/subgid range (or the caller alone), a store under
# $XDG_DATA_HOME.  Run as users this file makes (tests/lib/rootless.bash),
# against the same images a root build uses: the layers must be the ones a
# root build makes, ownership included.
load ../lib/common
load ../lib/runtime
load ../lib/npmreg
load ../lib/rootless
bats_require_minimum_version 1.5.0

setup_file() {
    nr_make_root
    export W=$BATS_FILE_TMPDIR
    rl_user_add RU
    rl_user_add RN norange
    # the built binaries must be reachable by another user
    if ! rl_as "$RU" test -x "$NBUILD"; then
        echo "$NBUILD" >"$W/unreachable"
        return 0
    fi
    # the bases, made by root and loaded by each user: the same digests
    rt_busybox_tar "$W/bb.tar"
    "$NRUN" __internal mkimage -t rbase:1 --config '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$W/bb.tar" >/dev/null
    mkdir -p "$W/rootonly"
    tar -C "$W/rootonly" -xf "$W/bb.tar"
    chown -R 0:0 "$W/rootonly"
    tar --numeric-owner -C "$W/rootonly" -cf "$W/bbroot.tar" .
    "$NRUN" __internal mkimage -t rbase:root --config '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$W/bbroot.tar" >/dev/null
    local t u
    for t in 1 root; do
        "$NRUN" save -o "$W/rbase-$t.tar" "rbase:$t"
        for u in "$RU" "$RN"; do rl_give "$u" "$W/rbase-$t.tar" && rl_as "$u" "$NR_REAL_NRUN" load -i "$RL_GIVEN" >/dev/null; done
    done
    # a context of the user's own, in its home
    export UHOME
    UHOME=$(getent passwd "$RU" | cut -d: -f6)
}

teardown_file() {
    [ -z "${W:-}" ] || npmreg_stop "$W/reg"
    rl_user_del "${RU:-}"
    rl_user_del "${RN:-}"
    rt_rm_all
    rt_assert_clean
    nr_remove_root
}

setup() {
    [ ! -s "$W/unreachable" ] || skip "$(cat "$W/unreachable") cannot be run by another user: build in a world-readable path"
}

teardown() {
    # no step container, no process of the users outlives a test
    local left
    left=$(rl_pids "$RU"; rl_pids "$RN")
    [ -z "$left" ] || { echo "left: processes $left" >&2; return 1; }
    [ -z "$(ls -A "$(rl_store "$RU")/containers" 2>/dev/null | grep -v '^\.')" ] ||
        { echo "left: containers in $(rl_store "$RU")" >&2; return 1; }
}

# a context owned by user $1 at ~/$2, the Nodefile on stdin
uctx() {
    local home
    home=$(getent passwd "$1" | cut -d: -f6)
    rm -rf "${home:?}/$2"
    mkdir -p "$home/$2"
    cat >"$home/$2/Nodefile"
    echo hello >"$home/$2/hello.txt"
    chown -R "$1:" "$home/$2"
    echo "$home/$2"
}

# "mode uid/gid path" of every entry of the layers of image $2 in store $1
layer_owners() {
    local m l
    m=$(jq -r --arg r "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$r) | .digest' "$1/index.json")
    for l in $(jq -r '.layers[].digest' "$1/blobs/sha256/${m#sha256:}"); do
        tar --numeric-owner -tvzf "$1/blobs/sha256/${l#sha256:}" 2>/dev/null | awk '{print $1, $2, $6}'
    done
}

@test "rootless: the default store is ~/.local/share/nrun, the caller's and owner-only; COPY and RUN (shell, exec) as root of the namespace" {
    ctx=$(uctx "$RU" app <<'EOF'
FROM rbase:1
COPY hello.txt /hello.txt
RUN echo "uid $(id -u)" >/made.txt && cat /proc/self/uid_map | head -1 | tr -s ' ' >/map.txt
RUN ["/bin/sh", "-c", "echo exec-form >/exec.txt"]
EOF
)
    run rl_as "$RU" "$NBUILD" -t app:1 "$ctx"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"COMMIT app:1"* ]]
    S=$(rl_store "$RU")
    [ "$(stat -c '%U %a' "$S")" = "$RU 700" ]
    [ "$(stat -c '%U' "$S/index.json")" = "$RU" ]
    # files of the caller are root's in the layers, as in a root build
    layer_owners "$S" app:1 >"$W/owners"
    grep -qx -- '-rw-r--r-- 0/0 hello.txt' "$W/owners"
    grep -qx -- '-rw-r--r-- 0/0 made.txt' "$W/owners"
    grep -qx -- '-rw-r--r-- 0/0 exec.txt' "$W/owners"
    # the step saw itself as root of a namespace mapping 0 to the caller
    m=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="app:1") | .digest' "$S/index.json")
    l=$(jq -r '.layers[-2].digest' "$S/blobs/sha256/${m#sha256:}")
    [ "$(tar -xzOf "$S/blobs/sha256/${l#sha256:}" made.txt)" = "uid 0" ]
    [ "$(tar -xzOf "$S/blobs/sha256/${l#sha256:}" map.txt)" = " 0 $RU_UID 1" ]
    # the read-only verbs work on that store as the same user, without a namespace
    run rl_as "$RU" "$NR_REAL_NRUN" images
    [[ "$output" == *app*1* ]]
    run rl_as "$RU" "$NR_REAL_NRUN" inspect app:1
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | jq -r '.[0].RepoTags[0]')" = app:1 ]
    run rl_as "$RU" "$NR_REAL_NRUN" save -o "$UHOME/app.tar" app:1
    [ "$status" -eq 0 ]
    tar -tf "$UHOME/app.tar" | grep -qx index.json
}

@test "rootless: a chown to 1000 in RUN is 1000 in the layer, and the image is the one a root build makes (same digest)" {
    ctx=$(uctx "$RU" own <<'EOF'
FROM rbase:1
COPY hello.txt /srv/hello.txt
RUN mkdir -p /opt/u && echo x >/opt/u/f && chown -R 1000:1000 /opt/u && echo app:x:2001:2001::/:/bin/sh >>/etc/passwd \
 && touch /opt/app && chown app /opt/app && chmod 4755 /opt/app && ln -s f /opt/u/link && chown -h 1000:2001 /opt/u/link
RUN echo done >/done
EOF
)
    export SOURCE_DATE_EPOCH=1700000000
    run rl_as "$RU" "$NBUILD" -t own:1 "$ctx"
    echo "$output"
    [ "$status" -eq 0 ]
    rootless=${lines[-1]}
    layer_owners "$(rl_store "$RU")" own:1 >"$W/owners"
    cat "$W/owners"
    grep -qx -- 'drwxr-xr-x 1000/1000 opt/u/' "$W/owners"
    grep -qx -- '-rw-r--r-- 1000/1000 opt/u/f' "$W/owners"
    grep -qx -- 'lrwxrwxrwx 1000/2001 opt/u/link' "$W/owners"
    grep -qx -- '-rwsr-xr-x 2001/0 opt/app' "$W/owners"
    # the same context built by root: the same image
    cp -a "$ctx" "$W/own-root"
    run "$NBUILD" -t own:1 "$W/own-root"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "$rootless" ]
    # a rebuild is all cache hits
    run rl_as "$RU" "$NBUILD" -t own:2 "$ctx"
    [ "$status" -eq 0 ]
    [[ "$output" == *"(0 layers built, 3 from cache"* ]]
    [ "${lines[-1]}" = "$rootless" ]
}

@test "rootless: multi-stage COPY --from, --target, and a failing RUN leaves nothing behind" {
    ctx=$(uctx "$RU" ms <<'EOF'
FROM rbase:1 AS build
RUN mkdir -p /out/gone && echo old >/out/gone/old
RUN rm -rf /out && mkdir /out && echo built >/out/a && chown -R 1000:1000 /out
FROM rbase:1 AS broken
RUN exit 3
FROM rbase:1
COPY --from=build /out /app
COPY --from=build --chown=1000:1000 /out /app2
RUN cat /app/a >/app/b
RUN --mount=type=bind,from=build,source=/out,target=/mnt ls /mnt >/app/seen
RUN --mount=type=bind,target=/ctx,rw echo w >/ctx/w && ls /ctx >/app/ctx
RUN --mount=type=bind,source=.,target=/c sh -c 'touch /c/x 2>&1 | grep -q "Read-only file system" && ls /c >/app/roctx'
EOF
)
    export SOURCE_DATE_EPOCH=1700000000
    run rl_as "$RU" "$NBUILD" -t ms:1 "$ctx"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *"exit 3"* ]] # a stage the target does not need never runs
    # the opaque /out of the later layer hides the earlier one (user.overlay.* marks), as for root
    cp -a "$ctx" "$W/ms-root"
    run "$NBUILD" -t ms:1 "$W/ms-root"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "$(rl_as "$RU" "$NBUILD" -q -t ms:1 "$ctx")" ]
    [ ! -e "$ctx/w" ] # an rw bind writes into an overlay of its own
    layer_owners "$(rl_store "$RU")" ms:1 >"$W/owners"
    cat "$W/owners"
    grep -qx -- '-rw-r--r-- 1000/1000 app/a' "$W/owners" # COPY --from without --chown: the owner in the stage, as BuildKit
    grep -qx -- '-rw-r--r-- 0/0 app/b' "$W/owners"
    grep -qx -- '-rw-r--r-- 1000/1000 app2/a' "$W/owners"
    grep -q ' app/roctx$' "$W/owners" # the context's ro view, rootless too (open_tree in the user's namespace)
    [ -z "$(grep gone "$W/owners")" ]
    run rl_as "$RU" "$NBUILD" --target broken -t ms:broken "$ctx"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"exit code 3"* ]]
    run rl_as "$RU" "$NR_REAL_NRUN" images
    [[ "$output" != *broken* ]]
}

# The base node:20-slim made by root from the shared cache, offline, into
# this file's store (the cache: made online once by base_debian.bats, which
# tests/run.sh runs before this file); its digest in $W/rootbase.
root_base() {
    [ -s "$W/rootbase" ] && return 0
    NRUN_OFFLINE=1 "$NRUN" base node:20-slim >"$W/rootbase.out" 2>&1 || return 1
    jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="node:20-slim") | .digest' \
        "$NRUN_ROOT/index.json" >"$W/rootbase"
}

@test "rootless: FROM node:20-slim made from root's shared cache (read-only, offline): the root-made base's digest; RUN node, COPY" {
    root_base || skip "node:20-slim cannot be made offline from $NRUN_CACHE_DIR (run base_debian.bats or make deps first): $(tail -n1 "$W/rootbase.out")"
    ctx=$(uctx "$RU" nodeapp <<'EOF'
FROM node:20-slim
COPY hello.txt /app/hello.txt
RUN node -e 'const fs = require("fs"); fs.writeFileSync("/app/out.txt", fs.readFileSync("/app/hello.txt", "utf8").toUpperCase() + process.version + "\n")'
EOF
)
    export SOURCE_DATE_EPOCH=1700000000
    run rl_as "$RU" env NRUN_CACHE_DIR="$NRUN_CACHE_DIR" NRUN_OFFLINE=1 "$NBUILD" -t nodeapp:1 "$ctx"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"base: node:20-slim ready: $(cat "$W/rootbase")"* ]]
    [[ "$output" != *"making the Debian"* ]] # no mmdebstrap run
    rootless=${lines[-1]}
    S=$(rl_store "$RU")
    [ "$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="node:20-slim") | .digest' "$S/index.json")" = "$(cat "$W/rootbase")" ]
    # the rootfs came from root's cache, read only (nothing of the user's there: the
    # cache is shared with concurrent root builds, so its listing may change); the
    # user's own cache got the locks
    [ -z "$(find "$NRUN_CACHE_DIR" -user "$RU" -print -quit)" ]
    [ "$(stat -c '%U %a' "$UHOME/.cache/nrun")" = "$RU 700" ]
    [ -z "$(find "$UHOME/.cache/nrun" -name 'rootfs.*' -print -quit)" ] # no rootfs of its own made
    layer_owners "$S" nodeapp:1 >"$W/owners"
    grep -qx -- 'drwxr-xr-x 1000/1000 home/node/' "$W/owners"
    grep -qx -- '-rwsr-xr-x 0/0 usr/bin/su' "$W/owners"
    grep -qx -- '-rw-r----- 0/42 etc/shadow' "$W/owners"
    grep -qx -- '-rw-r--r-- 0/0 app/out.txt' "$W/owners"
    m=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="nodeapp:1") | .digest' "$S/index.json")
    l=$(jq -r '.layers[-1].digest' "$S/blobs/sha256/${m#sha256:}")
    [ "$(tar -xzOf "$S/blobs/sha256/${l#sha256:}" app/out.txt)" = "HELLO
v$(sed -n 's/^NODE_20=//p' "$REPO/images/node/versions.txt")" ]
    # root builds the same context on its base: the same image
    cp -a "$ctx" "$W/nodeapp-root"
    run "$NBUILD" -t nodeapp:1 "$W/nodeapp-root"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "$rootless" ]
}

@test "rootless: with a single mapping, FROM node:20-slim from the cache is a one-line error naming the owner it cannot map" {
    root_base || skip "node:20-slim cannot be made offline from $NRUN_CACHE_DIR (run base_debian.bats or make deps first): $(tail -n1 "$W/rootbase.out")"
    ctx=$(uctx "$RN" nodeone <<'EOF'
FROM node:20-slim
RUN node -e 0
EOF
)
    run rl_as "$RN" env NRUN_CACHE_DIR="$NRUN_CACHE_DIR" NRUN_OFFLINE=1 "$NBUILD" -t nodeone:1 "$ctx"
    echo "$output"
    [ "$status" -ne 0 ]
    [ "$(grep -c 'which this user namespace does not map' <<<"$output")" -eq 1 ]
    grep 'which this user namespace does not map' <<<"$output" | grep -Eq 'rootfs.tar: entry \./[^ ]+ is owned by [0-9]+/[0-9]+'
    [[ "$output" != *"Cannot change ownership"* ]] # said before tar tries
    [[ "$output" == *"Nodefile:1:6: FROM node:20-slim: building the base image"* ]]
    run rl_as "$RN" "$NR_REAL_NRUN" images
    [[ "$output" != *node* ]]
}

@test "rootless: RUN npm ci from the offline registry through the host CA bind, useradd and chown -R in the range" {
    missing=$(npmreg_have_tarballs) || skip "the examples' npm tarballs are not cached ($missing missing): run make deps"
    npmreg_start "$W/reg"
    rl_give "$RU" "$NPMREG_CA" && ca=$RL_GIVEN
    rl_give "$RU" "$NPMREG_RC" && rc=$RL_GIVEN
    # node:20-slim, made by root and loaded by the user
    mkdir -p "$W/basectx"
    echo 'FROM node:20-slim' >"$W/basectx/Nodefile"
    "$NBUILD" -q -t nbase:1 "$W/basectx" >/dev/null
    "$NRUN" save -o "$W/node.tar" node:20-slim
    rl_give "$RU" "$W/node.tar"
    rl_as "$RU" "$NR_REAL_NRUN" load -i "$RL_GIVEN" >/dev/null
    ctx=$(uctx "$RU" ex </dev/null)
    cp "$REPO/examples/express/package.json" "$REPO/examples/express/package-lock.json" "$REPO/examples/express/server.js" "$ctx/"
    cat >"$ctx/Nodefile" <<'EOF'
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm --mount=type=secret,id=npmrc,target=/root/.npmrc \
    npm ci --omit=dev --no-audit --no-fund
FROM node:20-slim
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json server.js ./
RUN useradd -u 1500 -m app && chown -R node:node /app/node_modules/express && mkdir /data && chown app:app /data
USER node
CMD ["node", "server.js"]
EOF
    chown -R "$RU:" "$ctx"
    run rl_as "$RU" "$NBUILD" --progress=plain --host-ca="$ca" --secret "id=npmrc,src=$rc" -t ex:1 "$ctx"
    echo "$output" | tail -20
    [ "$status" -eq 0 ]
    [[ "$output" == *"added "*" packages"* ]]
    layer_owners "$(rl_store "$RU")" ex:1 >"$W/owners"
    grep -qx -- '-rw-r--r-- 1000/1000 app/node_modules/express/package.json' "$W/owners"
    grep -qx -- '-rw-r--r-- 0/0 app/node_modules/accepts/package.json' "$W/owners"
    grep -qx -- 'drwxr-xr-x 1500/1500 data/' "$W/owners"
    # the CA stays out of the image
    [ -z "$(layer_owners "$(rl_store "$RU")" ex:1 | grep 'nrun-host-ca')" ]
    # the image runs (as root's: nrun run rootless is not a goal) and serves
    rl_as "$RU" "$NR_REAL_NRUN" save -o "$UHOME/ex.tar" ex:1
    "$NRUN" load -i "$UHOME/ex.tar" >/dev/null
    run rt_run --rm ex:1 node -e 'console.log(require("express/package.json").version)'
    [ "$output" = 4.21.2 ]
    # the second build is all cache hits
    run rl_as "$RU" "$NBUILD" --progress=plain --host-ca="$ca" --secret "id=npmrc,src=$rc" -t ex:1 "$ctx"
    [ "$status" -eq 0 ]
    [[ "$output" == *"(0 layers built"* ]]
}

@test "rootless: --network none has only lo; host is the host's; no cgroup of its own, /sys read-only" {
    ctx=$(uctx "$RU" net <<'EOF'
FROM rbase:1
RUN ls /sys/class/net | sort | tr '\n' ' ' >/net-host.txt; ls -A /sys/fs/cgroup | wc -l >/cg.txt; \
    awk '$2 == "/sys" { split($4, o, ","); print o[1] }' /proc/mounts >/sys.txt
RUN --network=none ls /sys/class/net | tr '\n' ' ' >/net-none.txt
EOF
)
    run rl_as "$RU" "$NBUILD" -t net:1 "$ctx"
    echo "$output"
    [ "$status" -eq 0 ]
    S=$(rl_store "$RU")
    m=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="net:1") | .digest' "$S/index.json")
    f() { for l in $(jq -r '.layers[].digest' "$S/blobs/sha256/${m#sha256:}"); do tar -xzOf "$S/blobs/sha256/${l#sha256:}" "$1" 2>/dev/null; done; }
    [ "$(f net-none.txt)" = "lo " ]
    [ "$(f net-host.txt)" = "$(ls /sys/class/net | sort | tr '\n' ' ')" ]
    [ "$(f cg.txt)" = 0 ]
    [ "$(f sys.txt)" = ro ]
}

@test "rootless: no subuid range -> a single mapping: own files build, a chown to another uid fails clearly" {
    ctx=$(uctx "$RN" one <<'EOF'
FROM rbase:root
COPY hello.txt /hello.txt
RUN cat /proc/self/uid_map | tr -s ' ' >/map.txt && echo ok >/ok
EOF
)
    run rl_as "$RN" "$NBUILD" -t one:1 "$ctx"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"no /etc/subuid and /etc/subgid range"* ]]
    layer_owners "$(rl_store "$RN")" one:1 | grep -qx -- '-rw-r--r-- 0/0 ok'
    # a chown to a uid the namespace lacks: the step's own error
    printf 'FROM rbase:root\nRUN chown 1000 /bin\n' >"$ctx/Nodefile"
    run rl_as "$RN" "$NBUILD" -t one:2 "$ctx"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:1: RUN /bin/sh -c chown 1000 /bin: exit code 1"* ]]
    [[ "$output" == *"Invalid argument"* ]]
    # a base with files of uid 1000: refused, naming the entry and why
    printf 'FROM rbase:1\nRUN true\n' >"$ctx/Nodefile"
    run rl_as "$RN" "$NBUILD" -t one:3 "$ctx"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *'entry "./home/node/": owned by 1000:1000, which this user namespace does not map'* ]]
}

@test "rootless: a kill -9'd nbuild's step (no cgroup to sweep) is ended and removed by the next nbuild" {
    ctx=$(uctx "$RU" killed <<'EOF2'
FROM rbase:1
RUN touch /started && sleep 300
EOF2
)
    S=$(rl_store "$RU")
    # nbuild itself, by its pid (sh tells it, then becomes it)
    rl_as "$RU" sh -c 'echo $$ >"$HOME/nbuild.pid"; exec "$0" "$@"' "$NBUILD" -t k:1 "$ctx" >"$W/killed.log" 2>&1 &
    for _ in $(seq 100); do
        ls "$S"/containers/*/upper/started >/dev/null 2>&1 && break
        sleep 0.1
    done
    ls "$S"/containers/*/upper/started
    init=$(jq -r .pid "$S"/containers/*/state.json)
    pid=$(cat "$UHOME/nbuild.pid")
    [ "$(cat "/proc/$pid/comm")" = nbuild ]
    kill -9 "$pid"
    wait || true
    [ -d "/proc/$init" ] # the step outlives its nbuild, as any container does its nrun
    printf 'FROM rbase:1\nRUN echo next >/next\n' >"$ctx/Nodefile"
    run rl_as "$RU" "$NBUILD" -t k:2 "$ctx"
    [ "$status" -eq 0 ]
    for _ in $(seq 50); do [ -d "/proc/$init" ] || break; sleep 0.1; done
    [ ! -d "/proc/$init" ]
    [ -z "$(ls "$S/containers")" ]
}

@test "rootless: rmi and image prune, as the same user, remove the layers its builds unpacked (files of its range)" {
    S=$(rl_store "$RU")
    # unpacked layers hold files of the subuid range, which the user alone cannot remove
    [ -n "$(find "$S/layers" -mindepth 2 ! -user "$RU" -print -quit)" ]
    run rl_as "$RU" "$NR_REAL_NRUN" rmi app:1
    echo "$output"
    [ "$status" -eq 0 ]
    run rl_as "$RU" "$NR_REAL_NRUN" rmi -f $(rl_as "$RU" "$NR_REAL_NRUN" images -q)
    echo "$output"
    [ "$status" -eq 0 ]
    run rl_as "$RU" "$NR_REAL_NRUN" image prune -a -f
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$(ls "$S/layers" | grep -v '^nrun-init')" ]
    run rl_as "$RU" "$NR_REAL_NRUN" images -q
    [ -z "$output" ]
}
