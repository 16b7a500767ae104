/* Shared by the base image tag grammars (builder/base_tags.c: node,
 * builder/base_os.c: debian, alpine): the pins of versions.txt and Debian's
 * suites.  Internal to builder/ (base*.c; alpine.c reads a pin). */
#ifndef BLD_BASE_INT_H
#define BLD_BASE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "builder/base.h"
#include "common/err.h"

#define BLD_BASE_VERSIONS_NAME "images/node/versions.txt"

/* Value of KEY in versions.txt: 0; 1 when unset (find), an error (get). */
int bld_base_pin_find(const char *text, const char *key, char *out, size_t outlen, nr_err *err);
int bld_base_pin_get(const char *text, const char *key, char *out, size_t outlen, nr_err *err);
/* Is `word` (wlen bytes) one of the space-separated words of `list`? */
bool bld_base_in_list(const char *list, const char *word, size_t wlen);
/* Debian suites oldest first: the rank of s[0..n) (-1: not a suite nrun
 * knows) and the name of a rank (NULL past the newest). */
int bld_base_debian_rank(const char *s, size_t n);
const char *bld_base_debian_name(int rank);
/* A suite Debian's archive no longer serves (DEBIAN_SUITES) becomes the
 * nearest served one, `warning` saying so; 0, or -1 when the pins are broken. */
int bld_base_served(const char *versions, const char *ref, char *suite, size_t slen, char *warning, size_t wlen,
                    nr_err *err);
/* err = "REF: WHY", errnum ENOENT; returns 1 ("not a tag nbuild makes"). */
int bld_base_unknown(nr_err *err, const char *ref, const char *why);
/* n > 0 characters, all digits */
bool bld_base_all_digits(const char *s, size_t n);
/* Tags nbuild makes are words of a-z, 0-9, '.' and '-', not starting with '-' or '.'. */
bool bld_base_tag_chars_ok(const char *t);
struct img_store;
/* The store holds an image under ref. */
bool bld_base_tag_present(struct img_store *s, const char *ref);
/* The debian and nginx tags, "TAG CANONICAL[  # NOTE]" a line, for `nrun base --list`. */
void bld_base_list_os(FILE *f);
/* The same for redis, postgres, mysql and mariadb (builder/base_db.c). */
void bld_base_list_db(FILE *f);

#endif
