#!/usr/bin/env bats
# ADD <url> [--checksum=sha256:...] [--chmod]: downloads from a server the
# test starts on 127.0.0.1 (tests/lib/http_fixture.py).
load ../lib/common
bats_require_minimum_version 1.5.0

setup_file() {
    nr_make_root
    export W=$BATS_FILE_TMPDIR
    mkdir -p "$W/srv"
    printf 'remote content v1\n' >"$W/srv/app.txt"
    python3 "$REPO/tests/lib/http_fixture.py" "$W/srv" "$W/port" "$W/requests" &
    echo $! >"$W/server.pid"
    for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
    export URL="http://127.0.0.1:$(cat "$W/port")"
}

teardown_file() {
    [ -s "$W/server.pid" ] && kill "$(cat "$W/server.pid")" 2>/dev/null
    nr_remove_root
}

# a context whose Nodefile is "FROM scratch" and the lines given
ctx() {
    local c=$W/ctx.$BATS_TEST_NUMBER.$RANDOM
    mkdir -p "$c"
    printf 'FROM scratch\n' >"$c/Nodefile"
    printf '%s\n' "$@" >>"$c/Nodefile"
    echo "$c"
}
# "mode path" of every entry of image $1's last layer
last_layer() {
    local l
    l=$(jq -r '.layers[-1].digest' "$(blob "$(manifest_of "$1")")")
    tar tvzf "$(blob "$l")" | awk '{print $1, $6}'
}
last_file() { # content of file $2 in image $1's last layer
    local l
    l=$(jq -r '.layers[-1].digest' "$(blob "$(manifest_of "$1")")")
    tar xzOf "$(blob "$l")" "$2"
}
requests() { grep -c "^$1\$" "$W/requests" || true; }

@test "ADD <url> --checksum: downloaded, verified, named by the URL, mode 0600; a rebuild is CACHED without a request" {
    sum=$(sha256sum "$W/srv/app.txt" | cut -c1-64)
    c=$(ctx "ADD --checksum=sha256:$sum $URL/f/app.txt /dl/")
    run "$NBUILD" --progress=plain -t url:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(last_layer url:1 | grep 'dl/app.txt')" = "-rw------- dl/app.txt" ]
    [ "$(last_file url:1 dl/app.txt)" = "remote content v1" ]
    [ "$(requests /f/app.txt)" -eq 1 ]
    run "$NBUILD" --progress=plain -t url:2 "$c"
    [ "$status" -eq 0 ]
    [[ "$output" == *"--> CACHED"* ]]
    [ "$(requests /f/app.txt)" -eq 1 ]
    [ "$(manifest_of url:2)" = "$(manifest_of url:1)" ]
    # nothing of the download stays in the store's cache
    [ -z "$(ls -A "$NRUN_ROOT/cache/build/downloads")" ]
}

@test "ADD <url> without a checksum: the content is the cache key (same: CACHED; changed: a new layer); redirects followed; --chmod" {
    printf 'other v1\n' >"$W/srv/other.txt"
    c=$(ctx "ADD --chmod=0755 $URL/redirect/other.txt /bin/tool")
    run "$NBUILD" --progress=plain -t url:3 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(last_layer url:3 | grep 'bin/tool')" = "-rwxr-xr-x bin/tool" ]
    [ "$(last_file url:3 bin/tool)" = "other v1" ]
    run "$NBUILD" --progress=plain -t url:4 "$c"
    [[ "$output" == *"--> CACHED"* ]]
    [ "$(manifest_of url:4)" = "$(manifest_of url:3)" ]
    printf 'other v2\n' >"$W/srv/other.txt"
    run "$NBUILD" --progress=plain -t url:5 "$c"
    [ "$status" -eq 0 ]
    [[ "$output" != *"--> CACHED"* ]]
    [ "$(last_file url:5 bin/tool)" = "other v2" ]
}

@test "ADD <url> with a wrong checksum: a clear error naming the URL and both digests, the store unchanged" {
    "$NBUILD" -q -t keep:1 "$(ctx "ADD $URL/f/app.txt /a.txt")" >/dev/null
    before=$(nr_tree_hash "$NRUN_ROOT")
    bad=$(printf '0%.0s' $(seq 64))
    good=$(sha256sum "$W/srv/app.txt" | cut -c1-64)
    c=$(ctx "COPY Nodefile /" "ADD --checksum=sha256:$bad $URL/f/app.txt /x.txt")
    run "$NBUILD" -t bad:1 "$c"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:3:"* ]]
    [[ "$output" == *"$URL/f/app.txt"* ]]
    [[ "$output" == *"expected sha256:$bad"* ]]
    [[ "$output" == *"got sha256:$good"* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    [ -z "$(ls -A "$NRUN_ROOT/cache/build/downloads")" ]
    [ -z "$(manifest_of bad:1)" ]
}

@test "ADD --checksum: a bad value, a local source, COPY of a URL, a URL that names no file are errors with file:line:col" {
    run "$NBUILD" -t e:1 "$(ctx "ADD --checksum=md5:abc $URL/f/app.txt /")"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:"*"want sha256:"* ]]
    run "$NBUILD" -t e:2 "$(ctx "ADD --checksum=sha256:$(printf 'a%.0s' $(seq 64)) Nodefile /")"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:"*"one URL source"* ]]
    run "$NBUILD" -t e:3 "$(ctx "COPY $URL/f/app.txt /")"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:"*"use ADD"* ]]
    run "$NBUILD" -t e:4 "$(ctx "ADD $URL/ /dir/")"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:"*"names no file"* ]]
}
