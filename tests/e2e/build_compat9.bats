#!/usr/bin/env bats
# Forms found building and running public Node apps with their own
# Dockerfiles and compose files (round 9), each reproduced here.
load ../lib/compat
bats_require_minimum_version 1.5.0

@test "a container on two networks resolves the names of both, as docker's (example-voting-app: result on front-tier and back-tier looked up db, only on back-tier, with EAI_AGAIN); one on one network still does not see the other's; a disconnect takes the server out" {
    d=$W/twonet && mkdir -p "$d"
    cat >"$d/compose.yaml" <<'YAML'
services:
  db:
    image: cbase:1
    command: ["sh", "-c", "echo from-db >/tmp/i; exec httpd -f -p 8080 -h /tmp"]
    networks: [back]
  web:
    image: cbase:1
    command: ["sh", "-c", "echo from-web >/tmp/i; exec httpd -f -p 8080 -h /tmp"]
    networks: [front]
  app:
    image: cbase:1
    command: ["sleep", "1000"]
    networks: [front, back]
networks:
  front:
  back:
YAML
    (cd "$d" && "$NRUN" compose up -d) >/dev/null
    for _ in $(seq 50); do (cd "$d" && "$NRUN" compose exec -T app wget -qO- http://web:8080/i) 2>/dev/null && break; sleep 0.1; done
    run sh -c "cd '$d' && '$NRUN' compose exec -T app sh -c 'grep -c ^nameserver /etc/resolv.conf; wget -qO- http://web:8080/i; wget -qO- http://db:8080/i'"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '2\nfrom-web\nfrom-db')" ]
    # web shares no network with db: not found
    run sh -c "cd '$d' && '$NRUN' compose exec -T web wget -T 2 -qO- http://db:8080/i"
    [ "$status" -ne 0 ]
    # a disconnect takes the network's server out again
    "$NRUN" network disconnect twonet_back twonet-app-1
    run "$NRUN" exec twonet-app-1 grep -c ^nameserver /etc/resolv.conf
    [ "$output" = 1 ]
    (cd "$d" && "$NRUN" compose down) >/dev/null
}
