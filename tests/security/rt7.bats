#!/usr/bin/env bats
# Red-team round 7: the dashboard on loopback, compose's project labels,
# and what else round 7 found (see each test's comment).
load ../lib/security
load ../lib/dashboard
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    rt_bb_image bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
}
teardown() {
    dash_stop
    [ -z "${RT7_SRV:-}" ] || { kill "$RT7_SRV" 2>/dev/null; wait "$RT7_SRV" 2>/dev/null; } || true
    RT7_SRV=
    rt_rm_all
}
teardown_file() { rt_file_teardown; }

# an unprivileged host user (nobody), as a local process that is not root
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

# Found: on loopback the dashboard answered every GET without its token, and
# GET /api/session handed the token itself to whoever asked with the right
# Host header; the POST check only kept foreign web pages out.  Any local
# user, a build's RUN step or a --net host container read root's container
# logs and stopped, reloaded, scaled or dyed every container.
@test "dashboard on loopback: a local process without the token gets no token, no log line, no container list, and stops nothing" {
    rt_run -d --name victim --network none bb:1 sh -c 'echo rt7-secret-in-the-log; exec sleep 1000' >/dev/null
    for _ in $(seq 100); do grep -q rt7-secret "$NRUN_ROOT"/containers/*/logs/container.log 2>/dev/null && break; sleep 0.1; done
    dash_start --listen "127.0.0.1:$(dash_port)"
    u=http://$DASH_ADDR
    for path in /api/session /api/containers /api/containers/victim /api/containers/victim/logs /; do
        out=$(as_nobody curl -s --max-time 10 -H "Host: $DASH_ADDR" -w '\n%{http_code}' "$u$path")
        echo "$path: $out"
        [ "$(tail -n1 <<<"$out")" = 401 ]
        [[ "$out" != *"$DASH_TOKEN"* ]]
        [[ "$out" != *rt7-secret* ]]
        [[ "$out" != *victim* ]]
    done
    # a guessed token and a forged cookie are no better
    [ "$(as_nobody curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H 'X-Nrun-Token: 0123456789abcdef0123456789abcdef' \
        -d '{}' "$u/api/containers/victim/stop")" = 401 ]
    [ "$(as_nobody curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H 'Cookie: nrun_token=x' "$u/api/containers")" = 401 ]
    sleep 0.5
    [ "$("$NRUN" inspect victim | jq -r '.[0].State.Status')" = running ]
    # the owner of the token (the printed address, the page) still has it all
    [ "$(curl -sf --max-time 10 -H "X-Nrun-Token: $DASH_TOKEN" "$u/api/session" | jq -r .token)" = "$DASH_TOKEN" ]
    head=$(curl -s --max-time 10 -D - -o /dev/null "$u/?token=$DASH_TOKEN")
    grep -qi "^set-cookie: nrun_token=$DASH_TOKEN;" <<<"$head"
    curl -sf --max-time 10 -H "Cookie: nrun_token=$DASH_TOKEN" "$u/api/containers/victim/logs" |
        jq -e '[.[] | select(.msg | contains("rt7-secret"))] | length == 1'
}

# Found: a container's labels are its image's LABELs with --label over them,
# and compose finds its containers by com.docker.compose.project/service.  An
# image labelled as service db of project victim, run by hand (no compose),
# was that service's container: compose exec/cp/attach of victim entered it
# (cp sent the host's file to it) and ps, logs and top showed it.
@test "an image's com.docker.compose.* labels make no container one of a compose project: exec and cp never reach it" {
    rt_bb_image squat:1 '{"Cmd":["sh"],"Env":["PATH=/bin"],"Labels":{"com.docker.compose.project":"victim","com.docker.compose.service":"db","com.docker.compose.oneoff":"False","com.docker.compose.config-hash":"x","org.example.kept":"yes"}}'
    rt_run -d --name squatter --network none squat:1 sleep 1000 >/dev/null
    d=$BATS_TEST_TMPDIR/victim
    mkdir -p "$d"
    printf 'services:\n  db:\n    image: bb:1\n    command: ["sleep", "1000"]\n    network_mode: none\n' >"$d/compose.yaml"
    echo rt7-host-secret >"$d/secret.txt"
    c() { "$NRUN" compose -p victim --project-directory "$d" -f "$d/compose.yaml" "$@"; }
    run c ps -q
    echo "$output"
    [ -z "$output" ]
    run c exec -T db cat /etc/hostname
    echo "$output"
    [ "$status" -ne 0 ]
    run c cp "$d/secret.txt" db:/tmp/got
    echo "$output"
    [ "$status" -ne 0 ]
    run "$NRUN" exec squatter cat /tmp/got
    [ "$status" -ne 0 ]
    [[ "$output" != *rt7-host-secret* ]]
    # the image's other labels stay, as docker keeps them; --label may still set compose's
    "$NRUN" inspect squatter | jq -e '.[0].Config.Labels | has("com.docker.compose.project") | not'
    [ "$("$NRUN" inspect squatter | jq -r '.[0].Config.Labels["org.example.kept"]')" = yes ]
    # compose's own containers are found as before
    c up -d >/dev/null 2>&1
    run c exec -T db cat /etc/hostname
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(c ps -q | wc -l)" = 1 ]
    c down >/dev/null 2>&1
    [ "$("$NRUN" inspect squatter | jq -r '.[0].State.Status')" = running ]
}

# Found: nbuild --network none, the defence runtime/README's threat model
# names for a Dockerfile one does not trust, was lifted by the Dockerfile
# itself: RUN --network=host (and =default, which read as host) ran the step
# in the host's network namespace (its 127.0.0.1 services, its ports), and
# ADD <url> downloaded on the host's network whatever --network said.
@test "nbuild --network none: a Dockerfile's RUN --network=host is refused, =default is none, ADD <url> fetches nothing" {
    # all of it in this file's network namespace: a failing guard reaches a decoy there, never the host
    ip -n "$NR_NETNS" link add rt7decoy type veth peer name rt7decoy2
    port=$(nr_in_ns python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    srv=$BATS_TEST_TMPDIR/srv
    mkdir -p "$srv"
    echo rt7-host-only >"$srv/secret"
    # (nsenter execs python: $! is the server itself, which teardown kills on a failure)
    nsenter --net="/run/netns/$NR_NETNS" python3 -m http.server --bind 127.0.0.1 --directory "$srv" "$port" \
        2>"$BATS_TEST_TMPDIR/srv.log" >/dev/null 3>&- &
    RT7_SRV=$!
    for _ in $(seq 50); do nr_in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null && break; sleep 0.1; done
    ctx=$BATS_TEST_TMPDIR/ctx
    mkdir -p "$ctx"
    nb() { nr_in_ns "$NBUILD" --network none "$@"; }
    printf 'FROM bb:1\nRUN echo step-one-ran\nRUN --network=host cat /proc/net/dev >/netdev\n' >"$ctx/Nodefile"
    run nb -t probe:host "$ctx"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:3:"*"RUN --network=host: this build runs with nbuild --network none"* ]]
    [[ "$output" != *step-one-ran* ]]
    run -127 "$NRUN" image inspect probe:host # no such image
    printf 'FROM bb:1\nRUN --network=default cat /proc/net/dev >/netdev\n' >"$ctx/Nodefile"
    nb -t probe:default "$ctx"
    run "$NRUN" run --rm --network none probe:default cat /netdev
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *lo:* ]]
    [[ "$output" != *rt7decoy* ]]
    printf 'FROM bb:1\nADD http://127.0.0.1:%s/secret /secret\n' "$port" >"$ctx/Nodefile"
    run nb -t probe:add "$ctx"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:"*"nbuild --network none: nothing is downloaded"* ]]
    run -127 "$NRUN" image inspect probe:add # no such image
    kill "$RT7_SRV"
    wait "$RT7_SRV" || true
    RT7_SRV=
    ! grep -q 'GET /secret' "$BATS_TEST_TMPDIR/srv.log" || false
    "$NRUN" rmi probe:default >/dev/null
    ip -n "$NR_NETNS" link del rt7decoy
}

# Found: a FROM's digest pin was not checked when the image found carried
# the label io.nrun.base.flavour and its tag said alpine (for the Alpine
# tags nbuild makes on Debian, whose pin names Alpine's image).  Any image
# can carry a label: a registry's reg.example/app:1-alpine (pulled, or
# pulled now by --pull) that is not the pinned one was built on with a
# "not checked" line, the pin defeated by the very image it guards against.
@test "FROM REGISTRY/NAME:TAG-alpine@sha256 pin: the image's io.nrun.base.flavour label does not skip it, nor does a made name on an image this store did not make; a base this store made still does" {
    cfg='{"Cmd":["sh"],"Env":["PATH=/bin"],"Labels":{"io.nrun.base.flavour":"slim"}}'
    "$NRUN" __internal mkimage -t localhost:5999/app:1-alpine --config "$cfg" "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
    pin=sha256:$(printf '%064d' 7)
    ctx=$BATS_TEST_TMPDIR/ctx
    mkdir -p "$ctx"
    printf 'FROM localhost:5999/app:1-alpine@%s\nLABEL built=yes\n' "$pin" >"$ctx/Nodefile"
    run nr_in_ns "$NBUILD" --network none -t pinned:1 "$ctx"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:1:"*"digest mismatch"*"$pin"* ]]
    [[ "$output" != *"not checked"* ]]
    run -127 "$NRUN" image inspect pinned:1 # no such image
    # a made base's name and label, but not made by this store (pulled
    # earlier from a Docker Hub mirror, loaded): the pin is checked
    "$NRUN" __internal mkimage -t redis:7-alpine --config "$cfg" "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
    printf 'FROM redis:7-alpine@%s\nLABEL built=yes\n' "$pin" >"$ctx/Nodefile"
    run nr_in_ns "$NBUILD" --network none -t pinned:2 "$ctx"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:1:"*"digest mismatch"*"$pin"* ]]
    [[ "$output" != *"not checked"* ]]
    # the Alpine tag of a base this store made on Debian: its pin names
    # Alpine's image, not checked, as before
    nr_mark_made redis:7-alpine
    run nr_in_ns "$NBUILD" --network none -t pinned:2 "$ctx"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"made here on Debian"*"not checked"* ]]
    "$NRUN" rmi pinned:2 redis:7-alpine localhost:5999/app:1-alpine >/dev/null
}
