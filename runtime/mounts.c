/* The container's filesystem view, built in its new mount namespace: the
 * overlay (or plain) root, the spec's mounts, a minimal /dev, pivot_root, then
 * masked and read-only paths.  The image is hostile: every mount target is
 * resolved inside the root with openat2(RESOLVE_IN_ROOT) and mounted through
 * its fd, so a symlink like /proc -> /etc/.. in a layer can never redirect a
 * mount onto the host. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/net.h"
#include "runtime/runtime.h"

static int openat2_in_root(int rootfd, const char *path, int flags)
{
    struct open_how how = {.flags = (unsigned long long)flags | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    while (*path == '/')
        path++;
    if (!*path)
        path = ".";
    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* Open (creating as needed) `path` inside the root: a directory, or an empty
 * file when `file` is set.  Returns an O_PATH fd. */
static int ensure_in_root(int rootfd, const char *path, bool file, nr_err *err)
{
    int fd = openat2_in_root(rootfd, path, O_PATH);
    if (fd >= 0 || errno != ENOENT)
        return fd >= 0 ? fd : nr_err_sys(err, errno, "resolve %s in the container", path);
    cleanup_free char *copy = nr_xstrdup(path);
    char *slash = strrchr(copy, '/');
    const char *name = slash ? slash + 1 : copy;
    if (slash)
        *slash = 0;
    cleanup_close int parent = -1;
    if (slash && *copy) {
        parent = ensure_in_root(rootfd, copy, false, err);
        if (parent < 0)
            return -1;
    } else {
        parent = dup(rootfd);
    }
    /* reopen the parent as a real directory fd to create in it */
    cleanup_close int pdir = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pdir < 0)
        return nr_err_sys(err, errno, "open parent of %s in the container", path);
    if (file) {
        int f = openat(pdir, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (f < 0 && errno != EEXIST)
            return nr_err_sys(err, errno, "create %s in the container", path);
        if (f >= 0)
            close(f);
    } else if (mkdirat(pdir, name, 0755) == 0) {
        /* 0755 whatever the caller's umask: a non-root app must enter it */
        if (fchmodat(pdir, name, 0755, 0) < 0)
            return nr_err_sys(err, errno, "chmod %s in the container", path);
    } else if (errno != EEXIST) {
        return nr_err_sys(err, errno, "mkdir %s in the container", path);
    }
    fd = openat2_in_root(rootfd, path, O_PATH);
    if (fd < 0)
        return nr_err_sys(err, errno, "resolve %s in the container", path);
    return fd;
}

static int mount_at_fd(const char *src, int fd, const char *type, unsigned long flags, const char *data,
                       const char *what, nr_err *err)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    if (mount(src, p, type, flags, data && *data ? data : NULL) < 0)
        return nr_err_sys(err, errno, "mount %s on %s", type ? type : src, what);
    return 0;
}

static int make_dev(int rootfd, nr_err *err)
{
    static const struct { const char *name; unsigned maj, min; } devs[] = {
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
    };
    cleanup_close int dev = openat2_in_root(rootfd, "/dev", O_RDONLY | O_DIRECTORY);
    if (dev < 0)
        return nr_err_sys(err, errno, "open /dev in the container");
    /* rootless: no device can be made in a user namespace, so the host's
     * own nodes are bound (still before pivot_root: "/dev/null" is the host's) */
    bool bind = nr_in_userns();
    for (size_t i = 0; bind && i < NR_ARRAY_LEN(devs); i++) {
        cleanup_close int f = openat(dev, devs[i].name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        cleanup_free char *src = nr_xasprintf("/dev/%s", devs[i].name);
        if (f < 0)
            return nr_err_sys(err, errno, "create /dev/%s", devs[i].name);
        cleanup_close int t = openat(dev, devs[i].name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (t < 0)
            return nr_err_sys(err, errno, "reopen /dev/%s", devs[i].name);
        if (mount_at_fd(src, t, NULL, MS_BIND, NULL, src, err) < 0)
            return -1;
    }
    for (size_t i = 0; !bind && i < NR_ARRAY_LEN(devs); i++) {
        if (mknodat(dev, devs[i].name, S_IFCHR | 0666, makedev(devs[i].maj, devs[i].min)) < 0)
            return nr_err_sys(err, errno, "mknod /dev/%s", devs[i].name);
        if (fchmodat(dev, devs[i].name, 0666, 0) < 0) /* umask */
            return nr_err_sys(err, errno, "chmod /dev/%s", devs[i].name);
    }
    static const struct { const char *target, *name; } links[] = {
        {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
    };
    for (size_t i = 0; i < NR_ARRAY_LEN(links); i++)
        if (symlinkat(links[i].target, dev, links[i].name) < 0)
            return nr_err_sys(err, errno, "symlink /dev/%s", links[i].name);
    /* nrun's own dir, made now so that no later mount can take its place
     * unseen (see check_target) */
    const char *run_dir = &RT_CTR_RUN_DIR[sizeof "/dev/" - 1];
    if (mkdirat(dev, run_dir, 0755) < 0 || fchmodat(dev, run_dir, 0755, 0) < 0)
        return nr_err_sys(err, errno, "mkdir %s", RT_CTR_RUN_DIR);
    return 0;
}

/* --device: the nodes, in nrun's fresh /dev tmpfs (made just now by
 * make_dev, nothing of the image or the host mounted in it yet), parents
 * made as directories without following anything. */
static int make_devices(int rootfd, const rt_spec *s, nr_err *err)
{
    if (s->ndevices && nr_in_userns())
        return nr_err_set(err, "--device: no device node can be made in a user namespace");
    for (size_t i = 0; i < s->ndevices; i++) {
        const rt_device *d = &s->devices[i];
        cleanup_close int dir = openat2_in_root(rootfd, "/dev", O_RDONLY | O_DIRECTORY);
        if (dir < 0)
            return nr_err_sys(err, errno, "open /dev in the container");
        cleanup_free char *rel = nr_xstrdup(d->path + sizeof "/dev/" - 1);
        char *name = rel;
        for (char *slash; (slash = strchr(name, '/')); name = slash + 1) {
            *slash = 0;
            if (mkdirat(dir, name, 0755) < 0 && errno != EEXIST)
                return nr_err_sys(err, errno, "--device: mkdir for %s", d->path);
            int sub = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0)
                return nr_err_sys(err, errno, "--device: open the directory of %s", d->path);
            close(dir);
            dir = sub;
        }
        mode_t type = d->type == 'b' ? S_IFBLK : S_IFCHR;
        if (mknodat(dir, name, type | d->mode, makedev(d->major, d->minor)) < 0 ||
            fchmodat(dir, name, d->mode, 0) < 0 || fchownat(dir, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
            return nr_err_sys(err, errno, "--device: mknod %s", d->path);
    }
    return 0;
}

/* The spec's destinations are checked as strings (spec_policy.h); the image
 * can still turn one elsewhere with a symlink (/data -> /proc).  So a bind or
 * volume target is checked once resolved: never on a kernel filesystem (a
 * volume's copy-up would read the live /proc or /sys), never /dev itself or
 * nrun's /dev/.nrun (a host directory there would get nrun's files), and a
 * volume nrun makes nowhere in /dev (shm and mqueue included). */
static int check_target(int rootfd, int fd, const char *dest, bool nrun_volume, nr_err *err)
{
    struct statfs sf;
    struct stat st;
    if (fstatfs(fd, &sf) < 0 || fstat(fd, &st) < 0)
        return nr_err_sys(err, errno, "stat mount target %s", dest);
    static const struct { long magic; const char *name; } kernel[] = {
        {PROC_SUPER_MAGIC, "proc"},   {SYSFS_MAGIC, "sysfs"},   {CGROUP_SUPER_MAGIC, "cgroup"},
        {CGROUP2_SUPER_MAGIC, "cgroup2"}, {DEVPTS_SUPER_MAGIC, "devpts"}, {SECURITYFS_MAGIC, "securityfs"},
        {DEBUGFS_MAGIC, "debugfs"}, {TRACEFS_MAGIC, "tracefs"}, {BPF_FS_MAGIC, "bpf"},
    };
    for (size_t i = 0; i < NR_ARRAY_LEN(kernel); i++)
        if ((long)sf.f_type == kernel[i].magic)
            return nr_err_set(err, "mount %s: it resolves into the container's %s filesystem (a symlink in the "
                                   "image?): refused", dest, kernel[i].name);
    static const char *const ours[] = {"/dev", RT_CTR_RUN_DIR};
    for (size_t i = 0; i < NR_ARRAY_LEN(ours); i++) {
        cleanup_close int o = openat2_in_root(rootfd, ours[i], O_PATH);
        struct stat os;
        if (o >= 0 && fstat(o, &os) == 0 && os.st_dev == st.st_dev && os.st_ino == st.st_ino)
            return nr_err_set(err, "mount %s: it resolves to %s in the container (a symlink in the image?): refused",
                              dest, ours[i]);
    }
    /* and nrun's volumes nowhere in /dev: not on its tmpfs, nor on the
     * filesystems mounted in it (shm, mqueue, pts) */
    static const char *const devs[] = {"/dev", "/dev/shm", "/dev/mqueue", "/dev/pts"};
    for (size_t i = 0; nrun_volume && i < NR_ARRAY_LEN(devs); i++) {
        cleanup_close int o = openat2_in_root(rootfd, devs[i], O_PATH);
        struct stat os;
        if (o >= 0 && fstat(o, &os) == 0 && os.st_dev == st.st_dev)
            return nr_err_set(err, "volume %s: it resolves into %s in the container (a symlink in the image?): refused",
                              dest, devs[i]);
    }
    return 0;
}

/* /sys/fs/cgroup inside: read-only views of the container's own groups (the
 * cgroup namespace makes them its root), so the supervisor reads its quota. */
static int mount_cgroupfs(int rootfd, const char *dest, nr_err *err)
{
    cleanup_close int fd = ensure_in_root(rootfd, dest, false, err);
    if (fd < 0)
        return -1;
    unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME;
    /* rootless: the container has no group of its own (cgroup.c): an empty view */
    if (nr_in_userns())
        return mount_at_fd("tmpfs", fd, "tmpfs", fl | MS_RDONLY, "mode=755,size=4k", dest, err);
    if (rt_cgroup_detect() == RT_CG_V2)
        return mount_at_fd("cgroup2", fd, "cgroup2", fl | MS_RDONLY, NULL, dest, err);
    if (mount_at_fd("tmpfs", fd, "tmpfs", fl, "mode=755,size=64k", dest, err) < 0)
        return -1;
    cleanup_fclose FILE *f = fopen("/proc/self/cgroup", "re");
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = 0;
        const char *list = c1 + 1;
        bool named = !strncmp(list, "name=", 5);
        if (!*list || named)
            continue; /* the v2 hybrid part and named hierarchies hold nothing of ours */
        cleanup_free char *sub = nr_xasprintf("%s/%s", dest, list);
        cleanup_close int sfd = ensure_in_root(rootfd, sub, false, err);
        if (sfd < 0)
            return -1;
        if (mount_at_fd("cgroup", sfd, "cgroup", fl | MS_RDONLY, list, sub, err) < 0)
            return -1;
    }
    cleanup_close int top = openat2_in_root(rootfd, dest, O_PATH);
    if (top < 0)
        return nr_err_sys(err, errno, "reopen %s", dest);
    return mount_at_fd(NULL, top, NULL, MS_REMOUNT | MS_RDONLY | fl, "mode=755,size=64k", dest, err);
}

/* Bytes [off, end) of a into b at the same offsets: copy_file_range when the
 * kernel can (not from overlay to another fs on every version), else
 * pread/pwrite. */
static int copy_range(int a, int b, off_t off, off_t end)
{
    off_t in = off, out = off;
    while (in < end) {
        ssize_t c = copy_file_range(a, &in, b, &out, (size_t)(end - in), 0);
        if (c > 0)
            continue;
        if (c == 0)
            return 0; /* the file shrank under us: what is left is a hole */
        if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
            return -1;
        break;
    }
    char buf[65536];
    while (in < end) {
        size_t want = (size_t)(end - in) < sizeof buf ? (size_t)(end - in) : sizeof buf;
        ssize_t n = pread(a, buf, want, in);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -1 : 0;
        for (ssize_t w = 0; w < n;) {
            ssize_t k = pwrite(b, buf + w, (size_t)(n - w), in + w);
            if (k < 0 && errno != EINTR)
                return -1;
            w += k > 0 ? k : 0;
        }
        in += n;
    }
    return 0;
}

/* Copy a regular file of `size` bytes keeping its holes: only the data
 * extents SEEK_DATA/SEEK_HOLE report are copied, the rest stays a hole (a
 * sparse 2 GiB file in an image takes no 2 GiB in the volume).  A
 * filesystem without SEEK_DATA reports the whole file as data. */
static int copy_data(int a, int b, off_t size)
{
    off_t pos = 0;
    while (pos < size) {
        off_t d = lseek(a, pos, SEEK_DATA);
        if (d < 0 && errno == ENXIO)
            break; /* only a hole is left */
        if (d < 0) {
            if (errno != EINVAL && errno != EOPNOTSUPP)
                return -1;
            d = pos; /* no SEEK_DATA here: copy everything */
        }
        if (d >= size)
            break;
        off_t h = lseek(a, d, SEEK_HOLE);
        if (h < 0 || h > size)
            h = size;
        if (copy_range(a, b, d, h) < 0)
            return -1;
        pos = h;
    }
    return ftruncate(b, size);
}

int rt_copy_sparse(int in, int out, off_t size)
{
    return copy_data(in, out, size);
}

/* Copy a directory tree from the image into a fresh volume.  The image is
 * hostile: nothing is followed (O_NOFOLLOW everywhere, symlinks recreated as
 * symlinks), everything is created exclusively below the volume's own fd,
 * device nodes and sockets are skipped. */
static int copy_tree(int from, int to, int depth, nr_err *err)
{
    if (depth > 64)
        return nr_err_set(err, "volume copy-up: directory tree deeper than 64");
    int dfd = dup(from);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return nr_err_sys(err, errno, "volume copy-up: read dir");
    }
    rewinddir(d); /* the dup shares its offset with `from`: start from the top */
    int r = 0;
    struct dirent *e;
    while (r == 0 && (e = readdir(d))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        struct stat st;
        if (fstatat(from, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            r = nr_err_sys(err, errno, "volume copy-up: stat %s", n);
        } else if (S_ISDIR(st.st_mode)) {
            if (mkdirat(to, n, 0700) < 0) {
                r = nr_err_sys(err, errno, "volume copy-up: mkdir %s", n);
                break;
            }
            int a = openat(from, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            int b = openat(to, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (a < 0 || b < 0)
                r = nr_err_sys(err, errno, "volume copy-up: open %s", n);
            else if ((r = copy_tree(a, b, depth + 1, err)) == 0 &&
                     (fchown(b, st.st_uid, st.st_gid) < 0 || fchmod(b, st.st_mode & 07777) < 0))
                r = nr_err_sys(err, errno, "volume copy-up: chown %s", n);
            if (a >= 0)
                close(a);
            if (b >= 0)
                close(b);
        } else if (S_ISREG(st.st_mode)) {
            int a = openat(from, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            int b = openat(to, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (a < 0 || b < 0) {
                r = nr_err_sys(err, errno, "volume copy-up: open %s", n);
            } else {
                if (copy_data(a, b, st.st_size) < 0)
                    r = nr_err_sys(err, errno, "volume copy-up: copy %s", n);
                if (r == 0 && (fchown(b, st.st_uid, st.st_gid) < 0 || fchmod(b, st.st_mode & 07777) < 0))
                    r = nr_err_sys(err, errno, "volume copy-up: chown %s", n);
            }
            if (a >= 0)
                close(a);
            if (b >= 0)
                close(b);
        } else if (S_ISLNK(st.st_mode)) {
            char t[4096];
            ssize_t l = readlinkat(from, n, t, sizeof t - 1);
            if (l < 0)
                r = nr_err_sys(err, errno, "volume copy-up: readlink %s", n);
            else {
                t[l] = 0;
                if (symlinkat(t, to, n) < 0 || fchownat(to, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                    r = nr_err_sys(err, errno, "volume copy-up: symlink %s", n);
            }
        }
    }
    closedir(d);
    return r;
}

static bool dir_empty(int fd)
{
    int d2 = dup(fd);
    DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
    if (!d) {
        if (d2 >= 0)
            close(d2);
        return false;
    }
    rewinddir(d);
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)))
        empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    closedir(d);
    return empty;
}

/* Fill a fresh volume from the image's directory at its target (`target`,
 * resolved in the root before any mount: see volumes_copyup). */
static int volume_copyup(int target, const rt_mount *m, nr_err *err)
{
    cleanup_close int img = openat(target, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (img < 0)
        return 0; /* not a directory in the image: nothing to copy */
    cleanup_close int vol = open(m->source, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (vol < 0)
        return nr_err_sys(err, errno, "open volume %s", m->source);
    if (!dir_empty(vol))
        return 0; /* a used volume keeps its content */
    struct stat st;
    if (!dir_empty(img) && copy_tree(img, vol, 0, err) < 0)
        return nr_err_wrap(err, "volume %s", m->dest);
    /* and the directory's owner and mode, even when it is empty (/tmp's 1777, a user's home) */
    if (fstat(img, &st) == 0 && (fchown(vol, st.st_uid, st.st_gid) < 0 || fchmod(vol, st.st_mode & 07777) < 0))
        return nr_err_sys(err, errno, "volume %s: chown", m->dest);
    return 0;
}

/* Mount options without their gid=N */
static char *no_gid_option(const char *data)
{
    nr_buf o = {0};
    cleanup_free char *copy = nr_xstrdup(data);
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (strncmp(t, "gid=", 4))
            nr_buf_addf(&o, "%s%s", o.len ? "," : "", t);
    nr_buf_add(&o, "", 1);
    return o.data;
}

/* Volumes nrun makes start with the image's directory at their target, as
 * docker's do: read from the image itself, before any mount is made, so a
 * volume below a bind (compose's `./app:/app` and `/app/node_modules`) gets
 * the image's node_modules, not the empty view of the host directory, and
 * one below another volume gets the image's too.  Only the image is seen
 * here (no kernel filesystem, no /dev yet); each target is still checked by
 * check_target when it is mounted. */
static int volumes_copyup(int rootfd, const rt_spec *s, nr_err *err)
{
    for (size_t i = 0; i < s->nmounts; i++) {
        const rt_mount *m = &s->mounts[i];
        if (!m->copyup)
            continue;
        cleanup_close int fd = openat2_in_root(rootfd, m->dest, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
            continue; /* not a directory in the image: nothing to copy */
        if (volume_copyup(fd, m, err) < 0)
            return -1;
    }
    return 0;
}

static int do_mount(int rootfd, const rt_spec *s, const rt_mount *m, nr_err *err)
{
    if (!strcmp(m->type, "cgroup") || !strcmp(m->type, "cgroup2"))
        return mount_cgroupfs(rootfd, m->dest, err);
    bool file = false;
    if (m->bind) {
        struct stat st;
        if (stat(m->source, &st) < 0)
            return nr_err_sys(err, errno, "bind source %s", m->source);
        file = !S_ISDIR(st.st_mode);
    }
    cleanup_close int fd = ensure_in_root(rootfd, m->dest, file, err);
    if (fd < 0)
        return -1;
    /* a tmpfs of the flags (--tmpfs, --mount type=tmpfs, RUN --mount) is
     * checked as a volume nrun makes: the runtime's own are /dev and /dev/shm */
    bool user_tmpfs = !m->bind && !strcmp(m->type, "tmpfs") && strcmp(m->dest, "/dev") && strcmp(m->dest, "/dev/shm");
    if ((m->bind || m->copyup || user_tmpfs) && check_target(rootfd, fd, m->dest, m->copyup || user_tmpfs, err) < 0)
        return -1;
    if (m->bind) {
        if (mount_at_fd(m->source, fd, NULL, MS_BIND | (m->flags & MS_REC), NULL, m->dest, err) < 0)
            return -1;
        /* bind ignores other flags: apply them to the new mount and, for a
         * recursive bind, to every mount below it (a :ro bind of a dir with
         * a tmpfs inside must not leave that tmpfs writable) */
        unsigned long extra = m->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
        if (extra) {
            close(fd);
            fd = openat2_in_root(rootfd, m->dest, O_PATH);
            if (fd < 0)
                return nr_err_sys(err, errno, "reopen %s", m->dest);
            struct mount_attr attr = {
                .attr_set = (extra & MS_RDONLY ? MOUNT_ATTR_RDONLY : 0) | (extra & MS_NOSUID ? MOUNT_ATTR_NOSUID : 0) |
                            (extra & MS_NODEV ? MOUNT_ATTR_NODEV : 0) | (extra & MS_NOEXEC ? MOUNT_ATTR_NOEXEC : 0)};
            unsigned at = AT_EMPTY_PATH | (m->flags & MS_REC ? AT_RECURSIVE : 0);
            if (mount_setattr(fd, "", at, &attr, sizeof attr) < 0) {
                if (errno != ENOSYS) /* else a kernel before 5.12: the top mount only */
                    return nr_err_sys(err, errno, "set %s%s on %s", extra & MS_RDONLY ? "ro" : "flags",
                                      m->flags & MS_REC ? " recursively" : "", m->dest);
                if (mount_at_fd(NULL, fd, NULL, MS_BIND | MS_REMOUNT | extra, NULL, m->dest, err) < 0)
                    return -1;
            }
        }
    } else {
        unsigned long fl = m->flags & ~(MS_BIND | MS_REC);
        bool ro_later = !strcmp(m->type, "sysfs") ? false : (fl & MS_RDONLY);
        if (mount_at_fd(m->source, fd, m->type, ro_later ? fl & ~MS_RDONLY : fl, m->data, m->dest, err) < 0) {
            /* rootless with a single mapping: the tty group (gid=5) does
             * not exist in the namespace; the ptys get the caller's */
            if (!(nr_in_userns() && err->errnum == EINVAL && !strcmp(m->type, "devpts") && m->data))
                return -1;
            cleanup_free char *data = no_gid_option(m->data);
            if (mount_at_fd(m->source, fd, m->type, fl, data, m->dest, err) < 0)
                return -1;
        }
        if (!strcmp(m->dest, "/dev") && (make_dev(rootfd, err) < 0 || make_devices(rootfd, s, err) < 0))
            return -1;
        if (ro_later) {
            close(fd);
            fd = openat2_in_root(rootfd, m->dest, O_PATH);
            if (fd < 0 || mount_at_fd(NULL, fd, NULL, MS_REMOUNT | fl, m->data, m->dest, err) < 0)
                return fd < 0 ? nr_err_sys(err, errno, "reopen %s", m->dest) : -1;
        }
    }
    if (m->prop) {
        close(fd);
        fd = openat2_in_root(rootfd, m->dest, O_PATH);
        if (fd < 0 || mount_at_fd(NULL, fd, NULL, m->prop, NULL, m->dest, err) < 0)
            return fd < 0 ? nr_err_sys(err, errno, "reopen %s", m->dest) : -1;
    }
    return 0;
}

/* /etc/hostname, /etc/hosts and /etc/resolv.conf: written in the container's
 * own /dev tmpfs (/dev/.nrun) and bound over the image's, so a container puts
 * no file of them on the host's disk.  A -v onto one of them wins. */
static int etc_files(int rootfd, const rt_spec *s, const char *resolv, const char *host_hosts, nr_err *err)
{
    const char *h = s->hostname && *s->hostname ? s->hostname : "localhost";
    cleanup_free char *hn = nr_xasprintf("%s\n", h);
    /* --net host shares the host's addresses: its hosts file, as docker does;
     * a network of nrun's adds the container's address and the host's */
    const char *net_hosts = s->net_etc;
    cleanup_free char *hosts = host_hosts ? nr_xstrdup(host_hosts)
                               : net_hosts ? nr_xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
                                                          "ip6-loopback\n%s", net_hosts)
                                           : nr_xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
                                                          "ip6-loopback\n127.0.1.1\t%s\n", h);
    if (s->net_etc)
        resolv = s->net_etc + strlen(s->net_etc) + 1;
    /* the host's address on the network: host.nrun.internal's line */
    cleanup_free char *gw = NULL;
    for (const char *l = net_hosts; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
        size_t ll = strcspn(l, "\n"), al = strcspn(l, "\t");
        if (al < ll && !strncmp(l + al, "\thost.nrun.internal", 19) && !gw)
            gw = nr_xstrndup(l, al);
    }
    if (s->extra_hosts) {
        /* --add-host: after nrun's lines, as docker adds them; --net host's
         * host is this one: host-gateway is its loopback */
        cleanup_free char *x = rt_extra_hosts_text(s->extra_hosts, gw ? gw : !s->ns_net && !s->net_join ? "127.0.0.1" : NULL, err);
        if (!x)
            return -1;
        char *all = nr_xasprintf("%s%s%s", hosts, *hosts && hosts[strlen(hosts) - 1] != '\n' ? "\n" : "", x);
        free(hosts);
        hosts = all;
    }
    /* --dns*: in place of the network's (or the host's) lines; a network's
     * own DNS (dnsname, on the gateway) stays the first nameserver */
    cleanup_free char *rs = rt_resolv_compose(resolv, s, s->networks ? gw : NULL);
    const struct { const char *name, *text; } f[] = {{"hostname", hn}, {"hosts", hosts}, {"resolv.conf", rs}};
    cleanup_close int p = ensure_in_root(rootfd, RT_CTR_RUN_DIR, false, err);
    if (p < 0)
        return -1;
    cleanup_close int dir = openat(p, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return nr_err_sys(err, errno, "open /dev/.nrun in the container");
    for (size_t i = 0; i < NR_ARRAY_LEN(f); i++) {
        cleanup_free char *dest = nr_xasprintf("/etc/%s", f[i].name);
        bool user = false;
        for (size_t k = 0; k < s->nmounts; k++)
            user |= !strcmp(s->mounts[k].dest, dest);
        if (user)
            continue;
        cleanup_close int w = openat(dir, f[i].name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (w < 0 || nr_write_all(w, f[i].text, strlen(f[i].text)) < 0 || fchmod(w, 0644) < 0)
            return nr_err_sys(err, errno, "write /dev/.nrun/%s in the container", f[i].name);
        cleanup_close int src = openat(dir, f[i].name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        cleanup_close int dst = ensure_in_root(rootfd, dest, true, err);
        if (src < 0 || dst < 0)
            return src < 0 ? nr_err_sys(err, errno, "reopen /dev/.nrun/%s", f[i].name) : -1;
        char sp[64];
        snprintf(sp, sizeof sp, "/proc/self/fd/%d", src);
        if (mount_at_fd(sp, dst, NULL, MS_BIND, NULL, dest, err) < 0)
            return -1;
    }
    return 0;
}

/* A missing working directory is created (root's, 0755, parents too), as
 * docker does, after the mounts so one inside a volume is made there.  One
 * that exists, or that cannot be resolved for another reason (a file on the
 * way), is left to the app's chdir, which reports it. */
static int workdir_ensure(int rootfd, const char *cwd, nr_err *err)
{
    cleanup_close int fd = openat2_in_root(rootfd, cwd, O_PATH);
    if (fd >= 0 || errno != ENOENT)
        return 0;
    fd = ensure_in_root(rootfd, cwd, false, err);
    return fd < 0 ? nr_err_wrap(err, "working directory %s", cwd) : 0;
}

static int mount_overlay(const rt_spec *s, nr_err *err)
{
    /* Lower layers by short relative names from inside the layers dir: the
     * option string is limited to a page and 64-hex names keep ~60 layers in it. */
    cleanup_close int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (chdir(s->overlay_layers_dir) < 0)
        return nr_err_sys(err, errno, "chdir %s", s->overlay_layers_dir);
    nr_buf o = {0};
    nr_buf_addstr(&o, "lowerdir=");
    for (size_t i = 0; i < s->noverlay_lower; i++)
        nr_buf_addf(&o, "%s%s", i ? ":" : "", s->overlay_lower[i]);
    nr_buf_addf(&o, ",upperdir=%s,workdir=%s", s->overlay_upper, s->overlay_work);
    /* no metacopy or redirect: an upper dir a RUN step leaves must hold
     * whole files and real names to become a layer (images/layer_diff.c) */
    nr_buf_addstr(&o, ",index=off,xino=off,metacopy=off");
    /* rootless (a user namespace): overlay's marks (opaque dirs) in
     * user.overlay.* xattrs, as trusted.* is the host root's; redirects
     * are then neither made nor followed */
    nr_buf_addstr(&o, nr_in_userns() ? ",userxattr,redirect_dir=nofollow" : ",redirect_dir=off");
    /* An overlay's last unmount syncs its whole upper filesystem (the host's
     * disk, with everything anyone dirtied on it), and the container's init
     * waits for that before it is reaped: 1 ms on a quiet machine, far more
     * on a busy one.  A --rm container's upper is deleted right after, so
     * durability buys nothing there; every other container keeps the sync. */
    if (s->overlay_volatile)
        nr_buf_addstr(&o, ",volatile");
    nr_buf_add(&o, "", 1);
    int r = 0;
    if (o.len >= 4096)
        r = nr_err_set(err, "overlay options for %zu layers exceed a page", s->noverlay_lower);
    else if (mount("overlay", s->root_path, "overlay", 0, o.data) < 0)
        r = nr_err_sys(err, errno, "mount overlay on %s (%zu layers)", s->root_path, s->noverlay_lower);
    nr_buf_free(&o);
    if (fchdir(cwd) < 0 && r == 0)
        r = nr_err_sys(err, errno, "fchdir");
    return r;
}

int rt_rootfs_mount_private(const rt_spec *s, nr_err *err)
{
    if (unshare(CLONE_NEWNS) < 0)
        return nr_err_sys(err, errno, "unshare mount namespace");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return nr_err_sys(err, errno, "make / private");
    return s->overlay_layers_dir ? mount_overlay(s, err) : 0;
}

int rt_mounts_setup(const rt_spec *s, nr_err *err)
{
    /* --net host: the host's resolver configuration and hosts, read while we still see them */
    cleanup_free char *resolv = NULL, *hosts = NULL;
    if (s->etc_files && !s->ns_net && !s->net_join) {
        size_t len;
        nr_err ign;
        if (nr_read_file(AT_FDCWD, "/etc/resolv.conf", 1 << 16, &resolv, &len, &ign) < 0)
            resolv = nr_xstrdup("");
        if (nr_read_file(AT_FDCWD, "/etc/hosts", 1 << 20, &hosts, &len, &ign) < 0)
            hosts = NULL;
    }
    /* Nothing we do here may propagate back to the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return nr_err_sys(err, errno, "make / private");
    if (s->overlay_layers_dir) {
        if (mount_overlay(s, err) < 0)
            return -1;
    } else if (mount(s->root_path, s->root_path, NULL, MS_BIND | MS_REC, NULL) < 0) {
        return nr_err_sys(err, errno, "bind %s", s->root_path);
    }
    cleanup_close int rootfd = open(s->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return nr_err_sys(err, errno, "open rootfs %s", s->root_path);
    if (volumes_copyup(rootfd, s, err) < 0)
        return -1;
    for (size_t i = 0; i < s->nmounts; i++) {
        rt_mount m = s->mounts[i];
        /* rootless on the host's network: sysfs may be mounted only by the
         * owner of the network namespace, so the host's /sys is bound,
         * read-only and recursively (the masked paths still apply) */
        if (nr_in_userns() && !s->ns_net && !strcmp(m.type, "sysfs")) {
            m.bind = true;
            m.source = "/sys";
            m.flags |= MS_REC | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
        }
        if (do_mount(rootfd, s, &m, err) < 0)
            return -1;
    }
    if (s->etc_files && etc_files(rootfd, s, resolv ? resolv : s->net_join ? "# the network of another container\n" : "# no network outside this container\n", hosts, err) < 0)
        return -1;
    if (s->cwd && workdir_ensure(rootfd, s->cwd, err) < 0)
        return -1;
    if (fchdir(rootfd) < 0)
        return nr_err_sys(err, errno, "chdir rootfs");
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return nr_err_sys(err, errno, "pivot_root %s", s->root_path);
    /* The old root is stacked below the new one at "/": detach it. */
    if (umount2(".", MNT_DETACH) < 0)
        return nr_err_sys(err, errno, "detach the old root");
    if (chdir("/") < 0)
        return nr_err_sys(err, errno, "chdir /");
    return 0;
}

int rt_mounts_finish(const rt_spec *s, nr_err *err)
{
    cleanup_close int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return nr_err_sys(err, errno, "open /");
    for (size_t i = 0; i < s->nmasked; i++) {
        cleanup_close int fd = openat2_in_root(rootfd, s->masked[i], O_PATH);
        if (fd < 0)
            continue; /* absent on this kernel */
        struct stat st;
        if (fstat(fd, &st) < 0)
            return nr_err_sys(err, errno, "stat %s", s->masked[i]);
        if (S_ISDIR(st.st_mode)) {
            if (mount_at_fd("tmpfs", fd, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0", s->masked[i], err) < 0)
                return -1;
        } else if (mount_at_fd("/dev/null", fd, NULL, MS_BIND, NULL, s->masked[i], err) < 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < s->nreadonly; i++) {
        cleanup_close int fd = openat2_in_root(rootfd, s->readonly[i], O_PATH);
        if (fd < 0)
            continue;
        char p[64];
        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
            return nr_err_sys(err, errno, "bind %s", s->readonly[i]);
        close(fd);
        fd = openat2_in_root(rootfd, s->readonly[i], O_PATH);
        if (fd < 0 || mount_at_fd(NULL, fd, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                  NULL, s->readonly[i], err) < 0)
            return fd < 0 ? nr_err_sys(err, errno, "reopen %s", s->readonly[i]) : -1;
    }
    if (s->root_readonly && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
        return nr_err_sys(err, errno, "remount / read-only");
    return 0;
}
