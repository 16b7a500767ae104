/* Nodefile parser and word expansion: valid syntax and hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "builder/expand.h"
#include "builder/parse.h"
#include "common/util.h"

static int parse(const char *text, bld_nodefile *f, nr_err *e)
{
    return bld_parse("Nodefile", text, strlen(text), f, e);
}

/* Parse must fail with exactly this message. */
static void bad(const char *text, const char *msg)
{
    bld_nodefile f;
    nr_err e = {0};
    if (parse(text, &f, &e) == 0) {
        bld_nodefile_free(&f);
        fail_msg("parsed without error: %s", text);
    }
    assert_string_equal(e.msg, msg);
}

static void test_basic(void **state)
{
    bld_nodefile f;
    nr_err e;
    const char *t = "# comment\n"
                    "\n"
                    "from scratch AS build\n"
                    "  COPY --chown=node:node --chmod=0644 a \\\n"
                    "    b /app/\n"
                    "CMD [\"node\", \"server.js\"]\n"
                    "ENTRYPOINT exec node x\n"
                    "EXPOSE 80/tcp 443\n";
    assert_int_equal(parse(t, &f, &e), 0);
    assert_int_equal(f.n, 5);
    assert_int_equal(f.ins[0].kind, BLD_FROM);
    assert_int_equal(f.ins[0].nargs, 3);
    assert_string_equal(f.ins[0].args[2].s, "build");
    bld_instr *c = &f.ins[1];
    assert_int_equal(c->kind, BLD_COPY);
    assert_int_equal(c->nflags, 2);
    assert_string_equal(bld_instr_flag(c, "chown")->value, "node:node");
    assert_string_equal(bld_instr_flag(c, "chmod")->value, "0644");
    assert_null(bld_instr_flag(c, "from"));
    assert_int_equal(c->nargs, 3);
    assert_string_equal(c->args[1].s, "b");
    int line, col;
    bld_instr_pos(c, c->args[1].off, &line, &col);
    assert_int_equal(line, 5);
    assert_int_equal(col, 5);
    assert_true(f.ins[2].json);
    assert_int_equal(f.ins[2].nargs, 2);
    assert_string_equal(f.ins[2].args[1].s, "server.js");
    assert_false(f.ins[3].json);
    assert_int_equal(f.ins[3].nargs, 1);
    assert_string_equal(f.ins[3].args[0].s, "exec node x");
    assert_int_equal(f.ins[4].nargs, 2);
    bld_nodefile_free(&f);
}

static void test_env_forms(void **state)
{
    bld_nodefile f;
    nr_err e;
    assert_int_equal(parse("FROM scratch\nENV A=1 B=\"x y\" C='z'\nENV OLD some value here\nLABEL a.b=c\n", &f, &e), 0);
    bld_instr *in = &f.ins[1];
    assert_int_equal(in->nargs, 6);
    assert_string_equal(in->args[0].s, "A");
    assert_string_equal(in->args[3].s, "\"x y\"");
    in = &f.ins[2];
    assert_int_equal(in->nargs, 2);
    assert_string_equal(in->args[0].s, "OLD");
    assert_string_equal(in->args[1].s, "some value here");
    bld_nodefile_free(&f);
}

static void test_escape_directive_and_continuations(void **state)
{
    bld_nodefile f;
    nr_err e;
    int line, col;
    const char *t = "# escape=`\n"
                    "FROM scratch\n"
                    "COPY a `\n"
                    "# a comment inside\n"
                    "\n"
                    "  C:\\dir\\ /x/\n"
                    "LABEL x=1 `\n";
    assert_int_equal(parse(t, &f, &e), 0);
    assert_int_equal(f.escape, '`');
    assert_int_equal(f.ins[1].nargs, 3);
    assert_string_equal(f.ins[1].args[1].s, "C:\\dir\\");
    bld_nodefile_free(&f);
    /* A continuation at end of file is accepted, as Docker does. */
    assert_int_equal(parse("FROM scratch\nEXPOSE 80 \\", &f, &e), 0);
    bld_nodefile_free(&f);
    /* CRLF line ends. */
    assert_int_equal(parse("FROM scratch\r\nUSER node\r\n", &f, &e), 0);
    assert_string_equal(f.ins[1].args[0].s, "node");
    bld_nodefile_free(&f);
    /* Unicode spaces a paste from a web page leaves (NBSP, U+3000, \v) at an
     * instruction's ends or before a comment go, as BuildKit trims them;
     * inside the line (and quotes) they stay. */
    assert_int_equal(parse("\xc2\xa0" "FROM scratch\nWORKDIR /app\xc2\xa0\nCOPY a ./\xe3\x80\x80\v\n"
                           "RUN a \\\n\xc2\xa0# c\n\xc2\xa0\n b\xc2\xa0\nENV A=\"x\xc2\xa0y\"\n", &f, &e), 0);
    assert_int_equal(f.n, 5);
    assert_string_equal(f.ins[1].args[0].s, "/app");
    assert_string_equal(f.ins[2].args[1].s, "./");
    assert_string_equal(f.ins[3].args[0].s, "a  b");
    assert_string_equal(f.ins[4].args[1].s, "\"x\xc2\xa0y\"");
    bld_instr_pos(&f.ins[1], f.ins[1].args[0].off, &line, &col);
    assert_int_equal(line, 2);
    assert_int_equal(col, 9);
    bld_nodefile_free(&f);
}

static void test_healthcheck(void **state)
{
    bld_nodefile f;
    nr_err e;
    assert_int_equal(parse("FROM scratch\nHEALTHCHECK --interval=5s --retries=3 CMD [\"node\",\"hc.js\"]\n"
                           "HEALTHCHECK NONE\nHEALTHCHECK cmd curl -f localhost\n", &f, &e), 0);
    assert_true(f.ins[1].hc_json);
    assert_int_equal(f.ins[1].hc_nargs, 2);
    assert_string_equal(bld_instr_flag(&f.ins[1], "interval")->value, "5s");
    assert_true(f.ins[2].hc_none);
    assert_false(f.ins[3].hc_json);
    assert_string_equal(f.ins[3].hc_args[0].s, "curl -f localhost");
    bld_nodefile_free(&f);
    bad("FROM scratch\nHEALTHCHECK --interval=1s NONE\n", "Nodefile:2:13: HEALTHCHECK NONE takes no flags");
    bad("FROM scratch\nHEALTHCHECK echo\n", "Nodefile:2:13: HEALTHCHECK: expected CMD or NONE");
    bad("FROM scratch\nHEALTHCHECK CMD\n", "Nodefile:2:16: HEALTHCHECK requires at least one argument");
}

/* An argument written as a JSON array that is no JSON is the shell form,
 * as BuildKit reads it (its words, for COPY and VOLUME), and text after a
 * JSON array is ignored, with a note for the warning; one that starts with
 * '[' and is not meant as JSON has none. */
static void test_json_fallback(void **state)
{
    bld_nodefile f;
    nr_err e;
    const char *t = "FROM scratch\n"
                    "CMD [ \"node\" \"index.js\" ]\n"
                    "ENTRYPOINT [\"sh\", \"-c\", \"x\"] # nosemgrep\n"
                    "RUN [\"npm\", \"ci\"\n"
                    "RUN [ -f x ] && y\n"
                    "VOLUME [\"/a\" \"/b\"]\n"
                    "HEALTHCHECK CMD ['curl', 'x']\n"
                    "CMD [\"ok\"]  \n"
                    "RUN [ \"$A\" = \"x\" ] && y\n";
    assert_int_equal(parse(t, &f, &e), 0);
    assert_int_equal(f.n, 9);
    bld_instr *c = &f.ins[1];
    assert_false(c->json);
    assert_int_equal(c->nargs, 1);
    assert_string_equal(c->args[0].s, "[ \"node\" \"index.js\" ]");
    assert_string_equal(c->json_note, "']' expected near '\"index.js\"'");
    int line, col;
    bld_instr_pos(c, c->json_note_off, &line, &col);
    assert_int_equal(line, 2);
    assert_int_equal(col, 23);
    /* text after a JSON array is ignored, as Go's json.Decoder leaves it */
    assert_true(f.ins[2].json);
    assert_int_equal(f.ins[2].nargs, 3);
    assert_string_equal(f.ins[2].args[2].s, "x");
    assert_true(f.ins[2].json_ignored);
    assert_string_equal(f.ins[2].json_note, "# nosemgrep");
    assert_false(f.ins[3].json);
    assert_string_equal(f.ins[3].args[0].s, "[\"npm\", \"ci\"");
    assert_string_equal(f.ins[3].json_note, "no closing ']' on its line");
    assert_false(f.ins[4].json);
    assert_null(f.ins[4].json_note);
    assert_false(f.ins[5].json);
    assert_int_equal(f.ins[5].nargs, 2);
    assert_string_equal(f.ins[5].args[1].s, "\"/b\"]");
    assert_non_null(f.ins[5].json_note);
    assert_false(f.ins[6].hc_json);
    assert_string_equal(f.ins[6].hc_args[0].s, "['curl', 'x']");
    assert_non_null(f.ins[6].json_note);
    assert_true(f.ins[7].json);
    assert_null(f.ins[7].json_note);
    assert_false(f.ins[8].json); /* a shell test: no note */
    assert_null(f.ins[8].json_note);
    bld_nodefile_free(&f);
}

static void test_errors(void **state)
{
    bad("FROM scratch\nFOO bar\n", "Nodefile:2:1: unknown instruction: FOO");
    bad("FROM scratch\n   frobnicate\n", "Nodefile:2:4: unknown instruction: frobnicate");
    bad("FROM scratch\nENTRYPOINT [\"a\",\n  \"b\"\n",
        "Nodefile:3:3: unknown instruction: \"b\" (line 2's JSON array has no closing ']' on its line: a line that "
        "goes on ends with '\\')");
    bad("FROM scratch\nCMD [\"a\", 1]\n", "Nodefile:2:5: CMD: JSON array elements must be strings");
    bad("FROM scratch\nCMD [1]\n", "Nodefile:2:5: CMD: JSON array elements must be strings");
    bad("FROM scratch\nSHELL [\"sh\" \"-c\"]\n",
        "Nodefile:2:16: SHELL requires the arguments in JSON form (not JSON: ']' expected near '\"-c\"')");
    bad("FROM scratch\nENV\n", "Nodefile:2:4: ENV requires at least one argument");
    bad("FROM scratch\nENV A=1 B\n", "Nodefile:2:9: ENV: syntax error - can't find = in \"B\", must be name=value");
    bad("FROM scratch\nENV =1\n", "Nodefile:2:5: ENV names can not be blank");
    bad("FROM scratch\nENV ONLYKEY\n", "Nodefile:2:5: ENV ONLYKEY: missing value (use ENV name=value)");
    bad("FROM scratch\nENV A=\"unterminated\n", "Nodefile:2:7: ENV: unterminated quote \"");
    bad("FROM scratch\nARG\n", "Nodefile:2:4: ARG requires at least one argument");
    bad("FROM scratch\nARG 1abc=2\n", "Nodefile:2:5: ARG: invalid name \"1abc\"");
    bad("FROM scratch\nARG =x\n", "Nodefile:2:5: ARG: invalid name \"\"");
    bad("FROM scratch\nARG a$b\n", "Nodefile:2:5: ARG: invalid name \"a$b\"");
    bad("FROM a b\n", "Nodefile:1:6: FROM requires either one or three arguments (image [AS name])");
    bad("FROM a AS 1bad\n", "Nodefile:1:11: FROM: invalid stage name \"1bad\"");
    bad("FROM a AS B@d\n", "Nodefile:1:11: FROM: invalid stage name \"b@d\"");
    bad("FROM scratch\nCOPY onlyone\n", "Nodefile:2:6: COPY requires at least two arguments: source... destination");
    bad("FROM scratch\nCOPY --frob=1 a b\n", "Nodefile:2:6: COPY: unknown flag --frob");
    bad("FROM scratch\nSHELL /bin/sh -c\n", "Nodefile:2:7: SHELL requires the arguments in JSON form");
    bad("FROM scratch\nUSER a b\n", "Nodefile:2:6: USER requires exactly one argument");
    bad("FROM scratch\nONBUILD ONBUILD RUN x\n", "Nodefile:2:9: ONBUILD isn't allowed as an ONBUILD trigger");
    bad("FROM scratch\nONBUILD RUN --frob x\n", "Nodefile:2:13: RUN: unknown flag --frob");
    bad("", "Nodefile:1:1: file has no instructions");
    bad("# only\n\n   \n", "Nodefile:1:1: file has no instructions");
    {
        static const char nul[] = "FROM scratch\nEXPOSE 1\0002\n";
        bld_nodefile f;
        nr_err e;
        assert_int_equal(bld_parse("Nodefile", nul, sizeof nul - 1, &f, &e), -1);
        assert_string_equal(e.msg, "Nodefile:2:9: NUL byte in file");
    }
    bad("FROM scratch\n\x01\x02\x03 x\n", "Nodefile:2:1: unknown instruction (the line does not start with a word of letters; not shown)");
    bad("root:$y$j9T$SALT$HASH:19000:0:99999:7:::\n",
        "Nodefile:1:1: unknown instruction (the line does not start with a word of letters; not shown)");
}

static void test_hostile_no_crash(void **state)
{
    /* Odd but must not crash: each either parses or gives a positioned error. */
    const char *inputs[] = {
        "\\", "\\\n\\\n\\", "[", "FROM [", "CMD [", "CMD [\"", "CMD [\"\\", "CMD [\"\\u0000\"]",
        "ENV \"", "ENV '", "ENV a='", "LABEL \"=\"", "COPY \\", "COPY --", "COPY --=x a b",
        "HEALTHCHECK", "HEALTHCHECK --retries", "FROM scratch\n\xff\xfe" "x", "# escape=`\nFROM x `",
        "RUN [ -f x ] && echo", "VOLUME [\"/a\"", "VOLUME [ ]", "CMD []", "\xef\xbb\xbf" "FROM scratch",
    };
    for (size_t i = 0; i < NR_ARRAY_LEN(inputs); i++) {
        bld_nodefile f;
        nr_err e = {0};
        if (parse(inputs[i], &f, &e) == 0)
            bld_nodefile_free(&f);
        else
            assert_true(!strncmp(e.msg, "Nodefile:", 9));
    }
    /* A very long line and many lines. */
    nr_buf b = {0};
    nr_buf_addstr(&b, "FROM scratch\nLABEL ");
    for (int i = 0; i < 20000; i++)
        nr_buf_addf(&b, "k%d=v%d \\\n", i, i);
    nr_buf_addstr(&b, "\n");
    bld_nodefile f;
    nr_err e;
    assert_int_equal(bld_parse("N", b.data, b.len, &f, &e), 0);
    assert_int_equal(f.ins[1].nargs, 40000);
    bld_nodefile_free(&f);
    nr_buf_free(&b);
}

static void test_heredocs(void **state)
{
    bld_nodefile f;
    nr_err e;
    const char *t = "FROM scratch\n"
                    "RUN <<EOF\n"
                    "echo a \\\n"
                    "# not a comment here\n"
                    "\n"
                    "EOF\n"
                    "RUN python3 <<-'PY' && cat 3<<\"B\"\n"
                    "\tprint(1)\n"
                    "\t\tx\n"
                    "\t\tPY\n"
                    "b $X\n"
                    "B\r\n"
                    "COPY <<a.txt <<b.txt /d/\n"
                    "A\n"
                    "a.txt\n"
                    "b.txt\n"
                    "RUN echo '<<NOPE' \"x <<NO\" <<\"\"\n"
                    "COPY [\"<<J\", \"/x\"]\n"
                    "USER node\n";
    assert_int_equal(parse(t, &f, &e), 0);
    assert_int_equal(f.n, 7);
    bld_instr *in = &f.ins[1];
    assert_int_equal(in->nheredocs, 1);
    assert_string_equal(in->heredocs[0].name, "EOF");
    /* the body is verbatim: no continuation join, comments and blank lines kept */
    assert_string_equal(in->heredocs[0].body, "echo a \\\n# not a comment here\n\n");
    assert_true(in->heredocs[0].expand);
    assert_false(in->heredocs[0].chomp);
    assert_int_equal(in->heredocs[0].line, 3);
    assert_ptr_equal(bld_instr_heredoc(in, in->args[0].off), &in->heredocs[0]);
    in = &f.ins[2];
    assert_int_equal(in->nheredocs, 2);
    bld_heredoc *h = &in->heredocs[0];
    assert_string_equal(h->name, "PY");
    assert_true(h->chomp);
    assert_false(h->expand);
    assert_string_equal(h->body, "\tprint(1)\n\t\tx\n");
    assert_string_equal(h->data, "print(1)\nx\n");
    int line, col;
    bld_instr_pos(in, h->off, &line, &col);
    assert_int_equal(line, 7);
    assert_int_equal(col, 13);
    h = &in->heredocs[1];
    assert_string_equal(h->name, "B");
    assert_false(h->expand);
    assert_string_equal(h->body, "b $X\n");
    bld_instr_pos(in, h->off, &line, &col);
    assert_int_equal(col, 28); /* the fd digit starts the word */
    in = &f.ins[3];
    assert_int_equal(in->kind, BLD_COPY);
    assert_int_equal(in->nheredocs, 2);
    assert_string_equal(in->heredocs[0].body, "A\n");
    assert_string_equal(in->heredocs[1].body, "");
    assert_int_equal(in->nargs, 3);
    /* quoted words, an empty name and the JSON form hold no heredoc */
    assert_int_equal(f.ins[4].nheredocs, 0);
    assert_int_equal(f.ins[5].nheredocs, 0);
    assert_int_equal(f.ins[6].kind, BLD_USER);
    int l6;
    bld_instr_pos(&f.ins[6], 0, &l6, &col);
    assert_int_equal(l6, 19);
    bld_nodefile_free(&f);

    /* a body ends only at a line that is exactly the name */
    assert_int_equal(parse("FROM s\nRUN <<E\n E\nE \nEE\nE\nUSER x\n", &f, &e), 0);
    assert_string_equal(f.ins[1].heredocs[0].body, " E\nE \nEE\n");
    bld_nodefile_free(&f);
    /* <<- accepts a tab-indented delimiter, << does not */
    bad("FROM s\nRUN <<E\n\tE\n", "Nodefile:2:5: RUN: unterminated heredoc: no line \"E\" before the end of the file");
    bad("FROM s\nRUN x \\\n  y <<-Z\nbody\n", "Nodefile:3:5: RUN: unterminated heredoc: no line \"Z\" before the end of the file");
    bad("FROM s\nCOPY <<A <<B /x/\nA\n", "Nodefile:2:10: COPY: unterminated heredoc: no line \"B\" before the end of the file");
    bad("FROM s\nCOPY a <<EOF\nx\nEOF\n", "Nodefile:2:8: COPY cannot accept a heredoc as a destination");
    {
        static const char nul[] = "FROM s\nRUN <<E\nab\000\nE\n";
        assert_int_equal(bld_parse("Nodefile", nul, sizeof nul - 1, &f, &e), -1);
        assert_string_equal(e.msg, "Nodefile:3:3: NUL byte in file");
    }
    /* other instructions do not read heredocs */
    assert_int_equal(parse("FROM s\nLABEL a=<<EOF\nUSER x\n", &f, &e), 0);
    assert_int_equal(f.n, 3);
    bld_nodefile_free(&f);
}

static void test_directives(void **state)
{
    bld_nodefile f;
    nr_err e;
    assert_int_equal(parse("# syntax = docker/dockerfile:1.7-labs  \n #Check=skip=all\n# escape=`\nFROM s\n", &f, &e), 0);
    assert_string_equal(f.syntax, "docker/dockerfile:1.7-labs");
    assert_int_equal(f.escape, '`');
    assert_int_equal(f.n, 1);
    bld_nodefile_free(&f);
    /* after a blank line, another comment or an unknown key, directives are comments */
    const char *ends[] = {"# syntax=x\n\n# escape=`\nFROM s\n", "# a comment\n# escape=`\nFROM s\n",
                          "# foo=bar\n# escape=`\nFROM s\n", "FROM s\n# escape=`\n"};
    for (size_t i = 0; i < NR_ARRAY_LEN(ends); i++) {
        assert_int_equal(parse(ends[i], &f, &e), 0);
        assert_int_equal(f.escape, '\\');
        bld_nodefile_free(&f);
    }
    assert_int_equal(parse("FROM s\n", &f, &e), 0);
    assert_null(f.syntax);
    bld_nodefile_free(&f);
    bad("# escape=`\n# ESCAPE=\\\nFROM s\n", "Nodefile:2:3: only one escape parser directive can be used");
    bad("# syntax=a\n#syntax=b\nFROM s\n", "Nodefile:2:2: only one syntax parser directive can be used");
    bad("# escape=x\nFROM s\n", "Nodefile:1:10: invalid escape token 'x' does not match ` or \\");
}

static const char *look(void *ctx, const char *name)
{
    const char **kv = ctx;
    for (; *kv; kv += 2)
        if (!strcmp(kv[0], name))
            return kv[1];
    return NULL;
}

static void xp(const char *in, const char *want)
{
    const char *vars[] = {"A", "aa", "E", "", "P", "/usr/bin", "V", "20.11.1", "IMG", "node:20-slim", NULL};
    char *out = NULL;
    nr_err e;
    if (bld_expand(in, '\\', look, vars, &out, NULL, &e) < 0)
        fail_msg("expand %s: %s", in, e.msg);
    assert_string_equal(out, want);
    free(out);
}

static void xbad(const char *in, size_t pos, const char *msg)
{
    const char *vars[] = {"A", "aa", "E", "", "V", "20.11.1", NULL};
    char *out = NULL;
    nr_err e;
    size_t p = 99;
    assert_int_equal(bld_expand(in, '\\', look, vars, &out, &p, &e), -1);
    assert_string_equal(e.msg, msg);
    assert_int_equal(p, pos);
}

static void test_expand(void **state)
{
    xp("$A", "aa");
    xp("${A}x", "aax");
    xp("$Ax", "");
    xp("x$NOPE.y", "x.y");
    xp("${NOPE:-d}", "d");
    xp("${E:-d}", "d");
    xp("${E-d}", "");
    xp("${NOPE-d}", "d");
    xp("${A:+alt}", "alt");
    xp("${E:+alt}", "");
    xp("${E+alt}", "alt");
    xp("${NOPE+alt}", "");
    xp("${NOPE:-$A/x}", "aa/x");
    xp("${NOPE:-${A:+y}z}", "yz");
    xp("\\$A", "$A");
    xp("'$A'", "$A");
    xp("\"$A b\"", "aa b");
    xp("\"\\$A\\\"\"", "$A\"");
    xp("\"a\\nb\"", "a\\nb");
    xp("a\\ b", "a b");
    xp("$", "$");
    /* BuildKit's lexer: digits and the shell's special parameters are
     * names (unset in a Dockerfile); '$' before anything else is itself */
    xp("$1", "");
    xp("he$1x", "hex");
    xp("a$$b$@$*$#$?$-$!", "ab");
    xp("$.x", "$.x");
    xp("\"$1 $ \"", " $ ");
    xp("a$", "a$");
    xp("${P}/node", "/usr/bin/node");
    xp("trailing\\", "trailing\\");
    /* BuildKit's pattern forms (Dockerfile 1.7): trim and replace */
    xp("${V%%.*}", "20");
    xp("${V%.*}", "20.11");
    xp("${V#*.}", "11.1");
    xp("${V##*.}", "1");
    xp("${V/./-}", "20-11.1");
    xp("${V//./-}", "20-11-1");
    xp("${V//1/}", "20..");
    xp("${V/x/y}", "20.11.1");
    xp("${IMG%:*}:stable", "node:stable");
    xp("${P#/usr}", "/bin");
    xp("${P//\\//:}", ":usr:bin");
    xp("${V/$A/x}", "20.11.1");
    xp("${NOPE%%x}", "");
    xp("${V#}", "20.11.1");
    xp("${V%%*}", "");
    xp("${V#*}", "20.11.1");
    xbad("${V/1}", 0, "bad substitution: ${V/pattern/replacement} needs its second '/'");
    xbad("${V%%x", 0, "missing '}' in ${V...}");
    xbad("${", 0, "bad substitution: empty or invalid variable name in ${}");
    xbad("x${A", 1, "missing '}' in ${A...}");
    xbad("${A:=x}", 0, "bad substitution: unsupported modifier in ${A...}");
    xbad("${E:?must be set}", 0, "E: must be set");
    xbad("${NOPE?}", 0, "NOPE: parameter not set or empty");
    xbad("a'b", 1, "unterminated quote '");
    xbad("\"$A", 0, "unterminated quote \"");
    xbad("${NOPE:-\"x}", 8, "unterminated quote \"");
    /* Deep nesting is refused, not a stack overflow. */
    nr_buf deep = {0};
    for (int i = 0; i < 100000; i++)
        nr_buf_addstr(&deep, "${A:-");
    for (int i = 0; i < 100000; i++)
        nr_buf_addstr(&deep, "}");
    char *out = NULL;
    nr_err e;
    size_t pos;
    assert_int_equal(bld_expand(deep.data, '\\', look, (void *)(const char *[]){NULL}, &out, &pos, &e), -1);
    assert_non_null(strstr(e.msg, "nested too deeply"));
    nr_buf_free(&deep);
}


/* Deterministic mutation fuzzing: every mutant either parses (and then every
 * word expands or fails cleanly) or fails with a positioned error.  Run
 * under ASan (make check-asan) this also catches memory errors. */
static const char *no_vars(void *ctx, const char *name)
{
    return strlen(name) % 2 ? "v" : NULL;
}

static void test_fuzz_mutations(void **state)
{
    static const char seed[] = "# escape=\\\nARG B=x\nFROM ${B:-scratch} AS s\nENV A=\"1 2\" C='$A' \\\n  D=${A:+y}\n"
                               "LABEL k=v\nCOPY --chown=1:2 [\"a\", \"b/\"]\nADD x.tgz /x/\nCMD [\"n\"]\n"
                               "HEALTHCHECK --interval=1s CMD x\nEXPOSE 80/tcp\nSHELL [\"/bin/sh\",\"-c\"]\n"
                               "RUN <<-A cat 3<<'B'\n\tx\n\tA\ny\nB\nCOPY <<C /c\nz\nC\n";
    static const char alphabet[] = "\\\n\"'$${}[]:-+?=# \t`,AaZz09/.*!\r";
    unsigned long long r = 88172645463325252ULL;
    char buf[512];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = sizeof seed - 1;
        memcpy(buf, seed, n);
        int muts = 1 + (int)(r % 6);
        for (int m = 0; m < muts; m++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            size_t pos = (size_t)(r % (n + 1));
            char ch = alphabet[(r >> 20) % (sizeof alphabet - 1)];
            switch ((r >> 40) % 3) {
            case 0: /* replace */
                if (pos < n)
                    buf[pos] = ch;
                break;
            case 1: /* insert */
                if (n + 1 < sizeof buf) {
                    memmove(buf + pos + 1, buf + pos, n - pos);
                    buf[pos] = ch;
                    n++;
                }
                break;
            default: /* delete */
                if (pos < n) {
                    memmove(buf + pos, buf + pos + 1, n - pos - 1);
                    n--;
                }
            }
        }
        bld_nodefile f;
        nr_err e = {0};
        if (bld_parse("Nodefile", buf, n, &f, &e) < 0) {
            assert_true(!strncmp(e.msg, "Nodefile:", 9));
            continue;
        }
        for (size_t i = 0; i < f.n; i++)
            for (size_t k = 0; k < f.ins[i].nargs; k++) {
                char *out = NULL;
                size_t pos = 0;
                if (bld_expand(f.ins[i].args[k].s, f.escape, no_vars, NULL, &out, &pos, &e) == 0)
                    free(out);
                else
                    assert_true(pos <= strlen(f.ins[i].args[k].s));
            }
        bld_nodefile_free(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_env_forms),
        cmocka_unit_test(test_escape_directive_and_continuations),
        cmocka_unit_test(test_healthcheck),
        cmocka_unit_test(test_json_fallback),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_heredocs),
        cmocka_unit_test(test_directives),
        cmocka_unit_test(test_hostile_no_crash),
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_fuzz_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
