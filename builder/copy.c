/* COPY and ADD: planning (expansion, source selection, hashing, cache
 * lookup) and writing the layer.  Planning reads the context and the store
 * but writes nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build_int.h"
#include "builder/expand.h"
#include "builder/fetch.h"
#include "builder/ignore.h"
#include "common/util.h"
#include "images/layer.h"

/* ---- layer cache records ---- */

bool bld_cache_usable(const bld_state *b, const char *path)
{
    if (b->stage_no_cache)
        return false;
    if (!b->o->no_cache)
        return true;
    struct stat st;
    if (!b->fresh_since.tv_sec || stat(path, &st) < 0)
        return false;
    return st.st_mtim.tv_sec > b->fresh_since.tv_sec ||
           (st.st_mtim.tv_sec == b->fresh_since.tv_sec && st.st_mtim.tv_nsec >= b->fresh_since.tv_nsec);
}

bool bld_cache_get(bld_state *b, const char *key, img_layer_desc *out)
{
    cleanup_free char *p = nr_xasprintf("%s/layers/%s", b->cache_dir, key);
    if (!bld_cache_usable(b, p))
        return false;
    cleanup_free char *text = NULL;
    nr_err e;
    if (nr_read_file(AT_FDCWD, p, 65536, &text, NULL, &e) < 0)
        return false;
    json_t *j = json_loads(text, 0, NULL);
    if (!j)
        return false;
    const char *d = json_string_value(json_object_get(j, "digest"));
    const char *id = json_string_value(json_object_get(j, "diff_id"));
    const char *mt = json_string_value(json_object_get(j, "mediaType"));
    json_t *sz = json_object_get(j, "size");
    /* Hold the gc lock before trusting that the blob exists: a concurrent
     * prune could otherwise remove it before our image names it.  A store
     * whose lock cannot be taken gets no cache hit. */
    bool ok = d && id && mt && json_is_integer(sz) && json_integer_value(sz) >= 0 && img_digest_valid(d) &&
              img_digest_valid(id) && strlen(mt) < sizeof out->blob.media_type &&
              (!strcmp(mt, IMG_MT_LAYER_GZIP) || !strcmp(mt, IMG_MT_LAYER_ZSTD)) && img_store_hold(b->s, &e) == 0;
    /* a blob that is gone, or not of the recorded size (truncated,
     * replaced), is a miss: the step runs again */
    uint64_t have;
    ok = ok && img_blob_size(b->s, d, &have, &e) == 0 && have == (uint64_t)json_integer_value(sz);
    if (ok) {
        memset(out, 0, sizeof *out);
        snprintf(out->blob.digest, sizeof out->blob.digest, "%s", d);
        snprintf(out->diff_id, sizeof out->diff_id, "%s", id);
        snprintf(out->blob.media_type, sizeof out->blob.media_type, "%s", mt);
        out->blob.size = (uint64_t)json_integer_value(sz);
    }
    json_decref(j);
    return ok;
}

void bld_cache_put(bld_state *b, const char *key, const img_layer_desc *l)
{
    /* Best effort: a cache that cannot be written only costs a rebuild. */
    nr_err e;
    cleanup_free char *dir = nr_xasprintf("%s/layers", b->cache_dir);
    if (nr_mkdir_p(dir, 0700, &e) < 0)
        return;
    json_t *j = json_pack("{s:s, s:s, s:s, s:I}", "digest", l->blob.digest, "diff_id", l->diff_id, "mediaType",
                          l->blob.media_type, "size", (json_int_t)l->blob.size);
    cleanup_free char *text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(j);
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0 && text)
        nr_write_atomic(dfd, key, text, strlen(text), 0600, &e);
}

/* ---- planning ---- */

void bld_stage_pw_stale(bld_stage *st)
{
    bld_passwd_free(&st->pw);
    memset(&st->pw, 0, sizeof st->pw);
    st->pw_stale = true;
}

int bld_stage_passwd(bld_state *b, bld_stage *st, nr_err *err)
{
    if (st->pw.loaded)
        return 0;
    /* Names come from the base layers (the only ones in the store yet), or
     * after a RUN from every layer up to the last one written (a COPY
     * planned since is not written yet). */
    size_t n = st->n_base_layers;
    if (st->pw_stale)
        for (n = 0; n < st->n_layers && st->layers[n]->done; n++)
            ;
    img_layer_desc *ls = nr_xcalloc(n + 1, sizeof *ls);
    for (size_t i = 0; i < n; i++)
        ls[i] = st->layers[i]->layer;
    cleanup_free char *cf = st->base_digest[0] && !st->pw_stale
                                ? nr_xasprintf("%s/etc/%s.json", b->cache_dir, img_digest_hex(st->base_digest))
                                : NULL;
    int rc = bld_passwd_load(b->s, ls, n, cf, &st->pw, err);
    free(ls);
    return rc;
}

/* A context path as the user wrote it: relative to the context. */
static const char *shown_path(bld_state *b, const char *host)
{
    const char *d = bld_ctx_dir(b->ctx);
    size_t n = strlen(d);
    return !strncmp(host, d, n) && host[n] == '/' ? host + n + 1 : host;
}

/* ADD's archive i of sel: checked (w NULL) or unpacked into w, read
 * through an fd opened beneath its tree. */
static int archive_read(bld_state *b, img_layer_writer *w, const bld_sel *sel, size_t i, const bld_owner *o,
                        uint64_t *bytes, nr_err *err)
{
    cleanup_close int fd = bld_ctx_open_host(sel->ctx, sel->archives[i], O_RDONLY | O_NONBLOCK | O_NOCTTY, err);
    if (fd < 0)
        return -1;
    const char *shown = shown_path(b, sel->archives[i]);
    return w ? bld_archive_add(w, fd, shown, sel->archive_dest[i], o, err) : bld_archive_check(fd, shown, bytes, err);
}

static int archive_check(bld_state *b, const bld_sel *sel, size_t i, uint64_t *bytes, nr_err *err)
{
    return archive_read(b, NULL, sel, i, NULL, bytes, err);
}

/* Offset of a flag's value ("--chown=" skipped) for error columns. */
static size_t flag_value_off(const bld_flag *fl)
{
    return fl->off + 2 + strlen(fl->name) + (fl->value ? 1 : 0);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int pdir_cmp(const void *a, const void *b)
{
    return strcmp(((const bld_dir *)a)->path, ((const bld_dir *)b)->path);
}

static void pdir_add(bld_step *step, const char *path, const bld_dir *m)
{
    step->pdirs = nr_xrealloc(step->pdirs, (step->n_pdirs + 1) * sizeof *step->pdirs);
    step->pdirs[step->n_pdirs++] = (bld_dir){.path = nr_xstrdup(path), .mode = m->mode, .uid = m->uid, .gid = m->gid};
}

/* The directory entries of a step, as BuildKit makes them: a directory
 * that already exists (base image or an earlier step) keeps its mode and
 * owner; a missing parent is created 0755, owned by the --chown owner
 * (root without it); a copied directory that is missing gets its own mode
 * and the --chown owner.  Parents and existing directories go to
 * step->pdirs; the stage learns the new ones. */
static void plan_dirs(bld_state *b, bld_stage *st, bld_step *step)
{
    const bld_owner *o = &step->own;
    uid_t uid = o->chown ? o->uid : 0;
    gid_t gid = o->chown ? o->gid : 0;
    char **v = NULL;
    size_t n = 0;
    for (size_t i = 0; i < step->sel.n + step->sel.n_archives; i++) {
        bool arch = i >= step->sel.n;
        const char *d = arch ? step->sel.archive_dest[i - step->sel.n] : step->sel.items[i].dest;
        cleanup_free char *p = nr_xstrdup(d);
        if (!arch) {
            char *sl = strrchr(p, '/');
            if (!sl)
                continue;
            *sl = '\0';
        }
        while (*p && strcmp(p, "/")) {
            v = nr_xrealloc(v, (n + 1) * sizeof *v);
            v[n++] = nr_xstrdup(p);
            char *sl = strrchr(p, '/');
            if (!sl)
                break;
            *sl = '\0';
        }
    }
    if (n > 1)
        qsort(v, n, sizeof *v, str_cmp);
    for (size_t i = 0; i < n; i++) {
        bool skip = i > 0 && !strcmp(v[i], v[i - 1]);
        for (size_t k = 0; !skip && k < step->sel.n; k++)
            skip = !strcmp(step->sel.items[k].dest, v[i]);
        if (skip)
            continue;
        bld_dir m;
        if (!bld_stage_dir(b, st, v[i], &m)) {
            m = (bld_dir){.mode = 0755, .uid = uid, .gid = gid};
            bld_stage_set_dir(st, v[i], m.mode, m.uid, m.gid);
        }
        pdir_add(step, v[i], &m);
    }
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    for (size_t i = 0; i < step->sel.n; i++) {
        const bld_item *it = &step->sel.items[i];
        bld_dir m;
        if (it->type == IMG_ENT_SYMLINK) { /* a later destination through it resolves */
            bld_stage_set_link(st, it->dest, it->link);
            continue;
        }
        if (it->type != IMG_ENT_DIR || !strcmp(it->dest, "/"))
            continue; /* `COPY dir/ /`: the root itself is never a layer entry */
        if (bld_stage_dir(b, st, it->dest, &m))
            pdir_add(step, it->dest, &m);
        else
            bld_stage_set_dir(st, it->dest, bld_owner_mode(o, it->mode, true), o->chown || !it->owned ? uid : it->uid,
                              o->chown || !it->owned ? gid : it->gid);
    }
    if (step->n_pdirs > 1)
        qsort(step->pdirs, step->n_pdirs, sizeof *step->pdirs, pdir_cmp);
}

/* A heredoc source (`COPY <<EOF /dest`): a file of mode 0644 (before
 * --chmod) whose content is the body, variables expanded unless the
 * delimiter was quoted, as BuildKit does (quotes stay as written, the
 * escape character quotes the next one).  Its digest is its content's. */
static int add_inline(bld_state *b, bld_stage *st, const bld_instr *in, const bld_heredoc *h, const char *dest,
                      bool dest_dir, bld_sel *sel, nr_err *err)
{
    char *data;
    if (h->expand) {
        nr_buf q = {0};
        for (const char *p = h->data; *p; p++) {
            if (*p == '\'' || *p == '"')
                nr_buf_add(&q, "\\", 1);
            nr_buf_add(&q, p, 1);
        }
        nr_buf_add(&q, "", 1);
        size_t pos = 0;
        int r = bld_expand(q.data, '\\', bld_lookup, st, &data, &pos, err);
        nr_buf_free(&q);
        if (r < 0)
            return bld_errat(err, &b->f, in, h->off, "%s: heredoc %s: %s", in->name, h->name, err->msg);
    } else {
        data = nr_xstrdup(h->data);
    }
    bld_item it = {.type = IMG_ENT_FILE, .mode = 0644, .data = data, .data_len = strlen(data)};
    it.size = it.data_len;
    it.dest = dest_dir ? bld_path_join(dest, h->name) : nr_xstrdup(dest);
    nr_sha256_hex(data, it.data_len, it.sha);
    sel->items = nr_xrealloc(sel->items, (sel->n + 1) * sizeof *sel->items);
    sel->items[sel->n++] = it;
    return 0;
}

/* ADD <url>: an http(s) source, downloaded rather than read from the context. */
static bool is_url(const char *w)
{
    return !strncasecmp(w, "http://", 7) || !strncasecmp(w, "https://", 8);
}

/* A git repository as BuildKit's ADD reads one (git@host:path, git://,
 * ssh://, or an http(s) URL whose path ends in .git, each with an optional
 * #ref): nbuild does not clone, and must not fetch the URL as a file. */
static bool is_git_ref(const char *w)
{
    if (!strncmp(w, "git@", 4) || !strncasecmp(w, "git://", 6) || !strncasecmp(w, "ssh://", 6))
        return true;
    if (!is_url(w))
        return false;
    size_t n = strcspn(w, "#?");
    return n >= 4 && !strncasecmp(w + n - 4, ".git", 4);
}

#define ADD_URL_MAX (2ull << 30) /* a download larger than this is refused */

/* A URL source as an item: the file's name is the last component of the
 * URL's path (for a directory destination), mode 0600 as Docker gives it.
 * Without a checksum it is downloaded now and known by its content; with
 * one (want) the checksum stands for the content and the download waits
 * for a cache miss (fetch_pending). */
static int add_url(bld_state *b, const bld_instr *in, size_t off, const char *url, const char *want, const char *dest,
                   bool dest_dir, bld_sel *sel, nr_err *err)
{
    bld_item it = {.type = IMG_ENT_FILE, .mode = 0600};
    if (dest_dir) {
        const char *path = strchr(strstr(url, "://") + 3, '/');
        size_t len = path ? strcspn(path, "?#") : 0;
        cleanup_free char *pp = nr_xstrndup(path ? path : "", len);
        const char *base = strrchr(pp, '/');
        base = base ? base + 1 : pp;
        if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
            return bld_errat(err, &b->f, in, off, "ADD %s: the URL names no file: give a destination file name", url);
        it.dest = bld_path_join(dest, base);
    } else {
        it.dest = nr_xstrdup(dest);
    }
    if (want) {
        memcpy(it.sha, want, 65);
        it.link = nr_xasprintf("url %s", url); /* the source stays part of the key; cleared before writing */
    } else {
        cleanup_free char *dir = nr_xasprintf("%s/downloads", b->cache_dir);
        if (bld_fetch_url(url, dir, ADD_URL_MAX, NULL, &it.host, &it.size, it.sha, err) < 0) {
            free(it.dest);
            return bld_errat(err, &b->f, in, off, "ADD: %s", err->msg);
        }
        b->downloads = nr_xrealloc(b->downloads, (b->n_downloads + 1) * sizeof *b->downloads);
        b->downloads[b->n_downloads++] = nr_xstrdup(it.host);
    }
    sel->items = nr_xrealloc(sel->items, (sel->n + 1) * sizeof *sel->items);
    sel->items[sel->n++] = it;
    return 0;
}

/* On a cache miss: the downloads a checksum stood for, verified. */
static int fetch_pending(bld_state *b, const bld_instr *in, bld_sel *sel, nr_err *err)
{
    for (size_t i = 0; i < sel->n; i++) {
        bld_item *it = &sel->items[i];
        if (it->type != IMG_ENT_FILE || !it->link || strncmp(it->link, "url ", 4))
            continue;
        cleanup_free char *dir = nr_xasprintf("%s/downloads", b->cache_dir);
        char got[65];
        if (bld_fetch_url(it->link + 4, dir, ADD_URL_MAX, it->sha, &it->host, &it->size, got, err) < 0)
            return bld_errat(err, &b->f, in, in->args[0].off, "ADD: %s", err->msg);
        b->downloads = nr_xrealloc(b->downloads, (b->n_downloads + 1) * sizeof *b->downloads);
        b->downloads[b->n_downloads++] = nr_xstrdup(it->host);
        free(it->link);
        it->link = NULL;
    }
    return 0;
}

static void ignore_freep(bld_ignore **p)
{
    bld_ignore_free(*p);
}
#define cleanup_ignore __attribute__((cleanup(ignore_freep)))

/* COPY/ADD --exclude=PATTERN (any number): the patterns, expanded, as one
 * .dockerignore text; part of the step's text, so of its cache key. */
static int exclude_parse(bld_state *b, bld_stage *st, const bld_instr *in, nr_buf *text, bld_ignore **out,
                         nr_err *err)
{
    nr_buf pats = {0};
    for (size_t i = 0; i < in->nflags; i++) {
        const bld_flag *fl = &in->flags[i];
        if (strcmp(fl->name, "exclude"))
            continue;
        bld_word w = {.s = fl->value ? fl->value : "", .off = flag_value_off(fl)};
        cleanup_free char *v = NULL;
        if (bld_expand_word(b, st, in, &w, &v, err) < 0) {
            free(pats.data);
            return -1;
        }
        /* one pattern a line: a blank one or a '#' (a comment there) would
         * silently mean nothing */
        if (!*v || v[0] == '#' || strpbrk(v, "\n\r")) {
            free(pats.data);
            return bld_errat(err, &b->f, in, fl->off, "%s --exclude: bad pattern \"%s\"", in->name, v);
        }
        nr_buf_addf(&pats, "%s\n", v);
        nr_buf_addf(text, " --exclude=%s", v);
    }
    if (!pats.len)
        return 0;
    nr_buf_add(&pats, "", 1);
    int rc = bld_ignore_parse("--exclude", pats.data, out, err);
    free(pats.data);
    if (rc < 0)
        return bld_errat(err, &b->f, in, in->kw_off, "%s", err->msg);
    return 0;
}

int bld_copy_plan(bld_state *b, bld_stage *st, const bld_instr *in, nr_err *err)
{
    bool is_add = in->kind == BLD_ADD;
    const bld_flag *fl;
    /* COPY --from: the sources are in an earlier stage or an image, whose
     * identity (its chain, its manifest digest) stands for their content */
    bld_ctx *sctx = b->ctx;
    bld_stage *from_stage = NULL;
    img_image *from_img = NULL;
    cleanup_free char *from = NULL;
    const bld_flag *from_fl = bld_instr_flag(in, "from");
    if ((fl = from_fl)) {
        bld_word w = {.s = fl->value ? fl->value : "", .off = flag_value_off(fl)};
        if (bld_expand_word(b, st, in, &w, &from, err) < 0)
            return -1;
        bld_from fr;
        if (bld_from_resolve(b, in, fl->off, "COPY --from", from, (size_t)(st - b->stages), &fr, err) < 0)
            return -1;
        from_stage = fr.stage;
        from_img = fr.img;
        if (fr.dir)
            sctx = fr.dir; /* a second context: read as the main one is, its files' digests the key */
    }
    /* ADD --checksum=sha256:HEX: what a URL's download must be */
    char want[65] = "";
    const bld_flag *ck_fl = bld_instr_flag(in, "checksum");
    if ((fl = ck_fl)) {
        bld_word w = {.s = fl->value ? fl->value : "", .off = flag_value_off(fl)};
        cleanup_free char *v = NULL;
        if (bld_expand_word(b, st, in, &w, &v, err) < 0)
            return -1;
        size_t hl = strlen(v) > 7 ? strlen(v) - 7 : 0;
        if (strncmp(v, "sha256:", 7) || hl != 64 || strspn(v + 7, "0123456789abcdef") != 64)
            return bld_errat(err, &b->f, in, w.off, "ADD --checksum=%s: want sha256: and 64 lowercase hex digits", v);
        memcpy(want, v + 7, 65);
        if (from_fl)
            return bld_errat(err, &b->f, in, fl->off, "ADD --checksum applies to URLs, not to --from");
    }
    nr_buf text = {0};
    cleanup_ignore bld_ignore *excl = NULL;
    nr_buf_addstr(&text, in->name);
    if (from)
        nr_buf_addf(&text, " --from=%s", from);
    bld_owner own = {0};
    if ((fl = bld_instr_flag(in, "chown"))) {
        bld_word w = {.s = fl->value ? fl->value : "", .off = flag_value_off(fl)};
        cleanup_free char *spec = NULL;
        if (bld_expand_word(b, st, in, &w, &spec, err) < 0)
            goto fail;
        if (bld_chown_needs_names(spec) && bld_stage_passwd(b, st, err) < 0) {
            bld_errat(err, &b->f, in, fl->off, "--chown: reading /etc/passwd of the base image: %s", err->msg);
            goto fail;
        }
        if (bld_chown_resolve(spec, &st->pw, &own.uid, &own.gid, err) < 0) {
            bld_errat(err, &b->f, in, fl->off, "%s", err->msg);
            goto fail;
        }
        own.chown = true;
        nr_buf_addf(&text, " --chown=%u:%u", (unsigned)own.uid, (unsigned)own.gid);
    }
    if ((fl = bld_instr_flag(in, "chmod"))) {
        bld_word w = {.s = fl->value ? fl->value : "", .off = flag_value_off(fl)};
        cleanup_free char *m = NULL;
        if (bld_expand_word(b, st, in, &w, &m, err) < 0)
            goto fail;
        if (bld_chmod_parse(m, &own) < 0) {
            cleanup_free char *shown = nr_escape_controls(m);
            bld_errat(err, &b->f, in, fl->off, "invalid --chmod \"%s\" (want octal like 0644, or symbolic like u+x,go=rX)",
                      shown);
            goto fail;
        }
        own.chmod = true;
        if (own.nops)
            nr_buf_addf(&text, " --chmod=%s", m);
        else
            nr_buf_addf(&text, " --chmod=%04o", (unsigned)own.mode);
    }
    if (exclude_parse(b, st, in, &text, &excl, err) < 0)
        goto fail;
    bool parents = false;
    if ((fl = bld_instr_flag(in, "parents"))) {
        if (fl->value && strcmp(fl->value, "true") && strcmp(fl->value, "false")) {
            bld_errat(err, &b->f, in, fl->off, "COPY --parents=%s: want true or false", fl->value);
            goto fail;
        }
        parents = !fl->value || !strcmp(fl->value, "true");
        if (parents)
            nr_buf_addstr(&text, " --parents");
    }
    size_t n = in->nargs;
    char **words = nr_xcalloc(n, sizeof *words);
    int rc = 0;
    size_t n_inline = 0, n_url = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i + 1 < n && bld_instr_heredoc(in, in->args[i].off)) {
            words[i] = nr_xstrdup(in->args[i].s); /* `<<EOF`: its content is the source */
            n_inline++;
            if (from)
                rc = bld_errat(err, &b->f, in, in->args[i].off, "%s --from cannot copy a heredoc", in->name);
            continue;
        }
        rc = bld_expand_word(b, st, in, &in->args[i], &words[i], err);
        if (rc == 0 && i + 1 < n && is_add && is_git_ref(words[i])) {
            cleanup_free char *shown = nr_escape_controls(words[i]);
            rc = bld_errat(err, &b->f, in, in->args[i].off,
                           "ADD %s: git repositories are not fetched by nbuild (clone it into the build context)",
                           shown);
        }
        if (rc == 0 && i + 1 < n && is_url(words[i])) {
            if (!is_add)
                rc = bld_errat(err, &b->f, in, in->args[i].off, "COPY cannot download a URL: use ADD");
            else if (from)
                rc = bld_errat(err, &b->f, in, in->args[i].off, "ADD --from cannot download a URL");
            else if (b->o->network && !strcmp(b->o->network, "none"))
                /* the download is nbuild's own, on the host's network: under
                 * --network none it would reach what no RUN step may (the
                 * host's 127.0.0.1 services, a cloud's metadata address) */
                rc = bld_errat(err, &b->f, in, in->args[i].off,
                               "ADD <url>: this build runs with nbuild --network none: nothing is downloaded");
            n_url++;
        }
    }
    if (rc == 0 && ck_fl && n_url != 1)
        rc = bld_errat(err, &b->f, in, ck_fl->off, "ADD --checksum applies to one URL source (this ADD has %zu)", n_url);
    if (rc == 0) {
        const char *d = words[n - 1];
        size_t dl = strlen(d);
        bool dest_dir = dl == 0 || d[dl - 1] == '/' || !strcmp(d, ".") || (dl >= 2 && !strcmp(d + dl - 2, "/."));
        const char *wd = json_string_value(json_object_get(st->config, "WorkingDir"));
        cleanup_free char *dest0 = d[0] == '/' ? bld_path_clean(d) : bld_path_join(wd && *wd ? wd : "/", d);
        /* inside the image, as BuildKit resolves it: COPY x /bin/ on a
         * usrmerged base writes /usr/bin/x and /bin stays the symlink */
        cleanup_free char *dest = bld_stage_resolve(b, st, dest0);
        /* Docker: an existing directory is a directory destination. */
        if (!dest_dir && bld_stage_is_dir(b, st, dest))
            dest_dir = true;
        for (size_t i = 0; i + 1 < n; i++)
            nr_buf_addf(&text, " %s", words[i]);
        nr_buf_addf(&text, " %s", d);
        bld_step *step = nr_xcalloc(1, sizeof *step);
        step->own = own;
        size_t bad = 0;
        /* --from: the key needs no file of the source; only a miss reads them */
        char from_key[65] = "";
        bool from_tree = from_stage || from_img; /* else the main or a named directory context */
        if (from_tree) {
            /* "owners": earlier versions gave every file root's owner */
            cleanup_free char *fk = nr_xasprintf("%s %s dest=%s dirs3 owners", text.data,
                                                 from_stage ? from_stage->chain : from_img->manifest.digest, dest);
            nr_sha256_hex(fk, strlen(fk), from_key);
            char key[65];
            bld_stage probe = *st;
            bld_chain_add(&probe, from_key);
            memcpy(key, probe.chain, 65);
            img_layer_desc l;
            if (bld_cache_get(b, key, &l)) {
                bld_chain_add(st, from_key);
                memcpy(step->key, key, 65);
                step->layer = l;
                step->cached = step->done = true;
                step->text = nr_xstrdup(text.data);
                st->layers = nr_xrealloc(st->layers, (st->n_layers + 1) * sizeof *st->layers);
                st->layers[st->n_layers++] = step;
                b->steps = nr_xrealloc(b->steps, (b->n_steps + 1) * sizeof *b->steps);
                b->steps[b->n_steps++] = step;
                bld_hist_add(st, text.data, false);
                goto done;
            }
            if ((from_stage ? bld_tree_stage(b, from_stage, &sctx, err) : bld_tree_image(b, from_img, &sctx, err)) < 0) {
                rc = bld_errat(err, &b->f, in, from_fl->off, "COPY --from=%s: %s", from, err->msg);
                free(step);
                goto done;
            }
        }
        /* a stage's or image's paths are from its root: relative to the tree */
        for (size_t i = 0; from && i + 1 < n; i++) {
            const char *r = words[i] + strspn(words[i], "/");
            char *t = nr_xstrdup(*r ? r : ".");
            free(words[i]);
            words[i] = t;
        }
        /* the context's sources; the heredocs are inline data */
        char **csrc = nr_xcalloc(n, sizeof *csrc);
        size_t *cidx = nr_xcalloc(n, sizeof *cidx), nc = 0;
        for (size_t i = 0; i + 1 < n; i++)
            if (!bld_instr_heredoc(in, in->args[i].off) && !(is_add && is_url(words[i]))) {
                cidx[nc] = i;
                csrc[nc++] = words[i];
            }
        bld_ctx_set_exclude(sctx, excl);
        bld_ctx_set_parents(sctx, parents);
        int sr = bld_ctx_select_inline(sctx, csrc, nc, n_inline + n_url, dest, dest_dir, is_add, &step->sel, &bad, err);
        bld_ctx_set_exclude(sctx, NULL);
        bld_ctx_set_parents(sctx, false);
        if (sr < 0) {
            size_t ai = bad < nc ? cidx[bad] : n - 1;
            /* a stage's or image's tree: name it, not the context */
            rc = bld_errat(err, &b->f, in, in->args[ai].off, "%s%s%s: %s", in->name, from ? " --from=" : "",
                           from ? from : "", err->msg);
        } else {
            for (size_t i = 0; i + 1 < n && rc == 0; i++) {
                const bld_heredoc *h = bld_instr_heredoc(in, in->args[i].off);
                if (h)
                    rc = add_inline(b, st, in, h, dest, dest_dir, &step->sel, err);
                else if (is_add && is_url(words[i]))
                    rc = add_url(b, in, in->args[i].off, words[i], *want ? want : NULL, dest, dest_dir, &step->sel,
                                 err);
            }
            for (size_t i = 0; i < step->sel.n_archives && rc == 0; i++) {
                uint64_t bytes = 0;
                if (archive_check(b, &step->sel, i, &bytes, err) < 0)
                    rc = bld_errat(err, &b->f, in, in->args[0].off, "%s", err->msg);
                step->max_bytes += bytes;
            }
            /* tar headers (a long name can take a PAX header too) + data in 512 blocks. */
            for (size_t i = 0; i < step->sel.n; i++)
                step->max_bytes += 1536 + (step->sel.items[i].size + 511) / 512 * 512;
            step->max_bytes += 4096 * (step->sel.n + 1);
        }
        free(csrc);
        free(cidx);
        char digest[65];
        if (rc == 0 && from_tree)
            memcpy(digest, from_key, sizeof digest);
        else if (rc == 0 && bld_sel_digest(sctx, &step->sel, digest, err) < 0)
            rc = bld_errat(err, &b->f, in, in->args[0].off, "%s: %s", in->name, err->msg);
        if (rc < 0) {
            bld_sel_free(&step->sel);
            free(step);
        } else {
            plan_dirs(b, st, step);
            step->text = nr_xstrdup(text.data);
            /* "dirs3": layers of earlier versions wrote parents as root 0755 (dirs2: also
             * those a RUN taken from the cache had made) */
            /* "archive-owners": earlier versions applied --chown/--chmod to an
             * archive's entries */
            bool arch_own = step->sel.n_archives && (own.chown || own.chmod);
            cleanup_free char *ck = from_tree ? nr_xstrdup(digest)
                                              : nr_xasprintf("%s %s dirs3%s", text.data, digest,
                                                             arch_own ? " archive-owners" : "");
            bld_chain_add(st, ck);
            if (!step->sel.n && !step->sel.n_archives && !step->n_pdirs) {
                /* wildcards that matched nothing: no change, as a RUN that
                 * changed nothing (empty_layer) */
                bld_sel_free(&step->sel);
                free(step->text);
                free(step);
                bld_hist_add(st, text.data, true);
                goto done;
            }
            memcpy(step->key, st->chain, 65);
            step->cached = step->done = bld_cache_get(b, step->key, &step->layer);
            if (!step->cached && n_url && fetch_pending(b, in, &step->sel, err) < 0) {
                bld_sel_free(&step->sel);
                bld_dirs_free(step->pdirs, step->n_pdirs);
                free(step->text);
                free(step);
                rc = -1;
                goto done;
            }
            st->layers = nr_xrealloc(st->layers, (st->n_layers + 1) * sizeof *st->layers);
            st->layers[st->n_layers++] = step;
            b->steps = nr_xrealloc(b->steps, (b->n_steps + 1) * sizeof *b->steps);
            b->steps[b->n_steps++] = step;
            bld_hist_add(st, text.data, false);
        }
    }
done:
    for (size_t i = 0; i < n; i++)
        free(words[i]);
    free(words);
    nr_buf_free(&text);
    img_image_free(from_img);
    return rc;
fail:
    nr_buf_free(&text);
    img_image_free(from_img);
    return -1;
}

/* WORKDIR of a directory that does not exist yet: Docker creates it (0755,
 * with its missing parents, owned by the current USER as BuildKit does), so
 * the image has it even when nothing is copied into it.  That is a layer of
 * its own, cached like a COPY. */
int bld_mkdir_plan(bld_state *b, bld_stage *st, const char *path, const char *text, uid_t uid, gid_t gid)
{
    bld_step *step = nr_xcalloc(1, sizeof *step);
    step->own = (bld_owner){.chown = uid || gid, .uid = uid, .gid = gid};
    bld_item it = {.dest = nr_xstrdup(path), .type = IMG_ENT_DIR, .mode = 0755};
    step->sel.items = nr_xmalloc(sizeof *step->sel.items);
    step->sel.items[0] = it;
    step->sel.n = 1;
    step->max_bytes = 4096 * 8;
    step->text = nr_xstrdup(text);
    /* a path the text does not end with was resolved through a symlink of
     * the base (WORKDIR /var/run/app makes /run/app): it is in the key */
    size_t tl = strlen(text), pl = strlen(path);
    bool as_written = tl >= pl && !strcmp(text + tl - pl, path);
    cleanup_free char *ck = as_written ? nr_xasprintf("%s dirs3", text) : nr_xasprintf("%s dirs3 at=%s", text, path);
    bld_chain_add(st, ck);
    memcpy(step->key, st->chain, 65);
    step->cached = step->done = bld_cache_get(b, step->key, &step->layer);
    st->layers = nr_xrealloc(st->layers, (st->n_layers + 1) * sizeof *st->layers);
    st->layers[st->n_layers++] = step;
    b->steps = nr_xrealloc(b->steps, (b->n_steps + 1) * sizeof *b->steps);
    b->steps[b->n_steps++] = step;
    bld_hist_add(st, text, false);
    plan_dirs(b, st, step);
    return 0;
}

/* ---- writing ---- */

static bool is_pdir(const bld_step *step, const char *path)
{
    bld_dir key = {.path = (char *)path};
    return step->n_pdirs && bsearch(&key, step->pdirs, step->n_pdirs, sizeof key, pdir_cmp);
}

/* A file of the context or of a tree: the layer writer opens it at commit
 * from the tree's fd with no symlink in its path, not by its host path. */
static int add_tree_file(img_layer_writer *w, const bld_sel *sel, const bld_item *it, mode_t mode, uid_t uid, gid_t gid,
                         nr_err *err)
{
    const char *rel = bld_ctx_rel(sel->ctx, it->host);
    if (!rel)
        return nr_err_set(err, "%s is not in the build context", it->host);
    return img_layer_add_file_at(w, it->dest, bld_ctx_fd(sel->ctx), rel, it->size, mode, uid, gid, err);
}

int bld_step_write(bld_state *b, bld_step *step, nr_err *err)
{
    if (step->done)
        return 0;
    img_layer_writer *w;
    if (img_layer_writer_new(b->s, b->o->compress, -1, &w, err) < 0)
        return -1;
    img_layer_writer_set_stop(w, &bld_stop_sig);
    int rc = 0;
    for (size_t i = 0; i < step->n_pdirs && rc == 0; i++) {
        const bld_dir *d = &step->pdirs[i];
        rc = img_layer_add_dir(w, d->path, d->mode, d->uid, d->gid, err);
    }
    const bld_owner *o = &step->own;
    uid_t step_uid = o->chown ? o->uid : 0;
    gid_t step_gid = o->chown ? o->gid : 0;
    for (size_t i = 0; i < step->sel.n && rc == 0; i++) {
        const bld_item *it = &step->sel.items[i];
        mode_t mode = bld_owner_mode(o, it->mode, it->type == IMG_ENT_DIR);
        if (it->type == IMG_ENT_DIR && !strcmp(it->dest, "/"))
            continue;
        uid_t uid = o->chown || !it->owned ? step_uid : it->uid;
        gid_t gid = o->chown || !it->owned ? step_gid : it->gid;
        if (it->type == IMG_ENT_FILE && it->data)
            rc = img_layer_add_data(w, it->dest, it->data, it->data_len, mode, uid, gid, err);
        else if (it->type == IMG_ENT_FILE && it->in_tree)
            rc = add_tree_file(w, &step->sel, it, mode, uid, gid, err);
        else if (it->type == IMG_ENT_FILE) /* an ADD <url> download in the build cache */
            rc = img_layer_add_file(w, it->dest, it->host, it->size, mode, uid, gid, err);
        else if (it->type == IMG_ENT_DIR && is_pdir(step, it->dest))
            continue; /* exists below: written with its metadata above */
        else if (it->type == IMG_ENT_DIR)
            rc = img_layer_add_dir(w, it->dest, mode, uid, gid, err);
        else if (it->type == IMG_ENT_FIFO)
            rc = img_layer_add(w, &(img_layer_entry){.type = IMG_ENT_FIFO, .path = it->dest, .mode = mode,
                                                     .uid = uid, .gid = gid}, err);
        else
            rc = img_layer_add_symlink(w, it->dest, it->link, uid, gid, err);
    }
    /* an unpacked archive keeps its entries' owners and modes: BuildKit's
     * --chown and --chmod apply to what ADD copies, and only --chown to the
     * destination directory it creates for an archive */
    static const bld_owner as_archived = {0};
    for (size_t i = 0; i < step->sel.n_archives && rc == 0; i++)
        rc = archive_read(b, w, &step->sel, i, &as_archived, NULL, err);
    if (rc < 0) {
        img_layer_writer_abort(w);
        return -1;
    }
    if (img_layer_writer_commit_desc(w, &step->layer, err) < 0)
        return bld_stop_sig ? bld_interrupted(err) : -1;
    step->done = true;
    return 0;
}
