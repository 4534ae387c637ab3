/*
 * xmig verify: read a whole stream, checking every field and the record
 * order; one summary line when valid, one error line naming the offset,
 * the record and the rule when not.
 */
#include <getopt.h>
#include <string.h>

#include "xmigd/cli.h"

static void help(FILE *out)
{
    fprintf(out,
            "usage: xmig verify [--format auto|xl|libxl|libxc] "
            "[--allow-trailing] [--quiet] FILE|-\n"
            "Exit 0: valid; 1: invalid (one line on stderr says where and "
            "why);\n2: usage error or unreadable input.\n");
}

int verify_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "format", required_argument, NULL, 'f' },
        { "allow-trailing", no_argument, NULL, 't' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    enum xmig_format format = XMIG_FORMAT_AUTO;
    int allow_trailing = 0, quiet = 0, opt, rc = EXIT_INVALID;
    struct xmig_transport *t;
    struct xmig_reader *r;
    struct xmig_stream_stats st;
    const char *path;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "f:tqh", opts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            if (cli_parse_format("verify", optarg, &format) < 0) {
                return EXIT_USAGE;
            }
            break;
        case 't':
            allow_trailing = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            help(stdout);
            return 0;
        default:
            help(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        help(stderr);
        return EXIT_USAGE;
    }
    path = argv[optind];
    t = cli_open_input("verify", path);
    if (!t) {
        return EXIT_USAGE;
    }
    r = xmig_reader_create(t, format);
    if (!r) {
        cli_report("verify", path);
        xmig_transport_free(t);
        return EXIT_USAGE;
    }
    if (xmig_reader_run(r, NULL, NULL) < 0 ||
        (!allow_trailing && xmig_reader_expect_eof(r) < 0)) {
        cli_report("verify", path);
        if (xmig_error_category() == XMIG_ERR_IO) {
            rc = EXIT_USAGE;
        }
        goto out;
    }
    xmig_reader_stats(r, &st);
    if (!quiet) {
        printf("%s: valid %s stream: x86 %s, libxc v%u, %llu records, "
               "%llu pages of data, %llu octets",
               strcmp(path, "-") == 0 ? "<stdin>" : path,
               xmig_format_name(xmig_reader_format(r)),
               st.guest_type == XMIG_DOMAIN_X86_HVM ? "HVM" : "PV",
               st.libxc_version, (unsigned long long)st.records,
               (unsigned long long)st.data_pages,
               (unsigned long long)st.bytes);
        if (st.optional_skipped) {
            printf(", %llu unknown optional records skipped",
                   (unsigned long long)st.optional_skipped);
        }
        printf("\n");
    }
    rc = 0;
out:
    xmig_reader_free(r);
    xmig_transport_free(t);
    return rc;
}
