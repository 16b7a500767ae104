/* The socket nrun hands in for -p (fd 3, LISTEN_FDS=1) belongs to the host's
 * network namespace: SIOCGSKNS on it must fail.  Prints "skns=ERRNO"; were
 * it to succeed, "skns=ok" and the interfaces that namespace has. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
    int ns = ioctl(3, SIOCGSKNS);
    if (ns < 0) {
        printf("skns=%s\n", strerrorname_np(errno));
    } else {
        printf("skns=ok\n");
        if (setns(ns, CLONE_NEWNET) < 0)
            printf("setns=%s\n", strerrorname_np(errno));
    }
    struct if_nameindex *ifs = if_nameindex();
    for (struct if_nameindex *i = ifs; i && i->if_index; i++)
        printf("if=%s\n", i->if_name);
    return 0;
}
