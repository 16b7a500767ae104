/* ADD <url>: one download into a file of the build's own (fetch.c).
 *
 * libcurl is loaded with dlopen on first use (it drags ~30 libraries that
 * no other nbuild path needs).  http and https only, redirects included
 * (at most BLD_FETCH_MAX_REDIRS, never to another scheme nor from https
 * back to http) through images/http.h, the registry client's one libcurl
 * wrapper; the body is bounded by `max` bytes, declared or streamed; its
 * sha256 is computed while it streams, and compared with `want` (64 hex,
 * or NULL) before the file is handed over.  TLS is verified against the host's trust store. */
#ifndef BLD_FETCH_H
#define BLD_FETCH_H

#include <stdint.h>

#include "common/err.h"

#define BLD_FETCH_MAX_REDIRS 10

/* Download `url` into a new file in `dir` (made 0700 if missing): *path
 * (malloc'd) names it; the caller removes it.  On any failure no file is
 * left and err names the URL. */
int bld_fetch_url(const char *url, const char *dir, uint64_t max, const char *want, char **path, uint64_t *size,
                  char sha[65], nr_err *err);
/* Scratch entries named "<pid>-..." in dir whose nbuild is gone (killed):
 * drop(dfd, dir, name) each, or unlink them when drop is NULL. */
void bld_sweep_dead(const char *dir, void (*drop)(int dfd, const char *dir, const char *name));
/* Remove the downloads a killed nbuild left in dir (their pid is gone). */
void bld_fetch_sweep(const char *dir);

#endif
