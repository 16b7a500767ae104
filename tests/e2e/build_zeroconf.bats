#!/usr/bin/env bats
# Zero-config builds (issue 12 item 4): a directory with package.json and no
# Nodefile or Dockerfile is built by the recipe `nbuild --print-nodefile`
# prints -- the node major from engines.node, npm ci in a cached deps stage,
# the build script, dev dependencies pruned, a -slim final stage run as the
# user node with NODE_ENV=production and CMD ["npm", "start"].  The app has no
# registry dependencies and RUN steps get --network none: nothing online.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() {
    nr_make_root
    export APP=$BATS_FILE_TMPDIR/app
    mkdir -p "$APP"
    cat >"$APP/package.json" <<'JSON'
{"name": "zc-app", "version": "1.0.0", "engines": {"node": ">=18 <21"},
 "scripts": {"build": "node -e \"require('fs').writeFileSync('built.txt', 'built-by-script')\"",
             "start": "node server.js"}}
JSON
    cat >"$APP/server.js" <<'JS'
const fs = require('fs');
require('http').createServer((q, s) => s.end(JSON.stringify({pid: process.pid, env: process.env.NODE_ENV,
  uid: process.getuid(), node: process.versions.node, built: fs.readFileSync('built.txt', 'utf8')}) + '\n')).listen(3000);
JS
    printf '{"name":"zc-app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"zc-app","version":"1.0.0","engines":{"node":">=18 <21"}}}}\n' >"$APP/package-lock.json"
    printf 'audit=false\nfund=false\n' >"$APP/.npmrc"
}

teardown_file() { rt_file_teardown; }

@test "--print-nodefile: the recipe, node major from engines.node, CMD from scripts.start" {
    run "$NBUILD" --print-nodefile "$APP"
    [ "$status" -eq 0 ]
    echo "$output"
    [[ "$output" == *$'FROM node:20 AS deps\nWORKDIR /app\nCOPY ["package.json", "package-lock.json", ".npmrc", "./"]\nRUN --mount=type=cache,target=/root/.npm mkdir -p node_modules && npm ci\n'* ]]
    [[ "$output" == *$'RUN npm run build\nRUN npm prune --omit=dev\n'* ]]
    [[ "$output" == *$'FROM node:20-slim\nENV NODE_ENV=production\n'* ]]
    [[ "$output" == *$'USER node\n'* ]]
    [[ "$output" == *'CMD ["npm", "start"]' ]]
    [[ "$output" != *EXPOSE\ * ]]
    # ranges as npm reads them: the newest pinned major that satisfies
    local d=$BATS_TEST_TMPDIR/r r
    mkdir -p "$d"
    for r in '^20:20' '20.x:20' '18 || 20:20' '>=18 <21:20' '18 - 20:20' '^18.1:18'; do
        printf '{"engines":{"node":"%s"}}' "${r%:*}" >"$d/package.json"
        run "$NBUILD" --print-nodefile "$d"
        [ "$status" -eq 0 ]
        grep -qx "FROM node:${r##*:}-slim" <<<"$output"
        grep -qxF 'CMD ["node", "./index.js"]' <<<"$output"
        grep -qxF 'RUN --mount=type=cache,target=/root/.npm mkdir -p node_modules && npm install' <<<"$output"
    done
    # no engines: the current LTS of the pins; >=18: the newest pinned major
    lts=$(sed -n 's/^NODE_LTS=//p' "$REPO/images/node/versions.txt")
    newest=$(sed -n 's/^NODE_MAJORS=//p' "$REPO/images/node/versions.txt" | tr ' ' '\n' | sort -n | tail -n1)
    printf '{"main": "lib/app.js"}' >"$d/package.json"
    touch "$d/yarn.lock"
    run "$NBUILD" --print-nodefile "$d"
    grep -qx "FROM node:$lts-slim" <<<"$output"
    grep -qxF 'CMD ["node", "./lib/app.js"]' <<<"$output"
    grep -q 'yarn install --frozen-lockfile$' <<<"$output"
    printf '{"engines":{"node":">=18"}}' >"$d/package.json"
    run "$NBUILD" --print-nodefile "$d"
    grep -qx "FROM node:$newest-slim" <<<"$output"
    # yarn classic on a major whose image ships no yarn: installed in the stages that run it
    yv=$(sed -n 's/^YARN_VERSION=//p' "$REPO/images/node/versions.txt")
    [ "$newest" -ge "$(sed -n 's/^NO_YARN_FROM=//p' "$REPO/images/node/versions.txt")" ]
    [ "$(grep -cxF "RUN npm install -g yarn@$yv" <<<"$output")" = 2 ]
    grep -A1 -x "FROM node:$newest AS deps" <<<"$output" | grep -qxF "RUN npm install -g yarn@$yv"
    grep -A1 -x "FROM node:$newest AS build" <<<"$output" | grep -qxF "RUN npm install -g yarn@$yv"
    printf '{}' >"$d/package.json"
    run "$NBUILD" --print-nodefile "$d"
    [[ "$output" != *"npm install -g yarn"* ]]
    # pnpm (through corepack) on a major whose image has no corepack: corepack installed first
    cv=$(sed -n 's/^COREPACK_VERSION=//p' "$REPO/images/node/versions.txt")
    rm "$d/yarn.lock" && touch "$d/pnpm-lock.yaml"
    [ "$newest" -ge "$(sed -n 's/^NO_COREPACK_FROM=//p' "$REPO/images/node/versions.txt")" ]
    printf '{"engines":{"node":">=%s"}}' "$newest" >"$d/package.json"
    run "$NBUILD" --print-nodefile "$d"
    grep -A1 -x "FROM node:$newest AS deps" <<<"$output" | grep -qxF "RUN npm install -g corepack@$cv"
    grep -A1 -x "FROM node:$newest AS build" <<<"$output" | grep -qxF "RUN npm install -g corepack@$cv"
    grep -q 'corepack enable pnpm && pnpm install --frozen-lockfile$' <<<"$output"
    printf '{}' >"$d/package.json"
    run "$NBUILD" --print-nodefile "$d"
    [[ "$output" != *"npm install -g corepack"* ]]
}

@test "a bad package.json is one line naming the file, and nothing is built" {
    local d=$BATS_TEST_TMPDIR/bad
    mkdir -p "$d"
    "$NRUN" images >/dev/null # the store exists
    snap() { find "$NRUN_ROOT" -path "$NRUN_ROOT/cache" -prune -o -print | sort | md5sum; }
    before=$(snap)
    printf '{"name": "x",\n "engines": {"node": }}' >"$d/package.json"
    run "$NBUILD" -t bad:1 "$d"
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "nbuild: $d/package.json:2:"*": "* ]]
    printf '{"engines": {"node": "<4"}}' >"$d/package.json"
    run "$NBUILD" --print-nodefile "$d"
    [ "$status" -ne 0 ]
    [ "$output" = "nbuild: $d/package.json: engines.node \"<4\": no node major nbuild pins satisfies it (see nbuild --list-bases)" ]
    printf '{"main": "x\\n\\nRUN touch /pwned"}' >"$d/package.json"
    run "$NBUILD" -t bad:1 "$d"
    [ "$status" -ne 0 ]
    [ "$output" = "nbuild: $d/package.json: \"main\" has a control character" ]
    mkfifo "$d/fifo" && rm "$d/package.json" && ln -s fifo "$d/package.json"
    run timeout 10 "$NBUILD" --print-nodefile "$d"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    rm "$d/package.json"
    run "$NBUILD" -t bad:1 "$d"
    [ "$status" -ne 0 ]
    [ "$output" = "nbuild: no Nodefile, Dockerfile or package.json in $d (use -f FILE)" ]
    [ "$(snap)" = "$before" ]
}

@test "nbuild DIR builds the printed recipe; the image serves as cluster workers behind -p" {
    [ "$(id -u)" = 0 ] || skip "needs root (RUN steps, containers)"
    "$NBUILD" --print-nodefile "$APP" >"$BATS_TEST_TMPDIR/recipe"
    run "$NBUILD" --network none -t zc:1 "$APP"
    echo "$output"
    [ "$status" -eq 0 ]
    grep -qF "ZERO-CONFIG $APP/package.json (zero-config recipe)" <<<"$output"
    # the same text, given as a Dockerfile, gives the same image (one code path)
    want=$(tail -n1 <<<"$output")
    run "$NBUILD" -q --network none -f "$BATS_TEST_TMPDIR/recipe" -t zc:2 "$APP"
    [ "$status" -eq 0 ]
    [ "$output" = "$want" ]
    "$NRUN" inspect zc:1 | jq -e '.[0].Config | .User == "node" and (.Env | index("NODE_ENV=production"))
        and .Cmd == ["npm", "start"] and .WorkingDir == "/app" and (.ExposedPorts == null)'
    port=$(rt_free_port)
    id=$(rt_run -d --workers 2 -p "127.0.0.1:$port:3000" zc:1)
    for i in $(seq 150); do nr_in_ns curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
    for i in $(seq 50); do
        [ "$("$NRUN" stats --json "$id" | jq '[.workers[] | select(.state == "up")] | length')" = 2 ] && break
        sleep 0.1
    done
    "$NRUN" inspect "$id" | jq -e '.[0].Supervisor | .Mode == "cluster" and .Workers == 2'
    for i in $(seq 1 10); do nr_in_ns curl -sf "http://127.0.0.1:$port/"; done >"$BATS_TEST_TMPDIR/answers"
    cat "$BATS_TEST_TMPDIR/answers"
    [ "$(jq .pid "$BATS_TEST_TMPDIR/answers" | sort -u | wc -l)" -eq 2 ]
    jq -e -s 'all(.env == "production" and .uid == 1000 and .built == "built-by-script" and (.node | startswith("20.")))' \
        "$BATS_TEST_TMPDIR/answers"
    "$NRUN" rm -f "$id" >/dev/null
}
