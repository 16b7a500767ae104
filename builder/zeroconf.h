/* Zero-config builds: a directory with package.json and no Nodefile or
 * Dockerfile is built by a generated Dockerfile (the recipe, README "Zero-
 * config builds").  `nbuild --print-nodefile DIR` prints the very text the
 * build parses: one code path.
 *
 * package.json is hostile input: read size-bounded as a regular file, parsed
 * with jansson; the only values that reach the Dockerfile are the node major
 * (digits) and `main`, JSON-quoted into an exec-form CMD.  Scripts are never
 * copied into the text: `npm start` and `npm run build` read them at run time. */
#ifndef BLD_ZEROCONF_H
#define BLD_ZEROCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* Does the version `ver` ("20.11.1") satisfy the npm semver range `range`
 * (">=18", "^20", "20.x", "18 || 20", ">=18 <21", "18 - 20", "~20.1", "*")?
 * 1 yes, 0 no, -1 when the range does not parse (err says why). */
int bld_semver_satisfies(const char *range, const char *ver, nr_err *err);

/* The newest of `versions` (one pinned release per major, any order) that
 * satisfies `range`: its index, or -1 with err set (no match / bad range). */
int bld_semver_pick(const char *range, const char *const *versions, size_t n, nr_err *err);

/* `s` as a JSON string literal on one line (control characters escaped):
 * safe inside a Dockerfile exec form.  malloc'd. */
char *bld_json_quote(const char *s);

/* The recipe for the context directory `dir`: 0 with *out (malloc'd text)
 * and *shown (the name errors use); 1 with errnum ENOENT when `dir` has no
 * package.json; -1 with err naming the file on bad input. */
int bld_zeroconf_nodefile(const char *dir, char **out, char **shown, nr_err *err);

#endif
