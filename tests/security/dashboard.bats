#!/usr/bin/env bats
# Probes of `nrun dashboard` (issue 15 item 9): off loopback nothing without
# its token; no state change from a foreign page (token header, Origin, Host:
# CSRF and DNS rebinding); a container's log line is text in the page, never
# markup; huge and slow requests do not hold other clients up.
load ../lib/common
load ../lib/runtime
load ../lib/dashboard
bats_require_minimum_version 1.5.0

setup_file() {
    nr_make_root
    rt_node_image
    # a hostile container: markup in its log lines
    rt_run -d --name evil --network none nd:1 node -e \
        'console.log("<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">"); setInterval(() => {}, 1000)' >/dev/null
    for _ in $(seq 100); do grep -q '<script>' "$NRUN_ROOT"/containers/*/logs/container.log 2>/dev/null && break; sleep 0.1; done
}

teardown_file() {
    dash_stop
    rt_rm_all
    rt_assert_clean
    nr_remove_root
}

teardown() { dash_stop; }

code() { curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$@"; }

@test "dashboard off loopback: 401 without the token; ?token= once gives an HttpOnly SameSite=Strict cookie" {
    # a non-loopback address, in this file's network namespace (not the host's)
    ip -n "$NR_NETNS" addr add 10.253.0.1/32 dev lo
    DASH_WRAP="nsenter --net=/run/netns/$NR_NETNS" dash_start --listen 10.253.0.1:8088
    u=http://10.253.0.1:8088
    [ "$(nr_in_ns curl -s -o /dev/null -w '%{http_code}' "$u/api/containers")" = 401 ]
    [ "$(nr_in_ns curl -s -o /dev/null -w '%{http_code}' "$u/")" = 401 ]
    [ "$(nr_in_ns curl -s -o /dev/null -w '%{http_code}' "$u/api/session")" = 401 ]
    [ "$(nr_in_ns curl -s -o /dev/null -w '%{http_code}' "$u/?token=0123456789abcdef0123456789abcdef")" = 401 ]
    [ "$(nr_in_ns curl -s -o /dev/null -w '%{http_code}' -H 'Cookie: nrun_token=x' "$u/api/containers")" = 401 ]
    head=$(nr_in_ns curl -s -D - -o /dev/null "$u/?token=$DASH_TOKEN")
    grep -q '^HTTP/1.1 302' <<<"$head"
    grep -qi "^set-cookie: nrun_token=$DASH_TOKEN; Path=/; HttpOnly; SameSite=Strict" <<<"$head"
    grep -qi '^location: /' <<<"$head"
    nr_in_ns curl -sf -H "Cookie: nrun_token=$DASH_TOKEN" "$u/api/containers" | jq -e '.[] | select(.Name == "evil")'
    # the cookie alone does not make a POST (a browser sends it from any page)
    [ "$(nr_in_ns curl -s -o /dev/null -w '%{http_code}' -H "Cookie: nrun_token=$DASH_TOKEN" -d '{}' "$u/api/containers/evil/stop")" = 403 ]
    [ "$("$NRUN" inspect evil | jq -r '.[0].State.Status')" = running ]
    dash_stop
    ip -n "$NR_NETNS" addr del 10.253.0.1/32 dev lo
}

@test "dashboard on loopback: a POST needs the token header and our Origin; a foreign Host is refused" {
    dash_start --listen "127.0.0.1:$(dash_port)"
    u=http://$DASH_ADDR
    lvl() { "$NRUN" inspect evil | jq -r '.[0].Supervisor.LogLevel'; }
    before=$(lvl)
    body='{"level":"error"}'
    # a form post from any page: the browser's cookie, no token header
    [ "$(code -H "Cookie: nrun_token=$DASH_TOKEN" -d "$body" "$u/api/containers/evil/loglevel")" = 403 ]
    [ "$(code -H "Cookie: nrun_token=$DASH_TOKEN" -H 'X-Nrun-Token: nope' -d "$body" "$u/api/containers/evil/loglevel")" = 403 ]
    # and no cookie at all: the token is needed on loopback too (rt7)
    [ "$(code -d "$body" "$u/api/containers/evil/loglevel")" = 401 ]
    [ "$(code -H "X-Nrun-Token: $DASH_TOKEN" -H 'Origin: http://evil.example' -d "$body" "$u/api/containers/evil/loglevel")" = 403 ]
    # DNS rebinding: evil.example resolving to 127.0.0.1 sends its own Host
    [ "$(code -H "Host: evil.example:${DASH_ADDR##*:}" "$u/api/containers")" = 403 ]
    [ "$(code -H "Host: evil.example:${DASH_ADDR##*:}" "$u/api/session")" = 403 ]
    [ "$(code -H "Host: evil.example" -H "X-Nrun-Token: $DASH_TOKEN" -d "$body" "$u/api/containers/evil/loglevel")" = 403 ]
    [ "$(lvl)" = "$before" ]
    [ "$("$NRUN" inspect evil | jq -r '.[0].State.Status')" = running ]
    # the same request from the page itself goes through
    [ "$(code -H "X-Nrun-Token: $DASH_TOKEN" -H "Origin: $u" -d "$body" "$u/api/containers/evil/loglevel")" = 200 ]
    [ "$(lvl)" = error ]
}

@test "dashboard: a container's <script> log line is JSON text in the API and text in the page" {
    dash_start --listen "127.0.0.1:$(dash_port)"
    u=http://$DASH_ADDR
    curl -H "X-Nrun-Token: $DASH_TOKEN" -sf "$u/api/containers/evil/logs" | jq -e '[.[] | select(.msg | contains("<script>window.pwned=1</script>"))] | length == 1'
    curl -H "X-Nrun-Token: $DASH_TOKEN" -sfi "$u/api/containers/evil/logs" | grep -qi '^content-type: application/json'
    curl -H "X-Nrun-Token: $DASH_TOKEN" -sfi "$u/api/containers/evil/logs" | grep -qi '^x-content-type-options: nosniff'
    # no markup path in the page's code
    ! curl -H "X-Nrun-Token: $DASH_TOKEN" -sf "$u/app.js" | grep -qE 'innerHTML|outerHTML|insertAdjacentHTML|document\.write' || false
    dash_need_browser
    shot=$BATS_FILE_TMPDIR/dashboard-xss.png
    out=$(dash_browser xss "$u/?token=$DASH_TOKEN" evil "$shot")
    echo "$out"
    cp "$shot" "$(dash_artifacts)/security_dashboard_xss.png"
    jq -e '.logs | contains("<script>window.pwned=1</script>")' <<<"$out"
    [ "$(jq .pwned <<<"$out")" = null ]
    [ "$(jq .scripts <<<"$out")" = 0 ]
}

@test "dashboard: huge and slow requests are refused or dropped; other clients are answered meanwhile" {
    dash_start --listen "127.0.0.1:$(dash_port)"
    host=${DASH_ADDR%:*} port=${DASH_ADDR##*:}
    # slow clients: half a request head each, held open
    python3 - "$host" "$port" "$BATS_FILE_TMPDIR/slow.pid" <<'PY' &
import socket, sys, time, os
open(sys.argv[3], "w").write(str(os.getpid()))
socks = []
for _ in range(8):
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
    s.sendall(b"GET /api/containers HTTP/1.1\r\nHost: x")
    socks.append(s)
time.sleep(60)
PY
    slow=$!
    for _ in $(seq 50); do [ -s "$BATS_FILE_TMPDIR/slow.pid" ] && break; sleep 0.1; done
    # a head larger than the bound: 431, not a hang or a crash
    big=$(head -c 20000 /dev/zero | tr '\0' a)
    [ "$(code -H "X-Big: $big" "http://$DASH_ADDR/api/containers")" = 431 ]
    # a body larger than the bound: 413
    [ "$(code -H "X-Nrun-Token: $DASH_TOKEN" -H 'Content-Length: 10000000' -d '{}' "http://$DASH_ADDR/api/containers/evil/scale")" = 413 ]
    # an endless head without its blank line is cut at the bound
    run python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
try:
    for _ in range(200):
        s.sendall(b"X-A: " + b"b" * 1000 + b"\r\n")
except OSError:
    pass
print(s.recv(100).split(b"\r\n")[0].decode())' "$host" "$port"
    [[ $output == *"431"* ]]
    # meanwhile, a normal client is answered
    curl -H "X-Nrun-Token: $DASH_TOKEN" -sf --max-time 10 "http://$DASH_ADDR/api/containers" | jq -e '.[] | select(.Name == "evil")'
    kill "$slow" 2>/dev/null || true
    wait "$slow" 2>/dev/null || true
    kill -0 "$DASH_PID"
}
