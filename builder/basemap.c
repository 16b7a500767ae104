/* nbuild --base-map 'PATTERN=REPLACEMENT': rewrite a FROM reference before
 * it is looked up (node:*-alpine=node:*-slim, or a CI mirror:
 * 'node:*=mirror.local/node:*').  Each '*' of PATTERN matches any run of
 * characters (the shortest that lets the rest match); the '*'s of REPLACEMENT
 * take what they matched, in order.  The first map that matches wins; a
 * reference no map matches is used as written. */
#include <string.h>

#include "builder/build.h"
#include "common/util.h"

#define MAX_STARS 8

static int stars(const char *s, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += s[i] == '*';
    return k;
}

int bld_base_map_check(const char *map, nr_err *err)
{
    const char *eq = strchr(map, '=');
    if (!eq || eq == map || !eq[1] || strchr(eq + 1, '='))
        return nr_err_set(err, "--base-map %s: want PATTERN=REPLACEMENT (e.g. 'node:*-alpine=node:*-slim')", map);
    int ps = stars(map, (size_t)(eq - map)), rs = stars(eq + 1, strlen(eq + 1));
    if (ps > MAX_STARS)
        return nr_err_set(err, "--base-map %s: at most %d '*' in a pattern", map, MAX_STARS);
    if (rs > ps)
        return nr_err_set(err, "--base-map %s: the replacement has more '*' than the pattern", map);
    return 0;
}

/* Glob match of s[0..sn) against p[0..pn), capturing what each '*' took.
 * The classic linear-backtracking glob: on a mismatch only the last '*'
 * seen grows, so the time is O(pn * sn) whatever the pattern (each '*'
 * takes the shortest run that lets the rest match). */
static bool match(const char *p, size_t pn, const char *s, size_t sn, const char **cap, size_t *capn)
{
    size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;
    int k = 0, star_k = -1;
    while (si < sn) {
        if (pi < pn && p[pi] == '*') {
            star_p = pi++;
            star_s = si;
            star_k = k;
            cap[k] = s + si;
            capn[k++] = 0;
        } else if (pi < pn && p[pi] == s[si]) {
            pi++;
            si++;
        } else if (star_p != (size_t)-1) {
            pi = star_p + 1;
            si = ++star_s;
            k = star_k + 1;
            capn[star_k] = (size_t)(star_s - (size_t)(cap[star_k] - s));
        } else {
            return false;
        }
    }
    while (pi < pn && p[pi] == '*') {
        cap[k] = s + sn;
        capn[k++] = 0;
        pi++;
    }
    return pi == pn;
}

int bld_base_map(const char *const *maps, size_t n, const char *ref, char *out, size_t outlen)
{
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(maps[i], '=');
        if (!eq)
            continue;
        const char *cap[MAX_STARS];
        size_t capn[MAX_STARS];
        if (stars(maps[i], (size_t)(eq - maps[i])) > MAX_STARS ||
            !match(maps[i], (size_t)(eq - maps[i]), ref, strlen(ref), cap, capn))
            continue;
        size_t len = 0;
        int k = 0;
        for (const char *r = eq + 1; *r; r++) {
            const char *piece = r;
            size_t pl = 1;
            if (*r == '*') {
                piece = cap[k];
                pl = capn[k];
                k++;
            }
            if (len + pl + 1 > outlen)
                return -1;
            memcpy(out + len, piece, pl);
            len += pl;
        }
        out[len] = '\0';
        return 1;
    }
    return 0;
}
