/* The container's PID 1 program (runtime/init/, embedded in nrun at build
 * time) as an executable fd for execveat() inside the container: always a
 * sealed memfd copy (CVE-2019-5736).  A process of the container that gets a
 * handle on it (/proc/1/exe with CAP_SYS_PTRACE, or a worker that executes
 * its own /proc/self/exe) holds an anonymous file that cannot be written,
 * never a file of the host.  The copy costs ~0.3 ms per start and 1 MB of
 * memory per container (a file in the store, shared through the page cache,
 * was written once and could be reopened for writing once nothing ran it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/init/initcfg.h"
#include "runtime/runtime.h"

extern const unsigned char nr_init_blob[] __attribute__((visibility("hidden")));
extern const unsigned char nr_init_blob_end[] __attribute__((visibility("hidden")));
extern const char nr_init_blob_id[];

static int sealed_copy(const unsigned char *data, size_t len, nr_err *err)
{
    int fd = memfd_create("nrun-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return nr_err_sys(err, errno, "memfd_create");
    if (nr_write_all(fd, data, len) < 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
        int e = errno;
        close(fd);
        return nr_err_sys(err, e, "seal a copy of nrun-init");
    }
    return fd;
}

void rt_init_exec(int exe, const rt_initcfg *ic, int sync_fd, char **envp, nr_err *err)
{
    cleanup_close int cfd = memfd_create("nrun-config", 0);
    if (cfd < 0) {
        nr_err_sys(err, errno, "memfd_create");
        return;
    }
    if (rt_initcfg_write(cfd, ic, err) < 0)
        return;
    if (lseek(cfd, 0, SEEK_SET) < 0) {
        nr_err_sys(err, errno, "lseek");
        return;
    }
    /* what PID 1 keeps: everything else is close-on-exec */
    const sv_config *s = &ic->sv;
    int keep[260];
    size_t nk = 0;
    keep[nk++] = sync_fd;
    keep[nk++] = s->log_dir_fd;
    keep[nk++] = s->control_fd;
    for (size_t i = 0; i < s->n_listen && nk < NR_ARRAY_LEN(keep); i++)
        keep[nk++] = s->listen_fds[i];
    for (size_t i = 0; i < nk; i++)
        if (keep[i] >= 0 && fcntl(keep[i], F_SETFD, 0) < 0) {
            nr_err_sys(err, errno, "fcntl");
            return;
        }
    char cfds[16], syncs[16] = "-";
    snprintf(cfds, sizeof cfds, "%d", cfd);
    if (sync_fd >= 0)
        snprintf(syncs, sizeof syncs, "%d", sync_fd);
    char *argv[] = {"nrun", "init", cfds, syncs, NULL};
    syscall(SYS_execveat, exe, "", argv, envp, AT_EMPTY_PATH);
    nr_err_sys(err, errno, "execute nrun-init");
}

int rt_init_exe(nr_err *err)
{
    return sealed_copy(nr_init_blob, (size_t)(nr_init_blob_end - nr_init_blob), err);
}
