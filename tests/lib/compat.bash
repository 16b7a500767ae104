# The set-up of the public-Dockerfile files (tests/e2e/build_compat*.bats;
# build_compat.bats defines a richer ctx after loading this): a store with
# the busybox image cbase:1, W = the file's directory,
# containers removed after each test, and ctx, a context holding a Nodefile.
load ../lib/common
load ../lib/runtime

setup_file() {
    rt_file_setup_busybox
    rt_bb_image cbase:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    export W=$BATS_FILE_TMPDIR
}

teardown() { rt_rm_all; }

teardown_file() { rt_file_teardown; }

# a context holding the Nodefile given as arguments (one line each) and an
# empty package.json; prints its path
ctx() {
    local c=$W/ctx.$BATS_TEST_NUMBER
    rm -rf "$c" && mkdir -p "$c"
    echo '{}' >"$c/package.json"
    printf '%s\n' "$@" >"$c/Nodefile"
    echo "$c"
}
