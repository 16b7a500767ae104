/* Zero-config recipe: package.json -> a Dockerfile (see builder/zeroconf.h
 * and README "Zero-config builds"). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/base.h"
#include "builder/zeroconf.h"
#include "common/embed.h"
#include "common/util.h"

#define PACKAGE_JSON_MAX (1u << 20)
#define RANGE_MAX 256
#define MAIN_MAX 1024

/* ---- npm semver ranges, as far as a node major needs them ---- */

typedef struct {
    long v[3];
    int n; /* components given: "20" 1, "20.1" 2, "20.1.2" 3; 0 for "*" */
} pver;

static int cmp3(const long *a, const long *b)
{
    for (int i = 0; i < 3; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

/* "20", "v20.1", "20.x", "20.1.*", "*", "x"; a prerelease/build suffix is ignored. */
static bool pver_parse(const char *s, pver *p)
{
    memset(p, 0, sizeof *p);
    if (*s == 'v' || *s == 'V' || *s == '=')
        s++;
    for (int i = 0; i < 3; i++) {
        if ((*s == 'x' || *s == 'X' || *s == '*') && (s[1] == '.' || !s[1] || s[1] == '-' || s[1] == '+')) {
            s++;
            /* the rest must be wildcards too, or nothing */
            while (*s == '.' && (s[1] == 'x' || s[1] == 'X' || s[1] == '*'))
                s += 2;
            return !*s || *s == '-' || *s == '+';
        }
        if (*s < '0' || *s > '9')
            return false;
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || v > 1000000)
            return false;
        p->v[i] = v;
        p->n = i + 1;
        s = end;
        if (*s == '.' && i < 2) {
            s++;
            continue;
        }
        break;
    }
    return !*s || *s == '-' || *s == '+';
}

/* The first version past a partial one: 20 -> 21.0.0, 20.1 -> 20.2.0. */
static void pver_next(const pver *p, long *out)
{
    memcpy(out, p->v, sizeof p->v);
    if (p->n == 1) {
        out[0]++, out[1] = 0, out[2] = 0;
    } else if (p->n == 2) {
        out[1]++, out[2] = 0;
    } else {
        out[2]++;
    }
}

/* One comparator ("op" already split off) against `v`: 1 / 0 / -1 bad. */
static int comparator(const char *op, const char *ver, const long *v)
{
    pver p;
    if (!pver_parse(ver, &p))
        return -1;
    long hi[3];
    if (p.n == 0) /* *, x, >=*, ... */
        return strcmp(op, "<") && strcmp(op, ">") ? 1 : 0;
    pver_next(&p, hi);
    if (!strcmp(op, "") || !strcmp(op, "="))
        return p.n == 3 ? cmp3(v, p.v) == 0 : cmp3(v, p.v) >= 0 && cmp3(v, hi) < 0;
    if (!strcmp(op, ">="))
        return cmp3(v, p.v) >= 0;
    if (!strcmp(op, ">"))
        return p.n == 3 ? cmp3(v, p.v) > 0 : cmp3(v, hi) >= 0;
    if (!strcmp(op, "<"))
        return cmp3(v, p.v) < 0;
    if (!strcmp(op, "<="))
        return p.n == 3 ? cmp3(v, p.v) <= 0 : cmp3(v, hi) < 0;
    if (!strcmp(op, "~")) {
        pver q = p;
        q.n = p.n == 1 ? 1 : 2;
        pver_next(&q, hi);
        return cmp3(v, p.v) >= 0 && cmp3(v, hi) < 0;
    }
    if (!strcmp(op, "^")) {
        /* the first non-zero component given may not change */
        pver q = p;
        q.n = p.v[0] || p.n == 1 ? 1 : (p.v[1] || p.n == 2 ? 2 : 3);
        pver_next(&q, hi);
        return cmp3(v, p.v) >= 0 && cmp3(v, hi) < 0;
    }
    return -1;
}

/* One alternative (space-separated comparators, or "A - B"): 1 / 0 / -1. */
static int alternative(char *alt, const long *v)
{
    char *tok[32];
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(alt, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == sizeof tok / sizeof *tok)
            return -1;
        tok[n++] = t;
    }
    if (n == 3 && !strcmp(tok[1], "-")) { /* hyphen range: A - B */
        pver b;
        if (comparator(">=", tok[0], v) < 0 || !pver_parse(tok[2], &b))
            return -1;
        return comparator(">=", tok[0], v) && comparator("<=", tok[2], v);
    }
    int all = 1;
    for (size_t i = 0; i < n; i++) {
        char op[3] = "";
        const char *s = tok[i];
        size_t ol = strspn(s, "<>=~^");
        if (ol > 2)
            return -1;
        memcpy(op, s, ol);
        op[ol] = '\0';
        s += ol;
        if (!strcmp(op, "~>")) /* ~> is ~ */
            op[1] = '\0';
        if (!*s) { /* ">= 18": the version is the next word */
            if (!ol || ++i == n)
                return -1;
            s = tok[i];
        }
        int r = comparator(op, s, v);
        if (r < 0)
            return -1;
        all &= r;
    }
    return all;
}

int bld_semver_satisfies(const char *range, const char *ver, nr_err *err)
{
    pver pv;
    if (strlen(range) >= RANGE_MAX)
        return nr_err_set(err, "engines.node: longer than %d characters", RANGE_MAX);
    if (!pver_parse(ver, &pv) || pv.n != 3)
        return nr_err_set(err, "%s: not a node version", ver);
    char buf[RANGE_MAX];
    snprintf(buf, sizeof buf, "%s", range);
    int any = 0;
    bool empty = true;
    /* alternatives split on "||" */
    for (char *a = buf; a;) {
        char *bar = strstr(a, "||");
        if (bar)
            *bar = '\0';
        bool blank = a[strspn(a, " \t")] == '\0';
        int r = blank ? 1 : alternative(a, pv.v); /* "" and "18 || " mean any, as in npm */
        if (r < 0) {
            cleanup_free char *q = bld_json_quote(range);
            return nr_err_set(err, "engines.node %s: not a semver range", q);
        }
        any |= r;
        empty = false;
        a = bar ? bar + 2 : NULL;
    }
    return empty ? 1 : any;
}

int bld_semver_pick(const char *range, const char *const *versions, size_t n, nr_err *err)
{
    int best = -1;
    pver bv = {0}, cv;
    for (size_t i = 0; i < n; i++) {
        int r = bld_semver_satisfies(range, versions[i], err);
        if (r < 0)
            return -1;
        if (r && pver_parse(versions[i], &cv) && (best < 0 || cmp3(cv.v, bv.v) > 0)) {
            best = (int)i;
            bv = cv;
        }
    }
    if (best < 0) {
        cleanup_free char *q = bld_json_quote(range);
        return nr_err_set(err, "engines.node %s: no node major nbuild pins satisfies it (see nbuild --list-bases)", q);
    }
    return best;
}

char *bld_json_quote(const char *s)
{
    json_t *j = json_string(s); /* NULL when s is not UTF-8 */
    if (!j)
        j = json_string("(not UTF-8)");
    char *out = json_dumps(j, JSON_ENCODE_ANY);
    json_decref(j);
    if (!out)
        abort(); /* out of memory */
    return out;
}

/* ---- the recipe ---- */

typedef struct {
    const char *name;   /* lock file */
    const char *tool;   /* npm, yarn, pnpm */
} lockfile;

static const lockfile LOCKS[] = {
    {"package-lock.json", "npm"},
    {"npm-shrinkwrap.json", "npm"},
    {"yarn.lock", "yarn"},
    {"pnpm-lock.yaml", "pnpm"},
};

static bool regular_at(const char *dir, const char *name)
{
    cleanup_free char *p = nr_xasprintf("%s/%s", dir, name);
    struct stat st;
    return lstat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* yarn.lock v1 (classic, the base image's yarn) or berry (corepack)? */
static bool yarn_berry(const char *dir)
{
    cleanup_free char *p = nr_xasprintf("%s/yarn.lock", dir), *text = NULL;
    size_t len;
    nr_err ign;
    if (nr_read_user_file(AT_FDCWD, p, "lock file", 64u << 20, &text, &len, &ign) < 0)
        return false;
    return strstr(text, "\n__metadata:") != NULL;
}

/* NODE_MAJORS / NODE_LTS of the embedded pins. */
static int pin_value(const char *key, char *out, size_t outlen, nr_err *err)
{
    const char *v = nr_embed_get("images/node/versions.txt", NULL);
    size_t kl = strlen(key);
    for (const char *l = v; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (!strncmp(l, key, kl) && l[kl] == '=') {
            size_t n = strcspn(l + kl + 1, "\n");
            if (n >= outlen)
                break;
            memcpy(out, l + kl + 1, n);
            out[n] = '\0';
            return 0;
        }
    }
    return nr_err_set(err, "images/node/versions.txt: %s is not set", key);
}

/* The node major: the newest pinned even one (an LTS line, or the current
 * one that becomes one) whose release satisfies engines.node; an odd major
 * (pinned for Nodefiles that name it) only when no even one does. */
static int pick_major(const char *range, const char *shown, char *major, size_t mlen, nr_err *err)
{
    char majors[256];
    if (!range)
        return pin_value("NODE_LTS", major, mlen, err);
    if (pin_value("NODE_MAJORS", majors, sizeof majors, err) < 0)
        return -1;
    char vers[32][32];
    const char *vp[2][32];
    size_t n[2] = {0, 0}, k = 0;
    for (char *save = NULL, *m = strtok_r(majors, " \t", &save); m && k < 32; m = strtok_r(NULL, " \t", &save)) {
        char ref[48];
        bld_base_spec sp;
        nr_err ign;
        snprintf(ref, sizeof ref, "node:%s-slim", m);
        if (bld_base_resolve(NULL, NULL, ref, &sp, &ign) != 0)
            continue;
        int odd = (int)(strtol(m, NULL, 10) % 2);
        snprintf(vers[k], sizeof vers[k], "%s", sp.version);
        vp[odd][n[odd]++] = vers[k++];
    }
    int i = bld_semver_pick(range, vp[0], n[0], err), odd = 0;
    if (i < 0 && (i = bld_semver_pick(range, vp[1], n[1], err)) >= 0)
        odd = 1;
    if (i < 0) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return nr_err_set(err, "%s: %s", shown, msg);
    }
    snprintf(major, mlen, "%ld", strtol(vp[odd][i], NULL, 10));
    return 0;
}

static int bad(nr_err *err, const char *shown, const char *what)
{
    return nr_err_set(err, "%s: %s", shown, what);
}

int bld_zeroconf_nodefile(const char *dir, char **out, char **shown_out, nr_err *err)
{
    cleanup_free char *shown = nr_xasprintf("%s/package.json", dir), *text = NULL;
    size_t len;
    /* the context's file: a link resolves inside the context (a link to a
     * host file would show its text in the parse error) */
    cleanup_close int fd = nr_open_in_root(dir, "package.json", O_RDONLY | O_NONBLOCK | O_NOCTTY);
    struct stat lst;
    if (fd < 0 && errno == ENOENT && lstat(shown, &lst) == 0 && S_ISLNK(lst.st_mode))
        return nr_err_set(err, "%s: a symlink that resolves inside the build context (as BuildKit does), and nothing "
                               "is there",
                          shown);
    if (fd < 0)
        return errno == ENOENT ? 1 : nr_err_sys(err, errno, "package.json %s", shown);
    if (nr_read_user_fd(fd, shown, "package.json", PACKAGE_JSON_MAX, &text, &len, err) < 0)
        return -1;
    json_error_t je;
    json_t *pkg = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!pkg)
        return nr_err_set(err, "%s:%d:%d: %s", shown, je.line, je.column, je.text);
    int rc = -1;
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = NULL;
    if (!json_is_object(pkg)) {
        bad(err, shown, "not a JSON object");
        goto out;
    }
    json_t *scripts = json_object_get(pkg, "scripts"), *engines = json_object_get(pkg, "engines");
    json_t *jmain = json_object_get(pkg, "main"), *jnode = json_object_get(engines, "node");
    if ((scripts && !json_is_object(scripts)) || (engines && !json_is_object(engines))) {
        bad(err, shown, "\"scripts\" and \"engines\" must be objects");
        goto out;
    }
    if (jnode && !json_is_string(jnode)) {
        bad(err, shown, "engines.node must be a string");
        goto out;
    }
    bool has_start = json_is_string(json_object_get(scripts, "start"));
    bool has_build = json_is_string(json_object_get(scripts, "build"));
    const char *main = "index.js";
    if (jmain) {
        main = json_string_value(jmain);
        if (!main || !*main || strlen(main) > MAIN_MAX || main[0] == '/' || strstr(main, "..")) {
            bad(err, shown, "\"main\" must be a relative path inside the package");
            goto out;
        }
        for (const char *c = main; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                bad(err, shown, "\"main\" has a control character");
                goto out;
            }
    }
    char major[16];
    if (pick_major(jnode ? json_string_value(jnode) : NULL, shown, major, sizeof major, err) < 0)
        goto out;
    const lockfile *lk = NULL;
    for (size_t i = 0; i < sizeof LOCKS / sizeof *LOCKS && !lk; i++)
        if (regular_at(dir, LOCKS[i].name))
            lk = &LOCKS[i];
    const char *tool = lk ? lk->tool : "npm";
    bool berry = lk && !strcmp(tool, "yarn") && yarn_berry(dir);
    /* yarn classic or corepack on a major whose image has none (Docker's node
     * 26 on has no yarn, 25 on no corepack): installed from the npm registry at
     * the pinned version, as such an image's users do, in the stages that run it */
    char from[16], ver[32], get_tool[80] = "";
    const char *need = !strcmp(tool, "npm") ? NULL : !strcmp(tool, "yarn") && !berry ? "yarn" : "corepack";
    if (need) {
        bool yarn = !strcmp(need, "yarn");
        if (pin_value(yarn ? "NO_YARN_FROM" : "NO_COREPACK_FROM", from, sizeof from, err) < 0 ||
            pin_value(yarn ? "YARN_VERSION" : "COREPACK_VERSION", ver, sizeof ver, err) < 0)
            goto out;
        if (strtol(major, NULL, 10) >= strtol(from, NULL, 10))
            snprintf(get_tool, sizeof get_tool, "RUN npm install -g %s@%s\n", need, ver);
    }

    f = open_memstream(&buf, &blen);
    if (!f)
        abort(); /* out of memory */
    fprintf(f, "# Generated by nbuild (zero-config): %s, no Nodefile or Dockerfile.\n", "package.json");
    if (jnode) {
        cleanup_free char *q = bld_json_quote(json_string_value(jnode));
        fprintf(f, "# node %s: the newest pinned major satisfying engines.node %s\n", major, q);
    } else {
        fprintf(f, "# node %s: the current LTS (no engines.node in package.json)\n", major);
    }
    fprintf(f, "# dependencies: %s\n", lk ? lk->name : "no lock file, npm install");
    fputs("# Stage deps: the dependencies alone, a layer cached until package.json or the lock file changes.\n", f);
    fprintf(f, "FROM node:%s AS deps\n%sWORKDIR /app\n", major, get_tool);
    /* the package manager's own settings (a private registry, yarn's version) come along */
    static const char *const RC[] = {".npmrc", ".yarnrc", ".yarnrc.yml", ".pnpmfile.cjs"};
    fputs("COPY [\"package.json\"", f);
    if (lk)
        fprintf(f, ", \"%s\"", lk->name);
    for (size_t i = 0; i < sizeof RC / sizeof *RC; i++)
        if (regular_at(dir, RC[i]))
            fprintf(f, ", \"%s\"", RC[i]);
    fputs(", \"./\"]\n", f);
    const char *run_build = "npm run build", *prune = "npm prune --omit=dev";
    if (!strcmp(tool, "npm")) {
        fprintf(f, "RUN --mount=type=cache,target=/root/.npm mkdir -p node_modules && %s\n",
                lk ? "npm ci" : "npm install");
    } else if (!strcmp(tool, "yarn") && !berry) {
        /* classic yarn, shipped in the node images */
        fputs("RUN --mount=type=cache,target=/usr/local/share/.cache/yarn "
              "mkdir -p node_modules && yarn install --frozen-lockfile\n", f);
        run_build = "yarn run build";
        prune = "--mount=type=cache,target=/usr/local/share/.cache/yarn "
                "yarn install --frozen-lockfile --production --prefer-offline";
    } else if (!strcmp(tool, "yarn")) {
        /* yarn 2+: corepack fetches the yarn package.json's packageManager names */
        fputs("RUN --mount=type=cache,target=/root/.yarn/berry/cache "
              "mkdir -p node_modules && corepack enable yarn && yarn install --immutable\n", f);
        run_build = "yarn run build";
        prune = "yarn workspaces focus --all --production";
    } else {
        fputs("RUN --mount=type=cache,target=/root/.local/share/pnpm/store "
              "mkdir -p node_modules && corepack enable pnpm && "
              "pnpm install --frozen-lockfile\n", f);
        run_build = "pnpm run build";
        prune = "pnpm prune --prod";
    }
    fputs("# Stage build: the sources over the installed dependencies (the context's own node_modules left out),\n"
          "# the build script when package.json has one, then the dev dependencies pruned.\n", f);
    fprintf(f, "FROM node:%s AS build\n%sWORKDIR /app\nCOPY . .\nRUN rm -rf node_modules\n", major, get_tool);
    fputs("COPY --from=deps /app/node_modules ./node_modules\n", f);
    if (has_build)
        fprintf(f, "RUN %s\n", run_build);
    fprintf(f, "RUN %s\n", prune);
    fputs("# The image: the slim base, the app owned by root and run as the user node.\n", f);
    fprintf(f, "FROM node:%s-slim\nENV NODE_ENV=production\nWORKDIR /app\n", major);
    fputs("COPY --from=build /app /app\nUSER node\n", f);
    fputs("# no EXPOSE: package.json does not say which port the app listens on (publish it with -p)\n", f);
    if (has_start) {
        fputs("CMD [\"npm\", \"start\"]\n", f);
    } else {
        cleanup_free char *rel = nr_xasprintf("./%s", main);
        cleanup_free char *q = bld_json_quote(rel);
        fprintf(f, "CMD [\"node\", %s]\n", q);
    }
    if (fclose(f) != 0)
        abort(); /* out of memory */
    f = NULL;
    *out = buf;
    buf = NULL;
    *shown_out = nr_xasprintf("%s (zero-config recipe)", shown);
    rc = 0;
out:
    if (f)
        fclose(f);
    free(buf);
    json_decref(pkg);
    return rc;
}
