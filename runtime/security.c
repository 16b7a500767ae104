/* Privileges of container processes: capability names, rlimits, identity,
 * and the two CVE defences: `nrun exec` re-executes itself from a sealed
 * memfd copy (CVE-2019-5736: /proc/<pid>/exe then names an unwritable memfd,
 * never the host's file; PID 1 gets the same from init_exe.c), and no host
 * fd survives into the container (CVE-2024-21626).  The capability syscalls themselves are in lockdown.c. */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/runtime.h"

static const char *const cap_names[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

int rt_cap_from_name(const char *name)
{
    for (size_t i = 0; i < NR_ARRAY_LEN(cap_names); i++)
        if (!strcasecmp(name, cap_names[i]) || !strcasecmp(name, cap_names[i] + 4))
            return (int)i;
    return -1;
}

const char *rt_cap_name(int cap)
{
    return cap >= 0 && (size_t)cap < NR_ARRAY_LEN(cap_names) ? cap_names[cap] : NULL;
}

/* Docker's default set without NET_RAW, MKNOD and AUDIT_WRITE. */
uint64_t rt_caps_default(void)
{
    static const int d[] = {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_SETGID, CAP_SETUID,
                            CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL};
    uint64_t c = 0;
    for (size_t i = 0; i < NR_ARRAY_LEN(d); i++)
        c |= 1ULL << d[i];
    return c;
}

int rt_rlimits_apply(const rt_spec *s, nr_err *err)
{
    for (size_t i = 0; i < s->nrlimits; i++) {
        /* INT64_MAX in config.json (JSON has no 2^64-1): no limit */
        struct rlimit cur, want = {s->rlimits[i].soft >= INT64_MAX ? RLIM_INFINITY : s->rlimits[i].soft,
                                   s->rlimits[i].hard >= INT64_MAX ? RLIM_INFINITY : s->rlimits[i].hard};
        if (getrlimit(s->rlimits[i].resource, &cur) < 0)
            return nr_err_sys(err, errno, "getrlimit %d", s->rlimits[i].resource);
        /* Never above the current hard limit: raising it needs CAP_SYS_RESOURCE, which root lacks here. */
        if (cur.rlim_max != RLIM_INFINITY && (want.rlim_max == RLIM_INFINITY || want.rlim_max > cur.rlim_max))
            want.rlim_max = cur.rlim_max;
        if (want.rlim_cur > want.rlim_max)
            want.rlim_cur = want.rlim_max;
        if (setrlimit(s->rlimits[i].resource, &want) < 0)
            return nr_err_sys(err, errno, "setrlimit %d", s->rlimits[i].resource);
    }
    return 0;
}

int rt_user_switch(const rt_spec *s, nr_err *err)
{
    /* no rt_stdio_own here: its one caller, nrun exec, switches before it
     * makes the relay pipes (so they are the user's already), while its
     * stdio are still the caller's own, which must keep their owner */
    if (rt_setgroups(s->ngroups, s->groups) < 0)
        return nr_err_sys(err, errno, "setgroups");
    if (setresgid(s->gid, s->gid, s->gid) < 0)
        return nr_err_sys(err, errno, "setgid %u", (unsigned)s->gid);
    if (setresuid(s->uid, s->uid, s->uid) < 0)
        return nr_err_sys(err, errno, "setuid %u", (unsigned)s->uid);
    return 0;
}

/* Called in the container process right before exec (nrun exec). */
int rt_security_exec(const rt_spec *s, uid_t uid, nr_err *err)
{
    return rt_lockdown_exec(s->caps, uid, s->no_new_privs, err);
}

#define SEALED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* CVE-2019-5736: a container process that gets a handle on the program one
 * of our processes runs (/proc/<pid>/exe, or an image's #!/proc/self/exe)
 * could write it once it is not busy.  Running from a sealed memfd copy
 * makes that handle an anonymous file that cannot change. */
/* How much of our ELF file the kernel and the loader read: up to the end
 * of the last segment.  What follows (debug info, the symbol and
 * section tables) is not needed to run, and is most of a -g build: the copy
 * is ~40% smaller.  The whole file when the headers are not as expected. */
static off_t loaded_size(int fd, off_t size)
{
    Elf64_Ehdr eh;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 64)
        return size;
    Elf64_Phdr ph[64];
    size_t len = eh.e_phnum * sizeof(Elf64_Phdr);
    if (pread(fd, ph, len, (off_t)eh.e_phoff) != (ssize_t)len)
        return size;
    uint64_t end = eh.e_phoff + len;
    for (size_t i = 0; i < eh.e_phnum; i++)
        if (ph[i].p_offset + ph[i].p_filesz > end)
            end = ph[i].p_offset + ph[i].p_filesz;
    return end < (uint64_t)size ? (off_t)end : size;
}

static void exec_sealed(char **argv)
{
    cleanup_close int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    cleanup_close int mfd = memfd_create("nrun", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    struct stat st;
    if (src < 0 || mfd < 0 || fstat(src, &st) < 0)
        return;
    off_t off = 0, end = loaded_size(src, st.st_size);
    while (off < end)
        if (sendfile(mfd, src, &off, (size_t)(end - off)) <= 0)
            return;
    if (fcntl(mfd, F_ADD_SEALS, SEALED_SEALS) < 0)
        return;
    extern char **environ;
    syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
}

/* Is the program we run a sealed memfd?  Asked of the kernel, not of an
 * environment variable a caller could set. */
static bool running_sealed(void)
{
    cleanup_close int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    int seals = fd >= 0 ? fcntl(fd, F_GET_SEALS) : -1;
    return seals >= 0 && (seals & SEALED_SEALS) == SEALED_SEALS;
}

int rt_reexec_sealed(nr_err *err)
{
    if (running_sealed())
        return 0;
    /* the original command line, as main() received it */
    cleanup_free char *cmdline = NULL;
    size_t clen;
    if (nr_read_file(AT_FDCWD, "/proc/self/cmdline", 1 << 20, &cmdline, &clen, err) < 0)
        return -1;
    size_t argc = 0;
    for (size_t i = 0; i < clen; i++)
        argc += cmdline[i] == 0;
    cleanup_free char **argv = nr_xcalloc(argc + 1, sizeof(char *));
    for (size_t i = 0, k = 0; i < clen && k < argc; k++) {
        argv[k] = cmdline + i;
        i += strlen(cmdline + i) + 1;
    }
    exec_sealed(argv);
    return nr_err_sys(err, errno, "run from a sealed copy of %s", "/proc/self/exe");
}

int rt_close_fds_except(const int *keep, size_t n)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int dfd = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd < 3 || fd == dfd)
            continue;
        bool k = false;
        for (size_t i = 0; i < n; i++)
            k |= keep[i] == fd;
        if (!k)
            close(fd);
    }
    closedir(d);
    return 0;
}
