/* nrun-init: PID 1 of every container.
 *
 * nrun sets the container up (namespaces, cgroups, mounts, pivot_root) and
 * then executes this small static program from a sealed memfd, so no file of
 * ours is needed in the image and /proc/1/exe never names a host file.  Being
 * a fresh, static process it carries nothing of nrun's (libcrypto,
 * libarchive, the image store code): the supervisor's memory is its own.
 *
 *   argv: nrun init CONFIG_FD SYNC_FD|-
 *
 * CONFIG_FD holds the configuration (initcfg.h); SYNC_FD gets "OK" once the
 * privileges are set, or "E<message>", and is closed.  `nrun supervise` runs
 * the same program on the host (no sync fd, no lockdown).  Then the supervisor
 * (or, for a terminal session, the minimal init) runs until the container
 * ends and its exit code is ours.
 *
 *   argv: nrun-init -- CMD [ARGS...]
 *
 * is the image mode (nbuild --init puts this file in the image): started by
 * runc or crun as the entrypoint, settings from the environment (imagecfg.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/err.h"
#include "runtime/init/initcfg.h"
#include "runtime/lockdown.h"
#include "runtime/runtime.h"

static int prepare(void *arg)
{
    const rt_initcfg *c = arg;
    nr_err e = {0};
    if (!c->lockdown)
        return 0;
    /* the filter is PID 1's already, inherited across fork */
    if (rt_lockdown_exec(c->caps, geteuid(), c->nnp, &e) < 0) {
        dprintf(2, "nrun: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int fd_arg(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return errno || *end || end == s || v < 0 || v > 1 << 20 ? -1 : (int)v;
}

int main(int argc, char **argv)
{
    /* First: /proc/1/{exe,mem,environ} closed to the container's root.  No
     * other process exists in the container until the supervisor forks. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (argc >= 2 && strcmp(argv[1], "init")) {
        /* an image's entrypoint (nbuild --init), started by runc/crun */
        rt_initcfg c;
        nr_err e = {0};
        if (rt_initcfg_from_image(argc, argv, &c, &e) < 0) {
            dprintf(2, "nrun-init: %s\n", e.msg);
            return NR_EXIT_USAGE;
        }
        return sv_run(&c.sv);
    }
    int cfd = argc == 4 && !strcmp(argv[1], "init") ? fd_arg(argv[2]) : -1;
    int sync = argc == 4 ? (strcmp(argv[3], "-") ? fd_arg(argv[3]) : -2) : -1;
    if (cfd < 0 || sync == -1) {
        fprintf(stderr, "usage: nrun-init -- CMD [ARGS...]   (an image's entrypoint, nbuild --init)\n");
        return NR_EXIT_USAGE;
    }
    rt_initcfg c;
    nr_err e = {0};
    if (rt_initcfg_read(cfd, &c, &e) < 0 || (c.lockdown && rt_lockdown_pid1(c.caps, c.nnp, c.bpf, c.bpf_len, &e) < 0)) {
        if (sync >= 0)
            dprintf(sync, "E%s", e.msg);
        else
            dprintf(2, "nrun: %s\n", e.msg);
        return NR_EXIT_CMD;
    }
    close(cfd);
    c.sv.worker_prepare = prepare;
    c.sv.worker_prepare_arg = &c;
    if (sync >= 0) {
        prctl(PR_SET_PDEATHSIG, 0);
        if (write(sync, "OK", 2) != 2)
            return NR_EXIT_CMD;
        close(sync);
    }
    int code = c.minimal ? rt_pid1_fallback(&c.sv) : sv_run(&c.sv);
    if (c.control_path)
        unlink(c.control_path);
    return code;
}
