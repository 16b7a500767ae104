/* The command table shared by the two CLIs.  Each subcommand is a function in
 * the module that owns it (images/cli_*.c, runtime/cli_*.c, ...).  They are
 * declared weak so the binary links while a module is still being written;
 * nrun_main.c reports a command whose function is absent as unsupported. */
#ifndef NR_CLI_H
#define NR_CLI_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>

#include "common/err.h"

typedef struct nr_global {
    const char *root;   /* --root / NRUN_ROOT / default */
    const char *prog;   /* "nrun" or "nbuild", for error lines */
    bool debug;
} nr_global;

#define NR_DEFAULT_ROOT "/var/lib/nrun"

/* argv[0] is the subcommand name; options follow.  Returns the exit code. */
typedef int (*nr_cmd_fn)(int argc, char **argv, nr_global *g);

#define NR_DECLARE_CMD(fn) int fn(int argc, char **argv, nr_global *g) __attribute__((weak))

/* images/ */
NR_DECLARE_CMD(nr_cmd_images);   /* nrun images [--format json] [-q] */
NR_DECLARE_CMD(nr_cmd_rmi);      /* nrun rmi IMAGE... */
NR_DECLARE_CMD(nr_cmd_tag);      /* nrun tag SRC DST */
NR_DECLARE_CMD(nr_cmd_image);    /* nrun image ls|rm|inspect|prune|tag ... */
NR_DECLARE_CMD(nr_cmd_image_inspect);
NR_DECLARE_CMD(nr_cmd_pull);
NR_DECLARE_CMD(nr_cmd_push);
NR_DECLARE_CMD(nr_cmd_login);   /* nrun login [-u U] [--password-stdin] [SERVER] */
NR_DECLARE_CMD(nr_cmd_logout);
NR_DECLARE_CMD(nr_cmd_save);
NR_DECLARE_CMD(nr_cmd_load);

/* runtime/ */
NR_DECLARE_CMD(nr_cmd_run);
NR_DECLARE_CMD(nr_cmd_create);
NR_DECLARE_CMD(nr_cmd_start);
NR_DECLARE_CMD(nr_cmd_ps);
NR_DECLARE_CMD(nr_cmd_stop);
NR_DECLARE_CMD(nr_cmd_kill);
NR_DECLARE_CMD(nr_cmd_rm);
NR_DECLARE_CMD(nr_cmd_logs);
NR_DECLARE_CMD(nr_cmd_exec);
NR_DECLARE_CMD(nr_cmd_oci);      /* nrun oci create|start|state|kill|delete (OCI runtime CLI) */
NR_DECLARE_CMD(nr_cmd_internal); /* nrun __internal ...: monitor and re-exec entry points */

/* runtime/supervisor/ */
NR_DECLARE_CMD(nr_cmd_reload);
NR_DECLARE_CMD(nr_cmd_scale);
NR_DECLARE_CMD(nr_cmd_stats);
NR_DECLARE_CMD(nr_cmd_top);
NR_DECLARE_CMD(nr_cmd_loglevel);
NR_DECLARE_CMD(nr_cmd_dye);
NR_DECLARE_CMD(nr_cmd_supervise); /* nrun supervise [opts] -- CMD...: the supervisor on the host (tests) */

/* builder/ */
NR_DECLARE_CMD(nr_cmd_build);    /* nbuild [opts] CONTEXT */
NR_DECLARE_CMD(nr_cmd_base);     /* nrun base [--list] REF...: make base images now */

/* `nrun inspect NAME...`: one object each, the container or image of that
 * name (NULL and *found false when there is none; NULL with an error in err
 * when it cannot be read). */
json_t *nr_inspect_container(nr_global *g, const char *ref, bool *found, nr_err *err) __attribute__((weak));
json_t *nr_inspect_image(nr_global *g, const char *ref, bool verify, bool *found, nr_err *err) __attribute__((weak));

/* Shared option helpers. */
/* Print "prog: <msg>" and return NR_EXIT_USAGE. */
int nr_usage_error(nr_global *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with another exit code (`nrun run` refuses with docker's 125). */
int nr_usage_verror(nr_global *g, int code, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

#endif
