/* docker's mount and limit flags of `nrun run`, into config.json:
 *
 *   --mount type=bind,src=HOST,dst=CTR[,readonly][,bind-propagation=rprivate]
 *   --mount type=volume[,src=NAME],dst=CTR[,readonly][,volume-nocopy]
 *   --mount type=tmpfs,dst=CTR[,tmpfs-size=BYTES][,tmpfs-mode=OCTAL][,readonly]
 *   --tmpfs CTR[:OPT,...]        (docker's options; noexec,nosuid,nodev first)
 *   --ulimit NAME=SOFT[:HARD]    process.rlimits
 *   --sysctl K=V                 linux.sysctl (policy: sysctl.c)
 *   --device HOST[:CTR][:PERMS]  linux.devices + an allow rule for exactly that node
 *
 * A bind or a volume is -v's mount (spec_add_mount: the same destination
 * rules, the same named-volume directory, the same copy-up); a tmpfs is
 * checked by the same destination rules as a volume nrun makes (nothing on
 * /, /proc, /sys or in /dev), and mounts.c resolves every target inside the
 * container's root.  Unknown keys, types and options are refused by name:
 * nothing is silently dropped. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/spec_int.h"
#include "runtime/spec_policy.h"

/* docker's --mount boolean: the key alone is true */
static int mount_bool(const char *flag, const char *key, const char *v, bool *out, nr_err *err)
{
    if (!v || !strcmp(v, "true") || !strcmp(v, "1"))
        *out = true;
    else if (!strcmp(v, "false") || !strcmp(v, "0"))
        *out = false;
    else
        return nr_err_set(err, "%s: %s=%s: expected true or false", flag, key, v);
    return 0;
}

typedef struct mount_req {
    const char *type, *src, *dst, *prop;
    bool ro, nocopy, bind_only, volume_only, tmpfs_only;
    unsigned long long size;
    long mode; /* -1: none */
} mount_req;

/* Split one --mount (the fields point into buf, which the caller frees). */
static int mount_parse(const char *flag, char *buf, mount_req *r, nr_err *err)
{
    memset(r, 0, sizeof *r);
    r->type = "volume"; /* docker's default */
    r->mode = -1;
    for (char *save = NULL, *f = strtok_r(buf, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        char *v = strchr(f, '=');
        if (v)
            *v++ = 0;
        const char *k = f;
        if (!strcmp(k, "type")) {
            if (!v || (strcmp(v, "bind") && strcmp(v, "volume") && strcmp(v, "tmpfs")))
                return nr_err_set(err, "%s: unknown type \"%s\" (bind, volume or tmpfs)", flag, v ? v : "");
            r->type = v;
        } else if (!strcmp(k, "source") || !strcmp(k, "src")) {
            r->src = v && *v ? v : NULL;
        } else if (!strcmp(k, "target") || !strcmp(k, "dst") || !strcmp(k, "destination")) {
            r->dst = v;
        } else if (!strcmp(k, "readonly") || !strcmp(k, "ro")) {
            if (mount_bool(flag, k, v, &r->ro, err) < 0)
                return -1;
        } else if (!strcmp(k, "consistency")) {
            ; /* docker ignores it on Linux too */
        } else if (!strcmp(k, "bind-propagation")) {
            r->bind_only = true;
            r->prop = v ? v : "";
            /* nrun's binds are rprivate: a shared or slave bind would send
             * the mounts nrun makes in the container (its /etc files, the
             * masks) to the host, or promise ones it never receives */
            if (strcmp(r->prop, "rprivate") && strcmp(r->prop, "private"))
                return nr_err_set(err, "%s: bind-propagation=%s is not supported (binds are rprivate)", flag,
                                  r->prop);
        } else if (!strcmp(k, "volume-nocopy")) {
            r->volume_only = true;
            if (mount_bool(flag, k, v, &r->nocopy, err) < 0)
                return -1;
        } else if (!strcmp(k, "tmpfs-size")) {
            r->tmpfs_only = true;
            if (!v || nr_parse_size(v, &r->size) < 0 || r->size == 0)
                return nr_err_set(err, "%s: tmpfs-size=%s: expected a size in bytes (or with b, k, m, g)", flag,
                                  v ? v : "");
        } else if (!strcmp(k, "tmpfs-mode")) {
            r->tmpfs_only = true;
            char *end;
            r->mode = v && *v && strspn(v, "01234567") == strlen(v) ? strtol(v, &end, 8) : -1;
            if (r->mode < 0 || r->mode > 07777)
                return nr_err_set(err, "%s: tmpfs-mode=%s: expected an octal mode like 1777", flag, v ? v : "");
        } else {
            return nr_err_set(err, "%s: unknown key \"%s\"", flag, k);
        }
    }
    /* the keys of one type with another (in any order) */
    if ((r->bind_only && strcmp(r->type, "bind")) || (r->volume_only && strcmp(r->type, "volume")) ||
        (r->tmpfs_only && strcmp(r->type, "tmpfs")))
        return nr_err_set(err, "%s: a %s key with type=%s", flag,
                          r->bind_only ? "bind-*" : r->volume_only ? "volume-*" : "tmpfs-*", r->type);
    if (!r->dst || !*r->dst)
        return nr_err_set(err, "%s: target= (dst=) is required", flag);
    if (!strcmp(r->type, "bind") && (!r->src || r->src[0] != '/'))
        return nr_err_set(err, "%s: type=bind needs source= an absolute host path", flag);
    if (!strcmp(r->type, "volume") && r->src && r->src[0] == '/')
        return nr_err_set(err, "%s: type=volume takes a volume name as source= (a host path is type=bind)", flag);
    if (!strcmp(r->type, "tmpfs") && r->src)
        return nr_err_set(err, "%s: type=tmpfs takes no source=", flag);
    return 0;
}

/* A tmpfs of the flags at dest_arg with options `opts` (checked). */
static int tmpfs_add(json_t *mounts, const char *what, const char *dest_arg, const char *opts, nr_err *err)
{
    cleanup_free char *dest = spec_ctr_path(dest_arg);
    if (!dest)
        return nr_err_set(err, "%s: container path \"%s\" must be absolute without \"..\"", what, dest_arg);
    const char *bad = rt_spec_dest_forbidden(dest, true);
    if (bad)
        return nr_err_set(err, "%s: nothing may be mounted on %s", what, bad);
    if (spec_has_dest(mounts, dest))
        return nr_err_set(err, "%s: duplicate mount point %s", what, dest);
    json_array_append_new(mounts, spec_mount_obj(dest, "tmpfs", "tmpfs", opts));
    return 0;
}

/* N, or N followed by one of the kernel's k m g (and % for size=) */
static bool tmpfs_number(const char *v, bool pct)
{
    size_t d = strspn(v, "0123456789"), n = strlen(v);
    return d > 0 && (d == n || (d == n - 1 && strchr(pct ? "kmgKMG%" : "kmgKMG", v[d])));
}

/* --tmpfs DEST[:OPT,...]: docker's defaults noexec,nosuid,nodev, then the
 * options as given (a later one wins: exec undoes noexec) */
static int run_tmpfs_add(json_t *mounts, const char *spec, nr_err *err)
{
    static const char *const flags[] = {"ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev",
                                        "noatime", "relatime", "strictatime"};
    cleanup_free char *what = nr_xasprintf("--tmpfs %s", spec);
    cleanup_free char *copy = nr_xstrdup(spec);
    char *opts = strchr(copy, ':');
    if (opts)
        *opts++ = 0;
    nr_buf o = {0};
    nr_buf_addstr(&o, "noexec,nosuid,nodev");
    for (char *save = NULL, *t = opts ? strtok_r(opts, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
        bool ok = false;
        for (size_t i = 0; !ok && i < NR_ARRAY_LEN(flags); i++)
            ok = !strcmp(t, flags[i]);
        const char *v = strchr(t, '=') ? strchr(t, '=') + 1 : NULL;
        if (!ok && v) {
            size_t kl = (size_t)(v - 1 - t);
            if (kl == 4 && !strncmp(t, "size", 4))
                ok = tmpfs_number(v, true);
            else if (kl == 9 && !strncmp(t, "nr_inodes", 9))
                ok = tmpfs_number(v, false);
            else if (kl == 4 && !strncmp(t, "mode", 4))
                ok = *v && strlen(v) <= 4 && strspn(v, "01234567") == strlen(v);
            else if ((kl == 3 && !strncmp(t, "uid", 3)) || (kl == 3 && !strncmp(t, "gid", 3)))
                ok = *v && strlen(v) <= 10 && strspn(v, "0123456789") == strlen(v);
        }
        if (!ok) {
            nr_buf_free(&o);
            return nr_err_set(err, "%s: unknown option \"%s\" (ro, rw, [no]exec, [no]suid, [no]dev, size=, mode=, "
                                   "uid=, gid=, nr_inodes=)", what, t);
        }
        nr_buf_addf(&o, ",%s", t);
    }
    nr_buf_add(&o, "", 1);
    int r = tmpfs_add(mounts, what, copy, o.data, err);
    nr_buf_free(&o);
    return r;
}

int spec_flags_mounts(json_t *mounts, json_t *mk, const rt_run_opts *o, const char *store_root, const char *ctr_dir,
                      int *anon, nr_err *err)
{
    for (size_t i = 0; i < o->nmounts; i++) {
        cleanup_free char *what = nr_xasprintf("--mount %s", o->mounts[i]);
        cleanup_free char *buf = nr_xstrdup(o->mounts[i]);
        mount_req r;
        if (mount_parse(what, buf, &r, err) < 0)
            return -1;
        if (!strcmp(r.type, "tmpfs")) {
            nr_buf opts = {0};
            nr_buf_addstr(&opts, "noexec,nosuid,nodev");
            if (r.ro)
                nr_buf_addstr(&opts, ",ro");
            if (r.size)
                nr_buf_addf(&opts, ",size=%llu", r.size);
            if (r.mode >= 0)
                nr_buf_addf(&opts, ",mode=%lo", (unsigned long)r.mode);
            nr_buf_add(&opts, "", 1);
            int rc = tmpfs_add(mounts, what, r.dst, opts.data, err);
            nr_buf_free(&opts);
            if (rc < 0)
                return -1;
        } else if (spec_add_mount(mounts, mk, what, r.src, r.dst, r.ro, r.nocopy, false, store_root, ctr_dir, anon, err) < 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < o->nrun_tmpfs; i++)
        if (run_tmpfs_add(mounts, o->run_tmpfs[i], err) < 0)
            return -1;
    return 0;
}

bool spec_flags_cover(const rt_run_opts *o, const char *dest)
{
    for (size_t i = 0; i < o->nmounts + o->nrun_tmpfs; i++) {
        cleanup_free char *buf = nr_xstrdup(i < o->nmounts ? o->mounts[i] : o->run_tmpfs[i - o->nmounts]);
        const char *d = NULL;
        mount_req r;
        nr_err ign;
        if (i < o->nmounts && mount_parse("--mount", buf, &r, &ign) == 0)
            d = r.dst;
        else if (i >= o->nmounts)
            buf[strcspn(buf, ":")] = 0, d = buf;
        cleanup_free char *dc = d ? spec_ctr_path(d) : NULL;
        if (dc && !strcmp(dc, dest))
            return true;
    }
    return false;
}

/* docker's --ulimit names */
static const struct {
    const char *name, *rname;
    int res;
} ulimit_names[] = {
    {"core", "RLIMIT_CORE", RLIMIT_CORE},       {"cpu", "RLIMIT_CPU", RLIMIT_CPU},
    {"data", "RLIMIT_DATA", RLIMIT_DATA},       {"fsize", "RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"locks", "RLIMIT_LOCKS", RLIMIT_LOCKS},    {"memlock", "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"msgqueue", "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"nice", "RLIMIT_NICE", RLIMIT_NICE},
    {"nofile", "RLIMIT_NOFILE", RLIMIT_NOFILE}, {"nproc", "RLIMIT_NPROC", RLIMIT_NPROC},
    {"rss", "RLIMIT_RSS", RLIMIT_RSS},          {"rtprio", "RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"rttime", "RLIMIT_RTTIME", RLIMIT_RTTIME}, {"sigpending", "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"stack", "RLIMIT_STACK", RLIMIT_STACK},
};

/* a limit: digits, or -1 / unlimited (INT64_MAX stands for it in config.json) */
static int ulimit_value(const char *v, unsigned long long *out)
{
    if (!strcmp(v, "-1") || !strcmp(v, "unlimited")) {
        *out = INT64_MAX;
        return 0;
    }
    char *end;
    errno = 0;
    if (*v < '0' || *v > '9')
        return -1;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || x >= INT64_MAX)
        return -1;
    *out = x;
    return 0;
}

static bool have_sys_resource(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0)
        return false;
    return d[CAP_SYS_RESOURCE / 32].effective & (1u << (CAP_SYS_RESOURCE % 32));
}

int rt_ulimit_parse(const char *spec, const char **rname, unsigned long long *soft, unsigned long long *hard,
                    nr_err *err)
{
    const char *eq = strchr(spec, '=');
    size_t k = 0, nl = eq ? (size_t)(eq - spec) : strlen(spec);
    for (; k < NR_ARRAY_LEN(ulimit_names); k++)
        if (strlen(ulimit_names[k].name) == nl && !strncmp(spec, ulimit_names[k].name, nl))
            break;
    if (k == NR_ARRAY_LEN(ulimit_names))
        return nr_err_set(err, "--ulimit %s: unknown limit \"%.*s\" (core, cpu, data, fsize, locks, memlock, msgqueue, "
                               "nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)", spec, (int)nl, spec);
    if (!eq)
        return nr_err_set(err, "--ulimit %s: expected NAME=SOFT[:HARD]", spec);
    cleanup_free char *vals = nr_xstrdup(eq + 1);
    char *colon = strchr(vals, ':');
    if (colon)
        *colon++ = 0;
    if (ulimit_value(vals, soft) < 0 || (colon && ulimit_value(colon, hard) < 0))
        return nr_err_set(err, "--ulimit %s: expected numbers (or -1 for no limit) as SOFT[:HARD]", spec);
    if (!colon)
        *hard = *soft;
    if (*soft > *hard)
        return nr_err_set(err, "--ulimit %s: the soft limit is above the hard limit", spec);
    struct rlimit cur;
    if (getrlimit(ulimit_names[k].res, &cur) == 0 && cur.rlim_max != RLIM_INFINITY &&
        (*hard >= INT64_MAX || *hard > cur.rlim_max) && !have_sys_resource())
        return nr_err_set(err, "--ulimit %s: the hard limit is above nrun's own (%llu), which it cannot raise "
                               "(no CAP_SYS_RESOURCE)", spec, (unsigned long long)cur.rlim_max);
    *rname = ulimit_names[k].rname;
    return 0;
}

json_t *spec_flags_rlimits(const rt_run_opts *o, nr_err *err)
{
    json_t *a = json_array();
    bool nofile = false;
    for (size_t i = 0; i < o->nulimits; i++) {
        const char *rname;
        unsigned long long soft, hard;
        if (rt_ulimit_parse(o->ulimits[i], &rname, &soft, &hard, err) < 0) {
            json_decref(a);
            return NULL;
        }
        /* a later --ulimit of the same name wins, as docker's */
        size_t k;
        json_t *v;
        json_array_foreach(a, k, v) if (!strcmp(json_string_value(json_object_get(v, "type")), rname))
        {
            json_array_remove(a, k);
            break;
        }
        nofile |= !strcmp(rname, "RLIMIT_NOFILE");
        json_array_append_new(a, json_pack("{s:s, s:I, s:I}", "type", rname, "hard", (json_int_t)hard, "soft",
                                           (json_int_t)soft));
    }
    if (!nofile) {
        struct rlimit rl;
        unsigned long long n = 1048576;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < n)
            n = rl.rlim_max; /* never above our own hard limit: we cannot raise it */
        json_array_append_new(a, json_pack("{s:s, s:I, s:I}", "type", "RLIMIT_NOFILE", "hard", (json_int_t)n, "soft",
                                           (json_int_t)n));
    }
    return a;
}

static json_t *flags_sysctl(const rt_run_opts *o, bool own_netns, nr_err *err)
{
    if (!o->nsysctls)
        return NULL;
    json_t *m = json_object();
    for (size_t i = 0; i < o->nsysctls; i++) {
        const char *kv = o->sysctls[i], *eq = strchr(kv, '=');
        cleanup_free char *k = eq ? nr_xstrndup(kv, (size_t)(eq - kv)) : NULL;
        const char *why = k ? rt_sysctl_refused(k, own_netns) : "expected K=V";
        if (!why)
            for (const unsigned char *c = (const unsigned char *)eq + 1; *c && !why; c++)
                if (*c < ' ' && *c != '\t')
                    why = "the value is one line of text";
        if (why) {
            json_decref(m);
            nr_err_set(err, "--sysctl %s: %s", kv, why);
            return NULL;
        }
        json_object_set_new(m, k, json_string(eq + 1));
    }
    return m;
}

json_t *rt_mount_flag_json(const char *spec)
{
    cleanup_free char *buf = nr_xstrdup(spec);
    mount_req r;
    nr_err ign;
    if (mount_parse("--mount", buf, &r, &ign) < 0)
        return NULL;
    json_t *m = json_pack("{s:s, s:s, s:s, s:b}", "Type", r.type, "Source", r.src ? r.src : "", "Target", r.dst,
                          "ReadOnly", r.ro);
    if (!strcmp(r.type, "volume") && r.nocopy)
        json_object_set_new(m, "VolumeOptions", json_pack("{s:b}", "NoCopy", 1));
    if (!strcmp(r.type, "tmpfs") && (r.size || r.mode >= 0)) {
        json_t *t = json_object();
        if (r.size)
            json_object_set_new(t, "SizeBytes", json_integer((json_int_t)r.size));
        if (r.mode >= 0)
            json_object_set_new(t, "Mode", json_integer(r.mode));
        json_object_set_new(m, "TmpfsOptions", t);
    }
    return m;
}

/* --device HOST[:CTR][:PERMS] (docker's: CTR defaults to HOST, PERMS to rwm) */
static int device_add(json_t *devs, json_t *rules, const char *spec, nr_err *err)
{
    cleanup_free char *buf = nr_xstrdup(spec);
    char *f[3] = {buf, NULL, NULL};
    size_t n = 1;
    for (char *p = buf; n < 3 && (p = strchr(p, ':')); n++) {
        *p++ = 0;
        f[n] = p;
    }
    if (strchr(f[n - 1], ':'))
        return nr_err_set(err, "--device %s: expected HOST[:CONTAINER[:PERMS]]", spec);
    const char *host = f[0], *ctr = f[0], *perms = "rwm";
    if (n == 3)
        ctr = f[1], perms = f[2];
    else if (n == 2 && f[1][0] != '/')
        perms = f[1];
    else if (n == 2)
        ctr = f[1];
    if (!*perms || strlen(perms) > 3 || strspn(perms, "rwm") != strlen(perms))
        return nr_err_set(err, "--device %s: permissions \"%s\" are not a subset of rwm", spec, perms);
    if (host[0] != '/')
        return nr_err_set(err, "--device %s: the host path must be absolute", spec);
    struct stat st;
    if (stat(host, &st) < 0)
        return nr_err_sys(err, errno, "--device %s", spec);
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
        return nr_err_set(err, "--device %s: %s is not a character or block device", spec, host);
    cleanup_free char *path = spec_ctr_path(ctr);
    const char *why = path ? rt_device_path_refused(path) : "must be absolute without \"..\"";
    if (why)
        return nr_err_set(err, "--device %s: container path %s: %s", spec, ctr, why);
    size_t i;
    json_t *v;
    json_array_foreach(devs, i, v) if (!strcmp(json_string_value(json_object_get(v, "path")), path))
        return nr_err_set(err, "--device %s: %s is given twice", spec, path);
    const char *type = S_ISBLK(st.st_mode) ? "b" : "c";
    json_int_t maj = major(st.st_rdev), min = minor(st.st_rdev);
    json_array_append_new(devs, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "path", path, "type", type, "major",
                                          maj, "minor", min, "fileMode", (json_int_t)(st.st_mode & 0777), "uid",
                                          (json_int_t)st.st_uid, "gid", (json_int_t)st.st_gid));
    /* the access of one node: a second --device of the same node adds to it */
    char acc[4] = "";
    json_array_foreach(rules, i, v) if (!strcmp(json_string_value(json_object_get(v, "type")), type) &&
                                        json_integer_value(json_object_get(v, "major")) == maj &&
                                        json_integer_value(json_object_get(v, "minor")) == min)
    {
        snprintf(acc, sizeof acc, "%s", json_string_value(json_object_get(v, "access")));
        json_array_remove(rules, i);
        break;
    }
    cleanup_free char *all = nr_xasprintf("%s%s", acc, perms);
    char merged[4] = "";
    size_t m = 0;
    for (const char *c = "rwm"; *c; c++)
        if (strchr(all, *c))
            merged[m++] = *c;
    json_array_append_new(rules, json_pack("{s:b, s:s, s:I, s:I, s:s}", "allow", 1, "type", type, "major", maj, "minor",
                                           min, "access", merged));
    return 0;
}

int spec_flags_linux(json_t *linux_, const rt_run_opts *o, bool own_netns, nr_err *err)
{
    if (o->ndevices) {
        json_t *devs = json_array(), *rules = json_array();
        for (size_t i = 0; i < o->ndevices; i++)
            if (device_add(devs, rules, o->devices[i], err) < 0) {
                json_decref(devs);
                json_decref(rules);
                return -1;
            }
        json_object_set_new(json_object_get(linux_, "resources"), "devices", rules);
        json_object_set_new(linux_, "devices", devs);
    }
    json_t *sysctl = flags_sysctl(o, own_netns, err);
    if (!sysctl && o->nsysctls)
        return -1;
    if (sysctl)
        json_object_set_new(linux_, "sysctl", sysctl);
    return 0;
}

/* A missing -v host path is made as docker makes it (root's, 0755, parents
 * too), following symlinks on the way as docker does, except a symlink owned
 * by neither root nor the caller: in a directory others can write (/tmp), such
 * a link would let its owner choose where root makes directories. */
static int make_bind_dir(const char *dir, const char *what, nr_err *err)
{
    cleanup_free char *p = nr_xstrdup(dir);
    for (char *s = p + 1;; s++) {
        if (*s && *s != '/')
            continue;
        char c = *s;
        *s = 0;
        struct stat st;
        if (lstat(p, &st) < 0) {
            if (errno != ENOENT)
                return nr_err_sys(err, errno, "%s: host path %s", what, p);
            break;
        }
        if (S_ISLNK(st.st_mode) && st.st_uid != 0 && st.st_uid != geteuid())
            return nr_err_set(err, "%s: not making %s through the symlink %s (owned by uid %u)", what, dir, p,
                              (unsigned)st.st_uid);
        *s = c;
        if (!c)
            break;
    }
    return nr_mkdir_p(dir, 0755, err);
}

int spec_make_dirs(const json_t *mk, nr_err *err)
{
    size_t i;
    json_t *v;
    json_array_foreach(mk, i, v)
    {
        const char *dir = json_string_value(json_object_get(v, "dir"));
        const char *what = json_string_value(json_object_get(v, "what"));
        json_t *bind = json_object_get(v, "bind");
        if (!bind) {
            if (nr_mkdir_p(dir, 0755, err) < 0)
                return nr_err_wrap(err, "%s", what);
            continue;
        }
        if (make_bind_dir(dir, what, err) < 0)
            return -1;
        cleanup_free char *real = realpath(dir, NULL);
        if (!real)
            return nr_err_sys(err, errno, "%s: resolve %s", what, dir);
        json_object_set_new(bind, "source", json_string(real));
    }
    return 0;
}
