/*
 * Option values on the command line: parsed whole (no trailing junk, no
 * sign, no silent wrap), bounded, and when refused named in the error with
 * the option's own unit.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cli_decimal(const char *arg, double *out)
{
    size_t n = strspn(arg, "0123456789");
    char *end;

    /* strtod alone would take "0x1p3", "1e3", "inf", " 5" and "+5". */
    if (n == 0 || (arg[n] == '.' &&
                   strspn(arg + n + 1, "0123456789") == 0)) {
        return -1;
    }
    if (arg[n] == '.') {
        n += 1 + strspn(arg + n + 1, "0123456789");
    }
    if (arg[n]) {
        return -1;
    }
    errno = 0;
    *out = strtod(arg, &end);
    return errno || *end || !isfinite(*out) ? -1 : 0;
}

int cli_seconds(const char *cmd, const char *opt, const char *arg,
                double max, double *out)
{
    double v;

    if (cli_decimal(arg, &v) < 0 || v > max) {
        fprintf(stderr, "xmig %s: --%s '%s': give a number of seconds from 0 "
                        "to %.0f (digits, a '.' before a fraction)\n",
                cmd, opt, arg, max);
        return -1;
    }
    *out = v;
    return 0;
}
