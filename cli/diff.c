/* nrun diff CONTAINER -- docker's: the container's filesystem changes
 * against its image, one "A|C|D /path" a line, sorted by path.  Read from
 * the overlay upper dir (an overlay whiteout is D; an entry the image has is
 * C, else A; an opaque dir also lists as D what the image had in it), each
 * entry compared with the image's read-only view (cli/ctr_view.c).  Neither
 * tree is ever followed through a symlink: the upper dir is walked through
 * directory fds with O_NOFOLLOW, the image looked up with openat2
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cli/ctr_view.h"
#include "common/util.h"
#include "runtime/runtime.h"

/* DIFF_BYTES bounds the listing, not just its lines: a container's chain of
 * 1000 directories with 250-byte names makes every file below it a 250 KB
 * line (3000 inodes took nrun diff to 790 MB) */
enum { DIFF_DEPTH = 1024, DIFF_MAX = 4 << 20, DIFF_BYTES = 128 << 20 };

typedef struct diff_list {
    char **lines; /* "C /etc": the kind, a space, the path */
    size_t n, cap, bytes;
    int imgroot;
} diff_list;

static int add(diff_list *l, char kind, const char *path, nr_err *err)
{
    if (l->n >= DIFF_MAX)
        return nr_err_set(err, "more than %d changes", DIFF_MAX);
    l->bytes += strlen(path) + 3;
    if (l->bytes > DIFF_BYTES)
        return nr_err_set(err, "the changes' paths take more than %d MiB: refused", DIFF_BYTES >> 20);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->lines = nr_xrealloc(l->lines, l->cap * sizeof *l->lines);
    }
    /* the container names its files: a newline or an escape sequence in a
     * name must not forge a line or drive the terminal */
    cleanup_free char *shown = nr_escape_controls(path);
    l->lines[l->n++] = nr_xasprintf("%c %s", kind, shown);
    return 0;
}

/* Does the image have `path` ("/etc/x")?  A link on the way is not the
 * same path (and is not followed). */
static bool in_image(int imgroot, const char *path)
{
    int fd = ctr_open_beneath(imgroot, path + 1, O_PATH);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

bool nr_upper_whiteout(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && major(st->st_rdev) == 0 && minor(st->st_rdev) == 0;
}

bool nr_upper_opaque(int dirfd)
{
    char v[4];
    ssize_t n = fgetxattr(dirfd, nr_in_userns() ? "user.overlay.opaque" : "trusted.overlay.opaque", v, sizeof v);
    return n == 1 && v[0] == 'y';
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a + 2, *(char *const *)b + 2);
}

/* The image's entries of dir `path` that the upper dir (dfd) does not hold:
 * gone with the opaque dir that replaced it. */
static int opaque_gone(diff_list *l, int dfd, const char *path, nr_err *err)
{
    cleanup_close int ifd = ctr_open_beneath(l->imgroot, path + 1, O_RDONLY | O_DIRECTORY);
    if (ifd < 0)
        return 0;
    DIR *d = fdopendir(ifd);
    if (!d)
        return nr_err_sys(err, errno, "read the image's %s", path);
    ifd = -1;
    int r = 0;
    for (struct dirent *e; r == 0 && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            continue;
        cleanup_free char *p = nr_xasprintf("%s/%s", strcmp(path, "/") ? path : "", e->d_name);
        r = add(l, 'D', p, err);
    }
    closedir(d);
    return r;
}

static int walk(diff_list *l, int dfd, const char *path, int depth, nr_err *err)
{
    if (depth > DIFF_DEPTH)
        return nr_err_set(err, "%s: deeper than %d directories", path, DIFF_DEPTH);
    int dup_fd = dup(dfd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        return nr_err_sys(err, errno, "read directory %s", path);
    }
    int r = 0;
    for (struct dirent *e; r == 0 && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        cleanup_free char *p = nr_xasprintf("%s/%s", strcmp(path, "/") ? path : "", e->d_name);
        struct stat st;
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            r = nr_err_sys(err, errno, "stat %s", p);
            break;
        }
        if (nr_upper_whiteout(&st)) {
            r = in_image(l->imgroot, p) ? add(l, 'D', p, err) : 0;
            continue;
        }
        r = add(l, in_image(l->imgroot, p) ? 'C' : 'A', p, err);
        if (r < 0 || !S_ISDIR(st.st_mode))
            continue;
        cleanup_close int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
            r = nr_err_sys(err, errno, "open %s", p);
            break;
        }
        if (nr_upper_opaque(sub))
            r = opaque_gone(l, sub, p, err);
        if (r == 0)
            r = walk(l, sub, p, depth + 1, err);
    }
    closedir(d);
    return r;
}

static int diff_in_view(int imgroot, int upperfd, void *arg, nr_err *err)
{
    (void)arg;
    diff_list l = {.imgroot = imgroot};
    int r = nr_upper_opaque(upperfd) ? opaque_gone(&l, upperfd, "/", err) : 0;
    if (r == 0)
        r = walk(&l, upperfd, "/", 0, err);
    if (r == 0) {
        if (l.n)
            qsort(l.lines, l.n, sizeof *l.lines, cmp_line);
        for (size_t i = 0; i < l.n; i++)
            printf("%s\n", l.lines[i]);
        if (fflush(stdout) != 0)
            r = nr_err_sys(err, errno, "write");
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.lines[i]);
    free(l.lines);
    return r;
}

int nr_cmd_diff(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {{0}};
    static const nr_cmdspec spec = {"diff CONTAINER",
                                    "Inspect changes to files or directories on a container's filesystem: A added, C "
                                    "changed, D deleted.", opts, false};
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1)
        return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    if (argc - optind != 1)
        return nr_usage_error(g, "diff: needs exactly one container");
    nr_err err = {0};
    char id[65];
    if (rt_container_find(g->root, argv[optind], id, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    if (ctr_view_run(g, id, CTR_VIEW_IMAGE, diff_in_view, NULL, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    return 0;
}
