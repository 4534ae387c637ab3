/*
 * Option values on the command line: parsed whole (no trailing junk, no
 * sign, no silent wrap), bounded, and when refused named in the error with
 * the option's own unit.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "xmigd/cli.h"

int cli_uint(const char *cmd, const char *opt, const char *arg,
             uint64_t min, uint64_t max, const char *unit, uint64_t *out)
{
    unsigned long long v;
    char *end;

    errno = 0;
    v = strtoull(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-' || arg[0] == '+' ||
        arg[0] == ' ' || v < min || v > max) {
        fprintf(stderr, "xmig %s: --%s '%s': give a whole number %s%s%sfrom "
                        "%llu to %llu\n",
                cmd, opt, arg, unit[0] ? "of " : "", unit, unit[0] ? " " : "",
                (unsigned long long)min, (unsigned long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_seconds(const char *cmd, const char *opt, const char *arg,
                double max, double *out)
{
    double v;
    char *end;

    errno = 0;
    v = strtod(arg, &end);
    if (errno || end == arg || *end || !isfinite(v) || v < 0 || v > max) {
        fprintf(stderr, "xmig %s: --%s '%s': give a number of seconds from 0 "
                        "to %.0f\n",
                cmd, opt, arg, max);
        return -1;
    }
    *out = v;
    return 0;
}
