#!/usr/bin/env bats
# The whole path a user takes: nbuild the hello example on the node base
# image, run it with a published port, serve through several workers, reload
# without failing a request, read the logs, stop gracefully, clean up.
load ../lib/common
load ../lib/registry
bats_require_minimum_version 1.5.0

setup_file() {
    nr_make_root
    # a port free now (a random one collided with other processes on this shared machine)
    export PORT
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$NBUILD" -q -t hello:it "$REPO/examples/hello" >"$BATS_FILE_TMPDIR/digest"
}

teardown_file() {
    nr_registry_stop 2>/dev/null || true
    for c in $("$NRUN" ps -aq 2>/dev/null); do "$NRUN" rm -f "$c" >/dev/null 2>&1 || true; done
    nr_remove_root
}

@test "nbuild: the example builds on node:20-distroless with the config the Nodefile asks for" {
    grep -Eq '^sha256:[0-9a-f]{64}$' "$BATS_FILE_TMPDIR/digest"
    run "$NRUN" image inspect hello:it
    [ "$status" -eq 0 ]
    echo "$output" | jq -e '.[0].Config.User == "node" and .[0].Config.WorkingDir == "/app"
        and (.[0].Config.Cmd == ["node","server.js"]) and (.[0].Config.ExposedPorts | has("3000/tcp"))'
}

@test "run -d -p: two workers answer on the published port; stats, logs, reload, stop" {
    id=$("$NRUN" run -d --name hello-it --workers 2 -p "127.0.0.1:$PORT:3000" hello:it)
    [[ "$id" =~ ^[0-9a-f]{64}$ ]]
    for _ in $(seq 100); do nr_in_ns curl -sf "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 0.1; done
    pids=$(for _ in $(seq 20); do nr_in_ns curl -sf "http://127.0.0.1:$PORT/"; done | sort -u | wc -l)
    [ "$pids" -eq 2 ]
    run "$NRUN" stats --json hello-it
    [ "$status" -eq 0 ]
    echo "$output" | jq -e '[.. | objects | select(has("pid") and has("rss"))] | length == 2'
    # a reload under a steady client: every request answered with 200
    ( for _ in $(seq 200); do nr_in_ns curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$PORT/"; done ) >"$BATS_TEST_TMPDIR/codes" &
    client=$!
    run "$NRUN" reload hello-it
    [ "$status" -eq 0 ]
    wait "$client"
    [ "$(grep -c . "$BATS_TEST_TMPDIR/codes")" -eq 200 ]
    [ "$(grep -vc '^200$' "$BATS_TEST_TMPDIR/codes")" -eq 0 ]
    new=$(for _ in $(seq 20); do nr_in_ns curl -sf "http://127.0.0.1:$PORT/"; done | sort -u)
    [ -n "$new" ]
    run "$NRUN" logs hello-it
    [[ "$output" == *"listening on 3000"* ]]
    run "$NRUN" stop hello-it
    [ "$status" -eq 0 ]
    run "$NRUN" ps -a --format json
    echo "$output" | jq -e 'select(.Names == "hello-it") | .State.Status == "exited" and .State.ExitCode == 0'
    "$NRUN" rm hello-it
    run "$NRUN" ps -aq
    [ -z "$output" ]
    ! nr_in_ns curl -sf --max-time 1 "http://127.0.0.1:$PORT/" || false
}

@test "run: the app's own exit code comes back through the supervisor" {
    run "$NRUN" run --rm hello:it node -e 'process.exit(3)'
    [ "$status" -eq 3 ]
    run "$NRUN" run --rm hello:it node -e 'console.log(process.getuid(), require("os").hostname().length > 0)'
    [ "$status" -eq 0 ]
    [ "$output" = "1000 true" ]
}

@test "an nbuild image goes through a docker-registry and back with the same digest; podman loads it" {
    "$NBUILD" -q -t hello:it --output "oci:$BATS_TEST_TMPDIR/layout" "$REPO/examples/hello" >"$BATS_TEST_TMPDIR/d"
    want=$(cat "$BATS_TEST_TMPDIR/d")
    run skopeo inspect --raw "oci:$BATS_TEST_TMPDIR/layout:it"
    [ "$status" -eq 0 ]
    [ "sha256:$(printf '%s' "$output" | sha256sum | cut -c1-64)" = "$want" ]
    nr_registry_start
    skopeo copy -q --dest-tls-verify=false "oci:$BATS_TEST_TMPDIR/layout:it" "docker://$NR_REGISTRY/hello:it"
    skopeo copy -q --src-tls-verify=false "docker://$NR_REGISTRY/hello:it" "oci:$BATS_TEST_TMPDIR/back:it"
    run skopeo inspect --raw "oci:$BATS_TEST_TMPDIR/back:it"
    [ "sha256:$(printf '%s' "$output" | sha256sum | cut -c1-64)" = "$want" ]
    nr_registry_stop
    umoci unpack --rootless --image "$BATS_TEST_TMPDIR/back:it" "$BATS_TEST_TMPDIR/bundle" >/dev/null
    [ -f "$BATS_TEST_TMPDIR/bundle/rootfs/app/server.js" ]
    [ -x "$BATS_TEST_TMPDIR/bundle/rootfs/usr/local/bin/node" ]
    "$NBUILD" -q -t hello:it --output "oci-archive:$BATS_TEST_TMPDIR/img.tar" "$REPO/examples/hello" >/dev/null
    pr="$BATS_TEST_TMPDIR/podman"
    run podman --root "$pr/root" --runroot "$pr/run" --storage-driver vfs load -i "$BATS_TEST_TMPDIR/img.tar"
    [ "$status" -eq 0 ]
    podman --root "$pr/root" --runroot "$pr/run" --storage-driver vfs rmi -a -f >/dev/null 2>&1 || true
    rm -rf "$pr"
}
