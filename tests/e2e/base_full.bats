#!/usr/bin/env bats
# The full Debian node image (node:20 = node:20-bookworm, issue 12 item 2):
# the slim image's contents plus what Docker's buildpack-deps holds (curl,
# version control, compilers and the -dev libraries), so a
# native module builds with node-gyp in a RUN step -- offline, against the
# headers shipped in the image (npm's nodedir), never downloading them.
# The rootfs is made once per cache (NRUN_CACHE_DIR) and reused.
load ../lib/common
bats_require_minimum_version 1.5.0

VERSIONS=$REPO/images/node/versions.txt
pin() { sed -n "s/^$1=//p" "$VERSIONS"; }
digest_of() {
    jq -r --arg r "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r) | .digest' "$1/index.json"
}

setup_file() {
    [ "$(id -u)" = 0 ] || skip "needs root (mmdebstrap, chroot)"
    command -v mmdebstrap >/dev/null || skip "mmdebstrap is not installed (make deps)"
    export W
    W=$(mktemp -d /tmp/nrun-basef.XXXXXX)
    nr_make_root
    # the host's network: downloads ($NRUN runs in the file's namespace)
    "$NR_REAL_NRUN" base node:20 >"$W/base.out" 2>"$W/base.err" || { tail -20 "$W/base.err" >&2; return 1; }
    umoci unpack --image "$NRUN_ROOT:node:20" "$W/u" >/dev/null 2>&1
}

teardown_file() {
    nr_remove_root
    case ${W:-} in /tmp/nrun-basef.*) rm -rf "$W" ;; esac
}

@test "base full: node:20 is node:<pinned>-bookworm with the build tools of buildpack-deps" {
    [ "$(digest_of "$NRUN_ROOT" node:20)" = "$(digest_of "$NRUN_ROOT" "node:$(pin NODE_20)-bookworm")" ]
    run chroot "$W/u/rootfs" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin sh -c \
        'gcc --version | head -n1; g++ --version | head -n1; make --version | head -n1; python3 --version; command -v git; curl --version | head -n1; node --version; npm --version'
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == gcc* ]]
    [[ "${lines[1]}" == g++* ]]
    [[ "${lines[2]}" == "GNU Make"* ]]
    [[ "${lines[3]}" == "Python 3"* ]]
    [ "${lines[4]}" = /usr/bin/git ]
    [[ "${lines[5]}" == curl* ]]
    [ "${lines[6]}" = "v$(pin NODE_20)" ]
    [ "${lines[7]}" = "$(pin NPM_20)" ]
    [ "$(skopeo inspect --config "oci:$NRUN_ROOT:node:20" | jq -r '.config.Labels["io.nrun.base.flavour"]')" = full ]
    # Every package of the set is installed.
    chroot "$W/u/rootfs" dpkg-query -W -f='${Package}\n' >"$W/installed"
    for p in $(pin BUILDPACK_PKGS); do
        grep -qx "$p" "$W/installed" || { echo "missing $p"; false; }
    done
}

@test "base full: the -dev libraries of buildpack-deps link: one program against TLS, databases, XML, YAML, images" {
    # every header found through pkg-config, every library linked, each one called
    cat >"$W/u/rootfs/tmp/devlibs.c" <<'EOF'
#include <stdio.h>
#include <ffi.h>
#include <gmp.h>
#include <libpq-fe.h>
#include <libxml/xmlversion.h>
#include <libxslt/xsltconfig.h>
#include <mysql.h>
#include <openssl/crypto.h>
#include <png.h>
#include <readline/readline.h>
#include <curl/curl.h>
#include <sqlite3.h>
#include <webp/decode.h>
#include <yaml.h>
#include <zlib.h>
#include <jpeglib.h>
#if __has_include(<MagickWand/MagickWand.h>) /* ImageMagick 7 (trixie); 6 in bookworm */
#include <MagickWand/MagickWand.h>
#else
#include <wand/MagickWand.h>
#endif
int main(void)
{
    size_t n;
    printf("sqlite %s\n", sqlite3_libversion());
    printf("openssl %s\n", OpenSSL_version(OPENSSL_VERSION));
    printf("libpq %d\n", PQlibVersion());
    printf("mysql %s\n", mysql_get_client_info());
    printf("zlib %s\n", zlibVersion());
    printf("png %s\n", png_get_libpng_ver(NULL));
    printf("yaml %s\n", yaml_get_version_string());
    printf("curl %s\n", curl_version());
    printf("gmp %s\n", gmp_version);
    printf("webp %x\n", WebPGetDecoderVersion());
    printf("readline %s\n", rl_library_version);
    printf("jpeg %d\n", JPEG_LIB_VERSION);
    printf("xml %s xslt %s ffi %d\n", LIBXML_DOTTED_VERSION, LIBXSLT_DOTTED_VERSION, (int)sizeof(ffi_cif) > 0);
    printf("magick %s\n", MagickGetVersion(&n));
    return 0;
}
EOF
    run chroot "$W/u/rootfs" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin sh -c \
        'cd /tmp && gcc -o devlibs devlibs.c $(pkg-config --cflags --libs sqlite3 openssl libpq mysqlclient zlib libpng \
            yaml-0.1 libcurl gmp libwebp readline libjpeg libxml-2.0 libxslt libffi MagickWand) && ./devlibs'
    echo "$output"
    [ "$status" -eq 0 ]
    for l in sqlite openssl libpq mysql zlib png yaml curl gmp webp readline jpeg xml magick; do
        grep -q "^$l " <<<"$output" || { echo "no $l"; false; }
    done
    # and the tools of the curl and scm layers
    run chroot "$W/u/rootfs" /usr/bin/env -i PATH=/usr/bin:/bin sh -c \
        'convert -version | head -n1; hg --version -q; svn --version --quiet; gpg --version | head -n1; wget --version | head -n1'
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "Version: ImageMagick"* ]]
    [[ "${lines[1]}" == "Mercurial"* ]]
    [[ "${lines[3]}" == "gpg (GnuPG)"* ]]
    [[ "${lines[4]}" == "GNU Wget"* ]]
}

@test "base full: a native module builds with node-gyp in a RUN step without network, against the image's headers (through npm, and run directly as yarn 2+ runs it)" {
    mkdir -p "$W/addon"
    cat >"$W/addon/package.json" <<'EOF'
{"name": "addon", "version": "1.0.0", "gypfile": true, "scripts": {"install": "node-gyp rebuild"}}
EOF
    cat >"$W/addon/binding.gyp" <<'EOF'
{"targets": [{"target_name": "hello", "sources": ["hello.c"]}]}
EOF
    cat >"$W/addon/hello.c" <<'EOF'
#include <node_api.h>
static napi_value Hello(napi_env env, napi_callback_info info)
{
    napi_value s;
    (void)info;
    napi_create_string_utf8(env, "native ok", NAPI_AUTO_LENGTH, &s);
    return s;
}
NAPI_MODULE_INIT()
{
    napi_value fn;
    napi_create_function(env, "hello", NAPI_AUTO_LENGTH, Hello, NULL, &fn);
    napi_set_named_property(env, exports, "hello", fn);
    return exports;
}
EOF
    cat >"$W/addon/Nodefile" <<'EOF'
FROM node:20 AS build
WORKDIR /app
COPY package.json binding.gyp hello.c ./
RUN --network=none npm install --offline --no-audit --no-fund && ls build/Release/hello.node
# node-gyp as yarn 2+ runs it: not through npm, so no npmrc; the image's Env names the headers
RUN --network=none rm -rf build && node /usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js rebuild && ls build/Release/hello.node
FROM node:20-slim
COPY --from=build /app/build/Release/hello.node /app/hello.node
CMD ["node", "-e", "console.log(require('/app/hello.node').hello())"]
EOF
    run "$NBUILD" --network none -t addon:1 "$W/addon"
    echo "$output" | tail -15
    [ "$status" -eq 0 ]
    [[ "$output" != *"Downloading"* ]]
    umoci unpack --image "$NRUN_ROOT:addon:1" "$W/ua" >/dev/null 2>&1
    run chroot "$W/ua/rootfs" /usr/local/bin/node -e "console.log(require('/app/hello.node').hello())"
    [ "$output" = "native ok" ]
}
