/* .dockerignore / .nbuildignore with Docker's semantics.
 *
 * One pattern a line; `#` starts a comment line; blank lines are skipped;
 * a leading `!` makes an exception.  Patterns are cleaned like Go's
 * filepath.Clean and a leading `/` is dropped.  `*` matches within one path
 * segment, `?` one character, `[...]` a class, `**` any number of segments
 * (including none), `\` escapes.  A pattern that matches a directory also
 * matches everything below it.  The last matching pattern wins.
 * .nbuildignore is used instead of .dockerignore when both exist. */
#ifndef BLD_IGNORE_H
#define BLD_IGNORE_H

#include <stdbool.h>

#include "common/err.h"

typedef struct bld_ignore bld_ignore;

/* Parse the text of an ignore file; `name` appears in errors ("name:LINE: ...").
 * At most BLD_IGNORE_MAX patterns (real files have tens to hundreds). */
#define BLD_IGNORE_MAX 10000
int bld_ignore_parse(const char *name, const char *text, bld_ignore **out, nr_err *err);
/* Parse the ignore file open at fd (a regular file, at most 16 MiB, no NUL). */
int bld_ignore_read(int fd, const char *name, bld_ignore **out, nr_err *err);
void bld_ignore_free(bld_ignore *ig);

/* Is the context-relative path (no leading "./" or "/") excluded? */
bool bld_ignore_match(const bld_ignore *ig, const char *path);
/* Can the walk skip the excluded directory `dir` entirely?  False when an
 * exception pattern could re-include something below it. */
bool bld_ignore_skip_dir(const bld_ignore *ig, const char *dir);
/* True when there are no patterns at all. */
bool bld_ignore_empty(const bld_ignore *ig);

#endif
