/* Small helpers every module uses: cleanup attributes so early returns are
 * leak-free, atomic file writes, directory helpers, file locks.  Everything
 * that can fail returns < 0 and fills an nr_err. */
#ifndef NR_UTIL_H
#define NR_UTIL_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "err.h"

#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define NR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void nr_cleanup_freep(void *p);
void nr_cleanup_closep(int *fd);
void nr_cleanup_fclosep(FILE **f);
void nr_cleanup_closedirp(DIR **d);
#define cleanup_free __attribute__((cleanup(nr_cleanup_freep)))
#define cleanup_close __attribute__((cleanup(nr_cleanup_closep)))
#define cleanup_fclose __attribute__((cleanup(nr_cleanup_fclosep)))
#define cleanup_dir __attribute__((cleanup(nr_cleanup_closedirp)))

static inline int steal_fd(int *fd)
{
    int r = *fd;
    *fd = -1;
    return r;
}
static inline void *steal_ptr(void *pp)
{
    void **p = pp;
    void *r = *p;
    *p = NULL;
    return r;
}

/* Allocation that cannot fail (aborts on OOM, as an out-of-memory CLI cannot report anything useful). */
void *nr_xmalloc(size_t n);
void *nr_xcalloc(size_t n, size_t m);
void *nr_xrealloc(void *p, size_t n);
char *nr_xstrdup(const char *s);
char *nr_xstrndup(const char *s, size_t n);
char *nr_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable byte buffer. */
typedef struct nr_buf {
    char *data;
    size_t len, cap;
} nr_buf;
void nr_buf_add(nr_buf *b, const void *p, size_t n);
void nr_buf_addstr(nr_buf *b, const char *s);
void nr_buf_addf(nr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nr_buf_free(nr_buf *b);

/* Write `len` bytes to dirfd/name atomically: temp file in the same dir,
 * fsync, rename, fsync the dir.  Readers see the old or the new file, never a mix. */
/* Create a new file beside `name` (relative to dirfd; a path's directory part is kept):
 * ".tmp-PID-RANDOM-BASE", O_EXCL and O_NOFOLLOW, so a name planted there is never written
 * through.  Its name goes to tmp; returns the fd, or -1 with errno. */
int nr_open_temp(int dirfd, const char *name, mode_t mode, char *tmp, size_t tmplen);
int nr_write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode, nr_err *err);
/* Read a whole file (at most `max` bytes, else EFBIG) into a NUL-terminated malloc'd buffer. */
int nr_read_fd(int fd, size_t max, char **out, size_t *len, nr_err *err);
/* The same for a path: a FIFO is opened without waiting for a writer (none: empty). */
int nr_read_file(int dirfd, const char *path, size_t max, char **out, size_t *len, nr_err *err);
/* write(2) the whole buffer, retrying on EINTR and short writes. */
int nr_write_all(int fd, const void *p, size_t n);
/* An exec of `path` failed with ENOENT although the file is there: 1 when it
 * is a script whose #! interpreter does not exist (its path in out), else 0.
 * Async-signal-safe enough for a forked child (open, read, access). */
int nr_exec_missing_interp(const char *path, char *out, size_t n);
/* mkdir -p (absolute or relative to cwd). */
int nr_mkdir_p(const char *path, mode_t mode, nr_err *err);
/* rm -rf of dirfd/name; no error when it does not exist.  Never follows symlinks. */
int nr_rm_rf(int dirfd, const char *name, nr_err *err);
/* A listing of the directory dirfd (opened anew, so that dirfd's own offset
 * is not moved); NULL (errno set) when it cannot be read. */
DIR *nr_opendir_fd(int dirfd);
/* The next entry of d named <stem><suffix> with a stem of at least one byte:
 * the stem in out (cut to outlen - 1 bytes); false at the end. */
bool nr_readdir_suffix(DIR *d, const char *suffix, char *out, size_t outlen);
/* Remove everything in the directory dirfd/name, keeping it. */
int nr_empty_dir(int dirfd, const char *name, nr_err *err);
/* Are we in a user namespace other than the host's (a rootless nbuild,
 * runtime/userns.c)?  Then overlay keeps its marks in user.overlay.*
 * xattrs, devices cannot be made, and only the ids of our map exist. */
bool nr_in_userns(void);
/* 0 when openat2(2) works here, else why not: ENOSYS (Linux before 5.6) or
 * EPERM (a seccomp filter that does not know it, as Docker's default profile
 * before 20.10).  Every path nrun resolves in a store, a context or a
 * container goes through openat2, so its absence is said once, plainly. */
int nr_openat2_missing(void);
/* Open `rel` under directory `dir` with its links resolved with `dir` as
 * the root (openat2 RESOLVE_IN_ROOT; where openat2 is missing, a link is
 * refused): a file of a build context, never the host's.  -1 and errno. */
int nr_open_in_root(const char *dir, const char *rel, int flags);
/* In such a namespace, may setgroups(2) be called?  Not with a single
 * mapping the caller wrote itself (the kernel's rule since 3.19). */
bool nr_setgroups_denied(void);
/* Is s well-formed UTF-8 (what JSON, and so config.json, can carry)? */
bool nr_utf8_valid(const char *s);
/* flock() a lock file dirfd/name (created if needed); *fd_out holds the lock until closed. */
int nr_lock(int dirfd, const char *name, bool exclusive, int *fd_out, nr_err *err);
/* An exclusive lock whose file exists only while it is held, so a store is
 * left as it was whatever the locked work did: lock with nr_lock_transient,
 * release with nr_unlock_transient (which removes the file).  A file left by
 * a crashed holder is simply locked and removed by the next one. */
int nr_lock_transient(int dirfd, const char *name, int *fd_out, nr_err *err);
void nr_unlock_transient(int dirfd, const char *name, int fd);

/* Parse a size like 512, 64k, 100m, 2g (1024 based). */
int nr_parse_size(const char *s, unsigned long long *out);
/* Human size "12.3MB" (1000 based, as docker prints). */
void nr_human_size(unsigned long long n, char *out, size_t outlen);
/* Human duration ago: "3 minutes ago". */
void nr_human_ago(long long secs_since, char *out, size_t outlen);
/* Time as RFC 3339 UTC with nanoseconds: "2026-11-25T10:11:54.123456789Z". */
void nr_rfc3339(long long sec, long nsec, char *out, size_t outlen);

/* sha256 of a buffer, as 64 lowercase hex chars + NUL. */
void nr_sha256_hex(const void *data, size_t len, char out[65]);
/* Incremental sha256 (OpenSSL EVP behind it). */
typedef struct nr_sha256 nr_sha256;
nr_sha256 *nr_sha256_new(void);
void nr_sha256_update(nr_sha256 *h, const void *data, size_t len);
void nr_sha256_final(nr_sha256 *h, char out[65]); /* frees h */



/* Fill an AF_UNIX address for `path`.  sun_path holds 107 bytes, less than a
 * socket under a deep --root: then the parent dir is opened and the address
 * goes through /proc/self/fd/N/name; *keep_fd holds that dir (close it after
 * bind/connect), -1 otherwise. */
struct sockaddr_un;
int nr_unix_addr(const char *path, struct sockaddr_un *sa, int *keep_fd, nr_err *err);

/* Read a file the user named on the command line (`what` names the flag in
 * errors): a regular file only, at most `max` bytes, never blocking on a FIFO. */
int nr_read_user_file(int dirfd, const char *path, const char *what, size_t max, char **out, size_t *len,
                      nr_err *err);
/* The same for a file opened already (O_NONBLOCK | O_NOCTTY), `path` its name in errors. */
int nr_read_user_fd(int fd, const char *path, const char *what, size_t max, char **out, size_t *len, nr_err *err);
/* An absolute path made lexically canonical (no "//", ".", "..", trailing
 * "/"; ".." stops at "/"): malloc'd, or NULL when p is not absolute. */
char *nr_path_clean(const char *p);

/* s with control characters escaped (\n, \t, \xNN; a C1 one in UTF-8 as
 * \xc2\xNN): safe to print on a terminal whatever a container or a file
 * put in it (malloc'd). */
char *nr_escape_controls(const char *s);

/* n bytes of in as the inside of a JSON string, into out (room for 6 * n):
 * quotes, backslashes and controls escaped, bytes that are not UTF-8 as
 * U+FFFD, so a log line stays valid JSON whatever an app wrote.  Returns
 * the bytes written. */
size_t nr_json_escape(char *out, const char *in, size_t n);
/* Rotate log file name in directory dirfd, keeping keep files in all (name,
 * name.1 .. name.<keep-1>), as docker's max-file: the oldest goes, name
 * becomes name.1 (or is removed when it cannot be).  The caller opens name anew. */
void nr_log_rotate(int dirfd, const char *name, int keep);
/* An existing regular file name of dirfd, opened O_WRONLY|O_APPEND (and
 * O_NONBLOCK, O_NOCTTY): looked at through O_PATH first, so a node or FIFO
 * put there (a container's logs dir) is never opened.  -1 with errno
 * (ENOENT: none; EINVAL: not a regular file). */
int nr_open_append_regular(int dirfd, const char *name);

#endif
