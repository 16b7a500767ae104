#!/usr/bin/env bats
# RUN --mount=type=bind: the step must see the very directory nbuild checked
# beneath the context, never what a path names later.  The context is
# hostile (a checkout, or a process that writes it while the build runs): a
# component of the source swapped for a symlink to the host between the
# check and the mount must never give the step the host's tree.
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    rt_bb_image bbase:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    # a host directory next to the contexts, with a marker no context holds
    export OUT="$BATS_FILE_TMPDIR/outside"
    export MARKER="HOST-MARKER-$$-$RANDOM"
    export INSIDE="CONTEXT-FILE-$$-$RANDOM"
    mkdir -p "$OUT/deep"
    echo "$MARKER" >"$OUT/$MARKER"
    echo "$MARKER" >"$OUT/deep/$MARKER"
}

teardown() {
    local pid
    if [ -f "$BATS_TEST_TMPDIR/swapper.pid" ]; then
        pid=$(cat "$BATS_TEST_TMPDIR/swapper.pid")
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        rm -f "$BATS_TEST_TMPDIR/swapper.pid"
    fi
    rt_rm_all
}

teardown_file() { rt_file_teardown; }

# nothing of the store's bind views is left or mounted
no_bind_left() {
    [ -z "$(ls -A "$NRUN_ROOT/cache/build/binds" 2>/dev/null)" ]
    run grep -F " $NRUN_ROOT/cache/build/binds" /proc/self/mountinfo
    [ "$status" -ne 0 ]
}

@test "bind race: the bound directory swapped for a symlink to the host, over and over, during 30 builds" {
    local c="$BATS_TEST_TMPDIR/c" i ok=0 refused=0
    mkdir -p "$c/sub/deep" "$c/alt"
    echo "$INSIDE" >"$c/sub/$INSIDE"
    echo "$INSIDE" >"$c/sub/deep/$INSIDE"
    ln -s "$OUT" "$c/alt/sub" # exchanged with sub, atomically, until killed
    # two binds: the source itself swapped, and a component above it
    cat >"$c/Nodefile" <<'EOF'
FROM bbase:1
RUN --mount=type=bind,source=sub,target=/m1 --mount=type=bind,source=sub/deep,target=/m2 sh -c 'echo seen: $(ls /m1 /m2); cat /m1/* /m2/* 2>/dev/null; true'
EOF
    # a pause between swaps: the check more often sees one state throughout,
    # while the longer way to the mount still crosses many swaps
    python3 "$BATS_TEST_DIRNAME/../lib/swap_dirs.py" "$c/sub" "$c/alt/sub" 0.001 &
    echo $! >"$BATS_TEST_TMPDIR/swapper.pid"
    for i in $(seq 1 30); do
        run "$NBUILD" --no-cache --progress=plain -t race:$i "$c"
        [[ "$output" != *Sanitizer* && "$output" != *"runtime error:"* ]] # under ASAN
        if [[ "$output" == *"$MARKER"* ]]; then
            echo "build $i: the step saw the host's directory: $output" >&2
            false
        fi
        if [ "$status" -eq 0 ]; then
            ok=$((ok + 1))
            # the step saw the context's directory, whichever name it had then
            [[ "$output" == *"seen: "*"$INSIDE"* ]]
        else
            refused=$((refused + 1))
            # the check (or the content digest of the cache key) saw the
            # swap: a clear error on the RUN line
            [[ "$output" =~ Nodefile:2:(5|45):\ RUN\ --mount=type=bind,source=sub(/deep)?:\  ]] &&
                [[ "$output" == *"changed while reading the build context"* ||
                    "$output" == *"not found in the build context"* ]] ||
                { echo "unclear error: $output" >&2; false; }
        fi
    done
    kill -0 "$(cat "$BATS_TEST_TMPDIR/swapper.pid")" # the swapper ran all along
    echo "# $ok builds ran the step, $refused were refused at the check" >&3
    [ -e "$OUT/$MARKER" ] && [ -e "$OUT/deep/$MARKER" ]
    no_bind_left
}

@test "bind: a source through a symlink out of the context resolves inside it (nothing there: refused on its line), never the host's; the store is unchanged" {
    local c="$BATS_TEST_TMPDIR/c" before src
    mkdir -p "$c/in"
    ln -s "$OUT" "$c/abs"
    ln -s "$(realpath --relative-to="$c" "$OUT")" "$c/up" # ../../..: relative, out of the context
    ln -s "$OUT" "$c/in/deeper"
    before=$(nr_tree_hash "$NRUN_ROOT")
    for src in abs abs/deep in/deeper "in/deeper/$MARKER" up; do
        printf 'FROM bbase:1\nRUN --mount=type=bind,source=%s,target=/m cat /m/%s /m/deep/%s\n' \
            "$src" "$MARKER" "$MARKER" >"$c/Nodefile"
        run "$NBUILD" --no-cache --progress=plain -t static:1 "$c"
        echo "$src: $status $output"
        [ "$status" -ne 0 ]
        [[ "$output" == *"Nodefile:2:5: RUN --mount=type=bind,source=$src: "* ]]
        # the link resolves inside the context (as COPY's do, and BuildKit's)
        # and finds nothing there: the cache key's digest or the mount's
        # check says so
        [[ "$output" == *"not found in the build context"*"resolves inside the context (as BuildKit does), and nothing is there"* ]]
        # the step never ran: no line of the host file's content
        run grep -cxF "$MARKER" <<<"$output"
        [ "$output" = 0 ]
    done
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    no_bind_left
}

@test "bind: the step's view is read-only (EROFS), a file bind too, and the context is unchanged" {
    local c="$BATS_TEST_TMPDIR/c"
    mkdir -p "$c/d"
    echo "$INSIDE" >"$c/d/f"
    echo "$INSIDE" >"$c/file"
    cat >"$c/Nodefile" <<'EOF'
FROM bbase:1
RUN --mount=type=bind,source=d,target=/m --mount=type=bind,source=file,target=/f sh -c 'cat /m/f /f; touch /m/new; echo x >>/m/f; echo x >>/f; mkdir /m/dir; grep -E " /(m|f) " /proc/self/mountinfo | cut -d" " -f5,6; true'
EOF
    run "$NBUILD" --no-cache --progress=plain -t ro:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(grep -c "^$INSIDE\$" <<<"$output")" -eq 2 ]
    [ "$(grep -c "Read-only file system" <<<"$output")" -eq 4 ]
    grep -qE '^/m ro,' <<<"$output"
    grep -qE '^/f ro,' <<<"$output"
    [ "$(cat "$c/d/f")" = "$INSIDE" ] && [ "$(cat "$c/file")" = "$INSIDE" ]
    [ "$(ls -A "$c/d")" = f ]
    no_bind_left
}
