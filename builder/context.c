/* Build context: stat-cached hashing and COPY/ADD source selection (see context.h). */
#include "builder/context.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "builder/archive.h"
#include "common/util.h"

typedef struct sc_ent {
    char *path;
    uint64_t size, ino, dev;
    long long mt_s, mt_ns, ct_s, ct_ns;
    char sha[65];
    char kind;   /* 'a' maybe an archive (by magic), '-' not */
    bool used;
} sc_ent;

struct bld_ctx {
    char *dir;
    int fd;
    bld_ignore *ig;
    char *cache_dir;
    sc_ent *tab;     /* open addressing, power-of-two size */
    size_t cap, n;
    bool dirty;
    size_t files_read;
    bool tree;       /* bld_ctx_open_fd: paths are read through dir (our fd) */
    const bld_ignore *ex; /* COPY --exclude of the selection under way, or NULL */
    bool parents;         /* COPY --parents of the selection under way */
};

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static sc_ent *sc_find(bld_ctx *c, const char *path, bool insert)
{
    if (insert && (c->n + 1) * 2 > c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 1024;
        sc_ent *nt = nr_xcalloc(ncap, sizeof *nt);
        for (size_t i = 0; i < c->cap; i++) {
            if (!c->tab[i].path)
                continue;
            size_t j = fnv(c->tab[i].path) & (ncap - 1);
            while (nt[j].path)
                j = (j + 1) & (ncap - 1);
            nt[j] = c->tab[i];
        }
        free(c->tab);
        c->tab = nt;
        c->cap = ncap;
    }
    if (!c->cap)
        return NULL;
    size_t j = fnv(path) & (c->cap - 1);
    while (c->tab[j].path) {
        if (!strcmp(c->tab[j].path, path))
            return &c->tab[j];
        j = (j + 1) & (c->cap - 1);
    }
    if (!insert)
        return NULL;
    c->tab[j].path = nr_xstrdup(path);
    c->n++;
    return &c->tab[j];
}

/* statcache lines: sha kind size mt_s mt_ns ct_s ct_ns ino dev path */
static void sc_load(bld_ctx *c)
{
    if (!c->cache_dir)
        return;
    cleanup_free char *p = nr_xasprintf("%s/statcache", c->cache_dir);
    cleanup_fclose FILE *f = fopen(p, "re");
    if (!f)
        return; /* no cache yet, or unreadable: hash everything */
    char *line = NULL;
    size_t cap = 0;
    ssize_t l;
    while ((l = getline(&line, &cap, f)) > 0) {
        if (line[l - 1] != '\n')
            break; /* truncated last line */
        line[l - 1] = '\0';
        sc_ent e = {0};
        int off = 0;
        char sha[65];
        unsigned long long sz, ino, dev;
        if (sscanf(line, "%64s %c %llu %lld %lld %lld %lld %llu %llu %n", sha, &e.kind, &sz, &e.mt_s, &e.mt_ns,
                   &e.ct_s, &e.ct_ns, &ino, &dev, &off) != 9 || off <= 0 || strlen(sha) != 64 || line[off] != '/')
            continue;
        sc_ent *s = sc_find(c, line + off, true);
        char *path = s->path;
        *s = e;
        s->path = path;
        s->size = sz, s->ino = ino, s->dev = dev;
        memcpy(s->sha, sha, 65);
    }
    free(line);
}

int bld_ctx_save(bld_ctx *c, nr_err *err)
{
    if (!c->cache_dir || !c->dirty)
        return 0;
    if (nr_mkdir_p(c->cache_dir, 0700, err) < 0)
        return -1;
    nr_buf b = {0};
    size_t dl = strlen(c->dir);
    for (size_t i = 0; i < c->cap; i++) {
        sc_ent *e = &c->tab[i];
        if (!e->path || strpbrk(e->path, "\n"))
            continue;
        /* Forget files of this context that this build did not see (deleted
         * or ignored), so the cache does not grow without bound. */
        if (!e->used && !strncmp(e->path, c->dir, dl) && e->path[dl] == '/')
            continue;
        nr_buf_addf(&b, "%s %c %llu %lld %lld %lld %lld %llu %llu %s\n", e->sha, e->kind,
                    (unsigned long long)e->size, e->mt_s, e->mt_ns, e->ct_s, e->ct_ns, (unsigned long long)e->ino,
                    (unsigned long long)e->dev, e->path);
    }
    cleanup_close int dfd = open(c->cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = dfd < 0 ? nr_err_sys(err, errno, "open %s", c->cache_dir)
                     : nr_write_atomic(dfd, "statcache", b.data ? b.data : "", b.len, 0600, err);
    nr_buf_free(&b);
    if (rc == 0)
        c->dirty = false;
    return rc;
}

int bld_ctx_open(const char *dir, const char *cache_dir, bld_ctx **out, nr_err *err)
{
    char *real = realpath(dir, NULL);
    if (!real)
        return nr_err_sys(err, errno, "build context %s", dir);
    bld_ctx *c = nr_xcalloc(1, sizeof *c);
    c->dir = real;
    c->fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c->fd < 0) {
        nr_err_sys(err, errno, "build context %s", dir);
        bld_ctx_free(c);
        return -1;
    }
    if (bld_ignore_load(c->fd, &c->ig, err) < 0) {
        nr_err_wrap(err, "build context %s", dir);
        bld_ctx_free(c);
        return -1;
    }
    c->cache_dir = cache_dir ? nr_xstrdup(cache_dir) : NULL;
    sc_load(c);
    *out = c;
    return 0;
}

int bld_ctx_open_fd(int dirfd, bld_ctx **out, nr_err *err)
{
    bld_ctx *c = nr_xcalloc(1, sizeof *c);
    c->fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c->fd < 0) {
        nr_err_sys(err, errno, "open a stage's files");
        free(c);
        return -1;
    }
    /* host paths go through our own fd: the tree may have no path at all */
    c->dir = nr_xasprintf("/proc/self/fd/%d", c->fd);
    c->tree = true;
    if (bld_ignore_parse("(none)", "", &c->ig, err) < 0) {
        bld_ctx_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void bld_ctx_free(bld_ctx *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    for (size_t i = 0; i < c->cap; i++)
        free(c->tab[i].path);
    free(c->tab);
    bld_ignore_free(c->ig);
    free(c->dir);
    free(c->cache_dir);
    free(c);
}

const char *bld_ctx_dir(const bld_ctx *c)
{
    return c->dir;
}
const bld_ignore *bld_ctx_ignore(const bld_ctx *c)
{
    return c->ig;
}
size_t bld_ctx_files_read(const bld_ctx *c)
{
    return c->files_read;
}

/* ---- paths beneath the root ----
 * Every path of the tree is resolved from c->fd, never from its host path:
 * a directory swapped for a symlink while the build runs must not lead the
 * builder out of the tree. */

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

/* Before openat2 (Linux 5.6): one component at a time from root, following
 * no symlink at all (ELOOP) and never climbing with "..".  Stricter than
 * openat2 for a source through an in-context symlink, never looser. */
static int open_nofollow(int root, const char *rel, int flags)
{
    cleanup_free char *copy = nr_xstrdup(rel);
    int cur = fcntl(root, F_DUPFD_CLOEXEC, 3);
    char *save = NULL;
    const char *comp = strtok_r(copy, "/", &save);
    while (cur >= 0) {
        while (comp && !strcmp(comp, "."))
            comp = strtok_r(NULL, "/", &save);
        const char *next = comp ? strtok_r(NULL, "/", &save) : NULL;
        if (comp && !strcmp(comp, "..")) {
            close(cur);
            errno = EXDEV;
            return -1;
        }
        int fd = next ? openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC)
                      : openat(cur, comp ? comp : ".", flags | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(cur);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) < 0) {
            e = errno;
            close(fd);
            fd = -1;
        } else if (fd >= 0 && (S_ISLNK(st.st_mode) || (next && !S_ISDIR(st.st_mode)))) {
            /* O_PATH | O_NOFOLLOW opens a link itself: a symlink is ELOOP,
             * as O_NOFOLLOW gives for the other flags */
            e = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
            close(fd);
            fd = -1;
        }
        errno = e;
        if (fd < 0 || !next)
            return fd;
        cur = fd;
        comp = next;
    }
    return -1;
}

/* Set once openat2 proved unusable: a refused link's message then says why. */
static bool openat2_missing;

/* openat2 failed with e: is it the call that is missing, not the file that is
 * refused?  ENOSYS before Linux 5.6; EPERM from a seccomp filter that does
 * not know it (nr_openat2_missing asks again for "/", which anything but
 * such a filter grants). */
static bool openat2_unusable(int e)
{
    if (e != ENOSYS && e != EPERM)
        return false;
    bool gone = e == ENOSYS || nr_openat2_missing() != 0;
    errno = e;
    return gone;
}

/* Without openat2, the walk: never looser (it follows no symlink at all),
 * never skipped. */
static int ctx_openat(const bld_ctx *c, const char *rel, int flags, uint64_t resolve)
{
    if (openat2_missing)
        return open_nofollow(c->fd, rel, flags);
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = resolve};
    int fd = (int)syscall(SYS_openat2, c->fd, rel, &how, sizeof how);
    if (fd < 0 && openat2_unusable(errno)) {
        openat2_missing = true;
        return open_nofollow(c->fd, rel, flags);
    }
    return fd;
}

const char *bld_ctx_rel(const bld_ctx *c, const char *host)
{
    size_t n = strlen(c->dir);
    if (n == 1 && c->dir[0] == '/') /* the context is / itself */
        return host[0] != '/' ? NULL : host[1] ? host + 1 : ".";
    if (strncmp(host, c->dir, n))
        return NULL;
    return !host[n] ? "." : host[n] == '/' && host[n + 1] ? host + n + 1 : NULL;
}

int bld_ctx_fd(const bld_ctx *c)
{
    return c->fd;
}

int bld_ctx_open_host(const bld_ctx *c, const char *host, int flags, nr_err *err)
{
    const char *rel = bld_ctx_rel(c, host);
    if (!rel)
        return nr_err_set(err, "%s is not in the build context", host);
    int fd = ctx_openat(c, rel, flags, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (fd < 0 && (errno == ELOOP || errno == EXDEV))
        return nr_err_set(err, "%s changed while reading the build context (a symlink in its path)", host);
    if (fd < 0)
        return nr_err_sys(err, errno, "open %s", host);
    return fd;
}

static char magic_kind(const unsigned char *b, size_t n)
{
    if ((n >= 2 && b[0] == 0x1f && b[1] == 0x8b) || (n >= 3 && !memcmp(b, "BZh", 3)) ||
        (n >= 6 && !memcmp(b, "\xfd" "7zXZ\0", 6)) || (n >= 4 && !memcmp(b, "\x28\xb5\x2f\xfd", 4)) ||
        (n >= 262 && !memcmp(b + 257, "ustar", 5)))
        return 'a';
    return '-';
}

static int hash_entry(bld_ctx *c, const char *host, const struct stat *st, sc_ent **out, nr_err *err)
{
    sc_ent *e = sc_find(c, host, false);
    if (e && e->size == (uint64_t)st->st_size && e->ino == (uint64_t)st->st_ino && e->dev == (uint64_t)st->st_dev &&
        e->mt_s == st->st_mtim.tv_sec && e->mt_ns == st->st_mtim.tv_nsec && e->ct_s == st->st_ctim.tv_sec &&
        e->ct_ns == st->st_ctim.tv_nsec) {
        e->used = true;
        *out = e;
        return 0;
    }
    /* O_NONBLOCK: a fifo swapped in after the lstat must not hang the build. */
    cleanup_close int fd = bld_ctx_open_host(c, host, O_RDONLY | O_NONBLOCK | O_NOCTTY, err);
    if (fd < 0)
        return -1;
    struct stat fst;
    if (fstat(fd, &fst) < 0)
        return nr_err_sys(err, errno, "stat %s", host);
    if (!S_ISREG(fst.st_mode) || fst.st_ino != st->st_ino)
        return nr_err_set(err, "%s changed while reading the build context", host);
    nr_sha256 *h = nr_sha256_new();
    unsigned char buf[65536], head[512];
    size_t hn = 0;
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e2 = errno;
            char dummy[65];
            nr_sha256_final(h, dummy);
            return nr_err_sys(err, e2, "read %s", host);
        }
        if (r == 0)
            break;
        if (hn < sizeof head) {
            size_t k = (size_t)r < sizeof head - hn ? (size_t)r : sizeof head - hn;
            memcpy(head + hn, buf, k);
            hn += k;
        }
        total += (uint64_t)r;
        nr_sha256_update(h, buf, (size_t)r);
    }
    char sha[65];
    nr_sha256_final(h, sha);
    if (total != (uint64_t)st->st_size)
        return nr_err_set(err, "%s changed while reading the build context", host);
    c->files_read++;
    e = sc_find(c, host, true);
    e->size = total, e->ino = st->st_ino, e->dev = st->st_dev;
    e->mt_s = st->st_mtim.tv_sec, e->mt_ns = st->st_mtim.tv_nsec;
    e->ct_s = st->st_ctim.tv_sec, e->ct_ns = st->st_ctim.tv_nsec;
    memcpy(e->sha, sha, 65);
    e->kind = magic_kind(head, hn);
    e->used = true;
    c->dirty = true;
    *out = e;
    return 0;
}

int bld_ctx_hash_file(bld_ctx *c, const char *host, const struct stat *st, char out[65], nr_err *err)
{
    sc_ent *e;
    if (hash_entry(c, host, st, &e, err) < 0)
        return -1;
    memcpy(out, e->sha, 65);
    return 0;
}

/* ---- paths ---- */

char *bld_path_clean(const char *in)
{
    size_t n = strlen(in);
    bool abs = in[0] == '/';
    char *out = nr_xmalloc(n + 3);
    size_t o = 0;
    for (const char *p = in; *p;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == 1 && p[0] == '.') {
        } else if (l == 2 && p[0] == '.' && p[1] == '.') {
            size_t back = o;
            while (back > 0 && out[back - 1] != '/')
                back--;
            bool prev_up = o - back == 2 && out[back] == '.' && out[back + 1] == '.';
            if (o > 0 && !prev_up)
                o = back > 0 ? back - 1 : 0;
            else if (!abs) {
                if (o)
                    out[o++] = '/';
                out[o++] = '.', out[o++] = '.';
            }
        } else {
            if (o)
                out[o++] = '/';
            memcpy(out + o, p, l);
            o += l;
        }
        p += l;
    }
    out[o] = '\0';
    if (abs) {
        memmove(out + 1, out, o + 1);
        out[0] = '/';
    } else if (!o) {
        strcpy(out, ".");
    }
    return out;
}

char *bld_path_join(const char *a, const char *b)
{
    cleanup_free char *j = nr_xasprintf("%s/%s", a, b);
    return bld_path_clean(j);
}

/* ---- selection ---- */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
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
    int fd = ctx_openat(c, rel, O_PATH | O_NOFOLLOW, source_resolve(c));
    if (fd >= 0) {
        l = readlinkat(fd, "", target, sizeof target - 1);
        close(fd);
    }
    if (l < 0) {
        fd = ctx_openat(c, rel, O_PATH, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
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
    int fd = ctx_openat(c, rel, flags, source_resolve(c));
    if (fd < 0 && errno == EXDEV)
        return nr_err_set(err, "source %s is outside the build context (through a symlink)", shown);
    if (fd < 0 && errno == ENOENT)
        return not_found(c, rel, err, shown);
    if (fd < 0 && errno == ELOOP && openat2_missing)
        return nr_err_set(err, "source %s: through a symlink nbuild does not follow (no openat2 here to follow it "
                          "inside the context: an old kernel or a seccomp filter)", shown);
    if (fd < 0 && errno == ELOOP)
        return nr_err_set(err, "source %s: too many levels of symlinks (each resolves inside the context, as "
                          "BuildKit does: a link to /etc named etc leads to itself)", shown);
    if (fd < 0)
        return nr_err_sys(err, errno, "source %s", shown);
    return fd;
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
            int fd = ctx_openat(c, p, O_PATH | O_NOFOLLOW, source_resolve(c));
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
    cleanup_close int dfd = ctx_openat(c, base, O_RDONLY | O_DIRECTORY, source_resolve(c));
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
    sc_ent *e;
    if (hash_entry(c, host, &st, &e, err) < 0)
        return -1;
    if (is_add && e->kind == 'a' && is_archive(c, host)) {
        s->archives = nr_xrealloc(s->archives, (s->n_archives + 1) * sizeof *s->archives);
        s->archive_dest = nr_xrealloc(s->archive_dest, (s->n_archives + 1) * sizeof *s->archive_dest);
        s->archives[s->n_archives] = nr_xstrdup(host);
        s->archive_dest[s->n_archives++] = nr_xstrdup(dest);
        return 0;
    }
    memcpy(it.sha, e->sha, 65);
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
        const char *src = srcs[i];
        if (!strncmp(src, "http://", 7) || !strncmp(src, "https://", 8) || !strncmp(src, "git@", 4)) {
            bld_sel_free(&s);
            return nr_err_set(err, is_add ? "ADD from a git repository is not supported (%s)" : "COPY source can not be a URL (%s)",
                              src);
        }
        if (!*src) {
            bld_sel_free(&s);
            return nr_err_set(err, "empty source path");
        }
        cleanup_free char *rel = bld_path_clean(src);
        if (rel[0] == '/' || !strcmp(rel, "..") || !strncmp(rel, "../", 3)) {
            bld_sel_free(&s);
            return nr_err_set(err, "source %s is outside the build context", src);
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
            const char *shown = nm > 1 ? matches[k] : src;
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
