/* Helpers shared by the supervisor's CLI files (supervise, logs, reload, scale, stats, top). */
#ifndef SV_CLI_H
#define SV_CLI_H
#include "common/cli.h"
#include "common/err.h"

/* A decimal integer in lo..hi (the whole string). */
int sv_parse_int(const char *s, int lo, int hi, int *out);
/* "500ms", "10s", "2m", "1h", or a plain number of seconds. */
int sv_parse_duration_ms(const char *s, int *out);
/* Bind and listen on a root-only AF_UNIX control socket (a stale one is replaced). */
int sv_control_bind(const char *path, nr_err *err);
/* Send one request to the control socket of container `id` (or `--control PATH`),
 * return the reply line (malloc'd) or NULL with err set. */
char *sv_control_call(nr_global *g, const char *id, const char *path, const char *request, int timeout_ms, nr_err *err);
/* The supervisor's tuning options (--max-memory, --drain-timeout, --wait-ready, ...):
 * sv_opt_arity: -1 not one of them, 0 a flag, 1 takes a value.
 * sv_opt_apply: 1 not one of them, 0 applied to cfg, -1 bad value (err says why). */
struct sv_config;
int sv_opt_arity(const char *opt);
int sv_opt_apply(struct sv_config *cfg, const char *opt, const char *val, nr_err *err);
#endif
