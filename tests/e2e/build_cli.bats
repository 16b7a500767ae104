#!/usr/bin/env bats
# nbuild with docker build's and buildx's flags as CI scripts write them:
# --label, --iidfile, --metadata-file, --platform, the accepted no-ops
# (--rm, --force-rm, --load, --provenance=false, --sbom=false), a
# Nodefile on stdin with no context (`nbuild - < Dockerfile`), and named
# contexts (--build-context).  (--pull, which
# needs a registry, is in registry_build.bats.)
load ../lib/common
load ../lib/runtime

setup_file() {
    nr_make_root
    rt_make_busybox_image
    export W=$BATS_FILE_TMPDIR
    mkdir -p "$W/ctx"
    echo hi >"$W/ctx/a"
    printf 'FROM scratch\nLABEL a=1 b=2\nCOPY a /a\nCMD ["/a"]\n' >"$W/ctx/Dockerfile"
}

teardown_file() {
    rt_rm_all
    nr_remove_root
}

@test "--label sets labels over the Nodefile's (KEY alone: empty); --iidfile holds the image ID, which run and inspect take" {
    run "$NBUILD" -q --label b=9 --label c --label 'd=x y' --iidfile "$W/iid" -t lab:1 "$W/ctx"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(cfg lab:1 .config.Labels)" = '{"a":"1","b":"9","c":"","d":"x y"}' ]
    [ "$(cat "$W/iid")" = "$(config_of lab:1)" ]
    [ "$(cat "$W/iid")" = "$("$NRUN" inspect lab:1 | jq -r '.[0].Id')" ]
    [ "$(stat -c %a "$W/iid")" = 644 ]
    # the ID names the image as docker's does
    run "$NRUN" image inspect "$(cat "$W/iid")"
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | jq -r '.[0].RepoTags[0]')" = lab:1 ]
    # no label flag: the Nodefile's alone
    run "$NBUILD" -q -t lab:2 "$W/ctx"
    [ "$(cfg lab:2 .config.Labels)" = '{"a":"1","b":"2"}' ]
    run "$NBUILD" --label =x -t lab:3 "$W/ctx"
    [ "$status" -eq 2 ]
    [ "$output" = "nbuild: --label =x: want KEY=VALUE" ]
}

@test "--metadata-file: buildx's keys, the manifest and config digests of what was built" {
    run "$NBUILD" -q --metadata-file "$W/md.json" -t md:1 -t md:2 "$W/ctx"
    [ "$status" -eq 0 ]
    digest=${lines[-1]}
    [ "$(jq -r '."containerimage.digest"' "$W/md.json")" = "$digest" ]
    [ "$(jq -r '."containerimage.descriptor".digest' "$W/md.json")" = "$digest" ]
    [ "$(jq -r '."containerimage.descriptor".mediaType' "$W/md.json")" = application/vnd.oci.image.manifest.v1+json ]
    [ "$(jq -r '."containerimage.descriptor".size' "$W/md.json")" = "$(stat -c %s "$(blob "$digest")")" ]
    [ "$(jq -r '."containerimage.config.digest"' "$W/md.json")" = "$(config_of md:1)" ]
    [ "$(jq -r '."image.name"' "$W/md.json")" = md:1,md:2 ]
}

@test "--iidfile / --metadata-file that cannot be written are refused before the build: the store unchanged" {
    before=$(nr_tree_hash "$NRUN_ROOT")
    run "$NBUILD" --iidfile "$W/nodir/iid" -t bad:1 "$W/ctx"
    [ "$status" -eq 2 ]
    [ "$output" = "nbuild: --iidfile $W/nodir/iid: directory $W/nodir does not exist" ]
    ln -sf /etc/passwd "$W/link"
    run "$NBUILD" --metadata-file "$W/link" -t bad:1 "$W/ctx"
    [ "$status" -eq 2 ]
    [ "$output" = "nbuild: --metadata-file $W/link: not a regular file" ]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    [ "$(readlink "$W/link")" = /etc/passwd ]
}

@test "--platform linux/amd64 (and its spellings) builds; another platform is refused and nothing is built" {
    for p in linux/amd64 linux/x86_64 amd64 linux/amd64,linux/amd64; do
        run "$NBUILD" -q --platform "$p" -t plat:1 "$W/ctx"
        [ "$status" -eq 0 ]
    done
    before=$(nr_tree_hash "$NRUN_ROOT")
    for p in linux/arm64 linux/amd64,linux/arm64 windows/amd64; do
        run "$NBUILD" --platform "$p" -t plat:2 "$W/ctx"
        [ "$status" -eq 2 ]
        [[ $output == "nbuild: --platform "*": nbuild builds linux/amd64 images only (this host's platform)" ]]
    done
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

@test "--rm, --force-rm, --load, --provenance=false, --sbom=false are accepted; attestations asked for are refused" {
    run "$NBUILD" -q --rm --force-rm=true --load --provenance=false --sbom=false -t noop:1 "$W/ctx"
    [ "$status" -eq 0 ]
    [ "$(config_of noop:1)" = "$(config_of lab:2)" ]
    for f in --provenance --provenance=true --provenance=mode=max --sbom=true; do
        run "$NBUILD" "$f" -t noop:2 "$W/ctx"
        [ "$status" -eq 2 ]
        [[ $output == "nbuild: ${f%%=*}"*": nbuild writes no attestations (only ${f%%=*}=false)" ]]
    done
    run "$NBUILD" --rm=maybe -t noop:2 "$W/ctx"
    [ "$status" -eq 2 ]
    [ "$output" = "nbuild: --rm=maybe: want true or false" ]
}

@test "nbuild - < Dockerfile: the Nodefile from stdin, no context; errors name stdin:LINE:COL; no temporary directory stays" {
    ls -d /tmp/nbuild-stdin.* 2>/dev/null >"$W/before" || true
    run "$NBUILD" -q -t stdin:1 - <<<$'FROM scratch\nENV A=1\nCMD ["x"]'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(cfg stdin:1 '.config.Env[-1]')" = '"A=1"' ]
    run "$NBUILD" -t stdin:2 - <<<$'FROM scratch\nCOPY a /a'
    [ "$status" -eq 1 ]
    [ "${lines[-1]}" = "nbuild: stdin:2:6: COPY: source a not found in the build context" ]
    run "$NBUILD" -f "$W/ctx/Dockerfile" -t stdin:2 - </dev/null
    [ "$status" -eq 2 ]
    [ "$output" = "nbuild: -f $W/ctx/Dockerfile with CONTEXT -: the Nodefile is stdin, and there is no context" ]
    ls -d /tmp/nbuild-stdin.* 2>/dev/null >"$W/after" || true
    diff "$W/before" "$W/after"
}

@test "nbuild - killed with SIGKILL: its empty context directory is removed by the next nbuild -, and nothing of a live nbuild's or another's" {
    # stdin a FIFO held open and empty: nbuild waits for its Nodefile, its context made
    mkfifo "$W/in"
    "$NBUILD" -q -t k:1 - <"$W/in" &
    pid=$!
    exec {fd}>"$W/in"
    for _ in $(seq 100); do compgen -G "/tmp/nbuild-stdin.$pid.*" >/dev/null && break; sleep 0.05; done
    ctx=$(compgen -G "/tmp/nbuild-stdin.$pid.*")
    [ -d "$ctx" ]
    kill -9 "$pid"
    wait "$pid" || true
    [ -d "$ctx" ]
    # decoys: one of a live process (this shell), one not empty
    live=$(mktemp -d "/tmp/nbuild-stdin.$$.XXXXXX")
    full=$(mktemp -d "/tmp/nbuild-stdin.$pid.XXXXXX") && touch "$full/f"
    run "$NBUILD" -q -t k:2 - <<<$'FROM scratch\nENV A=1'
    [ "$status" -eq 0 ]
    [ ! -e "$ctx" ]
    [ -d "$live" ] && [ -f "$full/f" ]
    rm -rf "$live" "$full"
    exec {fd}>&-
    rm -f "$W/in"
}

@test "a context archive on stdin (tar, gzip) is refused in one line, nothing built" {
    before=$(nr_tree_hash "$NRUN_ROOT")
    tar -cf "$W/ctx.tar" -C "$W/ctx" .
    gzip -c "$W/ctx.tar" >"$W/ctx.tgz"
    for a in ctx.tar ctx.tgz; do
        run "$NBUILD" -t arc:1 - <"$W/$a"
        [ "$status" -eq 1 ]
        [ "$output" = "nbuild: stdin: a compressed file or tar archive, not a Nodefile (a build context archive on stdin is not supported: extract it and give its directory)" ]
    done
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

@test "--build-context NAME=DIR: COPY --from=NAME reads that directory as a second context (its .dockerignore, its links kept inside it), over a stage of that name; cached by its content" {
    d=$W/named && rm -rf "$d" && mkdir -p "$d/docs/sub" "$d/main"
    echo d1 >"$d/docs/a.md"
    echo hidden >"$d/docs/secret.env"
    echo '*.env' >"$d/docs/.dockerignore"
    echo s >"$d/docs/sub/s"
    ln -s /etc/passwd "$d/docs/pw"
    ln -s ../../outside "$d/docs/up"
    echo host-file >"$d/outside"
    printf 'FROM bb:1 AS docs\nRUN echo stage >/stage\nFROM bb:1\nCOPY --from=docs / /d/\nCOPY --from=docs sub /sub\n' \
        >"$d/main/Dockerfile"
    run "$NBUILD" --progress plain --build-context docs="$d/docs" -t named:1 "$d/main"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output != *"echo stage"* ]] # the stage of that name is not built
    run "$NRUN" run --rm --network none named:1 sh -c 'cd /d && find . | sort; readlink pw; cat a.md sub/s'
    [ "$output" = "$(printf '.\n./.dockerignore\n./a.md\n./pw\n./sub\n./sub/s\n./up\n/etc/passwd\nd1\ns')" ]
    # a link out of the named directory resolves inside it, as the main context's links do
    printf 'FROM bb:1\nCOPY --from=docs up /up\n' >"$d/up.Dockerfile"
    run "$NBUILD" -f "$d/up.Dockerfile" --build-context docs="$d/docs" -t named:up "$d/main"
    [ "$status" -eq 1 ]
    [[ $output == *"up.Dockerfile:2:18: COPY --from=docs: source up not found in the build context: it is a symlink to ../../outside, which resolves inside the context (as BuildKit does), and nothing is there" ]]
    # unchanged: from the cache; a changed file: built again
    run "$NBUILD" --progress plain --build-context docs="$d/docs" -t named:2 "$d/main"
    [[ $output == *"(0 layers built, 2 from cache"* ]]
    echo d2 >"$d/docs/a.md"
    run "$NBUILD" --progress plain --build-context docs="$d/docs" -t named:3 "$d/main"
    [[ $output == *"(2 layers built, 0 from cache"* || $output == *"(1 layers built, 1 from cache"* ]]
    run "$NRUN" run --rm --network none named:3 cat /d/a.md
    [ "$output" = d2 ]
    # without the flag, the stage again
    run "$NBUILD" -q -t named:4 "$d/main"
    [ "$status" -eq 1 ]
    [[ $output == *"Dockerfile:5:18: COPY --from=docs: source sub not found"* ]]
}

@test "--build-context NAME=docker-image://REF: FROM NAME, COPY --from=NAME and RUN --mount from=NAME read that image" {
    d=$W/named2 && rm -rf "$d" && mkdir -p "$d"
    printf 'FROM bb:1\nRUN echo pinned >/which\n' >"$d/Dockerfile.base"
    "$NBUILD" -q -f "$d/Dockerfile.base" -t pinned:1 "$d" >/dev/null
    printf 'FROM alpine\nCOPY --from=src /which /copied\nRUN --mount=type=bind,from=src,target=/m cat /m/which >/mounted\n' \
        >"$d/Dockerfile"
    run "$NBUILD" --progress plain --build-context alpine=docker-image://pinned:1 \
        --build-context src=docker-image://pinned:1 -t named:5 "$d"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"--> FROM alpine: --build-context gives pinned:1"* ]]
    run "$NRUN" run --rm --network none named:5 cat /which /copied /mounted
    [ "$output" = "$(printf 'pinned\npinned\npinned')" ]
}

@test "--build-context values that are not supported or not there: one line each, before anything is built" {
    before=$(nr_tree_hash "$NRUN_ROOT")
    for v in 'x=https://example.invalid/repo.git' 'x=git@example.invalid:r.git' 'x=oci-layout:///tmp/l' 'x=target:base' \
        "x=$W/nonexistent" "x=$W/ctx/a" "1x=$W/ctx" "=$W/ctx" "noequals" 'x=docker-image://UPPER:1'; do
        run "$NBUILD" --build-context "$v" -t bcx:1 "$W/ctx"
        echo "$v: $output"
        [ "$status" -eq 2 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ $output == "nbuild: --build-context "* ]]
    done
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    # a directory context where only an image can serve: named at its place
    printf 'FROM docs\n' >"$W/fromdir.Dockerfile"
    run "$NBUILD" -f "$W/fromdir.Dockerfile" --build-context docs="$W/ctx" -t bcx:1 "$W/ctx"
    [ "$status" -eq 1 ]
    [[ $output == *"fromdir.Dockerfile:1:6: FROM docs: a --build-context directory as a base is not supported (COPY --from=docs reads it)" ]]
    printf 'FROM bb:1\nRUN --mount=from=docs,target=/m true\n' >"$W/fromdir.Dockerfile"
    run "$NBUILD" -f "$W/fromdir.Dockerfile" --build-context docs="$W/ctx" -t bcx:1 "$W/ctx"
    [ "$status" -eq 1 ]
    [[ $output == *"RUN --mount from=docs: a --build-context directory is not supported here (COPY --from=docs reads it)" ]]
}

@test "--add-host NAME:IP (and NAME=IP): lines in RUN steps' /etc/hosts, part of the step's key; bad values are one line before anything runs" {
    d=$W/hosts && rm -rf "$d" && mkdir -p "$d"
    # -w: a hostname of hex digits may hold "db" (the container's id: 1 run in 25)
    printf 'FROM bb:1\nRUN grep -wE "db|cache" /etc/hosts > /seen || true\n' >"$d/Dockerfile"
    run "$NBUILD" -q --add-host db:10.1.2.3 --add-host cache=fd00::5 -t hosts:1 "$d"
    echo "$output"
    [ "$status" -eq 0 ]
    run "$NRUN" run --rm --network none hosts:1 cat /seen
    [ "$output" = "$(printf '10.1.2.3\tdb\nfd00::5\tcache')" ]
    # the image's own /etc/hosts is not the step's
    run "$NRUN" run --rm --network none hosts:1 grep -cw db /etc/hosts
    [ "$output" = 0 ]
    # another address: the step runs again
    run "$NBUILD" --progress plain --add-host db:10.9.9.9 -t hosts:2 "$d"
    [[ $output == *"(1 layers built, 0 from cache"* ]]
    run "$NRUN" run --rm --network none hosts:2 cat /seen
    [ "$output" = "$(printf '10.9.9.9\tdb')" ]
    before=$(nr_tree_hash "$NRUN_ROOT")
    for v in $'a\nb:1.1.1.1' 'a b:1.1.1.1' 'db:999.1.1.1' 'db' 'db:host-gateway'; do
        run "$NBUILD" --add-host "$v" -t hosts:3 "$d"
        [ "$status" -eq 2 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ $output == "nbuild: --add-host "* ]]
    done
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}
