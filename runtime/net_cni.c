/* Running a CNI network configuration list, as the CNI spec describes it
 * (and libcni does): ADD runs the plugins in order, each given the previous
 * one's result as "prevResult"; DEL runs them in reverse with the cached ADD
 * result; a plugin whose "capabilities" name a runtime config key gets that
 * key under "runtimeConfig".  A plugin is a program found by its "type" in
 * CNI_PATH; what it prints is hostile input: bounded, parsed, checked. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/util.h"
#include "runtime/net.h"

#define CNI_OUT_MAX (1 << 20)
#define CNI_TIMEOUT_MS 60000

static const char *cni_path(void)
{
    const char *p = getenv("NRUN_CNI_PATH");
    return p && *p ? p : "/usr/lib/cni:/usr/libexec/cni:/opt/cni/bin";
}

static bool type_valid(const char *t)
{
    if (!*t || *t == '.' || strlen(t) > 64)
        return false;
    for (const char *c = t; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("_.-", *c)))
            return false;
    return true;
}

static char *plugin_find(const char *type, nr_err *err)
{
    if (!type_valid(type))
        return nr_err_set(err, "CNI plugin type \"%s\" is not a plain program name", type), NULL;
    cleanup_free char *path = nr_xstrdup(cni_path());
    char *save = NULL;
    for (char *d = strtok_r(path, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char *f = nr_xasprintf("%s/%s", d, type);
        struct stat st;
        if (stat(f, &st) == 0 && S_ISREG(st.st_mode) && access(f, X_OK) == 0)
            return f;
        free(f);
    }
    return nr_err_set(err, "CNI plugin \"%s\" not found in %s (package containernetworking-plugins)", type, cni_path()),
           NULL;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Run one plugin: config on stdin, stdout and stderr collected (bounded). */
static int plugin_exec(const char *prog, const char *cmd, const rt_cni_call *c, const char *conf, char **out,
                       char **errtext, int *status, nr_err *err)
{
    int in[2], o[2], e[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return nr_err_sys(err, errno, "pipe");
    if (pipe2(o, O_CLOEXEC) < 0) {
        close(in[0]), close(in[1]);
        return nr_err_sys(err, errno, "pipe");
    }
    if (pipe2(e, O_CLOEXEC) < 0) {
        close(in[0]), close(in[1]), close(o[0]), close(o[1]);
        return nr_err_sys(err, errno, "pipe");
    }
    char *env[] = {
        nr_xasprintf("CNI_COMMAND=%s", cmd),
        nr_xasprintf("CNI_CONTAINERID=%s", c->container_id),
        nr_xasprintf("CNI_NETNS=%s", c->netns ? c->netns : ""),
        nr_xasprintf("CNI_IFNAME=%s", c->ifname),
        nr_xasprintf("CNI_PATH=%s", cni_path()),
        nr_xasprintf("CNI_ARGS=%s", c->args ? c->args : ""),
        nr_xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        NULL,
    };
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (dup2(in[0], 0) < 0 || dup2(o[1], 1) < 0 || dup2(e[1], 2) < 0)
            _exit(127);
        syscall(SYS_close_range, 3, ~0U, 0);
        char *argv[] = {(char *)prog, NULL};
        execve(prog, argv, env);
        _exit(127);
    }
    for (char **p = env; *p; p++)
        free(*p);
    close(in[0]), close(o[1]), close(e[1]);
    if (pid < 0) {
        close(in[1]), close(o[0]), close(e[0]);
        return nr_err_sys(err, errno, "fork");
    }
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    nr_write_all(in[1], conf, strlen(conf)); /* a plugin that reads nothing fails on its own */
    close(in[1]);
    signal(SIGPIPE, old);
    nr_buf bo = {0}, be = {0};
    struct pollfd pf[2] = {{.fd = o[0], .events = POLLIN}, {.fd = e[0], .events = POLLIN}};
    long long deadline = now_ms() + CNI_TIMEOUT_MS;
    int open_n = 2;
    bool timeout = false, toobig = false;
    while (open_n > 0) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            timeout = true;
            break;
        }
        int r = poll(pf, 2, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        for (int i = 0; i < 2; i++) {
            if (pf[i].fd < 0 || !pf[i].revents)
                continue;
            char buf[8192];
            ssize_t n = read(pf[i].fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                close(pf[i].fd);
                pf[i].fd = -1;
                open_n--;
                continue;
            }
            nr_buf *b = i ? &be : &bo;
            if (b->len + (size_t)n > CNI_OUT_MAX) {
                toobig = true;
                open_n = 0;
                break;
            }
            nr_buf_add(b, buf, (size_t)n);
        }
    }
    for (int i = 0; i < 2; i++)
        if (pf[i].fd >= 0)
            close(pf[i].fd);
    if (timeout || toobig)
        kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    nr_buf_add(&bo, "", 1);
    nr_buf_add(&be, "", 1);
    if (timeout || toobig) {
        nr_buf_free(&bo);
        nr_buf_free(&be);
        return nr_err_set(err, "%s %s: %s", prog, cmd,
                          timeout ? "no answer within 60 s (killed)" : "more than 1 MiB of output (killed)");
    }
    *out = (char *)bo.data;
    *errtext = (char *)be.data;
    *status = st;
    return 0;
}

/* A plugin's message, one line, no control characters. */
static char *one_line(const char *s, size_t max)
{
    char *t = nr_escape_controls(s ? s : "");
    if (strlen(t) > max)
        strcpy(t + max - 3, "...");
    return t;
}

static int plugin_run(const json_t *plugin, const char *netname, const char *version, const char *cmd,
                      const rt_cni_call *c, const json_t *prev, json_t **result, nr_err *err)
{
    const char *type = json_string_value(json_object_get(plugin, "type"));
    if (!type)
        return nr_err_set(err, "network %s: a plugin without a \"type\"", netname);
    cleanup_free char *prog = plugin_find(type, err);
    if (!prog)
        return nr_err_wrap(err, "network %s", netname);
    json_t *conf = json_deep_copy(plugin);
    /* dnsname: the network's instance on this host (net.h rt_net_dns_instance) */
    const char *inst = strcmp(type, "dnsname") ? NULL : json_string_value(json_object_get(plugin, "nrunInstance"));
    json_object_set_new(conf, "name", json_string(rt_net_instance_valid(inst) ? inst : netname));
    json_object_set_new(conf, "cniVersion", json_string(version));
    if (prev)
        json_object_set(conf, "prevResult", (json_t *)prev);
    const json_t *caps = json_object_get(plugin, "capabilities");
    if (json_is_object(caps) && c->runtime_config) {
        json_t *rc = json_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)caps, k, v)
        {
            json_t *val = json_object_get(c->runtime_config, k);
            if (json_is_true(v) && val)
                json_object_set(rc, k, val);
        }
        if (json_object_size(rc))
            json_object_set_new(conf, "runtimeConfig", rc);
        else
            json_decref(rc);
    }
    cleanup_free char *text = json_dumps(conf, JSON_COMPACT);
    json_decref(conf);
    cleanup_free char *out = NULL, *etext = NULL;
    int st;
    if (plugin_exec(prog, cmd, c, text, &out, &etext, &st, err) < 0)
        return nr_err_wrap(err, "network %s", netname);
    json_error_t je;
    json_t *reply = *out ? json_loads(out, 0, &je) : NULL;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        /* the error reply: {"code": N, "msg": "...", "details": "..."} */
        const char *msg = json_string_value(json_object_get(reply, "msg"));
        const char *det = json_string_value(json_object_get(reply, "details"));
        cleanup_free char *m = one_line(msg ? msg : *etext ? etext : out, 300);
        cleanup_free char *d = det && *det ? one_line(det, 200) : NULL;
        nr_err_set(err, "network %s: CNI plugin %s %s failed (%s %d): %s%s%s", netname, type, cmd,
                   WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
                   *m ? m : "no message", d ? ": " : "", d ? d : "");
        json_decref(reply);
        return -1;
    }
    if (!result) { /* DEL, CHECK: no output expected */
        json_decref(reply);
        return 0;
    }
    if (!json_is_object(reply)) {
        cleanup_free char *snip = one_line(out, 80);
        if (!reply)
            nr_err_set(err, "network %s: CNI plugin %s %s: invalid JSON result (%d:%d: %s): \"%s\"", netname, type, cmd,
                       je.line, je.column, je.text, snip);
        else
            nr_err_set(err, "network %s: CNI plugin %s %s: the result is not a JSON object", netname, type, cmd);
        json_decref(reply);
        return -1;
    }
    *result = reply;
    return 0;
}

static int conflist_check(const json_t *cl, const char **name, const char **version, const json_t **plugins,
                          nr_err *err)
{
    *name = json_string_value(json_object_get(cl, "name"));
    *version = json_string_value(json_object_get(cl, "cniVersion"));
    *plugins = json_object_get(cl, "plugins");
    if (!*name || !*version || !json_is_array(*plugins) || json_array_size(*plugins) == 0 ||
        json_array_size(*plugins) > 32)
        return nr_err_set(err, "network configuration %s: needs \"name\", \"cniVersion\" and 1 to 32 \"plugins\"",
                          *name ? *name : "(unnamed)");
    for (size_t i = 0; i < json_array_size(*plugins); i++)
        if (!json_is_object(json_array_get(*plugins, i)) ||
            !json_is_string(json_object_get(json_array_get(*plugins, i), "type")))
            return nr_err_set(err, "network configuration %s: plugins[%zu] needs a \"type\"", *name, i);
    return 0;
}

int rt_cni_add(const json_t *cl, const rt_cni_call *c, json_t **result, nr_err *err)
{
    return rt_cni_add_prev(cl, c, NULL, result, err);
}

int rt_cni_add_prev(const json_t *cl, const rt_cni_call *c, const json_t *prev0, json_t **result, nr_err *err)
{
    const char *name, *version;
    const json_t *plugins;
    if (conflist_check(cl, &name, &version, &plugins, err) < 0)
        return -1;
    json_t *prev = json_incref((json_t *)prev0);
    for (size_t i = 0; i < json_array_size(plugins); i++) {
        json_t *res = NULL;
        int r = plugin_run(json_array_get(plugins, i), name, version, "ADD", c, prev, &res, err);
        json_decref(prev);
        if (r < 0)
            return -1;
        prev = res;
    }
    *result = prev;
    return 0;
}

static int run_all_reverse(const json_t *cl, const char *cmd, const rt_cni_call *c, const json_t *prev, nr_err *err)
{
    const char *name, *version;
    const json_t *plugins;
    if (conflist_check(cl, &name, &version, &plugins, err) < 0)
        return -1;
    int r = 0;
    bool del = !strcmp(cmd, "DEL");
    for (size_t i = json_array_size(plugins); i-- > 0;) {
        nr_err e = {0};
        if (plugin_run(json_array_get(plugins, i), name, version, cmd, c, prev, NULL, &e) < 0 && r == 0) {
            *err = e;
            r = -1;
            if (!del)
                break; /* DEL goes on: every plugin frees what it can */
        }
    }
    return r;
}

int rt_cni_del(const json_t *cl, const rt_cni_call *c, const json_t *prev, nr_err *err)
{
    return run_all_reverse(cl, "DEL", c, prev, err);
}

int rt_cni_check(const json_t *cl, const rt_cni_call *c, const json_t *prev, nr_err *err)
{
    /* CHECK runs in the ADD order */
    const char *name, *version;
    const json_t *plugins;
    if (conflist_check(cl, &name, &version, &plugins, err) < 0)
        return -1;
    for (size_t i = 0; i < json_array_size(plugins); i++)
        if (plugin_run(json_array_get(plugins, i), name, version, "CHECK", c, prev, NULL, err) < 0)
            return -1;
    return 0;
}

int rt_cni_result_ip(const json_t *result, char ip[64], nr_err *err)
{
    const json_t *ips = json_object_get(result, "ips");
    if (!json_is_array(ips))
        return nr_err_set(err, "CNI result: no \"ips\" array");
    for (size_t i = 0; i < json_array_size(ips); i++) {
        const char *a = json_string_value(json_object_get(json_array_get(ips, i), "address"));
        if (!a)
            return nr_err_set(err, "CNI result: ips[%zu].address is not a string", i);
        const char *slash = strchr(a, '/');
        size_t n = slash ? (size_t)(slash - a) : strlen(a);
        char buf[64];
        struct in_addr in;
        if (n >= sizeof buf)
            return nr_err_set(err, "CNI result: ips[%zu].address is not an address", i);
        memcpy(buf, a, n);
        buf[n] = 0;
        if (inet_pton(AF_INET, buf, &in) == 1) {
            strcpy(ip, buf);
            return 0;
        }
        struct in6_addr in6;
        if (inet_pton(AF_INET6, buf, &in6) != 1)
            return nr_err_set(err, "CNI result: ips[%zu].address \"%.64s\" is not an address", i, a);
    }
    return nr_err_set(err, "CNI result: no IPv4 address");
}
