/*
 * xmig tls-info: the TLS policy (versions, ciphers, groups, limits) and
 * whether this kernel can take the TLS record layer.
 */
#include <string.h>

#include "xmigd/cli.h"

int tls_info_main(int argc, char **argv)
{
    char buf[2048];

    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0) {
            printf("usage: xmig tls-info\n");
            return 0;
        }
        fprintf(stderr, "usage: xmig tls-info\n");
        return EXIT_USAGE;
    }
    xmig_tls_policy_describe(buf, sizeof(buf));
    fputs(buf, stdout);
    return 0;
}
