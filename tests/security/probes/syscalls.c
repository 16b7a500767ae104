/* Probe for the runtime tests: try syscalls a container must not have, or
 * must see as missing, and print "name=<errno name or ok>" per line. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *name, long r)
{
    printf("%s=%s\n", name, r < 0 ? strerrorname_np(errno) : "ok");
}

int main(void)
{
    show("clone3", syscall(SYS_clone3, NULL, 0));
    show("io_uring_setup", syscall(SYS_io_uring_setup, 1, NULL));
    show("add_key", syscall(SYS_add_key, "user", "k", "v", 1, -1));
    show("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
    show("unshare_user", syscall(SYS_unshare, CLONE_NEWUSER));
    show("clone_newns", syscall(SYS_clone, CLONE_NEWNS | 17, NULL, NULL, NULL, 0));
    show("init_module", syscall(SYS_init_module, NULL, 0, ""));
    show("getpid", syscall(SYS_getpid));
    unsigned long aio = 0; /* Linux AIO, as databases use it (InnoDB): docker's profile has it */
    show("io_setup", syscall(SYS_io_setup, 1, &aio));
    if (aio)
        show("io_destroy", syscall(SYS_io_destroy, aio));
    return 0;
}
