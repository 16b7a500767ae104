/* compose up's waiting: depends_on's conditions before a service starts, and
 * --wait: every service started by up is running (healthy, when it
 * has a health check) or an error: one exited (a job another service waits
 * on with service_completed_successfully may exit 0), turned unhealthy, or
 * the --wait-timeout passed.  And the exit code of a service's container,
 * for --abort-on-container-exit / --exit-code-from. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/compose.h"
#include "common/util.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* some service depends on svc with condition service_completed_successfully */
static bool is_job(const cmp_project *p, const char *svc)
{
    const char *k;
    json_t *s;
    json_object_foreach(json_object_get(p->model, "services"), k, s) {
        const char *c = json_string_value(json_object_get(json_object_get(json_object_get(s, "depends_on"), svc),
                                                          "condition"));
        if (c && !strcmp(c, "service_completed_successfully"))
            return true;
    }
    return false;
}

/* one container `name` of dependency k meets cond, or an error */
static int wait_dep(nr_global *g, const char *k, const char *name, const char *cond, volatile sig_atomic_t *stop,
                    nr_err *err)
{
    bool said = false;
    int tries = 0;
    for (;;) {
        if (*stop)
            return nr_err_set(err, "interrupted");
        bool found;
        nr_err ign = {0};
        json_t *j = nr_inspect_container(g, name, &found, &ign);
        if (!j)
            return nr_err_set(err, "dependency %s: no container %s", k, name);
        json_t *st = json_object_get(j, "State");
        const char *sv = json_string_value(json_object_get(st, "Status"));
        const char *hv = json_string_value(json_object_get(json_object_get(st, "Health"), "Status"));
        cleanup_free char *status = sv ? nr_xstrdup(sv) : NULL;
        cleanup_free char *health = hv ? nr_xstrdup(hv) : NULL;
        long long code = json_integer_value(json_object_get(st, "ExitCode"));
        bool running = status && !strcmp(status, "running");
        bool has_hc = health != NULL;
        json_decref(j);
        if (!said) {
            fprintf(stderr, "Container %s  Waiting\n", name);
            said = true;
        }
        if (!strcmp(cond, "service_completed_successfully")) {
            if (!running && status && strcmp(status, "created")) {
                if (code != 0)
                    return nr_err_set(err, "service %s didn't complete successfully: exit %lld", k, code);
                break;
            }
        } else {
            if (health && !strcmp(health, "healthy"))
                break;
            if (health && !strcmp(health, "unhealthy"))
                return nr_err_set(err, "dependency failed to start: container %s is unhealthy", name);
            if (!running && status && strcmp(status, "created") && strcmp(status, "restarting"))
                return nr_err_set(err, "dependency failed to start: container %s exited (%lld)", name, code);
            if (running && !has_hc) {
                /* the health is read from PID 1: give it a moment before saying there is none */
                if (++tries > 50)
                    return nr_err_set(err, "dependency %s: service_healthy, but the container has no healthcheck", k);
            }
        }
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "Container %s  %s\n", name, !strcmp(cond, "service_healthy") ? "Healthy" : "Exited");
    return 0;
}

/* depends_on's conditions of svc, each met by every container of the
 * dependency (all its replicas, as compose waits for them), or an error */
int cmp_wait_deps(nr_global *g, const cmp_project *p, const char *svc, const cmp_strv *order,
                  volatile sig_atomic_t *stop, nr_err *err)
{
    json_t *s = json_object_get(json_object_get(p->model, "services"), svc);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(s, "depends_on"), k, v) {
        const char *cond = json_string_value(json_object_get(v, "condition"));
        bool started_here = false; /* (not with --no-deps) */
        for (size_t i = 0; i < order->n; i++)
            started_here |= !strcmp(order->v[i], k);
        if (!strcmp(cond, "service_started") || !started_here)
            continue;
        for (int n = 1; n <= cmp_scale(p, k); n++) {
            cleanup_free char *name = cmp_ctr_name_n(p, k, n);
            if (wait_dep(g, k, name, cond, stop, err) < 0)
                return -1;
        }
    }
    return 0;
}

/* the file gives svc a health check (the image's shows up in its state) */
static bool has_check(const cmp_project *p, const char *svc)
{
    json_t *hc = json_object_get(json_object_get(json_object_get(p->model, "services"), svc), "healthcheck");
    json_t *t = json_object_get(hc, "test");
    return t && !json_is_true(json_object_get(hc, "disable")) &&
           !(json_is_array(t) && !strcmp(json_string_value(json_array_get(t, 0)) ?: "", "NONE"));
}

int cmp_exit_code(nr_global *g, const char *name, bool *running)
{
    bool found;
    nr_err err = {0};
    json_t *j = nr_inspect_container(g, name, &found, &err);
    json_t *st = json_object_get(j, "State");
    const char *sv = json_string_value(json_object_get(st, "Status"));
    int code = (int)json_integer_value(json_object_get(st, "ExitCode"));
    if (running)
        *running = sv && (!strcmp(sv, "running") || !strcmp(sv, "restarting") || !strcmp(sv, "paused"));
    json_decref(j);
    return code;
}

int cmp_wait(nr_global *g, const cmp_project *p, const cmp_strv *order, long long timeout_ms,
             volatile sig_atomic_t *stop, nr_err *err)
{
    long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
    cmp_strv names = {0}, svcs = {0}; /* every replica */
    for (size_t i = 0; i < order->n; i++)
        for (int n = 1; n <= cmp_scale(p, order->v[i]); n++) {
            cleanup_free char *nm = cmp_ctr_name_n(p, order->v[i], n);
            cmp_strv_push(&names, nm);
            cmp_strv_push(&svcs, order->v[i]);
        }
    bool *done = nr_xcalloc(names.n ? names.n : 1, sizeof *done);
    int r = 0;
    for (size_t left = names.n; left && r == 0;) {
        for (size_t i = 0; i < names.n && r == 0; i++) {
            if (done[i])
                continue;
            const char *svc = svcs.v[i], *name = names.v[i];
            bool found;
            nr_err ign = {0};
            json_t *j = nr_inspect_container(g, name, &found, &ign);
            json_t *st = json_object_get(j, "State");
            const char *sv = json_string_value(json_object_get(st, "Status"));
            const char *hv = json_string_value(json_object_get(json_object_get(st, "Health"), "Status"));
            long long code = json_integer_value(json_object_get(st, "ExitCode"));
            if (!j) {
                r = nr_err_set(err, "service %s: no container %s", svc, name);
            } else if (hv && !strcmp(hv, "unhealthy")) {
                r = nr_err_set(err, "container %s is unhealthy", name);
            } else if (sv && !strcmp(sv, "running") && (hv ? !strcmp(hv, "healthy") : !has_check(p, svc))) {
                /* (a health check not yet run reads "starting", or nothing for a moment) */
                done[i] = true;
            } else if (sv && strcmp(sv, "running") && strcmp(sv, "created") && strcmp(sv, "restarting")) {
                if (code == 0 && is_job(p, svc))
                    done[i] = true;
                else
                    r = nr_err_set(err, "container %s exited (%lld)", name, code);
            }
            if (done[i]) {
                fprintf(stderr, "Container %s  %s\n", name, hv ? "Healthy" : strcmp(sv, "running") ? "Exited" : "Running");
                left--;
            }
            json_decref(j); /* (sv and hv point into it) */
        }
        if (r || !left)
            break;
        if (*stop) {
            r = nr_err_set(err, "interrupted");
            break;
        }
        if (deadline && now_ms() >= deadline) {
            r = nr_err_set(err, "--wait-timeout: the services were not all running (or healthy) in time");
            break;
        }
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    free(done);
    cmp_strv_free(&names);
    cmp_strv_free(&svcs);
    return r;
}
