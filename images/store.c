/* The store handle: opening (and creating) the layout, atomic writes that
 * leave nothing behind on failure, temp file cleanup, the gc lock. */
#include "images/store_int.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

static const char OCI_LAYOUT[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
static const char EMPTY_INDEX[] =
    "{\"manifests\":[],\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"schemaVersion\":2}";

bool img_digest_valid(const char *d)
{
    if (!d || strncmp(d, "sha256:", 7))
        return false;
    const char *h = d + 7;
    size_t n = 0;
    for (; h[n]; n++)
        if (!((h[n] >= '0' && h[n] <= '9') || (h[n] >= 'a' && h[n] <= 'f')))
            return false;
    return n == 64;
}

const char *img_digest_hex(const char *d)
{
    return d + 7;
}

static int proc_fd_path(int fd, char *buf, size_t len)
{
    return snprintf(buf, len, "/proc/self/fd/%d", fd) >= (int)len ? -1 : 0;
}

/* Give an O_TMPFILE file the name `name` in dirfd (EEXIST when taken). */
static int link_tmpfile(int fd, int dirfd, const char *name)
{
    if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0)
        return 0;
    if (errno != ENOENT && errno != EPERM)
        return -1;
    /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc works without it. */
    char p[64];
    if (proc_fd_path(fd, p, sizeof p) < 0)
        return -1;
    return linkat(AT_FDCWD, p, dirfd, name, AT_SYMLINK_FOLLOW);
}

static unsigned long tmp_counter(void)
{
    static unsigned long n;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long)ts.tv_nsec ^ (++n << 20);
}

int img__write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode, nr_err *err)
{
    if (strchr(name, '/'))
        return nr_write_atomic(dirfd, name, data, len, mode, err);
    cleanup_close int fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
            return nr_write_atomic(dirfd, name, data, len, mode, err);
        return nr_err_sys(err, errno, "create %s", name);
    }
    if (nr_write_all(fd, data, len) < 0 || fsync(fd) < 0 || fchmod(fd, mode) < 0)
        return nr_err_sys(err, errno, "write %s", name);
    char tmp[256];
    snprintf(tmp, sizeof tmp, ".tmp-%d-%lx-%.180s", (int)getpid(), tmp_counter(), name);
    if (link_tmpfile(fd, dirfd, tmp) < 0)
        return nr_err_sys(err, errno, "write %s", name);
    if (renameat(dirfd, tmp, dirfd, name) < 0) {
        int e = errno;
        unlinkat(dirfd, tmp, 0);
        return nr_err_sys(err, e, "rename %s", name);
    }
    if (fsync(dirfd) < 0 && errno != EINVAL)
        return nr_err_sys(err, errno, "fsync directory of %s", name);
    return 0;
}

size_t img__clean_temps(int dirfd, bool all)
{
    cleanup_dir DIR *d = nr_opendir_fd(dirfd);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, ".tmp-", 5))
            continue;
        char *end;
        long pid = strtol(de->d_name + 5, &end, 10);
        bool dead = end != de->d_name + 5 && *end == '-' && pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
        if (!all && !dead)
            continue;
        if (unlinkat(dirfd, de->d_name, 0) == 0)
            n++;
    }
    return n;
}

int img__open_nofollow(int dirfd, const char *path, int flags)
{
    struct open_how how = {.flags = (unsigned long long)flags | O_CLOEXEC | O_NOFOLLOW,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

/* Who may own the store and what is in it: root, or the user running nrun
 * (a rootless store).  Anyone else could have put a symlink or their own
 * directory there, and root would then write into, or chmod, a directory of
 * their choosing. */
static bool owner_trusted(const struct stat *st)
{
    return st->st_uid == 0 || st->st_uid == geteuid();
}

/* The error for dirfd/name that cannot be opened as a plain directory. */
static int refuse_entry(const char *root, int dirfd, const char *name, int e, nr_err *err)
{
    struct stat st;
    if (e == ELOOP || e == EXDEV || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (e == ELOOP || e == EXDEV || S_ISLNK(st.st_mode))
            return nr_err_set(err, "store: %s/%s is a symlink or crosses one: refused", root, name);
        if (!S_ISDIR(st.st_mode))
            return nr_err_set(err, "store: %s/%s is not a directory: refused", root, name);
    }
    return nr_err_sys(err, e, "store: open %s/%s", root, name);
}

static int check_owner(const char *root, const char *name, int fd, nr_err *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return nr_err_sys(err, errno, "store: stat %s/%s", root, name);
    if (!owner_trusted(&st))
        return nr_err_set(err, "store: %s/%s is owned by uid %u, not by root or uid %u: refused", root, name,
                          (unsigned)st.st_uid, (unsigned)geteuid());
    return 0;
}

/* nrun's own directories hold image content (blobs, unpacked layers, build
 * cache) and container data (upper dirs, volumes).  A host user who could
 * reach them could run a setuid-root file of an image or one a container
 * wrote into a volume, so only their owner may enter them.  Containers do not
 * need the paths: root makes the overlay and bind mounts, and a container's
 * process reaches its files through those mounts. */
static const char *const private_dirs[] = {"blobs", "blobs/sha256", "layers", "cache", "containers", "volumes"};
/* Directories the runtime makes below them, checked the same way where they
 * exist (the pool of recycled container dirs: a link there would hand a
 * directory of someone else's to the next container). */
static const char *const runtime_dirs[] = {"containers/.free"};
/* The files of the root, which must be plain files where they exist. */
static const char *const root_files[] = {"oci-layout", "index.json", IMG_INDEX_LOCK, IMG_GC_LOCK};

/* Make dirfd/name a directory only its owner can enter: created 0700, or an
 * existing one (a store made by an older nrun) stripped of group and other
 * bits.  Never through a symlink, and never one someone else owns: only the
 * fd opened here is changed.  A read-only store is only checked. */
static int ensure_private_dir(const char *root, int dirfd, const char *name, bool writable, nr_err *err)
{
    if (writable && mkdirat(dirfd, name, 0700) == 0)
        return 0;
    if (writable && errno != EEXIST)
        return nr_err_sys(err, errno, "store: mkdir %s/%s", root, name);
    cleanup_close int fd = img__open_nofollow(dirfd, name, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        if (!writable && errno == ENOENT)
            return 0;
        return refuse_entry(root, dirfd, name, errno, err);
    }
    struct stat st;
    if (check_owner(root, name, fd, err) < 0 || fstat(fd, &st) < 0)
        return -1;
    if (writable && (st.st_mode & 077) && fchmod(fd, st.st_mode & 07700) < 0)
        return nr_err_sys(err, errno, "store: chmod %s/%s to owner-only", root, name);
    return 0;
}

static int check_root_file(const char *root, int dirfd, const char *name, nr_err *err)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : nr_err_sys(err, errno, "store: stat %s/%s", root, name);
    if (S_ISLNK(st.st_mode))
        return nr_err_set(err, "store: %s/%s is a symlink: refused", root, name);
    if (!S_ISREG(st.st_mode))
        return nr_err_set(err, "store: %s/%s is not a regular file: refused", root, name);
    if (!owner_trusted(&st))
        return nr_err_set(err, "store: %s/%s is owned by uid %u, not by root or uid %u: refused", root, name,
                          (unsigned)st.st_uid, (unsigned)geteuid());
    return 0;
}

/* The root itself: a path the user chose is followed (as docker's
 * --data-root is), but what it leads to must be ours and closed to others,
 * or another user could swap its entries between our checks and our use. */
static int check_root(const char *root, int fd, nr_err *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return nr_err_sys(err, errno, "store %s: stat", root);
    if (!owner_trusted(&st))
        return nr_err_set(err, "store %s is owned by uid %u, not by root or uid %u: refused", root,
                          (unsigned)st.st_uid, (unsigned)geteuid());
    if (st.st_mode & 022)
        return nr_err_set(err, "store %s is writable by group or others (mode %04o): refused", root,
                          (unsigned)(st.st_mode & 07777));
    return 0;
}

/* A root nrun creates is owner-only too; missing parents (a path the user
 * chose) get the usual 0755. */
static int make_root(const char *root, nr_err *err)
{
    cleanup_free char *parent = nr_xstrdup(root);
    size_t n = strlen(parent);
    while (n > 1 && parent[n - 1] == '/')
        parent[--n] = 0;
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        if (nr_mkdir_p(parent, 0755, err) < 0)
            return -1;
    }
    if (mkdir(root, 0700) < 0 && errno != EEXIST)
        return nr_err_sys(err, errno, "mkdir %s", root);
    return 0;
}

static int ensure_file(int dirfd, const char *name, const char *content, nr_err *err)
{
    if (faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    if (errno != ENOENT)
        return nr_err_sys(err, errno, "access %s", name);
    return img__write_atomic(dirfd, name, content, strlen(content), 0644, err);
}

int img_store_open(const char *root, img_store **out, nr_err *err)
{
    if (!root || !*root)
        return nr_err_set(err, "store root is empty");
    int no2 = nr_openat2_missing();
    if (no2)
        return nr_err_set(err, "store %s: openat2 is %s, and nrun resolves every path in the store with it", root,
                          no2 == ENOSYS ? "missing (Linux before 5.6)"
                                        : "refused (EPERM: a seccomp filter that does not know it, as Docker's "
                                          "default profile before 20.10?)");
    struct stat st;
    if (stat(root, &st) < 0) {
        if (errno != ENOENT)
            return nr_err_sys(err, errno, "store %s", root);
        if (make_root(root, err) < 0)
            return nr_err_wrap(err, "create store");
    } else if (!S_ISDIR(st.st_mode)) {
        return nr_err_sys(err, ENOTDIR, "store %s", root);
    }
    img_store *s = nr_xcalloc(1, sizeof *s);
    s->root = nr_xstrdup(root);
    s->root_fd = s->blobs_fd = s->gc_fd = -1;
    s->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->root_fd < 0) {
        nr_err_sys(err, errno, "open store %s", root);
        goto fail;
    }
    if (check_root(root, s->root_fd, err) < 0)
        goto fail;
    s->writable = faccessat(s->root_fd, ".", W_OK, AT_EACCESS) == 0;
    /* Create what is missing and close what an older nrun left open to
     * everyone; a store we cannot write is left untouched and still serves
     * reads. */
    for (size_t i = 0; i < NR_ARRAY_LEN(private_dirs); i++)
        if (ensure_private_dir(root, s->root_fd, private_dirs[i], s->writable, err) < 0)
            goto fail;
    for (size_t i = 0; i < NR_ARRAY_LEN(runtime_dirs); i++)
        if (ensure_private_dir(root, s->root_fd, runtime_dirs[i], false, err) < 0)
            goto fail;
    for (size_t i = 0; i < NR_ARRAY_LEN(root_files); i++)
        if (check_root_file(root, s->root_fd, root_files[i], err) < 0)
            goto fail;
    if (s->writable && (ensure_file(s->root_fd, "oci-layout", OCI_LAYOUT, err) < 0 ||
                        ensure_file(s->root_fd, "index.json", EMPTY_INDEX, err) < 0))
        goto fail_wrap;
    /* Lock files exist from the start, so later commands only lock them
     * (the root is not modified by a failing write on a full disk). */
    if (s->writable &&
        (ensure_file(s->root_fd, IMG_INDEX_LOCK, "", err) < 0 || ensure_file(s->root_fd, IMG_GC_LOCK, "", err) < 0))
        goto fail_wrap;
    if (!s->writable && faccessat(s->root_fd, "index.json", F_OK, 0) < 0) {
        nr_err_sys(err, errno, "store %s is read-only and has no index.json", root);
        goto fail;
    }
    s->blobs_fd = img__open_nofollow(s->root_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY);
    if (s->blobs_fd < 0) {
        refuse_entry(root, s->root_fd, "blobs/sha256", errno, err);
        goto fail;
    }
    if (s->writable) {
        img__clean_temps(s->root_fd, false);
        img__clean_temps(s->blobs_fd, false);
    }
    *out = s;
    return 0;
fail_wrap:
    nr_err_wrap(err, "store %s", root);
fail:
    img_store_close(s);
    return -1;
}

int img_store_check(const char *root, nr_err *err)
{
    cleanup_close int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : nr_err_sys(err, errno, "open store %s", root);
    if (check_root(root, fd, err) < 0)
        return -1;
    for (size_t i = 0; i < NR_ARRAY_LEN(private_dirs); i++)
        if (ensure_private_dir(root, fd, private_dirs[i], false, err) < 0)
            return -1;
    for (size_t i = 0; i < NR_ARRAY_LEN(runtime_dirs); i++)
        if (ensure_private_dir(root, fd, runtime_dirs[i], false, err) < 0)
            return -1;
    for (size_t i = 0; i < NR_ARRAY_LEN(root_files); i++)
        if (check_root_file(root, fd, root_files[i], err) < 0)
            return -1;
    return 0;
}

void img_store_close(img_store *s)
{
    if (!s)
        return;
    if (s->root_fd >= 0)
        close(s->root_fd);
    if (s->blobs_fd >= 0)
        close(s->blobs_fd);
    if (s->gc_fd >= 0)
        close(s->gc_fd);
    free(s->root);
    free(s);
}

const char *img_store_root(const img_store *s)
{
    return s->root;
}
int img_store_dirfd(const img_store *s)
{
    return s->root_fd;
}
int img_store_blobs_dirfd(const img_store *s)
{
    return s->blobs_fd;
}

int img_store_hold(img_store *s, nr_err *err)
{
    if (s->gc_fd >= 0)
        return 0;
    if (nr_lock(s->root_fd, IMG_GC_LOCK, false, &s->gc_fd, err) < 0)
        return nr_err_wrap(err, "store %s", s->root);
    return 0;
}

int img__lock_index(img_store *s, bool exclusive, int *fd_out, nr_err *err)
{
    if (exclusive || s->writable) {
        if (nr_lock(s->root_fd, IMG_INDEX_LOCK, exclusive, fd_out, err) < 0)
            return nr_err_wrap(err, "store %s", s->root);
        return 0;
    }
    /* A store we cannot write (read-only mount): lock read-only when the
     * lock file exists; nobody can change index.json there anyway. */
    cleanup_close int fd = openat(s->root_fd, IMG_INDEX_LOCK, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        while (flock(fd, LOCK_SH) < 0)
            if (errno != EINTR)
                return nr_err_sys(err, errno, "lock %s/%s", s->root, IMG_INDEX_LOCK);
    } else if (errno != ENOENT) {
        return nr_err_sys(err, errno, "open %s/%s", s->root, IMG_INDEX_LOCK);
    }
    *fd_out = steal_fd(&fd);
    return 0;
}

int img__not_found(nr_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->errnum = ENOENT;
    return -1;
}
