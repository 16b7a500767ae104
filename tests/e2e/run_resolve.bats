#!/usr/bin/env bats
# Images that start their app the ways public Node images do -- CMD ["npm",
# "start"], a shell-form CMD, yarn, a tini entrypoint, Docker's
# docker-entrypoint.sh -- are served as cluster workers behind -p: the
# container's PID 1 resolves the command inside the container's root.  What
# does not end in a plain `node` command runs as one process, with the reason
# in `nrun inspect` and `nrun logs`, and a published port is refused for it.
# (The images build on node:20-slim: Debian slim with sh, npm and yarn, and
# ENTRYPOINT ["docker-entrypoint.sh"] as Docker's node image, so each
# resolution starts there.  `yarn start` is resolved from package.json
# without running yarn.)
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() {
    nr_make_root
    export CTX=$BATS_FILE_TMPDIR/ctx
    mkdir -p "$CTX"
    cat >"$CTX/server.js" <<'JS'
require('http').createServer((q, s) => s.end(JSON.stringify({pid: process.pid,
  ev: process.env.npm_lifecycle_event || null, args: process.argv.slice(2)}) + '\n')).listen(3000);
JS
    cat >"$CTX/package.json" <<'JSON'
{"name": "ctr-app", "version": "2.0.0",
 "scripts": {"start": "node server.js", "both": "echo building && node server.js"}}
JSON
    # Docker's node entrypoint (the same lines as in its image; comments ours)
    cat >"$CTX/docker-entrypoint.sh" <<'SH'
#!/bin/sh
set -e
# node "$@" for an option, something that is no command, or a plain file
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
SH
    chmod +x "$CTX/docker-entrypoint.sh"
    # tini from Debian's package (tests/lib/deps.sh installs it)
    cp /usr/bin/tini-static "$CTX/tini"
    build() { # tag, Nodefile lines after the common part
        printf 'FROM node:20-slim\nWORKDIR /app\nCOPY server.js package.json ./\n%s\n' "$2" >"$CTX/Nodefile.$1"
        "$NBUILD" -q -f "$CTX/Nodefile.$1" -t "$1:1" "$CTX" >/dev/null
    }
    build npm 'CMD ["npm", "start"]'
    build shell 'CMD node server.js'
    build yarn 'CMD ["yarn", "start"]'
    build tini 'COPY tini /usr/bin/tini
ENTRYPOINT ["tini", "--"]
CMD ["npm", "start"]'
    # socket.io (from tests/apps, installed by tests/lib/deps.sh) started by npm start
    if [ -d "$REPO/tests/apps/node_modules/socket.io" ]; then
        local sio=$BATS_FILE_TMPDIR/sio m
        mkdir -p "$sio/node_modules/@types" "$sio/node_modules/@socket.io"
        for m in $(node -e 'const l = require(process.argv[1]), seen = new Set();
            (function walk(n) { const p = "node_modules/" + n; if (seen.has(p) || !l.packages[p]) return; seen.add(p);
              Object.keys(l.packages[p].dependencies || {}).forEach(walk); })("socket.io");
            console.log([...seen].join(" "))' "$REPO/tests/apps/package-lock.json"); do
            cp -a "$REPO/tests/apps/$m" "$sio/$m"
        done
        cp "$REPO/tests/apps/socketio.js" "$sio/"
        printf '{"name":"sio","version":"1.0.0","scripts":{"start":"PORT=3000 node socketio.js"}}\n' >"$sio/package.json"
        printf 'FROM node:20-slim\nWORKDIR /app\nCOPY . .\nCMD ["npm", "start"]\n' >"$sio/Nodefile"
        "$NBUILD" -q -t sio:1 "$sio" >/dev/null
    fi
    build ep 'COPY docker-entrypoint.sh /usr/local/bin/
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["server.js"]'
}

teardown_file() {
    rt_rm_all
    ip netns del "${NR_NETNS}o" 2>/dev/null || true # the socket.io test's clients, if it failed
    rt_assert_clean
    nr_remove_root
}

# run IMAGE [CMD] with 2 workers behind -p, check it is a cluster of 2 whose
# HTTP answers come from both, and that inspect names the resolution $2
served_as_cluster() {
    local img=$1 want=$2 port id i
    shift 2
    port=$(rt_free_port)
    id=$(rt_run -d --workers 2 -p "127.0.0.1:$port:3000" "$img" "$@")
    for i in $(seq 100); do nr_in_ns curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
    for i in $(seq 50); do
        [ "$("$NRUN" stats --json "$id" | jq '[.workers[] | select(.state == "up")] | length')" = 2 ] && break
        sleep 0.1
    done
    "$NRUN" inspect "$id" | jq -c '.[0].Supervisor'
    "$NRUN" inspect "$id" | jq -e --arg r "$want" '.[0].Supervisor | .Mode == "cluster" and .ModeReason == $r and .Workers == 2'
    [ "$("$NRUN" stats --json "$id" | jq '[.workers[] | select(.state == "up")] | length')" = 2 ]
    for i in $(seq 1 10); do nr_in_ns curl -sf "http://127.0.0.1:$port/"; done >"$BATS_TEST_TMPDIR/answers"
    cat "$BATS_TEST_TMPDIR/answers"
    [ "$(jq .pid "$BATS_TEST_TMPDIR/answers" | sort -u | wc -l)" -eq 2 ]
    "$NRUN" logs "$id" 2>&1 | grep -qxF "mode: cluster ($want)"
    "$NRUN" rm -f "$id" >/dev/null
}

@test "CMD [\"npm\", \"start\"]: cluster workers with npm's environment" {
    served_as_cluster npm:1 "docker-entrypoint.sh npm start -> npm start -> node server.js"
    grep -q '"ev":"start"' "$BATS_TEST_TMPDIR/answers"
}

@test "shell-form CMD node server.js: cluster workers" {
    served_as_cluster shell:1 "docker-entrypoint.sh /bin/sh -c node server.js -> /bin/sh -c node server.js -> node server.js"
}

@test "CMD [\"yarn\", \"start\"]: cluster workers (resolved from package.json, yarn is not run)" {
    served_as_cluster yarn:1 "docker-entrypoint.sh yarn start -> yarn start -> node server.js"
}

@test "ENTRYPOINT [\"tini\", \"--\"] + npm start: cluster workers; tini runs for real when the command is not node" {
    served_as_cluster tini:1 "tini -- npm start -> npm start -> node server.js"
    id=$(rt_run -d tini:1 sh -c 'echo started; sleep 30')
    for i in $(seq 50); do "$NRUN" logs "$id" 2>/dev/null | grep -q started && break; sleep 0.1; done
    "$NRUN" inspect "$id" | jq -e '.[0].Supervisor | .Mode == "single" and (.ModeReason | test("uses .;."))
        and .Command[0] == "tini"'
    "$NRUN" rm -f "$id" >/dev/null
}

@test "ENTRYPOINT [\"docker-entrypoint.sh\"]: a file argument runs with node, a command as it is" {
    served_as_cluster ep:1 "docker-entrypoint.sh server.js -> node server.js"
    served_as_cluster ep:1 "docker-entrypoint.sh npm start -> npm start -> node server.js" npm start
}

@test "fallbacks run as one process with the reason shown, and -p reaches them too (a port is published into the container, for any process)" {
    id=$(rt_run -d npm:1 npm run both)
    for i in $(seq 100); do "$NRUN" logs "$id" 2>/dev/null | grep -q building && break; sleep 0.1; done
    "$NRUN" logs "$id" 2>&1 | grep -qxF "mode: single (the \"both\" script is not one simple command: it uses '&&')"
    "$NRUN" inspect "$id" | jq -e '.[0].Supervisor | .Mode == "single" and .Command == ["docker-entrypoint.sh", "npm", "run", "both"]'
    "$NRUN" rm -f "$id" >/dev/null
    id=$(rt_run -d npm:1 sleep 30)
    "$NRUN" inspect "$id" | jq -e '.[0].Supervisor | .Mode == "single" and .ModeReason == "sleep is not a node command"'
    "$NRUN" rm -f "$id" >/dev/null
    port=$(rt_free_port)
    id=$(rt_run -d -p "127.0.0.1:$port:3000" npm:1 npm run both)
    for i in $(seq 100); do out=$(nr_in_ns curl -sf --max-time 2 "http://127.0.0.1:$port/") && break; sleep 0.1; done
    [ "$(jq -r .ev <<<"$out")" = both ]
    "$NRUN" inspect "$id" | jq -e '.[0].Supervisor.Mode == "single" and .[0].State.Status == "running"'
    "$NRUN" rm -f "$id" >/dev/null
}

# socket.io's long-polling handshake from source address $2 to port $1: ok or what failed
# (from the "outside" namespace $OUT, whose client addresses reach the app:
# a client on the host's 127.0.0.1 is SNATed to the bridge address)
sio_session() {
    local u="http://192.168.233.1:$1/socket.io/?EIO=4&transport=polling" h sid r
    h=$(ip netns exec "$OUT" curl -sf --interface "$2" --max-time 5 "$u") || { echo "handshake failed"; return; }
    sid=$(echo "${h#0}" | jq -r .sid)
    r=$(ip netns exec "$OUT" curl -s --interface "$2" --max-time 5 -X POST -H 'Content-Type: text/plain;charset=UTF-8' --data 40 "$u&sid=$sid")
    [ "$r" = ok ] || { echo "join: $r"; return; }
    r=$(ip netns exec "$OUT" curl -s --interface "$2" --max-time 5 "$u&sid=$sid")
    [[ "$r" == 40* ]] || { echo "poll: $r"; return; }
    echo ok
}

@test "socket.io app (npm start) behind -p: long-polling fails under rr with 2 workers, works with --balance sticky" {
    "$NRUN" image inspect sio:1 >/dev/null 2>&1 || skip "tests/apps/node_modules/socket.io missing: run make deps"
    # clients outside: a namespace linked to the file's, with ten addresses
    OUT=${NR_NETNS}o
    ip netns add "$OUT"
    nr_in_ns ip link add nrso0 type veth peer name nrsi0 netns "$OUT"
    nr_in_ns ip addr add 192.168.233.1/24 dev nrso0
    nr_in_ns ip link set nrso0 up
    for i in $(seq 2 11); do ip -n "$OUT" addr add "192.168.233.$i/24" dev nrsi0; done
    ip -n "$OUT" link set nrsi0 up
    ip -n "$OUT" link set lo up
    port=$(rt_free_port)
    id=$(rt_run -d --workers 2 --balance rr -p "$port:3000" sio:1)
    for i in $(seq 100); do ip netns exec "$OUT" curl -sf "http://192.168.233.1:$port/pid" >/dev/null && break; sleep 0.1; done
    for i in $(seq 50); do [ "$("$NRUN" stats --json "$id" | jq '[.workers[] | select(.state == "up")] | length')" = 2 ] && break; sleep 0.1; done
    fails=0
    for i in 1 2 3 4; do
        r=$(sio_session "$port" 192.168.233.2)
        echo "rr: $r"
        [ "$r" = ok ] || fails=$((fails + 1))
    done
    [ "$fails" -gt 0 ]
    "$NRUN" rm -f "$id" >/dev/null
    id=$(rt_run -d --workers 2 --balance sticky -p "$port:3000" sio:1)
    for i in $(seq 100); do ip netns exec "$OUT" curl -sf "http://192.168.233.1:$port/pid" >/dev/null && break; sleep 0.1; done
    for i in $(seq 50); do [ "$("$NRUN" stats --json "$id" | jq '[.workers[] | select(.state == "up")] | length')" = 2 ] && break; sleep 0.1; done
    "$NRUN" inspect "$id" | jq -e '.[0].Supervisor.Mode == "cluster" and .[0].Spec.annotations["org.nrun.balance"] == "sticky"'
    for i in $(seq 2 11); do
        r=$(sio_session "$port" "192.168.233.$i")
        echo "sticky 192.168.233.$i: $r"
        [ "$r" = ok ]
    done
    # the clients are spread over both workers
    [ "$(for i in $(seq 2 11); do ip netns exec "$OUT" curl -sf --interface "192.168.233.$i" "http://192.168.233.1:$port/pid"; done | sort -u | wc -l)" -eq 2 ]
    "$NRUN" rm -f "$id" >/dev/null
    ip netns del "$OUT"
    nr_in_ns ip link del nrso0 2>/dev/null || true
}
