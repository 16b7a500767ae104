/* The command layer of nrun and nbuild: the globals every command gets, the
 * command functions (listed once, in cli/commands.h) and the one option
 * parser they all use (cli/opt.c, a declarative table over getopt_long).
 * Only this layer prints; the libraries below return nr_err values. */
#ifndef NR_CLI_H
#define NR_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/err.h"

typedef struct nr_global {
    const char *root;   /* --root / NRUN_ROOT / default */
    const char *prog;   /* "nrun" or "nbuild", for error lines */
    bool debug;
} nr_global;

#define NR_DEFAULT_ROOT "/var/lib/nrun"
/* The store when neither --root nor NRUN_ROOT names one: NR_DEFAULT_ROOT
 * for root; for anyone else $XDG_DATA_HOME/nrun (else ~/.local/share/nrun),
 * refused when that directory or the store is a symlink, someone else's, or
 * writable by others.  *out is malloc'd. */
int nr_root_default(char **out, nr_err *err);
int nr_cache_rootless(char **own, char **ro, nr_err *err);

/* argv[0] is the subcommand name; options follow.  Returns the exit code. */
typedef int (*nr_cmd_fn)(int argc, char **argv, nr_global *g);

#include "cli/commands.h"
#define NR_CMD_DECLARE(verb, fn, group, summary) int fn(int argc, char **argv, nr_global *g);
NR_COMMANDS(NR_CMD_DECLARE)
#undef NR_CMD_DECLARE

/* ---- options: one declarative table per command, parsed by getopt_long ----
 *
 *   static const nr_opt opts[] = {
 *       {"all", 'a', no_argument, NULL, "show stopped containers too"},
 *       {"format", 'f', required_argument, "FORMAT", "table, json or a {{.Field}} template"},
 *       {0},
 *   };
 *   static const nr_cmdspec spec = {"ps [OPTIONS]", "List containers", opts};
 *   int c;
 *   while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
 *       switch (c) {
 *       case 'a': ...; break;
 *       case NR_OPT_HELP: return 0;          (the help was printed on stdout)
 *       default: return NR_EXIT_USAGE;       (NR_OPT_BAD: the error was printed)
 *       }
 *   }
 *   operands: argv[optind..argc-1], option values in optarg, as with getopt.
 *
 * --help (and -h unless a command uses 'h') is added to every table.  A key
 * that is not a letter is a long-only option: use a value >= NR_OPT_LONG. */
typedef struct nr_opt {
    const char *name;    /* long name without "--", or NULL for a short-only option */
    int key;             /* the short letter, or NR_OPT_LONG + n */
    int arg;             /* no_argument, required_argument, optional_argument */
    const char *metavar; /* the value's name in the help ("NAME") */
    const char *help;
} nr_opt;

typedef struct nr_cmdspec {
    const char *usage;   /* after the program name: "ps [OPTIONS]" (without the verb: the caller's) */
    const char *about;   /* one line */
    const nr_opt *opts;  /* ends with {0} */
    bool permute;        /* options may follow operands (nbuild CONTEXT -t x) */
} nr_cmdspec;

enum { NR_OPT_HELP = -2, NR_OPT_BAD = -3, NR_OPT_LONG = 0x100 };

int nr_opt_next(const nr_cmdspec *spec, int argc, char **argv, nr_global *g);
/* spec's long options by their full name only, as docker's (getopt_long
 * would take --pid for --pids-limit, a unique prefix) */
void nr_opt_exact(const nr_cmdspec *spec);
/* The help of a command (usage line, about, options) on f. */
void nr_opt_help(const nr_cmdspec *spec, nr_global *g, const char *verb, FILE *f);

/* The supervisor's tuning options (--max-memory, ..., runtime/supervisor/options.c)
 * as option-table entries with keys NR_OPT_SV + i, appended to `base` in `buf`
 * (for `nrun run` and `nrun supervise`); nr_sv_opt_name(key) is the option's "--name". */
enum { NR_OPT_SV = 0x1000 };
const nr_opt *nr_opts_with_sv(const nr_opt *base, nr_opt *buf, size_t cap);
const char *nr_sv_opt_name(int key);

/* `nrun inspect NAME...`: one object each, the container or image of that
 * name (NULL and *found false when there is none; NULL with an error in err
 * when it cannot be read). */
json_t *nr_inspect_container(nr_global *g, const char *ref, bool *found, nr_err *err);
json_t *nr_inspect_image(nr_global *g, const char *ref, bool verify, bool *found, nr_err *err);

/* Send one request to the control socket of container `id` (or `--control PATH`),
 * return the reply line (malloc'd) or NULL with err set (cli/control.c). */
/* PID 1's {"cmd":"stats"} reply for a container's monitor, or NULL (cli/run.c) */
char *nr_monitor_stats(const char *root, const char *id);
char *sv_control_call(nr_global *g, const char *id, const char *path, const char *request, int timeout_ms, nr_err *err);

/* --format of the listing commands (cli/format.c). */
typedef struct nr_format {
    enum { NR_FMT_TABLE, NR_FMT_JSON, NR_FMT_TEMPLATE } kind;
    const char *tmpl; /* the template ("table TMPL" too), NULL for the default columns */
} nr_format;
int nr_format_parse(nr_global *g, const char *cmd, const char *arg, nr_format *f);
/* tmpl with each {{.Key}} replaced by row's Key (malloc'd). */
char *nr_format_render(const char *tmpl, const json_t *row);
/* The header row of a table template: {{.Key}} as names[] maps it ({key, head, ..., NULL}), else KEY. */
char *nr_format_header(const char *tmpl, const char *const *names);
/* Tab-separated lines as aligned columns. */
void nr_table_print(char **lines, size_t n, FILE *f);

/* docker's --filter KEY=VALUE of the listing commands (ps, events): the same
 * key twice is either, different keys must all match, and so must every
 * label= (cli/format.c).  one(f, ctx) judges a single filter. */
typedef struct nr_filter {
    char *key, *value;
} nr_filter;
bool nr_filters_match(const nr_filter *fs, size_t n, bool (*one)(const nr_filter *f, void *ctx), void *ctx);

/* The run flags of a container that `nrun start` needs again (its restart
 * policy), as run/create saved them (cli/run.c). */
struct rt_run_params;
int nr_run_params_load(nr_global *g, const char *id, struct rt_run_params *rp, nr_err *err);

/* run's option table, the supervisor's options included (cli/run.c): nrun
 * run and create parse with it, nrun deploy takes its flags as overrides and
 * checks them with nr_run_flags_check (argv: "run" FLAGS... IMAGE), which
 * refuses what run would refuse and makes nothing. */
const nr_opt *nr_run_opts(void);
/* run --pull always (cli/registry.c): 0, or the exit code (error printed) */
int nr_pull_for_run(nr_global *g, const char *ref, bool quiet);
/* Is image one `nrun base` makes (node:20, redis:7, node:20-alpine...)?
 * norm gets the name it makes (cli/base.c). */
bool nr_base_makes(const char *image, char *norm, size_t nlen);
int nr_run_flags_check(int argc, char **argv, nr_global *g);

/* Complete or revert the deploys a killed nrun left (cli/deploy.c). */
void nr_deploy_recover(nr_global *g);

/* The front of a command group (`nrun image ls`): with no
 * subcommand, `help` on stderr and *code a usage exit; with -h/--help, on
 * stdout and *code 0; NULL then.  Else the subcommand, argv[1] now reading
 * "<group> <sub>" (kept in label) so that its messages say "nrun image ls: ...".
 * Every group (image, network, system, volume) starts here so that they
 * agree.  Docker also prints a group's help on stderr but exits 0 (podman:
 * 125); a missing subcommand is a bad command line like any missing
 * argument, so it exits 2 here. */
const char *nr_group_sub(int argc, char **argv, const char *group, const char *help, char *label, size_t labellen,
                         int *code);

/* docker's time argument (--since, until=): RFC 3339, unix seconds or a
 * duration before now (10m), as unix nanoseconds (cli/events.c). */
int nr_time_parse(const char *s, long long *ns);

/* docker's prune prompt: "WARNING! This will remove <what>." and a y/N
 * answer read from stdin (EOF: no).  And the bytes of the regular files
 * below a directory fd, no link followed (cli/container.c). */
bool nr_confirm(const char *what);
unsigned long long nr_tree_bytes(int dirfd, int depth);

/* `nrun image history` (cli/image_history.c); `nrun history ARGS` means it
 * when its operand is an image and no deploy of that name has revisions. */
int nr_image_history(int argc, char **argv, nr_global *g);
bool nr_history_is_image(int argc, char **argv, nr_global *g);

/* A volume name: [a-zA-Z0-9][a-zA-Z0-9_.-]*, under 128 characters (cli/volume.c). */
bool nr_volume_name_ok(const char *n);

/* Print "prog: <msg>" and return NR_EXIT_USAGE. */
int nr_usage_error(nr_global *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with another exit code (`nrun run` refuses with docker's 125). */
int nr_usage_verror(nr_global *g, int code, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* cli/lifecycle.c: the name (or short id) of another container that binds
 * one of container id's anonymous volumes (--volumes-from), NULL if none
 * (malloc'd): rm and prune leave such a container, as docker keeps a volume
 * in use. */
char *nr_ctr_volume_user(const char *root, const char *id);

#endif
