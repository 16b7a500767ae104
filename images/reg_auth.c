/* Credentials as Docker keeps them: config.json in $DOCKER_CONFIG or
 * ~/.docker, with credHelpers / credsStore naming a docker-credential-*
 * program (the helper protocol: `get`/`erase` read the server URL on stdin,
 * `store` reads {"ServerURL","Username","Secret"}), else "auths" entries
 * holding base64("user:password").  Also the daemon.json-style file with
 * registry mirrors and insecure registries. */
#include "images/reg_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"

#define CONFIG_MAX (1u << 20)
#define HELPER_OUT_MAX (64u << 10)

const char *img_reg_cred_key(const char *host)
{
    return !strcmp(host, IMG_REG_DOCKER_HUB) ? "https://index.docker.io/v1/" : host;
}

char *reg_b64_encode(const void *data, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    char *out = nr_xmalloc(4 * ((n + 2) / 3) + 1), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = p[i] << 16 | (i + 1 < n ? p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        *o++ = tbl[(v >> 18) & 63];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? tbl[v & 63] : '=';
    }
    *o = 0;
    return out;
}

static char *b64_decode(const char *s, size_t *len)
{
    size_t n = strlen(s);
    char *out = nr_xmalloc(n / 4 * 3 + 4);
    size_t o = 0;
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        int d;
        if (ch >= 'A' && ch <= 'Z') d = ch - 'A';
        else if (ch >= 'a' && ch <= 'z') d = ch - 'a' + 26;
        else if (ch >= '0' && ch <= '9') d = ch - '0' + 52;
        else if (ch == '+') d = 62;
        else if (ch == '/') d = 63;
        else if (ch == '=') break;
        else { free(out); return NULL; }
        v = (v << 6) | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((v >> bits) & 0xff);
        }
    }
    out[o] = 0;
    *len = o;
    return out;
}

static char *config_dir(const img_reg_opts *o)
{
    if (o->config_dir)
        return nr_xstrdup(o->config_dir);
    const char *d = getenv("DOCKER_CONFIG");
    if (d && *d)
        return nr_xstrdup(d);
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(geteuid());
        home = pw ? pw->pw_dir : "/";
    }
    return nr_xasprintf("%s/.docker", home);
}

/* A user's JSON file that must hold an object (`what` names it in errors).
 * When it is absent and missing_ok: 0 with *out NULL. */
static int json_object_load(const char *path, const char *what, bool missing_ok, json_t **out, nr_err *err)
{
    *out = NULL;
    cleanup_free char *data = NULL;
    size_t len;
    if (nr_read_user_file(AT_FDCWD, path, what, CONFIG_MAX, &data, &len, err) < 0) {
        if (missing_ok && err->errnum == ENOENT) {
            nr_err_clear(err);
            return 0;
        }
        return -1;
    }
    json_error_t je;
    json_t *j = json_loadb(data, len, 0, &je);
    if (!j)
        return nr_err_set(err, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return nr_err_set(err, "%s: not a JSON object", path);
    }
    *out = j;
    return 0;
}

/* config.json as an object (an empty one when the file is absent). */
static int config_load(const char *dir, json_t **out, nr_err *err)
{
    cleanup_free char *path = nr_xasprintf("%s/config.json", dir);
    if (json_object_load(path, "docker config", true, out, err) < 0)
        return -1;
    if (!*out)
        *out = json_object();
    return 0;
}

static int config_save(const char *dir, json_t *j, nr_err *err)
{
    if (nr_mkdir_p(dir, 0700, err) < 0)
        return -1;
    cleanup_free char *text = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (!text)
        return nr_err_set(err, "%s/config.json: cannot serialize", dir);
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return nr_err_sys(err, errno, "open %s", dir);
    size_t n = strlen(text);
    text[n] = '\n';
    int rc = nr_write_atomic(dfd, "config.json", text, n + 1, 0600, err);
    text[n] = 0;
    return rc;
}

/* Strip "https://" and a path: auths keys are written many ways. */
static void key_host(const char *k, char *out, size_t outlen)
{
    const char *p = strstr(k, "://");
    p = p ? p + 3 : k;
    size_t n = strcspn(p, "/");
    snprintf(out, outlen, "%.*s", (int)n, p);
}

static const char *helper_for(json_t *cfg, const char *host)
{
    json_t *h = json_object_get(json_object_get(cfg, "credHelpers"), host);
    if (!json_is_string(h))
        h = json_object_get(json_object_get(cfg, "credHelpers"), img_reg_cred_key(host));
    if (!json_is_string(h))
        h = json_object_get(cfg, "credsStore");
    if (!json_is_string(h) || !json_string_length(h))
        return NULL;
    return json_string_value(h);
}

/* Run docker-credential-<name> <verb> with `input` on stdin; its stdout
 * (bounded) in *out.  *status is its exit status. */
static int helper_run(const char *name, const char *verb, const char *input, char **out, int *status, nr_err *err)
{
    for (const char *p = name; *p; p++)
        if (!(*p == '-' || *p == '_' || *p == '.' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9')))
            return nr_err_set(err, "docker config: credential helper name \"%s\" is not a plain name", name);
    char prog[200];
    snprintf(prog, sizeof prog, "docker-credential-%s", name);
    int in[2], outp[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return nr_err_sys(err, errno, "pipe");
    if (pipe2(outp, O_CLOEXEC) < 0) {
        close(in[0]), close(in[1]);
        return nr_err_sys(err, errno, "pipe");
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(in[0]), close(in[1]), close(outp[0]), close(outp[1]);
        return nr_err_sys(err, e, "fork");
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(outp[1], 1);
        execlp(prog, prog, verb, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(outp[1]);
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    nr_write_all(in[1], input, strlen(input));
    close(in[1]);
    size_t len;
    int rc = nr_read_fd(outp[0], HELPER_OUT_MAX, out, &len, err);
    close(outp[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    signal(SIGPIPE, old);
    if (rc < 0)
        return nr_err_wrap(err, "%s %s", prog, verb);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (*status == 127)
        return nr_err_set(err, "credential helper %s not found in PATH (named by the docker config)", prog);
    return 0;
}

/* The Docker config (from the directory *dir) and the credential helper it
 * names for host (NULL: none; a string of *cfg). */
static int creds_config(const img_reg_opts *o, const char *host, char **dir, json_t **cfg, const char **helper,
                        nr_err *err)
{
    *dir = config_dir(o);
    if (config_load(*dir, cfg, err) < 0)
        return -1;
    *helper = helper_for(*cfg, host);
    return 0;
}

/* The helper verbs (get, erase) whose input is the registry's key alone. */
static int helper_run_host(const char *name, const char *verb, const char *host, char **out, int *status, nr_err *err)
{
    cleanup_free char *in = nr_xasprintf("%s\n", img_reg_cred_key(host));
    return helper_run(name, verb, in, out, status, err);
}

int reg_creds_get(const img_reg_opts *o, const char *host, char **user, char **secret, nr_err *err)
{
    *user = *secret = NULL;
    cleanup_free char *dir = NULL;
    json_t *cfg;
    const char *helper;
    if (creds_config(o, host, &dir, &cfg, &helper, err) < 0)
        return -1;
    int rc = 0;
    if (helper) {
        cleanup_free char *out = NULL;
        int st;
        rc = helper_run_host(helper, "get", host, &out, &st, err);
        if (rc == 0 && st == 0) {
            json_t *j = json_loads(out, 0, NULL);
            json_t *u = json_object_get(j, "Username"), *s = json_object_get(j, "Secret");
            if (!json_is_string(u) || !json_is_string(s))
                rc = nr_err_set(err, "docker-credential-%s get: reply is not {\"Username\",\"Secret\"}", helper);
            else if (json_string_length(s)) {
                *user = nr_xstrdup(json_string_value(u));
                *secret = nr_xstrdup(json_string_value(s));
            }
            json_decref(j);
        }
        /* a non-zero exit is "credentials not found": anonymous */
        if (out)
            explicit_bzero(out, strlen(out));
        json_decref(cfg);
        return rc;
    }
    json_t *auths = json_object_get(cfg, "auths");
    const char *k;
    json_t *v;
    char want[256];
    key_host(img_reg_cred_key(host), want, sizeof want);
    json_object_foreach(auths, k, v)
    {
        char kh[256];
        key_host(k, kh, sizeof kh);
        if (strcmp(kh, want) && !(strcmp(host, IMG_REG_DOCKER_HUB) == 0 && !strcmp(kh, "docker.io")))
            continue;
        json_t *a = json_object_get(v, "auth");
        if (!json_is_string(a) || !json_string_length(a))
            continue;
        size_t n;
        char *plain = b64_decode(json_string_value(a), &n);
        char *colon = plain ? memchr(plain, ':', n) : NULL;
        if (!colon) {
            free(plain);
            rc = nr_err_set(err, "%s/config.json: auths \"%s\": auth is not base64 of user:password", dir, k);
            break;
        }
        *colon = 0;
        *user = nr_xstrdup(plain);
        *secret = nr_xstrdup(colon + 1);
        explicit_bzero(plain, n);
        free(plain);
        break;
    }
    json_decref(cfg);
    return rc;
}

int reg_creds_store(const img_reg_opts *o, const char *host, const char *user, const char *secret, nr_err *err)
{
    cleanup_free char *dir = NULL;
    json_t *cfg;
    const char *helper;
    if (creds_config(o, host, &dir, &cfg, &helper, err) < 0)
        return -1;
    int rc;
    if (helper) {
        json_t *in = json_pack("{s:s, s:s, s:s}", "ServerURL", img_reg_cred_key(host), "Username", user, "Secret",
                               secret);
        cleanup_free char *text = json_dumps(in, JSON_COMPACT);
        json_decref(in);
        cleanup_free char *out = NULL;
        int st;
        rc = helper_run(helper, "store", text, &out, &st, err);
        explicit_bzero(text, strlen(text));
        if (rc == 0 && st != 0)
            rc = nr_err_set(err, "docker-credential-%s store: exit status %d", helper, st);
    } else {
        json_t *auths = json_object_get(cfg, "auths");
        if (!json_is_object(auths)) {
            auths = json_object();
            json_object_set_new(cfg, "auths", auths);
        }
        char *plain = nr_xasprintf("%s:%s", user, secret);
        char *b = reg_b64_encode(plain, strlen(plain));
        explicit_bzero(plain, strlen(plain));
        free(plain);
        json_object_set_new(auths, img_reg_cred_key(host), json_pack("{s:s}", "auth", b));
        free(b);
        rc = config_save(dir, cfg, err);
    }
    json_decref(cfg);
    return rc;
}

/* A logout with nothing to erase (errnum ENOENT, as for an absent file). */
static int not_logged_in(const char *host, nr_err *err)
{
    nr_err_set(err, "not logged in to %s", host);
    err->errnum = ENOENT;
    return -1;
}

int reg_creds_erase(const img_reg_opts *o, const char *host, nr_err *err)
{
    cleanup_free char *dir = NULL;
    json_t *cfg;
    const char *helper;
    if (creds_config(o, host, &dir, &cfg, &helper, err) < 0)
        return -1;
    int rc = 0;
    if (helper) {
        cleanup_free char *out = NULL;
        int st;
        rc = helper_run_host(helper, "erase", host, &out, &st, err);
        if (rc == 0 && st != 0)
            rc = not_logged_in(host, err);
    } else {
        json_t *auths = json_object_get(cfg, "auths");
        const char *k;
        json_t *v;
        void *tmp;
        bool found = false;
        json_object_foreach_safe(auths, tmp, k, v)
        {
            char kh[256], want[256];
            key_host(k, kh, sizeof kh);
            key_host(img_reg_cred_key(host), want, sizeof want);
            if (!strcmp(kh, want)) {
                json_object_del(auths, k);
                found = true;
            }
        }
        if (!found) {
            rc = not_logged_in(host, err);
        } else {
            rc = config_save(dir, cfg, err);
        }
    }
    json_decref(cfg);
    return rc;
}

static int add_strings(json_t *cfg, const char *key, const char *path, char ***v, size_t *n, nr_err *err)
{
    json_t *a = json_object_get(cfg, key);
    if (!a)
        return 0;
    if (!json_is_array(a))
        return nr_err_set(err, "%s: \"%s\" is not an array of strings", path, key);
    size_t i;
    json_t *s;
    json_array_foreach(a, i, s)
    {
        if (!json_is_string(s) || !json_string_length(s) || json_string_length(s) > 255)
            return nr_err_set(err, "%s: %s[%zu] is not a short string", path, key, i);
        *v = nr_xrealloc(*v, (*n + 2) * sizeof **v);
        (*v)[(*n)++] = nr_xstrdup(json_string_value(s));
        (*v)[*n] = NULL;
    }
    return 0;
}

int img_reg_config_load(const char *path, char ***mirrors, size_t *n_mirrors, char ***insecure, size_t *n_insecure,
                        nr_err *err)
{
    bool deflt = false;
    if (!path)
        path = getenv("NRUN_REGISTRIES_CONFIG");
    if (!path || !*path) {
        path = "/etc/nrun/daemon.json";
        deflt = true;
    }
    json_t *j;
    if (json_object_load(path, "registries config", deflt, &j, err) < 0)
        return -1;
    if (!j)
        return 0;
    int rc = add_strings(j, "registry-mirrors", path, mirrors, n_mirrors, err);
    if (rc == 0)
        rc = add_strings(j, "insecure-registries", path, insecure, n_insecure, err);
    json_decref(j);
    return rc;
}
