/* What a container process applies to itself before it runs container code:
 * the bounding set, its capabilities, no_new_privs and the seccomp filter.
 * Plain syscalls only (no libcap, no libseccomp): the static PID 1 in
 * runtime/init/ links this file too. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/magic.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <grp.h>
#include <unistd.h>

#include "common/util.h"

#include "runtime/lockdown.h"

int rt_bounding_drop(uint64_t keep, nr_err *err)
{
    for (int c = 0; c <= 63; c++) {
        if (keep & (1ULL << c))
            continue;
        int r = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
        if (r < 0)
            break; /* past the last capability this kernel knows */
        if (r == 1 && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
            return nr_err_sys(err, errno, "drop capability %d from the bounding set", c);
    }
    return 0;
}

/* Effective = permitted = caps, inheritable empty. */
int rt_caps_set(uint64_t caps, nr_err *err)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2] = {{0}};
    d[0].effective = d[0].permitted = (uint32_t)caps;
    d[1].effective = d[1].permitted = (uint32_t)(caps >> 32);
    if (syscall(SYS_capset, &h, d) < 0)
        return nr_err_sys(err, errno, "set capabilities");
    return 0;
}

int rt_lockdown_pid1(uint64_t caps, bool nnp, const void *filter, size_t len, nr_err *err)
{
    /* Not dumpable: /proc/1/{exe,mem,environ} stay closed to container root. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        return nr_err_sys(err, errno, "PR_SET_DUMPABLE");
    /* PID 1 runs under the container's filter too (its workers inherit it):
     * a container process that takes it over (CAP_SYS_PTRACE, /proc/1/mem)
     * gets no syscall the container's own processes are denied.  Without
     * no_new_privs, installing it needs CAP_SYS_ADMIN: before the drop. */
    if (!nnp && rt_seccomp_load_raw(filter, len, err) < 0)
        return -1;
    if (rt_bounding_drop(caps, err) < 0)
        return -1;
    /* PID 1 keeps what it needs to switch workers' identity and signal them. */
    if (rt_caps_set(caps | (1ULL << CAP_SETUID) | (1ULL << CAP_SETGID) | (1ULL << CAP_KILL), err) < 0)
        return -1;
    if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return nr_err_sys(err, errno, "PR_SET_NO_NEW_PRIVS");
    if (nnp && rt_seccomp_load_raw(filter, len, err) < 0)
        return -1;
    return 0;
}

int rt_lockdown_exec(uint64_t caps, uid_t uid, bool nnp, nr_err *err)
{
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return nr_err_sys(err, errno, "clear ambient capabilities");
    if (rt_bounding_drop(caps, err) < 0)
        return -1;
    /* A non-root process keeps no capability at all; root keeps the container's set. */
    if (rt_caps_set(uid == 0 ? caps : 0, err) < 0)
        return -1;
    if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return nr_err_sys(err, errno, "PR_SET_NO_NEW_PRIVS");
    return 0;
}

void rt_stdio_own(uid_t uid)
{
    for (int fd = 0; fd < 3; fd++) {
        struct stat st;
        struct statfs fs;
        if (fstat(fd, &st) < 0 || st.st_uid == uid)
            continue;
        /* an anonymous pipe only (pipefs: never a FIFO of some file system);
         * a terminal is left alone: -t's pty is already the user's, and the
         * caller's own terminal (exec without -t) must stay the caller's */
        if (S_ISFIFO(st.st_mode) && fstatfs(fd, &fs) == 0 && fs.f_type == PIPEFS_MAGIC)
            (void)!fchown(fd, uid, (gid_t)-1);
    }
}

int rt_setgroups(size_t n, const gid_t *groups)
{
    if (setgroups(n, groups) == 0)
        return 0;
    int e = errno;
    if (e == EPERM && nr_setgroups_denied())
        return 0;
    errno = e;
    return -1;
}

int rt_seccomp_load_raw(const void *filter, size_t len, nr_err *err)
{
    if (!filter || !len)
        return 0;
    if (len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > BPF_MAXINSNS)
        return nr_err_set(err, "seccomp filter of %zu bytes is not a BPF program", len);
    struct sock_fprog fp = {.len = (unsigned short)(len / sizeof(struct sock_filter)),
                            .filter = (struct sock_filter *)filter};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) < 0)
        return nr_err_sys(err, errno, "install seccomp filter");
    return 0;
}

int rt_open_in_root(const char *path, int flags)
{
    /* RESOLVE_IN_ROOT takes the dirfd as the root: our root, not our cwd */
    int root = path[0] == '/' ? open("/", O_PATH | O_DIRECTORY | O_CLOEXEC) : AT_FDCWD;
    if (root == -1)
        return -1;
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                           .resolve = RESOLVE_NO_MAGICLINKS | (root != AT_FDCWD ? RESOLVE_IN_ROOT : 0)};
    int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
    int e = errno;
    if (root != AT_FDCWD)
        close(root);
    errno = e;
    return fd;
}

int rt_open_at_root(int rootfd, const char *path, int flags, mode_t mode)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .mode = (flags & O_CREAT) ? mode : 0,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

int rt_chdir_in_root(const char *path)
{
    int fd = rt_open_in_root(path, O_PATH | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int r = fchdir(fd);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}
