#!/usr/bin/env bats
# Docker as the other client: a dockerd of this file (its own data and exec
# roots, no bridge, no iptables, nothing but 127.0.0.1) pulls and runs what
# nrun pushed to a docker-registry on 127.0.0.1, with the config nbuild wrote
# (Env, Cmd, WorkingDir, User, ExposedPorts, Healthcheck, Labels, StopSignal);
# nrun pulls and runs what docker pushed (docker commit: whiteouts, an opaque
# directory, a hard link, long names); docker load reads `nrun save` and
# nrun load reads `docker save` (the docker-archive form of Docker 20.10).
# Skipped where dockerd is missing or cannot start.

bats_require_minimum_version 1.5.0
load ../lib/common
load ../lib/registry
load ../lib/runtime

DOCKER=/usr/bin/docker

setup_file() {
    reg_setup_file docker
    reg_start
    [ -x /usr/sbin/dockerd ] && [ -x "$DOCKER" ] || return 0
    local dk=$WORK/dockerd
    mkdir -p "$dk/data" "$dk/exec" "$dk/config"
    echo '{}' >"$dk/daemon.json"
    /usr/sbin/dockerd --data-root "$dk/data" --exec-root "$dk/exec" --pidfile "$dk/dockerd.pid" -H "unix://$dk/sock" \
        --config-file "$dk/daemon.json" --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
        --ip-forward=false --userland-proxy=false >"$dk/log" 2>&1 3>&- &
    echo $! >"$dk/pid"
    for _ in $(seq 1 300); do
        DOCKER_HOST=unix://$dk/sock "$DOCKER" info >/dev/null 2>&1 && { touch "$dk/up"; break; }
        kill -0 "$(cat "$dk/pid")" 2>/dev/null || break
        sleep 0.1
    done
}

teardown_file() {
    local dk=$WORK/dockerd pid m
    if [ -f "$dk/pid" ]; then
        pid=$(cat "$dk/pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        # whatever dockerd left mounted below its roots
        for m in $(awk -v d="$dk/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
    fi
    reg_teardown_file
}

setup() {
    [ -f "$WORK/dockerd/up" ] || skip "dockerd is not available or did not start"
    REG=$(cat "$WORK/registry")
    export DOCKER_HOST=unix://$WORK/dockerd/sock DOCKER_CONFIG=$WORK/dockerd/config
}

dk() { "$DOCKER" "$@"; }

@test "docker pulls and runs what nrun pushed, with the config nbuild wrote" {
    mkdir -p "$WORK/ctx"
    echo from-the-context >"$WORK/ctx/msg"
    cat >"$WORK/ctx/Nodefile" <<'EOF'
FROM bb:1
LABEL org.example.team="a b" version=2
ENV GREETING=hello
WORKDIR /app
COPY --chown=1000:1000 msg /app/msg
EXPOSE 8080/tcp 53/udp
USER 1000
HEALTHCHECK --interval=5s --retries=2 CMD ["true"]
STOPSIGNAL SIGTERM
CMD ["sh", "-c", "cat msg; id -u; pwd; echo $GREETING"]
EOF
    run "$NBUILD" --progress plain -t dk:1 "$WORK/ctx"
    [ "$status" -eq 0 ]
    run "$NRUN" push dk:1 "$REG/fromnrun:1"
    [ "$status" -eq 0 ]
    want=$("$NRUN" image inspect dk:1 | jq -r '.[0].Digest')
    run dk pull "$REG/fromnrun:1"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"Digest: $want"* ]]
    run dk run --rm --network none "$REG/fromnrun:1"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = $'from-the-context\n1000\n/app\nhello' ]
    c=$(dk inspect "$REG/fromnrun:1" | jq -c '.[0].Config')
    [ "$(jq -c .Healthcheck <<<"$c")" = '{"Test":["CMD","true"],"Interval":5000000000,"Retries":2}' ]
    [ "$(jq -r '.Labels["org.example.team"]' <<<"$c")" = "a b" ]
    [ "$(jq -c '.ExposedPorts | keys' <<<"$c")" = '["53/udp","8080/tcp"]' ]
    [ "$(jq -r '.User + " " + .WorkingDir + " " + .StopSignal' <<<"$c")" = "1000 /app SIGTERM" ]
    [[ $(jq -r '.Env | join(",")' <<<"$c") == *GREETING=hello* ]]
    dk rmi "$REG/fromnrun:1" >/dev/null
}

@test "nrun pulls and runs what docker pushed: whiteouts, an opaque directory, a hard link, long names" {
    rt_busybox_tar "$WORK/bb.tar"
    dk import -c 'CMD ["sh"]' "$WORK/bb.tar" dkbase:1 >/dev/null
    long=$(printf '%0150d' 0)
    dk run --name nr-c1 --network none dkbase:1 sh -c "mkdir -p /o/a /o/b && echo 1 >/o/a/f && echo 2 >/o/b/g \
        && mkdir -p /long/$long && echo long >/long/$long/$long && echo h >/h1 && ln /h1 /h2 && touch /gone"
    dk commit nr-c1 dkmid:1 >/dev/null
    dk rm nr-c1 >/dev/null
    # rm -rf + mkdir of /o/b: docker writes an opaque directory; /o/a and /gone become whiteouts
    dk run --name nr-c2 --network none dkmid:1 sh -c 'rm -rf /o/a /gone /o/b && mkdir /o/b && echo new >/o/b/n'
    dk commit -c 'CMD ["sh"]' nr-c2 "$REG/fromdocker:1" >/dev/null
    dk rm nr-c2 >/dev/null
    run dk push "$REG/fromdocker:1"
    [ "$status" -eq 0 ]
    root=$WORK/pulled
    run "$NRUN" --root "$root" pull "$REG/fromdocker:1"
    [ "$status" -eq 0 ]
    run "$NRUN" --root "$root" run --rm --network none "$REG/fromdocker:1" sh -c \
        'ls /o; ls /o/b; test ! -e /gone && echo gone; cat /h2; stat -c %h /h1; cat /long/*/*'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = $'b\nn\ngone\nh\n2\nlong' ]
    dk rmi "$REG/fromdocker:1" dkmid:1 dkbase:1 >/dev/null
}

@test "docker load reads nrun save; nrun load reads docker save" {
    run "$NRUN" save -o "$WORK/nrun.tar" bb:1
    [ "$status" -eq 0 ]
    run dk load -i "$WORK/nrun.tar"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"Loaded image: bb:1"* ]]
    [ "$(dk inspect bb:1 | jq -r '.[0].Id')" = "$("$NRUN" image inspect bb:1 | jq -r '.[0].Id')" ]
    run dk run --rm --network none bb:1 sh -c 'echo $IMG; echo docker-runs-nrun-save'
    [ "$status" -eq 0 ]
    [ "$output" = $'1\ndocker-runs-nrun-save' ]
    dk tag bb:1 saved/bydocker:2
    dk save -o "$WORK/docker.tar" saved/bydocker:2
    root=$WORK/loaded
    run "$NRUN" --root "$root" load -i "$WORK/docker.tar"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "Loaded image: saved/bydocker:2" ]
    [ "$("$NRUN" --root "$root" image inspect saved/bydocker:2 | jq -r '.[0].Id')" = "$(dk inspect bb:1 | jq -r '.[0].Id')" ]
    run "$NRUN" --root "$root" run --rm --network none saved/bydocker:2 sh -c 'echo nrun-runs-docker-save'
    [ "$status" -eq 0 ]
    [[ $output == *nrun-runs-docker-save* ]]
    dk rmi bb:1 saved/bydocker:2 >/dev/null
}
