/* Seccomp: the default allowlist (an OCI linux.seccomp object, so the default
 * and a user profile take one path), conversion of Docker profiles, and the
 * compiled BPF cached under <store>/cache/seccomp/<sha256>.bpf.  Denied calls
 * fail with EPERM; clone3 and io_uring_* with ENOSYS so glibc and libuv fall
 * back.  Nothing kills: a syscall of another architecture also gets EPERM. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/runtime.h"
#include "runtime/seccomp_default.h"

/* What a container process may call.  Anything missing gets EPERM. */
static const char *const allowed[] = {
    "accept", "accept4", "access", "alarm", "arch_prctl", "bind", "brk", "capget", "capset", "chdir", "chmod",
    "chown", "clock_getres", "clock_gettime", "clock_nanosleep", "close", "close_range", "connect",
    "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
    "epoll_pwait", "epoll_pwait2", "epoll_wait", "eventfd", "eventfd2", "execve", "execveat", "exit",
    "exit_group", "faccessat", "faccessat2", "fadvise64", "fallocate", "fanotify_mark", "fchdir", "fchmod",
    "fchmodat", "fchmodat2", "fchown", "fchownat", "fcntl", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork",
    "fremovexattr", "fsetxattr", "fstat", "fstatfs", "fsync", "ftruncate", "futex", "futex_waitv", "futimesat",
    "get_robust_list", "get_thread_area", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "geteuid",
    "getgid", "getgroups", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
    "getrandom", "getresgid", "getresuid", "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt",
    "gettid", "gettimeofday", "getuid", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
    "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup", "io_submit",
    "ioctl", "ioprio_get", "ioprio_set", "kill", "landlock_add_rule",
    "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lgetxattr", "link", "linkat", "listen",
    "listxattr", "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat", "madvise", "membarrier",
    "memfd_create", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
    "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink",
    "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "nanosleep",
    "newfstatat", "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pidfd_getfd", "pipe",
    "pipe2", "poll", "ppoll", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "pselect6", "pwrite64",
    "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recvfrom", "recvmmsg",
    "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall",
    "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
    "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler",
    "sched_rr_get_interval", "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
    "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "sendfile", "sendmmsg",
    "sendmsg", "sendto", "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid", "setfsuid",
    "setgid", "setgroups", "setitimer", "setpgid", "setpriority", "setregid", "setresgid", "setresuid",
    "setreuid", "setrlimit", "setsid", "setsockopt", "setuid", "setxattr", "sethostname", "setdomainname",
    "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "splice", "stat", "statfs", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
    "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
    "timer_gettime", "timer_settime", "timerfd_create", "timerfd_gettime", "timerfd_settime", "times", "tkill",
    "truncate", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat", "utimes", "vfork", "vmsplice",
    "wait4", "waitid", "write", "writev", "capget", "process_mrelease", "get_mempolicy",
    "set_mempolicy", "mbind", "mseal", "cachestat", "map_shadow_stack",
};

/* Not there, so callers fall back to an older interface. */
static const char *const enosys[] = {"clone3", "io_uring_setup", "io_uring_enter", "io_uring_register"};

/* clone is allowed unless it asks for a new namespace. */
#define CLONE_NS_FLAGS 0x7E020000ULL

static json_t *rule(json_t *rules, const char *name, int err_ret)
{
    json_t *r = json_pack("{s:[s], s:s, s:[]}", "names", name, "action", err_ret ? "SCMP_ACT_ERRNO" : "SCMP_ACT_ALLOW",
                          "args");
    if (err_ret)
        json_object_set_new(r, "errnoRet", json_integer(err_ret));
    json_array_append_new(rules, r);
    return json_object_get(r, "args");
}

static void arg_cmp(json_t *args, int index, uint64_t value, uint64_t two, const char *op)
{
    json_array_append_new(args, json_pack("{s:i, s:I, s:I, s:s}", "index", index, "value", (json_int_t)value,
                                          "valueTwo", (json_int_t)two, "op", op));
}

/* `name` with argument `index` equal to a value in the `ok` mask (values
 * below 64) is allowed; one in `skip` is left to other rules; any other
 * value fails with err_ret.  `also`, if set, is a further comparison every
 * rule carries.  The denied part of [0, 64) is covered by aligned blocks
 * ((arg & ~(size-1)) == start) and everything above by one GT: the 64-bit
 * register is compared whole, so upper bits the kernel would drop cannot
 * slip a denied value through. */
static void arg_allowlist(json_t *rules, const char *name, int index, uint64_t ok, uint64_t skip, int err_ret,
                          const json_t *also)
{
    for (unsigned v = 0; v < 64; v++) {
        if (!(ok & (1ULL << v)))
            continue;
        json_t *a = rule(rules, name, 0);
        if (also)
            json_array_append(a, (json_t *)also);
        arg_cmp(a, index, v, 0, "SCMP_CMP_EQ");
    }
    uint64_t keep = ok | skip;
    for (unsigned start = 0; start < 64;) {
        if (keep & (1ULL << start)) {
            start++;
            continue;
        }
        unsigned size = 1;
        for (;;) {
            unsigned n = size * 2;
            uint64_t block = (n == 64 ? ~0ULL : (1ULL << n) - 1) << start;
            if (start % n || start + n > 64 || (keep & block))
                break;
            size = n;
        }
        json_t *a = rule(rules, name, err_ret);
        if (also)
            json_array_append(a, (json_t *)also);
        arg_cmp(a, index, ~(uint64_t)(size - 1), start, "SCMP_CMP_MASKED_EQ");
        start += size;
    }
    json_t *a = rule(rules, name, err_ret);
    if (also)
        json_array_append(a, (json_t *)also);
    arg_cmp(a, index, 63, 0, "SCMP_CMP_GT");
}

#define BIT(n) (1ULL << (n))

json_t *rt_seccomp_default_caps(uint64_t caps)
{
    json_t *names = json_array(), *nosys = json_array();
    for (size_t i = 0; i < NR_ARRAY_LEN(allowed); i++)
        json_array_append_new(names, json_string(allowed[i]));
    for (size_t i = 0; i < NR_ARRAY_LEN(enosys); i++)
        json_array_append_new(nosys, json_string(enosys[i]));
    json_t *sc = json_pack("{s:s, s:i, s:[s], s:[{s:o, s:s}, {s:o, s:s, s:i}, {s:[s], s:s, s:[{s:i, s:I, s:I, s:s}]}]}",
                           "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet", EPERM, "architectures",
                           "SCMP_ARCH_X86_64", "syscalls", "names", names, "action", "SCMP_ACT_ALLOW", "names", nosys,
                           "action", "SCMP_ACT_ERRNO", "errnoRet", ENOSYS, "names", "clone", "action",
                           "SCMP_ACT_ALLOW", "args", "index", 0, "value", (json_int_t)CLONE_NS_FLAGS, "valueTwo",
                           (json_int_t)0, "op", "SCMP_CMP_MASKED_EQ");
    json_t *rules = json_object_get(sc, "syscalls");
    /* Socket families a Node app uses: unix, IPv4, IPv6 and netlink (getifaddrs
     * behind os.networkInterfaces()); raw packets with NET_RAW, as docker.
     * The rest (AF_VSOCK reaches the host's vsock ports from any network
     * namespace; bluetooth, AF_ALG, AF_KEY...) is EAFNOSUPPORT, what glibc
     * and libuv take for "not built into this kernel". */
    uint64_t fam = BIT(AF_UNIX) | BIT(AF_INET) | BIT(AF_INET6) | (caps & BIT(CAP_NET_RAW) ? BIT(AF_PACKET) : 0);
    arg_allowlist(rules, "socket", 0, fam, BIT(AF_NETLINK), EAFNOSUPPORT, NULL);
    arg_allowlist(rules, "socketpair", 0, BIT(AF_UNIX), 0, EAFNOSUPPORT, NULL);
    /* netlink: routes and addresses, socket diagnostics (ss), audit (sudo and
     * login carry on quietly after EPROTONOSUPPORT only), not the host's
     * device events (NETLINK_KOBJECT_UEVENT) nor the rest; all of it with
     * NET_ADMIN, which is what configures the others. */
    json_t *nl = json_pack("{s:i, s:I, s:I, s:s}", "index", 0, "value", (json_int_t)AF_NETLINK, "valueTwo",
                           (json_int_t)0, "op", "SCMP_CMP_EQ");
    if (caps & BIT(CAP_NET_ADMIN))
        json_array_append(rule(rules, "socket", 0), nl);
    else
        arg_allowlist(rules, "socket", 2, BIT(NETLINK_ROUTE) | BIT(NETLINK_SOCK_DIAG) | BIT(NETLINK_AUDIT), 0,
                      EPROTONOSUPPORT, nl);
    json_decref(nl);
    /* personality: the values docker's default profile allows (Linux, with
     * or without the 32-bit uname, UNAME26, and the query), never
     * ADDR_NO_RANDOMIZE or READ_IMPLIES_EXEC; the rest gets EPERM */
    static const uint64_t pers[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
    for (size_t i = 0; i < NR_ARRAY_LEN(pers); i++)
        arg_cmp(rule(rules, "personality", 0), 0, pers[i], 0, "SCMP_CMP_EQ");
    return sc;
}

json_t *rt_seccomp_default(void)
{
    return rt_seccomp_default_caps(rt_caps_default());
}

static bool list_has_cap(const json_t *caps, uint64_t have, bool all)
{
    size_t i;
    json_t *v;
    bool any = false;
    json_array_foreach(caps, i, v)
    {
        int c = json_is_string(v) ? rt_cap_from_name(json_string_value(v)) : -1;
        bool h = c >= 0 && (have & (1ULL << c));
        if (all && !h)
            return false;
        any |= h;
    }
    return all ? true : any;
}

static bool list_has_arch(const json_t *a)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (json_is_string(v) &&
                                   (!strcmp(json_string_value(v), "amd64") || !strcmp(json_string_value(v), "x86_64")))
        return true;
    return false;
}

json_t *rt_seccomp_from_docker(const char *path, uint64_t caps, nr_err *err)
{
    /* docker reads the whole file too; 4 MiB is ten times its own default profile's size */
    cleanup_free char *text = NULL;
    size_t len;
    if (nr_read_user_file(AT_FDCWD, path, "seccomp profile", 4u << 20, &text, &len, err) < 0)
        return NULL;
    json_error_t je;
    json_t *p = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!p) {
        nr_err_set(err, "seccomp profile %s:%d:%d: %s", path, je.line, je.column, je.text);
        return NULL;
    }
    json_t *out = NULL;
    const json_t *def = json_object_get(p, "defaultAction"), *rules = json_object_get(p, "syscalls");
    if (!json_is_string(def) || (rules && !json_is_array(rules))) {
        nr_err_set(err, "seccomp profile %s: needs a string defaultAction and a syscalls array", path);
        goto done;
    }
    out = json_pack("{s:O, s:[s], s:[]}", "defaultAction", def, "architectures", "SCMP_ARCH_X86_64", "syscalls");
    const json_t *der = json_object_get(p, "defaultErrnoRet");
    if (json_is_integer(der))
        json_object_set(out, "defaultErrnoRet", (json_t *)der);
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r)
    {
        const json_t *inc = json_object_get(r, "includes"), *exc = json_object_get(r, "excludes");
        if (!json_is_object(r)) {
            nr_err_set(err, "seccomp profile %s: syscalls[%zu] is not an object", path, i);
            json_decref(out);
            out = NULL;
            goto done;
        }
        if (json_is_array(json_object_get(inc, "caps")) && !list_has_cap(json_object_get(inc, "caps"), caps, true))
            continue;
        if (json_is_array(json_object_get(exc, "caps")) && list_has_cap(json_object_get(exc, "caps"), caps, false))
            continue;
        const json_t *ia = json_object_get(inc, "arches"), *ea = json_object_get(exc, "arches");
        if (json_is_array(ia) && json_array_size(ia) && !list_has_arch(ia))
            continue;
        if (json_is_array(ea) && list_has_arch(ea))
            continue;
        json_t *nr = json_object();
        const char *keys[] = {"names", "action", "errnoRet", "args"};
        for (size_t k = 0; k < NR_ARRAY_LEN(keys); k++)
            if (json_object_get(r, keys[k]))
                json_object_set(nr, keys[k], json_object_get(r, keys[k]));
        if (!json_object_get(nr, "names") && json_is_string(json_object_get(r, "name")))
            json_object_set_new(nr, "names", json_pack("[O]", json_object_get(r, "name")));
        json_array_append_new(json_object_get(out, "syscalls"), nr);
    }
done:
    json_decref(p);
    return out;
}

static int action_of(const char *a, const json_t *errno_ret, uint32_t *out)
{
    int e = json_is_integer(errno_ret) ? (int)json_integer_value(errno_ret) : EPERM;
    if (e < 0 || e > 4095)
        return -1;
    if (!strcmp(a, "SCMP_ACT_ALLOW"))
        *out = SCMP_ACT_ALLOW;
    else if (!strcmp(a, "SCMP_ACT_ERRNO"))
        *out = SCMP_ACT_ERRNO(e);
    else if (!strcmp(a, "SCMP_ACT_KILL") || !strcmp(a, "SCMP_ACT_KILL_THREAD"))
        *out = SCMP_ACT_KILL;
    else if (!strcmp(a, "SCMP_ACT_KILL_PROCESS"))
        *out = SCMP_ACT_KILL_PROCESS;
    else if (!strcmp(a, "SCMP_ACT_TRAP"))
        *out = SCMP_ACT_TRAP;
    else if (!strcmp(a, "SCMP_ACT_LOG"))
        *out = SCMP_ACT_LOG;
    else if (!strcmp(a, "SCMP_ACT_TRACE"))
        *out = SCMP_ACT_ERRNO(ENOSYS); /* no tracer here */
    else
        return -1;
    return 0;
}

static int op_of(const char *o, enum scmp_compare *out)
{
    static const struct { const char *n; enum scmp_compare c; } ops[] = {
        {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
        {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
    };
    for (size_t i = 0; i < NR_ARRAY_LEN(ops); i++)
        if (!strcmp(o, ops[i].n)) {
            *out = ops[i].c;
            return 0;
        }
    return -1;
}

static int compile(const json_t *sc, scmp_filter_ctx *out, nr_err *err)
{
    uint32_t defact;
    const json_t *da = json_object_get(sc, "defaultAction");
    if (!json_is_string(da) || action_of(json_string_value(da), json_object_get(sc, "defaultErrnoRet"), &defact) < 0)
        return nr_err_set(err, "seccomp: bad defaultAction");
    scmp_filter_ctx ctx = seccomp_init(defact);
    if (!ctx)
        return nr_err_set(err, "seccomp_init failed");
    seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM));
    const json_t *rules = json_object_get(sc, "syscalls");
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r)
    {
        uint32_t act;
        const json_t *a = json_object_get(r, "action"), *names = json_object_get(r, "names"),
                     *args = json_object_get(r, "args");
        if (!json_is_string(a) || action_of(json_string_value(a), json_object_get(r, "errnoRet"), &act) < 0 ||
            !json_is_array(names) || (args && !json_is_array(args)) || json_array_size(args) > 6) {
            seccomp_release(ctx);
            return nr_err_set(err, "seccomp: syscalls[%zu]: bad action, names or args", i);
        }
        struct scmp_arg_cmp cmp[6];
        size_t ncmp = 0, k;
        json_t *v;
        json_array_foreach(args, k, v)
        {
            const json_t *idx = json_object_get(v, "index"), *val = json_object_get(v, "value"),
                         *v2 = json_object_get(v, "valueTwo"), *op = json_object_get(v, "op");
            enum scmp_compare c;
            if (!json_is_integer(idx) || json_integer_value(idx) < 0 || json_integer_value(idx) > 5 ||
                !json_is_integer(val) || !json_is_string(op) || op_of(json_string_value(op), &c) < 0) {
                seccomp_release(ctx);
                return nr_err_set(err, "seccomp: syscalls[%zu].args[%zu] is invalid", i, k);
            }
            uint64_t a1 = (uint64_t)json_integer_value(val), a2 = json_is_integer(v2) ? (uint64_t)json_integer_value(v2) : 0;
            /* OCI's MASKED_EQ: (arg & value) == valueTwo */
            cmp[ncmp++] = (struct scmp_arg_cmp){.arg = (unsigned)json_integer_value(idx), .op = c, .datum_a = a1,
                                                .datum_b = c == SCMP_CMP_MASKED_EQ ? a2 : 0};
        }
        json_array_foreach(names, k, v)
        {
            if (!json_is_string(v))
                continue;
            int nr = seccomp_syscall_resolve_name(json_string_value(v));
            if (nr == __NR_SCMP_ERROR)
                continue; /* unknown on this kernel/arch: nothing to filter */
            if (act == defact)
                continue;
            int rc = seccomp_rule_add_array(ctx, act, nr, (unsigned)ncmp, cmp);
            if (rc < 0 && rc != -EEXIST) {
                seccomp_release(ctx);
                return nr_err_sys(err, -rc, "seccomp: rule for %s", json_string_value(v));
            }
        }
    }
    *out = ctx;
    return 0;
}

typedef struct bpf_blob {
    size_t len; /* bytes */
    unsigned char data[];
} bpf_blob;

int rt_seccomp_prepare(const char *profile_json, int cache_dirfd, void **prog, nr_err *err)
{
    *prog = NULL;
    const struct scmp_version *ver = seccomp_version();
    cleanup_free char *keysrc = nr_xasprintf("nrun-seccomp-1 libseccomp %u.%u.%u %s", ver->major, ver->minor,
                                             ver->micro, profile_json);
    char hex[65];
    nr_sha256_hex(keysrc, strlen(keysrc), hex);
    cleanup_free char *name = nr_xasprintf("seccomp/%s.bpf", hex);
    cleanup_free char *data = NULL;
    size_t len = 0;
    nr_err ign;
    if (cache_dirfd >= 0 && nr_read_file(cache_dirfd, name, 1 << 20, &data, &len, &ign) == 0 && len > 0 &&
        len % sizeof(struct sock_filter) == 0) {
        bpf_blob *b = nr_xmalloc(sizeof *b + len);
        b->len = len;
        memcpy(b->data, data, len);
        *prog = b;
        return 0;
    }
    json_error_t je;
    json_t *sc = json_loads(profile_json, 0, &je);
    if (!sc)
        return nr_err_set(err, "seccomp profile: %s", je.text);
    scmp_filter_ctx ctx = NULL;
    int r = compile(sc, &ctx, err);
    json_decref(sc);
    if (r < 0)
        return -1;
    cleanup_close int tfd = memfd_create("bpf", MFD_CLOEXEC);
    if (tfd < 0) {
        seccomp_release(ctx);
        return nr_err_sys(err, errno, "memfd_create");
    }
    r = seccomp_export_bpf(ctx, tfd);
    seccomp_release(ctx);
    if (r < 0)
        return nr_err_sys(err, -r, "seccomp_export_bpf");
    struct stat st;
    if (fstat(tfd, &st) < 0)
        return nr_err_sys(err, errno, "fstat");
    bpf_blob *b = nr_xmalloc(sizeof *b + (size_t)st.st_size);
    b->len = (size_t)st.st_size;
    if (pread(tfd, b->data, b->len, 0) != (ssize_t)b->len) {
        free(b);
        return nr_err_sys(err, errno, "read compiled filter");
    }
    if (cache_dirfd >= 0) {
        mkdirat(cache_dirfd, "seccomp", 0700);
        nr_write_atomic(cache_dirfd, name, b->data, b->len, 0600, &ign); /* a cache: failure is harmless */
    }
    *prog = b;
    return 0;
}

int rt_seccomp_load(void *prog, nr_err *err)
{
    const bpf_blob *b = prog;
    return b ? rt_seccomp_load_raw(b->data, b->len, err) : 0;
}

size_t rt_seccomp_bytes(void *prog, const void **data)
{
    const bpf_blob *b = prog;
    *data = b ? b->data : NULL;
    return b ? b->len : 0;
}

int rt_seccomp_install(const char *profile_json, int cache_dirfd, nr_err *err)
{
    void *prog;
    if (rt_seccomp_prepare(profile_json, cache_dirfd, &prog, err) < 0)
        return -1;
    int r = rt_seccomp_load(prog, err);
    free(prog);
    return r;
}
