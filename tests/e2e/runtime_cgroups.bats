#!/usr/bin/env bats
# cgroups on this machine's layout (v1 hybrid here; v2 and v1 by the same code):
# limits applied, OOM -> OOMKilled with the app's own code, a fork bomb held, groups removed.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() {
    nr_make_root
    rt_make_busybox_image
}

teardown_file() { rt_file_teardown; }

ctl() { # file inside the container's cgroup view, v1 or v2 spelling
    if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then echo "/sys/fs/cgroup/$2"; else echo "/sys/fs/cgroup/$1"; fi
}

@test "memory: the limit is set, exceeding it kills with 137 and OOMKilled is recorded" {
    lim=$(ctl memory/memory.limit_in_bytes memory.max)
    run rt_run --name oom --memory 16m bb:1 sh -c "cat $lim; x=\$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived"
    [ "$status" -eq 137 ]
    [ "${lines[0]}" = 16777216 ]
    [[ "$output" != *survived* ]]
    run "$NRUN" ps -a --format json
    echo "$output" | jq -e 'select(.Names=="oom") | .OOMKilled and .ExitCode == 137'
    run "$NRUN" inspect oom
    echo "$output" | jq -e '.[0].State.OOMKilled'
    "$NRUN" rm oom
}

@test "memory: a child OOM-killed under a script that goes on: the script's own exit code, OOMKilled" {
    # the child asks to be the OOM killer's victim (oom_score_adj 1000): with
    # every process of a 16 MiB group small at first, the kernel may pick
    # another one (the script itself) while the child's memory is still
    # pipe buffers and page cache; it is the child that must die here
    run rt_run --name oomchild --memory 16m bb:1 sh -c "sh -c 'echo 1000 >/proc/self/oom_score_adj && x=\$(head -c 100000000 /dev/zero | tr \"\\\\0\" a)'; echo child=\$?; exit 3"
    echo "status $status: $output"
    [ "$status" -eq 3 ]
    [[ "$output" == *child=137* ]]
    run "$NRUN" inspect oomchild
    echo "$output" | jq -e '.[0].State.OOMKilled and .[0].State.ExitCode == 3'
    "$NRUN" rm oomchild
}

@test "pids: a fork bomb is held by --pids-limit and the host is unaffected" {
    cur=$(ctl pids/pids.current pids.current)
    # the bomb runs in a subshell (busybox sh gives up when fork fails); then count without forking
    run rt_run --rm --pids-limit 12 bb:1 sh -c "(for i in \$(seq 100); do sleep 3 & done) 2>/dev/null; read n < $cur; echo n=\$n"
    [[ "$output" == *n=* ]]
    n=${output##*n=}
    [ "$n" -le 12 ]
    [ "$n" -ge 5 ]
    run rt_run --rm bb:1 true
    [ "$status" -eq 0 ]
}

@test "cpu: --cpus sets the CFS quota, --cpuset-cpus the cpuset" {
    if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        run rt_run --rm --cpus 0.5 --cpuset-cpus 0 bb:1 cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpuset.cpus
        [ "${lines[0]}" = "50000 100000" ]
    else
        run rt_run --rm --cpus 0.5 --cpuset-cpus 0 bb:1 cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpuset/cpuset.cpus
        [ "${lines[0]}" = 50000 ]
    fi
    [ "${lines[1]}" = 0 ]
}

@test "cgroup namespace: the container sees its own group as the root" {
    run rt_run --rm bb:1 cat /proc/self/cgroup
    [ "$status" -eq 0 ]
    [[ "$output" != *nrun* ]]
}

@test "groups exist while running and are gone after stop" {
    id=$(rt_run -d --memory 32m bb:1 sleep 1000)
    for d in $(rt_cgroup_dirs "$id"); do [ -d "$d" ]; done
    mem=$(rt_cgroup_dirs "$id" | grep -m1 memory || rt_cgroup_dirs "$id" | head -1)
    grep -q . "$mem/cgroup.procs"
    "$NRUN" stop -t 1 "$id"
    for d in $(rt_cgroup_dirs "$id"); do [ ! -d "$d" ]; done
    "$NRUN" rm "$id"
}

@test "hybrid layout detected: works where crun refuses" {
    if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        skip "pure cgroup v2 host: no hybrid layout to test"
    fi
    run rt_run --rm --memory 64m --pids-limit 50 bb:1 echo ok
    [ "$output" = ok ]
}

@test "pure cgroup v2 (simulated: cgroup2 over /sys/fs/cgroup in a private mount namespace)" {
    if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        skip "the host is pure v2: the tests above already ran on v2"
    fi
    mkdir -p "$BATS_FILE_TMPDIR/cids"
    run unshare -m --propagation private sh -c "
        mount -t cgroup2 none /sys/fs/cgroup || exit 99
        '$NRUN' run --cidfile '$BATS_FILE_TMPDIR/cids/v2a' --rm bb:1 sh -c 'cat /proc/self/cgroup; grep -c cgroup2 /proc/mounts' || exit 98
        '$NRUN' run --cidfile '$BATS_FILE_TMPDIR/cids/v2b' --rm --memory 16m bb:1 true"
    # the container is alone at the root of its cgroup namespace, in a cgroup2 view
    [ "${lines[-3]}" = "0::/" ]
    [ "${lines[-2]}" = 1 ]
    # this kernel's cgroup2 holds no memory controller here: refused, naming the file
    [[ "${lines[-1]}" == *memory.max* ]]
    [ "$status" -eq 125 ]
    for f in v2a v2b; do
        [ ! -e "/sys/fs/cgroup/unified/nrun/$(cat "$BATS_FILE_TMPDIR/cids/$f" 2>/dev/null || echo none)" ]
    done
}

@test "pure cgroup v2 (simulated): the device allow-list is a BPF program on the container's group" {
    if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        skip "the host is pure v2: runtime_security.bats tests devices on v2"
    fi
    mkdir -p "$BATS_FILE_TMPDIR/cids"
    # the kernel runs a cgroup2 group's device programs next to the v1
    # devices controller, so this hybrid host can check the v2 code
    run unshare -m --propagation private sh -c "
        mount -t cgroup2 none /sys/fs/cgroup || exit 99
        '$NRUN' run --cidfile '$BATS_FILE_TMPDIR/cids/v2dev' --rm --cap-add MKNOD bb:1 sh -c '
            mknod /tmp/loop b 7 0; mknod /tmp/mem c 1 1; mknod /tmp/rng c 10 183
            (exec 3<>/tmp/loop); (exec 3</tmp/mem); (exec 3</tmp/rng)
            echo x >/dev/null && head -c 4 /dev/urandom | wc -c; head -c 4 /dev/zero | wc -c' || exit 98
        '$NRUN' run --cidfile '$BATS_FILE_TMPDIR/cids/v2tty' --rm -t bb:1 sh -c 'tty; echo x >/dev/tty'"
    echo "$output"
    [ "$status" -eq 0 ]
    for n in loop mem rng; do
        [[ "$output" =~ "can't "(open|create)" /tmp/$n: Operation not permitted" ]]
    done
    [[ "$output" == *$'\n'4$'\n'4$'\n'*/dev/pts/0* ]]
    for f in v2dev v2tty; do
        [ ! -e "/sys/fs/cgroup/unified/nrun/$(cat "$BATS_FILE_TMPDIR/cids/$f" 2>/dev/null || echo none)" ]
    done
}

@test "no cgroup hierarchy (a private /sys, as \`ip netns exec\` mounts): a clear error, nothing made" {
    ns=nrt-cg-$$
    ip netns add "$ns"
    before=$(ls "$NRUN_ROOT/containers" 2>/dev/null | sort)
    run ip netns exec "$ns" "$NR_REAL_NRUN" run --rm --memory 16m bb:1 echo ran
    run2=$(ip netns exec "$ns" "$NR_REAL_NRUN" run -d --name nocg bb:1 sleep 100 2>&1; echo "status=$?")
    links=$(ip -n "$ns" -o link show | grep -vc ': lo:' || true)
    after=$(ls "$NRUN_ROOT/containers" 2>/dev/null | sort)
    ip netns del "$ns"
    echo "$output"
    [ "$status" -eq 125 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"no cgroup hierarchy at /sys/fs/cgroup"*"ip netns exec"* ]]
    [[ "$output" != *ran* ]]
    [ "$links" -eq 0 ]
    [ "$before" = "$after" ]
    # detached, without --rm: the same, and no container record left
    echo "$run2"
    [[ "$run2" == *"no cgroup hierarchy at /sys/fs/cgroup"*"status=125" ]]
    run "$NRUN" ps -a --filter name=nocg -q
    [ -z "$output" ]
}
