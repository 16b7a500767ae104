/* RUN --mount, the making half (run_mount.c parses and keys): the host side
 * of each mount for one step, made before it runs and undone after it.
 * A bind's source is checked once, through an fd, and that very object is
 * cloned (open_tree) and attached at cache/build/binds/<pid>-<random>/src
 * while the step runs; the runtime binds that path, which no one but nbuild
 * can change, never the source's own path again.  Binds from a stage and rw
 * binds resolve their source in an overlay mount of their own there (tree/);
 * secrets are copies under cache/build/secrets, tmpfs and ssh need no file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/build_int.h"
#include "builder/fetch.h"
#include "builder/run_mount.h"
#include "builder/select.h"
#include "common/util.h"
#include "images/unpack.h"

void bld_run_mount_cleanup(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    /* an ssh mount's relay (our child): stopped with the step */
    cleanup_free char *pidfile = nr_xasprintf("%s/relay.pid", path), *pidtext = NULL;
    size_t pl;
    nr_err perr;
    if (nr_read_file(AT_FDCWD, pidfile, 32, &pidtext, &pl, &perr) == 0) {
        pid_t pid = (pid_t)strtol(pidtext, NULL, 10);
        siginfo_t si;
        /* only a child of this nbuild: the file of a killed one names a pid
         * that may be anyone's now */
        if (pid > 0 && waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && kill(pid, SIGKILL) == 0)
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
    }
    /* src first: it may be a clone of tree's overlay */
    static const char *const mounts[] = {"src", "tree"};
    for (size_t i = 0; i < NR_ARRAY_LEN(mounts); i++) {
        cleanup_free char *at = nr_xasprintf("%s/%s", path, mounts[i]);
        while (umount2(at, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
            ;
    }
    const char *base = strrchr(path, '/');
    cleanup_free char *parent = nr_xstrndup(path, (size_t)(base - path));
    cleanup_close int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    nr_err ign;
    if (pfd >= 0)
        nr_rm_rf(pfd, base + 1, &ign);
}

/* A directory of this step's own under cache/build/binds: <pid>-<random>. */
static char *bind_dir(bld_state *b, nr_err *err)
{
    cleanup_free char *dir = nr_xasprintf("%s/binds", b->cache_dir);
    if (nr_mkdir_p(dir, 0700, err) < 0)
        return NULL;
    unsigned char r[6];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        nr_err_sys(err, errno, "getrandom");
        return NULL;
    }
    char *p = nr_xasprintf("%s/%d-%02x%02x%02x%02x%02x%02x", dir, (int)getpid(), r[0], r[1], r[2], r[3], r[4], r[5]);
    if (mkdir(p, 0700) < 0) {
        nr_err_sys(err, errno, "mkdir %s", p);
        free(p);
        return NULL;
    }
    return p;
}

/* Mount the lower dirs (top first) at `at`: read-only, or with an upper dir
 * in `rwdir` (writes go there).  One read-only lower: a clone of it. */
static int attach_tree(const char *const *lowers, size_t n, const char *rwdir, const char *at, nr_err *err)
{
    int m;
    if (n == 1 && !rwdir) {
        m = (int)syscall(SYS_open_tree, AT_FDCWD, lowers[0], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
        if (m < 0)
            return nr_err_sys(err, errno, "a view of %s", lowers[0]);
        struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID};
        if (syscall(SYS_mount_setattr, m, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0) {
            int e = errno;
            close(m);
            return nr_err_sys(err, e, "a read-only view of %s", lowers[0]);
        }
    } else {
        cleanup_close int fs = bld_overlay_open("a bind mount", err);
        if (fs < 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir+", lowers[i], 0) < 0)
                return nr_err_sys(err, errno, "overlay for a bind mount: %s", lowers[i]);
        if (rwdir) {
            cleanup_free char *up = nr_xasprintf("%s/upper", rwdir), *wk = nr_xasprintf("%s/work", rwdir);
            if ((mkdir(up, 0755) < 0 && errno != EEXIST) || (mkdir(wk, 0700) < 0 && errno != EEXIST))
                return nr_err_sys(err, errno, "mkdir %s", up);
            if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", up, 0) < 0 ||
                syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", wk, 0) < 0)
                return nr_err_sys(err, errno, "overlay for a bind mount: upper dir %s", up);
        }
        if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
            return nr_err_sys(err, errno, "overlay for a bind mount");
        m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
                         (rwdir ? 0 : MOUNT_ATTR_RDONLY) | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
        if (m < 0)
            return nr_err_sys(err, errno, "mount overlay for a bind mount");
    }
    if (mkdir(at, 0700) < 0 && errno != EEXIST) {
        close(m);
        return nr_err_sys(err, errno, "mkdir %s", at);
    }
    int rc = (int)syscall(SYS_move_mount, m, "", AT_FDCWD, at, MOVE_MOUNT_F_EMPTY_PATH);
    int e = errno;
    close(m);
    return rc < 0 ? nr_err_sys(err, e, "attach a bind mount's tree at %s", at) : 0;
}

/* The step's view of the very object `fd` names (resolved and checked by
 * the caller): a clone of its mounts attached at <dir>/src, a directory or
 * an empty file of nbuild's own, read-only unless `rw`.  The runtime binds
 * <dir>/src by path; no component of that path is anyone else's to swap,
 * where the source's own path (in the context, which others may write)
 * could be turned into a symlink to the host between the check and the
 * mount.  *vol: the runtime's -v spec for it. */
static int attach_fd(int fd, const char *dir, const char *target, bool rw, char **vol, nr_err *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return nr_err_sys(err, errno, "stat a bind source");
    cleanup_close int dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return nr_err_sys(err, errno, "open %s", dir);
    if (S_ISDIR(st.st_mode) ? mkdirat(dfd, "src", 0700) < 0 : mknodat(dfd, "src", S_IFREG | 0600, 0) < 0)
        return nr_err_sys(err, errno, "make %s/src", dir);
    /* recursive: a mount below the source (one the host locked, rootless)
     * may not be left out; each is made read-only below */
    int m = (int)syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
    if (m < 0)
        return nr_err_sys(err, errno, "a view of a bind source");
    struct mount_attr a = {.attr_set = (rw ? 0 : MOUNT_ATTR_RDONLY) | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID};
    int rc = (int)syscall(SYS_mount_setattr, m, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a);
    if (rc == 0) /* no MOVE_MOUNT_T_SYMLINKS: src itself is never followed */
        rc = (int)syscall(SYS_move_mount, m, "", dfd, "src", MOVE_MOUNT_F_EMPTY_PATH);
    int e = errno;
    close(m);
    if (rc < 0)
        return nr_err_sys(err, e, "attach a bind source at %s/src", dir);
    *vol = nr_xasprintf("%s/src:%s%s", dir, target, rw ? "" : ":ro");
    return 0;
}

/* The first path below dir (rel: its context-relative name) that the
 * context's ignore file excludes, in *hidden; none: NULL.  Never follows a
 * symlink; bounded in depth. */
static int ignored_below(bld_state *b, int dfd, const char *rel, int depth, char **hidden, nr_err *err)
{
    if (depth > 256)
        return nr_err_set(err, "%s: more than 256 levels of directories", rel);
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return nr_err_sys(err, errno, "open %s", rel);
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && !*hidden && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = !strcmp(rel, ".") ? nr_xstrdup(e->d_name) : nr_xasprintf("%s/%s", rel, e->d_name);
        if (bld_ignore_match(bld_ctx_ignore(b->ctx), p)) {
            *hidden = p;
            break;
        }
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), e->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            rc = sub < 0 ? nr_err_sys(err, errno, "open %s", p) : ignored_below(b, sub, p, depth + 1, hidden, err);
            if (sub >= 0)
                close(sub);
        }
        free(p);
    }
    closedir(d);
    return rc;
}

/* fd's path below root's, as the ignore file names paths: both as the
 * kernel resolved them, so no link is left in it ("." for root itself);
 * NULL when fd is not below root. */
static char *path_below(int root, int fd)
{
    char a[PATH_MAX], p[PATH_MAX], link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", root);
    ssize_t an = readlink(link, a, sizeof a - 1);
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t pn = readlink(link, p, sizeof p - 1);
    if (an <= 0 || pn <= 0)
        return NULL;
    a[an] = p[pn] = 0;
    size_t n = strcmp(a, "/") ? (size_t)an : 0;
    if (strncmp(a, p, n) || a[0] != '/')
        return NULL;
    if (!p[n] || !strcmp(p + n, "/"))
        return nr_xstrdup(".");
    return p[n] == '/' ? nr_xstrdup(p + n + 1) : NULL;
}

/* A step sees nothing the ignore file keeps out of the context: the
 * source (fd, opened below root, the context or its overlay) is no
 * excluded path, nor holds one.  Judged by the path it resolved to: a link
 * (pub -> app/conf, or /app/conf) must not show what app/conf's rules hide. */
static int none_ignored(bld_state *b, const bld_instr *in, const bld_run_mount *m, int root, int fd, nr_err *err)
{
    cleanup_free char *real = path_below(root, fd);
    if (!real)
        return bld_errat(err, &b->f, in, m->off, "RUN --mount=type=bind,source=%s: cannot tell where it resolved",
                         m->source);
    if (strcmp(real, ".") && bld_ignore_match(bld_ctx_ignore(b->ctx), real))
        return bld_errat(err, &b->f, in, m->off,
                         "RUN --mount=type=bind,source=%s: it is %s, which the ignore file excludes", m->source, real);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))
        return 0;
    cleanup_free char *hidden = NULL;
    if (ignored_below(b, fd, real, 0, &hidden, err) < 0)
        return bld_errat(err, &b->f, in, m->off, "RUN --mount=type=bind,source=%s: %s", m->source, err->msg);
    if (hidden)
        return bld_errat(err, &b->f, in, m->off,
                         "RUN --mount=type=bind,source=%s: it holds %s, which the ignore file excludes: bind a "
                         "directory without excluded files", m->source, hidden);
    return 0;
}

/* A bind from a stage or an image, or a rw bind of the context: a tree of
 * its own under bind_dir, `source` resolved inside it; *vol and *dir (for
 * bld_run_mount_cleanup) set. */
static int bind_tree(bld_state *b, const bld_instr *in, const bld_run_mount *m, char **vol, char **dir, nr_err *err)
{
    char **lowers = NULL;
    size_t n = 0;
    bld_stage *stage = NULL;
    img_image *img = NULL;
    int rc = -1;
    cleanup_free char *at = NULL, *rel = NULL;
    cleanup_close int root = -1, fd = -1;
    if (m->from) {
        bld_ctx *tree; /* writes the stage's layers and unpacks them, once per build */
        if (bld_run_mount_from(b, in, m, &stage, &img, err) < 0)
            goto out;
        if ((stage ? bld_tree_stage(b, stage, &tree, err) : bld_tree_image(b, img, &tree, err)) < 0) {
            bld_errat(err, &b->f, in, m->off, "RUN --mount from=%s: %s", m->from, err->msg);
            goto out;
        }
        n = stage ? stage->n_layers : img->n_layers;
        lowers = nr_xcalloc(n + 1, sizeof *lowers);
        for (size_t i = 0; i < n; i++) { /* top first */
            const img_layer_desc *l = stage ? &stage->layers[n - 1 - i]->layer : &img->layers[n - 1 - i];
            lowers[i] = bld_layer_dir(b, l);
        }
    } else {
        lowers = nr_xcalloc(2, sizeof *lowers);
        lowers[n++] = nr_xasprintf("/proc/self/fd/%d", bld_ctx_fd(b->ctx)); /* the context opened, not its path */
    }
    if (!(*dir = bind_dir(b, err)))
        goto out;
    at = nr_xasprintf("%s/tree", *dir);
    if (attach_tree((const char *const *)lowers, n, m->rw ? *dir : NULL, at, err) < 0)
        goto out;
    /* the source inside that tree: links resolve in its root (a stage's,
     * the context's, as COPY resolves them) */
    root = open(at, O_PATH | O_DIRECTORY | O_CLOEXEC);
    rel = bld_path_clean(m->source);
    const char *r = rel + strspn(rel, "/");
    struct open_how how = {.flags = O_PATH | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
    fd = root < 0 ? -1 : (int)syscall(SYS_openat2, root, *r ? r : ".", &how, sizeof how);
    if (fd < 0) {
        bld_errat(err, &b->f, in, m->off, "RUN --mount=type=bind,source=%s%s%s: %s", m->source,
                  m->from ? ",from=" : "", m->from ? m->from : "", strerror(errno));
        goto out;
    }
    /* the context's source resolved again (in the overlay): checked again */
    if (!m->from && none_ignored(b, in, m, root, fd, err) < 0)
        goto out;
    rc = attach_fd(fd, *dir, m->target, m->rw, vol, err);
out:
    for (size_t i = 0; i < n; i++)
        free(lowers[i]);
    free(lowers);
    img_image_free(img);
    return rc;
}

/* A file of the store's (under cache/build/secrets, never in a layer or
 * the context) holding data, bound read-only into one step: a secret's
 * copy, or a #! heredoc's script.  *path is set once the file exists, so
 * bld_run_mount_cleanup removes it whatever fails after. */
static int step_file(bld_state *b, const char *what, const char *data, size_t len, uid_t uid, gid_t gid, mode_t mode,
                     char **path, nr_err *err)
{
    *path = NULL;
    cleanup_free char *dir = nr_xasprintf("%s/secrets", b->cache_dir);
    if (nr_mkdir_p(dir, 0700, err) < 0)
        return -1;
    unsigned char rnd[12];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return nr_err_sys(err, errno, "getrandom");
    /* <our pid>-<random>: what a killed nbuild left is swept by the next */
    char name[48];
    int w = snprintf(name, sizeof name, "%d-", (int)getpid());
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(name + w + 2 * i, 3, "%02x", rnd[i]);
    cleanup_free char *p = nr_xasprintf("%s/%s", dir, name);
    cleanup_close int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
    if (fd < 0)
        return nr_err_sys(err, errno, "%s %s", what, p);
    *path = nr_xstrdup(p);
    if (nr_write_all(fd, data, len) < 0 || fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0)
        return nr_err_sys(err, errno, "%s %s", what, p);
    return 0;
}

int bld_run_script_volume(bld_state *b, const char *data, const char *target, char **vol, char **tmpfile,
                          nr_err *err)
{
    *vol = NULL;
    if (step_file(b, "heredoc script", data, strlen(data), 0, 0, 0755, tmpfile, err) < 0)
        return -1;
    *vol = nr_xasprintf("%s:%s:ro", *tmpfile, target);
    return 0;
}

int bld_run_mount_volume(bld_state *b, const bld_instr *in, const bld_run_mount *m, char **vol, char **tmpfile,
                         nr_err *err)
{
    *vol = *tmpfile = NULL;
    if (m->type == BLD_MOUNT_CACHE) {
        char h[65];
        /* a base image's trigger gets caches of its own: the ones the
         * build's own steps (and later builds) share are not its to fill */
        cleanup_free char *seed = b->trigger_of ? nr_xasprintf("onbuild %s cache %s", b->trigger_of, m->id)
                                                : nr_xasprintf("cache %s", m->id);
        nr_sha256_hex(seed, strlen(seed), h);
        cleanup_free char *dir = nr_xasprintf("%s/mounts", b->cache_dir);
        if (nr_mkdir_p(dir, 0700, err) < 0)
            return -1;
        cleanup_free char *path = nr_xasprintf("%s/%s", dir, h);
        if (mkdir(path, m->mode) == 0) {
            /* made now: the owner and mode the mount asks for */
            if (chown(path, m->uid, m->gid) < 0 || chmod(path, m->mode) < 0)
                return nr_err_sys(err, errno, "cache mount %s", path);
        } else if (errno != EEXIST) {
            return nr_err_sys(err, errno, "cache mount %s", path);
        }
        struct stat st;
        if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
            return nr_err_sys(err, errno ? errno : ENOTDIR, "cache mount %s", path);
        *vol = nr_xasprintf("%s:%s%s", path, m->target, m->readonly ? ":ro" : "");
        return 0;
    }
    if (m->type == BLD_MOUNT_SECRET && !m->target)
        return 0; /* env= only: bld_run_mount_env gives it */
    if (m->type == BLD_MOUNT_SECRET) {
        cleanup_free char *data = NULL;
        size_t len = 0;
        if (bld_run_mount_secret(b, in, m, &data, &len, err) < 0)
            return -1;
        if (!data)
            return 0; /* an optional secret that is not there: no mount, as BuildKit does */
        int rc = step_file(b, "secret file", data, len, m->uid, m->gid, m->mode, tmpfile, err);
        memset(data, 0, len);
        if (rc < 0)
            return -1;
        *vol = nr_xasprintf("%s:%s:ro", *tmpfile, m->target);
        return 0;
    }
    if (m->type == BLD_MOUNT_SSH) {
        const char *agent;
        if (bld_ssh_agent(b, m->id, &agent, err) < 0)
            return bld_errat(err, &b->f, in, m->off, "RUN --mount=type=ssh,id=%s: %s", m->id, err->msg);
        if (!agent) { /* no agent to forward: nothing mounted */
            if (b->o->progress)
                fprintf(b->o->progress,
                        "--> RUN --mount=type=ssh,id=%s: no --ssh %s given; the step runs with no agent\n", m->id,
                        m->id);
            return 0;
        }
        /* a socket of the step's own, relayed to the agent (ssh.c) */
        if (!(*tmpfile = bind_dir(b, err)))
            return -1;
        cleanup_free char *sock = nr_xasprintf("%s/agent.sock", *tmpfile);
        pid_t pid;
        if (bld_ssh_relay(agent, sock, m->uid, m->gid, m->mode, &pid, err) < 0)
            return bld_errat(err, &b->f, in, m->off, "RUN --mount=type=ssh,id=%s: %s", m->id, err->msg);
        cleanup_free char *pidfile = nr_xasprintf("%s/relay.pid", *tmpfile);
        char pidtext[24];
        int pl = snprintf(pidtext, sizeof pidtext, "%d", (int)pid);
        if (nr_write_atomic(AT_FDCWD, pidfile, pidtext, (size_t)pl, 0600, err) < 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -1;
        }
        *vol = nr_xasprintf("%s:%s", sock, m->target);
        return 0;
    }
    if (m->type == BLD_MOUNT_TMPFS) {
        *vol = nr_xasprintf("%s%s%s", m->target, m->size ? ":size=" : "", m->size ? m->size : "");
        return 0;
    }
    if (m->from)
        return bind_tree(b, in, m, vol, tmpfile, err);
    /* bind: the context's path, resolved with the context as its root (a
     * link to /etc/x or ../../x names the context's etc/x or x, never the
     * host's: BuildKit's rule, and COPY's) */
    cleanup_free char *rel = bld_path_clean(m->source);
    const char *r = rel[0] == '/' ? rel + 1 : rel;
    if (!strcmp(r, "..") || !strncmp(r, "../", 3))
        return bld_errat(err, &b->f, in, m->off, "RUN --mount=type=bind,source=%s: outside the build context",
                         m->source);
    /* from the context's own fd: its path, too, is only a name */
    cleanup_close int fd = bld_ctx_source_open(b->ctx, r, O_PATH | O_CLOEXEC, err);
    if (fd < 0)
        return bld_errat(err, &b->f, in, m->off, "RUN --mount=type=bind,source=%s: %s", m->source, err->msg);
    if (none_ignored(b, in, m, bld_ctx_fd(b->ctx), fd, err) < 0)
        return -1;
    if (m->rw) /* the step's writes go to an overlay of its own */
        return bind_tree(b, in, m, vol, tmpfile, err);
    /* the step sees the object checked here, never the path again */
    if (!(*tmpfile = bind_dir(b, err)))
        return -1;
    return attach_fd(fd, *tmpfile, m->target, false, vol, err);
}
