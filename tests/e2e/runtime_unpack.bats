#!/usr/bin/env bats
# Unpack once: layers/<diff_id>/ extracted once, verified, whiteouts mapped to
# overlay whiteouts, hostile entries refused with their name.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    MKTAR="$BATS_TEST_DIRNAME/runtime/mktar.py"
    for k in dotdot absolute symlink-parent symlink-rel-parent hardlink-abs hardlink-dotdot hardlink-via-symlink \
        chardev00 blockdev lower upper; do
        python3 "$MKTAR" "$BATS_FILE_TMPDIR/$k.tar" "$k"
    done
}

teardown_file() { rt_file_teardown; }

mkimg() { # REF LAYER...
    local ref=$1
    shift
    "$NRUN" __internal mkimage -t "$ref" --config '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$@" >/dev/null
}

layer_hex() { sha256sum "$1" | cut -c1-64; }

@test "a layer is unpacked once: the second container does no unpack work" {
    mkimg once:1 "$BATS_FILE_TMPDIR/bb.tar"
    run rt_run --rm once:1 true
    [ "$status" -eq 0 ]
    hex=$(layer_hex "$BATS_FILE_TMPDIR/bb.tar")
    [ -d "$NRUN_ROOT/layers/$hex" ]
    ino=$(stat -c %i "$NRUN_ROOT/layers/$hex")
    run "$NRUN" --debug run --cidfile "$BATS_FILE_TMPDIR/cids/once2" --rm once:1 true
    [[ "$output" == *"(0 layers unpacked)"* ]]
    [ "$(stat -c %i "$NRUN_ROOT/layers/$hex")" = "$ino" ]
}

@test "concurrent runs of a new image unpack each layer exactly once" {
    mkimg conc:1 "$BATS_FILE_TMPDIR/bb.tar" "$BATS_FILE_TMPDIR/lower.tar" "$BATS_FILE_TMPDIR/upper.tar"
    rm -rf "$NRUN_ROOT/layers/$(layer_hex "$BATS_FILE_TMPDIR/bb.tar")"
    mkdir -p "$BATS_FILE_TMPDIR/cids" # made by rt_run, which this test does not use
    for i in 1 2 3 4; do
        "$NRUN" --debug run --cidfile "$BATS_FILE_TMPDIR/cids/conc$i" --rm conc:1 true 2>"$BATS_TEST_TMPDIR/err$i" &
    done
    wait
    total=0
    for i in 1 2 3 4; do
        n=$(sed -n 's/.*(\([0-9]*\) layers unpacked).*/\1/p' "$BATS_TEST_TMPDIR/err$i")
        total=$((total + n))
    done
    [ "$total" -eq 3 ]
    [ -z "$(ls -A "$NRUN_ROOT/layers" | grep -e '^\.tmp-' -e '^\.lock-' || true)" ]
}

@test "OCI whiteouts become overlay whiteouts; hardlinks, symlinks and modes survive" {
    mkimg wh:1 "$BATS_FILE_TMPDIR/bb.tar" "$BATS_FILE_TMPDIR/lower.tar" "$BATS_FILE_TMPDIR/upper.tar"
    run rt_run --rm wh:1 sh -c 'ls /dir | tr "\n" " "; echo; ls /opq | tr "\n" " "; echo; ls /keep | tr "\n" " "; echo; cat /lnk; stat -c "%h %a" /hl-src /suid'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "b " ]
    [ "${lines[1]}" = "y " ]
    [ "${lines[2]}" = "c d " ]
    [ "${lines[3]}" = c ]
    [ "${lines[4]}" = "2 644" ]
    [ "${lines[5]}" = "1 4755" ]
    up="$NRUN_ROOT/layers/$(layer_hex "$BATS_FILE_TMPDIR/upper.tar")"
    [ "$(stat -c '%F %t:%T' "$up/dir/a")" = "character special file 0:0" ]
    [ "$(getfattr --only-values -n trusted.overlay.opaque "$up/opq" 2>/dev/null || python3 -c "import os;print(os.getxattr('$up/opq','trusted.overlay.opaque').decode())")" = y ]
}

@test "hostile layers are refused with the entry's name and write nothing" {
    mkimg evil-base:1 "$BATS_FILE_TMPDIR/bb.tar"
    rt_run --rm evil-base:1 true
    before=$(ls -A "$NRUN_ROOT/layers")
    for k in dotdot:nrun-test-evil absolute:/etc/nrun-test-evil symlink-parent:a/nrun-test-evil \
        symlink-rel-parent:b/nrun-test-evil hardlink-abs:/etc/shadow hardlink-dotdot:shadow \
        hardlink-via-symlink:shadow chardev00:etc/passwd blockdev:sda; do
        kind=${k%%:*} name=${k#*:}
        mkimg "evil-$kind:1" "$BATS_FILE_TMPDIR/bb.tar" "$BATS_FILE_TMPDIR/$kind.tar"
        run rt_run --rm "evil-$kind:1" true
        echo "$kind: $output"
        [ "$status" -eq 125 ]
        [[ "$output" == *"$name"* ]]
        [[ "$output" == *refused* ]]
        [ ! -d "$NRUN_ROOT/layers/$(layer_hex "$BATS_FILE_TMPDIR/$kind.tar")" ]
        # no temp dir, no lock file: layers/ is as it was
        [ "$(ls -A "$NRUN_ROOT/layers")" = "$before" ]
    done
    [ ! -e /etc/nrun-test-evil ]
    [ ! -e "$NRUN_ROOT/../etc/nrun-test-evil" ]
}

@test "a corrupt layer blob is detected while streaming and never used" {
    # a layer of its own: no other test has locked or unpacked it
    mkdir "$BATS_TEST_TMPDIR/c"
    head -c 4096 /dev/urandom >"$BATS_TEST_TMPDIR/c/data"
    tar --numeric-owner -C "$BATS_TEST_TMPDIR/c" -cf "$BATS_TEST_TMPDIR/c.tar" .
    mkimg corrupt:1 "$BATS_FILE_TMPDIR/bb.tar" "$BATS_TEST_TMPDIR/c.tar"
    hex=$(layer_hex "$BATS_TEST_TMPDIR/c.tar")
    rm -rf "$NRUN_ROOT/layers/$hex"
    blob="$NRUN_ROOT/blobs/sha256/$hex"
    chmod u+w "$blob"
    printf 'Z' | dd of="$blob" bs=1 seek=600 conv=notrunc 2>/dev/null
    before=$(ls -A "$NRUN_ROOT/layers")
    run rt_run --rm corrupt:1 true
    [ "$status" -eq 125 ]
    [[ "$output" == *"$hex"* ]]
    [ ! -d "$NRUN_ROOT/layers/$hex" ]
    [ "$(ls -A "$NRUN_ROOT/layers")" = "$before" ]
}

@test "a half-unpacked temp dir left by a crash is removed and ignored" {
    mkimg crash:1 "$BATS_FILE_TMPDIR/bb.tar" "$BATS_FILE_TMPDIR/upper.tar"
    hex=$(layer_hex "$BATS_FILE_TMPDIR/upper.tar")
    rm -rf "$NRUN_ROOT/layers/$hex"
    mkdir -p "$NRUN_ROOT/layers/.tmp-$hex-999999/junk"
    run rt_run --rm crash:1 cat /opq/y
    [ "$output" = y ]
    [ ! -e "$NRUN_ROOT/layers/.tmp-$hex-999999" ]
}
