#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

void nr_cleanup_freep(void *p)
{
    free(*(void **)p);
}
void nr_cleanup_closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}
void nr_cleanup_fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}
void nr_cleanup_closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
}

static void oom(void)
{
    static const char m[] = "nrun: out of memory\n";
    (void)!write(2, m, sizeof m - 1);
    abort();
}
void *nr_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}
void *nr_xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p)
        oom();
    return p;
}
void *nr_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom();
    return p;
}
char *nr_xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        oom();
    return p;
}
char *nr_xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        oom();
    return p;
}
char *nr_xasprintf(const char *fmt, ...)
{
    char *p;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (r < 0)
        oom();
    return p;
}

void nr_buf_add(nr_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = nr_xrealloc(b->data, cap);
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}
void nr_buf_addstr(nr_buf *b, const char *s)
{
    nr_buf_add(b, s, strlen(s));
}
void nr_buf_addf(nr_buf *b, const char *fmt, ...)
{
    cleanup_free char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        oom();
    nr_buf_add(b, s, (size_t)r);
}
void nr_buf_free(nr_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int nr_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int nr_open_temp(int dirfd, const char *name, mode_t mode, char *tmp, size_t tmplen)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    int dirlen = slash ? (int)(slash - name) : 0;
    static unsigned counter;
    for (int tries = 0; tries < 32; tries++) {
        uint32_t r = 0;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
            r = (uint32_t)time(NULL) * 2654435761u;
        r ^= __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
        int n = snprintf(tmp, tmplen, "%.*s%s.tmp-%d-%08x-%.180s", dirlen, name, slash ? "/" : "", (int)getpid(),
                         (unsigned)r, base);
        if (n < 0 || (size_t)n >= tmplen) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

int nr_write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode, nr_err *err)
{
    char tmp[4096];
    const char *slash = strrchr(name, '/');
    cleanup_close int fd = nr_open_temp(dirfd, name, mode, tmp, sizeof tmp);
    if (fd < 0)
        return nr_err_sys(err, errno, "create a temporary file for %s", name);
    if (nr_write_all(fd, data, len) < 0 || fsync(fd) < 0 || fchmod(fd, mode) < 0) {
        int e = errno;
        unlinkat(dirfd, tmp, 0);
        return nr_err_sys(err, e, "write %s", name);
    }
    if (renameat(dirfd, tmp, dirfd, name) < 0) {
        int e = errno;
        unlinkat(dirfd, tmp, 0);
        return nr_err_sys(err, e, "rename %s", name);
    }
    /* Make the rename itself durable. */
    cleanup_close int dfd = -1;
    if (slash) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - name), name);
        dfd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else {
        dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (dfd >= 0)
        fsync(dfd);
    return 0;
}

int nr_read_fd(int fd, size_t max, char **out, size_t *len, nr_err *err)
{
    nr_buf b = {0};
    char chunk[65536];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            nr_buf_free(&b);
            return nr_err_sys(err, e, "read");
        }
        if (r == 0)
            break;
        if (b.len + (size_t)r > max) {
            nr_buf_free(&b);
            return nr_err_sys(err, EFBIG, "larger than %zu bytes", max);
        }
        nr_buf_add(&b, chunk, (size_t)r);
    }
    if (!b.data)
        nr_buf_add(&b, "", 0);
    *out = b.data;
    if (len)
        *len = b.len;
    return 0;
}

int nr_read_file(int dirfd, const char *path, size_t max, char **out, size_t *len, nr_err *err)
{
    /* a FIFO in the store (a record, a state) must not block the open, and
     * with it every nrun waiting on a lock the reader holds: with no writer
     * it reads as empty; a pipe with one (stdin) reads as before */
    cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return nr_err_sys(err, errno, "open %s", path);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
        return nr_err_sys(err, errno, "open %s", path);
    if (nr_read_fd(fd, max, out, len, err) == 0)
        return 0;
    if (err->errnum == EFBIG)
        return nr_err_sys(err, EFBIG, "read %s: larger than %zu bytes", path, max);
    return nr_err_sys(err, err->errnum, "read %s", path);
}

int nr_mkdir_p(const char *path, mode_t mode, nr_err *err)
{
    cleanup_free char *p = nr_xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return nr_err_sys(err, errno, "mkdir %s", p);
        *s = '/';
    }
    if (mkdir(p, mode) < 0 && errno != EEXIST)
        return nr_err_sys(err, errno, "mkdir %s", p);
    return 0;
}

/* Empty the directory fd.  Below RM_DEPTH levels a directory is moved up to
 * top instead (*moved set) and emptied in a later pass: a tree of any depth
 * is removed with at most RM_DEPTH fds open. */
#define RM_DEPTH 64
static int rm_contents(int fd, int top, int depth, bool *moved, nr_err *err)
{
    int dup_fd = dup(fd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        return nr_err_sys(err, errno, "opendir");
    }
    rewinddir(d);
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d))) {
        const char *n = de->d_name;
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        struct stat st;
        if (fstatat(fd, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT)
                r = nr_err_sys(err, errno, "stat %s", n);
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (unlinkat(fd, n, 0) < 0 && errno != ENOENT)
                r = nr_err_sys(err, errno, "unlink %s", n);
            continue;
        }
        if (depth >= RM_DEPTH) {
            static unsigned long seq;
            char up[64];
            snprintf(up, sizeof up, ".nrun-deep-%d-%lu", (int)getpid(), ++seq);
            if (renameat(fd, n, top, up) < 0)
                r = nr_err_sys(err, errno, "move %s up", n);
            *moved = true;
            continue;
        }
        int sub = openat(fd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
            r = nr_err_sys(err, errno, "open %s", n);
            continue;
        }
        r = rm_contents(sub, top, depth + 1, moved, err);
        close(sub);
        if (r == 0 && unlinkat(fd, n, AT_REMOVEDIR) < 0 && errno != ENOENT)
            r = nr_err_sys(err, errno, "rmdir %s", n);
        if (r < 0)
            nr_err_wrap(err, "remove %s", n);
    }
    closedir(d);
    return r;
}

int nr_rm_rf(int dfd, const char *name, nr_err *err)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return 0;
        return nr_err_sys(err, errno, "stat %s", name);
    }
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
            return nr_err_sys(err, errno, "unlink %s", name);
        return 0;
    }
    if (nr_empty_dir(dfd, name, err) < 0)
        return nr_err_wrap(err, "remove %s", name);
    if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return nr_err_sys(err, errno, "rmdir %s", name);
    return 0;
}

DIR *nr_opendir_fd(int dirfd)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return d;
}

bool nr_readdir_suffix(DIR *d, const char *suffix, char *out, size_t outlen)
{
    size_t sl = strlen(suffix);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l <= sl || strcmp(e->d_name + l - sl, suffix))
            continue;
        snprintf(out, outlen, "%.*s", (int)(l - sl), e->d_name);
        return true;
    }
    return false;
}

int nr_empty_dir(int dfd, const char *name, nr_err *err)
{
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return nr_err_sys(err, errno, "open %s", name);
    bool moved = true;
    int r = 0;
    while (r == 0 && moved) {
        moved = false;
        r = rm_contents(fd, fd, 0, &moved, err);
    }
    close(fd);
    return r;
}

int nr_lock(int dirfd, const char *name, bool exclusive, int *fd_out, nr_err *err)
{
    cleanup_close int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return nr_err_sys(err, errno, "open lock %s", name);
    while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
        if (errno != EINTR)
            return nr_err_sys(err, errno, "lock %s", name);
    }
    *fd_out = steal_fd(&fd);
    return 0;
}

int nr_lock_transient(int dirfd, const char *name, int *fd_out, nr_err *err)
{
    for (;;) {
        cleanup_close int fd = -1;
        if (nr_lock(dirfd, name, true, &fd, err) < 0)
            return -1;
        /* A holder removes the file before it lets go: the lock we got may be
         * that of a removed file, while a newer one under the name is free
         * for anyone.  Ours only when the name still leads to our file. */
        struct stat held, now;
        if (fstat(fd, &held) < 0)
            return nr_err_sys(err, errno, "stat lock %s", name);
        if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0) {
            if (now.st_dev == held.st_dev && now.st_ino == held.st_ino) {
                *fd_out = steal_fd(&fd);
                return 0;
            }
        } else if (errno != ENOENT) {
            return nr_err_sys(err, errno, "stat lock %s", name);
        }
    }
}

void nr_unlock_transient(int dirfd, const char *name, int fd)
{
    /* unlink first: nobody can lock this file after it is gone from the dir */
    unlinkat(dirfd, name, 0);
    close(fd);
}

int nr_parse_size(const char *s, unsigned long long *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    unsigned long long mult = 1;
    switch (*end) {
    case '\0': break;
    case 'b': case 'B': end++; break;
    case 'k': case 'K': mult = 1ULL << 10; end++; break;
    case 'm': case 'M': mult = 1ULL << 20; end++; break;
    case 'g': case 'G': mult = 1ULL << 30; end++; break;
    case 't': case 'T': mult = 1ULL << 40; end++; break;
    default: return -1;
    }
    if (mult > 1 && *end == 'i')
        end++;
    if (mult > 1 && (*end == 'b' || *end == 'B'))
        end++;
    if (*end)
        return -1;
    double r = v * (double)mult;
    if (r > 9.2e18)
        return -1;
    *out = (unsigned long long)r;
    return 0;
}

void nr_human_size(unsigned long long n, char *out, size_t outlen)
{
    static const char *u[] = {"B", "kB", "MB", "GB", "TB"};
    double v = (double)n;
    int i = 0;
    while (v >= 1000 && i < 4) {
        v /= 1000;
        i++;
    }
    if (i == 0)
        snprintf(out, outlen, "%lluB", n);
    else
        snprintf(out, outlen, v < 10 ? "%.2f%s" : v < 100 ? "%.1f%s" : "%.0f%s", v, u[i]);
}

void nr_human_ago(long long s, char *out, size_t outlen)
{
    if (s < 1)
        snprintf(out, outlen, "Less than a second ago");
    else if (s < 60)
        snprintf(out, outlen, "%lld second%s ago", s, s == 1 ? "" : "s");
    else if (s < 3600)
        snprintf(out, outlen, "%lld minute%s ago", s / 60, s / 60 == 1 ? "" : "s");
    else if (s < 86400 * 2)
        snprintf(out, outlen, "%lld hour%s ago", s / 3600, s / 3600 == 1 ? "" : "s");
    else if (s < 86400 * 14)
        snprintf(out, outlen, "%lld days ago", s / 86400);
    else if (s < 86400 * 60)
        snprintf(out, outlen, "%lld weeks ago", s / (86400 * 7));
    else if (s < 86400 * 730)
        snprintf(out, outlen, "%lld months ago", s / (86400 * 30));
    else
        snprintf(out, outlen, "%lld years ago", s / (86400 * 365));
}

void nr_rfc3339(long long sec, long nsec, char *out, size_t outlen)
{
    struct tm tm;
    time_t t = (time_t)sec;
    gmtime_r(&t, &tm);
    char base[64];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (nsec)
        snprintf(out, outlen, "%s.%09ldZ", base, nsec);
    else
        snprintf(out, outlen, "%sZ", base);
}

int nr_unix_addr(const char *path, struct sockaddr_un *sa, int *keep_fd, nr_err *err)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    *keep_fd = -1;
    if (strlen(path) < sizeof sa->sun_path) {
        memcpy(sa->sun_path, path, strlen(path) + 1);
        return 0;
    }
    const char *slash = strrchr(path, '/');
    if (!slash || strlen(slash + 1) > 64)
        return nr_err_set(err, "unix socket path too long: %s", path);
    cleanup_free char *dir = nr_xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return nr_err_sys(err, errno, "open %s", dir);
    snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/%s", fd, slash + 1);
    *keep_fd = fd;
    return 0;
}

/* The first line of a small /proc file, or "" */
static void proc_line(const char *path, char *buf, size_t n)
{
    buf[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t r = read(fd, buf, n - 1);
    close(fd);
    buf[r > 0 ? r : 0] = 0;
    buf[strcspn(buf, "\n")] = 0;
}

int nr_openat2_missing(void)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC};
    int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    return errno == ENOSYS || errno == EPERM ? errno : 0;
}

int nr_open_in_root(const char *dir, const char *rel, int flags)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof how);
    if (fd < 0 && (errno == ENOSYS || errno == EPERM))
        fd = openat(dfd, rel, flags | O_CLOEXEC | O_NOFOLLOW); /* no openat2: no link at all */
    int e = errno;
    close(dfd);
    errno = e;
    return fd;
}

bool nr_in_userns(void)
{
    /* the host's map is the identity over every id: "0 0 4294967295".
     * Read each time (a few microseconds, a few calls per container): nbuild
     * enters its namespace after it started (runtime/userns.c). */
    char l[128];
    proc_line("/proc/self/uid_map", l, sizeof l);
    unsigned long a, b, c;
    return l[0] && !(sscanf(l, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295UL);
}

bool nr_setgroups_denied(void)
{
    char l[32];
    proc_line("/proc/self/setgroups", l, sizeof l);
    return !strcmp(l, "deny");
}

bool nr_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p++;
        int more;
        unsigned min;
        if (c < 0x80)
            continue;
        else if ((c & 0xe0) == 0xc0)
            more = 1, min = 0x80, c &= 0x1f;
        else if ((c & 0xf0) == 0xe0)
            more = 2, min = 0x800, c &= 0x0f;
        else if ((c & 0xf8) == 0xf0)
            more = 3, min = 0x10000, c &= 0x07;
        else
            return false;
        for (; more; more--, p++) {
            if ((*p & 0xc0) != 0x80)
                return false;
            c = c << 6 | (*p & 0x3f);
        }
        /* no overlong forms, no surrogates, nothing past U+10FFFF */
        if (c < min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
            return false;
    }
    return true;
}

/* A file the user named (--env-file, a seccomp profile, a Nodefile...): open
 * without blocking (a FIFO with no writer) or taking a terminal, accept only
 * a regular file of at most `max` bytes, decided from fstat before anything
 * is read, then read at most max bytes (a file that grows meanwhile is cut
 * off with EFBIG, never read to its end). */
int nr_read_user_file(int dirfd, const char *path, const char *what, size_t max, char **out, size_t *len,
                      nr_err *err)
{
    /* Looked at before it is opened: a device named by a file of a cloned
     * project (include: /dev/watchdog, a tape, a serial line) is refused
     * without the open and what the open does to it. */
    cleanup_close int pfd = openat(dirfd, path, O_PATH | O_CLOEXEC);
    struct stat st;
    if (pfd < 0 || fstat(pfd, &st) < 0)
        return nr_err_sys(err, errno, "%s %s", what, path);
    if (!S_ISREG(st.st_mode))
        return nr_read_user_fd(pfd, path, what, max, out, len, err); /* its error */
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", pfd);
    cleanup_close int fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) /* no /proc */
        fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return nr_err_sys(err, errno, "%s %s", what, path);
    return nr_read_user_fd(fd, path, what, max, out, len, err);
}

int nr_read_user_fd(int fd, const char *path, const char *what, size_t max, char **out, size_t *len, nr_err *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return nr_err_sys(err, errno, "%s %s", what, path);
    if (S_ISDIR(st.st_mode))
        return nr_err_sys(err, EISDIR, "%s %s", what, path);
    if (!S_ISREG(st.st_mode)) {
        const char *kind = S_ISFIFO(st.st_mode)                        ? "a FIFO or pipe"
                           : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                           : S_ISSOCK(st.st_mode)                       ? "a socket"
                                                                        : "an unknown kind of file";
        return nr_err_set(err, "%s %s: %s, not a regular file", what, path, kind);
    }
    if ((unsigned long long)st.st_size > max)
        return nr_err_set(err, "%s %s: %lld bytes, more than the %zu allowed", what, path, (long long)st.st_size,
                          max);
    char *buf = nr_xmalloc(max + 1);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            return nr_err_sys(err, e, "%s %s: read", what, path);
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            free(buf);
            return nr_err_set(err, "%s %s: more than the %zu bytes allowed", what, path, max);
        }
    }
    buf[n] = 0;
    *out = n + 1 < max + 1 ? nr_xrealloc(buf, n + 1) : buf;
    if (len)
        *len = n;
    return 0;
}

/* An absolute path, lexically canonical: "//a/./b/../c/" -> "/a/c"; ".."
 * never climbs above "/".  NULL when p is not absolute or too long. */
char *nr_path_clean(const char *p)
{
    size_t n = strlen(p);
    if (p[0] != '/' || n >= 4096)
        return NULL;
    char *out = nr_xmalloc(n + 2);
    size_t o = 0;
    for (const char *s = p; *s;) {
        while (*s == '/')
            s++;
        size_t l = strcspn(s, "/");
        if (l == 0 || (l == 1 && s[0] == '.')) {
            /* nothing, or "." */
        } else if (l == 2 && s[0] == '.' && s[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--; /* the slash before the dropped name */
        } else {
            out[o++] = '/';
            memcpy(out + o, s, l);
            o += l;
        }
        s += l;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = 0;
    return out;
}

char *nr_escape_controls(const char *s)
{
    nr_buf b = {0};
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n')
            nr_buf_addstr(&b, "\\n");
        else if (*p == '\t')
            nr_buf_addstr(&b, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            nr_buf_addf(&b, "\\x%02x", *p);
        else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) /* a C1 control in UTF-8: CSI is 0x9b */
            nr_buf_addf(&b, "\\xc2\\x%02x", *++p);
        else
            nr_buf_add(&b, (const char *)p, 1);
    }
    nr_buf_add(&b, "", 1);
    return b.data;
}

int nr_exec_missing_interp(const char *path, char *out, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return 0;
    char head[256];
    ssize_t r = read(fd, head, sizeof head - 1);
    close(fd);
    if (r < 3 || head[0] != '#' || head[1] != '!')
        return 0;
    head[r] = 0;
    char *p = head + 2;
    p += strspn(p, " \t");
    size_t len = strcspn(p, " \t\r\n");
    if (!len || len >= n)
        return 0;
    memcpy(out, p, len);
    out[len] = 0;
    return access(out, F_OK) < 0 && errno == ENOENT;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 (overlong forms and
 * surrogates included: they are not UTF-8). */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    if (p[0] < 0x80)
        return 1;
    size_t k = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 && p[0] < 0xf0 ? 3 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : 0;
    if (!k || k > n)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((k == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (k == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
        (k == 4 && p[0] == 0xf0 && p[1] < 0x90) || (k == 4 && p[0] == 0xf4 && p[1] >= 0x90))
        return 0;
    return k;
}

size_t nr_json_escape(char *out, const char *in, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
            i++;
        } else if (c == '\n') {
            out[o++] = '\\', out[o++] = 'n', i++;
        } else if (c == '\t') {
            out[o++] = '\\', out[o++] = 't', i++;
        } else if (c == '\r') {
            out[o++] = '\\', out[o++] = 'r', i++;
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(out + o, "\\u00", 4);
            out[o + 4] = hex[c >> 4];
            out[o + 5] = hex[c & 15];
            o += 6, i++;
        } else if (c < 0x80) {
            out[o++] = (char)c, i++;
        } else {
            size_t l = utf8_seq(s + i, n - i);
            if (l) {
                memcpy(out + o, s + i, l);
                o += l, i += l;
            } else {
                memcpy(out + o, "\\ufffd", 6);
                o += 6, i++;
            }
        }
    }
    return o;
}

int nr_open_append_regular(int dirfd, const char *name)
{
    cleanup_close int pfd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (pfd < 0 || fstat(pfd, &st) < 0)
        return -1;
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return -1;
    }
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", pfd);
    int fd = open(self, O_WRONLY | O_APPEND | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        errno = EINVAL;
        fd = -1;
    }
    return fd;
}

void nr_log_rotate(int dirfd, const char *name, int keep)
{
    char from[300], to[300];
    snprintf(to, sizeof to, "%s.%d", name, keep);
    unlinkat(dirfd, to, 0); /* left by an nrun that kept one more */
    snprintf(to, sizeof to, "%s.%d", name, keep - 1);
    unlinkat(dirfd, keep > 1 ? to : name, 0);
    for (int i = keep - 2; i >= 1; i--) {
        snprintf(from, sizeof from, "%s.%d", name, i);
        snprintf(to, sizeof to, "%s.%d", name, i + 1);
        renameat(dirfd, from, dirfd, to);
    }
    if (keep > 1) {
        snprintf(to, sizeof to, "%s.1", name);
        renameat(dirfd, name, dirfd, to);
    }
    /* not moved (a directory at name.1, which a container can plant in its
     * logs dir): dropped, or the file reopened would grow past every limit */
    unlinkat(dirfd, name, 0);
}
