/* The executor (see build.h): plan all stages (plan_from.c), then write
 * the target one: layers, image, tags, --output, undoing a failed build. */
#include "builder/build.h"
#include "builder/zeroconf.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "builder/build_int.h"
#include "builder/fetch.h"
#include "builder/run_mount.h"
#include "common/util.h"
#include "images/oci.h"
#include "runtime/runtime.h"

/* ---- writing, and undoing it ---- */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int blob_names(img_store *s, char ***out, size_t *n, nr_err *err)
{
    /* A fresh open, not a dup: a dup shares the directory offset, so a
     * second listing would start at the end. */
    int fd = openat(img_store_blobs_dirfd(s), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return nr_err_sys(err, errno, "open %s/blobs/sha256", img_store_root(s));
    cleanup_dir DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return nr_err_sys(err, errno, "list blobs");
    }
    struct dirent *de;
    *out = NULL;
    *n = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        *out = nr_xrealloc(*out, (*n + 1) * sizeof **out);
        (*out)[(*n)++] = nr_xstrdup(de->d_name);
    }
    if (*n > 1)
        qsort(*out, *n, sizeof **out, name_cmp);
    return 0;
}

static void names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Is this new blob ours: one of our layers, or a config/manifest naming
 * exactly our layers (written by img_image_write before it failed)? */
static bool blob_is_ours(bld_state *b, bld_stage *st, const char *name)
{
    char digest[IMG_DIGEST_MAX];
    snprintf(digest, sizeof digest, "sha256:%s", name);
    /* a layer of any stage (a RUN writes the layers before it while
     * planning), but a RUN's own: that one is build cache, kept */
    for (size_t k = 0; k < b->n_steps; k++)
        if (b->steps[k]->done && !b->steps[k]->keep && !strcmp(b->steps[k]->layer.blob.digest, digest))
            return true;
    char *text = NULL;
    size_t len;
    nr_err e;
    if (img_blob_read(b->s, digest, 1 << 20, &text, &len, &e) < 0)
        return false;
    json_t *j = json_loadb(text, len, 0, NULL);
    free(text);
    if (!j)
        return false;
    json_t *ids = json_object_get(json_object_get(j, "rootfs"), "diff_ids");
    json_t *layers = json_object_get(j, "layers");
    json_t *list = ids ? ids : layers;
    bool ours = json_is_array(list) && json_array_size(list) == st->n_layers;
    for (size_t i = 0; ours && i < st->n_layers; i++) {
        json_t *x = json_array_get(list, i);
        const char *want = ids ? st->layers[i]->layer.diff_id : st->layers[i]->layer.blob.digest;
        const char *got = ids ? json_string_value(x) : json_string_value(json_object_get(x, "digest"));
        ours = got && !strcmp(got, want);
    }
    json_decref(j);
    return ours;
}

/* A late failure: remove the blobs this build added (new since the
 * snapshot, and ours by content), unless an image in index.json names them.
 * The store removes them under the exclusive gc lock, so a concurrent build
 * that wrote the same blobs (same content, same digests) has tagged its
 * image first and they stay. */
static void undo_blobs(bld_state *b, bld_stage *st, char **snap, size_t nsnap, const struct stat *before)
{
    char **now;
    size_t n;
    nr_err e;
    if (blob_names(b->s, &now, &n, &e) < 0)
        return;
    char **ours = nr_xcalloc(n + 1, sizeof *ours);
    size_t n_ours = 0;
    for (size_t i = 0; i < n; i++) {
        if (strlen(now[i]) != 64 || bsearch(&now[i], snap, nsnap, sizeof *snap, name_cmp))
            continue;
        if (blob_is_ours(b, st, now[i]))
            ours[n_ours++] = nr_xasprintf("sha256:%s", now[i]);
    }
    img_prune_result r;
    if (n_ours)
        img_blobs_remove_unreferenced(b->s, (const char *const *)ours, n_ours, &r, &e);
    for (size_t i = 0; i < n_ours; i++)
        free(ours[i]);
    free(ours);
    names_free(now, n);
    /* Linking and unlinking moved the directory's times: put them back so
     * the store is as it was, metadata included. */
    struct timespec ts[2] = {before->st_atim, before->st_mtim};
    futimens(img_store_blobs_dirfd(b->s), ts);
}

static int write_image(bld_state *b, bld_stage *st, img_desc *manifest, nr_err *err)
{
    for (size_t i = 0; i < st->n_layers; i++) {
        bld_step *s = st->layers[i];
        if (s->done)
            continue;
        if (bld_step_write(b, s, err) < 0)
            return nr_err_wrap(err, "writing layer for \"%s\"", s->text);
        if (b->o->progress)
            fprintf(b->o->progress, "--> %s: %.19s\n", s->text, s->layer.blob.digest);
    }
    img_layer_desc *ls = nr_xcalloc(st->n_layers + 2, sizeof *ls);
    size_t nl = st->n_layers;
    for (size_t i = 0; i < st->n_layers; i++)
        ls[i] = st->layers[i]->layer;
    img_history_entry *h = nr_xcalloc(st->n_hist + 2, sizeof *h);
    size_t nh = 0;
    for (size_t i = 0; i < st->n_hist; i++) {
        h[nh].created_by = st->hist[i].created_by;
        h[nh].empty_layer = st->hist[i].empty;
        nh++;
    }
    json_t *config = st->config;
    if (b->o->n_labels) { /* --label: over the Nodefile's, as docker build's */
        config = config ? json_deep_copy(config) : json_object();
        json_t *labels = json_object_get(config, "Labels");
        if (!json_is_object(labels)) {
            labels = json_object();
            json_object_set_new(config, "Labels", labels);
        }
        for (size_t i = 0; i < b->o->n_labels; i++) {
            const char *kv = b->o->labels[i], *eq = strchr(kv, '=');
            cleanup_free char *k = eq ? nr_xstrndup(kv, (size_t)(eq - kv)) : nr_xstrdup(kv);
            json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
        }
    }
    if (b->o->init) {
        json_t *before = config;
        if (bld_init_apply(b, &config, &ls[nl], err) < 0) {
            if (config != st->config)
                json_decref(config);
            free(ls);
            free(h);
            return nr_err_wrap(err, "--init");
        }
        if (before != st->config) /* the --label copy, copied again */
            json_decref(before);
        nl++;
        h[nh++].created_by = "nbuild --init: /nrun-init (supervisor as entrypoint)";
        if (b->o->progress)
            fprintf(b->o->progress, "--> --init: %.19s\n", ls[nl - 1].blob.digest);
    }
    img_image_spec spec = {.config = config, .layers = ls, .n_layers = nl, .history = h,
                           .n_history = nh, .base_history = st->base_history, .created = -1,
                           .author = st->author};
    if (!st->base_history && nh == 0)
        spec.base_history = json_array();
    int rc = img_image_write(b->s, &spec, manifest, err);
    if (spec.base_history != st->base_history)
        json_decref(spec.base_history);
    if (config != st->config)
        json_decref(config);
    free(ls);
    free(h);
    return rc;
}

typedef struct old_tag {
    bool existed;
    img_desc manifest;
} old_tag;

static int set_tags(bld_state *b, const img_desc *m, nr_err *err)
{
    old_tag *old = nr_xcalloc(b->o->n_tags + 1, sizeof *old);
    size_t i;
    int rc = 0;
    for (i = 0; i < b->o->n_tags; i++) {
        img_image *img;
        nr_err e;
        if (img_image_load(b->s, b->o->tags[i], &img, &e) == 0) {
            old[i].existed = true;
            old[i].manifest = *img_image_top(img);
            img_image_free(img);
        }
        if ((rc = img_tag_set(b->s, b->o->tags[i], m, err)) < 0)
            break;
    }
    if (rc < 0) { /* put back the tags already moved */
        while (i-- > 0) {
            nr_err e;
            if (old[i].existed)
                img_tag_set(b->s, b->o->tags[i], &old[i].manifest, &e);
            else
                img_tag_remove(b->s, b->o->tags[i], &e);
        }
    }
    free(old);
    return rc;
}

static int export_output(bld_state *b, const img_desc *m, nr_err *err)
{
    const char *out = b->o->output;
    if (!out)
        return 0;
    const char *tag = NULL;
    char tagbuf[IMG_TAG_MAX];
    if (b->o->n_tags) {
        const char *c = strrchr(b->o->tags[0], ':');
        snprintf(tagbuf, sizeof tagbuf, "%s", c ? c + 1 : "latest");
        tag = tagbuf;
    }
    if (!strncmp(out, "oci:", 4))
        return img_export_oci_dir(b->s, m->digest, out + 4, tag, err);
    return img_export_oci_archive(b->s, m->digest, out + 12, tag, err);
}

/* Refuse before writing anything when the store is read-only or cannot hold
 * the new layers (an upper bound: uncompressed tar size), so the common
 * failures leave the store untouched, not just cleaned up. */
static int check_space(bld_state *b, bld_stage *st, nr_err *err)
{
    uint64_t need = 256 * 1024; /* config, manifest, index.json */
    bool writes = false;
    for (size_t i = 0; i < st->n_layers; i++)
        if (!st->layers[i]->done) {
            need += st->layers[i]->max_bytes + st->layers[i]->max_bytes / 64;
            writes = true;
        }
    struct statvfs sv;
    if (fstatvfs(img_store_blobs_dirfd(b->s), &sv) < 0)
        return nr_err_sys(err, errno, "statvfs %s", img_store_root(b->s));
    if (sv.f_flag & ST_RDONLY)
        return nr_err_sys(err, EROFS, "store %s", img_store_root(b->s));
    if (faccessat(img_store_blobs_dirfd(b->s), ".", W_OK, AT_EACCESS) < 0)
        return nr_err_sys(err, errno, "store %s", img_store_root(b->s));
    uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    if (writes && need > avail) {
        char n[32], a[32];
        nr_human_size(need, n, sizeof n);
        nr_human_size(avail, a, sizeof a);
        return nr_err_sys(err, ENOSPC, "store %s: the new layers need up to %s, %s free", img_store_root(b->s), n, a);
    }
    return 0;
}

/* The blobs before this build, to undo what it adds if it fails. */
typedef struct blob_snap {
    char **names;
    size_t n;
    struct stat dir;
} blob_snap;

static int write_all(bld_state *b, bld_result *res, nr_err *err)
{
    bld_stage *st = &b->stages[b->target];
    if (check_space(b, st, err) < 0)
        return -1;
    int rc = write_image(b, st, &res->manifest, err);
    if (rc == 0)
        rc = export_output(b, &res->manifest, err);
    if (rc == 0)
        rc = set_tags(b, &res->manifest, err);
    if (rc == 0) {
        for (size_t i = st->n_base_layers; i < st->n_layers; i++) {
            bld_step *s = st->layers[i];
            if (s->cached) {
                res->layers_cached++;
            } else if (s->text) {
                res->layers_built++;
                bld_cache_put(b, s->key, &s->layer);
            }
        }
    }
    return rc;
}

/* ---- entry ---- */

#define NODEFILE_MAX (4u << 20)

/* What docker build takes on stdin as a context: a tar (the ustar magic
 * at 257), or one compressed with gzip, bzip2, xz or zstd. */
static bool stdin_is_archive(const char *t, size_t n)
{
    static const struct { const char *m; size_t n; } magic[] = {
        {"\x1f\x8b", 2}, {"BZh", 3}, {"\xfd" "7zXZ\0", 6}, {"\x28\xb5\x2f\xfd", 4}};
    for (size_t i = 0; i < NR_ARRAY_LEN(magic); i++)
        if (n >= magic[i].n && !memcmp(t, magic[i].m, magic[i].n))
            return true;
    return n >= 262 && !memcmp(t + 257, "ustar", 5);
}

int bld_read_nodefile(bld_state *b, nr_err *err)
{
    const bld_opts *o = b->o;
    cleanup_free char *text = NULL, *shown = NULL;
    size_t len;
    if (o->file) {
        /* -f - reads the Nodefile from stdin, as docker build does. */
        bool in = !strcmp(o->file, "-");
        shown = nr_xstrdup(in ? "stdin" : o->file);
        /* stdin may be a pipe; a named file must be a regular one (no FIFO, no /dev/zero) */
        if (in && nr_read_file(AT_FDCWD, "/proc/self/fd/0", NODEFILE_MAX, &text, &len, err) < 0)
            return err->errnum == EFBIG ? nr_err_set(err, "stdin: a Nodefile is at most %u MiB", NODEFILE_MAX >> 20)
                                        : nr_err_sys(err, err->errnum, "stdin");
        if (!in && nr_read_user_file(AT_FDCWD, o->file, "Nodefile", NODEFILE_MAX, &text, &len, err) < 0)
            return -1;
        if (in && stdin_is_archive(text, len))
            return nr_err_set(err, "stdin: a compressed file or tar archive, not a Nodefile (a build context "
                                   "archive on stdin is not supported: extract it and give its directory)");
        if (!in)
            b->nodefile_disk = nr_xstrdup(o->file);
    } else {
        /* "dockerfile" last, as the docker CLI and BuildKit look for it
         * when there is no "Dockerfile" */
        static const char *names[] = {"Nodefile", "Dockerfile", "dockerfile"};
        for (size_t i = 0; i < NR_ARRAY_LEN(names) && !text; i++) {
            free(shown);
            shown = !strcmp(o->context, ".") ? nr_xstrdup(names[i]) : nr_xasprintf("%s/%s", o->context, names[i]);
            /* a file of the context: a link resolves inside it, as COPY's
             * sources do (a link to a host file would show its lines in
             * the parse errors) */
            cleanup_close int fd = nr_open_in_root(o->context, names[i], O_RDONLY | O_NONBLOCK | O_NOCTTY);
            struct stat lst;
            if (fd < 0 && errno == ENOENT && lstat(shown, &lst) == 0 && S_ISLNK(lst.st_mode))
                return nr_err_set(err, "Nodefile %s: a symlink that resolves inside the build context (as BuildKit "
                                       "does), and nothing is there",
                                  shown);
            if (fd < 0 && errno != ENOENT)
                return nr_err_sys(err, errno, "Nodefile %s", shown);
            if (fd >= 0 && nr_read_user_fd(fd, shown, "Nodefile", NODEFILE_MAX, &text, &len, err) < 0)
                return -1;
        }
        if (text)
            b->nodefile_disk = nr_xstrdup(shown);
        if (!text) {
            /* package.json alone: the zero-config recipe, the text --print-nodefile shows */
            free(shown);
            shown = NULL;
            int z = bld_zeroconf_nodefile(o->context, &text, &shown, err);
            if (z < 0)
                return -1;
            if (z > 0)
                return nr_err_set(err, "no Nodefile, Dockerfile or package.json in %s (use -f FILE)", o->context);
            if (o->progress)
                fprintf(o->progress, "ZERO-CONFIG %s (nbuild --print-nodefile %s shows it)\n", shown, o->context);
            len = strlen(text);
        }
    }
    return bld_parse(shown, text, len, &b->f, err);
}

/* An instruction written as a JSON array that is not JSON runs as the
 * shell form, and text after a JSON array is ignored, as in BuildKit
 * (parse.c): the build goes on, and says so. */
static void warn_json_notes(const bld_nodefile *f)
{
    for (size_t i = 0; i < f->n; i++)
        for (const bld_instr *in = &f->ins[i]; in; in = in->trigger) {
            if (!in->json_note)
                continue;
            int line, col;
            bld_instr_pos(in, in->json_note_off, &line, &col);
            if (in->json_ignored)
                fprintf(stderr, "nbuild: warning: %s:%d:%d: %s: the text after the JSON array (%s) is ignored, as "
                        "BuildKit ignores it\n", f->path, line, col, in->name, in->json_note);
            else
                fprintf(stderr, "nbuild: warning: %s:%d:%d: %s: not a JSON array (%s), so it is the shell form, as "
                        "BuildKit reads it\n", f->path, line, col, in->name, in->json_note);
        }
}

static void state_free(bld_state *b)
{
    free(b->empty_keys);
    free(b->nodefile_disk);
    for (size_t i = 0; i < b->n_stages; i++) {
        bld_stage *st = &b->stages[i];
        free(st->name);
        free(st->author);
        json_decref(st->config);
        json_decref(st->base_history);
        json_decref(st->shell);
        free(st->layers);
        for (size_t k = 0; k < st->n_hist; k++)
            free(st->hist[k].created_by);
        free(st->hist);
        bld_vars_free(st->args, st->n_args);
        bld_passwd_free(&st->pw);
        bld_dirs_free(st->dirs, st->n_dirs);
        bld_links_free(st->links, st->n_links);
        bld_dirs_free(st->base_dirs, st->n_base_dirs);
        bld_links_free(st->base_links, st->n_base_links);
    }
    free(b->stages);
    bld_trees_free(b);
    bld_uppers_remove(b);
    for (size_t i = 0; i < b->n_steps; i++) {
        free(b->steps[i]->text);
        bld_sel_free(&b->steps[i]->sel);
        bld_dirs_free(b->steps[i]->pdirs, b->steps[i]->n_pdirs);
        free(b->steps[i]);
    }
    free(b->steps);
    bld_vars_free(b->gargs, b->n_gargs);
    free(b->build_arg_used);
    bld_ctx_free(b->ctx);
    bld_named_free(b);
    bld_ssh_free(b);
    bld_nodefile_free(&b->f);
    for (size_t i = 0; i < b->n_downloads; i++) {
        unlink(b->downloads[i]);
        free(b->downloads[i]);
    }
    free(b->downloads);
    free(b->cache_dir);
}

volatile sig_atomic_t bld_stop_sig;

static void on_stop(int sig)
{
    bld_stop_sig = sig;
}

int bld_interrupted(nr_err *err)
{
    return nr_err_set(err, "interrupted (%s)", strsignal(bld_stop_sig ? bld_stop_sig : rt_stop_forwarded));
}

int bld_build(img_store *s, const bld_opts *o, bld_result *res, nr_err *err)
{
    bld_state b = {.s = s, .o = o};
    memset(res, 0, sizeof *res);
    /* a stop ends the build through its error path (bld_stop_sig) */
    static const int stops[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa = {.sa_handler = on_stop}, old_sa[NR_ARRAY_LEN(stops)];
    sigemptyset(&sa.sa_mask);
    bld_stop_sig = 0;
    for (size_t i = 0; i < NR_ARRAY_LEN(stops); i++)
        sigaction(stops[i], &sa, &old_sa[i]);
    b.build_arg_used = nr_xcalloc(o->n_build_args + 1, sizeof *b.build_arg_used);
    b.cache_dir = nr_xasprintf("%s/cache/build", img_store_root(s));
    bld_secrets_sweep(&b);
    cleanup_free char *dl = nr_xasprintf("%s/downloads", b.cache_dir);
    bld_fetch_sweep(dl);
    rt_orphans_remove(img_store_root(s), true); /* build steps of a killed nbuild */
    int rc = bld_read_nodefile(&b, err);
    if (rc == 0)
        warn_json_notes(&b.f);
    if (rc == 0 && b.f.syntax && !o->quiet) /* BuildKit would fetch that frontend: say we did not */
        fprintf(stderr, "nbuild: # syntax=%.200s: ignored, nbuild has its own frontend\n", b.f.syntax);
    if (rc == 0)
        rc = bld_ctx_open(o->context, b.nodefile_disk, b.cache_dir, &b.ctx, err);
    /* --ssh key files are loaded before any step runs: a key that does not
     * load costs nothing */
    for (size_t i = 0; rc == 0 && i < o->n_ssh; i++) {
        cleanup_free char *id = nr_xstrndup(o->ssh[i], strcspn(o->ssh[i], "="));
        const char *sock;
        rc = bld_ssh_agent(&b, id, &sock, err);
    }
    /* a cache that cannot be had is a miss, as BuildKit treats it */
    for (size_t i = 0; rc == 0 && !o->no_cache && i < o->n_cache_from; i++) {
        nr_err ce = {0};
        if (bld_regcache_import(&b, o->cache_from[i], &ce) < 0)
            fprintf(stderr, "nbuild: --cache-from %s: %s (not used)\n", o->cache_from[i], ce.msg);
    }
    /* RUN steps write layers while planning: what this build adds is
     * undone if it fails (but the layers RUN made, kept as cache) */
    blob_snap snap = {0};
    nr_err ign;
    bool have_snap = rc == 0 && fstat(img_store_blobs_dirfd(s), &snap.dir) == 0 &&
                     blob_names(s, &snap.names, &snap.n, &ign) == 0;
    /* The file timestamps' clock: a record written after this reads as
     * fresh (the coarse clock never runs ahead of an inode's mtime).  On a
     * filesystem with whole-second timestamps a record may read as older:
     * its step runs again, never a stale one is taken. */
    if (rc == 0 && o->jobs > 1 && o->no_cache)
        clock_gettime(CLOCK_REALTIME_COARSE, &b.fresh_since);
    if (rc == 0 && o->jobs > 1)
        rc = bld_par_prebuild(&b, err);
    if (rc == 0)
        rc = bld_plan(&b, err);
    if (rc == 0 && b.n_stages == 0)
        rc = nr_err_set(err, "%s: no FROM instruction", b.f.path);
    if (rc == 0)
        rc = write_all(&b, res, err);
    if (rc < 0 && have_snap && b.n_stages > b.target)
        undo_blobs(&b, &b.stages[b.target], snap.names, snap.n, &snap.dir);
    if (have_snap)
        names_free(snap.names, snap.n);
    /* the image is complete and tagged: a failed export fails the command, not the image */
    if (rc == 0 && o->cache_to && bld_regcache_export(&b, o->cache_to, o->cache_to_max, err) < 0)
        rc = nr_err_wrap(err, "--cache-to %s", o->cache_to);
    if (rc == 0) {
        nr_err e;
        res->files_read = bld_ctx_files_read(b.ctx);
        bld_ctx_save(b.ctx, &e); /* best effort: only costs re-hashing */
    }
    state_free(&b);
    for (size_t i = 0; i < NR_ARRAY_LEN(stops); i++)
        sigaction(stops[i], &old_sa[i], NULL);
    return rc;
}
