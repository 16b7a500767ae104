/* Which socket families and personality() values the container may use:
 * one line per attempt, "name=ok" or "name=ERRNO".  A vsock socket that
 * opens is also bound and put to listen (what collided with the host's
 * ports), so the test sees how far an attack got. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *name, long r)
{
    if (r < 0)
        printf("%s=%s\n", name, strerrorname_np(errno));
    else
        printf("%s=ok\n", name);
}

static void sock(const char *name, long dom, int type, int proto)
{
    long fd = syscall(SYS_socket, dom, type, proto);
    report(name, fd);
    if (fd >= 0 && (dom & 0xffffffff) == AF_VSOCK) {
        struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = 4242, .svm_cid = VMADDR_CID_ANY};
        report("vsock-bind", bind((int)fd, (struct sockaddr *)&a, sizeof a));
        report("vsock-listen", listen((int)fd, 1));
    }
    if (fd >= 0)
        close((int)fd);
}

int main(void)
{
    sock("unix", AF_UNIX, SOCK_STREAM, 0);
    sock("inet", AF_INET, SOCK_STREAM, 0);
    sock("inet6", AF_INET6, SOCK_DGRAM, 0);
    sock("netlink-route", AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    sock("netlink-uevent", AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT);
    sock("netlink-netfilter", AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
    sock("vsock", AF_VSOCK, SOCK_STREAM, 0);
    sock("vsock-highbits", 0x100000000L | AF_VSOCK, SOCK_STREAM, 0);
    sock("bluetooth", AF_BLUETOOTH, SOCK_STREAM, 0);
    sock("alg", AF_ALG, SOCK_SEQPACKET, 0);
    sock("key", AF_KEY, SOCK_RAW, 2);
    sock("packet", AF_PACKET, SOCK_RAW, 0);
    sock("unspec", AF_UNSPEC, SOCK_STREAM, 0);
    sock("family-99", 99, SOCK_STREAM, 0);
    int sv[2];
    report("socketpair-unix", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    report("socketpair-vsock", socketpair(AF_VSOCK, SOCK_STREAM, 0, sv));
    static const struct { const char *name; unsigned long v; } pers[] = {
        {"personality-query", 0xffffffff}, {"personality-linux", PER_LINUX},
        {"personality-no-randomize", PER_LINUX | ADDR_NO_RANDOMIZE},
        {"personality-read-implies-exec", PER_LINUX | READ_IMPLIES_EXEC},
        {"personality-linux32-3gb", PER_LINUX32_3GB}, {"personality-addr-limit-32bit", PER_LINUX | ADDR_LIMIT_32BIT},
    };
    for (size_t i = 0; i < sizeof pers / sizeof pers[0]; i++) {
        long r = syscall(SYS_personality, pers[i].v);
        report(pers[i].name, r);
        if (r >= 0)
            syscall(SYS_personality, PER_LINUX);
    }
    long cur = syscall(SYS_personality, 0xffffffffUL);
    printf("personality-now=%#lx\n", cur);
    return 0;
}
