#!/usr/bin/env bats
# Red-team round 10: network connect/disconnect on a running container,
# compose include/extends/secrets, the files nrun opens for the user (see
# each test's comment).
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    rt_bb_image bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    export SFX=${NR_NETNS#nrt-}
    # host-side: did anyone open this node while a command ran?
    gcc -O1 -Wall -o "$BATS_FILE_TMPDIR/openwatch" "$REPO/tests/security/probes/openwatch.c"
}
teardown() {
    rt_rm_all
    local n
    for n in a$SFX b$SFX; do "$NRUN" network rm "$n" >/dev/null 2>&1 || true; done
}
teardown_file() { rt_file_teardown; }

# Found: network connect and disconnect rewrite the running container's
# resolv.conf (/dev/.nrun/resolv.conf in its /dev tmpfs, which its root
# owns) from the host, and opened it O_RDWR before looking at what it was.
# Root in a container with CAP_MKNOD (docker's default set has it; --cap-add
# MKNOD here) replaces it by a node of any device -- the host's disk, a
# watchdog that reboots the machine once opened and closed -- and the host's
# nrun, outside the container's device rules, opened it.  Now the path is
# looked at through O_PATH and only a regular file is opened (O_NONBLOCK: a
# lease of the container's does not hold the network lock either).
@test "network connect/disconnect: a device node at the container's resolv.conf is never opened by the host; a plain one is still rewritten" {
    "$NRUN" network create "a$SFX" >/dev/null
    "$NRUN" network create "b$SFX" >/dev/null
    id=$(rt_run -d --cap-add MKNOD --network "a$SFX" bb:1 sleep 600)
    pid=$("$NRUN" inspect "$id" | jq -r '.[0].State.Pid')
    [ "$pid" -gt 1 ]
    # /dev/null's numbers: harmless to open, and the open is what is watched
    "$NRUN" exec "$id" sh -c 'rm /dev/.nrun/resolv.conf && mknod /dev/.nrun/resolv.conf c 1 3'
    node=/proc/$pid/root/dev/.nrun/resolv.conf
    [ -c "$node" ]
    run "$BATS_FILE_TMPDIR/openwatch" "$node" "$NRUN" network connect "b$SFX" "$id"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = not-opened ]
    run "$BATS_FILE_TMPDIR/openwatch" "$node" "$NRUN" network disconnect "b$SFX" "$id"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = not-opened ]
    [ -c "$node" ]
    # a container that left its resolv.conf alone gets the network's DNS server
    ok=$(rt_run -d --network "a$SFX" bb:1 sleep 600)
    before=$("$NRUN" exec "$ok" grep -c '^nameserver' /etc/resolv.conf)
    "$NRUN" network connect "b$SFX" "$ok"
    [ "$("$NRUN" exec "$ok" grep -c '^nameserver' /etc/resolv.conf)" -eq $((before + 1)) ]
    "$NRUN" network disconnect "b$SFX" "$ok"
    [ "$("$NRUN" exec "$ok" grep -c '^nameserver' /etc/resolv.conf)" -eq "$before" ]
}

# Found: the files a user names to nrun (compose -f, include, extends.file,
# env_file, .env, --env-file...) were opened, then refused when not a
# regular file: the open itself reached a device a cloned project names
# (include: [/dev/watchdog] arms the watchdog, a tape rewinds), as root.
# Now the path is looked at through O_PATH and only a regular file opened.
@test "compose include/extends/env_file of a device node: refused, and the node is never opened" {
    d=$BATS_TEST_TMPDIR/p && mkdir -p "$d"
    mknod "$d/node" c 1 3
    for doc in "include: [node]" \
        "services: {a: {image: bb:1, extends: {service: x, file: node}}}" \
        "services: {a: {image: bb:1, env_file: node}}"; do
        printf '%s\n' "$doc" >"$d/compose.yaml"
        [[ "$doc" == include:* ]] && printf 'services:\n  b:\n    image: bb:1\n' >>"$d/compose.yaml"
        run "$BATS_FILE_TMPDIR/openwatch" "$d/node" sh -c "cd '$d' && '$NRUN' compose config 2>&1"
        echo "$output"
        [ "$status" -ne 0 ]
        [[ "$output" == *"$d/node: a device, not a regular file"* ]]
        [ "${lines[-1]}" = not-opened ]
    done
    # nrun run --env-file goes through the same reader
    run "$BATS_FILE_TMPDIR/openwatch" "$d/node" "$NRUN" run --rm --env-file "$d/node" bb:1 true
    echo "$output"
    [ "$status" -ne 0 ]
    [ "${lines[-1]}" = not-opened ]
}

# Found: compose's include and extends read the files they name each time
# they are named, with no bound on the whole: five small files, each
# including the next one 40 times (no loop, no service, so neither the
# depth limit nor "defined twice" stops it), made `compose config` read 100
# million files -- a cloned project's compose.yaml hung every compose verb.
# Now one project reads at most 1000 files (and 256 MiB) in all.
@test "compose include fan-out (40^5 reads of service-less files): refused in one line, not hung" {
    d=$BATS_TEST_TMPDIR/p && mkdir -p "$d"
    for i in 1 2 3 4 5; do
        { printf 'include:\n'; for _ in $(seq 40); do printf '  - f%d.yaml\n' $((i + 1)); done; } >"$d/f$i.yaml"
    done
    printf 'x-empty: 1\n' >"$d/f6.yaml"
    printf 'include: [f1.yaml]\nservices:\n  b:\n    image: bb:1\n' >"$d/compose.yaml"
    run sec_bounded 60 sh -c "cd '$d' && '$NRUN' compose config 2>&1"
    echo "$output" | tail -3
    [ "$status" -ne 124 ]
    [ "$status" -ne 0 ]
    [[ "$output" == *"more than 1000 compose files read"* ]]
    # a project that reads a file a few times is fine
    printf 'include: [f5.yaml]\nservices:\n  b:\n    image: bb:1\n' >"$d/compose.yaml"
    run sh -c "cd '$d' && '$NRUN' compose config"
    [ "$status" -eq 0 ]
}

# Found: a layer's bytes were read through libarchive's filter_all, which
# takes every compression it knows and runs some as host programs (lrzip,
# grzip always, lzop without liblzo) on the bytes: an image from a hostile
# registry or archive whose layer starts with lrzip's magic made `nrun load`
# (or the unpack of run/pull) run `lrzip -d` on the host, as root, on bytes
# the image chose.  Now a layer is gzip, zstd, bzip2 or xz (docker's set),
# read in process, and anything else is not a layer.
@test "an image whose layer is lrzip, lzop or grzip data: refused, and no host decompressor runs on it" {
    d=$BATS_TEST_TMPDIR
    mkdir -p "$d/bin"
    for p in lrzip lzop grzip; do
        printf '#!/bin/sh\ntouch "%s/ran-%s"\ncat >/dev/null\n' "$d" "$p" >"$d/bin/$p"
        chmod 755 "$d/bin/$p"
    done
    "$NRUN" save --dir -o "$d/lay" bb:1
    for magic in 'LRZI\x00\x06' '\x89LZO\x00\x0d\x0a\x1a\x0a' 'GRZipII\x00\x02\x04:)'; do
        rm -rf "$d/l"
        cp -a "$d/lay" "$d/l"
        python3 - "$d/l" "$magic" <<'PY'
import hashlib, json, os, sys
lay, magic = sys.argv[1], sys.argv[2].encode().decode("unicode_escape").encode("latin-1")
def put(data):
    h = hashlib.sha256(data).hexdigest()
    open(os.path.join(lay, "blobs/sha256", h), "wb").write(data)
    return "sha256:" + h, len(data)
idx = json.load(open(os.path.join(lay, "index.json")))
man = json.load(open(os.path.join(lay, "blobs/sha256", idx["manifests"][0]["digest"][7:])))
man["layers"][0]["digest"], man["layers"][0]["size"] = put(magic + bytes(4096))
# a diff_id of its own: no layer of the store unpacked under it already
cfg = json.load(open(os.path.join(lay, "blobs/sha256", man["config"]["digest"][7:])))
cfg["rootfs"]["diff_ids"][0] = "sha256:" + hashlib.sha256(magic).hexdigest()
man["config"]["digest"], man["config"]["size"] = put(json.dumps(cfg).encode())
idx["manifests"][0]["digest"], idx["manifests"][0]["size"] = put(json.dumps(man).encode())
json.dump(idx, open(os.path.join(lay, "index.json"), "w"))
PY
        PATH="$d/bin:$PATH" run "$NRUN" load -i "$d/l" --name evil:1
        echo "load: $status $output"
        if [ "$status" -eq 0 ]; then
            PATH="$d/bin:$PATH" run "$NRUN" run --rm evil:1 true
            echo "run: $status $output"
            [ "$status" -ne 0 ]
            "$NRUN" rmi evil:1 >/dev/null
        fi
        for p in lrzip lzop grzip; do sec_no_marker "$d/ran-$p"; done
    done
}

# Held (probed in the read-back of 205adcd, PAX headers only where needed):
# names a build context holds -- a newline, text that reads as a PAX
# record, bytes that are not UTF-8, past ustar's 100 and 155, a symlink
# target past 100 and not UTF-8 -- are written so that GNU tar and
# Python's tarfile read back each name, target and content as given, and
# no name makes a header of its own (one entry each, nothing else).
@test "layer names with a newline, a PAX-like record, non-UTF-8 bytes, long paths and link targets read back the same with GNU tar" {
    ctx=$BATS_TEST_TMPDIR/ctx
    mkdir -p "$ctx"
    python3 - "$ctx" <<'PY'
import os, sys
d = os.fsencode(sys.argv[1]) + b"/"
names = [b"nl\nx", b"inj\n30 path=evil\n", b"bad\xff\xfe", b"u\xc3\xa9", b"L" * 150,
         b"d" * 90 + b"/" + b"e" * 90 + b"/" + b"f" * 90, b"x" * 99 + b"\xff"]
for n in names:
    os.makedirs(os.path.dirname(d + n), exist_ok=True)
    open(d + n, "wb").write(b"data:" + n)
os.symlink(b"/" + b"t" * 200, d + b"longlink")
os.symlink(b"\xff\n../../etc", d + b"oddlink")
PY
    printf 'FROM scratch\nCOPY . /c/\n' >"$BATS_TEST_TMPDIR/Dockerfile"
    nr_in_ns "$NBUILD" -q -f "$BATS_TEST_TMPDIR/Dockerfile" -t names:1 "$ctx" >/dev/null
    "$NRUN" save --dir -o "$BATS_TEST_TMPDIR/lay" names:1
    lay=$BATS_TEST_TMPDIR/lay/blobs/sha256
    man=$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/lay/index.json" | cut -d: -f2)
    layer=$lay/$(jq -r '.layers[0].digest' "$lay/$man" | cut -d: -f2)
    mkdir "$BATS_TEST_TMPDIR/out"
    LC_ALL=C tar -C "$BATS_TEST_TMPDIR/out" -xzf "$layer"
    run python3 - "$ctx" "$BATS_TEST_TMPDIR/out/c" "$layer" <<'PY'
import os, sys, tarfile
src, out = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
def tree(top):
    r = {}
    for root, ds, fs in os.walk(top):
        for f in fs + [x for x in ds if os.path.islink(os.path.join(root, x))]:
            p = os.path.join(root, f)
            r[os.path.relpath(p, top)] = (b"-> " + os.readlink(p)) if os.path.islink(p) else open(p, "rb").read()
    return r
a, b = tree(src), tree(out)
print("same" if a == b else "differ: %r" % (set(a.items()) ^ set(b.items())))
with tarfile.open(sys.argv[3], encoding="utf-8", errors="surrogateescape") as t:
    got = sorted(m.name.encode("utf-8", "surrogateescape") for m in t.getmembers() if not m.isdir())
want = sorted(b"c/" + n for n in a)
print("entries", "same" if got == want else "differ: %r %r" % (got, want))
PY
    echo "$output"
    [ "${lines[0]}" = same ]
    [ "${lines[1]}" = "entries same" ]
}

# Found: ADD of a local .tar.xz decoded it with libarchive's xz reader,
# which lets the decoder take up to 1 GiB: a stream declares its dictionary
# size, and the dictionary fills as it unpacks, so a 60 KB .tar.xz of
# zeros whose header declares 768 MiB (xz's own presets stop at 64 MiB)
# took nbuild to 300 MB resident for 300 MiB unpacked, 768 MB for more,
# where rt9's spool keeps an ADD to a few MB.  xz is now decoded in nbuild
# with a 128 MiB bound; past it, the ADD's error.
@test "ADD of a .tar.xz that declares a 768 MiB dictionary: refused at the ADD, store unchanged; an xz -9e archive still unpacks" {
    ctx=$BATS_TEST_TMPDIR/ctx
    mkdir -p "$ctx/t"
    python3 - "$ctx/big.tar.xz" <<'PY'
import io, lzma, struct, sys, tarfile, zlib
class Z(io.RawIOBase):
    def __init__(s, n): s.n = n
    def readable(s): return True
    def readinto(s, b):
        k = min(len(b), s.n); b[:k] = bytes(k); s.n -= k; return k
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    ti = tarfile.TarInfo("z"); ti.size = 300 << 20
    t.addfile(ti, io.BufferedReader(Z(ti.size), 1 << 20))
b = bytearray(lzma.compress(buf.getvalue(), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32,
                            filters=[{"id": lzma.FILTER_LZMA2, "dict_size": 1 << 20}]))
# the first block header: size, flags, [sizes], filter 0x21 (LZMA2), 1 byte of
# properties (the dictionary: 35 is 768 MiB), padding, CRC32 of the header
h, p = 12, 14
hsize = (b[h] + 1) * 4
def varint(p):
    while b[p] & 0x80: p += 1
    return p + 1
if b[h + 1] & 0x40: p = varint(p)
if b[h + 1] & 0x80: p = varint(p)
assert b[p] == 0x21 and b[p + 1] == 1
b[p + 2] = 35
b[h + hsize - 4:h + hsize] = struct.pack("<I", zlib.crc32(bytes(b[h:h + hsize - 4])) & 0xffffffff)
open(sys.argv[1], "wb").write(b)
PY
    [ "$(stat -c %s "$ctx/big.tar.xz")" -lt $((256 << 10)) ]
    printf 'FROM bb:1\nADD big.tar.xz /x/\n' >"$ctx/Dockerfile"
    before=$(nr_tree_hash "$NRUN_ROOT")
    SEC_BOUND_MB=1024 run sec_bounded 120 nsenter --net="/run/netns/$NR_NETNS" "$NBUILD" -t bigxz:1 "$ctx"
    echo "$output" | tail -3
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    [[ "$output" == *"Dockerfile:2:"*"ADD big.tar.xz"*"xz: decoding needs more than 128 MiB"* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    # xz's strongest preset still unpacks
    echo hi >"$ctx/t/a"
    tar -C "$ctx" -cf - t | xz -9e >"$ctx/real.tar.xz"
    printf 'FROM bb:1\nADD real.tar.xz /x/\n' >"$ctx/Dockerfile"
    nr_in_ns "$NBUILD" -q -t realxz:1 "$ctx" >/dev/null
    [ "$("$NRUN" run --rm realxz:1 cat /x/t/a)" = hi ]
}

# Found with the ADD one: a pulled or loaded layer in xz went through
# libarchive's xz reader too, up to 1 GiB for a dictionary the layer
# declares.  Layers are decoded by the same bounded reader now.
@test "a layer in xz that declares a 768 MiB dictionary: refused at the layer; an ordinary xz layer still runs" {
    d=$BATS_TEST_TMPDIR
    "$NRUN" save --dir -o "$d/lay" bb:1
    for dict in 20 35; do
        rm -rf "$d/l"
        cp -a "$d/lay" "$d/l"
        python3 - "$d/l" "$dict" <<'PY'
import hashlib, io, json, lzma, os, struct, sys, tarfile, zlib
lay, dict_byte = sys.argv[1], int(sys.argv[2])
def put(data):
    h = hashlib.sha256(data).hexdigest()
    open(os.path.join(lay, "blobs/sha256", h), "wb").write(data)
    return "sha256:" + h, len(data)
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    body = b"xz layer %d\n" % dict_byte
    ti = tarfile.TarInfo("f"); ti.size = len(body)
    t.addfile(ti, io.BytesIO(body))
raw = buf.getvalue()
b = bytearray(lzma.compress(raw, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32,
                            filters=[{"id": lzma.FILTER_LZMA2, "dict_size": 1 << 20}]))
h, p = 12, 14
hsize = (b[h] + 1) * 4
def varint(p):
    while b[p] & 0x80: p += 1
    return p + 1
if b[h + 1] & 0x40: p = varint(p)
if b[h + 1] & 0x80: p = varint(p)
assert b[p] == 0x21 and b[p + 1] == 1
b[p + 2] = dict_byte  # 20: 4 MiB, 35: 768 MiB
b[h + hsize - 4:h + hsize] = struct.pack("<I", zlib.crc32(bytes(b[h:h + hsize - 4])) & 0xffffffff)
idx = json.load(open(os.path.join(lay, "index.json")))
man = json.load(open(os.path.join(lay, "blobs/sha256", idx["manifests"][0]["digest"][7:])))
dg, sz = put(bytes(b))
man["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": dg, "size": sz})
cfg = json.load(open(os.path.join(lay, "blobs/sha256", man["config"]["digest"][7:])))
cfg["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(raw).hexdigest())
man["config"]["digest"], man["config"]["size"] = put(json.dumps(cfg).encode())
idx["manifests"][0]["digest"], idx["manifests"][0]["size"] = put(json.dumps(man).encode())
json.dump(idx, open(os.path.join(lay, "index.json"), "w"))
PY
        "$NRUN" load -i "$d/l" --name "xzl$dict:1" >/dev/null
        run "$NRUN" run --rm "xzl$dict:1" cat /f
        echo "$dict: $status $output"
        if [ "$dict" = 20 ]; then
            [ "$status" -eq 0 ]
            [ "$output" = "xz layer 20" ]
        else
            [ "$status" -ne 0 ]
            [[ "$output" == *"xz: decoding needs more than 128 MiB"* ]]
        fi
    done
}

# The dictionary byte of the first block of xz file $1 set to $2 (35: 768
# MiB), its header's CRC32 made again: what the stream declares, not what
# it needs.
xz_declare() {
    python3 - "$1" "$2" <<'PY'
import struct, sys, zlib
b = bytearray(open(sys.argv[1], "rb").read())
h, p = 12, 14
hsize = (b[h] + 1) * 4
def varint(p):
    while b[p] & 0x80: p += 1
    return p + 1
if b[h + 1] & 0x40: p = varint(p)
if b[h + 1] & 0x80: p = varint(p)
assert b[p] == 0x21 and b[p + 1] == 1
b[p + 2] = int(sys.argv[2])
b[h + hsize - 4:h + hsize] = struct.pack("<I", zlib.crc32(bytes(b[h:h + hsize - 4])) & 0xffffffff)
open(sys.argv[1], "wb").write(b)
PY
}

# And nrun load of an archive in xz (docker load takes `docker save | xz`)
# read it through libarchive's xz reader too.
@test "nrun load of an archive in xz: an ordinary one loads (file and stdin); one that declares a 768 MiB dictionary is refused, store unchanged" {
    d=$BATS_TEST_TMPDIR
    "$NRUN" save -o "$d/bb.tar" bb:1
    xz -T1 -k -c "$d/bb.tar" >"$d/bb.tar.xz"
    "$NRUN" load -i "$d/bb.tar.xz" --name xzload:1 >/dev/null
    "$NRUN" load -i - --name xzload:2 <"$d/bb.tar.xz" >/dev/null
    [ "$("$NRUN" run --rm xzload:2 echo ok)" = ok ]
    "$NRUN" rmi xzload:1 xzload:2 >/dev/null
    xz_declare "$d/bb.tar.xz" 35
    before=$(nr_tree_hash "$NRUN_ROOT")
    run "$NRUN" load -i "$d/bb.tar.xz" --name xzbig:1
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"$d/bb.tar.xz"*"xz: decoding needs more than 128 MiB"* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}
