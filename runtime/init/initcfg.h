/* What nrun hands to the container's PID 1 (build/nrun-init, a static
 * program embedded in nrun and executed from a sealed memfd once the
 * container's root is in place): the supervisor's configuration plus the
 * privileges every container process gets.  One JSON object in a memfd. */
#ifndef RT_INITCFG_H
#define RT_INITCFG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "runtime/supervisor/supervisor.h"

typedef struct rt_initcfg {
    sv_config sv;          /* argv, envp, cwd, identity, fds, supervisor settings */
    uint64_t caps;         /* the container's capability set */
    bool nnp;              /* no_new_privs */
    bool minimal;          /* the minimal init (a terminal session), not the supervisor */
    bool lockdown;         /* a container: set PID 1's and each process's privileges (not on the host) */
    char *control_path;    /* on the host: the control socket to remove at the end (NULL in a container) */
    unsigned char *bpf;    /* compiled seccomp program, installed in each process before exec */
    size_t bpf_len;
} rt_initcfg;

/* Serialize (nrun side).  The fds named in c->sv must stay open across exec. */
int rt_initcfg_write(int fd, const rt_initcfg *c, nr_err *err);
/* Parse and check (PID 1 side); on success the caller owns everything in c. */
int rt_initcfg_read(int fd, rt_initcfg *c, nr_err *err);
void rt_initcfg_free(rt_initcfg *c);
/* The image's entrypoint (nbuild --init, imagecfg.c): `nrun-init -- CMD...`
 * under any OCI runtime, settings from NRUN_* in the environment. */
int rt_initcfg_from_image(int argc, char **argv, rt_initcfg *c, nr_err *err);

#endif
