/* nrun cp CONTAINER:SRC DEST | SRC CONTAINER:DEST -- docker's cp for a
 * running container.  The container's side is entered only through its root
 * directory (/proc/<init>/root, checked to be its init still) and every path
 * in it is resolved by openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
 * (runtime/lockdown.c): "..", absolute symlinks and /proc magic links stay
 * inside the container.  Below the first path, a tree is walked through
 * directory fds with O_NOFOLLOW: a symlink is copied as a symlink, never
 * followed, on either side; files the copy makes are created O_EXCL|O_NOFOLLOW
 * or, for the named destination, opened through the same resolution; a
 * file's holes stay holes (rt_copy_sparse). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/ctr_view.h"
#include "common/util.h"
#include "runtime/lockdown.h"
#include "runtime/runtime.h"

enum { CP_DEPTH = 256 };

/* Copy the entry `name` of directory sfd into directory dfd as `dname`
 * (both walked without following links). */
static int copy_entry(int sfd, const char *name, int dfd, const char *dname, int depth, nr_err *err)
{
    if (depth > CP_DEPTH)
        return nr_err_set(err, "%s: deeper than %d directories", name, CP_DEPTH);
    struct stat st;
    if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return nr_err_sys(err, errno, "stat %s", name);
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(sfd, name, target, sizeof target - 1);
        if (n < 0)
            return nr_err_sys(err, errno, "readlink %s", name);
        target[n] = 0;
        unlinkat(dfd, dname, 0); /* an existing file of that name is replaced, never followed */
        if (symlinkat(target, dfd, dname) < 0)
            return nr_err_sys(err, errno, "symlink %s", dname);
        return 0;
    }
    if (S_ISDIR(st.st_mode)) {
        if (mkdirat(dfd, dname, st.st_mode & 07777) < 0 && errno != EEXIST)
            return nr_err_sys(err, errno, "mkdir %s", dname);
        cleanup_close int in = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        cleanup_close int out = openat(dfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0 || out < 0)
            return nr_err_sys(err, errno, "open directory %s", in < 0 ? name : dname);
        int dup_in = dup(in);
        DIR *d = dup_in >= 0 ? fdopendir(dup_in) : NULL;
        if (!d) {
            if (dup_in >= 0)
                close(dup_in);
            return nr_err_sys(err, errno, "read directory %s", name);
        }
        int r = 0;
        for (struct dirent *e; r == 0 && (e = readdir(d));)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                r = copy_entry(in, e->d_name, out, e->d_name, depth + 1, err);
        closedir(d);
        return r;
    }
    if (!S_ISREG(st.st_mode))
        return nr_err_set(err, "%s: not a regular file, directory or symlink (devices, fifos and sockets are not copied)",
                          name);
    cleanup_close int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (in < 0)
        return nr_err_sys(err, errno, "open %s", name);
    struct stat fst;
    if (fstat(in, &fst) < 0 || !S_ISREG(fst.st_mode))
        return nr_err_set(err, "%s: no longer a regular file", name);
    unlinkat(dfd, dname, 0);
    cleanup_close int out = openat(dfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0777);
    if (out < 0)
        return nr_err_sys(err, errno, "create %s", dname);
    /* holes stay holes: a container's 1 TB sparse file is no 1 TB on the host */
    if (rt_copy_sparse(in, out, fst.st_size) < 0)
        return nr_err_sys(err, errno, "copy %s", name);
    return 0;
}

/* The container's root dir, checked to belong to its init still. */
static int container_root(nr_global *g, const char *ref, char stopped_id[65], nr_err *err)
{
    char id[65];
    rt_state st;
    if (rt_container_state(g->root, ref, id, &st, err) < 0)
        return -1;
    int fd = -1;
    if (strcmp(rt_state_live_status(&st), "running")) {
        fd = -2; /* stopped or created: its root is mounted privately (stopped_copy) */
        memcpy(stopped_id, id, sizeof id);
    } else {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/root", (int)st.pid);
        fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || !rt_pid_alive(st.pid, st.start_time)) {
            nr_err_set(err, "container %s is not running", ref);
            if (fd >= 0)
                close(fd);
            fd = -1;
        }
    }
    rt_state_free(&st);
    return fd;
}

/* dir part and last component of a path ("/a/b/" -> "/a", "b"; "x" -> ".", "x") */
static void split(const char *path, char **dir, char **base)
{
    cleanup_free char *p = nr_xstrdup(path);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = 0;
    cleanup_free char *d = nr_xstrdup(p), *b = nr_xstrdup(p);
    *dir = nr_xstrdup(dirname(d));
    *base = nr_xstrdup(basename(b));
}

/* src is (sroot, spath), dest (droot, dpath); a root of AT_FDCWD is the host. */
static int open_dir_of(int root, const char *path, nr_err *err)
{
    int fd = root == AT_FDCWD ? open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                              : rt_open_at_root(root, path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        nr_err_sys(err, errno, "%s", path);
    return fd;
}

static int do_copy(int sroot, const char *spath, int droot, const char *dpath, nr_err *err)
{
    cleanup_free char *sdir = NULL, *sbase = NULL, *ddir = NULL, *dbase = NULL;
    split(spath, &sdir, &sbase);
    if (!strcmp(sbase, "/") || !strcmp(sbase, ".") || !strcmp(sbase, ".."))
        return nr_err_set(err, "%s: name a file or directory, not a root or a dot", spath);
    cleanup_close int sfd = open_dir_of(sroot, sdir, err);
    if (sfd < 0)
        return -1;
    struct stat sst;
    if (fstatat(sfd, sbase, &sst, AT_SYMLINK_NOFOLLOW) < 0)
        return nr_err_sys(err, errno, "%s", spath);
    /* an existing directory as destination: copy into it, as cp and docker do */
    cleanup_close int dd = open_dir_of(droot, dpath, err);
    if (dd >= 0) {
        memset(err, 0, sizeof *err);
        return copy_entry(sfd, sbase, dd, sbase, 0, err);
    }
    if (err->errnum != ENOENT && err->errnum != ENOTDIR)
        return -1;
    memset(err, 0, sizeof *err);
    split(dpath, &ddir, &dbase);
    cleanup_close int dfd = open_dir_of(droot, ddir, err);
    if (dfd < 0)
        return -1;
    return copy_entry(sfd, sbase, dfd, dbase, 0, err);
}

/* A container that is not running: in a child with its own private mount
 * namespace, the container's overlay (its layers and upper dir, as run
 * mounts them) on its merged dir, then the same copy through the same
 * resolution.  Nothing shows on the host and nothing stays mounted: the
 * namespace ends with the child.  Writes land in the upper dir, so the next
 * start sees them.  (Volumes are not mounted: their paths are the image's.) */
static int stopped_copy(nr_global *g, const char *id, bool out_of, const char *src, const char *dst, nr_err *err)
{
    cleanup_free char *dir = rt_ctr_dir(g->root, id);
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return nr_err_sys(err, errno, "%s", dir);
    rt_spec spec;
    if (rt_spec_load(dfd, "config.json", &spec, err) < 0)
        return -1;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        rt_spec_free(&spec);
        return nr_err_sys(err, errno, "pipe");
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        rt_spec_free(&spec);
        return nr_err_sys(err, errno, "fork");
    }
    if (pid == 0) {
        close(pfd[0]);
        nr_err e = {0};
        int r = rt_rootfs_mount_private(&spec, &e);
        int root = r < 0 ? -1 : open(spec.root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (r == 0 && root < 0)
            r = nr_err_sys(&e, errno, "%s", spec.root_path);
        if (r == 0)
            r = out_of ? do_copy(root, src, AT_FDCWD, dst, &e) : do_copy(AT_FDCWD, src, root, dst, &e);
        if (r < 0)
            nr_write_all(pfd[1], e.msg, strlen(e.msg));
        _exit(r < 0 ? 1 : 0);
    }
    close(pfd[1]);
    rt_spec_free(&spec);
    return ctr_child_result(pid, pfd[0], "the copy", err);
}

int nr_cmd_cp(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {{0}};
    static const nr_cmdspec spec = {"cp CONTAINER:SRC DEST | SRC CONTAINER:DEST",
                                    "Copy files or directories between a container (running or not) and the host (paths in "
                                    "the container are resolved inside its root; symlinks are copied, not "
                                    "followed).", opts, false};
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1)
        return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    if (argc - optind != 2)
        return nr_usage_error(g, "cp: needs SRC and DEST, one of them CONTAINER:PATH");
    const char *a = argv[optind], *b = argv[optind + 1];
    /* CONTAINER:PATH -- a host path with a colon is given as ./x:y, as for docker */
    const char *ca = a[0] != '/' && a[0] != '.' ? strchr(a, ':') : NULL;
    const char *cb = b[0] != '/' && b[0] != '.' ? strchr(b, ':') : NULL;
    if (!ca == !cb)
        return nr_usage_error(g, "cp: exactly one of SRC and DEST must be CONTAINER:PATH");
    const char *spec_c = ca ? a : b, *colon = ca ? ca : cb;
    cleanup_free char *name = nr_xstrndup(spec_c, (size_t)(colon - spec_c));
    const char *cpath = *(colon + 1) ? colon + 1 : "/";
    nr_err err = {0};
    char sid[65];
    cleanup_close int root = container_root(g, name, sid, &err);
    if (root == -2) {
        root = -1;
        if (stopped_copy(g, sid, ca != NULL, ca ? cpath : a, ca ? b : cpath, &err) < 0)
            return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        return 0;
    }
    if (root < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    int r = ca ? do_copy(root, cpath, AT_FDCWD, b, &err) : do_copy(AT_FDCWD, a, root, cpath, &err);
    if (r < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    return 0;
}
