#!/usr/bin/env bats
# The deploy journal and revision history (cli/deploy.c) are store files read
# as hostile input: bad JSON, wrong shapes, ids that are paths, a journal that
# names somebody else's container, symlinks, FIFOs and huge files.  Each is a
# clear one-line error naming the file (or, for ps, a line on stderr and
# exit 0), never a crash, and nothing is removed or read through a link.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() { rt_file_setup_bb; }
teardown_file() { rt_file_teardown; }
setup() {
    mkdir -p "$NRUN_ROOT/deploy"
    # a bystander that a hostile journal would like removed
    VICTIM=$(rt_run -d --name victim --network none bb:1 sleep 1000)
}
teardown() {
    rm -f "$NRUN_ROOT"/deploy/*.journal "$NRUN_ROOT"/deploy/*.json
    rt_rm_all
}
J="$BATS_FILE_TMPDIR/j"
# the victim is still there, running
victim_ok() { "$NRUN" ps --format '{{.ID}} {{.Names}}' | grep -q "^${VICTIM:0:12}"; }

probe_journal() { # CONTENT EXPECTED-MESSAGE
    printf '%s' "$1" >"$NRUN_ROOT/deploy/web.journal"
    run "$NRUN" ps
    echo "$output" >&2
    [ "$status" -eq 0 ]
    [[ "$output" == *"deploy/web.journal"*"$2"* ]]
    run "$NRUN" deploy web bb:1
    [ "$status" -eq 1 ]
    [[ "$output" == *"deploy/web.journal"*"$2"* ]]
    [ "$(grep -c . <<<"$output")" -eq 1 ]
    victim_ok
    [ -e "$NRUN_ROOT/deploy/web.journal" ] # left for the operator, not guessed at
}

# a well-formed journal whose containers are not NAME's: recovery touches nothing of the victim
probe_harmless() { # CONTENT
    printf '%s' "$1" >"$NRUN_ROOT/deploy/web.journal"
    run "$NRUN" ps
    echo "$output" >&2
    [ "$status" -eq 0 ]
    victim_ok
    [ ! -e "$NRUN_ROOT/deploy/web.journal" ]
}

@test "deploy journal: bad JSON names file:line:col" {
    probe_journal '{"old": ' ":1:8: "
}

@test "deploy journal: wrong shapes and ids that are paths are refused" {
    probe_journal '[]' "not a deploy journal"
    probe_journal '{"old":"../../etc","new":"","newname":"web-r2","rev":2,"step":"start"}' "not a deploy journal"
    probe_journal '{"old":"'"$VICTIM"'","new":"","newname":"web-r2","rev":2,"step":"rm -rf"}' "not a deploy journal"
    probe_journal '{"old":"'"$VICTIM"'","new":"","newname":"../victim","rev":2,"step":"start"}' "not a deploy journal"
}

@test "deploy journal: one that names a bystander as the new or old container removes nothing" {
    probe_journal '{"old":"'"$(printf 'a%.0s' $(seq 64))"'","new":"","newname":"victim","rev":2,"step":"start"}' "not touched"
    probe_harmless '{"old":"'"$(printf 'a%.0s' $(seq 64))"'","new":"'"$VICTIM"'","newname":"web-r2","rev":2,"step":"switch"}'
    probe_harmless '{"old":"'"$VICTIM"'","new":"'"$(printf 'b%.0s' $(seq 64))"'","newname":"web-r2","rev":2,"step":"drain"}'
    probe_harmless '{"old":"'"$VICTIM"'","new":"","newname":"web-r2","rev":2,"step":"start"}'
    "$NRUN" rename victim web
    probe_harmless '{"old":"'"$(printf 'a%.0s' $(seq 64))"'","new":"'"$VICTIM"'","newname":"web-r2","rev":2,"step":"drain"}'
    "$NRUN" ps --format '{{.Names}}' | grep -qx web
    "$NRUN" rename web victim
}

@test "deploy files: a symlink, a FIFO, a huge file are refused, never followed or read whole" {
    ln -s /etc/shadow "$NRUN_ROOT/deploy/web.json"
    run "$NRUN" history web
    [ "$status" -eq 1 ]
    [[ "$output" == *"deploy/web.json (a symlink)"* ]]
    [[ "$output" != *"root:"* ]]
    rm "$NRUN_ROOT/deploy/web.json"
    mkfifo "$NRUN_ROOT/deploy/web.json"
    run timeout 10 "$NRUN" history web
    [ "$status" -eq 1 ]
    [[ "$output" == *"not a regular file"* ]]
    rm "$NRUN_ROOT/deploy/web.json"
    head -c 2000000 /dev/zero | tr '\0' ' ' >"$NRUN_ROOT/deploy/web.json"
    run "$NRUN" history web
    [ "$status" -eq 1 ]
    [[ "$output" == *"deploy/web.json"*"larger than"* ]]
    victim_ok
}

@test "revision history: images that are flags, wrong types, deep nesting" {
    for h in '{"revisions":[{"rev":1,"image":"-v/:/host","result":"deployed"}]}' \
        '{"revisions":[{"rev":"1","image":"bb:1","result":"deployed"}]}' \
        '{"revisions":{"rev":1}}' \
        "$(printf '%.0s[' $(seq 5000))"; do
        printf '%s' "$h" >"$NRUN_ROOT/deploy/web.json"
        run "$NRUN" rollback web
        echo "$output" >&2
        [ "$status" -eq 1 ]
        [[ "$output" == *"deploy/web.json"* ]]
        [ "$(grep -c . <<<"$output")" -eq 1 ]
    done
    victim_ok
}

# A running web with a published port whose run.json "args" (a store file) are then rewritten.
web_with_args() { # ARGS-JSON
    local id
    id=$(rt_run -d --name web -p 8080:80 bb:1 sleep 1000)
    jq -c --argjson a "$1" '.args = $a' "$NRUN_ROOT/containers/$id/run.json" >"$BATS_TEST_TMPDIR/run.json"
    cp "$BATS_TEST_TMPDIR/run.json" "$NRUN_ROOT/containers/$id/run.json"
}

@test "deploy: hostile stored run flags are parsed by run's table, never pasted: refused naming run.json, nothing started" {
    for a in '[1]' '["--bogus"]' '["-e"]' '[{"x":1}]'; do
        web_with_args "$a"
        run "$NRUN" deploy web bb:1
        echo "$output" >&2
        [ "$status" -eq 1 ]
        [[ "$output" == *"/run.json"* ]]
        [ "$("$NRUN" ps -aq | wc -l)" -eq 2 ] # web and the victim: no new revision
        run "$NRUN" history web
        [ "$(grep -c . <<<"$output")" -eq 1 ] # the header only: no revision recorded
        "$NRUN" rm -f web >/dev/null
    done
    victim_ok
}

@test "--revision goes into metric labels and JSON log lines: only a short plain word is taken" {
    for v in 'a"b' 'a\b' "$(printf 'x%.0s' $(seq 33))" 'a b' '' 'r}1 0
fake 1'; do
        run "$NRUN" run --revision "$v" bb:1 true
        echo "$output" >&2
        [ "$status" -eq 125 ]
        [[ "$output" == *"--revision"*"expected 1..32 letters"* ]]
    done
    # a config.json annotation of another hand is checked the same when the container starts
    id=$("$NRUN" create --name r1 bb:1 true)
    jq '.annotations["org.nrun.supervisor.revision"] = "x\"} 1\nfake 2"' "$NRUN_ROOT/containers/$id/config.json" \
        >"$BATS_TEST_TMPDIR/c.json"
    cp "$BATS_TEST_TMPDIR/c.json" "$NRUN_ROOT/containers/$id/config.json"
    run "$NRUN" start -a r1
    echo "$output" >&2
    [ "$status" -ne 0 ]
    [[ "$output" == *"org.nrun.supervisor.revision"* ]]
    "$NRUN" rm -f r1 >/dev/null
    victim_ok
}

@test "deploy: a stored relative --env-file/--label-file/seccomp profile is the one run read, never one in deploy's directory" {
    rt_bb_image bbh:1 '{"Cmd":["httpd","-f","-p","80"],"Env":["PATH=/bin"]}'
    A=$BATS_TEST_TMPDIR/ops B=$BATS_TEST_TMPDIR/shared
    mkdir -p "$A" "$B"
    echo X=good >"$A/env.list"
    echo L=good >"$A/labels"
    # what another user would leave in a directory the operator deploys from (/tmp)
    echo '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}' \
        >"$A/prof.json"
    echo X=evil >"$B/env.list"
    echo L=evil >"$B/labels"
    echo '{"defaultAction":"SCMP_ACT_ALLOW"}' >"$B/prof.json"
    id=$(cd "$A" && rt_run -d --name web -p 8080:80 --env-file env.list --label-file labels \
        --security-opt seccomp=prof.json bbh:1)
    (cd "$B" && "$NRUN" deploy web bbh:1)
    run "$NRUN" inspect web
    [ "$(jq -r '.[0].Config.Env[] | select(startswith("X="))' <<<"$output")" = X=good ]
    [ "$(jq -r '.[0].Config.Labels.L' <<<"$output")" = good ]
    run "$NRUN" exec web mkdir /made
    [ "$status" -ne 0 ]
    [[ "$output" == *"Permission denied"* ]]
    # a run.json of an older nrun (no cwd) with a relative file: refused, nothing started
    id=$("$NRUN" ps -q --no-trunc -f name=web | head -1)
    jq -c 'del(.cwd) | .args += ["--env-file", "env.list"]' "$NRUN_ROOT/containers/$id/run.json" >"$BATS_TEST_TMPDIR/run.json"
    cp "$BATS_TEST_TMPDIR/run.json" "$NRUN_ROOT/containers/$id/run.json"
    n=$("$NRUN" ps -aq | wc -l)
    run bash -c "cd '$B' && '$NRUN' deploy web bbh:1"
    echo "$output" >&2
    [ "$status" -eq 1 ]
    [[ "$output" == *"/run.json: the stored --env-file env.list names a relative path and no working directory is on record"* ]]
    [ "$("$NRUN" ps -aq | wc -l)" -eq "$n" ]
    victim_ok
}

@test "deploy: a stored bare -e K takes K from the serving container, never from the deployer's environment" {
    rt_bb_image bbh:1 '{"Cmd":["httpd","-f","-p","80"],"Env":["PATH=/bin"]}'
    # run with K set and GONE unset: the container has K=runner-value and no GONE
    env -u GONE K=runner-value "$NRUN" run -d --name web -p 8082:80 -e K -e GONE bbh:1 >/dev/null
    run "$NRUN" inspect web
    [ "$(jq -r '.[0].Config.Env[] | select(startswith("K="))' <<<"$output")" = K=runner-value ]
    [ -z "$(jq -r '.[0].Config.Env[] | select(startswith("GONE="))' <<<"$output")" ]
    old=$("$NRUN" ps -q --no-trunc -f name=web)
    # the deployer's environment has other values for both
    K=deployer-secret GONE=deployer-gone run "$NRUN" deploy --watch 0 web bbh:1
    echo "$output" >&2
    [ "$status" -eq 0 ]
    new=$("$NRUN" ps -q --no-trunc -f name=web)
    [ -n "$new" ] && [ "$new" != "$old" ]
    run "$NRUN" inspect web
    [ "$(jq -r '.[0].Config.Env[] | select(startswith("K="))' <<<"$output")" = K=runner-value ]
    [ -z "$(jq -r '.[0].Config.Env[] | select(startswith("GONE="))' <<<"$output")" ]
    [[ "$output" != *deployer-* ]]
    # and the running process sees the same
    run "$NRUN" exec web env
    [ "$status" -eq 0 ]
    [[ "$output" == *"K=runner-value"* ]]
    [[ "$output" != *deployer-* ]]
    [[ "$output" != *GONE=* ]]
    victim_ok
}
