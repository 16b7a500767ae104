#!/usr/bin/env bats
# PID 1 reads the image's package.json (and a docker-entrypoint.sh, and looks
# for yarn's .pnp.cjs) to see
# whether `npm start` & co. end in a node command.  The file is hostile: a
# huge or sparse one, a deeply nested one, a FIFO, a directory, a symlink to
# a kernel file, through a magic link or to a host path, one the app's user
# may not read.  Each must give a clear fallback (single mode, the reason in
# the log) at once: no hang, no read outside the container, nothing of the
# file's content in the message.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() {
    nr_make_root
    rt_busybox_tar "$BATS_FILE_TMPDIR/bb.tar"
    rt_node_tar "$BATS_FILE_TMPDIR/node.tar"
    "$NRUN" __internal mkimage -t rs:1 --config '{"Cmd":["npm","start"],"Env":["PATH=/bin:/usr/bin"],"WorkingDir":"/app"}' \
        "$BATS_FILE_TMPDIR/bb.tar" "$BATS_FILE_TMPDIR/node.tar" >/dev/null
    # a package.json only the host has: read through an escape, it would resolve to node
    mkdir -p "$BATS_FILE_TMPDIR/hostonly"
    printf '{"scripts":{"start":"node -e 0 HOSTMARK"}}\n' >"$BATS_FILE_TMPDIR/hostonly/package.json"
}

teardown() { rt_rm_all; }

teardown_file() {
    rt_rm_all
    rt_assert_clean
    nr_remove_root
}

# The "mode: ..." line container $1's supervisor logs (waits up to 10 s; empty if none).
mode_line() {
    local i m
    for i in $(seq 100); do
        m=$("$NRUN" logs "$1" 2>&1 | grep '^mode: ' || true)
        [ -n "$m" ] && break
        sleep 0.1
    done
    echo "$m"
}

# app dir $1 mounted at /app, `npm start` (extra run flags after it): $mode = the "mode: ..." log line
mode_with() {
    local dir=$1 id
    shift
    id=$(rt_run -d -v "$dir:/app" "$@" rs:1)
    mode=$(mode_line "$id")
    echo "$mode"
    "$NRUN" rm -f "$id" >/dev/null
    [ -n "$mode" ]
    [[ "$mode" != *HOSTMARK* ]]
}

@test "control: a plain package.json in a volume resolves to node" {
    d=$BATS_TEST_TMPDIR/ok && mkdir -p "$d"
    printf '{"scripts":{"start":"node -e 0"}}\n' >"$d/package.json"
    mode_with "$d"
    [ "$mode" = "mode: cluster (npm start -> node -e 0)" ]
}

@test "a 2 GiB sparse package.json, one nested 500000 deep, and one that is not an object: refused, not read" {
    d=$BATS_TEST_TMPDIR/big && mkdir -p "$d"
    truncate -s 2G "$d/package.json"
    mode_with "$d"
    [ "$mode" = "mode: single (/app/package.json: larger than 1024 KiB)" ]
    head -c 500000 /dev/zero | tr '\0' '[' >"$d/package.json"
    mode_with "$d"
    [[ "$mode" == "mode: single (/app/package.json:1:"*": not valid JSON)" ]]
    printf '["node server.js"]' >"$d/package.json"
    mode_with "$d"
    [ "$mode" = "mode: single (/app/package.json: not a JSON object)" ]
    printf '{"scripts":{"start":"node a"},"scripts":{"start":"node b"}}' >"$d/package.json"
    mode_with "$d"
    [[ "$mode" == "mode: single (/app/package.json:1:"*": not valid JSON)" ]]
}

@test "a FIFO or a directory as package.json: no hang, refused" {
    d=$BATS_TEST_TMPDIR/fifo && mkdir -p "$d"
    mkfifo "$d/package.json"
    mode_with "$d"
    [ "$mode" = "mode: single (/app/package.json: not a regular file)" ]
    rm "$d/package.json" && mkdir "$d/package.json"
    mode_with "$d"
    [ "$mode" = "mode: single (/app/package.json: not a regular file)" ]
}

@test "yarn Plug'n'Play: a .pnp.cjs that is a FIFO, a directory or a link out of the container is not loaded; no hang" {
    d=$BATS_TEST_TMPDIR/pnp && mkdir -p "$d"
    printf '{"scripts":{"start":"node opts.js"}}\n' >"$d/package.json"
    printf 'console.log("OPTS=" + process.env.NODE_OPTIONS); setInterval(() => {}, 1000);\n' >"$d/opts.js"
    printf 'global.X = 1;\n' >"$BATS_FILE_TMPDIR/hostonly/pnp.cjs"
    for kind in fifo dir link control; do
        rm -rf "$d/.pnp.cjs"
        case $kind in
        fifo) mkfifo "$d/.pnp.cjs" ;;
        dir) mkdir "$d/.pnp.cjs" ;;
        link) ln -s "$BATS_FILE_TMPDIR/hostonly/pnp.cjs" "$d/.pnp.cjs" ;;
        control) printf 'global.X = 1;\n' >"$d/.pnp.cjs" ;;
        esac
        id=$(rt_run -d -v "$d:/app" rs:1 yarn start)
        opts=
        for i in $(seq 100); do
            opts=$("$NRUN" logs "$id" 2>&1 | grep -m1 '^OPTS=' || true)
            [ -n "$opts" ] && break
            sleep 0.1
        done
        "$NRUN" logs "$id" 2>&1 | head -3
        "$NRUN" rm -f "$id" >/dev/null
        echo "$kind: $opts"
        [ -n "$opts" ]
        if [ $kind = control ]; then
            [[ "$opts" == *"--require /app/.pnp.cjs"* ]]
        else
            [[ "$opts" != *pnp* ]]
        fi
    done
}

@test "symlinks: to a host path, out through .., through a magic link, to a kernel file" {
    d=$BATS_TEST_TMPDIR/links && mkdir -p "$d"
    ln -s "$BATS_FILE_TMPDIR/hostonly/package.json" "$d/package.json"
    mode_with "$d"
    [ "$mode" = "mode: single (/app/package.json: No such file or directory)" ]
    ln -sfn "../../../../../../../..$BATS_FILE_TMPDIR/hostonly/package.json" "$d/package.json"
    mode_with "$d"
    [ "$mode" = "mode: single (/app/package.json: No such file or directory)" ]
    ln -sfn /proc/self/root/etc/passwd "$d/package.json"
    mode_with "$d"
    [ "$mode" = "mode: single (/app/package.json: a link that leaves the container)" ]
    ln -sfn /proc/1/environ "$d/package.json"
    mode_with "$d"
    [[ "$mode" == "mode: single (/app/package.json: "* ]]
    [[ "$mode" != *cluster* ]]
    ln -sfn /proc/self/status "$d/package.json"
    mode_with "$d"
    [ "$mode" = "mode: single (/app/package.json: a kernel file, not the app's)" ]
}

@test "a package.json the app's user may not read is not read for it by PID 1 (root)" {
    d=$BATS_TEST_TMPDIR/priv && mkdir -p "$d"
    printf '{"scripts":{"start":"node -e 0"}}\n' >"$d/package.json"
    chmod 600 "$d/package.json"
    mode_with "$d" -u 1000
    [ "$mode" = "mode: single (/app/package.json: Permission denied)" ]
    mode_with "$d"
    [ "$mode" = "mode: cluster (npm start -> node -e 0)" ]
}

@test "docker-entrypoint.sh as a FIFO, a huge file or a link out: no hang, not taken for Docker's" {
    d=$BATS_TEST_TMPDIR/ep && mkdir -p "$d/app"
    printf '{"scripts":{"start":"node -e 0"}}\n' >"$d/app/package.json"
    mkfifo "$d/docker-entrypoint.sh"
    run_ep() {
        id=$(rt_run -d -v "$d:/ep" -v "$d/app:/app" --entrypoint /ep/docker-entrypoint.sh rs:1 npm start)
        mode=
        for i in $(seq 100); do
            mode=$("$NRUN" logs "$id" 2>&1 | grep '^mode: ' || true)
            [ -n "$mode" ] && break
            sleep 0.1
        done
        echo "$mode"
        "$NRUN" rm -f "$id" >/dev/null
    }
    run_ep
    [ "$mode" = "mode: single (/ep/docker-entrypoint.sh: not a regular file)" ]
    rm "$d/docker-entrypoint.sh" && truncate -s 1G "$d/docker-entrypoint.sh"
    run_ep
    [ "$mode" = "mode: single (/ep/docker-entrypoint.sh: larger than 16 KiB)" ]
    rm "$d/docker-entrypoint.sh" && ln -s /proc/self/fd/1 "$d/docker-entrypoint.sh"
    run_ep
    [ "$mode" = "mode: single (/ep/docker-entrypoint.sh: a link that leaves the container)" ]
}

# `npm start -w NAME` with app dir $1 at /app and dir $2 (holding a package.json
# that would resolve to node with OUTMARK) at /other, both of the container
ws_mode() {
    local dir=$1 other=$2 id
    shift 2
    id=$(rt_run -d -v "$dir:/app" -v "$other:/other" rs:1 "$@")
    mode=$(mode_line "$id")
    echo "$* => $mode"
    "$NRUN" rm -f "$id" >/dev/null
    [ -n "$mode" ]
    [[ "$mode" != *HOSTMARK* && "$mode" != *OUTMARK* && "$mode" != *cluster* ]]
}

@test "npm workspaces: names and paths with .., absolute, through symlinks out of the app (to the container or the host), hostile patterns: nothing read outside the app" {
    d=$BATS_TEST_TMPDIR/mono && o=$BATS_TEST_TMPDIR/other
    mkdir -p "$d/packages/ok" "$o/x"
    printf '{"name":"other","scripts":{"start":"node -e 0 OUTMARK"}}\n' >"$o/package.json"
    cp "$o/package.json" "$o/x/package.json"
    printf '{"workspaces":["packages/*"]}\n' >"$d/package.json"
    printf '{"name":"ok","scripts":{"start":"node -e 0"}}\n' >"$d/packages/ok/package.json"
    # control: a workspace inside the app resolves
    id=$(rt_run -d -v "$d:/app" -v "$o:/other" rs:1 npm start -w ok)
    for i in $(seq 100); do
        mode=$("$NRUN" logs "$id" 2>&1 | grep '^mode: ' || true)
        [ -n "$mode" ] && break
        sleep 0.1
    done
    "$NRUN" rm -f "$id" >/dev/null
    [ "$mode" = "mode: cluster (npm start -w ok -> node -e 0)" ]
    # paths that leave the app
    for w in ../other /other /app/../other packages/../../other "$BATS_FILE_TMPDIR/hostonly" ..; do
        ws_mode "$d" "$o" npm start -w "$w"
        [[ "$mode" == "mode: single (/app/package.json: no workspace \""*"\" inside the app)" ]]
    done
    # workspace directories that are links out: to the container's /other, up through .., to a host path
    ln -s /other "$d/packages/abs"
    ln -s ../../other "$d/packages/rel"
    ln -s "$BATS_FILE_TMPDIR/hostonly" "$d/packages/host"
    for w in abs rel host; do
        ws_mode "$d" "$o" npm start --workspace "packages/$w"
        [ "$mode" = "mode: single (/app/packages/$w/package.json: a link or path that leaves the app's directory)" ]
    done
    # by name: the linked directories are not searched (the name "other" is only outside)
    ws_mode "$d" "$o" npm start -w other
    [ "$mode" = 'mode: single (/app/package.json: no workspace "other" inside the app)' ]
    # a workspace's package.json that is a link out, a FIFO
    mkdir -p "$d/packages/lnk" "$d/packages/fifo"
    ln -s /other/package.json "$d/packages/lnk/package.json"
    mkfifo "$d/packages/fifo/package.json"
    ws_mode "$d" "$o" npm start -w packages/lnk
    [ "$mode" = "mode: single (/app/packages/lnk/package.json: a link or path that leaves the app's directory)" ]
    ws_mode "$d" "$o" npm start -w packages/fifo
    [ "$mode" = "mode: single (/app/packages/fifo/package.json: not a regular file)" ]
    # hostile patterns in the root package.json
    for p in '"../*"' '"/other"' '"**"' '"packages/**/x"' '"!packages/ok"' '7'; do
        printf '{"workspaces":[%s]}\n' "$p" >"$d/package.json"
        ws_mode "$d" "$o" npm start -w other
        [[ "$mode" == "mode: single (/app/package.json: workspaces[0] "* ]]
    done
    printf '{"workspaces":[%s"x"]}\n' "$(printf '"p%d",' $(seq 1 64))" >"$d/package.json"
    ws_mode "$d" "$o" npm start -w other
    [ "$mode" = 'mode: single (/app/package.json: more than 64 workspaces patterns)' ]
    # the patterns' directory itself a link out
    ln -s /other "$d/out"
    printf '{"workspaces":["out/*", "out"]}\n' >"$d/package.json"
    ws_mode "$d" "$o" npm start -w other
    [ "$mode" = 'mode: single (/app/package.json: no workspace "other" inside the app)' ]
    ws_mode "$d" "$o" npm start -w out/x
    [ "$mode" = "mode: single (/app/out/x/package.json: a link or path that leaves the app's directory)" ]
    # no workspaces list, a name with control characters
    printf '{"name":"mono"}\n' >"$d/package.json"
    ws_mode "$d" "$o" npm start -w "$(printf 'a\nb\033c')"
    [ "$mode" = 'mode: single (/app/package.json has no "workspaces" list)' ]
}
