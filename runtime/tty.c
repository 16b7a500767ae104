/* Terminals for `nrun run -t` and `nrun exec -t`: the pty is allocated inside
 * the container (its own devpts instance), its master fd is passed back to
 * the host-side nrun over a unix socket, and nrun relays between its own
 * terminal (put in raw mode) and the master, forwarding signals and window
 * size changes, until the container side hangs up. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/runtime.h"

int rt_send_fd(int sock, int fd)
{
    char c = 'm';
    struct iovec iov = {.iov_base = &c, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    struct cmsghdr *c1 = CMSG_FIRSTHDR(&msg);
    c1->cmsg_level = SOL_SOCKET;
    c1->cmsg_type = SCM_RIGHTS;
    c1->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c1), &fd, sizeof fd);
    return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

int rt_recv_fd(int sock)
{
    char c;
    struct iovec iov = {.iov_base = &c, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
        return -1;
    struct cmsghdr *c1 = CMSG_FIRSTHDR(&msg);
    if (!c1 || c1->cmsg_level != SOL_SOCKET || c1->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c1), sizeof fd);
    return fd;
}

int rt_pty_open_slave(int console_sock, nr_err *err)
{
    int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
        return nr_err_sys(err, errno, "open /dev/ptmx in the container");
    char *name = ptsname(m);
    int sl = name ? open(name, O_RDWR | O_CLOEXEC) : -1;
    if (sl < 0) {
        close(m);
        return nr_err_sys(err, errno, "open the pty slave");
    }
    if (ioctl(sl, TIOCSCTTY, 0) < 0 || rt_send_fd(console_sock, m) < 0) {
        int e = errno;
        close(m);
        close(sl);
        return nr_err_sys(err, e, "hand the pty over");
    }
    close(m);
    return sl;
}

/* Our stdin ended (a pipe or a file under -t): the app reading the pty
 * gets its end-of-file character, twice after a partial line (the first
 * only hands the line over), as a terminal user typing ^D would. */
static void eof_to_pty(int master, char last)
{
    struct termios t;
    if (isatty(0) || tcgetattr(master, &t) < 0 || !(t.c_lflag & ICANON))
        return;
    char eof[2] = {(char)t.c_cc[VEOF], (char)t.c_cc[VEOF]};
    nr_write_all(master, eof, last == '\n' ? 1 : 2);
}

bool rt_tty_raw(struct termios *saved)
{
    if (tcgetattr(0, saved) < 0)
        return false;
    struct termios t = *saved;
    cfmakeraw(&t);
    return tcsetattr(0, TCSANOW, &t) == 0;
}

int rt_tty_signalfd(void)
{
    sigset_t set;
    sigemptyset(&set);
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    for (size_t i = 0; i < NR_ARRAY_LEN(sigs); i++)
        sigaddset(&set, sigs[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    return signalfd(-1, &set, SFD_CLOEXEC);
}

int rt_tty_wait(struct pollfd *p, int peer, bool in_open, int sfd)
{
    p[0] = (struct pollfd){.fd = peer, .events = POLLIN};
    p[1] = (struct pollfd){.fd = in_open ? 0 : -1, .events = POLLIN};
    p[2] = (struct pollfd){.fd = sfd, .events = POLLIN};
    while (poll(p, 3, -1) < 0)
        if (errno != EINTR)
            return -1;
    struct signalfd_siginfo si;
    if ((p[2].revents & POLLIN) && read(sfd, &si, sizeof si) == sizeof si)
        return (int)si.ssi_signo;
    return 0;
}

/* rt_tty_signalfd blocks the signals it forwards to pid; callers block them
 * before the launch already (rt_forward_block), so that one sent before the
 * relay starts is queued and forwarded, not fatal to nrun. */
void rt_tty_relay(int master, pid_t pid, rt_ttylog *log)
{
    struct termios saved;
    bool raw = isatty(0) && rt_tty_raw(&saved);
    struct winsize ws;
    if (isatty(0) && ioctl(0, TIOCGWINSZ, &ws) == 0)
        ioctl(master, TIOCSWINSZ, &ws);
    int sfd = rt_tty_signalfd();
    char buf[8192], last = '\n';
    bool in_open = true;
    for (;;) {
        struct pollfd p[3];
        int sig = rt_tty_wait(p, master, in_open, sfd);
        if (sig < 0)
            break;
        if (sig == SIGWINCH) {
            if (ioctl(0, TIOCGWINSZ, &ws) == 0)
                ioctl(master, TIOCSWINSZ, &ws);
        } else if (sig > 0) {
            kill(pid, sig);
        }
        if (p[0].revents) {
            ssize_t r = read(master, buf, sizeof buf);
            if (r <= 0)
                break; /* EIO: every slave is closed, the container side is gone */
            rt_ttylog_feed(log, buf, (size_t)r);
            if (nr_write_all(1, buf, (size_t)r) < 0)
                break;
        }
        if (p[1].revents) {
            ssize_t r = read(0, buf, sizeof buf);
            if (r <= 0) {
                in_open = false;
                eof_to_pty(master, last);
            } else if (nr_write_all(master, buf, (size_t)r) < 0) {
                break;
            } else {
                last = buf[r - 1];
            }
        }
    }
    if (sfd >= 0)
        close(sfd);
    if (raw)
        tcsetattr(0, TCSANOW, &saved);
}
