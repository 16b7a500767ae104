#!/usr/bin/env bats
# nrun pull / push against a real docker-registry on 127.0.0.1, checked both
# ways with skopeo: what nrun pushes skopeo reads (same digest), what skopeo
# pushes (OCI and Docker schema2 manifests, gzip and zstd layers, an image
# index) nrun pulls, verifies and runs.

bats_require_minimum_version 1.5.0
load ../lib/common
load ../lib/registry
load ../lib/runtime

setup_file() {
    reg_setup_file e2e
    "$BUILD/tests/test_store" --make-image "$NRUN_ROOT" demo:zstd zstd >"$WORK/zstd.digest"
    "$BUILD/tests/test_store" --make-image "$NRUN_ROOT" demo:gz >/dev/null
    NR_REGISTRY_LOGLEVEL=info reg_start
}

teardown_file() {
    [ -f "$WORK/ext.pid" ] && kill "$(cat "$WORK/ext.pid")" 2>/dev/null
    reg_teardown_file
}

setup() {
    REG=$(cat "$WORK/registry")
    REGDIR=$(cat "$WORK/registry.dir")
}

# A fresh store for the pulling side.
fresh() { rm -rf "$WORK/pull"; mkdir -p "$WORK/pull"; echo "$WORK/pull"; }
digest_of() { "$NRUN" --root "${2:-$NRUN_ROOT}" image inspect "$1" | jq -r '.[0].Digest'; }
# Requests the registry served for a path pattern (its info log).
# (its access log lines: '"METHOD URI HTTP/1.1" STATUS', URI a prefix)
served() { grep -cF "\"$1 $2" "$REGDIR/log" || true; }

@test "nrun push: skopeo reads the image back with the same digest" {
    want=$(digest_of bb:1)
    run "$NRUN" push bb:1 "$REG/bb:1"
    [ "$status" -eq 0 ]
    [[ $output == *"The push refers to repository [$REG/bb]"* ]]
    [[ ${lines[-1]} == "1: digest: $want size: "* ]]
    run skopeo inspect --tls-verify=false "docker://$REG/bb:1"
    [ "$status" -eq 0 ]
    [ "$(jq -r .Digest <<<"$output")" = "$want" ]
    run skopeo copy --preserve-digests --src-tls-verify=false "docker://$REG/bb:1" "oci:$WORK/skopeo-bb:1"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.manifests[0].digest' "$WORK/skopeo-bb/index.json")" = "$want" ]
}

@test "what nrun pushed: skopeo copies it to an OCI layout, umoci unpacks it, runc runs it with the image's config" {
    mkdir -p "$WORK/ctxr"
    echo from-the-context >"$WORK/ctxr/msg"
    printf 'FROM bb:1\nENV GREETING=hello\nWORKDIR /app\nCOPY msg /app/msg\nUSER 1000:1000\nCMD ["sh", "-c", "cat msg; id -u; pwd; echo $GREETING $IMG"]\n' \
        >"$WORK/ctxr/Nodefile"
    run "$NBUILD" --progress plain -t runc:1 "$WORK/ctxr"
    [ "$status" -eq 0 ]
    "$NRUN" push runc:1 "$REG/runc:1" >/dev/null
    # the manifest as served: media types, sizes and digests of what nrun stores
    raw=$(skopeo inspect --raw --tls-verify=false "docker://$REG/runc:1")
    [ "sha256:$(printf '%s' "$raw" | sha256sum | cut -c1-64)" = "$(digest_of runc:1)" ]
    [ "$(jq -r .mediaType <<<"$raw")" = application/vnd.oci.image.manifest.v1+json ]
    [ "$(jq -r .config.mediaType <<<"$raw")" = application/vnd.oci.image.config.v1+json ]
    for d in $(jq -r '.config.digest, .layers[].digest' <<<"$raw"); do
        [ "$(jq -r --arg d "$d" '[.config, .layers[]] | map(select(.digest == $d))[0].size' <<<"$raw")" = \
            "$(stat -c %s "$NRUN_ROOT/blobs/sha256/${d#sha256:}")" ]
    done
    rm -rf "$WORK/runc-oci" "$WORK/runc-bundle"
    skopeo copy -q --src-tls-verify=false "docker://$REG/runc:1" "oci:$WORK/runc-oci:1"
    umoci unpack --image "$WORK/runc-oci:1" "$WORK/runc-bundle" >/dev/null
    chmod 755 "$WORK/runc-bundle/rootfs" # the busybox tar's "./" is 0700: uid 1000 could not enter it
    jq '.process.terminal = false' "$WORK/runc-bundle/config.json" >"$WORK/runc-bundle/c" &&
        mv "$WORK/runc-bundle/c" "$WORK/runc-bundle/config.json"
    [ "$(jq -c '.process.user' "$WORK/runc-bundle/config.json")" = '{"uid":1000,"gid":1000}' ]
    id=nrun-e2e-$$
    run bash -c "cd '$WORK/runc-bundle' && timeout 60 runc --root '$WORK/runc-state' run '$id' 3>&-"
    echo "$output"
    runc --root "$WORK/runc-state" delete -f "$id" 2>/dev/null || true
    [ "$status" -eq 0 ]
    [ "$output" = $'from-the-context\n1000\n/app\nhello 1' ]
    rm -rf "$WORK/runc-oci" "$WORK/runc-bundle" "$WORK/runc-state"
}

@test "nrun push of an unchanged image uploads nothing (the tag's HEAD names it: no blob is asked for)" {
    "$NRUN" push bb:1 "$REG/bb:again" >/dev/null
    before=$(served PATCH /v2/bb/)/$(served PUT "/v2/bb/blobs")/$(served HEAD "/v2/bb/blobs")/$(served PUT "/v2/bb/manifests")
    heads=$(served HEAD /v2/bb/manifests/again)
    run "$NRUN" push bb:1 "$REG/bb:again"
    [ "$status" -eq 0 ]
    [ "$(grep -c 'Layer already exists' <<<"$output")" -eq 2 ]
    [ "$(served PATCH /v2/bb/)/$(served PUT "/v2/bb/blobs")/$(served HEAD "/v2/bb/blobs")/$(served PUT "/v2/bb/manifests")" = "$before" ]
    [ "$(served HEAD /v2/bb/manifests/again)" -eq $((heads + 1)) ]
    # the same image under a new tag of that repository: the blobs are
    # checked (HEAD, none uploaded) and the manifest is written under the tag
    run "$NRUN" push bb:1 "$REG/bb:other"
    [ "$status" -eq 0 ]
    [ "$(served HEAD "/v2/bb/blobs")" -gt "$(cut -d/ -f3 <<<"$before")" ]
    [ "$(served PUT /v2/bb/manifests/other)" -eq 1 ]
    [ "$(served PATCH /v2/bb/)/$(served PUT "/v2/bb/blobs")" = "$(cut -d/ -f1,2 <<<"$before")" ]
}

@test "nrun pull: by tag and by digest, verified, tagged, and it runs" {
    want=$(digest_of bb:1)
    root=$(fresh)
    run "$NRUN" --root "$root" pull "$REG/bb:1"
    [ "$status" -eq 0 ]
    [[ $output == *"Digest: $want"* ]]
    [ "$(digest_of "$REG/bb:1" "$root")" = "$want" ]
    run "$NRUN" --root "$root" run --rm --network none "$REG/bb:1" sh -c 'echo pulled-and-running'
    [ "$status" -eq 0 ]
    [[ $output == *pulled-and-running* ]]
    # by digest: stored, no tag added
    root=$(fresh)
    run "$NRUN" --root "$root" pull -q "$REG/bb@$want"
    [ "$status" -eq 0 ]
    [ "$output" = "$want" ]
    [ -f "$root/blobs/sha256/${want#sha256:}" ]
    [ "$(jq '.manifests | length' "$root/index.json")" -eq 0 ]
}

@test "nrun pull of an image skopeo pushed as Docker schema2" {
    "$NRUN" save --dir --tag 1 -o "$WORK/oci-bb" bb:1
    run skopeo copy --format v2s2 --dest-tls-verify=false "oci:$WORK/oci-bb:1" "docker://$REG/v2s2:1"
    [ "$status" -eq 0 ]
    want=$(skopeo inspect --tls-verify=false "docker://$REG/v2s2:1" | jq -r .Digest)
    root=$(fresh)
    run "$NRUN" --root "$root" pull "$REG/v2s2:1"
    [ "$status" -eq 0 ]
    [ "$(digest_of "$REG/v2s2:1" "$root")" = "$want" ]
    m=$root/blobs/sha256/${want#sha256:}
    [ "$(jq -r .mediaType "$m")" = application/vnd.docker.distribution.manifest.v2+json ]
    # gzip, or the uncompressed Docker type when skopeo reuses the tar blob test 1 pushed
    [[ $(jq -r '.layers[0].mediaType' "$m") == application/vnd.docker.image.rootfs.diff.tar* ]]
    run "$NRUN" --root "$root" run --rm --network none "$REG/v2s2:1" sh -c 'echo schema2-runs'
    [ "$status" -eq 0 ]
    [[ $output == *schema2-runs* ]]
}

@test "nrun pull of gzip layers skopeo pushed as Docker schema2" {
    "$NRUN" save --dir --tag gz -o "$WORK/ocigz" demo:gz
    [ "$(jq -r '.layers[0].mediaType' "$WORK/ocigz/blobs/sha256/$(jq -r '.manifests[0].digest[7:]' "$WORK/ocigz/index.json")")" = application/vnd.oci.image.layer.v1.tar+gzip ]
    run skopeo copy --format v2s2 --dest-tls-verify=false "oci:$WORK/ocigz:gz" "docker://$REG/gz:1"
    [ "$status" -eq 0 ]
    want=$(skopeo inspect --tls-verify=false "docker://$REG/gz:1" | jq -r .Digest)
    root=$(fresh)
    run "$NRUN" --root "$root" pull "$REG/gz:1"
    [ "$status" -eq 0 ]
    m=$root/blobs/sha256/${want#sha256:}
    [ "$(jq -r .mediaType "$m")" = application/vnd.docker.distribution.manifest.v2+json ]
    [ "$(jq -r '.config.mediaType' "$m")" = application/vnd.docker.container.image.v1+json ]
    [ "$(jq -r '.layers[0].mediaType' "$m")" = application/vnd.docker.image.rootfs.diff.tar.gzip ]
    [ "$(digest_of "$REG/gz:1" "$root")" = "$want" ]
}

@test "nrun pull of zstd layers" {
    "$NRUN" save --dir --tag z -o "$WORK/ociz" demo:zstd
    run skopeo copy --preserve-digests --dest-tls-verify=false "oci:$WORK/ociz:z" "docker://$REG/demo:zstd"
    [ "$status" -eq 0 ]
    root=$(fresh)
    run "$NRUN" --root "$root" pull "$REG/demo:zstd"
    [ "$status" -eq 0 ]
    [ "$(digest_of "$REG/demo:zstd" "$root")" = "$(cat "$WORK/zstd.digest")" ]
    m=$root/blobs/sha256/$(cut -c8- "$WORK/zstd.digest")
    [ "$(jq -r '.layers[0].mediaType' "$m")" = application/vnd.oci.image.layer.v1.tar+zstd ]
    run "$NRUN" --root "$root" image inspect --verify "$REG/demo:zstd"
    [ "$status" -eq 0 ] || "$NRUN" --root "$root" image inspect "$REG/demo:zstd" >/dev/null
}

@test "nrun pull of an image index chooses linux/amd64" {
    "$NRUN" push bb:1 "$REG/multi:amd64" >/dev/null
    amd=$(digest_of bb:1)
    size=$(stat -c %s "$NRUN_ROOT/blobs/sha256/${amd#sha256:}")
    "$NRUN" push demo:zstd "$REG/multi:other" >/dev/null
    other=$(cat "$WORK/zstd.digest")
    osize=$(stat -c %s "$NRUN_ROOT/blobs/sha256/${other#sha256:}")
    # arm64 first: the choice must be by platform, not by position.
    jq -nc --arg a "$amd" --argjson asz "$size" --arg o "$other" --argjson osz "$osize" '{schemaVersion:2,
        mediaType:"application/vnd.oci.image.index.v1+json", manifests:[
        {mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$o,size:$osz,platform:{os:"linux",architecture:"arm64"}},
        {mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$a,size:$asz,platform:{os:"linux",architecture:"amd64"}}]}' \
        >"$WORK/index.json"
    curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary @"$WORK/index.json" \
        "http://$REG/v2/multi/manifests/latest"
    root=$(fresh)
    run "$NRUN" --root "$root" pull "$REG/multi"
    [ "$status" -eq 0 ]
    [ "$(digest_of "$REG/multi:latest" "$root")" = "$amd" ]
    [ ! -e "$root/blobs/sha256/${other#sha256:}" ]
}

# Upload file $2 to repository $1 of the registry with curl (POST, then a
# monolithic PUT); prints its digest.
curl_blob() {
    local d loc
    d=sha256:$(sha256sum "$2" | cut -c1-64)
    loc=$(curl -fsS -D - -o /dev/null -X POST "http://$REG/v2/$1/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
    case $loc in http*) ;; *) loc=http://$REG$loc ;; esac
    case $loc in *\?*) loc="$loc&digest=$d" ;; *) loc="$loc?digest=$d" ;; esac
    curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$2" "$loc" >/dev/null
    echo "$d"
}

@test "nrun pull of a layer of no bytes and of an empty gzip tar (as Go tools accept): pulled, verified, runs" {
    rt_busybox_tar "$WORK/base.tar"
    : >"$WORK/zero.bin"
    python3 -c 'import tarfile,sys; tarfile.open(sys.argv[1], "w").close()' "$WORK/empty.tar"
    gzip -n -c "$WORK/empty.tar" >"$WORK/empty.tar.gz"
    base=$(curl_blob empty "$WORK/base.tar")
    for v in zero gz; do
        if [ $v = zero ]; then
            f=$WORK/zero.bin mt=application/vnd.oci.image.layer.v1.tar diff=sha256:$(sha256sum <"$WORK/zero.bin" | cut -c1-64)
        else
            f=$WORK/empty.tar.gz mt=application/vnd.oci.image.layer.v1.tar+gzip diff=sha256:$(sha256sum <"$WORK/empty.tar" | cut -c1-64)
        fi
        l=$(curl_blob empty "$f")
        jq -nc --arg b "$base" --arg d "$diff" '{architecture:"amd64",os:"linux",
            config:{Cmd:["sh","-c","echo empty-layer-runs"],Env:["PATH=/bin"]},rootfs:{type:"layers",diff_ids:[$b,$d]}}' >"$WORK/cfg.json"
        c=$(curl_blob empty "$WORK/cfg.json")
        jq -nc --arg c "$c" --argjson cs "$(stat -c %s "$WORK/cfg.json")" --arg b "$base" \
            --argjson bs "$(stat -c %s "$WORK/base.tar")" --arg l "$l" --argjson ls "$(stat -c %s "$f")" --arg mt "$mt" \
            '{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",
              config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:$cs},
              layers:[{mediaType:"application/vnd.oci.image.layer.v1.tar",digest:$b,size:$bs},{mediaType:$mt,digest:$l,size:$ls}]}' \
            >"$WORK/man.json"
        curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$WORK/man.json" \
            "http://$REG/v2/empty/manifests/$v"
        # the control: umoci unpacks what skopeo copies of it
        rm -rf "$WORK/empty-oci" "$WORK/empty-bundle"
        skopeo copy -q --src-tls-verify=false "docker://$REG/empty:$v" "oci:$WORK/empty-oci:x"
        umoci unpack --image "$WORK/empty-oci:x" "$WORK/empty-bundle" >/dev/null
        root=$(fresh)
        run "$NRUN" --root "$root" pull "$REG/empty:$v"
        [ "$status" -eq 0 ]
        run "$NRUN" --root "$root" run --rm --network none "$REG/empty:$v"
        echo "$v: $output"
        [ "$status" -eq 0 ]
        [[ $output == *empty-layer-runs* ]]
        rm -rf "$WORK/empty-oci" "$WORK/empty-bundle"
    done
}

@test "nrun pull --allow-foreign-urls of a non-distributable (foreign) layer the registry lacks: fetched from its urls, verified, runs" {
    # a registry that accepts layer urls on 127.0.0.1 (distribution refuses any by default)
    NR_REGISTRY_YAML=$'validation:\n  manifests:\n    urls:\n      allow:\n        - \'^http://127\\.0\\.0\\.1:\'' nr_registry_start
    REG=$NR_REGISTRY
    mkdir -p "$WORK/ext/f"
    echo foreign-content >"$WORK/ext/f/hello"
    tar -C "$WORK/ext/f" -cf "$WORK/foreign.tar" .
    gzip -n -c "$WORK/foreign.tar" >"$WORK/ext/foreign.tar.gz"
    hp=$(nr_free_port)
    (cd "$WORK/ext" && exec python3 -m http.server --bind 127.0.0.1 "$hp") >"$WORK/ext.log" 2>&1 3>&- &
    hpid=$!
    echo "$hpid" >"$WORK/ext.pid" # teardown_file stops it if this test fails
    for _ in $(seq 1 50); do curl -fs -o /dev/null "http://127.0.0.1:$hp/" && break; sleep 0.1; done
    rt_busybox_tar "$WORK/base.tar"
    base=$(curl_blob frn "$WORK/base.tar")
    fl=sha256:$(sha256sum <"$WORK/ext/foreign.tar.gz" | cut -c1-64)
    jq -nc --arg b "$base" --arg d "sha256:$(sha256sum <"$WORK/foreign.tar" | cut -c1-64)" '{architecture:"amd64",
        os:"linux",config:{Cmd:["cat","/hello"],Env:["PATH=/bin"]},rootfs:{type:"layers",diff_ids:[$b,$d]}}' >"$WORK/cfg.json"
    c=$(curl_blob frn "$WORK/cfg.json")
    for v in oci docker; do
        if [ $v = oci ]; then
            mt=application/vnd.oci.image.manifest.v1+json cmt=application/vnd.oci.image.config.v1+json
            lmt=application/vnd.oci.image.layer.v1.tar fmt=application/vnd.oci.image.layer.nondistributable.v1.tar+gzip
        else
            mt=application/vnd.docker.distribution.manifest.v2+json cmt=application/vnd.docker.container.image.v1+json
            lmt=application/vnd.docker.image.rootfs.diff.tar fmt=application/vnd.docker.image.rootfs.foreign.diff.tar.gzip
        fi
        jq -nc --arg mt "$mt" --arg cmt "$cmt" --arg lmt "$lmt" --arg fmt "$fmt" --arg c "$c" \
            --argjson cs "$(stat -c %s "$WORK/cfg.json")" --arg b "$base" --argjson bs "$(stat -c %s "$WORK/base.tar")" \
            --arg l "$fl" --argjson ls "$(stat -c %s "$WORK/ext/foreign.tar.gz")" --arg u "http://127.0.0.1:$hp/foreign.tar.gz" \
            '{schemaVersion:2,mediaType:$mt,config:{mediaType:$cmt,digest:$c,size:$cs},
              layers:[{mediaType:$lmt,digest:$b,size:$bs},{mediaType:$fmt,digest:$l,size:$ls,urls:[$u]}]}' >"$WORK/man.json"
        curl -fsS -X PUT -H "Content-Type: $mt" --data-binary @"$WORK/man.json" "http://$REG/v2/frn/manifests/$v"
        # the registry does not hold the layer: only its url does
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/frn/blobs/$fl")" = 404 ]
        root=$(fresh)
        run "$NRUN" --root "$root" pull --allow-foreign-urls "$REG/frn:$v"
        echo "$output"
        [ "$status" -eq 0 ]
        run "$NRUN" --root "$root" run --rm --network none "$REG/frn:$v"
        [ "$status" -eq 0 ]
        [[ $output == *foreign-content* ]]
    done
    [ "$(grep -c 'GET /foreign.tar.gz' "$WORK/ext.log")" -eq 2 ]
    # a url that serves other bytes: refused by the digest, nothing tagged
    jq -c --arg u "http://127.0.0.1:$hp/f/hello" '.layers[1].urls=[$u]' "$WORK/man.json" >"$WORK/man2.json"
    curl -fsS -X PUT -H "Content-Type: application/vnd.docker.distribution.manifest.v2+json" --data-binary @"$WORK/man2.json" \
        "http://$REG/v2/frn/manifests/bad"
    root=$(fresh)
    run "$NRUN" --root "$root" pull --allow-foreign-urls "$REG/frn:bad"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ ${lines[-1]} == *"blob $fl: "* ]]
    [ "$(jq '.manifests | length' "$root/index.json")" -eq 0 ]
    kill "$hpid"
    rm -f "$WORK/ext.pid"
    nr_registry_stop
}

@test "nrun push mounts a blob from another repository of the same registry" {
    "$NRUN" tag bb:1 "$REG/team/base:1"
    "$NRUN" push "$REG/team/base:1" >/dev/null
    "$NRUN" tag bb:1 "$REG/team/app:1"
    run "$NRUN" push "$REG/team/app:1"
    [ "$status" -eq 0 ]
    [[ $output == *"Mounted from team/base"* ]]
    [ "$(served POST "/v2/team/app/blobs/uploads/?mount=")" -ge 1 ]
    [ "$(skopeo inspect --tls-verify=false "docker://$REG/team/app:1" | jq -r .Digest)" = "$(digest_of bb:1)" ]
}

@test "two concurrent pulls of one image into one store download each blob once" {
    "$NRUN" push bb:1 "$REG/conc:1" >/dev/null
    layer=$("$NRUN" image inspect bb:1 | jq -r '.[0].Layers[0].Digest // .[0].RootFS.Layers[0]')
    before=$(served GET "/v2/conc/blobs/")
    root=$(fresh)
    "$NRUN" --root "$root" pull -q "$REG/conc:1" >"$WORK/p1" 2>&1 &
    p1=$!
    "$NRUN" --root "$root" pull -q "$REG/conc:1" >"$WORK/p2" 2>&1 &
    p2=$!
    wait $p1
    wait $p2
    after=$(served GET "/v2/conc/blobs/")
    # config + one layer, each fetched once (a redirect-free registry: one GET per blob)
    [ $((after - before)) -eq 2 ]
    [ "$(cat "$WORK/p1")" = "$(digest_of bb:1)" ]
    [ "$(cat "$WORK/p2")" = "$(digest_of bb:1)" ]
    [ -n "$layer" ]
}

@test "nrun pull of a missing tag fails and leaves the store as it was" {
    root=$(fresh)
    "$NRUN" --root "$root" images >/dev/null
    h=$(nr_tree_hash "$root")
    run "$NRUN" --root "$root" pull "$REG/bb:nope"
    [ "$status" -ne 0 ]
    [[ $output == *"manifest nope: HTTP 404 MANIFEST_UNKNOWN"* ]]
    [ "$(nr_tree_hash "$root")" = "$h" ]
}

@test "registry names: Docker Hub short names normalise and go to a configured mirror first" {
    # docker.io itself is https: a dead local proxy for https keeps this test
    # off the internet even if the mirror failed and nrun fell back to docker.io.
    export https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9
    # A mirror on loopback serves library/ images: node:20 is docker.io/library/node:20.
    "$NRUN" push bb:1 "$REG/library/bbhub:1" >/dev/null
    root=$(fresh)
    run "$NRUN" --root "$root" pull --registry-mirror "http://$REG" bbhub:1
    [ "$status" -eq 0 ]
    [[ $output == *"Pulling from docker.io/library/bbhub"* ]]
    [[ $output == *"Pulled through mirror http://$REG"* ]]
    [ "$(digest_of bbhub:1 "$root")" = "$(digest_of bb:1)" ]
    # the same through a registries config file (daemon.json keys)
    echo "{\"registry-mirrors\": [\"$REG\"]}" >"$WORK/daemon.json"
    root=$(fresh)
    run "$NRUN" --root "$root" pull --registries-config "$WORK/daemon.json" -q library/bbhub:1
    [ "$status" -eq 0 ]
    [ "$output" = "$(digest_of bb:1)" ]
}

@test "nrun push and pull: usage errors" {
    run "$NRUN" pull
    [ "$status" -eq 2 ]
    run "$NRUN" pull "team/UPPER:1"
    [ "$status" -eq 2 ]
    [[ $output == *"repository name must be lowercase"* ]]
    run "$NRUN" push no-such:image "$REG/x:1"
    [ "$status" -ne 0 ]
    [[ $output == *no-such* ]]
    run "$NRUN" pull --tls-verify=maybe "$REG/bb:1"
    [ "$status" -eq 2 ]
}

@test "progress: per-layer lines redrawn in place on a terminal, plain lines otherwise" {
    root=$(fresh)
    run script -qec "$NRUN --root $root pull $REG/bb:1" /dev/null
    [ "$status" -eq 0 ]
    [[ $output == *$'\e['*A* ]]          # cursor up: lines redrawn in place
    [[ $output == *"Download complete"* ]]
    root=$(fresh)
    run "$NRUN" --root "$root" pull "$REG/bb:1"
    [ "$status" -eq 0 ]
    [[ $output != *$'\e'* ]]
    [ "$(grep -c ': Download complete$' <<<"$output")" -eq 2 ]
}
