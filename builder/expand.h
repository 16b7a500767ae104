/* Variable substitution and quote removal for one Nodefile word, with
 * Docker's rules: '...' is literal, "..." expands variables, the escape
 * character (\ or `) quotes the next character, and $VAR, ${VAR},
 * ${VAR:-w} ${VAR-w} ${VAR:+w} ${VAR+w} ${VAR:?msg} ${VAR?msg} substitute,
 * and ${VAR#p} ${VAR##p} ${VAR%p} ${VAR%%p} ${VAR/p/r} ${VAR//p/r} (shell
 * patterns, as BuildKit's Dockerfile 1.7) trim or replace.
 * A `$` not followed by a name is literal.  Pure: no I/O. */
#ifndef BLD_EXPAND_H
#define BLD_EXPAND_H

#include <stddef.h>

#include "common/err.h"

/* Value of a variable, or NULL when it is not set. */
typedef const char *(*bld_lookup_fn)(void *ctx, const char *name);

/* Expand `w` into a malloc'd *out.  On error returns -1 with a message (no
 * position) in err and the offset of the culprit in w in *errpos. */
int bld_expand(const char *w, char esc, bld_lookup_fn look, void *ctx, char **out, size_t *errpos, nr_err *err);

#endif
