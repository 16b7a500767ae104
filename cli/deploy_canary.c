/* The canary of nrun deploy (see cli/deploy.h): a share of the new
 * connections to the new revision, as iptables rules beside portmap's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "cli/cli.h"
#include "cli/deploy.h"

/* After portmap's ADD for the new container its jump sits behind the old
 * one's in CNI-HOSTPORT-DNAT and gets nothing; a copy of it with
 * `-m statistic --mode random --probability P`, inserted at the head and
 * commented nrun-canary-<id>, sends that share of new connections to it.
 * Done with iptables-restore --noflush, as one transaction. */

static int ipt_restore(const char *text, nr_err *err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return nr_err_sys(err, errno, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[0], 0);
        int dn = open("/dev/null", O_WRONLY);
        dup2(dn, 1);
        execlp("iptables-restore", "iptables-restore", "--noflush", (char *)NULL);
        _exit(127);
    }
    close(p[0]);
    ssize_t w = write(p[1], text, strlen(text));
    close(p[1]);
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) < 0 || w < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
        return nr_err_set(err, "iptables-restore --noflush failed");
    return 0;
}

/* The lines of `iptables-save -t nat` in CNI-HOSTPORT-DNAT that contain `needle`, turned into
 * `op` (-I ... 1 / -D) lines of a restore file; how many in *n. */
static char *ipt_lines(const char *needle, const char *op, const char *extra, int *n)
{
    *n = 0;
    FILE *f = popen("iptables-save -t nat 2>/dev/null", "r");
    if (!f)
        return NULL;
    nr_buf b = {0};
    nr_buf_addstr(&b, "*nat\n");
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (strncmp(line, "-A CNI-HOSTPORT-DNAT ", 21) || !strstr(line, needle))
            continue;
        char *j = strstr(line, " -j ");
        if (!j)
            continue;
        *j = 0;
        const char *rest = line + 21;
        if (!strcmp(op, "-I")) {
            /* portmap's jump for the new one: the same match, a share of it, our comment */
            const char *mp = strstr(rest, "-m multiport");
            const char *pr = strstr(rest, "-p ");
            if (!mp || !pr)
                continue;
            nr_buf_addf(&b, "-I CNI-HOSTPORT-DNAT 1 -p %.3s -m comment --comment %s %s%s -j %s\n", pr + 3, extra, mp,
                        "", j + 4);
        } else {
            nr_buf_addf(&b, "-D CNI-HOSTPORT-DNAT %s -j %s\n", rest, j + 4);
        }
        (*n)++;
    }
    pclose(f);
    nr_buf_addstr(&b, "COMMIT\n");
    nr_buf_add(&b, "", 1);
    return b.data;
}

int nr_dep_canary_add(const char *id, double share, nr_err *err)
{
    char needle[160], extra[400];
    snprintf(needle, sizeof needle, "id: \\\"%.64s\\\"", id);
    snprintf(extra, sizeof extra, "nrun-canary-%.12s -m statistic --mode random --probability %.4f", id, share);
    int n;
    cleanup_free char *t = ipt_lines(needle, "-I", extra, &n);
    if (!t || !n)
        return nr_err_set(err, "canary: no DNAT rule of %.12s in CNI-HOSTPORT-DNAT", id);
    return ipt_restore(t, err);
}

void nr_dep_canary_del(const char *id)
{
    char needle[64];
    snprintf(needle, sizeof needle, "nrun-canary-%.12s ", id);
    int n;
    cleanup_free char *t = ipt_lines(needle, "-D", NULL, &n);
    nr_err ign;
    if (t && n)
        ipt_restore(t, &ign);
}
