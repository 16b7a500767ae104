/* compose logs, and the follower it shares with `compose up` without -d:
 * one nrun logs child per container, each line prefixed "service-N | ". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/compose.h"
#include "common/util.h"

static volatile sig_atomic_t got_signal;
static void on_signal(int sig)
{
    got_signal = sig;
}

typedef struct follower {
    pid_t pid;
    int fd;
    char *prefix;
    nr_buf line;
} follower;

static void emit_lines(follower *f, bool flush)
{
    for (;;) {
        char *nl = f->line.len ? memchr(f->line.data, '\n', f->line.len) : NULL;
        if (!nl && !(flush && f->line.len))
            return;
        size_t n = nl ? (size_t)(nl - f->line.data) : f->line.len;
        printf("%s%.*s\n", f->prefix, (int)n, f->line.data);
        size_t used = nl ? n + 1 : n;
        memmove(f->line.data, f->line.data + used, f->line.len - used);
        f->line.len -= used;
    }
}

/* what `logs` asks of nrun logs, and whether lines get the "svc-1 | " prefix */
/* follow the logs of containers names[] (labels[] their prefixes) until
 * each ends or a signal comes: 0, or the signal */
int cmp_follow(nr_global *g, char **names, char **labels, size_t n, const cmp_log_opts *lo,
               volatile sig_atomic_t *stop, int *ended)
{
    size_t width = 0;
    for (size_t i = 0; i < n; i++)
        if (strlen(labels[i]) > width)
            width = strlen(labels[i]);
    follower *fs = nr_xcalloc(n ? n : 1, sizeof *fs);
    for (size_t i = 0; i < n; i++) {
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
            continue;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            signal(SIGINT, SIG_IGN); /* the parent stops the containers, which ends these */
            signal(SIGTERM, SIG_DFL);
            dup2(pfd[1], 1);
            dup2(pfd[1], 2);
            cmp_strv a = {0};
            cmp_strv_push(&a, "logs");
            if (lo->follow)
                cmp_strv_push(&a, "-f");
            if (lo->timestamps)
                cmp_strv_push(&a, "--timestamps");
            if (lo->tail)
                cmp_strv_pushf(&a, "--tail=%s", lo->tail);
            if (lo->since)
                cmp_strv_pushf(&a, "--since=%s", lo->since);
            cmp_strv_push(&a, names[i]);
            int code = nr_cmd_logs((int)a.n, a.v, g);
            fflush(NULL);
            _exit(code);
        }
        close(pfd[1]);
        fs[i].pid = pid;
        fs[i].fd = pid > 0 ? pfd[0] : -1;
        if (pid < 0)
            close(pfd[0]);
        fs[i].prefix = lo->no_prefix ? nr_xstrdup("") : nr_xasprintf("%-*s | ", (int)width, labels[i]);
    }
    int sig = 0;
    for (;;) {
        struct pollfd *pf = nr_xcalloc(n ? n : 1, sizeof *pf);
        size_t open_n = 0;
        for (size_t i = 0; i < n; i++) {
            pf[i].fd = fs[i].fd;
            pf[i].events = POLLIN;
            open_n += fs[i].fd >= 0;
        }
        if (!open_n) {
            free(pf);
            break;
        }
        int r = poll(pf, n, 500);
        if (*stop) {
            sig = *stop;
            free(pf);
            break;
        }
        if (r < 0) {
            free(pf);
            if (errno == EINTR)
                continue;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (fs[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[8192];
            ssize_t got = read(fs[i].fd, buf, sizeof buf);
            if (got > 0) {
                nr_buf_add(&fs[i].line, buf, (size_t)got);
                emit_lines(&fs[i], false);
            } else if (got == 0 || errno != EINTR) {
                emit_lines(&fs[i], true);
                close(fs[i].fd);
                fs[i].fd = -1;
                bool running = false;
                if (ended && *ended < 0 && (cmp_exit_code(g, names[i], &running), !running))
                    *ended = (int)i;
            }
        }
        if (ended && *ended >= 0) {
            free(pf);
            break;
        }
        fflush(stdout);
        free(pf);
    }
    for (size_t i = 0; i < n; i++) {
        if (fs[i].fd >= 0) {
            kill(fs[i].pid, SIGTERM);
            close(fs[i].fd);
        }
        if (fs[i].pid > 0)
            while (waitpid(fs[i].pid, NULL, 0) < 0 && errno == EINTR) {
            }
        free(fs[i].prefix);
        nr_buf_free(&fs[i].line);
    }
    free(fs);
    fflush(stdout);
    return sig;
}

int cmp_logs(nr_global *g, cmp_project *p, int argc, char **argv)
{
    enum { O_NOCOLOR = NR_OPT_LONG, O_SINCE, O_NOPREFIX, O_INDEX };
    static const nr_opt opts[] = {
        {"follow", 'f', no_argument, NULL, "follow the output"},
        {"tail", 'n', required_argument, "N", "only the last N lines of each container"},
        {"timestamps", 't', no_argument, NULL, "each line with its time"},
        {"since", O_SINCE, required_argument, "WHEN", "only lines since a duration ago (10m) or a time"},
        {"no-log-prefix", O_NOPREFIX, no_argument, NULL, "no \"service-N | \" before each line"},
        {"index", O_INDEX, required_argument, "N", "only container N of each service"},
        {"no-color", O_NOCOLOR, no_argument, NULL, "accepted (nrun prints no colours)"},
        {0},
    };
    static const nr_cmdspec spec = {"compose logs [-f] [-t] [-n N] [--since WHEN] [--no-log-prefix] [SERVICE...]",
                                    "Show the output of the services.", opts, true};
    cmp_log_opts lo = {0};
    int c, index = 0;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case 'f': lo.follow = true; break;
        case 'n': lo.tail = optarg; break;
        case 't': lo.timestamps = true; break;
        case O_SINCE: lo.since = optarg; break;
        case O_NOPREFIX: lo.no_prefix = true; break;
        case O_NOCOLOR: break;
        case O_INDEX:
            if (!(index = cmp_parse_index(g, "logs", optarg)))
                return NR_EXIT_USAGE;
            break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    cmp_ctr *cs;
    size_t n;
    nr_err err = {0};
    if (cmp_enable(p, argv + optind, (size_t)(argc - optind), &err) < 0)
        return nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
    for (int i = optind; i < argc; i++)
        if (!json_object_get(json_object_get(p->model, "services"), argv[i]))
            return nr_usage_error(g, "compose logs: no such service: %s", argv[i]);
    if (cmp_ctrs_list(g, p->name, &cs, &n, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_STORE);
    cmp_strv names = {0}, labels = {0};
    for (size_t i = 0; i < n; i++) {
        if (cs[i].oneoff)
            continue;
        bool want = optind >= argc;
        for (int k = optind; k < argc; k++)
            want |= !strcmp(argv[k], cs[i].service);
        cleanup_free char *nth = index ? cmp_ctr_name_n(p, cs[i].service, index) : NULL;
        if (!want || (nth && strcmp(nth, cs[i].name)))
            continue;
        cmp_strv_push(&names, cs[i].id);
        /* <service>-<number>: the number from <project>-<service>-<number>;
         * a container_name is its own label, as docker compose prints it */
        size_t pl = strlen(p->name), sl = strlen(cs[i].service);
        const char *num = !strncmp(cs[i].name, p->name, pl) && cs[i].name[pl] == '-' &&
                                  !strncmp(cs[i].name + pl + 1, cs[i].service, sl) && cs[i].name[pl + 1 + sl] == '-'
                              ? cs[i].name + pl + sl + 2
                              : NULL;
        if (num)
            cmp_strv_pushf(&labels, "%s-%s", cs[i].service, num);
        else
            cmp_strv_push(&labels, cs[i].name);
    }
    cmp_ctrs_free(cs, n);
    got_signal = 0;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int sig = cmp_follow(g, names.v, labels.v, names.n, &lo, &got_signal, NULL);
    cmp_strv_free(&names);
    cmp_strv_free(&labels);
    return sig ? 128 + sig : 0;
}
