#!/usr/bin/env bats
# Isolation and privileges: namespaces, /dev, masked and read-only paths,
# capabilities, no_new_privs, seccomp, fds, /proc/1/exe, escape attempts.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    # a second layer with the syscall probe, linked statically
    mkdir -p "$BATS_FILE_TMPDIR/probe/bin"
    gcc -static -O1 -o "$BATS_FILE_TMPDIR/probe/bin/probe" "$BATS_TEST_DIRNAME/probes/syscalls.c"
    gcc -static -O1 -o "$BATS_FILE_TMPDIR/probe/bin/tiocsti" "$BATS_TEST_DIRNAME/probes/tiocsti.c"
    tar --numeric-owner -C "$BATS_FILE_TMPDIR/probe" -cf "$BATS_FILE_TMPDIR/probe.tar" .
    rt_bb_image sec:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$BATS_FILE_TMPDIR/probe.tar"
}

# nd:1 (the host's node) for the tests that need a cluster worker: made once, on first use.
sec_node_image() {
    [ -e "$BATS_FILE_TMPDIR/node.tar" ] && return 0
    rt_node_image
}

# No file $2 in a directory a `..` walk from the logs dir of container $1
# reaches on the host; any found is named and removed, and the check fails.
sec_no_escape() {
    local d=$NRUN_ROOT/containers/$1/logs found=0
    while [ "$d" != / ]; do
        d=$(dirname "$d")
        if [ -e "${d%/}/$2" ]; then
            echo "escaped: ${d%/}/$2"
            rm -f "${d%/}/$2"
            found=1
        fi
    done
    return $found
}

# Wait until the container's log ($1 = id) has $2 lines.
sec_wait_log_lines() {
    for _ in $(seq 200); do
        [ "$("$NRUN" logs "$1" | grep -c .)" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

# a failed test leaves no container running into the next ones
teardown() { rt_rm_all; }

teardown_file() { rt_file_teardown; }

@test "pid namespace: the app sees only its own processes, init is PID 1" {
    run rt_run --rm sec:1 sh -c 'ps -o pid,comm >/tmp/ps; grep -c . /tmp/ps; echo $$; grep "^ *1 " /tmp/ps'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" -le 5 ]
    [ "$(ps -e | wc -l)" -gt 10 ]
    [ "${lines[1]}" -eq 2 ]
    [[ "${lines[2]}" == *nrun* ]]
}

@test "PID 1's command line shows no host path or flag value" {
    run rt_run --rm -e SECRET=hunter2 -v "$BATS_FILE_TMPDIR:/mnt" sec:1 sh -c 'tr "\0" " " </proc/1/cmdline'
    [ "$status" -eq 0 ]
    [[ "$output" == nrun* ]]
    [[ "$output" != *hunter2* && "$output" != *"$BATS_FILE_TMPDIR"* && "$output" != *"$NRUN_ROOT"* ]]
}

@test "the caller's supplementary groups do not reach the container" {
    run setpriv --groups 4242 "$NRUN" run --cidfile "$BATS_FILE_TMPDIR/cids/groups" --rm sec:1 grep Groups /proc/self/status
    [ "$status" -eq 0 ]
    [[ "$output" != *4242* ]]
}

@test "rlimits: NOFILE is our own hard limit, never more" {
    hard=$(ulimit -Hn)
    run rt_run --rm sec:1 sh -c 'ulimit -Hn; ulimit -Sn'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "$hard" ] || [ "${lines[0]}" -le "$hard" ]
    [ "${lines[1]}" -le "${lines[0]}" ]
}

@test "uts namespace: hostname can not be changed, the host's stays" {
    before=$(hostname)
    run rt_run --rm --name uts1 sec:1 sh -c 'hostname evil; hostname'
    [[ "$output" == *"not permitted"* ]]
    [[ "$output" == *uts1* ]]
    [ "$(hostname)" = "$before" ]
}

@test "network: own namespace (lo up, eth0 on the bridge); --net host sees the host's interfaces" {
    run rt_run --rm sec:1 sh -c 'ls /sys/class/net; ip -o addr show lo'
    [ "${lines[0]}" = eth0 ]
    [ "${lines[1]}" = lo ]
    [[ "$output" == *"127.0.0.1"* ]]
    run rt_run --rm --net host sec:1 ls /sys/class/net
    [ "$(echo "$output" | wc -l)" -eq "$(nr_in_ns ip -o link | wc -l)" ]
    run rt_run --rm --net none sec:1 ls /sys/class/net
    [ "$output" = lo ]
    run rt_run --rm --net none -p 18080:80 sec:1 true
    [ "$status" -eq 125 ]
}

@test "/dev: a tmpfs with the standard nodes, devpts, shm, mqueue" {
    run rt_run --rm sec:1 sh -c 'ls /dev | tr "\n" " "; echo; head -c 4 /dev/urandom | wc -c; echo x > /dev/null && echo nullok; grep -E " /dev/(pts|shm|mqueue) " /proc/mounts | cut -d" " -f3 | tr "\n" " "'
    [[ "${lines[0]}" == *"full"*"mqueue"*"null"*"ptmx"*"pts"*"random"*"shm"*"tty"*"urandom"*"zero"* ]]
    [ "${lines[1]}" = 4 ]
    [ "${lines[2]}" = nullok ]
    [ "${lines[3]}" = "devpts tmpfs mqueue " ]
}

@test "devices: with CAP_MKNOD a container makes nodes but opens only those of its /dev (device cgroup)" {
    # a loop device (block 7:0), /dev/mem (char 1:1) and hwrng (char 10:183):
    # making the node may work, opening it must not
    run rt_run --rm --cap-add MKNOD sec:1 sh -c '
        mknod /tmp/loop b 7 0; mknod /tmp/mem c 1 1; mknod /tmp/rng c 10 183
        for n in /tmp/loop /tmp/mem /tmp/rng; do (exec 3<>$n); (exec 3<$n); done
        echo x >/dev/null && echo null-ok
        head -c 4 /dev/zero | wc -c; head -c 4 /dev/urandom | wc -c; head -c 4 /dev/random | wc -c
        echo x >/dev/full || echo full-ENOSPC'
    echo "$output"
    [ "$status" -eq 0 ]
    for n in loop mem rng; do
        [ "$(grep -cE "can't (open|create) /tmp/$n: Operation not permitted" <<<"$output")" -eq 2 ]
    done
    [[ "$output" == *null-ok*$'\n'4$'\n'4$'\n'4$'\n'*full-ENOSPC* ]]
    # a pty of the container's devpts, for run -t and exec -t
    run rt_run --rm -t --cap-add MKNOD sec:1 sh -c 'tty; echo x >/dev/tty && echo tty-ok'
    [ "$status" -eq 0 ]
    [[ "$output" == */dev/pts/0*tty-ok* ]]
    id=$(rt_run -d sec:1 sleep 1000)
    run "$NRUN" exec -t "$id" sh -c 'tty; echo x >/dev/null && echo exec-ok'
    [[ "$output" == */dev/pts/*exec-ok* ]]
    if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
        # v1: the container's own devices group holds the list, exec joins it,
        # and it goes with the container
        run "$NRUN" exec "$id" sh -c 'tr "\n" , </sys/fs/cgroup/devices/devices.list'
        [[ "$output" == "c *:* m,b *:* m,c 1:3 rwm,"*"c 136:* rwm,"* ]]
        dev=$(rt_cgroup_dirs "$id" | grep /devices/)
        [ -d "$dev" ]
        grep -q . "$dev/cgroup.procs"
    fi
    "$NRUN" rm -f "$id"
    for d in $(rt_cgroup_dirs "$id"); do
        for _ in $(seq 50); do [ ! -d "$d" ] && break; sleep 0.05; done
        [ ! -d "$d" ]
    done
}

@test "the store is owner-only: host users reach no setuid file of a layer or a volume" {
    d="$BATS_TEST_TMPDIR/suid"
    mkdir -p "$d/bin"
    cat >"$BATS_TEST_TMPDIR/rootme.c" <<'EOF'
#include <stdio.h>
#include <unistd.h>
int main(void) { printf("euid=%d\n", (int)geteuid()); return 0; }
EOF
    gcc -static -O1 -o "$d/bin/rootme" "$BATS_TEST_TMPDIR/rootme.c"
    chmod 4755 "$d/bin/rootme"
    tar --numeric-owner -C "$d" -cf "$BATS_TEST_TMPDIR/suid.tar" .
    rt_bb_image suid:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$BATS_TEST_TMPDIR/suid.tar"
    # the layer is unpacked, and a container writes a setuid-root copy into a named volume
    run rt_run --rm -v suidvol:/vol suid:1 sh -c 'cp /bin/rootme /vol/ && chmod 4755 /vol/rootme && echo written'
    [ "$output" = written ]
    layer="$NRUN_ROOT/layers/$(sha256sum "$BATS_TEST_TMPDIR/suid.tar" | cut -c1-64)/bin/rootme"
    vol="$NRUN_ROOT/volumes/suidvol/_data/rootme"
    [ "$(stat -c '%a %u' "$layer")" = "4755 0" ]
    [ "$(stat -c '%a %u' "$vol")" = "4755 0" ]
    # a root others may enter (the default /var/lib/nrun is 0755 on older stores)
    chmod 755 "$NRUN_ROOT"
    # (runuser, not setpriv: setpriv keeps root's capabilities until its execve)
    for f in "$layer" "$vol"; do
        run runuser -u nobody -- "$f"
        echo "$f: $output"
        [ "$status" -ne 0 ]
        [[ "$output" == *"Permission denied"* ]]
    done
    for sub in blobs blobs/sha256 layers cache containers volumes; do
        [ "$(stat -c %a "$NRUN_ROOT/$sub")" = 700 ]
        run runuser -u nobody -- ls "$NRUN_ROOT/$sub"
        [ "$status" -ne 0 ]
    done
    chmod 700 "$NRUN_ROOT"
    # containers still reach everything through their mounts, also as a non-root user
    run rt_run --rm -v suidvol:/vol suid:1 chown 1000 /vol
    [ "$status" -eq 0 ]
    run rt_run --rm -u 1000 -v suidvol:/vol suid:1 \
        sh -c 'head -1 /etc/passwd; /bin/rootme; echo w >/vol/f && cat /vol/f; id -u'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'root:x:0:0:root:/root:/bin/sh\neuid=1000\nw\n1000')" ]
}

@test "an older store's open directories are closed by the next command; a new root is 0700" {
    for sub in blobs blobs/sha256 layers cache containers volumes; do chmod 755 "$NRUN_ROOT/$sub"; done
    "$NRUN" images >/dev/null
    for sub in blobs blobs/sha256 layers cache containers volumes; do
        [ "$(stat -c %a "$NRUN_ROOT/$sub")" = 700 ]
    done
    new="$BATS_TEST_TMPDIR/parent/root"
    NRUN_ROOT=$new "$NRUN" images >/dev/null
    [ "$(stat -c %a "$BATS_TEST_TMPDIR/parent")" = 755 ]
    [ "$(stat -c %a "$new")" = 700 ]
    [ "$(cd "$new" && stat -c '%a %n' blobs blobs/sha256 layers cache containers volumes | tr '\n' ,)" = \
        "700 blobs,700 blobs/sha256,700 layers,700 cache,700 containers,700 volumes," ]
}

@test "masked and read-only paths; /sys read-only; kcore unreadable" {
    run rt_run --rm sec:1 sh -c 'exec 2>/dev/null
        cat /proc/kcore 2>/dev/null | head -c1 | wc -c
        cat /proc/keys | wc -c
        ls /sys/firmware | wc -l
        echo 1 > /proc/sys/kernel/panic 2>/dev/null && echo procsys-writable
        echo 1 > /proc/sysrq-trigger 2>/dev/null && echo sysrq-writable
        touch /sys/x 2>/dev/null && echo sys-writable
        echo done'
    [ "${lines[0]}" = 0 ]
    [ "${lines[1]}" = 0 ]
    [ "${lines[2]}" = 0 ]
    [ "${lines[3]}" = done ]
}

@test "escape attempts: mount, unshare, module load, see the host's processes" {
    run rt_run --rm sec:1 sh -c '
        mount -t tmpfs t /mnt 2>/dev/null && echo mounted
        unshare -m true 2>/dev/null && echo unshared
        insmod /bin/busybox 2>/dev/null && echo inserted
        ps -o pid | grep -c .
        echo done'
    [[ "$output" != *mounted* && "$output" != *unshared* && "$output" != *inserted* ]]
    [ "${lines[-1]}" = done ]
    [ "${lines[-2]}" -le 5 ]
}

@test "capabilities: docker's default set minus NET_RAW, MKNOD, AUDIT_WRITE; --cap-add/--cap-drop" {
    run rt_run --rm sec:1 grep CapEff /proc/self/status
    # CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE SYS_CHROOT SETFCAP
    [ "$output" = "CapEff:	00000000800405fb" ]
    run rt_run --rm --cap-drop CHOWN --cap-add NET_RAW sec:1 grep CapEff /proc/self/status
    [ "$output" = "CapEff:	00000000800425fa" ]
    run rt_run --rm --cap-drop ALL sec:1 grep CapBnd /proc/self/status
    [ "$output" = "CapBnd:	0000000000000000" ]
    run rt_run --rm --cap-add NOPE sec:1 true
    [ "$status" -eq 125 ]
    [[ "$output" == *NOPE* ]]
    run rt_run --rm sec:1 mknod /tmp/d c 1 3
    [ "$status" -ne 0 ]
}

@test "a non-root user keeps no capability; no_new_privs is set" {
    run rt_run --rm --user 1000 sec:1 grep -E "^(CapPrm|CapEff|NoNewPrivs)" /proc/self/status
    [ "${lines[0]}" = "CapPrm:	0000000000000000" ]
    [ "${lines[1]}" = "CapEff:	0000000000000000" ]
    [ "${lines[2]}" = "NoNewPrivs:	1" ]
}

@test "seccomp: denied calls get EPERM, clone3 and io_uring ENOSYS, never a kill" {
    run rt_run --rm sec:1 probe
    [ "$status" -eq 0 ]
    [[ "$output" == *"clone3=ENOSYS"* ]]
    [[ "$output" == *"io_uring_setup=ENOSYS"* ]]
    [[ "$output" == *"add_key=EPERM"* ]]
    [[ "$output" == *"kexec_load=EPERM"* ]]
    [[ "$output" == *"unshare_user=EPERM"* ]]
    [[ "$output" == *"clone_newns=EPERM"* ]]
    [[ "$output" == *"init_module=EPERM"* ]]
    [[ "$output" == *"getpid=ok"* ]]
    [[ "$output" == *"io_setup=ok"*"io_destroy=ok"* ]]
    run rt_run --rm --security-opt seccomp=unconfined sec:1 sh -c 'grep Seccomp: /proc/self/status; probe'
    [[ "$output" == *"Seccomp:	0"* ]]
    [[ "$output" == *"clone3=EFAULT"* || "$output" == *"clone3=EINVAL"* ]]
}

@test "seccomp: a Docker-format profile, compiled once and cached by its hash" {
    cat >"$BATS_TEST_TMPDIR/p.json" <<'P'
{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
 {"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
 {"names":["getpid"],"action":"SCMP_ACT_ERRNO","includes":{"caps":["CAP_SYS_ADMIN"]}}]}
P
    rm -rf "$NRUN_ROOT/cache/seccomp"
    run rt_run --rm --security-opt "seccomp=$BATS_TEST_TMPDIR/p.json" sec:1 sh -c 'mkdir /tmp/x; probe | grep getpid'
    [[ "$output" == *"Permission denied"* ]]
    [[ "$output" == *"getpid=ok"* ]]
    [ "$(ls "$NRUN_ROOT/cache/seccomp" | wc -l)" -ge 1 ]
    echo '{"defaultAction":' >"$BATS_TEST_TMPDIR/bad.json"
    run rt_run --rm --security-opt "seccomp=$BATS_TEST_TMPDIR/bad.json" sec:1 true
    [ "$status" -eq 125 ]
    [[ "$output" == *bad.json* ]]
}

@test "no host fd reaches the app (CVE-2024-21626)" {
    exec 7</etc/hostname
    run rt_run --rm sec:1 sh -c 'sleep 1 & echo $(ls /proc/$!/fd); readlink /proc/$!/cwd; kill $!'
    exec 7<&-
    [ "${lines[0]}" = "0 1 2" ]
    [ "${lines[1]}" = / ]
}

@test "PID 1's fds lead nowhere on the host, even with CAP_SYS_PTRACE (CVE-2024-21626)" {
    tok=escape-$$-$RANDOM
    id=$(rt_run -d --cap-add SYS_PTRACE --log-max-size 2k --log-max-files 2 sec:1 sh -c \
        'i=0; while [ $i -lt 100 ]; do echo line-$i; i=$((i + 1)); done; sleep 100')
    # from every fd of PID 1: list and write at each depth of `..`; a listing
    # with the store's entries (or the root's own name) is the host's
    run "$NRUN" exec "$id" sh -c '
        for f in /proc/1/fd/*; do
            p=$f
            for i in 1 2 3 4 5 6 7 8; do
                p=$p/..
                ls -a "$p" 2>/dev/null | grep -qxE "containers|config.json|state.json|$1" && echo "HOST $p"
                echo x 2>/dev/null >"$p/$2"
            done
        done
        echo walked $(ls /proc/1/fd | wc -l)' sh "$(basename "$NRUN_ROOT")" "$tok"
    echo "$output"
    sec_no_escape "$id" "$tok"
    [ "$status" -eq 0 ]
    [[ "${lines[-1]}" == "walked "* && "${lines[-1]#walked }" -ge 5 ]]
    [[ "$output" != *HOST* ]]
    # PID 1 still writes and rotates its log, through the fd it holds
    for _ in $(seq 100); do [ "$("$NRUN" logs "$id" | tail -n1)" = line-99 ] && break; sleep 0.05; done
    [ "$("$NRUN" logs "$id" | tail -n1)" = line-99 ]
    logs=$NRUN_ROOT/containers/$id/logs
    [ -s "$logs/container.log.2" ] && [ ! -e "$logs/container.log.3" ]
    grep -q '"msg":"line-99"' "$logs/container.log"
    "$NRUN" rm -f "$id"
}

@test "a worker cannot reach the host through PID 1's own /proc/self/fd (cluster listen on a path)" {
    sec_node_image
    tok=escape-$$-$RANDOM
    # a root worker (no extra capability) writes Node's queryServer itself: PID 1
    # resolves the path, and /proc/self is PID 1 there, its fds no ptrace check away
    id=$(rt_run -d --workers 1 nd:1 node -e "
        require('cluster');
        process.on('internalMessage', (m) => m.ack && console.log('ack', m.ack, m.errno || 0));
        for (let fd = 3; fd < 24; fd++)
            process.send({cmd: 'NODE_CLUSTER', act: 'queryServer', index: fd, port: -1, addressType: -1, fd: null,
                          address: '/proc/self/fd/' + fd + '/../../../../../../../../$tok', seq: fd});
        setInterval(() => {}, 1000)")
    sec_wait_log_lines "$id" 21
    sec_no_escape "$id" "$tok"
    "$NRUN" rm -f "$id"
}

@test "a worker's unix socket path: relative to its -w, never through /proc or .." {
    sec_node_image
    run rt_run --rm --workers 1 -w /tmp --crash-loop 1/60s nd:1 node -e "
        const net = require('net'), fs = require('fs');
        net.createServer().listen('rel.sock', () => {
            console.log('rel', fs.existsSync('/tmp/rel.sock'));
            const bad = ['/proc/self/fd/0/x.sock', '/tmp/../proc/self/root/y.sock', '//proc/1/z.sock'];
            let left = bad.length;
            for (const p of bad)
                net.createServer().on('error', (e) => { console.log('refused', p, e.code); if (!--left) process.exit(0); })
                    .listen(p, () => { console.log('bound', p); process.exit(1); });
        });"
    [[ "$output" == *"rel true"* ]]
    [[ "$output" == *"refused /proc/self/fd/0/x.sock EINVAL"* ]]
    [[ "$output" == *"refused /tmp/../proc/self/root/y.sock EINVAL"* ]]
    [[ "$output" == *"refused //proc/1/z.sock EINVAL"* ]]
    [[ "$output" != *bound* ]]
    [[ "$output" == *'a unix socket may not go through /proc or ".."'* ]]
}

@test "exec without -t: no fd of the caller's terminal reaches CMD, which leads its own session" {
    id=$(rt_run -d sec:1 sleep 100)
    # under a pty, as from an interactive shell: CMD's stdio are pipes nrun
    # relays, so TIOCSTI has no terminal to push into, and nothing the
    # user types later can be read by the container
    run script -qec "'$NRUN' exec '$id' tiocsti" /dev/null
    out=$(tr -d '\r' <<<"$output")
    echo "$out"
    [ "$status" -eq 0 ]
    [[ "$out" == *"fd0=ENOTTY"* && "$out" == *"fd1=ENOTTY"* && "$out" == *"fd2=ENOTTY"* ]]
    [[ "$out" == *"session=own"* && "$out" == *"ctty=0"* ]]
    # -i: stdin is relayed too; a non-root user likewise
    run script -qec "'$NRUN' exec -i -u 1000 '$id' tiocsti" /dev/null
    out=$(tr -d '\r' <<<"$output")
    echo "$out"
    [[ "$out" == *"fd0=ENOTTY"* && "$out" == *"fd1=ENOTTY"* && "$out" == *"fd2=ENOTTY"* ]]
    [[ "$out" != *"=ok"* && "$out" == *"session=own"* && "$out" == *"ctty=0"* ]]
    run script -qec "'$NRUN' exec '$id' sh -c 'readlink /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2'" /dev/null
    [[ "$output" != *pts* && "$output" != *tty* ]]
    # -t: the container's own pty is the controlling terminal
    run script -qec "'$NRUN' exec -t '$id' tiocsti" /dev/null
    out=$(tr -d '\r' <<<"$output")
    [[ "$out" == *"fd0=ok"* && "$out" == *"session=own"* && "$out" != *"ctty=0"* ]]
    # stdin, stdout, stderr and the exit code still travel
    run bash -c "printf 'in-data' | '$NRUN' exec -i '$id' sh -c 'cat; echo out; echo err >&2; exit 5'"
    [ "$status" -eq 5 ]
    [[ "$output" == *in-data*out* && "$output" == *err* ]]
    "$NRUN" rm -f "$id"
}

@test "a cluster worker's listen(path) binds as the worker: its own socket, EACCES where it cannot write" {
    sec_node_image
    # --cap-drop ALL: PID 1 is root without DAC_OVERRIDE (and the owner of
    # /etc); the default set has DAC_OVERRIDE, which the worker's identity must
    # take away for the bind too
    for caps in "--cap-drop ALL" ""; do
        id=$(rt_run -d -u 1000 $caps --workers 1 nd:1 node -e "
            const net = require('net'), fs = require('fs');
            net.createServer().listen('/etc/pwn.sock', () => console.log('etc listening'))
                .on('error', (e) => console.log('etc', e.code));
            net.createServer().listen('/tmp/w.sock', () => {
                const s = fs.statSync('/tmp/w.sock');
                console.log('tmp', s.isSocket(), s.uid, s.gid === process.getgid());
            });
            setInterval(() => {}, 1000)")
        sec_wait_log_lines "$id" 2
        run "$NRUN" logs "$id"
        echo "$caps: $output"
        [[ "$output" == *"etc EACCES"* && "$output" == *"tmp true 1000 true"* ]]
        [ ! -e "$NRUN_ROOT/containers/$id/upper/etc/pwn.sock" ]
        # PID 1 is back to root's filesystem identity, its capabilities whole
        pid=$("$NRUN" inspect "$id" | jq -r '.[0].State.Pid')
        [ "$(awk '/^Uid:/ {print $5}' /proc/"$pid"/status)" = 0 ]
        [ "$(awk '/^Gid:/ {print $5}' /proc/"$pid"/status)" = 0 ]
        [ "$(awk '/^CapEff:/ {print $2}' /proc/"$pid"/status)" = "$(awk '/^CapPrm:/ {print $2}' /proc/"$pid"/status)" ]
        "$NRUN" rm -f "$id"
    done
    # a root worker still binds where root may
    id=$(rt_run -d --workers 1 nd:1 node -e "
        require('net').createServer().listen('/etc/app.sock', () => console.log('uid', require('fs').statSync('/etc/app.sock').uid));
        setInterval(() => {}, 1000)")
    sec_wait_log_lines "$id" 1
    [ "$("$NRUN" logs "$id")" = "uid 0" ]
    "$NRUN" rm -f "$id"
}

@test "/proc/1/exe: not the host binary, not writable even with CAP_SYS_PTRACE (CVE-2019-5736)" {
    before=$(sha256sum "$NRUN" | cut -c1-64)
    run rt_run --rm sec:1 sh -c 'echo x > /proc/1/exe && echo WROTE; cat /proc/1/environ >/dev/null 2>&1 && echo READ; echo done'
    [[ "$output" != *WROTE* && "$output" != *READ* ]]
    run rt_run --rm --cap-add SYS_PTRACE sec:1 sh -c 'readlink /proc/1/exe; echo x > /proc/1/exe && echo WROTE; echo x >> /proc/1/exe && echo APPENDED; echo done'
    [[ "${lines[0]}" == /memfd:nrun* ]]
    [[ "$output" != *WROTE* && "$output" != *APPENDED* ]]
    [ "$(sha256sum "$NRUN" | cut -c1-64)" = "$before" ]
}

@test "PID 1 is the static init: no shared library, none of nrun's memory" {
    id=$(rt_run -d sec:1 sleep 100)
    pid=$("$NRUN" inspect "$id" | jq -r '.[0].State.Pid')
    [ "$pid" -gt 1 ]
    [[ "$(tr '\0' ' ' </proc/"$pid"/cmdline)" == "nrun init "* ]]
    [[ "$(readlink /proc/"$pid"/exe)" == /memfd:nrun-init* ]]
    # nothing mapped from a file but the program itself
    ! grep -E '\.so|libcrypto|libarchive' /proc/"$pid"/maps || false
    rss=$(awk '/^VmRSS/ {print $2}' /proc/"$pid"/status)
    echo "PID 1 RSS: $rss kB"
    [ "$rss" -lt 2048 ]
    "$NRUN" rm -f "$id"
}

@test "PID 1 runs from a sealed memfd with default capabilities too; no copy of it in the store" {
    id=$(rt_run -d sec:1 sleep 100)
    pid=$(jq -r .pid "$NRUN_ROOT/containers/$id/state.json")
    [[ "$(readlink "/proc/$pid/exe")" == /memfd:nrun-init* ]]
    # the kernel's word on it: the copy cannot grow, shrink or be written
    run sh -c "exec 9</proc/$pid/exe; printf x >>/proc/self/fd/9"
    [ "$status" -ne 0 ]
    [ -z "$(ls "$NRUN_ROOT"/cache/ | grep nrun-init)" ]
    "$NRUN" rm -f "$id"
}

@test "config.json is the description: it is written and validated" {
    id=$(rt_run -d sec:1 sleep 100)
    jq -e '.process.noNewPrivileges and (.linux.namespaces | length == 6) and .linux.seccomp.defaultAction == "SCMP_ACT_ERRNO"' \
        "$NRUN_ROOT/containers/$id/config.json"
    "$NRUN" rm -f "$id"
}

@test "run: an image whose WORKDIR is a /proc/self/fd link starts nowhere on the host" {
    tok=esc-run-wd-$$-$RANDOM
    for n in 3 4 5 6 7 8 9; do
        d=$(mktemp -d "$BATS_FILE_TMPDIR/wd.XXXXXX")
        ln -s "/proc/self/fd/$n" "$d/app"
        tar --numeric-owner -C "$d" -cf "$d.tar" .
        rt_bb_image wd:$n '{"Cmd":["sh"],"Env":["PATH=/bin"],"WorkingDir":"/app"}' "$d.tar"
        run rt_run --rm "wd:$n" sh -c "touch $tok; pwd -P"
        echo "fd $n: $status $output"
        found=$(find "$NRUN_ROOT" -name "$tok" -not -path '*/upper/*' 2>/dev/null || true) # (a --rm container's files go while find runs)
        [ -z "$found" ] || { rm -f $found; false; }
        [ "$status" -ne 0 ]
        [[ "$output" == *"/app"* ]]
    done
}

@test "stop while another nrun is still starting the container: it ends stopped, not left running" {
    command -v strace >/dev/null || skip "strace is not installed (make deps installs it)"
    # the start held open as in runtime_flags.bats' rm -f race: each mkdir
    # of the starting nrun (its cgroups' among them) waits 100 ms
    mkdir -p "$BATS_FILE_TMPDIR/cids"
    cid=$(mktemp -u "$BATS_FILE_TMPDIR/cids/XXXXXX")
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -o /dev/null -e trace=mkdir -e inject=mkdir:delay_enter=100000 \
        "$NRUN" run --cidfile "$cid" --network none sec:1 sleep 60 >"$BATS_TEST_TMPDIR/run.out" 2>&1 &
    pid=$!
    for _ in $(seq 1000); do [ -s "$cid" ] && break; sleep 0.01; done
    c=$(cat "$cid")
    first=$(rt_cgroup_dirs "$c" | head -1)
    for _ in $(seq 1000); do [ -d "$first" ] && break; sleep 0.01; done
    [ -d "$first" ]
    run "$NRUN" stop -t 1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    # stop said done: once the start is over (the run ended, or the state
    # is past created), the container is not running (it used to be started
    # after the stop had seen no process, and ran on)
    for _ in $(seq 600); do
        st=$("$NRUN" inspect "$c" | jq -r '.[0].State.Status')
        [ "$st" != created ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "status after stop: $st"
    "$NRUN" rm -f "$c" >/dev/null
    wait "$pid" || true
    cat "$BATS_TEST_TMPDIR/run.out"
    [ "$st" != running ]
}

@test "ps while a create --rm container is being started: not taken for an orphan and removed under the start" {
    command -v strace >/dev/null || skip "strace is not installed (make deps installs it)"
    c=$("$NRUN" create --rm --network none sec:1 sleep 60)
    # the start held open (each mkdir, the cgroups' among them, waits 100 ms;
    # -f: the detached monitor launches it)
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -o /dev/null -e trace=mkdir -e inject=mkdir:delay_enter=100000 \
        "$NRUN" start "$c" >"$BATS_TEST_TMPDIR/start.out" 2>&1 &
    pid=$!
    first=$(rt_cgroup_dirs "$c" | head -1)
    for _ in $(seq 1000); do [ -d "$first" ] && break; sleep 0.01; done
    [ -d "$first" ]
    # the create that was its monitor is gone: ps used to remove it here,
    # and the start failed on a vanished cgroup
    "$NRUN" ps -a >/dev/null
    [ -d "$NRUN_ROOT/containers/$c" ]
    # the start goes on to run it (strace -f follows its monitor: no wait here)
    for _ in $(seq 600); do
        st=$("$NRUN" inspect "$c" 2>/dev/null | jq -r '.[0].State.Status')
        [ "$st" = created ] || break
        sleep 0.05
    done
    cat "$BATS_TEST_TMPDIR/start.out"
    [ "$st" = running ]
    "$NRUN" rm -f "$c" >/dev/null
    wait "$pid" || true
}

# --sysctl and --ulimit (runtime/sysctl.c, runtime/spec_flags.c) -------------

@test "--sysctl: host-wide and UTS keys, traversal in the key, net.* without an own network namespace: refused, the host unchanged" {
    before=$(cat /proc/sys/kernel/core_pattern /proc/sys/kernel/hostname /proc/sys/kernel/domainname /proc/sys/vm/overcommit_memory)
    # host-wide keys carry the host's own value: should the guard ever break,
    # the probe fails on the message and still changes nothing on the host
    cp=$(cat /proc/sys/kernel/core_pattern) oc=$(cat /proc/sys/vm/overcommit_memory)
    un=$(cat /proc/sys/user/max_user_namespaces)
    for kv in kernel.hostname=evil kernel.domainname=evil "kernel.core_pattern=$cp" "vm.overcommit_memory=$oc" \
        "user.max_user_namespaces=$un" "net/../kernel/core_pattern=$cp" "net.ipv4/../../kernel.core_pattern=$cp" \
        net..ipv4.ip_forward=1 .net.ipv4.ip_forward=1 net.=1 "kernel.shmmax/../core_pattern=$cp" kernel.shmmaxx=1 \
        fs.mqueue..msg_max=1 "net.ipv4.ip forward=1" "=1"; do
        run -125 rt_run --rm --network none --sysctl "$kv" sec:1 true
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == "nrun: run: --sysctl $kv: not a"* ]] || { echo "$kv: $output"; return 1; }
    done
    # a value cannot carry a second line for the kernel's parser
    run -125 rt_run --rm --network none --sysctl $'kernel.shmmax=1\n2' sec:1 true
    [[ "$output" == *"the value is one line of text"* ]]
    for n in host "container:$(rt_run -d --network none sec:1 sleep 100)"; do
        run -125 rt_run --rm --network "$n" --sysctl net.ipv4.ip_default_ttl=9 sec:1 true
        [[ "$output" == *"net.* needs a network namespace of the container's own"* ]] || { echo "$n: $output"; return 1; }
    done
    [ "$(cat /proc/sys/kernel/core_pattern /proc/sys/kernel/hostname /proc/sys/kernel/domainname /proc/sys/vm/overcommit_memory)" = "$before" ]
}

@test "--sysctl: a config.json edited to set a host-wide key, or net.* without a network namespace, is refused at start" {
    ttl=$(cat /proc/sys/net/ipv4/ip_default_ttl)
    id=$("$NRUN" create --network none --sysctl kernel.shmmax=4096 sec:1 true)
    c=$NRUN_ROOT/containers/$id/config.json
    cp=$(cat /proc/sys/kernel/core_pattern) # the host's own value: a broken guard fails here, changing nothing
    jq --arg v "$cp" '.linux.sysctl = {"kernel.core_pattern": $v}' "$c" >"$c.new" && mv "$c.new" "$c"
    run "$NRUN" start -a "$id"
    [ "$status" -ne 0 ]
    [[ "$output" == *"config.json: linux.sysctl.kernel.core_pattern: not a namespaced sysctl"* ]]
    jq '.linux.sysctl = {"net.ipv4.ip_default_ttl": "9"} | .linux.namespaces -= [{"type": "network"}] | del(.annotations["org.nrun.networks"])' \
        "$c" >"$c.new" && mv "$c.new" "$c"
    run "$NRUN" start -a "$id"
    [ "$status" -ne 0 ]
    [[ "$output" == *"config.json: linux.sysctl.net.ipv4.ip_default_ttl: net.* needs a network namespace"* ]]
    jq --arg v "$cp" '.linux.sysctl = {"net/../../kernel/core_pattern": $v}' "$c" >"$c.new" && mv "$c.new" "$c"
    run "$NRUN" start -a "$id"
    [ "$status" -ne 0 ]
    [[ "$output" == *"config.json: linux.sysctl.net/../../kernel/core_pattern: not a sysctl name"* ]]
    [ "$(cat /proc/sys/net/ipv4/ip_default_ttl)" = "$ttl" ]
    [ "$(cat /proc/sys/kernel/core_pattern)" = "$cp" ]
    "$NRUN" rm -f "$id" >/dev/null
}

@test "--ulimit garbage is refused in one line; nothing above nrun's own hard limit" {
    hard=$(ulimit -Hn)
    for u in nofile nofile= =1 nofile=-5 nofile=1:-2 nofile=1:2:3 nofile=99999999999999999999 "nofile=1 " " nofile=1" \
        NOFILE=1 nofile=0x10 nofile=1.5 nofile=:1 "nofile=$((hard + 1))" nofile=unlimited nofile=-1; do
        run -125 rt_run --rm --network none --ulimit "$u" sec:1 true
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == "nrun: run: --ulimit $u: "* ]] || { echo "$u: $output"; return 1; }
    done
    # a config.json edited past the hard limit: clamped to nrun's own, never raised
    id=$("$NRUN" create --network none --ulimit nofile=10:20 sec:1 sh -c 'ulimit -Hn')
    c=$NRUN_ROOT/containers/$id/config.json
    jq '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 9000000, "hard": 9000000}]' "$c" >"$c.new" && mv "$c.new" "$c"
    run "$NRUN" start -a "$id"
    [ "$output" -le "$hard" ]
    "$NRUN" rm -f "$id" >/dev/null
}

@test "--device: nothing but a char or block node below /dev; a config.json edited to open other devices is refused at start" {
    [ -c /dev/loop-control ] || skip "no /dev/loop-control here"
    for d in /dev/loop-control:/dev /dev/loop-control:/dev/ /dev/loop-control:/dev/.nrun/x /dev/loop-control:/dev/pts/9 \
        /dev/loop-control:/dev/shm/x /dev/loop-control:/dev/mqueue/x /dev/loop-control:/dev/null /dev/loop-control:/dev/tty/x \
        /dev/loop-control:/etc/x /dev/loop-control:/dev/../etc/x /dev/loop-control:/proc/x /dev/loop-control:dev/x \
        /proc/self/fd /dev /tmp /proc/kcore; do
        run -125 rt_run --rm --network none --device "$d" sec:1 true
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == "nrun: --device $d: "* ]] || { echo "$d: $output"; return 1; }
    done
    id=$("$NRUN" create --network none --device /dev/loop-control:/dev/lc:r sec:1 sh -c 'exec 3</dev/lc && echo opened')
    c=$NRUN_ROOT/containers/$id/config.json
    cp "$c" "$BATS_TEST_TMPDIR/good.json"
    for edit in '.linux.resources.devices += [{"allow": true, "type": "b", "major": 8, "minor": 0, "access": "rwm"}]' \
        '.linux.resources.devices += [{"allow": true, "type": "a", "access": "rwm"}]' \
        '.linux.resources.devices[0].major = 1 | .linux.resources.devices[0].minor = 1' \
        '.linux.resources.devices[0].access = "rwmx"' \
        '.linux.resources.devices[0].allow = false' \
        '.linux.devices[0].path = "/dev/.nrun/lc"' '.linux.devices[0].path = "/etc/lc"' \
        '.linux.devices[0].path = "/dev/x/../../etc/lc"' '.linux.devices[0].type = "p"'; do
        jq "$edit" "$BATS_TEST_TMPDIR/good.json" >"$c"
        run "$NRUN" start -a "$id"
        [ "$status" -ne 0 ]
        [[ "$output" == *"config.json: linux."*"devices"* ]] || { echo "$edit: $output"; return 1; }
    done
    cp "$BATS_TEST_TMPDIR/good.json" "$c"
    run "$NRUN" start -a "$id"
    [ "$output" = opened ]
    "$NRUN" rm -f "$id" >/dev/null
}

# ---- docker run's --add-host, --dns*, --domainname, --oom-score-adj, --group-add ----

@test "--add-host, --dns, --dns-search, --dns-option, --domainname: a newline, space or '#' never forges a line of /etc/hosts or resolv.conf" {
    run -125 rt_run --rm --network none --add-host $'a\nb:1.1.1.1' sec:1 true
    [ "$output" = 'nrun: run: --add-host a\nb: expected a host name ([a-zA-Z0-9_.-], at most 253 bytes)' ]
    run -125 rt_run --rm --network none --add-host 'a b:1.1.1.1' sec:1 true
    [ "$output" = 'nrun: run: --add-host a b: expected a host name ([a-zA-Z0-9_.-], at most 253 bytes)' ]
    run -125 rt_run --rm --network none --add-host $'a:1.1.1.1\n6.6.6.6\tevil' sec:1 true
    [[ "$output" == 'nrun: run: --add-host a: "1.1.1.1\n6.6.6.6'*'evil" is not an IPv4 or IPv6 address (or host-gateway)' ]]
    run -125 rt_run --rm --network none --dns $'1.1.1.1\nnameserver 6.6.6.6' sec:1 true
    [ "$output" = 'nrun: run: --dns 1.1.1.1\nnameserver 6.6.6.6: not an IPv4 or IPv6 address' ]
    run -125 rt_run --rm --network none --dns-search $'a.example\nnameserver 6.6.6.6' sec:1 true
    [ "$output" = 'nrun: run: --dns-search a.example\nnameserver 6.6.6.6: expected a domain name ([a-zA-Z0-9_.-], at most 253 bytes)' ]
    run -125 rt_run --rm --network none --dns-search 'a.example nameserver' sec:1 true
    [ "$output" = 'nrun: run: --dns-search a.example nameserver: expected a domain name ([a-zA-Z0-9_.-], at most 253 bytes)' ]
    run -125 rt_run --rm --network none --dns-option $'ndots:1\nnameserver 6.6.6.6' sec:1 true
    [ "$output" = "nrun: run: --dns-option ndots:1\\nnameserver 6.6.6.6: expected an option without spaces, '#' or ';' (ndots:2)" ]
    run -125 rt_run --rm --network none --domainname $'a\nb' sec:1 true
    [ "$output" = 'nrun: run: --domainname a\nb: expected a name of [a-zA-Z0-9_.-], at most 64 bytes' ]
    # the runtime's own check: a config.json carrying one is refused at start
    id=$("$NRUN" create --network none --dns 1.1.1.1 --add-host a:1.1.1.1 sec:1 cat /etc/resolv.conf /etc/hosts)
    f=$NRUN_ROOT/containers/$id/config.json
    cp "$f" "$BATS_TEST_TMPDIR/good.json"
    forge() { jq "$1" "$BATS_TEST_TMPDIR/good.json" >"$BATS_TEST_TMPDIR/c.json" && cat "$BATS_TEST_TMPDIR/c.json" >"$f"; }
    forge '.annotations["org.nrun.dns"] = "1.1.1.1\nnameserver 6.6.6.6"'
    run "$NRUN" start -a "$id"
    [ "$status" -ne 0 ]
    [[ "$output" == *'config.json: org.nrun.dns: "1.1.1.1'*'nameserver" is invalid'* ]]
    forge '.annotations["org.nrun.dns-search"] = "a.example\nnameserver"'
    run "$NRUN" start -a "$id"
    [[ "$output" == *'config.json: org.nrun.dns-search: "a.example'*'nameserver" is invalid'* ]]
    forge '.annotations["org.nrun.extra-hosts"] = "1.1.1.1\ta\n6.6.6.6\tevil x\n"'
    run "$NRUN" start -a "$id"
    [[ "$output" == *"config.json: org.nrun.extra-hosts: an invalid line"* ]]
    forge '.domainname = "x\ny"'
    run "$NRUN" start -a "$id"
    [[ "$output" == *'config.json: domainname "x'*'y" is invalid'* ]]
    [[ "$output" != *6.6.6.6* ]]
    cat "$BATS_TEST_TMPDIR/good.json" >"$f"
    run "$NRUN" start -a "$id"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "nameserver 1.1.1.1" ]
    [ "${lines[-1]}" = $'1.1.1.1\ta' ]
    "$NRUN" rm -f "$id" >/dev/null
}

@test "--oom-score-adj outside -1000..1000 is refused by the CLI and in config.json" {
    for v in 1001 -1001 99999999999999999999; do
        run -125 rt_run --rm --network none --oom-score-adj "$v" sec:1 true
        [ "$output" = "nrun: run: --oom-score-adj $v: expected -1000..1000" ]
    done
    id=$("$NRUN" create --network none --oom-score-adj 10 sec:1 cat /proc/self/oom_score_adj)
    f=$NRUN_ROOT/containers/$id/config.json
    jq '.process.oomScoreAdj = -5000' "$f" >"$BATS_TEST_TMPDIR/c.json" && cat "$BATS_TEST_TMPDIR/c.json" >"$f"
    run "$NRUN" start -a "$id"
    [ "$status" -ne 0 ]
    [[ "$output" == *"config.json: process.oomScoreAdj must be an integer in [-1000, 1000]"* ]]
    "$NRUN" rm -f "$id" >/dev/null
    run rt_run --rm --network none --oom-score-adj 10 sec:1 cat /proc/self/oom_score_adj
    [ "$output" = 10 ]
}

@test "--group-add NAME: never resolved through a symlinked /etc/group (or /etc) that leads out of the image" {
    # a group the host has and the image does not
    hg=$(awk -F: '$3 > 0 && $3 < 1000 {print $1; exit}' /etc/group)
    [ -n "$hg" ]
    for shape in file dir; do
        d=$BATS_TEST_TMPDIR/l-$shape
        mkdir -p "$d/etc"
        if [ $shape = file ]; then
            ln -s ../../../../../../../../etc/group "$d/etc/group"
        else
            rmdir "$d/etc"
            ln -s /etc "$d/etc"
        fi
        tar --numeric-owner -C "$d" -cf "$BATS_TEST_TMPDIR/l-$shape.tar" .
        rt_bb_image "grp-$shape:1" '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$BATS_TEST_TMPDIR/l-$shape.tar"
        run -125 rt_run --rm --network none --group-add "$hg" "grp-$shape:1" id -G
        [ "$output" = "nrun: --group-add $hg: no such group in the image's /etc/group" ]
        # a number is taken as it is
        run rt_run --rm --network none --group-add 4242 "grp-$shape:1" id -G
        [ "$output" = "0 4242" ]
    done
    run -125 rt_run --rm --network none --group-add $'node\nroot' sec:1 true
    [ "$output" = 'nrun: run: --group-add node\nroot: expected a GID or a group name' ]
    run -125 rt_run --rm --network none --group-add 4294967295 sec:1 true
    [ "$output" = "nrun: --group-add 4294967295: group id out of range (0-4294967294)" ]
}
