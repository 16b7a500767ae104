#!/usr/bin/env bats
# The build context is hostile too: its symlinks, and a context that changes
# while nbuild reads it (a directory swapped for a symlink to the host), must
# never make nbuild copy a file from outside the context into an image.
load ../lib/common
bats_require_minimum_version 1.5.0

setup_file() {
    nr_make_root
    export OUT="$BATS_FILE_TMPDIR/outside"
    mkdir -p "$OUT"
    # the secret and the in-context file have the same size, so a read that
    # went outside would not be caught by a size check alone
    export SECRET="SECRET-$$-$RANDOM-$RANDOM-xxxxxxxxxxxxxxxxxxxxxxxx"
    export INSIDE
    INSIDE="INSIDE-$(printf '%*s' $((${#SECRET} - 7)) '' | tr ' ' i)"
    [ ${#INSIDE} -eq ${#SECRET} ]
    printf '%s\n' "$SECRET" >"$OUT/f"
    printf '%s\n' "$SECRET" >"$OUT/passwd"
}

teardown() {
    local pid
    if [ -f "$BATS_TEST_TMPDIR/swapper.pid" ]; then
        pid=$(cat "$BATS_TEST_TMPDIR/swapper.pid")
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        rm -f "$BATS_TEST_TMPDIR/swapper.pid"
    fi
}

teardown_file() {
    nr_remove_root
}

# Fails when any file of the store (layer blobs decompressed, cache records,
# the stat cache) holds the string $1.
store_lacks() {
    local f
    while IFS= read -r -d '' f; do
        if grep -qaF "$1" "$f" || { gzip -t "$f" 2>/dev/null && zcat "$f" | grep -qaF "$1"; }; then
            echo "$1 leaked into $f" >&2
            return 1
        fi
    done < <(find "$NRUN_ROOT" -type f -print0)
}

# The layers of the OCI layout $1, decompressed, to stdout.
oci_layers_cat() {
    local m l
    m=$(jq -r '.manifests[0].digest' "$1/index.json" | sed 's/^sha256://')
    for l in $(jq -r '.layers[].digest' "$1/blobs/sha256/$m" | sed 's/^sha256://'); do
        zcat -f "$1/blobs/sha256/$l"
    done
}

@test "context symlinks: sub -> /etc, sub -> ../outside and sub* globs resolve inside the context, never read outside; an in-context link is followed" {
    # the context sits next to $OUT, so ../outside from it is the secret
    local c="$BATS_FILE_TMPDIR/c1" host_pw
    mkdir -p "$c/real"
    printf '%s\n' "$INSIDE" >"$c/real/passwd"
    ln -s /etc "$c/etc"
    ln -s ../outside "$c/up"
    ln -s "$OUT" "$c/abs"
    for src in etc/passwd up/passwd abs/passwd; do
        printf 'FROM scratch\nCOPY %s /p/\n' "$src" >"$c/Nodefile"
        run "$NBUILD" --no-cache -t sym:1 "$c"
        echo "$src: $output"
        [ "$status" -ne 0 ]
        # resolved inside the context (BuildKit's way): nothing there, or etc -> /etc is itself
        [[ "$output" =~ "Nodefile:2:6: COPY: "("source "[^:]*" not found in the build context"|"source etc/passwd: too many levels of symlinks") ]]
    done
    # a wildcard that matches nothing inside the context copies nothing
    # (BuildKit's rule): the build succeeds with an empty /p
    for src in 'u*/passwd' 'a*/passwd' 'up/*'; do
        printf 'FROM scratch\nCOPY %s /p/\n' "$src" >"$c/Nodefile"
        run "$NBUILD" --no-cache -t sym:1 --output "oci:$BATS_TEST_TMPDIR/w" "$c"
        echo "$src: $output"
        [ "$status" -eq 0 ]
        # the step made no layer (or one of directories only)
        [ -z "$(oci_layers_cat "$BATS_TEST_TMPDIR/w" | { tar -tf - 2>/dev/null || true; } | grep -v '/$')" ]
        rm -rf "$BATS_TEST_TMPDIR/w"
    done
    store_lacks "$SECRET"
    host_pw=$(head -1 /etc/passwd)
    store_lacks "$host_pw"
    # a link that stays inside the context is followed (as today, as BuildKit)
    ln -s real "$c/in"
    printf 'FROM scratch\nCOPY in/passwd /p\n' >"$c/Nodefile"
    run "$NBUILD" --no-cache -t sym:2 --output "oci:$BATS_TEST_TMPDIR/oci" "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    oci_layers_cat "$BATS_TEST_TMPDIR/oci" | grep -qaF "$INSIDE"
    rm -rf "$c"
}

@test "a COPY source that is a link to /etc/passwd copies CTX/etc/passwd (the context is the root, as BuildKit), never the host's" {
    local c="$BATS_TEST_TMPDIR/c" host_pw
    host_pw=$(head -1 /etc/passwd)
    mkdir -p "$c/etc" "$c/dir"
    printf '%s\n' "$INSIDE" >"$c/etc/passwd"
    ln -s /etc/passwd "$c/pw"
    ln -s ../../../../../../../../etc/passwd "$c/up"
    ln -s "$OUT/f" "$c/abs"
    ln -s /etc/passwd "$c/dir/l" # inside a copied directory: copied as the link it is
    printf 'FROM scratch\nCOPY pw /a\nCOPY up /b\nCOPY dir /d/\n' >"$c/Nodefile"
    run "$NBUILD" --no-cache -t symroot:1 --output "oci:$BATS_TEST_TMPDIR/oci" "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(oci_layers_cat "$BATS_TEST_TMPDIR/oci" | grep -acF "$INSIDE")" -eq 2 ]
    run bash -c "set -o pipefail; for l in \$(jq -r '.layers[].digest' '$BATS_TEST_TMPDIR/oci/blobs/sha256/'\$(jq -r '.manifests[0].digest' '$BATS_TEST_TMPDIR/oci/index.json' | cut -d: -f2) | cut -d: -f2); do zcat -f '$BATS_TEST_TMPDIR/oci/blobs/sha256/'\$l | tar -tvf -; done"
    echo "$output"
    [[ "$output" =~ "d/l -> /etc/passwd" ]]
    run store_lacks "$host_pw"
    [ "$status" -eq 0 ]
    # the target absent from the context: a clear error that names the link, not the host's file
    printf 'FROM scratch\nCOPY abs /a\n' >"$c/Nodefile"
    run "$NBUILD" --no-cache -t symroot:2 "$c"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:6: COPY: source abs not found in the build context: it is a symlink to $OUT/f, which resolves inside the context (as BuildKit does), and nothing is there"* ]]
    rm "$c/etc/passwd"
    printf 'FROM scratch\nCOPY pw /a\n' >"$c/Nodefile"
    run "$NBUILD" --no-cache -t symroot:3 "$c"
    [ "$status" -ne 0 ]
    [[ "$output" == *"source pw not found in the build context: it is a symlink to /etc/passwd"* ]]
    run store_lacks "$SECRET"
    [ "$status" -eq 0 ]
    run store_lacks "$host_pw"
    [ "$status" -eq 0 ]
    rm -rf "$c"
}

@test "context race: a COPY source's directory swapped for a symlink to the host while nbuild reads it" {
    command -v jq >/dev/null || skip "jq is not installed (make deps)"
    local c="$BATS_TEST_TMPDIR/c" i ok=0 failed=0 kind k
    local -A kinds=()
    mkdir -p "$c/sub/deep" "$c/alt"
    printf '%s\n' "$INSIDE" >"$c/sub/f"
    printf '%s\n' "$INSIDE" >"$c/sub/deep/f"
    mkdir -p "$OUT/deep"
    printf '%s\n' "$SECRET" >"$OUT/deep/f"
    ln -s "$OUT" "$c/alt/sub" # swapped with sub, atomically, over and over
    # an ADD archive of the same size inside and outside
    (cd "$BATS_TEST_TMPDIR" && mkdir -p ti to && printf '%s\n' "$INSIDE" >ti/x && printf '%s\n' "$SECRET" >to/x &&
        tar --mtime=@0 --owner=0 --group=0 -C ti -cf "$c/sub/a.tar" x && tar --mtime=@0 --owner=0 --group=0 -C to -cf "$OUT/a.tar" x)
    printf 'FROM scratch\nCOPY sub/f /f\nCOPY sub/ /d/\nCOPY sub/deep/f sub/f /e/\nADD sub/a.tar /t/\n' >"$c/Nodefile"
    # the swapper: renameat2(RENAME_EXCHANGE) of c/sub and c/alt/sub, until killed
    python3 "$BATS_TEST_DIRNAME/../lib/swap_dirs.py" "$c/sub" "$c/alt/sub" &
    echo $! >"$BATS_TEST_TMPDIR/swapper.pid"
    for i in $(seq 1 40); do
        rm -rf "$BATS_TEST_TMPDIR/oci"
        run "$NBUILD" --no-cache -q -t race:$i --output "oci:$BATS_TEST_TMPDIR/oci" "$c"
        [[ "$output" != *Sanitizer* && "$output" != *"runtime error:"* ]] # under ASAN (check-asan)
        if [ "$status" -eq 0 ]; then
            ok=$((ok + 1))
            # what a success copied is the context's content
            oci_layers_cat "$BATS_TEST_TMPDIR/oci" >"$BATS_TEST_TMPDIR/layers"
            grep -qaF "$INSIDE" "$BATS_TEST_TMPDIR/layers"
            run grep -qaF "$SECRET" "$BATS_TEST_TMPDIR/layers"
            [ "$status" -ne 0 ]
        else
            failed=$((failed + 1))
            # a failure names what happened, in one line
            kind=$(echo "$output" | grep -oE "changed while reading the build context|changed before the layer was written|outside the build context|not found in the build context|No such file|ENOENT" | head -1)
            [ -n "$kind" ] || { echo "unclear error: $output" >&2; false; }
            kinds[$kind]=$((${kinds[$kind]:-0} + 1))
        fi
    done
    kill -0 "$(cat "$BATS_TEST_TMPDIR/swapper.pid")" # the swapper ran all along
    echo "# $ok builds succeeded, $failed failed cleanly:" >&3
    for k in "${!kinds[@]}"; do echo "#   ${kinds[$k]} $k" >&3; done
    store_lacks "$SECRET"
}
