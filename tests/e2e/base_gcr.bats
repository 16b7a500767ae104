#!/usr/bin/env bats
# Google's distroless names made here (builder/base_gcr.c,
# images/node/mkgcr.sh): `FROM gcr.io/distroless/nodejs20-debian12` (and
# :nonroot, :debug, static-/cc-debian12) builds unchanged from a Dockerfile
# written for Google's image, with nothing pulled from gcr.io.  The image is
# node:<ver>-distroless's os and node layers reshaped as Google's: node at
# /nodejs/bin/node as the Entrypoint, root 0 / nonroot 65532, no shell,
# busybox at /busybox in :debug.
#
# Nothing leaves the machine: builds run in this file's network namespace,
# where npm reaches only the registry of tests/lib/npmreg.bash.  The bases
# come from the shared download cache (NRUN_CACHE_DIR).
load ../lib/common
load ../lib/runtime
load ../lib/npmreg
bats_require_minimum_version 1.5.0

APP=$REPO/tests/apps/shapes/express-npm
G=gcr.io/distroless
VERSIONS=$REPO/images/node/versions.txt
pin() { sed -n "s/^$1=//p" "$VERSIONS"; }

digest_of() {
    jq -r --arg r "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r) | .digest' "$1/index.json"
}
blob() { echo "$NRUN_ROOT/blobs/sha256/${1#sha256:}"; }
manifest_of() { digest_of "$NRUN_ROOT" "$1"; }
cfg() { jq -c "$2" "$(blob "$(jq -r .config.digest "$(blob "$(manifest_of "$1")")")")"; }
layers_of() { jq -r '.layers[].digest' "$(blob "$(manifest_of "$1")")"; }

setup_file() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    nr_make_root
    export W=$BATS_FILE_TMPDIR
    local f
    for f in $(jq -r '.packages | to_entries[] | select(.key != "")
            | "\(.key | sub("^.*node_modules/"; "") | ltrimstr("@") | gsub("/"; "-"))-\(.value.version).tgz"' \
        "$APP/package-lock.json"); do
        [ -s "$NPMREG_TARBALLS/$f" ] || { echo "express's npm tarballs are not cached ($f): run make deps" >"$W/skip-npm"; break; }
    done
    [ -s "$W/skip-npm" ] || NPMREG_NETNS=$NR_NETNS npmreg_start "$W/reg"
    # the app, with a Dockerfile written for Google's image
    mkdir -p "$W/app"
    cp "$APP/package.json" "$APP/package-lock.json" "$APP/app.js" "$W/app/"
    cat >"$W/app/Dockerfile" <<'EOF'
FROM node:20-slim AS build
WORKDIR /app
COPY package*.json ./
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci --omit=dev --no-audit --no-fund
COPY app.js ./

FROM gcr.io/distroless/nodejs20-debian12
COPY --from=build /app /app
WORKDIR /app
ENV PORT=3000
EXPOSE 3000
CMD ["app.js"]
EOF
    # outside this file's network namespace (no way out), so a cold
    # download cache can still fill
    # (the build stage on node:20-slim: the full node:20 costs this file 40 s more to make)
    "$NR_REAL_NRUN" base node:20-slim node:20-distroless "$G/nodejs20-debian12" "$G/nodejs20-debian12:nonroot" \
        "$G/nodejs20-debian12:debug" >"$W/base.log" 2>&1 || { tail -5 "$W/base.log"; return 1; }
    for t in latest nonroot debug; do
        umoci unpack --image "$NRUN_ROOT:$G/nodejs20-debian12:$t" "$W/u-$t" >/dev/null 2>&1
    done
}

teardown_file() {
    npmreg_stop "$W/reg"
    rt_rm_all
    rt_assert_clean
    nr_remove_root
}

nb() {
    nr_in_ns "$NBUILD" --progress=plain --host-ca="$NPMREG_CA" --secret "id=npmrc,src=$NPMREG_RC" "$@"
}

@test "gcr: the typical Dockerfile (npm ci on node:20-slim, then gcr.io/distroless/nodejs20-debian12, CMD [\"app.js\"]) builds and serves over -p" {
    [ ! -s "$W/skip-npm" ] || skip "$(cat "$W/skip-npm")"
    run nb -t gapp:1 "$W/app"
    echo "$output" | tail -8
    [ "$status" -eq 0 ]
    ! grep -q 'PULL' <<<"$output" || false
    [ "$(cfg gapp:1 .config.Entrypoint)" = '["/nodejs/bin/node"]' ]
    [ "$(cfg gapp:1 .config.Cmd)" = '["app.js"]' ]
    port=$(rt_free_port)
    id=$(rt_run -d -p "127.0.0.1:$port:3000" gapp:1)
    for _ in $(seq 200); do nr_in_ns curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    run nr_in_ns curl -sf "http://127.0.0.1:$port/"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.greeting + " " + .express' <<<"$output")" = "hello 4.21.2" ]
    # PID 1 runs node app.js as Node's cluster does (the Entrypoint is node)
    "$NRUN" inspect "$id" | jq -r '.[0].Supervisor | "\(.Mode): \(.ModeReason)"' | tee "$W/mode"
    grep -q '^cluster' "$W/mode"
    "$NRUN" rm -f "$id" >/dev/null
}

@test "gcr: shaped as Google's image: Entrypoint, users, no shell, /tmp 1777, CA certs, tzdata" {
    r=$W/u-latest/rootfs
    [ "$(cfg "$G/nodejs20-debian12:latest" '[.config.Entrypoint, .config.User, .config.WorkingDir, .config.Cmd]')" = \
        '[["/nodejs/bin/node"],"0","/",null]' ]
    [ "$(cfg "$G/nodejs20-debian12:nonroot" '[.config.User, .config.WorkingDir]')" = '["65532","/home/nonroot"]' ]
    cfg "$G/nodejs20-debian12:latest" .config.Env | grep -q '"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"'
    [ -L "$r/nodejs/bin/node" ]
    run chroot "$r" /nodejs/bin/node -e 'console.log(process.version)'
    [ "$output" = "v$(pin NODE_20)" ]
    grep -qx 'root:x:0:0:root:/root:/sbin/nologin' "$r/etc/passwd"
    grep -qx 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' "$r/etc/passwd"
    grep -qx 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' "$r/etc/passwd"
    [ "$(wc -l <"$r/etc/passwd")" -eq 3 ]
    grep -qx 'nonroot:x:65532:' "$r/etc/group"
    [ "$(stat -c '%a %u:%g' "$r/home/nonroot")" = "700 65532:65532" ]
    [ "$(stat -c %a "$r/tmp")" = 1777 ]
    [ -s "$r/etc/ssl/certs/ca-certificates.crt" ]
    [ -f "$r/usr/share/zoneinfo/Europe/Paris" ]
    grep -q '^PRETTY_NAME="Distroless"' "$r/etc/os-release"
    [ ! -e "$r/bin/sh" ] && [ ! -e "$r/busybox" ] && [ ! -e "$r/usr/local/bin/npm" ]
    # the os and node layers are node:20-distroless's: stored once
    [ "$(layers_of node:20-distroless | head -2)" = "$(layers_of "$G/nodejs20-debian12:latest" | head -2)" ]
    [ "$(layers_of "$G/nodejs20-debian12:nonroot" | head -4)" = "$(layers_of "$G/nodejs20-debian12:latest" | head -4)" ]
    ! grep -q PULL "$W/base.log" || false
}

@test "gcr: :nonroot runs as 65532 in /home/nonroot; there is no id nor sh to run" {
    run rt_run --rm "$G/nodejs20-debian12:nonroot" -e \
        'const s=require("fs").readFileSync("/proc/self/status","utf8"); console.log(s.match(/^Uid:\s+(\d+)/m)[1], s.match(/^Gid:\s+(\d+)/m)[1], process.cwd())'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "65532 65532 /home/nonroot" ]
    run -127 rt_run --rm --entrypoint id "$G/nodejs20-debian12:nonroot"
    grep -q "id\|sh" <<<"$output"
    run -127 rt_run --rm --entrypoint /bin/sh "$G/nodejs20-debian12:nonroot" -c true
    grep -q "id\|sh" <<<"$output"
}

@test "gcr: :debug has busybox at /busybox, on PATH, and node still as the Entrypoint" {
    [ "$(cfg "$G/nodejs20-debian12:debug" .config.Entrypoint)" = '["/nodejs/bin/node"]' ]
    cfg "$G/nodejs20-debian12:debug" .config.Env | grep -q '"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/busybox"'
    [ -x "$W/u-debug/rootfs/busybox/busybox" ] && [ -L "$W/u-debug/rootfs/busybox/sh" ]
    run rt_run --rm --entrypoint /busybox/sh "$G/nodejs20-debian12:debug" -c 'ls /nodejs/bin/node && id -u'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = 0 ]
}

@test "gcr: the same name gives the same digest in another store" {
    other=$(mktemp -d /tmp/nrun-test.XXXXXX)
    NRUN_ROOT=$other "$NR_REAL_NRUN" base "$G/nodejs20-debian12:nonroot" >"$W/other.log" 2>&1 || { cat "$W/other.log"; false; }
    a=$(digest_of "$other" "$G/nodejs20-debian12:nonroot")
    rm -rf "$other"
    [ -n "$a" ]
    [ "$a" = "$(manifest_of "$G/nodejs20-debian12:nonroot")" ]
}

@test "gcr: Debian 11 in the name: one note line, made from this host's packages" {
    run "$NR_REAL_NRUN" base "$G/nodejs20-debian11"
    echo "$output"
    [ "$status" -eq 0 ]
    host=$(sed -n 's/^VERSION_ID="\(.*\)"/\1/p' /etc/os-release)
    [ "$host" = 11 ] && skip "the host is Debian 11: nothing differs"
    [ "$(grep -c 'note: gcr.io/distroless/nodejs20-debian11:latest names Debian 11' <<<"$output")" -eq 1 ]
    # only what differs is new: the os, node and home layers are shared
    [ "$(layers_of "$G/nodejs20-debian11:latest" | head -2)" = "$(layers_of node:20-distroless | head -2)" ]
}

@test "gcr: a digest pin (Google's build) is not checked, with a line saying so; --base-map and a store image win; COPY --from a name" {
    mkdir -p "$W/pin"
    printf 'FROM %s/nodejs20-debian12@sha256:%s\nCMD ["-e", "0"]\n' "$G" "$(printf 'ab%.0s' $(seq 32))" >"$W/pin/Nodefile"
    run nr_in_ns "$NBUILD" --progress=plain -t pin:1 "$W/pin"
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q "the digest pin names Google's build: not checked; using $G/nodejs20-debian12:latest" <<<"$output"
    [ "$(manifest_of pin:1)" != "" ]
    # --base-map
    printf 'FROM %s/nodejs22-debian12\nCMD ["-e", "0"]\n' "$G" >"$W/pin/Nodefile"
    run nr_in_ns "$NBUILD" --progress=plain --base-map "$G/nodejs22-*=$G/nodejs20-*" -t map:1 "$W/pin"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$(digest_of "$NRUN_ROOT" "$G/nodejs22-debian12:latest")" ]
    # an image of that name already in the store is used as it is
    "$NRUN" tag node:20-distroless "$G/nodejs22-debian12:latest"
    run nr_in_ns "$NBUILD" --progress=plain -t mine:1 "$W/pin"
    echo "$output"
    [ "$status" -eq 0 ]
    ! grep -q 'making it here' <<<"$output" || false
    [ "$(layers_of mine:1)" = "$(layers_of node:20-distroless)" ]
    "$NRUN" rmi "$G/nodejs22-debian12:latest" >/dev/null
    # COPY --from a distroless name makes it the same way
    printf 'FROM node:20-distroless\nCOPY --from=%s/nodejs20-debian12:debug-nonroot /etc/passwd /gcr-passwd\n' "$G" >"$W/pin/Nodefile"
    run nr_in_ns "$NBUILD" --progress=plain -t copy:1 "$W/pin"
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q "$G/nodejs20-debian12:debug-nonroot ready" <<<"$output"
    ! grep -q PULL <<<"$output" || false
}

@test "gcr: static-, base-nossl-, base- and cc-debian12 as Google's: no glibc in static, libssl in base and cc, sh as the debug Entrypoint" {
    run "$NR_REAL_NRUN" base "$G/static-debian12" "$G/cc-debian12:debug-nonroot" "$G/base-debian12:nonroot" \
        "$G/base-nossl-debian12"
    echo "$output" | tail -3
    [ "$status" -eq 0 ]
    umoci unpack --image "$NRUN_ROOT:$G/static-debian12:latest" "$W/u-static" >/dev/null 2>&1
    umoci unpack --image "$NRUN_ROOT:$G/cc-debian12:debug-nonroot" "$W/u-cc" >/dev/null 2>&1
    [ ! -e "$W/u-static/rootfs/lib/x86_64-linux-gnu/libc.so.6" ]
    [ ! -e "$W/u-static/rootfs/usr/local/bin/node" ] && [ ! -e "$W/u-static/rootfs/nodejs" ]
    [ -s "$W/u-static/rootfs/etc/ssl/certs/ca-certificates.crt" ] && [ -f "$W/u-static/rootfs/etc/passwd" ]
    [ -e "$W/u-cc/rootfs/lib/x86_64-linux-gnu/libc.so.6" ] && [ -e "$W/u-cc/rootfs/usr/lib/x86_64-linux-gnu/libstdc++.so.6" ]
    [ ! -e "$W/u-cc/rootfs/usr/local/bin/node" ]
    [ -e "$W/u-cc/rootfs/usr/lib/x86_64-linux-gnu/libssl.so.3" ] || [ -e "$W/u-cc/rootfs/usr/lib/x86_64-linux-gnu/libssl.so.1.1" ]
    umoci unpack --image "$NRUN_ROOT:$G/base-nossl-debian12:latest" "$W/u-nossl" >/dev/null 2>&1
    [ -e "$W/u-nossl/rootfs/lib/x86_64-linux-gnu/libc.so.6" ]
    ! ls "$W/u-nossl/rootfs/usr/lib/x86_64-linux-gnu/" | grep -q libssl || false
    # base and cc share the libssl layer with the nodejs image
    [ "$(layers_of "$G/base-debian12:nonroot" | sed -n 2p)" = "$(layers_of "$G/nodejs20-debian12:latest" | sed -n 3p)" ]
    [ "$(cfg "$G/static-debian12:latest" '[.config.Entrypoint, .config.User]')" = '[null,"0"]' ]
    [ "$(cfg "$G/cc-debian12:debug-nonroot" '[.config.Entrypoint, .config.User]')" = '[["/busybox/sh"],"65532"]' ]
    run rt_run --rm "$G/cc-debian12:debug-nonroot" -c 'id -u; echo $PATH'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[-2]}" = 65532 ]
    # cc and base share their os layer with node:20-distroless
    [ "$(layers_of "$G/cc-debian12:debug-nonroot" | head -1)" = "$(layers_of node:20-distroless | head -1)" ]
}

@test "gcr: unknown distroless names fail at file:line:col naming the ref, store unchanged, gcr.io not contacted" {
    mkdir -p "$W/bad"
    for name in python3-debian12 java17-debian12 nodejs99-debian12 nodejs20-debian10 nodejs20-debian12:debug-arm64 nodejs20-debian12:v1; do
        printf '# a comment\nFROM %s/%s\nCMD ["x"]\n' "$G" "$name" >"$W/bad/Nodefile"
        before=$(nr_tree_hash "$NRUN_ROOT")
        run nr_in_ns "$NBUILD" --progress=plain -t bad:1 "$W/bad"
        echo "$output"
        [ "$status" -ne 0 ]
        grep -q "Nodefile:2:6: unknown base image $G/${name%%:*}" <<<"$output"
        ! grep -q 'PULL' <<<"$output" || false
        [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    done
    run "$NRUN" base --list "$G/python3-debian12"
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    run "$NRUN" base --list
    grep -qx "$G/nodejs20-debian12:nonroot $G/nodejs20-debian12:nonroot  # made here: node $(pin NODE_20) at /nodejs/bin/node, user 65532" <<<"$output"
    run nr_in_ns "$NBUILD" --list-bases "$G/nodejs22-debian12:debug"
    [ "$status" -eq 0 ]
    grep -q "busybox at /busybox" <<<"$output"
}
