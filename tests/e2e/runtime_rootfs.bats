#!/usr/bin/env bats
# Root filesystem and network: overlay upper per container, --read-only,
# bind mounts, named and anonymous volumes, /etc/hostname|hosts|resolv.conf,
# -p published sockets (systemd-style LISTEN_FDS for a plain process), node.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    rt_bb_image vol:1 '{"Cmd":["sh"],"Env":["PATH=/bin"],"Volumes":{"/data":{}}}'
    # an image whose VOLUME has content: a file, a subdir, a symlink out of it
    mkdir -p "$BATS_FILE_TMPDIR/seed/data/sub"
    echo seeded >"$BATS_FILE_TMPDIR/seed/data/seed"
    echo deep >"$BATS_FILE_TMPDIR/seed/data/sub/f"
    ln -s /etc/passwd "$BATS_FILE_TMPDIR/seed/data/link"
    chown -R 1000:1000 "$BATS_FILE_TMPDIR/seed/data"
    tar --numeric-owner -C "$BATS_FILE_TMPDIR/seed" -cf "$BATS_FILE_TMPDIR/seed.tar" .
    rt_bb_image seeded:1 '{"Cmd":["sh"],"Env":["PATH=/bin"],"Volumes":{"/data":{}}}' "$BATS_FILE_TMPDIR/seed.tar"
    rt_node_image
}

teardown_file() { rt_file_teardown; }

@test "writes go to the container's upper dir, never to the shared layer" {
    hex=$(sha256sum "$BATS_FILE_TMPDIR/bb.tar" | cut -c1-64)
    id=$(rt_run -d vol:1 sh -c 'echo new > /etc/newfile; rm /bin/vi; sleep 100')
    for _ in $(seq 50); do [ -e "$NRUN_ROOT/containers/$id/upper/etc/newfile" ] && break; sleep 0.05; done
    [ -e "$NRUN_ROOT/containers/$id/upper/etc/newfile" ]
    [ ! -e "$NRUN_ROOT/layers/$hex/etc/newfile" ]
    [ -L "$NRUN_ROOT/layers/$hex/bin/vi" ]
    run rt_run --rm vol:1 ls /etc/newfile
    [ "$status" -ne 0 ]
    "$NRUN" rm -f "$id"
}

@test "a removed container's directory is recycled as a fresh one: nothing of it reaches the next container" {
    free=$NRUN_ROOT/containers/.free
    # a container that changes its / (mode, owner, files) and one that does not
    rt_run --rm vol:1 sh -c 'chmod 777 /; chown 5:6 /; echo x >/left; mkdir -p /d/e; echo y >/d/e/f'
    rt_run --rm vol:1 true
    id=$(rt_run -d vol:1 sleep 100)
    "$NRUN" rm -f "$id" >/dev/null
    [ ! -e "$NRUN_ROOT/containers/$id" ]
    for _ in $(seq 50); do [ -d "$free/$id" ] && break; sleep 0.05; done
    [ -d "$free/$id" ]
    # a skeleton: four empty dirs, root's, with their modes
    [ "$(ls -A "$free/$id" | sort | tr '\n' ' ')" = "logs merged upper work " ]
    for d in upper work merged logs; do [ -z "$(ls -A "$free/$id/$d")" ]; done
    [ "$(stat -c '%a %u %g' "$free/$id/upper")" = "755 0 0" ]
    [ "$(stat -c '%a' "$free/$id/work")" = 700 ]
    [ "$(stat -c '%a' "$free/$id")" = 700 ]
    # every new container gets a fresh root
    for _ in 1 2 3; do
        run rt_run --rm vol:1 sh -c 'stat -c "%a %u %g" /; ls /left /d 2>&1'
        [ "${lines[0]}" = "755 0 0" ]
        [[ "$output" == *"/left: No such file"* ]]
        [[ "$output" == *"/d: No such file"* ]]
    done
    # a skeleton with inode flags (chattr) is not reused: new files would inherit them
    id=$(rt_run -d vol:1 sleep 100)
    chattr +S "$NRUN_ROOT/containers/$id/upper"
    "$NRUN" rm -f "$id" >/dev/null
    for _ in $(seq 50); do [ ! -d "$NRUN_ROOT/containers/.rm-$id" ] && break; sleep 0.05; done
    [ ! -d "$free/$id" ]
    run rt_run --rm vol:1 sh -c 'echo x >/f && lsattr /f 2>/dev/null || echo nolsattr'
    [[ "$output" != *S* || "$output" == nolsattr ]]
    # the pool is capped
    for _ in $(seq 20); do rt_run -d vol:1 true; done >"$BATS_TEST_TMPDIR/ids"
    "$NRUN" rm -f $(cat "$BATS_TEST_TMPDIR/ids") >/dev/null
    [ "$(ls "$free" | wc -l)" -le 16 ]
    [ "$(ls "$free" | wc -l)" -ge 1 ]
    ! "$NRUN" ps -a --format json | grep -q .free || false
}

@test "--rm mounts the overlay volatile (no sync of the host disk at exit); a kept container does not" {
    run rt_run --rm vol:1 sh -c 'grep "^overlay / " /proc/mounts'
    [ "$status" -eq 0 ]
    [[ "$output" == *volatile* ]]
    id=$(rt_run -d vol:1 sleep 100)
    run "$NRUN" exec "$id" sh -c 'grep "^overlay / " /proc/mounts'
    "$NRUN" rm -f "$id"
    [ "$status" -eq 0 ]
    [[ "$output" == "overlay / "* ]]
    [[ "$output" != *volatile* ]]
    # the removed container's files are gone soon after (deleted or recycled in the background)
    for _ in $(seq 50); do [ -z "$(ls -A "$NRUN_ROOT/containers" | grep -v '^\.names\.lock$\|^\.free$')" ] && break; sleep 0.05; done
    [ -z "$(ls -A "$NRUN_ROOT/containers" | grep -v '^\.names\.lock$\|^\.free$')" ]
}

@test "--read-only: the root is read-only, volumes and /dev/shm stay writable" {
    run rt_run --rm --read-only vol:1 sh -c 'touch /x 2>/dev/null && echo rootwritable; touch /data/x && echo volok; touch /dev/shm/x && echo shmok'
    [ "$output" = "$(printf 'volok\nshmok')" ]
}

@test "-v HOST:CTR and :ro bind mounts" {
    mkdir -p "$BATS_TEST_TMPDIR/h"
    echo host >"$BATS_TEST_TMPDIR/h/f"
    run rt_run --rm -v "$BATS_TEST_TMPDIR/h:/mnt/h" vol:1 sh -c 'cat /mnt/h/f; echo ctr > /mnt/h/g'
    [ "$output" = host ]
    [ "$(cat "$BATS_TEST_TMPDIR/h/g")" = ctr ]
    run rt_run --rm -v "$BATS_TEST_TMPDIR/h:/mnt/h:ro" vol:1 sh -c 'echo x > /mnt/h/g'
    [ "$status" -ne 0 ]
    [ "$(cat "$BATS_TEST_TMPDIR/h/g")" = ctr ]
    run rt_run --rm -v "relative/path:/x" vol:1 true
    [ "$status" -eq 125 ]
    run rt_run --rm -v "$BATS_TEST_TMPDIR/h:/../escape" vol:1 true
    [ "$status" -eq 125 ]
    # a missing host path: -v makes it (as docker's -v does), --mount type=bind refuses it
    run rt_run --rm -v "$BATS_TEST_TMPDIR/no/such/dir:/x" vol:1 true
    [ "$status" -eq 0 ]
    [ -d "$BATS_TEST_TMPDIR/no/such/dir" ]
    run rt_run --rm --mount "type=bind,source=$BATS_TEST_TMPDIR/not/there,target=/x" vol:1 true
    [ "$status" -eq 125 ]
    [[ "$output" == *"$BATS_TEST_TMPDIR/not/there"* ]]
    [ ! -e "$BATS_TEST_TMPDIR/not" ]
}

@test "named volumes persist under the root's volumes/; image VOLUME gets an anonymous one" {
    run rt_run --rm -v cache1:/cache vol:1 sh -c 'echo kept > /cache/f'
    [ "$status" -eq 0 ]
    [ "$(cat "$NRUN_ROOT/volumes/cache1/_data/f")" = kept ]
    run rt_run --rm -v cache1:/other vol:1 cat /other/f
    [ "$output" = kept ]
    id=$(rt_run -d vol:1 sh -c 'echo anon > /data/a; sleep 100')
    for _ in $(seq 50); do [ -e "$NRUN_ROOT/containers/$id/volumes/anon0/a" ] && break; sleep 0.05; done
    [ "$(cat "$NRUN_ROOT/containers/$id/volumes/anon0/a")" = anon ]
    "$NRUN" rm -f "$id"
}

@test "volumes start with the image's content (symlinks copied as links); a used named volume is kept" {
    run rt_run --rm seeded:1 sh -c 'cat /data/seed /data/sub/f; readlink /data/link; stat -c %u /data /data/seed'
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'seeded\ndeep\n/etc/passwd\n1000\n1000')" ]
    run rt_run --rm -v seedvol:/data seeded:1 sh -c 'cat /data/seed; echo changed > /data/seed'
    [ "$output" = seeded ]
    [ -L "$NRUN_ROOT/volumes/seedvol/_data/link" ]
    run rt_run --rm -v seedvol:/data seeded:1 cat /data/seed
    [ "$output" = changed ]
}

@test "per-container /etc/hostname, /etc/hosts, /etc/resolv.conf" {
    run rt_run --rm --name etc1 vol:1 sh -c 'cat /etc/hostname; grep -c etc1 /etc/hosts; grep -c localhost /etc/hosts'
    [ "${lines[0]}" = etc1 ]
    [ "${lines[1]}" = 1 ]
    [ "${lines[2]}" -ge 1 ]
    run rt_run --rm --net host vol:1 cat /etc/resolv.conf
    [ "$output" = "$(cat /etc/resolv.conf)" ]
}

@test "-p: a plain node server in the container is reached on the host's 127.0.0.1; no socket is handed in" {
    port=$(rt_free_port)
    id=$(rt_run -d --mode single -p "127.0.0.1:$port:80" nd:1 node -e \
        "require('net').createServer(s=>s.end('hi '+(process.env.LISTEN_FDS||'none')+'\n')).listen(80)")
    for _ in $(seq 100); do
        out=$(nr_in_ns curl -s --http0.9 --max-time 2 "http://127.0.0.1:$port/" || true)
        [ -n "$out" ] && break
        sleep 0.05
    done
    [ "$out" = "hi none" ]
    # the app's port from inside its own container
    run "$NRUN" exec "$id" node -e "require('net').connect(80,'127.0.0.1').on('error',()=>console.log('refused')).on('connect',()=>console.log('connected'))"
    [ "$output" = connected ]
    "$NRUN" rm -f "$id"
    run rt_run --rm -p "127.0.0.1:$port:80" -p "127.0.0.1:$port:81" nd:1 true
    [ "$status" -eq 125 ]
    [[ "$output" == *"$port"* ]]
    run rt_run --rm -p "99999:80" nd:1 true
    [ "$status" -eq 125 ]
}

@test "node runs unmodified in a container (libuv falls back from io_uring/clone3)" {
    run rt_run --rm nd:1 node -e 'require("fs").writeFileSync("/tmp/x","y"); console.log(require("fs").readFileSync("/tmp/x","utf8"), require("os").hostname().length)'
    [ "$status" -eq 0 ]
    [ "$output" = "y 12" ]
}

@test "run: supervisor options reach PID 1 (--max-memory, --crash-loop); bad values are refused before anything is made" {
    n=$("$NRUN" ps -aq | wc -l)
    run rt_run --rm --max-memory lots nd:1 true
    [ "$status" -eq 125 ]
    [[ "$output" == *"--max-memory lots"* ]]
    run rt_run --rm --crash-loop 5 nd:1 true
    [ "$status" -eq 125 ]
    run rt_run --rm --wait-ready=yes nd:1 true
    [ "$status" -eq 125 ]
    [ "$("$NRUN" ps -aq | wc -l)" -eq "$n" ]
    # a crash loop of 2 in 60 s ends the container (the default allows 10)
    run rt_run --rm --crash-loop 2/60s --backoff 10ms --workers 1 nd:1 node -e \
        "require('http').createServer().listen(3000, () => setTimeout(() => process.exit(4), 300))"
    [ "$status" -ne 0 ]
    [[ "$output" == *"crash loop"* ]]
    [ "$(grep -c 'exited with code 4 after' <<<"$output")" -eq 3 ]
    # --max-memory: a worker that grows past it is replaced
    port=$(rt_free_port)
    id=$(rt_run -d --max-memory 60m --workers 1 -p "127.0.0.1:$port:3000" nd:1 node -e \
        "require('http').createServer((q, r) => { if (q.url === '/grow') global.hog = Buffer.alloc(100e6, 1); r.end(String(process.pid)) }).listen(3000)")
    jq -e '.annotations["org.nrun.supervisor.max-memory"] == "60m"' "$NRUN_ROOT/containers/$id/config.json"
    for _ in $(seq 100); do old=$(nr_in_ns curl -sf --max-time 2 "http://127.0.0.1:$port/") && break; sleep 0.1; done
    [ -n "$old" ]
    nr_in_ns curl -sf "http://127.0.0.1:$port/grow" >/dev/null
    for _ in $(seq 150); do
        new=$(nr_in_ns curl -sf --max-time 2 "http://127.0.0.1:$port/" || true)
        [ -n "$new" ] && [ "$new" != "$old" ] && break
        sleep 0.1
    done
    [ "$new" != "$old" ]
    run "$NRUN" logs "$id"
    [[ "$output" == *"> --max-memory 60 MiB: replacing it"* ]]
    "$NRUN" rm -f "$id"
}
