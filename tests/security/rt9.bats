#!/usr/bin/env bats
# Red-team round 9: exec/run stdio, cp and the container's files, registry
# replies, build contexts (see each test's comment).
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    sec_file_setup_probes sec:1 tiocsti deeptree
    rt_bb_image bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
}
teardown() {
    rt_rm_all
}
teardown_file() { rt_file_teardown; }

# Found: `nrun run -i` handed the caller's own stdin to the app (slot 1), and
# the stdio hand-over to a non-root user (rt_stdio_own, compat7) chowned that
# pipe -- the host process's pipe that feeds nrun -- to the container's uid,
# as rt8 found for exec; a host user of that uid could then open it.  First
# fixed by sparing fd 0; now the caller's stdin never reaches the container
# (the relay below), which fixes this too.
@test "run -i -u 1000: the caller's stdin pipe keeps its owner; the app still reads it" {
    pidf="$BATS_TEST_TMPDIR/writer.pid"
    run bash -c "{ echo \$BASHPID >'$pidf'; sleep 1.5; echo in; } | \"\$NRUN\" run --rm -i -u 1000 bb:1 sh -c 'cat; id -u' & sleep 0.8; stat -L -c %u /proc/\$(cat '$pidf')/fd/1; wait"
    echo "$output"
    [ "${lines[0]}" = 0 ]
    [ "${lines[1]}" = in ]
    [ "${lines[2]}" = 1000 ]
}

# Found: `nrun run -i` (no -t) from a terminal handed the caller's terminal
# itself to the app as its stdin (exec -i relays it, runtime.bats): the
# container could change its modes, set O_NONBLOCK on the shell's own open
# file (the shell's next read fails), and pass the fd over a socket to a
# process of another container that outlives the run and reads what the
# user types afterwards.  Now a child of nrun relays the terminal into a pipe.
@test "run -i from a terminal: the app reads a pipe nrun relays, never the caller's terminal; input still arrives" {
    run bash -c "{ sleep 1.5; echo typed-line; sleep 1; } | script -qec \"'$NRUN' run --rm -i sec:1 sh -c 'tiocsti; readlink /proc/self/fd/0; read x; echo got=\\\$x'\" /dev/null"
    out=$(tr -d '\r' <<<"$output")
    echo "$out"
    [[ "$out" == *"fd0=ENOTTY"* ]]
    [[ "$out" != *"=ok"* ]]
    [[ "$(grep -A1 '^ctty=' <<<"$out" | tail -1)" == pipe:* ]]
    [[ "$out" == *"got=typed-line"* ]]
    # no relay child is left reading the terminal
    ! pgrep -f "$NR_REAL_NRUN run --rm -i sec:1"
}

# Found: ADD of a local archive held every entry's unpacked bytes in memory
# until the layer was written (only the store's free disk was checked): a
# 3.5 MB .tar.gz of zeros in a hostile build context made nbuild take 1 GB,
# and 100 MB of it more than this machine's memory.  The bytes now go to one
# unnamed spool file in the store.
@test "ADD of a small archive that unpacks to 768 MiB: nbuild stays in bounded memory, the files are whole" {
    ctx="$BATS_TEST_TMPDIR/ctx"
    mkdir -p "$ctx"
    python3 - "$ctx/bomb.tar.gz" <<'PY'
import io, sys, tarfile
class Z(io.RawIOBase):
    def __init__(s, n): s.n = n
    def readable(s): return True
    def readinto(s, b):
        k = min(len(b), s.n); b[:k] = bytes(k); s.n -= k; return k
with tarfile.open(sys.argv[1], "w:gz", compresslevel=1) as t:
    for i in range(3):
        ti = tarfile.TarInfo("z%d" % i); ti.size = 256 << 20
        t.addfile(ti, io.BufferedReader(Z(ti.size), 1 << 20))
PY
    [ "$(stat -c %s "$ctx/bomb.tar.gz")" -lt $((8 << 20)) ]
    printf 'FROM bb:1\nADD bomb.tar.gz /x/\n' >"$ctx/Dockerfile"
    NBUILD_NS="nsenter --net=/run/netns/$NR_NETNS"
    run sec_bounded 120 $NBUILD_NS "$NBUILD" -t bomb:1 "$ctx"
    echo "$output" | tail -5
    [ "$status" -eq 0 ]
    run "$NRUN" run --rm bomb:1 sh -c 'stat -c "%n %s" /x/z0 /x/z1 /x/z2; tr -d "\0" </x/z2 | wc -c'
    echo "$output"
    [ "${lines[0]}" = "/x/z0 268435456" ]
    [ "${lines[2]}" = "/x/z2 268435456" ]
    [ "${lines[3]}" = 0 ]
    # no spool file is left in the store
    [ -z "$(ls -A "$NRUN_ROOT/blobs/sha256" | grep -v '^[0-9a-f]\{64\}$')" ]
}

# Found: nrun cp read a container's file to its end and wrote every byte: a
# hostile container's sparse file (truncate -s 1T, no disk of its own) in a
# directory the user copies out filled the host's disk with zeros.  Holes
# now stay holes, as volume copy-up keeps them.
@test "cp out of a container with a 1 GiB sparse file: the host copy takes no 1 GiB; content and sizes whole" {
    id=$(rt_run -d bb:1 sh -c 'mkdir /d && truncate -s 1G /d/big && echo hi >/d/small && printf x | dd of=/d/big bs=1 seek=4096 conv=notrunc 2>/dev/null && sleep 100')
    sleep 0.5
    out="$BATS_TEST_TMPDIR/out"
    mkdir "$out"
    run "$NRUN" cp "$id:/d" "$out/"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(stat -c %s "$out/d/big")" = 1073741824 ]
    [ "$(cat "$out/d/small")" = hi ]
    [ "$(dd if="$out/d/big" bs=1 skip=4096 count=1 2>/dev/null)" = x ]
    used=$(du -k "$out/d/big" | cut -f1)
    echo "allocated: ${used} KiB"
    [ "$used" -lt 1024 ]
    "$NRUN" rm -f "$id" >/dev/null
}

# Found: nrun events (and compose events) printed a container's attributes,
# its image's labels among them, as they were: a label value with a newline
# forged whole event lines ("container die ... name=db") for a script that
# reads the stream, and an escape sequence reached the terminal (ps escapes
# the same labels since session 11).
@test "events: an image label's newline forges no event line, its escape sequence reaches the terminal escaped" {
    "$NRUN" __internal mkimage -t evl:1 --config '{"Cmd":["true"],"Env":["PATH=/bin"],"Labels":{"note":"x)\n2026-01-01T00:00:00.000000000Z container die 00000000 (name=db)\u001b]0;t\u0007"}}' \
        "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
    t0=$(date +%s)
    rt_run --rm evl:1 true
    run "$NRUN" events --since "$t0" --until "$(($(date +%s) + 1))"
    printf '%s\n' "$output" | cat -v
    [ "$status" -eq 0 ]
    [[ "$output" != *$'\e'* && "$output" != *$'\a'* ]]
    ! grep -q '^2026-01-01' <<<"$output"
    [ "$(grep -c ' container ' <<<"$output")" -eq "${#lines[@]}" ]
    [[ "$output" == *'note=x)\n2026-01-01'* ]]
}

# Found: nrun diff kept every changed path in memory, bounded in count only:
# a default container's chain of 1000 directories with 250-byte names makes
# each file below it a 250 KB line; 3000 inodes took nrun diff to 790 MB,
# 200,000 (a few MB of the container's disk) to 50 GB.  The listing's bytes
# are bounded now: refused in bounded memory, with one line saying why.
@test "diff of a container with a deep chain of long names: refused in bounded memory, not out of memory" {
    id=$(rt_run -d sec:1 sh -c 'deeptree /w 1000 3000 && echo hi >/small && sleep 300')
    for _ in $(seq 1 60); do [ "$("$NRUN" logs "$id" 2>/dev/null)" = made ] && break; sleep 0.5; done
    [ "$("$NRUN" logs "$id")" = made ]
    run sec_bounded 60 "$NRUN" diff "$id"
    echo "${output:0:300}"
    [ "$status" -eq 1 ]
    [[ "$output" == *"take more than 128 MiB: refused"* ]]
    [[ "$output" != *"out of memory"* ]]
    # an ordinary container's diff is as before
    id2=$(rt_run -d sec:1 sh -c 'echo hi >/small && sleep 300')
    sleep 0.5
    run "$NRUN" diff "$id2"
    [ "$status" -eq 0 ]
    [[ "$output" == *"A /small"* ]]
    "$NRUN" rm -f "$id" "$id2" >/dev/null
}

# Found: nrun export wrote each entry's whole name into the tar: below a
# container's chain of 1000 directories with 250-byte names every file,
# one inode to the container, is 250 KB of tar (3000 files: a 634 MB tar;
# 200,000 would fill this host's disk), as holes were before session 11.
# The names are bounded now, as the holes.
@test "export of a container with a deep chain of long names: refused at the names' bound, no tar left" {
    id=$(rt_run -d sec:1 sh -c 'deeptree /w 1000 3000 && echo hi >/small && sleep 300')
    for _ in $(seq 1 60); do [ "$("$NRUN" logs "$id" 2>/dev/null)" = made ] && break; sleep 0.5; done
    [ "$("$NRUN" logs "$id")" = made ]
    out="$BATS_TEST_TMPDIR/ex"
    mkdir "$out"
    run sec_bounded 120 "$NRUN" export -o "$out/c.tar" "$id"
    echo "${output:0:300}"
    [ "$status" -eq 1 ]
    [[ "$output" == *"entry names would take more than 512 MiB: refused"* ]]
    [ -z "$(ls -A "$out")" ]
    # an ordinary container exports as before
    id2=$(rt_run -d sec:1 sh -c 'echo hi >/small && sleep 300')
    sleep 0.5
    "$NRUN" export -o "$out/ok.tar" "$id2"
    [ "$(tar -xOf "$out/ok.tar" small)" = hi ]
    "$NRUN" rm -f "$id" "$id2" >/dev/null
}

# Found: `nrun run -i IMG ... < FILE` handed the host file's fd itself to the
# app: root in a default container reopened it through /proc/self/fd/0 for
# writing (CAP_DAC_OVERRIDE) and chmod/chowned it (CAP_FOWNER, CAP_CHOWN), so
# `nrun run -i img cmd < /etc/passwd` gave the container the host's passwd.
# stdin is now always relayed through nrun's own pipe, as docker's is.
@test "run -i < a host file: the container can neither write, chmod nor chown it; a non-root app still opens /dev/stdin" {
    f="$BATS_TEST_TMPDIR/hostfile"
    echo data >"$f"
    chown 0:0 "$f"
    chmod 0600 "$f"
    run "$NRUN" run --rm -i bb:1 sh -c 'readlink /proc/self/fd/0; chown 1000:1000 /proc/self/fd/0; chmod 6777 /proc/self/fd/0; echo pwned >>/proc/self/fd/0; cat >/dev/null' <"$f"
    echo "$output"
    [[ "${lines[0]}" == pipe:* ]]
    [ "$(stat -c '%u:%g %a' "$f")" = "0:0 600" ]
    [ "$(cat "$f")" = data ]
    run bash -c "echo in | '$NRUN' run --rm -i -u 1000 bb:1 sh -c 'cat /dev/stdin; id -u'"
    [ "${lines[0]}" = in ]
    [ "${lines[1]}" = 1000 ]
}

# Found with the terminal case: `nrun run -i` whose stdin is a socket (a
# service manager's or inetd's stdin, sshd's socketpair) handed that host
# socket to the app, against DESIGN's "no host socket crosses into a
# container".  It is relayed through a pipe as the terminal is.
@test "run -i from a socket: the app reads a pipe, never the host's socket; the bytes arrive" {
    run python3 - "$NRUN" <<'PY'
import socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen([sys.argv[1], "run", "--rm", "-i", "bb:1", "sh", "-c", "readlink /proc/self/fd/0; head -c 5"],
                     stdin=b, stdout=subprocess.PIPE)
b.close()
a.sendall(b"hello"); a.shutdown(socket.SHUT_WR)
print(p.communicate(timeout=60)[0].decode())
PY
    echo "$output"
    [[ "${lines[0]}" == pipe:* ]]
    [ "${lines[1]}" = hello ]
}

# Found: an ONBUILD trigger of an untrusted base image could RUN
# --mount=type=cache and fill the store's shared cache directories (the id
# defaults to the target): a later, unrelated build FROM a trusted base that
# caches /root/.npm read what the trigger left (rt8 kept --secret, --ssh,
# stages and contexts from triggers, not the caches that outlive the build).
# A trigger's cache mounts are now its base image's own.
@test "an ONBUILD trigger's cache mount is its base's own: a later build's steps never read what it left there" {
    "$NRUN" __internal mkimage -t onb:1 --config '{"Cmd":["sh"],"Env":["PATH=/bin"],"OnBuild":["RUN --mount=type=cache,target=/root/.npm echo poisoned >/root/.npm/index"]}' \
        "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
    ctx="$BATS_TEST_TMPDIR"
    mkdir -p "$ctx/a" "$ctx/b" "$ctx/c"
    printf 'FROM onb:1\nRUN true\n' >"$ctx/a/Dockerfile"
    printf 'FROM bb:1\nRUN --mount=type=cache,target=/root/.npm cat /root/.npm/index >/seen 2>&1; echo own >/root/.npm/own\n' >"$ctx/b/Dockerfile"
    printf 'FROM bb:1\nRUN --mount=type=cache,target=/root/.npm cat /root/.npm/own >/seen2\n' >"$ctx/c/Dockerfile"
    NS="nsenter --net=/run/netns/$NR_NETNS"
    $NS "$NBUILD" -q --no-cache -t onb-child:1 "$ctx/a"
    $NS "$NBUILD" -q --no-cache -t trusted:1 "$ctx/b"
    run "$NRUN" run --rm trusted:1 cat /seen
    echo "$output"
    [[ "$output" != *poisoned* ]]
    # the Dockerfile's own steps still share their cache across builds
    $NS "$NBUILD" -q --no-cache -t trusted:2 "$ctx/c"
    run "$NRUN" run --rm trusted:2 cat /seen2
    [ "$output" = own ]
}

# Found by round 9, fixed in its read-back: nrun commit held each changed
# file's name and host path in memory until the layer was written, about
# 8 KB a file under a chain of 15 directories with 250-byte names (a path
# the walk still takes): 40,000 files took 320 MB, 200,000 would exhaust
# the host.  A layer's entries hold at most 256 MiB now.
@test "commit of a container with many files under long names: refused in bounded memory, the store unchanged" {
    id=$(rt_run -d sec:1 sh -c 'deeptree /w 15 40000 && echo hi >/small && sleep 300')
    for _ in $(seq 1 60); do [ "$("$NRUN" logs "$id" 2>/dev/null)" = made ] && break; sleep 0.5; done
    [ "$("$NRUN" logs "$id")" = made ]
    before=$(nr_tree_hash "$NRUN_ROOT/blobs")
    # 1 GiB: the bound is 256 MiB of what the entries hold, which ASAN's
    # redzones and quarantine take past 512 MiB of RSS
    SEC_BOUND_MB=1024 run sec_bounded 60 "$NRUN" commit "$id" deep:1
    echo "${output:0:300}"
    [ "$status" -ne 0 ]
    [[ "$output" == *"names and data reach 256 MiB (too many files or too long names)"* ]]
    [[ "$output" != *"out of memory"* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT/blobs")" = "$before" ]
    run -127 "$NRUN" image inspect deep:1 # no such image
    "$NRUN" rm -f "$id" >/dev/null
}

# Held (probed in the read-back): compose's include, extends and secrets read
# files the compose file names, as root.  A cloned compose file naming a
# host secret gets a parse error naming the file and place, never its bytes;
# an environment secret's value never reaches `config`.
@test "compose include/extends of a host secret file: the error names the file, echoes none of it; an environment secret's value stays out of config" {
    d=$BATS_TEST_TMPDIR/p && mkdir -p "$d"
    printf 'topsecret-line: [unclosed\nroot:$6$saltsalt$hashhashhash:19000:0:99999:7:::\n' >"$BATS_TEST_TMPDIR/shadow"
    chmod 600 "$BATS_TEST_TMPDIR/shadow"
    for doc in "include: [$BATS_TEST_TMPDIR/shadow]" \
        "services: {a: {extends: {service: x, file: $BATS_TEST_TMPDIR/shadow}}}"; do
        printf '%s\nservices:\n  b:\n    image: bb:1\n' "$doc" >"$d/compose.yaml"
        [[ "$doc" == services:* ]] && printf '%s\n' "$doc" >"$d/compose.yaml"
        run sh -c "cd '$d' && '$NRUN' compose config 2>&1"
        echo "$output"
        [ "$status" -ne 0 ]
        [[ "$output" == *"$BATS_TEST_TMPDIR/shadow"* ]]
        [[ "$output" != *topsecret* && "$output" != *saltsalt* && "$output" != *hashhash* ]]
    done
    printf 'services:\n  b:\n    image: bb:1\n    secrets: [s]\nsecrets:\n  s:\n    environment: NR_PROBE_SECRET\n' >"$d/compose.yaml"
    run sh -c "cd '$d' && NR_PROBE_SECRET=hunter2-value '$NRUN' compose config 2>&1"
    [ "$status" -eq 0 ]
    [[ "$output" == *"environment: NR_PROBE_SECRET"* ]]
    [[ "$output" != *hunter2* ]]
}
