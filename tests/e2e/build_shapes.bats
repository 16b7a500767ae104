#!/usr/bin/env bats
# Apps shaped like the public Node images (issue 12 item 7), each built from
# its own unmodified Dockerfile and answered over HTTP through -p
# (tests/apps/shapes): express started by `npm start` on node:20-slim, a yarn
# classic app with a shell-form CMD on the full node:20, tini installed by
# apt-get as the entrypoint, bcrypt compiled by node-gyp in a node:20 build
# stage and run on node:20-slim.
#
# Nothing leaves the machine: the builds run in this file's network
# namespace, where npm and yarn reach only the registry of tests/lib/npmreg.bash
# (the tarballs `make deps` fetched; its .npmrc is the build's npmrc secret)
# and apt reaches only tests/lib/apt_replay.py, which replays what `make deps`
# recorded (the archive's signed InRelease files, the Packages indexes, the
# tini .deb) through Docker's predefined http_proxy build argument.  The base
# images come from the shared download cache (NRUN_CACHE_DIR).
load ../lib/common
load ../lib/runtime
load ../lib/npmreg
bats_require_minimum_version 1.5.0

SHAPES=$REPO/tests/apps/shapes
APTREC=$NRUN_CACHE_DIR/apt-replay/tini

# the tarballs the shapes' lock files name that are not cached (none: empty)
missing_tarballs() {
    local l
    for l in "$SHAPES"/*/package-lock.json; do
        jq -r '.packages | to_entries[] | select(.key != "")
            | "\(.key | sub("^.*node_modules/"; "") | ltrimstr("@") | gsub("/"; "-"))-\(.value.version).tgz"' "$l"
    done | sort -u | while read -r f; do [ -s "$NPMREG_TARBALLS/$f" ] || echo "$f"; done
}

setup_file() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    nr_make_root
    export W=$BATS_FILE_TMPDIR
    local m
    m=$(missing_tarballs)
    if [ -n "$m" ]; then
        echo "the shapes' npm tarballs are not cached ($(echo $m | cut -c1-120)...): run make deps" >"$W/skip-npm"
    else
        NPMREG_NETNS=$NR_NETNS npmreg_start "$W/reg"
    fi
    local vu
    vu=$(cat "$APTREC/valid-until" 2>/dev/null) || vu=
    if [ -z "$vu" ]; then
        echo "apt's files for tini are not recorded ($APTREC): run make deps after make build" >"$W/skip-apt"
    elif [ "$vu" != none ] && [ "$vu" -le $(($(date +%s) + 600)) ]; then
        echo "the recorded apt indexes expire $(date -u -d "@$vu" +%FT%TZ): run make deps to record them again" >"$W/skip-apt"
    else
        nsenter --net="/run/netns/$NR_NETNS" python3 "$REPO/tests/lib/apt_replay.py" replay "$APTREC" \
            "$W/apt.port" "$W/apt.log" &
        echo $! >"$W/apt.pid"
        for _ in $(seq 100); do [ -s "$W/apt.port" ] && break; sleep 0.05; done
    fi
    # the bases, from the download cache; outside this file's network
    # namespace, which has no way out, so a cold cache can still download
    "$NR_REAL_NRUN" base node:20-slim node:20 >"$W/base.log" 2>&1 || { tail -5 "$W/base.log"; return 1; }
}

teardown_file() {
    npmreg_stop "$W/reg"
    [ ! -s "$W/apt.pid" ] || kill "$(cat "$W/apt.pid")" 2>/dev/null || true
    rt_rm_all
    rt_assert_clean
    nr_remove_root
}

setup() {
    [ ! -s "$W/skip-npm" ] || skip "$(cat "$W/skip-npm")"
}

# nbuild in this file's network namespace, with the registry's CA and .npmrc
nb() {
    nr_in_ns "$NBUILD" --progress=plain --host-ca="$NPMREG_CA" --secret "id=npmrc,src=$NPMREG_RC" "$@"
}

# run image $1 with 2 workers, container port $2 published; prints "ID PORT"
# once the app answers on path $3
serve() {
    local port id
    port=$(rt_free_port)
    id=$(rt_run -d --workers 2 -p "127.0.0.1:$port:$2" "$1")
    for _ in $(seq 200); do nr_in_ns curl -sf "http://127.0.0.1:$port$3" >/dev/null && break; sleep 0.1; done
    echo "$id $port"
}

# the supervisor's mode of container $1 and why, as inspect says
mode_of() { "$NRUN" inspect "$1" | jq -r '.[0].Supervisor | "\(.Mode) \(.Workers): \(.ModeReason)"'; }

# the files of image $1 (its layers, in order), one path a line
files_of() {
    for l in $(jq -r '.layers[].digest' "$(blob "$(manifest_of "$1")")"); do
        tar tzf "$(blob "$l")" 2>/dev/null
    done | sed 's|^\./||' | sort -u
}

@test "express with CMD [\"npm\", \"start\"] on node:20-slim: npm ci in the image, cluster workers behind -p" {
    run nb -t greeter:1 "$SHAPES/express-npm"
    echo "$output" | tail -8
    [ "$status" -eq 0 ]
    read -r id port < <(serve greeter:1 8080 /healthz)
    run nr_in_ns curl -sf "http://127.0.0.1:$port/"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.greeting + " " + .event + " " + .express' <<<"$output")" = "hello start 4.21.2" ]
    mode_of "$id"
    [ "$(mode_of "$id")" = "cluster 2: docker-entrypoint.sh npm start -> npm start -> node app.js" ]
    for _ in $(seq 10); do nr_in_ns curl -sf "http://127.0.0.1:$port/"; done | jq .pid | sort -u >"$W/pids"
    [ "$(wc -l <"$W/pids")" -eq 2 ]
    "$NRUN" rm -f "$id" >/dev/null
}

@test "yarn classic on the full node:20: yarn install --frozen-lockfile, shell-form CMD yarn start, served over HTTP" {
    run nb -t shop:1 "$SHAPES/yarn-shell"
    echo "$output" | tail -8
    [ "$status" -eq 0 ]
    [ "$(cfg shop:1 .config.Cmd)" = '["/bin/sh","-c","yarn start"]' ]
    files_of shop:1 >"$W/shop.files"
    grep -qx 'home/node/shop/node_modules/express/package.json' "$W/shop.files"
    run grep -c 'usr/local/share/.cache/yarn/v6/npm-' "$W/shop.files" # yarn cache clean ran
    [ "$output" = 0 ]
    read -r id port < <(serve shop:1 3000 /healthz)
    run nr_in_ns curl -sf "http://127.0.0.1:$port/api/items"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(jq -r '([.items[].name] | join(",")) + " " + .via' <<<"$output")" = "tea,cake start" ]
    mode_of "$id"
    [ "$(mode_of "$id")" = "cluster 2: docker-entrypoint.sh /bin/sh -c yarn start -> /bin/sh -c yarn start -> yarn start -> node server.js" ]
    "$NRUN" rm -f "$id" >/dev/null
}

@test "apt-get install -y tini in RUN, ENTRYPOINT [\"/usr/bin/tini\", \"--\"]: apt's signed files replayed from 127.0.0.1, served over HTTP" {
    [ ! -s "$W/skip-apt" ] || skip "$(cat "$W/skip-apt")"
    proxy=http://127.0.0.1:$(cat "$W/apt.port")
    : >"$W/apt.log"
    run nb --build-arg "http_proxy=$proxy" -t tini-app:1 "$SHAPES/tini-apt"
    echo "$output" | tail -12
    [ "$status" -eq 0 ]
    cat "$W/apt.log"
    # every request was answered from the recording; the .deb came through it
    run grep -c ' miss$' "$W/apt.log"
    [ "$output" = 0 ]
    grep -q '/InRelease hit$' "$W/apt.log"
    grep -q '/tini_.*_amd64\.deb hit$' "$W/apt.log"
    # the signatures were checked (no unauthenticated warning), the proxy is not in the image
    [[ "$output" != *"WARNING: The following packages cannot be authenticated"* ]]
    [[ "$output" != *"NO_PUBKEY"* ]]
    run grep -rlaF "$proxy" "$NRUN_ROOT/blobs"
    [ "$status" -eq 1 ]
    files_of tini-app:1 >"$W/tini.files"
    grep -qx 'usr/bin/tini' "$W/tini.files"
    run grep -c '^var/lib/apt/lists/.*_InRelease$' "$W/tini.files"
    [ "$output" = 0 ]
    [ "$(cfg tini-app:1 '.config.Entrypoint')" = '["/usr/bin/tini","--"]' ]
    read -r id port < <(serve tini-app:1 5000 /)
    run nr_in_ns curl -sf "http://127.0.0.1:$port/"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(jq -r .ok <<<"$output")" = true ]
    mode_of "$id"
    [ "$(mode_of "$id")" = "cluster 2: /usr/bin/tini -- node server.js -> node server.js" ]
    "$NRUN" rm -f "$id" >/dev/null
}

@test "bcrypt compiled from source (npm ci --build-from-source: node-gyp-build runs node-gyp) in a node:20 build stage, run on node:20-slim: hashes over HTTP" {
    run nb -t pw:1 "$SHAPES/bcrypt-native"
    echo "$output" | tail -12
    [ "$status" -eq 0 ]
    files_of pw:1 >"$W/pw.files"
    grep -qx 'app/node_modules/bcrypt/build/Release/bcrypt_lib.node' "$W/pw.files"
    # compiled here by node-gyp, against node's headers in the image: the
    # objects are there (bcrypt's tarball also carries prebuilt binaries,
    # which --build-from-source passes over; the namespace has no route to
    # download headers)
    grep -qx 'app/node_modules/bcrypt/build/Release/obj.target/bcrypt_lib/src/bcrypt_node.o' "$W/pw.files"
    run grep -c '^usr/bin/g++\|^usr/bin/gcc\|^usr/bin/make$' "$W/pw.files" # the final stage is slim
    [ "$output" = 0 ]
    read -r id port < <(serve pw:1 3000 /healthz)
    run nr_in_ns curl -sf -X POST --data "buy milk" "http://127.0.0.1:$port/hash"
    echo "$output"
    [ "$status" -eq 0 ]
    hash=$(jq -r .hash <<<"$output")
    [[ "$hash" == '$2b$04$'* ]] && [ "${#hash}" -eq 60 ]
    [ "$(jq -r .rounds <<<"$output")" = 4 ]
    [ "$(nr_in_ns curl -sf "http://127.0.0.1:$port/healthz" | jq -r .bcrypt)" = 6.0.0 ]
    # checked by any worker: the compiled module answers both ways
    for pw_ok in "buy milk:true" "buy milk!:false"; do
        run nr_in_ns curl -sf -X POST --data "$(jq -cn --arg p "${pw_ok%:*}" --arg h "$hash" '{password: $p, hash: $h}')" \
            "http://127.0.0.1:$port/check"
        [ "$(jq -r .ok <<<"$output")" = "${pw_ok##*:}" ]
    done
    [[ "$(mode_of "$id")" == "cluster 2: "* ]]
    "$NRUN" rm -f "$id" >/dev/null
}
