/* Nodefile parser: Dockerfile syntax turned into a list of instructions.
 *
 * Contract: bld_parse() reads the whole text once, joins `\` continuations,
 * drops comments and blank lines, splits each instruction into keyword,
 * flags (--name=value) and arguments (JSON exec form or whitespace/quote
 * aware words), and checks everything that does not depend on variables
 * (unknown instruction, JSON arrays, ARG/ENV/LABEL/FROM shape, allowed
 * flags).  Every byte of an instruction keeps its physical line and column
 * so later stages (variable expansion, COPY sources) report
 * "FILE:LINE:COL: message" too.  Words keep their quotes: expansion
 * (builder/expand.h) removes them, as Docker does. */
#ifndef BLD_PARSE_H
#define BLD_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

typedef enum bld_kind {
    BLD_FROM,
    BLD_ARG,
    BLD_ENV,
    BLD_LABEL,
    BLD_WORKDIR,
    BLD_COPY,
    BLD_ADD,
    BLD_USER,
    BLD_EXPOSE,
    BLD_CMD,
    BLD_ENTRYPOINT,
    BLD_VOLUME,
    BLD_STOPSIGNAL,
    BLD_HEALTHCHECK,
    BLD_SHELL,
    BLD_RUN,
    BLD_MAINTAINER,
    BLD_ONBUILD,
} bld_kind;

/* A word of the instruction: `s` is its raw text (quotes kept) for the shell
 * form, or the decoded string for a JSON element; `off` is its offset in
 * bld_instr.text (for error positions). */
typedef struct bld_word {
    char *s;
    size_t off;
} bld_word;

typedef struct bld_flag {
    char *name;   /* without the leading "--" */
    char *value;  /* NULL for a bare --flag */
    size_t off;
} bld_flag;

typedef struct bld_instr {
    bld_kind kind;
    const char *name;    /* canonical upper-case keyword */
    char *text;          /* the logical line, continuations joined */
    int *lines, *cols;   /* physical position of each byte of text (1-based) */
    size_t len;
    size_t kw_off;       /* offset of the keyword (after leading blanks) */
    bld_flag *flags;
    size_t nflags;
    size_t rest_off;     /* first byte after keyword and flags */
    bool json;           /* exec (JSON) form */
    bld_word *args;
    size_t nargs;
    /* HEALTHCHECK CMD ...: the command part, parsed like CMD. */
    bool hc_none;
    bool hc_json;
    bld_word *hc_args;
    size_t hc_nargs;
    size_t hc_off;       /* offset of the command (after "CMD") */
} bld_instr;

typedef struct bld_nodefile {
    char *path;          /* as given, used in every error */
    char escape;         /* '\\' or '`' (# escape= directive) */
    bld_instr *ins;
    size_t n;
} bld_nodefile;

/* Parse `text` (len bytes).  On error fills err with "PATH:LINE:COL: msg". */
int bld_parse(const char *path, const char *text, size_t len, bld_nodefile *out, nr_err *err);
void bld_nodefile_free(bld_nodefile *f);

/* The flag `name` of an instruction, or NULL. */
const bld_flag *bld_instr_flag(const bld_instr *in, const char *name);
/* Line and column of byte `off` of an instruction (off may be == len). */
void bld_instr_pos(const bld_instr *in, size_t off, int *line, int *col);
/* Fill err with "PATH:LINE:COL: <fmt>" for byte `off` of `in`; returns -1. */
int bld_errat(nr_err *err, const bld_nodefile *f, const bld_instr *in, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The shell-form text of an instruction from offset `off` to the end, trimmed. */
char *bld_instr_rest(const bld_instr *in, size_t off);

#endif
