#!/usr/bin/env bats
# Forms found building public Node apps with their own Dockerfiles (round 5),
# each reproduced by a Nodefile written here.
load ../lib/compat
bats_require_minimum_version 1.5.0

@test "FROM \${ARCH}/node:TAG with ARCH=amd64 (Docker Hub's amd64 repository of node): node:TAG on linux/amd64, as FROM, COPY --from and --base-map; another architecture's is not" {
    rt_bb_image node:20-slim '{"Cmd":["sh"],"Env":["PATH=/bin","NODE_VERSION=20"]}'
    c=$(ctx 'ARG ARCH=amd64' 'FROM ${ARCH}/node:20-slim AS base' 'RUN echo a > /a' \
        'FROM docker.io/amd64/node:20-slim' 'COPY --from=base /a /a' 'COPY --from=amd64/node:20-slim /etc/passwd /p')
    run "$NBUILD" --progress=plain -t am:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"FROM amd64/node:20-slim: Docker Hub's node image, node:20-slim here"* ]]
    [[ "$output" != *PULL* ]]
    run rt_run --rm am:1 sh -c 'cat /a && echo $NODE_VERSION && head -1 /p'
    [ "$output" = "$(printf 'a\n20\nroot:x:0:0:root:/root:/bin/sh')" ]
    run "$NBUILD" --base-map 'node:*-alpine*=node:*-slim' -t am:2 "$(ctx 'ARG ARCH=amd64' 'FROM $ARCH/node:20-alpine' 'RUN echo $NODE_VERSION > /v')"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm am:2 cat /v
    [ "$output" = 20 ]
    # arm64v8/node is another platform's image: not substituted
    run "$NBUILD" -t am:3 "$(ctx 'FROM arm64v8/node:20-slim')"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" != *"node:20-slim here"* ]]
    "$NRUN" rmi node:20-slim >/dev/null
}
