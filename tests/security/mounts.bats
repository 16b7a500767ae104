#!/usr/bin/env bats
# Mount destinations: every spelling of /, /proc, /sys, /dev and /dev/.nrun
# is refused (the check compares canonical paths), an image symlink cannot
# redirect a volume's copy-up into the kernel's views or a host directory
# onto /dev, and a volume's copy-up keeps the image's holes.
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    rt_bb_image mv:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    # a hostile layer: directories that are symlinks into the kernel's views and /dev
    local d=$BATS_FILE_TMPDIR/links
    mkdir -p "$d"
    ln -s /proc "$d/toproc"
    ln -s ../sys/kernel "$d/tosys"
    ln -s /dev "$d/todev"
    ln -s /dev/.nrun "$d/tonrun"
    ln -s /dev/shm "$d/toshm"
    ln -s ../dev/mqueue "$d/tomq"
    ln -s /dev/pts "$d/topts"
    tar --numeric-owner -C "$d" -cf "$BATS_FILE_TMPDIR/links.tar" .
    rt_bb_image links:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$BATS_FILE_TMPDIR/links.tar"
}

teardown() { rt_rm_all; }

teardown_file() { rt_file_teardown; }

VARIANTS=(/ // /. /.. /proc/../proc /x/../proc //proc /./proc /proc/ /proc/. /proc// /proc/sys/kernel //proc/sys/kernel/ /proc/self
    //sys /sys/ /sys/./ /./sys/fs/cgroup/x /sys/kernel //dev /dev/ /./dev /dev/. /dev/.nrun //dev/.nrun/ /dev/.nrun/x)

# $output is a refusal of the destination ("..", whatever it resolves to, is one too).
refused_dest() {
    [[ "$output" == *"nothing may be mounted on"* || "$output" == *'must be absolute without ".."'* ]]
}

# No container dir besides those counted before ($1).
no_new_containers() {
    [ "$(ls "$NRUN_ROOT/containers" | grep -vc '^\.')" -eq "$1" ]
}

@test "-v HOST:DEST: every spelling of /, /proc, /sys, /dev, /dev/.nrun is refused (125, one line), the host dir untouched" {
    h=$BATS_TEST_TMPDIR/host
    mkdir "$h"
    n=$(ls "$NRUN_ROOT/containers" | grep -vc '^\.' || true)
    for v in "${VARIANTS[@]}"; do
        run -125 rt_run --rm -v "$h:$v" mv:1 sh -c 'echo escaped >/proc/x 2>/dev/null; true'
        refused_dest || { echo "$v: $output"; return 1; }
        [ "${#lines[@]}" -eq 1 ]
        [ -z "$(ls -A "$h")" ] || { echo "$v: written into the host dir: $(ls -A "$h")"; return 1; }
    done
    no_new_containers "$n"
}

@test "-v NAME:DEST and -v DEST (anonymous): every spelling refused, no named volume made" {
    n=$(ls "$NRUN_ROOT/containers" | grep -vc '^\.' || true)
    i=0
    for v in "${VARIANTS[@]}" /dev/shm //dev/pts/; do
        i=$((i + 1))
        run -125 rt_run --rm -v "nv$i:$v" mv:1 true
        refused_dest || { echo "$v: $output"; return 1; }
        [ ! -e "$NRUN_ROOT/volumes/nv$i" ] || { echo "$v: volume nv$i made"; return 1; }
        run -125 rt_run --rm -v "$v" mv:1 true
        refused_dest || { echo "anonymous $v: $output"; return 1; }
    done
    # refused after a good -v: that one's volume is not made either
    run -125 rt_run --rm -v good1:/data -v bad1://proc/ mv:1 true
    [ ! -e "$NRUN_ROOT/volumes/good1" ]
    no_new_containers "$n"
}

@test "image VOLUME keys are checked in canonical form too" {
    for k in //proc /proc/ /./sys //dev/ /dev/.nrun /; do
        "$NRUN" __internal mkimage -t hv:1 --config "{\"Cmd\":[\"sh\"],\"Env\":[\"PATH=/bin\"],\"Volumes\":{\"$k\":{}}}" \
            "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
        run -125 rt_run --rm hv:1 true
        [[ "$output" == *"image VOLUME $k: nothing may be mounted on"* ]] || { echo "$k: $output"; return 1; }
    done
}

@test "a canonical spelling is stored: -v HOST://data/./x/ mounts at /data/x; duplicates are refused" {
    h=$BATS_TEST_TMPDIR/host
    mkdir "$h"
    echo hi >"$h/f"
    run rt_run --rm -v "$h://data/./x/" mv:1 cat /data/x/f
    [ "$status" -eq 0 ]
    [ "$output" = hi ]
    run -125 rt_run --rm -v "$h:/data" -v "$h://data/" mv:1 true
    [[ "$output" == *"duplicate mount point /data"* ]]
}

@test "an image symlink cannot turn a volume's copy-up into /proc or /sys: refused, the volume not filled" {
    for l in toproc tosys; do
        run rt_run --rm -v "v$l:/$l" links:1 true
        [ "$status" -ne 0 ]
        [[ "$output" == *"resolves into the container's"* ]] || { echo "$l: $output"; return 1; }
        [ -z "$(ls -A "$NRUN_ROOT/volumes/v$l/_data" 2>/dev/null)" ] || { echo "$l: $(ls "$NRUN_ROOT/volumes/v$l/_data" | head)"; return 1; }
        run rt_run --rm -v "/$l" links:1 true
        [ "$status" -ne 0 ]
    done
}

@test "an image symlink cannot put a host dir on /dev or /dev/.nrun: refused, nothing written into it" {
    for l in todev tonrun; do
        h=$BATS_TEST_TMPDIR/h$l
        mkdir "$h"
        run rt_run --rm -v "$h:/$l" links:1 true
        [ "$status" -ne 0 ]
        [[ "$output" == *"resolves to /dev"* ]] || { echo "$l: $output"; return 1; }
        [ -z "$(ls -A "$h")" ] || { echo "$l: written into the host dir: $(ls -A "$h")"; return 1; }
        sec_no_marker "$h/.nrun"
        sec_no_marker "$h/hosts"
    done
}

@test "an image symlink cannot put nrun's volumes in /dev/shm, /dev/mqueue or /dev/pts: refused" {
    for l in toshm tomq topts; do
        run rt_run --rm -v "v$l:/$l" links:1 true
        echo "$l: $output"
        [ "$status" -ne 0 ]
        [[ "$output" == *"resolves into /dev"* || "$output" == *"devpts filesystem"* ]]
        run rt_run --rm -v "/$l" links:1 true
        [ "$status" -ne 0 ]
    done
    # a host dir bound there stays allowed, as below /dev (docker's -v /dev/shm:/dev/shm)
    h=$BATS_TEST_TMPDIR/hshm
    mkdir "$h"
    run rt_run --rm -v "$h:/toshm" links:1 sh -c 'echo ok'
    [ "$output" = ok ]
}

@test "volume copy-up keeps holes: a sparse 1 GiB file in the image takes a few KB in the volume" {
    d=$BATS_TEST_TMPDIR/sparse
    mkdir -p "$d/data"
    truncate -s 1G "$d/data/big"
    printf start | dd of="$d/data/big" conv=notrunc status=none
    printf end | dd of="$d/data/big" bs=1 seek=$((512 * 1024 * 1024)) conv=notrunc status=none
    tar --sparse --numeric-owner -C "$d" -cf "$BATS_TEST_TMPDIR/sparse.tar" .
    rt_bb_image sp:1 '{"Cmd":["sh"],"Env":["PATH=/bin"],"Volumes":{"/data":{}}}' "$BATS_TEST_TMPDIR/sparse.tar"
    run rt_run --rm -v spvol:/data sp:1 sh -c 'head -c 5 /data/big; tail -c +536870913 /data/big | head -c 3; echo; wc -c </data/big'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = startend ]
    [ "${lines[1]}" -eq 1073741824 ]
    f=$NRUN_ROOT/volumes/spvol/_data/big
    [ "$(stat -c %s "$f")" -eq 1073741824 ]
    used=$(du -k "$f" | cut -f1)
    [ "$used" -lt 1024 ] || { echo "copy-up took ${used} KiB"; return 1; }
}

# docker's --mount and --tmpfs (runtime/spec_flags.c) take -v's checks --------

@test "--mount (bind, volume, tmpfs) and --tmpfs: every spelling of /, /proc, /sys, /dev, /dev/.nrun refused, the host dir untouched" {
    h=$BATS_TEST_TMPDIR/host
    mkdir "$h"
    n=$(ls "$NRUN_ROOT/containers" | grep -vc '^\.' || true)
    i=0
    for v in "${VARIANTS[@]}" /proc/kcore /sys/firmware /proc/sys/kernel/core_pattern; do
        i=$((i + 1))
        for m in "--mount=type=bind,src=$h,dst=$v" "--mount=type=bind,source=$h,destination=$v,readonly" \
            "--mount=type=volume,src=mv$i,dst=$v" "--mount=type=volume,target=$v" "--mount=type=tmpfs,dst=$v" \
            "--tmpfs=$v" "--tmpfs=$v:size=1m,exec"; do
            run -125 rt_run --rm "$m" mv:1 sh -c 'echo escaped >/proc/x 2>/dev/null; true'
            refused_dest || { echo "$m: $output"; return 1; }
            [ "${#lines[@]}" -eq 1 ]
        done
        [ -z "$(ls -A "$h")" ] || { echo "$v: written into the host dir: $(ls -A "$h")"; return 1; }
        [ ! -e "$NRUN_ROOT/volumes/mv$i" ] || { echo "$v: volume mv$i made"; return 1; }
    done
    # no tmpfs of the flags anywhere in /dev (shm and mqueue are nrun's; --shm-size sizes /dev/shm)
    for v in /dev/shm /dev/mqueue //dev/pts/x /dev/foo; do
        run -125 rt_run --rm --tmpfs "$v" mv:1 true
        refused_dest || { echo "$v: $output"; return 1; }
    done
    no_new_containers "$n"
}

@test "--mount type=bind onto an image symlink that leads out of the root: the bind lands inside the container" {
    h=$BATS_TEST_TMPDIR/src
    out=$BATS_TEST_TMPDIR/outside # where the symlinks point, seen from the host
    mkdir "$h" "$out"
    d=$BATS_TEST_TMPDIR/esc
    mkdir -p "$d$out" # the image has that path too: the bind must go there
    ln -s "../../../../../../../../../../..$out" "$d/rel"
    ln -s "$out" "$d/abs"
    ln -s "$out/none" "$d/dangling" # there only on the host
    mkdir "$out/none"
    tar --numeric-owner -C "$d" -cf "$BATS_TEST_TMPDIR/esc.tar" .
    rt_bb_image esc:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$BATS_TEST_TMPDIR/esc.tar"
    for l in rel abs; do
        run rt_run --rm --network none --mount "type=bind,src=$h,dst=/$l" esc:1 sh -c "echo $l >/$l/marker && cat $out/marker"
        [ "$status" -eq 0 ]
        [ "$output" = "$l" ] # the bind is at the container's own $out
        [ "$(cat "$h/marker")" = "$l" ]
        [ "$(ls -A "$out")" = none ] || { echo "$l: the host's $out got $(ls -A "$out")"; return 1; }
        ! grep -qF " $out" /proc/mounts
    done
    run -125 rt_run --rm --network none --mount "type=bind,src=$h,dst=/dangling" esc:1 true
    [ "$output" = "nrun: container setup: resolve /dangling in the container: ENOENT (No such file or directory)" ]
    [ -z "$(ls -A "$out/none")" ]
    ! grep -qF " $out" /proc/mounts
}

@test "--tmpfs and --mount type=tmpfs through an image symlink into /proc, /sys or /dev: refused" {
    for l in toproc tosys todev tonrun toshm tomq topts; do
        for m in "--tmpfs=/$l" "--mount=type=tmpfs,dst=/$l,tmpfs-size=1m"; do
            run -125 rt_run --rm --network none "$m" links:1 true
            [[ "$output" == "nrun: container setup: mount /$l: it resolves"* || "$output" == "nrun: container setup: volume /$l: it resolves into /dev"* ]] ||
                { echo "$m: $output"; return 1; }
        done
    done
}
