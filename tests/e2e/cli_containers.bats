#!/usr/bin/env bats
# The container verbs as a docker user types them (run, ps, exec, logs, stop,
# kill, rm, inspect), and the bugs issue 10 found in them.

bats_require_minimum_version 1.5.0
load ../lib/common
load ../lib/runtime

setup_file() {
    rt_file_setup_bb
    # a script whose interpreter the image does not have
    local d
    d=$(mktemp -d "$BATS_FILE_TMPDIR/app.XXXXXX")
    mkdir -p "$d/app"
    printf '#!/bin/bash\necho never\n' >"$d/app/run.sh"
    chmod 755 "$d/app/run.sh"
    tar --numeric-owner -C "$d" -cf "$BATS_FILE_TMPDIR/app.tar" .
    rt_bb_image bbapp:1 '{"Cmd":["/app/run.sh"],"Env":["PATH=/bin"]}' "$BATS_FILE_TMPDIR/app.tar"
}

teardown_file() { rt_file_teardown; }

@test "run -d, ps, exec, logs, inspect, kill, stop, rm" {
    id=$(rt_run -d --name web bb:1 sh -c 'echo started; trap "exit 0" USR1 TERM; while :; do sleep 0.1; done')
    [ -n "$id" ]
    run "$NRUN" ps
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "CONTAINER ID"*NAMES ]]
    [[ $output == *" web"* ]]
    run "$NRUN" ps -q
    [ "$output" = "${id:0:12}" ]
    run "$NRUN" exec web sh -c 'echo in-$HOSTNAME'
    [ "$status" -eq 0 ]
    [ "$output" = "in-web" ]
    run "$NRUN" exec -e X=1 -w /tmp web sh -c 'echo $X $(pwd)'
    [ "$output" = "1 /tmp" ]
    run "$NRUN" logs web
    [ "$status" -eq 0 ]
    [ "$output" = started ]
    run "$NRUN" inspect --type container web
    [ "$status" -eq 0 ]
    [ "$(jq -r '.[0].Name' <<<"$output")" = /web ] || [ "$(jq -r '.[0].Name' <<<"$output")" = web ]
    run "$NRUN" kill -s USR1 web
    [ "$status" -eq 0 ]
    run "$NRUN" ps -a --format json
    [ "$status" -eq 0 ]
    run "$NRUN" stop -t 5 web
    [ "$status" -eq 0 ]
    run "$NRUN" rm web
    [ "$status" -eq 0 ]
    run "$NRUN" ps -a -q
    [ -z "$output" ]
}

@test "options may follow the operands, as docker's do (rm NAME -f); unknown ones are refused" {
    rt_run -d --name late bb:1 sleep 100 >/dev/null
    run "$NRUN" rm late
    [ "$status" -ne 0 ]
    [[ $output == *"stop it first or use rm -f"* ]]
    run "$NRUN" rm late -f
    [ "$status" -eq 0 ]
    run "$NRUN" kill --bogus late
    [ "$status" -eq 2 ]
    [ "$output" = "nrun kill: unknown option --bogus (see 'nrun kill --help')" ]
}

@test "a detached container whose script's interpreter is missing: logs name the interpreter" {
    id=$(rt_run -d bbapp:1)
    for _ in $(seq 1 100); do
        [ "$("$NRUN" inspect "$id" | jq -r '.[0].State.Status')" = exited ] && break
        sleep 0.1
    done
    run "$NRUN" logs "$id"
    [ "$status" -eq 0 ]
    [[ $output == *"exec /app/run.sh: its interpreter /bin/bash was not found"* ]]
    [ "$("$NRUN" inspect "$id" | jq '.[0].State.ExitCode')" = 127 ]
    # in the foreground too
    run -127 "$NRUN" run --rm bbapp:1
    [[ $output == *"its interpreter /bin/bash was not found"* ]]
    "$NRUN" rm "$id" >/dev/null
}

@test "logs: stdout and stderr lines keep the log's order on one pipe (2>&1)" {
    rt_run --name order bb:1 sh -c 'echo o1; sleep 0.2; echo e1 >&2; sleep 0.2; echo o2; sleep 0.2; echo e2 >&2' >/dev/null 2>&1
    run bash -c '"$1" logs order 2>&1 | cat' _ "$NRUN"
    [ "$status" -eq 0 ]
    [ "$output" = $'o1\ne1\no2\ne2' ]
    "$NRUN" rm order >/dev/null
}

@test "stats/top/scale/reload of a stopped container: 'is not running', no socket path, no (null)" {
    rt_run --name gone bb:1 true
    for v in stats top reload; do
        run "$NRUN" "$v" gone
        [ "$status" -eq 1 ]
        [ "$output" = "nrun: container gone is not running (exited)" ]
    done
    run "$NRUN" scale gone 2
    [ "$output" = "nrun: container gone is not running (exited)" ]
    "$NRUN" rm gone >/dev/null
}

@test "create, start, wait (prints the code), start -a, restart, rename" {
    id=$("$NRUN" create --cidfile "$BATS_FILE_TMPDIR/cids/created" --name made bb:1 sh -c 'echo run-$$; exit 3')
    [ "${#id}" -eq 64 ]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' made)" = created ]
    run "$NRUN" start made
    [ "$status" -eq 0 ]
    [ "$output" = made ]
    run "$NRUN" wait made
    [ "$status" -eq 0 ]
    [ "$output" = 3 ]
    [ "$("$NRUN" logs made | wc -l)" -eq 1 ]
    run -3 "$NRUN" start -a made
    [[ $output == run-* ]]
    [ "$("$NRUN" logs made | wc -l)" -eq 2 ]
    run "$NRUN" restart -t 1 made
    [ "$output" = made ]
    run "$NRUN" wait made
    [ "$output" = 3 ]
    run "$NRUN" rename made remade
    [ "$status" -eq 0 ]
    [ "$("$NRUN" inspect -f '{{.Name}}' remade)" = /remade ]
    rt_run -d --name other bb:1 sleep 100 >/dev/null
    run "$NRUN" rename remade other
    [ "$status" -eq 1 ]
    [[ $output == *'name "other" is already in use'* ]]
    run "$NRUN" rename remade 'bad name'
    [ "$status" -eq 1 ]
    "$NRUN" rm -f remade other >/dev/null
}

@test "start keeps the restart policy the container was created with" {
    "$NRUN" create --cidfile "$BATS_FILE_TMPDIR/cids/pol" --name pol --restart on-failure:2 bb:1 sh -c 'exit 4' >/dev/null
    [ "$("$NRUN" inspect -f '{{.HostConfig.RestartPolicy.Name}}' pol)" = on-failure ]
    "$NRUN" start pol >/dev/null
    for _ in $(seq 1 100); do
        [ "$("$NRUN" inspect -f '{{.State.Status}} {{.RestartCount}}' pol)" = "exited 2" ] && break
        sleep 0.1
    done
    [ "$("$NRUN" inspect -f '{{.State.Status}} {{.RestartCount}}' pol)" = "exited 2" ]
    "$NRUN" rm pol >/dev/null
}

@test "port, ps PORTS column, --filter, --format templates, --no-trunc" {
    p=$(rt_free_port)
    id=$(rt_run -d --name pub -p "127.0.0.1:$p:80" bb:1 sleep 100)
    rt_run --name quiet1 bb:1 true
    run "$NRUN" port pub
    [ "$output" = "80/tcp -> 127.0.0.1:$p" ]
    run "$NRUN" port pub 80
    [ "$output" = "127.0.0.1:$p" ]
    run "$NRUN" port pub 81
    [ "$status" -eq 1 ]
    # (ports as attached while it runs, from config.json once it ended)
    run "$NRUN" ps -a
    [[ ${lines[0]} == *PORTS* ]]
    [[ $output == *"127.0.0.1:$p->80/tcp"* ]]
    run "$NRUN" ps -a --filter status=exited --filter name=quiet --format '{{.Names}}'
    [ "$output" = quiet1 ]
    run "$NRUN" ps -a --filter name=pu --filter ancestor=bb:1 --format '{{.Names}} {{.Ports}}'
    [ "$output" = "pub 127.0.0.1:$p->80/tcp" ]
    run "$NRUN" ps --filter name=nomatch -q
    [ -z "$output" ]
    run "$NRUN" ps --format 'table {{.Names}}\t{{.Status}}'
    [[ ${lines[0]} =~ ^NAMES\ +STATUS$ ]]
    run "$NRUN" ps -a --filter name=pub --no-trunc --format '{{.ID}}'
    [ "$output" = "$id" ]
    run "$NRUN" ps --filter bogus=1
    [ "$status" -eq 2 ]
    run "$NRUN" ps --format '{{'
    [ "$status" -eq 2 ]
    "$NRUN" rm -f pub quiet1 >/dev/null
}

@test "inspect in docker's shape, -f templates on it" {
    rt_run --name shaped -e A=1 -w /tmp bb:1 sh -c 'exit 5' || true
    run "$NRUN" inspect shaped
    [ "$status" -eq 0 ]
    jq -e '.[0] | (.Id | length == 64) and .Name == "/shaped" and .State.Status == "exited" and .State.ExitCode == 5
        and .State.Running == false and (.State | has("OOMKilled") and has("StartedAt") and has("FinishedAt") and has("Health"))
        and .Config.Image == "bb:1" and (.Config.Env | index("A=1") != null) and .Config.Cmd == ["sh","-c","exit 5"]
        and .Config.WorkingDir == "/tmp" and (.Config | has("Entrypoint") and has("User") and has("Labels"))
        and (.HostConfig.RestartPolicy.Name == "no") and (.Mounts | type == "array")
        and (.NetworkSettings | has("Ports")) and (.Image | startswith("sha256:"))' <<<"$output"
    [ "$("$NRUN" inspect -f '{{.State.ExitCode}} {{json .Config.Cmd}}' shaped)" = '5 ["sh","-c","exit 5"]' ]
    "$NRUN" rm shaped >/dev/null
}

@test "run/create --label, --label-file: over the image's labels in inspect, matched by ps --filter label" {
    rt_bb_image bblab:1 '{"Cmd":["sh"],"Env":["PATH=/bin"],"Labels":{"tier":"img","keep":"yes"}}'
    printf '# labels\n\nowner=ops\r\n  team=web\nempty\n' >"$BATS_TEST_TMPDIR/labels"
    rt_run --name lab1 --label tier=front --label-file "$BATS_TEST_TMPDIR/labels" --label solo bblab:1 true
    "$NRUN" create --name lab2 --label tier=back bblab:1 true >/dev/null
    run "$NRUN" inspect -f '{{json .Config.Labels}}' lab1
    [ "$status" -eq 0 ]
    jq -e '. == {"tier":"front","keep":"yes","owner":"ops","team":"web","empty":"","solo":""}' <<<"$output"
    [ "$("$NRUN" inspect -f '{{.Config.Labels.tier}}' lab2)" = back ]
    run "$NRUN" ps -a --filter label=tier=front --format '{{.Names}}'
    [ "$output" = lab1 ]
    run "$NRUN" ps -a --filter label=keep --format '{{.Names}}'
    [ "$(sort <<<"$output" | tr '\n' ' ')" = "lab1 lab2 " ]
    run "$NRUN" ps -a --filter label=owner=ops --filter label=tier=back -q
    [ -z "$output" ]
    # bad input: one line naming the file and line, exit 125, nothing created
    printf 'ok=1\nbad name=2\n' >"$BATS_TEST_TMPDIR/bad"
    run "$NRUN" run --name lab3 --label-file "$BATS_TEST_TMPDIR/bad" bblab:1 true
    [ "$status" -eq 125 ]
    [[ $output == *"--label-file $BATS_TEST_TMPDIR/bad:2: label name \"bad name\" contains whitespace"* ]]
    run "$NRUN" run --name lab3 --label =x bblab:1 true
    [ "$status" -eq 125 ]
    [[ $output == *"empty label name"* ]]
    run "$NRUN" run --name lab3 --label-file /nonexistent bblab:1 true
    [ "$status" -eq 125 ]
    [[ $output == *"/nonexistent"* ]]
    run "$NRUN" ps -a --filter name=lab3 -q
    [ -z "$output" ]
    "$NRUN" rm lab1 lab2 >/dev/null
    "$NRUN" rmi bblab:1 >/dev/null
}

@test "logs -t: each line with its RFC 3339 time" {
    rt_run --name stamped bb:1 sh -c 'echo one; echo two >&2' >/dev/null 2>&1
    run "$NRUN" logs -t stamped
    [ "${#lines[@]}" -eq 2 ]
    [[ ${lines[0]} =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\ one$ ]]
    [[ ${lines[1]} =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\ two$ ]]
    "$NRUN" rm stamped >/dev/null
}

@test "cp: a file and a directory out of a running container and back in" {
    rt_run -d --name cpx bb:1 sh -c 'mkdir -p /data/d; echo one >/data/d/a; sleep 100' >/dev/null
    for _ in $(seq 1 50); do "$NRUN" exec cpx test -f /data/d/a && break; sleep 0.1; done
    out=$(mktemp -d "$BATS_FILE_TMPDIR/cp.XXXXXX")
    run "$NRUN" cp cpx:/data/d "$out"
    [ "$status" -eq 0 ]
    [ "$(cat "$out/d/a")" = one ]
    run "$NRUN" cp cpx:/data/d/a "$out/renamed"
    [ "$(cat "$out/renamed")" = one ]
    echo two >"$out/b"
    run "$NRUN" cp "$out/b" cpx:/data/d
    [ "$status" -eq 0 ]
    [ "$("$NRUN" exec cpx cat /data/d/b)" = two ]
    run "$NRUN" cp "$out/d" cpx:/data/copy
    [ "$("$NRUN" exec cpx cat /data/copy/a)" = one ]
    "$NRUN" rm -f cpx >/dev/null
}

@test "top: the container's processes, as docker's top; -i N and --workers max are pm2's worker counts" {
    rt_run -d --name procs bb:1 sh -c 'sleep 100 & sleep 200' >/dev/null
    for _ in $(seq 1 50); do [ "$("$NRUN" top procs | grep -c 'sleep [12]00')" -eq 2 ] && break; sleep 0.1; done
    run "$NRUN" top procs
    [ "$status" -eq 0 ]
    [[ ${lines[0]} =~ ^UID\ +PID\ +PPID\ +TIME\ +CMD$ ]]
    [[ $output == *"sleep 100"* ]]
    [[ $output == *"sleep 200"* ]]
    "$NRUN" rm -f procs >/dev/null
    id=$("$NRUN" create --cidfile "$BATS_FILE_TMPDIR/cids/w1" -i 3 bb:1 true)
    [ "$(jq -r '.annotations["org.nrun.workers"]' "$NRUN_ROOT/containers/$id/config.json")" = 3 ]
    id2=$("$NRUN" create --cidfile "$BATS_FILE_TMPDIR/cids/w2" --workers max bb:1 true)
    [ "$(jq -r '.annotations["org.nrun.workers"]' "$NRUN_ROOT/containers/$id2/config.json")" = "$(nproc)" ]
    "$NRUN" rm "$id" "$id2" >/dev/null
}
