/* The supervisor's tuning options and the value parsers they share with the
 * CLI (runtime/supervisor/options.c). */
#ifndef SV_OPTIONS_H
#define SV_OPTIONS_H
#include <stddef.h>

#include "common/err.h"

/* A decimal integer in lo..hi (the whole string). */
int sv_parse_int(const char *s, int lo, int hi, int *out);
/* "500ms", "10s", "2m", "1h", or a plain number of seconds. */
int sv_parse_duration_ms(const char *s, int *out);
/* The supervisor's tuning options (--max-memory, --drain-timeout, --wait-ready, ...):
 * sv_opt_arity: -1 not one of them, 0 a flag, 1 takes a value.
 * sv_opt_apply: 1 not one of them, 0 applied to cfg, -1 bad value (err says why). */
struct sv_config;
int sv_opt_arity(const char *opt);
/* The i-th of those options' names ("--max-memory"), NULL past the last. */
const char *sv_opt_name(size_t i);
int sv_opt_apply(struct sv_config *cfg, const char *opt, const char *val, nr_err *err);
#endif
