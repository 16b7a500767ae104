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
 * second: the package is cached, the layer is 2 MB): nothing to go stale. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/base.h"
#include "common/embed.h"
#include "common/util.h"
#include "images/image.h"

int bld_base_alpine_tools(img_store *s, img_image **img, nr_err *err)
{
    const char *env_cache = getenv("NRUN_CACHE_DIR");
    cleanup_free char *cache =
        env_cache && *env_cache ? nr_xstrdup(env_cache) : nr_xasprintf("%s/cache/base", img_store_root(s));
    if (nr_mkdir_p(cache, 0755, err) < 0)
        return nr_err_wrap(err, "base image cache");
    /* ".ctx-<pid>-": a killed make's is removed by the next base make (base.c) */
    cleanup_free char *tmp = nr_xasprintf("%s/.ctx-%d-XXXXXX", cache, (int)getpid());
    if (!mkdtemp(tmp))
        return nr_err_sys(err, errno, "mkdtemp %s", tmp);
    int rc = -1;
    cleanup_free char *script = nr_xasprintf("%s/alpine-tools.sh", tmp);
    cleanup_free char *versions = nr_xasprintf("%s/versions.txt", tmp);
    cleanup_free char *ctx = nr_xasprintf("%s/ctx", tmp);
    img_image *made = NULL;
    cleanup_close int tfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tfd < 0) {
        nr_err_sys(err, errno, "open %s", tmp);
        goto out;
    }
    static const char *const files[] = {"alpine-tools.sh", "common.sh", "versions.txt"};
    for (size_t i = 0; i < NR_ARRAY_LEN(files); i++) {
        char name[64];
        size_t len;
        snprintf(name, sizeof name, "images/node/%s", files[i]);
        const char *data = nr_embed_get(name, &len);
        if (!data) {
            nr_err_set(err, "%s is not embedded in this binary", name);
            goto out;
        }
        if (nr_write_atomic(tfd, files[i], data, len, 0600, err) < 0)
            goto out;
    }
    char *const argv[] = {"bash", script, versions, cache, ctx, NULL};
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
