/* Multi-stage builds: which stages the target needs, and the files of an
 * earlier stage or of an image for COPY --from.
 *
 * Before anything runs, the stages are found (each FROM starts one, `AS
 * name` names it) with what each depends on: `FROM <stage>`, `COPY
 * --from=<stage|index>`.  Only the target (--target, else the last stage)
 * and what it needs are built: a stage that would fail but is not needed
 * does not run.  A --from value with a variable in it may name any earlier
 * stage, so it needs them all.
 *
 * A tree for COPY --from is a read-only overlay of the stage's (or image's)
 * unpacked layers (a read-only clone of the layer's directory when there is
 * only one), made with the new mount API as a detached mount: it has
 * no mount point, is seen by nothing else and goes when nbuild closes it or
 * dies.  The builder reads it through the fd (bld_ctx_open_fd). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "builder/base.h"
#include "builder/build_int.h"
#include "common/util.h"
#include "images/oci.h"
#include "images/ref.h"
#include "images/unpack.h"

/* The stage a --from value names: an index or a name of a stage before
 * `before`, else -1 (an image). */
static long stage_named(bld_state *b, const char *v, size_t before)
{
    if (bld_named_has(b->o, v))
        return -1; /* --build-context: over a stage of that name */
    if (*v && strspn(v, "0123456789") == strlen(v)) {
        long i = strtol(v, NULL, 10);
        return i >= 0 && (size_t)i < before ? i : -2;
    }
    for (size_t k = before; k-- > 0;)
        if (b->stage_names[k] && !strcasecmp(b->stage_names[k], v))
            return (long)k;
    return -1;
}

static void need(bld_state *b, size_t k, bool **deps)
{
    if (b->stage_needed[k])
        return;
    b->stage_needed[k] = true;
    for (size_t d = 0; d < k; d++)
        if (deps[k][d])
            need(b, d, deps);
}

int bld_stages_analyze(bld_state *b, nr_err *err)
{
    size_t n = 0;
    for (size_t i = 0; i < b->f.n; i++)
        n += b->f.ins[i].kind == BLD_FROM;
    b->n_all_stages = n;
    b->stage_names = nr_xcalloc(n + 1, sizeof *b->stage_names);
    b->stage_needed = nr_xcalloc(n + 1, sizeof *b->stage_needed);
    bool **deps = nr_xcalloc(n + 1, sizeof *deps);
    for (size_t k = 0; k < n; k++)
        deps[k] = nr_xcalloc(n + 1, sizeof **deps);
    int rc = 0;
    long k = -1;
    for (size_t i = 0; i < b->f.n && rc == 0; i++) {
        const bld_instr *in = &b->f.ins[i];
        if (in->kind == BLD_FROM) {
            k++;
            if (in->nargs == 3)
                b->stage_names[k] = in->args[2].s;
            const char *ref = in->nargs ? in->args[0].s : "";
            /* FROM ${ARG}: the global ARGs may name a stage (BuildKit
             * expands them first); one that does not expand here (its
             * error comes at the FROM) may read any stage before it */
            cleanup_free char *x = NULL;
            long d = -1;
            if (strchr(ref, '$')) {
                nr_err e;
                if (bld_global_args(b, err) < 0)
                    rc = -1;
                else if (bld_expand_word(b, NULL, in, &in->args[0], &x, &e) == 0)
                    d = stage_named(b, x, (size_t)k);
                else
                    d = -3;
            } else {
                d = stage_named(b, ref, (size_t)k);
            }
            for (long e = 0; d == -3 && e < k; e++)
                deps[k][e] = true;
            if (d >= 0)
                deps[k][d] = true;
            continue;
        }
        if (k >= 0 && in->kind == BLD_RUN) {
            /* RUN --mount=type=bind,from=STAGE reads that stage too */
            for (size_t f = 0; f < in->nflags && rc == 0; f++) {
                if (strcmp(in->flags[f].name, "mount") || !in->flags[f].value)
                    continue;
                cleanup_free char *copy = nr_xstrdup(in->flags[f].value);
                for (char *save = NULL, *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
                    if (strncmp(kv, "from=", 5))
                        continue;
                    long d = strchr(kv, '$') ? -3 : stage_named(b, kv + 5, (size_t)k);
                    for (long e = 0; d == -3 && e < k; e++)
                        deps[k][e] = true;
                    if (d == -2)
                        rc = bld_errat(err, &b->f, in, in->flags[f].off, "RUN --mount %s: not an earlier stage", kv);
                    else if (d >= 0)
                        deps[k][d] = true;
                }
            }
            continue;
        }
        const bld_flag *fl = k >= 0 && in->kind == BLD_COPY ? bld_instr_flag(in, "from") : NULL;
        if (!fl)
            continue;
        const char *v = fl->value ? fl->value : "";
        if (strchr(v, '$')) {
            for (long d = 0; d < k; d++)
                deps[k][d] = true;
            continue;
        }
        long d = stage_named(b, v, (size_t)k);
        if (d == -2)
            rc = bld_errat(err, &b->f, in, fl->off, "COPY --from=%s: stage %s is not an earlier stage", v, v);
        else if (d >= 0)
            deps[k][d] = true;
    }
    if (rc == 0 && n) {
        b->target = n - 1;
        if (b->o->target) {
            long t = -1;
            for (size_t s = 0; s < n; s++)
                if (b->stage_names[s] && !strcasecmp(b->stage_names[s], b->o->target))
                    t = (long)s;
            if (t < 0)
                rc = nr_err_set(err, "--target %s: %s has no stage named %s", b->o->target, b->f.path, b->o->target);
            else
                b->target = (size_t)t;
        }
        if (b->only_stage)
            b->target = b->only_stage - 1;
        if (rc == 0)
            need(b, b->target, deps);
    }
    b->stage_deps = deps;
    return rc;
}

/* ---- trees ---- */

char *bld_layer_dir(bld_state *b, const img_layer_desc *l)
{
    const char *upper = bld_upper_of(b, l->diff_id);
    return upper ? nr_xstrdup(upper) : nr_xasprintf("%s/layers/%s", img_store_root(b->s), img_digest_hex(l->diff_id));
}

/* One layer: overlay wants two lower dirs without an upper one, so a
 * read-only detached clone of the layer's own directory. */
static int single_layer(bld_state *b, const img_layer_desc *l, int *out, nr_err *err)
{
    cleanup_free char *dir = bld_layer_dir(b, l);
    int m = (int)syscall(SYS_open_tree, AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
    if (m < 0)
        return nr_err_sys(err, errno, "a view of layer %s for COPY --from", dir);
    struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID};
    if (syscall(SYS_mount_setattr, m, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0) {
        int e = errno;
        close(m);
        return nr_err_sys(err, e, "a read-only view of layer %s", dir);
    }
    *out = m;
    return 0;
}

int bld_overlay_open(const char *what, nr_err *err)
{
    int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
    if (fs < 0)
        return nr_err_sys(err, errno, "overlay for %s", what);
    /* rootless: the layers' opaque marks are user.overlay.* xattrs
     * (images/unpack.c), which overlay reads only when told */
    if (nr_in_userns() && syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0) {
        int e = errno;
        close(fs);
        return nr_err_sys(err, e, "overlay for %s: userxattr", what);
    }
    return fs;
}

static int overlay_of(bld_state *b, const img_layer_desc *layers, size_t n, int *out, nr_err *err)
{
    if (n == 1)
        return single_layer(b, layers, out, err);
    cleanup_close int fs = bld_overlay_open("COPY --from", err);
    if (fs < 0)
        return -1;
    /* top layer first, each on its own (lowerdir+: no page limit) */
    for (size_t i = n; i-- > 0;) {
        cleanup_free char *dir = bld_layer_dir(b, &layers[i]);
        if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir+", dir, 0) < 0)
            return nr_err_sys(err, errno, "overlay for COPY --from: layer %s", dir);
    }
    if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return nr_err_sys(err, errno, "overlay for COPY --from (%zu layers)", n);
    int m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
    if (m < 0)
        return nr_err_sys(err, errno, "mount overlay for COPY --from");
    *out = m;
    return 0;
}

/* A tree of layers (unpacked once, in the store's layer cache, or a RUN
 * step's upper dir), kept open for the rest of the build under `key`. */
static int tree_of(bld_state *b, const char *key, const img_layer_desc *layers, size_t n, bld_ctx **out, nr_err *err)
{
    for (size_t i = 0; i < b->n_trees; i++)
        if (!strcmp(b->trees[i].key, key)) {
            *out = b->trees[i].ctx;
            return 0;
        }
    if (n == 0)
        return nr_err_set(err, "an image with no layers has no files to copy");
    nr_err ign;
    img_store_hold(b->s, &ign);
    for (size_t i = 0; i < n; i++) /* a RUN step's of this build: its upper dir */
        if (!bld_upper_of(b, layers[i].diff_id) && img_layer_unpack(b->s, &layers[i], NULL, err) < 0)
            return -1;
    int m = -1;
    if (overlay_of(b, layers, n, &m, err) < 0)
        return -1;
    bld_ctx *c;
    int rc = bld_ctx_open_fd(m, &c, err);
    close(m);
    if (rc < 0)
        return -1;
    b->trees = nr_xrealloc(b->trees, (b->n_trees + 1) * sizeof *b->trees);
    b->trees[b->n_trees].key = nr_xstrdup(key);
    b->trees[b->n_trees].ctx = c;
    b->n_trees++;
    *out = c;
    return 0;
}

int bld_tree_stage(bld_state *b, bld_stage *src, bld_ctx **out, nr_err *err)
{
    for (size_t i = 0; i < src->n_layers; i++)
        if (!src->layers[i]->done && bld_step_write(b, src->layers[i], err) < 0)
            return nr_err_wrap(err, "writing layer for \"%s\"", src->layers[i]->text);
    img_layer_desc *ls = nr_xcalloc(src->n_layers + 1, sizeof *ls);
    for (size_t i = 0; i < src->n_layers; i++)
        ls[i] = src->layers[i]->layer;
    int rc = tree_of(b, src->chain, ls, src->n_layers, out, err);
    free(ls);
    return rc;
}

int bld_image_for_copy(bld_state *b, const char *ref, img_image **out, nr_err *err)
{
    char norm[IMG_NAME_MAX + IMG_TAG_MAX + 2];
    if (img_ref_normalize(ref, norm, sizeof norm, err) < 0)
        return nr_err_wrap(err, "invalid image reference \"%s\"", ref);
    bld_base_hub_official(norm, norm, sizeof norm);
    if (b->o->pull) { /* --pull, as for FROM (plan_from.c) */
        if (bld_pull(b, norm, err) == 0)
            return img_image_load(b->s, norm, out, err);
        if (err->errnum != ENOENT)
            return nr_err_wrap(err, "pull %s", ref);
    }
    if (img_image_load(b->s, norm, out, err) == 0)
        return 0;
    if (err->errnum == ENOENT && !b->o->pull) {
        if (bld_pull(b, norm, err) == 0)
            return img_image_load(b->s, norm, out, err);
        if (err->errnum != ENOENT)
            return nr_err_wrap(err, "pull %s", ref);
    }
    char slim[IMG_NAME_MAX + IMG_TAG_MAX + 2];
    bool alpine = err->errnum == ENOENT && bld_base_alpine_slim(norm, slim, sizeof slim);
    if (err->errnum == ENOENT && !alpine && bld_base_ensure(b->s, norm, err) == 0 &&
        img_image_load(b->s, norm, out, err) == 0)
        return 0;
    if (alpine) { /* not tagged by a build: `nrun base` makes that name */
        /* an Alpine node tag: the Debian slim image, as FROM has it (plan_from.c) */
        if (b->o->progress)
            fprintf(b->o->progress,
                    "--> %s: using %s instead: Debian slim (glibc, not musl), with Alpine's busybox tools\n", ref,
                    slim);
        if (img_image_load(b->s, slim, out, err) == 0 ||
            (err->errnum == ENOENT && bld_base_ensure(b->s, slim, err) == 0 &&
             img_image_load(b->s, slim, out, err) == 0)) {
            bld_alpine_tools_add(b, ref, out);
            return 0;
        }
        return -1;
    }
    return err->errnum == ENOENT ? nr_err_set(err, "unknown image %s (not a stage before this one either)", ref) : -1;
}

int bld_from_resolve(bld_state *b, const bld_instr *in, size_t off, const char *what, const char *from, size_t me,
                     bld_from *out, nr_err *err)
{
    *out = (bld_from){0};
    if (!*from)
        return bld_errat(err, &b->f, in, off, "%s=%s: empty value", what, from);
    const char *named_img = NULL;
    int nk = bld_named_find(b, from, &named_img, &out->dir, err);
    if (nk < 0)
        return bld_errat(err, &b->f, in, off, "%s=%s: %s", what, from, err->msg);
    if (nk == 1 && bld_image_for_copy(b, named_img, &out->img, err) < 0)
        return bld_errat(err, &b->f, in, off, "%s=%s (--build-context %s): %s", what, from, named_img, err->msg);
    if (nk) /* a named context overrides a stage of that name */
        return 0;
    if (strspn(from, "0123456789") == strlen(from)) {
        size_t k = strtoul(from, NULL, 10);
        if (k >= me)
            return bld_errat(err, &b->f, in, off, "%s=%s: not an earlier stage", what, from);
        out->stage = &b->stages[k];
    }
    for (size_t k = me; !out->stage && k-- > 0;)
        if (b->stages[k].name && !strcasecmp(b->stages[k].name, from))
            out->stage = &b->stages[k];
    if (out->stage && out->stage->skipped)
        return bld_errat(err, &b->f, in, off, "%s=%s: that stage was not built", what, from);
    if (!out->stage && bld_image_for_copy(b, from, &out->img, err) < 0)
        return bld_errat(err, &b->f, in, off, "%s=%s: %s", what, from, err->msg);
    return 0;
}

int bld_tree_image(bld_state *b, const img_image *img, bld_ctx **out, nr_err *err)
{
    return tree_of(b, img->manifest.digest, img->layers, img->n_layers, out, err);
}

void bld_trees_free(bld_state *b)
{
    for (size_t i = 0; i < b->n_trees; i++) {
        bld_ctx_free(b->trees[i].ctx);
        free(b->trees[i].key);
    }
    free(b->trees);
    free(b->stage_names);
    free(b->stage_needed);
    for (size_t s = 0; b->stage_deps && s < b->n_all_stages; s++)
        free(b->stage_deps[s]);
    free(b->stage_deps);
}
