/* Alpine's busybox tools on the Debian slim image that nbuild builds
 * FROM node:<tag>-alpine on (README, "Alpine tags").  Public Alpine apps
 * check their health with busybox's `wget -qO- http://localhost:3000/health`
 * or `wget --spider`, wait for a database with `nc -z`, run `#!/bin/ash`
 * scripts: Debian slim has none of them.  One small layer adds them, made by
 * the embedded recipe images/node/alpine-tools.sh from Debian's
 * busybox-static (the download the distroless images share), and goes on
 * top of the slim image as an untagged image of its own: a FROM and a
 * COPY --from see the same files, the stage's cache chain and history name
 * it, and the slim image itself (its tags, its digest) is not touched.
 * Made again by each build that substitutes an Alpine tag (a fraction of a
 * second: the package is cached, the layer is 2 MB): nothing to go stale.
 *
 * The layer also makes /bin/sh bash, with a local dpkg diversion so that no
 * dash upgrade puts dash's link back: dpkg's diversions file is one file of
 * all of them, so the recipe gets the slim image's own (read from its
 * unpacked layers, which its RUN steps and containers use anyway) to write
 * it with that one record changed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "builder/base.h"
#include "common/embed.h"
#include "common/util.h"
#include "images/image.h"
#include "images/unpack.h"

/* The image's /var/lib/dpkg/diversions (its upper-most layer that has the
 * file or hides it) into tmpfd/diversions; none written when no layer has it.
 * Each component is opened with O_NOFOLLOW: a layer's symlink leads nowhere. */
static int base_diversions(img_store *s, const img_image *img, int tmpfd, nr_err *err)
{
    static const char *const dirs[] = {"var", "lib", "dpkg"};
    for (size_t i = img->n_layers; i-- > 0;) {
        const img_layer_desc *l = &img->layers[i];
        const char *hex = strchr(l->diff_id, ':');
        if (!hex)
            return nr_err_set(err, "layer %s: no algorithm in its diff_id", l->diff_id);
        if (img_layer_unpack(s, l, NULL, err) < 0)
            return -1;
        cleanup_free char *at = nr_xasprintf("layers/%s", hex + 1);
        cleanup_close int fd = openat(img_store_dirfd(s), at, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return nr_err_sys(err, errno, "open %s/%s", img_store_root(s), at);
        size_t d = 0;
        for (; d < NR_ARRAY_LEN(dirs); d++) {
            int next = openat(fd, dirs[d], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next < 0)
                break;
            close(fd);
            fd = next;
        }
        if (d < NR_ARRAY_LEN(dirs))
            continue; /* this layer has no /var/lib/dpkg */
        struct stat st;
        if (fstatat(fd, "diversions", &st, AT_SYMLINK_NOFOLLOW) < 0) {
            char opq[2];
            if (errno == ENOENT && fgetxattr(fd, "trusted.overlay.opaque", opq, sizeof opq) == 1 && opq[0] == 'y')
                return 0; /* an opaque /var/lib/dpkg without it */
            if (errno == ENOENT || errno == ENODATA)
                continue;
            return nr_err_sys(err, errno, "stat %s/%s/var/lib/dpkg/diversions", img_store_root(s), at);
        }
        if (!S_ISREG(st.st_mode))
            return 0; /* a whiteout: removed */
        cleanup_free char *data = NULL;
        size_t len = 0;
        if (nr_read_file(fd, "diversions", 1 << 20, &data, &len, err) < 0 ||
            nr_write_atomic(tmpfd, "diversions", data, len, 0600, err) < 0)
            return nr_err_wrap(err, "the base's dpkg diversions");
        return 0;
    }
    return 0;
}

int bld_base_alpine_tools(img_store *s, img_image **img, nr_err *err)
{
    cleanup_free char *cache = bld_base_cache_dir(s, err);
    if (!cache)
        return -1;
    /* ".ctx-<pid>-": a killed make's is removed by the next base make (base.c) */
    cleanup_free char *tmp = nr_xasprintf("%s/.ctx-%d-XXXXXX", cache, (int)getpid());
    if (!mkdtemp(tmp))
        return nr_err_sys(err, errno, "mkdtemp %s", tmp);
    int rc = -1;
    cleanup_free char *script = nr_xasprintf("%s/alpine-tools.sh", tmp);
    cleanup_free char *versions = nr_xasprintf("%s/versions.txt", tmp);
    cleanup_free char *ctx = nr_xasprintf("%s/ctx", tmp);
    cleanup_free char *diversions = nr_xasprintf("%s/diversions", tmp);
    img_image *made = NULL;
    cleanup_close int tfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tfd < 0) {
        nr_err_sys(err, errno, "open %s", tmp);
        goto out;
    }
    static const char *const files[] = {"alpine-tools.sh", "common.sh", "versions.txt", NULL};
    if (bld_base_put_recipes(tfd, files, err) < 0)
        goto out;
    if (base_diversions(s, *img, tfd, err) < 0)
        goto out;
    char *const argv[] = {"bash", script, versions, cache, ctx, diversions, NULL};
    img_desc m;
    if (bld_base_run("alpine-tools.sh", argv, err) < 0 || bld_base_write_on(s, *img, ctx, &m, err) < 0 ||
        img_image_load_digest(s, m.digest, &made, err) < 0)
        goto out;
    img_image_free(*img);
    *img = made;
    rc = 0;
out:;
    nr_err e2;
    nr_rm_rf(AT_FDCWD, tmp, &e2);
    return rc;
}
