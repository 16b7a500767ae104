/* A RUN step's output (relay.h): a child process reads what the step
 * writes to our stdout and stderr, shows it as it comes (each line after a
 * parallel job's prefix, unless quiet) and keeps its last lines for the
 * error that names a failed step. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/relay.h"
#include "common/util.h"

#define TAIL_LINES 12

/* Write `n` bytes of output with `prefix` at the start of every line (a
 * parallel job's stage), in one write so lines of jobs do not mix; *bol:
 * the next byte starts a line. */
static void write_prefixed(int out, const char *prefix, const char *buf, size_t n, bool *bol)
{
    if (!prefix || !*prefix) {
        (void)!nr_write_all(out, buf, n);
        return;
    }
    nr_buf o = {0};
    for (size_t i = 0; i < n;) {
        if (*bol)
            nr_buf_addstr(&o, prefix);
        const char *nl = memchr(buf + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (buf + i)) + 1 : n - i;
        nr_buf_add(&o, buf + i, len);
        *bol = nl != NULL;
        i += len;
    }
    (void)!nr_write_all(out, o.data, o.len);
    nr_buf_free(&o);
}

static void relay_main(int in, int out, int tail, bool quiet, const char *prefix)
{
    bool bol = true;
    size_t shown = 0; /* lines put on the terminal: a tty view folds them */
    char *ring[TAIL_LINES] = {0};
    size_t head = 0;
    nr_buf line = {0};
    char buf[8192];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (!quiet)
            write_prefixed(out, prefix, buf, (size_t)n, &bol);
        for (ssize_t i = 0; !quiet && i < n; i++)
            shown += buf[i] == '\n';
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != '\n' && line.len < 4096) {
                nr_buf_add(&line, &buf[i], 1);
                continue;
            }
            if (buf[i] != '\n')
                continue; /* a very long line: its start is kept */
            nr_buf_add(&line, "", 1);
            free(ring[head]);
            ring[head] = line.data;
            head = (head + 1) % TAIL_LINES;
            memset(&line, 0, sizeof line);
        }
    }
    if (line.len) {
        nr_buf_add(&line, "", 1);
        free(ring[head]);
        ring[head] = line.data;
        head = (head + 1) % TAIL_LINES;
    }
    dprintf(tail, "%zu\n", shown + (line.len > 0 && !quiet));
    for (size_t k = 0; k < TAIL_LINES; k++) {
        const char *l = ring[(head + k) % TAIL_LINES];
        if (l)
            dprintf(tail, "%s\n", l);
    }
    _exit(0);
}

int bld_relay_start(bld_relay *r, bool quiet, const char *prefix, nr_err *err)
{
    int p[2], t[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return nr_err_sys(err, errno, "pipe");
    if (pipe2(t, O_CLOEXEC) < 0) {
        close(p[0]);
        close(p[1]);
        return nr_err_sys(err, errno, "pipe");
    }
    fflush(NULL);
    r->pid = fork();
    if (r->pid < 0) {
        int e = errno;
        close(p[0]), close(p[1]), close(t[0]), close(t[1]);
        return nr_err_sys(err, e, "fork");
    }
    if (r->pid == 0) {
        close(p[1]);
        close(t[0]);
        signal(SIGINT, SIG_IGN); /* a ^C reaches the step; we end with its output */
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* and with nbuild, if it is killed */
        relay_main(p[0], 1, t[1], quiet, prefix);
    }
    close(p[0]);
    close(t[1]);
    r->tail_fd = t[0];
    r->saved[0] = fcntl(1, F_DUPFD_CLOEXEC, 3);
    r->saved[1] = fcntl(2, F_DUPFD_CLOEXEC, 3);
    dup2(p[1], 1);
    dup2(p[1], 2);
    close(p[1]);
    return 0;
}

char *bld_relay_end(bld_relay *r, size_t *shown)
{
    fflush(NULL);
    if (r->saved[0] >= 0)
        dup2(r->saved[0], 1), close(r->saved[0]);
    if (r->saved[1] >= 0)
        dup2(r->saved[1], 2), close(r->saved[1]);
    nr_buf b = {0};
    char buf[4096];
    ssize_t n;
    while ((n = read(r->tail_fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0)
            nr_buf_add(&b, buf, (size_t)n);
    close(r->tail_fd);
    while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    nr_buf_add(&b, "", 1);
    char *rest;
    *shown = strtoul(b.data, &rest, 10);
    if (*rest == '\n')
        memmove(b.data, rest + 1, strlen(rest + 1) + 1);
    return b.data;
}
