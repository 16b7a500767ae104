/* Directories known in a stage, with their metadata (mode, owner):
 *  - for Docker's rule that a COPY destination naming an existing directory
 *    copies into it even without a trailing '/';
 *  - for the parents of what a COPY/ADD writes: a directory that exists
 *    below keeps its mode and owner (/tmp stays 1777, a home stays its
 *    user's); only missing ones are created.
 * Directories made by this build are recorded as steps are planned; those
 * of the base image are listed once from its layers (later layers win,
 * whiteouts remove) and the list is kept in <cache>/dirs/<manifest hex>.v3,
 * one "mode uid gid path" line each, then the base's symlinks as "@path"
 * and "target" lines (only read when needed).
 *  - the base's symlinks resolve a COPY or WORKDIR destination inside the
 *    image as BuildKit does (continuity's RootPath): on a usrmerged Debian,
 *    COPY x /bin/ writes /usr/bin/x, and /bin stays the symlink. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "builder/build_int.h"
#include "common/util.h"

void bld_dirs_free(bld_dir *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].path);
    free(v);
}

void bld_links_free(bld_link *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].path);
        free(v[i].target);
    }
    free(v);
}

/* Forget a symlink this build made at p (a directory or another link replaces it). */
static void unset_link(bld_stage *st, const char *p)
{
    for (size_t i = 0; i < st->n_links; i++) {
        if (!strcmp(st->links[i].path, p)) {
            free(st->links[i].path);
            free(st->links[i].target);
            st->links[i] = st->links[--st->n_links];
            return;
        }
    }
}

void bld_stage_set_link(bld_stage *st, const char *path, const char *target)
{
    cleanup_free char *p = bld_path_clean(path);
    unset_link(st, p);
    for (size_t i = 0; i < st->n_dirs; i++) {
        if (!strcmp(st->dirs[i].path, p)) {
            free(st->dirs[i].path);
            st->dirs[i] = st->dirs[--st->n_dirs];
            break;
        }
    }
    st->links = nr_xrealloc(st->links, (st->n_links + 1) * sizeof *st->links);
    st->links[st->n_links++] = (bld_link){.path = steal_ptr(&p), .target = nr_xstrdup(target)};
}

void bld_stage_set_dir(bld_stage *st, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
    cleanup_free char *p = bld_path_clean(path);
    unset_link(st, p);
    for (size_t i = 0; i < st->n_dirs; i++) {
        if (!strcmp(st->dirs[i].path, p)) {
            st->dirs[i].mode = mode & 07777;
            st->dirs[i].uid = uid;
            st->dirs[i].gid = gid;
            return;
        }
    }
    st->dirs = nr_xrealloc(st->dirs, (st->n_dirs + 1) * sizeof *st->dirs);
    st->dirs[st->n_dirs++] = (bld_dir){.path = steal_ptr(&p), .mode = mode & 07777, .uid = uid, .gid = gid};
}

/* ---- the base image's directories ---- */

enum { K_IMPLICIT, K_DIR, K_NONDIR, K_GONE, K_LINK };

typedef struct scan_ent {
    char *path;
    char *target; /* K_LINK */
    size_t seq;
    int kind;
    mode_t mode;
    uid_t uid;
    gid_t gid;
} scan_ent;

typedef struct scan {
    scan_ent *v;
    size_t n, cap, seq;
} scan;

static scan_ent *scan_add(scan *sc, char *path, int kind, mode_t mode, uid_t uid, gid_t gid)
{
    if (sc->n == sc->cap) { /* a base has tens of thousands of entries: grow geometrically */
        sc->cap = sc->cap ? 2 * sc->cap : 1024;
        sc->v = nr_xrealloc(sc->v, sc->cap * sizeof *sc->v);
    }
    sc->v[sc->n] = (scan_ent){.path = path, .seq = sc->seq++, .kind = kind, .mode = mode, .uid = uid, .gid = gid};
    return &sc->v[sc->n++];
}

/* A symlink of the base; one whose target holds a newline is not kept (the
 * list is line-based): it is then only "not a directory". */
static void scan_link(scan *sc, char *path, const char *target)
{
    if (!target || !*target || strchr(target, '\n')) {
        scan_add(sc, path, K_NONDIR, 0, 0, 0);
        return;
    }
    scan_add(sc, path, K_LINK, 0, 0, 0)->target = nr_xstrdup(target);
}

/* The parents of `p` (absolute, cleaned), as implicit directories. */
static void scan_parents(scan *sc, const char *p)
{
    cleanup_free char *q = nr_xstrdup(p);
    char *sl;
    while ((sl = strrchr(q, '/')) && sl != q) {
        *sl = '\0';
        scan_add(sc, nr_xstrdup(q), K_IMPLICIT, 0755, 0, 0);
    }
}

static int ent_cmp(const void *a, const void *b)
{
    const scan_ent *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int dir_cmp(const void *a, const void *b)
{
    return strcmp(((const bld_dir *)a)->path, ((const bld_dir *)b)->path);
}

static void scan_entry(scan *sc, struct archive_entry *e)
{
    const char *nm = archive_entry_pathname(e);
    if (!nm || strchr(nm, '\n'))
        return;
    char *p = bld_path_join("/", nm);
    if (!strcmp(p, "/")) {
        free(p);
        return;
    }
    scan_parents(sc, p);
    const char *base = strrchr(p, '/') + 1;
    if (!strcmp(base, ".wh..wh..opq")) {
        free(p); /* the directory stays (its parents were added) */
    } else if (!strncmp(base, ".wh.", 4)) {
        memmove((char *)base, base + 4, strlen(base + 4) + 1);
        scan_add(sc, p, K_GONE, 0, 0, 0);
    } else if (archive_entry_filetype(e) == AE_IFDIR) {
        scan_add(sc, p, K_DIR, archive_entry_perm(e) & 07777, (uid_t)archive_entry_uid(e),
                 (gid_t)archive_entry_gid(e));
    } else if (archive_entry_filetype(e) == AE_IFLNK) {
        scan_link(sc, p, archive_entry_symlink(e));
    } else {
        scan_add(sc, p, K_NONDIR, 0, 0, 0);
    }
}

/* Resolve the scan: per path, the last explicit entry decides (a directory
 * with its metadata, or not a directory); an implicit parent seen after a
 * removal makes it a directory again (0755 root, what extractors create). */
static void scan_resolve(scan *sc, bld_dir **out, size_t *n_out, bld_link **lout, size_t *n_lout)
{
    if (sc->n > 1)
        qsort(sc->v, sc->n, sizeof *sc->v, ent_cmp);
    *out = NULL;
    *n_out = 0;
    *lout = NULL;
    *n_lout = 0;
    for (size_t i = 0; i < sc->n;) {
        size_t j = i;
        const scan_ent *last = NULL;
        bool implicit_after = false;
        for (; j < sc->n && !strcmp(sc->v[j].path, sc->v[i].path); j++) {
            if (sc->v[j].kind == K_IMPLICIT) {
                implicit_after = true;
            } else {
                last = &sc->v[j];
                implicit_after = false;
            }
        }
        bld_dir d = {.mode = 0755};
        bool is_dir = true;
        if (last && last->kind == K_DIR)
            d = (bld_dir){.mode = last->mode, .uid = last->uid, .gid = last->gid};
        else if (last)
            is_dir = implicit_after;
        if (is_dir) {
            d.path = nr_xstrdup(sc->v[i].path);
            *out = nr_xrealloc(*out, (*n_out + 1) * sizeof **out);
            (*out)[(*n_out)++] = d;
        } else if (last->kind == K_LINK) {
            *lout = nr_xrealloc(*lout, (*n_lout + 1) * sizeof **lout);
            (*lout)[(*n_lout)++] = (bld_link){.path = nr_xstrdup(sc->v[i].path), .target = nr_xstrdup(last->target)};
        }
        i = j;
    }
    for (size_t i = 0; i < sc->n; i++) {
        free(sc->v[i].path);
        free(sc->v[i].target);
    }
    free(sc->v);
}

/* The same scan from a layer already unpacked in the store (layers/<hex>/,
 * overlay whiteouts as 0/0 char devices): a walk of its directories, far
 * cheaper than decompressing the blob again. */
static int scan_unpacked(scan *sc, int dfd, const char *prefix, int depth, nr_err *err)
{
    if (depth > 256)
        return nr_err_set(err, "%s: more than 256 levels of directories", prefix);
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return nr_err_sys(err, errno, "read layer directory %s", prefix);
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || strchr(e->d_name, '\n'))
            continue;
        if (e->d_type == DT_LNK) {
            char t[PATH_MAX];
            ssize_t tl = readlinkat(dirfd(d), e->d_name, t, sizeof t - 1);
            t[tl > 0 ? tl : 0] = '\0';
            scan_link(sc, nr_xasprintf("%s/%s", strcmp(prefix, "/") ? prefix : "", e->d_name), t);
            continue;
        }
        if (e->d_type == DT_REG || e->d_type == DT_FIFO || e->d_type == DT_SOCK) {
            /* no stat for what cannot be a directory or a whiteout: most of a base's entries */
            scan_add(sc, nr_xasprintf("%s/%s", strcmp(prefix, "/") ? prefix : "", e->d_name), K_NONDIR, 0, 0, 0);
            continue;
        }
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            rc = nr_err_sys(err, errno, "stat %s/%s", prefix, e->d_name);
            break;
        }
        char *p = nr_xasprintf("%s/%s", strcmp(prefix, "/") ? prefix : "", e->d_name);
        if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0) {
            scan_add(sc, p, K_GONE, 0, 0, 0);
        } else if (S_ISLNK(st.st_mode)) {
            char t[PATH_MAX];
            ssize_t tl = readlinkat(dirfd(d), e->d_name, t, sizeof t - 1);
            t[tl > 0 ? tl : 0] = '\0';
            scan_link(sc, p, t);
        } else if (S_ISDIR(st.st_mode)) {
            scan_add(sc, p, K_DIR, st.st_mode & 07777, st.st_uid, st.st_gid);
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            rc = sub < 0 ? nr_err_sys(err, errno, "open %s", p) : scan_unpacked(sc, sub, p, depth + 1, err);
            if (sub >= 0)
                close(sub);
        } else {
            scan_add(sc, p, K_NONDIR, 0, 0, 0);
        }
    }
    closedir(d);
    return rc;
}

/* Add layer l's entries to sc: from its unpacked directory in the store
 * when there is one, else from its blob. */
static int scan_layer(bld_state *b, scan *sc, const img_layer_desc *l, nr_err *err)
{
    cleanup_free char *ud = nr_xasprintf("%s/layers/%s", img_store_root(b->s), img_digest_hex(l->diff_id));
    cleanup_close int ufd = open(ud, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (ufd >= 0) /* a layer directory appears only complete (unpack.h) */
        return scan_unpacked(sc, ufd, "/", 0, err);
    img_layer_reader *r;
    if (img_layer_reader_open(b->s, l->blob.digest, (int64_t)l->blob.size, l->diff_id, &r, err) < 0)
        return -1;
    struct archive *a = img_layer_reader_archive(r);
    struct archive_entry *e;
    int ar, rc = 0;
    while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN)
        scan_entry(sc, e);
    if (ar != ARCHIVE_EOF)
        rc = nr_err_set(err, "layer %s: %s", l->blob.digest, archive_error_string(a));
    if (rc == 0)
        rc = img_layer_reader_finish(r, err);
    img_layer_reader_close(r);
    return rc;
}

static bool parse_list(const char *text, bld_stage *st);

void bld_stage_learn_layer(bld_state *b, bld_stage *st, const img_layer_desc *l)
{
    /* the list of a layer's directories is kept in the cache: the scan
     * runs once per layer, not at every rebuild */
    cleanup_free char *p = nr_xasprintf("%s/dirs/layer-%s.v2", b->cache_dir, img_digest_hex(l->diff_id));
    cleanup_free char *text = NULL;
    nr_err e;
    bld_stage tmp = {0};
    if (nr_read_file(AT_FDCWD, p, 256u << 20, &text, NULL, &e) < 0 || !parse_list(text, &tmp)) {
        scan sc = {0};
        int rc = scan_layer(b, &sc, l, &e);
        scan_resolve(&sc, &tmp.base_dirs, &tmp.n_base_dirs, &tmp.base_links, &tmp.n_base_links);
        if (rc < 0) { /* unreadable: the next step that reads the layer says so */
            bld_dirs_free(tmp.base_dirs, tmp.n_base_dirs);
            bld_links_free(tmp.base_links, tmp.n_base_links);
            return;
        }
        nr_buf out = {0};
        for (size_t i = 0; i < tmp.n_base_dirs; i++) {
            const bld_dir *d = &tmp.base_dirs[i];
            nr_buf_addf(&out, "%o %u %u %s\n", (unsigned)d->mode, (unsigned)d->uid, (unsigned)d->gid, d->path);
        }
        for (size_t i = 0; i < tmp.n_base_links; i++)
            nr_buf_addf(&out, "@%s\n%s\n", tmp.base_links[i].path, tmp.base_links[i].target);
        cleanup_free char *dir = nr_xasprintf("%s/dirs", b->cache_dir);
        if (nr_mkdir_p(dir, 0700, &e) == 0) {
            cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0)
                nr_write_atomic(dfd, strrchr(p, '/') + 1, out.data ? out.data : "", out.len, 0600, &e);
        }
        nr_buf_free(&out);
    }
    for (size_t i = 0; i < tmp.n_base_dirs; i++)
        bld_stage_set_dir(st, tmp.base_dirs[i].path, tmp.base_dirs[i].mode, tmp.base_dirs[i].uid,
                          tmp.base_dirs[i].gid);
    for (size_t i = 0; i < tmp.n_base_links; i++)
        bld_stage_set_link(st, tmp.base_links[i].path, tmp.base_links[i].target);
    bld_dirs_free(tmp.base_dirs, tmp.n_base_dirs);
    bld_links_free(tmp.base_links, tmp.n_base_links);
}

static int scan_base(bld_state *b, bld_stage *st, nr_err *err)
{
    bld_dir **out = &st->base_dirs;
    size_t *n_out = &st->n_base_dirs;
    scan sc = {0};
    int rc = 0;
    for (size_t i = 0; i < st->n_base_layers && rc == 0; i++) {
        const img_layer_desc *l = &st->layers[i]->layer;
        cleanup_free char *ud = nr_xasprintf("%s/layers/%s", img_store_root(b->s), img_digest_hex(l->diff_id));
        cleanup_close int ufd = open(ud, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (ufd >= 0) { /* a layer directory appears only complete (unpack.h) */
            rc = scan_unpacked(&sc, ufd, "/", 0, err);
            continue;
        }
        img_layer_reader *r;
        if ((rc = img_layer_reader_open(b->s, l->blob.digest, (int64_t)l->blob.size, l->diff_id, &r, err)) < 0)
            break;
        struct archive *a = img_layer_reader_archive(r);
        struct archive_entry *e;
        int ar;
        while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN)
            scan_entry(&sc, e);
        if (ar != ARCHIVE_EOF)
            rc = nr_err_set(err, "layer %s: %s", l->blob.digest, archive_error_string(a));
        if (rc == 0)
            rc = img_layer_reader_finish(r, err);
        img_layer_reader_close(r);
    }
    scan_resolve(&sc, out, n_out, &st->base_links, &st->n_base_links);
    if (rc < 0) {
        bld_dirs_free(*out, *n_out);
        *out = NULL;
        *n_out = 0;
        bld_links_free(st->base_links, st->n_base_links);
        st->base_links = NULL;
        st->n_base_links = 0;
    }
    return rc;
}

static bool parse_list(const char *text, bld_stage *st)
{
    bld_dir **out = &st->base_dirs;
    size_t *n_out = &st->n_base_dirs;
    *out = NULL;
    *n_out = 0;
    for (const char *l = text; *l;) {
        const char *nl = strchr(l, '\n');
        if (!nl)
            goto bad;
        if (*l == '@') { /* "@path" then "target" */
            const char *t = nl + 1, *tl = strchr(t, '\n');
            if (l[1] != '/' || !tl || tl == t)
                goto bad;
            st->base_links = nr_xrealloc(st->base_links, (st->n_base_links + 1) * sizeof *st->base_links);
            st->base_links[st->n_base_links++] = (bld_link){.path = nr_xstrndup(l + 1, (size_t)(nl - l - 1)),
                                                            .target = nr_xstrndup(t, (size_t)(tl - t))};
            l = tl + 1;
            continue;
        }
        unsigned mode, uid, gid;
        int at = -1;
        if (sscanf(l, "%o %u %u %n", &mode, &uid, &gid, &at) != 3 || at < 0 || l[at] != '/' || l + at >= nl)
            goto bad;
        *out = nr_xrealloc(*out, (*n_out + 1) * sizeof **out);
        (*out)[(*n_out)++] = (bld_dir){.path = nr_xstrndup(l + at, (size_t)(nl - l - at)), .mode = mode & 07777,
                                       .uid = uid, .gid = gid};
        l = nl + 1;
    }
    for (size_t i = 1; i < *n_out; i++)
        if (strcmp((*out)[i - 1].path, (*out)[i].path) >= 0)
            goto bad;
    for (size_t i = 1; i < st->n_base_links; i++)
        if (strcmp(st->base_links[i - 1].path, st->base_links[i].path) >= 0)
            goto bad;
    return true;
bad:
    bld_dirs_free(*out, *n_out);
    *out = NULL;
    *n_out = 0;
    bld_links_free(st->base_links, st->n_base_links);
    st->base_links = NULL;
    st->n_base_links = 0;
    return false;
}

static void load_base(bld_state *b, bld_stage *st)
{
    st->base_dirs_loaded = true;
    const char *hex = img_digest_hex(st->base_digest);
    cleanup_free char *p = nr_xasprintf("%s/dirs/%s.v3", b->cache_dir, hex);
    cleanup_free char *text = NULL;
    nr_err e;
    if (nr_read_file(AT_FDCWD, p, 256u << 20, &text, NULL, &e) == 0 && parse_list(text, st))
        return;
    /* Unreadable base: the layer reader will say so when it matters. */
    if (scan_base(b, st, &e) < 0)
        return;
    /* Best effort: the list only saves a rescan. */
    nr_buf out = {0};
    for (size_t i = 0; i < st->n_base_dirs; i++) {
        const bld_dir *d = &st->base_dirs[i];
        nr_buf_addf(&out, "%o %u %u %s\n", (unsigned)d->mode, (unsigned)d->uid, (unsigned)d->gid, d->path);
    }
    for (size_t i = 0; i < st->n_base_links; i++)
        nr_buf_addf(&out, "@%s\n%s\n", st->base_links[i].path, st->base_links[i].target);
    cleanup_free char *dir = nr_xasprintf("%s/dirs", b->cache_dir);
    if (nr_mkdir_p(dir, 0700, &e) == 0) {
        cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
            nr_write_atomic(dfd, strrchr(p, '/') + 1, out.data ? out.data : "", out.len, 0600, &e);
    }
    nr_buf_free(&out);
}

bool bld_stage_dir(bld_state *b, bld_stage *st, const char *path, bld_dir *out)
{
    if (!strcmp(path, "/")) {
        if (out)
            *out = (bld_dir){.path = (char *)"/", .mode = 0755};
        return true;
    }
    for (size_t i = 0; i < st->n_dirs; i++) {
        if (!strcmp(st->dirs[i].path, path)) {
            if (out)
                *out = st->dirs[i];
            return true;
        }
    }
    for (size_t i = 0; i < st->n_links; i++)
        if (!strcmp(st->links[i].path, path))
            return false;
    if (!st->base_digest[0])
        return false;
    if (!st->base_dirs_loaded)
        load_base(b, st);
    bld_dir key = {.path = (char *)path};
    const bld_dir *d = st->n_base_dirs ? bsearch(&key, st->base_dirs, st->n_base_dirs, sizeof key, dir_cmp) : NULL;
    if (d && out)
        *out = *d;
    return d != NULL;
}

bool bld_stage_is_dir(bld_state *b, bld_stage *st, const char *path)
{
    return bld_stage_dir(b, st, path, NULL);
}

static int link_cmp(const void *a, const void *b)
{
    return strcmp(((const bld_link *)a)->path, ((const bld_link *)b)->path);
}

/* The target of `path` when it is a symlink this build made, or one of
 * the base image that this build has not made a directory since; NULL
 * otherwise. */
static const char *stage_link(bld_stage *st, const char *path)
{
    for (size_t i = 0; i < st->n_links; i++)
        if (!strcmp(st->links[i].path, path))
            return st->links[i].target;
    for (size_t i = 0; i < st->n_dirs; i++)
        if (!strcmp(st->dirs[i].path, path))
            return NULL;
    bld_link key = {.path = (char *)path};
    const bld_link *l = bsearch(&key, st->base_links, st->n_base_links, sizeof key, link_cmp);
    return l ? l->target : NULL;
}

char *bld_stage_resolve(bld_state *b, bld_stage *st, const char *path)
{
    if (st->base_digest[0] && !st->base_dirs_loaded)
        load_base(b, st);
    if (!st->n_base_links && !st->n_links)
        return bld_path_clean(path);
    char *rest = nr_xstrdup(path);
    char *cur = nr_xstrdup(""); /* resolved so far: "" (the root) or "/a/b" */
    int hops = 0;
    for (const char *p = rest; *p;) {
        if (*p == '/') {
            p++;
            continue;
        }
        size_t n = strcspn(p, "/");
        if (n == 1 && p[0] == '.') {
            p += n;
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.') { /* never above the root */
            char *sl = strrchr(cur, '/');
            if (sl)
                *sl = '\0';
            p += n;
            continue;
        }
        char *next = nr_xasprintf("%s/%.*s", cur, (int)n, p);
        const char *t = hops < 255 ? stage_link(st, next) : NULL;
        if (!t) {
            free(cur);
            cur = next;
            p += n;
            continue;
        }
        /* a symlink: its target replaces it, from the root when absolute */
        hops++;
        free(next);
        if (t[0] == '/')
            cur[0] = '\0';
        char *nrest = nr_xasprintf("%s/%s", t, p + n);
        free(rest);
        rest = nrest;
        p = rest;
    }
    free(rest);
    if (!*cur) {
        free(cur);
        return nr_xstrdup("/");
    }
    return cur;
}
