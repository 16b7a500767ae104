/* nrun-init as an image's entrypoint (nbuild --init): run by runc, crun or
 * any OCI runtime, with no nrun to hand it a configuration.  The command
 * follows "--"; the settings come from the environment, the words a pod
 * spec can set:
 *
 *   NRUN_WORKERS   cluster workers (default: the cgroup CPU quota, cpuset, CPUs)
 *   NRUN_MODE      auto | cluster | single
 *   NRUN_BALANCE   rr | leastconn | sticky
 *   NRUN_LOG_DIR   also keep JSON-lines logs there (default: stdout/stderr only)
 *
 * The runtime that started us has set the namespaces, capabilities, seccomp
 * and user: we keep them (no lockdown of our own), the workers inherit them. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/init/initcfg.h"

extern char **environ;

static int env_choice(const char *name, const char *const *words, int n, int *out, nr_err *err)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(v, words[i])) {
            *out = i;
            return 0;
        }
    return nr_err_set(err, "%s=%s: unknown value", name, v);
}

int rt_initcfg_from_image(int argc, char **argv, rt_initcfg *c, nr_err *err)
{
    memset(c, 0, sizeof *c);
    sv_config_init(&c->sv);
    sv_config *s = &c->sv;
    int i = 1;
    if (i < argc && !strcmp(argv[i], "--"))
        i++;
    if (i >= argc)
        return nr_err_set(err, "no command (nrun-init -- CMD [ARGS...])");
    s->argv = nr_xcalloc((size_t)(argc - i) + 1, sizeof *s->argv);
    for (int k = 0; i + k < argc; k++)
        s->argv[k] = nr_xstrdup(argv[i + k]);
    size_t ne = 0;
    while (environ && environ[ne])
        ne++;
    s->envp = nr_xcalloc(ne + 1, sizeof *s->envp);
    for (size_t k = 0; k < ne; k++)
        s->envp[k] = nr_xstrdup(environ[k]);
    char cwd[4096];
    s->cwd = nr_xstrdup(getcwd(cwd, sizeof cwd) ? cwd : "/");
    s->uid = (uid_t)-1; /* the runtime's process.user: ours */
    s->gid = (gid_t)-1;
    s->groups = nr_xcalloc(1, sizeof *s->groups);
    s->listen_fds = nr_xcalloc(1, sizeof *s->listen_fds);
    s->listen_ports = nr_xcalloc(1, sizeof *s->listen_ports);
    s->log_dir_fd = -1;
    s->control_fd = -1;
    s->echo_stdio = true; /* the runtime's log collector reads our stdout */
    s->pass_stdin = false;
    /* a non-root USER cannot write /dev (the runtime's tmpfs) */
    s->runtime_dir = nr_xstrdup(geteuid() == 0 ? "/dev/.nrun" : "/tmp/.nrun");
    const char *w = getenv("NRUN_WORKERS");
    if (w && *w) {
        char *end;
        errno = 0;
        long n = strtol(w, &end, 10);
        if (errno || *end || n < 0 || n > 4096)
            return nr_err_set(err, "NRUN_WORKERS=%s: expected 0..4096 (0: from the CPU quota)", w);
        s->workers = (int)n;
    }
    static const char *const modes[] = {"auto", "cluster", "single"};
    static const char *const bal[] = {"rr", "leastconn", "sticky"};
    int m = SV_MODE_AUTO, bl = SV_BALANCE_RR;
    if (env_choice("NRUN_MODE", modes, 3, &m, err) < 0 || env_choice("NRUN_BALANCE", bal, 3, &bl, err) < 0)
        return -1;
    s->mode = (enum sv_mode)m;
    s->balance = (enum sv_balance)bl;
    const char *ld = getenv("NRUN_LOG_DIR");
    if (ld && *ld) {
        if (nr_mkdir_p(ld, 0750, err) < 0)
            return -1;
        s->log_dir_fd = open(ld, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->log_dir_fd < 0)
            return nr_err_sys(err, errno, "NRUN_LOG_DIR %s", ld);
    }
    c->lockdown = false;
    c->bpf = nr_xcalloc(1, 1);
    return 0;
}
