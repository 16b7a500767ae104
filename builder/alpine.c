/* Alpine compatibility for RUN steps: a stage whose FROM named an Alpine
 * node tag builds on the Debian slim image (plan_from.c), and its steps get
 * Alpine's apk, adduser and addgroup as translations to apt-get, useradd
 * and groupadd (builder/alpine/compat.sh, with the package map
 * builder/alpine/packages.txt).
 *
 * Why a directory bound into the step rather than files in the image: the
 * translations are the build's, not the app's.  Installed, they would stay
 * in every layer after (an `apk` in a Debian image that lies about what it
 * is) and shadow Debian's own adduser at run time; bound read-only at
 * ALPINE_DIR in the container's /dev tmpfs, they leave nothing in the layer
 * but what the step itself installs, as the host's CA bundle does.  The
 * directory is written once per content under the build cache
 * (cache/build/alpine/<sha256>/), its name the hash of its files, which
 * is also part of each step's cache key: a changed translation runs the
 * steps again.  pins.txt holds the pins of versions.txt the script
 * needs (YARN_VERSION: `apk add yarn` on a node image without yarn; in a
 * FROM alpine:<branch> stage, the node releases of that branch's nodejs and
 * nodejs-current: alpine_node.c), not the whole file, so another node pin
 * changes no Alpine step's key. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/base_int.h"
#include "builder/build_int.h"
#include "common/embed.h"
#include "common/util.h"

static const char *const names[] = {"apk", "adduser", "addgroup", "deluser", "delgroup"};

/* Does dir hold exactly what we would write? */
static bool shim_intact(int dfd, const char *script, size_t slen, const char *map, size_t mlen, const char *pins,
                        size_t plen)
{
    const char *want[][2] = {{"compat.sh", script}, {"packages.txt", map}, {"pins.txt", pins}};
    size_t wlen[] = {slen, mlen, plen};
    for (size_t i = 0; i < NR_ARRAY_LEN(wlen); i++) {
        cleanup_free char *have = NULL;
        size_t hl = 0;
        nr_err e;
        if (nr_read_file(dfd, want[i][0], 1 << 20, &have, &hl, &e) < 0 || hl != wlen[i] ||
            memcmp(have, want[i][1], hl))
            return false;
    }
    for (size_t i = 0; i < NR_ARRAY_LEN(names); i++) {
        char t[32];
        ssize_t n = readlinkat(dfd, names[i], t, sizeof t - 1);
        if (n != 9 || memcmp(t, "compat.sh", 9))
            return false;
    }
    struct stat st;
    return fstatat(dfd, "compat.sh", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
           (st.st_mode & 07777) == 0755 && st.st_uid == geteuid();
}

int bld_alpine_shim(bld_state *b, const char *branch, char **dir_out, char hash[65], nr_err *err)
{
    size_t slen, mlen;
    const char *script = nr_embed_get("builder/alpine/compat.sh", &slen);
    const char *map = nr_embed_get("builder/alpine/packages.txt", &mlen);
    const char *versions = nr_embed_get(BLD_BASE_VERSIONS_NAME, NULL);
    if (!script || !map || !versions)
        return nr_err_set(err, "builder/alpine/ is not embedded in this binary");
    char yarn[32];
    if (bld_base_pin_get(versions, "YARN_VERSION", yarn, sizeof yarn, err) < 0)
        return -1;
    nr_buf pb = {0};
    nr_buf_addf(&pb, "YARN_VERSION=%s\n", yarn);
    if (bld_alpine_node_pins(branch, &pb, err) < 0) {
        nr_buf_free(&pb);
        return -1;
    }
    nr_buf_add(&pb, "", 1);
    cleanup_free char *pins = pb.data;
    size_t plen = pb.len - 1;
    nr_sha256 *h = nr_sha256_new();
    nr_sha256_update(h, script, slen + 1);
    nr_sha256_update(h, map, mlen + 1);
    nr_sha256_update(h, pins, plen + 1);
    nr_sha256_final(h, hash);
    cleanup_free char *parent = nr_xasprintf("%s/alpine", b->cache_dir);
    cleanup_free char *dir = nr_xasprintf("%s/%s", parent, hash);
    if (nr_mkdir_p(parent, 0755, err) < 0)
        return nr_err_wrap(err, "the Alpine translations' directory");
    cleanup_close int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (pfd < 0)
        return nr_err_sys(err, errno, "open %s", parent);
    {
        cleanup_close int dfd = openat(pfd, hash, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd >= 0 && shim_intact(dfd, script, slen, map, mlen, pins, plen)) {
            *dir_out = steal_ptr(&dir);
            return 0;
        }
        if (dfd >= 0) { /* not what this nbuild wrote: made again */
            nr_err e;
            nr_rm_rf(pfd, hash, &e);
        }
    }
    char tmp[96];
    snprintf(tmp, sizeof tmp, ".tmp-%d-%.16s", (int)getpid(), hash);
    nr_err e;
    nr_rm_rf(pfd, tmp, &e);
    if (mkdirat(pfd, tmp, 0755) < 0)
        return nr_err_sys(err, errno, "mkdir %s/%s", parent, tmp);
    cleanup_close int tfd = openat(pfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int rc = tfd < 0 ? nr_err_sys(err, errno, "open %s/%s", parent, tmp) : 0;
    if (rc == 0)
        rc = nr_write_atomic(tfd, "compat.sh", script, slen, 0755, err);
    if (rc == 0)
        rc = nr_write_atomic(tfd, "packages.txt", map, mlen, 0644, err);
    if (rc == 0)
        rc = nr_write_atomic(tfd, "pins.txt", pins, plen, 0644, err);
    if (rc == 0 && fchmodat(tfd, "compat.sh", 0755, 0) < 0) /* whatever the umask */
        rc = nr_err_sys(err, errno, "chmod %s/%s/compat.sh", parent, tmp);
    if (rc == 0 && fchmod(tfd, 0755) < 0)
        rc = nr_err_sys(err, errno, "chmod %s/%s", parent, tmp);
    for (size_t i = 0; rc == 0 && i < NR_ARRAY_LEN(names); i++)
        if (symlinkat("compat.sh", tfd, names[i]) < 0)
            rc = nr_err_sys(err, errno, "symlink %s/%s/%s", parent, tmp, names[i]);
    if (rc == 0 && renameat(pfd, tmp, pfd, hash) < 0 && errno != EEXIST && errno != ENOTEMPTY)
        rc = nr_err_sys(err, errno, "rename %s/%s", parent, tmp);
    nr_rm_rf(pfd, tmp, &e); /* gone after the rename; a concurrent build's won */
    if (rc < 0)
        return -1;
    *dir_out = steal_ptr(&dir);
    return 0;
}
