#!/usr/bin/env bats
# nrun compose's command line and model, without containers: the global
# flags before the verb, which file and which project name, interpolation,
# the normalized model `config` prints (YAML that reads back the same, or
# JSON), warnings for keys nrun does not honour, and errors that name
# file:line:col or the key path.  The projects' containers are
# tests/e2e/compose.bats; hostile files tests/security/compose.bats.
load ../lib/common
bats_require_minimum_version 1.5.0

setup_file() { nr_make_root; }
teardown_file() { nr_remove_root; }

setup() {
    D=$BATS_TEST_TMPDIR/My_App
    mkdir -p "$D"
}
cmp() { (cd "$D" && "$NRUN" compose "$@"); }
# the model as JSON (stderr apart)
model() { cmp "$@" config --format json 2>/dev/null; }

@test "compose --help, no verb (usage on stderr, exit 2), an unknown verb, every verb's --help without a file" {
    run --separate-stderr "$NRUN" compose --help
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "Usage: nrun compose "* ]]
    # one usage, its options and the commands (the help was printed twice)
    [ "$(grep -c '^Usage:' <<<"$output")" -eq 1 ]
    [[ "$output" == *$'\nCommands:\n  up '* ]]
    run --separate-stderr "$NRUN" compose
    [ "$status" -eq 2 ]
    [ -z "$output" ]
    [[ "$stderr" == "Usage: nrun compose "* ]]
    run "$NRUN" compose frobnicate
    [ "$status" -eq 2 ]
    [ "$output" = "nrun: compose: unknown command \"frobnicate\" (see 'nrun compose --help')" ]
    for v in up down ps logs build start stop restart exec run pull config ls kill rm pause unpause port cp top \
        images wait push scale events attach version; do
        run --separate-stderr cmp "$v" --help
        [ "$status" -eq 0 ] || { echo "$v: $status $stderr"; return 1; }
        [[ "$output" == "Usage: nrun compose $v"* ]] || { echo "$v: $output"; return 1; }
    done
}

@test "the default file: compose.yaml first, then compose.yml, docker-compose.yaml, docker-compose.yml; none is an error" {
    run cmp config
    [ "$status" -eq 1 ]
    [[ "$output" == *"no compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml in $D"* ]]
    printf 'services: {old: {image: bb:1}}\n' >"$D/docker-compose.yml"
    [ "$(model | jq -r '.services | keys[0]')" = old ]
    printf 'services: {new: {image: bb:1}}\n' >"$D/compose.yaml"
    [ "$(model | jq -r '.services | keys[0]')" = new ]
    # -f names another, relative to the working directory; --project-directory moves the project
    mkdir -p "$BATS_TEST_TMPDIR/elsewhere"
    printf 'services: {far: {image: bb:1, volumes: ["./d:/d"]}}\n' >"$BATS_TEST_TMPDIR/elsewhere/x.yml"
    run --separate-stderr cmp -f ../elsewhere/x.yml config --format json
    jq -e --arg d "$BATS_TEST_TMPDIR/elsewhere/d" '.name == "elsewhere" and .services.far.volumes[0].source == $d' <<<"$output"
    run --separate-stderr cmp -f ../elsewhere/x.yml --project-directory . config --format json
    jq -e --arg d "$D/d" '.name == "my_app" and .services.far.volumes[0].source == $d' <<<"$output"
}

@test "the project name: the directory's name normalized, name:, COMPOSE_PROJECT_NAME, -p" {
    printf 'services: {s: {image: bb:1}}\n' >"$D/compose.yaml"
    [ "$(model | jq -r .name)" = my_app ]
    printf 'name: Named.Project\nservices: {s: {image: bb:1}}\n' >"$D/compose.yaml"
    [ "$(model | jq -r .name)" = namedproject ]
    [ "$(COMPOSE_PROJECT_NAME=fromenv model | jq -r .name)" = fromenv ]
    [ "$(COMPOSE_PROJECT_NAME=fromenv model -p Given | jq -r .name)" = given ]
    [ "$(model --project-name given2 | jq -r .name)" = given2 ]
    run cmp -p ... config
    [ "$status" -eq 1 ]
    [[ "$output" == *'project name "...": lowercase letters'* ]]
}

@test "interpolation: \$VAR, \${VAR}, :- and -, :? and ?, :+, \$\$; an unset variable warns once; a bad form names file:line:col" {
    cat >"$D/compose.yaml" <<'EOF'
services:
  s:
    image: bb:1
    environment:
      A: $SET
      B: ${SET}x
      C: ${EMPTY:-d1}/${EMPTY-d2}/${UNSET-d3}
      D: ${EMPTY?never}/${SET:?never}
      E: ${SET:+alt}/${UNSET:+alt}
      F: $$SET and $${SET}
      G: ${UNSET}${UNSET}
      H: ${UNSET:-${SET}-nested}
EOF
    run --separate-stderr env SET=v EMPTY= "$NRUN" compose --project-directory "$D" config --format json
    [ "$status" -eq 0 ]
    jq -e '.services.s.environment == {"A": "v", "B": "vx", "C": "d1//d3", "D": "/v", "E": "alt/",
        "F": "$SET and ${SET}", "G": "", "H": "v-nested"}' <<<"$output"
    [ "$stderr" = 'nrun compose: warning: the "UNSET" variable is not set, defaulting to a blank string' ]
    printf 'services:\n  s:\n    image: bb:1\n    command: ["${EMPTY?}", "${EMPTY:?is empty}"]\n' >"$D/compose.yaml"
    run env EMPTY= "$NRUN" compose --project-directory "$D" config
    [ "$status" -eq 1 ]
    [ "$output" = "nrun compose: $D/compose.yaml:4:28: required variable EMPTY is empty: is empty" ]
    printf 'services:\n  s:\n    image: "${BAD"\n' >"$D/compose.yaml"
    run cmp config
    [ "$output" = "nrun compose: $D/compose.yaml:3:12: invalid interpolation: \"\${BAD\" has no closing }" ]
    printf 'services:\n  s:\n    image: "a $ b"\n' >"$D/compose.yaml"
    run cmp config
    [ "$output" = "nrun compose: $D/compose.yaml:3:12: invalid interpolation: a \$ followed by neither a name nor { (\$\$ is a literal \$)" ]
    # .env: quotes, export, comments; a bad line names the file and the line
    printf 'services:\n  s:\n    image: bb:1\n    environment: {X: "${X}", Y: "${Y}", Z: "${Z}"}\n' >"$D/compose.yaml"
    printf '# comment\nexport X=plain # trailing\nY='"'"'single $quoted'"'"'\nZ="dq\\nline"\n' >"$D/.env"
    run --separate-stderr cmp config --format json
    jq -e '.services.s.environment == {"X": "plain", "Y": "single $quoted", "Z": "dq\nline"}' <<<"$output"
    printf 'X=1\nnot a line\n' >"$D/.env"
    run cmp config
    [ "$output" = "nrun compose: $D/.env:2: expected KEY=VALUE (a name of letters, digits, '_', '.' and '-', then '=')" ]
}

@test "the model: short forms made long, string commands split as compose does, relative paths made absolute; YAML output reads back the same" {
    mkdir -p "$D/ctx"
    cat >"$D/compose.yaml" <<'EOF'
x-base: &base
  restart: unless-stopped
  labels: [tier=back]
services:
  web:
    <<: *base
    build: {context: ./ctx, dockerfile: Other.df, args: [V=1, W], target: prod}
    command: sh -c 'echo "a b" $$x'
    entrypoint: ["/bin/tini", "--"]
    ports:
      - 8080:80
      - "127.0.0.1::81"
      - {target: 53, published: "5353", protocol: udp, host_ip: 127.0.0.1}
    volumes:
      - ./data:/data:ro
      - cache:/cache
      - /anon
      - {type: tmpfs, target: /run}
    depends_on:
      db: {condition: service_healthy}
    healthcheck: {test: "curl -f localhost", interval: 1m30s, retries: 3}
    extra_hosts: {myhost: 10.0.0.1}
    stop_grace_period: 20s
    networks:
      front: {aliases: [www]}
  db:
    image: bb:1
    env_file: .env.db
volumes:
  cache:
networks:
  front:
EOF
    echo 'K=V' >"$D/.env.db"
    run --separate-stderr cmp config --format json
    echo "$output"
    [ "$status" -eq 0 ]
    jq -e --arg d "$D" '.services.web as $w |
        $w.build == {"context": ($d + "/ctx"), "dockerfile": "Other.df", "args": {"V": "1", "W": null}, "target": "prod"} and
        $w.command == ["sh", "-c", "echo \"a b\" $x"] and $w.entrypoint == ["/bin/tini", "--"] and
        $w.restart == "unless-stopped" and $w.labels == {"tier": "back"} and
        $w.ports == ["8080:80", "127.0.0.1::81", "127.0.0.1:5353:53/udp"] and
        $w.volumes[0] == {"type": "bind", "source": ($d + "/data"), "target": "/data", "read_only": true} and
        $w.volumes[1] == {"type": "volume", "source": "cache", "target": "/cache"} and
        $w.volumes[2] == {"type": "volume", "target": "/anon"} and $w.volumes[3] == {"type": "tmpfs", "target": "/run"} and
        $w.depends_on == {"db": {"condition": "service_healthy"}} and
        $w.healthcheck.test == ["CMD-SHELL", "curl -f localhost"] and $w.extra_hosts == ["myhost:10.0.0.1"] and
        $w.networks == {"front": {"aliases": ["www"]}} and .services.db.networks == {"default": {}} and
        .services.db.env_file == [$d + "/.env.db"] and (.networks | keys) == ["default", "front"]' <<<"$output"
    # the YAML printed is a compose file that gives the same model
    cmp config >"$BATS_TEST_TMPDIR/round.yaml"
    run --separate-stderr cmp -f "$BATS_TEST_TMPDIR/round.yaml" --project-directory . config --format json
    [ "$output" = "$(model)" ]
    run cmp config --services
    [ "$output" = $'db\nweb' ]
}

@test "keys nrun does not honour: one warning line each, naming the service and the key; an unknown key or a bad shape is an error at its path" {
    cat >"$D/compose.yaml" <<'EOF'
services:
  s:
    image: bb:1
    deploy: {replicas: 2, resources: {limits: {cpus: "1"}}, update_config: {parallelism: 2}}
    logging: {driver: syslog}
    devices: ["/dev/kmsg"]
    x-mine: ignored quietly
  p:
    image: bb:1
    profiles: [debug]
models:
  llm: {model: ai/smollm2}
EOF
    run --separate-stderr cmp config --format json
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"warning: services.s.deploy.update_config: not supported by nrun, ignored"* ]]
    [[ "$stderr" == *"warning: services.s.devices: not supported by nrun, ignored"* ]]
    [[ "$stderr" == *"warning: services.s.logging.driver: syslog is not supported by nrun"* ]]
    [[ "$stderr" != *services.p* ]] # its profile is not active: left out quietly, as compose does
    [[ "$stderr" == *"warning: top-level models: not supported by nrun, ignored"* ]]
    [[ "$stderr" != *x-mine* ]]
    [ "$(jq -c '.services | keys' <<<"$output")" = '["s"]' ]
    [ "$(jq -c '.services.s.scale' <<<"$output")" = 2 ] # deploy.replicas is honoured
    [ "$(jq -c '.services.s.cpus' <<<"$output")" = '"1"' ] # and deploy.resources.limits
    check() { # YAML of service s, the expected error
        printf 'services:\n  s:\n    image: bb:1\n%s\n' "$1" >"$D/compose.yaml"
        run cmp config
        [ "$status" -eq 1 ] && [ "$output" = "nrun compose: $2" ] || { echo "got: $output"; echo "want: nrun compose: $2"; return 1; }
    }
    check '    volumes: ["data:/d"]' 'services.s.volumes[0]: volume "data" is not declared in the top-level volumes'
    check '    networks: [back]' 'services.s.networks: network "back" is not declared in the top-level networks'
    check '    depends_on: [ghost]' 'services.s.depends_on: "ghost" is not a service of this project'
    check '    depends_on: {s: {condition: service_started}}' 'services.s.depends_on: "s" is the service itself'
    check '    depends_on: {t: {condition: service_done}}' 'services.s.depends_on.t.condition: expected service_started, service_healthy or service_completed_successfully'
    check '    healthcheck: {test: [CMD], interval: soon}' 'services.s.healthcheck.test: expected ["CMD", ...], ["CMD-SHELL", "..."], ["NONE"] or a string'
    check '    healthcheck: {interval: soon}' 'services.s.healthcheck.interval: expected a duration like 10s or 1m30s'
    check '    environment: 3' "$D/compose.yaml: services.s.environment: expected a mapping or a list of KEY=VALUE"
    check '    command: "sh -c '"'"'unclosed"' 'services.s.command: a quote is not closed'
    check '    env_file: missing.env' "services.s.env_file[0]: env file $D/missing.env: ENOENT (No such file or directory)"
    check '    network_mode: host
    networks: [default]' 'services.s: network_mode and networks cannot be combined'
    check '    ulimits: {nofile: {soft: 1}}' 'services.s.ulimits.nofile: expected a number or {soft: N, hard: N}'
    check '    logging: {drive: json-file}' 'services.s.logging.drive: not a key of logging'
    check '    tty: maybe' 'services.s.tty: expected true or false'
    check '    deploy: {restart_policy: {condition: sometimes}}' 'services.s.deploy.restart_policy.condition: expected none, on-failure or any'
    check '    volumes_from: [ghost]' 'services.s.volumes_from[0]: "ghost" is not a service of this project'
    check '    volumes_from: ["s:rx"]' 'services.s.volumes_from[0]: "s:rx": expected SERVICE[:ro|:rw] or container:NAME[:ro|:rw]'
    printf 'services:\n  a: {image: bb:1, depends_on: [b]}\n  b: {image: bb:1, depends_on: [c]}\n  c: {image: bb:1, depends_on: [a]}\n' >"$D/compose.yaml"
    run cmp up -d
    [ "$status" -eq 1 ]
    [[ "$output" == *"depends_on: a dependency cycle" ]]
    # a platform other than this machine's: run's --platform refuses it before anything is made
    printf 'services:\n  s: {image: bb:1, platform: linux/s390x}\n' >"$D/compose.yaml"
    [ "$(uname -m)" = s390x ] || {
        run cmp up -d
        [ "$status" -ne 0 ]
        [[ "$output" == *"--platform linux/s390x: nrun runs this machine's platform only"* ]]
        ! "$NRUN" network ls -q | grep -q _default || false
    }
    printf 'servics: {}\n' >"$D/compose.yaml"
    run cmp config
    [ "$output" = "nrun compose: servics: not a top-level key of a compose file" ]
}

@test "compose ls on a store without projects; pull of a service with build only pulls nothing" {
    run "$NRUN" compose ls
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '%-20s %-24s %s' NAME STATUS 'CONFIG FILES')" ]
    run "$NRUN" compose ls --format json
    [ "$output" = "[]" ]
    mkdir -p "$D/ctx"
    printf 'services: {s: {build: ./ctx}}\n' >"$D/compose.yaml"
    run cmp pull
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "env_file is read with compose's rules (the .env reader): quotes, export, comments, KEY alone from the environment; {path, required: false}; environment wins" {
    cat >"$D/compose.yaml" <<'YAML'
services:
  s:
    image: bb:1
    env_file: [a.env, {path: b.env, required: false}, {path: absent.env, required: false}]
    environment: {OVER: fromyaml}
YAML
    cat >"$D/a.env" <<'ENV'
# a comment

export EXPORTED=yes
DQ="line1\nline2 \"q\" # kept"
SQ='lit $HOME \n'
SQE='Let\'s go' # comment
UNQ=plain value   # cut here
HASH=a#b
FROMENV
UNSETKEY
OVER=fromfile
ENV
    printf 'B=1\n' >"$D/b.env"
    run --separate-stderr env -u UNSETKEY FROMENV=outside "$NRUN" compose --project-directory "$D" config --format json
    echo "$output"
    [ "$status" -eq 0 ]
    jq -e --arg d "$D" '.services.s.env_file == [$d + "/a.env", $d + "/b.env"] and
        .services.s.environment == {"B": "1", "DQ": "line1\nline2 \"q\" # kept", "EXPORTED": "yes",
          "FROMENV": "outside", "HASH": "a#b", "OVER": "fromyaml", "SQ": "lit $HOME \\n", "SQE": "Let'"'"'s go",
          "UNQ": "plain value"}' <<<"$output"
    printf 'services: {s: {image: bb:1, env_file: [{path: a.env, required: maybe}]}}\n' >"$D/compose.yaml"
    run cmp config
    [ "$output" = "nrun compose: services.s.env_file[0].required: expected true or false" ]
    printf 'BAD="open\n' >"$D/a.env"
    printf 'services: {s: {image: bb:1, env_file: a.env}}\n' >"$D/compose.yaml"
    run cmp config
    [ "$output" = "nrun compose: services.s.env_file[0]: $D/a.env:1: BAD: the quote is not closed" ]
}

@test "profiles: a service with profiles runs only when one is active (--profile, repeatable, or COMPOSE_PROFILES; * is all) or when it is named; a reference to a left-out service is an error" {
    cat >"$D/compose.yaml" <<'EOF'
services:
  web: {image: bb:1}
  dbg: {image: bb:1, profiles: [debug], depends_on: [tool]}
  tool: {image: bb:1, profiles: [debug, ops]}
  other: {image: bb:1, profiles: [x]}
EOF
    svcs() { run --separate-stderr "$@" config --format json; [ "$status" -eq 0 ] || return 1; jq -c '.services | keys' <<<"$output"; }
    [ "$(svcs cmp)" = '["web"]' ]
    [ "$(svcs cmp --profile debug)" = '["dbg","tool","web"]' ]
    [ "$(svcs cmp --profile ops --profile x)" = '["other","tool","web"]' ]
    [ "$(COMPOSE_PROFILES=x,ops svcs cmp)" = '["other","tool","web"]' ]
    [ "$(COMPOSE_PROFILES=ops svcs cmp --profile x)" = '["other","web"]' ]
    [ "$(svcs cmp --profile '*')" = '["dbg","other","tool","web"]' ]
    echo COMPOSE_PROFILES=debug >"$D/.env"
    [ "$(svcs cmp)" = '["dbg","tool","web"]' ]
    rm "$D/.env"
    # named on the command line: enabled with its profiles (build of a service with an image builds nothing)
    run cmp build dbg
    [ "$status" -eq 0 ]
    run cmp build nosuch
    [ "$output" = "nrun: compose build: no such service: nosuch" ]
    printf 'services:\n  web: {image: bb:1, depends_on: [dbg]}\n  dbg: {image: bb:1, profiles: [debug]}\n' >"$D/compose.yaml"
    run cmp config
    [ "$output" = 'nrun compose: services.web.depends_on: "dbg" is not a service of this project' ]
    [ "$(svcs cmp --profile debug)" = '["dbg","web"]' ]
}

@test "env files interpolate as compose's do: unquoted and \"...\" values take \${VAR} forms from the file's earlier keys, then the environment, then .env; '...' is literal; a bad form names file:line" {
    printf 'HOST=db\nPORT=5432\nURL=pg://${HOST}:$PORT/x\n' >"$D/.env"
    cat >"$D/compose.yaml" <<'YAML'
services:
  s:
    image: bb:1
    command: echo $URL
    env_file: app.env
YAML
    cat >"$D/app.env" <<'ENV'
A=1
B="${A}-x"
C=$HOST:${PORT:-1}
D='${A} $HOST'
E=${NOPE:-dflt}
F=$$lit
G=${FROMENV}
HOST=own
H=$HOST
ENV
    run --separate-stderr env -u NOPE FROMENV=outside "$NRUN" compose --project-directory "$D" config --format json
    echo "$output"
    [ "$status" -eq 0 ]
    jq -e '.services.s.environment == {"A": "1", "B": "1-x", "C": "db:5432", "D": "${A} $HOST", "E": "dflt",
          "F": "$lit", "G": "outside", "HOST": "own", "H": "own"} and
        .services.s.command == ["echo", "pg://db:5432/x"]' <<<"$output"
    printf 'OK=1\nREQ=${MISSING:?set MISSING}\n' >"$D/app.env"
    run env -u MISSING "$NRUN" compose --project-directory "$D" config
    [ "$status" -ne 0 ]
    [ "$output" = "nrun compose: services.s.env_file[0]: $D/app.env:2: REQ: required variable MISSING is missing: set MISSING" ]
    printf 'X=${A\n' >"$D/.env"
    run "$NRUN" compose --project-directory "$D" config
    [ "$status" -ne 0 ]
    [ "$output" = "nrun compose: $D/.env:1: X: invalid interpolation: \"\${A\" has no closing }" ]
    # a bomb: 1 MiB in .env, 70 times in a value of a 300-byte env_file, is refused
    { printf 'X='; head -c 1048576 /dev/zero | tr '\0' a; echo; } >"$D/.env"
    { printf 'Y='; for _ in $(seq 70); do printf '$X'; done; echo; } >"$D/app.env"
    run "$NRUN" compose --project-directory "$D" config
    [ "$status" -ne 0 ]
    [ "${lines[-1]}" = "nrun compose: services.s.env_file[0]: $D/app.env:1: Y: more than 64 MiB of values (aliases and \${} expanded): refused" ]
}
