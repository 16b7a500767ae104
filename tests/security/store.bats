#!/usr/bin/env bats
# The image store against hostile input (security review, issue 9): a store
# root or store directory prepared by another user (symlinks, foreign owners,
# writable roots), OCI layouts and archives for `nrun load` whose files are
# symlinks, FIFOs or devices, and unpacked layers that prune must reclaim.
# Every test asserts that the attack failed and that what it aimed at on the
# host (a directory's mode, a secret file, the store) is unchanged.
load ../lib/security
bats_require_minimum_version 1.5.0

SEC_USER=nrunsecstore

setup_file() {
    rt_file_setup_bb
    export SEC_TMP
    SEC_TMP=$(mktemp -d /tmp/nrun-secstore.XXXXXX)
    chmod 755 "$SEC_TMP"
    id "$SEC_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$SEC_USER"
    # A host file an attacker would like to read through the store.
    printf 'SECRET-%s\n' "$RANDOM$RANDOM" >"$SEC_TMP/secret"
    chmod 600 "$SEC_TMP/secret"
}

teardown() { rt_rm_all; }

teardown_file() {
    rt_file_teardown
    case ${SEC_TMP:-} in /tmp/nrun-secstore.*) rm -rf "$SEC_TMP" ;; esac
    id "$SEC_USER" >/dev/null 2>&1 && userdel "$SEC_USER"
    true
}

# A copy of the file's store (with bb:1) to spoil: prints its path.
sec_store_copy() {
    local r
    r=$(mktemp -d "$SEC_TMP/root.XXXXXX")
    cp -a "$NRUN_ROOT/." "$r/"
    echo "$r"
}

# A directory owned by the test user, mode 0755, with one file: prints its path.
sec_foreign_dir() {
    local d
    d=$(mktemp -d "$SEC_TMP/foreign.XXXXXX")
    echo keep >"$d/file"
    chown -R "$SEC_USER" "$d"
    chmod 755 "$d"
    chmod 644 "$d/file"
    echo "$d"
}

# Mode, owner and entries of a directory ("it is as it was").
sec_dir_state() {
    stat -c '%a %u %g' "$1"
    ls -A "$1"
}

# images and run must both refuse root $1 with a line naming $2.
sec_store_refused() {
    local r=$1 path=$2
    run "$NRUN" --root "$r" images
    echo "images: $status $output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"$path"* ]]
    [ "$(echo "$output" | wc -l)" -eq 1 ]
    run "$NRUN" --root "$r" run --rm bb:1 true
    echo "run: $status $output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"$path"* ]]
}

# ---- 8: a store root prepared by another user ----

@test "store: a store directory that is a symlink to another user's directory is refused, never chmodded" {
    local sub r evil before
    for sub in layers blobs blobs/sha256 cache containers volumes; do
        r=$(sec_store_copy)
        evil=$(sec_foreign_dir)
        before=$(sec_dir_state "$evil")
        rm -rf "${r:?}/$sub"
        ln -s "$evil" "$r/$sub"
        sec_store_refused "$r" "$r/$sub"
        [ "$(sec_dir_state "$evil")" = "$before" ]
        [ "$(readlink "$r/$sub")" = "$evil" ]
    done
}

@test "store: ps, rm, stop and logs refuse a containers/ that is a symlink or another user's, touching nothing there" {
    local r evil before id cmd
    r=$(sec_store_copy)
    evil=$(sec_foreign_dir)
    # what a container dir looks like to ps (no state.json, old: a leftover it would remove)
    id=$(printf 'evil' | sha256sum | cut -c1-64)
    mkdir -p "$evil/$id" "$evil/.rm-$id"
    echo keep >"$evil/$id/file"
    chown -R "$SEC_USER" "$evil"
    touch -d '2 hours ago' "$evil/$id" "$evil/.rm-$id"
    before=$(cd "$evil" && find . -printf '%p %m %u %s\n' | sort)
    rm -rf "${r:?}/containers"
    ln -s "$evil" "$r/containers"
    for cmd in "ps -a" "rm -f $id" "stop $id" "logs $id" "kill $id"; do
        run "$NRUN" --root "$r" $cmd
        echo "$cmd: $status $output"
        [ "$status" -ne 0 ]
        [[ "$output" == *"$r/containers"* ]]
    done
    [ "$(cd "$evil" && find . -printf '%p %m %u %s\n' | sort)" = "$before" ]
    # and a containers/ owned by another uid
    r=$(sec_store_copy)
    chown 4242 "$r/containers"
    chmod 755 "$r/containers"
    run "$NRUN" --root "$r" ps -a
    [ "$status" -ne 0 ]
    [[ "$output" == *"$r/containers"* ]]
    [ "$(stat -c '%a %u' "$r/containers")" = "755 4242" ]
}

@test "store: a recycled-dir pool (containers/.free) that is a link or another user's is never used" {
    local r evil before
    r=$(sec_store_copy)
    evil=$(sec_foreign_dir)
    mkdir "$evil/pooled"
    chown "$SEC_USER" "$evil/pooled"
    before=$(cd "$evil" && find . -printf '%p %m %u %s\n' | sort)
    mkdir -p "$r/containers"
    ln -s "$evil" "$r/containers/.free"
    sec_store_refused "$r" "$r/containers/.free"
    run "$NRUN" --root "$r" ps -a
    [ "$status" -ne 0 ]
    [[ "$output" == *"$r/containers/.free"* ]]
    [ "$(cd "$evil" && find . -printf '%p %m %u %s\n' | sort)" = "$before" ]
    rm "$r/containers/.free"
    mkdir "$r/containers/.free" "$r/containers/.free/pooled"
    chown -R 4242 "$r/containers/.free"
    sec_store_refused "$r" "$r/containers/.free"
    [ "$(stat -c '%u' "$r/containers/.free/pooled")" = 4242 ]
}

@test "store: a store directory that is a symlink to a root-owned directory is refused too" {
    local r evil before
    r=$(sec_store_copy)
    evil=$(mktemp -d "$SEC_TMP/rootdir.XXXXXX")
    chmod 755 "$evil"
    before=$(sec_dir_state "$evil")
    rm -rf "${r:?}/layers"
    ln -s "$evil" "$r/layers"
    sec_store_refused "$r" "$r/layers"
    [ "$(sec_dir_state "$evil")" = "$before" ]
}

@test "store: a store directory owned by another uid is refused, its mode and owner kept" {
    local sub r before
    for sub in layers blobs blobs/sha256 cache containers volumes; do
        r=$(sec_store_copy)
        chown 4242:4242 "$r/$sub"
        chmod 755 "$r/$sub"
        before=$(sec_dir_state "$r/$sub")
        sec_store_refused "$r" "$r/$sub"
        [ "$(sec_dir_state "$r/$sub")" = "$before" ]
    done
}

@test "store: a store directory replaced by a file or a FIFO is refused" {
    local r
    r=$(sec_store_copy)
    rm -rf "${r:?}/cache"
    echo x >"$r/cache"
    sec_store_refused "$r" "$r/cache"
    [ "$(cat "$r/cache")" = x ]
    r=$(sec_store_copy)
    rm -rf "${r:?}/volumes"
    mkfifo "$r/volumes"
    run timeout 20 "$NRUN" --root "$r" images
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    [[ "$output" == *"$r/volumes"* ]]
    [ -p "$r/volumes" ]
}

@test "store: a root owned by another uid is refused and not chmodded; a symlink to it too" {
    local r before
    r=$(sec_store_copy)
    chown 4242:4242 "$r"
    chmod 755 "$r"
    before=$(sec_dir_state "$r")
    sec_store_refused "$r" "$r"
    [ "$(sec_dir_state "$r")" = "$before" ]
    # the user's --root path is followed, what it leads to is checked
    ln -s "$r" "$SEC_TMP/rootlink"
    sec_store_refused "$SEC_TMP/rootlink" "$SEC_TMP/rootlink"
    [ "$(sec_dir_state "$r")" = "$before" ]
    rm "$SEC_TMP/rootlink"
    # nor is a directory of another user, open to everyone, taken as a root
    local evil
    evil=$(sec_foreign_dir)
    chmod 777 "$evil"
    before=$(sec_dir_state "$evil")
    run "$NRUN" --root "$evil" images
    [ "$status" -ne 0 ]
    [[ "$output" == *"$evil"* ]]
    [ "$(sec_dir_state "$evil")" = "$before" ]
}

@test "store: a group- or world-writable root is refused and left as it is" {
    local r mode
    for mode in 777 770 1777 720 702; do
        r=$(sec_store_copy)
        chmod "$mode" "$r"
        sec_store_refused "$r" "$r"
        [ "$(stat -c %a "$r")" = "$mode" ]
    done
}

@test "store: a root given as a symlink to a root-owned store is followed (as docker's --data-root)" {
    local r
    r=$(sec_store_copy)
    ln -s "$r" "$SEC_TMP/goodlink"
    run "$NRUN" --root "$SEC_TMP/goodlink" images
    [ "$status" -eq 0 ]
    [[ "$output" == *bb* ]]
    # (no network: this file's namespace has the other store's default one)
    run "$NRUN" --root "$SEC_TMP/goodlink" run --rm --network none bb:1 echo ran
    rm "$SEC_TMP/goodlink"
    [ "$status" -eq 0 ]
    [ "$output" = ran ]
}

@test "store: index.json, oci-layout and the lock files are refused as symlinks or special files" {
    local f r before
    before=$(stat -c '%a %u %s %Y' "$SEC_TMP/secret")
    for f in index.json oci-layout index.lock gc.lock; do
        r=$(sec_store_copy)
        rm -f "$r/$f"
        ln -s "$SEC_TMP/secret" "$r/$f"
        run timeout 20 "$NRUN" --root "$r" images
        echo "$f: $status $output"
        [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
        [[ "$output" == *"$r/$f"* ]]
        [[ "$output" != *SECRET* ]]
        [ "$(stat -c '%a %u %s %Y' "$SEC_TMP/secret")" = "$before" ]
        rm "$r/$f"
        mkfifo "$r/$f"
        run timeout 20 "$NRUN" --root "$r" images
        [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
        [[ "$output" == *"$r/$f"* ]]
    done
}

# ---- 7: nrun load never follows a link inside the layout or archive ----

# The good layout and archive of bb:1 (made once): $SEC_TMP/layout, layout.tar.
sec_layouts() {
    [ -d "$SEC_TMP/layout" ] && return 0
    "$NRUN" save --dir -o "$SEC_TMP/layout" bb:1
    "$NRUN" save -o "$SEC_TMP/layout.tar" bb:1
}

# Blob hexes of bb:1: the manifest's, the config's, the layer's.
sec_manifest_hex() { jq -r '.manifests[0].digest' "$SEC_TMP/layout/index.json" | cut -d: -f2; }
sec_config_hex() { jq -r '.config.digest' "$SEC_TMP/layout/blobs/sha256/$(sec_manifest_hex)" | cut -d: -f2; }
sec_layer_hex() { jq -r '.layers[0].digest' "$SEC_TMP/layout/blobs/sha256/$(sec_manifest_hex)" | cut -d: -f2; }

# A copy of the good layout to spoil: prints its path.
sec_layout_copy() {
    local l
    l=$(mktemp -d "$SEC_TMP/lay.XXXXXX")
    cp -a "$SEC_TMP/layout/." "$l/"
    echo "$l"
}

# `nrun load -i $1` must fail within 20 s naming $2, echo nothing of the
# secret, and leave the store and the secret as they were.
sec_load_refused() {
    local input=$1 path=$2 before secret_before
    before=$(nr_tree_hash "$NRUN_ROOT")
    secret_before=$(stat -c '%a %u %s %Y' "$SEC_TMP/secret")
    run timeout 20 "$NRUN" load -i "$input" --name evil:1
    echo "load $input: $status $output"
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ] # no hang on a FIFO or an endless device
    [[ "$output" == *"$path"* ]]
    [ "$(echo "$output" | wc -l)" -eq 1 ]
    [[ "$output" != *SECRET* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    [ "$(stat -c '%a %u %s %Y' "$SEC_TMP/secret")" = "$secret_before" ]
    ! grep -rqF "$(cat "$SEC_TMP/secret")" "$NRUN_ROOT" || false
    ! "$NRUN" image inspect evil:1 >/dev/null 2>&1 || false
}

@test "load: the good layout and archive load (the baseline the probes spoil)" {
    sec_layouts
    run "$NRUN" load -i "$SEC_TMP/layout" --name good:1
    [ "$status" -eq 0 ]
    run "$NRUN" load -i "$SEC_TMP/layout.tar" --name good:2
    [ "$status" -eq 0 ]
    "$NRUN" rmi good:1 good:2 >/dev/null
}

@test "load: index.json, oci-layout or a blob of a layout that is a symlink (secret, /dev/zero, FIFO) is refused" {
    sec_layouts
    mkfifo "$SEC_TMP/fifo"
    local f target l
    for f in index.json oci-layout "blobs/sha256/$(sec_manifest_hex)" "blobs/sha256/$(sec_config_hex)" \
        "blobs/sha256/$(sec_layer_hex)"; do
        for target in "$SEC_TMP/secret" /dev/zero "$SEC_TMP/fifo" /etc/shadow; do
            l=$(sec_layout_copy)
            rm "$l/$f"
            ln -s "$target" "$l/$f"
            sec_load_refused "$l" "$l/$f"
            [[ "$output" == *symlink* ]]
        done
    done
    # a relative link to a sibling file of the layout is a link too
    l=$(sec_layout_copy)
    cp "$l/index.json" "$l/index.real"
    rm "$l/index.json"
    ln -s index.real "$l/index.json"
    sec_load_refused "$l" "$l/index.json"
    rm "$SEC_TMP/fifo"
}

@test "load: a FIFO, a device node or a directory where a layout has a file is refused without hanging" {
    sec_layouts
    local f l
    for f in index.json oci-layout "blobs/sha256/$(sec_manifest_hex)" "blobs/sha256/$(sec_layer_hex)"; do
        l=$(sec_layout_copy)
        rm "$l/$f"
        mkfifo "$l/$f"
        sec_load_refused "$l" "$l/$f"
        l=$(sec_layout_copy)
        rm "$l/$f"
        mknod "$l/$f" c 1 5 # /dev/zero
        sec_load_refused "$l" "$l/$f"
        l=$(sec_layout_copy)
        rm "$l/$f"
        mkdir "$l/$f"
        sec_load_refused "$l" "$l/$f"
    done
    # a blob nothing references is read too (to verify it): the same rules
    l=$(sec_layout_copy)
    mkfifo "$l/blobs/sha256/$(printf x | sha256sum | cut -c1-64)"
    sec_load_refused "$l" "$l/blobs/sha256/"
}

@test "load: a blobs or blobs/sha256 directory that is a symlink is refused, even to a valid copy" {
    sec_layouts
    local l copy
    copy=$(sec_layout_copy)
    l=$(sec_layout_copy)
    rm -rf "${l:?}/blobs"
    ln -s "$copy/blobs" "$l/blobs"
    sec_load_refused "$l" "$l/blobs"
    l=$(sec_layout_copy)
    rm -rf "${l:?}/blobs/sha256"
    ln -s "$copy/blobs/sha256" "$l/blobs/sha256"
    sec_load_refused "$l" "$l/blobs/sha256"
    l=$(sec_layout_copy)
    rm -rf "${l:?}/blobs"
    ln -s /etc "$l/blobs"
    sec_load_refused "$l" "$l/blobs"
    # the layout itself may be given through a symlink: the user chose it
    ln -s "$copy" "$SEC_TMP/laylink"
    run "$NRUN" load -i "$SEC_TMP/laylink" --name vialink:1
    rm "$SEC_TMP/laylink"
    [ "$status" -eq 0 ]
    "$NRUN" rmi vialink:1 >/dev/null
}

@test "load: an oversized or malformed index.json / oci-layout is refused naming it, echoing none of it" {
    sec_layouts
    local l
    l=$(sec_layout_copy)
    head -c $((9 << 20)) /dev/zero | tr '\0' ' ' >"$l/index.json"
    sec_load_refused "$l" "$l/index.json"
    l=$(sec_layout_copy)
    cp "$SEC_TMP/secret" "$l/index.json"
    sec_load_refused "$l" "index.json"
    l=$(sec_layout_copy)
    cp "$SEC_TMP/secret" "$l/oci-layout"
    sec_load_refused "$l" "oci-layout"
}

# An archive like layout.tar with entry $2 replaced: $1 = output, $2 = name,
# $3 = kind (symlink:TARGET, hardlink:TARGET, chr, fifo, dir, dup), written by
# python's tarfile (GNU tar will not store these shapes from a directory).
sec_evil_tar() {
    python3 - "$SEC_TMP/layout.tar" "$@" <<'PY'
import io, sys, tarfile
src, out, name, kind = sys.argv[1:5]
with tarfile.open(src) as t, tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as o:
    for m in t.getmembers():
        data = t.extractfile(m).read() if m.isfile() else None
        if m.name.rstrip("/") != name:
            o.addfile(m, io.BytesIO(data) if data is not None else None)
            continue
        if kind == "dup":
            o.addfile(m, io.BytesIO(data))
            o.addfile(m, io.BytesIO(data))
            continue
        n = tarfile.TarInfo(m.name.rstrip("/"))
        n.mode = 0o644
        if kind.startswith("symlink:"):
            n.type, n.linkname = tarfile.SYMTYPE, kind[8:]
        elif kind.startswith("hardlink:"):
            n.type, n.linkname = tarfile.LNKTYPE, kind[9:]
        elif kind == "chr":
            n.type, n.devmajor, n.devminor = tarfile.CHRTYPE, 1, 5
        elif kind == "fifo":
            n.type = tarfile.FIFOTYPE
        elif kind == "dir":
            n.type, n.mode = tarfile.DIRTYPE, 0o755
        o.addfile(n)
PY
}

@test "load: archive entries that are links, devices or FIFOs where a layout has a file are refused" {
    sec_layouts
    local f kind t i=0
    for f in index.json oci-layout "blobs/sha256/$(sec_manifest_hex)" "blobs/sha256/$(sec_layer_hex)"; do
        for kind in symlink:/etc/shadow "symlink:$SEC_TMP/secret" symlink:/dev/zero hardlink:/etc/shadow \
            hardlink:index.json chr fifo dir; do
            [ "$f" = index.json ] && [ "$kind" = hardlink:index.json ] && kind=hardlink:oci-layout
            t="$SEC_TMP/evil$((i++)).tar"
            sec_evil_tar "$t" "$f" "$kind"
            sec_load_refused "$t" "$f"
        done
    done
}

@test "load: archive blobs dirs that are links, duplicate index.json, a linked unreferenced blob: refused" {
    sec_layouts
    local t
    t="$SEC_TMP/evil-blobs.tar"
    sec_evil_tar "$t" blobs symlink:/etc
    sec_load_refused "$t" '"blobs"'
    sec_evil_tar "$t" blobs/sha256 "symlink:$SEC_TMP"
    sec_load_refused "$t" '"blobs/sha256"'
    sec_evil_tar "$t" index.json dup
    sec_load_refused "$t" "index.json appears twice"
    sec_evil_tar "$t" oci-layout dup
    sec_load_refused "$t" "oci-layout appears twice"
    # an extra blob entry nothing references, linked to a host file
    python3 - "$SEC_TMP/layout.tar" "$t" "$(sha256sum "$SEC_TMP/secret" | cut -c1-64)" <<'PY'
import shutil, sys, tarfile
shutil.copy(sys.argv[1], sys.argv[2])
with tarfile.open(sys.argv[2], "a") as o:
    n = tarfile.TarInfo("blobs/sha256/" + sys.argv[3])
    n.type, n.linkname = tarfile.SYMTYPE, "/etc/shadow"
    o.addfile(n)
PY
    sec_load_refused "$t" "blobs/sha256/$(sha256sum "$SEC_TMP/secret" | cut -c1-64)"
    # the same through standard input
    sec_evil_tar "$t" "blobs/sha256/$(sec_layer_hex)" symlink:/etc/shadow
    local before
    before=$(nr_tree_hash "$NRUN_ROOT")
    run bash -c "timeout 20 '$NRUN' load --name evil:1 <'$t'"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    [[ "$output" == *"blobs/sha256/$(sec_layer_hex)"*symlink* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

# ---- 7b: nrun load of a docker-archive (manifest.json, docker save's form):
# the paths manifest.json names and the links docker save writes for a
# repeated layer only ever name entries of the archive ----

# A docker-archive of bb:1 at $1, in docker save's layout before Docker 25
# (<config>.json, <id>/layer.tar, manifest.json), spoiled as $2 says.
sec_docker_tar() {
    python3 - "$SEC_TMP/layout" "$1" "$2" "$SEC_TMP/secret" <<'PY'
import io, json, sys, tarfile
lay, out, how, secret = sys.argv[1:5]
b = lambda h: open("%s/blobs/sha256/%s" % (lay, h), "rb").read()
man = json.loads(b(json.load(open(lay + "/index.json"))["manifests"][0]["digest"][7:]))
cfg_hex = man["config"]["digest"][7:]
layer = b(man["layers"][0]["digest"][7:])
entry = {"Config": cfg_hex + ".json", "RepoTags": ["evil:1"], "Layers": ["aaaa/layer.tar"]}
files = [(cfg_hex + ".json", b(cfg_hex)), ("aaaa/layer.tar", layer)]
links = []
if how == "escape":
    entry["Layers"] = ["../../../../etc/shadow"]
elif how in ("abslink", "secretlink"):
    files.pop()
    links.append(("aaaa/layer.tar", "/etc/shadow" if how == "abslink" else secret))
elif how == "loop":
    files.pop()
    links += [("aaaa/layer.tar", "../bbbb/layer.tar"), ("bbbb/layer.tar", "../aaaa/layer.tar")]
elif how == "uplink":
    files.pop()
    links.append(("aaaa/layer.tar", "../../../../../../etc/shadow"))
elif how == "gzip":
    import gzip
    files[1] = ("aaaa/layer.tar", gzip.compress(layer, mtime=0))
elif how == "dupconfig":
    # the config's path again, with other content: docker load keeps the last
    c = json.loads(b(cfg_hex))
    c["config"] = {"Cmd": ["/bin/sh", "-c", "echo other-config"]}
    files.append((cfg_hex + ".json", json.dumps(c).encode()))
elif how == "duplayer":
    files.append(("./aaaa//layer.tar", layer[:-1024] + b"\1" * 1024))
elif how == "duplink":
    files.append(("bbbb/layer.tar", layer))
    links.append(("aaaa/layer.tar", "../bbbb/layer.tar"))
elif how == "idname":
    entry["RepoTags"] = ["sha256:" + cfg_hex]
elif how == "diffid":
    files[1] = ("aaaa/layer.tar", layer[:-1024] + b"\1" * 1024)
elif how == "repeat":
    # docker save's own form for a repeated layer: a link to the first
    import hashlib
    links.append(("bbbb/layer.tar", "../aaaa/layer.tar"))
    c = json.loads(b(cfg_hex))
    c["rootfs"]["diff_ids"] *= 2
    cfg = json.dumps(c).encode()
    h = hashlib.sha256(cfg).hexdigest()
    files[0] = (h + ".json", cfg)
    entry.update(Config=h + ".json", Layers=["aaaa/layer.tar", "bbbb/layer.tar"])
mj = json.dumps([entry]).encode()
if how == "notjson":
    mj = b"[{\"Config\": "
elif how == "many":
    mj = json.dumps([entry] * 65).encode()
with tarfile.open(out, "w") as t:
    for name, data in files:
        i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
    for name, target in links:
        i = tarfile.TarInfo(name); i.type, i.linkname = tarfile.SYMTYPE, target; t.addfile(i)
    if how == "manifestlink":
        i = tarfile.TarInfo("manifest.json"); i.type, i.linkname = tarfile.SYMTYPE, "/etc/shadow"; t.addfile(i)
    else:
        for _ in range(2 if how == "dup" else 1):
            i = tarfile.TarInfo("manifest.json"); i.size = len(mj); t.addfile(i, io.BytesIO(mj))
PY
}

@test "load: a docker-archive loads (the control, and a layer docker save linked to another), and runs" {
    sec_layouts
    sec_docker_tar "$SEC_TMP/docker-good.tar" good
    run "$NRUN" load -i "$SEC_TMP/docker-good.tar"
    [ "$status" -eq 0 ]
    [ "$output" = "Loaded image: evil:1" ]
    # the config blob is kept as it is: the image ID is bb:1's
    [ "$("$NRUN" image inspect evil:1 | jq -r '.[0].Id')" = "sha256:$(sec_config_hex)" ]
    run "$NRUN" run --rm --network none evil:1 sh -c 'echo loaded-from-docker-archive'
    [ "$status" -eq 0 ]
    [[ $output == *loaded-from-docker-archive* ]]
    "$NRUN" rmi evil:1 >/dev/null
    # a compressed layer (as some docker-archive writers keep it): its type from its bytes
    sec_docker_tar "$SEC_TMP/docker-gzip.tar" gzip
    run "$NRUN" load -i "$SEC_TMP/docker-gzip.tar"
    [ "$status" -eq 0 ]
    m=$("$NRUN" image inspect evil:1 | jq -r '.[0].Digest')
    [ "$(jq -r '.layers[0].mediaType' "$NRUN_ROOT/blobs/sha256/${m#sha256:}")" = application/vnd.oci.image.layer.v1.tar+gzip ]
    run "$NRUN" run --rm --network none evil:1 sh -c 'echo gzip-layer-runs'
    [ "$status" -eq 0 ]
    [[ $output == *gzip-layer-runs* ]]
    "$NRUN" rmi evil:1 >/dev/null
    sec_docker_tar "$SEC_TMP/docker-repeat.tar" repeat
    run "$NRUN" load -i "$SEC_TMP/docker-repeat.tar"
    [ "$status" -eq 0 ]
    [ "$("$NRUN" image inspect evil:1 | jq '.[0].RootFS.Layers | length')" -eq 2 ]
    "$NRUN" rmi evil:1 >/dev/null
    "$NRUN" image prune >/dev/null
}

@test "load: a docker-archive whose paths or links leave the archive, loop, or lie about the diff_id: refused" {
    sec_layouts
    local t=$SEC_TMP/docker-evil.tar
    sec_docker_tar "$t" escape
    sec_load_refused "$t" '"../../../../etc/shadow" is not a path inside the archive'
    sec_docker_tar "$t" abslink
    sec_load_refused "$t" '"aaaa/layer.tar" is not a file of the archive'
    sec_docker_tar "$t" secretlink
    sec_load_refused "$t" '"aaaa/layer.tar" is not a file of the archive'
    sec_docker_tar "$t" uplink
    sec_load_refused "$t" '"aaaa/layer.tar" is not a file of the archive'
    sec_docker_tar "$t" loop
    sec_load_refused "$t" '"aaaa/layer.tar" is not a file of the archive'
    sec_docker_tar "$t" diffid
    sec_load_refused "$t" "layer aaaa/layer.tar hashes to sha256:"
    sec_docker_tar "$t" notjson
    sec_load_refused "$t" "manifest.json:1:"
    sec_docker_tar "$t" many
    sec_load_refused "$t" "manifest.json is not a list of 1 to 64 images"
    sec_docker_tar "$t" manifestlink
    sec_load_refused "$t" '"manifest.json" is not a regular file'
    sec_docker_tar "$t" dup
    sec_load_refused "$t" "manifest.json appears twice"
    # one path twice (docker load keeps the last, a lookup finds the first): which image is meant is unclear
    sec_docker_tar "$t" dupconfig
    sec_load_refused "$t" "entry \"$(sec_config_hex).json\" appears twice: refused"
    sec_docker_tar "$t" duplayer
    sec_load_refused "$t" 'entry "aaaa/layer.tar" appears twice: refused'
    sec_docker_tar "$t" duplink
    sec_load_refused "$t" 'entry "aaaa/layer.tar" appears twice: refused'
    # through standard input too
    sec_docker_tar "$t" secretlink
    local before
    before=$(nr_tree_hash "$NRUN_ROOT")
    run bash -c "timeout 20 '$NRUN' load <'$t'"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    [[ "$output" == *'"aaaa/layer.tar" is not a file of the archive'* ]]
    [[ "$output" != *SECRET* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

@test "load: an OCI archive whose manifest.json names another image than index.json (docker load would read that one): refused" {
    sec_layouts
    local t=$SEC_TMP/oci-docker-differ.tar
    # the control: nrun save's own archive has both, naming the same image
    tar -tf "$SEC_TMP/layout.tar" | grep -qx manifest.json
    # the same archive, its manifest.json naming a config of its own (another Cmd, the same layers)
    python3 - "$SEC_TMP/layout.tar" "$t" <<'PY'
import io, json, sys, tarfile
src, out = sys.argv[1:3]
with tarfile.open(src) as i, tarfile.open(out, "w") as o:
    for m in i.getmembers():
        data = i.extractfile(m).read() if m.isfile() else None
        if m.name == "manifest.json":
            mj = json.loads(data)
            cfg = json.loads(i.extractfile(mj[0]["Config"]).read())
            cfg["config"]["Cmd"] = ["/bin/sh", "-c", "echo docker-sees-this"]
            other = json.dumps(cfg).encode()
            n = tarfile.TarInfo("other.json"); n.size = len(other); o.addfile(n, io.BytesIO(other))
            mj[0]["Config"] = "other.json"
            data = json.dumps(mj).encode()
            m.size = len(data)
        o.addfile(m, io.BytesIO(data) if data is not None else None)
PY
    sec_load_refused "$t" "manifest.json[0]: config sha256:"
    run timeout 20 "$NRUN" load -i "$t" --name evil:1
    [[ $output == *"is of no image index.json names: refused" ]]
}

@test "load: a docker-archive named 'sha256:<hex>' (what every command reads as an image ID) is refused; so is nrun tag to it" {
    sec_layouts
    local t=$SEC_TMP/docker-idname.tar before
    sec_docker_tar "$t" idname
    before=$(nr_tree_hash "$NRUN_ROOT")
    run timeout 20 "$NRUN" load -i "$t"
    echo "$output"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    [ "$output" = "nrun: $t: image name \"sha256:$(sec_config_hex)\" reads as an image ID: refused" ]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    run "$NRUN" tag bb:1 sha256:abc
    [ "$status" -ne 0 ]
    [ "$output" = "nrun: tag sha256:abc: a name that reads as an image ID" ]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    # its other spellings name a tag that rmi finds
    "$NRUN" tag bb:1 library/sha256:abc
    "$NRUN" rmi library/sha256:abc >/dev/null
    ! "$NRUN" image inspect library/sha256:abc >/dev/null 2>&1 || false
}

# ---- 10a: prune reclaims the unpacked layers nothing uses ----

# A one-file layer tar: $1 = output, $2 = file name; $3 = "ro" adds read-only
# and closed directories (0555, 0000) the removal must cope with.
sec_layer_tar() {
    local d
    d=$(mktemp -d "$BATS_FILE_TMPDIR/layer.XXXXXX")
    echo "$2" >"$d/$2"
    if [ "${3:-}" = ro ]; then
        mkdir -p "$d/ro/deep/er" "$d/closed/in"
        echo x >"$d/ro/deep/er/f"
        echo y >"$d/closed/in/g"
        chmod 0555 "$d/ro/deep/er" "$d/ro/deep" "$d/ro"
        chmod 0000 "$d/closed/in" "$d/closed"
    fi
    tar --numeric-owner -C "$d" -cf "$1" .
    chmod -R u+rwx "$d" && rm -rf "$d"
}

sec_diff_id() { sha256sum "$1" | cut -c1-64; }

@test "prune: layers only a removed image used go, shared ones stay, the other image still runs" {
    local t=$BATS_FILE_TMPDIR bb shared one two dead
    sec_layer_tar "$t/shared.tar" shared
    sec_layer_tar "$t/one.tar" one ro
    sec_layer_tar "$t/two.tar" two
    bb=$(sec_diff_id "$t/bb.tar")
    shared=$(sec_diff_id "$t/shared.tar")
    one=$(sec_diff_id "$t/one.tar")
    two=$(sec_diff_id "$t/two.tar")
    "$NRUN" __internal mkimage -t p1:1 --config '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$t/bb.tar" "$t/shared.tar" "$t/one.tar" >/dev/null
    "$NRUN" __internal mkimage -t p2:1 --config '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$t/bb.tar" "$t/shared.tar" "$t/two.tar" >/dev/null
    rt_run --rm p1:1 cat /one /shared
    rt_run --rm p2:1 cat /two
    [ -d "$NRUN_ROOT/layers/$one/ro/deep/er" ] && [ -d "$NRUN_ROOT/layers/$two" ] && [ -d "$NRUN_ROOT/layers/$shared" ]
    # a half-extracted layer of a dead unpack, one of a live one, a name of nobody's
    dead=$(sh -c 'echo $$')
    mkdir -p "$NRUN_ROOT/layers/.tmp-$one-$dead/sub" "$NRUN_ROOT/layers/.tmp-$two-$$" "$NRUN_ROOT/layers/other"
    head -c 100000 /dev/zero >"$NRUN_ROOT/layers/.tmp-$one-$dead/sub/f"
    chmod 0555 "$NRUN_ROOT/layers/.tmp-$one-$dead/sub"
    # rmi takes the image's own layer with it (as docker's does), prune the rest
    "$NRUN" rmi p1:1
    [ ! -e "$NRUN_ROOT/layers/$one" ]
    [ -d "$NRUN_ROOT/layers/$shared" ] && [ -d "$NRUN_ROOT/layers/$two" ] && [ -d "$NRUN_ROOT/layers/$bb" ]
    run "$NRUN" image prune -f
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Deleted layers: 0"* ]]
    [[ "$output" == *"Total reclaimed space: "* ]]
    [[ "$output" != *"Total reclaimed space: 0B"* ]]
    [ ! -e "$NRUN_ROOT/layers/.tmp-$one-$dead" ]
    [ -d "$NRUN_ROOT/layers/$shared" ] && [ -d "$NRUN_ROOT/layers/$two" ] && [ -d "$NRUN_ROOT/layers/$bb" ]
    [ -d "$NRUN_ROOT/layers/.tmp-$two-$$" ] && [ -d "$NRUN_ROOT/layers/other" ]
    ls "$NRUN_ROOT/layers" | grep -q '^nrun-init-'
    rmdir "$NRUN_ROOT/layers/.tmp-$two-$$" "$NRUN_ROOT/layers/other"
    # what stays still runs, from the same unpacked dirs
    run rt_run --rm p2:1 cat /two /shared
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'two\nshared')" ]
    run rt_run --rm bb:1 echo ok
    [ "$output" = ok ]
    # a second prune finds nothing more
    run "$NRUN" image prune -f
    [[ "$output" == *"Deleted layers: 0"* ]]
    "$NRUN" rmi p2:1 >/dev/null
}

@test "prune: the layers of an image that lost its tag to another image go at prune" {
    local t=$BATS_FILE_TMPDIR six seven
    sec_layer_tar "$t/six.tar" six ro
    sec_layer_tar "$t/seven.tar" seven
    six=$(sec_diff_id "$t/six.tar")
    seven=$(sec_diff_id "$t/seven.tar")
    "$NRUN" __internal mkimage -t p6:1 --config '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$t/bb.tar" "$t/six.tar" >/dev/null
    "$NRUN" __internal mkimage -t p7:1 --config '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$t/bb.tar" "$t/seven.tar" >/dev/null
    rt_run --rm p6:1 cat /six
    rt_run --rm p7:1 cat /seven
    "$NRUN" tag p7:1 p6:1 # p6's image: no tag left, not removed by an rmi
    [ -d "$NRUN_ROOT/layers/$six" ]
    run "$NRUN" image prune -f
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Deleted layers: 1"* ]]
    [ ! -e "$NRUN_ROOT/layers/$six" ] && [ -d "$NRUN_ROOT/layers/$seven" ]
    run rt_run --rm p6:1 cat /seven
    [ "$output" = seven ]
    "$NRUN" rmi p6:1 p7:1 >/dev/null
    [ ! -e "$NRUN_ROOT/layers/$seven" ]
}

@test "prune: a layer under a running or a stopped container stays until the container is removed" {
    local t=$BATS_FILE_TMPDIR three four id stopped
    sec_layer_tar "$t/three.tar" three
    sec_layer_tar "$t/four.tar" four
    three=$(sec_diff_id "$t/three.tar")
    four=$(sec_diff_id "$t/four.tar")
    "$NRUN" __internal mkimage -t p3:1 --config '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$t/bb.tar" "$t/three.tar" >/dev/null
    "$NRUN" __internal mkimage -t p4:1 --config '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$t/bb.tar" "$t/four.tar" >/dev/null
    id=$(rt_run -d p3:1 sleep 1000)
    stopped=$(rt_run -d p4:1 true)
    "$NRUN" wait "$stopped" >/dev/null 2>&1 || sleep 1
    # a container's image keeps its name unless forced, as docker's does
    run "$NRUN" rmi p3:1
    [ "$status" -eq 1 ]
    "$NRUN" rmi -f p3:1 p4:1
    run "$NRUN" image prune -f
    echo "$output"
    [ "$status" -eq 0 ]
    [ -d "$NRUN_ROOT/layers/$three" ] && [ -d "$NRUN_ROOT/layers/$four" ]
    run "$NRUN" exec "$id" cat /three
    [ "$status" -eq 0 ]
    [ "$output" = three ]
    "$NRUN" rm -f "$id" "$stopped" >/dev/null
    run "$NRUN" image prune -f
    [ "$status" -eq 0 ]
    [[ "$output" == *"Deleted layers: 2"* ]]
    [ ! -e "$NRUN_ROOT/layers/$three" ] && [ ! -e "$NRUN_ROOT/layers/$four" ]
    run rt_run --rm bb:1 echo ok
    [ "$output" = ok ]
}

@test "prune: a container config.json that cannot be read stops prune with nothing removed" {
    local t=$BATS_FILE_TMPDIR five id
    sec_layer_tar "$t/five.tar" five
    five=$(sec_diff_id "$t/five.tar")
    "$NRUN" __internal mkimage -t p5:1 --config '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$t/bb.tar" "$t/five.tar" >/dev/null
    id=$(rt_run -d p5:1 true)
    "$NRUN" wait "$id" >/dev/null 2>&1 || sleep 1
    "$NRUN" rmi -f p5:1 # the stopped container still uses it: -f removes the name only
    cp "$NRUN_ROOT/containers/$id/config.json" "$t/config.keep"
    echo '{broken' >"$NRUN_ROOT/containers/$id/config.json"
    local blobs layers
    blobs=$(nr_tree_hash "$NRUN_ROOT/blobs")
    layers=$(nr_tree_hash "$NRUN_ROOT/layers")
    run "$NRUN" image prune -f
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"containers/$id/config.json"* ]]
    [ "$(echo "$output" | wc -l)" -eq 1 ]
    # nothing removed: not the layer, not even the blobs of the removed image
    [ -d "$NRUN_ROOT/layers/$five" ]
    [ "$(nr_tree_hash "$NRUN_ROOT/blobs")" = "$blobs" ]
    [ "$(nr_tree_hash "$NRUN_ROOT/layers")" = "$layers" ]
    cp "$t/config.keep" "$NRUN_ROOT/containers/$id/config.json"
    "$NRUN" rm -f "$id" >/dev/null
    run "$NRUN" image prune -f
    [ "$status" -eq 0 ]
    [ ! -e "$NRUN_ROOT/layers/$five" ]
}

@test "store: openat2 refused by a seccomp filter (EPERM, Docker's old default profile) or missing (ENOSYS): one clear line, nothing made or changed" {
    local before e bin new="$BATS_TEST_TMPDIR/newroot"
    before=$(nr_tree_hash "$NRUN_ROOT")
    mkdir -p "$BATS_TEST_TMPDIR/ctx"
    printf 'FROM scratch\nCOPY Nodefile /\n' >"$BATS_TEST_TMPDIR/ctx/Nodefile"
    for e in EPERM ENOSYS; do
        for bin in "$NR_REAL_NRUN images" "$NR_REAL_NRUN run --rm bb:1 true" "$NBUILD -t x:1 $BATS_TEST_TMPDIR/ctx"; do
            for root in "$NRUN_ROOT" "$new"; do
                # shellcheck disable=SC2086
                run env NRUN_ROOT="$root" "$REPO/tests/lib/deny_openat2.py" "$e" $bin
                echo "$e $bin ($root): $status $output"
                [ "$status" -ne 0 ]
                [ "${#lines[@]}" -eq 1 ]
                [[ "$output" == *": store $root: openat2 is "*"and nrun resolves every path in the store with it" ]]
                if [ "$e" = EPERM ]; then [[ "$output" == *"refused (EPERM: a seccomp filter"* ]]; else [[ "$output" == *"missing (Linux before 5.6)"* ]]; fi
            done
        done
    done
    [ ! -e "$new" ]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}
