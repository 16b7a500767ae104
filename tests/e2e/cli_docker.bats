#!/usr/bin/env bats
# docker's command words that nrun lacked: the `container` group, pause /
# unpause (the freezer), diff, export, commit, image history, images
# --filter and builder prune.  Every test checks the effect itself: a frozen
# counter, the files of a tar, a new image run, the store's records.

bats_require_minimum_version 1.5.0
load ../lib/common
load ../lib/runtime

setup_file() {
    rt_file_setup_busybox
    # bb:1 with a file in /etc and one in /data to change and delete
    local d
    d=$(mktemp -d "$BATS_FILE_TMPDIR/top.XXXXXX")
    mkdir -p "$d/etc" "$d/data/keep"
    echo image-motd >"$d/etc/motd"
    echo old-one >"$d/data/old1"
    echo kept >"$d/data/keep/k"
    tar --numeric-owner -C "$d" -cf "$BATS_FILE_TMPDIR/top.tar" .
    rt_bb_image bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$BATS_FILE_TMPDIR/top.tar"
}

teardown_file() { rt_file_teardown; }

# the counter a container writes to /tmp/n every 50 ms, read from inside
counter() { "$NRUN" exec "$1" cat /tmp/n; }
counting() {
    rt_run -d --network none --name "$1" bb:1 sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.05; done'
    for _ in $(seq 1 100); do "$NRUN" exec "$1" test -s /tmp/n 2>/dev/null && return 0; sleep 0.05; done
    return 1
}
upper_of() { echo "$NRUN_ROOT/containers/$("$NRUN" inspect -f '{{.Id}}' "$1")/upper"; }

@test "container group: ls, run, inspect, logs, stop, rm are the commands of those names" {
    run "$NRUN" container run -d --network none --name grp bb:1 sh -c 'echo hi-from-grp; sleep 100'
    [ "$status" -eq 0 ]
    id=$output
    echo "$id" >"$BATS_FILE_TMPDIR/cids/grp" 2>/dev/null || true
    run "$NRUN" container ls --format '{{.Names}}'
    [ "$output" = grp ]
    run "$NRUN" container list -q
    [ "$output" = "${id:0:12}" ]
    run "$NRUN" container ps -a --format '{{.Names}}'
    [ "$output" = grp ]
    run "$NRUN" container inspect -f '{{.State.Status}}' grp
    [ "$output" = running ]
    # containers only: an image name is no container
    run -127 "$NRUN" container inspect bb:1
    [[ $output == *"no such container"* ]]
    for _ in $(seq 1 50); do [ "$("$NRUN" container logs grp)" = hi-from-grp ] && break; sleep 0.1; done
    run "$NRUN" container logs grp
    [ "$output" = hi-from-grp ]
    run "$NRUN" container stop -t 1 grp
    [ "$status" -eq 0 ]
    run "$NRUN" container inspect -f '{{.State.Status}}' grp
    [ "$output" = exited ]
    run "$NRUN" container rm grp
    [ "$status" -eq 0 ]
    run "$NRUN" ps -aq
    [ -z "$output" ]
    run "$NRUN" container bogus
    [ "$status" -eq 2 ]
    [[ $output == *"unknown subcommand bogus"* ]]
    run "$NRUN" container
    [ "$status" -eq 2 ]
}

@test "container prune removes the stopped containers only, with docker's report; asks without -f" {
    rt_run --network none --name done1 bb:1 sh -c 'echo x >/big; exit 3' || true
    rt_run --network none --name done2 --label keep=yes bb:1 true || true
    rt_run -d --network none --name alive bb:1 sleep 100 >/dev/null
    id1=$("$NRUN" inspect -f '{{.Id}}' done1)
    # no -f: the answer is read from stdin; "n" (or nothing) removes nothing
    run "$NRUN" container prune <<<"n"
    [ "$status" -ne 0 ]
    [[ $output == *"WARNING! This will remove all stopped containers."* ]]
    [[ $output == *"cancelled"* ]]
    [ "$("$NRUN" ps -aq | wc -l)" -eq 3 ]
    # the filter: label!=keep leaves done2
    run "$NRUN" container prune -f --filter 'label!=keep'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "Deleted Containers:" ]
    [ "${lines[1]}" = "$id1" ]
    [[ ${lines[-1]} == "Total reclaimed space: "*B ]]
    [ "${lines[-1]}" != "Total reclaimed space: 0B" ]
    [ ! -d "$NRUN_ROOT/containers/$id1" ]
    run "$NRUN" ps -a --format '{{.Names}}'
    [[ $output == *done2* && $output == *alive* && $output != *done1* ]]
    run "$NRUN" container prune <<<"y"
    [ "$status" -eq 0 ]
    [[ $output == *"Deleted Containers:"* ]]
    run "$NRUN" ps -a --format '{{.Names}}'
    [ "$output" = alive ]
    run "$NRUN" container prune -f --filter bogus=1
    [ "$status" -eq 2 ]
    [[ $output == *"invalid filter 'bogus'"* ]]
    "$NRUN" rm -f alive >/dev/null
}

@test "pause freezes every process (the counter stops), ps and inspect say paused, exec is refused; unpause resumes" {
    counting frz
    run "$NRUN" pause frz
    [ "$status" -eq 0 ]
    [ "$output" = frz ]
    upper=$(upper_of frz)
    a=$(cat "$upper/tmp/n")
    sleep 0.6
    b=$(cat "$upper/tmp/n")
    [ "$a" = "$b" ]
    # the kernel's word for it: every task of the container frozen
    pid=$("$NRUN" inspect -f '{{.State.Pid}}' frz)
    cg=$(awk -F: '$2 ~ /(^|,)freezer(,|$)/ {print $3}' "/proc/$pid/cgroup")
    if [ -n "$cg" ]; then
        [ "$(cat "/sys/fs/cgroup/freezer$cg/freezer.state")" = FROZEN ]
    else
        grep -qx 'frozen 1' "/sys/fs/cgroup$(awk -F: '$1 == 0 {print $3}' "/proc/$pid/cgroup")/cgroup.events"
    fi
    run "$NRUN" ps --filter name=frz --format '{{.Status}}'
    [[ $output == "Up "*"(Paused)" ]]
    run "$NRUN" inspect -f '{{.State.Status}} {{.State.Paused}} {{.State.Running}}' frz
    [ "$output" = "paused true true" ]
    run "$NRUN" exec frz true
    [ "$status" -ne 0 ]
    [[ $output == *"is paused, unpause the container before exec"* ]]
    run "$NRUN" pause frz
    [ "$status" -ne 0 ]
    [[ $output == *"already paused"* ]]
    run "$NRUN" container unpause frz
    [ "$status" -eq 0 ]
    sleep 0.5
    c=$(cat "$upper/tmp/n")
    [ "$c" -gt "$b" ]
    run "$NRUN" inspect -f '{{.State.Status}} {{.State.Paused}}' frz
    [ "$output" = "running false" ]
    run "$NRUN" unpause frz
    [ "$status" -ne 0 ]
    [[ $output == *"not paused"* ]]
    "$NRUN" rm -f frz >/dev/null
}

@test "a paused container still stops, dies to kill and goes with rm -f" {
    counting p1
    counting p2
    counting p3
    "$NRUN" pause p1 p2 p3
    run timeout 20 "$NRUN" stop -t 2 p1
    [ "$status" -eq 0 ]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' p1)" = exited ]
    run timeout 20 "$NRUN" kill p2
    [ "$status" -eq 0 ]
    for _ in $(seq 1 100); do [ "$("$NRUN" inspect -f '{{.State.Status}}' p2)" = exited ] && break; sleep 0.1; done
    [ "$("$NRUN" inspect -f '{{.State.Status}}' p2)" = exited ]
    id3=$("$NRUN" inspect -f '{{.Id}}' p3)
    run timeout 20 "$NRUN" rm -f p3
    [ "$status" -eq 0 ]
    [ ! -d "$NRUN_ROOT/containers/$id3" ]
    ! grep -ls "$id3" /proc/[0-9]*/cgroup 2>/dev/null | grep -q . || false
    "$NRUN" rm -f p1 p2 >/dev/null
}

@test "diff lists what exec added, changed and deleted (A, C, D), sorted, against the image" {
    rt_run -d --network none --name df bb:1 sleep 100 >/dev/null
    run "$NRUN" diff df
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    "$NRUN" exec df sh -c 'echo new >/etc/newfile; echo more >>/etc/motd; rm /data/old1; mkdir -p /srv/a; echo x >/srv/a/f'
    run "$NRUN" diff df
    [ "$status" -eq 0 ]
    [ "$output" = "C /data
D /data/old1
C /etc
C /etc/motd
A /etc/newfile
A /srv
A /srv/a
A /srv/a/f" ]
    # a directory replaced: the opaque dir is C, what the image had in it D, the new content A
    "$NRUN" exec df sh -c 'rm -rf /data/keep; mkdir /data/keep; echo n >/data/keep/n'
    run "$NRUN" diff df
    [[ $output == *"C /data/keep"$'\n'"D /data/keep/k"$'\n'"A /data/keep/n"* ]]
    # the same for a stopped container, and through the group
    "$NRUN" stop -t 0 df >/dev/null
    run "$NRUN" container diff df
    [ "$status" -eq 0 ]
    [[ $output == *"A /etc/newfile"* ]]
    run "$NRUN" diff nosuch
    [ "$status" -ne 0 ]
    "$NRUN" rm -f df >/dev/null
}

@test "export writes the merged filesystem as a tar (stdout or -o), and refuses a terminal" {
    rt_run -d --network none --name ex bb:1 sleep 100 >/dev/null
    "$NRUN" exec ex sh -c 'echo exported >/etc/newfile; rm /etc/motd; ln -s /etc/newfile /lnk; mkdir /d; ln /etc/newfile /d/hard'
    "$NRUN" export ex >"$BATS_FILE_TMPDIR/ex.tar"
    run tar -tf "$BATS_FILE_TMPDIR/ex.tar"
    [ "$status" -eq 0 ]
    grep -qx 'bin/busybox' <<<"$output"
    grep -qx 'etc/newfile' <<<"$output"
    grep -qx 'data/keep/k' <<<"$output"
    ! grep -q 'etc/motd' <<<"$output" || false
    ! grep -q '\.wh\.' <<<"$output" || false
    x=$(mktemp -d "$BATS_FILE_TMPDIR/x.XXXXXX")
    tar -C "$x" -xf "$BATS_FILE_TMPDIR/ex.tar"
    [ "$(cat "$x/etc/newfile")" = exported ]
    [ "$(cat "$x/data/keep/k")" = kept ]
    [ "$(stat -c %i "$x/etc/newfile")" = "$(stat -c %i "$x/d/hard")" ]
    tar -tvf "$BATS_FILE_TMPDIR/ex.tar" | grep -q 'lnk -> /etc/newfile'
    # -o, and the group's spelling
    run "$NRUN" container export -o "$BATS_FILE_TMPDIR/ex2.tar" ex
    [ "$status" -eq 0 ]
    cmp <(tar -tf "$BATS_FILE_TMPDIR/ex.tar") <(tar -tf "$BATS_FILE_TMPDIR/ex2.tar")
    ! ls -a "$BATS_FILE_TMPDIR" | grep -q nrun-export || false
    # a terminal on stdout: refused, nothing written
    run script -qec "$NRUN export ex; echo rc=\$?" /dev/null
    [[ $output == *"cowardly refusing to save to a terminal"* ]]
    [[ $output == *"rc=2"* ]]
    "$NRUN" rm -f ex >/dev/null
}

@test "commit makes an image of the changes with the config changes; run it and see them" {
    rt_run -d --network none --name cm bb:1 sleep 100 >/dev/null
    "$NRUN" exec cm sh -c 'echo committed >/etc/newfile; rm /data/old1; mkdir /work'
    run "$NRUN" commit -m "the message" -a "Ann <ann@example>" \
        -c 'CMD ["cat","/etc/newfile"]' -c 'ENV COLOR=blue' -c 'LABEL team=infra' -c 'WORKDIR /work' \
        -c 'EXPOSE 8080' -c 'USER 0' cm cm:1
    [ "$status" -eq 0 ]
    [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
    iid=$output
    [ "$(config_of cm:1)" = "$iid" ]
    # the new image runs the change
    run rt_run --rm --network none cm:1
    [ "$output" = committed ]
    run rt_run --rm --network none cm:1 sh -c 'echo $COLOR $(pwd); test -e /data/old1 && echo still-there; cat /data/keep/k'
    [ "$output" = "blue /work
kept" ]
    [ "$(cfg cm:1 .config.Labels.team)" = '"infra"' ]
    [ "$(cfg cm:1 .config.ExposedPorts)" = '{"8080/tcp":{}}' ]
    [ "$(cfg cm:1 .config.User)" = '"0"' ]
    [ "$(cfg cm:1 .config.Env)" = '["PATH=/bin","COLOR=blue"]' ]
    [ "$(cfg cm:1 .author)" = '"Ann <ann@example>"' ]
    [ "$(cfg cm:1 '.history[-1].comment')" = '"the message"' ]
    [ "$(cfg cm:1 '.rootfs.diff_ids | length')" = 3 ]
    # the deletion travels as an OCI whiteout
    layer=$(jq -r '.layers[-1].digest' "$(blob "$(manifest_of cm:1)")")
    tar -tzf "$(blob "$layer")" | grep -qx 'data/.wh.old1'
    # the container ran on, thawed (paused only while the layer was read)
    [ "$("$NRUN" inspect -f '{{.State.Status}}' cm)" = running ]
    run "$NRUN" container commit --pause=false cm
    [ "$status" -eq 0 ]
    run "$NRUN" commit -c 'ONBUILD RUN x' cm
    [ "$status" -ne 0 ]
    [[ $output == *"cannot be changed"* ]]
    "$NRUN" rm -f cm >/dev/null
}

@test "image history lists the build's steps newest first, sizes of their layers; -q, --no-trunc, --format" {
    ctx=$(mktemp -d "$BATS_FILE_TMPDIR/ctx.XXXXXX")
    echo payload >"$ctx/f"
    printf 'FROM bb:1\nRUN echo step >/stepfile\nENV HIST=1\nCOPY f /copied\n' >"$ctx/Nodefile"
    "$NBUILD" -q -t hist:1 "$ctx" >/dev/null
    run "$NRUN" image history hist:1
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "IMAGE"*"CREATED"*"CREATED BY"*"SIZE"*"COMMENT" ]]
    [ "${#lines[@]}" -eq 6 ] # header + COPY, ENV, RUN + the two layers of bb:1
    [[ ${lines[1]} == "$(config_of hist:1 | cut -c8-19) "*COPY*f*/copied* ]]
    [[ ${lines[2]} == "<missing> "*ENV*HIST=1*" 0B "* ]]
    [[ ${lines[3]} == "<missing> "*RUN*echo\ step* ]]
    # SIZE of the RUN row is its layer blob's
    size=$(jq -r '.layers[2].size' "$(blob "$(manifest_of hist:1)")")
    run "$NRUN" image history --format '{{.CreatedBy}}|{{.Size}}' --human=false hist:1
    [[ ${lines[2]} == *"echo step"*"|$size" ]]
    run "$NRUN" image history -q hist:1
    [ "${lines[0]}" = "$(config_of hist:1 | cut -c8-19)" ]
    [ "${lines[1]}" = "<missing>" ]
    run "$NRUN" image history --no-trunc hist:1
    [[ ${lines[1]} == "$(config_of hist:1) "* ]]
    # nrun history IMAGE: no deploy of that name, so the image's history
    run "$NRUN" history hist:1
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "IMAGE"*"CREATED BY"* ]]
    run -127 "$NRUN" image history nosuch:1
    [ "$status" -ne 0 ]
}

@test "images --filter / -f: dangling, reference globs, label; unknown keys are an error" {
    ctx=$(mktemp -d "$BATS_FILE_TMPDIR/ctx.XXXXXX")
    printf 'FROM bb:1\nLABEL tier=web\nRUN echo 1 >/v\n' >"$ctx/Nodefile"
    "$NBUILD" -q -t flt/app:1 "$ctx" >/dev/null
    old=$(config_of flt/app:1 | cut -c8-19)
    printf 'FROM bb:1\nLABEL tier=web\nRUN echo 2 >/v\n' >"$ctx/Nodefile"
    "$NBUILD" -q -t flt/app:1 "$ctx" >/dev/null # the first image has no tag now
    new=$(config_of flt/app:1 | cut -c8-19)
    run "$NRUN" images -f dangling=true -q
    [ "$status" -eq 0 ]
    grep -qx "$old" <<<"$output"
    ! grep -qx "$new" <<<"$output" || false
    run "$NRUN" images --filter dangling=true
    [[ $output == *"<none>"*"<none>"*"$old"* ]]
    run "$NRUN" images -f dangling=false -q
    grep -qx "$new" <<<"$output"
    ! grep -qx "$old" <<<"$output" || false
    run "$NRUN" images -f 'reference=flt/*' --format '{{.Repository}}:{{.Tag}}'
    [ "$output" = flt/app:1 ]
    run "$NRUN" images -f 'reference=*' --format '{{.Repository}}:{{.Tag}}'
    ! grep -q flt/ <<<"$output" || false # '*' stops at '/', as docker's glob
    grep -qx bb:1 <<<"$output"
    run "$NRUN" images -f 'reference=bb:*' -f 'reference=flt/app:1' --format '{{.Repository}}:{{.Tag}}'
    [[ $output == *bb:1* && $output == *flt/app:1* ]]
    run "$NRUN" images -f label=tier=web --format '{{.Repository}}'
    [ "$output" = flt/app ]
    run "$NRUN" images -f label=tier=web -f reference='bb*' -q
    [ -z "$output" ]
    run "$NRUN" images --filter since=bb:1
    [ "$status" -eq 2 ]
    [[ $output == *"invalid filter 'since'"* ]]
    run "$NRUN" images -f dangling=maybe
    [ "$status" -eq 2 ]
}

@test "builder prune removes the build cache records and the blobs only they held" {
    ctx=$(mktemp -d "$BATS_FILE_TMPDIR/ctx.XXXXXX")
    printf 'FROM bb:1\nRUN echo cached-%s >/c\n' "$RANDOM$RANDOM" >"$ctx/Nodefile"
    "$NBUILD" -q -t bp:1 "$ctx" >/dev/null
    layer=$(jq -r '.layers[-1].digest' "$(blob "$(manifest_of bp:1)")")
    grep -lqr "$layer" "$NRUN_ROOT/cache/build/layers"
    # in use by bp:1: not dangling, kept
    run "$NRUN" builder prune -f
    [ "$status" -eq 0 ]
    [[ ${lines[-1]} == "Total reclaimed space: "* ]]
    grep -lqr "$layer" "$NRUN_ROOT/cache/build/layers"
    [ -f "$(blob "$layer")" ]
    "$NRUN" rmi bp:1 >/dev/null
    [ -f "$(blob "$layer")" ] # the cache still holds it
    run "$NRUN" builder prune <<<"n"
    [ "$status" -ne 0 ]
    grep -lqr "$layer" "$NRUN_ROOT/cache/build/layers"
    run "$NRUN" builder prune -f
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "Deleted build cache objects:" ]
    [[ ${lines[-1]} == "Total reclaimed space: "* ]]
    [ "${lines[-1]}" != "Total reclaimed space: 0B" ]
    ! grep -lqr "$layer" "$NRUN_ROOT/cache/build/layers" || false
    [ ! -e "$(blob "$layer")" ]
    # bb:1's blobs are an image's: kept
    run "$NRUN" images -q
    [ -n "$output" ]
    rt_run --rm --network none bb:1 true
    # -a: every record, and the other caches
    "$NBUILD" -q -t bp:2 "$ctx" >/dev/null
    run "$NRUN" builder prune -af
    [ "$status" -eq 0 ]
    [ -z "$(ls -A "$NRUN_ROOT/cache/build/layers")" ]
    [ ! -e "$NRUN_ROOT/cache/build/statcache" ]
    # bp:2 still runs: its layers are an image's
    rt_run --rm --network none bp:2 cat /c
}
