/* What cli/run.c shares with cli/run_docker.c (docker run's compatibility
 * flags).  Not a public interface: only these two files include it. */
#ifndef NR_CLI_RUN_INT_H
#define NR_CLI_RUN_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "cli/cli.h"
#include "images/store.h"
#include "runtime/runtime.h"

/* docker run's flags (keys kept apart from the list above) */
enum {
    O_DK_ADDHOST = NR_OPT_LONG + 0x200, O_DK_DNS, O_DK_DNSSEARCH, O_DK_DNSOPT, O_DK_DOMAIN, O_DK_INIT, O_DK_STOPSIG,
    O_DK_PULL, O_DK_PLATFORM, O_DK_EXPOSE, O_DK_GROUPADD, O_DK_OOMADJ, O_DK_MEMSWAP, O_DK_MEMRES, O_DK_LOGDRV,
    O_DK_LOGOPT, O_DK_PID, O_DK_IPC, O_DK_USERNS, O_DK_CGROUPNS, O_DK_UTS, O_DK_VOLFROM, O_DK_LINK,
};
/* What docker's flags leave for after the loop (cli/run.c run_main). */
typedef struct dk_flags {
    const char *pull;                    /* always|missing|never, NULL = missing */
    bool quiet;
    const char *log_driver;              /* json-file|local */
    const char *log_size, *log_files;    /* --log-opt max-size / max-file */
    char **volumes_from;                 /* --volumes-from CONTAINER[:ro|:rw] */
    size_t nvolumes_from;
    char **links;                        /* --link CONTAINER[:ALIAS] */
    size_t nlinks;
} dk_flags;

void run_push(char ***v, size_t *n, const char *s);
int run_parse_ll(const char *s, long long *out);
/* A refused `nrun run` exits 125 as docker's does (2 is the app's to give). */
int run_usage_error(nr_global *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One of docker run's flags: 0, or the exit code with the error printed. */
int run_docker_flag(nr_global *g, int c, const char *val, rt_run_opts *op, dk_flags *dk);
/* After the option loop: --log-opt as supervisor flags, --memory-swap/--memory-reservation checks,
 * --volumes-from as the other container's -v flags. */
int run_docker_flags_finish(nr_global *g, rt_run_opts *op, const dk_flags *dk);

/* The strings as a JSON array. */
json_t *run_strv_json(char **v, size_t n);
/* What docker's inspect and ps show that config.json does not keep apart (read
 * from the image once, at create); image_id gets the image's config digest. */
json_t *run_docker_config(img_store *store, const char *image, const rt_run_opts *op, const json_t *user_labels,
                          char *image_id, size_t n);

#endif
