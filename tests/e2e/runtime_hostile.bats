#!/usr/bin/env bats
# Hostile images and flags (found by an audit): an image config's Volumes,
# users and /etc, sizes and encodings that do not fit config.json or exec,
# mount destinations, :ro over nested mounts.  Each is refused with one line,
# leaves no container behind, or is confined.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() { rt_file_setup_bb; }
teardown_file() { rt_file_teardown; }

# No container directory but the recycled ones (containers/.free).
no_containers() { [ -z "$(ls -A "$NRUN_ROOT/containers" | grep -v '^\.names\.lock$\|^\.free$')" ]; }

@test "an image's Volumes keys are container paths: never a host path or a named volume" {
    host=$BATS_TEST_TMPDIR/host
    mkdir -p "$host"
    echo s3cr3t-content >"$host/secret"
    cfg=$(jq -nc --arg h "$host:/h" '{Cmd:["sh"],Env:["PATH=/bin"],Volumes:{($h):{}, "/etc:/hetc:ro":{}, "/data":{}}}')
    "$NRUN" __internal mkimage -t evil-vol:1 --config "$cfg" "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
    run rt_run --rm evil-vol:1 sh -c 'cat /h/secret /hetc/shadow 2>&1; echo pwned >/h/w 2>&1; ls -d /data "'"$host"':/h"'
    [ "$status" -eq 0 ]
    [[ "$output" != *s3cr3t-content* && "$output" != *root:* ]]
    [[ "$output" == *"$host:/h"* ]]
    [ ! -e "$host/w" ]
    [ "$(ls "$host")" = secret ]
}

@test "nothing is mounted on /, /proc or /sys, nor nrun's volumes on /dev; -v fields must not be empty" {
    for v in "$BATS_TEST_TMPDIR:/" "$BATS_TEST_TMPDIR:/proc" "$BATS_TEST_TMPDIR:/proc/1" "$BATS_TEST_TMPDIR:/sys/firmware" \
        "loot:/proc/1" "loot:/sys" "loot:/dev/x" "/dev/x"; do
        run -125 rt_run --rm -v "$v" bb:1 true
        [[ "$output" == "nrun: -v $v: nothing may be mounted on "* ]]
    done
    for v in ":/x" "$BATS_TEST_TMPDIR::/x" "/x:" "a:b:c:d"; do
        run -125 rt_run --rm -v "$v" bb:1 true
        [[ "$output" == "nrun: -v $v: "* ]]
    done
    rt_bb_image evil-proc:1 '{"Cmd":["sh"],"Env":["PATH=/bin"],"Volumes":{"/proc/1":{}}}'
    MY_HOST_SECRET=hunter2 run -125 rt_run --rm evil-proc:1 true
    [ "$output" = "nrun: image VOLUME /proc/1: nothing may be mounted on /proc" ]
    [ ! -d "$NRUN_ROOT/volumes/loot" ]
    no_containers
    # a bind of the host's /dev is fine (binds copy nothing)
    run rt_run --rm -v /dev/null:/dev/mine bb:1 sh -c 'echo x >/dev/mine && echo ok'
    [ "$output" = ok ]
}

@test ":ro binds are read-only all the way down, mounts inside them included" {
    host=$BATS_TEST_TMPDIR/ro
    mkdir -p "$host/sub"
    mount -t tmpfs tmpfs "$host/sub"
    run rt_run --rm -v "$host:/h:ro" bb:1 sh -c 'echo a >/h/f; echo b >/h/sub/f; grep " /h" /proc/mounts'
    umount "$host/sub"
    [[ "$output" == *"/h/f: Read-only file system"* ]]
    [[ "$output" == *"/h/sub/f: Read-only file system"* ]]
    [ "$(grep -c ' ro,' <<<"$output")" -eq 2 ]
    [ ! -e "$host/f" ]
}

@test "user ids: beyond 4294967294 is refused, never wrapped to root; a uid without a passwd entry gets gid 0" {
    for u in 4294967296 4294967295 99999999999 1000:4294967296; do
        run -125 rt_run --rm -u "$u" bb:1 id
        [[ "$output" == *"id "*" is out of range (0-4294967294)" ]]
    done
    rt_bb_image wrap:1 '{"Cmd":["id"],"Env":["PATH=/bin"],"User":"4294967296"}'
    run -125 rt_run --rm wrap:1
    [[ "$output" == *"user id 4294967296 is out of range"* ]]
    run rt_run --rm -u 1234 bb:1 id
    [ "$output" = "uid=1234 gid=0(root) groups=0(root)" ]
    no_containers
}

@test "the image's users are read from its layers without following a symlink to the host's /etc" {
    grep -q '^nobody:' /etc/passwd
    d=$BATS_TEST_TMPDIR/l
    mkdir -p "$d"
    ln -s /etc "$d/etc"
    tar -C "$d" -cf "$BATS_TEST_TMPDIR/l.tar" etc
    rt_bb_image etclink:1 '{"Cmd":["id"],"Env":["PATH=/bin"],"User":"nobody"}' "$BATS_TEST_TMPDIR/l.tar"
    run -125 rt_run --rm etclink:1
    [ "$output" = "nrun: user \"nobody\" not found in the image's /etc/passwd" ]
    no_containers
}

@test "arguments that are not UTF-8 are refused, not dropped" {
    run -125 rt_run --rm bb:1 sh -c 'echo "$#"' x $'\xff' second
    [ "$output" = "nrun: argument 9 is not valid UTF-8" ]
    run -125 rt_run --rm -e $'A=\xff' bb:1 true
    [[ "$output" == "nrun: argument "*" is not valid UTF-8" ]]
    no_containers
}

@test "a command or environment exec cannot take is refused before anything is made" {
    python3 -c 'import json; print(json.dumps({"Env": ["PATH=/bin"], "Cmd": ["echo"] + ["x" * 100000] * 30}))' \
        >"$BATS_TEST_TMPDIR/big.json"
    "$NRUN" __internal mkimage -t big:1 --config-file "$BATS_TEST_TMPDIR/big.json" "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
    run -125 rt_run --rm big:1
    [[ "$output" == *"the command and environment take "*" bytes: more than exec takes (2 MiB)" ]]
    python3 -c 'import json; print(json.dumps({"Env": ["PATH=/bin", "BIG=" + "y" * 200000], "Cmd": ["true"]}))' \
        >"$BATS_TEST_TMPDIR/long.json"
    "$NRUN" __internal mkimage -t long:1 --config-file "$BATS_TEST_TMPDIR/long.json" "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
    run -125 rt_run --rm long:1
    [[ "$output" == *"process.env["*"] is 200004 bytes: longer than exec takes (128 KiB)" ]]
    no_containers
    # a long command still runs, and ps shows it cut short
    id=$(rt_run -d bb:1 sh -c "sleep 100 # $(printf 'z%.0s' $(seq 6000))")
    [ "$("$NRUN" ps --format json | jq -r "select(.ID == \"${id:0:12}\" or .Id == \"$id\") | .Command" | wc -c)" -le 4097 ]
    "$NRUN" rm -f "$id" >/dev/null
}

@test "a container whose state cannot be read is still removed (rm and rm -f)" {
    for f in "" -f; do
        id=$(rt_run -d bb:1 true)
        sleep 0.3
        echo garbage >"$NRUN_ROOT/containers/$id/state.json"
        run "$NRUN" rm $f "$id"
        [ "$status" -eq 0 ]
        [ ! -d "$NRUN_ROOT/containers/$id" ]
    done
}

@test "nrun's volumes take the image directory's owner and mode, also when it is empty" {
    d=$BATS_TEST_TMPDIR/img
    mkdir -p "$d/home/app" "$d/scratch"
    chown 1000:1000 "$d/home/app"
    chmod 1777 "$d/scratch"
    tar --numeric-owner -C "$d" -cf "$BATS_TEST_TMPDIR/img.tar" home scratch
    rt_bb_image owners:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$BATS_TEST_TMPDIR/img.tar"
    run rt_run --rm -u 1000 -v "homevol-$$:/home/app" -v /scratch owners:1 \
        sh -c 'stat -c "%u %a" /home/app /scratch; touch /home/app/x && echo wrote'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "1000 755" ]
    [ "${lines[1]}" = "0 1777" ]
    [ "${lines[2]}" = wrote ]
    rm -rf "$NRUN_ROOT/volumes/homevol-$$"
}
