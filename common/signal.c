/* Signal names -> numbers (signal.h). */
#include "common/signal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

static const struct {
    const char *name;
    int sig;
} names[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},     {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT},   {"IOT", SIGIOT},       {"BUS", SIGBUS},     {"FPE", SIGFPE},     {"KILL", SIGKILL},
    {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
    {"TERM", SIGTERM},   {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CLD", SIGCHLD},    {"CONT", SIGCONT},
    {"STOP", SIGSTOP},   {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},   {"URG", SIGURG},
    {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},       {"POLL", SIGPOLL},     {"PWR", SIGPWR},     {"SYS", SIGSYS},
};

/* Digits only (no sign, no blanks) within lo..hi; -1 otherwise. */
static int number(const char *s, int lo, int hi)
{
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 3)
        return -1;
    int v = atoi(s);
    return v >= lo && v <= hi ? v : -1;
}

int nr_signal_parse(const char *s)
{
    if (!s || !*s)
        return -1;
    if (*s >= '0' && *s <= '9')
        return number(s, 1, 64);
    if (!strncasecmp(s, "SIG", 3))
        s += 3;
    for (size_t i = 0; i < NR_ARRAY_LEN(names); i++)
        if (!strcasecmp(s, names[i].name))
            return names[i].sig;
    /* glibc's real-time range (34..64, as docker numbers them) */
    int span = SIGRTMAX - SIGRTMIN, n;
    if (!strcasecmp(s, "RTMIN"))
        return SIGRTMIN;
    if (!strcasecmp(s, "RTMAX"))
        return SIGRTMAX;
    if (!strncasecmp(s, "RTMIN+", 6) && (n = number(s + 6, 1, span)) > 0)
        return SIGRTMIN + n;
    if (!strncasecmp(s, "RTMAX-", 6) && (n = number(s + 6, 1, span)) > 0)
        return SIGRTMAX - n;
    return -1;
}

const char *nr_signal_name(int sig, char buf[NR_SIGNAME_MAX])
{
    for (size_t i = 0; i < NR_ARRAY_LEN(names); i++)
        if (names[i].sig == sig) {
            snprintf(buf, NR_SIGNAME_MAX, "SIG%s", names[i].name);
            return buf;
        }
    if (sig == SIGRTMIN)
        snprintf(buf, NR_SIGNAME_MAX, "SIGRTMIN");
    else if (sig == SIGRTMAX)
        snprintf(buf, NR_SIGNAME_MAX, "SIGRTMAX");
    else if (sig > SIGRTMIN && sig < SIGRTMAX)
        snprintf(buf, NR_SIGNAME_MAX, "SIGRTMIN+%d", sig - SIGRTMIN);
    else
        snprintf(buf, NR_SIGNAME_MAX, "signal %d", sig);
    return buf;
}
