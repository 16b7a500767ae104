/* An overlayfs upper directory as the OCI layer its changes mean (see the
 * last section of layer.h).  The walk is iterative: a stack of directory
 * paths, each opened beneath the upper dir with openat2 when its turn
 * comes, so it holds one directory descriptor at a time and nothing in the
 * tree (a symlink the step left, a deep nest) can lead it elsewhere or
 * exhaust the C stack. */
#include "images/layer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/util.h"

#define MAX_ENTRIES (1L << 22)
#define MAX_PATH 4095 /* what openat2 resolves (PATH_MAX with its NUL) */

/* A file with several names in the upper dir: its first name seen. */
typedef struct link_ent {
    dev_t dev;
    ino_t ino;
    char *path;
} link_ent;

typedef struct walk {
    img_layer_writer *w;
    int root;
    const img_upper_opts *o;
    const char *xp;   /* "trusted.overlay." or "user.overlay." */
    char **skip;      /* normalized ("a/b") */
    size_t n_skip;
    link_ent *links;  /* open addressing, cap a power of 2 */
    size_t n_links, cap_links;
    char **stack;     /* dirs still to visit */
    size_t n_stack, cap_stack;
    long added, seen;
} walk;

static int open_beneath(int dirfd, const char *path, int flags)
{
    struct open_how how = {.flags = (unsigned long long)flags | O_CLOEXEC,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
    return (int)syscall(SYS_openat2, dirfd, *path ? path : ".", &how, sizeof how);
}

static bool skipped(const walk *k, const char *path)
{
    for (size_t i = 0; i < k->n_skip; i++)
        if (!strcmp(k->skip[i], path))
            return true;
    return false;
}

/* Is overlay's xattr `name` set on fd (to `want`, when not NULL)? 1 / 0 / -1. */
static int ovl_xattr(const walk *k, int fd, const char *name, const char *want, const char *path, nr_err *err)
{
    char key[64], val[8];
    snprintf(key, sizeof key, "%s%s", k->xp, name);
    ssize_t n = fgetxattr(fd, key, val, sizeof val);
    if (n < 0) {
        if (errno == ENODATA || errno == ENOTSUP)
            return 0;
        if (errno != ERANGE) /* ERANGE: set, to something long */
            return nr_err_sys(err, errno, "upper \"%s\": read xattr %s", path, key);
        return want ? 0 : 1;
    }
    return !want || ((size_t)n == strlen(want) && !memcmp(val, want, (size_t)n));
}

static size_t link_slot(const walk *k, dev_t dev, ino_t ino)
{
    size_t h = ((size_t)ino * 0x9E3779B97F4A7C15ull) ^ (size_t)dev;
    size_t i = h & (k->cap_links - 1);
    while (k->links[i].path && !(k->links[i].dev == dev && k->links[i].ino == ino))
        i = (i + 1) & (k->cap_links - 1);
    return i;
}

/* The first name of this inode, or NULL after recording `path` as it. */
static const char *link_first(walk *k, const struct stat *st, const char *path)
{
    if (2 * (k->n_links + 1) > k->cap_links) {
        link_ent *old = k->links;
        size_t old_cap = k->cap_links;
        k->cap_links = old_cap ? old_cap * 2 : 64;
        k->links = nr_xcalloc(k->cap_links, sizeof *k->links);
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].path)
                k->links[link_slot(k, old[i].dev, old[i].ino)] = old[i];
        free(old);
    }
    size_t i = link_slot(k, st->st_dev, st->st_ino);
    if (k->links[i].path)
        return k->links[i].path;
    k->links[i] = (link_ent){.dev = st->st_dev, .ino = st->st_ino, .path = nr_xstrdup(path)};
    k->n_links++;
    return NULL;
}

static int counted(walk *k, int r)
{
    if (r == 0)
        k->added++;
    return r;
}

/* A regular file: a whiteout, a further name of an inode seen, or content. */
static int add_file(walk *k, int dirfd, const char *name, const char *path, const struct stat *st, nr_err *err)
{
    cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat fst;
    if (fd < 0)
        return nr_err_sys(err, errno, "upper \"%s\": open", path);
    if (fstat(fd, &fst) < 0)
        return nr_err_sys(err, errno, "upper \"%s\": stat", path);
    if (fst.st_dev != st->st_dev || fst.st_ino != st->st_ino)
        return nr_err_set(err, "upper \"%s\": changed while the layer was made", path);
    int r = ovl_xattr(k, fd, "metacopy", NULL, path, err);
    if (r < 0)
        return -1;
    if (r)
        return nr_err_set(err, "upper \"%s\": an overlay metacopy file (its data is in a lower layer): mount the "
                               "overlay with metacopy=off", path);
    if (fst.st_size == 0) {
        r = ovl_xattr(k, fd, "whiteout", NULL, path, err);
        if (r < 0)
            return -1;
        if (r)
            return counted(k, img_layer_add_whiteout(k->w, path, err));
    }
    if (fst.st_nlink > 1) {
        const char *first = link_first(k, &fst, path);
        if (first)
            return counted(k, img_layer_add_hardlink(k->w, path, first, err));
    }
    char caps[256];
    ssize_t n_caps = fgetxattr(fd, "security.capability", caps, sizeof caps);
    if (n_caps < 0 && errno != ENODATA && errno != ENOTSUP)
        return nr_err_sys(err, errno, "upper \"%s\": read xattr security.capability", path);
    img_layer_entry e = {.type = IMG_ENT_FILE, .path = path, .mode = fst.st_mode & 07777, .uid = fst.st_uid,
                         .gid = fst.st_gid, .host_path = path, .at_fd = k->root, .fd = -1,
                         .size = (uint64_t)fst.st_size, .caps = n_caps > 0 ? caps : NULL,
                         .caps_len = n_caps > 0 ? (size_t)n_caps : 0};
    return counted(k, img_layer_add(k->w, &e, err));
}

static int add_symlink(walk *k, int dirfd, const char *name, const char *path, const struct stat *st, nr_err *err)
{
    char target[MAX_PATH + 2];
    ssize_t n = readlinkat(dirfd, name, target, sizeof target);
    if (n < 0)
        return nr_err_sys(err, errno, "upper \"%s\": readlink", path);
    if (n == 0 || (size_t)n >= sizeof target - 1)
        return nr_err_set(err, "upper \"%s\": symlink target empty or too long", path);
    target[n] = 0;
    if (k->o->link_cb) {
        cleanup_free char *abs = nr_xasprintf("/%s", path);
        k->o->link_cb(k->o->arg, abs, target);
    }
    return counted(k, img_layer_add_symlink(k->w, path, target, st->st_uid, st->st_gid, err));
}

/* One name of a directory: added now, or (a directory) pushed for later. */
static int visit(walk *k, int dirfd, const char *dpath, const char *name, nr_err *err)
{
    if (++k->seen > MAX_ENTRIES)
        return nr_err_set(err, "upper dir: more than %ld entries", MAX_ENTRIES);
    cleanup_free char *path = *dpath ? nr_xasprintf("%s/%s", dpath, name) : nr_xstrdup(name);
    if (strlen(path) > MAX_PATH - 1)
        return nr_err_set(err, "upper \"%.200s...\": path longer than %d bytes", path, MAX_PATH - 1);
    if (skipped(k, path))
        return k->o->prune && nr_rm_rf(dirfd, name, err) < 0 ? nr_err_wrap(err, "upper \"%s\": prune", path) : 0;
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return nr_err_sys(err, errno, "upper \"%s\": stat", path);
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
        return counted(k, img_layer_add_whiteout(k->w, path, err));
    /* A layer cannot carry such a name: every reader takes it for a whiteout. */
    if (!strncmp(name, ".wh.", 4))
        return nr_err_set(err, "upper \"%s\": a name starting with \".wh.\" cannot be stored in an OCI layer", path);
    switch (st.st_mode & S_IFMT) {
    case S_IFREG:
        return add_file(k, dirfd, name, path, &st, err);
    case S_IFDIR:
        if (k->n_stack == k->cap_stack) {
            k->cap_stack = k->cap_stack ? 2 * k->cap_stack : 64;
            k->stack = nr_xrealloc(k->stack, k->cap_stack * sizeof *k->stack);
        }
        k->stack[k->n_stack++] = steal_ptr(&path);
        return 0;
    case S_IFLNK:
        return add_symlink(k, dirfd, name, path, &st, err);
    case S_IFIFO: {
        img_layer_entry e = {.type = IMG_ENT_FIFO, .path = path, .mode = st.st_mode & 07777, .uid = st.st_uid,
                             .gid = st.st_gid, .fd = -1};
        return counted(k, img_layer_add(k->w, &e, err));
    }
    case S_IFSOCK: /* a socket means nothing outside the process that bound it */
        if (k->o->prune && unlinkat(dirfd, name, 0) < 0)
            return nr_err_sys(err, errno, "upper \"%s\": prune socket", path);
        return 0;
    case S_IFCHR:
    case S_IFBLK:
        return nr_err_set(err, "upper \"%s\": device node %c %u:%u: not supported in a layer", path,
                          S_ISCHR(st.st_mode) ? 'c' : 'b', major(st.st_rdev), minor(st.st_rdev));
    default:
        return nr_err_set(err, "upper \"%s\": unknown file type 0%o", path, (unsigned)(st.st_mode & S_IFMT));
    }
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of an open directory, sorted (so errors and callbacks come in
 * the same order on every run). */
static int read_names(int dirfd, const char *path, char ***out, size_t *n_out, nr_err *err)
{
    int fd = dup(dirfd);
    if (fd < 0)
        return nr_err_sys(err, errno, "upper \"%s\": dup", path);
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return nr_err_sys(err, errno, "upper \"%s\": opendir", path);
    }
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            v = nr_xrealloc(v, cap * sizeof *v);
        }
        v[n++] = nr_xstrdup(de->d_name);
    }
    int e = errno;
    closedir(d);
    if (e) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return nr_err_sys(err, e, "upper \"%s\": readdir", path);
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_name);
    *out = v;
    *n_out = n;
    return 0;
}

/* A directory: itself (unless the upper root), its opaque marker, then its
 * names; subdirectories are pushed in reverse so they pop in name order. */
static int visit_dir(walk *k, const char *path, nr_err *err)
{
    cleanup_close int fd = open_beneath(k->root, path, O_RDONLY | O_DIRECTORY | O_NOCTTY);
    if (fd < 0)
        return nr_err_sys(err, errno, "upper \"%s\": open dir", *path ? path : ".");
    if (*path) {
        struct stat st;
        if (fstat(fd, &st) < 0)
            return nr_err_sys(err, errno, "upper \"%s\": stat", path);
        int r = ovl_xattr(k, fd, "redirect", NULL, path, err);
        if (r < 0)
            return -1;
        if (r)
            return nr_err_set(err, "upper \"%s\": an overlay redirect (a renamed lower dir): mount the overlay "
                                   "with redirect_dir=off", path);
        int opaque = ovl_xattr(k, fd, "opaque", "y", path, err);
        if (opaque < 0 || counted(k, img_layer_add_dir(k->w, path, st.st_mode & 07777, st.st_uid, st.st_gid, err)) < 0)
            return -1;
        if (k->o->dir_cb) {
            cleanup_free char *abs = nr_xasprintf("/%s", path);
            k->o->dir_cb(k->o->arg, abs, st.st_mode & 07777, st.st_uid, st.st_gid);
        }
        if (opaque && counted(k, img_layer_add_opaque(k->w, path, err)) < 0)
            return -1;
    }
    char **names = NULL;
    size_t n = 0;
    if (read_names(fd, path, &names, &n, err) < 0)
        return -1;
    size_t base = k->n_stack;
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        if (r == 0)
            r = visit(k, fd, path, names[i], err);
        free(names[i]);
    }
    free(names);
    for (size_t i = base, j = k->n_stack; r == 0 && i + 1 < j; i++, j--) {
        char *t = k->stack[i];
        k->stack[i] = k->stack[j - 1];
        k->stack[j - 1] = t;
    }
    return r;
}

long img_layer_add_upper(img_layer_writer *w, int upper_dirfd, const img_upper_opts *o, nr_err *err)
{
    static const img_upper_opts none = {0};
    walk k = {.w = w, .root = upper_dirfd, .o = o ? o : &none};
    k.xp = k.o->userxattr ? "user.overlay." : "trusted.overlay.";
    long ret = -1;
    if (upper_dirfd <= 0) {
        nr_err_set(err, "upper dir: invalid fd %d", upper_dirfd);
        goto out;
    }
    for (const char *const *s = k.o->skip; s && *s; s++) {
        char *p = img_layer_path_norm(*s);
        if (!p) {
            nr_err_set(err, "upper dir: skip path \"%.200s\" is empty or contains \"..\"", *s);
            goto out;
        }
        k.skip = nr_xrealloc(k.skip, (k.n_skip + 1) * sizeof *k.skip);
        k.skip[k.n_skip++] = p;
    }
    if (visit_dir(&k, "", err) < 0)
        goto out;
    while (k.n_stack) {
        cleanup_free char *path = k.stack[--k.n_stack];
        if (visit_dir(&k, path, err) < 0)
            goto out;
    }
    ret = k.added;
out:
    for (size_t i = 0; i < k.n_skip; i++)
        free(k.skip[i]);
    free(k.skip);
    for (size_t i = 0; i < k.cap_links; i++)
        free(k.links[i].path);
    free(k.links);
    for (size_t i = 0; i < k.n_stack; i++)
        free(k.stack[i]);
    free(k.stack);
    return ret;
}
