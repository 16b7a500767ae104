/* What parse.c (an instruction's keyword, flags, arguments and checks) and
 * lines.c (the physical lines: directives, continuations, heredocs) share.
 * Not a public interface: the rest of the builder uses parse.h. */
#ifndef BLD_PARSE_INT_H
#define BLD_PARSE_INT_H

#include "builder/parse.h"

/* Split the logical line in->text (with in->lines/cols set) into keyword,
 * flags and arguments, and check them; an ONBUILD's trigger is parsed the
 * same way.  On error fills err with "PATH:LINE:COL: msg". */
int bld_instr_parse(const bld_nodefile *f, bld_instr *in, nr_err *err);

#endif
