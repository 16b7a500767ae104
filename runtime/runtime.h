/* The container runtime.  One description of a container: an OCI runtime-spec
 * config.json in containers/<id>/ (spec.c builds it from an image config and
 * the run flags, and parses it back, validating it as hostile input).  The
 * launch code (launch.c) reads only that description: it creates the cgroups
 * (cgroup.c), binds the published ports, clones into new namespaces, builds
 * the root filesystem and mounts (mounts.c), drops privileges (security.c,
 * seccomp.c) and runs the supervisor as PID 1 (or pid1.c's minimal init while
 * the supervisor is not linked).  state.c keeps containers/<id>/state.json. */
#ifndef RT_RUNTIME_H
#define RT_RUNTIME_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "runtime/lockdown.h"

#define RT_MAX_CAPS 64

typedef struct rt_mount {
    char *dest, *type, *source;
    unsigned long flags;      /* MS_* from the options */
    unsigned long prop;       /* MS_PRIVATE/... requested, 0 = none */
    char *data;               /* the remaining options, comma separated */
    bool bind, rdonly;
    bool copyup;              /* "nrun-copyup": an empty volume gets the image's content at dest */
} rt_mount;

typedef struct rt_rlimit {
    int resource;
    unsigned long long soft, hard;
} rt_rlimit;

typedef struct rt_port {
    char addr[64];            /* "" = all addresses */
    int host_port, ctr_port;  /* host_port 0: any free one */
    bool udp;
} rt_port;

/* A device node of --device (linux.devices, its access from linux.resources.devices). */
typedef struct rt_device {
    char *path;               /* canonical, below /dev (rt_device_path_refused) */
    char type;                /* 'c' or 'b' */
    unsigned major, minor, mode;
    uid_t uid;
    gid_t gid;
    char access[4];           /* a subset of "rwm"; "" = never allowed */
} rt_device;

/* The parsed config.json: everything the launch code needs, nothing else. */
typedef struct rt_spec {
    /* process */
    char **args, **env;
    char *cwd;
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    size_t ngroups;
    bool terminal, no_new_privs;
    uint64_t caps;            /* bit n = capability n (bounding = effective = permitted) */
    rt_rlimit *rlimits;
    size_t nrlimits;
    /* root */
    char *root_path;          /* absolute: the rootfs dir, or the overlay mount point */
    bool root_readonly;
    char *hostname;
    rt_mount *mounts;
    size_t nmounts;
    /* linux */
    bool ns_net;              /* false: share the host network namespace */
    bool net_lo_up;
    char **masked, **readonly;
    size_t nmasked, nreadonly;
    long long mem_limit;      /* bytes, 0 = none */
    long long cpu_quota, cpu_period;
    long long pids_limit;     /* 0 = none */
    char *cpuset_cpus;
    char *seccomp_json;       /* linux.seccomp re-serialised canonically; NULL = unconfined */
    /* annotations (org.nrun.*) */
    char *overlay_layers_dir; /* dir holding the lower layers, NULL = plain rootfs */
    char **overlay_lower;     /* names relative to overlay_layers_dir, top first */
    size_t noverlay_lower;
    char *overlay_upper, *overlay_work; /* absolute */
    bool overlay_volatile;    /* mount with "volatile": no sync of the upper fs (see mounts.c) */
    bool etc_files;           /* org.nrun.etc-files: generate /etc/hostname, hosts, resolv.conf (mounts.c) */
    int stop_signal;
    rt_port *ports;
    size_t nports;
    char *networks;           /* org.nrun.networks (JSON list): attach through CNI (net.c); NULL = none */
    char *net_join;           /* org.nrun.net-join: the container (id) whose network namespace it joins */
    char *net_etc;            /* set by the launch: "HOSTS-LINES\0RESOLV" from the network (mounts.c) */
    char **sysctl_keys, **sysctl_vals; /* linux.sysctl, checked by rt_sysctl_refused (sysctl.c) */
    rt_device *devices;       /* --device */
    size_t ndevices;
    size_t nsysctl;
    /* supervisor pass-through */
    int sv_workers, sv_balance, sv_mode;
    char **sv_opts;           /* "--opt=value" from org.nrun.supervisor.* (checked by sv_opt_apply) */
    size_t nsv_opts;
    /* docker run's --add-host, --dns*, --domainname, --oom-score-adj, --cpu-shares,
     * --memory-swap, --memory-reservation */
    char *domainname;
    bool oom_score_adj_set;
    int oom_score_adj;
    long long cpu_shares, mem_swap, mem_reservation; /* 0 = unset; mem_swap -1 = unlimited */
    char *extra_hosts;        /* org.nrun.extra-hosts: "IP\tNAME\n" lines; IP may be host-gateway (mounts.c) */
    char **dns, **dns_search, **dns_options; /* org.nrun.dns.*: NULL = the network's (or host's) */
    size_t ndns, ndns_search, ndns_options;
} rt_spec;

/* Flags of `nrun run` that shape the spec (spec.c). */
typedef struct rt_run_opts {
    const char *name, *hostname, *user, *workdir, *entrypoint;
    bool entrypoint_set;
    char **env;               /* K=V from -e / --env-file, in order */
    size_t nenv;
    char **cmd;               /* CMD... after the image */
    size_t ncmd;
    char **volumes;           /* -v specs as given */
    char **tmpfs;             /* DEST[:size=N[k|m|g]][,mode=OCTAL]: a tmpfs (RUN --mount=type=tmpfs) */
    size_t ntmpfs;
    size_t nvolumes;
    char **ports;             /* -p specs */
    size_t nports;
    char **cap_add, **cap_drop;
    size_t ncap_add, ncap_drop;
    char **security_opt;
    size_t nsecurity_opt;
    const char *net;          /* a network name (default "bridge"), "host", "none" */
    char **net_aliases;       /* --network-alias */
    size_t nnet_aliases;
    const char *ip;           /* --ip: this IPv4 address on the (user) network */
    bool publish_all;         /* -P */
    bool read_only, tty;
    bool ephemeral;           /* --rm: the upper layer is deleted at the end, never reused */
    long long memory, cpu_quota, cpu_period, pids_limit;
    const char *cpuset;
    int workers, balance, mode;
    char **sv_opts;           /* supervisor tuning, "--opt=value" (--max-memory, --wait-ready, ...) */
    size_t nsv_opts;
    /* docker's mount and limit flags, as given (spec_flags.c) */
    char **mounts;            /* --mount type=bind|volume|tmpfs,... */
    size_t nmounts;
    char **run_tmpfs;         /* --tmpfs DEST[:OPTS]: docker's options and defaults (noexec,nosuid,nodev) */
    size_t nrun_tmpfs;
    long long shm_size;       /* --shm-size: bytes of /dev/shm, 0 = 64m */
    char **ulimits;           /* --ulimit NAME=SOFT[:HARD] */
    size_t nulimits;
    char **sysctls;           /* --sysctl K=V */
    size_t nsysctls;
    char **devices;           /* --device HOST[:CTR[:PERMS]] */
    size_t ndevices;
    /* docker run compatibility: each checked by the CLI (cli/run.c) and again here */
    char **extra_hosts;       /* --add-host NAME:IP (IP may be host-gateway) */
    size_t nextra_hosts;
    char **dns, **dns_search, **dns_options;
    size_t ndns, ndns_search, ndns_options;
    const char *domainname;
    int stop_signal;          /* --stop-signal, 0 = the image's */
    char **expose;            /* --expose PORT[-PORT][/proto]: more ports for -P */
    size_t nexpose;
    char **group_add;         /* --group-add GID|NAME (names from the image's /etc/group) */
    size_t ngroup_add;
    bool oom_score_adj_set;
    int oom_score_adj;
    long long cpu_shares, memory_swap, memory_reservation; /* 0 = unset; memory_swap -1 = unlimited */
    const char *log_driver;   /* --log-driver as given (inspect's LogConfig) */
} rt_run_opts;

/* userns.c --------------------------------------------------------------- */
/* Rootless: enter a new user namespace (the caller = uid 0 there, its
 * subuid/subgid range = 1..N, or the caller alone without one) and a new
 * mount namespace, in this process, which must be single-threaded.  Runs
 * newuidmap/newgidmap for a range. */
typedef struct rt_userns_info {
    bool ranged;               /* a subuid and subgid range is mapped */
    unsigned long uid_count, gid_count;
} rt_userns_info;
int rt_userns_enter(rt_userns_info *info, nr_err *err);
/* The first range of user `name` (or numeric `id`) in the text of a
 * subuid/subgid file ("who:start:count" lines; text is modified): 1 found
 * (a range that fits in 32 bits, count > 0), 0 none.  Malformed lines are
 * skipped, as shadow's tools skip them. */
int rt_subid_range(char *text, const char *name, unsigned long id, unsigned long *start, unsigned long *count);

/* spec.c ------------------------------------------------------------------ */
/* Build config.json text from an image config (the "config" object of an OCI
 * image config, may be NULL) and the run options.  rootfs_* describe where
 * the rootfs comes from.  The image's /etc/passwd and /etc/group are read
 * through etc_dirfd (an fd of the merged view or the top layer, -1 = none). */
typedef struct rt_rootfs_desc {
    const char *root_path;    /* absolute path of the rootfs/mount point */
    const char *layers_dir;   /* NULL = root_path is a plain directory */
    char **lower;             /* layer dir names, top first */
    size_t nlower;
    const char *upper, *work;
} rt_rootfs_desc;
struct json_t;
typedef struct rt_user {
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    size_t ngroups;
    char home[256]; /* from passwd; "" when the user has no entry */
} rt_user;
/* USER as name|uid[:group|gid] looked up in passwd/group texts (either may be
 * NULL; both are modified).  Supplementary groups: the primary one and every
 * group that lists the user.  u->groups is malloc'd. */
int rt_user_resolve(const char *spec, char *passwd, char *group, rt_user *u, nr_err *err);
/* --oom-score-adj: this process's (and so its children's) OOM score adjustment */
int rt_oom_score_adj_apply(int adj, nr_err *err);
/* --group-add: GIDs or names of `group` (the image's /etc/group text, may be
 * NULL) appended to u->groups. */
int rt_groups_add(rt_user *u, char **names, size_t n, const char *group, nr_err *err);
/* Returns the config.json text (malloc'd).  img_config may be NULL. */
int rt_spec_build(const struct json_t *img_config, const rt_run_opts *o, const rt_rootfs_desc *rf,
                  const rt_user *u, const char *store_root, const char *ctr_dir, char **json_out,
                  nr_err *err);
/* --expose PORT[-PORT][/tcp|udp]: its "PORT/proto" keys set in the object `set` */
int rt_expose_parse(const char *spec, struct json_t *set, nr_err *err);
int rt_spec_parse(const char *json, size_t len, rt_spec *s, nr_err *err);
void rt_spec_free(rt_spec *s);
int rt_spec_load(int dirfd, const char *name, rt_spec *s, nr_err *err);
/* In the calling process (a child made for it): a new private mount
 * namespace, and the container's overlay mounted on s->root_path there, as
 * run mounts it -- nothing shows on the host, and it is gone when the
 * process ends (cp of a stopped container). */
int rt_rootfs_mount_private(const rt_spec *s, nr_err *err);

/* NRUN_TIMING=1: print a phase timestamp on stderr. */
void rt_timing(const char *what);
/* Capability names ("CAP_CHOWN" or "chown") <-> numbers. */
int rt_cap_from_name(const char *name);
const char *rt_cap_name(int cap);
uint64_t rt_caps_default(void);

/* cgroup.c ---------------------------------------------------------------- */
enum rt_cg_mode { RT_CG_V1, RT_CG_HYBRID, RT_CG_V2 };
typedef struct rt_cgroup {
    enum rt_cg_mode mode;
    char *paths[8];           /* absolute dirs this container owns (v1: one per controller) */
    char *ctrl[8];            /* controller name per path ("unified" for v2) */
    size_t n;
} rt_cgroup;
enum rt_cg_mode rt_cgroup_detect(void);
int rt_cgroup_create(const char *id, const rt_spec *s, rt_cgroup *cg, nr_err *err);
int rt_cgroup_add(const rt_cgroup *cg, pid_t pid, nr_err *err);
/* Kill what is left and rmdir; retries while the kernel is still tearing down. */
/* The groups rt_cgroup_create would make for id, made or not: for removing
 * those of a container whose nrun died before it recorded them. */
void rt_cgroup_guess(const char *id, rt_cgroup *cg);
int rt_cgroup_destroy(const rt_cgroup *cg, nr_err *err);
bool rt_cgroup_oom_killed(const rt_cgroup *cg);
/* `nrun pause`: freeze (or thaw) every process of the container through v1's
 * freezer group or v2's cgroup.freeze, and wait until the kernel has; and
 * whether it is frozen now.  rt_cgroup_destroy thaws before it kills. */
int rt_cgroup_freeze(const rt_cgroup *cg, bool freeze, nr_err *err);
bool rt_cgroup_frozen(const rt_cgroup *cg);
void rt_cgroup_free(rt_cgroup *cg);
/* Serialise to/from a JSON array of paths (kept in state.json). */
struct json_t *rt_cgroup_to_json(const rt_cgroup *cg);
void rt_cgroup_from_json(const struct json_t *a, rt_cgroup *cg);
/* A device rule as in v1's devices.allow: type 'c', 'b' or 'a' (all), major
 * and minor -1 for '*', access a subset of "rwm". */
typedef struct rt_dev_rule {
    char type;
    int major, minor;
    const char *access;
} rt_dev_rule;
/* cgroup_bpf.c: v2 has no devices.allow; attach a BPF program to the group
 * dir that allows exactly these rules and denies the rest. */
int rt_cgroup_bpf_devices(const char *dir, const rt_dev_rule *rules, size_t n_rules, nr_err *err);

/* mounts.c ---------------------------------------------------------------- */
/* In the child, in its new mount namespace: build the rootfs and pivot_root. */
int rt_mounts_setup(const rt_spec *s, nr_err *err);
/* After pivot_root: masked and read-only paths, read-only root. */
int rt_mounts_finish(const rt_spec *s, nr_err *err);

/* sysctl.c, spec_flags.c --------------------------------------------------- */
/* After pivot_root, before /proc/sys is made read-only: write linux.sysctl
 * through the container's own /proc/sys (its namespaces, never the host's). */
int rt_sysctls_apply(const rt_spec *s, nr_err *err);
/* --ulimit NAME=SOFT[:HARD] (docker's names; -1 or "unlimited" = no limit):
 * the RLIMIT_* name and values; checked against what this process may set. */
int rt_ulimit_parse(const char *spec, const char **rname, unsigned long long *soft, unsigned long long *hard,
                    nr_err *err);
/* One --mount as docker's inspect shows it in HostConfig.Mounts ({Type,
 * Source, Target, ReadOnly, ...}); NULL when it does not parse. */
struct json_t *rt_mount_flag_json(const char *spec);

/* security.c -------------------------------------------------------------- */
int rt_rlimits_apply(const rt_spec *s, nr_err *err);
/* Right before exec of a container process: caps for uid, then seccomp. */
int rt_security_exec(const rt_spec *s, uid_t uid, nr_err *err);
int rt_user_switch(const rt_spec *s, nr_err *err);
/* Block and queue the signals a foreground nrun forwards (before launching). */
void rt_forward_block(void);
/* CVE-2019-5736: re-execute this program from a sealed memfd copy (back
 * to main() with the same arguments); returns 0 once it runs from one.
 * Every entry into a running container (nrun exec) does this first. */
int rt_reexec_sealed(nr_err *err);
/* Inside a container: nrun's own dir in its /dev tmpfs (the worker agent,
 * the generated /etc/hostname, hosts, resolv.conf). */
#define RT_CTR_RUN_DIR "/dev/.nrun"
/* What a child says on a sync pipe ("OK" or "E<message>"), read until it
 * closes its end (at most cap - 1 bytes), NUL-terminated; fd is closed. */
size_t rt_sync_read(int fd, char *buf, size_t cap);
/* PID 1's program as an fd for execveat (init_exe.c): a sealed memfd copy. */
int rt_init_exe(nr_err *err);
/* Execute PID 1's program `exe` with ic in a memfd; sync_fd (-1: none) gets
 * its "OK".  The fds ic names stay open across the exec.  Returns only on
 * failure, with err set. */
struct rt_initcfg;
void rt_init_exec(int exe, const struct rt_initcfg *ic, int sync_fd, char **envp, nr_err *err);
/* CVE-2024-21626: close every fd >= 3 except keep[]. */
int rt_close_fds_except(const int *keep, size_t n);

/* seccomp.c --------------------------------------------------------------- */
/* The default profile as an OCI linux.seccomp object. */
struct json_t *rt_seccomp_default(void);
/* A Docker profile file -> OCI linux.seccomp (includes/excludes by caps resolved). */
struct json_t *rt_seccomp_from_docker(const char *path, uint64_t caps, nr_err *err);
/* Compile (or load from <cache_dir>/seccomp/<sha256>.bpf) and install. */
int rt_seccomp_install(const char *profile_json, int cache_dirfd, nr_err *err);
/* Compile into the cache without installing (called on the host before clone). */
int rt_seccomp_prepare(const char *profile_json, int cache_dirfd, void **prog, nr_err *err);
int rt_seccomp_load(void *prog, nr_err *err);
/* The compiled program's bytes (struct sock_filter[]); 0 when prog is NULL. */
size_t rt_seccomp_bytes(void *prog, const void **data);

/* launch.c ---------------------------------------------------------------- */
typedef struct rt_launch_io {
    int stdin_fd, stdout_fd, stderr_fd; /* -1 = inherit */
    bool echo_stdio;
    bool pass_stdin;          /* run -i: the app reads the inherited stdin (else /dev/null) */
    int console_sock;         /* >= 0 with process.terminal: the pty master is sent here */
} rt_launch_io;
typedef struct rt_proc {
    pid_t pid;                /* host pid of the container's PID 1 */
    unsigned long long start_time;
    rt_cgroup cg;
    char *net_root, *net_id;  /* attached to networks: detached by rt_launch_cleanup */
    int *port_hold;           /* bound host ports held while it runs (net.c) */
    size_t nport_hold;
} rt_proc;
/* Launch containers/<id> (reads its config.json); returns once PID 1 runs the
 * app.  The caller waits for p->pid and then calls rt_launch_cleanup. */
int rt_launch(const char *store_root, const char *id, const rt_launch_io *io, rt_proc *p, nr_err *err);
void rt_launch_cleanup(rt_proc *p);

/* pid1.c ------------------------------------------------------------------ */
struct sv_config;
int rt_pid1_fallback(const struct sv_config *cfg);
/* The last of INT, TERM, HUP, QUIT that rt_wait_forward passed on (0:
 * none): a caller that must know it was asked to stop (nbuild) resets and
 * reads it. */
extern volatile sig_atomic_t rt_stop_forwarded;
/* Wait for pid while forwarding the usual signals to it; returns its exit code (128+sig). */
int rt_wait_forward(pid_t pid);
/* The same, calling tick(arg) about every second while it waits (the
 * foreground monitor's health poll); a signal waits for a tick to end. */
int rt_wait_forward_tick(pid_t pid, void (*tick)(void *), void *arg);

/* tty.c ------------------------------------------------------------------- */
int rt_send_fd(int sock, int fd);
int rt_recv_fd(int sock);
/* In the container: a pty from its devpts, the master sent over console_sock,
 * the slave (our controlling terminal now) returned.  Needs setsid() first. */
int rt_pty_open_slave(int console_sock, nr_err *err);
/* The container's log of what a terminal shows (attach.c): JSON lines of
 * the supervisor's shape, stream stdout, rotated by the container's
 * --log-max-size/--log-max-files; a -t container has no supervisor reading
 * its stdio.  Never NULL; a store it cannot open logs nothing. */
typedef struct rt_ttylog rt_ttylog;
rt_ttylog *rt_ttylog_open(const char *store_root, const char *id, int pid);
void rt_ttylog_feed(rt_ttylog *l, const char *p, size_t n);
void rt_ttylog_close(rt_ttylog *l); /* logs a last line without its end */
/* Relays the caller's terminal and the container's pty; what the pty shows
 * goes to log too (NULL: nowhere). */
void rt_tty_relay(int master, pid_t pid, rt_ttylog *log);
/* The relay's pieces, shared with `nrun attach`.  Our terminal (fd 0) in raw
 * mode: true when done, then *saved is what to restore.  A signalfd for the
 * signals a relay handles (those it forwards, and SIGWINCH), blocked first. */
struct termios;
bool rt_tty_raw(struct termios *saved);
int rt_tty_signalfd(void);
/* Wait for the relay's next event, in p[0..2]: p[0] the container side `peer`, p[1] our
 * stdin (while in_open), p[2] the signalfd.  -1 when poll fails, else the
 * signal read from sfd (0: none); the other revents are in p. */
struct pollfd;
int rt_tty_wait(struct pollfd *p, int peer, bool in_open, int sfd);
/* attach.c: a detached -t container's pty, served on containers/<id>/attach.sock
 * (0600, SO_PEERCRED-checked) until the app closes it; see attach.c for the bytes. */
char *rt_attach_path(const char *store_root, const char *id);
void rt_attach_serve(const char *store_root, const char *id, int master, int pid);

/* state.c ----------------------------------------------------------------- */
typedef struct rt_state {
    char id[65];
    char *name, *image, *command;
    const char *status;       /* "created", "running", "restarting", "exited" */
    pid_t pid, monitor_pid;
    unsigned long long monitor_start; /* the monitor's start time: a reused pid is not it */
    unsigned long long start_time;
    int exit_code;
    bool oom_killed;
    long long created, started, finished; /* unix seconds */
    long long created_ns;                  /* and the nanoseconds of created (orders ps) */
    bool auto_remove;                      /* --rm: removed when it ends */
    int restart_count;
    struct json_t *cgroups;   /* array of paths */
} rt_state;
int rt_state_read(const char *store_root, const char *id, rt_state *st, nr_err *err);
/* Replace dirfd/name atomically (temp + rename, no fsync: see state.c). */
int rt_write_file(int dirfd, const char *name, const char *text, mode_t mode, nr_err *err);
int rt_state_write(const char *store_root, const rt_state *st, nr_err *err);
void rt_state_free(rt_state *st);
/* A pidfd of the container's init, checked to be it still (not a reused
 * pid); -1 when it is gone. */
int rt_state_pidfd(const rt_state *st);
/* Is pid still the process that had start_time? */
bool rt_pid_alive(pid_t pid, unsigned long long start_time);
unsigned long long rt_pid_start_time(pid_t pid);
/* A container name as docker takes it ([a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128). */
int rt_ctr_name_check(const char *name, nr_err *err);
/* Resolve a name, full id or unique id prefix to the full id. */
int rt_container_find(const char *store_root, const char *ref, char id[65], nr_err *err);
/* rt_container_find, then its state (rt_state_free it). */
int rt_container_state(const char *store_root, const char *ref, char id[65], rt_state *st, nr_err *err);
/* List ids of every container. */
int rt_container_list(const char *store_root, char ***ids, size_t *n, nr_err *err);
char *rt_ctr_dir(const char *store_root, const char *id);
/* The largest config.json nrun reads back. */
#define RT_CONFIG_MAX (4 << 20)
/* A new container's directory with upper, work, merged and logs (recycled
 * from containers/.free when one is there): its fd, or -1. */
int rt_ctr_dir_make(const char *store_root, const char *id, nr_err *err);
/* Remove a container's directory (already renamed out of the list to path),
 * or keep its emptied skeleton for a later rt_ctr_dir_make. */
int rt_ctr_dir_discard(const char *store_root, const char *path, const char *id, nr_err *err);
/* The container's start lock: an flock on its directory, held by the nrun
 * that launches it until its state says running (or the launch failed), and
 * by `rm` while it stops and removes it, so a remove never runs between a
 * launch's cgroups and the state that names them.  A killed holder lets go
 * with its last fd.  Waits up to 30 s; the fd (close it to let go), or -1
 * when the container is gone (ENOENT) or still held. */
int rt_ctr_lock(const char *store_root, const char *id, nr_err *err);
/* Is the nrun that runs (and would restart or remove) this container alive? */
bool rt_state_monitor_alive(const rt_state *st);
/* Remove a --rm (or build step) container whose nrun died: true when it
 * did (st is freed then).  rt_orphans_remove does it for every container. */
bool rt_state_orphan_removed(const char *root, rt_state *st);
/* build_steps: also end the build steps (image RT_BUILD_STEP_IMAGE) whose
 * nbuild is dead, then remove them. */
void rt_orphans_remove(const char *root, bool build_steps);
#define RT_BUILD_STEP_IMAGE "(build step)"
/* A status string honest about a dead init: running only while pid+start time match. */
const char *rt_state_live_status(const rt_state *st);
/* A running container whose cgroup is frozen (`nrun pause`). */
bool rt_state_paused(const rt_state *st);

#endif
