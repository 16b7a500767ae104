/* containers/<id>/state.json: what `ps`, `stop`, `exec` and `inspect` know of
 * a container.  Written atomically (temp + rename) by whoever changes it: the
 * run command when the container starts, its monitor when it ends.  A reader
 * never trusts "running" alone: the pid must still be the process that
 * started at the recorded time (/proc/<pid>/stat field 22), so a container
 * whose nrun or monitor was killed shows as exited, never running. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "images/store.h"
#include "runtime/create.h"
#include "runtime/net.h"
#include "runtime/runtime.h"

unsigned long long rt_pid_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    /* comm may hold spaces and parens: fields restart after the last ')' */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    p += 2; /* field 3 (state) */
    for (int f = 3; f < 22 && p; f++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    return p ? strtoull(p, NULL, 10) : 0;
}

bool rt_pid_alive(pid_t pid, unsigned long long start_time)
{
    if (pid <= 0 || start_time == 0)
        return false;
    unsigned long long st = rt_pid_start_time(pid);
    if (st != start_time)
        return false;
    /* a zombie still has its stat: it is not running */
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static bool valid_id(const char *id)
{
    if (strlen(id) != 64)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

int rt_state_read(const char *root, const char *id, rt_state *st, nr_err *err)
{
    memset(st, 0, sizeof *st);
    if (!valid_id(id))
        return nr_err_set(err, "bad container id \"%s\"", id);
    cleanup_free char *path = nr_xasprintf("%s/containers/%s/state.json", root, id);
    cleanup_free char *text = NULL;
    size_t len;
    if (nr_read_file(AT_FDCWD, path, 1 << 20, &text, &len, err) < 0)
        return -1;
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        return nr_err_set(err, "%s:%d:%d: %s", path, je.line, je.column, json_is_object(j) ? "" : je.text);
    }
    strcpy(st->id, id);
    const char *s;
    st->name = nr_xstrdup((s = json_string_value(json_object_get(j, "name"))) ? s : "");
    st->image = nr_xstrdup((s = json_string_value(json_object_get(j, "image"))) ? s : "");
    st->command = nr_xstrdup((s = json_string_value(json_object_get(j, "command"))) ? s : "");
    s = json_string_value(json_object_get(j, "status"));
    st->status = s && !strcmp(s, "running")      ? "running"
                 : s && !strcmp(s, "exited")     ? "exited"
                 : s && !strcmp(s, "restarting") ? "restarting"
                                                 : "created";
    st->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
    st->monitor_pid = (pid_t)json_integer_value(json_object_get(j, "monitor_pid"));
    st->monitor_start = (unsigned long long)json_integer_value(json_object_get(j, "monitor_start"));
    st->start_time = (unsigned long long)json_integer_value(json_object_get(j, "start_time"));
    st->exit_code = (int)json_integer_value(json_object_get(j, "exit_code"));
    st->oom_killed = json_is_true(json_object_get(j, "oom_killed"));
    st->created = json_integer_value(json_object_get(j, "created"));
    st->created_ns = json_integer_value(json_object_get(j, "created_ns"));
    st->auto_remove = json_is_true(json_object_get(j, "auto_remove"));
    st->started = json_integer_value(json_object_get(j, "started"));
    st->finished = json_integer_value(json_object_get(j, "finished"));
    st->restart_count = (int)json_integer_value(json_object_get(j, "restart_count"));
    json_t *cg = json_object_get(j, "cgroups");
    st->cgroups = json_is_array(cg) ? json_incref(cg) : json_array();
    json_decref(j);
    return 0;
}

int rt_state_write(const char *root, const rt_state *st_in, nr_err *err)
{
    rt_state copy = *st_in;
    const rt_state *st = &copy;
    json_t *empty = NULL;
    if (!copy.cgroups)
        copy.cgroups = empty = json_array();
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:i, s:b, s:I, s:I, s:I, s:I, s:i, s:b, s:I, s:O}", "id", st->id,
                          "name", st->name ? st->name : "", "image", st->image ? st->image : "", "command",
                          st->command ? st->command : "", "status", st->status, "pid", (int)st->pid, "monitor_pid",
                          (int)st->monitor_pid, "start_time", (json_int_t)st->start_time, "exit_code", st->exit_code,
                          "oom_killed", st->oom_killed, "created", (json_int_t)st->created, "created_ns", (json_int_t)st->created_ns, "started",
                          (json_int_t)st->started, "finished", (json_int_t)st->finished, "restart_count",
                          st->restart_count, "auto_remove", st->auto_remove, "monitor_start",
                          (json_int_t)st->monitor_start, "cgroups", st->cgroups);
    json_decref(empty);
    if (!j)
        return nr_err_set(err, "state.json: cannot build");
    cleanup_free char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    cleanup_free char *dir = rt_ctr_dir(root, st->id);
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return nr_err_sys(err, errno, "open %s", dir);
    return rt_write_file(dfd, "state.json", text, 0600, err);
}

/* Container files are replaced atomically (temp + rename: a reader sees the
 * old or the new file, never a mix, and a killed nrun leaves one of them) but
 * not fsync'd: they describe processes that a power loss ends anyway, and
 * five fsyncs would double the start time of a container. */
int rt_write_file(int dirfd, const char *name, const char *text, mode_t mode, nr_err *err)
{
    char tmp[512];
    int fd = nr_open_temp(dirfd, name, mode, tmp, sizeof tmp);
    if (fd < 0)
        return nr_err_sys(err, errno, "create %s", name);
    size_t len = strlen(text);
    if (nr_write_all(fd, text, len) < 0) {
        int e = errno;
        close(fd);
        unlinkat(dirfd, tmp, 0);
        return nr_err_sys(err, e, "write %s", name);
    }
    close(fd);
    if (renameat(dirfd, tmp, dirfd, name) < 0) {
        int e = errno;
        unlinkat(dirfd, tmp, 0);
        return nr_err_sys(err, e, "rename %s", name);
    }
    return 0;
}

void rt_state_free(rt_state *st)
{
    free(st->name);
    free(st->image);
    free(st->command);
    json_decref(st->cgroups);
    memset(st, 0, sizeof *st);
}

bool rt_state_monitor_alive(const rt_state *st)
{
    return st->monitor_pid > 0 && st->monitor_start && rt_pid_alive(st->monitor_pid, st->monitor_start);
}

const char *rt_state_live_status(const rt_state *st)
{
    if (!strcmp(st->status, "running") && !rt_pid_alive(st->pid, st->start_time))
        return "exited";
    /* restarting only while the monitor that will restart it lives */
    if (!strcmp(st->status, "restarting") && !rt_state_monitor_alive(st))
        return "exited";
    return st->status;
}

bool rt_state_paused(const rt_state *st)
{
    if (strcmp(rt_state_live_status(st), "running") || !st->cgroups)
        return false;
    rt_cgroup cg;
    rt_cgroup_from_json(st->cgroups, &cg);
    bool frozen = rt_cgroup_frozen(&cg);
    rt_cgroup_free(&cg);
    return frozen;
}

int rt_container_list(const char *root, char ***ids, size_t *n, nr_err *err)
{
    cleanup_free char *dir = nr_xasprintf("%s/containers", root);
    *ids = NULL;
    *n = 0;
    /* every command that finds a container comes here: never one of a
     * containers/ (or root) that another user prepared */
    if (img_store_check(root, err) < 0)
        return -1;
    cleanup_dir DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return nr_err_sys(err, errno, "open %s", dir);
    }
    struct dirent *e;
    size_t cap = 0;
    while ((e = readdir(d))) {
        if (!valid_id(e->d_name))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *ids = nr_xrealloc(*ids, cap * sizeof(char *));
        }
        (*ids)[(*n)++] = nr_xstrdup(e->d_name);
    }
    return 0;
}

int rt_container_find(const char *root, const char *ref, char id[65], nr_err *err)
{
    char **ids;
    size_t n;
    if (rt_container_list(root, &ids, &n, err) < 0)
        return -1;
    int found = 0;
    size_t rl = strlen(ref);
    /* an exact name wins over an id prefix, as in docker */
    for (size_t i = 0; i < n && !found; i++) {
        rt_state st;
        nr_err ign;
        if (rt_state_read(root, ids[i], &st, &ign) == 0) {
            if (!strcmp(st.name, ref)) {
                strcpy(id, ids[i]);
                found = 1;
            }
            rt_state_free(&st);
        }
    }
    if (!found)
        for (size_t i = 0; i < n && rl > 0 && rl <= 64; i++)
            if (!strncmp(ids[i], ref, rl)) {
                if (!found)
                    strcpy(id, ids[i]);
                found++;
            }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    if (found == 0) {
        errno = ENOENT;
        return nr_err_set(err, "no such container: %s", ref);
    }
    if (found > 1)
        return nr_err_set(err, "container id prefix %s is ambiguous", ref);
    return 0;
}

int rt_container_state(const char *root, const char *ref, char id[65], rt_state *st, nr_err *err)
{
    if (rt_container_find(root, ref, id, err) < 0)
        return -1;
    return rt_state_read(root, id, st, err);
}

/* Container directories are recycled.  A removed container's directory is
 * emptied down to its skeleton (upper, work, merged, logs) and kept in
 * containers/.free, and a new container takes one from there: a start and a
 * removal then make and free 5 inodes fewer.  That matters on ext4 without a
 * journal (this machine's disk), where every inode allocation scans the
 * inodes freed in the last 30 s.  A skeleton is reused only when its upper
 * holds no overlay xattrs (it served a container that wrote nothing under
 * a copied-up directory), and the pool is capped. */
#define RT_FREE_DIRS 16
static const struct {
    const char *name;
    mode_t mode;
} skeleton[] = {{"upper", 0755}, {"work", 0700}, {"merged", 0755}, {"logs", 0700}};

/* Make dir a skeleton; 0 if it is one now. */
static int make_skeleton(int dfd, nr_err *err)
{
    cleanup_dir DIR *d = fdopendir(dup(dfd));
    if (!d)
        return nr_err_sys(err, errno, "opendir");
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        bool keep = false;
        for (size_t i = 0; i < NR_ARRAY_LEN(skeleton); i++)
            keep |= !strcmp(e->d_name, skeleton[i].name);
        struct stat st;
        if (keep && (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)))
            keep = false;
        if (keep ? nr_empty_dir(dfd, e->d_name, err) : nr_rm_rf(dfd, e->d_name, err))
            return -1;
    }
    /* as a new one: root's, its mode, no xattrs (overlay's marks on the upper
     * root, ACLs): a container's chmod or chown of its / must not reach the next */
    for (size_t i = 0; i < NR_ARRAY_LEN(skeleton); i++) {
        const char *name = skeleton[i].name;
        if (mkdirat(dfd, name, skeleton[i].mode) < 0 && errno != EEXIST)
            return nr_err_sys(err, errno, "mkdir %s", name);
        cleanup_close int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        char x[8];
        if (fd < 0 || fchown(fd, 0, 0) < 0 || fchmod(fd, skeleton[i].mode) < 0 || futimens(fd, NULL) < 0)
            return nr_err_sys(err, errno, "reset %s", name);
        /* overlay gives each upper an id of its own (kernel 6.6+); the next one is made anew */
        fremovexattr(fd, "trusted.overlay.uuid");
        fremovexattr(fd, "user.overlay.uuid"); /* a rootless overlay's (userxattr) */
        if (flistxattr(fd, x, sizeof x) != 0)
            return nr_err_set(err, "%s has extended attributes", name);
        /* and the inode flags (chattr: sync, noatime, append...) a new dir
         * here would get from its parent, or new files would inherit them */
        int flags = 0, fresh = 0;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && ioctl(dfd, FS_IOC_GETFLAGS, &fresh) == 0 && flags != fresh)
            return nr_err_set(err, "%s has inode flags %#x", name, (unsigned)flags);
    }
    return 0;
}

int rt_ctr_dir_discard(const char *root, const char *path, const char *id, nr_err *err)
{
    cleanup_free char *pool = nr_xasprintf("%s/containers/.free", root);
    if (mkdir(pool, 0700) < 0 && errno != EEXIST)
        return nr_rm_rf(AT_FDCWD, path, err);
    nr_err ign;
    cleanup_close int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0 || make_skeleton(dfd, &ign) < 0 || fchmod(dfd, 0700) < 0)
        return nr_rm_rf(AT_FDCWD, path, err);
    /* count and add under the pool's lock, or concurrent removals overfill it */
    cleanup_close int pfd = open(pool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0 || flock(pfd, LOCK_EX) < 0)
        return nr_rm_rf(AT_FDCWD, path, err);
    size_t n = 0;
    {
        cleanup_dir DIR *d = fdopendir(dup(pfd));
        for (struct dirent *e; d && (e = readdir(d));)
            n += e->d_name[0] != '.';
    }
    cleanup_free char *to = nr_xasprintf("%s/%s", pool, id);
    if (n < RT_FREE_DIRS && rename(path, to) == 0)
        return 0;
    flock(pfd, LOCK_UN);
    return nr_rm_rf(AT_FDCWD, path, err);
}

int rt_ctr_dir_make(const char *root, const char *id, nr_err *err)
{
    cleanup_free char *dir = rt_ctr_dir(root, id);
    cleanup_free char *pool = nr_xasprintf("%s/containers/.free", root);
    cleanup_dir DIR *d = opendir(pool);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        /* another nrun may take the same one: the rename decides */
        if (renameat(dirfd(d), e->d_name, AT_FDCWD, dir) == 0) {
            /* made a skeleton before it went in */
            int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (dfd >= 0)
                return dfd;
            nr_err ign;
            nr_rm_rf(AT_FDCWD, dir, &ign);
        }
    }
    if (mkdir(dir, 0700) < 0)
        return nr_err_sys(err, errno, "mkdir %s", dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        nr_err_sys(err, errno, "open %s", dir);
    if (dfd < 0 || make_skeleton(dfd, err) < 0) {
        nr_err_wrap(err, "create %s", dir);
        if (dfd >= 0)
            close(dfd);
        nr_err ign;
        nr_rm_rf(AT_FDCWD, dir, &ign);
        return -1;
    }
    return dfd;
}

int rt_ctr_lock(const char *root, const char *id, nr_err *err)
{
    if (!valid_id(id))
        return nr_err_set(err, "bad container id");
    cleanup_free char *dir = rt_ctr_dir(root, id);
    for (int tries = 0;; tries++) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return nr_err_sys(err, errno, "container %.12s", id);
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            /* removed (renamed away, maybe recycled for another) while we
             * waited: the path must still name the directory we hold */
            struct stat a, b;
            if (fstat(fd, &a) == 0 && stat(dir, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
                return fd;
            close(fd);
            errno = ENOENT;
            return nr_err_sys(err, errno, "container %.12s", id);
        }
        int e = errno;
        close(fd);
        if (e != EWOULDBLOCK)
            return nr_err_sys(err, e, "lock container %.12s", id);
        if (tries >= 6000)
            return nr_err_set(err, "container %.12s: another nrun has been starting it for 30 s", id);
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* A --rm container (or a build step's) whose nrun was killed (SIGKILL: no
 * chance to remove it) is removed by the next ps or nbuild, as docker's
 * daemon would have: its init is dead, and so is the nrun that ran it and
 * was to remove it.  Frees st then. */
static bool orphaned(rt_state *st)
{
    /* ended (recorded running, init dead), never started (created), or
     * exited and not yet removed (a build step kept until its build ends) */
    bool ended = !strcmp(st->status, "running") && strcmp(rt_state_live_status(st), "running");
    return st->auto_remove && (ended || !strcmp(st->status, "created") || !strcmp(st->status, "exited")) &&
           st->monitor_pid > 0 && !rt_state_monitor_alive(st);
}

bool rt_state_orphan_removed(const char *root, rt_state *st)
{
    if (!orphaned(st))
        return false;
    /* one being started (nrun start of a create --rm) holds its start
     * lock: no orphan; and the state read before may be past by now */
    cleanup_free char *dir = rt_ctr_dir(root, st->id);
    cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
        return false;
    rt_state now;
    nr_err ign;
    if (rt_state_read(root, st->id, &now, &ign) < 0)
        return false;
    bool still = orphaned(&now);
    rt_state_free(&now);
    if (!still || rt_container_remove(root, st->id, &ign) < 0)
        return false;
    rt_state_free(st);
    return true;
}

int rt_state_pidfd(const rt_state *st)
{
    int fd = (int)syscall(SYS_pidfd_open, st->pid, 0);
    if (fd < 0)
        return -1;
    if (!rt_pid_alive(st->pid, st->start_time)) { /* the pid was reused */
        close(fd);
        return -1;
    }
    return fd;
}

/* A build step's container outlives a killed nbuild (PID 1 keeps running,
 * as every container does without its nrun): ended here, by pidfd, checked
 * to be its init still. */
static void step_end(rt_state *st)
{
    if (!st->image || strcmp(st->image, RT_BUILD_STEP_IMAGE) || strcmp(st->status, "running") ||
        rt_state_monitor_alive(st))
        return;
    int fd = rt_state_pidfd(st);
    if (fd < 0)
        return;
    if (syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) == 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, 1, 5000);
    }
    close(fd);
}

void rt_orphans_remove(const char *root, bool build_steps)
{
    char **ids;
    size_t n;
    nr_err ign;
    if (rt_container_list(root, &ids, &n, &ign) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        rt_state st;
        if (rt_state_read(root, ids[i], &st, &ign) == 0) {
            if (build_steps)
                step_end(&st);
            if (!rt_state_orphan_removed(root, &st))
                rt_state_free(&st);
        }
        free(ids[i]);
    }
    free(ids);
    rt_net_gc(root); /* network attachments of containers whose nrun was killed */
}
