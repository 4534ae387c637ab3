/*
 * xmig commands that talk to the local xmigd over its control socket:
 * create, list, status, cancel, destroy, and migrate of a daemon's guest.
 * The socket: --control PATH, else $XMIG_CONTROL, else
 * /run/xmig/xmigd.sock.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "xmigd/cli.h"
#include "xmigd/ctl_json.h"

#define REPLY_MAX (256u << 10)

static const char *control_path(const char *opt)
{
    const char *env = getenv("XMIG_CONTROL");

    return opt ? opt : env && env[0] ? env : "/run/xmig/xmigd.sock";
}

/* One request line, one reply line: the reply parsed (the caller's to
 * free), or NULL with the reason printed.  req is consumed. */
static json_t *request(const char *cmd, const char *path, json_t *req)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    char *line = req ? cj_dump(req) : NULL;
    char *reply = malloc(REPLY_MAX + 1);
    char err[300];
    size_t have = 0, len;
    json_t *o = NULL;
    int s = -1;

    json_decref(req);
    if (!line || !reply) {
        fprintf(stderr, "xmig %s: out of memory\n", cmd);
        goto out;
    }
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
        fprintf(stderr, "xmig %s: cannot reach xmigd at %s: %s (is it "
                        "running? --control PATH or XMIG_CONTROL name "
                        "another socket)\n",
                cmd, path, strerror(errno));
        goto out;
    }
    len = strlen(line);
    line[len] = '\n';   /* cj_dump's NUL becomes the request's end */
    /* A signal (the ^C that asks for a cancel) must not cut a request or
     * its reply short: EINTR is retried. */
    for (size_t done = 0; done < len + 1;) {
        ssize_t n = write(s, line + done, len + 1 - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fprintf(stderr, "xmig %s: writing to xmigd: %s\n", cmd,
                    strerror(errno));
            goto out;
        }
        done += (size_t)n;
    }
    while (have < REPLY_MAX) {
        ssize_t n = read(s, reply + have, REPLY_MAX - have);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        have += (size_t)n;
        if (memchr(reply + have - n, '\n', (size_t)n)) {
            break;
        }
    }
    if (have == 0) {
        fprintf(stderr, "xmig %s: xmigd closed the connection\n", cmd);
        goto out;
    }
    reply[have] = '\0';
    o = cj_parse(reply, strcspn(reply, "\n"), err, sizeof(err));
    if (!o) {
        fprintf(stderr, "xmig %s: bad reply from xmigd: %s\n", cmd, err);
    }
out:
    if (s >= 0) {
        close(s);
    }
    free(line);
    free(reply);
    return o;
}

/* Ask; the reply when it says ok, else NULL with its error printed. */
static json_t *ask(const char *cmd, const char *control, json_t *req)
{
    json_t *o = request(cmd, control_path(control), req);
    json_t *okv = json_object_get(o, "ok");

    if (o && !json_is_true(okv)) {
        fprintf(stderr, "xmig %s: %s\n", cmd,
                cj_str(o, "error") ? cj_str(o, "error") : "failed");
        json_decref(o);
        return NULL;
    }
    return o;
}

static void print_json(json_t *o)
{
    char *s = cj_dump(o);

    if (s) {
        printf("%s\n", s);
    }
    free(s);
}

/* A string member for printing: "-" when absent. */
static const char *str_or(json_t *o, const char *key)
{
    return cj_str(o, key) ? cj_str(o, key) : "-";
}

struct common {
    const char *control;
    int json;
};

static int common_opt(struct common *c, int opt, const char *arg)
{
    if (opt == 'c') {
        c->control = arg;
        return 1;
    }
    if (opt == 'j') {
        c->json = 1;
        return 1;
    }
    return 0;
}

#define COMMON_OPTIONS                                                       \
    { "control", required_argument, NULL, 'c' },                             \
        { "json", no_argument, NULL, 'j' },                                  \
        { "help", no_argument, NULL, 'h' }

/* usage on stdout (asked for, exit 0) or stderr (a mistake, exit 2). */
static int usage_of(int asked, const char *text)
{
    fputs(text, asked ? stdout : stderr);
    return asked ? 0 : EXIT_USAGE;
}

#define LIST_USAGE                                                           \
    "usage: xmig list [--json] [--control PATH]\n"                           \
    "  the guests xmigd keeps: name, state, memory, origin, domain id (a\n"  \
    "  domain of this Xen host) or heartbeat (a sim guest)\n"
#define CREATE_USAGE                                                         \
    "usage: xmig create [--memory MIB] [--vcpus N] "                         \
    "[--workload idle|mixed|stress]\n"                                       \
    "                   [--rate PAGES/S] [--fill PERCENT] [--domid D] "       \
    "[--control PATH] NAME\n"                                                \
    "  start a sim guest NAME in xmigd (default 512 MiB, 2 vCPUs, mixed,\n"  \
    "  50% filled, domid 11)\n"
#define STATUS_USAGE                                                         \
    "usage: xmig status [--json] [--control PATH] [ID]\n"                    \
    "  xmigd's migrations with live progress; with ID, its job statistics\n"


static void print_guest(json_t *o)
{
    char domid[16] = "-", beat[24] = "-";

    /* A domain of this Xen host has a domid; a sim guest a heartbeat. */
    if (json_object_get(o, "domid")) {
        snprintf(domid, sizeof(domid), "%.0f", cj_num(o, "domid", 0));
    }
    if (json_object_get(o, "heartbeat")) {
        snprintf(beat, sizeof(beat), "%.0f", cj_num(o, "heartbeat", 0));
    }
    printf("%-20s %-10s %8.0f MiB  %-9s %6s %12s\n", str_or(o, "name"),
           str_or(o, "state"), cj_num(o, "memory_mib", 0), str_or(o, "origin"),
           domid, beat);
}

int list_main(int argc, char **argv)
{
    static const struct option opts[] = { COMMON_OPTIONS,
                                          { NULL, 0, NULL, 0 } };
    struct common c = { NULL, 0 };
    json_t *o, *g;
    size_t i;
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (!common_opt(&c, opt, optarg)) {
            return usage_of(opt == 'h', LIST_USAGE);
        }
    }
    if (optind != argc) {
        fprintf(stderr, "xmig list: takes no arguments (xmig list --help)\n");
        return EXIT_USAGE;
    }
    o = ask("list", c.control, json_pack("{s:s}", "op", "list"));
    if (!o) {
        return EXIT_INVALID;
    }
    if (c.json) {
        print_json(o);
    } else {
        printf("%-20s %-10s %12s  %-9s %6s %12s\n", "NAME", "STATE",
               "MEMORY", "ORIGIN", "DOMID", "HEARTBEAT");
        json_array_foreach(json_object_get(o, "guests"), i, g) {
            print_guest(g);
        }
    }
    json_decref(o);
    return 0;
}

/* A whole number option in [min, max], or -1 with the reason printed. */
static int number_opt(const char *cmd, const char *opt, const char *arg,
                      unsigned long min, unsigned long max, const char *unit,
                      unsigned long *out)
{
    uint64_t v;

    if (cli_uint(cmd, opt, arg, min, max, unit, &v) < 0) {
        return -1;
    }
    *out = (unsigned long)v;
    return 0;
}

/* A migration's number (an argument: named as what it is). */
static int migration_id(const char *cmd, const char *arg, unsigned long *out)
{
    char *end;

    errno = 0;
    *out = strtoul(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-' || *out > 0x7fffffff) {
        fprintf(stderr, "xmig %s: '%s' is not a migration number (xmig "
                        "status lists them)\n", cmd, arg);
        return -1;
    }
    return 0;
}

int create_main(int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_OPTIONS,
        { "memory", required_argument, NULL, 'm' },
        { "vcpus", required_argument, NULL, 'v' },
        { "workload", required_argument, NULL, 'w' },
        { "rate", required_argument, NULL, 'r' },
        { "fill", required_argument, NULL, 'f' },
        { "domid", required_argument, NULL, 'd' },
        { NULL, 0, NULL, 0 },
    };
    struct common c = { NULL, 0 };
    unsigned long mem = 512, vcpus = 2, rate = 0, fill = 50, domid = 11;
    const char *wl = "mixed";
    json_t *o;
    int opt, rc = 0;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (common_opt(&c, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'h':
            return usage_of(1, CREATE_USAGE);
        case 'm':
            rc |= number_opt("create", "memory", optarg, 1, 1ul << 22, "MiB",
                             &mem);
            break;
        case 'v':
            rc |= number_opt("create", "vcpus", optarg, 1, 128, "vCPUs",
                             &vcpus);
            break;
        case 'w':
            wl = optarg;
            break;
        case 'r':
            rc |= number_opt("create", "rate", optarg, 0, 0xffffffffUL,
                             "pages/s", &rate);
            break;
        case 'f':
            rc |= number_opt("create", "fill", optarg, 0, 100, "percent",
                             &fill);
            break;
        case 'd':
            rc |= number_opt("create", "domid", optarg, 1, 0x7fef, "",
                             &domid);
            break;
        default:
            goto usage;
        }
    }
    if (rc) {
        return EXIT_USAGE;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "xmig create: %s (xmig create --help)\n",
                optind == argc ? "give the new guest a NAME"
                               : "one NAME only");
        return EXIT_USAGE;
    }
    o = ask("create", c.control,
            json_pack("{s:s, s:s, s:I, s:I, s:s, s:I, s:I, s:I}", "op",
                      "create", "name", argv[optind], "memory_mib",
                      (json_int_t)mem, "vcpus", (json_int_t)vcpus, "workload",
                      wl, "rate", (json_int_t)rate, "fill", (json_int_t)fill,
                      "domid", (json_int_t)domid));
    if (!o) {
        return EXIT_INVALID;
    }
    printf("xmig create: sim guest %s runs (%lu MiB, %lu vCPUs)\n",
           argv[optind], mem, vcpus);
    json_decref(o);
    return 0;
usage:
    return usage_of(0, CREATE_USAGE);
}

int ctl_simple_request(const char *cmd, const char *control, json_t *req)
{
    json_t *o = ask(cmd, control, req);

    if (!o) {
        return EXIT_INVALID;
    }
    if (cj_str(o, "message")) {
        printf("xmig %s: %s\n", cmd, cj_str(o, "message"));
    }
    json_decref(o);
    return 0;
}

/* destroy NAME / cancel ID: one request, ok or not. */
static int simple(int argc, char **argv, const char *cmd, const char *op,
                  const char *field, int numeric)
{
    static const struct option opts[] = { COMMON_OPTIONS,
                                          { NULL, 0, NULL, 0 } };
    struct common c = { NULL, 0 };
    unsigned long id = 0;
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (!common_opt(&c, opt, optarg)) {
            fprintf(opt == 'h' ? stdout : stderr,
                    "usage: xmig %s [--control PATH] %s\n  %s\n", cmd,
                    numeric ? "ID" : "NAME",
                    numeric ? "cancel migration ID (xmig status lists them); "
                              "the guest runs on here"
                            : "stop guest NAME of xmigd and forget it");
            return opt == 'h' ? 0 : EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "xmig %s: give one %s (xmig %s --help)\n", cmd,
                numeric ? "migration ID" : "guest NAME", cmd);
        return EXIT_USAGE;
    }
    if (numeric && migration_id(cmd, argv[optind], &id) < 0) {
        return EXIT_USAGE;
    }
    return ctl_simple_request(
        cmd, c.control,
        numeric ? json_pack("{s:s, s:I}", "op", op, field, (json_int_t)id)
                : json_pack("{s:s, s:s}", "op", op, field, argv[optind]));
}

int destroy_main(int argc, char **argv)
{
    return simple(argc, argv, "destroy", "destroy", "guest", 0);
}

int cancel_main(int argc, char **argv)
{
    return simple(argc, argv, "cancel", "cancel", "migration", 1);
}

#define STATUS_HEADER                                                        \
    "  ID GUEST            DESTINATION            STATE     ROUND        "    \
    "ELAPSED   SENT MiB  LEFT MiB   MiB/s  DIRTY/s THROTTLE    ETA\n"

/* One row of the table: live figures while it runs. */
static void print_status(json_t *o)
{
    const char *err = cj_str(o, "error");
    double eta = cj_num(o, "eta_s", -1);
    char round[24], etas[16] = "-", dirty[24] = "-";

    snprintf(round, sizeof(round), "%.0f%s %.0f%%", cj_num(o, "round", 0),
             cj_bool(o, "final", 0) ? "*" : "",
             cj_num(o, "dirty_pages", 0) > 0
                 ? 100.0 * (1.0 - cj_num(o, "remaining_pages", 0) /
                                      cj_num(o, "dirty_pages", 0))
                 : 0);
    if (!(cj_num(o, "round", 0) == 1 && cj_bool(o, "partial", 0))) {
        snprintf(dirty, sizeof(dirty), "%.0f", cj_num(o, "dirty_pages_s", 0));
    }
    if (eta >= 0 && strcmp(str_or(o, "state"), "running") == 0) {
        snprintf(etas, sizeof(etas), "%.0f s", eta);
    }
    printf("%4.0f %-16s %-22s %-9s %-10s %7.1f s %10.1f %9.1f %7.1f %8s "
           "%7.0f%% %6s%s%s\n",
           cj_num(o, "migration", 0), str_or(o, "guest"),
           str_or(o, "destination"), str_or(o, "state"), round,
           cj_num(o, "elapsed_s", 0), cj_num(o, "sent_mib", 0),
           cj_num(o, "remaining_pages", 0) * 4096.0 / 1048576.0,
           cj_num(o, "transfer_mib_s", 0), dirty, cj_num(o, "throttle", 0),
           etas, err && err[0] ? "  " : "",
           err ? err : "");
}

/* One migration's job statistics, as virsh domjobinfo shows a job. */
static void print_job(json_t *o)
{
    json_t *st = json_object_get(o, "stats"), *j = json_object_get(st, "job");
    const char *w = cj_str(st, "warning");

    printf("%-24s %.0f\n%-24s %s\n%-24s %s\n%-24s %s\n", "Migration:",
           cj_num(o, "migration", 0), "Guest:", str_or(o, "guest"),
           "Destination:", str_or(o, "destination"), "State:",
           str_or(o, "state"));
    if (!json_is_object(j)) {
        return;
    }
#define MIB(k) (cj_num(j, k, 0) / 1048576.0)
    printf("%-24s %.0f ms\n%-24s %.0f ms\n%-24s %.0f ms\n%-24s %.0f ms\n",
           "Time elapsed:", cj_num(j, "time_elapsed", 0), "Time remaining:",
           cj_num(j, "time_remaining", 0), "Setup time:",
           cj_num(j, "setup_time", 0), "Downtime:", cj_num(j, "downtime", 0));
    printf("%-24s %.3f MiB\n%-24s %.3f MiB\n%-24s %.3f MiB\n",
           "Data processed:", MIB("data_processed"), "Data remaining:",
           MIB("data_remaining"), "Data total:", MIB("data_total"));
    printf("%-24s %.3f MiB\n%-24s %.3f MiB\n%-24s %.3f MiB\n",
           "Memory processed:", MIB("memory_processed"), "Memory remaining:",
           MIB("memory_remaining"), "Memory total:", MIB("memory_total"));
    printf("%-24s %.3f MiB/s\n%-24s %.0f pages/s\n%-24s %.0f\n"
           "%-24s %.0f\n%-24s %.0f\n%-24s %.0f\n%-24s %.0f octets\n"
           "%-24s %.0f%%\n",
           "Memory bandwidth:", MIB("memory_bps"), "Dirty rate:",
           cj_num(j, "memory_dirty_rate", 0), "Iteration:",
           cj_num(j, "memory_iteration", 0), "Constant pages:",
           cj_num(j, "memory_constant", 0), "Normal pages:",
           cj_num(j, "memory_normal", 0), "Normal data:",
           cj_num(j, "memory_normal_bytes", 0), "Page size:",
           cj_num(j, "memory_page_size", 0), "Auto converge throttle:",
           cj_num(j, "auto_converge_throttle", 0));
#undef MIB
    if (cj_str(j, "errmsg")) {
        printf("%-24s %s\n", "Error message:", cj_str(j, "errmsg"));
    }
    if (w) {
        printf("%-24s %s\n", "Warning:", w);
    }
}

int status_main(int argc, char **argv)
{
    static const struct option opts[] = { COMMON_OPTIONS,
                                          { NULL, 0, NULL, 0 } };
    struct common c = { NULL, 0 };
    unsigned long id = 0;
    json_t *o, *req, *m;
    size_t i;
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (!common_opt(&c, opt, optarg)) {
            return usage_of(opt == 'h', STATUS_USAGE);
        }
    }
    if (optind + 1 < argc) {
        fprintf(stderr, "xmig status: one migration ID at most\n");
        return EXIT_USAGE;
    }
    if (optind < argc && migration_id("status", argv[optind], &id) < 0) {
        return EXIT_USAGE;
    }
    req = optind < argc ? json_pack("{s:s, s:I}", "op", "status", "migration",
                                    (json_int_t)id)
                        : json_pack("{s:s}", "op", "status");
    o = ask("status", c.control, req);
    if (!o) {
        return EXIT_INVALID;
    }
    if (c.json) {
        print_json(o);
    } else if (json_object_get(o, "status")) {
        printf(STATUS_HEADER);
        print_status(json_object_get(o, "status"));
        printf("\n");
        print_job(json_object_get(o, "status"));
    } else {
        printf(STATUS_HEADER);
        json_array_foreach(json_object_get(o, "migrations"), i, m) {
            print_status(m);
        }
    }
    json_decref(o);
    return 0;
}

/* The migration belongs to xmigd, not to this client: killing the client
 * with SIGKILL leaves it running, visible in xmig status and xmigd's log.
 * SIGINT, SIGTERM and SIGHUP (a closed terminal) cancel it, and the
 * client follows it to its end; a second one ends the client. */
static volatile sig_atomic_t stop_asked;
static struct timespec stop_first;

static void on_stop(int sig)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (stop_asked) {
        /* A second signal, a second or more after the first: stop
         * following at once (the cancel went).  One sooner is the same
         * signal again (timeout(1) sends it to the child and then to the
         * whole process group). */
        if (now.tv_sec - stop_first.tv_sec >= 1) {
            signal(sig, SIG_DFL);
            raise(sig);
        }
        return;
    }
    stop_first = now;
    stop_asked = 1;
}

/* xmig migrate DOM HOST:PORT for a guest the daemon keeps: ask, then
 * follow its progress until it ends.  params holds the request's other
 * members (consumed). */
int migrate_via_daemon(const char *control, const char *guest,
                       const char *dest, json_t *params, int json)
{
    json_t *o, *req = params;
    int id, tty = isatty(STDERR_FILENO), printed = 0;
    double last_report = -1;

    if (!req || json_object_set_new(req, "op", json_string("migrate")) < 0 ||
        json_object_set_new(req, "guest", json_string(guest)) < 0 ||
        json_object_set_new(req, "destination", json_string(dest)) < 0) {
        json_decref(req);
        fprintf(stderr, "xmig migrate: the request cannot be made\n");
        return EXIT_INVALID;
    }
    /* Caught before the request goes: a ^C while xmigd answers must still
     * cancel the migration it starts (the loop below sends the cancel). */
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_stop;
        sa.sa_flags = SA_RESTART;   /* the poll's connect and read go on */
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
    }
    o = ask("migrate", control, req);
    if (!o) {
        return EXIT_INVALID;
    }
    id = (int)cj_uint(o, "migration", 0);
    json_decref(o);
    for (;;) {
        struct timespec ts = { 0, 200000000 };
        const char *state;
        json_t *s;

        if (stop_asked == 1) {
            stop_asked = 2;
            json_decref(ask("migrate", control,
                            json_pack("{s:s, s:i}", "op", "cancel",
                                      "migration", id)));
            fprintf(stderr, "%sxmig migrate: cancelling migration %d\n",
                    tty ? "\n" : "", id);
        }
        o = ask("migrate", control,
                json_pack("{s:s, s:i}", "op", "status", "migration", id));
        s = json_object_get(o, "status");
        if (!json_is_object(s)) {
            json_decref(o);
            return EXIT_INVALID;
        }
        state = str_or(s, "state");
        if (!json && strcmp(state, "running") == 0 &&
            cj_num(s, "round", 0) >= 1) {
            /* On a terminal every poll (the clock ticks); else each new
             * report once. */
            double made = cj_num(s, "elapsed_s", 0) -
                          cj_num(s, "report_age_s", 0);
            struct xmig_iteration_stats r;
            if (tty || fabs(made - last_report) > 0.001) {
                progress_from_status(s, &r);
                progress_print(tty, guest, &r);
                printed = 1;
            }
            last_report = made;
        }
        if (strcmp(state, "queued") != 0 && strcmp(state, "running") != 0) {
            int ok = strcmp(state, "done") == 0;
            json_t *stats = json_object_get(s, "stats");
            const char *warning = cj_str(stats, "warning");
            if (tty && printed) {
                fprintf(stderr, "\n");
            }
            if (ok && warning) {
                fprintf(stderr, "xmig migrate: %s: warning: %s\n", guest,
                        warning);
            }
            if (json && json_is_object(stats)) {
                print_json(stats);
            } else if (ok) {
                printf("xmig migrate: %s moved to %s (migration %d); xmig "
                       "status %d shows the statistics\n",
                       guest, dest, id, id);
            } else {
                fprintf(stderr, "xmig migrate: %s %s: %s\n", guest, state,
                        str_or(s, "error"));
            }
            json_decref(o);
            return ok ? 0 : EXIT_INVALID;
        }
        json_decref(o);
        nanosleep(&ts, NULL);
    }
}
