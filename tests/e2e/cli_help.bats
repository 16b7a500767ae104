#!/usr/bin/env bats
# The command table: `nrun --help` lists exactly the verbs that exist, each
# answers --help with a usage line and exits 0, each is exercised by a
# tests/e2e/cli_*.bats file; an unknown verb is an error, the IMAGE shorthand
# only taken for a word that is an image.

bats_require_minimum_version 1.5.0
load ../lib/common
load ../lib/runtime

setup_file() { rt_file_setup_bb; }

teardown_file() { rt_file_teardown; }

# The verbs of `nrun --help`: the indented first words under a "Group:" line.
verbs() {
    "$NRUN" --help | awk '/^[A-Z][a-z]*:$/ {on = $0 != "Global options:"; next} on && /^  [a-z]/ {print $1}'
}

@test "nrun --help lists the command groups and at least the core verbs" {
    run "$NRUN" --help
    [ "$status" -eq 0 ]
    [[ $output == Usage:* ]]
    run verbs
    for v in run ps exec logs stop kill rm inspect images rmi build; do
        grep -qx "$v" <<<"$output" || { echo "missing verb $v"; return 1; }
    done
}

@test "every verb of nrun --help answers --help with a usage line, exit 0" {
    local v n=0
    for v in $(verbs); do
        run "$NRUN" "$v" --help
        [ "$status" -eq 0 ] || { echo "nrun $v --help: exit $status: $output"; return 1; }
        [[ ${lines[0]} == "Usage: nrun $v"* ]] || { echo "nrun $v --help: no usage line: ${lines[0]}"; return 1; }
        n=$((n + 1))
    done
    [ "$n" -ge 15 ]
}

@test "every verb of nrun --help runs in some tests/e2e/cli_*.bats file" {
    local v missing=
    for v in $(verbs); do
        # "$NRUN" VERB ... or rt_run (nrun run) in a cli_ test file other than this one
        if ! grep -lE "(\"\\\$NRUN\"|\\\$NRUN) $v( |\$)" "$BATS_TEST_DIRNAME"/cli_*.bats |
            grep -vq '/cli_help.bats$'; then
            missing="$missing $v"
        fi
    done
    [ -z "$missing" ] || { echo "verbs no cli_*.bats runs:$missing"; return 1; }
}

@test "nrun help VERB is nrun VERB --help" {
    run "$NRUN" help ps
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "Usage: nrun ps"* ]]
}

@test "an unknown option names itself and the help, exit 2" {
    run "$NRUN" ps --bogus
    [ "$status" -eq 2 ]
    [ "$output" = "nrun ps: unknown option --bogus (see 'nrun ps --help')" ]
    run "$NRUN" stop -t
    [ "$status" -eq 2 ]
    [[ $output == *"option -t needs a value"* ]]
}

@test "a command group without its subcommand: its usage on stderr, nothing on stdout, exit 2 (every group alike)" {
    local v groups=
    for v in $(verbs); do
        "$NRUN" "$v" --help 2>/dev/null | head -1 | grep -q "^Usage: nrun $v COMMAND" && groups="$groups $v"
    done
    echo "groups:$groups"
    [[ "$groups" == *" image"* && "$groups" == *" network"* && "$groups" == *" system"* && "$groups" == *" volume"* ]]
    for v in $groups; do
        run --separate-stderr "$NRUN" "$v"
        echo "$v: status $status, stdout [$output]"
        [ "$status" -eq 2 ]
        [ -z "$output" ]
        [[ "$stderr" == "Usage: nrun $v COMMAND"* ]]
        run --separate-stderr "$NRUN" "$v" --help
        [ "$status" -eq 0 ]
        [[ "$output" == "Usage: nrun $v COMMAND"* ]]
    done
}

@test "unknown command: one line, exit 2, the store unchanged" {
    local before
    before=$(nr_tree_hash "$NRUN_ROOT")
    for w in restart-me nosuchverb bogus; do
        run "$NRUN" "$w"
        [ "$status" -eq 2 ]
        [ "$output" = "nrun: unknown command \"$w\" (see 'nrun --help')" ]
    done
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    # and no store is made where there was none
    run env NRUN_ROOT="$BATS_FILE_TMPDIR/no-store" "$NRUN" nosuchverb
    [ "$status" -eq 2 ]
    [ ! -e "$BATS_FILE_TMPDIR/no-store" ]
}

@test "the IMAGE shorthand: an image in the store, or a word of tag/registry form" {
    run "$NRUN" bb:1 echo shorthand-ok
    [ "$status" -eq 0 ]
    [[ $output == *shorthand-ok* ]]
    "$NRUN" tag bb:1 bbonly
    run "$NRUN" bbonly echo plain-word-ok
    [ "$status" -eq 0 ]
    [[ $output == *plain-word-ok* ]]
    # tag form, not in the store: run's own error, not "unknown command"
    run "$NRUN" nosuch:1
    [ "$status" -ne 0 ]
    [[ $output == *"no such image"* ]]
    "$NRUN" rmi bbonly >/dev/null
}

@test "the version: nrun --version, nbuild --version" {
    run "$NRUN" --version
    [ "$status" -eq 0 ]
    [[ $output == "nrun version "* ]]
    run "$NBUILD" --version
    [[ $output == "nbuild version "* ]]
}
