#!/usr/bin/env bats
# Apps started through npm, yarn, pnpm, a shell, tini, dumb-init or Docker's
# docker-entrypoint.sh are still served as cluster workers (`nrun supervise`
# on the host resolves the command as a container's PID 1 does); anything
# else runs as one process, and the log and `nrun stats` say which and why.
# Also --balance sticky, with a socket.io app (HTTP long-polling).
load ../lib/common
load ../lib/supervisor
bats_require_minimum_version 1.5.0

APPS=$REPO/tests/apps

setup_file() {
    export APP=$BATS_FILE_TMPDIR/app BIN=$BATS_FILE_TMPDIR/bin
    mkdir -p "$APP" "$BIN"
    # prints what it was started with; ONCE=1: exits before listening (a script)
    cat >"$APP/server.js" <<'JS'
const info = {pid: process.pid, args: process.argv.slice(2), worker: require('cluster').isWorker,
  ev: process.env.npm_lifecycle_event, name: process.env.npm_package_name, version: process.env.npm_package_version,
  pkg: process.env.npm_package_json, init_cwd: process.env.INIT_CWD, port: process.env.PORT, mode: process.env.MODE,
  path0: (process.env.PATH || '').split(':')[0]};
if (process.env.ONCE) { console.log(JSON.stringify(info)); process.exit(0); }
require('http').createServer((q, s) => s.end(JSON.stringify(info) + '\n')).listen(Number(process.env.PORT));
JS
    cat >"$APP/package.json" <<'JSON'
{"name": "resolve-app", "version": "1.2.3",
 "scripts": {"start": "MODE=\"from start\" node server.js --flag",
             "serve": "cross-env MODE=serve exec node ./server.js",
             "chain": "npm run serve",
             "both": "echo building && node server.js",
             "piped": "node server.js | cat",
             "tool": "nodemon server.js",
             "hooked": "node server.js", "prehooked": "echo before"}}
JSON
    # Docker's node entrypoint, as its image has it (same lines, our comments)
    cat >"$BIN/docker-entrypoint.sh" <<'SH'
#!/bin/sh
set -e

# a first argument that is an option, no command or a plain file: run it with node
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi

exec "$@"
SH
    printf '#!/bin/sh\necho nodemon here\n' >"$BIN/nodemon"
    chmod +x "$BIN/nodemon"
    mkdir -p "$BATS_FILE_TMPDIR/custom"
    printf '#!/bin/sh\necho migrating\nexec "$@"\n' >"$BATS_FILE_TMPDIR/custom/docker-entrypoint.sh"
    chmod +x "$BIN/docker-entrypoint.sh" "$BATS_FILE_TMPDIR/custom/docker-entrypoint.sh"
}

teardown() { sv_cleanup; }

# run CMD under `nrun supervise` in the app dir with ONCE=1: $output is what
# the app printed, $mode the supervisor's "mode: ..." log line
once() {
    local d=$BATS_TEST_TMPDIR/once.$RANDOM opts=()
    if [ "$1" = --mode ]; then opts=("$1" "$2") && shift 2; fi
    run --separate-stderr env -C "$APP" ONCE=1 PATH="$BIN:$PATH" "$NRUN" supervise --workers 1 "${opts[@]}" \
        --log-dir "$d" --runtime-dir "$d/rt" -- "$@"
    mode=$(jq -r 'select(.stream == "supervisor") | .msg | select(startswith("mode: "))' "$d/container.log")
    echo "status=$status mode=$mode output=$output stderr=$stderr"
}

@test "npm start: node runs as a cluster worker with npm's environment and the script's assignments" {
    once npm start
    [ "$status" -eq 0 ]
    [ "$mode" = 'mode: cluster (npm start -> node server.js --flag)' ]
    [ "$(echo "$output" | jq -r .worker)" = true ]
    [ "$(echo "$output" | jq -c .args)" = '["--flag"]' ]
    [ "$(echo "$output" | jq -r .mode)" = "from start" ]
    [ "$(echo "$output" | jq -r .ev)" = start ]
    [ "$(echo "$output" | jq -r .name)" = resolve-app ]
    [ "$(echo "$output" | jq -r .version)" = 1.2.3 ]
    [ "$(echo "$output" | jq -r .pkg)" = "$APP/package.json" ]
    [ "$(echo "$output" | jq -r .init_cwd)" = "$APP" ]
    [ "$(echo "$output" | jq -r .path0)" = "$APP/node_modules/.bin" ]
    # arguments after -- go to the script
    once npm start -- --more x
    [ "$(echo "$output" | jq -c .args)" = '["--flag","--more","x"]' ]
}

@test "npm run / run-script, yarn, pnpm, cross-env, exec and nested npm scripts resolve to node" {
    once npm run serve
    [ "$mode" = 'mode: cluster (npm run serve -> node ./server.js)' ]
    [ "$(echo "$output" | jq -r .mode)" = serve ]
    [ "$(echo "$output" | jq -r .ev)" = serve ]
    once npm run-script chain
    [ "$mode" = 'mode: cluster (npm run-script chain -> npm run serve -> node ./server.js)' ]
    [ "$(echo "$output" | jq -r .worker)" = true ]
    # yarn and pnpm are resolved, not run: neither needs to be installed
    once yarn start
    [ "$mode" = 'mode: cluster (yarn start -> node server.js --flag)' ]
    once yarn serve
    [ "$mode" = 'mode: cluster (yarn serve -> node ./server.js)' ]
    once pnpm run serve
    [ "$(echo "$output" | jq -r .worker)" = true ]
    once pnpm start
    [ "$mode" = 'mode: cluster (pnpm start -> node server.js --flag)' ]
    # npm's default start script: `node server.js` when there is none and server.js exists
    local app2=$BATS_TEST_TMPDIR/app2
    mkdir -p "$app2" && cp "$APP/server.js" "$app2/" && echo '{"name":"no-scripts"}' >"$app2/package.json"
    APP=$app2 once npm start
    [ "$mode" = 'mode: cluster (npm start -> node server.js)' ]
    [ "$(echo "$output" | jq -r .name)" = no-scripts ]
    rm "$app2/server.js"
    APP=$app2 once npm start
    [[ "$mode" == 'mode: single ('*'/package.json has no start script and there is no server.js)' ]]
}

@test "npm workspaces: npm start -w NAME (by package name or path, -w/--workspace/--workspace=) runs the workspace's start script in its directory" {
    local mono=$BATS_TEST_TMPDIR/mono
    mkdir -p "$mono/packages/api" "$mono/packages/web" "$mono/tools"
    echo '{"name": "mono", "private": true, "workspaces": ["packages/*"], "scripts": {"start": "node root.js"}}' >"$mono/package.json"
    echo '{"name": "@mono/api", "version": "2.0.0", "scripts": {"start": "node server.js --api", "serve": "MODE=ws node server.js"}}' \
        >"$mono/packages/api/package.json"
    echo '{"name": "web", "scripts": {"start": "node server.js --web"}}' >"$mono/packages/web/package.json"
    cp "$APP/server.js" "$mono/packages/api/"
    cp "$APP/server.js" "$mono/packages/web/"
    APP=$mono once npm start -w @mono/api
    [ "$status" -eq 0 ]
    [ "$mode" = 'mode: cluster (npm start -w @mono/api -> node server.js --api)' ]
    [ "$(echo "$output" | jq -r .worker)" = true ]
    [ "$(echo "$output" | jq -c .args)" = '["--api"]' ]
    [ "$(echo "$output" | jq -r .name)" = @mono/api ]
    [ "$(echo "$output" | jq -r .version)" = 2.0.0 ]
    [ "$(echo "$output" | jq -r .pkg)" = "$mono/packages/api/package.json" ]
    [ "$(echo "$output" | jq -r .init_cwd)" = "$mono" ]
    [ "$(echo "$output" | jq -r .path0)" = "$mono/packages/api/node_modules/.bin" ]
    APP=$mono once npm start --workspace=web -- --more
    [ "$mode" = 'mode: cluster (npm start --workspace=web -- --more -> node server.js --web --more)' ]
    [ "$(echo "$output" | jq -c .args)" = '["--web","--more"]' ]
    APP=$mono once npm run start --workspace packages/web
    [ "$(echo "$output" | jq -r .name)" = web ]
    [ "$(echo "$output" | jq -r .worker)" = true ]
    APP=$mono once npm -w ./packages/api/ run serve
    [ "$(echo "$output" | jq -r .mode)" = ws ]
    [ "$(echo "$output" | jq -r .ev)" = serve ]
    # not a workspace, several, or all of them: one process, and why
    APP=$mono once npm start -w nope
    [[ "$mode" == "mode: single ($mono/package.json: no workspace \"nope\" inside the app)" ]]
    APP=$mono once npm start -w tools
    [[ "$mode" == "mode: single ($mono/package.json: no workspace \"tools\" inside the app)" ]]
    APP=$mono once npm start -w web -w @mono/api
    [ "$mode" = 'mode: single (npm with more than one workspace)' ]
    APP=$mono once npm start --workspaces
    [ "$mode" = 'mode: single (npm option --workspaces)' ]
}

@test "yarn 2+ Plug'n'Play: yarn start loads the project's .pnp.cjs (and ESM loader) through NODE_OPTIONS, as yarn does" {
    local p=$BATS_TEST_TMPDIR/pnp
    mkdir -p "$p/packages/api/src"
    echo '{"name":"mono","private":true,"workspaces":["packages/*"],"packageManager":"yarn@4.5.3"}' >"$p/package.json"
    echo '{"name":"@m/api","scripts":{"start":"node src/index.js"}}' >"$p/packages/api/package.json"
    # what yarn's .pnp.cjs does for the app: makes its packages resolvable
    echo 'global.PNP_READY = true;' >"$p/.pnp.cjs"
    echo 'export {};' >"$p/.pnp.loader.mjs"
    cat >"$p/packages/api/src/index.js" <<'JS'
console.log(JSON.stringify({pnp: global.PNP_READY === true, worker: require('cluster').isWorker,
  opts: process.env.NODE_OPTIONS}));
JS
    APP=$p/packages/api NODE_OPTIONS=--max-old-space-size=100 once yarn start
    [ "$status" -eq 0 ]
    [ "$mode" = 'mode: cluster (yarn start -> node src/index.js)' ]
    [ "$(echo "$output" | jq -r .pnp)" = true ]
    [ "$(echo "$output" | jq -r .worker)" = true ]
    [[ "$(echo "$output" | jq -r .opts)" == *"--require $p/.pnp.cjs --experimental-loader file://$p/.pnp.loader.mjs --max-old-space-size=100" ]]
    # npm does not: only yarn's runs set it up
    cp -r "$p/packages/api/src" "$p/packages/api/package.json" "$p/"
    APP=$p once npm start
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | jq -r .pnp)" = false ]
}

@test "shell form, tini, dumb-init and Docker's docker-entrypoint.sh resolve to node" {
    once /bin/sh -c 'node server.js a "b c"'
    [ "$mode" = 'mode: cluster (/bin/sh -c node server.js a "b c" -> node server.js a b c)' ]
    [ "$(echo "$output" | jq -c .args)" = '["a","b c"]' ]
    once /bin/sh -c 'PORT=1 exec node server.js'
    [ "$(echo "$output" | jq -r .worker)" = true ]
    [ "$(echo "$output" | jq -r .port)" = 1 ]
    once tini -- npm start
    [ "$mode" = 'mode: cluster (tini -- npm start -> npm start -> node server.js --flag)' ]
    once tini -s -- node server.js
    [ "$(echo "$output" | jq -r .worker)" = true ]
    once dumb-init node server.js
    [ "$(echo "$output" | jq -r .worker)" = true ]
    once dumb-init -- /bin/sh -c 'node server.js'
    [ "$(echo "$output" | jq -r .worker)" = true ]
    # docker-entrypoint.sh: a file or an option is run with node, a command is run as it is
    once docker-entrypoint.sh server.js x
    [ "$mode" = 'mode: cluster (docker-entrypoint.sh server.js x -> node server.js x)' ]
    once docker-entrypoint.sh npm start
    [ "$mode" = 'mode: cluster (docker-entrypoint.sh npm start -> npm start -> node server.js --flag)' ]
    once docker-entrypoint.sh --title=x server.js
    [ "$(echo "$output" | jq -r .worker)" = true ]
    # what each wrapper resolved to is what a real run of the wrapper runs
    run env -C "$APP" ONCE=1 sh "$BIN/docker-entrypoint.sh" server.js x
    [ "$(echo "$output" | jq -c .args)" = '["x"]' ]
}

@test "anything else runs as one process, and the log says why" {
    once npm run both
    [ "$status" -eq 0 ]
    [[ "$mode" == 'mode: single (the "both" script is not one simple command: it uses '"'&&'"')' ]]
    echo "$output" | grep -qx building
    echo "$output" | grep -q '"worker":false'
    once npm run piped
    [[ "$mode" == *"single"*"a pipe"* ]]
    once npm run tool
    [ "${lines[-1]}" = "nodemon here" ]
    [ "$mode" = 'mode: single (nodemon is not a node command)' ]
    once npm run hooked
    [[ "$mode" == 'mode: single ('*'has a "prehooked" script, which npm runs too)' ]]
    echo "$output" | grep -qx before
    once npm run nosuch
    [[ "$mode" == 'mode: single ('*'has no script "nosuch")' ]]
    once npm --prefix . start
    [ "$mode" = 'mode: single (npm option --prefix)' ]
    once /bin/sh -c 'echo $HOME; node server.js'
    [[ "$mode" == *"single (the shell command is not one simple command: it uses a '\$' expansion)" ]]
    # a plain command gets no line (nothing looked like node): `nrun stats`/inspect say it
    once sh -c 'true'
    [ "$status" -eq 0 ]
    [ -z "$mode" ]
    once node server.js
    [ -z "$mode" ]
    echo "$output" | grep -q '"worker":true'
    # a docker-entrypoint.sh of the app's own (migrations...) runs for real
    run --separate-stderr env -C "$APP" ONCE=1 PATH="$BATS_FILE_TMPDIR/custom:$PATH" "$NRUN" supervise \
        --log-dir "$BATS_TEST_TMPDIR/c" -- docker-entrypoint.sh node server.js
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = migrating ]
    grep -q "is not Docker's node entrypoint" "$BATS_TEST_TMPDIR/c/container.log"
    # --mode single is taken as said
    once --mode single npm start
    [ -z "$mode" ]
    echo "$output" | grep -q '"worker":false'
}

@test "stats show mode, reason and command; a published port is refused for a single process" {
    PORT=$(sv_free_port)
    cd "$APP"
    PORT=$PORT PATH="$BIN:$PATH" sv_start --workers 2 -- npm start
    sv_wait_http "$PORT"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    sv_stats | jq -e '.mode == "cluster" and .mode_reason == "npm start -> node server.js --flag"
        and .command == ["node", "server.js", "--flag"]'
    # more than one worker answers
    [ "$(for i in $(seq 1 10); do curl -sf "http://127.0.0.1:$PORT/" | jq .pid; done | sort -u | wc -l)" -eq 2 ]
    sv_stop
    [ "$SV_RC" = 0 ]
    # -p with a command that runs as one process: refused, never a port nobody serves
    run -125 "$NRUN" supervise -p "127.0.0.1:$PORT" -- npm run both
    [[ "$output" == *"a published port needs the app to run as node cluster workers"*'uses '"'&&'"* ]]
    ! ss -Htln "sport = :$PORT" | grep -q . || false
}

# socket.io's long-polling handshake from source address $2 (127.0.0.x) to
# port $1: handshake, join (POST "40"), poll the reply.  Prints ok or the error.
sio_session() {
    local u="http://127.0.0.1:$1/socket.io/?EIO=4&transport=polling" h sid r
    h=$(curl -sf --interface "$2" --max-time 5 "$u") || { echo "handshake failed"; return; }
    sid=$(echo "${h#0}" | jq -r .sid)
    r=$(curl -s --interface "$2" --max-time 5 -X POST -H 'Content-Type: text/plain;charset=UTF-8' --data 40 "$u&sid=$sid")
    [ "$r" = ok ] || { echo "join: $r"; return; }
    r=$(curl -s --interface "$2" --max-time 5 "$u&sid=$sid")
    [[ "$r" == 40* ]] || { echo "poll: $r"; return; }
    echo ok
}

@test "socket.io long-polling: fails under round-robin with 2 workers, works with --balance sticky" {
    [ -d "$APPS/node_modules/socket.io" ] || skip "tests/apps/node_modules/socket.io missing: run make deps"
    PORT=$(sv_free_port)
    PORT=$PORT sv_start --workers 2 --balance rr -- node "$APPS/socketio.js"
    sv_wait "curl -sf http://127.0.0.1:$PORT/pid"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    fails=0
    for i in 1 2 3 4; do
        r=$(sio_session "$PORT" 127.0.0.1)
        echo "rr: $r"
        [ "$r" = ok ] || fails=$((fails + 1))
    done
    [ "$fails" -gt 0 ]
    sv_stop

    PORT=$PORT sv_start --workers 2 --balance sticky -- node "$APPS/socketio.js"
    sv_wait "curl -sf http://127.0.0.1:$PORT/pid"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    for i in $(seq 1 12); do
        r=$(sio_session "$PORT" "127.0.0.$i")
        echo "sticky 127.0.0.$i: $r"
        [ "$r" = ok ]
    done
    # different clients are spread over both workers, each always to the same one
    for i in $(seq 1 12); do
        echo "$i $(curl -sf --interface "127.0.0.$i" "http://127.0.0.1:$PORT/pid") $(curl -sf --interface "127.0.0.$i" "http://127.0.0.1:$PORT/pid")"
    done >"$BATS_TEST_TMPDIR/map"
    cat "$BATS_TEST_TMPDIR/map"
    awk '$2 != $3 { exit 1 }' "$BATS_TEST_TMPDIR/map"
    [ "$(awk '{print $2}' "$BATS_TEST_TMPDIR/map" | sort -u | wc -l)" -eq 2 ]
    sv_stop
    [ "$SV_RC" = 0 ]
}

@test "sticky: when a worker restarts only its clients move, and they come back to its replacement" {
    PORT=$(sv_free_port)
    PORT=$PORT sv_start --workers 2 --balance sticky -- node "$APPS/hello.js"
    sv_wait_http "$PORT"
    sv_wait '[ "$(sv_up_count)" = 2 ]'
    map() { for i in $(seq 1 16); do echo "$i $(curl -sf --interface "127.0.0.$i" "http://127.0.0.1:$PORT/" | awk '{print $3}')"; done; }
    map >"$BATS_TEST_TMPDIR/before"
    victim=$(sv_stats | jq '.workers[] | select(.worker == 1) | .pid')
    other=$(sv_stats | jq '.workers[] | select(.worker == 2) | .pid')
    grep -q " $victim\$" "$BATS_TEST_TMPDIR/before"
    grep -q " $other\$" "$BATS_TEST_TMPDIR/before"
    kill -KILL "$victim"
    sv_wait "sv_stats | jq -e '[.workers[] | select(.state == \"up\" and .pid != $victim)] | length == 2'"
    new=$(sv_stats | jq '.workers[] | select(.worker == 1) | .pid')
    map >"$BATS_TEST_TMPDIR/after"
    paste "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
    # the other worker's clients stayed; the victim's went to its replacement
    paste "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after" |
        awk -v o="$other" -v v="$victim" -v n="$new" '($2 == o && $4 != o) || ($2 == v && $4 != n) { exit 1 }'
    sv_stop
}
