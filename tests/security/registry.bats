#!/usr/bin/env bats
# Hostile registry replies (tests/security/hostile-registry.py on 127.0.0.1):
# a blob that does not hash to its digest, a truncated or over-long body, a
# 16 MiB manifest, a redirect loop, an index that leads back to itself or to
# another index, unknown media types, non-JSON, escapes in error messages,
# a token realm that is not http(s).  Each must fail with one clear line
# naming what was wrong, a non-zero exit, bounded memory, and the store as it
# was: no tag, no blob under a digest it does not have, no temp file.  5xx
# is retried, 4xx is not; a refused monolithic upload falls back to chunks.
load ../lib/registry
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() { reg_hostile_setup_file; }
teardown_file() { reg_hostile_teardown_file; }
setup() { reg_hostile_setup; }

# At most 512 MiB of address space and 60 s: an unbounded read or a hang fails.
bounded() { sec_bounded 60 "$@"; }

# "$1" (a repository of the hostile registry) is refused with a message
# matching the glob $2; the store is unchanged and holds no temp file.
refused() {
    local before
    before=$(nr_tree_hash "$NRUN_ROOT")
    run bounded "$NRUN" pull ${3:-} "$REG/$1:1"
    echo "$output"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { echo "exit $status"; return 1; }
    [[ ${lines[-1]} == nrun:\ $2 ]] || { echo "want: nrun: $2"; return 1; }
    reg_store_unchanged "$before"
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

@test "push: upload Locations that are path-relative references are resolved against the request (RFC 3986)" {
    mkdir -p "$BATS_FILE_TMPDIR/up4"
    head -c 300000 /dev/urandom >"$BATS_FILE_TMPDIR/up4/data"
    tar -C "$BATS_FILE_TMPDIR/up4" -cf "$BATS_FILE_TMPDIR/up4.tar" .
    NRUN_ROOT=$BATS_FILE_TMPDIR/pushroot4 "$NRUN" __internal mkimage -t up:4 --config '{"Cmd":["true"]}' "$BATS_FILE_TMPDIR/up4.tar" >/dev/null
    : >"$HOSTILE_LOG"
    run bounded "$NRUN" --root "$BATS_FILE_TMPDIR/pushroot4" push up:4 "$REG/relloc/x:1"
    echo "$output"
    cat "$HOSTILE_LOG"
    [ "$status" -eq 0 ]
    # POST answered "uN": the PUT and PATCH go to /v2/relloc/x/blobs/uploads/uN
    grep -q '^PUT /v2/relloc/x/blobs/uploads/u[0-9]*?digest=' "$HOSTILE_LOG"
    grep -q '^PATCH /v2/relloc/x/blobs/uploads/u[0-9]*$' "$HOSTILE_LOG"
    # a PATCH answered "../uploads/./uN?c=K": the next request goes to .../uploads/uN?c=K
    grep -q '^PUT /v2/relloc/x/blobs/uploads/u[0-9]*?c=[0-9]*&digest=' "$HOSTILE_LOG"
    grep -q '^PUT /v2/relloc/x/manifests/1$' "$HOSTILE_LOG"
}

@test "push: a 3000-byte upload Location is used whole; one longer than 8191 bytes is refused, never sent cut" {
    mkdir -p "$BATS_FILE_TMPDIR/up5"
    head -c 1000 /dev/urandom >"$BATS_FILE_TMPDIR/up5/data"
    tar -C "$BATS_FILE_TMPDIR/up5" -cf "$BATS_FILE_TMPDIR/up5.tar" .
    NRUN_ROOT=$BATS_FILE_TMPDIR/pushroot5 "$NRUN" __internal mkimage -t up:5 --config '{"Cmd":["true"]}' "$BATS_FILE_TMPDIR/up5.tar" >/dev/null
    : >"$HOSTILE_LOG"
    run bounded "$NRUN" --root "$BATS_FILE_TMPDIR/pushroot5" push up:5 "$REG/longloc/x:1"
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q '^PUT /v2/longloc/x/manifests/1$' "$HOSTILE_LOG"
    : >"$HOSTILE_LOG"
    run bounded "$NRUN" --root "$BATS_FILE_TMPDIR/pushroot5" push up:5 "$REG/hugeloc/x:1"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ ${lines[-1]} == *"/hugeloc/x: upload Location is longer than 8191 bytes: refused" ]]
    ! grep -q '^P[UA]T[CH]* /v2/hugeloc/x/blobs/uploads/' "$HOSTILE_LOG" || false
    rm -rf "$BATS_FILE_TMPDIR/pushroot5"
}

@test "push: a registry that answers HEAD with 405 gets every blob uploaded, then the manifest" {
    mkdir -p "$BATS_FILE_TMPDIR/up3"
    head -c 1000 /dev/urandom >"$BATS_FILE_TMPDIR/up3/data"
    tar -C "$BATS_FILE_TMPDIR/up3" -cf "$BATS_FILE_TMPDIR/up3.tar" .
    NRUN_ROOT=$BATS_FILE_TMPDIR/pushroot3 "$NRUN" __internal mkimage -t up:3 --config '{"Cmd":["true"]}' "$BATS_FILE_TMPDIR/up3.tar" >/dev/null
    : >"$HOSTILE_LOG"
    run bounded "$NRUN" --root "$BATS_FILE_TMPDIR/pushroot3" push up:3 "$REG/nohead/x:1"
    echo "$output"
    cat "$HOSTILE_LOG"
    [ "$status" -eq 0 ]
    grep -q '^HEAD /v2/nohead/x/blobs/sha256:' "$HOSTILE_LOG"
    # the layer and the config
    [ "$(grep -c '^PUT /v2/nohead/x/blobs/uploads/u[0-9]*?digest=' "$HOSTILE_LOG")" -eq 2 ]
    grep -q '^PUT /v2/nohead/x/manifests/1$' "$HOSTILE_LOG"
}

@test "a non-distributable layer the registry lacks, --allow-foreign-urls: fetched from its http url only, with no credential sent there" {
    mkdir -p "$BATS_FILE_TMPDIR/dcf"
    printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$(printf 'u:secret-pw' | base64)" >"$BATS_FILE_TMPDIR/dcf/config.json"
    : >"$HOSTILE_LOG"
    DOCKER_CONFIG=$BATS_FILE_TMPDIR/dcf run bounded "$NRUN" --root "$BATS_FILE_TMPDIR/frn" pull --allow-foreign-urls "$REG/foreign:1"
    echo "$output"
    cat "$HOSTILE_LOG"
    [ "$status" -eq 0 ]
    grep -q '^GET /v2/foreign/blobs/sha256:.* AUTH$' "$HOSTILE_LOG" # asked the registry first, with credentials
    grep -qx 'GET /ext/layer' "$HOSTILE_LOG"                        # then the url, without
    [ "$(grep -c '^GET /ext/layer' "$HOSTILE_LOG")" -eq 1 ]
    run "$NRUN" --root "$BATS_FILE_TMPDIR/frn" image inspect "$REG/foreign:1"
    [ "$status" -eq 0 ]
    rm -rf "$BATS_FILE_TMPDIR/frn"
}

@test "a blob the registry redirects to another host (its storage) is fetched there without the registry's credentials" {
    mkdir -p "$BATS_FILE_TMPDIR/dcr"
    printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$(printf 'u:secret-pw' | base64)" >"$BATS_FILE_TMPDIR/dcr/config.json"
    : >"$HOSTILE_LOG"
    DOCKER_CONFIG=$BATS_FILE_TMPDIR/dcr run bounded "$NRUN" --root "$BATS_FILE_TMPDIR/rdr" pull "$REG/redirblob:1"
    echo "$output"
    cat "$HOSTILE_LOG"
    [ "$status" -eq 0 ]
    grep -q '^GET /v2/redirblob/blobs/sha256:.* AUTH$' "$HOSTILE_LOG"
    grep -qx 'GET /ext/layer' "$HOSTILE_LOG"
    rm -rf "$BATS_FILE_TMPDIR/rdr"
}

@test "a non-distributable layer the registry lacks, no --allow-foreign-urls: refused, its url never fetched, store unchanged" {
    : >"$HOSTILE_LOG"
    refused foreignplain "*/foreignplain: blob sha256:*: a foreign layer the registry does not have; its urls are fetched only with --allow-foreign-urls"
    cat "$HOSTILE_LOG"
    grep -q '^GET /v2/foreignplain/blobs/' "$HOSTILE_LOG"
    ! grep -q '^GET /ext/' "$HOSTILE_LOG" || false
}

@test "an ordinary gzip layer with urls the registry lacks: its urls are never fetched, even with --allow-foreign-urls" {
    : >"$HOSTILE_LOG"
    run bounded "$NRUN" --root "$BATS_FILE_TMPDIR/ugz" pull --allow-foreign-urls "$REG/urlsgzip:1"
    echo "$output"
    cat "$HOSTILE_LOG"
    [ "$status" -ne 0 ]
    [[ $output == *"urlsgzip: blob sha256:"* ]]
    grep -q '^GET /v2/urlsgzip/blobs/' "$HOSTILE_LOG"
    ! grep -q '^GET /ext/' "$HOSTILE_LOG" || false
    rm -rf "$BATS_FILE_TMPDIR/ugz"
}

@test "a non-distributable layer whose urls are none http(s), or too many: refused, nothing fetched" {
    : >"$HOSTILE_LOG"
    refused foreignnohttp "blob sha256:*: the registry does not have it and none of its urls is http(s)" --allow-foreign-urls
    refused foreignmany "*manifest sha256:*: layers?0?: urls is not a list of at most 16 URLs" --allow-foreign-urls
    ! grep -q '^GET /ext/' "$HOSTILE_LOG" || false
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
    ! grep -q '^PUT /v2/leak/x/blobs/uploads/.* AUTH$' "$HOSTILE_LOG" # the other host did not || false
}

# ---- the registry build cache (nbuild --cache-from): a hostile cache is a
# warning and a miss, the RUN step runs, and no layer enters the build that is
# not what its digests say.

# nbuild --cache-from "$1" in a fresh root: succeeds, warns matching glob $2,
# and the RUN step ran (its marker printed).
cache_refused() {
    local root=$BATS_TEST_TMPDIR/croot
    mkdir -p "$BATS_TEST_TMPDIR/cctx"
    printf 'FROM scratch\nCOPY a.txt /a.txt\n' >"$BATS_TEST_TMPDIR/cctx/Nodefile"
    [ -f "$BATS_TEST_TMPDIR/cctx/a.txt" ] || echo a >"$BATS_TEST_TMPDIR/cctx/a.txt"
    run --separate-stderr bounded "$NBUILD" --root "$root" --progress plain -t c:1 --cache-from "$1" \
        ${3:-} "$BATS_TEST_TMPDIR/cctx"
    echo "$output"; echo "$stderr"
    [ "$status" -eq 0 ] || { echo "exit $status"; return 1; }
    [[ $stderr == *"--cache-from $1: "$2" (not used)"* ]] || { echo "want warning: $2"; return 1; }
    [[ $output == *"(1 layers built, 0 from cache"* ]] || { echo "a step came from the cache"; return 1; }
    [ -z "$(find "$root/blobs" -name '.tmp-*')" ] || { echo "temp file left"; return 1; }
    [ "$(jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' "$root/index.json")" = c:1 ]
    rm -rf "$root"
}

@test "--cache-from a hostile registry: wrong digests, a huge or non-JSON manifest are a miss with a warning" {
    cache_refused "$REG/wrongdigest:1" "*blob sha256:*: content hashes to sha256:*"
    cache_refused "$REG/hugemanifest:1" "*reply body larger than 4194304 bytes"
    cache_refused "$REG/badjson:1" "*reply is not a JSON object"
}

@test "--cache-from a cache whose records or diff_ids lie: a miss, never a poisoned layer" {
    load ../lib/registry
    nr_registry_start
    mkdir -p "$BATS_TEST_TMPDIR/cctx"
    echo a >"$BATS_TEST_TMPDIR/cctx/a.txt"
    printf 'FROM scratch\nCOPY a.txt /a.txt\n' >"$BATS_TEST_TMPDIR/cctx/Nodefile"
    "$NBUILD" --root "$BATS_TEST_TMPDIR/src" -q -t c:1 --cache-to "type=registry,ref=$NR_REGISTRY/c/good:cache" \
        "$BATS_TEST_TMPDIR/cctx" >/dev/null
    skopeo copy -q --src-tls-verify=false "docker://$NR_REGISTRY/c/good:cache" "oci:$BATS_TEST_TMPDIR/l:cache"
    # variants of the honest cache: a diff_id that is not the layer's, records
    # that are not JSON, that point past the layers, that are not keys (a
    # config larger than 4 MiB is refused by the pull, as the manifest above)
    python3 - "$BATS_TEST_TMPDIR/l" <<'PY'
import hashlib, json, os, sys
d = sys.argv[1]
idx = json.load(open(f"{d}/index.json"))
mdesc = idx["manifests"][0]
man = json.load(open(f"{d}/blobs/sha256/{mdesc['digest'][7:]}"))
cfg = json.load(open(f"{d}/blobs/sha256/{man['config']['digest'][7:]}"))
lab = "org.nrun.buildcache.v1"
rec = json.loads(cfg["config"]["Labels"][lab])
def put(data):
    h = hashlib.sha256(data).hexdigest()
    open(f"{d}/blobs/sha256/{h}", "wb").write(data)
    return "sha256:" + h, len(data)
def variant(tag, f):
    c = json.loads(json.dumps(cfg)); f(c)
    cd, cs = put(json.dumps(c).encode())
    m = dict(man); m["config"] = dict(man["config"], digest=cd, size=cs)
    md, ms = put(json.dumps(m).encode())
    idx["manifests"].append({"mediaType": mdesc["mediaType"], "digest": md, "size": ms,
                             "annotations": {"org.opencontainers.image.ref.name": tag}})
variant("diffid", lambda c: c["rootfs"].__setitem__("diff_ids", ["sha256:" + "0" * 64]))
variant("notjson", lambda c: c["config"]["Labels"].__setitem__(lab, "{\"v\":1,\"records\":[{"))
def past(c):
    r = json.loads(json.dumps(rec)); r["records"][0]["layer"] = 7
    c["config"]["Labels"][lab] = json.dumps(r)
variant("past", past)
def nokey(c):
    r = json.loads(json.dumps(rec)); r["records"][0]["key"] = "../../../etc/passwd"
    c["config"]["Labels"][lab] = json.dumps(r)
variant("nokey", nokey)
json.dump(idx, open(f"{d}/index.json", "w"))
PY
    for t in diffid notjson past nokey; do
        skopeo copy -q --dest-tls-verify=false "oci:$BATS_TEST_TMPDIR/l:$t" "docker://$NR_REGISTRY/c/bad:$t"
    done
    cache_refused "$NR_REGISTRY/c/bad:diffid" "*layer sha256:*diff*"
    cache_refused "$NR_REGISTRY/c/bad:notjson" "cache records: not {\"v\":1,\"records\":\[...\]}*"
    cache_refused "$NR_REGISTRY/c/bad:past" "cache records: record 0 is not*"
    cache_refused "$NR_REGISTRY/c/bad:nokey" "cache records: record 0 is not*"
    # the control: the honest cache hits
    run "$NBUILD" --root "$BATS_TEST_TMPDIR/ok" --progress plain -t c:1 --cache-from "$NR_REGISTRY/c/good:cache" \
        "$BATS_TEST_TMPDIR/cctx"
    [[ $output == *"(0 layers built, 1 from cache"* ]]
    nr_registry_stop
}
