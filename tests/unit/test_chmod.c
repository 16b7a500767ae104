/* COPY/ADD --chmod (builder/chmod.c): octal as BuildKit reads it, and
 * symbolic modes checked against coreutils' chmod(1) itself (umask 0, as no
 * umask applies to --chmod), on a real file and directory, from several
 * starting modes; malformed ones refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/archive.h"

static void octal(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        mode_t m;
    } t[] = {{"0644", 0644}, {"755", 0755}, {"1777", 01777}, {"7", 07}, {"0", 0}, {"4755", 04755}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        bld_owner o = {.chmod = true};
        assert_int_equal(bld_chmod_parse(t[i].s, &o), 0);
        assert_int_equal(o.nops, 0);
        assert_int_equal(bld_owner_mode(&o, 0600, false), t[i].m);
        assert_int_equal(bld_owner_mode(&o, 0700, true), t[i].m);
    }
    bld_owner none = {0};
    assert_int_equal(bld_owner_mode(&none, 0640, false), 0640);
}

static void refused(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "07777777", "u", "u+q", "x+r", "u+x,", ",u+x", "u+x g+w", "0x755",
                                      "8", "ugo", "a+x,,g-w", "u+x\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        bld_owner o = {.chmod = true};
        if (bld_chmod_parse(bad[i], &o) == 0)
            fail_msg("accepted: \"%s\"", bad[i]);
    }
    char many[200] = "u+x";
    for (int i = 0; i < 20; i++)
        strcat(many, ",g-w");
    bld_owner o = {.chmod = true};
    assert_int_equal(bld_chmod_parse(many, &o), -1); /* past BLD_CHMOD_OPS, or too long */
}

/* what chmod(1) makes of `spec` on a path at mode `start` */
static mode_t coreutils(const char *path, mode_t start, const char *spec)
{
    assert_int_equal(chmod(path, start), 0);
    pid_t pid = fork();
    if (pid == 0) {
        umask(0);
        execlp("chmod", "chmod", spec, path, (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_mode & 07777;
}

static void symbolic(void **state)
{
    (void)state;
    static const char *const specs[] = {"+x", "u+x", "a+x", "go-w", "u=rwx,go=rx", "g=u", "o=g", "go=u-w",
                                        "a-rwx", "u+s", "g+s", "o+s", "+t", "o+t", "u+t", "a=rX", "u+X",
                                        "=r", "ug+rw,o-rwx", "u-x+w", "g+r-w,o=", "a+X,u-X", "u=g,g=o,o=u"};
    /* files from these modes; directories without set-id bits (chmod(1)
     * keeps a directory's set-id bits over `=`, a detail outside this) */
    static const mode_t fstart[] = {0644, 0755, 0600, 0700, 0, 04755, 02711, 01777, 0100};
    static const mode_t dstart[] = {0755, 0700, 0, 0711, 01777, 0640};
    char dir[] = "/tmp/nrun-chmod.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[64], sub[64];
    snprintf(file, sizeof file, "%s/f", dir);
    snprintf(sub, sizeof sub, "%s/d", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(mkdir(sub, 0755), 0);
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        bld_owner o = {.chmod = true};
        if (bld_chmod_parse(specs[i], &o) != 0)
            fail_msg("refused: \"%s\"", specs[i]);
        assert_true(o.nops > 0);
        for (size_t k = 0; k < sizeof fstart / sizeof *fstart; k++) {
            mode_t want = coreutils(file, fstart[k], specs[i]), got = bld_owner_mode(&o, fstart[k], false);
            if (want != got)
                fail_msg("file %04o, %s: chmod(1) gives %04o, nbuild %04o", (unsigned)fstart[k], specs[i],
                         (unsigned)want, (unsigned)got);
        }
        for (size_t k = 0; k < sizeof dstart / sizeof *dstart; k++) {
            mode_t want = coreutils(sub, dstart[k], specs[i]), got = bld_owner_mode(&o, dstart[k], true);
            if (want != got)
                fail_msg("dir %04o, %s: chmod(1) gives %04o, nbuild %04o", (unsigned)dstart[k], specs[i],
                         (unsigned)want, (unsigned)got);
        }
    }
    chmod(sub, 0700);
    rmdir(sub);
    unlink(file);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(octal),
        cmocka_unit_test(refused),
        cmocka_unit_test(symbolic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
