/* nrun run [OPTIONS] IMAGE [CMD...]: flags -> rt_run_opts, then create the
 * container and run it in the foreground or detached. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "builder/base.h"
#include "cli/cli.h"
#include "cli/run_int.h"
#include "runtime/supervisor/options.h"
#include "common/signal.h"
#include "common/util.h"
#include "images/image.h"
#include "images/ref.h"
#include "images/store.h"
#include "runtime/alert.h"
#include "runtime/create.h"
#include "runtime/events.h"
#include "runtime/net.h"
#include "runtime/runtime.h"
#include "runtime/spec_policy.h"
#include "runtime/supervisor/supervisor.h"

void run_push(char ***v, size_t *n, const char *s)
{
    *v = nr_xrealloc(*v, (*n + 2) * sizeof(char *));
    (*v)[(*n)++] = nr_xstrdup(s);
    (*v)[*n] = NULL;
}

/* An --env-file entry: after the other files' entries, before every -e,
 * whatever the order of the flags (docker's: -e wins over a file). */
static void push_file_env(rt_run_opts *o, size_t *nfile, const char *kv)
{
    run_push(&o->env, &o->nenv, kv);
    char *last = o->env[o->nenv - 1];
    memmove(o->env + *nfile + 1, o->env + *nfile, (o->nenv - 1 - *nfile) * sizeof *o->env);
    o->env[(*nfile)++] = last;
}

#define BLANKS " \t\n\v\f\r"

/* One line of an env file (line ending removed): VAR=VAL, VAL kept as it
 * is, or VAR alone for its value here (nothing when it is unset). */
static int env_line(rt_run_opts *o, size_t *nfile, const char *path, int ln, const char *line, nr_err *err)
{
    const char *p = line + strspn(line, BLANKS);
    if (!*p || *p == '#')
        return 0;
    size_t nlen = strcspn(p, "=");
    if (nlen == 0)
        return nr_err_set(err, "--env-file %s:%d: empty variable name", path, ln);
    if (strcspn(p, BLANKS) < nlen) /* "E2 = two", "export E6=x" */
        return nr_err_set(err, "--env-file %s:%d: variable name \"%.*s\" contains whitespace", path, ln, (int)nlen, p);
    if (p[nlen] == '=') {
        push_file_env(o, nfile, p);
    } else if (getenv(p)) {
        cleanup_free char *kv = nr_xasprintf("%s=%s", p, getenv(p));
        push_file_env(o, nfile, kv);
    }
    return 0;
}

/* The line files of run (--env-file, --label-file) as docker reads them:
 * lines of any length; CRLF endings taken; a regular file of at most 1 MiB
 * (more than exec passes to an app): /dev/zero, a FIFO or a directory is
 * refused before anything is read.  Each line, NUL-free valid UTF-8, goes to
 * fn with its number; `bom`: a UTF-8 byte order mark on line 1 is dropped. */
#define ENV_FILE_MAX (1u << 20)
typedef int (*line_fn)(void *arg, const char *path, int ln, char *line, nr_err *err);
static int line_file(const char *flag, const char *path, bool bom, line_fn fn, void *arg, nr_err *err)
{
    cleanup_free char *text = NULL;
    size_t len;
    if (nr_read_user_file(AT_FDCWD, path, flag, ENV_FILE_MAX, &text, &len, err) < 0)
        return -1;
    int ln = 0;
    for (char *line = text, *end = text + len; line < end;) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t l = nl ? (size_t)(nl - line) : (size_t)(end - line);
        char *next = nl ? nl + 1 : end;
        line[l] = 0;
        ln++;
        if (l > 0 && line[l - 1] == '\r')
            line[--l] = 0;
        char *t = line;
        if (bom && ln == 1 && !strncmp(t, "\xef\xbb\xbf", 3)) /* a UTF-8 byte order mark */
            t += 3, l -= 3;
        if (memchr(t, 0, l))
            return nr_err_set(err, "%s %s:%d: a NUL byte", flag, path, ln);
        if (!nr_utf8_valid(t))
            return nr_err_set(err, "%s %s:%d: not valid UTF-8", flag, path, ln);
        if (fn(arg, path, ln, t, err) < 0)
            return -1;
        line = next;
    }
    return 0;
}

typedef struct {
    rt_run_opts *o;
    size_t *nfile;
} env_file_arg;

static int env_file_line(void *arg, const char *path, int ln, char *line, nr_err *err)
{
    env_file_arg *a = arg;
    return env_line(a->o, a->nfile, path, ln, line, err);
}

/* --env-file: blank lines and # comments skipped, leading blanks ignored (env_line). */
static int env_file(rt_run_opts *o, size_t *nfile, const char *path, nr_err *err)
{
    env_file_arg a = {o, nfile};
    return line_file("--env-file", path, true, env_file_line, &a, err);
}

/* One --label K=V (K alone: an empty value, as docker) into *labels. */
static int label_add(json_t *labels, const char *kv, const char *where, nr_err *err)
{
    size_t klen = strcspn(kv, "=");
    if (klen == 0)
        return nr_err_set(err, "%s: empty label name", where);
    if (strcspn(kv, BLANKS) < klen)
        return nr_err_set(err, "%s: label name \"%.*s\" contains whitespace", where, (int)klen, kv);
    cleanup_free char *k = nr_xstrndup(kv, klen);
    json_object_set_new(labels, k, json_string(kv[klen] == '=' ? kv + klen + 1 : ""));
    return 0;
}

static int label_file_line(void *labels, const char *path, int ln, char *line, nr_err *err)
{
    const char *p = line + strspn(line, BLANKS);
    if (!*p || *p == '#')
        return 0;
    cleanup_free char *where = nr_xasprintf("--label-file %s:%d", path, ln);
    return label_add(labels, p, where, err);
}

/* --label-file: K=V lines (blank lines and # comments skipped). */
static int label_file(json_t *labels, const char *path, nr_err *err)
{
    return line_file("--label-file", path, false, label_file_line, labels, err);
}

/* --cpus: from 0.01 (the kernel's 1 ms quota floor) to the CPUs there are. */
static int parse_cpus(const char *s, rt_run_opts *o)
{
    char *end;
    double c = strtod(s, &end);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (*end || end == s || !(c >= 0.01) || c > (n > 0 ? n : 1024))
        return -1;
    o->cpu_period = 100000;
    o->cpu_quota = (long long)(c * 100000 + 0.5);
    return 0;
}

/* A cpu list (0-2,4) of CPUs this machine has. */
static bool cpuset_valid(const char *s)
{
    long max = sysconf(_SC_NPROCESSORS_CONF);
    if (!*s)
        return false;
    for (const char *p = s;;) {
        char *end;
        if (*p < '0' || *p > '9')
            return false;
        long a = strtol(p, &end, 10), b = a;
        if (*end == '-') {
            p = end + 1;
            if (*p < '0' || *p > '9')
                return false;
            b = strtol(p, &end, 10);
        }
        if (a > b || b >= max)
            return false;
        if (!*end)
            return true;
        if (*end != ',')
            return false;
        p = end + 1;
    }
}

int run_parse_ll(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s)
        return -1;
    *out = v;
    return 0;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void opts_free(rt_run_opts *o)
{
    strv_free(o->env, o->nenv);
    strv_free(o->volumes, o->nvolumes);
    strv_free(o->ports, o->nports);
    strv_free(o->net_aliases, o->nnet_aliases);
    strv_free(o->cap_add, o->ncap_add);
    strv_free(o->cap_drop, o->ncap_drop);
    strv_free(o->security_opt, o->nsecurity_opt);
    strv_free(o->extra_hosts, o->nextra_hosts);
    strv_free(o->dns, o->ndns);
    strv_free(o->dns_search, o->ndns_search);
    strv_free(o->dns_options, o->ndns_options);
    strv_free(o->expose, o->nexpose);
    strv_free(o->group_add, o->ngroup_add);
    strv_free(o->sv_opts, o->nsv_opts);
    strv_free(o->mounts, o->nmounts);
    strv_free(o->run_tmpfs, o->nrun_tmpfs);
    strv_free(o->ulimits, o->nulimits);
    strv_free(o->sysctls, o->nsysctls);
    strv_free(o->devices, o->ndevices);
}

/* A refused `nrun run` exits 125 as docker's does (2 is the app's to give). */
int run_usage_error(nr_global *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = nr_usage_verror(g, NR_EXIT_CMD, fmt, ap);
    va_end(ap);
    return r;
}

/* run's flags: also create's, and the overrides nrun deploy takes (cli/deploy.c) */
enum {
    O_NAME = NR_OPT_LONG, O_CIDFILE, O_ENVFILE, O_ENTRYPOINT, O_RESTART, O_CPUS, O_PIDS, O_CPUSET, O_NET,
    O_NETALIAS, O_IP, O_IP6, O_PUBALL, O_CAPADD, O_CAPDROP, O_SECOPT, O_WORKERS, O_BALANCE, O_MODE, O_RM, O_READONLY,
    O_ALERT, O_ALERT_EXEC, O_ALERT_WEBHOOK, O_ALERT_RENOTIFY,
    O_LABEL, O_LABELFILE,
    /* docker's mount and limit flags (runtime/spec_flags.c) */
    O_MOUNT, O_TMPFS, O_SHMSIZE, O_ULIMIT, O_SYSCTL, O_PRIVILEGED, O_DEVICE,
};
static const nr_opt run_opts[] = {
    {"detach", 'd', no_argument, NULL, "run in the background, print the id"},
    {"interactive", 'i', no_argument, NULL,
     "the app reads this stdin (cluster: worker 1); else /dev/null.  -i N / -i max: --workers, as pm2's"},
    {"tty", 't', no_argument, NULL, "a pty (minimal init, no supervisor); with -d: nrun attach reaches it"},
    {"name", O_NAME, required_argument, "NAME", "unique name, also the hostname"},
    {"rm", O_RM, no_argument, NULL, "remove the container when it exits"},
    {"env", 'e', required_argument, "K=V", "set an environment variable (-e K: the caller's value)"},
    {"env-file", O_ENVFILE, required_argument, "FILE", "read K=V lines"},
    {"label", O_LABEL, required_argument, "K=V", "set a label on the container (over the image's)"},
    {"label-file", O_LABELFILE, required_argument, "FILE", "read K=V label lines"},
    {"workdir", 'w', required_argument, "DIR", "working directory inside the container"},
    {"entrypoint", O_ENTRYPOINT, required_argument, "CMD", "replace the image's ENTRYPOINT"},
    {"user", 'u', required_argument, "USER[:GROUP]", "run as this user of the image"},
    {"restart", O_RESTART, required_argument, "POLICY", "no, on-failure[:N], always or unless-stopped"},
    {"cidfile", O_CIDFILE, required_argument, "FILE", "write the container id to FILE"},
    {"memory", 'm', required_argument, "SIZE", "memory limit"},
    {"cpus", O_CPUS, required_argument, "N", "CPU limit"},
    {"pids-limit", O_PIDS, required_argument, "N", "process limit"},
    {"cpuset-cpus", O_CPUSET, required_argument, "LIST", "CPUs allowed (0-2,4)"},
    {"read-only", O_READONLY, no_argument, NULL, "read-only root filesystem"},
    {"volume", 'v', required_argument, "SRC:DST[:ro]", "HOST:CTR[:ro], NAME:CTR or CTR"},
    {"publish", 'p', required_argument, "[IP:][HOST:]CTR[/udp]", "publish a port or range (no HOST: any free one)"},
    {"publish-all", 'P', no_argument, NULL, "publish every EXPOSEd port on a free host port"},
    {"network", O_NET, required_argument, "NET",
     "bridge (default; also private), a network's name, none, host or container:NAME (also --net)"},
    {"net", O_NET, required_argument, "NET", "same as --network"},
    {"network-alias", O_NETALIAS, required_argument, "NAME", "another name on a user network (also --net-alias)"},
    {"net-alias", O_NETALIAS, required_argument, "NAME", "same as --network-alias"},
    {"ip", O_IP, required_argument, "IPv4", "this address on a user network (in its subnet, not taken)"},
    {"ip6", O_IP6, required_argument, "IPv6", "refused: nrun's networks are IPv4"},
    {"hostname", 'h', required_argument, "NAME", "the container's host name"},
    {"cap-add", O_CAPADD, required_argument, "CAP", "add a capability"},
    {"cap-drop", O_CAPDROP, required_argument, "CAP", "drop a capability"},
    {"security-opt", O_SECOPT, required_argument, "OPT", "seccomp=unconfined|PROFILE.json, no-new-privileges"},
    {"workers", O_WORKERS, required_argument, "N|max", "supervisor: number of workers (0: by the CPU quota, max: one per CPU)"},
    {"balance", O_BALANCE, required_argument, "rr|leastconn|sticky",
     "supervisor: connection hand-off (sticky: by client address)"},
    {"mode", O_MODE, required_argument, "auto|cluster|single", "supervisor: cluster or a single process"},
    {"alert", O_ALERT, required_argument, "RULE",
     "with -d: restarts>N/T, mem>P%, lag_p99>Tms, http_5xx>P%/T, unhealthy, hang, oom (repeatable)"},
    {"alert-exec", O_ALERT_EXEC, required_argument, "CMD", "run CMD (sh -c, on the host) with the event as JSON on stdin"},
    {"alert-webhook", O_ALERT_WEBHOOK, required_argument, "URL", "POST the event as JSON to URL (retried)"},
    {"alert-renotify", O_ALERT_RENOTIFY, required_argument, "T", "repeat a firing alert every T (default 1h)"},
    /* docker's mount and limit flags (runtime/spec_flags.c) */
    {"mount", O_MOUNT, required_argument, "type=bind|volume|tmpfs,...",
     "src=,dst=[,readonly][,volume-nocopy][,tmpfs-size=,tmpfs-mode=]: as -v, or a tmpfs"},
    {"tmpfs", O_TMPFS, required_argument, "DST[:OPTS]", "a tmpfs (noexec,nosuid,nodev; size=, mode=, exec, ro...)"},
    {"shm-size", O_SHMSIZE, required_argument, "SIZE", "size of /dev/shm (default 64m)"},
    {"ulimit", O_ULIMIT, required_argument, "NAME=SOFT[:HARD]", "a resource limit (nofile, nproc, core, memlock...)"},
    {"sysctl", O_SYSCTL, required_argument, "K=V", "a namespaced kernel parameter (net.*, kernel.shm*, kernel.msg*, "
                                                   "kernel.sem, fs.mqueue.*)"},
    {"device", O_DEVICE, required_argument, "HOST[:CTR][:PERMS]", "a char or block device in /dev (PERMS: of rwm)"},
    {"privileged", O_PRIVILEGED, no_argument, NULL, "not supported: refused (use --cap-add, --device, --security-opt)"},
    /* ---- docker run compatibility: names, DNS, init, pull, groups, OOM, cgroup v1 knobs, logs, namespaces ---- */
    {"add-host", O_DK_ADDHOST, required_argument, "NAME:IP", "a line in /etc/hosts (also NAME=IP; IP may be host-gateway)"},
    {"dns", O_DK_DNS, required_argument, "IP", "a nameserver in /etc/resolv.conf (repeatable)"},
    {"dns-search", O_DK_DNSSEARCH, required_argument, "DOMAIN", "a search domain in /etc/resolv.conf (repeatable)"},
    {"dns-option", O_DK_DNSOPT, required_argument, "OPT", "an option in /etc/resolv.conf (repeatable; also --dns-opt)"},
    {"dns-opt", O_DK_DNSOPT, required_argument, "OPT", "same as --dns-option"},
    {"domainname", O_DK_DOMAIN, required_argument, "NAME", "the container's NIS domain name"},
    {"init", O_DK_INIT, no_argument, NULL,
     "accepted: PID 1 is always nrun-init, which reaps zombies and forwards signals"},
    {"stop-signal", O_DK_STOPSIG, required_argument, "SIG", "the signal nrun stop sends first (over the image's)"},
    {"pull", O_DK_PULL, required_argument, "always|missing|never",
     "always: pull from the registry first; missing: pull it (or make a base image nrun makes) when the store "
     "lacks it; never: the store's (the default: nrun run fetches nothing by itself)"},
    {"platform", O_DK_PLATFORM, required_argument, "PLATFORM", "only this machine's (linux/amd64 here)"},
    {"expose", O_DK_EXPOSE, required_argument, "PORT[/proto]", "expose a port or range (for -P)"},
    {"group-add", O_DK_GROUPADD, required_argument, "GROUP", "a supplementary group (GID, or a name of the image's /etc/group)"},
    {"oom-score-adj", O_DK_OOMADJ, required_argument, "N", "the OOM score adjustment, -1000..1000"},
    {"cpu-shares", 'c', required_argument, "N", "CPU weight relative to others (cpu.shares, 2..262144)"},
    {"memory-swap", O_DK_MEMSWAP, required_argument, "SIZE", "memory plus swap limit (-1: unlimited); needs --memory"},
    {"memory-reservation", O_DK_MEMRES, required_argument, "SIZE", "soft memory limit"},
    {"log-driver", O_DK_LOGDRV, required_argument, "json-file|local", "the log nrun keeps (its own JSON lines, rotated)"},
    {"log-opt", O_DK_LOGOPT, required_argument, "K=V", "max-size=SIZE, max-file=N (--log-max-size, --log-max-files)"},
    {"quiet", 'q', no_argument, NULL, "no pull progress"},
    {"pid", O_DK_PID, required_argument, "MODE", "refused but for the default: a PID namespace of its own"},
    {"ipc", O_DK_IPC, required_argument, "MODE", "private or shareable (the default); host and container: refused"},
    {"userns", O_DK_USERNS, required_argument, "MODE", "host (the default: no remapping); others refused"},
    {"cgroupns", O_DK_CGROUPNS, required_argument, "MODE", "private (the default); host refused"},
    {"uts", O_DK_UTS, required_argument, "MODE", "refused but for the default: a UTS namespace of its own"},
    {"volumes-from", O_DK_VOLFROM, required_argument, "CONTAINER[:ro|:rw]",
     "the volumes and binds of CONTAINER, at its paths (repeatable)"},
    {"link", O_DK_LINK, required_argument, "CONTAINER[:ALIAS]",
     "CONTAINER's address on this network in /etc/hosts, by its name and ALIAS (legacy docker links)"},
    {0},
};

const nr_opt *nr_run_opts(void)
{
    static nr_opt all[256];
    if (!all[0].name)
        nr_opts_with_sv(run_opts, all, NR_ARRAY_LEN(all));
    return all;
}

typedef enum { RUN_START, RUN_CREATE, RUN_CHECK } run_mode;
static int run_main(int argc, char **argv, nr_global *g, rt_run_opts *op, run_mode mode);

/* for the monitor's alerts and health events: PID 1's counters and health,
 * through the one checked control-socket client (peer credentials) */
char *nr_monitor_stats(const char *root, const char *id)
{
    nr_global g = {.root = root, .prog = "nrun"};
    nr_err e = {0};
    return sv_control_call(&g, id, NULL, "{\"cmd\":\"stats\"}", 1000, &e);
}

static bool some_sv_opt(const rt_run_opts *op, const char *prefix)
{
    for (size_t k = 0; k < op->nsv_opts; k++)
        if (!strncmp(op->sv_opts[k], prefix, strlen(prefix)))
            return true;
    return false;
}

int nr_cmd_run(int argc, char **argv, nr_global *g)
{
    rt_run_opts o = {.net = RT_NET_DEFAULT};
    int r = run_main(argc, argv, g, &o, RUN_START);
    opts_free(&o);
    return r;
}

/* `nrun create`: run's options, the container made and not started. */
int nr_cmd_create(int argc, char **argv, nr_global *g)
{
    rt_run_opts o = {.net = RT_NET_DEFAULT};
    int r = run_main(argc, argv, g, &o, RUN_CREATE);
    opts_free(&o);
    return r;
}

/* run.json in the container's dir: the flags of run/create that are not in
 * config.json and that `nrun start` needs again (docker's HostConfig part). */
json_t *run_strv_json(char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}


static void run_params_save(nr_global *g, const char *id, const char *restart, bool interactive, bool tty,
                            json_t *config, const char *image_id, char **args, size_t nargs)
{
    cleanup_free char *dir = rt_ctr_dir(g->root, id);
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    json_t *j = json_pack("{s:s, s:b, s:b, s:s, s:o}", "restart", restart ? restart : "no", "interactive", interactive,
                          "tty", tty, "image_id", image_id, "config", config);
    /* the flags as given, for `nrun deploy` to start the next revision alike */
    json_object_set_new(j, "args", run_strv_json(args, nargs));
    /* where relative paths in them (--env-file FILE) point: deploy may run elsewhere */
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd))
        json_object_set_new(j, "cwd", json_string(cwd));
    char *text = json_dumps(j, JSON_COMPACT);
    nr_err ign;
    if (dfd >= 0 && text)
        rt_write_file(dfd, "run.json", text, 0600, &ign);
    free(text);
    json_decref(j);
}

int nr_run_params_load(nr_global *g, const char *id, rt_run_params *rp, nr_err *err)
{
    memset(rp, 0, sizeof *rp);
    cleanup_free char *path = nr_xasprintf("%s/containers/%s/run.json", g->root, id);
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
    const char *restart = json_string_value(json_object_get(j, "restart"));
    int r = rt_restart_parse(restart ? restart : "no", &rp->restart, err);
    rp->tty = json_is_true(json_object_get(j, "tty"));
    json_decref(j);
    return r;
}

/* run's flags checked as run checks them, nothing made (nrun deploy's overrides) */
int nr_run_flags_check(int argc, char **argv, nr_global *g)
{
    rt_run_opts o = {.net = RT_NET_DEFAULT};
    int r = run_main(argc, argv, g, &o, RUN_CHECK);
    opts_free(&o);
    return r;
}

static bool run_image_present(nr_global *g, const char *image)
{
    img_store *s;
    img_image *img = NULL;
    nr_err e;
    if (img_store_open(g->root, &s, &e) < 0)
        return true; /* the create below says why */
    bool have = img_image_load(s, image, &img, &e) == 0;
    img_image_free(img);
    img_store_close(s);
    return have;
}

/* --pull missing of a base nrun makes (node:20, redis:7-alpine): made as
 * `nrun base` makes it, and tagged with the name given too */
static int run_make_base(nr_global *g, const char *image, const char *norm)
{
    img_store *s;
    nr_err err;
    if (img_store_open(g->root, &s, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_CMD);
    int r = bld_base_ensure(s, norm, &err);
    img_image *img = NULL;
    if (r == 0 && strcmp(norm, image) && img_image_load(s, norm, &img, &err) == 0)
        r = img_tag_set(s, image, img_image_top(img), &err); /* docker.io/library/node:20 */
    else if (r == 0 && strcmp(norm, image))
        r = -1;
    img_image_free(img);
    img_store_close(s);
    return r == 0 ? 0 : nr_err_report(&err, g->prog, NR_EXIT_CMD);
}

/* nrun run pulls nothing by itself: a missing image's error says what gives it */
static void run_missing_hint(const char *image, nr_err *err)
{
    char norm[IMG_NAME_MAX + IMG_TAG_MAX + 2];
    cleanup_free char *m = nr_xstrdup(err->msg);
    if (nr_base_makes(image, norm, sizeof norm))
        nr_err_set(err, "%s (nrun makes it from pinned packages: nrun base %s)", m, norm);
    else
        nr_err_set(err, "%s (nrun run pulls nothing by itself: nrun pull %s, or run --pull always)", m, image);
    err->errnum = ENOENT;
}

static int run_main(int argc, char **argv, nr_global *g, rt_run_opts *op, run_mode mode)
{
    bool create_only = mode == RUN_CREATE;
    rt_timing("start");
    __attribute__((cleanup(json_decrefp))) json_t *labels = json_object();
    rt_run_params rp = {0};
    static rt_alerts alerts; /* lives as long as the detached monitor */
    rt_alerts_init(&alerts);
    const char *restart = NULL, *cidfile = NULL;
    size_t nfile_env = 0; /* op->env starts with this many --env-file entries */
    cleanup_free char *join_spec = NULL;
    nr_err err = {0};
    dk_flags dk = {0};
    /* everything given here ends up in config.json, which is JSON: UTF-8 */
    for (int k = 1; k < argc; k++)
        if (!nr_utf8_valid(argv[k])) {
            fprintf(stderr, "nrun: argument %d is not valid UTF-8\n", k);
            return NR_EXIT_CMD;
        }
    static nr_cmdspec spec = {"run [OPTIONS] IMAGE [CMD...]", "Create and start a container from an image.", NULL, false};
    static nr_cmdspec create_spec = {"create [OPTIONS] IMAGE [CMD...]",
                                     "Create a container from an image without starting it (nrun start starts it); "
                                     "the options of nrun run.", NULL, false};
    spec.opts = create_spec.opts = nr_run_opts();
    nr_opt_exact(&spec);
    nr_opt_exact(&create_spec);
    int oc;
    while ((oc = nr_opt_next(create_only ? &create_spec : &spec, argc, argv, g)) != -1) {
        const char *val = optarg;
        int c = oc;
        if (c >= NR_OPT_SV) {
            const char *n = nr_sv_opt_name(c);
            if (sv_opt_arity(n) == 0) {
                cleanup_free char *kv = nr_xasprintf("%s=true", n);
                run_push(&op->sv_opts, &op->nsv_opts, kv);
                continue;
            }
            sv_config probe;
            sv_config_init(&probe);
            int bad = sv_opt_apply(&probe, n, val, &err);
            sv_config_fini(&probe);
            if (bad < 0)
                return run_usage_error(g, "run: %s", err.msg);
            cleanup_free char *kv = nr_xasprintf("%s=%s", n, val);
            run_push(&op->sv_opts, &op->nsv_opts, kv);
            continue;
        }
        switch (c) {
        case 'd': rp.detach = true; break;
        case O_ALERT:
            if (rt_alert_parse(&alerts, val, &err) < 0)
                return run_usage_error(g, "run: %s", err.msg);
            break;
        case O_ALERT_EXEC:
            if (!*val)
                return run_usage_error(g, "run: --alert-exec: empty command");
            alerts.exec_cmd = val;
            break;
        case O_ALERT_WEBHOOK:
            if (strncmp(val, "http://", 7) && strncmp(val, "https://", 8))
                return run_usage_error(g, "run: --alert-webhook %s: expected an http:// or https:// URL", val);
            alerts.webhook = val;
            break;
        case O_ALERT_RENOTIFY:
            if (sv_parse_duration_ms(val, &alerts.renotify_ms) < 0 || alerts.renotify_ms <= 0)
                return run_usage_error(g, "run: --alert-renotify %s: expected a duration like 10m", val);
            break;
        case 'i':
            /* pm2's -i N / -i max (workers) when a count follows; else docker's -i */
            if (optind < argc && (!strcmp(argv[optind], "max") ||
                                  (argv[optind][0] >= '0' && argv[optind][0] <= '9' &&
                                   strspn(argv[optind], "0123456789") == strlen(argv[optind])))) {
                long long w = !strcmp(argv[optind], "max") ? sysconf(_SC_NPROCESSORS_ONLN) : atoll(argv[optind]);
                if (w > 1024)
                    return run_usage_error(g, "run: -i %s: expected 0..1024 or max", argv[optind]);
                op->workers = (int)w;
                optind++;
                break;
            }
            rp.interactive = true;
            break;
        case 't': op->tty = true; break;
        case O_RM: rp.rm = true; break;
        case O_READONLY: op->read_only = true; break;
        case O_NAME: op->name = val; break;
        case O_CIDFILE: cidfile = val; break;
        case 'e':
            if (*val == '=' || !*val)
                return run_usage_error(g, "run: -e %s: empty variable name", val);
            if (!strchr(val, '=')) {
                const char *v = getenv(val);
                if (v) {
                    cleanup_free char *kv = nr_xasprintf("%s=%s", val, v);
                    run_push(&op->env, &op->nenv, kv);
                }
            } else {
                run_push(&op->env, &op->nenv, val);
            }
            break;
        case O_ENVFILE:
            if (env_file(op, &nfile_env, val, &err) < 0)
                return nr_err_report(&err, g->prog, NR_EXIT_CMD);
            break;
        case O_LABEL: {
            cleanup_free char *where = nr_xasprintf("run: --label %s", val);
            if (label_add(labels, val, where, &err) < 0)
                return nr_err_report(&err, g->prog, NR_EXIT_CMD);
            break;
        }
        case O_LABELFILE:
            if (label_file(labels, val, &err) < 0)
                return nr_err_report(&err, g->prog, NR_EXIT_CMD);
            break;
        case 'w': op->workdir = val; break;
        case O_ENTRYPOINT: op->entrypoint = val; op->entrypoint_set = true; break;
        case O_RESTART: restart = val; break;
        case 'u': op->user = val; break;
        case 'm': {
            unsigned long long v;
            if (nr_parse_size(val, &v) < 0 || v < 4 * 1024 * 1024)
                return run_usage_error(g, "run: --memory %s: expected a size of at least 4m", val);
            op->memory = (long long)v;
            break;
        }
        case O_CPUS:
            if (parse_cpus(val, op) < 0)
                return run_usage_error(g, "run: --cpus %s: expected a number from 0.01 to %ld (the CPUs there are)",
                                      val, sysconf(_SC_NPROCESSORS_ONLN));
            break;
        case O_PIDS:
            if (run_parse_ll(val, &op->pids_limit) < 0)
                return run_usage_error(g, "run: --pids-limit %s: expected a number", val);
            break;
        case O_CPUSET:
            if (!cpuset_valid(val))
                return run_usage_error(g, "run: --cpuset-cpus %s: expected a list like 0-2,4 of CPUs 0-%ld", val,
                                      sysconf(_SC_NPROCESSORS_CONF) - 1);
            op->cpuset = val;
            break;
        case 'v': run_push(&op->volumes, &op->nvolumes, val); break;
        case 'p': run_push(&op->ports, &op->nports, val); break;
        case O_NET:
            if (!strncmp(val, "container:", 10)) {
                char cid[65];
                if (rt_container_find(g->root, val + 10, cid, &err) < 0)
                    return run_usage_error(g, "run: --network %s: %s", val, err.msg);
                free(join_spec);
                join_spec = nr_xasprintf("container:%s", cid);
                op->net = join_spec;
                break;
            }
            op->net = !strcmp(val, "private") || !strcmp(val, "default") ? RT_NET_DEFAULT : val;
            if (strcmp(op->net, "host") && strcmp(op->net, "none") && strcmp(op->net, RT_NET_DEFAULT) &&
                !rt_net_name_valid(op->net))
                return run_usage_error(g, "run: --network %s: expected bridge, host, none or a network's name", val);
            break;
        case O_NETALIAS:
            if (!rt_net_alias_valid(val)) {
                cleanup_free char *e = nr_escape_controls(val);
                return run_usage_error(g, "run: --network-alias %s: " RT_NET_ALIAS_RULE, e);
            }
            run_push(&op->net_aliases, &op->nnet_aliases, val);
            break;
        case O_IP: {
            struct in_addr a4;
            if (inet_pton(AF_INET, val, &a4) != 1) {
                cleanup_free char *e = nr_escape_controls(val);
                return run_usage_error(g, "run: --ip %s: not an IPv4 address", e);
            }
            op->ip = val;
            break;
        }
        case O_IP6: return run_usage_error(g, "run: --ip6: nrun's networks are IPv4 only");
        case 'P': op->publish_all = true; break;
        case 'h': op->hostname = val; break;
        case O_CAPADD: run_push(&op->cap_add, &op->ncap_add, val); break;
        case O_CAPDROP: run_push(&op->cap_drop, &op->ncap_drop, val); break;
        case O_SECOPT: run_push(&op->security_opt, &op->nsecurity_opt, val); break;
        case O_WORKERS: {
            long long w;
            if (!strcmp(val, "max")) /* pm2's word: one per CPU */
                w = sysconf(_SC_NPROCESSORS_ONLN);
            else if (run_parse_ll(val, &w) < 0 || w < 0 || w > 1024)
                return run_usage_error(g, "run: --workers %s: expected 0..1024 or max", val);
            op->workers = (int)w;
            break;
        }
        case O_BALANCE:
            if (strcmp(val, "rr") && strcmp(val, "leastconn") && strcmp(val, "sticky"))
                return run_usage_error(g, "run: --balance %s: expected rr, leastconn or sticky", val);
            op->balance = !strcmp(val, "leastconn") ? 1 : !strcmp(val, "sticky") ? 2 : 0;
            break;
        case O_MODE:
            if (strcmp(val, "auto") && strcmp(val, "cluster") && strcmp(val, "single"))
                return run_usage_error(g, "run: --mode %s: expected auto, cluster or single", val);
            op->mode = !strcmp(val, "cluster") ? 1 : !strcmp(val, "single") ? 2 : 0;
            break;
        /* docker's mount and limit flags (runtime/spec_flags.c) */
        case O_MOUNT: run_push(&op->mounts, &op->nmounts, val); break;
        case O_TMPFS: run_push(&op->run_tmpfs, &op->nrun_tmpfs, val); break;
        case O_SHMSIZE: {
            unsigned long long v;
            if (nr_parse_size(val, &v) < 0 || v == 0 || v > (1ULL << 40))
                return run_usage_error(g, "run: --shm-size %s: expected a size like 64m (b, k, m, g)", val);
            op->shm_size = (long long)v;
            break;
        }
        case O_ULIMIT: {
            const char *rname;
            unsigned long long soft, hard;
            if (rt_ulimit_parse(val, &rname, &soft, &hard, &err) < 0)
                return run_usage_error(g, "run: %s", err.msg);
            run_push(&op->ulimits, &op->nulimits, val);
            break;
        }
        case O_SYSCTL:
            if (!strchr(val, '='))
                return run_usage_error(g, "run: --sysctl %s: expected K=V", val);
            run_push(&op->sysctls, &op->nsysctls, val);
            break;
        case O_DEVICE: run_push(&op->devices, &op->ndevices, val); break;
        case O_PRIVILEGED:
            return run_usage_error(g, "run: --privileged is not supported (it would give every capability and device): "
                                      "add what the app needs with --cap-add CAP, --device PATH or --security-opt "
                                      "seccomp=PROFILE");
        case O_DK_ADDHOST ... O_DK_LINK:
        case 'c':
        case 'q': {
            int r = run_docker_flag(g, c, val, op, &dk);
            if (r)
                return r;
            break;
        }
        case NR_OPT_HELP: return 0;
        default: return NR_EXIT_CMD; /* refused as docker does: 125 */
        }
    }
    int i = optind;
    if (i >= argc)
        return run_usage_error(g, "run: which image? (nrun run [OPTIONS] IMAGE [CMD...])");
    int dr = run_docker_flags_finish(g, op, &dk);
    strv_free(dk.volumes_from, dk.nvolumes_from);
    strv_free(dk.links, dk.nlinks);
    if (dr)
        return dr;
    bool no_hc = false, some_hc = false;
    for (size_t k = 0; k < op->nsv_opts; k++) {
        no_hc |= !strncmp(op->sv_opts[k], "--no-healthcheck=", 17);
        some_hc |= !strncmp(op->sv_opts[k], "--health-", 9);
    }
    if (no_hc && some_hc)
        return run_usage_error(g, "run: --no-healthcheck conflicts with --health-* options");
    if (alerts.n || alerts.exec_cmd || alerts.webhook) {
        if (!rp.detach)
            return run_usage_error(g, "run: --alert needs -d (the detached container's monitor delivers alerts)");
        if (!alerts.n)
            return run_usage_error(g, "run: --alert-exec/--alert-webhook without an --alert RULE");
        if (!alerts.exec_cmd && !alerts.webhook)
            return run_usage_error(g, "run: --alert needs --alert-exec CMD or --alert-webhook URL");
        /* a hang alert comes with the hung worker's stack in the log */
        if (rt_alerts_want_hang(&alerts) && !some_sv_opt(op, "--hang-report="))
            run_push(&op->sv_opts, &op->nsv_opts, "--hang-report=true");
    }
    /* the monitor (-d: the detached one; else this process) polls PID 1:
     * the rules, and health_status events */
    rp.alerts = &alerts;
    alerts.stats = nr_monitor_stats;
    const char *image = argv[i++];
    op->cmd = argv + i;
    op->ncmd = (size_t)(argc - i);
    /* -dt (and create -t): the pty is held by the container's monitor, which
     * serves it to `nrun attach` (runtime/attach.c), as docker keeps it */
    rp.tty = op->tty;
    if (rt_restart_parse(restart, &rp.restart, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_CMD);
    if (rp.rm && rp.restart.policy != RT_RESTART_NO)
        return run_usage_error(g, "run: --rm and --restart cannot be combined");
    op->ephemeral = rp.rm;
    /* --sysctl: the key against the network mode, now that both are known */
    bool own_netns = strcmp(op->net, "host") && strncmp(op->net, "container:", 10);
    for (size_t k = 0; k < op->nsysctls; k++) {
        cleanup_free char *key = nr_xstrndup(op->sysctls[k], strcspn(op->sysctls[k], "="));
        const char *why = rt_sysctl_refused(key, own_netns);
        if (why)
            return run_usage_error(g, "run: --sysctl %s: %s", op->sysctls[k], why);
    }

    if (strcmp(op->net, "host") && strcmp(op->net, "none") && strcmp(op->net, RT_NET_DEFAULT) &&
        strncmp(op->net, "container:", 10) && rt_net_exists(g->root, op->net, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_CMD);
    if (mode == RUN_CHECK) {
        /* the -v and --mount flags too, as creating the container checks them (deploy's and compose's checks) */
        if (rt_spec_volumes_check(op, g->root, &err) < 0)
            return nr_err_report(&err, g->prog, NR_EXIT_CMD);
        return 0;
    }
    /* --pull always: from the registry first; missing: when the store lacks
     * it, pulled, or made if nrun base makes it (as compose's pull); never,
     * and no --pull: the store's (nrun run fetches nothing by itself: "no
     * such image" when absent, saying what gives it) */
    if (dk.pull && !strcmp(dk.pull, "always")) {
        int pr = nr_pull_for_run(g, image, dk.quiet);
        if (pr)
            return pr;
    }
    if (dk.pull && !strcmp(dk.pull, "missing") && !run_image_present(g, image)) {
        char norm[IMG_NAME_MAX + IMG_TAG_MAX + 2];
        int pr = nr_base_makes(image, norm, sizeof norm) ? run_make_base(g, image, norm)
                                                         : nr_pull_for_run(g, image, dk.quiet);
        if (pr)
            return pr;
    }
    img_store *store;
    if (img_store_open(g->root, &store, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_CMD);
    rt_created c;
    rt_timing("store open");
    int r = rt_container_create(store, g->root, image, op, &c, &err);
    char image_id[IMG_DIGEST_MAX];
    json_t *dconf = r < 0 ? NULL : run_docker_config(store, image, op, labels, image_id, sizeof image_id);
    img_store_close(store);
    if (r < 0 && err.errnum == ENOENT && !strncmp(err.msg, "no such image: ", 15))
        run_missing_hint(image, &err);
    if (r < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_CMD);
    rt_timing("created");
    if (cidfile) {
        FILE *f = fopen(cidfile, "wx");
        if (!f || fprintf(f, "%s", c.id) < 0 || fclose(f) != 0) {
            nr_err_sys(&err, errno, "--cidfile %s", cidfile);
            nr_err ign;
            rt_container_remove(g->root, c.id, &ign);
            json_decref(dconf);
            return nr_err_report(&err, g->prog, NR_EXIT_CMD);
        }
    }
    if (g->debug)
        fprintf(stderr, "nrun: container %s (%zu layers unpacked)\n", c.id, c.layers_extracted);
    free(c.name);
    run_params_save(g, c.id, restart, rp.interactive, op->tty, dconf, image_id, argv + 1, (size_t)(optind - 1));
    rt_event_container(g->root, "create", c.id, NULL, NULL);
    if (create_only) {
        printf("%s\n", c.id);
        return 0;
    }
    if (rp.detach) {
        if (rt_run_detached(g->root, c.id, &rp, &err) < 0) {
            nr_err ign;
            rt_container_remove(g->root, c.id, &ign);
            return nr_err_report(&err, g->prog, NR_EXIT_CMD);
        }
        printf("%s\n", c.id);
        return 0;
    }
    int code = rt_run_foreground(g->root, c.id, &rp, &err);
    if (code < 0) {
        nr_err ign;
        if (!rp.rm)
            rt_container_remove(g->root, c.id, &ign);
        return nr_err_report(&err, g->prog, NR_EXIT_CMD);
    }
    return code;
}
