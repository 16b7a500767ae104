/* Probe for `nrun exec`: try TIOCSTI (push a byte into a terminal's input, as
 * if typed) on fds 0-2 and print "fdN=<ok|errno name>", then "session=own"
 * when we lead our own session (else "session=inherited") and "ctty=<tty_nr>"
 * from /proc/self/stat (0: no controlling terminal). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
    char c = '#';
    for (int fd = 0; fd < 3; fd++) {
        int r = ioctl(fd, TIOCSTI, &c);
        printf("fd%d=%s\n", fd, r < 0 ? strerrorname_np(errno) : "ok");
    }
    int sid = -1, tty = -1;
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* after the command name, which may hold spaces */
    if (!p || sscanf(p + 1, " %*c %*d %*d %d %d", &sid, &tty) != 2)
        return 1;
    printf("session=%s\nctty=%d\n", sid == getpid() ? "own" : "inherited", tty);
    return 0;
}
