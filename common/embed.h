/* Files compiled into the binary (see tools/embed.sh and EMBED_SRCS in the
 * Makefile): returns the NUL-terminated contents, or NULL when absent. */
#ifndef NR_EMBED_H
#define NR_EMBED_H
#include <stddef.h>
const char *nr_embed_get(const char *name, size_t *len);
#endif
