#!/usr/bin/env bats
# Forms found building and running public Node apps with their own
# Dockerfiles and compose files (round 10), each reproduced here.
load ../lib/compat
bats_require_minimum_version 1.5.0

@test "a volume nrun makes below a bind mount starts with the image's content at its path, as docker's (awesome-compose angular: ./angular:/project and /project/node_modules, so ng found no node_modules); a named one too; the host directory gets only the mount point; a used volume keeps its content" {
    c=$(ctx 'FROM cbase:1' 'COPY nm /app/node_modules/')
    mkdir -p "$c/nm/pkg" && echo from-image >"$c/nm/pkg/index.js"
    run "$NBUILD" -t nmvol:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    h=$W/host.$BATS_TEST_NUMBER
    rm -rf "$h" && mkdir -p "$h" && echo host-file >"$h/own"
    run "$NRUN" run --rm --network none -v "$h:/app" -v /app/node_modules nmvol:1 \
        sh -c 'cat /app/node_modules/pkg/index.js /app/own'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = from-image ]
    [ "${lines[1]}" = host-file ]
    # the host directory has the mount point, empty: nothing was copied there
    [ -d "$h/node_modules" ] && [ -z "$(ls -A "$h/node_modules")" ]
    run "$NRUN" run --rm --network none -v "$h:/app" -v nmvol10:/app/node_modules nmvol:1 \
        sh -c 'cat /app/node_modules/pkg/index.js; echo changed >/app/node_modules/pkg/index.js'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = from-image ]
    run "$NRUN" run --rm --network none -v "$h:/app" -v nmvol10:/app/node_modules nmvol:1 cat /app/node_modules/pkg/index.js
    "$NRUN" volume rm nmvol10 >/dev/null
    [ "$output" = changed ]
    [ -z "$(ls -A "$h/node_modules")" ]
}

@test "COPY --chown=NAME in a stage FROM an earlier stage whose RUN added the user, and in an ONBUILD trigger of such a stage (etherpad-lite's build_git: unknown user etherpad), read that stage's /etc/passwd as BuildKit does; WORKDIR after USER NAME there too" {
    c=$(ctx 'FROM cbase:1 AS base' \
        'RUN echo "ep:x:5001:5002::/home/ep:/bin/sh" >>/etc/passwd && echo "ep:x:5002:" >>/etc/group && mkdir /o' \
        'FROM base AS git' 'ONBUILD COPY --chown=ep:ep ./gi[t] /o/git' \
        'FROM git' 'COPY --chown=ep package.json /o/p' 'USER ep' 'WORKDIR /o/w' \
        'RUN stat -c "%u:%g %n" /o/git/HEAD /o/p /o/w')
    mkdir -p "$c/git" && echo ref >"$c/git/HEAD"
    run "$NBUILD" --progress=plain -t stagepw:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"--> ONBUILD COPY --chown=ep:ep ./gi[t] /o/git"* ]]
    [[ "$output" == *"5001:5002 /o/git/HEAD"* ]]
    [[ "$output" == *"5001:5002 /o/p"* ]]
    [[ "$output" == *"5001:5002 /o/w"* ]]
}

@test "compose logs and up (attached) prefix a container_name's lines with that name, as docker compose does (awesome-compose react-nginx: container_name frontend printed as frontend-1); other services keep service-N" {
    d=$W/cname && mkdir -p "$d"
    cat >"$d/compose.yaml" <<'YAML'
services:
  web:
    image: cbase:1
    container_name: front10
    command: ["sh", "-c", "echo from-web; exec sleep 1000"]
  job:
    image: cbase:1
    command: ["sh", "-c", "echo from-job"]
YAML
    (cd "$d" && "$NRUN" compose up -d) >/dev/null
    for _ in $(seq 50); do (cd "$d" && "$NRUN" compose logs) 2>/dev/null | grep -q from-job && break; sleep 0.1; done
    run sh -c "cd '$d' && '$NRUN' compose logs"
    echo "$output"
    [[ "$output" == *"front10 | from-web"* ]]
    [[ "$output" == *"job-1   | from-job"* ]]
    (cd "$d" && "$NRUN" compose down -t 1) >/dev/null
    run sh -c "cd '$d' && timeout 20 '$NRUN' compose up --abort-on-container-exit"
    echo "$output"
    [[ "$output" == *"Attaching to front10, job-1"* ]]
    [[ "$output" == *"job-1   | from-job"* ]]
    (cd "$d" && "$NRUN" compose down -t 1) >/dev/null
}
