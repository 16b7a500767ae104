/* Build context: the tree opened once, every later open resolved from its fd
 * (openat2 beneath it, or the walk that follows no symlink), and content
 * digests through the persisted stat cache (see context.h).  COPY/ADD source
 * selection is select.c. */
#include "builder/context_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"

struct sc_ent {
    char *path;
    uint64_t size, ino, dev;
    long long mt_s, mt_ns, ct_s, ct_ns;
    char sha[65];
    char kind;   /* 'a' maybe an archive (by magic), '-' not */
    bool used;
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

/* An ignore file of the context: its links resolve inside the context, as
 * COPY's sources do (one to a host file made the host's lines patterns, an
 * oracle of its content); one that resolves to nothing is an error.  -2:
 * there is no such file. */
static int ignore_open(const bld_ctx *c, const char *rel, const char *shown, nr_err *err)
{
    int fd = bld_ctx_openat(c, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                            RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    if (fd >= 0 || errno != ENOENT)
        return fd >= 0 ? fd : nr_err_sys(err, errno, "ignore file %s", shown);
    int l = bld_ctx_openat(c, rel, O_PATH | O_NOFOLLOW | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    if (l < 0)
        return -2;
    close(l);
    return nr_err_set(err, "ignore file %s: a symlink that resolves inside the build context (as BuildKit does), and "
                      "nothing is there", shown);
}

/* NODEFILE.nbuildignore or .dockerignore beside the Nodefile (BuildKit's
 * Dockerfile-specific one: first), else the context's; none: the empty
 * set.  Beside a Nodefile in the context, that is a context file too. */
static int ignore_load(bld_ctx *c, const char *nodefile, nr_err *err)
{
    static const char *names[] = {".nbuildignore", ".dockerignore"};
    cleanup_free char *rel = NULL;
    if (nodefile) {
        cleanup_free char *d = nr_xstrdup(nodefile);
        char *slash = strrchr(d, '/');
        const char *base = slash ? slash + 1 : nodefile;
        if (slash)
            *slash = 0;
        cleanup_free char *rd = realpath(slash ? (*d ? d : "/") : ".", NULL);
        size_t n = strlen(c->dir);
        if (rd && !strcmp(rd, c->dir))
            rel = nr_xstrdup(base);
        else if (rd && !strncmp(rd, c->dir, n) && rd[n] == '/')
            rel = nr_xasprintf("%s/%s", rd + n + 1, base);
    }
    for (size_t k = nodefile ? 0 : 1; k < 2; k++) {
        for (size_t i = 0; i < NR_ARRAY_LEN(names); i++) {
            cleanup_free char *shown = k ? nr_xstrdup(names[i]) : nr_xasprintf("%s%s", nodefile, names[i]);
            cleanup_free char *in = k ? nr_xstrdup(names[i]) : rel ? nr_xasprintf("%s%s", rel, names[i]) : NULL;
            /* -2: no such file */
            cleanup_close int fd = in ? ignore_open(c, in, shown, err)
                                      : open(shown, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
            if (fd < 0 && !in && errno != ENOENT)
                return nr_err_sys(err, errno, "ignore file %s", shown);
            if (fd == -1 && in)
                return -1;
            if (fd < 0)
                continue;
            return bld_ignore_read(fd, shown, &c->ig, err);
        }
    }
    return bld_ignore_parse("(none)", "", &c->ig, err);
}

int bld_ctx_open(const char *dir, const char *nodefile, const char *cache_dir, bld_ctx **out, nr_err *err)
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
    if (ignore_load(c, nodefile, err) < 0) {
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

bool bld_ctx_openat2_gone(void)
{
    return openat2_missing;
}

/* Without openat2, the walk: never looser (it follows no symlink at all),
 * never skipped. */
int bld_ctx_openat(const bld_ctx *c, const char *rel, int flags, uint64_t resolve)
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
    int fd = bld_ctx_openat(c, rel, flags, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
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

int bld_ctx_hash_kind(bld_ctx *c, const char *host, const struct stat *st, char out[65], bool *maybe_archive,
                      nr_err *err)
{
    sc_ent *e;
    if (hash_entry(c, host, st, &e, err) < 0)
        return -1;
    memcpy(out, e->sha, 65);
    if (maybe_archive)
        *maybe_archive = e->kind == 'a';
    return 0;
}

int bld_ctx_hash_file(bld_ctx *c, const char *host, const struct stat *st, char out[65], nr_err *err)
{
    return bld_ctx_hash_kind(c, host, st, out, NULL, err);
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
