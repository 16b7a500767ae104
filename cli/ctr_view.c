/* The read-only views of a container's filesystem for diff, export and
 * commit (see cli/ctr_view.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/ctr_view.h"
#include "common/util.h"
#include "runtime/runtime.h"

int ctr_open_beneath(int dirfd, const char *path, int flags)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
                                      RESOLVE_NO_XDEV};
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

static int spec_of(nr_global *g, const char *id, rt_spec *spec, nr_err *err)
{
    cleanup_free char *dir = rt_ctr_dir(g->root, id);
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return nr_err_sys(err, errno, "%s", dir);
    if (rt_spec_load(dfd, "config.json", spec, err) < 0)
        return -1;
    if (!spec->overlay_layers_dir || !spec->overlay_upper) {
        rt_spec_free(spec);
        return nr_err_set(err, "container %.12s has no overlay root (a plain rootfs): nothing to compare", id);
    }
    return 0;
}

int ctr_upper_open(nr_global *g, const char *id, nr_err *err)
{
    rt_spec spec;
    if (spec_of(g, id, &spec, err) < 0)
        return -1;
    int fd = open(spec.overlay_upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        nr_err_sys(err, errno, "open %s", spec.overlay_upper);
    rt_spec_free(&spec);
    return fd;
}

/* In the child: the view on the spec's root path (its merged dir, a mount
 * point of the container's own namespace only). */
static int view_mount(const rt_spec *s, enum ctr_view view, nr_err *err)
{
    if (unshare(CLONE_NEWNS) < 0)
        return nr_err_sys(err, errno, "unshare mount namespace");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return nr_err_sys(err, errno, "make / private");
    size_t nl = s->noverlay_lower + (view == CTR_VIEW_MERGED);
    unsigned long fl = MS_RDONLY | MS_NODEV | MS_NOSUID | MS_NOEXEC;
    if (nl == 0) /* an image without layers, and the image view of it */
        return mount("tmpfs", s->root_path, "tmpfs", fl, "size=4k,mode=755") < 0
                   ? nr_err_sys(err, errno, "mount an empty root on %s", s->root_path) : 0;
    if (chdir(s->overlay_layers_dir) < 0)
        return nr_err_sys(err, errno, "chdir %s", s->overlay_layers_dir);
    if (nl == 1) { /* overlay wants two lower layers when it has no upper one */
        const char *only = view == CTR_VIEW_MERGED ? s->overlay_upper : s->overlay_lower[0];
        if (mount(only, s->root_path, NULL, MS_BIND, NULL) < 0 ||
            mount(NULL, s->root_path, NULL, MS_REMOUNT | MS_BIND | fl, NULL) < 0)
            return nr_err_sys(err, errno, "bind %s on %s", only, s->root_path);
        return 0;
    }
    nr_buf o = {0};
    nr_buf_addstr(&o, "lowerdir=");
    if (view == CTR_VIEW_MERGED)
        nr_buf_addf(&o, "%s:", s->overlay_upper);
    for (size_t i = 0; i < s->noverlay_lower; i++)
        nr_buf_addf(&o, "%s%s", i ? ":" : "", s->overlay_lower[i]);
    nr_buf_addstr(&o, ",index=off,xino=off,metacopy=off");
    nr_buf_addstr(&o, nr_in_userns() ? ",userxattr,redirect_dir=nofollow" : ",redirect_dir=off");
    nr_buf_add(&o, "", 1);
    int r = 0;
    if (o.len >= 4096)
        r = nr_err_set(err, "overlay options for %zu layers exceed a page", nl);
    else if (mount("overlay", s->root_path, "overlay", fl, o.data) < 0)
        r = nr_err_sys(err, errno, "mount a read-only overlay on %s (%zu layers)", s->root_path, nl);
    nr_buf_free(&o);
    return r;
}

int ctr_view_run(nr_global *g, const char *id, enum ctr_view view, ctr_view_fn fn, void *arg, nr_err *err)
{
    rt_spec spec;
    if (spec_of(g, id, &spec, err) < 0)
        return -1;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        rt_spec_free(&spec);
        return nr_err_sys(err, errno, "pipe");
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        rt_spec_free(&spec);
        close(pfd[0]);
        close(pfd[1]);
        return nr_err_sys(err, errno, "fork");
    }
    if (pid == 0) {
        /* the view (and the work on it: a tar to a reader that stalls) ends
         * with the command, even a command killed with -9 */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        close(pfd[0]);
        nr_err e = {0};
        int up = open(spec.overlay_upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int r = up < 0 ? nr_err_sys(&e, errno, "open %s", spec.overlay_upper) : view_mount(&spec, view, &e);
        int root = r < 0 ? -1 : open(spec.root_path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (r == 0 && root < 0)
            r = nr_err_sys(&e, errno, "%s", spec.root_path);
        if (r == 0)
            r = fn(root, up, arg, &e);
        fflush(NULL);
        if (r < 0)
            nr_write_all(pfd[1], e.msg, strlen(e.msg));
        _exit(r < 0 ? 1 : 0);
    }
    close(pfd[1]);
    rt_spec_free(&spec);
    return ctr_child_result(pid, pfd[0], "the container's view", err);
}

int ctr_child_result(pid_t pid, int rfd, const char *what, nr_err *err)
{
    char msg[sizeof err->msg];
    size_t n = 0;
    ssize_t k;
    while (n < sizeof msg - 1 && (k = read(rfd, msg + n, sizeof msg - 1 - n)) != 0) {
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            break;
        n += (size_t)k;
    }
    msg[n] = 0;
    close(rfd);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    return n ? nr_err_set(err, "%s", msg) : nr_err_set(err, "%s ended without a word", what);
}
