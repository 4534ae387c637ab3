/*
 * xmig migrate: live-migrate a guest to a receiver over TLS.
 * xmig migrate-receive: receive one guest (from a socket it listens on, or
 * over stdin/stdout as xl's migrate-receive does) and run it.
 *
 * DOM "sim" means: start a simulated guest here (--sim-* options), let it
 * run for --warmup seconds, and move it; "xen:NAME" a domain of this Xen
 * host, moved from here; anything else a guest of the local xmigd.
 * --exec CMD sends the stream to a command instead of over TLS (xl's
 * protocol on its stdin and stdout: "xl migrate-receive", or over ssh).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xmigd/cli.h"
#include "xmigd/ctl_json.h"
#include "xmigd/hostport.h"
#include "xmigd/tls_opts.h"

struct report {
    int tty, json, printed;
    const char *guest;
};

/* SIGINT, SIGTERM, SIGHUP: cancel the migration (the guest runs on here,
 * unless the go-ahead went out). */
static struct xmig_cancel *sig_cancel;

static void on_stop_signal(int sig)
{
    (void)sig;
    xmig_cancel_raise(sig_cancel);
}

static void catch_stop_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static void progress(void *user, const struct xmig_iteration_stats *r)
{
    struct report *rep = user;

    if (rep->json) {
        return;
    }
    progress_print(rep->tty, rep->guest, r);
    rep->printed = 1;
}

static void print_report(const char *who, const struct xmig_migrate_stats *st,
                         int json)
{
    char buf[32768];

    if (json) {
        if (xmig_migrate_stats_json(st, buf, sizeof(buf)) == 0) {
            printf("%s\n", buf);
        }
        if (xmig_migrate_stats_warning(st, buf, sizeof(buf))) {
            fprintf(stderr, "%s: warning: %s\n", who, buf);
        }
        return;
    }
    printf("%s: %u rounds, %.3f s in all, downtime %.1f ms (stop %.1f, "
           "last pages and state %.1f, destination %.1f), %.1f MiB at "
           "%.0f MiB/s, %llu pages (%llu zero), TLS %s, %s%s%s\n",
           who, st->iterations, st->total_s, st->downtime_ms, st->stop_ms,
           st->final_ms, st->handover_ms,
           (double)st->bytes / 1048576.0,
           st->total_s > 0 ? (double)st->bytes / 1048576.0 / st->total_s : 0,
           (unsigned long long)st->pages_sent,
           (unsigned long long)st->zero_pages, st->tls_mode,
           st->verified ? "verified" : "not verified",
           st->stop_reason[0] ? ", pre-copy stopped: " : "",
           st->stop_reason);
    if (xmig_migrate_stats_warning(st, buf, sizeof(buf))) {
        fprintf(stderr, "%s: warning: %s\n", who, buf);
    }
}

static void migrate_help(FILE *out)
{
    fprintf(out,
            "usage: xmig migrate [options] DOM HOST:PORT\n"
            "       xmig migrate [options] --exec CMD DOM\n"
            "  DOM: a guest of the local xmigd (--control PATH), 'sim':\n"
            "       start a simulated guest in this process and move it, or\n"
            "       xen:NAME: a domain of this Xen host, moved from here\n"
            "  --exec CMD           the stream on CMD's stdin, its replies on\n"
            "                       its stdout (sh -c CMD; e.g. \"xl "
            "migrate-receive\")\n"
            "  --downtime MS        downtime target (default 300)\n"
            "  --bandwidth MIB/S    cap the stream's bandwidth\n"
            "  --max-iters N        pause after N rounds (default 30)\n"
            "  --auto-converge      throttle the guest when rounds stall "
            "(default)\n"
            "  --no-auto-converge   never throttle the guest\n"
            "  --transparent        carry PV state (event channels, grants,"
            " xenstore)\n"
            "  --verify             re-send all memory for checking (VERIFY)\n"
            "  --handover-timeout S after the go-ahead, wait S seconds for "
            "the\n"
            "                       destination's result (default 30)\n"
            "  --handover-expiry keep-paused|resume   then: keep the guest "
            "paused\n"
            "                       here (default) or resume it here\n"
            "  --json               print the statistics as JSON\n"
            "  --sim-memory MIB --sim-vcpus N --sim-workload idle|mixed|stress"
            "\n  --sim-rate PAGES/S --sim-domid D --sim-fill PERCENT (default 50)"
            "\n  --warmup SECONDS     let the sim guest run first (default 1)"
            "\n  --control PATH       xmigd's control socket (else "
            "$XMIG_CONTROL)\n" TIME_OPTIONS_HELP
            "  With a daemon's guest, --handshake-timeout and "
            "--handover-expiry are\n  the daemon's (xmigd.conf).\n"
            "Progress goes to stderr at least once a second: one line, "
            "rewritten, on a terminal.\n" TLS_OPTIONS_HELP);
}

static int exec_wait(pid_t pid, const char *cmd);

#define MIB_MAX (UINT64_C(1) << 22)   /* 4 TiB */

/* An option's whole-number value into dst, or bad set (the error said). */
#define NUM_OF(cmd, opt, min, max, unit, dst)                               \
    do {                                                                    \
        uint64_t v_;                                                        \
        if (cli_uint(cmd, opt, optarg, min, max, unit, &v_) < 0) {          \
            bad = 1;                                                        \
        } else {                                                            \
            dst = v_;                                                       \
        }                                                                   \
    } while (0)
#define NUM(opt, min, max, unit, dst) NUM_OF("migrate", opt, min, max, unit, dst)

/* sh -c CMD with its stdin and stdout as the migration channel. */
static struct xmig_transport *exec_transport(const char *cmd, pid_t *pid)
{
    int to[2] = { -1, -1 }, from[2] = { -1, -1 };
    struct xmig_transport *t;

    if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0) {
        fprintf(stderr, "xmig migrate: --exec: %s\n", strerror(errno));
        goto fail;
    }
    *pid = fork();
    if (*pid < 0) {
        fprintf(stderr, "xmig migrate: --exec: fork: %s\n", strerror(errno));
        goto fail;
    }
    if (*pid == 0) {
        if (dup2(to[0], STDIN_FILENO) < 0 || dup2(from[1], STDOUT_FILENO) < 0) {
            _exit(127);
        }
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    signal(SIGPIPE, SIG_IGN);   /* a dead command is an EPIPE, reported */
    t = xmig_transport_fds(from[0], to[1], 1);
    if (!t) {
        fprintf(stderr, "xmig migrate: %s\n", xmig_error_message());
        close(from[0]);
        close(to[1]);   /* the command sees EOF and ends */
        (void)exec_wait(*pid, cmd);
    }
    return t;
fail:
    for (int i = 0; i < 2; i++) {
        if (to[i] >= 0) {
            close(to[i]);
        }
        if (from[i] >= 0) {
            close(from[i]);
        }
    }
    return NULL;
}

/* The command's end: its exit status, said when it is not 0. */
static int exec_wait(pid_t pid, const char *cmd)
{
    int status = 0;
    pid_t got;

    while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    if (got < 0) {
        fprintf(stderr, "xmig migrate: '%s': %s\n", cmd, strerror(errno));
        return -1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return 0;
    }
    fprintf(stderr, "xmig migrate: '%s' %s %d\n", cmd,
            WIFEXITED(status) ? "exited with status" : "died of signal",
            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return -1;
}

static struct xmig_guest *start_sim(const struct xmig_sim_config *c,
                                    double warmup)
{
    struct xmig_guest *g = xmig_sim_guest_create(c);
    struct timespec ts = { (time_t)warmup,
                           (long)((warmup - (double)(time_t)warmup) * 1e9) };

    if (!g) {
        fprintf(stderr, "xmig migrate: %s\n", xmig_error_message());
        return NULL;
    }
    nanosleep(&ts, NULL);
    return g;
}

int migrate_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "downtime", required_argument, NULL, 'd' },
        { "bandwidth", required_argument, NULL, 'b' },
        { "max-iters", required_argument, NULL, 'm' },
        { "no-auto-converge", no_argument, NULL, 'A' },
        { "auto-converge", no_argument, NULL, 'a' },
        { "transparent", no_argument, NULL, 't' },
        { "verify", no_argument, NULL, 'v' },
        { "json", no_argument, NULL, 'j' },
        { "sim-memory", required_argument, NULL, 'M' },
        { "sim-vcpus", required_argument, NULL, 'V' },
        { "sim-workload", required_argument, NULL, 'W' },
        { "sim-rate", required_argument, NULL, 'R' },
        { "sim-domid", required_argument, NULL, 'D' },
        { "sim-fill", required_argument, NULL, 'F' },
        { "warmup", required_argument, NULL, 'w' },
        { "control", required_argument, NULL, 'c' },
        { "exec", required_argument, NULL, 'e' },
        { "help", no_argument, NULL, 'h' },
        { "handover-timeout", required_argument, NULL, 'H' },
        { "handover-expiry", required_argument, NULL, 'X' },
        TLS_LONG_OPTIONS,
        TIME_LONG_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *control = NULL, *tls_mode = NULL, *exec_cmd = NULL;
    uint32_t hs_ms = 30000, io_ms = 60000;
    int io_given = 0, handover_given = 0;
    pid_t child = -1;
    int xen;
    int name_given = 0;
    struct xmig_sim_config sc = { 512ull << 20, 2, XMIG_SIM_MIXED, 0, 11, 1,
                                  50 };
    struct xmig_migrate_params p;
    struct xmig_migrate_stats st;
    struct xmig_tls_config *tls = xmig_tls_config_create();
    struct report rep = { isatty(STDERR_FILENO), 0, 0, NULL };
    const char *cert = NULL, *key = NULL;
    struct xmig_transport *t;
    struct xmig_guest *g;
    double warmup = 1.0;
    int opt, s, rc, bad = 0;

    xmig_migrate_params_init(&p);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = tls_opt(tls, opt, optarg, &cert, &key);
        if (r < 0) {
            fprintf(stderr, "xmig migrate: %s\n", xmig_error_message());
            xmig_tls_config_free(tls);
            return EXIT_USAGE;
        }
        if (!r) {
            r = time_opt(tls, opt, optarg, &hs_ms, &io_ms);
            if (r < 0) {
                xmig_tls_config_free(tls);
                return EXIT_USAGE;
            }
            io_given |= opt == 0x1100;
        }
        if (opt == 0x1000) {
            tls_mode = optarg;
        }
        name_given |= opt == 0x1005;
        if (r) {
            continue;
        }
        switch (opt) {
        case 'd':
            NUM("downtime", 1, 3600000, "milliseconds", p.downtime_ms);
            break;
        case 'b':
            NUM("bandwidth", 0, MIB_MAX, "MiB/s", p.bandwidth);
            p.bandwidth <<= 20;
            break;
        case 'm':
            NUM("max-iters", 1, 1000, "rounds", p.max_iters);
            break;
        case 'A':
            p.auto_converge = 0;
            break;
        case 'a':
            p.auto_converge = 1;
            break;
        case 't':
            p.transparent = 1;
            break;
        case 'v':
            p.verify = 1;
            break;
        case 'j':
            rep.json = 1;
            break;
        case 'M':
            NUM("sim-memory", 1, MIB_MAX, "MiB", sc.memory_bytes);
            sc.memory_bytes <<= 20;
            break;
        case 'V':
            NUM("sim-vcpus", 1, 64, "vCPUs", sc.vcpus);
            break;
        case 'W':
            if (xmig_sim_workload_parse(optarg, &sc.workload) < 0) {
                fprintf(stderr, "xmig migrate: %s\n", xmig_error_message());
                bad = 1;
            }
            break;
        case 'R':
            NUM("sim-rate", 0, 0xffffffffu, "pages/s", sc.dirty_rate);
            break;
        case 'D':
            NUM("sim-domid", 1, 32751, "", sc.domid);
            break;
        case 'w':
            bad |= cli_seconds("migrate", "warmup", optarg, 3600, &warmup) < 0;
            break;
        case 'F':
            NUM("sim-fill", 0, 100, "percent", sc.fill_percent);
            break;
        case 'c':
            control = optarg;
            break;
        case 'e':
            exec_cmd = optarg;
            break;
        case 'H':
            if (parse_seconds(optarg, &p.handover_timeout_ms) < 0) {
                fprintf(stderr, "xmig migrate: --handover-timeout takes a "
                        "number of seconds above 0, at most 86400 (digits, "
                        "a '.' before a fraction), not '%s'\n", optarg);
                xmig_tls_config_free(tls);
                return EXIT_USAGE;
            }
            handover_given = 1;
            break;
        case 'X':
            if (strcmp(optarg, "keep-paused") == 0) {
                p.handover_expiry = XMIG_HANDOVER_KEEP_PAUSED;
            } else if (strcmp(optarg, "resume") == 0) {
                p.handover_expiry = XMIG_HANDOVER_RESUME;
            } else {
                fprintf(stderr, "xmig migrate: --handover-expiry is "
                        "keep-paused or resume\n");
                xmig_tls_config_free(tls);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            xmig_tls_config_free(tls);
            migrate_help(stdout);
            return 0;
        default:
            xmig_tls_config_free(tls);
            migrate_help(stderr);
            return EXIT_USAGE;
        }
    }
    if (bad) {
        xmig_tls_config_free(tls);
        return EXIT_USAGE;
    }
    if (optind != argc - (exec_cmd ? 1 : 2)) {
        fprintf(stderr, "xmig migrate: %s (xmig migrate --help)\n",
                optind == argc ? "which guest, and where to?"
                : exec_cmd    ? "one guest, and no HOST:PORT with --exec"
                : optind == argc - 1 ? "where to? give HOST:PORT"
                                     : "too many arguments");
        xmig_tls_config_free(tls);
        return EXIT_USAGE;
    }
    if (!exec_cmd) {
        /* Checked before a guest starts or xmigd is asked; xmigd checks
         * it again (ctl_requests.c). */
        struct hostport hp;
        char why[400];
        if (hostport_parse(argv[optind + 1], 0, &hp, why, sizeof(why)) < 0) {
            fprintf(stderr, "xmig migrate: %s\n", why);
            xmig_tls_config_free(tls);
            return EXIT_USAGE;
        }
    }
    xen = strncmp(argv[optind], "xen:", 4) == 0;
    if (exec_cmd && !xen && strcmp(argv[optind], "sim") != 0) {
        fprintf(stderr, "xmig migrate: --exec: only for 'sim' and xen: "
                "guests (xmigd migrates its own over TLS)\n");
        xmig_tls_config_free(tls);
        return EXIT_USAGE;
    }
    if (!xen && strcmp(argv[optind], "sim") != 0) {
        /* A guest xmigd keeps: the daemon migrates it, with its own TLS
         * identity; we ask and follow. */
        json_t *params = json_pack(
            "{s:I, s:I, s:I, s:b, s:b, s:b}", "downtime_ms",
            (json_int_t)p.downtime_ms, "bandwidth_mib",
            (json_int_t)(p.bandwidth >> 20), "max_iters",
            (json_int_t)p.max_iters, "auto_converge", p.auto_converge,
            "transparent", p.transparent, "verify", p.verify);
        if (params && tls_mode) {
            json_object_set_new(params, "tls", json_string(tls_mode));
        }
        if (params && io_given) {
            json_object_set_new(params, "timeout_s", json_real(io_ms / 1e3));
        }
        if (params && handover_given) {
            json_object_set_new(params, "handover_timeout_s",
                                json_real(p.handover_timeout_ms / 1e3));
        }
        xmig_tls_config_free(tls);
        return migrate_via_daemon(control, argv[optind], argv[optind + 1],
                                  params, rep.json);
    }
    if (cert && xmig_tls_config_set_identity(tls, cert, key) < 0) {
        fprintf(stderr, "xmig migrate: %s\n", xmig_error_message());
        xmig_tls_config_free(tls);
        return EXIT_USAGE;
    }
    if (!name_given && !exec_cmd) {
        /* The receiver's certificate must name the host we connect to. */
        if (tls_opt_name_from_host("migrate", tls, argv[optind + 1]) < 0) {
            xmig_tls_config_free(tls);
            return EXIT_USAGE;
        }
    }
    p.initial_downtime_ms = p.downtime_ms < 30 ? p.downtime_ms : 30;
    p.progress = progress;
    p.user_data = &rep;
    p.io_timeout_ms = io_ms;
    sig_cancel = xmig_cancel_create();
    if (!sig_cancel) {
        fprintf(stderr, "xmig migrate: %s\n", xmig_error_message());
        xmig_tls_config_free(tls);
        return EXIT_INVALID;
    }
    p.cancel = sig_cancel;
    xmig_tls_config_set_cancel(tls, sig_cancel);
    catch_stop_signals();
    rep.guest = argv[optind];
    if (xen) {
        uint32_t domid;
        g = xmig_xen_domain_lookup(argv[optind] + 4, &domid) < 0
                ? NULL
                : xmig_xen_guest_open(domid);   /* live HVM: not yet */
        if (!g) {
            fprintf(stderr, "xmig migrate: %s: %s\n", argv[optind],
                    xmig_error_message());
        }
    } else {
        g = start_sim(&sc, warmup);
    }
    if (!g) {
        xmig_tls_config_free(tls);
        return EXIT_INVALID;
    }
    if (exec_cmd) {
        t = exec_transport(exec_cmd, &child);
    } else {
        char why[400];
        s = net_connect_limited(argv[optind + 1], hs_ms, sig_cancel, why,
                                sizeof(why));
        if (s < 0) {
            fprintf(stderr, "xmig migrate: %s\n", why);
        }
        t = s < 0 ? NULL : xmig_transport_tls_client(s, tls);
        if (!t && s >= 0) {
            fprintf(stderr, "xmig migrate: %s\n", xmig_error_message());
        }
    }
    if (!t) {
        fprintf(stderr, "xmig migrate: the guest was not moved\n");
        xmig_guest_destroy(g);
        xmig_tls_config_free(tls);
        return EXIT_INVALID;
    }
    rc = xmig_migrate_send(g, t, &p, &st);
    if (rep.tty && rep.printed) {
        fprintf(stderr, "\n");   /* the progress line stays */
    }
    if (rc < 0) {
        fprintf(stderr, "xmig migrate: %s\n", xmig_error_message());
    } else {
        print_report("xmig migrate", &st, rep.json);
    }
    xmig_transport_free(t);
    xmig_tls_config_free(tls);
    if (child > 0 && exec_wait(child, exec_cmd) < 0 && rc == 0) {
        fprintf(stderr, "xmig migrate: the guest was handed over all the "
                "same (the command said so before it failed)\n");
    }
    /* A domain that moved is left suspended here: it goes, as after
     * xl migrate.  One that did not runs on. */
    if (xen && rc == 0 && xmig_xen_guest_destroy_domain(g) < 0) {
        fprintf(stderr, "xmig migrate: the guest moved, but its old domain "
                "here was not destroyed: %s\n", xmig_error_message());
        rc = -1;
    } else if (!xen || rc < 0) {
        xmig_guest_destroy(g);
    }
    return rc < 0 ? EXIT_INVALID : 0;
}

static void receive_help(FILE *out)
{
    fprintf(out,
            "usage: xmig migrate-receive [options]\n"
            "  --listen HOST:PORT   accept one migration there (else: the\n"
            "                       stream on stdin, replies on stdout, as\n"
            "                       xl migrate-receive)\n"
            "  --port-file FILE     write the port (for --listen HOST:0)\n"
            "  --run SECONDS        keep the guest running, then stop "
            "(default 2)\n"
            "  --max-memory MIB     refuse larger guests\n"
            "  --json               print the statistics as JSON\n"
            "  --xen                into a domain of this Xen host (libxl "
            "builds it\n"
            "                       from the stream's config; it runs on "
            "after)\n" TIME_OPTIONS_HELP TLS_OPTIONS_HELP);
}

static int write_port(const char *file, int port)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", file);
    f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
        rename(tmp, file) != 0) {
        fprintf(stderr, "xmig migrate-receive: %s: %s\n", file,
                strerror(errno));
        return -1;
    }
    return 0;
}

static struct xmig_transport *accept_one(const char *listen,
                                         const char *port_file,
                                         struct xmig_tls_config *tls)
{
    int port, l = net_listen("migrate-receive", listen, &port), s;
    struct xmig_transport *t;

    if (l < 0 || (port_file && write_port(port_file, port) < 0)) {
        return NULL;
    }
    s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    close(l);
    if (s < 0) {
        fprintf(stderr, "xmig migrate-receive: accept: %s\n", strerror(errno));
        return NULL;
    }
    t = xmig_transport_tls_server(s, tls);
    if (!t) {
        fprintf(stderr, "xmig migrate-receive: %s\n", xmig_error_message());
    }
    return t;
}

int migrate_receive_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "port-file", required_argument, NULL, 'P' },
        { "run", required_argument, NULL, 'r' },
        { "max-memory", required_argument, NULL, 'M' },
        { "json", no_argument, NULL, 'j' },
        { "xen", no_argument, NULL, 'x' },
        { "help", no_argument, NULL, 'h' },
        TLS_LONG_OPTIONS,
        TIME_LONG_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    uint32_t hs_ms = 30000, io_ms = 60000;
    struct xmig_tls_config *tls = xmig_tls_config_create();
    struct xmig_xen_target target = { 0, NULL };
    struct xmig_receive_params rp = { 0, 0, NULL, &target };
    struct xmig_migrate_stats st;
    const char *cert = NULL, *key = NULL, *listen = NULL, *port_file = NULL;
    struct xmig_transport *t;
    struct xmig_guest *g;
    double run = 2.0;
    int opt, json = 0, bad = 0;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = tls_opt(tls, opt, optarg, &cert, &key);
        if (r < 0) {
            fprintf(stderr, "xmig migrate-receive: %s\n",
                    xmig_error_message());
            xmig_tls_config_free(tls);
            return EXIT_USAGE;
        }
        if (!r && (r = time_opt(tls, opt, optarg, &hs_ms, &io_ms)) < 0) {
            xmig_tls_config_free(tls);
            return EXIT_USAGE;
        }
        if (r) {
            continue;
        }
        switch (opt) {
        case 'l':
            listen = optarg;
            break;
        case 'P':
            port_file = optarg;
            break;
        case 'r':
            bad |= cli_seconds("migrate-receive", "run", optarg, 86400,
                               &run) < 0;
            break;
        case 'M':
            NUM_OF("migrate-receive", "max-memory", 1, MIB_MAX, "MiB",
                   rp.max_memory);
            rp.max_memory <<= 20;
            break;
        case 'j':
            json = 1;
            break;
        case 'x':
            rp.factory = xmig_xen_guest_incoming;
            break;
        case 'h':
            xmig_tls_config_free(tls);
            receive_help(stdout);
            return 0;
        default:
            xmig_tls_config_free(tls);
            receive_help(stderr);
            return EXIT_USAGE;
        }
    }
    if (bad) {
        xmig_tls_config_free(tls);
        return EXIT_USAGE;
    }
    if (optind != argc) {
        fprintf(stderr, "xmig migrate-receive: takes no arguments, only "
                "options (xmig migrate-receive --help)\n");
        xmig_tls_config_free(tls);
        return EXIT_USAGE;
    }
    if (listen) {
        struct hostport hp;
        char why[400];
        if (hostport_parse(listen, 1, &hp, why, sizeof(why)) < 0) {
            fprintf(stderr, "xmig migrate-receive: %s\n", why);
            xmig_tls_config_free(tls);
            return EXIT_USAGE;
        }
    }
    if (cert && xmig_tls_config_set_identity(tls, cert, key) < 0) {
        fprintf(stderr, "xmig migrate-receive: %s\n", xmig_error_message());
        xmig_tls_config_free(tls);
        return EXIT_USAGE;
    }
    t = listen ? accept_one(listen, port_file, tls)
               : xmig_transport_fds(STDIN_FILENO, STDOUT_FILENO, 0);
    if (!t) {
        xmig_tls_config_free(tls);
        return EXIT_INVALID;
    }
    if (!rp.factory) {
        rp.factory = xmig_sim_guest_factory;
        rp.factory_data = NULL;
    }
    xmig_transport_set_timeout(t, io_ms);
    g = xmig_migrate_receive(t, &rp, &st);
    xmig_transport_free(t);
    xmig_tls_config_free(tls);
    if (!g) {
        fprintf(stderr, "xmig migrate-receive: %s; nothing was kept\n",
                xmig_error_message());
        return EXIT_INVALID;
    }
    if (rp.factory == xmig_xen_guest_incoming) {
        /* Built as NAME--incoming beside the source; the source gave NAME
         * up at the go-ahead.  (stdout may be the sender's channel.) */
        uint32_t domid = xmig_xen_guest_domid(g);
        xmig_guest_destroy(g);
        if (st.guest_name[0] && xmig_xen_domain_rename(domid, st.guest_name) < 0) {
            fprintf(stderr, "xmig migrate-receive: domain %u runs, under its "
                    "temporary name: %s\n", domid, xmig_error_message());
        }
        fprintf(stderr, "xmig migrate-receive: %s runs as domain %u: "
                "received %.1f MiB in %.3f s, TLS %s\n",
                st.guest_name[0] ? st.guest_name : "the guest", domid,
                (double)st.bytes / 1048576.0, st.total_s, st.tls_mode);
        return 0;
    }
    {
        uint64_t before = xmig_sim_heartbeat(g), after;
        struct timespec ts = { (time_t)run,
                               (long)((run - (double)(time_t)run) * 1e9) };
        nanosleep(&ts, NULL);
        after = xmig_sim_heartbeat(g);
        if (json) {
            print_report("xmig migrate-receive", &st, 1);
        } else {
            printf("xmig migrate-receive: received %.1f MiB in %.3f s, %llu "
                   "pages (%llu zero), TLS %s, %s\n",
                   (double)st.bytes / 1048576.0, st.total_s,
                   (unsigned long long)st.pages_sent,
                   (unsigned long long)st.zero_pages, st.tls_mode,
                   st.verified ? "RAM and state digest verified"
                               : "not verified");
        }
        if (!json) {
            printf("xmig migrate-receive: the guest runs here: heartbeat "
                   "%llu -> %llu in %.1f s\n",
                   (unsigned long long)before, (unsigned long long)after,
                   run);
        }
        xmig_guest_destroy(g);
        return after > before || run <= 0 ? 0 : EXIT_INVALID;
    }
}
