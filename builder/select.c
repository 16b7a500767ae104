/* COPY/ADD source selection from a build context or a stage's tree (the
 * rules: select.h): sources resolved with the tree as the root, globs,
 * directory walks under the ignore file, --exclude and --parents, ADD's
 * archives, and the selection's digest for the cache key.  Every open goes
 * through the tree's fd (context_int.h). */
#include "builder/select.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/archive.h"
#include "builder/context_int.h"
#include "common/util.h"

/* How a source the user wrote resolves: its symlinks are followed with the
 * tree as the root, in the context as in a stage's or image's tree (COPY
 * --from): an absolute link or one that climbs out lands inside the tree
 * ("/etc/passwd" is CTX/etc/passwd), as BuildKit resolves a COPY source.
 * Links found inside a copied directory are copied as links. */
static uint64_t source_resolve(const bld_ctx *c)
{
    (void)c;
    return RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* COPY --from a stage or an image keeps each file's owner there, as
 * BuildKit copies between its snapshots; the build context's files are
 * root's (BuildKit's context transfer does not carry owners). */
static void tree_owner(const bld_ctx *c, const struct stat *st, bld_item *it)
{
    if (!c->tree)
        return;
    it->owned = true;
    it->uid = st->st_uid;
    it->gid = st->st_gid;
}

static void sel_add(bld_sel *s, const bld_item *it)
{
    s->items = nr_xrealloc(s->items, (s->n + 1) * sizeof *s->items);
    s->items[s->n++] = *it;
}

void bld_sel_free(bld_sel *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].dest);
        free(s->items[i].host);
        free(s->items[i].link);
        free(s->items[i].data);
    }
    free(s->items);
    for (size_t i = 0; i < s->n_archives; i++) {
        free(s->archives[i]);
        free(s->archive_dest[i]);
    }
    free(s->archives);
    free(s->archive_dest);
    memset(s, 0, sizeof *s);
}

/* A source that does not resolve: say so, and where its link pointed when it
 * is one (a link to /etc/passwd looks for CTX/etc/passwd, not the host's). */
static int not_found(const bld_ctx *c, const char *rel, nr_err *err, const char *shown)
{
    char target[4096];
    ssize_t l = -1;
    /* a stage's or an image's tree: COPY --from names it */
    const char *where = c->tree ? "" : " in the build context";
    int fd = bld_ctx_openat(c, rel, O_PATH | O_NOFOLLOW, source_resolve(c));
    if (fd >= 0) {
        l = readlinkat(fd, "", target, sizeof target - 1);
        close(fd);
    }
    if (l < 0) {
        fd = bld_ctx_openat(c, rel, O_PATH, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
        bool linked = fd < 0 && (errno == ELOOP || errno == EXDEV);
        if (fd >= 0)
            close(fd);
        return nr_err_set(err, "source %s not found%s%s", shown, where,
                          linked ? ": a symlink on its path resolves inside the context (as BuildKit does), and "
                                   "nothing is there"
                                 : "");
    }
    target[l] = '\0';
    return nr_err_set(err,
                      "source %s not found%s: it is a symlink to %s, which resolves inside the "
                      "context (as BuildKit does), and nothing is there",
                      shown, where, target);
}

/* A source as the user wrote it, in the tree (source_resolve). */
static int open_beneath(const bld_ctx *c, const char *rel, int flags, nr_err *err, const char *shown)
{
    int fd = bld_ctx_openat(c, rel, flags, source_resolve(c));
    if (fd < 0 && errno == EXDEV)
        return nr_err_set(err, "source %s is outside the build context (through a symlink)", shown);
    if (fd < 0 && errno == ENOENT)
        return not_found(c, rel, err, shown);
    if (fd < 0 && errno == ELOOP && bld_ctx_openat2_gone())
        return nr_err_set(err, "source %s: through a symlink nbuild does not follow (no openat2 here to follow it "
                          "inside the context: an old kernel or a seccomp filter)", shown);
    if (fd < 0 && errno == ELOOP)
        return nr_err_set(err, "source %s: too many levels of symlinks (each resolves inside the context, as "
                          "BuildKit does: a link to /etc named etc leads to itself)", shown);
    if (fd < 0)
        return nr_err_sys(err, errno, "source %s", shown);
    return fd;
}

int bld_ctx_source_open(const bld_ctx *c, const char *rel, int flags, nr_err *err)
{
    return open_beneath(c, *rel ? rel : ".", flags, err, *rel ? rel : ".");
}

static const char *type_name(mode_t m)
{
    return S_ISFIFO(m) ? "fifo" : S_ISSOCK(m) ? "socket" : S_ISCHR(m) ? "character device"
         : S_ISBLK(m) ? "block device" : "special file";
}

static void names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* The names in directory dfd (read through a dup: dfd stays the caller's)
 * that match the glob `pat` (NULL: all), sorted, so errors and cache
 * digests do not depend on readdir order.  `shown` names it in errors. */
static int dir_names(int dfd, const char *pat, const char *shown, char ***out, size_t *n, nr_err *err)
{
    *out = NULL;
    *n = 0;
    int dup = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
    if (dup < 0)
        return nr_err_sys(err, errno, "dup");
    cleanup_dir DIR *d = fdopendir(dup);
    if (!d) {
        close(dup);
        return nr_err_sys(err, errno, "opendir %s", shown);
    }
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || (pat && fnmatch(pat, de->d_name, 0) != 0))
            continue;
        *out = nr_xrealloc(*out, (*n + 1) * sizeof **out);
        (*out)[(*n)++] = nr_xstrdup(de->d_name);
        errno = 0;
    }
    if (errno) {
        int e = errno;
        names_free(*out, *n);
        *out = NULL;
        *n = 0;
        return nr_err_sys(err, e, "readdir %s", shown);
    }
    if (*n > 1)
        qsort(*out, *n, sizeof **out, name_cmp);
    return 0;
}

void bld_ctx_set_exclude(bld_ctx *c, const bld_ignore *ex)
{
    c->ex = ex;
}

void bld_ctx_set_parents(bld_ctx *c, bool on)
{
    c->parents = on;
}

/* --parents: the part of a source's match kept under the destination.  A
 * "/./" in the source word marks where it starts (BuildKit's pivot), else
 * the whole context-relative path is kept. */
static const char *parents_kept(const char *src, const char *match)
{
    const char *piv = strstr(src, "/./");
    if (!piv)
        return match;
    cleanup_free char *pre = nr_xstrndup(src, (size_t)(piv - src));
    cleanup_free char *p = bld_path_clean(pre);
    size_t n = strlen(p);
    if (!strcmp(p, "."))
        return match;
    if (!strncmp(match, p, n) && match[n] == '/')
        return match + n + 1;
    return !strcmp(match, p) ? "." : match;
}

/* Add the contents of directory `dfd` (context-relative `rel`, host path
 * `host`) below `dest`; `srel` is its path below the source being copied,
 * what --exclude matches.  Returns the number of items added, -1 on error. */
static long walk_dir(bld_ctx *c, int dfd, const char *rel, const char *srel, const char *host, const char *dest,
                     bld_sel *s, nr_err *err)
{
    char **names;
    size_t nn;
    if (dir_names(dfd, NULL, host, &names, &nn, err) < 0)
        return -1;
    long added = 0;
    for (size_t i = 0; i < nn && added >= 0; i++) {
        const char *nm = names[i];
        cleanup_free char *crel = !strcmp(rel, ".") ? nr_xstrdup(nm) : nr_xasprintf("%s/%s", rel, nm);
        cleanup_free char *csrel = !*srel ? nr_xstrdup(nm) : nr_xasprintf("%s/%s", srel, nm);
        cleanup_free char *chost = nr_xasprintf("%s/%s", host, nm);
        struct stat st;
        if (fstatat(dfd, nm, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            added = nr_err_sys(err, errno, "stat %s", chost);
            break;
        }
        bool excluded = bld_ignore_match(c->ig, crel);
        if (excluded && (!S_ISDIR(st.st_mode) || bld_ignore_skip_dir(c->ig, crel)))
            continue;
        if (c->ex && bld_ignore_match(c->ex, csrel)) {
            if (!S_ISDIR(st.st_mode) || bld_ignore_skip_dir(c->ex, csrel))
                continue;
            excluded = true; /* kept only for what an exception re-includes */
        }
        bld_item it = {.dest = bld_path_join(dest, nm), .mode = st.st_mode & 07777};
        tree_owner(c, &st, &it);
        if (S_ISDIR(st.st_mode)) {
            cleanup_close int cfd = openat(dfd, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (cfd < 0) {
                free(it.dest);
                added = nr_err_sys(err, errno, "open %s", chost);
                break;
            }
            size_t at = s->n;
            it.type = IMG_ENT_DIR;
            sel_add(s, &it);
            long sub = walk_dir(c, cfd, crel, csrel, chost, it.dest, s, err);
            if (sub < 0) {
                added = -1;
                break;
            }
            if (excluded && sub == 0) { /* only there for an exception that matched nothing */
                free(s->items[at].dest);
                memmove(&s->items[at], &s->items[at + 1], (s->n - at - 1) * sizeof *s->items);
                s->n--;
                continue;
            }
            added += 1 + sub;
        } else if (S_ISREG(st.st_mode)) {
            it.type = IMG_ENT_FILE;
            it.size = (uint64_t)st.st_size;
            it.host = steal_ptr(&chost);
            it.in_tree = true;
            if (bld_ctx_hash_file(c, it.host, &st, it.sha, err) < 0) {
                free(it.dest), free(it.host);
                added = -1;
                break;
            }
            sel_add(s, &it);
            added++;
        } else if (S_ISLNK(st.st_mode)) {
            char buf[4096];
            ssize_t l = readlinkat(dfd, nm, buf, sizeof buf - 1);
            if (l < 0) {
                free(it.dest);
                added = nr_err_sys(err, errno, "readlink %s", chost);
                break;
            }
            buf[l] = '\0';
            it.type = IMG_ENT_SYMLINK;
            it.mode = 0777;
            it.link = nr_xstrdup(buf);
            sel_add(s, &it);
            added++;
        } else if (S_ISFIFO(st.st_mode)) {
            it.type = IMG_ENT_FIFO; /* as BuildKit copies one (mknod) */
            sel_add(s, &it);
            added++;
        } else if (S_ISSOCK(st.st_mode)) {
            free(it.dest); /* a socket a dev server left: skipped, as BuildKit and Docker do */
        } else {
            free(it.dest);
            added = nr_err_set(err, "%s: cannot copy a %s", chost, type_name(st.st_mode));
        }
    }
    names_free(names, nn);
    return added;
}

static bool has_meta(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* Expand a glob segment by segment (Go filepath.Match semantics: `*` does
 * not cross '/', no special leading dot).  Ignored paths never match. */
static int glob_walk(bld_ctx *c, const char *base, const char *pat, char ***out, size_t *n, nr_err *err)
{
    const char *slash = strchr(pat, '/');
    cleanup_free char *seg = slash ? nr_xstrndup(pat, (size_t)(slash - pat)) : nr_xstrdup(pat);
    const char *rest = slash ? slash + 1 : NULL;
    if (!has_meta(seg)) {
        cleanup_free char *p = !strcmp(base, ".") ? nr_xstrdup(seg) : nr_xasprintf("%s/%s", base, seg);
        if (!rest) {
            /* there (EXDEV: through a symlink out of the context; ELOOP:
             * through one the openat2-less walk does not follow: add_source
             * refuses both by name); nothing outside is looked at */
            int fd = bld_ctx_openat(c, p, O_PATH | O_NOFOLLOW, source_resolve(c));
            bool there = fd >= 0 || errno == EXDEV || errno == ELOOP;
            if (fd >= 0)
                close(fd);
            if (there && !bld_ignore_match(c->ig, p)) {
                *out = nr_xrealloc(*out, (*n + 1) * sizeof **out);
                (*out)[(*n)++] = steal_ptr(&p);
            }
            return 0;
        }
        return glob_walk(c, p, rest, out, n, err);
    }
    cleanup_close int dfd = bld_ctx_openat(c, base, O_RDONLY | O_DIRECTORY, source_resolve(c));
    if (dfd < 0 && (errno == ENOTDIR || errno == ENOENT))
        return 0; /* nothing can match below a missing path */
    if (dfd < 0 && errno == EXDEV)
        return nr_err_set(err, "source %s is outside the build context (through a symlink)", base);
    if (dfd < 0)
        return nr_err_sys(err, errno, "open %s", base);
    char **names;
    size_t nn;
    if (dir_names(dfd, seg, base, &names, &nn, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < nn; i++) {
        cleanup_free char *p = !strcmp(base, ".") ? nr_xstrdup(names[i]) : nr_xasprintf("%s/%s", base, names[i]);
        free(names[i]);
        if (rc < 0 || bld_ignore_match(c->ig, p))
            continue;
        if (rest) {
            rc = glob_walk(c, p, rest, out, n, err);
        } else {
            *out = nr_xrealloc(*out, (*n + 1) * sizeof **out);
            (*out)[(*n)++] = steal_ptr(&p);
        }
    }
    free(names);
    return rc;
}

static bool is_archive(const bld_ctx *c, const char *host)
{
    nr_err e;
    cleanup_close int fd = bld_ctx_open_host(c, host, O_RDONLY | O_NONBLOCK | O_NOCTTY, &e);
    return fd >= 0 && bld_archive_probe(fd, host);
}

/* One resolved source (a context-relative, cleaned path). */
static int add_source(bld_ctx *c, const char *rel, const char *shown, const char *dest, bool dest_is_dir,
                      bool is_add, bld_sel *s, nr_err *err)
{
    if (strcmp(rel, ".") && bld_ignore_match(c->ig, rel))
        return nr_err_set(err, "source %s is excluded by the ignore file", shown);
    cleanup_close int fd = open_beneath(c, rel, O_PATH, err, shown);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return nr_err_sys(err, errno, "stat %s", shown);
    char link[64], host[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t hl = readlink(link, host, sizeof host - 1);
    if (hl < 0)
        return nr_err_sys(err, errno, "resolve %s", shown);
    host[hl] = '\0';
    if (c->tree) {
        /* a detached tree names its paths from its own root: the resolved
         * path (no symlink left in it) below our fd of that root */
        if (host[0] != '/' || strlen(c->dir) + (size_t)hl >= sizeof host)
            return nr_err_set(err, "resolve %s", shown);
        memmove(host + strlen(c->dir), host, (size_t)hl + 1);
        memcpy(host, c->dir, strlen(c->dir));
        if (!strcmp(host + strlen(c->dir), "/"))
            host[strlen(c->dir)] = '\0';
    }
    /* Through a link, the path it reached is the one the ignore file judges
     * (BuildKit's context holds no excluded file for a link to find), and
     * the one a directory's entries are judged below. */
    const char *real = c->tree ? rel : bld_ctx_rel(c, host);
    if (!real)
        return nr_err_set(err, "source %s: resolved to %s, outside the build context", shown, host);
    if (strcmp(real, rel) && strcmp(real, ".") && bld_ignore_match(c->ig, real))
        return nr_err_set(err, "source %s is a symlink to %s, which the ignore file excludes", shown, real);
    if (S_ISDIR(st.st_mode)) {
        cleanup_close int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
            return nr_err_sys(err, errno, "open %s", host);
        /* The destination directory itself is created 0755, as Docker does,
         * whatever the mode of the context directory (often 0700 from mktemp). */
        bld_item it = {.dest = nr_xstrdup(dest), .type = IMG_ENT_DIR, .mode = 0755};
        sel_add(s, &it);
        return walk_dir(c, dfd, real, "", host, dest, s, err) < 0 ? -1 : 0;
    }
    if (!S_ISREG(st.st_mode))
        return nr_err_set(err, "source %s: cannot copy a %s", shown, type_name(st.st_mode));
    const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    if (c->ex && bld_ignore_match(c->ex, base))
        return 0; /* a file source that --exclude names */
    bld_item it = {.type = IMG_ENT_FILE, .mode = st.st_mode & 07777, .size = (uint64_t)st.st_size};
    tree_owner(c, &st, &it);
    bool maybe_archive;
    if (bld_ctx_hash_kind(c, host, &st, it.sha, &maybe_archive, err) < 0)
        return -1;
    if (is_add && maybe_archive && is_archive(c, host)) {
        s->archives = nr_xrealloc(s->archives, (s->n_archives + 1) * sizeof *s->archives);
        s->archive_dest = nr_xrealloc(s->archive_dest, (s->n_archives + 1) * sizeof *s->archive_dest);
        s->archives[s->n_archives] = nr_xstrdup(host);
        s->archive_dest[s->n_archives++] = nr_xstrdup(dest);
        return 0;
    }
    it.dest = dest_is_dir ? bld_path_join(dest, base) : nr_xstrdup(dest);
    it.host = nr_xstrdup(host);
    it.in_tree = true;
    sel_add(s, &it);
    return 0;
}

int bld_ctx_select(bld_ctx *c, char **srcs, size_t nsrc, const char *dest, bool dest_is_dir, bool is_add,
                   bld_sel *out, size_t *bad, nr_err *err)
{
    return bld_ctx_select_inline(c, srcs, nsrc, 0, dest, dest_is_dir, is_add, out, bad, err);
}

int bld_ctx_select_inline(bld_ctx *c, char **srcs, size_t nsrc, size_t n_inline, const char *dest, bool dest_is_dir,
                          bool is_add, bld_sel *out, size_t *bad, nr_err *err)
{
    bld_sel s = {0};
    size_t matched_total = n_inline;
    for (size_t i = 0; i < nsrc; i++) {
        *bad = i;
        const char *given = srcs[i];
        if (!strncmp(given, "http://", 7) || !strncmp(given, "https://", 8) || !strncmp(given, "git@", 4)) {
            bld_sel_free(&s);
            return nr_err_set(err, is_add ? "ADD from a git repository is not supported (%s)" : "COPY source can not be a URL (%s)",
                              given);
        }
        if (!*given) {
            bld_sel_free(&s);
            return nr_err_set(err, "empty source path");
        }
        /* BuildKit reads a source as join("/", src) in the context: `COPY
         * /public ./public/` copies the context's public, as RUN
         * --mount=type=bind,source=/x binds the context's x */
        const char *src = given + strspn(given, "/");
        if (!*src)
            src = ".";
        cleanup_free char *rel = bld_path_clean(src);
        if (rel[0] == '/' || !strcmp(rel, "..") || !strncmp(rel, "../", 3)) {
            bld_sel_free(&s);
            return nr_err_set(err, "source %s is outside the build context", given);
        }
        char **matches = NULL;
        size_t nm = 0;
        if (has_meta(rel)) {
            if (glob_walk(c, ".", rel, &matches, &nm, err) < 0) {
                bld_sel_free(&s);
                return -1;
            }
            if (nm == 0) { /* nothing to copy, as BuildKit allows (AllowEmptyWildcard) */
                free(matches);
                continue;
            }
        } else {
            matches = nr_xmalloc(sizeof *matches);
            matches[nm++] = nr_xstrdup(rel);
        }
        matched_total += nm;
        if (matched_total > 1 && !dest_is_dir && !c->parents) {
            for (size_t k = 0; k < nm; k++)
                free(matches[k]);
            free(matches);
            bld_sel_free(&s);
            *bad = nsrc;
            return nr_err_set(err, "with more than one source file, the destination must be a directory and end with a /");
        }
        int rc = 0;
        for (size_t k = 0; k < nm; k++) {
            const char *shown = nm > 1 ? matches[k] : given;
            if (rc == 0 && c->parents) {
                /* the kept path names the item itself below the destination */
                cleanup_free char *d = bld_path_join(dest, parents_kept(src, matches[k]));
                rc = add_source(c, matches[k], shown, d, false, is_add, &s, err);
            } else if (rc == 0) {
                rc = add_source(c, matches[k], shown, dest, dest_is_dir, is_add, &s, err);
            }
            free(matches[k]);
        }
        free(matches);
        if (rc < 0) {
            bld_sel_free(&s);
            return -1;
        }
    }
    s.ctx = c;
    *out = s;
    return 0;
}

static int item_cmp(const void *a, const void *b)
{
    return strcmp(((const bld_item *)a)->dest, ((const bld_item *)b)->dest);
}

int bld_sel_digest(bld_ctx *c, bld_sel *s, char out[65], nr_err *err)
{
    /* Stable order; a later duplicate of a dest wins in the layer, so keep
     * the sort stable by index for equal dests. */
    for (size_t i = 1; i < s->n; i++) {
        bld_item t = s->items[i];
        size_t j = i;
        while (j > 0 && item_cmp(&s->items[j - 1], &t) > 0) {
            s->items[j] = s->items[j - 1];
            j--;
        }
        s->items[j] = t;
    }
    nr_sha256 *h = nr_sha256_new();
    for (size_t i = 0; i < s->n; i++) {
        const bld_item *it = &s->items[i];
        char line[256];
        int l = snprintf(line, sizeof line, "%d %o %llu ", (int)it->type, (unsigned)it->mode,
                         (unsigned long long)it->size);
        nr_sha256_update(h, it->dest, strlen(it->dest) + 1);
        nr_sha256_update(h, line, (size_t)l);
        if (it->type == IMG_ENT_FILE)
            nr_sha256_update(h, it->sha, 64);
        if (it->link)
            nr_sha256_update(h, it->link, strlen(it->link) + 1);
        nr_sha256_update(h, "\n", 1);
    }
    for (size_t i = 0; i < s->n_archives; i++) {
        struct stat st;
        char sha[65];
        int fd = bld_ctx_open_host(c, s->archives[i], O_PATH, err);
        int rc = fd < 0                ? -1
                 : fstat(fd, &st) < 0 ? nr_err_sys(err, errno, "stat %s", s->archives[i])
                                      : bld_ctx_hash_file(c, s->archives[i], &st, sha, err);
        if (fd >= 0)
            close(fd);
        if (rc < 0) {
            char dummy[65];
            nr_sha256_final(h, dummy);
            return -1;
        }
        nr_sha256_update(h, "archive ", 8);
        nr_sha256_update(h, s->archive_dest[i], strlen(s->archive_dest[i]) + 1);
        nr_sha256_update(h, sha, 64);
    }
    nr_sha256_final(h, out);
    return 0;
}
