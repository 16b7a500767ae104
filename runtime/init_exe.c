/* The container's PID 1 program (runtime/init/, embedded in nrun at build
 * time) as an executable fd for execveat() inside the container.
 *
 * Normally a file in the store, cache/nrun-init-<id>, written once
 * (atomically, 0555) and shared by every container through the page cache:
 * PID 1 makes itself non-dumpable before any other process exists in the
 * container, so /proc/1/exe stays closed to the container's root.  When the
 * container holds CAP_SYS_PTRACE that is not enough (CVE-2019-5736), and the
 * program is run from a sealed memfd copy instead, which cannot be written. */
#include <dirent.h>
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

/* Copies written by other builds of nrun: a running container keeps its
 * program's inode, and a start of that other build writes its copy again. */
static void remove_others(int dfd, const char *keep)
{
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "nrun-init-", 10) && strcmp(e->d_name, keep))
            unlinkat(dfd, e->d_name, 0);
    closedir(d);
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

int rt_init_exe(const char *root, bool sealed, nr_err *err)
{
    size_t len = (size_t)(nr_init_blob_end - nr_init_blob);
    if (sealed)
        return sealed_copy(nr_init_blob, len, err);
    cleanup_free char *dir = nr_xasprintf("%s/cache", root);
    cleanup_free char *name = nr_xasprintf("nrun-init-%s", nr_init_blob_id);
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    /* owner-only, as img_store_open makes it */
    if (dfd < 0 && errno == ENOENT && mkdir(dir, 0700) == 0)
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return nr_err_sys(err, errno, "open %s", dir);
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == len && st.st_uid == 0 &&
            !(st.st_mode & 022))
            return fd;
        if (fd >= 0)
            close(fd); /* not what we wrote: replace it */
        else if (errno != ENOENT)
            return nr_err_sys(err, errno, "open %s/%s", dir, name);
        if (nr_write_atomic(dfd, name, nr_init_blob, len, 0555, err) < 0)
            return nr_err_wrap(err, "%s", dir);
        remove_others(dfd, name);
    }
    return nr_err_set(err, "%s/%s: cannot be written as expected", dir, name);
}
