/*
 * xmig save DOM FILE: an xl save file of a guest (the daemon's, or 'sim':
 * a simulated guest started here), written to FILE.tmp* and renamed into
 * place only when complete.  xmig restore FILE: hand it to the daemon, or
 * with --here restore it in this process and run it for --run seconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xmigd/atomic_file.h"
#include "xmigd/cli.h"
#include "xmigd/ctl_json.h"

int save_to_file(struct xmig_guest *g, const char *name, const char *path,
                 struct xmig_migrate_stats *st)
{
    return save_to_file_pv(g, name, path, st, 0);
}

/* transparent: carry the PV state too (xmig peers only).  name: the
 * guest's, kept in the file's domain config (restore gives it back). */
int save_to_file_pv(struct xmig_guest *g, const char *name, const char *path,
                    struct xmig_migrate_stats *st, int transparent)
{
    struct xmig_migrate_params p;
    struct atomic_file f;
    struct xmig_transport *t;
    int rc;

    xmig_migrate_params_init(&p);
    p.digest = 0;   /* plain records only: xl can restore the file */
    p.transparent = transparent;
    p.name = name;
    if (atomic_open(&f, path) < 0) {
        return err_report_errno(path);
    }
    t = xmig_transport_fd(f.fd, 0);
    rc = t ? xmig_guest_save(g, t, &p, st) : -1;
    xmig_transport_free(t);
    if (rc < 0) {
        atomic_abort(&f);
        return -1;
    }
    if (atomic_commit(&f) < 0) {
        return err_report_errno(path);
    }
    return 0;
}

static void save_help(FILE *out)
{
    fprintf(out, "usage: xmig save [--control PATH] [--keep] DOM FILE\n"
                 "  DOM: a guest of the local xmigd, 'sim' (a simulated "
                 "guest started here),\n"
                 "       or xen:NAME / xen:DOMID (a domain of this Xen host, "
                 "saved from here)\n"
                 "  --keep   leave the guest running (default: it stops once "
                 "saved)\n"
                 "  --transparent  carry event channels, grants and xenstore "
                 "(xen: refused\n"
                 "           by Xen 4.17, see docs/xen-backend.md)\n");
}

/* xmig save xen:DOM FILE: the domain suspends itself, its memory and state
 * go into FILE, then it is destroyed, or with --keep resumes (as xl save
 * and xl save -c). */
static int save_xen(const char *dom, const char *path, int keep,
                    int transparent)
{
    struct xmig_migrate_stats st;
    struct xmig_guest *g;
    uint32_t domid;
    int rc;

    if (xmig_xen_domain_lookup(dom, &domid) < 0 ||
        !(g = xmig_xen_guest_open_for_libxl(domid))) {
        fprintf(stderr, "xmig save: xen:%s: %s\n", dom, xmig_error_message());
        return EXIT_INVALID;
    }
    rc = save_to_file_pv(g, NULL, path, &st, transparent);
    if (rc < 0) {
        fprintf(stderr, "xmig save: xen:%s: %s: %s\n", dom, path,
                xmig_error_message());
        xmig_guest_destroy(g);
        return EXIT_INVALID;
    }
    printf("xmig save: domain %u saved to %s: %.1f MiB (%llu pages, %llu "
           "without memory) in %.3f s (suspended after %.3f s, then %.3f s "
           "of memory and state)\n", domid, path,
           (double)st.bytes / 1048576.0,
           (unsigned long long)(st.pages_sent + st.zero_pages),
           (unsigned long long)st.holes, st.total_s,
           st.nrounds ? st.rounds[0].start_s : 0,
           st.nrounds ? st.rounds[0].duration_s : 0);
    if (keep) {
        rc = xmig_guest_unpause(g);
        if (rc < 0) {
            fprintf(stderr, "xmig save: domain %u was saved but did not "
                    "resume: %s\n", domid, xmig_error_message());
        } else {
            printf("xmig save: domain %u runs on\n", domid);
        }
        xmig_guest_destroy(g);
        return rc < 0 ? EXIT_INVALID : 0;
    }
    if (xmig_xen_guest_destroy_domain(g) < 0) {
        fprintf(stderr, "xmig save: domain %u was saved but not destroyed: "
                "%s\n", domid, xmig_error_message());
        return EXIT_INVALID;
    }
    return 0;
}

int save_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "control", required_argument, NULL, 'c' },
        { "keep", no_argument, NULL, 'k' },
        { "transparent", no_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *control = NULL;
    char abs[PATH_MAX];
    int opt, keep = 0, transparent = 0;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            control = optarg;
            break;
        case 'k':
            keep = 1;
            break;
        case 't':
            transparent = 1;
            break;
        case 'h':
            save_help(stdout);
            return 0;
        default:
            save_help(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 2) {
        save_help(stderr);
        return EXIT_USAGE;
    }
    if (strncmp(argv[optind], "xen:", 4) == 0) {
        return save_xen(argv[optind] + 4, argv[optind + 1], keep,
                        transparent);
    }
    if (strcmp(argv[optind], "sim") == 0) {
        struct xmig_sim_config c = { 256ull << 20, 1, XMIG_SIM_MIXED, 0, 11,
                                     1, 50 };
        struct xmig_migrate_stats st;
        struct xmig_guest *sg = xmig_sim_guest_create(&c);
        int rc;
        if (!sg) {
            fprintf(stderr, "xmig save: %s\n", xmig_error_message());
            return EXIT_INVALID;
        }
        rc = save_to_file_pv(sg, NULL, argv[optind + 1], &st, transparent);
        xmig_guest_destroy(sg);
        if (rc < 0) {
            fprintf(stderr, "xmig save: %s: %s\n", argv[optind + 1],
                    xmig_error_message());
            return EXIT_INVALID;
        }
        printf("xmig save: %s: %.1f MiB in %.3f s\n", argv[optind + 1],
               (double)st.bytes / 1048576.0, st.total_s);
        return 0;
    }
    if (transparent) {
        fprintf(stderr, "xmig save: --transparent: only for 'sim' and xen: "
                "guests (xmigd's save writes plain xl files)\n");
        return EXIT_USAGE;
    }
    /* The daemon writes the file: give it an absolute path. */
    if (argv[optind + 1][0] == '/') {
        snprintf(abs, sizeof(abs), "%s", argv[optind + 1]);
    } else if (!getcwd(abs, sizeof(abs) - strlen(argv[optind + 1]) - 2)) {
        fprintf(stderr, "xmig save: %s\n", strerror(errno));
        return EXIT_INVALID;
    } else {
        strcat(abs, "/");
        strcat(abs, argv[optind + 1]);
    }
    return ctl_simple_request("save", control,
                              json_pack("{s:s, s:s, s:s, s:b}", "op", "save",
                                        "guest", argv[optind], "path", abs,
                                        "keep", keep));
}

/* xmig restore --xen FILE: into a domain libxl builds from the file's
 * config (or, with --domid, into a paused one created beforehand), which
 * runs once everything is in and checked; on any failure it is destroyed. */
static int restore_xen(const char *path, uint32_t domid, const char *name)
{
    struct xmig_xen_target target = { domid, name };
    struct xmig_receive_params rp = { 0, 0, xmig_xen_guest_incoming,
                                      &target };
    struct xmig_migrate_stats st;
    struct xmig_transport *t;
    struct xmig_guest *g;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        fprintf(stderr, "xmig restore: cannot open %s: %s\n", path,
                strerror(errno));
        return EXIT_USAGE;
    }
    t = xmig_transport_fd(fd, 1);
    g = t ? xmig_guest_restore(t, &rp, &st) : NULL;
    xmig_transport_free(t);
    if (!g) {
        fprintf(stderr, "xmig restore: %s: %s; nothing was kept\n", path,
                xmig_error_message());
        return EXIT_INVALID;
    }
    printf("xmig restore: %s runs as domain %u: %.1f MiB, %llu pages, in "
           "%.3f s\n", st.guest_name[0] ? st.guest_name : "the guest",
           xmig_xen_guest_domid(g), (double)st.bytes / 1048576.0,
           (unsigned long long)st.pages_sent, st.total_s);
    xmig_guest_destroy(g);
    return 0;
}

int restore_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "control", required_argument, NULL, 'c' },
        { "name", required_argument, NULL, 'n' },
        { "here", no_argument, NULL, 'H' },
        { "run", required_argument, NULL, 'r' },
        { "xen", no_argument, NULL, 'x' },
        { "domid", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *control = NULL, *name = NULL;
    char abs[PATH_MAX];
    double run = 1.0;
    unsigned long domid = 0;
    int opt, here = 0, xen = 0;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            control = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'H':
            here = 1;
            break;
        case 'r':
            if (cli_seconds("restore", "run", optarg, 86400, &run) < 0) {
                return EXIT_USAGE;
            }
            break;
        case 'x':
            xen = 1;
            break;
        case 'd': {
            uint64_t v;
            if (cli_uint("restore", "domid", optarg, 1, 32751, "", &v) < 0) {
                return EXIT_USAGE;
            }
            domid = (unsigned long)v;
            break;
        }
        case 'h':
        default:
            fprintf(opt == 'h' ? stdout : stderr,
                    "usage: xmig restore [--control PATH] [--name NAME] FILE\n"
                    "       xmig restore --here [--run SECONDS] FILE\n"
                    "       xmig restore --xen [--domid ID | --name NAME] "
                    "FILE\n");
            return opt == 'h' ? 0 : EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: xmig restore [--here] [--name NAME] FILE\n");
        return EXIT_USAGE;
    }
    if (xen) {
        return restore_xen(argv[optind], (uint32_t)domid, name);
    }
    if (here) {
        struct xmig_receive_params rp = { 0, 0, xmig_sim_guest_factory,
                                          NULL };
        struct xmig_migrate_stats st;
        struct xmig_transport *t;
        struct xmig_guest *g;
        int fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
        uint64_t before;
        struct timespec ts = { (time_t)run,
                               (long)((run - (double)(time_t)run) * 1e9) };
        if (fd < 0) {
            fprintf(stderr, "xmig restore: cannot open %s: %s\n",
                    argv[optind], strerror(errno));
            return EXIT_USAGE;
        }
        t = xmig_transport_fd(fd, 1);
        g = t ? xmig_guest_restore(t, &rp, &st) : NULL;
        xmig_transport_free(t);
        if (!g) {
            fprintf(stderr, "xmig restore: %s: %s; nothing was kept\n",
                    argv[optind], xmig_error_message());
            return EXIT_INVALID;
        }
        before = xmig_sim_heartbeat(g);
        nanosleep(&ts, NULL);
        printf("xmig restore: %s runs: heartbeat %llu -> %llu\n",
               st.guest_name[0] ? st.guest_name : "the guest",
               (unsigned long long)before,
               (unsigned long long)xmig_sim_heartbeat(g));
        xmig_guest_destroy(g);
        return 0;
    }
    if (!realpath(argv[optind], abs)) {
        fprintf(stderr, "xmig restore: %s: %s\n", argv[optind],
                strerror(errno));
        return EXIT_USAGE;
    }
    return ctl_simple_request("restore", control,
                              name ? json_pack("{s:s, s:s, s:s}", "op",
                                               "restore", "path", abs,
                                               "name", name)
                                   : json_pack("{s:s, s:s}", "op", "restore",
                                               "path", abs));
}
