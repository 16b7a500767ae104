#!/usr/bin/env bats
# nbuild --init: the image carries nrun-init as its entrypoint, so runc (any
# OCI runtime) runs the same master/worker supervisor.  The image goes out
# through an OCI layout, umoci unpacks it, runc runs the bundle (host
# network; the test only talks to 127.0.0.1) and the test checks two worker
# PIDs and a rolling reload on SIGHUP with no failed request.  nrun itself
# still runs the image under its own PID 1.

load ../lib/common
load ../lib/runtime
load ../lib/supervisor

setup_file() {
    nr_make_root
    command -v runc >/dev/null && command -v umoci >/dev/null || return 0
    rt_node_tar "$BATS_FILE_TMPDIR/node.tar"
    "$NRUN" __internal mkimage -t nodehost:1 --config '{"Env":["PATH=/usr/bin:/bin"]}' \
        "$BATS_FILE_TMPDIR/node.tar" >/dev/null
    mkdir -p "$BATS_FILE_TMPDIR/ctx"
    echo 'require("http").createServer((q, r) => r.end(process.pid + "\n")).listen(+process.env.PORT || 3000);' \
        >"$BATS_FILE_TMPDIR/ctx/server.js"
    printf 'FROM nodehost:1\nCOPY server.js /app/\nENV PORT=3000\nCMD ["node", "/app/server.js"]\n' \
        >"$BATS_FILE_TMPDIR/ctx/Nodefile"
}

teardown() {
    if [ -n "${CID:-}" ]; then
        runc kill "$CID" KILL >/dev/null 2>&1 || true
        runc delete -f "$CID" >/dev/null 2>&1 || true
    fi
}

teardown_file() { nr_remove_root; }

need_tools() {
    command -v runc >/dev/null || skip "runc not installed (make deps)"
    command -v umoci >/dev/null || skip "umoci not installed (make deps)"
}

@test "nbuild --init: one extra layer holding /nrun-init, the entrypoint wraps the command, the label names it" {
    need_tools
    run "$NBUILD" -q --init -t app:init "$BATS_FILE_TMPDIR/ctx"
    [ "$status" -eq 0 ]
    [ "$(cfg app:init '.config.Entrypoint')" = '["/nrun-init","--"]' ]
    [ "$(cfg app:init '.config.Cmd')" = '["node","/app/server.js"]' ]
    [ "$(cfg app:init '.config.Labels["org.nrun.init"]')" = '"/nrun-init"' ]
    "$NBUILD" -q -t app:plain "$BATS_FILE_TMPDIR/ctx" >/dev/null
    n_init=$(jq '.layers | length' "$(blob "$(manifest_of app:init)")")
    n_plain=$(jq '.layers | length' "$(blob "$(manifest_of app:plain)")")
    [ "$n_init" -eq $((n_plain + 1)) ]
    # the last layer is exactly the static supervisor, mode 0755
    last=$(jq -r '.layers[-1].digest' "$(blob "$(manifest_of app:init)")")
    listing=$(tar -tvzf "$(blob "$last")" 2>/dev/null)
    [ "$(echo "$listing" | wc -l)" -eq 1 ]
    [[ "$listing" == "-rwxr-xr-x 0/0 "*" nrun-init" ]]
    tar -xzOf "$(blob "$last")" nrun-init | cmp - "$BUILD/nrun-init"
    # rebuilding an --init image --init does not wrap twice
    printf 'FROM app:init\nENV X=1\n' >"$BATS_TEST_TMPDIR/Nodefile"
    "$NBUILD" -q --init -t app:init2 -f "$BATS_TEST_TMPDIR/Nodefile" "$BATS_FILE_TMPDIR/ctx" >/dev/null
    [ "$(cfg app:init2 '.config.Entrypoint')" = '["/nrun-init","--"]' ]
}

@test "nrun runs an --init image under its own PID 1 (the /nrun-init prefix is not run again)" {
    need_tools
    "$NBUILD" -q --init -t app:init "$BATS_FILE_TMPDIR/ctx" >/dev/null
    run "$NRUN" run --rm app:init node -e 'console.log(process.ppid, process.argv.length)'
    [ "$status" -eq 0 ]
    [ "$output" = "1 1" ]
}

@test "runc runs the umoci-unpacked --init image: two workers serve HTTP, SIGHUP replaces them with no failed request" {
    need_tools
    "$NBUILD" -q --init -t app:init --output "oci:$BATS_TEST_TMPDIR/layout" "$BATS_FILE_TMPDIR/ctx" >/dev/null
    umoci unpack --image "$BATS_TEST_TMPDIR/layout:init" "$BATS_TEST_TMPDIR/bundle" >/dev/null
    [ -x "$BATS_TEST_TMPDIR/bundle/rootfs/nrun-init" ]
    [ "$(jq -c .process.args "$BATS_TEST_TMPDIR/bundle/config.json")" = '["/nrun-init","--","node","/app/server.js"]' ]
    port=$(sv_free_port)
    # host network (the test talks to 127.0.0.1 only), no terminal, two workers
    jq --arg p "PORT=$port" '.process.terminal = false | .linux.namespaces |= map(select(.type != "network"))
        | .process.env += [$p, "NRUN_WORKERS=2"]' "$BATS_TEST_TMPDIR/bundle/config.json" >"$BATS_TEST_TMPDIR/c"
    mv "$BATS_TEST_TMPDIR/c" "$BATS_TEST_TMPDIR/bundle/config.json"
    CID=nrun-test-init-$$
    runc run -d --bundle "$BATS_TEST_TMPDIR/bundle" "$CID" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" </dev/null
    sv_wait "[ \$(for i in 1 2 3 4 5 6 7 8; do curl -sf 127.0.0.1:$port; done | sort -u | wc -l) -eq 2 ]" 20
    before=$(for i in $(seq 1 8); do curl -sf "127.0.0.1:$port"; done | sort -u)
    [ "$(echo "$before" | wc -l)" -eq 2 ]
    run runc ps "$CID"
    [ "$(echo "$output" | grep -c '/nrun-init -- node /app/server.js')" -eq 1 ]
    [ "$(echo "$output" | grep -v nrun-init | grep -c ' node /app/server.js$')" -eq 2 ]
    # requests through the reload: none may fail
    (
        f=0
        for i in $(seq 1 150); do curl -sf "127.0.0.1:$port" >/dev/null || f=$((f + 1)); sleep 0.02; done
        echo "$f" >"$BATS_TEST_TMPDIR/failed"
    ) &
    loop=$!
    sleep 0.3
    runc kill "$CID" HUP
    wait "$loop"
    [ "$(cat "$BATS_TEST_TMPDIR/failed")" -eq 0 ]
    grep -q 'reload done: 2 workers replaced' "$BATS_TEST_TMPDIR/err"
    after=$(for i in $(seq 1 8); do curl -sf "127.0.0.1:$port"; done | sort -u)
    [ "$(echo "$after" | wc -l)" -eq 2 ]
    [ -z "$(comm -12 <(echo "$before") <(echo "$after"))" ]
    # SIGTERM (what the kubelet sends) stops it cleanly
    runc kill "$CID" TERM
    sv_wait "[ \"\$(runc state $CID | jq -r .status)\" = stopped ]" 20
}

@test "nrun-init image mode: a bad NRUN_* setting or a missing command is a clear error" {
    run env NRUN_WORKERS=many "$BUILD/nrun-init" -- true
    [ "$status" -eq 2 ]
    [[ "$output" == *"NRUN_WORKERS=many: expected 0..4096"* ]]
    run env NRUN_MODE=fast "$BUILD/nrun-init" -- true
    [ "$status" -eq 2 ]
    [[ "$output" == *"NRUN_MODE=fast: unknown value"* ]]
    run "$BUILD/nrun-init" --
    [ "$status" -eq 2 ]
    [[ "$output" == *"no command"* ]]
}
