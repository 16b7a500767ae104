/* Errors are values: a fallible function returns < 0 (or NULL) and fills an
 * nr_err with the errno (0 when the cause is not a syscall) and a message
 * that names the thing that failed.  Only the CLI layer prints an error and
 * picks an exit code (nr_err_report). */
#ifndef NR_ERR_H
#define NR_ERR_H

#include <stddef.h>

typedef struct nr_err {
    int errnum;      /* errno of the failing syscall, 0 for a logical error */
    char msg[1024];
} nr_err;

/* Set a logical error; always returns -1 so callers can `return nr_err_set(...)`. */
int nr_err_set(nr_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Set an error from errno: "<message>: ENOENT (No such file or directory)". */
int nr_err_sys(nr_err *e, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Put context in front of an existing message: "<prefix>: <old message>". */
int nr_err_wrap(nr_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nr_err_clear(nr_err *e);
/* Print "<prog>: <message>" on stderr and return `code` (for `return nr_err_report(...)`). */
int nr_err_report(const nr_err *e, const char *prog, int code);

/* Exit codes used by the CLIs. */
enum {
    NR_EXIT_FAIL = 1,    /* generic failure, bad input */
    NR_EXIT_USAGE = 2,   /* bad command line */
    NR_EXIT_STORE = 3,   /* store could not be opened or written */
    NR_EXIT_CMD = 125,   /* docker-like: nrun itself failed before the app ran */
    NR_EXIT_NOEXEC = 126,
    NR_EXIT_NOTFOUND = 127,
};

#endif
