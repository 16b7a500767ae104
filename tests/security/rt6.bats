#!/usr/bin/env bats
# Red-team round 6: what a compose file (and its .env) from a cloned
# repository can make nrun compose do that its user did not write, and the
# entrypoints of the redis, postgres and nginx images nbuild makes.
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    rt_bb_image bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
}
teardown() { rt_rm_all; }
teardown_file() {
    for n in $("$NRUN" network ls -q 2>/dev/null); do
        case $n in bridge) ;; *) "$NRUN" network rm "$n" >/dev/null 2>&1 || true ;; esac
    done
    rt_file_teardown
}

bounded() { sec_bounded 20 "$@"; }

@test "image: is a reference, never a flag of nrun run (--device=, which compose's devices: does not pass, is refused)" {
    d=$BATS_TEST_TMPDIR/inj
    mkdir -p "$d"
    printf 'services:\n  s:\n    image: "--device=/dev/kmsg:/dev/hostkmsg"\n    command: ["bb:1", "ls", "/dev/hostkmsg"]\n' \
        >"$d/compose.yaml"
    before=$(nr_tree_hash "$NRUN_ROOT")
    for verb in "run --rm -T s" "up -d" "config"; do
        # shellcheck disable=SC2086 # the verb's words
        run "$NRUN" compose --project-directory "$d" -f "$d/compose.yaml" $verb
        echo "$output"
        [ "$status" -ne 0 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == *'services.s.image: invalid reference format "--device=/dev/kmsg:/dev/hostkmsg"'* ]]
        [[ "$output" != */dev/hostkmsg$'\n'* ]]
    done
    [ -z "$("$NRUN" ps -aq)" ]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}
