/* Nodefile parser: Dockerfile syntax turned into a list of instructions.
 *
 * Contract: bld_parse() reads the whole text once, joins `\` continuations,
 * drops comments and blank lines, splits each instruction into keyword,
 * flags (--name=value) and arguments (JSON exec form or whitespace/quote
 * aware words), reads the here-documents of RUN/COPY/ADD, and checks everything that does not depend on variables
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

/* A here-document of RUN, COPY or ADD (shell form): `<<NAME` (or `<<-NAME`,
 * `<<"NAME"`, `<<'NAME'`, `3<<NAME`) in the instruction, its body the
 * physical lines after it up to a line that is exactly NAME (after leading
 * tabs for `<<-`), read verbatim: no continuation, no comment, no
 * directive.  Several heredocs take their bodies one after the other. */
typedef struct bld_heredoc {
    char *name;          /* the delimiter, quotes removed */
    char *body;          /* the lines as written, each with its newline */
    char *data;          /* the content: body, leading tabs stripped for <<- */
    bool chomp;          /* <<- */
    bool expand;         /* unquoted delimiter: COPY expands variables in it */
    size_t off, end;     /* the `<<NAME` word: [off, end) of bld_instr.text */
    int line;            /* physical line of the first body line */
} bld_heredoc;

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
    /* An argument written as a JSON array that is not JSON (a comma
     * missing): it is the shell form, as BuildKit reads it, and this says
     * why, for a warning (NULL otherwise). */
    char *json_note;
    size_t json_note_off;
    bool json_ignored;   /* json_note is the text after a JSON array, which
                          * is ignored, as BuildKit ignores it */
    bld_word *args;
    size_t nargs;
    /* HEALTHCHECK CMD ...: the command part, parsed like CMD. */
    bool hc_none;
    bool hc_json;
    bld_word *hc_args;
    size_t hc_nargs;
    size_t hc_off;       /* offset of the command (after "CMD") */
    bld_heredoc *heredocs; /* in the order of their words */
    size_t nheredocs;
    struct bld_instr *trigger; /* ONBUILD: the instruction it records, parsed
                                * (its bytes keep their places in the file) */
} bld_instr;

typedef struct bld_nodefile {
    char *path;          /* as given, used in every error */
    char escape;         /* '\\' or '`' (# escape= directive) */
    char *syntax;        /* the # syntax= directive (ignored: nbuild is its own frontend), or NULL */
    bld_instr *ins;
    size_t n;
} bld_nodefile;

/* Parser directives (`# escape=`, `# syntax=`, `# check=`), as Docker reads
 * them: only in the comment lines at the very top, each at most once; the
 * first line that is not one (an instruction, a blank line, another
 * comment, an unknown key) ends them.
 *
 * Parse `text` (len bytes).  On error fills err with "PATH:LINE:COL: msg". */
int bld_parse(const char *path, const char *text, size_t len, bld_nodefile *out, nr_err *err);
void bld_nodefile_free(bld_nodefile *f);

/* The flag `name` of an instruction, or NULL. */
const bld_flag *bld_instr_flag(const bld_instr *in, const char *name);
/* Line and column of byte `off` of an instruction (off may be == len). */
void bld_instr_pos(const bld_instr *in, size_t off, int *line, int *col);
/* Fill err with "PATH:LINE:COL: <fmt>" for byte `off` of `in`; returns -1. */
int bld_errat(nr_err *err, const bld_nodefile *f, const bld_instr *in, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The heredoc whose `<<NAME` word starts at offset `off`, or NULL. */
const bld_heredoc *bld_instr_heredoc(const bld_instr *in, size_t off);
/* The shell-form text of an instruction from offset `off` to the end, trimmed. */
char *bld_instr_rest(const bld_instr *in, size_t off);

#endif
