/* cgroups for a container: v1, hybrid (v1 controllers plus a cgroup2 mount
 * that holds none of ours — crun refuses that layout, we use the v1 side) and
 * pure v2.  Each container gets its own group per controller, created below
 * the group nrun itself runs in (v1) or below /nrun (v2, where internal
 * processes are not allowed), limits and the device allow-list (v1
 * devices.allow, v2 a BPF program: cgroup_bpf.c) written before the first
 * process joins, and removed when it ends. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include "common/util.h"
#include "runtime/runtime.h"

#define CG_ROOT "/sys/fs/cgroup"

enum rt_cg_mode rt_cgroup_detect(void)
{
    struct statfs sf;
    if (statfs(CG_ROOT, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
        return RT_CG_V2;
    if (statfs(CG_ROOT "/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
        return RT_CG_HYBRID;
    return RT_CG_V1;
}

static int write_file(const char *dir, const char *file, const char *val, nr_err *err)
{
    cleanup_free char *p = nr_xasprintf("%s/%s", dir, file);
    cleanup_close int fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return nr_err_sys(err, errno, "open %s", p);
    if (write(fd, val, strlen(val)) < 0)
        return nr_err_sys(err, errno, "write \"%s\" to %s", val, p);
    return 0;
}

static char *read_small(const char *dir, const char *file)
{
    cleanup_free char *p = nr_xasprintf("%s/%s", dir, file);
    char *out = NULL;
    size_t len;
    nr_err e;
    if (nr_read_file(AT_FDCWD, p, 1 << 16, &out, &len, &e) < 0)
        return NULL;
    while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
        out[--len] = 0;
    return out;
}

/* Our own group in the hierarchy holding `ctrl`, from /proc/self/cgroup. */
static char *self_path(const char *ctrl)
{
    cleanup_fclose FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return nr_xstrdup("/");
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = 0;
        const char *list = c1 + 1, *path = c2 + 1;
        cleanup_free char *copy = nr_xstrdup(list);
        char *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
            if (!strcmp(t, ctrl))
                return nr_xstrdup(path);
    }
    return nr_xstrdup("/");
}

/* v1 cpuset: a new group starts with empty cpus/mems and refuses tasks. */
static int cpuset_inherit(const char *dir, nr_err *err)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    for (size_t i = 0; i < 2; i++) {
        cleanup_free char *cur = read_small(dir, files[i]);
        if (cur && *cur)
            continue;
        cleanup_free char *parent = nr_xstrdup(dir);
        *strrchr(parent, '/') = 0;
        cleanup_free char *pv = read_small(parent, files[i]);
        if (!pv || !*pv)
            return nr_err_set(err, "cgroup: %s/%s is empty", parent, files[i]);
        if (write_file(dir, files[i], pv, err) < 0)
            return -1;
    }
    return 0;
}

static int mkdir_group(const char *base, const char *rel, bool cpuset, nr_err *err)
{
    /* rel is "nrun/<id>" below base: create both, inheriting cpuset on v1 */
    cleanup_free char *mid = nr_xasprintf("%s/nrun", base);
    if (mkdir(mid, 0755) < 0 && errno != EEXIST)
        return nr_err_sys(err, errno, "mkdir %s", mid);
    if (cpuset && cpuset_inherit(mid, err) < 0)
        return -1;
    cleanup_free char *dir = nr_xasprintf("%s/%s", base, rel);
    if (mkdir(dir, 0755) < 0)
        return nr_err_sys(err, errno, "mkdir %s", dir);
    if (cpuset && cpuset_inherit(dir, err) < 0)
        return -1;
    return 0;
}

/* The devices a container may use, as Docker allows them: mknod of any
 * (creating a node opens nothing), and open of the standard nodes of its
 * /dev, ptys, tun and fuse.  Any other device (a disk, /dev/mem, a loop
 * device) a container with CAP_MKNOD makes cannot be opened: EPERM. */
static const rt_dev_rule dev_allowed[] = {
    {'c', -1, -1, "m"},    {'b', -1, -1, "m"},
    {'c', 1, 3, "rwm"},    /* null */
    {'c', 1, 5, "rwm"},    /* zero */
    {'c', 1, 7, "rwm"},    /* full */
    {'c', 1, 8, "rwm"},    /* random */
    {'c', 1, 9, "rwm"},    /* urandom */
    {'c', 5, 0, "rwm"},    /* tty */
    {'c', 5, 1, "rwm"},    /* console */
    {'c', 5, 2, "rwm"},    /* ptmx */
    {'c', 136, -1, "rwm"}, /* pts */
    {'c', 10, 200, "rwm"}, /* tun */
    {'c', 10, 229, "rwm"}, /* fuse */
};

/* The list, and for each --device its own major:minor with its access. */
static rt_dev_rule *dev_rules(const rt_spec *s, size_t *n)
{
    rt_dev_rule *r = nr_xcalloc(NR_ARRAY_LEN(dev_allowed) + s->ndevices + 1, sizeof *r);
    memcpy(r, dev_allowed, sizeof dev_allowed);
    *n = NR_ARRAY_LEN(dev_allowed);
    for (size_t i = 0; i < s->ndevices; i++)
        if (s->devices[i].access[0])
            r[(*n)++] = (rt_dev_rule){s->devices[i].type, (int)s->devices[i].major, (int)s->devices[i].minor,
                                      s->devices[i].access};
    return r;
}

/* v1: deny everything, then allow the list (before anything joins). */
static int devices_v1(const char *dir, const rt_spec *s, nr_err *err)
{
    if (write_file(dir, "devices.deny", "a", err) < 0)
        return -1;
    size_t n;
    cleanup_free rt_dev_rule *rules = dev_rules(s, &n);
    for (size_t i = 0; i < n; i++) {
        const rt_dev_rule *r = &rules[i];
        char maj[16] = "*", min[16] = "*", line[64];
        if (r->major >= 0)
            snprintf(maj, sizeof maj, "%d", r->major);
        if (r->minor >= 0)
            snprintf(min, sizeof min, "%d", r->minor);
        snprintf(line, sizeof line, "%c %s:%s %s", r->type, maj, min, r->access);
        if (write_file(dir, "devices.allow", line, err) < 0)
            return -1;
    }
    return 0;
}

static void add_path(rt_cgroup *cg, const char *ctrl, char *path)
{
    cg->ctrl[cg->n] = nr_xstrdup(ctrl);
    cg->paths[cg->n++] = path;
}

static int apply_v1(rt_cgroup *cg, const rt_spec *s, nr_err *err)
{
    for (size_t i = 0; i < cg->n; i++) {
        const char *c = cg->ctrl[i], *d = cg->paths[i];
        char v[64];
        if (!strcmp(c, "memory") && s->mem_limit > 0) {
            snprintf(v, sizeof v, "%lld", s->mem_limit);
            if (write_file(d, "memory.limit_in_bytes", v, err) < 0)
                return -1;
            nr_err ign;
            if (s->mem_swap != 0 && s->mem_swap != s->mem_limit) {
                /* --memory-swap: memory and swap together, -1 = unlimited */
                snprintf(v, sizeof v, "%lld", s->mem_swap);
                cleanup_free char *f = nr_xasprintf("%s/memory.memsw.limit_in_bytes", d);
                if (access(f, F_OK) < 0)
                    return nr_err_set(err, "--memory-swap: this kernel does not account swap (no "
                                           "memory.memsw.limit_in_bytes; boot with swapaccount=1)");
                if (write_file(d, "memory.memsw.limit_in_bytes", v, err) < 0)
                    return -1;
            } else {
                write_file(d, "memory.memsw.limit_in_bytes", v, &ign); /* absent without swap accounting */
            }
        }
        if (!strcmp(c, "memory") && s->mem_reservation > 0) {
            snprintf(v, sizeof v, "%lld", s->mem_reservation);
            if (write_file(d, "memory.soft_limit_in_bytes", v, err) < 0)
                return -1;
        }
        if (!strcmp(c, "cpu") && s->cpu_shares > 0) {
            snprintf(v, sizeof v, "%lld", s->cpu_shares);
            if (write_file(d, "cpu.shares", v, err) < 0)
                return -1;
        }
        if (!strcmp(c, "memory"))
            continue;
        if (!strcmp(c, "cpu") && s->cpu_quota > 0) {
            snprintf(v, sizeof v, "%lld", s->cpu_period);
            if (write_file(d, "cpu.cfs_period_us", v, err) < 0)
                return -1;
            snprintf(v, sizeof v, "%lld", s->cpu_quota);
            if (write_file(d, "cpu.cfs_quota_us", v, err) < 0)
                return -1;
        } else if (!strcmp(c, "pids") && s->pids_limit > 0) {
            snprintf(v, sizeof v, "%lld", s->pids_limit);
            if (write_file(d, "pids.max", v, err) < 0)
                return -1;
        } else if (!strcmp(c, "cpuset") && s->cpuset_cpus) {
            if (write_file(d, "cpuset.cpus", s->cpuset_cpus, err) < 0)
                return -1;
        } else if (!strcmp(c, "devices")) {
            if (devices_v1(d, s, err) < 0)
                return -1;
        }
    }
    return 0;
}

static int apply_v2(const char *d, const rt_spec *s, nr_err *err)
{
    char v[64];
    if (s->mem_limit > 0) {
        snprintf(v, sizeof v, "%lld", s->mem_limit);
        if (write_file(d, "memory.max", v, err) < 0)
            return -1;
        nr_err ign;
        if (s->mem_swap != 0 && s->mem_swap != s->mem_limit) {
            /* v2 counts swap apart: --memory-swap is memory and swap together */
            if (s->mem_swap < 0)
                snprintf(v, sizeof v, "max");
            else
                snprintf(v, sizeof v, "%lld", s->mem_swap - s->mem_limit);
            if (write_file(d, "memory.swap.max", v, err) < 0)
                return -1;
        } else {
            write_file(d, "memory.swap.max", "0", &ign);
        }
    }
    if (s->mem_reservation > 0) {
        snprintf(v, sizeof v, "%lld", s->mem_reservation);
        if (write_file(d, "memory.low", v, err) < 0)
            return -1;
    }
    if (s->cpu_shares > 0) {
        /* cgroup v2's weight from v1's shares, as runc converts them */
        long long w = 1 + ((s->cpu_shares - 2) * 9999) / 262142;
        snprintf(v, sizeof v, "%lld", w < 1 ? 1 : w > 10000 ? 10000 : w);
        if (write_file(d, "cpu.weight", v, err) < 0)
            return -1;
    }
    if (s->cpu_quota > 0) {
        snprintf(v, sizeof v, "%lld %lld", s->cpu_quota, s->cpu_period);
        if (write_file(d, "cpu.max", v, err) < 0)
            return -1;
    }
    if (s->pids_limit > 0) {
        snprintf(v, sizeof v, "%lld", s->pids_limit);
        if (write_file(d, "pids.max", v, err) < 0)
            return -1;
    }
    if (s->cpuset_cpus && write_file(d, "cpuset.cpus", s->cpuset_cpus, err) < 0)
        return -1;
    size_t n;
    cleanup_free rt_dev_rule *rules = dev_rules(s, &n);
    return rt_cgroup_bpf_devices(d, rules, n, err);
}

/* v1: the hierarchies a container gets a group in, and where nrun's own
 * group is in each (the container's goes below it, at nrun/<id>). */
#define V1_MAX 8
static size_t v1_bases(char *ctrl[V1_MAX], char *base[V1_MAX])
{
    /* freezer: `nrun pause` (rt_cgroup_freeze) */
    static const char *const ctrls[] = {"memory", "cpu", "cpuacct", "pids", "cpuset", "devices", "freezer"};
    size_t n = 0;
    char real[V1_MAX][4096];
    for (size_t i = 0; i < NR_ARRAY_LEN(ctrls); i++) {
        cleanup_free char *mnt = nr_xasprintf("%s/%s", CG_ROOT, ctrls[i]);
        struct stat st;
        if (stat(mnt, &st) < 0 || !realpath(mnt, real[n]))
            continue;
        /* cpu,cpuacct co-mounted: one group serves both; skip the second name */
        bool dup = false;
        for (size_t k = 0; k < n; k++)
            dup |= !strcmp(real[k], real[n]);
        if (dup)
            continue;
        cleanup_free char *sp = self_path(ctrls[i]);
        ctrl[n] = (char *)ctrls[i];
        base[n] = nr_xasprintf("%s%s", real[n], strcmp(sp, "/") ? sp : "");
        n++;
    }
    return n;
}

void rt_cgroup_guess(const char *id, rt_cgroup *cg)
{
    memset(cg, 0, sizeof *cg);
    cg->mode = rt_cgroup_detect();
    if (cg->mode == RT_CG_V2) {
        add_path(cg, "unified", nr_xasprintf("%s/nrun/%s", CG_ROOT, id));
        return;
    }
    char *ctrl[V1_MAX], *base[V1_MAX];
    size_t n = v1_bases(ctrl, base);
    for (size_t i = 0; i < n; i++) {
        add_path(cg, ctrl[i], nr_xasprintf("%s/nrun/%s", base[i], id));
        free(base[i]);
    }
}

int rt_cgroup_create(const char *id, const rt_spec *s, rt_cgroup *cg, nr_err *err)
{
    memset(cg, 0, sizeof *cg);
    cg->mode = rt_cgroup_detect();
    /* Rootless (a user namespace, runtime/userns.c): a user cannot make
     * groups on a v1 or hybrid host, and a v2 delegation is not ours to
     * assume.  The container runs in the caller's own group, without
     * limits (a limit asked for is refused, not silently dropped); no
     * device can be made or opened there anyway (only binds of the host's). */
    if (nr_in_userns()) {
        if (s->mem_limit > 0 || s->cpu_quota > 0 || s->pids_limit > 0 || s->cpuset_cpus)
            return nr_err_set(err, "memory, CPU and pids limits need cgroups, which a rootless container has not");
        return 0;
    }
    cleanup_free char *rel = nr_xasprintf("nrun/%s", id);
    if (cg->mode == RT_CG_V2) {
        if (mkdir_group(CG_ROOT, rel, false, err) < 0)
            return -1;
        add_path(cg, "unified", nr_xasprintf("%s/%s", CG_ROOT, rel));
        nr_err ign;
        /* Enable what the kernel offers; a missing controller only means no limit of that kind. */
        static const char *const ctl[] = {"+memory", "+cpu", "+pids", "+cpuset"};
        for (size_t i = 0; i < NR_ARRAY_LEN(ctl); i++) {
            write_file(CG_ROOT, "cgroup.subtree_control", ctl[i], &ign);
            write_file(CG_ROOT "/nrun", "cgroup.subtree_control", ctl[i], &ign);
        }
        if (apply_v2(cg->paths[0], s, err) < 0) {
            rt_cgroup_destroy(cg, &ign);
            rt_cgroup_free(cg);
            return -1;
        }
        return 0;
    }
    char *ctrl[V1_MAX], *base[V1_MAX];
    size_t n = v1_bases(ctrl, base);
    /* Neither cgroup2 nor a v1 controller: running on without groups would
     * drop every limit and stat unseen.  `ip netns exec` is the usual cause:
     * it mounts a fresh sysfs over /sys, without the cgroup mounts. */
    if (n == 0)
        return nr_err_set(err, "no cgroup hierarchy at %s (a private /sys, as `ip netns exec` mounts?)", CG_ROOT);
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        if (r == 0 && mkdir_group(base[i], rel, !strcmp(ctrl[i], "cpuset"), err) < 0)
            r = -1;
        else if (r == 0)
            add_path(cg, ctrl[i], nr_xasprintf("%s/%s", base[i], rel));
        free(base[i]);
    }
    if (r < 0) {
        nr_err ign;
        rt_cgroup_destroy(cg, &ign);
        rt_cgroup_free(cg);
        return -1;
    }
    if (apply_v1(cg, s, err) < 0) {
        nr_err ign;
        rt_cgroup_destroy(cg, &ign);
        rt_cgroup_free(cg);
        return -1;
    }
    return 0;
}

/* pid 0 = the calling thread, which must be the only thread of its process.
 * v1: it moves itself through `tasks`.  A write to cgroup.procs (or of
 * another pid) takes the kernel's global threadgroup rwsem for writing, which
 * waits for an RCU grace period: 10-15 ms here, half the start time of a
 * container.  Moving the current thread skips that lock, and for a
 * single-threaded process it moves the whole process all the same. */
int rt_cgroup_add(const rt_cgroup *cg, pid_t pid, nr_err *err)
{
    char v[32];
    snprintf(v, sizeof v, "%d", (int)pid);
    const char *file = pid == 0 && cg->mode != RT_CG_V2 ? "tasks" : "cgroup.procs";
    for (size_t i = 0; i < cg->n; i++)
        if (write_file(cg->paths[i], strcmp(cg->ctrl[i], "unified") ? file : "cgroup.procs", v, err) < 0)
            return -1;
    return 0;
}

bool rt_cgroup_oom_killed(const rt_cgroup *cg)
{
    for (size_t i = 0; i < cg->n; i++) {
        const char *file = !strcmp(cg->ctrl[i], "memory") ? "memory.oom_control"
                           : !strcmp(cg->ctrl[i], "unified") ? "memory.events" : NULL;
        if (!file)
            continue;
        cleanup_free char *t = read_small(cg->paths[i], file);
        const char *k = t ? strstr(t, "oom_kill ") : NULL;
        if (k && atoll(k + 9) > 0)
            return true;
    }
    return false;
}

static void kill_all(const char *dir)
{
    cleanup_free char *procs = read_small(dir, "cgroup.procs");
    for (char *p = procs; p && *p;) {
        long pid = strtol(p, &p, 10);
        if (pid > 0)
            kill((pid_t)pid, SIGKILL);
        while (*p == '\n')
            p++;
    }
}

/* The group that freezes the container: v1's freezer, or v2's own group
 * (cgroup.freeze); NULL when it has neither (a rootless container, or one
 * made before nrun gave containers a freezer group). */
static const char *freezer_dir(const rt_cgroup *cg, bool *v2)
{
    for (size_t i = 0; i < cg->n; i++) {
        *v2 = !strcmp(cg->ctrl[i], "unified");
        if (*v2 || !strcmp(cg->ctrl[i], "freezer"))
            return cg->paths[i];
    }
    return NULL;
}

bool rt_cgroup_frozen(const rt_cgroup *cg)
{
    bool v2;
    const char *d = freezer_dir(cg, &v2);
    if (!d)
        return false;
    cleanup_free char *t = read_small(d, v2 ? "cgroup.freeze" : "freezer.state");
    /* v1 FREEZING counts: pause has begun and thaw is what undoes it */
    return t && (v2 ? !strcmp(t, "1") : strcmp(t, "THAWED") != 0);
}

int rt_cgroup_freeze(const rt_cgroup *cg, bool freeze, nr_err *err)
{
    bool v2;
    const char *d = freezer_dir(cg, &v2);
    if (!d)
        return nr_err_set(err, "the container's cgroups have no freezer (a rootless container, or one created before "
                               "nrun gave containers a freezer group)");
    if (write_file(d, v2 ? "cgroup.freeze" : "freezer.state", v2 ? (freeze ? "1" : "0") : (freeze ? "FROZEN" : "THAWED"),
                   err) < 0)
        return -1;
    /* Wait until the kernel says it is done: every task frozen (v1
     * FREEZING -> FROZEN; v2 cgroup.events "frozen 1"), at most 10 s. */
    for (int tries = 0; tries < 5000; tries++) {
        cleanup_free char *t = read_small(d, v2 ? "cgroup.events" : "freezer.state");
        if (!t)
            return nr_err_sys(err, errno ? errno : EIO, "read the freezer state in %s", d);
        bool done;
        if (v2) {
            const char *f = strstr(t, "frozen ");
            done = f && (f[7] == '1') == freeze;
        } else {
            done = !strcmp(t, freeze ? "FROZEN" : "THAWED");
            if (freeze && !done && !strcmp(t, "THAWED"))
                return nr_err_set(err, "%s: thawed while freezing", d);
        }
        if (done)
            return 0;
        if (!v2 && freeze && tries % 50 == 49) /* v1 may need the write again for a task that was busy */
            write_file(d, "freezer.state", "FROZEN", err);
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return nr_err_set(err, "%s: the kernel did not finish %s the container in 10 s", d, freeze ? "freezing" : "thawing");
}

static void cgroup_thaw_all(const rt_cgroup *cg)
{
    bool v2;
    const char *d = freezer_dir(cg, &v2);
    nr_err ign;
    if (d)
        write_file(d, v2 ? "cgroup.freeze" : "freezer.state", v2 ? "0" : "THAWED", &ign);
}

int rt_cgroup_destroy(const rt_cgroup *cg, nr_err *err)
{
    int r = 0;
    for (size_t i = 0; i < cg->n; i++) {
        const char *d = cg->paths[i];
        for (int tries = 0;; tries++) {
            if (rmdir(d) == 0 || errno == ENOENT)
                break;
            if (errno != EBUSY || tries > 500) {
                r = nr_err_sys(err, errno, "rmdir %s", d);
                break;
            }
            /* a paused container's processes die only once thawed */
            if (tries == 0)
                cgroup_thaw_all(cg);
            kill_all(d);
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return r;
}

void rt_cgroup_free(rt_cgroup *cg)
{
    for (size_t i = 0; i < cg->n; i++) {
        free(cg->paths[i]);
        free(cg->ctrl[i]);
    }
    cg->n = 0;
}

json_t *rt_cgroup_to_json(const rt_cgroup *cg)
{
    json_t *a = json_array();
    for (size_t i = 0; i < cg->n; i++)
        json_array_append_new(a, json_pack("{s:s, s:s}", "controller", cg->ctrl[i], "path", cg->paths[i]));
    return a;
}

void rt_cgroup_from_json(const json_t *a, rt_cgroup *cg)
{
    memset(cg, 0, sizeof *cg);
    cg->mode = rt_cgroup_detect();
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *c = json_string_value(json_object_get(v, "controller"));
        const char *p = json_string_value(json_object_get(v, "path"));
        /* state.json is ours, but only accept what we would have written */
        if (!c || !p || cg->n >= NR_ARRAY_LEN(cg->paths) || strncmp(p, CG_ROOT "/", strlen(CG_ROOT) + 1) ||
            strstr(p, "/../") || !strstr(p, "/nrun/"))
            continue;
        add_path(cg, c, nr_xstrdup(p));
    }
}
