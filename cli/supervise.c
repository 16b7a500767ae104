/* `nrun supervise [opts] -- CMD...`: the supervisor on the host, for tests and
 * for running an app without a container.  It does here what the runtime does
 * before calling sv_run as PID 1: binds the published ports, opens the log
 * dir and the control socket; and it makes itself a child subreaper so
 * orphans of the workers are re-parented to it, as they would be to PID 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/signal.h"
#include "runtime/init/initcfg.h"
#include "runtime/runtime.h"
#include "runtime/supervisor/options.h"
#include "runtime/supervisor/sv_internal.h"

extern char **environ;

static int bind_port(const char *spec, int *port_out, nr_err *err)
{
    char host[128] = "";
    const char *colon = strrchr(spec, ':');
    const char *p = spec;
    if (colon) {
        size_t hl = (size_t)(colon - spec);
        if (hl >= sizeof host)
            return nr_err_set(err, "-p %s: address too long", spec);
        memcpy(host, spec, hl);
        host[hl] = 0;
        p = colon + 1;
    }
    int port;
    if (sv_parse_int(p, 1, 65535, &port) < 0)
        return nr_err_set(err, "-p %s: expected [IP:]PORT", spec);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int family = AF_INET;
    if (*host && inet_pton(AF_INET, host, &a4.sin_addr) != 1) {
        if (inet_pton(AF_INET6, host, &a6.sin6_addr) != 1)
            return nr_err_set(err, "-p %s: %s is not an IP address", spec, host);
        family = AF_INET6;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return nr_err_sys(err, errno, "socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int r = family == AF_INET ? bind(fd, (struct sockaddr *)&a4, sizeof a4) : bind(fd, (struct sockaddr *)&a6, sizeof a6);
    if (r < 0 || listen(fd, 4096) < 0) {
        int e = errno;
        close(fd);
        return nr_err_sys(err, e, "bind port %s", spec);
    }
    *port_out = port;
    return fd;
}

static int sv_control_bind(const char *path, nr_err *err)
{
    struct sockaddr_un a;
    cleanup_close int keep = -1;
    if (nr_unix_addr(path, &a, &keep, err) < 0)
        return -1;
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return nr_err_set(err, "%s exists and is not a socket", path);
        unlink(path); /* stale socket of a previous run */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return nr_err_sys(err, errno, "socket");
    mode_t old = umask(0177);
    int r = bind(fd, (struct sockaddr *)&a, sizeof a);
    umask(old);
    if (r < 0 || listen(fd, 64) < 0) {
        int e = errno;
        close(fd);
        return nr_err_sys(err, e, "bind %s", path);
    }
    return fd;
}

/* Replace this process with nrun-init (a sealed memfd copy) running cfg.
 * NRUN_SUPERVISE_INPROCESS=1 keeps the supervisor inside nrun instead: the
 * sanitizer build uses that, as nrun-init is never built with sanitizers. */
static void exec_init(const sv_config *cfg, const char *control, nr_err *err)
{
    rt_initcfg ic;
    memset(&ic, 0, sizeof ic);
    ic.sv = *cfg;
    cleanup_free char *cwd = getcwd(NULL, 0);
    if (!cwd) {
        nr_err_sys(err, errno, "getcwd");
        return;
    }
    if (!ic.sv.cwd)
        ic.sv.cwd = cwd; /* workers start where we were started */
    cleanup_free char *abs_control = control && control[0] != '/' ? nr_xasprintf("%s/%s", cwd, control) : NULL;
    ic.control_path = abs_control ? abs_control : (char *)control;
    cleanup_close int exe = rt_init_exe(err);
    if (exe >= 0)
        rt_init_exec(exe, &ic, -1, cfg->envp, err);
}

int nr_cmd_supervise(int argc, char **argv, nr_global *g)
{
    sv_config cfg;
    sv_config_init(&cfg);
    cfg.echo_stdio = true;
    cfg.runtime_dir = "/run/nrun";
    int lfds[32], lports[32];
    size_t nl = 0;
    const char *log_dir = NULL, *control = NULL;
    nr_err err = {0};
    enum { O_WORKERS = NR_OPT_LONG, O_BALANCE, O_MODE, O_LOGDIR, O_CONTROL, O_RUNDIR, O_STOPSIG };
    static const nr_opt base_opts[] = {
        {NULL, 'p', required_argument, "[IP:]PORT", "bind PORT here and serve it (repeatable)"},
        {"workers", O_WORKERS, required_argument, "N", "cluster workers (default: CPU quota, cpuset, online CPUs)"},
        {"balance", O_BALANCE, required_argument, "rr|leastconn|sticky",
         "connection hand-off (default rr; sticky: by client address)"},
        {"mode", O_MODE, required_argument, "auto|cluster|single", "auto: cluster when CMD resolves to node (the log says why)"},
        {"log-dir", O_LOGDIR, required_argument, "DIR", "write DIR/container.log (JSON lines)"},
        {"control", O_CONTROL, required_argument, "PATH", "control socket (nrun reload|scale|stats|top --control PATH)"},
        {"runtime-dir", O_RUNDIR, required_argument, "DIR", "where the worker agent is written (default /run/nrun)"},
        {"stop-signal", O_STOPSIG, required_argument, "SIG", "the app's stop signal (default SIGTERM)"},
        {"quiet", 'q', no_argument, NULL, "do not copy worker output to our stdout/stderr"},
        {0},
    };
    static nr_opt all_opts[64];
    static nr_cmdspec spec = {"supervise [OPTIONS] -- CMD [ARGS...]",
                              "Run CMD under the nrun supervisor on this host (node: cluster workers; else one "
                              "process).\nnpm/yarn/pnpm scripts, sh -c, tini, dumb-init and docker-entrypoint.sh that "
                              "end in node are seen through.", NULL, false};
    spec.opts = nr_opts_with_sv(base_opts, all_opts, NR_ARRAY_LEN(all_opts));
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        const char *v = optarg;
        if (c >= NR_OPT_SV) {
            const char *n = nr_sv_opt_name(c);
            if (sv_opt_apply(&cfg, n, sv_opt_arity(n) > 0 ? v : NULL, &err) < 0)
                return nr_usage_error(g, "supervise: %s", err.msg);
            continue;
        }
        switch (c) {
        case 'p': {
            if (nl >= NR_ARRAY_LEN(lfds))
                return nr_usage_error(g, "supervise: too many -p");
            int fd = bind_port(v, &lports[nl], &err);
            if (fd < 0)
                return nr_err_report(&err, g->prog, NR_EXIT_CMD);
            lfds[nl++] = fd;
            break;
        }
        case O_WORKERS:
            if (sv_parse_int(v, 1, 256, &cfg.workers) < 0)
                return nr_usage_error(g, "supervise: --workers %s: expected 1..256", v);
            break;
        case O_BALANCE:
            if (!strcmp(v, "rr"))
                cfg.balance = SV_BALANCE_RR;
            else if (!strcmp(v, "leastconn"))
                cfg.balance = SV_BALANCE_LEASTCONN;
            else if (!strcmp(v, "sticky"))
                cfg.balance = SV_BALANCE_STICKY;
            else
                return nr_usage_error(g, "supervise: --balance %s: expected rr, leastconn or sticky", v);
            break;
        case O_MODE:
            if (!strcmp(v, "auto"))
                cfg.mode = SV_MODE_AUTO;
            else if (!strcmp(v, "cluster"))
                cfg.mode = SV_MODE_CLUSTER;
            else if (!strcmp(v, "single"))
                cfg.mode = SV_MODE_SINGLE;
            else
                return nr_usage_error(g, "supervise: --mode %s: expected auto, cluster or single", v);
            break;
        case O_LOGDIR: log_dir = v; break;
        case O_CONTROL: control = v; break;
        case O_RUNDIR: cfg.runtime_dir = v; break;
        case O_STOPSIG:
            if ((cfg.stop_signal = nr_signal_parse(v)) < 0)
                return nr_usage_error(g, "supervise: --stop-signal %s: unknown signal", v);
            break;
        case 'q': cfg.echo_stdio = false; break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    int i = optind;
    if (i >= argc)
        return nr_usage_error(g, "supervise: no command (nrun supervise [OPTIONS] -- CMD...)");
    cfg.argv = argv + i;
    cfg.envp = environ;
    cfg.listen_fds = lfds;
    cfg.listen_ports = lports;
    cfg.n_listen = nl;
    if (log_dir) {
        if (nr_mkdir_p(log_dir, 0750, &err) < 0)
            return nr_err_report(&err, g->prog, NR_EXIT_CMD);
        cfg.log_dir_fd = open(log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cfg.log_dir_fd < 0) {
            nr_err_sys(&err, errno, "open log dir %s", log_dir);
            return nr_err_report(&err, g->prog, NR_EXIT_CMD);
        }
    }
    if (control && (cfg.control_fd = sv_control_bind(control, &err)) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_CMD);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
        nr_err_sys(&err, errno, "prctl(PR_SET_CHILD_SUBREAPER)");
        return nr_err_report(&err, g->prog, NR_EXIT_CMD);
    }
    if (!getenv("NRUN_SUPERVISE_INPROCESS")) {
        /* the same program as a container's PID 1; returns only on failure */
        exec_init(&cfg, control, &err);
        return nr_err_report(&err, g->prog, NR_EXIT_CMD);
    }
    int code = sv_run(&cfg);
    sv_config_fini(&cfg);
    if (control)
        unlink(control);
    return code;
}
