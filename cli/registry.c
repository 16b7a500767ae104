/* nrun pull | push | login | logout: flags and output only; the work is in
 * the registry client (images/registry.h). */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"
#include "images/registry.h"
#include "images/store.h"

/* ---- progress: per-blob lines (bars with rate and ETA on a terminal) ---- */

typedef struct prog_line {
    char id[13];
    char status[40];
    uint64_t done, total;
    double t0;
} prog_line;

typedef struct prog {
    pthread_mutex_t mu;
    FILE *out;          /* where the lines go: stdout (pull), stderr (run --pull) */
    bool tty, quiet, pushing;
    size_t transferred; /* blobs downloaded or uploaded */
    prog_line *l;
    size_t n;
    size_t drawn;       /* lines on screen (tty) */
    double last_draw;
} prog;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static prog_line *line_for(prog *p, const char *digest)
{
    const char *hex = img_digest_valid(digest) ? img_digest_hex(digest) : digest;
    for (size_t i = 0; i < p->n; i++)
        if (!strncmp(p->l[i].id, hex, 12))
            return &p->l[i];
    p->l = nr_xrealloc(p->l, (p->n + 1) * sizeof *p->l);
    prog_line *l = &p->l[p->n++];
    memset(l, 0, sizeof *l);
    snprintf(l->id, sizeof l->id, "%.12s", hex);
    l->t0 = now_s();
    return l;
}

static void draw(prog *p, bool force)
{
    double t = now_s();
    if (!force && t - p->last_draw < 0.1)
        return;
    p->last_draw = t;
    if (p->drawn)
        fprintf(p->out, "\033[%zuA", p->drawn);
    for (size_t i = 0; i < p->n; i++) {
        prog_line *l = &p->l[i];
        fprintf(p->out, "\r\033[K%s: %s", l->id, l->status);
        if (l->total && l->done < l->total && l->done) {
            int w = 30, fill = (int)((double)l->done / (double)l->total * w);
            char a[16], b[16], r[16];
            nr_human_size(l->done, a, sizeof a);
            nr_human_size(l->total, b, sizeof b);
            double el = t - l->t0;
            double rate = el > 0 ? (double)l->done / el : 0;
            nr_human_size((unsigned long long)rate, r, sizeof r);
            fprintf(p->out, " [%.*s>%*s] %s/%s %s/s", fill, "==============================", w - fill, "", a, b, r);
            if (rate > 0)
                fprintf(p->out, " %.0fs", (double)(l->total - l->done) / rate);
        }
        fputc('\n', p->out);
    }
    p->drawn = p->n;
    fflush(p->out);
}

static void on_progress(void *arg, img_prog_event ev, const char *digest, uint64_t done, uint64_t total,
                        const char *msg)
{
    prog *p = arg;
    if (p->quiet)
        return;
    pthread_mutex_lock(&p->mu);
    if (ev == IMG_PROG_NOTE) {
        cleanup_free char *m = nr_escape_controls(msg);
        if (p->tty && p->drawn)
            fprintf(stderr, "%s\n", m);
        else
            fprintf(stderr, "%s\n", m);
    } else if (ev == IMG_PROG_RESOLVED) {
        /* shown at the end */
    } else {
        prog_line *l = line_for(p, digest);
        const char *st = NULL;
        switch (ev) {
        case IMG_PROG_START: st = p->pushing ? "Pushing" : "Downloading"; break;
        case IMG_PROG_BYTES: break;
        case IMG_PROG_DONE:
            st = p->pushing ? "Pushed" : "Download complete";
            p->transferred++;
            break;
        case IMG_PROG_EXISTS: st = p->pushing ? "Layer already exists" : "Already exists"; break;
        case IMG_PROG_MOUNTED: st = "Mounted from"; break;
        default: break;
        }
        l->done = done;
        l->total = total;
        if (st) {
            if (ev == IMG_PROG_MOUNTED) {
                cleanup_free char *m = nr_escape_controls(msg);
                snprintf(l->status, sizeof l->status, "Mounted from %.26s", m);
            } else {
                snprintf(l->status, sizeof l->status, "%s", st);
            }
        }
        if (p->tty)
            draw(p, st != NULL);
        else if (st)
            fprintf(p->out, "%s: %s\n", l->id, l->status), fflush(p->out);
    }
    pthread_mutex_unlock(&p->mu);
}

/* ---- shared flags ---- */

enum { OPT_TLS = NR_OPT_LONG, OPT_MIRROR, OPT_CONFIG, OPT_PSTDIN, OPT_CERT, OPT_JOBS, OPT_ALLPLAT, OPT_FOREIGN };

typedef struct reg_flags {
    img_reg_opts o;
    char **mirrors, **insecure;
    size_t nm, ni;
    const char *config;
    prog pr;
} reg_flags;

static int flag_bool(nr_global *g, const char *cmd, const char *v, int *out)
{
    if (!v || !strcmp(v, "true"))
        *out = 1;
    else if (!strcmp(v, "false"))
        *out = 0;
    else
        return nr_usage_error(g, "%s: --tls-verify takes true or false, not \"%s\"", cmd, v);
    return 0;
}

static int common_flag(nr_global *g, const char *cmd, int c, reg_flags *f)
{
    switch (c) {
    case OPT_TLS: return flag_bool(g, cmd, optarg, &f->o.tls_verify);
    case OPT_MIRROR:
        f->mirrors = nr_xrealloc(f->mirrors, (f->nm + 2) * sizeof *f->mirrors);
        f->mirrors[f->nm++] = nr_xstrdup(optarg);
        return 0;
    case OPT_CONFIG: f->config = optarg; return 0;
    case OPT_CERT: f->o.ca_file = optarg; return 0;
    case OPT_JOBS: {
        char *end;
        long n = strtol(optarg, &end, 10);
        if (*end || n < 1 || n > 32)
            return nr_usage_error(g, "%s: --max-concurrent takes 1..32", cmd);
        f->o.parallel = (int)n;
        return 0;
    }
    case 'q': f->pr.quiet = true; return 0;
    default: return nr_usage_error(g, "%s: unknown option %s", cmd, optind > 0 ? "(see --help)" : "");
    }
}

static int flags_finish(nr_global *g, reg_flags *f)
{
    nr_err err;
    if (img_reg_config_load(f->config, &f->mirrors, &f->nm, &f->insecure, &f->ni, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_USAGE);
    f->o.mirrors = (const char *const *)f->mirrors;
    f->o.n_mirrors = f->nm;
    f->o.insecure = (const char *const *)f->insecure;
    f->o.n_insecure = f->ni;
    if (!f->pr.out)
        f->pr.out = stdout;
    f->pr.tty = isatty(fileno(f->pr.out)) && !getenv("NO_COLOR");
    pthread_mutex_init(&f->pr.mu, NULL);
    f->o.progress = on_progress;
    f->o.progress_arg = &f->pr;
    return 0;
}

static void flags_free(reg_flags *f)
{
    for (size_t i = 0; i < f->nm; i++)
        free(f->mirrors[i]);
    for (size_t i = 0; i < f->ni; i++)
        free(f->insecure[i]);
    free(f->mirrors);
    free(f->insecure);
    free(f->pr.l);
}

/* After the flags of pull and push: the store, and the registry reference
 * `ref` names.  0, or the exit code with f freed. */
static int transfer_begin(nr_global *g, reg_flags *f, const char *ref, img_store **s, img_regref *r)
{
    int rc = flags_finish(g, f);
    if (rc) {
        flags_free(f);
        return rc;
    }
    nr_err err;
    if (img_store_open(g->root, s, &err) < 0) {
        flags_free(f);
        return nr_err_report(&err, g->prog, NR_EXIT_STORE);
    }
    if (img_regref_parse(ref, r, &err) < 0) {
        img_store_close(*s);
        flags_free(f);
        return nr_err_report(&err, g->prog, NR_EXIT_USAGE);
    }
    return 0;
}

#define COMMON_OPTS                                                                                          \
    {"tls-verify", OPT_TLS, optional_argument, "true|false",                                                 \
     "false: do not verify TLS, and allow plain http (loopback hosts always may)"},                          \
        {"ca-file", OPT_CERT, required_argument, "FILE", "trust these CA certificates instead of the system store"}, \
        {"registry-mirror", OPT_MIRROR, required_argument, "URL",                                            \
         "a docker.io mirror (repeatable; also \"registry-mirrors\" in the --registries-config file)"},       \
        {"registries-config", OPT_CONFIG, required_argument, "FILE", "default /etc/nrun/daemon.json"},      \
        {"max-concurrent", OPT_JOBS, required_argument, "N", "blob transfers at once (default 3)"},          \
        {"quiet", 'q', no_argument, NULL, "print only the digest"}

int nr_cmd_pull(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"all-platforms", OPT_ALLPLAT, no_argument, NULL,
         "keep a multi-platform image whole: its index and every platform's image (default: linux/amd64 only)"},
        {"allow-foreign-urls", OPT_FOREIGN, no_argument, NULL,
         "a foreign (non-distributable) layer the registry lacks may be fetched from the urls its manifest names"},
        COMMON_OPTS,
        {0}};
    static const nr_cmdspec spec = {"pull [OPTIONS] NAME[:TAG|@DIGEST]",
                                    "Pull an image from a registry.  From a multi-platform image (an index) only the "
                                    "linux/amd64 image is kept, as docker pull does, unless --all-platforms.",
                                    opts, false};
    reg_flags f = {.o = {.tls_verify = -1}};
    int c, rc;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == NR_OPT_HELP || c == NR_OPT_BAD) {
            flags_free(&f);
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
        if (c == OPT_ALLPLAT) {
            f.o.all_platforms = true;
            continue;
        }
        if (c == OPT_FOREIGN) {
            f.o.foreign_urls = true;
            continue;
        }
        if ((rc = common_flag(g, "pull", c, &f))) {
            flags_free(&f);
            return rc;
        }
    }
    if (optind != argc - 1) {
        flags_free(&f);
        return nr_usage_error(g, "pull: takes one image reference (nrun pull NAME[:TAG|@DIGEST])");
    }
    const char *ref = argv[optind];
    img_store *s;
    img_regref r;
    if ((rc = transfer_begin(g, &f, ref, &s, &r)))
        return rc;
    nr_err err;
    if (!f.pr.quiet)
        printf("%s: Pulling from %s/%s\n", r.tag[0] ? r.tag : r.digest, r.host, r.repo), fflush(stdout);
    img_desc d;
    char from[300];
    rc = img_reg_pull(s, ref, &f.o, &d, from, sizeof from, &err);
    img_store_close(s);
    flags_free(&f);
    if (rc < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    if (f.pr.quiet) {
        printf("%s\n", d.digest);
        return 0;
    }
    printf("Digest: %s\n", d.digest);
    if (strcmp(from, r.host))
        printf("Pulled through mirror %s\n", from);
    printf("Status: %s %s\n%s\n", f.pr.transferred ? "Downloaded newer image for" : "Image is up to date for",
           r.local[0] ? r.local : d.digest, r.local[0] ? r.local : ref);
    return 0;
}

int nr_cmd_push(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {COMMON_OPTS, {0}};
    static const nr_cmdspec spec = {"push [OPTIONS] NAME[:TAG] [DESTINATION]",
                                    "Pushes the store's image NAME[:TAG] to its registry, or to DESTINATION.", opts,
                                    false};
    reg_flags f = {.o = {.tls_verify = -1}};
    int c, rc;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == NR_OPT_HELP || c == NR_OPT_BAD) {
            flags_free(&f);
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
        if ((rc = common_flag(g, "push", c, &f))) {
            flags_free(&f);
            return rc;
        }
    }
    if (optind != argc - 1 && optind != argc - 2) {
        flags_free(&f);
        return nr_usage_error(g, "push: takes an image and optionally a destination (nrun push NAME[:TAG] [DEST])");
    }
    f.pr.pushing = true;
    const char *src = argv[optind], *dst = optind + 1 < argc ? argv[optind + 1] : NULL;
    img_store *s;
    img_regref r;
    if ((rc = transfer_begin(g, &f, dst ? dst : src, &s, &r)))
        return rc;
    nr_err err;
    if (!f.pr.quiet)
        printf("The push refers to repository [%s/%s]\n", r.host, r.repo), fflush(stdout);
    img_desc d;
    rc = img_reg_push(s, src, dst, &f.o, &d, &err);
    img_store_close(s);
    flags_free(&f);
    if (rc < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    if (f.pr.quiet)
        printf("%s\n", d.digest);
    else
        printf("%s: digest: %s size: %llu\n", r.tag[0] ? r.tag : d.digest, d.digest, (unsigned long long)d.size);
    return 0;
}

/* A registry argument as docker takes it: "host[:port]", maybe as a URL. */
static void server_host(const char *arg, char *out, size_t outlen)
{
    const char *p = strstr(arg, "://");
    p = p ? p + 3 : arg;
    snprintf(out, outlen, "%.*s", (int)strcspn(p, "/"), p);
    if (!strcmp(out, "index.docker.io") || !strcmp(out, "registry-1.docker.io"))
        snprintf(out, outlen, "%s", IMG_REG_DOCKER_HUB);
}

int nr_cmd_login(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {{"username", 'u', required_argument, "USER", "the user name"},
                                  {"password", 'p', required_argument, "PASSWORD", "the password (or token)"},
                                  {"password-stdin", OPT_PSTDIN, no_argument, NULL, "read the password from stdin"},
                                  COMMON_OPTS,
                                  {0}};
    static const nr_cmdspec spec = {"login [OPTIONS] [SERVER]",
                                    "Stores the credentials in Docker's config.json ($DOCKER_CONFIG or ~/.docker), "
                                    "or with the docker-credential helper it names (credHelpers, credsStore).",
                                    opts, false};
    reg_flags f = {.o = {.tls_verify = -1}};
    const char *user = NULL, *pass = NULL;
    bool pstdin = false;
    int c, rc;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == NR_OPT_HELP || c == NR_OPT_BAD) {
            flags_free(&f);
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
        rc = 0;
        if (c == 'u')
            user = optarg;
        else if (c == 'p')
            pass = optarg;
        else if (c == OPT_PSTDIN)
            pstdin = true;
        else
            rc = common_flag(g, "login", c, &f);
        if (rc) {
            flags_free(&f);
            return rc;
        }
    }
    if (optind < argc - 1 || (pass && pstdin)) {
        flags_free(&f);
        return nr_usage_error(g, optind < argc - 1 ? "login: takes at most one server"
                                                    : "login: --password and --password-stdin are exclusive");
    }
    if ((rc = flags_finish(g, &f))) {
        flags_free(&f);
        return rc;
    }
    char host[256];
    server_host(optind < argc ? argv[optind] : IMG_REG_DOCKER_HUB, host, sizeof host);
    char ubuf[256];
    if (!user) {
        if (pstdin || !isatty(STDIN_FILENO)) {
            flags_free(&f);
            return nr_usage_error(g, "login: -u USER is needed when the password comes from stdin");
        }
        fprintf(stderr, "Username: ");
        if (!fgets(ubuf, sizeof ubuf, stdin)) {
            flags_free(&f);
            return nr_usage_error(g, "login: no username");
        }
        ubuf[strcspn(ubuf, "\r\n")] = 0;
        user = ubuf;
    }
    cleanup_free char *pw = NULL;
    if (pstdin) {
        size_t len;
        nr_err err;
        if (nr_read_fd(STDIN_FILENO, 64 << 10, &pw, &len, &err) < 0) {
            flags_free(&f);
            return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        }
        while (len && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
            pw[--len] = 0;
        pass = pw;
    } else if (!pass) {
        if (!isatty(STDIN_FILENO)) {
            flags_free(&f);
            return nr_usage_error(g, "login: no password (use --password-stdin)");
        }
        pw = nr_xstrdup(getpass("Password: "));
        pass = pw;
    } else {
        fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
    }
    if (!*user || !pass || !*pass) {
        flags_free(&f);
        return nr_usage_error(g, "login: username and password must not be empty");
    }
    f.o.username = user;
    f.o.password = pass;
    nr_err err;
    rc = img_reg_login(host, &f.o, &err);
    if (pw)
        explicit_bzero(pw, strlen(pw));
    flags_free(&f);
    if (rc < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    puts("Login Succeeded");
    return 0;
}

int nr_cmd_logout(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {{0}};
    static const nr_cmdspec spec = {"logout [SERVER]", "Remove the stored credentials of a registry.", opts, false};
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1)
        return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    argc -= optind - 1, argv += optind - 1;
    if (argc > 2)
        return nr_usage_error(g, "logout: takes at most one server (nrun logout [SERVER])");
    char host[256];
    server_host(argc == 2 ? argv[1] : IMG_REG_DOCKER_HUB, host, sizeof host);
    img_reg_opts o = {.tls_verify = -1};
    nr_err err;
    if (img_reg_logout(host, &o, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    printf("Removing login credentials for %s\n", host);
    return 0;
}

/* run --pull always: the image pulled from its registry with pull's defaults
 * (the registries config), progress on stderr unless quiet, as docker run
 * shows it. */
int nr_pull_for_run(nr_global *g, const char *ref, bool quiet)
{
    reg_flags f = {.o = {.tls_verify = -1}, .pr = {.quiet = quiet, .out = stderr}};
    img_store *s;
    img_regref r;
    int rc;
    if ((rc = transfer_begin(g, &f, ref, &s, &r)))
        return rc;
    if (!quiet)
        fprintf(stderr, "%s: Pulling from %s/%s\n", r.tag[0] ? r.tag : r.digest, r.host, r.repo);
    nr_err err;
    img_desc d;
    char from[300];
    rc = img_reg_pull(s, ref, &f.o, &d, from, sizeof from, &err);
    img_store_close(s);
    if (rc < 0) {
        flags_free(&f);
        return nr_err_report(&err, g->prog, NR_EXIT_CMD);
    }
    if (!quiet)
        fprintf(stderr, "Digest: %s\nStatus: %s %s\n", d.digest,
                f.pr.transferred ? "Downloaded newer image for" : "Image is up to date for", r.local[0] ? r.local : ref);
    flags_free(&f);
    return 0;
}
