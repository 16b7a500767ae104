/* --chmod of COPY and ADD (archive.h): an octal mode, or chmod(1)'s
 * symbolic one, applied to each file and directory's own mode.  As in
 * BuildKit, no umask applies: `+x` is `a+x`. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/archive.h"

static mode_t class_bits(char c)
{
    return c == 'u' ? (S_ISUID | S_IRWXU) : c == 'g' ? (S_ISGID | S_IRWXG) : c == 'o' ? (S_ISVTX | S_IRWXO) : 0;
}

int bld_chmod_parse(const char *s, bld_owner *o)
{
    size_t n = strlen(s);
    o->nops = 0;
    if (n >= 1 && n <= 4 && strspn(s, "01234567") == n) {
        o->mode = (mode_t)strtoul(s, NULL, 8); /* "755", "0755", "7" (0007) as BuildKit reads them */
        return 0;
    }
    if (n == 0 || n > 128)
        return -1;
    const char *p = s;
    for (;;) { /* clause: [ugoa]* ([+-=] ([rwxXst]* | [ugo]))+ */
        mode_t who = 0;
        for (; *p && strchr("ugoa", *p); p++)
            who |= *p == 'a' ? (class_bits('u') | class_bits('g') | class_bits('o')) : class_bits(*p);
        if (!who)
            who = class_bits('u') | class_bits('g') | class_bits('o');
        if (!*p || !strchr("+-=", *p))
            return -1;
        while (*p && strchr("+-=", *p)) {
            if (o->nops == BLD_CHMOD_OPS)
                return -1;
            bld_chmod_op *op = &o->ops[o->nops++];
            *op = (bld_chmod_op){.who = who, .op = *p++};
            if (*p && strchr("ugo", *p)) {
                op->copy = *p++;
                continue;
            }
            for (; *p && strchr("rwxXst", *p); p++) {
                switch (*p) {
                case 'r': op->perm |= S_IRUSR | S_IRGRP | S_IROTH; break;
                case 'w': op->perm |= S_IWUSR | S_IWGRP | S_IWOTH; break;
                case 'x': op->perm |= S_IXUSR | S_IXGRP | S_IXOTH; break;
                case 'X': op->big_x = true; break;
                case 's': op->perm |= S_ISUID | S_ISGID; break;
                case 't': op->perm |= S_ISVTX; break;
                }
            }
        }
        if (!*p)
            return 0;
        if (*p++ != ',')
            return -1;
    }
}

mode_t bld_owner_mode(const bld_owner *o, mode_t cur, bool dir)
{
    if (!o->chmod)
        return cur;
    if (!o->nops)
        return o->mode;
    mode_t m = cur & 07777;
    for (size_t i = 0; i < o->nops; i++) {
        const bld_chmod_op *op = &o->ops[i];
        mode_t bits = op->perm;
        if (op->big_x && (dir || (m & (S_IXUSR | S_IXGRP | S_IXOTH))))
            bits |= S_IXUSR | S_IXGRP | S_IXOTH;
        if (op->copy) { /* that class's rwx, now, for every class */
            mode_t c = op->copy == 'u' ? (m >> 6) & 7 : op->copy == 'g' ? (m >> 3) & 7 : m & 7;
            bits = (c << 6) | (c << 3) | c;
        }
        bits &= op->who;
        if (op->op == '+')
            m |= bits;
        else if (op->op == '-')
            m &= ~bits;
        else
            m = (m & ~op->who) | bits;
    }
    return m;
}
