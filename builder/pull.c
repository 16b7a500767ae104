/* FROM / COPY --from of an image the store lacks: pull it, as docker build
 * does, or make a node: base from the local recipe.
 *
 * Which source, in order:
 *  - a name with a registry host ("reg:5000/team/app:1", and
 *    "docker.io/library/alpine:3" written out): that registry;
 *  - a short Docker Hub name (node:20, alpine:3): only the docker.io
 *    mirrors, when some are configured (--registry-mirror, the registries
 *    config file), never docker.io itself, so a build reaches the internet
 *    only where its Nodefile or its configuration says so; for a node: tag
 *    the local base recipe (builder/base.c) comes next.
 * The build's progress says which was used. */
#include "builder/build_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "builder/base.h"
#include "builder/base_gcr.h"
#include "common/util.h"
#include "images/registry.h"

static void on_progress(void *arg, img_prog_event ev, const char *digest, uint64_t done, uint64_t total,
                        const char *msg)
{
    FILE *f = arg;
    if (!f)
        return;
    if (ev == IMG_PROG_NOTE) {
        cleanup_free char *m = nr_escape_controls(msg);
        fprintf(f, "  %s\n", m);
    } else if (ev == IMG_PROG_DONE) {
        fprintf(f, "  pulled %.19s (%llu bytes)\n", digest, (unsigned long long)total);
    }
}

static int not_pulled(nr_err *err, const char *norm)
{
    nr_err_set(err, "no such image: %s", norm);
    err->errnum = ENOENT;
    return -1;
}

int bld_pull(bld_state *b, const char *norm, nr_err *err)
{
    const img_reg_opts *ro = b->o->reg;
    bool node = !strncmp(norm, "node:", 5);
    bool short_hub = !img_regref_has_host(norm);
    if (bld_gcr_is(norm))
        return not_pulled(err, norm); /* made here (base_gcr.c), never pulled from gcr.io */
    if (!ro || (short_hub && ro->n_mirrors == 0))
        return not_pulled(err, norm);
    img_reg_opts o = *ro;
    o.mirrors_only = short_hub;
    o.progress = on_progress;
    o.progress_arg = b->o->progress;
    if (b->o->progress)
        fprintf(b->o->progress, "PULL %s\n", norm);
    char from[300];
    if (img_reg_pull(b->s, norm, &o, NULL, from, sizeof from, err) == 0) {
        if (b->o->progress)
            fprintf(b->o->progress, "  %s: pulled from %s\n", norm, from);
        return 0;
    }
    if (node) {
        /* The local recipe is the fallback: say so, then let it run. */
        if (b->o->progress)
            fprintf(b->o->progress, "  %s: not pulled (%s); making it from the local base recipe\n", norm, err->msg);
        return not_pulled(err, norm);
    }
    if (err->errnum == ENOENT)
        err->errnum = 0; /* the registry's 404 is the error to show, not "unknown image" */
    return -1;
}
