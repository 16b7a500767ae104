#!/usr/bin/env bats
# nbuild end to end: FROM scratch images, COPY/ADD semantics, config fields,
# the layer cache, reproducibility, and every bad input leaving the store
# byte-identical.
load ../lib/common

setup_file() {
    nr_make_root
    export CTX="$BATS_FILE_TMPDIR/ctx"
    mkdir -p "$CTX/src/lib" "$CTX/node_modules/dep" "$CTX/docs" "$CTX/empty"
    printf 'console.log("hi")\n' >"$CTX/server.js"
    printf '{"name":"app"}\n' >"$CTX/package.json"
    printf 'lib\n' >"$CTX/src/lib/util.js"
    printf 'x\n' >"$CTX/src/top.txt"
    chmod 0750 "$CTX/src/top.txt"
    printf 'dep\n' >"$CTX/node_modules/dep/index.js"
    printf 'readme\n' >"$CTX/docs/README.md"
    printf 'notes\n' >"$CTX/docs/NOTES.md"
    ln -s server.js "$CTX/main.js"
    printf 'node_modules\ndocs\n!docs/README.md\n*.log\n' >"$CTX/.dockerignore"
    printf 'noise\n' >"$CTX/debug.log"
    cat >"$CTX/Nodefile" <<'EOF'
# a comment
ARG BASE=scratch
FROM ${BASE} AS app
ARG VERSION=1.0
ENV APP_VERSION=$VERSION \
    NODE_ENV=production GREETING="hello world"
LABEL org.opencontainers.image.version="${APP_VERSION}" maintainer=team
WORKDIR /app
COPY package.json ./
COPY --chown=1000:1000 . .
COPY src/lib/*.js /opt/lib/
COPY --chmod=0600 server.js /etc/app/server.js
EXPOSE 3000 9000/udp
USER 1000:1000
STOPSIGNAL SIGINT
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["node", "-e", "1"]
ENTRYPOINT ["node"]
CMD ["server.js"]
VOLUME ["/data"]
EOF
    "$NBUILD" -t app:1 "$CTX" >"$BATS_FILE_TMPDIR/first.out"
}

teardown_file() { nr_remove_root; }

listing() {
    local l
    for l in $(jq -r '.layers[].digest' "$(blob "$(manifest_of "$1")")"); do
        tar tvzf "$(blob "$l")" | awk '{print $1, $2, $6, $7, $8}'
    done
}
# Build the context $2 as $1, which must succeed; then $output is its listing.
build_and_list() {
    run "$NBUILD" -q -t "$1" "$2"
    echo "$output"
    [ "$status" -eq 0 ]
    run listing "$1"
}

# Run nbuild -q expecting failure: exactly one line containing $1, non-zero
# exit, and the store byte-identical.  Extra args are nbuild's.
bad_build() {
    local want=$1
    shift
    local before after
    before=$(nr_tree_hash "$NRUN_ROOT")
    run ${NB_WRAP:-} "$NBUILD" -q "$@"
    after=$(nr_tree_hash "$NRUN_ROOT")
    echo "status=$status output=$output"
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"$want"* ]]
    [ "$before" = "$after" ]
}

# A context dir with the given Nodefile text (stdin).
mkctx() {
    local d="$BATS_FILE_TMPDIR/$1"
    rm -rf "$d"
    mkdir -p "$d"
    cat >"$d/Nodefile"
    echo "$d"
}

# Build the context $2 as $1 with an /etc/passwd (root, node 1000) and an
# /etc/group (root, staff 50, node 1000) in it, for its Nodefile to COPY.
build_with_users() {
    printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' >"$2/passwd"
    printf 'root:x:0:\nstaff:x:50:\nnode:x:1000:\n' >"$2/group"
    run "$NBUILD" -q -t "$1" "$2"
    [ "$status" -eq 0 ]
}

# A context $1 whose Nodefile is $2 fails to build with the one line $3 (bad_build).
bad_nodefile() { bad_build "$3" "$(mkctx "$1" <<<"$2")"; }

@test "build FROM scratch: manifest, config fields, history" {
    grep -q '^STEP 8/17: COPY --chown=1000:1000 \. \.$' "$BATS_FILE_TMPDIR/first.out"
    digest=$(tail -n1 "$BATS_FILE_TMPDIR/first.out")
    [ "$digest" = "$(manifest_of app:1)" ]
    m=$(blob "$digest")
    [ "$(jq -r .mediaType "$m")" = application/vnd.oci.image.manifest.v1+json ]
    # 5 layers: WORKDIR /app creates the directory (as Docker does), then 4 COPY.
    [ "$(jq -r '.layers | length' "$m")" = 5 ]
    [ "$(jq -r '.layers[0].mediaType' "$m")" = application/vnd.oci.image.layer.v1.tar+gzip ]
    [ "$(cfg app:1 .config.Env)" = '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","APP_VERSION=1.0","NODE_ENV=production","GREETING=hello world"]' ]
    [ "$(cfg app:1 .config.Labels)" = '{"maintainer":"team","org.opencontainers.image.version":"1.0"}' ]
    [ "$(cfg app:1 .config.WorkingDir)" = '"/app"' ]
    [ "$(cfg app:1 .config.User)" = '"1000:1000"' ]
    [ "$(cfg app:1 .config.ExposedPorts)" = '{"3000/tcp":{},"9000/udp":{}}' ]
    [ "$(cfg app:1 .config.StopSignal)" = '"SIGINT"' ]
    [ "$(cfg app:1 .config.Entrypoint)" = '["node"]' ]
    [ "$(cfg app:1 .config.Cmd)" = '["server.js"]' ]
    [ "$(cfg app:1 .config.Volumes)" = '{"/data":{}}' ]
    [ "$(cfg app:1 .config.Healthcheck)" = '{"Interval":30000000000,"Retries":3,"Test":["CMD","node","-e","1"],"Timeout":5000000000}' ]
    [ "$(cfg app:1 '[.architecture,.os]')" = '["amd64","linux"]' ]
    # diff_ids are of the uncompressed tars, layer digests of the gzip blobs.
    [ "$(cfg app:1 '.rootfs.diff_ids | length')" = 5 ]
    first=$(jq -r '.layers[0].digest' "$m")
    [ "sha256:$(gzip -dc "$(blob "$first")" | sha256sum | cut -c1-64)" = "$(cfg app:1 '.rootfs.diff_ids[0]' | tr -d '"')" ]
    # History: one entry per instruction after FROM except ARG; layers only for
    # COPY and the WORKDIR that made its directory.
    [ "$(cfg app:1 '[.history[] | select(.empty_layer != true)] | length')" = 5 ]
    [ "$(cfg app:1 '[.history[] | select(.empty_layer == true)] | length')" = 9 ]
    [ "$(cfg app:1 '.history[2]')" = '{"created":"1970-01-01T00:00:00Z","created_by":"WORKDIR /app"}' ]
    [ "$(cfg app:1 '.history[3].created_by')" = '"COPY package.json ./"' ]
    l0=$(jq -r '.layers[0].digest' "$m")
    [ "$(tar tvzf "$(blob "$l0")" | awk '{print $1, $2, $6}')" = "drwxr-xr-x 0/0 app/" ]
}

@test "FROM scratch config as BuildKit writes it: WorkingDir \"/\"; ONBUILD only in OnBuild (no history entry); a bare CMD or ENTRYPOINT is the shell form of an empty command; CMD sets ArgsEscaped" {
    d=$(mkctx scratchmeta <<'EOF'
FROM scratch AS one
ONBUILD COPY f /f
ENTRYPOINT
FROM scratch
CMD
LABEL a=1
EOF
    )
    run "$NBUILD" -q --target one -t smeta:1 "$d"
    [ "$status" -eq 0 ]
    [ "$(cfg smeta:1 '[.config.WorkingDir, .config.OnBuild, .config.Entrypoint]')" = '["/",["COPY f /f"],["/bin/sh","-c",""]]' ]
    [ "$(cfg smeta:1 '.history | length')" = 1 ]
    run "$NBUILD" -q -t smeta:2 "$d"
    [ "$status" -eq 0 ]
    [ "$(cfg smeta:2 '[.config.WorkingDir, .config.Cmd, .config.ArgsEscaped, (.history | length)]')" = '["/",["/bin/sh","-c",""],true,2]' ]
    [ "$(cfg smeta:1 .config.ArgsEscaped)" = null ] # set by CMD only
}

@test "COPY semantics: dest dir, rename, dir contents, glob, chown, chmod, ignore file" {
    run listing app:1
    echo "$output"
    # COPY package.json ./ with WORKDIR /app
    [[ "$output" == *"-rw-r--r-- 0/0 app/package.json"* ]]
    # COPY . . : contents of the context, owned by 1000, modes kept, symlink kept
    [[ "$output" == *"drwxr-xr-x 1000/1000 app/src/"* ]]
    [[ "$output" == *"-rwxr-x--- 1000/1000 app/src/top.txt"* ]]
    # ... but /app, made by WORKDIR, keeps its owner (BuildKit: --chown does
    # not change a directory that exists).
    l2=$(jq -r '.layers[2].digest' "$(blob "$(manifest_of app:1)")")
    [ "$(tar tvzf "$(blob "$l2")" 2>/dev/null | head -n1 | awk '{print $1, $2, $6}')" = "drwxr-xr-x 0/0 app/" ]
    [[ "$output" == *"lrwxrwxrwx 1000/1000 app/main.js -> server.js"* ]]
    [[ "$output" == *"app/docs/README.md"* ]]
    [[ "$output" != *"app/docs/NOTES.md"* ]]
    [[ "$output" != *"node_modules"* ]]
    [[ "$output" != *"debug.log"* ]]
    # glob into a directory
    [[ "$output" == *"-rw-r--r-- 0/0 opt/lib/util.js"* ]]
    # rename + chmod, parents created 0755 root
    [[ "$output" == *"-rw------- 0/0 etc/app/server.js"* ]]
    [[ "$output" == *"drwxr-xr-x 0/0 etc/"* ]]
    # reproducible metadata: every mtime is the epoch (SOURCE_DATE_EPOCH unset)
    for l in $(jq -r '.layers[].digest' "$(blob "$(manifest_of app:1)")"); do
        ! tar tvzf "$(blob "$l")" | grep -v ' 1970-01-01 00:00 ' || false
    done
}

@test "no-op rebuild: every layer from cache, no context file read, same digest" {
    first=$(manifest_of app:1)
    run "$NBUILD" -t app:1 "$CTX"
    [ "$status" -eq 0 ]
    [ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 5 ]
    [[ "$output" == *"(0 layers built, 5 from cache, 0 context files read)"* ]]
    [ "${lines[-1]}" = "$first" ]
    if ! command -v strace >/dev/null; then
        skip "strace not installed: cannot observe opens"
    fi
    # Independent evidence: no regular file of the context is opened.
    # (LeakSanitizer cannot run under ptrace: off for this one run in ASan builds.)
    ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=open,openat,openat2 -o "$BATS_TEST_TMPDIR/trace" "$NBUILD" -q -t app:1 "$CTX"
    run grep -F "\"$CTX/" "$BATS_TEST_TMPDIR/trace"
    echo "$output"
    ! grep -v O_DIRECTORY <<<"$output" | grep -v O_PATH | grep -vF "$CTX/Nodefile" | grep -vF "$CTX/.dockerignore" | grep -F "$CTX/" || false
}

@test "a changed file rebuilds only the layers after it" {
    cp -a "$CTX" "$BATS_TEST_TMPDIR/c2"
    run "$NBUILD" -t app:2 "$BATS_TEST_TMPDIR/c2"
    [ "$status" -eq 0 ]
    printf 'changed\n' >"$BATS_TEST_TMPDIR/c2/src/lib/util.js"
    run "$NBUILD" -t app:2 "$BATS_TEST_TMPDIR/c2"
    [ "$status" -eq 0 ]
    echo "$output"
    # util.js is in COPY . . and in the glob COPY: those two and the one after rebuild.
    [[ "$output" == *"(3 layers built, 2 from cache, 1 context files read)"* ]]
    # A mode change alone is a change too (modes are in the key, mtimes are not).
    touch -d '2001-01-01' "$BATS_TEST_TMPDIR/c2/server.js"
    run "$NBUILD" -t app:2 "$BATS_TEST_TMPDIR/c2"
    [[ "$output" == *"(0 layers built, 5 from cache"* ]]
    chmod 0700 "$BATS_TEST_TMPDIR/c2/package.json"
    run "$NBUILD" -t app:2 "$BATS_TEST_TMPDIR/c2"
    [[ "$output" == *"(4 layers built, 1 from cache"* ]]
    run "$NRUN" rmi app:2
}

@test "reproducible: same context in two stores gives the same manifest digest" {
    other=$(mktemp -d /tmp/nrun-test.XXXXXX)
    cp -a "$CTX" "$BATS_TEST_TMPDIR/copy"
    touch -d '2020-02-02' "$BATS_TEST_TMPDIR/copy/server.js"
    d1=$("$NBUILD" -q --root "$other" "$BATS_TEST_TMPDIR/copy")
    rm -rf "$other"
    [ "$d1" = "$(manifest_of app:1)" ]
    other=$(mktemp -d /tmp/nrun-test.XXXXXX)
    d2=$(SOURCE_DATE_EPOCH=1700000000 "$NBUILD" -q --root "$other" "$CTX")
    c=$(jq -r .config.digest "$other/blobs/sha256/${d2#sha256:}")
    created=$(jq -r .created "$other/blobs/sha256/${c#sha256:}")
    rm -rf "$other"
    [ "$d2" != "$d1" ]
    [ "$created" = 2023-11-14T22:13:20Z ]
}

@test "SOURCE_DATE_EPOCH is part of the cache key and sets every mtime" {
    d=$(mkctx sde <<<$'FROM scratch\nCOPY Nodefile /n')
    plain=$("$NBUILD" -q -t sde:1 "$d")
    dated=$(SOURCE_DATE_EPOCH=1700000000 "$NBUILD" -q -t sde:2 "$d")
    [ "$plain" != "$dated" ]
    run listing sde:2
    echo "$output"
    [[ "$output" == *"-rw-r--r-- 0/0 n"* ]]
    l=$(jq -r '.layers[0].digest' "$(blob "$dated")")
    tar tvzf "$(blob "$l")" | grep -q ' 2023-11-14 22:13 n$'
    [ "$(SOURCE_DATE_EPOCH=1700000000 "$NBUILD" -q "$d")" = "$dated" ]
    [ "$("$NBUILD" -q "$d")" = "$plain" ]
}

@test "-q prints only the digest; -f names the file; Dockerfile fallback; zstd" {
    run "$NBUILD" -q "$CTX"
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
    d=$(mkctx fb <<<'FROM scratch')
    mv "$d/Nodefile" "$d/Dockerfile"
    run "$NBUILD" -q "$d"
    [ "$status" -eq 0 ]
    printf 'FROM scratch\nBOGUS x\n' >"$d/other.nf"
    run "$NBUILD" -q -f "$d/other.nf" "$d"
    [ "$output" = "nbuild: $d/other.nf:2:1: unknown instruction: BOGUS" ]
    run "$NBUILD" -q -f - "$d" <<<$'FROM scratch\nNOPE x'
    [ "$output" = "nbuild: stdin:2:1: unknown instruction: NOPE" ]
    run "$NBUILD" -q -f - "$d" <<<$'FROM scratch\nLABEL from=stdin'
    [ "$status" -eq 0 ]
    d=$(mkctx zs <<<$'FROM scratch\nCOPY Nodefile /')
    run "$NBUILD" -q --compress zstd -t zs:1 "$d"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.layers[0].mediaType' "$(blob "$(manifest_of zs:1)")")" = application/vnd.oci.image.layer.v1.tar+zstd ]
}

@test "FROM an image in the store: layers, history, --chown by name, existing dir destination" {
    d=$(mkctx base <<'EOF'
FROM scratch
COPY passwd group /etc/
COPY Nodefile /opt/lib/
ENV BASE_ENV=1
CMD ["base"]
EOF
    )
    build_with_users base:1 "$d"
    d2=$(mkctx child <<'EOF'
FROM base:1
WORKDIR /app
COPY --chown=node:staff a.txt /app
COPY --chown=node b.txt /opt/lib
COPY c.txt /new/c
ENTRYPOINT ["node"]
EOF
    )
    for f in a b c; do echo $f >"$d2/$f.txt"; done
    build_and_list child:1 "$d2"
    echo "$output"
    [[ "$output" == *"-rw-r--r-- 1000/50 app/a.txt"* ]]
    [[ "$output" == *"-rw-r--r-- 1000/1000 opt/lib/b.txt"* ]]
    [[ "$output" == *"-rw-r--r-- 0/0 new/c"* ]]
    # 2 base layers + WORKDIR /app (new) + 3 COPY; /opt/lib already existed.
    [ "$(jq -r '.layers | length' "$(blob "$(manifest_of child:1)")")" = 6 ]
    [ "$(cfg child:1 '[.history[] | select(.empty_layer != true)] | length')" = 6 ]
    [ "$(cfg child:1 .history[0].created_by)" = '"COPY passwd group /etc/"' ]
    [ "$(cfg child:1 .config.Env)" = '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","BASE_ENV=1"]' ]
    # ENTRYPOINT resets the CMD inherited from the base, as Docker does.
    [ "$(cfg child:1 .config.Cmd)" = null ]
    printf 'FROM base:1\nCOPY --chown=ghost a.txt /x\n' >"$d2/Nodefile"
    bad_build 'Nodefile:2:6: --chown: unknown user "ghost" (not in the image'"'"'s /etc/passwd)' "$d2"
    printf 'FROM base:1\nCOPY --chown=node:nogroup a.txt /x\n' >"$d2/Nodefile"
    bad_build 'unknown group "nogroup"' "$d2"
}

@test "COPY keeps the metadata of existing parent directories; missing ones are created" {
    d=$(mkctx dbase <<'EOF'
FROM scratch
COPY --chmod=1777 empty /tmp
COPY --chown=1000:1000 empty /home/u
COPY --chown=1000:1000 --chmod=0700 empty /srv/priv
EOF
    )
    mkdir "$d/empty"
    run "$NBUILD" -q -t dbase:1 "$d"
    echo "$output"
    [ "$status" -eq 0 ]
    d2=$(mkctx dchild <<'EOF'
FROM dbase:1
COPY x /tmp/x
COPY app /home/u/app
COPY --chown=7:8 x /tmp/new/deep/y
COPY sub /srv/priv
WORKDIR /home/u/work
EOF
    )
    echo x >"$d2/x"
    mkdir -p "$d2/app" "$d2/sub"
    echo a >"$d2/app/a.js"
    echo s >"$d2/sub/s"
    run "$NBUILD" -q -t dchild:1 --output "oci:$BATS_TEST_TMPDIR/oci" "$d2"
    echo "$output"
    [ "$status" -eq 0 ]
    m=$(blob "$(manifest_of dchild:1)")
    lay() { tar tvzf "$(blob "$(jq -r ".layers[$1].digest" "$m")")" 2>/dev/null | awk '{print $1, $2, $6}'; }
    run lay 3 # COPY x /tmp/x: /tmp as it is in the base
    echo "$output"
    [ "$output" = $'drwxrwxrwt 0/0 tmp/\n-rw-r--r-- 0/0 tmp/x' ]
    run lay 4 # COPY app /home/u/app: /home/u keeps its owner, app is new
    echo "$output"
    [[ "$output" == *"drwxr-xr-x 1000/1000 home/u/"* ]]
    [[ "$output" == *"drwxr-xr-x 0/0 home/u/app/"* ]]
    run lay 5 # --chown: existing /tmp kept, missing parents get the owner
    echo "$output"
    [[ "$output" == *"drwxrwxrwt 0/0 tmp/"* ]]
    [[ "$output" == *"drwxr-xr-x 7/8 tmp/new/"* ]]
    [[ "$output" == *"drwxr-xr-x 7/8 tmp/new/deep/"* ]]
    run lay 6 # a directory source into an existing directory: its metadata stays
    echo "$output"
    [[ "$output" == *"drwx------ 1000/1000 srv/priv/"* ]]
    [[ "$output" == *"-rw-r--r-- 0/0 srv/priv/s"* ]]
    run lay 7 # WORKDIR below an existing directory
    echo "$output"
    [[ "$output" == *"drwxr-xr-x 1000/1000 home/u/"* ]]
    # Independent check: umoci unpacks the exported image the same way.
    umoci unpack --image "$BATS_TEST_TMPDIR/oci:1" "$BATS_TEST_TMPDIR/bundle" >/dev/null
    r="$BATS_TEST_TMPDIR/bundle/rootfs"
    [ "$(stat -c '%a %u:%g' "$r/tmp")" = "1777 0:0" ]
    [ "$(stat -c '%a %u:%g' "$r/home/u")" = "755 1000:1000" ]
    [ "$(stat -c '%a %u:%g' "$r/srv/priv")" = "700 1000:1000" ]
    [ "$(stat -c '%a %u:%g' "$r/tmp/new/deep")" = "755 7:8" ]
}

@test "WORKDIR creates a missing directory owned by the current USER (BuildKit)" {
    d=$(mkctx wbase <<'EOF'
FROM scratch
COPY passwd group /etc/
EOF
    )
    build_with_users wbase:1 "$d"
    d2=$(mkctx wchild <<'EOF'
FROM wbase:1
USER node
WORKDIR /srv/app
USER 7:staff
WORKDIR x
WORKDIR /etc
USER root
WORKDIR /r
EOF
    )
    run "$NBUILD" -q -t wchild:1 "$d2"
    echo "$output"
    [ "$status" -eq 0 ]
    m=$(blob "$(manifest_of wchild:1)")
    # 1 base layer + 3 WORKDIR layers (/etc exists: none)
    [ "$(jq -r '.layers | length' "$m")" = 4 ]
    lay() { tar tvzf "$(blob "$(jq -r ".layers[$1].digest" "$m")")" 2>/dev/null | awk '{print $1, $2, $6}'; }
    run lay 1
    [ "$output" = $'drwxr-xr-x 1000/1000 srv/\ndrwxr-xr-x 1000/1000 srv/app/' ]
    run lay 2
    [ "$output" = $'drwxr-xr-x 1000/1000 srv/\ndrwxr-xr-x 1000/1000 srv/app/\ndrwxr-xr-x 7/50 srv/app/x/' ]
    run lay 3
    [ "$output" = 'drwxr-xr-x 0/0 r/' ]
    printf 'FROM wbase:1\nUSER ghost\nWORKDIR /w\n' >"$d2/Nodefile"
    bad_build 'Nodefile:3:9: WORKDIR: owner from USER ghost: --chown: unknown user "ghost"' "$d2"
}

@test "COPY and WORKDIR follow the base image's symlinks inside it, as BuildKit: /bin -> usr/bin (usrmerged Debian), /var/run -> /run; the symlinks stay" {
    d=$(mkctx lbase <<'EOF'
FROM scratch
COPY root/ /
EOF
    )
    mkdir -p "$d/root/usr/bin" "$d/root/run" "$d/root/var"
    echo sh >"$d/root/usr/bin/sh"
    ln -s usr/bin "$d/root/bin"
    ln -s /run "$d/root/var/run"
    run "$NBUILD" -q -t lbase:1 "$d"
    [ "$status" -eq 0 ]
    d2=$(mkctx lchild <<'EOF'
FROM lbase:1
COPY f /bin/
COPY d/ /bin
WORKDIR /var/run/app
COPY f ../g
EOF
    )
    echo f >"$d2/f"
    mkdir "$d2/d"
    echo n >"$d2/d/n"
    build_and_list lchild:1 "$d2"
    [[ "$output" == *"-rw-r--r-- 0/0 usr/bin/f"* ]]
    [[ "$output" == *"-rw-r--r-- 0/0 usr/bin/n"* ]]
    [[ "$output" == *"drwxr-xr-x 0/0 run/app/"* ]]
    [[ "$output" == *"-rw-r--r-- 0/0 run/g"* ]]
    # no entry below bin/ or var/run/, which would replace the symlink by a directory
    ! grep -E ' (bin|var/run)/' <<<"$output" || false
    [ "$(cfg lchild:1 .config.WorkingDir)" = '"/var/run/app"' ]
}

@test "COPY --from a stage keeps each file's owner there, as BuildKit copies between stages; --chown still sets it; the build context's files are root's" {
    d=$(mkctx fromown <<'EOF'
FROM scratch AS src
COPY --chown=5:6 f /out/f
COPY --chown=7:8 f /out/sub/g
FROM scratch
COPY --from=src /out /o
COPY --from=src /out/f /one
COPY --from=src --chown=9:9 /out/f /c
COPY f /ctx
EOF
    )
    echo f >"$d/f"
    build_and_list fromown:1 "$d"
    echo "$output"
    [[ "$output" == *"-rw-r--r-- 5/6 o/f"* ]]
    [[ "$output" == *"drwxr-xr-x 7/8 o/sub/"* ]]
    [[ "$output" == *"-rw-r--r-- 7/8 o/sub/g"* ]]
    [[ "$output" == *"-rw-r--r-- 5/6 one"* ]]
    [[ "$output" == *"-rw-r--r-- 9/9 c"* ]]
    [[ "$output" == *"-rw-r--r-- 0/0 ctx"* ]]
}

@test "COPY --chown with an empty part takes id 0 for it, as BuildKit: :staff is 0:50, node: is 1000:0" {
    d=$(mkctx cbase <<'EOF'
FROM scratch
COPY passwd group /etc/
EOF
    )
    build_with_users cbase:1 "$d"
    d2=$(mkctx cempty <<'EOF'
FROM cbase:1
COPY --chown=:staff f /a
COPY --chown=node: f /b
EOF
    )
    echo f >"$d2/f"
    build_and_list cempty:1 "$d2"
    [[ "$output" == *"-rw-r--r-- 0/50 a"* ]]
    [[ "$output" == *"-rw-r--r-- 1000/0 b"* ]]
}

@test "8 concurrent builds into one store leave 8 tags" {
    d=$(mkctx conc <<<$'FROM scratch\nARG N\nCOPY Nodefile /n-$N')
    pids=()
    for i in 1 2 3 4 5 6 7 8; do
        "$NBUILD" -q -t "conc:$i" --build-arg "N=$i" "$d" >"$BATS_TEST_TMPDIR/out.$i" 2>&1 &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    for i in 1 2 3 4 5 6 7 8; do
        [ "$(manifest_of "conc:$i")" = "$(tail -n1 "$BATS_TEST_TMPDIR/out.$i")" ]
        jq -e . "$(blob "$(manifest_of "conc:$i")")" >/dev/null
    done
    [ "$(jq '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] | startswith("conc:"))] | length' "$NRUN_ROOT/index.json")" = 8 ]
}

@test ".nbuildignore wins over .dockerignore; escape directive; JSON-form COPY with spaces" {
    d=$(mkctx ign <<'EOF'
# escape=`
FROM scratch
COPY . /c/
COPY ["my file.txt", "/dst dir/"]
ENV OLD `
    value with spaces
LABEL old label text
EOF
    )
    printf 'x\n' >"$d/a.txt"
    printf 'y\n' >"$d/b.txt"
    printf 'z\n' >"$d/my file.txt"
    printf 'a.txt\n' >"$d/.dockerignore"
    printf 'b.txt\n.nbuildignore\n.dockerignore\n' >"$d/.nbuildignore"
    build_and_list ign:1 "$d"
    echo "$output"
    [[ "$output" == *" c/a.txt"* ]]
    [[ "$output" != *" c/b.txt"* ]]
    [[ "$output" != *"c/.dockerignore"* ]]
    [[ "$output" == *" dst dir/my file.txt"* ]]
    [ "$(cfg ign:1 '.config.Env[1]')" = '"OLD=value with spaces"' ]
    [ "$(cfg ign:1 '.config.Labels.old')" = '"label text"' ]
}

@test "FROM an earlier stage continues from it" {
    d=$(mkctx stages <<'EOF'
FROM scratch AS base
COPY a /dir/a
ENV FROM_BASE=1
FROM base AS final
WORKDIR /dir
COPY b /b
EOF
    )
    echo a >"$d/a"
    echo b >"$d/b"
    run "$NBUILD" -q -t stages:1 "$d"
    [ "$status" -eq 0 ]
    run listing stages:1
    [[ "$output" == *" dir/a"* ]]
    [[ "$output" == *" b"* ]]
    # WORKDIR of a directory that exists adds no layer.
    [ "$(jq -r '.layers | length' "$(blob "$(manifest_of stages:1)")")" = 2 ]
    [ "$(cfg stages:1 '.history[] | select(.created_by == "WORKDIR /dir") | .empty_layer')" = true ]
    [ "$(cfg stages:1 '.config.Env[1]')" = '"FROM_BASE=1"' ]
}

@test "ARG before FROM, --build-arg, ENV over ARG, substitution forms" {
    d=$(mkctx args <<'EOF'
ARG TAG=scratch
FROM $TAG
ARG A=defaultA
ARG B
ARG EMPTY=
ENV E1=${A}-${B:-bdef}-${EMPTY:-x}-${A:+set}-${NOPE+no} E2='$A' E3=\$A
ENV A=fromenv
LABEL l1=$A
EOF
    )
    run "$NBUILD" -q -t args:1 "$d"
    [ "$status" -eq 0 ]
    [ "$(cfg args:1 '.config.Env[1:]')" = '["E1=defaultA-bdef-x-set-","E2=$A","E3=$A","A=fromenv"]' ]
    [ "$(cfg args:1 .config.Labels.l1)" = '"fromenv"' ]
    run "$NBUILD" -q -t args:2 --build-arg A=cli --build-arg B=bee "$d"
    [ "$status" -eq 0 ]
    [ "$(cfg args:2 '.config.Env[1]')" = '"E1=cli-bee-x-set-"' ]
}

@test "BuildKit's platform ARGs: FROM --platform=\$BUILDPLATFORM, ARG TARGETARCH in a stage; other platforms refused" {
    d=$(mkctx plat <<'EOF'
ARG TARGETPLATFORM
FROM --platform=$BUILDPLATFORM scratch AS build
ARG TARGETARCH
ARG BUILDPLATFORM
ARG TARGETVARIANT
ENV A=$TARGETARCH B=$BUILDPLATFORM V=x${TARGETVARIANT}x T=${TARGETPLATFORM:-undeclared}
FROM --platform=${TARGETPLATFORM} build
ARG TARGETPLATFORM
ARG TARGETOS
ENV T=$TARGETPLATFORM O=$TARGETOS
EOF
    )
    run "$NBUILD" -q -t plat:1 "$d"
    [ "$status" -eq 0 ]
    [ "$(cfg plat:1 '.config.Env[1:]')" = '["A=amd64","B=linux/amd64","V=xx","T=linux/amd64","O=linux"]' ]
    # refused before anything is built, wherever it is
    bad_nodefile arm $'FROM scratch\nCOPY package.json /\nFROM --platform=linux/arm64 scratch' 'Nodefile:3:6: FROM --platform=linux/arm64: nbuild builds linux/amd64 images only'
    bad_nodefile armarg $'ARG P=linux/arm/v7\nFROM --platform=$P scratch' 'Nodefile:2:6: FROM --platform=linux/arm/v7: nbuild builds linux/amd64 images only'
}

@test "ADD unpacks local archives (gz, bz2, xz, zst) and copies other files" {
    d=$(mkctx add <<'EOF'
FROM scratch
ADD app.tar.gz /srv/
ADD app.tar.bz2 /b/
ADD app.tar.xz /x/
ADD app.tar.zst /z/
ADD --chown=7:8 plain.txt /p/
ADD --chown=7:8 --chmod=0600 own.tar /o/
EOF
    )
    mkdir -p "$BATS_TEST_TMPDIR/t/pkg"
    printf 'in tar\n' >"$BATS_TEST_TMPDIR/t/pkg/a.txt"
    ln -s a.txt "$BATS_TEST_TMPDIR/t/pkg/l"
    tar -C "$BATS_TEST_TMPDIR/t" -czf "$d/app.tar.gz" pkg
    tar -C "$BATS_TEST_TMPDIR/t" -cjf "$d/app.tar.bz2" pkg
    tar -C "$BATS_TEST_TMPDIR/t" -cJf "$d/app.tar.xz" pkg
    tar -C "$BATS_TEST_TMPDIR/t" -cf - pkg | zstd -q >"$d/app.tar.zst"
    printf 'plain\n' >"$d/plain.txt"
    chmod 0644 "$BATS_TEST_TMPDIR/t/pkg/a.txt"
    chmod 0755 "$BATS_TEST_TMPDIR/t/pkg"
    tar -C "$BATS_TEST_TMPDIR/t" --owner=3 --group=4 -cf "$d/own.tar" pkg
    build_and_list add:1 "$d"
    echo "$output"
    for p in srv b x z; do
        [[ "$output" == *" $p/pkg/a.txt"* ]]
        [[ "$output" == *" $p/pkg/l -> a.txt"* ]]
    done
    [[ "$output" == *"-rw-r--r-- 7/8 p/plain.txt"* ]]
    # an archive's entries keep their owners and modes, as BuildKit unpacks
    # them; --chown gives only the destination directory ADD creates
    [[ "$output" == *"drwxr-xr-x 7/8 o/"* ]]
    [[ "$output" == *"drwxr-xr-x 3/4 o/pkg/"* ]]
    [[ "$output" == *"-rw-r--r-- 3/4 o/pkg/a.txt"* ]]
}

@test "ADD refuses hostile archives and URLs, store unchanged" {
    d=$(mkctx evil <<<$'FROM scratch\nADD evil.tar /x/')
    python3 - "$d/evil.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    i = tarfile.TarInfo("../../etc/evil"); data = b"x"; i.size = 1
    t.addfile(i, io.BytesIO(data))
EOF
    bad_build "Nodefile:2:5: ADD evil.tar: entry \"../../etc/evil\" would be written outside the destination" "$d"
    python3 - "$d/evil.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    l = tarfile.TarInfo("a"); l.type = tarfile.SYMTYPE; l.linkname = "/etc"; t.addfile(l)
    i = tarfile.TarInfo("a/passwd"); i.size = 1; t.addfile(i, io.BytesIO(b"x"))
EOF
    bad_build 'entry "a/passwd" goes through the symlink "a"' "$d"
    python3 - "$d/evil.tar" <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    h = tarfile.TarInfo("shadow"); h.type = tarfile.LNKTYPE; h.linkname = "/etc/shadow"; t.addfile(h)
EOF
    bad_build 'hardlink "shadow" points to "/etc/shadow", outside the archive' "$d"
    python3 - "$d/evil.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    i = tarfile.TarInfo("/abs"); i.size = 1; t.addfile(i, io.BytesIO(b"x"))
EOF
    bad_build 'entry "/abs" would be written outside the destination' "$d"
    bad_nodefile url $'FROM scratch\nADD git@127.0.0.1:x.git /x/' "Nodefile:2:5: ADD git@127.0.0.1:x.git: git repositories are not fetched by nbuild (clone it into the build context)"
}

@test "RUN on FROM scratch, RUN --mount=type=ssh,required and COPY --from an empty stage stop the build, store unchanged" {
    bad_nodefile run $'FROM scratch\n  RUN echo hi' "Nodefile:2:3: RUN in an image with no layers (FROM scratch) has nothing to run"
    bad_nodefile runm $'FROM scratch\nCOPY Nodefile /\nRUN --mount=type=ssh,target=/x,required echo hi' "Nodefile:3:5: RUN --mount=type=ssh,id=default,required: no --ssh default given (without required the step runs with no agent, as BuildKit's does)"
    bad_nodefile from $'FROM scratch AS a\nFROM scratch\nCOPY --from=a /x /y' "Nodefile:3:6: COPY --from=a: an image with no layers has no files to copy"
}

@test "bad Nodefile syntax: one line with file:line:col, store unchanged" {
    bad_nodefile syn $'FROM scratch\n\n# c\nFROBNICATE x' "Nodefile:4:1: unknown instruction: FROBNICATE"
    bad_nodefile json $'FROM scratch\nCMD ["node",\n    "server.js"' "Nodefile:3:5: unknown instruction: \"server.js\" (line 2's JSON array has no closing ']' on its line: a line that goes on ends with '\\')"
    bad_nodefile arg $'ARG 9lives=1\nFROM scratch' 'Nodefile:1:5: ARG: invalid name "9lives"'
    bad_nodefile env $'FROM scratch\nENV A=1 B' 'Nodefile:2:9: ENV: syntax error - can'"'"'t find = in "B", must be name=value'
    bad_nodefile env2 $'FROM scratch\nENV ONLY' 'Nodefile:2:5: ENV ONLY: missing value'
    bad_nodefile subst $'FROM scratch\nENV X="${A:?need A}"' 'Nodefile:2:8: ENV: A: need A'
    bad_nodefile before $'ENV X=1\nFROM scratch' 'Nodefile:1:1: ENV before FROM'
    bad_nodefile port $'FROM scratch\nEXPOSE 99999' 'Nodefile:2:8: EXPOSE: invalid port "99999"'
    d=$(mkctx empty <<<'')
    bad_build "Nodefile:1:1: file has no instructions" "$d"
    bad_build "no Nodefile, Dockerfile or package.json in $BATS_FILE_TMPDIR" "$BATS_FILE_TMPDIR"
}

@test "bad COPY sources: missing, ../x, absolute (the context's path, as BuildKit), a symlink loop or to nothing in the context, ignored" {
    d=$(mkctx src <<<$'FROM scratch\nCOPY missing.js /app/')
    bad_build "Nodefile:2:6: COPY: source missing.js not found in the build context" "$d"
    printf 'FROM scratch\nCOPY ../x /app/\n' >"$d/Nodefile"
    bad_build "Nodefile:2:6: COPY: source ../x is outside the build context" "$d"
    printf 'FROM scratch\nCOPY a /etc/passwd /app/\n' >"$d/Nodefile"
    touch "$d/a"
    bad_build "Nodefile:2:8: COPY: source /etc/passwd not found in the build context" "$d"
    # links resolve inside the context, as BuildKit does: etc -> /etc is itself,
    # pw -> /etc/passwd then goes through it
    ln -s /etc "$d/etc"
    printf 'FROM scratch\nCOPY etc/passwd /app/\n' >"$d/Nodefile"
    bad_build "Nodefile:2:6: COPY: source etc/passwd: too many levels of symlinks (each resolves inside the context, as BuildKit does: a link to /etc named etc leads to itself)" "$d"
    ln -s /etc/passwd "$d/pw"
    printf 'FROM scratch\nCOPY pw /app/\n' >"$d/Nodefile"
    bad_build "Nodefile:2:6: COPY: source pw: too many levels of symlinks (each resolves inside the context, as BuildKit does: a link to /etc named etc leads to itself)" "$d"
    ln -s /nowhere/x "$d/nx"
    printf 'FROM scratch\nCOPY nx /app/\n' >"$d/Nodefile"
    bad_build "Nodefile:2:6: COPY: source nx not found in the build context: it is a symlink to /nowhere/x, which resolves inside the context (as BuildKit does), and nothing is there" "$d"
    printf 'FROM scratch\nCOPY --chown=nobody a /app/\n' >"$d/Nodefile"
    bad_build 'Nodefile:2:6: --chown: unknown user "nobody"' "$d"
    printf 'FROM scratch\nCOPY a Nodefile /app\n' >"$d/Nodefile"
    bad_build "Nodefile:2:17: COPY: with more than one source file, the destination must be a directory" "$d"
}

@test "unknown base image names the FROM line" {
    bad_nodefile base $'FROM scratch\nFROM no-such-image:1.0' "Nodefile:2:6: unknown base image no-such-image:1.0"
}

# a build of the Nodefile $1 (printf's format) in $d that fails with $2 at
# once: no STEP after the first (none at all with --jobs: $3 = STEP), the
# store as it was ($before)
early_fail() {
    printf "$1" >"$d/Nodefile"
    run "$NBUILD" --progress=plain ${4:-} -t late:1 "$d"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"$2"* ]]
    [[ "$output" != *"${3:-STEP 2/}"* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

@test "an unknown base or COPY --from image in a later stage is the error before the first stage builds (BuildKit resolves every image first); a stage name, an ARG, scratch and a stage the target skips are not checked" {
    d=$(mkctx latebase <<<'FROM scratch')
    before=$(nr_tree_hash "$NRUN_ROOT")
    early_fail 'FROM scratch AS a\nCOPY Nodefile /x\nFROM no-such-image:1.0\nCOPY --from=a /x /y\n' \
        "Nodefile:3:6: unknown base image no-such-image:1.0"
    # a tag of a name nbuild makes that it cannot make: its own message, there too
    early_fail 'FROM scratch AS a\nCOPY Nodefile /x\nFROM node:1.2.3.4\n' "Nodefile:3:6: unknown base image node:1.2.3.4"
    # with stages that --jobs builds at once: before any job starts
    early_fail 'FROM scratch AS a\nCOPY Nodefile /x\nFROM scratch AS b\nCOPY Nodefile /z\nFROM no-such-image:1.0\nCOPY --from=a /x /y\nCOPY --from=b /z /w\n' \
        "Nodefile:5:6: unknown base image no-such-image:1.0" STEP "--jobs 2"
    # an image a later stage copies from, as well
    early_fail 'FROM scratch AS a\nCOPY Nodefile /x\nFROM scratch\nCOPY --from=no-such-image:3 /x /y\n' \
        "Nodefile:4:6: COPY --from=no-such-image:3: unknown image no-such-image:3"
    # what the check leaves alone still builds: FROM an earlier stage, a
    # global ARG naming one, scratch; a stage --target does not need is not
    # resolved at all (as BuildKit skips it)
    printf 'ARG B=a\nFROM scratch AS a\nCOPY Nodefile /x\nFROM no-such-image:2 AS unused\nFROM ${B} AS b\nFROM scratch\nCOPY --from=b /x /y\n' >"$d/Nodefile"
    run "$NBUILD" -q -t late:2 "$d"
    echo "$output"
    [ "$status" -eq 0 ]
    run "$NBUILD" -q --target a -t late:3 "$d"
    [ "$status" -eq 0 ]
    run "$NBUILD" -q --jobs 2 --no-cache -t late:4 "$d"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(manifest_of late:4)" = "$(manifest_of late:2)" ]
    "$NRUN" rmi late:2 late:3 late:4 >/dev/null
}

@test "unreadable context file (no DAC override) fails naming the path" {
    command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
    d=$(mkctx unread <<<$'FROM scratch\nCOPY . /app/')
    printf 'secret\n' >"$d/secret.txt"
    chmod 000 "$d/secret.txt"
    # Root reads anything through CAP_DAC_OVERRIDE/READ_SEARCH: drop them so
    # open(2) really fails, as it would for any user.
    NB_WRAP="setpriv --bounding-set -dac_override,-dac_read_search" bad_build "COPY: open $d/secret.txt: EACCES" "$d"
    # a fifo in a copied directory is copied as one, never opened (the build
    # cannot block on it), as BuildKit copies it
    mkfifo "$d/pipe"
    chmod 644 "$d/secret.txt"
    run timeout 60 "$NBUILD" -q -t unread:1 "$d"
    [ "$status" -eq 0 ]
    l=$(jq -r '.layers[-1].digest' "$(blob "$(manifest_of unread:1)")")
    tar -tvzf "$(blob "$l")" | grep -q '^p.* app/pipe$'
    "$NRUN" rmi unread:1 >/dev/null
}

@test "a store that is not writable: error, store unchanged" {
    ro="$BATS_TEST_TMPDIR/ro"
    mkdir -p "$ro"
    mount --bind "$NRUN_ROOT" "$ro"
    mount -o remount,ro,bind "$ro"
    d=$(mkctx rost <<<$'FROM scratch\nCOPY Nodefile /new-file-for-ro-test')
    before=$(nr_tree_hash "$NRUN_ROOT")
    run "$NBUILD" -q --root "$ro" -t ro:1 "$d"
    umount "$ro"
    echo "$output"
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"EROFS"* ]]
    [ "$before" = "$(nr_tree_hash "$NRUN_ROOT")" ]
}

@test "a full disk: error, store unchanged" {
    small="$BATS_TEST_TMPDIR/small"
    mkdir -p "$small"
    mount -t tmpfs -o size=1m tmpfs "$small"
    d=$(mkctx full <<<$'FROM scratch\nCOPY Nodefile /n')
    run "$NBUILD" -q --root "$small/root" -t s:1 "$d"
    [ "$status" -eq 0 ]
    head -c 3000000 /dev/urandom >"$d/big.bin"
    printf 'FROM scratch\nCOPY big.bin /big.bin\n' >"$d/Nodefile"
    before=$(nr_tree_hash "$small/root")
    run "$NBUILD" -q --root "$small/root" -t s:1 "$d"
    after=$(nr_tree_hash "$small/root")
    leftovers=$(find "$small/root" -name '.tmp-*' | wc -l)
    umount "$small"
    echo "$output"
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"ENOSPC"* ]]
    [ "$before" = "$after" ]
    [ "$leftovers" -eq 0 ]
}

@test "a failure after the layers were written (export to a full disk) removes them again" {
    small="$BATS_TEST_TMPDIR/out"
    mkdir -p "$small"
    mount -t tmpfs -o size=64k tmpfs "$small"
    d=$(mkctx undo <<<$'FROM scratch\nCOPY big.bin /big.bin\nCOPY Nodefile /n')
    head -c 200000 /dev/urandom >"$d/big.bin"
    before=$(nr_tree_hash "$NRUN_ROOT")
    run "$NBUILD" -q -t undo:1 --output "oci:$small/layout" "$d"
    after=$(nr_tree_hash "$NRUN_ROOT")
    umount "$small"
    echo "$output"
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"ENOSPC"* ]]
    [ "$before" = "$after" ]
    [ -z "$(manifest_of undo:1)" ]
}

@test "a late failure does not remove blobs a concurrent identical build has tagged" {
    d=$(mkctx race <<<$'FROM scratch\nCOPY big.bin /big.bin\nCOPY Nodefile /n')
    head -c 300000 /dev/urandom >"$d/big.bin"
    fifo="$BATS_TEST_TMPDIR/fifo"
    mkfifo "$fifo"
    # Build A exports to a pipe nobody reads: it stops there with its layers,
    # config and manifest written but not tagged.  SIGPIPE ignored, so closing
    # the pipe later makes its write fail (EPIPE) and it undoes its blobs.
    (
        trap '' PIPE
        exec "$NBUILD" -q -t race-a:1 --output oci-archive:- "$d" >"$fifo" 2>"$BATS_TEST_TMPDIR/a.err"
    ) &
    a=$!
    exec {rfd}<"$fifo"
    # Wait until A is parked writing the pipe (a wait, not a pass/fail limit).
    for _ in $(seq 1200); do
        grep -q pipe_write "/proc/$a/wchan" 2>/dev/null && break
        sleep 0.1
    done
    cat "$BATS_TEST_TMPDIR/a.err"
    grep -q pipe_write "/proc/$a/wchan"
    # Build B: the same image, tagged while A still holds its blobs.
    run "$NBUILD" -q -t race-b:1 "$d"
    echo "B: $output"
    [ "$status" -eq 0 ]
    exec {rfd}<&-
    st=0
    wait "$a" || st=$?
    cat "$BATS_TEST_TMPDIR/a.err"
    [ "$st" -ne 0 ]
    [ -z "$(manifest_of race-a:1)" ]
    # Every blob of B's image is still there and intact.
    m=$(manifest_of race-b:1)
    [ -f "$(blob "$m")" ]
    for x in $(jq -r '.config.digest, .layers[].digest' "$(blob "$m")"); do
        [ "sha256:$(sha256sum <"$(blob "$x")" | cut -c1-64)" = "$x" ]
    done
    run "$NRUN" image inspect race-b:1
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "--output oci:DIR and oci-archive:FILE are read by umoci and skopeo" {
    out="$BATS_TEST_TMPDIR/layout"
    run "$NBUILD" -q -t app:1 --output "oci:$out" "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    skopeo inspect "oci:$out:1" | jq -e '.Layers | length == 5'
    umoci unpack --rootless --image "$out:1" "$BATS_TEST_TMPDIR/bundle" >/dev/null
    [ -f "$BATS_TEST_TMPDIR/bundle/rootfs/app/server.js" ]
    [ "$(cat "$BATS_TEST_TMPDIR/bundle/rootfs/etc/app/server.js")" = 'console.log("hi")' ]
    run "$NBUILD" -q -t app:1 --output "oci-archive:$BATS_TEST_TMPDIR/app.tar" "$CTX"
    [ "$status" -eq 0 ]
    skopeo inspect "oci-archive:$BATS_TEST_TMPDIR/app.tar" | jq -e '.Layers | length == 5'
    # podman, in a throwaway vfs store, loads the archive.
    p="$BATS_TEST_TMPDIR/podman"
    podman --root "$p/root" --runroot "$p/run" --storage-driver vfs load -i "$BATS_TEST_TMPDIR/app.tar" >/dev/null
    podman --root "$p/root" --runroot "$p/run" --storage-driver vfs images --format '{{.Size}}' | grep -q .
    podman --root "$p/root" --runroot "$p/run" --storage-driver vfs image inspect --format '{{.Config.WorkingDir}}' \
        "$(podman --root "$p/root" --runroot "$p/run" --storage-driver vfs images -q | head -n1)" | grep -qx /app
    rm -rf "$p"
}

@test "bad flags are usage errors" {
    run "$NBUILD" -q --output tar:/x "$CTX"
    [ "$status" -eq 2 ]
    run "$NBUILD" -q --compress lz4 "$CTX"
    [ "$status" -eq 2 ]
    run "$NBUILD" -q -t 'Bad Name' "$CTX"
    [ "$status" -eq 2 ]
    run "$NBUILD" -q
    [ "$status" -eq 2 ]
    run "$NBUILD" -q --output "oci-archive:/nonexistent/dir/x.tar" "$CTX"
    [ "$status" -eq 2 ]
}
