/* Internals shared by the supervisor's files (not for the runtime: it sees
 * only supervisor.h).  One process, one thread, one event loop: every
 * structure here is touched only from loop callbacks, so nothing is locked.
 *
 *   loop.c        epoll + signalfd + timerfd, fd watches and one-shot timers
 *   supervisor.c  sv_run: setup, signals, reaping, exit code, stop
 *   worker.c      fork/exec of a worker, its exit, restart policy
 *   cluster_ipc.c Node's cluster protocol on NODE_CHANNEL_FD
 *   balance.c     listening sockets, accept, hand-off (rr / leastconn)
 *   reload.c      replace one worker, rolling reload, scale, drain
 *   logs.c        worker pipes -> JSON lines, rotation, echo
 *   control.c     the control socket (JSON lines)
 *   stats.c       per-worker /proc sampling, memory and heartbeat checks
 *   resolve.c     what a command runs: npm/yarn/pnpm scripts, sh -c, tini, dumb-init,
 *                 docker-entrypoint.sh unwrapped down to `node ...` (cluster) or not */
#ifndef SV_INTERNAL_H
#define SV_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/util.h"
#include "runtime/supervisor/supervisor.h"

/* ---- loop.c ---- */
typedef void (*sv_io_fn)(void *arg, uint32_t events);
typedef struct sv_watch {
    int fd;
    sv_io_fn fn; /* NULL once removed: a stale event in the same batch is ignored */
    void *arg;
    uint32_t events;
    bool added;
} sv_watch;

typedef struct sv_timer {
    uint64_t due_ms;
    void (*fn)(void *arg);
    void *arg;
    bool armed;
    struct sv_timer *next, *prev;
} sv_timer;

uint64_t sv_now_ms(void);
int sv_loop_init(nr_err *err);
void sv_loop_fini(void);
int sv_watch_add(sv_watch *w, int fd, uint32_t events, sv_io_fn fn, void *arg);
int sv_watch_mod(sv_watch *w, uint32_t events);
void sv_watch_del(sv_watch *w);
void sv_timer_start(sv_timer *t, uint64_t delay_ms, void (*fn)(void *), void *arg);
void sv_timer_stop(sv_timer *t);
/* Wait for events and dispatch them once; signals go to `on_signal`. */
int sv_loop_once(void (*on_signal)(int sig), nr_err *err);

/* ---- shared state ---- */
#define SV_MAX_KEYS 8       /* listening keys per worker */
#define SV_MAX_UDP 64       /* shared dgram sockets, per worker and in all */
#define SV_INFLIGHT_MAX 32  /* connections handed over but not yet acked, per worker */
#define SV_MAX_SLOTS 256
#define SV_IPC_PARSE_MAX 65536 /* longest channel message PID 1 parses */
#define SV_IPC_OUT_MAX (1 << 20) /* answers waiting for a worker past which its channel is not read */
#define SV_LINE_MAX 16384   /* a log line longer than this is split */

typedef struct sv_listener {
    char *key;              /* Node's "<address>:<port>:<addressType>:<fd>" */
    int fd;
    int port;
    char sockname[192];     /* JSON object for the queryServer ack */
    sv_watch w;
    bool armed;             /* EPOLLIN wanted (off while no worker can take a connection) */
    bool udp;               /* a dgram socket the workers share: never armed, nothing accepted */
    int holders;            /* udp: the workers that hold it now */
    unsigned rr_next;
    uint64_t accepted;
    struct sv_listener *next;
} sv_listener;

enum sv_wstate {
    SV_W_STARTING, /* forked, not listening yet */
    SV_W_UP,       /* receives connections (cluster) or just runs (single) */
    SV_W_DRAINING, /* no new connections; waiting for its connections to end */
    SV_W_STOPPING, /* signalled, waiting for exit */
    SV_W_DEAD,
};

typedef struct sv_stream {
    struct sv_worker *w;
    const char *name;       /* "stdout" / "stderr" */
    sv_watch watch;
    int fd;
    size_t len;
    bool skip_line;         /* the rate limit dropped part of this line: drop the rest too */
    char line[SV_LINE_MAX];
} sv_stream;

typedef struct sv_inflight {
    uint32_t seq;
    int fd;
    sv_listener *lis;
    uint64_t sent_ms;
} sv_inflight;

/* A worker that has not acked a hand-off for this long gets no new
 * connection until it does (busy or hung: the others take the load). */
#define SV_ACK_LATE_MS 500

/* What the agent reports (metrics.c), checked and bounded. */
#define SV_HIST_N 12    /* latency buckets, the last one +Inf */
#define SV_REQ_KEYS 32  /* method/code pairs kept per worker */
#define SV_METHOD_MAX 12
typedef struct sv_wmetrics {
    bool have, have_el;
    struct {
        char method[SV_METHOD_MAX];
        int code;
        uint64_t n;
    } req[SV_REQ_KEYS];
    int nreq;
    uint64_t req_overflow;
    uint64_t hist[SV_HIST_N], count, errors;
    double sum, gc, el[3];
    uint64_t inflight, bytes, heap, handles;
    uint64_t win_ms;        /* when this batch came */
    double rps, err_rate, p99; /* over the window since the batch before */
} sv_wmetrics;

typedef struct sv_worker {
    int slot;               /* 1..N, the "worker" field of log lines */
    int id;                 /* NODE_UNIQUE_ID, unique per spawn */
    pid_t pid;
    enum sv_wstate state;
    bool cluster;           /* has the Node IPC channel */
    bool listened;          /* sent act:listening at least once */
    bool ready;             /* sent 'ready' */
    bool replacing;         /* a replacement is on its way; drain when it is up */
    bool expected_exit;     /* drained/stopped/scaled: not a crash */
    bool reaped;
    int status;             /* waitpid status once reaped */
    int ipc_fd;
    sv_watch ipc_w;
    nr_buf ipc_in;
    nr_buf ipc_out;         /* pending plain messages (no fd) */
    size_t ipc_out_off;
    bool ipc_eof;
    bool ipc_skip;          /* dropping the rest of an over-long line */
    sv_stream out, err;
    uint64_t log_window_ms; /* rate limit window start */
    uint64_t log_window_bytes;
    uint64_t dropped;       /* log bytes dropped, not reported yet */
    struct {
        sv_listener *lis;
        int index;           /* the worker's own index for this key (Node's indexes map) */
    } subs[SV_MAX_KEYS];
    int nsubs;
    sv_listener *udp[SV_MAX_UDP]; /* the shared dgram sockets it holds (a bind each) */
    int nudp;
    bool disconnect_sent;
    bool heard;             /* it has written on its channel (a lazy `node -e` may never open it) */
    bool restart_after_exit; /* single mode reload / memory limit: start again whatever the code */
    sv_inflight inflight[SV_INFLIGHT_MAX];
    int ninflight;
    uint32_t seq;
    uint64_t handed, closed; /* connections handed over / reported closed by the agent */
    uint64_t started_ms, last_ping_ms;
    double lag_ms;
    unsigned long long cpu_ticks, cpu_prev_ticks;
    uint64_t cpu_prev_ms;
    double cpu_pct;
    unsigned long long rss;
    sv_timer drain_t, kill_t, listen_t;
    int replaces_id;        /* id of the worker this one replaces (reload), 0 = none */
    sv_wmetrics mx;
    struct sv_worker *next;
} sv_worker;

typedef struct sv_slot {
    int consec;             /* consecutive quick crashes, for the backoff */
    int restarts;
    sv_timer restart_t;
    bool restart_pending;
} sv_slot;

struct sv_ctl_client;

typedef struct sv_state {
    const sv_config *cfg;
    bool cluster;
    pid_t self;
    int target;             /* wanted number of workers */
    int next_id;
    sv_worker *workers;
    sv_listener *listeners;
    sv_slot slots[SV_MAX_SLOTS + 1];
    bool cluster_up;        /* the first worker listened: start the others, restart on crash */
    bool stopping;
    bool exiting;
    int exit_code;
    int spawn_code;         /* exit code of the last worker that could not exec (126/127) */
    sv_timer stop_t;
    uint64_t crash_times[64];
    int ncrash;
    int hangs;              /* workers killed for a missing heartbeat (alerts: `hang`) */
    int log_fd;             /* container.log, -1 = none */
    unsigned long long log_size;
    int echo_out, echo_err; /* own non-blocking descriptions of our stdout/stderr, -1 = none */
    int sys_err;            /* the same for the supervisor's own messages (always open) */
    char *agent_path;
    char **argv;            /* what the workers run: cfg->argv, or what it resolved to */
    char **envp;            /* their environment: cfg->envp (or ours) plus what the resolution adds */
    char *cwd;              /* their directory: cfg->cwd, or the npm workspace's it resolved to */
    char *mode_reason;      /* "npm start -> node server.js", "start script ...: uses '&&'" */
    bool mode_notable;      /* say it in the log too */
    bool node_eval;         /* `node -e|-p`: the agent connects the channel when needed */
    sv_timer tick_t;
    /* pending connections: accepted, not handed over (no worker could take them) */
    sv_inflight pending[256];
    int npending;
    /* rolling reload */
    bool reloading;
    int reload_list[SV_MAX_SLOTS]; /* worker ids, replaced one at a time */
    int reload_n, reload_i;
    struct sv_ctl_client *reload_client;
    int ctl_fd;
    sv_watch ctl_w;
    struct sv_ctl_client *clients;
    char log_level[8];      /* the workers' console level ("" = everything), `nrun loglevel` */
} sv_state;

extern sv_state *sv_g;

/* supervisor.c */
void sv_log_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sv_begin_stop(int sig);
void sv_fatal_exit(int code);
void sv_maybe_finish(void);

/* worker.c */
sv_worker *sv_worker_spawn(int slot, nr_err *err);
void sv_worker_signal(sv_worker *w, int sig);
void sv_worker_reaped(sv_worker *w, int status);
void sv_worker_schedule_restart(int slot);
int sv_live_workers(void);
sv_worker *sv_worker_by_pid(pid_t pid);
sv_worker *sv_worker_by_id(int id);
void sv_worker_signal_group(sv_worker *w, int sig);
int sv_cpu_count(void);
void sv_worker_gc(void);
void sv_worker_start_slot(int slot);
int sv_exit_code_of(int status);
/* In a forked child of PID 1 (a worker, the health check): default signal
 * dispositions and an empty mask, its own process group, killed with PID 1. */
void sv_child_reset(void);
/* The same child taking the workers' uid, gid and groups: -1 (errno) when refused. */
int sv_child_identity(const sv_config *cfg);
/* execve argv[0] searched in the PATH of `env` (returns only on failure) */
void sv_exec_in_path(char *const argv[], char **env);

/* health.c: the HEALTHCHECK, run by PID 1 as a child with the workers' identity */
void sv_health_start(void);
bool sv_health_reaped(pid_t pid, int status);
void sv_health_stop(void);
/* .State.Health as docker shows it (new reference), NULL when there is no healthcheck */
struct json_t *sv_health_json(void);

/* cluster_ipc.c */
int sv_ipc_send(sv_worker *w, const char *json);
int sv_ipc_send_fd(sv_worker *w, const char *json, size_t len, int fd);
void sv_ipc_on_event(void *arg, uint32_t events);
void sv_ipc_close(sv_worker *w);

/* balance.c */
sv_listener *sv_listener_get(const char *key, const char *address, int port, int addr_type, nr_err *err);
/* A dgram socket a worker binds (udp4/udp6): made once, bound by PID 1 and
 * handed to every worker that asks (Node's shared handle: the kernel spreads
 * the datagrams over the workers reading it).  flags: Node's bind flags
 * (UV_UDP_IPV6ONLY 1, UV_UDP_REUSEADDR 4). */
sv_listener *sv_udp_get(const char *key, const char *address, int port, bool v6, int flags, nr_err *err);
/* A worker let go of a shared dgram socket (closed it, or died). */
void sv_udp_release(sv_listener *l);
void sv_balance_worker_up(sv_worker *w, sv_listener *l);
void sv_balance_on_ack(sv_worker *w, uint32_t seq, bool accepted);
void sv_balance_worker_gone(sv_worker *w);
void sv_balance_rearm(void);
void sv_balance_close_all(void);
bool sv_worker_routable(const sv_worker *w);
uint64_t sv_worker_open_conns(const sv_worker *w);
/* The workers' filesystem identity for one file operation of PID 1
 * (-1: keep ours); sv_fsid_leave restores ours (aborts if it cannot). */
typedef struct sv_fs_ident {
    uid_t uid;
    gid_t gid;
} sv_fs_ident;
int sv_fsid_enter(uid_t uid, gid_t gid, sv_fs_ident *old, nr_err *err);
void sv_fsid_leave(const sv_fs_ident *old);

/* resolve.c: what `argv` really runs, read from the container's files (as
 * the workers' uid, inside the root, hostile input).  Never fails: when
 * the command does not end in a plain `node ...`, `node` is false, argv is
 * the command as given and `reason` says why. */
typedef struct sv_resolved {
    char **argv;   /* NULL-terminated, malloc'd */
    char **env;    /* NAME=value to set on top of the environment, NULL-terminated */
    bool node;     /* argv[0] is node */
    bool changed;  /* argv is not the command as given */
    bool notable;  /* resolved through a wrapper, or a node app's wrapper that could not be:
                    * worth a line in the log (a plain command gets none) */
    char *reason;  /* printable ASCII */
    char *cwd;     /* where it runs when not the configured directory (an npm workspace's), or NULL */
} sv_resolved;
void sv_resolve(char *const *argv, char *const *envp, const char *cwd, uid_t uid, gid_t gid, sv_resolved *out);
void sv_resolved_free(sv_resolved *r);
bool sv_argv0_is_node(const char *a);
/* Split a shell command line that is one simple command (words, quotes,
 * backslashes, leading NAME=value assignments) into words; NULL when it
 * uses anything else (operators, expansions, globs, redirections), with
 * *why naming it.  assigns[i] says word i is an assignment. */
char **sv_shell_split(const char *line, bool **assigns, const char **why);

/* reload.c */
void sv_replace_worker(sv_worker *old);
void sv_drain_worker(sv_worker *w);
/* Stop signal to its group now, SIGKILL after the kill timeout. */
void sv_worker_terminate(sv_worker *w);
void sv_worker_now_up(sv_worker *w);
/* --wait-ready: a worker that listened serves after --listen-timeout without 'ready' (not a replacement). */
void sv_wait_ready_arm(sv_worker *w);
void sv_reload_start(struct sv_ctl_client *c);
void sv_reload_worker_failed(sv_worker *w);
void sv_scale(int n);
void sv_drain_check(sv_worker *w);

/* logs.c */
int sv_logs_open(nr_err *err);
void sv_logs_attach(sv_worker *w, int out_fd, int err_fd);
void sv_logs_detach(sv_worker *w);
void sv_logs_flush_stream(sv_stream *s);
void sv_logs_write(int slot, pid_t pid, const char *stream, const char *msg, size_t len);
void sv_logs_report_drops(void);
/* JSON string body of in[0..n) into out (room for 6*n bytes); invalid UTF-8 -> U+FFFD. */
size_t sv_json_escape(char *out, const char *in, size_t n);

/* control.c */
int sv_control_init(int fd);
void sv_control_reply(struct sv_ctl_client *c, const char *json);
void sv_control_client_gone(struct sv_ctl_client *c);
void sv_control_fini(void);

/* metrics.c */
struct json_t;
void sv_metrics_report(sv_worker *w, const struct json_t *m);
char *sv_metrics_text(size_t *len);
int sv_metrics_init(nr_err *err);
void sv_metrics_fini(void);
/* dye.c: request dyeing rules and the dye log */
char *sv_dye_control(const struct json_t *req);
void sv_dye_record(sv_worker *w, const struct json_t *m);
void sv_dye_worker_heard(sv_worker *w);
bool sv_dye_active(void);
/* control.c: `nrun loglevel` -> every cluster worker now, NRUN_LOG_LEVEL for those started later */
void sv_loglevel_set(const char *level);

/* stats.c */
void sv_stats_sample(void);
void sv_stats_check(void);
char *sv_stats_json(bool workers_only);

#endif
