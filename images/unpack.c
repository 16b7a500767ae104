/* Extract a stored layer into the unpacked-layer cache (see unpack.h).  All
 * file operations are relative to the temp layer dir's fd; parents are
 * resolved with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so no path
 * in the tar can reach outside or be redirected by a link it created. */
#include "images/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/util.h"
#include "images/layer.h"

static int open_beneath(int dirfd, const char *path, int flags)
{
    struct open_how how = {.flags = (unsigned long long)flags | O_CLOEXEC,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
    return (int)syscall(SYS_openat2, dirfd, *path ? path : ".", &how, sizeof how);
}

/* Clean a tar path: strip "./" and trailing "/", refuse absolute and "..". */
static int clean_path(const char *in, char *out, size_t outlen, const char *what, nr_err *err)
{
    if (!in || !*in)
        return nr_err_set(err, "%s: empty name", what);
    if (in[0] == '/')
        return nr_err_set(err, "%s \"%s\": absolute path refused", what, in);
    size_t o = 0;
    const char *p = in;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchrnul(p, '/');
        size_t n = (size_t)(e - p);
        if (n == 1 && p[0] == '.') {
            p = e;
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return nr_err_set(err, "%s \"%s\": \"..\" refused", what, in);
        if (o + n + 2 >= outlen)
            return nr_err_set(err, "%s \"%.100s...\": path too long", what, in);
        if (o)
            out[o++] = '/';
        memcpy(out + o, p, n);
        o += n;
        p = e;
    }
    out[o] = 0;
    return 0;
}

/* Open (creating as needed, mode 0755) the directory `path` beneath root. */
static int mkdirs_beneath(int root, const char *path, const char *entry, nr_err *err)
{
    int fd = open_beneath(root, path, O_RDONLY | O_DIRECTORY);
    if (fd >= 0)
        return fd;
    if (errno == ELOOP || errno == EXDEV || errno == ENOTDIR)
        return nr_err_set(err, "entry \"%s\": parent \"%s\" is a symlink or not a directory: refused", entry, path);
    if (errno != ENOENT)
        return nr_err_sys(err, errno, "entry \"%s\": open %s", entry, path);
    cleanup_free char *copy = nr_xstrdup(path);
    char *slash = strrchr(copy, '/');
    cleanup_close int parent = -1;
    const char *name = copy;
    if (slash) {
        *slash = 0;
        name = slash + 1;
        parent = mkdirs_beneath(root, copy, entry, err);
    } else {
        parent = open_beneath(root, "", O_RDONLY | O_DIRECTORY);
    }
    if (parent < 0)
        return -1;
    if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
        return nr_err_sys(err, errno, "entry \"%s\": mkdir %s", entry, path);
    fd = open_beneath(root, path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return nr_err_set(err, "entry \"%s\": parent \"%s\" is a symlink or not a directory: refused", entry, path);
    return fd;
}

/* Remove what is at parent/name unless both it and the new entry are dirs. */
static int clear_slot(int parent, const char *name, bool new_is_dir, const char *entry, nr_err *err)
{
    struct stat st;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : nr_err_sys(err, errno, "entry \"%s\": stat", entry);
    if (S_ISDIR(st.st_mode)) {
        if (new_is_dir)
            return 0;
        return nr_rm_rf(parent, name, err);
    }
    if (unlinkat(parent, name, 0) < 0)
        return nr_err_sys(err, errno, "entry \"%s\": replace", entry);
    return 0;
}

static int write_data(struct archive *a, int fd, const char *entry, nr_err *err)
{
    const void *buf;
    size_t len;
    la_int64_t off;
    for (;;) {
        int r = archive_read_data_block(a, &buf, &len, &off);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r != ARCHIVE_OK)
            return nr_err_set(err, "entry \"%s\": %s", entry, archive_error_string(a));
        if (pwrite(fd, buf, len, off) != (ssize_t)len)
            return nr_err_sys(err, errno, "entry \"%s\": write", entry);
    }
}

/* A chown that failed: in a user namespace EINVAL means the id has no
 * place in its map (a rootless build without a subuid/subgid range for it). */
static int chown_error(const char *raw, uid_t uid, gid_t gid, nr_err *err)
{
    if (errno == EINVAL && nr_in_userns())
        return nr_err_set(err, "entry \"%s\": owned by %u:%u, which this user namespace does not map (a rootless "
                               "build maps only the caller unless /etc/subuid and /etc/subgid give it a range)",
                          raw, (unsigned)uid, (unsigned)gid);
    return nr_err_sys(err, errno, "entry \"%s\": chown", raw);
}

static int extract_entry(struct archive *a, struct archive_entry *ae, int root, nr_err *err)
{
    char path[4096];
    const char *raw = archive_entry_pathname(ae);
    if (clean_path(raw, path, sizeof path, "entry", err) < 0)
        return -1;
    if (!*path)
        return 0; /* "./" itself */
    char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char parent_path[4096];
    snprintf(parent_path, sizeof parent_path, "%.*s", slash ? (int)(slash - path) : 0, path);
    cleanup_close int parent = mkdirs_beneath(root, parent_path, raw, err);
    if (parent < 0)
        return -1;
    /* OCI whiteouts -> overlay whiteouts */
    if (!strncmp(base, ".wh.", 4)) {
        if (!strcmp(base, ".wh..wh..opq")) {
            /* a rootless store's overlay reads its marks from user.overlay.* (runtime/mounts.c) */
            if (fsetxattr(parent, nr_in_userns() ? "user.overlay.opaque" : "trusted.overlay.opaque", "y", 1, 0) < 0)
                return nr_err_sys(err, errno, "entry \"%s\": set opaque", raw);
            return 0;
        }
        const char *victim = base + 4;
        if (!*victim || !strcmp(victim, ".") || !strcmp(victim, ".."))
            return nr_err_set(err, "entry \"%s\": bad whiteout", raw);
        if (clear_slot(parent, victim, false, raw, err) < 0)
            return -1;
        if (mknodat(parent, victim, S_IFCHR | 0, makedev(0, 0)) < 0)
            return nr_err_sys(err, errno, "entry \"%s\": whiteout", raw);
        return 0;
    }
    mode_t type = archive_entry_filetype(ae);
    mode_t perm = archive_entry_perm(ae) & 07777;
    uid_t uid = (uid_t)archive_entry_uid(ae);
    gid_t gid = (gid_t)archive_entry_gid(ae);
    const char *hl = archive_entry_hardlink(ae);
    if (hl) {
        char target[4096];
        if (clean_path(hl, target, sizeof target, "hardlink target of", err) < 0)
            return nr_err_wrap(err, "entry \"%s\"", raw);
        /* the target must be a regular file already inside this layer, reached without symlinks */
        cleanup_close int tfd = open_beneath(root, target, O_PATH | O_NOFOLLOW);
        struct stat st;
        if (tfd < 0 || fstat(tfd, &st) < 0 || S_ISDIR(st.st_mode))
            return nr_err_set(err, "entry \"%s\": hardlink to \"%s\" outside the layer or missing: refused", raw, hl);
        if (clear_slot(parent, base, false, raw, err) < 0)
            return -1;
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", tfd);
        if (linkat(AT_FDCWD, proc, parent, base, AT_SYMLINK_FOLLOW) < 0)
            return nr_err_sys(err, errno, "entry \"%s\": hardlink", raw);
        return 0;
    }
    switch (type) {
    case AE_IFDIR: {
        if (clear_slot(parent, base, true, raw, err) < 0)
            return -1;
        if (mkdirat(parent, base, 0700) < 0 && errno != EEXIST)
            return nr_err_sys(err, errno, "entry \"%s\": mkdir", raw);
        cleanup_close int d = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d < 0)
            return nr_err_sys(err, errno, "entry \"%s\": open dir", raw);
        if (fchown(d, uid, gid) < 0)
            return chown_error(raw, uid, gid, err);
        if (fchmod(d, perm) < 0)
            return nr_err_sys(err, errno, "entry \"%s\": chmod", raw);
        return 0;
    }
    case AE_IFREG: {
        if (clear_slot(parent, base, false, raw, err) < 0)
            return -1;
        cleanup_close int f = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (f < 0)
            return nr_err_sys(err, errno, "entry \"%s\": create", raw);
        if (write_data(a, f, raw, err) < 0)
            return -1;
        if (ftruncate(f, archive_entry_size(ae)) < 0)
            return nr_err_sys(err, errno, "entry \"%s\": truncate", raw);
        /* chown before chmod: chown clears setuid bits */
        if (fchown(f, uid, gid) < 0)
            return chown_error(raw, uid, gid, err);
        if (fchmod(f, perm) < 0)
            return nr_err_sys(err, errno, "entry \"%s\": chmod", raw);
        struct timespec ts[2] = {{archive_entry_mtime(ae), 0}, {archive_entry_mtime(ae), 0}};
        futimens(f, ts);
        return 0;
    }
    case AE_IFLNK: {
        const char *t = archive_entry_symlink(ae);
        if (!t || !*t)
            return nr_err_set(err, "entry \"%s\": empty symlink target", raw);
        if (clear_slot(parent, base, false, raw, err) < 0)
            return -1;
        if (symlinkat(t, parent, base) < 0)
            return nr_err_sys(err, errno, "entry \"%s\": symlink", raw);
        if (fchownat(parent, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
            return chown_error(raw, uid, gid, err);
        return 0;
    }
    case AE_IFIFO:
        if (clear_slot(parent, base, false, raw, err) < 0)
            return -1;
        if (mknodat(parent, base, S_IFIFO | perm, 0) < 0 || fchownat(parent, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
            return nr_err_sys(err, errno, "entry \"%s\": mkfifo", raw);
        return 0;
    case AE_IFCHR:
    case AE_IFBLK:
        if (type == AE_IFCHR && archive_entry_rdevmajor(ae) == 0 && archive_entry_rdevminor(ae) == 0)
            return nr_err_set(err, "entry \"%s\": a 0/0 character device (an overlay whiteout in disguise) refused", raw);
        return nr_err_set(err, "entry \"%s\": device node %u:%u refused", raw, (unsigned)archive_entry_rdevmajor(ae),
                          (unsigned)archive_entry_rdevminor(ae));
    case AE_IFSOCK:
        return 0; /* sockets are meaningless in an image */
    default:
        return nr_err_set(err, "entry \"%s\": unknown file type 0%o refused", raw, (unsigned)type);
    }
}

/* Remove temp dirs of this layer left by a crashed unpack (we hold its lock). */
static void remove_stale(int layers_fd, const char *hex)
{
    cleanup_free char *prefix = nr_xasprintf(".tmp-%s-", hex);
    int fd = dup(layers_fd);
    if (fd < 0)
        return;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *e;
    nr_err ign;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix)))
            nr_rm_rf(layers_fd, e->d_name, &ign);
    closedir(d);
}

/* A small layer of directories and regular files only (a WORKDIR's, a
 * COPY of a few files) is made durable by an fsync of each of them, not by
 * a syncfs that waits for everything anyone dirtied on the host's disk.
 * 1: done; 0: not such a layer (budget exhausted, another type: a symlink
 * or a device node cannot be fsynced by itself); -1: a call failed. */
#define SMALL_LAYER_ENTRIES 64

static int fsync_small(int dfd, int depth, int *budget)
{
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int r = 1;
    struct dirent *e;
    while (r == 1 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (--*budget < 0 || depth > 32 || (e->d_type != DT_DIR && e->d_type != DT_REG)) {
            r = 0;
            break;
        }
        cleanup_close int c = openat(dirfd(d), e->d_name,
                                     O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (e->d_type == DT_DIR ? O_DIRECTORY : 0));
        if (c < 0)
            r = -1;
        else if (e->d_type == DT_DIR)
            r = fsync_small(c, depth + 1, budget);
        if (r == 1 && fsync(c) < 0)
            r = -1;
    }
    closedir(d);
    return r;
}

static int extract(img_store *s, const img_layer_desc *l, int layers_fd, const char *tmp, nr_err *err)
{
    img_layer_reader *r;
    if (img_layer_reader_open(s, l->blob.digest, (int64_t)l->blob.size, l->diff_id, &r, err) < 0)
        return -1;
    int ret = -1;
    cleanup_close int root = -1; /* before the first goto: out: closes it */
    if (mkdirat(layers_fd, tmp, 0755) < 0) {
        nr_err_sys(err, errno, "mkdir layers/%s", tmp);
        goto out;
    }
    root = openat(layers_fd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
        nr_err_sys(err, errno, "open layers/%s", tmp);
        goto out;
    }
    struct archive *a = img_layer_reader_archive(r);
    struct archive_entry *ae;
    for (;;) {
        int rc = archive_read_next_header(a, &ae);
        if (rc == ARCHIVE_EOF)
            break;
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
            nr_err_set(err, "%s", archive_error_string(a));
            goto out;
        }
        if (extract_entry(a, ae, root, err) < 0)
            goto out;
    }
    if (img_layer_reader_finish(r, err) < 0)
        goto out;
    /* Durable before it becomes visible: a crash never leaves a half layer in use. */
    int budget = SMALL_LAYER_ENTRIES;
    bool synced = fsync_small(root, 0, &budget) == 1 && fsync(root) == 0; /* else: syncfs says what fails */
    if (!synced && syncfs(root) < 0) {
        nr_err_sys(err, errno, "sync layer");
        goto out;
    }
    ret = 0;
out:
    img_layer_reader_close(r);
    if (ret < 0)
        nr_err_wrap(err, "unpack layer %s", l->blob.digest);
    return ret;
}

/* The layer's work, under its lock: extract to a temp dir, rename into place. */
static int unpack_locked(img_store *s, const img_layer_desc *l, int layers_fd, bool *did_work, nr_err *err)
{
    const char *hex = img_digest_hex(l->diff_id);
    struct stat st;
    if (fstatat(layers_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
        return 0; /* another nrun finished it while we waited */
    remove_stale(layers_fd, hex);
    cleanup_free char *tmp = nr_xasprintf(".tmp-%s-%d", hex, (int)getpid());
    nr_err ign;
    if (extract(s, l, layers_fd, tmp, err) < 0) {
        nr_rm_rf(layers_fd, tmp, &ign);
        return -1;
    }
    if (renameat(layers_fd, tmp, layers_fd, hex) < 0) {
        int e = errno;
        nr_rm_rf(layers_fd, tmp, &ign);
        return nr_err_sys(err, e, "rename layer %s into place", hex);
    }
    fsync(layers_fd);
    if (did_work)
        *did_work = true;
    return 0;
}

int img_layer_unpack(img_store *s, const img_layer_desc *l, bool *did_work, nr_err *err)
{
    if (did_work)
        *did_work = false;
    if (!img_digest_valid(l->diff_id) || !img_digest_valid(l->blob.digest))
        return nr_err_set(err, "layer: invalid digest or diff_id");
    const char *hex = img_digest_hex(l->diff_id);
    cleanup_close int layers_fd = openat(img_store_dirfd(s), "layers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (layers_fd < 0)
        return nr_err_sys(err, errno, "open %s/layers", img_store_root(s));
    struct stat st;
    if (fstatat(layers_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
        return 0; /* unpacked once already */
    /* The lock file goes when the work is done, so a refused layer leaves
     * layers/ exactly as it was. */
    cleanup_free char *lockname = nr_xasprintf(".lock-%s", hex);
    int lock;
    if (nr_lock_transient(layers_fd, lockname, &lock, err) < 0)
        return nr_err_wrap(err, "%s/layers", img_store_root(s));
    int r = unpack_locked(s, l, layers_fd, did_work, err);
    nr_unlock_transient(layers_fd, lockname, lock);
    return r;
}

int img_image_unpack(img_store *s, const img_image *img, size_t *n_extracted, nr_err *err)
{
    if (n_extracted)
        *n_extracted = 0;
    for (size_t i = 0; i < img->n_layers; i++) {
        bool did;
        if (img_layer_unpack(s, &img->layers[i], &did, err) < 0)
            return -1;
        if (did && n_extracted)
            (*n_extracted)++;
    }
    return 0;
}
