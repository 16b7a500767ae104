/* Parse a config.json back into an rt_spec.  The file is treated as hostile
 * input: every field is type-checked, paths must be absolute and free of
 * "..", sizes are bounded, and the first problem is reported by its JSON path. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "common/util.h"
#include "runtime/net.h"
#include "runtime/runtime.h"
#include "runtime/spec_policy.h"
#include "runtime/supervisor/options.h"
#include "runtime/supervisor/supervisor.h"

#define MAX_ITEMS 4096

static bool abs_clean(const char *p)
{
    if (!p || p[0] != '/' || strlen(p) >= PATH_MAX)
        return false;
    for (const char *s = p; (s = strstr(s, "..")); s += 2)
        if ((s == p || s[-1] == '/') && (s[2] == 0 || s[2] == '/'))
            return false;
    return true;
}

/* Is path (canonical) p, or below it? */
static bool path_in(const char *path, const char *p)
{
    size_t n = strlen(p);
    return !strncmp(path, p, n) && (path[n] == 0 || path[n] == '/');
}

const char *rt_spec_dest_forbidden(const char *dest, bool nrun_volume)
{
    /* A volume's copy-up in the kernel's views would read the live /proc or
     * /sys as root before the masks are on; a bind there would replace what
     * the masks protect.  runc allows a few binds below /proc (lxcfs): nrun
     * has no use for them. */
    static const char *const kernel[] = {"/proc", "/sys"};
    if (!strcmp(dest, "/"))
        return "the container's root";
    for (size_t i = 0; i < NR_ARRAY_LEN(kernel); i++)
        if (path_in(dest, kernel[i]))
            return kernel[i];
    /* /dev is nrun's tmpfs: a volume there would start with its device
     * nodes; a host directory on /dev or /dev/.nrun would receive the files
     * nrun writes there (hosts, resolv.conf, the supervisor's sockets) */
    if (nrun_volume && path_in(dest, "/dev"))
        return "/dev";
    if (!strcmp(dest, "/dev"))
        return "/dev";
    if (path_in(dest, RT_CTR_RUN_DIR))
        return RT_CTR_RUN_DIR;
    return NULL;
}

const char *rt_device_path_refused(const char *path)
{
    static const char *const ours[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
                                       "/dev/tty", "/dev/console", "/dev/ptmx", "/dev/fd", "/dev/stdin",
                                       "/dev/stdout", "/dev/stderr", "/dev/pts", "/dev/shm", "/dev/mqueue",
                                       RT_CTR_RUN_DIR};
    if (!path_in(path, "/dev") || !strcmp(path, "/dev"))
        return "a device goes below /dev in the container";
    for (size_t i = 0; i < NR_ARRAY_LEN(ours); i++)
        if (path_in(path, ours[i]))
            return "that place in /dev is nrun's own";
    return NULL;
}

static int get_str(const json_t *o, const char *key, bool required, char **out, const char *where, nr_err *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v) {
        if (required)
            return nr_err_set(err, "config.json: %s.%s is missing", where, key);
        return 0;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return nr_err_set(err, "config.json: %s.%s must be a string without NUL", where, key);
    *out = nr_xstrdup(json_string_value(v));
    return 0;
}

static int get_strv(const json_t *o, const char *key, char ***out, size_t *n, const char *where, nr_err *err)
{
    const json_t *a = json_object_get(o, key);
    *out = nr_xcalloc(1, sizeof(char *));
    if (n)
        *n = 0;
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > MAX_ITEMS)
        return nr_err_set(err, "config.json: %s.%s must be an array of strings", where, key);
    size_t cnt = json_array_size(a);
    free(*out);
    *out = nr_xcalloc(cnt + 1, sizeof(char *));
    for (size_t i = 0; i < cnt; i++) {
        const json_t *v = json_array_get(a, i);
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
            return nr_err_set(err, "config.json: %s.%s[%zu] must be a string without NUL", where, key, i);
        (*out)[i] = nr_xstrdup(json_string_value(v));
    }
    if (n)
        *n = cnt;
    return 0;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static int get_int(const json_t *o, const char *key, long long min, long long max, long long *out, const char *where,
                   nr_err *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return nr_err_set(err, "config.json: %s.%s must be an integer in [%lld, %lld]", where, key, min, max);
    *out = json_integer_value(v);
    return 0;
}

static const struct {
    const char *name;
    unsigned long set, clear;
    unsigned long prop;
} mount_opts[] = {
    {"ro", MS_RDONLY, 0, 0},          {"rw", 0, MS_RDONLY, 0},        {"nosuid", MS_NOSUID, 0, 0},
    {"suid", 0, MS_NOSUID, 0},        {"nodev", MS_NODEV, 0, 0},      {"dev", 0, MS_NODEV, 0},
    {"noexec", MS_NOEXEC, 0, 0},      {"exec", 0, MS_NOEXEC, 0},      {"relatime", MS_RELATIME, 0, 0},
    {"strictatime", MS_STRICTATIME, 0, 0}, {"noatime", MS_NOATIME, 0, 0}, {"bind", MS_BIND, 0, 0},
    {"rbind", MS_BIND | MS_REC, 0, 0}, {"private", 0, 0, MS_PRIVATE},  {"rprivate", 0, 0, MS_PRIVATE | MS_REC},
    {"slave", 0, 0, MS_SLAVE},        {"rslave", 0, 0, MS_SLAVE | MS_REC}, {"shared", 0, 0, MS_SHARED},
    {"rshared", 0, 0, MS_SHARED | MS_REC},
};

static int parse_mount(const json_t *m, size_t idx, rt_mount *out, nr_err *err)
{
    char where[32];
    snprintf(where, sizeof where, "mounts[%zu]", idx);
    if (!json_is_object(m))
        return nr_err_set(err, "config.json: %s must be an object", where);
    if (get_str(m, "destination", true, &out->dest, where, err) < 0 || get_str(m, "type", false, &out->type, where, err) < 0 ||
        get_str(m, "source", false, &out->source, where, err) < 0)
        return -1;
    if (!abs_clean(out->dest))
        return nr_err_set(err, "config.json: %s.destination \"%s\" must be absolute without \"..\"", where, out->dest);
    /* every later check and the mount itself see one spelling: "//proc/" is /proc */
    char *clean = nr_path_clean(out->dest);
    free(out->dest);
    out->dest = clean;
    if (!out->type)
        out->type = nr_xstrdup("none");
    if (!out->source)
        out->source = nr_xstrdup(out->type);
    char **opts;
    size_t n;
    if (get_strv(m, "options", &opts, &n, where, err) < 0) {
        strv_free(opts);
        return -1;
    }
    nr_buf data = {0};
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        for (; k < NR_ARRAY_LEN(mount_opts); k++)
            if (!strcmp(opts[i], mount_opts[k].name))
                break;
        if (!strcmp(opts[i], "nrun-copyup")) {
            out->copyup = true;
        } else if (k < NR_ARRAY_LEN(mount_opts)) {
            out->flags = (out->flags | mount_opts[k].set) & ~mount_opts[k].clear;
            out->prop |= mount_opts[k].prop;
        } else {
            nr_buf_addf(&data, "%s%s", data.len ? "," : "", opts[i]);
        }
    }
    strv_free(opts);
    nr_buf_add(&data, "", 1);
    out->data = data.data;
    if (!strcmp(out->type, "bind"))
        out->flags |= MS_BIND;
    out->bind = out->flags & MS_BIND;
    out->rdonly = out->flags & MS_RDONLY;
    if (out->bind && !abs_clean(out->source))
        return nr_err_set(err, "config.json: %s.source \"%s\" must be an absolute host path", where, out->source);
    /* the kernel's own filesystems go where they belong; a bind or a volume
     * goes only where spec.c would put one */
    /* a tmpfs other than the runtime's /dev and /dev/shm: where a volume could go */
    bool user_tmpfs = !out->bind && !strcmp(out->type, "tmpfs") && strcmp(out->dest, "/dev") &&
                      strcmp(out->dest, "/dev/shm");
    const char *bad = out->bind || out->copyup || user_tmpfs
                          ? rt_spec_dest_forbidden(out->dest, out->copyup || user_tmpfs)
                          : !strcmp(out->dest, "/") ? "the container's root" : NULL;
    if (bad)
        return nr_err_set(err, "config.json: %s.destination \"%s\": nothing may be mounted on %s", where, out->dest,
                          bad);
    if (out->copyup && !out->bind)
        return nr_err_set(err, "config.json: %s: nrun-copyup is for a bind mount", where);
    return 0;
}

static int parse_caps(const json_t *proc, uint64_t *caps, nr_err *err)
{
    const json_t *c = json_object_get(proc, "capabilities");
    *caps = 0;
    if (!c)
        return 0;
    const json_t *b = json_object_get(c, "bounding");
    if (!json_is_object(c) || (b && !json_is_array(b)))
        return nr_err_set(err, "config.json: process.capabilities.bounding must be an array");
    size_t i;
    json_t *v;
    json_array_foreach(b, i, v)
    {
        int n = json_is_string(v) ? rt_cap_from_name(json_string_value(v)) : -1;
        if (n < 0)
            return nr_err_set(err, "config.json: process.capabilities.bounding[%zu]: unknown capability", i);
        *caps |= 1ULL << n;
    }
    return 0;
}

static int parse_rlimits(const json_t *proc, rt_spec *s, nr_err *err)
{
    static const struct { const char *n; int r; } names[] = {
        {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC}, {"RLIMIT_CORE", RLIMIT_CORE},
        {"RLIMIT_STACK", RLIMIT_STACK},   {"RLIMIT_AS", RLIMIT_AS},       {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
        {"RLIMIT_FSIZE", RLIMIT_FSIZE},   {"RLIMIT_CPU", RLIMIT_CPU},     {"RLIMIT_DATA", RLIMIT_DATA},
        {"RLIMIT_NICE", RLIMIT_NICE},     {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_LOCKS", RLIMIT_LOCKS}, {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    };
    const json_t *a = json_object_get(proc, "rlimits");
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > 32)
        return nr_err_set(err, "config.json: process.rlimits must be an array");
    s->rlimits = nr_xcalloc(json_array_size(a) + 1, sizeof *s->rlimits);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const json_t *t = json_object_get(v, "type");
        const json_t *h = json_object_get(v, "hard"), *so = json_object_get(v, "soft");
        size_t k = 0;
        for (; json_is_string(t) && k < NR_ARRAY_LEN(names); k++)
            if (!strcmp(json_string_value(t), names[k].n))
                break;
        if (!json_is_string(t) || k == NR_ARRAY_LEN(names) || !json_is_integer(h) || !json_is_integer(so) ||
            json_integer_value(h) < 0 || json_integer_value(so) < 0 || json_integer_value(so) > json_integer_value(h))
            return nr_err_set(err, "config.json: process.rlimits[%zu] is invalid", i);
        s->rlimits[s->nrlimits++] = (rt_rlimit){names[k].r, json_integer_value(so), json_integer_value(h)};
    }
    return 0;
}

static const char *ann(const json_t *a, const char *k)
{
    const json_t *v = json_object_get(a, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int parse_annotations(const json_t *root, rt_spec *s, nr_err *err)
{
    const json_t *a = json_object_get(root, "annotations");
    if (!a)
        return 0;
    if (!json_is_object(a))
        return nr_err_set(err, "config.json: annotations must be an object");
    const char *layers = ann(a, "org.nrun.overlay.layers");
    if (layers) {
        const char *lower = ann(a, "org.nrun.overlay.lower"), *up = ann(a, "org.nrun.overlay.upper"),
                   *wk = ann(a, "org.nrun.overlay.work");
        if (!abs_clean(layers) || !lower || !*lower || !abs_clean(up) || !abs_clean(wk))
            return nr_err_set(err, "config.json: org.nrun.overlay.* annotations are incomplete or not absolute");
        s->overlay_layers_dir = nr_xstrdup(layers);
        s->overlay_upper = nr_xstrdup(up);
        s->overlay_work = nr_xstrdup(wk);
        const char *vol = ann(a, "org.nrun.overlay.volatile");
        s->overlay_volatile = vol && !strcmp(vol, "true");
        size_t n = 1;
        for (const char *p = lower; *p; p++)
            n += *p == ':';
        if (n > 500)
            return nr_err_set(err, "config.json: more than 500 layers");
        s->overlay_lower = nr_xcalloc(n + 1, sizeof(char *));
        cleanup_free char *copy = nr_xstrdup(lower);
        char *save = NULL;
        for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
            /* a layer is a plain name below the layers dir: nothing that could climb out */
            if (strchr(t, '/') || !strcmp(t, ".") || !strcmp(t, "..") || strchr(t, ','))
                return nr_err_set(err, "config.json: overlay layer name \"%s\" is invalid", t);
            s->overlay_lower[s->noverlay_lower++] = nr_xstrdup(t);
        }
    }
    const char *etc = ann(a, "org.nrun.etc-files");
    if (etc && strcmp(etc, "generated"))
        return nr_err_set(err, "config.json: org.nrun.etc-files \"%s\" is not \"generated\"", etc);
    s->etc_files = etc != NULL;
    const char *sig = ann(a, "org.nrun.stop-signal");
    if (sig) {
        char *end;
        long v = strtol(sig, &end, 10);
        if (*end || v < 1 || v > 64)
            return nr_err_set(err, "config.json: org.nrun.stop-signal \"%s\" is invalid", sig);
        s->stop_signal = (int)v;
    }
    /* --add-host, --dns*: checked again, they become lines of /etc files */
    const char *xh = ann(a, "org.nrun.extra-hosts");
    if (xh) {
        if (rt_extra_hosts_check(xh, err) < 0)
            return -1;
        s->extra_hosts = nr_xstrdup(xh);
    }
    static const struct { const char *key; int kind; } dk[] = {
        {"org.nrun.dns", 0}, {"org.nrun.dns-search", 1}, {"org.nrun.dns-options", 2}};
    for (size_t k = 0; k < NR_ARRAY_LEN(dk); k++) {
        const char *v = ann(a, dk[k].key);
        if (!v)
            continue;
        char ***out = dk[k].kind == 0 ? &s->dns : dk[k].kind == 1 ? &s->dns_search : &s->dns_options;
        size_t *n = dk[k].kind == 0 ? &s->ndns : dk[k].kind == 1 ? &s->ndns_search : &s->ndns_options;
        *out = nr_xcalloc(1, sizeof(char *));
        cleanup_free char *copy = nr_xstrdup(v);
        char *save = NULL;
        for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
            bool ok = dk[k].kind == 0 ? rt_etc_ip_valid(t)
                      : dk[k].kind == 1 ? !strcmp(t, ".") || rt_etc_name_valid(t, 253)
                                        : rt_etc_dns_option_valid(t);
            if (!ok || *n >= 64)
                return nr_err_set(err, "config.json: %s: \"%s\" is invalid", dk[k].key, t);
            *out = nr_xrealloc(*out, (*n + 2) * sizeof(char *));
            (*out)[(*n)++] = nr_xstrdup(t);
            (*out)[*n] = NULL;
        }
    }
    const char *ports = ann(a, "org.nrun.ports");
    if (ports) {
        json_error_t je;
        json_t *p = json_loads(ports, 0, &je);
        if (!json_is_array(p) || json_array_size(p) > 256) {
            json_decref(p);
            return nr_err_set(err, "config.json: org.nrun.ports must be a JSON array");
        }
        s->ports = nr_xcalloc(json_array_size(p) + 1, sizeof *s->ports);
        size_t i;
        json_t *v;
        json_array_foreach(p, i, v)
        {
            const json_t *ad = json_object_get(v, "address"), *h = json_object_get(v, "host"),
                         *c = json_object_get(v, "container");
            const json_t *pr = json_object_get(v, "proto");
            if (!json_is_string(ad) || json_string_length(ad) >= sizeof s->ports[0].addr || !json_is_integer(h) ||
                (pr && (!json_is_string(pr) || (strcmp(json_string_value(pr), "tcp") && strcmp(json_string_value(pr), "udp")))) ||
                !json_is_integer(c) || json_integer_value(h) < 0 || json_integer_value(h) > 65535 ||
                json_integer_value(c) < 1 || json_integer_value(c) > 65535) {
                json_decref(p);
                return nr_err_set(err, "config.json: org.nrun.ports[%zu] is invalid", i);
            }
            rt_port *pt = &s->ports[s->nports++];
            strcpy(pt->addr, json_string_value(ad));
            pt->host_port = (int)json_integer_value(h);
            pt->ctr_port = (int)json_integer_value(c);
            pt->udp = pr && !strcmp(json_string_value(pr), "udp");
        }
        json_decref(p);
    }
    const char *join = ann(a, "org.nrun.net-join");
    if (join) {
        if (strlen(join) != 64 || strspn(join, "0123456789abcdef") != 64)
            return nr_err_set(err, "config.json: org.nrun.net-join must be a container id");
        s->net_join = nr_xstrdup(join);
    }
    const char *nets = ann(a, "org.nrun.networks");
    if (nets) {
        json_t *n = json_loads(nets, 0, NULL);
        bool ok = json_is_array(n) && json_array_size(n) >= 1 && json_array_size(n) <= 16;
        for (size_t i = 0; ok && i < json_array_size(n); i++) {
            const json_t *e = json_array_get(n, i), *al = json_object_get(e, "aliases"), *ip = json_object_get(e, "ipv4");
            const char *nm = json_string_value(json_object_get(e, "name"));
            struct in_addr a4;
            ok = nm && (rt_net_name_valid(nm) || !strcmp(nm, RT_NET_DEFAULT)) && (!al || json_is_array(al)) &&
                 (!ip || (json_is_string(ip) && inet_pton(AF_INET, json_string_value(ip), &a4) == 1));
            for (size_t k = 0; ok && k < json_array_size(al); k++) {
                const char *x = json_string_value(json_array_get(al, k));
                /* the reserved names of rt_net_alias_valid are dropped at attach, not refused
                 * here: a container made before that rule still starts */
                ok = x && *x && strlen(x) < 254 &&
                     strspn(x, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == strlen(x);
            }
        }
        json_decref(n);
        if (!ok)
            return nr_err_set(err, "config.json: org.nrun.networks must be a list of {name, aliases, ipv4} with valid "
                                   "names and addresses");
        s->networks = nr_xstrdup(nets);
    }
    const char *w = ann(a, "org.nrun.workers");
    if (w)
        s->sv_workers = atoi(w) < 0 ? 0 : atoi(w) > 1024 ? 1024 : atoi(w);
    const char *b = ann(a, "org.nrun.balance");
    s->sv_balance = b && !strcmp(b, "leastconn") ? 1 : b && !strcmp(b, "sticky") ? 2 : 0;
    const char *m = ann(a, "org.nrun.mode");
    s->sv_mode = m && !strcmp(m, "cluster") ? 1 : m && !strcmp(m, "single") ? 2 : 0;
    /* supervisor tuning: each one checked as the command line would be */
    const char *key;
    const json_t *val;
    static const char prefix[] = "org.nrun.supervisor.";
    sv_config probe;
    sv_config_init(&probe);
    json_object_foreach((json_t *)a, key, val)
    {
        if (strncmp(key, prefix, sizeof prefix - 1))
            continue;
        if (!json_is_string(val))
            return nr_err_set(err, "config.json: annotation %s must be a string", key);
        cleanup_free char *opt = nr_xasprintf("--%s", key + sizeof prefix - 1);
        if (sv_opt_arity(opt) < 0)
            return nr_err_set(err, "config.json: annotation %s: no such supervisor option", key);
        nr_err e = {0};
        int bad = sv_opt_apply(&probe, opt, json_string_value(val), &e);
        sv_config_fini(&probe);
        if (bad < 0)
            return nr_err_set(err, "config.json: annotation %s: %s", key, e.msg);
        s->sv_opts = nr_xrealloc(s->sv_opts, (s->nsv_opts + 2) * sizeof(char *));
        s->sv_opts[s->nsv_opts++] = nr_xasprintf("%s=%s", opt, json_string_value(val));
        s->sv_opts[s->nsv_opts] = NULL;
    }
    return 0;
}

/* linux.devices (the nodes) and linux.resources.devices (allow rules, each
 * for one of those nodes: nothing else is opened up) */
static int parse_devices(const json_t *l, const json_t *res, rt_spec *s, nr_err *err)
{
    const json_t *d = json_object_get(l, "devices"), *rules = json_object_get(res, "devices");
    if ((d && (!json_is_array(d) || json_array_size(d) > 64)) || (rules && (!json_is_array(rules) || json_array_size(rules) > 64)))
        return nr_err_set(err, "config.json: linux.devices and linux.resources.devices must be arrays (at most 64)");
    s->devices = nr_xcalloc(json_array_size(d) + 1, sizeof *s->devices);
    size_t i;
    json_t *v;
    json_array_foreach(d, i, v)
    {
        rt_device *dv = &s->devices[s->ndevices++];
        const char *t = json_string_value(json_object_get(v, "type"));
        long long maj = -1, min = -1, mode = 0600, uid = 0, gid = 0;
        if (get_str(v, "path", true, &dv->path, "linux.devices[]", err) < 0 ||
            get_int(v, "major", 0, 4095, &maj, "linux.devices[]", err) < 0 ||
            get_int(v, "minor", 0, 1048575, &min, "linux.devices[]", err) < 0 ||
            get_int(v, "fileMode", 0, 0777, &mode, "linux.devices[]", err) < 0 ||
            get_int(v, "uid", 0, 0xfffffffe, &uid, "linux.devices[]", err) < 0 ||
            get_int(v, "gid", 0, 0xfffffffe, &gid, "linux.devices[]", err) < 0)
            return -1;
        if (!t || (strcmp(t, "c") && strcmp(t, "b")) || maj < 0 || min < 0)
            return nr_err_set(err, "config.json: linux.devices[%zu]: type c or b with major and minor", i);
        const char *why = abs_clean(dv->path) ? NULL : "must be absolute without \"..\"";
        if (!why) {
            char *clean = nr_path_clean(dv->path);
            free(dv->path);
            dv->path = clean;
            why = rt_device_path_refused(dv->path);
        }
        if (why)
            return nr_err_set(err, "config.json: linux.devices[%zu].path \"%s\": %s", i, dv->path, why);
        for (size_t k = 0; k + 1 < s->ndevices; k++)
            if (!strcmp(s->devices[k].path, dv->path))
                return nr_err_set(err, "config.json: linux.devices[%zu].path \"%s\": twice", i, dv->path);
        dv->type = t[0];
        dv->major = (unsigned)maj, dv->minor = (unsigned)min, dv->mode = (unsigned)mode;
        dv->uid = (uid_t)uid, dv->gid = (gid_t)gid;
    }
    json_array_foreach(rules, i, v)
    {
        const char *t = json_string_value(json_object_get(v, "type")), *a = json_string_value(json_object_get(v, "access"));
        const json_t *maj = json_object_get(v, "major"), *min = json_object_get(v, "minor");
        size_t k = s->ndevices; /* the node it is for; none: refused */
        for (size_t j = 0; t && json_is_integer(maj) && json_is_integer(min) && j < s->ndevices; j++)
            if (s->devices[j].type == t[0] && !t[1] && s->devices[j].major == json_integer_value(maj) &&
                s->devices[j].minor == json_integer_value(min))
                k = j;
        if (!json_is_true(json_object_get(v, "allow")) || !a || !*a || strlen(a) > 3 || strspn(a, "rwm") != strlen(a) ||
            k >= s->ndevices)
            return nr_err_set(err, "config.json: linux.resources.devices[%zu]: only an allow rule (access of rwm) for "
                                   "a node of linux.devices", i);
        snprintf(s->devices[k].access, sizeof s->devices[k].access, "%s", a);
    }
    return 0;
}

static int parse_linux(const json_t *root, rt_spec *s, nr_err *err)
{
    const json_t *l = json_object_get(root, "linux");
    if (!json_is_object(l))
        return nr_err_set(err, "config.json: linux must be an object");
    const json_t *ns = json_object_get(l, "namespaces");
    if (!json_is_array(ns))
        return nr_err_set(err, "config.json: linux.namespaces must be an array");
    bool have[6] = {0};
    static const char *const known[] = {"pid", "mount", "ipc", "uts", "cgroup", "network"};
    size_t i;
    json_t *v;
    json_array_foreach(ns, i, v)
    {
        const json_t *t = json_object_get(v, "type");
        size_t k = 0;
        for (; json_is_string(t) && k < NR_ARRAY_LEN(known); k++)
            if (!strcmp(json_string_value(t), known[k]))
                break;
        if (!json_is_string(t) || k == NR_ARRAY_LEN(known) || json_object_get(v, "path"))
            return nr_err_set(err, "config.json: linux.namespaces[%zu]: unsupported (known: pid mount ipc uts cgroup network, no path)", i);
        have[k] = true;
    }
    for (size_t k = 0; k < 5; k++)
        if (!have[k])
            return nr_err_set(err, "config.json: linux.namespaces lacks \"%s\" (nrun always isolates it)", known[k]);
    s->ns_net = have[5];
    const json_t *r = json_object_get(l, "resources");
    if (r && !json_is_object(r))
        return nr_err_set(err, "config.json: linux.resources must be an object");
    const json_t *mem = json_object_get(r, "memory"), *cpu = json_object_get(r, "cpu"), *pids = json_object_get(r, "pids");
    if (mem && get_int(mem, "limit", 0, LLONG_MAX, &s->mem_limit, "linux.resources.memory", err) < 0)
        return -1;
    s->cpu_period = 100000;
    if (cpu) {
        if (get_int(cpu, "quota", 0, LLONG_MAX, &s->cpu_quota, "linux.resources.cpu", err) < 0 ||
            get_int(cpu, "period", 1000, 1000000, &s->cpu_period, "linux.resources.cpu", err) < 0 ||
            get_str(cpu, "cpus", false, &s->cpuset_cpus, "linux.resources.cpu", err) < 0)
            return -1;
        if (s->cpuset_cpus && strspn(s->cpuset_cpus, "0123456789,-") != strlen(s->cpuset_cpus))
            return nr_err_set(err, "config.json: linux.resources.cpu.cpus \"%s\" is not a cpu list", s->cpuset_cpus);
    }
    if (pids && get_int(pids, "limit", 0, LLONG_MAX, &s->pids_limit, "linux.resources.pids", err) < 0)
        return -1;
    if (mem && (get_int(mem, "swap", -1, LLONG_MAX, &s->mem_swap, "linux.resources.memory", err) < 0 ||
                get_int(mem, "reservation", 0, LLONG_MAX, &s->mem_reservation, "linux.resources.memory", err) < 0))
        return -1;
    if (cpu && get_int(cpu, "shares", 0, 262144, &s->cpu_shares, "linux.resources.cpu", err) < 0)
        return -1;
    if (get_strv(l, "maskedPaths", &s->masked, &s->nmasked, "linux", err) < 0 ||
        get_strv(l, "readonlyPaths", &s->readonly, &s->nreadonly, "linux", err) < 0)
        return -1;
    for (size_t k = 0; k < s->nmasked; k++)
        if (!abs_clean(s->masked[k]))
            return nr_err_set(err, "config.json: linux.maskedPaths[%zu] must be absolute", k);
    for (size_t k = 0; k < s->nreadonly; k++)
        if (!abs_clean(s->readonly[k]))
            return nr_err_set(err, "config.json: linux.readonlyPaths[%zu] must be absolute", k);
    if (parse_devices(l, r, s, err) < 0)
        return -1;
    const json_t *sy = json_object_get(l, "sysctl");
    if (sy && (!json_is_object(sy) || json_object_size(sy) > 256))
        return nr_err_set(err, "config.json: linux.sysctl must be an object");
    if (sy) {
        s->sysctl_keys = nr_xcalloc(json_object_size(sy) + 1, sizeof(char *));
        s->sysctl_vals = nr_xcalloc(json_object_size(sy) + 1, sizeof(char *));
        const char *k;
        json_t *val;
        json_object_foreach((json_t *)sy, k, val)
        {
            /* a value is one line of text: the kernel's parser gets nothing else */
            const char *x = json_string_value(val);
            bool ok = x && strlen(x) == json_string_length(val) && strlen(x) <= 4096;
            for (const unsigned char *c = (const unsigned char *)x; ok && *c; c++)
                ok = *c >= ' ' || *c == '\t';
            if (!ok)
                return nr_err_set(err, "config.json: linux.sysctl.%s must be a one-line string", k);
            s->sysctl_keys[s->nsysctl] = nr_xstrdup(k);
            s->sysctl_vals[s->nsysctl++] = nr_xstrdup(x);
        }
    }
    const json_t *sc = json_object_get(l, "seccomp");
    if (sc) {
        if (!json_is_object(sc))
            return nr_err_set(err, "config.json: linux.seccomp must be an object");
        s->seccomp_json = json_dumps(sc, JSON_COMPACT | JSON_SORT_KEYS);
    }
    return 0;
}

int rt_spec_parse(const char *text, size_t len, rt_spec *s, nr_err *err)
{
    memset(s, 0, sizeof *s);
    s->stop_signal = 15;
    s->net_lo_up = true; /* an own network namespace always has lo up, nothing else */
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return nr_err_set(err, "config.json:%d:%d: %s", je.line, je.column, je.text);
    int r = -1;
    const json_t *proc = json_object_get(root, "process"), *user, *rootfs = json_object_get(root, "root");
    if (!json_is_object(root) || !json_is_object(proc) || !json_is_object(rootfs)) {
        nr_err_set(err, "config.json: process and root must be objects");
        goto out;
    }
    if (get_strv(proc, "args", &s->args, NULL, "process", err) < 0 || get_strv(proc, "env", &s->env, NULL, "process", err) < 0 ||
        get_str(proc, "cwd", true, &s->cwd, "process", err) < 0)
        goto out;
    if (!s->args[0] || !*s->args[0]) {
        nr_err_set(err, "config.json: process.args must not be empty");
        goto out;
    }
    if (!abs_clean(s->cwd)) {
        nr_err_set(err, "config.json: process.cwd \"%s\" must be absolute without \"..\"", s->cwd);
        goto out;
    }
    for (size_t i = 0; s->env[i]; i++)
        if (!strchr(s->env[i], '=')) {
            nr_err_set(err, "config.json: process.env[%zu] \"%s\" is not K=V", i, s->env[i]);
            goto out;
        }
    user = json_object_get(proc, "user");
    if (user) {
        long long uid = 0, gid = 0;
        if (get_int(user, "uid", 0, 0xfffffffe, &uid, "process.user", err) < 0 ||
            get_int(user, "gid", 0, 0xfffffffe, &gid, "process.user", err) < 0)
            goto out;
        s->uid = (uid_t)uid;
        s->gid = (gid_t)gid;
        const json_t *g = json_object_get(user, "additionalGids");
        if (g && (!json_is_array(g) || json_array_size(g) > 256)) {
            nr_err_set(err, "config.json: process.user.additionalGids must be an array");
            goto out;
        }
        s->groups = nr_xcalloc(json_array_size(g) + 1, sizeof(gid_t));
        size_t i;
        json_t *v;
        json_array_foreach(g, i, v)
        {
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0xfffffffe) {
                nr_err_set(err, "config.json: process.user.additionalGids[%zu] is invalid", i);
                goto out;
            }
            s->groups[s->ngroups++] = (gid_t)json_integer_value(v);
        }
    }
    s->terminal = json_is_true(json_object_get(proc, "terminal"));
    s->no_new_privs = json_is_true(json_object_get(proc, "noNewPrivileges"));
    if (parse_caps(proc, &s->caps, err) < 0 || parse_rlimits(proc, s, err) < 0)
        goto out;
    if (get_str(rootfs, "path", true, &s->root_path, "root", err) < 0)
        goto out;
    if (!abs_clean(s->root_path)) {
        nr_err_set(err, "config.json: root.path \"%s\" must be absolute", s->root_path);
        goto out;
    }
    s->root_readonly = json_is_true(json_object_get(rootfs, "readonly"));
    if (get_str(root, "hostname", false, &s->hostname, "", err) < 0)
        goto out;
    if (s->hostname && strlen(s->hostname) > 64) {
        nr_err_set(err, "config.json: hostname is longer than 64 bytes");
        goto out;
    }
    if (get_str(root, "domainname", false, &s->domainname, "", err) < 0)
        goto out;
    if (s->domainname && *s->domainname && !rt_etc_name_valid(s->domainname, 64)) {
        nr_err_set(err, "config.json: domainname \"%s\" is invalid", s->domainname);
        goto out;
    }
    {
        long long adj = 0;
        if (get_int(proc, "oomScoreAdj", -1000, 1000, &adj, "process", err) < 0)
            goto out;
        s->oom_score_adj_set = json_object_get(proc, "oomScoreAdj") != NULL;
        s->oom_score_adj = (int)adj;
    }
    const json_t *mounts = json_object_get(root, "mounts");
    if (mounts && (!json_is_array(mounts) || json_array_size(mounts) > MAX_ITEMS)) {
        nr_err_set(err, "config.json: mounts must be an array");
        goto out;
    }
    s->mounts = nr_xcalloc(json_array_size(mounts) + 1, sizeof *s->mounts);
    for (size_t i = 0; i < json_array_size(mounts); i++) {
        if (parse_mount(json_array_get(mounts, i), i, &s->mounts[i], err) < 0) {
            s->nmounts = i + 1;
            goto out;
        }
        s->nmounts = i + 1;
    }
    if (parse_linux(root, s, err) < 0 || parse_annotations(root, s, err) < 0)
        goto out;
    if (s->net_join && (s->ns_net || s->networks)) {
        nr_err_set(err, "config.json: org.nrun.net-join with a network namespace or networks of its own");
        goto out;
    }
    for (size_t i = 0; i < s->nsysctl; i++) {
        const char *why = rt_sysctl_refused(s->sysctl_keys[i], s->ns_net && !s->net_join);
        if (why) {
            nr_err_set(err, "config.json: linux.sysctl.%s: %s", s->sysctl_keys[i], why);
            goto out;
        }
    }
    if ((s->nports && !s->networks) || (s->networks && !s->ns_net)) {
        nr_err_set(err, "config.json: %s", s->networks ? "org.nrun.networks needs a network namespace of its own"
                                                       : "org.nrun.ports need org.nrun.networks (ports are published on a network)");
        goto out;
    }
    r = 0;
out:
    json_decref(root);
    if (r < 0)
        rt_spec_free(s);
    return r;
}

int rt_spec_load(int dirfd, const char *name, rt_spec *s, nr_err *err)
{
    cleanup_free char *text = NULL;
    size_t len;
    if (nr_read_file(dirfd, name, RT_CONFIG_MAX, &text, &len, err) < 0)
        return -1;
    return rt_spec_parse(text, len, s, err);
}

void rt_spec_free(rt_spec *s)
{
    strv_free(s->args);
    strv_free(s->env);
    strv_free(s->sv_opts);
    free(s->cwd);
    free(s->groups);
    free(s->rlimits);
    free(s->root_path);
    free(s->hostname);
    for (size_t i = 0; i < s->nmounts; i++) {
        free(s->mounts[i].dest);
        free(s->mounts[i].type);
        free(s->mounts[i].source);
        free(s->mounts[i].data);
    }
    free(s->mounts);
    strv_free(s->masked);
    strv_free(s->readonly);
    free(s->cpuset_cpus);
    free(s->seccomp_json);
    free(s->overlay_layers_dir);
    strv_free(s->overlay_lower);
    free(s->overlay_upper);
    free(s->overlay_work);
    free(s->ports);
    free(s->networks);
    free(s->net_join);
    free(s->net_etc);
    for (size_t i = 0; i < s->ndevices; i++)
        free(s->devices[i].path);
    free(s->devices);
    strv_free(s->sysctl_keys);
    strv_free(s->sysctl_vals);
    free(s->domainname);
    free(s->extra_hosts);
    strv_free(s->dns);
    strv_free(s->dns_search);
    strv_free(s->dns_options);
    memset(s, 0, sizeof *s);
}
