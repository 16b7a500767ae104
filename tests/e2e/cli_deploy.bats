#!/usr/bin/env bats
# The verbs of cli/deploy.c as a user meets them first: help, usage errors,
# an empty history.  The switch itself under load is tests/e2e/deploy.bats.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() { rt_file_setup_bb; }
teardown_file() { rt_file_teardown; }
teardown() { rt_rm_all; }

@test "deploy, update, rollback, history: help, usage errors, what a container without ports gets" {
    for v in deploy update rollback history; do
        run "$NRUN" $v --help
        [ "$status" -eq 0 ]
        [[ "$output" == *"Usage: nrun $v"* ]]
    done
    run "$NRUN" deploy onlyname
    [ "$status" -eq 2 ]
    [[ "$output" == *"nrun deploy [OPTIONS] NAME IMAGE"* ]]
    run "$NRUN" update web
    [ "$status" -eq 2 ]
    [[ "$output" == *"--image IMAGE NAME"* ]]
    run "$NRUN" deploy --watch soon web bb:1
    [ "$status" -eq 2 ]
    [[ "$output" == *"soon: expected a duration"* ]]
    run "$NRUN" deploy ../x bb:1
    [ "$status" -eq 2 ]
    [[ "$output" == *"not a container name"* ]]
    run "$NRUN" history web
    [ "$status" -eq 0 ]
    [[ "$output" == "REV"*"RESULT" ]]
    run "$NRUN" rollback web
    [ "$status" -eq 2 ]
    [[ "$output" == *"no earlier revision"* ]]
    rt_run -d --name web --network none bb:1 sleep 1000 >/dev/null
    run "$NRUN" deploy web bb:1
    [ "$status" -eq 2 ]
    [[ "$output" == *"publishes no ports"* ]]
    "$NRUN" stop -t 0 web >/dev/null
    run "$NRUN" deploy web bb:1
    [ "$status" -eq 2 ]
    [[ "$output" == *"is not running"* ]]
}
