/* Build a container's OCI runtime-spec config.json from the image config and
 * the `nrun run` flags (what `crun spec` writes, filled from the image).  The
 * result is the only description the launch code reads (spec_parse.c). */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/signal.h"
#include "common/util.h"
#include "runtime/net.h"
#include "runtime/runtime.h"
#include "runtime/seccomp_default.h"
#include "runtime/spec_int.h"
#include "runtime/spec_policy.h"

static const char *const masked_paths[] = {
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/proc/interrupts", "/sys/firmware", "/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static json_t *str_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

json_t *spec_mount_obj(const char *dest, const char *type, const char *src, const char *opts)
{
    json_t *m = json_pack("{s:s, s:s, s:s}", "destination", dest, "type", type, "source", src);
    json_t *o = json_array();
    cleanup_free char *copy = nr_xstrdup(opts);
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(o, json_string(t));
    json_object_set_new(m, "options", o);
    return m;
}

/* A volume name as docker accepts it: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
static bool valid_volume_name(const char *n)
{
    if (!*n || !((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') || (n[0] >= '0' && n[0] <= '9')))
        return false;
    for (const char *p = n; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *p))
            return false;
    return strlen(n) < 128;
}

/* A container path: absolute, without a ".." component, in canonical form
 * (no "//", ".", trailing "/"), so that every check compares the one
 * spelling the kernel will resolve.  NULL when it is not one. */
char *spec_ctr_path(const char *p)
{
    if (p[0] != '/' || strlen(p) >= PATH_MAX)
        return NULL;
    for (const char *s = p; (s = strstr(s, "..")); s += 2)
        if ((s == p || s[-1] == '/') && (s[2] == 0 || s[2] == '/'))
            return NULL;
    return nr_path_clean(p);
}

/* The runtime's own mounts (/proc ... /sys/fs/cgroup) come first in "mounts" */
#define BASE_MOUNTS 7

bool spec_has_dest(const json_t *mounts, const char *dest)
{
    size_t i;
    json_t *m;
    /* a -v may cover /dev/shm, not another -v or a --tmpfs */
    json_array_foreach(mounts, i, m) if ((i >= BASE_MOUNTS ||
                                          !strcmp(json_string_value(json_object_get(m, "type")), "bind")) &&
                                         !strcmp(json_string_value(json_object_get(m, "destination")), dest))
        return true;
    return false;
}

/* A mount at dest: src a host path (bind), a volume name, or NULL (anonymous).
 * A directory nrun makes for it is only listed in `mk`: created once every
 * flag has been checked, so a refused run leaves no volume behind.  With
 * `create` (-v, as docker's -v) a missing host path is such a directory too;
 * --mount type=bind refuses it, as docker's --mount does. */
int spec_add_mount(json_t *mounts, json_t *mk, const char *what, const char *src_arg, const char *dest_arg, bool ro,
                   bool nocopy, bool create, const char *store_root, const char *ctr_dir, int *anon, nr_err *err)
{
    cleanup_free char *dest = spec_ctr_path(dest_arg);
    if (!dest)
        return nr_err_set(err, "%s: container path \"%s\" must be absolute without \"..\"", what, dest_arg);
    bool ours = !src_arg || src_arg[0] != '/';
    const char *bad = rt_spec_dest_forbidden(dest, ours);
    if (bad)
        return nr_err_set(err, "%s: nothing may be mounted on %s", what, bad);
    if (spec_has_dest(mounts, dest))
        return nr_err_set(err, "%s: duplicate mount point %s", what, dest);
    cleanup_free char *src = NULL;
    if (!src_arg) {
        src = nr_xasprintf("%s/volumes/anon%d", ctr_dir, (*anon)++);
    } else if (src_arg[0] == '/') {
        struct stat st;
        int missing = stat(src_arg, &st) < 0 ? errno : 0;
        if (missing && (!create || missing != ENOENT || strlen(src_arg) >= PATH_MAX))
            return nr_err_sys(err, missing, "%s: host path %s", what, src_arg);
        if (missing) {
            /* made with the other directories, then resolved (spec_make_dirs) */
            cleanup_free char *host = nr_path_clean(src_arg);
            const char *opts = ro ? "rbind,ro,rprivate" : "rbind,rprivate";
            json_t *m = spec_mount_obj(dest, "bind", host, opts);
            json_array_append_new(mk, json_pack("{s:s, s:s, s:O}", "dir", host, "what", what, "bind", m));
            json_array_append_new(mounts, m);
            return 0;
        }
        src = realpath(src_arg, NULL);
        if (!src)
            return nr_err_sys(err, errno, "%s: resolve %s", what, src_arg);
    } else if (valid_volume_name(src_arg)) {
        src = nr_xasprintf("%s/volumes/%s/_data", store_root, src_arg);
    } else {
        return nr_err_set(err, "%s: \"%s\" is neither an absolute host path nor a volume name", what, src_arg);
    }
    /* _data may be entered by the container's users: the owner-only
     * volumes/ (or container dir) above it keeps host users out */
    if (ours)
        json_array_append_new(mk, json_pack("{s:s, s:s}", "dir", src, "what", what));
    /* volumes nrun makes (named, anonymous) start with the image's content, as docker's do */
    const char *opts = ro ? "rbind,ro,rprivate" : "rbind,rprivate";
    cleanup_free char *withcopy = nr_xasprintf("%s,nrun-copyup", opts);
    json_array_append_new(mounts, spec_mount_obj(dest, "bind", src, ours && !nocopy ? withcopy : opts));
    return 0;
}

/* -v HOST:CTR[:ro|rw], -v NAME:CTR[:ro|rw], -v CTR[:ro|rw] (anonymous); every
 * field non-empty.  Sets *src (NULL: anonymous), *dest, *ro; frees with *buf. */
static int parse_volume(const char *spec, char **buf, const char **src, const char **dest, bool *ro, nr_err *err)
{
    char *copy = *buf = nr_xstrdup(spec);
    char *parts[4];
    size_t n = 0;
    for (char *p = copy; n < 4; p++) {
        parts[n++] = p;
        p = strchr(p, ':');
        if (!p)
            break;
        *p = 0;
    }
    if (n > 3)
        return nr_err_set(err, "-v %s: too many ':' fields", spec);
    for (size_t i = 0; i < n; i++)
        if (!*parts[i])
            return nr_err_set(err, "-v %s: empty field", spec);
    *ro = false;
    if (n == 3 || (n == 2 && (!strcmp(parts[1], "ro") || !strcmp(parts[1], "rw")))) {
        const char *mode = parts[--n];
        if (!strcmp(mode, "ro"))
            *ro = true;
        else if (strcmp(mode, "rw"))
            return nr_err_set(err, "-v %s: mode must be ro or rw, not \"%s\"", spec, mode);
    }
    *src = n == 2 ? parts[0] : NULL;
    *dest = parts[n - 1];
    return 0;
}

static int add_volume(json_t *mounts, json_t *mk, const char *spec, const char *store_root, const char *ctr_dir,
                      int *anon, nr_err *err)
{
    cleanup_free char *buf = NULL;
    const char *src, *dest;
    bool ro;
    if (parse_volume(spec, &buf, &src, &dest, &ro, err) < 0)
        return -1;
    cleanup_free char *what = nr_xasprintf("-v %s", spec);
    return spec_add_mount(mounts, mk, what, src, dest, ro, false, true, store_root, ctr_dir, anon, err);
}

/* The -v and --mount flags checked as a container's creation checks them,
 * nothing made (a volume's directory is only listed, never created, here). */
int rt_spec_volumes_check(const rt_run_opts *o, const char *store_root, nr_err *err)
{
    json_t *mounts = json_array(), *mk = json_array();
    int anon = 0, r = 0;
    for (size_t i = 0; i < o->nvolumes && r == 0; i++)
        r = add_volume(mounts, mk, o->volumes[i], store_root, "/nonexistent", &anon, err);
    if (r == 0)
        r = spec_flags_mounts(mounts, mk, o, store_root, "/nonexistent", &anon, err);
    json_decref(mounts);
    json_decref(mk);
    return r;
}

/* A tmpfs at DEST, "DEST[:OPT,...]" with OPT size=N[k|m|g] or mode=OCTAL only. */
static int add_tmpfs(json_t *mounts, const char *spec, nr_err *err)
{
    cleanup_free char *copy = nr_xstrdup(spec);
    char *opts = strchr(copy, ':');
    if (opts)
        *opts++ = 0;
    cleanup_free char *dest = spec_ctr_path(copy);
    if (!dest)
        return nr_err_set(err, "tmpfs %s: container path must be absolute without \"..\"", spec);
    const char *bad = rt_spec_dest_forbidden(dest, true);
    if (bad)
        return nr_err_set(err, "tmpfs %s: nothing may be mounted on %s", spec, bad);
    if (spec_has_dest(mounts, dest))
        return nr_err_set(err, "tmpfs %s: duplicate mount point %s", spec, dest);
    nr_buf o = {0};
    nr_buf_addstr(&o, "nosuid,nodev");
    bool mode = false;
    for (char *save = NULL, *t = opts ? strtok_r(opts, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
        const char *v = strchr(t, '=') ? strchr(t, '=') + 1 : "";
        size_t n = strlen(v);
        bool ok = !strncmp(t, "size=", 5) && n && strspn(v, "0123456789") >= n - 1 &&
                  strspn(v, "0123456789") > 0 && (strspn(v, "0123456789") == n || strchr("kmgKMG", v[n - 1]));
        if (!ok && !strncmp(t, "mode=", 5) && n && n <= 4 && strspn(v, "01234567") == n)
            ok = mode = true;
        if (!ok) {
            nr_buf_free(&o);
            return nr_err_set(err, "tmpfs %s: bad option \"%s\" (size=N[k|m|g] or mode=OCTAL)", spec, t);
        }
        nr_buf_addf(&o, ",%s", t);
    }
    if (!mode)
        nr_buf_addstr(&o, ",mode=1777");
    nr_buf_add(&o, "", 1);
    json_array_append_new(mounts, spec_mount_obj(dest, "tmpfs", "tmpfs", o.data));
    nr_buf_free(&o);
    return 0;
}

/* The image's HEALTHCHECK, for what the flags did not set (docker's rule:
 * --health-cmd replaces the test, each other flag its own field,
 * --no-healthcheck all of it).  Checked again when config.json is read. */
static void health_from_image(json_t *ann, const json_t *imgcfg)
{
    const json_t *hc = imgcfg ? json_object_get(imgcfg, "Healthcheck") : NULL;
    if (!json_is_object(hc) || json_object_get(ann, "org.nrun.supervisor.no-healthcheck"))
        return;
    const json_t *test = json_object_get(hc, "Test");
    if (json_is_array(test) && json_array_size(test) > 0 && !json_object_get(ann, "org.nrun.supervisor.health-cmd")) {
        char *t = json_dumps(test, JSON_COMPACT);
        if (t)
            json_object_set_new(ann, "org.nrun.supervisor.health-test", json_string(t));
        free(t);
    }
    static const struct { const char *key, *ann; } durs[] = {
        {"Interval", "org.nrun.supervisor.health-interval"},
        {"Timeout", "org.nrun.supervisor.health-timeout"},
        {"StartPeriod", "org.nrun.supervisor.health-start-period"},
        {"StartInterval", "org.nrun.supervisor.health-start-interval"},
    };
    for (size_t i = 0; i < NR_ARRAY_LEN(durs); i++) {
        const json_t *v = json_object_get(hc, durs[i].key);
        if (!json_is_integer(v) || json_object_get(ann, durs[i].ann))
            continue;
        /* nanoseconds; 0 = the default; a bad value is refused by the parse */
        cleanup_free char *ms = nr_xasprintf("%lldms", (long long)(json_integer_value(v) / 1000000));
        json_object_set_new(ann, durs[i].ann, json_string(json_integer_value(v) < 0 ? "-1" : ms));
    }
    const json_t *r = json_object_get(hc, "Retries");
    if (json_is_integer(r) && !json_object_get(ann, "org.nrun.supervisor.health-retries")) {
        cleanup_free char *rs = nr_xasprintf("%lld", (long long)json_integer_value(r));
        json_object_set_new(ann, "org.nrun.supervisor.health-retries", json_string(rs));
    }
}

/* An image's StopSignal; none (or "") is SIGTERM, as for docker. */
static int stop_signal_of(const char *s)
{
    return !s || !*s ? SIGTERM : nr_signal_parse(s);
}

static uint64_t caps_from_opts(const rt_run_opts *o, nr_err *err, bool *ok)
{
    uint64_t caps = rt_caps_default();
    *ok = true;
    for (size_t i = 0; i < o->ncap_drop; i++) {
        if (!strcasecmp(o->cap_drop[i], "ALL")) {
            caps = 0;
            continue;
        }
        int c = rt_cap_from_name(o->cap_drop[i]);
        if (c < 0) {
            *ok = false;
            nr_err_set(err, "--cap-drop: unknown capability \"%s\"", o->cap_drop[i]);
            return 0;
        }
        caps &= ~(1ULL << c);
    }
    /* what nrun itself may pass on: a capability outside its own bounding
     * set could only make the container's setup fail */
    uint64_t bounding = 0;
    for (int c = 0; rt_cap_name(c); c++)
        if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
            bounding |= 1ULL << c;
    for (size_t i = 0; i < o->ncap_add; i++) {
        if (!strcasecmp(o->cap_add[i], "ALL")) {
            caps |= bounding;
            continue;
        }
        int c = rt_cap_from_name(o->cap_add[i]);
        if (c < 0) {
            *ok = false;
            nr_err_set(err, "--cap-add: unknown capability \"%s\"", o->cap_add[i]);
            return 0;
        }
        if (!(bounding & (1ULL << c))) {
            *ok = false;
            nr_err_set(err, "--cap-add %s: nrun does not hold this capability itself (not in its bounding set)",
                       o->cap_add[i]);
            return 0;
        }
        caps |= 1ULL << c;
    }
    return caps;
}

static json_t *caps_array(uint64_t caps)
{
    json_t *a = json_array();
    for (int c = 0; c < 64; c++)
        if ((caps & (1ULL << c)) && rt_cap_name(c))
            json_array_append_new(a, json_string(rt_cap_name(c)));
    return a;
}

/* Image Env, then -e (a later K replaces an earlier one); PATH and HOSTNAME
 * are defaults, for docker too: set by the image or -e, they stay. */
static json_t *build_env(const json_t *imgcfg, const rt_run_opts *o, const rt_user *u, const char *hostname, bool tty)
{
    json_t *env = json_array();
    const json_t *ie = imgcfg ? json_object_get(imgcfg, "Env") : NULL;
    bool have_path = false, have_hostname = false, have_home = false;
    size_t i;
    json_t *v;
    if (json_is_array(ie))
        json_array_foreach(ie, i, v) if (json_is_string(v))
            json_array_append(env, v);
    for (size_t k = 0; k < o->nenv; k++) {
        const char *kv = o->env[k];
        size_t klen = strcspn(kv, "=");
        bool replaced = false;
        json_array_foreach(env, i, v)
        {
            const char *cur = json_string_value(v);
            if (!strncmp(cur, kv, klen) && cur[klen] == '=') {
                json_array_set_new(env, i, json_string(kv));
                replaced = true;
                break;
            }
        }
        if (!replaced)
            json_array_append_new(env, json_string(kv));
    }
    json_array_foreach(env, i, v)
    {
        have_path |= !strncmp(json_string_value(v), "PATH=", 5);
        have_hostname |= !strncmp(json_string_value(v), "HOSTNAME=", 9);
        have_home |= !strncmp(json_string_value(v), "HOME=", 5);
    }
    /* HOME as docker sets it: the user's passwd entry, else / (root: /root) */
    if (!have_home) {
        cleanup_free char *h = nr_xasprintf("HOME=%s", u && u->home[0] ? u->home : u && u->uid ? "/" : "/root");
        json_array_append_new(env, json_string(h));
    }
    if (!have_path)
        json_array_insert_new(env, 0, json_string("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    if (!have_hostname) {
        cleanup_free char *h = nr_xasprintf("HOSTNAME=%s", hostname);
        json_array_append_new(env, json_string(h));
    }
    if (tty)
        json_array_append_new(env, json_string("TERM=xterm"));
    return env;
}

static json_t *build_args(const json_t *imgcfg, const rt_run_opts *o, nr_err *err)
{
    json_t *args = json_array();
    const json_t *ep = imgcfg ? json_object_get(imgcfg, "Entrypoint") : NULL;
    const json_t *cmd = imgcfg ? json_object_get(imgcfg, "Cmd") : NULL;
    size_t i;
    json_t *v;
    if (o->entrypoint_set) {
        if (o->entrypoint && *o->entrypoint)
            json_array_append_new(args, json_string(o->entrypoint));
    } else if (json_is_array(ep)) {
        /* nbuild --init: ["/nrun-init", "--", ...] is for other runtimes;
         * here our own PID 1 runs the rest, as for any image */
        const json_t *lb = json_object_get(imgcfg, "Labels");
        const char *init = json_string_value(json_object_get(lb, "org.nrun.init"));
        size_t skip = init && json_array_size(ep) >= 2 &&
                              !strcmp(json_string_value(json_array_get(ep, 0)) ?: "", init) &&
                              !strcmp(json_string_value(json_array_get(ep, 1)) ?: "", "--")
                          ? 2
                          : 0;
        json_array_foreach(ep, i, v) if (i >= skip && json_is_string(v)) json_array_append(args, v);
    }
    if (o->ncmd) {
        for (size_t k = 0; k < o->ncmd; k++)
            json_array_append_new(args, json_string(o->cmd[k]));
    } else if (json_is_array(cmd) && !o->entrypoint_set) {
        json_array_foreach(cmd, i, v) if (json_is_string(v)) json_array_append(args, v);
    }
    if (json_array_size(args) == 0) {
        json_decref(args);
        nr_err_set(err, "no command: the image has no Entrypoint or Cmd and none was given");
        return NULL;
    }
    return args;
}

int rt_spec_build(const json_t *imgcfg, const rt_run_opts *o, const rt_rootfs_desc *rf, const rt_user *u,
                  const char *store_root, const char *ctr_dir, char **json_out, nr_err *err)
{
    const char *hostname = o->hostname ? o->hostname : o->name;
    if (!hostname || strlen(hostname) > 63)
        return nr_err_set(err, "hostname \"%s\" is empty or longer than 63 bytes", hostname ? hostname : "");
    /* it becomes a line of /etc/hosts (and a name in the network's DNS) */
    for (const unsigned char *c = (const unsigned char *)hostname; *c; c++)
        if (*c <= ' ' || *c == 0x7f || *c == '#')
            return nr_err_set(err, "hostname: a space, '#' or a control character at byte %zu",
                              (size_t)(c - (const unsigned char *)hostname) + 1);
    if (o->domainname && *o->domainname && !rt_etc_name_valid(o->domainname, 64))
        return nr_err_set(err, "--domainname %s: expected a name of [a-zA-Z0-9_.-], at most 64 bytes", o->domainname);
    if (o->oom_score_adj_set && (o->oom_score_adj < -1000 || o->oom_score_adj > 1000))
        return nr_err_set(err, "--oom-score-adj %d: expected -1000..1000", o->oom_score_adj);
    /* --add-host, --dns*: lines of the container's /etc/hosts and resolv.conf */
    nr_buf xh = {0}, dns[3] = {{0}};
    for (size_t i = 0; i < o->nextra_hosts; i++) {
        cleanup_free char *line = NULL;
        if (rt_extra_host_parse(o->extra_hosts[i], &line, err) < 0) {
            nr_buf_free(&xh);
            return -1;
        }
        nr_buf_addstr(&xh, line);
    }
    nr_buf_add(&xh, "", 1);
    char **dv[3] = {o->dns, o->dns_search, o->dns_options};
    size_t dn[3] = {o->ndns, o->ndns_search, o->ndns_options};
    static const char *const dflag[3] = {"--dns", "--dns-search", "--dns-option"};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < dn[k]; i++) {
            const char *v = dv[k][i];
            bool ok = k == 0 ? rt_etc_ip_valid(v) : k == 1 ? !strcmp(v, ".") || rt_etc_name_valid(v, 253)
                                                           : rt_etc_dns_option_valid(v);
            if (!ok) {
                cleanup_free char *e = nr_escape_controls(v);
                nr_buf_free(&xh);
                for (int j = 0; j < 3; j++)
                    nr_buf_free(&dns[j]);
                return nr_err_set(err, "%s %s: %s", dflag[k], e,
                                  k == 0 ? "not an IPv4 or IPv6 address"
                                  : k == 1 ? "expected a domain name ([a-zA-Z0-9_.-], at most 253 bytes)"
                                           : "expected an option without spaces, '#' or ';' (ndots:2)");
            }
            nr_buf_addf(&dns[k], "%s%s", i ? " " : "", v);
        }
        nr_buf_add(&dns[k], "", 1);
    }
    bool caps_ok;
    uint64_t caps = caps_from_opts(o, err, &caps_ok);
    cleanup_free char *xh_s = xh.data, *dns_s = dns[0].data, *search_s = dns[1].data, *opt_s = dns[2].data;
    if (!caps_ok)
        return -1;
    json_t *args = build_args(imgcfg, o, err);
    if (!args)
        return -1;
    json_t *spec = json_object();
    json_object_set_new(spec, "ociVersion", json_string("1.0.2"));

    /* process */
    const char *wd = o->workdir;
    const json_t *iwd = imgcfg ? json_object_get(imgcfg, "WorkingDir") : NULL;
    if (!wd && json_is_string(iwd) && json_string_length(iwd))
        wd = json_string_value(iwd);
    if (!wd)
        wd = "/";
    cleanup_free char *wd_clean = spec_ctr_path(wd);
    if (!wd_clean) {
        json_decref(spec);
        json_decref(args);
        return nr_err_set(err, "working directory \"%s\" must be absolute without \"..\"", wd);
    }
    wd = wd_clean;
    json_t *groups = json_array();
    for (size_t i = 0; i < u->ngroups; i++)
        json_array_append_new(groups, json_integer(u->groups[i]));
    json_t *rlimits = spec_flags_rlimits(o, err);
    if (!rlimits) {
        json_decref(groups);
        json_decref(args);
        json_decref(spec);
        return -1;
    }
    json_t *process = json_pack(
        "{s:b, s:{s:I, s:I, s:o}, s:o, s:o, s:s, s:{s:o, s:o, s:o}, s:o, s:b}",
        "terminal", o->tty, "user", "uid", (json_int_t)u->uid, "gid", (json_int_t)u->gid, "additionalGids", groups,
        "args", args, "env", build_env(imgcfg, o, u, hostname, o->tty), "cwd", wd, "capabilities", "bounding",
        caps_array(caps), "effective", caps_array(caps), "permitted", caps_array(caps), "rlimits", rlimits,
        "noNewPrivileges", 1);
    if (o->oom_score_adj_set)
        json_object_set_new(process, "oomScoreAdj", json_integer(o->oom_score_adj));
    json_object_set_new(spec, "process", process);
    json_object_set_new(spec, "root", json_pack("{s:s, s:b}", "path", rf->root_path, "readonly", o->read_only));
    json_object_set_new(spec, "hostname", json_string(hostname));
    if (o->domainname && *o->domainname)
        json_object_set_new(spec, "domainname", json_string(o->domainname));

    /* mounts */
    json_t *mounts = json_array();
    json_array_append_new(mounts, spec_mount_obj("/proc", "proc", "proc", "nosuid,noexec,nodev"));
    json_array_append_new(mounts, spec_mount_obj("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"));
    json_array_append_new(mounts, spec_mount_obj("/dev/pts", "devpts", "devpts",
                                            "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
    cleanup_free char *shm = nr_xasprintf("nosuid,noexec,nodev,mode=1777,size=%lld",
                                          o->shm_size > 0 ? o->shm_size : 64LL << 20); /* --shm-size */
    json_array_append_new(mounts, spec_mount_obj("/dev/shm", "tmpfs", "shm", shm));
    json_array_append_new(mounts, spec_mount_obj("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
    json_array_append_new(mounts, spec_mount_obj("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"));
    json_array_append_new(mounts, spec_mount_obj("/sys/fs/cgroup", "cgroup", "cgroup", "nosuid,noexec,nodev,relatime,ro"));
    if (json_array_size(mounts) != BASE_MOUNTS)
        abort(); /* spec_has_dest counts on it */
    int anon = 0;
    json_auto_t *mk = json_array();
    const json_t *ivol = imgcfg ? json_object_get(imgcfg, "Volumes") : NULL;
    if (json_is_object(ivol)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)ivol, k, v)
        {
            /* the key is a container path, nothing else: never a source */
            cleanup_free char *what = nr_xasprintf("image VOLUME %s", k);
            cleanup_free char *kc = spec_ctr_path(k);
            /* a -v at the same path replaces the image's anonymous volume,
             * and "/data" and "/data/" are one volume */
            bool overridden = kc && (spec_has_dest(mounts, kc) || spec_flags_cover(o, kc));
            for (size_t i = 0; kc && i < o->nvolumes; i++) {
                cleanup_free char *buf = NULL, *dc = NULL;
                const char *src, *dest;
                bool ro;
                nr_err ign;
                if (parse_volume(o->volumes[i], &buf, &src, &dest, &ro, &ign) == 0 && (dc = spec_ctr_path(dest)) &&
                    !strcmp(dc, kc))
                    overridden = true;
            }
            if (overridden)
                continue;
            if (spec_add_mount(mounts, mk, what, NULL, k, false, false, false, store_root, ctr_dir, &anon, err) < 0) {
                json_decref(mounts);
                json_decref(spec);
                return -1;
            }
        }
    }
    for (size_t i = 0; i < o->nvolumes; i++)
        if (add_volume(mounts, mk, o->volumes[i], store_root, ctr_dir, &anon, err) < 0) {
            json_decref(mounts);
            json_decref(spec);
            return -1;
        }
    for (size_t i = 0; i < o->ntmpfs; i++)
        if (add_tmpfs(mounts, o->tmpfs[i], err) < 0) {
            json_decref(mounts);
            json_decref(spec);
            return -1;
        }
    if (spec_flags_mounts(mounts, mk, o, store_root, ctr_dir, &anon, err) < 0) {
        json_decref(mounts);
        json_decref(spec);
        return -1;
    }
    json_object_set_new(spec, "mounts", mounts);

    /* linux */
    json_t *ns = json_array();
    const char *nsnames[] = {"pid", "mount", "ipc", "uts", "cgroup", "network"};
    /* host, or another container's (container:ID, joined at launch): no namespace of its own */
    bool hostnet = o->net && (!strcmp(o->net, "host") || !strncmp(o->net, "container:", 10));
    for (size_t i = 0; i < NR_ARRAY_LEN(nsnames); i++)
        if (!(hostnet && !strcmp(nsnames[i], "network")))
            json_array_append_new(ns, json_pack("{s:s}", "type", nsnames[i]));
    json_t *res = json_object();
    if (o->memory > 0 || o->memory_reservation > 0) {
        json_t *mem = json_object();
        if (o->memory > 0) {
            json_object_set_new(mem, "limit", json_integer(o->memory));
            json_object_set_new(mem, "swap", json_integer(o->memory_swap ? o->memory_swap : o->memory));
        }
        if (o->memory_reservation > 0)
            json_object_set_new(mem, "reservation", json_integer(o->memory_reservation));
        json_object_set_new(res, "memory", mem);
    }
    if (o->cpu_quota > 0 || o->cpuset || o->cpu_shares > 0) {
        json_t *cpu = json_object();
        if (o->cpu_shares > 0)
            json_object_set_new(cpu, "shares", json_integer(o->cpu_shares));
        if (o->cpu_quota > 0) {
            json_object_set_new(cpu, "quota", json_integer(o->cpu_quota));
            json_object_set_new(cpu, "period", json_integer(o->cpu_period));
        }
        if (o->cpuset)
            json_object_set_new(cpu, "cpus", json_string(o->cpuset));
        json_object_set_new(res, "cpu", cpu);
    }
    if (o->pids_limit > 0)
        json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)o->pids_limit));
    json_t *linux_ = json_pack("{s:o, s:o, s:o, s:o}", "namespaces", ns, "resources", res, "maskedPaths",
                               str_array(masked_paths, NR_ARRAY_LEN(masked_paths)), "readonlyPaths",
                               str_array(readonly_paths, NR_ARRAY_LEN(readonly_paths)));
    if (spec_flags_linux(linux_, o, !hostnet, err) < 0) { /* --device, --sysctl */
        json_decref(linux_);
        json_decref(spec);
        return -1;
    }
    bool unconfined = false;
    const char *profile = NULL;
    for (size_t i = 0; i < o->nsecurity_opt; i++) {
        const char *so = o->security_opt[i];
        if (!strcmp(so, "seccomp=unconfined") || !strcmp(so, "seccomp:unconfined"))
            unconfined = true;
        else if (!strncmp(so, "seccomp=", 8))
            profile = so + 8;
        else if (!strcmp(so, "no-new-privileges") || !strcmp(so, "no-new-privileges:true") ||
                 !strcmp(so, "no-new-privileges=true"))
            ; /* always on */
        else {
            json_decref(linux_);
            json_decref(spec);
            return nr_err_set(err, "--security-opt %s: unsupported (seccomp=unconfined|PROFILE.json, no-new-privileges)", so);
        }
    }
    if (!unconfined) {
        json_t *sc = profile ? rt_seccomp_from_docker(profile, caps, err) : rt_seccomp_default_caps(caps);
        if (!sc) {
            json_decref(linux_);
            json_decref(spec);
            return -1;
        }
        json_object_set_new(linux_, "seccomp", sc);
    }
    json_object_set_new(spec, "linux", linux_);

    /* annotations: what OCI has no field for */
    json_t *ann = json_object();
    if (rf->layers_dir) {
        nr_buf lower = {0};
        for (size_t i = 0; i < rf->nlower; i++)
            nr_buf_addf(&lower, "%s%s", i ? ":" : "", rf->lower[i]);
        nr_buf_add(&lower, "", 1);
        json_object_set_new(ann, "org.nrun.overlay.layers", json_string(rf->layers_dir));
        json_object_set_new(ann, "org.nrun.overlay.lower", json_string(lower.data));
        json_object_set_new(ann, "org.nrun.overlay.upper", json_string(rf->upper));
        json_object_set_new(ann, "org.nrun.overlay.work", json_string(rf->work));
        if (o->ephemeral)
            json_object_set_new(ann, "org.nrun.overlay.volatile", json_string("true"));
        nr_buf_free(&lower);
    }
    const json_t *iss = imgcfg ? json_object_get(imgcfg, "StopSignal") : NULL;
    int sig = o->stop_signal > 0 ? o->stop_signal : stop_signal_of(json_is_string(iss) ? json_string_value(iss) : NULL);
    if (sig < 0) {
        json_decref(ann);
        json_decref(spec);
        return nr_err_set(err, "image StopSignal \"%s\" is not a signal", json_string_value(iss));
    }
    cleanup_free char *sigs = nr_xasprintf("%d", sig);
    json_object_set_new(ann, "org.nrun.stop-signal", json_string(sigs));
    json_t *ports = json_array();
    const char *net = o->net ? o->net : RT_NET_DEFAULT;
    bool join = !strncmp(net, "container:", 10);
    bool own_ns = strcmp(net, "host") != 0 && !join, cni = own_ns && strcmp(net, "none");
    if ((o->nports || o->publish_all) && !cni) {
        json_decref(ann);
        json_decref(ports);
        json_decref(spec);
        return nr_err_set(err, "-p and -P need a network of nrun's (not --network %s)", net);
    }
    if (join)
        json_object_set_new(ann, "org.nrun.net-join", json_string(net + 10));
    for (size_t i = 0; i < o->nports; i++)
        if (spec_parse_port(o->ports[i], ports, err) < 0) {
            json_decref(ann);
            json_decref(ports);
            json_decref(spec);
            return -1;
        }
    if (o->publish_all && spec_expose_ports(imgcfg, o, ports, err) < 0) {
        json_decref(ann);
        json_decref(ports);
        json_decref(spec);
        return -1;
    }
    if ((o->nnet_aliases || o->ip) && (!cni || !strcmp(net, RT_NET_DEFAULT))) {
        json_decref(ann);
        json_decref(ports);
        json_decref(spec);
        return nr_err_set(err, "%s is only for user-defined networks (nrun network create)",
                          o->ip ? "--ip" : "--network-alias");
    }
    cleanup_free char *ports_s = json_dumps(ports, JSON_COMPACT);
    json_decref(ports);
    json_object_set_new(ann, "org.nrun.ports", json_string(ports_s));
    json_object_set_new(ann, "org.nrun.net", json_string(join ? "container" : !own_ns ? "host" : cni ? "cni" : "none"));
    if (cni) {
        /* the names others on the network find it by: its name, its hostname, the aliases */
        json_t *al = json_array();
        const char *hn = o->hostname ? o->hostname : o->name;
        /* a name that is no DNS name, or one every container has in its
         * /etc/hosts (localhost, host.nrun.internal), is not registered */
        if (o->name && rt_net_alias_valid(o->name))
            json_array_append_new(al, json_string(o->name));
        if (hn && (!o->name || strcmp(hn, o->name)) && rt_net_alias_valid(hn))
            json_array_append_new(al, json_string(hn));
        for (size_t i = 0; i < o->nnet_aliases; i++)
            json_array_append_new(al, json_string(o->net_aliases[i]));
        json_t *nets = json_pack("[{s:s, s:o}]", "name", net, "aliases", al);
        if (o->ip)
            json_object_set_new(json_array_get(nets, 0), "ipv4", json_string(o->ip));
        cleanup_free char *nets_s = json_dumps(nets, JSON_COMPACT);
        json_decref(nets);
        json_object_set_new(ann, "org.nrun.networks", json_string(nets_s));
    }
    /* /etc/hostname, /etc/hosts, /etc/resolv.conf: made by the launch in the
     * container's /dev tmpfs from "hostname" and the network mode (mounts.c) */
    json_object_set_new(ann, "org.nrun.etc-files", json_string("generated"));
    if (*xh_s) {
        if (strstr(xh_s, "host-gateway\t") && !cni && strcmp(net, "host")) {
            json_decref(ann);
            json_decref(spec);
            return nr_err_set(err, "--add-host NAME:host-gateway needs a network with the host on it (not --network %s)", net);
        }
        json_object_set_new(ann, "org.nrun.extra-hosts", json_string(xh_s));
    }
    if (*dns_s)
        json_object_set_new(ann, "org.nrun.dns", json_string(dns_s));
    if (*search_s)
        json_object_set_new(ann, "org.nrun.dns-search", json_string(search_s));
    if (*opt_s)
        json_object_set_new(ann, "org.nrun.dns-options", json_string(opt_s));
    cleanup_free char *w = nr_xasprintf("%d", o->workers);
    json_object_set_new(ann, "org.nrun.workers", json_string(w));
    json_object_set_new(ann, "org.nrun.balance", json_string(o->balance == 2 ? "sticky" : o->balance ? "leastconn" : "rr"));
    json_object_set_new(ann, "org.nrun.mode", json_string(o->mode == 1 ? "cluster" : o->mode == 2 ? "single" : "auto"));
    for (size_t i = 0; i < o->nsv_opts; i++) {
        /* "--max-memory=100m" -> org.nrun.supervisor.max-memory: "100m" */
        const char *kv = o->sv_opts[i], *eq = strchr(kv, '=');
        if (strncmp(kv, "--", 2) || !eq)
            continue;
        cleanup_free char *key = nr_xasprintf("org.nrun.supervisor.%.*s", (int)(eq - kv - 2), kv + 2);
        json_object_set_new(ann, key, json_string(eq + 1));
    }
    health_from_image(ann, imgcfg);
    json_object_set_new(spec, "annotations", ann);

    if (spec_make_dirs(mk, err) < 0) {
        json_decref(spec);
        return -1;
    }
    *json_out = json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(spec);
    if (!*json_out)
        return nr_err_set(err, "config.json: cannot serialise");
    return 0;
}
