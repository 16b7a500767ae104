#!/usr/bin/env bats
# ADD <url> against a hostile server on 127.0.0.1 (tests/lib/http_fixture.py):
# every answer that would make nbuild read a local file, loop, or fill the
# disk is refused with an error naming the URL, and the store is unchanged.
load ../lib/common
bats_require_minimum_version 1.5.0

setup_file() {
    nr_make_root
    export W=$BATS_FILE_TMPDIR
    mkdir -p "$W/srv" "$W/keep"
    python3 "$REPO/tests/lib/http_fixture.py" "$W/srv" "$W/port" "$W/requests" &
    echo $! >"$W/server.pid"
    for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
    export URL="http://127.0.0.1:$(cat "$W/port")"
    printf 'FROM scratch\nLABEL a=b\n' >"$W/keep/Nodefile"
    "$NBUILD" -q -t keep:1 "$W/keep" >/dev/null
}

teardown_file() {
    [ -s "$W/server.pid" ] && kill "$(cat "$W/server.pid")" 2>/dev/null
    nr_remove_root
}

# build "ADD $1 /x": a failure naming the URL and $2, the store unchanged
refused() {
    local c=$W/c.$BATS_TEST_NUMBER before
    mkdir -p "$c"
    printf 'FROM scratch\nADD %s /x\n' "$1" >"$c/Nodefile"
    before=$(nr_tree_hash "$NRUN_ROOT")
    run "$NBUILD" -t evil:1 "$c"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:"* ]]
    [[ "$output" == *"$1"* ]]
    [[ "$output" == *"$2"* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    [ -z "$(ls -A "$NRUN_ROOT/cache/build/downloads" 2>/dev/null)" ]
    [ -z "$(manifest_of evil:1)" ]
}

@test "ADD <url>: a redirect to file:// is not followed" {
    refused "$URL/to-file" "file"
}

@test "ADD <url>: a redirect loop ends after a bounded number of hops" {
    refused "$URL/loop" "redirects"
}

@test "ADD <url>: a declared body over the limit is refused before it is read" {
    refused "$URL/huge" "larger than the limit"
}

@test "ADD <url>: an HTTP error status is an error, not a file" {
    refused "$URL/f/missing" "HTTP status 404"
}

@test "ADD file:///etc/passwd is no download: a context path that is not there" {
    c=$W/c.scheme
    mkdir -p "$c"
    printf 'FROM scratch\nADD file:///etc/passwd /x\n' >"$c/Nodefile"
    run "$NBUILD" -t evil:2 "$c"
    echo "$output"
    [ "$status" -ne 0 ]
    ! grep -q 'root:' <<<"$output" || false
    [ -z "$(manifest_of evil:2)" ]
}
