/* The supervisor: PID 1 of every container.  The runtime sets the container
 * up (namespaces, mounts, cgroups, pivot_root) and then, still as root inside
 * the container, calls sv_run(), which never returns to it: it runs the
 * command as Node cluster workers or as one supervised process, serves the
 * control socket, writes the logs, and returns the container's exit code.
 *
 * Everything the supervisor needs from the host side (log dir, control socket,
 * published ports) arrives as file descriptors opened before pivot_root, so the
 * supervisor never needs a host path.  The same entry point runs directly on
 * the host for tests (`nrun supervise ... -- CMD`). */
#ifndef SV_SUPERVISOR_H
#define SV_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "common/err.h"

enum sv_mode { SV_MODE_AUTO = 0, SV_MODE_CLUSTER, SV_MODE_SINGLE };
enum sv_balance { SV_BALANCE_RR = 0, SV_BALANCE_LEASTCONN, SV_BALANCE_STICKY };

typedef struct sv_config {
    char **argv;              /* command (entrypoint + cmd); argv[0] searched in PATH of envp */
    char **envp;              /* the workers' environment */
    const char *cwd;          /* working directory of the workers */
    uid_t uid;                /* identity of the workers (the supervisor stays root) */
    gid_t gid;
    const gid_t *groups;
    size_t ngroups;

    /* Sockets nrun bound in the host namespace for -p, already listening.
     * listen_ports[i] is the container port each one serves. */
    const int *listen_fds;
    const int *listen_ports;
    size_t n_listen;

    enum sv_mode mode;        /* AUTO: cluster when basename(argv[0]) is "node" */
    enum sv_balance balance;
    int workers;              /* 0 = from the cgroup CPU quota, else cpuset, else online CPUs */

    int log_dir_fd;           /* directory for the JSON-lines log (container.log + rotations); -1 = none.
                               * In a container an O_PATH fd (a detached mount, see launch.c): *at() calls
                               * only; reopen "." for getdents */
    unsigned long long log_max_size; /* 0 = default */
    int log_max_files;        /* 0 = default */
    bool echo_stdio;          /* also copy worker output raw to our stdout/stderr (foreground run) */
    bool pass_stdin;          /* run -i: slot 1's worker reads our stdin; every other worker (and
                               * slot 1 without it) gets /dev/null */

    int control_fd;           /* listening AF_UNIX socket for the control protocol; -1 = none */
    const char *runtime_dir;  /* writable dir visible to workers for the agent (e.g. /dev/.nrun) */

    int stop_signal;          /* signal sent to workers on stop (image STOPSIGNAL); 0 = SIGTERM */
    int stop_timeout_ms;      /* then SIGKILL */
    int drain_timeout_ms;     /* reload/stop: disconnect, then SIGTERM after this */
    int kill_timeout_ms;      /* then SIGKILL after this */
    bool wait_ready;          /* reload waits for process.send('ready') instead of listening */
    unsigned long long max_memory; /* per-worker RSS that triggers a graceful replacement; 0 = off */
    int crash_loop_max;       /* restarts within crash_loop_window_ms that end the container */
    int crash_loop_window_ms;

    /* Added by the supervisor issue (sv_config_init fills them). */
    int backoff_base_ms;      /* first restart delay; doubles per quick crash (jitter +-20%) */
    int backoff_max_ms;       /* cap of the restart delay */
    int stable_ms;            /* uptime after which a worker's backoff starts over */
    int heartbeat_timeout_ms; /* cluster: no agent ping for this long = hung, replaced; 0 = off */
    int listen_timeout_ms;    /* reload: a new worker that does not listen/ready by then fails it */
    bool restart_single;      /* single mode: restart a process that fails (else its exit ends the container) */
    unsigned long long log_rate; /* per-worker log bytes/s kept; beyond it bytes are dropped and counted; 0 = no limit */

    /* HEALTHCHECK (health.c), run as docker runs it.  health_test: the Test
     * array as JSON text (["CMD",...] or ["CMD-SHELL","line"]), malloc'd, NULL =
     * none; durations 0 = docker's defaults (30s, 30s, 0, 5s), retries 0 = 3. */
    char *health_test;
    bool health_off;          /* --no-healthcheck */
    int health_interval_ms, health_timeout_ms, health_start_period_ms, health_start_interval_ms;
    int health_retries;
    bool reload_unhealthy;    /* --on-unhealthy reload: a rolling reload when the container turns unhealthy */
    /* --hang-report: a hung worker's stack and diagnostic report go to its log (agent.js) */
    bool hang_report;
    /* Observability (issue 15). */
    char metrics_addr[72];    /* "[IP:]PORT" of the Prometheus /metrics listener PID 1 serves; "" = none */
    bool no_agent;            /* do not preload the agent (no heartbeat, metrics, log level: for benchmarks) */
    char log_level[8];        /* initial level of the workers' console: debug|info|warn|error ("" = all) */
    char revision[33];        /* --revision (nrun deploy's): a label of every metric, a field of every log line */

    /* Called in each forked worker just before exec, after the supervisor's own
     * setup (process group, PDEATHSIG, fds, uid/gid): the runtime drops
     * capabilities and installs seccomp here.  Returns < 0 to abort the exec. */
    int (*worker_prepare)(void *arg);
    void *worker_prepare_arg;
} sv_config;

/* --log-level / `nrun loglevel`: debug, info, warn or error. */
bool sv_log_level_valid(const char *level);
/* --metrics "[IP:]PORT" ("PORT" = every address); ss/len may be NULL (just check). */
int sv_metrics_parse_addr(const char *v, struct sockaddr_storage *ss, socklen_t *len, nr_err *err);

/* Fill defaults (everything not set by the caller). */
void sv_config_init(sv_config *cfg);
/* Free what sv_opt_apply allocated in cfg (health_test). */
void sv_config_fini(sv_config *cfg);

/* Run until the container ends; returns its exit code (128+signal when the
 * app was killed).  Expects to be PID 1 or a child subreaper. */
int sv_run(const sv_config *cfg);

#endif
