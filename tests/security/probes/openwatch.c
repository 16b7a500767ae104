/* Host-side watch for rt10: `openwatch PATH CMD [ARG...]` watches PATH (a
 * device node, which no one may open) with inotify, runs CMD and waits for
 * it, then prints "opened" when anyone opened PATH meanwhile, else
 * "not-opened"; exits with CMD's status.  inotify reports the open of the
 * inode, whichever path or mount namespace it was opened through
 * (/proc/PID/root/... included), so nothing here needs a timing. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: openwatch PATH CMD [ARG...]\n");
        return 2;
    }
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (in < 0 || inotify_add_watch(in, argv[1], IN_OPEN | IN_DONT_FOLLOW) < 0) {
        perror(argv[1]);
        return 2;
    }
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return 2;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n = read(in, buf, sizeof buf);
    int opened = 0;
    for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
        const struct inotify_event *ev = (const struct inotify_event *)(buf + off);
        opened |= (ev->mask & IN_OPEN) != 0;
        off += (ssize_t)sizeof *ev + ev->len;
    }
    printf("%s\n", opened ? "opened" : "not-opened");
    fflush(stdout);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
