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

@test "compose file secrets are mounted read-only at /run/secrets/NAME (or target), as docker compose does (awesome-compose react-express-mysql: DATABASE_PASSWORD=/run/secrets/db-password, MYSQL_ROOT_PASSWORD_FILE); an environment secret is the variable's value" {
    d=$W/secrets && mkdir -p "$d/db"
    echo s3cret >"$d/db/password.txt"
    echo other >"$d/other.txt"
    cat >"$d/compose.yaml" <<'YAML'
services:
  app:
    image: cbase:1
    command: ["sleep", "1000"]
    secrets:
      - db-password
      - source: other
        target: renamed
      - source: other
        target: /etc/abs-other
      - from-env
secrets:
  db-password:
    file: db/password.txt
  other:
    file: ./other.txt
  from-env:
    environment: HOME
YAML
    run sh -c "cd '$d' && '$NRUN' compose up -d 2>&1"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *"services.app.secrets"* ]]
    run sh -c "cd '$d' && '$NRUN' compose exec -T app sh -c 'cat /run/secrets/db-password /run/secrets/renamed /etc/abs-other; echo \"[\$(cat /run/secrets/from-env)]\"; ls /run/secrets; (echo x >/run/secrets/db-password) 2>&1' 2>/dev/null"
    echo "$output"
    [ "${lines[0]}" = s3cret ]
    [ "${lines[1]}" = other ]
    [ "${lines[2]}" = other ]
    [ "${lines[3]}" = "[$HOME]" ]
    [ "${lines[4]}" = "db-password" ]
    [ "${lines[5]}" = from-env ]
    [ "${lines[6]}" = renamed ]
    [[ "$output" == *"Read-only file system"* ]]
    [ "$(cat "$d/db/password.txt")" = s3cret ]
    (cd "$d" && "$NRUN" compose down) >/dev/null 2>&1
    # a secret no top-level entry declares: an error, as docker compose's
    sed -i 's/- from-env/- nowhere/' "$d/compose.yaml"
    run sh -c "cd '$d' && '$NRUN' compose up -d 2>&1"
    [ "$status" -ne 0 ]
    [[ "$output" == *'services.app.secrets[3]: "nowhere" is not declared in the top-level secrets'* ]]
}

@test "compose links order the start as depends_on does, as docker compose's (socket.io cluster-nginx: nginx, first in the file, linked the four servers and failed: host not found in upstream); an alias resolves from the linking container (run's --link), a link to no service is an error" {
    d=$W/links && mkdir -p "$d"
    cat >"$d/compose.yaml" <<'YAML'
services:
  front:
    image: cbase:1
    command: ["sh", "-c", "if nslookup back >/dev/null 2>&1; then echo found; else echo not-found; fi; grep -c '[[:space:]]db$$' /etc/hosts; exec sleep 1000"]
    links:
      - back
      - other:db
  back:
    image: cbase:1
    command: ["sleep", "1000"]
  other:
    image: cbase:1
    command: ["sleep", "1000"]
YAML
    run --separate-stderr sh -c "cd '$d' && '$NRUN' compose config --format json"
    [ "$status" -eq 0 ]
    jq -e '.services.front.depends_on == {"back": {"condition": "service_started"}, "other": {"condition": "service_started"}} and .services.front.links == ["other:db"]' <<<"$output"
    [ -z "$stderr" ]
    run sh -c "cd '$d' && '$NRUN' compose up -d 2>&1"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"back-1  Started"*"front-1  Started"* ]]
    for _ in $(seq 50); do [ "$("$NRUN" logs links-front-1 2>&1 | wc -l)" -ge 2 ] && break; sleep 0.1; done
    run "$NRUN" logs links-front-1
    [ "$output" = "$(printf 'found\n1')" ]
    (cd "$d" && "$NRUN" compose down) >/dev/null 2>&1
    sed -i 's/- back$/- nowhere/' "$d/compose.yaml"
    run sh -c "cd '$d' && '$NRUN' compose config 2>&1"
    [ "$status" -ne 0 ]
    [[ "$output" == *'services.front.links[0]: "nowhere" is not a service of this project'* ]]
}
