/* xmig: the command line, as a table of subcommands. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "xmigd/cli.h"

static int version_main(int argc, char **argv);

static const struct subcommand {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
} subcommands[] = {
    { "create", create_main, "start a sim guest in xmigd" },
    { "list", list_main, "list xmigd's guests" },
    { "migrate", migrate_main, "live-migrate a guest to a receiver" },
    { "status", status_main, "show xmigd's migrations and progress" },
    { "cancel", cancel_main, "cancel one of xmigd's migrations" },
    { "destroy", destroy_main, "stop one of xmigd's guests" },
    { "save", save_main, "save a guest to an xl save file" },
    { "restore", restore_main, "restore a guest from a save file" },
    { "migrate-receive", migrate_receive_main,
      "receive a live migration and run the guest" },
    { "report", report_main, "plot a migration's rounds as SVG" },
    { "verify", verify_main, "check a stream against the Xen specs" },
    { "dump", dump_main, "list a stream's headers and records" },
    { "sample", sample_main, "write a synthetic sample stream" },
    { "tls-info", tls_info_main, "show the TLS policy and kernel TLS" },
    { "certs", certs_main, "make a CA and host certificates for mutual TLS" },
    { "tls-connect", tls_connect_main,
      "connect over TLS, hand the (kTLS) socket to a toolstack" },
    { "tls-accept", tls_accept_main,
      "accept over TLS, hand the (kTLS) socket to a toolstack" },
    { "help", help_main, "this list, or a subcommand's options" },
    { "version", version_main, "print xmig's version" },
};

#define NSUB (sizeof(subcommands) / sizeof(subcommands[0]))

static int usage(FILE *out, int rc)
{
    fprintf(out, "usage: xmig <subcommand> [options]\n\nsubcommands:\n");
    for (size_t i = 0; i < NSUB; i++) {
        fprintf(out, "  %-16s %s\n", subcommands[i].name,
                subcommands[i].summary);
    }
    fprintf(out, "\n'xmig help SUBCOMMAND' or 'xmig SUBCOMMAND --help' for "
                 "its options; man xmig.\n");
    return rc;
}

static int version_main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        printf("usage: xmig version\n  print xmig's version (also: xmig "
               "--version)\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "xmig version: takes no arguments\n");
        return EXIT_USAGE;
    }
    printf("xmig %s\n", XMIG_VERSION_STRING);
    return 0;
}

/* xmig help [CMD]: the list, or CMD --help. */
int help_main(int argc, char **argv)
{
    if (argc == 1) {
        return usage(stdout, 0);
    }
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        printf("usage: xmig help [SUBCOMMAND]\n  the subcommands, or one's "
               "options\n");
        return 0;
    }
    for (size_t i = 0; argc == 2 && i < NSUB; i++) {
        if (strcmp(argv[1], subcommands[i].name) == 0) {
            char *args[] = { argv[1], (char *)"--help", NULL };
            return subcommands[i].main(2, args);
        }
    }
    if (argc == 2) {
        fprintf(stderr, "xmig help: '%s' is not a subcommand ('xmig help' "
                "lists them)\n", argv[1]);
    } else {
        fprintf(stderr, "xmig help: one subcommand at most\n");
    }
    return EXIT_USAGE;
}

struct xmig_transport *cli_open_input(const char *cmd, const char *path)
{
    int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO)
                                    : open(path, O_RDONLY | O_CLOEXEC);
    struct xmig_transport *t;

    if (fd < 0) {
        fprintf(stderr, "xmig %s: cannot open %s: %m\n", cmd, path);
        return NULL;
    }
    t = xmig_transport_fd(fd, 1);
    if (!t) {
        close(fd);
        fprintf(stderr, "xmig %s: %s\n", cmd, xmig_error_message());
    }
    return t;
}

int cli_parse_format(const char *cmd, const char *name, enum xmig_format *out)
{
    static const enum xmig_format all[] = { XMIG_FORMAT_AUTO, XMIG_FORMAT_XL,
                                            XMIG_FORMAT_LIBXL,
                                            XMIG_FORMAT_LIBXC };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(name, xmig_format_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    }
    fprintf(stderr, "xmig %s: unknown format '%s' (auto, xl, libxl, libxc)\n",
            cmd, name);
    return -1;
}

void cli_report(const char *cmd, const char *path)
{
    fprintf(stderr, "xmig %s: %s: %s\n", cmd,
            strcmp(path, "-") == 0 ? "<stdin>" : path, xmig_error_message());
}

int main(int argc, char **argv)
{
    /* A peer hanging up is an error to report, not a reason to die. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        return usage(stderr, EXIT_USAGE);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        return usage(stdout, 0);
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        return version_main(1, argv);
    }
    for (size_t i = 0; i < NSUB; i++) {
        if (strcmp(argv[1], subcommands[i].name) == 0) {
            return subcommands[i].main(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "xmig: unknown subcommand '%s' ('xmig help' lists "
            "them)\n", argv[1]);
    return usage(stderr, EXIT_USAGE);
}
