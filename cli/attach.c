/* nrun attach [--detach-keys K] [--no-stdin] [--sig-proxy=false] CONTAINER:
 * this terminal to a detached -t container's pty, through the attach socket
 * its monitor serves (runtime/attach.c).  Only bytes cross: this terminal's
 * fd never reaches the container.  ctrl-p ctrl-q (or --detach-keys) detaches
 * and leaves the container running; when the app ends, its exit code is ours. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"
#include "runtime/runtime.h"

/* docker's --detach-keys: "ctrl-p,ctrl-q", "a,ctrl-x" (ctrl- of a-z @ [ \ ] ^ _). */
static int parse_keys(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    cleanup_free char *copy = nr_xstrdup(s);
    for (char *save = NULL, *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
        if (n == cap)
            return -1;
        if (!strncmp(k, "ctrl-", 5) && strlen(k) == 6) {
            char c = k[5];
            if (c >= 'a' && c <= 'z')
                out[n++] = (char)(c - 'a' + 1);
            else if (strchr("@[\\]^_", c))
                out[n++] = (char)(c == '@' ? 0 : c - '@');
            else
                return -1;
        } else if (strlen(k) == 1) {
            out[n++] = k[0];
        } else {
            return -1;
        }
    }
    return n ? (int)n : -1;
}

static void send_winsize(int s)
{
    struct winsize ws;
    if (!isatty(0) || ioctl(0, TIOCGWINSZ, &ws) < 0)
        return;
    char msg[8] = {0, 'W', 'S', 'Z'};
    uint16_t rc[2] = {ws.ws_row, ws.ws_col};
    memcpy(msg + 4, rc, sizeof rc);
    nr_write_all(s, msg, sizeof msg);
}

/* The app's exit code once its monitor recorded it (waiting a little). */
static int exit_code_of(nr_global *g, const char *id)
{
    for (int i = 0; i < 100; i++) {
        rt_state st;
        nr_err ign;
        if (rt_state_read(g->root, id, &st, &ign) < 0)
            return 0;
        bool done = strcmp(rt_state_live_status(&st), "running") != 0 && strcmp(st.status, "running") != 0;
        int code = st.exit_code;
        rt_state_free(&st);
        if (done)
            return code;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

int nr_cmd_attach(int argc, char **argv, nr_global *g)
{
    enum { O_KEYS = NR_OPT_LONG, O_NOSTDIN, O_SIGPROXY };
    static const nr_opt opts[] = {
        {"detach-keys", O_KEYS, required_argument, "KEYS", "the keys that detach (default ctrl-p,ctrl-q)"},
        {"no-stdin", O_NOSTDIN, no_argument, NULL, "do not send this terminal's input"},
        {"sig-proxy", O_SIGPROXY, optional_argument, "true|false",
         "without a terminal here: pass INT, TERM, HUP, QUIT, USR1, USR2 to the container (default true)"},
        {0},
    };
    static const nr_cmdspec spec = {"attach [OPTIONS] CONTAINER",
                                    "Connect this terminal to a running container started with -t (run -dit).",
                                    opts, true};
    char keys[16];
    int nkeys = parse_keys("ctrl-p,ctrl-q", keys, sizeof keys);
    bool no_stdin = false, sig_proxy = true;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case O_KEYS:
            nkeys = parse_keys(optarg, keys, sizeof keys);
            if (nkeys < 0)
                return nr_usage_error(g, "attach: --detach-keys %s: expected keys like ctrl-p,ctrl-q or a,ctrl-x",
                                      optarg);
            break;
        case O_NOSTDIN: no_stdin = true; break;
        case O_SIGPROXY:
            if (optarg && strcmp(optarg, "true") && strcmp(optarg, "false"))
                return nr_usage_error(g, "attach: --sig-proxy=%s: true or false", optarg);
            sig_proxy = !optarg || !strcmp(optarg, "true");
            break;
        case NR_OPT_HELP: return 0;
        default: return NR_EXIT_USAGE;
        }
    }
    if (argc - optind != 1)
        return nr_usage_error(g, "attach: which container?");
    nr_err err = {0};
    char id[65];
    rt_state st;
    if (rt_container_state(g->root, argv[optind], id, &st, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    bool running = !strcmp(rt_state_live_status(&st), "running");
    rt_state_free(&st);
    if (!running) {
        fprintf(stderr, "%s: attach: container %s is not running\n", g->prog, argv[optind]);
        return NR_EXIT_FAIL;
    }
    cleanup_free char *path = rt_attach_path(g->root, id);
    struct sockaddr_un a;
    cleanup_close int keep = -1;
    if (nr_unix_addr(path, &a, &keep, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    cleanup_close int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        fprintf(stderr, "%s: attach: container %s has no terminal to attach to (start it with -t, as run -dit)\n",
                g->prog, argv[optind]);
        return NR_EXIT_FAIL;
    }
    bool tty = isatty(0);
    struct termios saved;
    bool raw = false;
    if (tty && !no_stdin)
        raw = rt_tty_raw(&saved);
    send_winsize(s);
    cleanup_close int sfd = rt_tty_signalfd();
    char buf[8192], held[16];
    int nheld = 0, rc = -1;
    bool in_open = !no_stdin;
    while (rc < 0) {
        struct pollfd p[3];
        int sig = rt_tty_wait(p, s, in_open, sfd);
        if (sig < 0)
            break;
        if (sig == SIGWINCH) {
            send_winsize(s);
        } else if (sig > 0 && sig_proxy && !raw) {
            /* docker's --sig-proxy: to the container's PID 1, by pidfd (never a reused pid) */
            if (rt_state_read(g->root, id, &st, &err) == 0) {
                int pfd = rt_state_pidfd(&st);
                if (pfd >= 0) {
                    syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0);
                    close(pfd);
                }
                rt_state_free(&st);
            }
        } else if (sig > 0) {
            rc = 128 + sig; /* ours, not the container's */
        }
        if (p[0].revents) {
            ssize_t r = read(s, buf, sizeof buf);
            if (r <= 0) {
                rc = exit_code_of(g, id); /* the app closed its terminal */
                break;
            }
            if (nr_write_all(1, buf, (size_t)r) < 0)
                rc = NR_EXIT_FAIL;
        }
        if (p[1].revents) {
            ssize_t r = read(0, buf, sizeof buf);
            if (r <= 0) {
                in_open = false; /* docker: stdin's end does not detach; output goes on */
                continue;
            }
            /* the detach sequence, held back until it is whole or broken */
            nr_buf out = {0};
            for (ssize_t i = 0; i < r && rc < 0; i++) {
                if (buf[i] == keys[nheld]) {
                    held[nheld++] = buf[i];
                    if (nheld == nkeys)
                        rc = 0; /* detached: the container runs on */
                    continue;
                }
                nr_buf_add(&out, held, (size_t)nheld);
                nheld = 0;
                if (buf[i] == keys[0])
                    held[nheld++] = buf[i];
                else
                    nr_buf_add(&out, buf + i, 1);
            }
            if (out.len && nr_write_all(s, out.data, out.len) < 0)
                rc = NR_EXIT_FAIL;
            nr_buf_free(&out);
        }
    }
    if (raw)
        tcsetattr(0, TCSANOW, &saved);
    if (rc == 0 && nheld == nkeys && tty)
        fprintf(stderr, "\r\n");
    return rc < 0 ? NR_EXIT_FAIL : rc;
}
