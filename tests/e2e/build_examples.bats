#!/usr/bin/env bats
# The examples as a user builds them (examples/express, examples/typescript):
# their own Dockerfiles, npm ci from their lock files in a builder stage, a
# slim final stage; built with nbuild and served over HTTP by nrun.  npm
# reaches only a registry on 127.0.0.1 (tests/lib/npmreg.bash) that serves
# the tarballs `make deps` fetched, named by an .npmrc handed to the build as
# a secret (--secret id=npmrc, which the Dockerfiles mount at ~/.npmrc).
load ../lib/common
load ../lib/runtime
load ../lib/npmreg
bats_require_minimum_version 1.5.0

setup_file() {
    nr_make_root
    export W=$BATS_FILE_TMPDIR
    if missing=$(npmreg_have_tarballs); then
        npmreg_start "$W/reg"
    else
        echo "$missing" >"$W/missing"
    fi
}

teardown_file() {
    npmreg_stop "$W/reg"
    rt_rm_all
    rt_assert_clean
    nr_remove_root
}

setup() {
    [ ! -s "$W/missing" ] || skip "the examples' npm tarballs are not cached ($(cat "$W/missing") missing): run make deps"
}

# a copy of example $1 in $W/$1 (the tests change files in it)
ctx_of() {
    rm -rf "${W:?}/$1"
    cp -a "$REPO/examples/$1" "$W/$1"
    echo "$W/$1"
}
nb() { "$NBUILD" --progress=plain --host-ca="$NPMREG_CA" --secret "id=npmrc,src=$NPMREG_RC" "$@"; }

# the steps nbuild --progress=plain ran (not from the cache): their
# "--> INSTRUCTION: sha256:..." lines, on stdin
steps_run() { grep -E '^--> ([A-Z]+ .*: sha256:|DONE )' | grep -v '^--> CACHED' || true; }

# serve image $1 on a free port; prints the port
serve() {
    local port
    port=$(rt_free_port)
    rt_run -d --workers 2 -p "127.0.0.1:$port:3000" "$1" >/dev/null
    for _ in $(seq 150); do nr_in_ns curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
    echo "$port"
}

# the files the build added on top of its final stage's base node:20-slim
# (the layers after the base's, which must be the image's first ones) as
# "path" lines: the base itself has npm and .d.ts files, as Docker's has
files_of() {
    local base img
    base=$(jq -c '[.layers[].digest]' "$(blob "$(manifest_of node:20-slim)")")
    img=$(jq -c '[.layers[].digest]' "$(blob "$(manifest_of "$1")")")
    [ "$(jq -c --argjson b "$base" '.[:($b | length)]' <<<"$img")" = "$base" ] || {
        echo "$1 does not start with node:20-slim's layers" >&2
        return 1
    }
    for l in $(jq -r --argjson b "$base" '.[($b | length):][]' <<<"$img"); do
        tar tzf "$(blob "$l")"
    done | sed 's|^\./||' | sort -u
}

@test "examples/express: npm ci --omit=dev in the builder stage, a slim final stage, served over HTTP" {
    ctx=$(ctx_of express)
    run nb -t express:1 "$ctx"
    echo "$output" | tail -15
    [ "$status" -eq 0 ]
    port=$(serve express:1)
    run nr_in_ns curl -sf "http://127.0.0.1:$port/"
    [[ "$output" == "hello from express, pid "* ]]
    run nr_in_ns curl -sf "http://127.0.0.1:$port/health"
    [ "$(echo "$output" | jq -r .express)" = 4.21.2 ]
    "$NRUN" rm -f $("$NRUN" ps -q) >/dev/null
    # the final stage is node:20-slim plus the app: no npm of the builder's,
    # no lock file, no .npmrc
    files_of express:1 >"$W/express.files"
    grep -qx 'app/node_modules/express/package.json' "$W/express.files"
    grep -qx 'app/server.js' "$W/express.files"
    ! grep -q 'lib/node_modules/npm/' "$W/express.files" || false
    # (outside node_modules: some packages ship their own .npmrc)
    ! grep -v '^app/node_modules/' "$W/express.files" | grep -q 'package-lock.json$\|\.npmrc$' || false
    [ "$(cfg express:1 '.config.Cmd')" = '["node","server.js"]' ]
    [ "$(cfg express:1 '.config.User')" = '"node"' ]
    # the registry, its CA and the secret are nowhere in the image
    for l in $(jq -r '.layers[].digest' "$(blob "$(manifest_of express:1)")"); do
        ! tar xzOf "$(blob "$l")" 2>/dev/null | grep -qF "127.0.0.1:$(cat "$W/reg/port")" || false
    done
    ! grep -qF "127.0.0.1:" "$(blob "$(config_of express:1)")" || false
}

@test "examples/express: a rebuild is all CACHED; a changed server.js redoes only its COPY, not npm ci" {
    ctx=$W/express
    [ -d "$ctx" ] || ctx=$(ctx_of express)
    nb -q -t express:2 "$ctx" # built already when the first test ran
    run nb -t express:2 "$ctx"
    [ "$status" -eq 0 ]
    [ -z "$(echo "$output" | steps_run)" ]
    [[ "$output" == *"(0 layers built"* ]]
    echo "// changed" >>"$ctx/server.js"
    run nb -t express:3 "$ctx"
    echo "$output" | tail -15
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | steps_run | cut -d: -f1)" = "--> COPY package.json server.js ./" ]
    [ "$(manifest_of express:3)" != "$(manifest_of express:2)" ]
}

@test "examples/typescript: tsc in a build stage; the image has dist/ and production deps only" {
    ctx=$(ctx_of typescript)
    run nb -t ts:1 "$ctx"
    echo "$output" | tail -15
    [ "$status" -eq 0 ]
    files_of ts:1 >"$W/ts.files"
    grep -qx 'app/dist/server.js' "$W/ts.files"
    grep -qx 'app/node_modules/express/package.json' "$W/ts.files"
    # (outside node_modules: packages ship .d.ts files)
    ! grep -v '^app/node_modules/' "$W/ts.files" | grep -q '^app/src\|\.ts$' || false
    # (npm ci --omit=dev may leave the @types scope dir itself, empty)
    ! grep -q 'node_modules/typescript/\|node_modules/@types/.' "$W/ts.files" || false
    port=$(serve ts:1)
    run nr_in_ns curl -sf "http://127.0.0.1:$port/"
    [[ "$output" == "hello from typescript, pid "* ]]
    run nr_in_ns curl -sf "http://127.0.0.1:$port/health"
    [ "$(echo "$output" | jq -c .)" = '{"status":"ok","typescript":true}' ]
    "$NRUN" rm -f $("$NRUN" ps -q) >/dev/null
}

@test "examples/typescript: a type error in src fails the build at the tsc step, nothing tagged" {
    ctx=$(ctx_of typescript)
    echo 'const n: number = "not a number"; export default n;' >"$ctx/src/bad.ts"
    run nb -t ts:bad "$ctx"
    echo "$output" | tail -8
    [ "$status" -ne 0 ]
    line=$(grep -n '^RUN .*"tsc"' "$ctx/Dockerfile" | cut -d: -f1)
    [[ "$output" == *"Dockerfile:$line:1:"* ]]
    [[ "$output" == *"error TS2322"* ]]
    [ -z "$(manifest_of ts:bad)" ]
}
