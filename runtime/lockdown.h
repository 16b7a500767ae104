/* Capabilities, no_new_privs and seccomp for container processes: plain
 * syscalls, shared by nrun and its static PID 1 (runtime/init/). */
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
/* PID 1: not dumpable, bounding = caps, keeps caps + SETUID/SETGID/KILL. */
int rt_lockdown_pid1(uint64_t caps, bool nnp, nr_err *err);
/* Right before exec of a container process running as uid. */
int rt_lockdown_exec(uint64_t caps, uid_t uid, bool nnp, nr_err *err);
/* Install a compiled BPF program (struct sock_filter[]); len 0 = none. */
int rt_seccomp_load_raw(const void *filter, size_t len, nr_err *err);

#endif
