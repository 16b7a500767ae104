/* Opens up to N (argv[1]) connections to $SSH_AUTH_SOCK within two seconds
 * (a full listen queue is retried, not waited on), prints how many it
 * holds, and holds them argv[2] seconds: a step that floods its ssh relay. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int want = argc > 1 ? atoi(argv[1]) : 300, hold = argc > 2 ? atoi(argv[2]) : 3, got = 0;
    const char *path = getenv("SSH_AUTH_SOCK");
    if (!path)
        return 2;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (got < want) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec >= 2)
            break;
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (s < 0)
            break;
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) {
            got++;
            continue;
        }
        close(s);
        if (errno != EAGAIN)
            break;
        usleep(1000);
    }
    printf("held %d\n", got);
    fflush(stdout);
    sleep((unsigned)hold);
    return 0;
}
