/* Alerts (`nrun run -d --alert RULE ...`): evaluated and delivered on the
 * host by the monitor of a detached container (run.c), never from inside
 * the container.  Rules (README "Alerts"):
 *   restarts>N/WINDOW   more than N restarts (workers or the container) within WINDOW
 *   mem>P%              the container's memory cgroup usage above P% of its limit
 *   lag_p99>Tms         a worker's event-loop lag (p99 when PID 1 reports one) above T
 *   http_5xx>P%/WINDOW  5xx share of the requests in WINDOW (needs request metrics from PID 1)
 *   unhealthy           the HEALTHCHECK status turned unhealthy
 *   hang                a worker was killed for a missing heartbeat
 *   oom                 the kernel's OOM killer killed a process of the container
 * An event is sent when a rule starts firing, and again every `renotify_ms`
 * while it keeps firing; "resolved" when it stops.  Delivery: `exec_cmd`
 * (sh -c, run as the user who ran nrun, the event as JSON on its stdin) and
 * `webhook` (POST application/json, retried with backoff), each in a child
 * so the monitor never blocks; every event is also a line of the
 * container's log (stream "alert"). */
#ifndef RT_ALERT_H
#define RT_ALERT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct rt_cgroup;

enum rt_alert_kind { RT_AL_RESTARTS, RT_AL_MEM, RT_AL_LAG, RT_AL_HTTP5XX, RT_AL_UNHEALTHY, RT_AL_HANG, RT_AL_OOM };

#define RT_ALERT_MAX 16
#define RT_ALERT_HIST 256

typedef struct rt_alert_rule {
    enum rt_alert_kind kind;
    char text[64];            /* as given: "restarts>3/1m" */
    double threshold;         /* count, percent or ms */
    int window_ms;
    bool firing;
    uint64_t sent_ms;         /* last notification */
    double value;             /* last measured */
    long long seen;           /* counters (hangs, ooms) at the last poll */
    uint64_t hist[RT_ALERT_HIST]; /* restarts: when each one was seen */
    int nhist;
} rt_alert_rule;

typedef struct rt_alerts {
    rt_alert_rule rules[RT_ALERT_MAX];
    size_t n;
    const char *exec_cmd;     /* --alert-exec */
    const char *webhook;      /* --alert-webhook */
    int renotify_ms;          /* --alert-renotify, default 1 h */
    /* PID 1's {"cmd":"stats"} reply (malloc'd) or NULL: the control socket
     * client is the CLI layer's, which sets this (the runtime does not call up) */
    char *(*stats)(const char *root, const char *id);
    /* monitor state */
    const char *root, *id, *name;
    long long restarts_seen;  /* PID 1's restart counter at the last poll, -1 = none yet */
    int container_restarts;   /* restarts of the container by the monitor (--restart) */
    pid_t children[32];       /* delivery processes to reap */
} rt_alerts;

void rt_alerts_init(rt_alerts *a);
/* One --alert RULE; err names the rule. */
int rt_alert_parse(rt_alerts *a, const char *rule, nr_err *err);
bool rt_alerts_want_hang(const rt_alerts *a);
/* Poll once (about every second while the container runs). */
void rt_alerts_poll(rt_alerts *a, const struct rt_cgroup *cg);
/* The container restarted (monitor --restart) / ended. */
void rt_alerts_container_restart(rt_alerts *a);
/* Reap finished delivery children; `wait` waits for all (at the monitor's exit). */
void rt_alerts_reap(rt_alerts *a, bool wait);

#endif
