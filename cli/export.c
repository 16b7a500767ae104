/* nrun export [-o FILE] CONTAINER -- docker's: the container's whole
 * filesystem (its image with its changes, as the container sees its root,
 * volumes and the runtime's mounts left out) as one tar.  The tree is the
 * read-only merged view of cli/ctr_view.c, walked through directory fds
 * with O_NOFOLLOW: a symlink is stored as a symlink, never followed, so no
 * host path can come into the tar.  -o writes a temp file beside FILE and
 * renames it over FILE: a symlink or hard link planted at FILE is replaced,
 * never written through. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/ctr_view.h"
#include "common/util.h"
#include "runtime/runtime.h"

/* EXPORT_NAMES bounds the tar's names as CTR_SPARSE_SLACK its holes: a
 * chain of 1000 directories with 250-byte names costs the container one
 * inode per file below it and the tar 250 KB (3000 files: a 634 MB tar) */
enum { EXPORT_DEPTH = 1024 };
#define EXPORT_NAMES (512ull << 20)

typedef struct link_seen {
    dev_t dev;
    ino_t ino;
    char *path;
} link_seen;

typedef struct export_ctx {
    struct archive *a;
    int out;
    void *links; /* tsearch tree of link_seen: a file's other names become hard links */
    uint64_t holes; /* zeros written that no file allocates (ctr_holes, and padding) */
    uint64_t names; /* bytes of entry names (and link targets) */
} export_ctx;

/* n more bytes of zeros in the tar that the container's disk does not hold */
static int holes_add(export_ctx *x, uint64_t n, const char *path, nr_err *err)
{
    x->holes += n;
    if (x->holes > CTR_SPARSE_SLACK)
        return nr_err_set(err, "/%s: the tar would hold more than %llu bytes of sparse files' holes: refused (a tar "
                               "holds every byte)", path, (unsigned long long)CTR_SPARSE_SLACK);
    return 0;
}

static int cmp_link(const void *x, const void *y)
{
    const link_seen *a = x, *b = y;
    if (a->dev != b->dev)
        return a->dev < b->dev ? -1 : 1;
    return a->ino < b->ino ? -1 : a->ino > b->ino;
}

static int ar_err(struct archive *a, const char *what, nr_err *err)
{
    return nr_err_set(err, "write the tar (%s): %s", what, archive_error_string(a) ? archive_error_string(a) : "?");
}

/* A regular file's bytes: exactly st_size of them (a file that shrank while
 * it was read is padded with zeros, one that grew cut: the header is written). */
static int put_data(export_ctx *x, int fd, off_t size, const char *path, nr_err *err)
{
    char buf[65536];
    off_t done = 0;
    while (done < size) {
        size_t want = (size_t)(size - done) < sizeof buf ? (size_t)(size - done) : sizeof buf;
        ssize_t n = read(fd, buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return nr_err_sys(err, errno, "read %s", path);
        if (n == 0) {
            /* a file the container shrinks while it is read pads out to its
             * size: counted, or shrinking each file in turn would be holes
             * no check saw */
            if (holes_add(x, (uint64_t)want, path, err) < 0)
                return -1;
            memset(buf, 0, want);
            n = (ssize_t)want;
        }
        if (archive_write_data(x->a, buf, (size_t)n) != n)
            return ar_err(x->a, path, err);
        done += n;
    }
    return 0;
}

static int put_entry(export_ctx *x, int dfd, const char *name, const char *path, int depth, nr_err *err);

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int put_dir(export_ctx *x, int dfd, const char *path, int depth, nr_err *err)
{
    if (depth > EXPORT_DEPTH)
        return nr_err_set(err, "%s: deeper than %d directories", path, EXPORT_DEPTH);
    int dup_fd = dup(dfd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        return nr_err_sys(err, errno, "read directory /%s", path);
    }
    /* sorted: the same tree gives the same tar */
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (n == cap)
            names = nr_xrealloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
        names[n++] = nr_xstrdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_name);
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        if (r == 0) {
            cleanup_free char *p = *path ? nr_xasprintf("%s/%s", path, names[i]) : nr_xstrdup(names[i]);
            r = put_entry(x, dfd, names[i], p, depth, err);
        }
        free(names[i]);
    }
    free(names);
    return r;
}

static int put_entry(export_ctx *x, int dfd, const char *name, const char *path, int depth, nr_err *err)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return nr_err_sys(err, errno, "stat /%s", path);
    if (S_ISSOCK(st.st_mode))
        return 0; /* as docker: a socket is no file to carry */
    x->names += strlen(path) + 1;
    if (x->names > EXPORT_NAMES)
        return nr_err_set(err, "the tar's entry names would take more than %llu MiB: refused (/%.200s...)",
                          EXPORT_NAMES >> 20, path);
    cleanup_close int fd = -1;
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
        fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
        struct stat fst;
        if (fd < 0 || fstat(fd, &fst) < 0)
            return nr_err_sys(err, errno, "open /%s", path);
        if (fst.st_ino != st.st_ino || (fst.st_mode & S_IFMT) != (st.st_mode & S_IFMT))
            return nr_err_set(err, "/%s changed while it was read", path);
        st = fst;
    }
    if (ctr_too_sparse(&st))
        return nr_err_set(err, "/%s is a sparse file of %lld bytes with %lld allocated: refused (a tar holds every byte)",
                          path, (long long)st.st_size, (long long)st.st_blocks * 512);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_mode(e, st.st_mode);
    archive_entry_set_uid(e, st.st_uid);
    archive_entry_set_gid(e, st.st_gid);
    archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    bool data = false;
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(dfd, name, target, sizeof target - 1);
        if (n < 0) {
            archive_entry_free(e);
            return nr_err_sys(err, errno, "readlink /%s", path);
        }
        target[n] = 0;
        archive_entry_set_symlink(e, target);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        archive_entry_set_rdev(e, st.st_rdev);
    } else if (S_ISREG(st.st_mode)) {
        link_seen key = {st.st_dev, st.st_ino, NULL};
        link_seen **hit = st.st_nlink > 1 ? tfind(&key, &x->links, cmp_link) : NULL;
        if (hit) {
            archive_entry_set_hardlink(e, (*hit)->path);
            archive_entry_set_size(e, 0);
        } else {
            if (st.st_nlink > 1) {
                link_seen *l = nr_xcalloc(1, sizeof *l);
                *l = (link_seen){st.st_dev, st.st_ino, nr_xstrdup(path)};
                tsearch(l, &x->links, cmp_link);
            }
            if (holes_add(x, ctr_holes(&st), path, err) < 0) {
                archive_entry_free(e);
                return -1;
            }
            archive_entry_set_size(e, st.st_size);
            data = true;
        }
    }
    int r = 0;
    if (archive_write_header(x->a, e) != ARCHIVE_OK)
        r = ar_err(x->a, path, err);
    archive_entry_free(e);
    if (r == 0 && data)
        r = put_data(x, fd, st.st_size, path, err);
    if (r == 0 && S_ISDIR(st.st_mode))
        r = put_dir(x, fd, path, depth + 1, err);
    return r;
}

static void link_free(void *p)
{
    link_seen *l = p;
    free(l->path);
    free(l);
}

static int export_in_view(int root, int upperfd, void *arg, nr_err *err)
{
    (void)upperfd;
    export_ctx *x = arg;
    cleanup_close int rfd = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return nr_err_sys(err, errno, "open the container's root");
    x->a = archive_write_new();
    if (!x->a || archive_write_set_format_pax_restricted(x->a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(x->a, 1) != ARCHIVE_OK || archive_write_open_fd(x->a, x->out) != ARCHIVE_OK)
        return ar_err(x->a, "open", err);
    int r = put_dir(x, rfd, "", 0, err);
    if (r == 0 && archive_write_close(x->a) != ARCHIVE_OK)
        r = ar_err(x->a, "end", err);
    archive_write_free(x->a);
    tdestroy(x->links, link_free);
    return r;
}

int nr_cmd_export(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"output", 'o', required_argument, "FILE", "write to FILE instead of stdout"},
        {0},
    };
    static const nr_cmdspec spec = {"export [OPTIONS] CONTAINER",
                                    "Export a container's filesystem as a tar archive (its image with its changes).",
                                    opts, true};
    const char *out = NULL;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == 'o')
            out = optarg;
        else
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    }
    if (argc - optind != 1)
        return nr_usage_error(g, "export: needs exactly one container");
    if (out && !strcmp(out, "-"))
        out = NULL;
    if (!out && isatty(STDOUT_FILENO))
        return nr_usage_error(g, "export: cowardly refusing to save to a terminal. Use the -o flag or redirect");
    nr_err err = {0};
    char id[65];
    if (rt_container_find(g->root, argv[optind], id, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    export_ctx x = {.out = STDOUT_FILENO};
    cleanup_close int dirfd = -1;
    char tmp[64] = "";
    cleanup_free char *base = NULL;
    if (out) {
        cleanup_free char *d1 = nr_xstrdup(out), *d2 = nr_xstrdup(out);
        const char *dir = dirname(d1);
        base = nr_xstrdup(basename(d2));
        if (!*base || !strcmp(base, "/") || !strcmp(base, ".") || !strcmp(base, ".."))
            return nr_usage_error(g, "export: -o %s names no file", out);
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
            nr_err_sys(&err, errno, "%s", dir);
            return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        }
        unsigned long long rnd = 0;
        if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
            rnd = (unsigned long long)getpid() * 2654435761u;
        snprintf(tmp, sizeof tmp, ".nrun-export-%016llx", rnd);
        x.out = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (x.out < 0) {
            nr_err_sys(&err, errno, "create %s in %s", tmp, dir);
            return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        }
    }
    int r = ctr_view_run(g, id, CTR_VIEW_MERGED, export_in_view, &x, &err);
    if (out) {
        if (r == 0 && fsync(x.out) < 0)
            r = nr_err_sys(&err, errno, "write %s", out);
        close(x.out);
        if (r == 0 && renameat(dirfd, tmp, dirfd, base) < 0)
            r = nr_err_sys(&err, errno, "rename to %s", out);
        if (r < 0)
            unlinkat(dirfd, tmp, 0);
    }
    if (r < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    return 0;
}
