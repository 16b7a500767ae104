/* nrun deploy | update --image | rollback | history: moving a named service to
 * another image with no moment where its published ports serve nobody.
 *
 *   1. the next revision starts beside the current one as NAME-rN, with the
 *      flags the current one was run with (run.json "args", parsed again with
 *      run's table: cli/deploy_flags.c), its ports as bound now, and run's
 *      flags given to deploy as overrides; its ports are recorded but not
 *      published (NRUN_DEPLOY_DEFER_PORTS);
 *   2. ready = its HEALTHCHECK healthy (when it has one: PID 1 runs it, inspect
 *      reads it) and every published container port accepting a connection
 *      on its address, probed from the host side (ready_now);
 *   3. switch: the portmap plugin ADDs the new one's DNAT, then DELs the old
 *      one's: new connections go to the new container from the first rule,
 *      established ones stay on the old by conntrack;
 *   4. --watch: the new one must stay up, accepting and not unhealthy, else the old one's DNAT
 *      comes back (ADD old, DEL new) and the new one is removed;
 *   5. the old one is stopped gracefully (the supervisor drains its workers:
 *      in-flight requests finish, keep-alive connections close between
 *      requests), removed, and the new one takes the NAME.
 * Each deploy appends a revision to <root>/deploy/NAME.json (a store file:
 * read as hostile input). */
#include <arpa/inet.h>
#include <signal.h>
#include <dirent.h>
#include <sys/file.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/util.h"
#include "cli/cli.h"
#include "runtime/net.h"
#include "runtime/runtime.h"
#include "cli/deploy.h"


static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "30", "30s", "500ms", "2m" -> ms; -1 when malformed */
static long long duration_ms(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || v > 86400)
        return -1;
    if (!*end || !strcmp(end, "s"))
        return (long long)(v * 1000);
    if (!strcmp(end, "ms"))
        return (long long)v;
    if (!strcmp(end, "m"))
        return (long long)(v * 60000);
    return -1;
}

bool nr_dep_name_ok(const char *n)
{
    size_t l = strlen(n);
    if (!l || l > 100 || !((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9')))
        return false;
    return strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == l;
}

/* Run this nrun again with `args` (NULL-terminated); the first line of its
 * stdout in out (when out), its stderr passed through.  Returns its exit code. */
static int self_run(nr_global *g, char **args, bool defer_ports, char *out, size_t outn)
{
    size_t n = 0;
    while (args[n])
        n++;
    char **av = nr_xcalloc(n + 4, sizeof *av);
    av[0] = "nrun";
    av[1] = "--root";
    av[2] = (char *)g->root;
    memcpy(av + 3, args, n * sizeof *av);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        free(av);
        return -1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (defer_ports)
            setenv("NRUN_DEPLOY_DEFER_PORTS", "1", 1);
        dup2(out ? p[1] : open("/dev/null", O_WRONLY), 1);
        execv("/proc/self/exe", av);
        _exit(127);
    }
    free(av);
    close(p[1]);
    char buf[512];
    size_t len = 0;
    ssize_t k;
    while ((k = read(p[0], buf + len, sizeof buf - 1 - len)) > 0 && len < sizeof buf - 1)
        len += (size_t)k;
    buf[len] = 0;
    close(p[0]);
    if (out) {
        buf[strcspn(buf, "\n")] = 0;
        size_t l = strlen(buf) < outn ? strlen(buf) : outn - 1;
        memcpy(out, buf, l);
        out[l] = 0;
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int nr_dep_run(nr_global *g, const char *a, const char *b, const char *c)
{
    char *args[] = {(char *)a, (char *)b, (char *)c, NULL};
    return self_run(g, args, false, NULL, 0);
}


int nr_dep_ctr_get(nr_global *g, const char *ref, nr_dep_ctr *c, nr_err *err)
{
    memset(c, 0, sizeof *c);
    bool found = false;
    json_t *j = nr_inspect_container(g, ref, &found, err);
    if (!j)
        return found ? -1 : nr_err_set(err, "no container %s", ref);
    snprintf(c->id, sizeof c->id, "%s", json_string_value(json_object_get(j, "Id")) ?: "");
    snprintf(c->image, sizeof c->image, "%s", json_string_value(json_object_get(json_object_get(j, "Config"), "Image")) ?: "");
    json_t *st = json_object_get(j, "State");
    c->running = json_is_true(json_object_get(st, "Running"));
    c->exit_code = (int)json_integer_value(json_object_get(st, "ExitCode"));
    json_t *hs = json_object_get(st, "Health"); /* checked by inspect: one of three words */
    snprintf(c->health, sizeof c->health, "%s", json_string_value(json_object_get(hs, "Status")) ?: "");
    json_t *log = json_object_get(hs, "Log");
    const char *out = json_string_value(json_object_get(json_array_get(log, json_array_size(log) - 1), "Output"));
    snprintf(c->health_out, sizeof c->health_out, "%.*s", (int)strcspn(out ? out : "", "\n"), out ? out : "");
    const char *k;
    json_t *n;
    json_object_foreach(json_object_get(json_object_get(j, "NetworkSettings"), "Networks"), k, n)
    {
        const char *ip = json_string_value(json_object_get(n, "IPAddress"));
        if (ip && *ip) {
            snprintf(c->ip, sizeof c->ip, "%s", ip);
            break;
        }
    }
    json_decref(j);
    return 0;
}

static bool tcp_accepts(const char *ip, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
        return false;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return false;
    bool ok = false;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        ok = true;
    else if (errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int e = 0;
        socklen_t l = sizeof e;
        ok = poll(&p, 1, 500) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) == 0 && e == 0;
    }
    close(fd);
    return ok;
}

/* Every worker PID 1 wants is up (a cluster worker is up once it listens):
 * its stats reply, checked.  Without a reply (-t: no supervisor), the port
 * probe alone decides. */
static int workers_listening(nr_global *g, const char *id, nr_err *err)
{
    nr_err ign = {0};
    cleanup_free char *reply = sv_control_call(g, id, NULL, "{\"cmd\":\"stats\"}", 2000, &ign);
    json_t *r = reply ? json_loads(reply, JSON_REJECT_DUPLICATES, NULL) : NULL;
    json_t *ws = json_object_get(r, "workers");
    json_int_t target = json_integer_value(json_object_get(r, "target"));
    if (!json_is_array(ws) || !json_is_integer(json_object_get(r, "target"))) {
        json_decref(r);
        return 0;
    }
    json_int_t up = 0;
    size_t i;
    json_t *w;
    json_array_foreach(ws, i, w)
    {
        const char *st = json_string_value(json_object_get(w, "state"));
        up += json_integer_value(json_object_get(w, "worker")) > 0 && st && !strcmp(st, "up");
    }
    json_decref(r);
    if (up < target)
        return nr_err_set(err, "%lld of its %lld workers listen", (long long)up, (long long)target);
    return 0;
}

/* Readiness of container `ref`: running; its HEALTHCHECK healthy when it
 * has one (with `healthy`; else only not unhealthy: after the switch); its
 * workers all listening (with `healthy`); and every published tcp
 * container port of `ports` accepting on its address,
 * probed from the host side (the workers listen).  0 ready; -1 not yet;
 * -2 never (it exited or is unhealthy); why in err. */
enum { NOT_READY = -1, NEVER_READY = -2 };
static int ready_now(nr_global *g, const char *ref, const json_t *ports, bool healthy, nr_err *err)
{
    nr_dep_ctr c;
    if (nr_dep_ctr_get(g, ref, &c, err) < 0)
        return NOT_READY;
    if (!c.running) {
        nr_err_set(err, "it exited (code %d): crashed or crash-looped", c.exit_code);
        return NEVER_READY;
    }
    if (!strcmp(c.health, "unhealthy")) {
        nr_err_set(err, "its HEALTHCHECK turned unhealthy (last check: %s)", *c.health_out ? c.health_out : "no output");
        return NEVER_READY;
    }
    if (healthy && !strcmp(c.health, "starting"))
        return nr_err_set(err, "its HEALTHCHECK is still starting (not healthy yet)");
    if (healthy && workers_listening(g, c.id, err) < 0)
        return NOT_READY;
    if (!*c.ip)
        return nr_err_set(err, "it has no network address");
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p)
    {
        const char *proto = json_string_value(json_object_get(p, "proto"));
        int port = (int)json_integer_value(json_object_get(p, "container"));
        if (proto && !strcmp(proto, "udp"))
            continue;
        if (!tcp_accepts(c.ip, port))
            return nr_err_set(err, "nothing accepts on its port %d (%s:%d)", port, c.ip, port);
    }
    return 0;
}

/* until ready (its health in *health: "" when it has no HEALTHCHECK) */
static int ready_wait(nr_global *g, const char *ref, const json_t *ports, long long timeout_ms, char *health,
                      size_t hn, nr_err *err)
{
    long long end = now_ms() + timeout_ms;
    for (;;) {
        nr_err e = {0};
        int r = ready_now(g, ref, ports, true, &e);
        if (r == 0) {
            nr_dep_ctr c;
            snprintf(health, hn, "%s", nr_dep_ctr_get(g, ref, &c, &e) == 0 ? c.health : "");
            return 0;
        }
        if (r == NEVER_READY || now_ms() >= end) {
            *err = e;
            if (r != NEVER_READY)
                nr_err_wrap(err, "not ready within %lld ms", timeout_ms);
            return -1;
        }
        usleep(200 * 1000);
    }
}

/* ---- the deploy ------------------------------------------------------------- */

typedef struct deploy_opts {
    long long ready_ms, watch_ms;
    double canary; /* 0..1, 0: none */
    nr_dep_flags over; /* run flags that override the stored ones, as "--long" [VALUE] */
    const char *kind; /* "deploy", "rollback" */
} deploy_opts;

/* Switch the published ports from `from` to `to`: `to`'s DNAT first. */
static int ports_switch(nr_global *g, const char *from, const char *to, nr_err *err)
{
    if (rt_net_publish(g->root, to, true, err) < 0)
        return -1;
    if (rt_net_publish(g->root, from, false, err) < 0) {
        nr_err ign;
        rt_net_publish(g->root, to, false, &ign);
        return -1;
    }
    return 0;
}

static void ctr_discard(nr_global *g, const char *id)
{
    nr_dep_run(g, "stop", id, NULL);
    nr_dep_run(g, "rm", "-f", id);
}

static int deploy_run(nr_global *g, const char *name, const char *image, const deploy_opts *o)
{
    nr_err err = {0};
    if (!nr_dep_name_ok(name))
        return nr_usage_error(g, "%s: %s is not a container name", o->kind, name);
    cleanup_close int lk = nr_dep_journal_lock(g, name, false, &err);
    json_t *held = NULL;
    if (lk < 0 || nr_dep_journal_recover(g, name, &held, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    if (held) {
        json_decref(held);
        return nr_usage_error(g, "%s: a canary of %s is running: nrun deploy --promote %s or --abort %s first", o->kind,
                              name, name, name);
    }
    nr_dep_ctr old;
    if (nr_dep_ctr_get(g, name, &old, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    if (!old.running)
        return nr_usage_error(g, "%s: container %s is not running (nrun start it, or nrun run a new one)", o->kind, name);
    json_t *ports = rt_net_ports_json(g->root, old.id);
    if (!json_array_size(ports)) {
        json_decref(ports);
        return nr_usage_error(g, "%s: %s publishes no ports: nothing to switch (nrun reload replaces its workers)",
                              o->kind, name);
    }
    cleanup_free char *rpath = nr_xasprintf("%s/containers/%s/run.json", g->root, old.id);
    json_t *rj = json_load_file(rpath, JSON_REJECT_DUPLICATES, NULL);
    json_t *args = json_object_get(rj, "args");
    if (!json_is_array(args) || json_array_size(args) > 4096) {
        json_decref(rj), json_decref(ports);
        nr_err_set(&err, "%s: no run flags on record (the container was made by an older nrun): recreate it with "
                         "nrun run", rpath);
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    }
    json_t *h = nr_dep_hist_load(g, name, &err);
    if (!h) {
        json_decref(rj), json_decref(ports);
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    }
    json_int_t rev = nr_dep_hist_next(h);
    if (rev == 1) /* the running one, as revision 1 */
        json_array_append_new(json_object_get(h, "revisions"),
                              json_pack("{s:I, s:s, s:s, s:I, s:s}", "rev", (json_int_t)1, "image",
                                        *old.image ? old.image : json_string_value(json_object_get(rj, "image_id")) ?: "?", "image_id",
                                        json_string_value(json_object_get(rj, "image_id")) ?: "", "time",
                                        (json_int_t)time(NULL), "result", "running"));
    if (rev == 1) {
        const char *iid = json_string_value(json_object_get(rj, "image_id"));
        if (iid && *iid)
            nr_dep_pin(g, json_array_get(json_object_get(h, "revisions"), 0), name, iid);
        rev = 2;
    }
    char newname[160];
    snprintf(newname, sizeof newname, "%s-r%lld", name, (long long)rev);
    /* the stored flags (its ports as bound now), then ours, then the
     * overrides: a later flag wins */
    nr_dep_flags av = {0};
    nr_dep_flags_add(&av, "run");
    nr_dep_flags_add(&av, "--hostname");
    nr_dep_flags_add(&av, name);
    /* the serving container's environment, for a stored bare -e K */
    cleanup_free char *odir = rt_ctr_dir(g->root, old.id);
    cleanup_close int odfd = open(odir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    rt_spec ospec;
    nr_err ign = {0};
    bool have_spec = odfd >= 0 && rt_spec_load(odfd, "config.json", &ospec, &ign) == 0;
    int ar = nr_dep_run_args(g, args, json_string_value(json_object_get(rj, "cwd")), have_spec ? ospec.env : NULL, ports,
                             &o->over, &av, &err);
    if (have_spec)
        rt_spec_free(&ospec);
    if (ar < 0) {
        nr_err_wrap(&err, "%s", rpath);
        nr_dep_flags_free(&av);
        json_decref(rj), json_decref(ports), json_decref(h);
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    }
    char revs[32], revlabel[64];
    snprintf(revs, sizeof revs, "%lld", (long long)rev);
    snprintf(revlabel, sizeof revlabel, "org.nrun.revision=%lld", (long long)rev);
    const char *ours[] = {"-d", "--name", newname, "--label", revlabel, "--revision", revs};
    for (size_t i = 0; i < NR_ARRAY_LEN(ours); i++)
        nr_dep_flags_add(&av, ours[i]);
    for (size_t i = 0; i < o->over.n; i++)
        nr_dep_flags_add(&av, o->over.v[i]);
    nr_dep_flags_add(&av, image);
    json_t *revrec = json_pack("{s:I, s:s, s:I, s:o, s:s}", "rev", rev, "image", image, "time", (json_int_t)time(NULL),
                               "flags", json_array(), "result", "starting");
    for (size_t i = 0; i < o->over.n; i++)
        json_array_append_new(json_object_get(revrec, "flags"), json_string(o->over.v[i]));
    json_array_append_new(json_object_get(h, "revisions"), revrec);
    nr_dep_pin(g, revrec, name, image);
    nr_dep_hist_save(g, name, h, &err);

    char newid[128] = "";
    json_t *jr = json_pack("{s:s, s:s, s:s, s:I}", "old", old.id, "new", "", "newname", newname, "rev", rev);
    nr_dep_journal_write(g, name, jr, "start");
    fprintf(stderr, "%s %s: starting revision %lld (%s) as %s\n", o->kind, name, (long long)rev, image, newname);
    int rc = self_run(g, av.v, true, newid, sizeof newid);
    nr_dep_flags_free(&av);
    json_decref(rj);
    const char *why = NULL;
    char reason[600] = "";
    if (rc != 0 || !*newid) {
        snprintf(reason, sizeof reason, "revision %lld did not start (nrun run exit %d)", (long long)rev, rc);
        nr_dep_run(g, "rm", "-f", newname);
        goto failed;
    }
    json_object_set_new(jr, "new", json_string(newid));
    nr_dep_journal_write(g, name, jr, "start");
    char health[16];
    if (ready_wait(g, newid, ports, o->ready_ms, health, sizeof health, &err) < 0) {
        snprintf(reason, sizeof reason, "revision %lld (%.100s) did not become ready: %.400s", (long long)rev, image, err.msg);
        ctr_discard(g, newid);
        goto failed;
    }
    fprintf(stderr, "%s %s: revision %lld is ready (%s)\n", o->kind, name, (long long)rev,
            *health ? "its HEALTHCHECK is healthy, its workers listen" : "no HEALTHCHECK: its workers listen");
    if (o->canary > 0) {
        nr_dep_journal_write(g, name, jr, "canary-start");
        if (rt_net_publish(g->root, newid, true, &err) < 0 || nr_dep_canary_add(newid, o->canary, &err) < 0) {
            snprintf(reason, sizeof reason, "canary: %.500s", err.msg);
            nr_dep_canary_del(newid);
            nr_err ign;
            rt_net_publish(g->root, newid, false, &ign);
            ctr_discard(g, newid);
            goto failed;
        }
        nr_dep_journal_write(g, name, jr, "canary");
        json_object_set_new(revrec, "result", json_string("canary"));
        json_object_set_new(revrec, "container", json_string(newid));
        nr_dep_hist_save(g, name, h, &err);
        fprintf(stderr, "%s %s: revision %lld (%s) takes %.1f%% of new connections as %s; "
                        "nrun deploy --promote %s, or --abort %s\n", o->kind, name, (long long)rev, image, o->canary * 100,
                newname, name, name);
        json_decref(jr), json_decref(h), json_decref(ports);
        printf("%s\n", newid);
        return 0;
    }
    nr_dep_journal_write(g, name, jr, "switch");
    if (ports_switch(g, old.id, newid, &err) < 0) {
        snprintf(reason, sizeof reason, "switching the ports: %.500s", err.msg);
        ctr_discard(g, newid);
        goto failed;
    }
    fprintf(stderr, "%s %s: revision %lld serves the ports; watching for %lld ms\n", o->kind, name, (long long)rev,
            o->watch_ms);
    long long end = now_ms() + o->watch_ms;
    while (now_ms() < end) {
        nr_err e = {0};
        if (ready_now(g, newid, ports, false, &e) < 0) {
            snprintf(reason, sizeof reason, "revision %lld (%.100s) failed within --watch: %.400s; rolled back", (long long)rev,
                     image, e.msg);
            nr_err e2 = {0};
            if (ports_switch(g, newid, old.id, &e2) < 0) /* the new one is down: the old must serve */
                rt_net_publish(g->root, old.id, true, &e2);
            ctr_discard(g, newid);
            goto failed;
        }
        usleep(200 * 1000);
    }
    /* drain and remove the old one, the new one takes the name */
    why = "ok";
    nr_dep_journal_write(g, name, jr, "drain");
    nr_dep_run(g, "stop", old.id, NULL);
    nr_dep_run(g, "rm", "-f", old.id);
    if (nr_dep_run(g, "rename", newid, name) != 0)
        fprintf(stderr, "%s %s: the new container keeps the name %s\n", o->kind, name, newname);
    json_object_set_new(revrec, "result", json_string("deployed"));
    nr_dep_pins_trim(g, h);
    json_object_set_new(revrec, "container", json_string(newid));
    {
        /* every earlier revision is history now */
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(h, "revisions"), i, r) if (r != revrec &&
                                                                     (!strcmp(json_string_value(json_object_get(r, "result")), "running") ||
                                                                      !strcmp(json_string_value(json_object_get(r, "result")), "deployed"))) json_object_set_new(r, "result", json_string("replaced"));
    }
    nr_dep_hist_save(g, name, h, &err);
    nr_dep_journal_clear(g, name);
    json_decref(jr);
    json_decref(h);
    json_decref(ports);
    printf("%s\n", newid);
    (void)why;
    return 0;
failed:
    json_object_set_new(revrec, "result", json_string("rolled back"));
    nr_dep_pins_trim(g, h);
    json_object_set_new(revrec, "reason", json_string(reason));
    {
        nr_err ign;
        nr_dep_hist_save(g, name, h, &ign);
    }
    nr_dep_journal_clear(g, name);
    json_decref(jr);
    json_decref(h);
    json_decref(ports);
    fprintf(stderr, "%s: %s %s: %s; %s still serves\n", g->prog, o->kind, name, reason, name);
    return NR_EXIT_FAIL;
}

/* --promote / --abort of the canary of NAME */
static int canary_settle(nr_global *g, const char *name, bool promote)
{
    nr_err err = {0};
    if (!nr_dep_name_ok(name))
        return nr_usage_error(g, "deploy: %s is not a container name", name);
    cleanup_close int lk = nr_dep_journal_lock(g, name, false, &err);
    json_t *j = NULL;
    if (lk < 0 || nr_dep_journal_recover(g, name, &j, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    if (!j)
        return nr_usage_error(g, "deploy: %s has no canary running", name);
    char old[65], nw[65];
    snprintf(old, sizeof old, "%s", json_string_value(json_object_get(j, "old")));
    snprintf(nw, sizeof nw, "%s", json_string_value(json_object_get(j, "new")));
    json_int_t rev = json_integer_value(json_object_get(j, "rev"));
    const char *result;
    if (promote) {
        /* the new one's own jump is in place behind the old one's: DEL the old, then the share */
        nr_dep_journal_write(g, name, j, "switch");
        if (rt_net_publish(g->root, old, false, &err) < 0) {
            json_decref(j);
            return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        }
        nr_dep_canary_del(nw);
        nr_dep_journal_write(g, name, j, "drain");
        nr_dep_run(g, "stop", old, NULL);
        nr_dep_run(g, "rm", "-f", old);
        nr_dep_run(g, "rename", nw, name);
        result = "deployed";
    } else {
        nr_dep_canary_del(nw);
        nr_err ign;
        rt_net_publish(g->root, nw, false, &ign);
        nr_dep_run(g, "stop", nw, NULL);
        nr_dep_run(g, "rm", "-f", nw);
        result = "aborted";
    }
    json_t *h = nr_dep_hist_load(g, name, &err);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(h, "revisions"), i, r)
    {
        const char *res = json_string_value(json_object_get(r, "result"));
        if (json_integer_value(json_object_get(r, "rev")) == rev)
            json_object_set_new(r, "result", json_string(result));
        else if (promote && (!strcmp(res, "running") || !strcmp(res, "deployed")))
            json_object_set_new(r, "result", json_string("replaced"));
    }
    if (h) {
        nr_dep_pins_trim(g, h);
        nr_dep_hist_save(g, name, h, &err);
    }
    json_decref(h);
    nr_dep_journal_clear(g, name);
    json_decref(j);
    fprintf(stderr, "deploy %s: revision %lld %s\n", name, (long long)rev, result);
    return 0;
}

/* keys apart from run's (NR_OPT_LONG + its few dozen, NR_OPT_SV + i): both tables are one */
enum { O_READY = NR_OPT_LONG + 0x80, O_WATCH, O_IMAGE, O_TO, O_CANARY, O_PROMOTE, O_ABORT };

static const nr_opt deploy_own_opts[] = {
    {"ready-timeout", O_READY, required_argument, "DURATION",
     "wait this long for the new one to be ready: HEALTHCHECK healthy (when it has one) and its ports "
     "accepting (default 60s)"},
    {"watch", O_WATCH, required_argument, "DURATION",
     "after the switch, roll back if the new one exits or turns unhealthy within this (default 5s)"},
    {"image", O_IMAGE, required_argument, "IMAGE", "(update) the image to move to"},
    {"to", O_TO, required_argument, "N", "(rollback) the revision to go back to"},
    {"canary", O_CANARY, required_argument, "PERCENT",
     "(deploy) send this share of new connections to the new revision and hold (10%)"},
    {"promote", O_PROMOTE, no_argument, NULL, "(deploy NAME) the canary takes all the traffic"},
    {"abort", O_ABORT, no_argument, NULL, "(deploy NAME) remove the canary"},
    {0},
};

#define RUN_FLAGS_ABOUT                                                                                                \
    " The new revision is run with NAME's run flags; the options from --env on are nrun run's and override them "      \
    "(all of run's but -d, -i, -t, --name, --rm, --cidfile): -e and --label by key, -v by container path, -p/-P "      \
    "replace the published ports, which otherwise stay on the same host ports (random ones too). Its metrics and "     \
    "log lines carry revision=\"N\" (--revision N, label org.nrun.revision)."

static const nr_opt *deploy_table(void)
{
    static nr_opt buf[320];
    if (!buf[0].name)
        nr_dep_opts(deploy_own_opts, buf, NR_ARRAY_LEN(buf));
    return buf;
}

/* the overrides checked as nrun run checks its flags before anything starts */
static int overrides_check(nr_global *g, const nr_dep_flags *over, const char *image)
{
    nr_dep_flags av = {0};
    nr_dep_flags_add(&av, "run");
    nr_dep_flags_add(&av, "-d");
    for (size_t i = 0; i < over->n; i++)
        nr_dep_flags_add(&av, over->v[i]);
    nr_dep_flags_add(&av, image);
    int r = nr_run_flags_check((int)av.n, av.v, g);
    nr_dep_flags_free(&av);
    return r;
}

static int deploy_checked(nr_global *g, const char *name, const char *image, const deploy_opts *o)
{
    if (o->over.n && overrides_check(g, &o->over, image) != 0)
        return NR_EXIT_USAGE;
    return deploy_run(g, name, image, o);
}

/* the verb's operands, once its options are parsed */
static int deploy_verb(nr_global *g, int argc, char **argv, int i, const char *kind, const char *image, long long to,
                       int settle, const deploy_opts *o)
{
    if (!strcmp(kind, "rollback")) {
        if (argc - i != 1)
            return nr_usage_error(g, "rollback: which container? (nrun rollback [--to N] NAME)");
        const char *name = argv[i];
        if (!nr_dep_name_ok(name))
            return nr_usage_error(g, "rollback: %s is not a container name", name);
        nr_err err = {0};
        json_t *h = nr_dep_hist_load(g, name, &err);
        if (!h)
            return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        /* the revision before the serving one, or --to N */
        json_t *revs = json_object_get(h, "revisions"), *pick = NULL, *cur = NULL;
        for (size_t k = json_array_size(revs); k-- > 0;) {
            json_t *r = json_array_get(revs, k);
            const char *res = json_string_value(json_object_get(r, "result"));
            bool served = !strcmp(res, "deployed") || !strcmp(res, "replaced") || !strcmp(res, "running");
            if (to ? json_integer_value(json_object_get(r, "rev")) == to : (served && cur)) {
                pick = r;
                break;
            }
            if (served && !cur)
                cur = r;
        }
        if (!pick) {
            json_decref(h);
            if (to)
                return nr_usage_error(g, "rollback: %s has no revision %lld (nrun history %s)", name, to, name);
            return nr_usage_error(g, "rollback: %s has no earlier revision to go back to (nrun history %s)", name, name);
        }
        /* the pinned image when it is still kept: the very revision, even if its tag moved */
        const char *p = json_string_value(json_object_get(pick, "pin"));
        cleanup_free char *img = nr_xstrdup(p ? p : json_string_value(json_object_get(pick, "image")));
        json_decref(h);
        return deploy_checked(g, name, img, o);
    }
    if (!strcmp(kind, "update")) {
        if (!image || argc - i != 1)
            return nr_usage_error(g, "update: nrun update --image IMAGE NAME");
        return deploy_checked(g, argv[i], image, o);
    }
    if (settle) {
        if (argc - i != 1)
            return nr_usage_error(g, "deploy: nrun deploy --promote|--abort NAME");
        return canary_settle(g, argv[i], settle == 1);
    }
    if (argc - i != 2)
        return nr_usage_error(g, "deploy: nrun deploy [OPTIONS] NAME IMAGE");
    return deploy_checked(g, argv[i], argv[i + 1], o);
}


static int deploy_main(int argc, char **argv, nr_global *g, nr_cmdspec *spec, const char *kind)
{
    deploy_opts o = {.ready_ms = 60000, .watch_ms = 5000, .kind = kind};
    spec->opts = deploy_table();
    const char *image = NULL;
    long long to = 0;
    int c, settle = 0;
    while ((c = nr_opt_next(spec, argc, argv, g)) != -1) {
        switch (c) {
        case O_READY:
        case O_WATCH: {
            long long v = duration_ms(optarg);
            if (v < 0) {
                nr_dep_flags_free(&o.over);
                return nr_usage_error(g, "%s: %s: expected a duration (30s, 500ms, 2m)", kind, optarg);
            }
            *(c == O_READY ? &o.ready_ms : &o.watch_ms) = v;
            break;
        }
        case O_IMAGE: image = optarg; break;
        case O_PROMOTE:
        case O_ABORT: settle = c == O_PROMOTE ? 1 : 2; break;
        case O_CANARY: {
            char *end;
            double v = strtod(optarg, &end);
            if (end == optarg || (*end && strcmp(end, "%")) || !(v > 0) || v >= 100) {
                nr_dep_flags_free(&o.over);
                return nr_usage_error(g, "%s: --canary %s: expected a share between 0 and 100%% (10%%)", kind, optarg);
            }
            o.canary = v / 100;
            break;
        }
        case O_TO: {
            char *end;
            to = strtoll(optarg, &end, 10);
            if (!*optarg || *end || to < 1) {
                nr_dep_flags_free(&o.over);
                return nr_usage_error(g, "%s: --to %s: expected a revision number (nrun history)", kind, optarg);
            }
            break;
        }
        case NR_OPT_HELP: nr_dep_flags_free(&o.over); return 0;
        default:
            if (c >= 0 && nr_dep_flag_take(c, optarg, &o.over))
                break;
            nr_dep_flags_free(&o.over);
            return NR_EXIT_USAGE;
        }
    }
    int r = deploy_verb(g, argc, argv, optind, kind, image, to, settle, &o);
    nr_dep_flags_free(&o.over);
    return r;
}

int nr_cmd_deploy(int argc, char **argv, nr_global *g)
{
    static nr_cmdspec spec = {"deploy [OPTIONS] NAME IMAGE",
                              "Move a running container's published ports to a new image with no failed "
                              "request: start it beside, wait until ready, switch, drain and remove the old; "
                              "roll back when it fails." RUN_FLAGS_ABOUT, NULL, true};
    return deploy_main(argc, argv, g, &spec, "deploy");
}

int nr_cmd_update(int argc, char **argv, nr_global *g)
{
    static nr_cmdspec spec = {"update --image IMAGE [OPTIONS] NAME",
                              "nrun deploy NAME IMAGE, docker-style." RUN_FLAGS_ABOUT, NULL, true};
    return deploy_main(argc, argv, g, &spec, "update");
}

int nr_cmd_rollback(int argc, char **argv, nr_global *g)
{
    static nr_cmdspec spec = {"rollback [--to N] NAME",
                              "Deploy the previous revision (or revision N) again, with no failed request." RUN_FLAGS_ABOUT,
                              NULL, true};
    return deploy_main(argc, argv, g, &spec, "rollback");
}

int nr_cmd_history(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {{0}};
    static const nr_cmdspec spec = {"history NAME", "List the revisions deployed under NAME (an image with no deploy "
                                                    "of its name: its layers, as nrun image history).", opts, true};
    if (nr_history_is_image(argc, argv, g))
        return nr_image_history(argc, argv, g);
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1)
        return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    if (argc - optind != 1)
        return nr_usage_error(g, "history: which container?");
    const char *name = argv[optind];
    if (!nr_dep_name_ok(name))
        return nr_usage_error(g, "history: %s is not a container name", name);
    nr_err err = {0};
    json_t *h = nr_dep_hist_load(g, name, &err);
    if (!h)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    printf("%-5s %-20s %-40s %s\n", "REV", "CREATED", "IMAGE", "RESULT");
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(h, "revisions"), i, r)
    {
        time_t t = (time_t)json_integer_value(json_object_get(r, "time"));
        char ts[32];
        struct tm tm;
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        const char *reason = json_string_value(json_object_get(r, "reason"));
        printf("%-5lld %-20s %-40s %s%s%s\n", (long long)json_integer_value(json_object_get(r, "rev")), ts,
               json_string_value(json_object_get(r, "image")), json_string_value(json_object_get(r, "result")),
               reason ? ": " : "", reason ? reason : "");
    }
    json_decref(h);
    return 0;
}
