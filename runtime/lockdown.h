/* Capabilities, no_new_privs, seccomp and path resolution for container
 * processes: plain syscalls, shared by nrun and its static PID 1
 * (runtime/init/). */
#ifndef RT_LOCKDOWN_H
#define RT_LOCKDOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/* Drop every capability but `keep` from the bounding set (needs CAP_SETPCAP). */
int rt_bounding_drop(uint64_t keep, nr_err *err);
/* Effective = permitted = caps; inheritable empty. */
int rt_caps_set(uint64_t caps, nr_err *err);
/* PID 1: not dumpable, bounding = caps, keeps caps + SETUID/SETGID/KILL,
 * under the container's seccomp filter (len 0 = none). */
int rt_lockdown_pid1(uint64_t caps, bool nnp, const void *filter, size_t len, nr_err *err);
/* Right before exec of a container process running as uid. */
int rt_lockdown_exec(uint64_t caps, uid_t uid, bool nnp, nr_err *err);
/* setgroups(2), except where the kernel forbids it for good: a rootless
 * single-mapping user namespace (runtime/userns.c) keeps the groups it was
 * given, which map to no group inside and give no more than the caller had. */
int rt_setgroups(size_t n, const gid_t *groups);
/* Before a container process becomes uid: its stdio (fds 0-2) that are
 * anonymous pipes owned by another uid become uid's, as runc's
 * fixStdioPermissions does, so a non-root process can open /dev/stdout,
 * /dev/stderr or /dev/fd/N of them (nginx, lighttpd, `echo >/dev/stderr`).
 * Files, FIFOs, terminals, sockets and /dev/null are left alone; failures
 * are ignored. */
void rt_stdio_own(uid_t uid);
/* Install a compiled BPF program (struct sock_filter[]); len 0 = none. */
int rt_seccomp_load_raw(const void *filter, size_t len, nr_err *err);

/* Open path inside our root (an absolute one from our root, a relative one
 * from our cwd) following no magic link (/proc/self/fd/N, /proc/1/cwd...):
 * a container process's root is the container's, and what a magic link
 * names may lie outside it. */
int rt_open_in_root(const char *path, int flags);
/* The same with rootfd as the root (a container's, opened from the host):
 * every "..", absolute symlink and component stays below it, no magic link
 * is followed.  mode for O_CREAT. */
int rt_open_at_root(int rootfd, const char *path, int flags, mode_t mode);
/* Copy `size` bytes of the regular file `in` to `out` keeping its holes
 * (only SEEK_DATA's extents are read; out is then truncated to size): a
 * container's sparse file costs the host no more disk than it costs the
 * container, and a file the container keeps growing is copied to the size
 * it had.  -1 (errno) on failure. */
int rt_copy_sparse(int in, int out, off_t size);
/* chdir through rt_open_in_root: the working directory of every process
 * that enters a container (PID 1's app, its workers, nrun exec). */
int rt_chdir_in_root(const char *path);

#endif
