/* --sysctl: which kernel parameters a container may set, and setting them.
 *
 * Only parameters the kernel keeps per namespace, and of those only what
 * docker allows (its documented list): the IPC namespace's kernel.msgmax,
 * msgmnb, msgmni, sem, shmall, shmmax, shmmni, shm_rmid_forced and
 * fs.mqueue.*, and net.* when the container has a network namespace of its
 * own (with --network host they would be the host's, with container:NAME
 * another container's).  kernel.hostname and kernel.domainname are not
 * taken: the hostname is --hostname's.
 *
 * The values are written after pivot_root, through the container's own
 * /proc (a proc mount of its pid namespace; net.* and the IPC files answer
 * for the namespaces of the writer, which is the container's setup process
 * by then), before /proc/sys is made read-only and before anything of the
 * image runs.  The path is opened beneath /proc/sys with no symlink, magic
 * link or other filesystem on the way, so a key is never a way out. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/runtime.h"
#include "runtime/spec_policy.h"

const char *rt_sysctl_refused(const char *key, bool own_netns)
{
    static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                      "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
    size_t n = strlen(key);
    if (n == 0 || n > 255)
        return "not a sysctl name";
    /* components of [A-Za-z0-9_-] between single dots: no "/", no "..", no empty part */
    for (const char *p = key; *p; p++) {
        bool word = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                    *p == '-';
        if (!word && !(*p == '.' && p > key && p[1] && p[1] != '.'))
            return "not a sysctl name (components of letters, digits, '_' and '-' between single dots)";
    }
    for (size_t i = 0; i < NR_ARRAY_LEN(ipc); i++)
        if (!strcmp(key, ipc[i]))
            return NULL;
    if (!strncmp(key, "fs.mqueue.", 10))
        return NULL;
    if (!strncmp(key, "net.", 4))
        return own_netns ? NULL : "net.* needs a network namespace of the container's own (not --network host or "
                                  "container:NAME)";
    return "not a namespaced sysctl docker allows (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*)";
}

int rt_sysctls_apply(const rt_spec *s, nr_err *err)
{
    if (!s->nsysctl)
        return 0;
    struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
    cleanup_close int sys = (int)syscall(SYS_openat2, AT_FDCWD, "/proc/sys", &how, sizeof how);
    struct statfs sf;
    if (sys < 0 || fstatfs(sys, &sf) < 0)
        return nr_err_sys(err, errno, "--sysctl: open the container's /proc/sys");
    if ((long)sf.f_type != PROC_SUPER_MAGIC)
        return nr_err_set(err, "--sysctl: the container's /proc/sys is not procfs");
    for (size_t i = 0; i < s->nsysctl; i++) {
        cleanup_free char *rel = nr_xstrdup(s->sysctl_keys[i]);
        for (char *p = rel; *p; p++)
            if (*p == '.')
                *p = '/';
        struct open_how w = {.flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                             .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
                                        RESOLVE_NO_XDEV};
        cleanup_close int fd = (int)syscall(SYS_openat2, sys, rel, &w, sizeof w);
        if (fd < 0)
            return nr_err_sys(err, errno, "--sysctl %s", s->sysctl_keys[i]);
        const char *v = s->sysctl_vals[i];
        if (nr_write_all(fd, v, strlen(v)) < 0)
            return nr_err_sys(err, errno, "--sysctl %s=%s", s->sysctl_keys[i], v);
    }
    return 0;
}
