/* Rootless: a non-root caller enters a user namespace of its own, where it
 * is root (uid 0 = the caller outside) over the ids /etc/subuid and
 * /etc/subgid give it (1..N = the range, through the setuid newuidmap and
 * newgidmap of the uidmap package), or over its own uid and gid alone when
 * it has no range (written by itself; the kernel then forbids setgroups).
 * A mount namespace of its own comes with it, so the overlay and bind
 * mounts of the build containers are made in a namespace the user owns.
 *
 * Everything that follows (the store, layer unpacking, the build steps)
 * runs as that root: files of the caller are root's in the image, a
 * Dockerfile's chown to 1000 is subuid_start + 999 on the disk and 1000 in
 * the layer tar.  The kernel does the rest: nothing outside the caller's
 * files and range becomes writable, a setuid-root file made inside is
 * setuid-caller outside. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/runtime.h"

int rt_subid_range(char *text, const char *name, unsigned long id, unsigned long *start, unsigned long *count)
{
    char idstr[24];
    snprintf(idstr, sizeof idstr, "%lu", id);
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = 0;
        if (strcmp(l, idstr) && (!name || strcmp(l, name)))
            continue;
        /* decimal digits only (strtoul alone takes " +12"), within 32 bits */
        const char *a = c1 + 1, *b = c2 + 1;
        if (!*a || !*b || strspn(a, "0123456789") != strlen(a) || strspn(b, "0123456789") != strlen(b) ||
            strlen(a) > 10 || strlen(b) > 10)
            continue;
        unsigned long s = strtoul(a, NULL, 10), n = strtoul(b, NULL, 10);
        if (n == 0 || s > 0xfffffffeUL || n > 0xfffffffeUL - s)
            continue;
        *start = s;
        *count = n;
        return 1;
    }
    return 0;
}

/* The caller's first range in /etc/subuid or /etc/subgid: 1 found, 0 none. */
static int sub_range(const char *file, const char *name, unsigned long id, unsigned long *start, unsigned long *count)
{
    cleanup_free char *text = NULL;
    size_t len;
    nr_err ign;
    if (nr_read_file(AT_FDCWD, file, 1 << 20, &text, &len, &ign) < 0)
        return 0;
    return rt_subid_range(text, name, id, start, count);
}

static int write_proc(const char *file, const char *text, nr_err *err)
{
    cleanup_close int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || nr_write_all(fd, text, strlen(text)) < 0)
        return nr_err_sys(err, errno, "write %s", file);
    return 0;
}

/* Run prog (newuidmap/newgidmap) PID 0 ID 1 1 START COUNT; 0 when it succeeded. */
static int run_map(const char *prog, pid_t pid, unsigned long id, unsigned long start, unsigned long count)
{
    char p[24], i[24], s[24], c[24];
    snprintf(p, sizeof p, "%d", (int)pid);
    snprintf(i, sizeof i, "%lu", id);
    snprintf(s, sizeof s, "%lu", start);
    snprintf(c, sizeof c, "%lu", count);
    pid_t k = fork();
    if (k < 0)
        return -1;
    if (k == 0) {
        char *argv[] = {(char *)prog, p, "0", i, "1", "1", s, c, NULL};
        execvp(prog, argv);
        dprintf(2, "nbuild: exec %s: %s (install the uidmap package)\n", prog, strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(k, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int rt_userns_enter(rt_userns_info *info, nr_err *err)
{
    memset(info, 0, sizeof *info);
    uid_t uid = getuid();
    gid_t gid = getgid();
    struct passwd *pw = getpwuid(uid);
    cleanup_free char *name = pw ? nr_xstrdup(pw->pw_name) : NULL;
    unsigned long us = 0, uc = 0, gs = 0, gc = 0;
    info->ranged = sub_range("/etc/subuid", name, uid, &us, &uc) && sub_range("/etc/subgid", name, gid, &gs, &gc);
    info->uid_count = info->ranged ? uc + 1 : 1;
    info->gid_count = info->ranged ? gc + 1 : 1;
    int go[2];
    if (pipe2(go, O_CLOEXEC) < 0)
        return nr_err_sys(err, errno, "pipe");
    pid_t self = getpid();
    pid_t helper = -1;
    if (info->ranged) {
        /* newuidmap must run outside the new namespace: a child made
         * before it, told to go once it exists */
        fflush(NULL);
        helper = fork();
        if (helper < 0) {
            int e = errno;
            close(go[0]), close(go[1]);
            return nr_err_sys(err, e, "fork");
        }
        if (helper == 0) {
            close(go[1]);
            char b;
            if (read(go[0], &b, 1) != 1)
                _exit(1);
            if (run_map("newuidmap", self, uid, us, uc) < 0 || run_map("newgidmap", self, gid, gs, gc) < 0)
                _exit(2);
            _exit(0);
        }
    }
    close(go[0]);
    int r = unshare(CLONE_NEWUSER);
    int e = errno;
    if (r == 0 && helper > 0 && write(go[1], "g", 1) != 1)
        r = -1, e = errno;
    close(go[1]);
    if (helper > 0) {
        int st = 0;
        while (waitpid(helper, &st, 0) < 0 && errno == EINTR)
            ;
        if (r == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
            return nr_err_set(err, "newuidmap/newgidmap could not map the ranges of %s in /etc/subuid and "
                                   "/etc/subgid (uids %lu+%lu, gids %lu+%lu)", name ? name : "the caller", us, uc, gs,
                              gc);
    }
    if (r < 0)
        return nr_err_sys(err, e, "unshare a user namespace (are unprivileged user namespaces disabled?)");
    if (!info->ranged) {
        char m[64];
        if (write_proc("/proc/self/setgroups", "deny", err) < 0)
            return -1;
        snprintf(m, sizeof m, "0 %lu 1\n", (unsigned long)uid);
        if (write_proc("/proc/self/uid_map", m, err) < 0)
            return -1;
        snprintf(m, sizeof m, "0 %lu 1\n", (unsigned long)gid);
        if (write_proc("/proc/self/gid_map", m, err) < 0)
            return -1;
    }
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
        return nr_err_sys(err, errno, "become root in the user namespace");
    /* the caller's host groups have no place inside: dropped where allowed */
    if (info->ranged && setgroups(0, NULL) < 0)
        return nr_err_sys(err, errno, "setgroups in the user namespace");
    if (unshare(CLONE_NEWNS) < 0)
        return nr_err_sys(err, errno, "unshare a mount namespace");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return nr_err_sys(err, errno, "make / private");
    return 0;
}
