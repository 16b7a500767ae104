#!/usr/bin/env bats
# Hostile registry replies (tests/security/hostile-registry.py on 127.0.0.1):
# a blob that does not hash to its digest, a truncated or over-long body, a
# 16 MiB manifest, a redirect loop, an index that leads back to itself or to
# another index, unknown media types, non-JSON, escapes in error messages,
# a token realm that is not http(s).  Each must fail with one clear line
# naming what was wrong, a non-zero exit, bounded memory, and the store as it
# was: no tag, no blob under a digest it does not have, no temp file.  5xx
# is retried, 4xx is not; a refused monolithic upload falls back to chunks.
load ../lib/common
bats_require_minimum_version 1.5.0

setup_file() {
    nr_make_root
    export HOSTILE_LOG=$BATS_FILE_TMPDIR/hostile.log
    python3 "$REPO/tests/security/hostile-registry.py" --log "$HOSTILE_LOG" \
        --port-file "$BATS_FILE_TMPDIR/port" 3>&- &
    echo $! >"$BATS_FILE_TMPDIR/hostile.pid"
    for _ in $(seq 1 100); do [ -s "$BATS_FILE_TMPDIR/port" ] && break; sleep 0.1; done
    [ -s "$BATS_FILE_TMPDIR/port" ]
    "$NRUN" images >/dev/null # the store exists before the first hash
}

teardown_file() {
    kill "$(cat "$BATS_FILE_TMPDIR/hostile.pid")" 2>/dev/null || true
    nr_remove_root
}

setup() { REG=127.0.0.1:$(cat "$BATS_FILE_TMPDIR/port"); }

# At most 512 MiB of address space and 60 s: an unbounded read or a hang fails.
bounded() {
    if [ -n "${ASAN_OPTIONS:-}" ]; then
        (export ASAN_OPTIONS="$ASAN_OPTIONS:hard_rss_limit_mb=512"; exec timeout 60 "$@")
    else
        (ulimit -v 524288; exec timeout 60 "$@")
    fi
}

# "$1" (a repository of the hostile registry) is refused with a message
# matching the glob $2; the store is unchanged and holds no temp file.
refused() {
    local before
    before=$(nr_tree_hash "$NRUN_ROOT")
    run bounded "$NRUN" pull "$REG/$1:1"
    echo "$output"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { echo "exit $status"; return 1; }
    [[ ${lines[-1]} == nrun:\ $2 ]] || { echo "want: nrun: $2"; return 1; }
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ] || { echo "store changed"; return 1; }
    [ -z "$(find "$NRUN_ROOT/blobs" -name '.tmp-*')" ] || { echo "temp file left"; return 1; }
    [ "$(jq '.manifests | length' "$NRUN_ROOT/index.json")" -eq 0 ]
}

@test "the control: the hostile registry's honest image pulls" {
    run bounded "$NRUN" --root "$BATS_FILE_TMPDIR/good" pull -q "$REG/good:1"
    [ "$status" -eq 0 ]
    [[ $output == sha256:* ]]
    rm -rf "$BATS_FILE_TMPDIR/good"
}

@test "a blob whose bytes do not hash to its digest: refused, dropped, named" {
    refused wrongdigest "*blob sha256:*: content hashes to sha256:*"
}

@test "a truncated blob (the connection closes early) is retried, then refused" {
    refused truncated "*"
    [[ $output == *"retrying (1/3)"* ]]
    [[ ${lines[-1]} == *"truncated"* || ${lines[-1]} == *"Transferred a partial file"* ]]
}

@test "a blob longer than its descriptor: refused as soon as it goes past" {
    refused oversize "*blob sha256:*: the registry sent more than its * bytes"
}

@test "a 16 MiB manifest: refused at the size bound" {
    refused hugemanifest "*manifest 1*reply body larger than 4194304 bytes"
}

@test "a redirect loop: refused after a bounded number of redirects" {
    refused redirectloop "blob sha256:*: GET *: Number of redirects hit maximum amount"
}

@test "an index that leads back to itself, and one that nests another index: refused" {
    refused selfindex "*manifest sha256:*: content hashes to sha256:*"
    refused nestedindex "*index sha256:*linux/amd64 entry is a application/vnd.oci.image.index.v1+json, not an image manifest"
}

@test "unknown media type and non-JSON manifests: refused" {
    refused badtype "*manifest 1: unsupported media type \"text/evil\""
    refused badjson "*manifest 1: reply is not a JSON object"
}

@test "5xx is retried with backoff (and then succeeds); 4xx is not retried" {
    run bounded "$NRUN" --root "$BATS_FILE_TMPDIR/flaky" pull "$REG/flaky:1"
    [ "$status" -eq 0 ]
    [ "$(grep -c "retrying" <<<"$output")" -eq 2 ]
    [ "$(grep -c '^GET /v2/flaky/manifests/1$' "$HOSTILE_LOG")" -eq 3 ]
    rm -rf "$BATS_FILE_TMPDIR/flaky"
    refused forbidden "*manifest 1: HTTP 403 DENIED: no"
    [ "$(grep -c '^GET /v2/forbidden/manifests/1$' "$HOSTILE_LOG")" -eq 1 ]
}

@test "a blob that answers 5xx (with a body longer than the blob) is retried; a 404 is named" {
    run bounded "$NRUN" --root "$BATS_FILE_TMPDIR/flakyblob" pull "$REG/flakyblob:1"
    [ "$status" -eq 0 ]
    [ "$(grep -c "HTTP 500; retrying" <<<"$output")" -eq 2 ]
    rm -rf "$BATS_FILE_TMPDIR/flakyblob"
    refused noblob "*/noblob: blob sha256:*: HTTP 404 BLOB_UNKNOWN: blob unknown to registry"
}

@test "terminal escapes in a registry's error message are printed escaped" {
    refused ansi "*HTTP 404 MANIFEST_UNKNOWN: *"
    [[ $output != *$'\e'* ]]
    [[ $output != *$'\a'* ]]
    [[ $output == *'\x1b[31mred'* ]]
}

@test "a Bearer realm that is not an http(s) URL is never fetched" {
    refused badrealm "*token realm \"file:///etc/passwd\" is not an https URL"
}

@test "push: a refused monolithic upload falls back to chunked PATCHes" {
    mkdir -p "$BATS_FILE_TMPDIR/up"
    head -c 100000 /dev/urandom >"$BATS_FILE_TMPDIR/up/data"
    tar -C "$BATS_FILE_TMPDIR/up" -cf "$BATS_FILE_TMPDIR/up.tar" .
    # its own store: the other probes check theirs holds no image
    NRUN_ROOT=$BATS_FILE_TMPDIR/pushroot "$NRUN" __internal mkimage -t up:1 --config '{"Cmd":["true"]}' "$BATS_FILE_TMPDIR/up.tar" >/dev/null
    : >"$HOSTILE_LOG"
    run bounded "$NRUN" --root "$BATS_FILE_TMPDIR/pushroot" push up:1 "$REG/chunky/x:1"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"monolithic upload refused (HTTP 413); uploading in chunks"* ]]
    grep -q '^PATCH /v2/chunky/x/blobs/uploads/' "$HOSTILE_LOG"
    grep -q '^PUT /v2/chunky/x/manifests/1' "$HOSTILE_LOG"
}

@test "a pull killed mid-blob leaves nothing; the next pull of the same blobs works" {
    before=$(nr_tree_hash "$NRUN_ROOT")
    "$NRUN" pull "$REG/stall:1" >"$BATS_FILE_TMPDIR/stall.out" 2>&1 3>&- &
    pid=$!
    for _ in $(seq 1 200); do grep -q '^GET /v2/stall/blobs/' "$HOSTILE_LOG" && break; sleep 0.05; done
    grep -q '^GET /v2/stall/blobs/' "$HOSTILE_LOG"
    sleep 0.3 # the half blob is in flight
    kill -9 "$pid"
    wait "$pid" || true
    [ -z "$(find "$NRUN_ROOT/blobs" -name '.tmp-*')" ]
    [ "$(jq '.manifests | length' "$NRUN_ROOT/index.json")" -eq 0 ]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    # the killed pull held the lock of this layer blob: the next pull gets it and stores the blob
    run bounded "$NRUN" pull -q "$REG/good:1"
    [ "$status" -eq 0 ]
    run "$NRUN" image inspect "$REG/good:1"
    [ "$status" -eq 0 ]
    [ -z "$(ls "$NRUN_ROOT/cache" | grep '^\.pull-' || true)" ]
    "$NRUN" rmi "$REG/good:1" >/dev/null
}

@test "push: credentials never go to another host an upload Location names" {
    mkdir -p "$BATS_FILE_TMPDIR/dc"
    printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$(printf 'u:secret-pw' | base64)" >"$BATS_FILE_TMPDIR/dc/config.json"
    mkdir -p "$BATS_FILE_TMPDIR/up2"
    head -c 1000 /dev/urandom >"$BATS_FILE_TMPDIR/up2/data"
    tar -C "$BATS_FILE_TMPDIR/up2" -cf "$BATS_FILE_TMPDIR/up2.tar" .
    NRUN_ROOT=$BATS_FILE_TMPDIR/pushroot2 "$NRUN" __internal mkimage -t up:2 --config '{"Cmd":["true"]}' "$BATS_FILE_TMPDIR/up2.tar" >/dev/null
    : >"$HOSTILE_LOG"
    DOCKER_CONFIG=$BATS_FILE_TMPDIR/dc run bounded "$NRUN" --root "$BATS_FILE_TMPDIR/pushroot2" push up:2 "$REG/leak/x:1"
    echo "$output"
    [ "$status" -eq 0 ]
    cat "$HOSTILE_LOG"
    grep -q '^POST /v2/leak/x/blobs/uploads/ AUTH$' "$HOSTILE_LOG"   # the registry got them
    grep -q '^PUT /v2/leak/x/blobs/uploads/u[0-9]*?digest=' "$HOSTILE_LOG"
    ! grep -q '^PUT /v2/leak/x/blobs/uploads/.* AUTH$' "$HOSTILE_LOG" # the other host did not
}
