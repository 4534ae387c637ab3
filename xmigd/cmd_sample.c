/*
 * xmig sample: write a synthetic guest image (xl save file by default) to
 * try verify and dump on, without a Xen host.  The file appears under its
 * name only once it is complete.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "streams/synth.h"
#include "xmigd/cli.h"

static void help(FILE *out)
{
    fprintf(out, "usage: xmig sample [--format xl|libxl|libxc] [--pv] "
                 "[--pages N] [--seed N] [--emulator-xenstore] [--verify] "
                 "[--transparent 2l|fifo] FILE\n");
}

static int write_file(const char *path, const struct synth_opts *o)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    struct xmig_transport *t;
    int fd, rc = -1;

    if (!tmp) {
        fprintf(stderr, "xmig sample: out of memory\n");
        return -1;
    }
    snprintf(tmp, n, "%s.tmpXXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "xmig sample: cannot create %s: %m\n", tmp);
        free(tmp);
        return -1;
    }
    t = xmig_transport_fd(fd, 0);
    if (t && synth_write(t, o) == 0 && fsync(fd) == 0 && close(fd) == 0) {
        fd = -1;
        if (rename(tmp, path) == 0) {
            rc = 0;
        } else {
            fprintf(stderr, "xmig sample: rename to %s: %m\n", path);
        }
    } else {
        fprintf(stderr, "xmig sample: %s: %s\n", path, xmig_error_message());
    }
    if (fd >= 0) {
        close(fd);
    }
    if (rc < 0) {
        unlink(tmp);
    }
    xmig_transport_free(t);
    free(tmp);
    return rc;
}

int sample_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "format", required_argument, NULL, 'f' },
        { "pv", no_argument, NULL, 'p' },
        { "pages", required_argument, NULL, 'n' },
        { "seed", required_argument, NULL, 's' },
        { "emulator-xenstore", no_argument, NULL, 'e' },
        { "verify", no_argument, NULL, 'v' },
        { "transparent", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct synth_opts o;
    uint64_t v;
    int opt;

    synth_defaults(&o);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "f:pn:s:evt:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            if (cli_parse_format("sample", optarg, &o.format) < 0 ||
                o.format == XMIG_FORMAT_AUTO) {
                return EXIT_USAGE;
            }
            break;
        case 'p':
            o.guest_type = XMIG_DOMAIN_X86_PV;
            break;
        case 'n':
            if (cli_uint("sample", "pages", optarg, 0, 1u << 22, "pages",
                         &v) < 0) {
                return EXIT_USAGE;
            }
            o.pages = (uint32_t)v;
            break;
        case 's':
            if (cli_uint("sample", "seed", optarg, 0, 0xffffffffu, "",
                         &v) < 0) {
                return EXIT_USAGE;
            }
            o.seed = (uint32_t)v;
            break;
        case 'e':
            o.emulator_xenstore = 1;
            break;
        case 'v':
            o.verify_pass = 1;
            break;
        case 't':
            if (strcmp(optarg, "2l") == 0) {
                o.transparent = 1;
            } else if (strcmp(optarg, "fifo") == 0) {
                o.transparent = 2;
            } else {
                fprintf(stderr, "xmig sample: --transparent takes 2l (2-level "
                                "event channels, grant table v1) or fifo "
                                "(FIFO, v2)\n");
                return EXIT_USAGE;
            }
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
    return write_file(argv[optind], &o) == 0 ? 0 : EXIT_INVALID;
}
