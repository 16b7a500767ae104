/* Shared bits of the runtime's CLI files. */
#ifndef RT_CLI_COMMON_H
#define RT_CLI_COMMON_H

#include "common/cli.h"
#include "common/err.h"

#endif
