#define _GNU_SOURCE
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int nr_err_set(nr_err *e, const char *fmt, ...)
{
    va_list ap;
    if (!e)
        return -1;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->errnum = 0;
    return -1;
}

int nr_err_sys(nr_err *e, int errnum, const char *fmt, ...)
{
    va_list ap;
    if (!e)
        return -1;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n < sizeof e->msg) {
        const char *name = strerrorname_np(errnum);
        snprintf(e->msg + n, sizeof e->msg - n, ": %s (%s)", name ? name : "E?", strerror(errnum));
    }
    e->errnum = errnum;
    return -1;
}

int nr_err_wrap(nr_err *e, const char *fmt, ...)
{
    char prefix[512], old[sizeof e->msg];
    va_list ap;
    if (!e)
        return -1;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof e->msg - 3)
        n = sizeof e->msg - 3;
    memcpy(e->msg, prefix, n);
    memcpy(e->msg + n, ": ", 2);
    size_t rest = sizeof e->msg - n - 3;
    size_t ol = strnlen(old, rest);
    memcpy(e->msg + n + 2, old, ol);
    e->msg[n + 2 + ol] = '\0';
    return -1;
}

void nr_err_clear(nr_err *e)
{
    if (e) {
        e->errnum = 0;
        e->msg[0] = '\0';
    }
}

int nr_err_report(const nr_err *e, const char *prog, int code)
{
    /* One line, whatever the message holds: newlines from outside input are flattened. */
    char line[sizeof e->msg];
    size_t i;
    for (i = 0; e->msg[i] && i < sizeof line - 1; i++)
        line[i] = (e->msg[i] == '\n' || e->msg[i] == '\r') ? ' ' : e->msg[i];
    line[i] = '\0';
    fprintf(stderr, "%s: %s\n", prog, line[0] ? line : "unknown error");
    return code;
}
