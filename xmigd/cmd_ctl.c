/*
 * xmig commands that talk to the local xmigd over its control socket:
 * create, list, status, cancel, destroy, and migrate of a daemon's guest.
 * The socket: --control PATH, else $XMIG_CONTROL, else
 * /run/xmig/xmigd.sock.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "xmigd/cli.h"
#include "xmigd/json_flat.h"

#define REPLY_MAX (256u << 10)

static const char *control_path(const char *opt)
{
    const char *env = getenv("XMIG_CONTROL");

    return opt ? opt : env && env[0] ? env : "/run/xmig/xmigd.sock";
}

/* One request line, one reply line (malloc'd, NUL-terminated). */
static char *request(const char *cmd, const char *path, const char *req)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    char *reply = malloc(REPLY_MAX + 1);
    size_t have = 0;
    int s;

    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (!reply || s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
        fprintf(stderr, "xmig %s: cannot reach xmigd at %s: %s (is it "
                        "running? --control PATH or XMIG_CONTROL name "
                        "another socket)\n",
                cmd, path, strerror(errno));
        free(reply);
        if (s >= 0) {
            close(s);
        }
        return NULL;
    }
    if (write(s, req, strlen(req)) != (ssize_t)strlen(req) ||
        write(s, "\n", 1) != 1) {
        fprintf(stderr, "xmig %s: writing to xmigd: %s\n", cmd,
                strerror(errno));
        close(s);
        free(reply);
        return NULL;
    }
    while (have < REPLY_MAX) {
        ssize_t n = read(s, reply + have, REPLY_MAX - have);
        if (n <= 0) {
            break;
        }
        have += (size_t)n;
        if (memchr(reply + have - n, '\n', (size_t)n)) {
            break;
        }
    }
    close(s);
    reply[have] = '\0';
    if (have == 0) {
        fprintf(stderr, "xmig %s: xmigd closed the connection\n", cmd);
        free(reply);
        return NULL;
    }
    reply[strcspn(reply, "\n")] = '\0';
    return reply;
}

/* Parse a reply; print its error and return -1 when ok is false. */
static int check(const char *cmd, const char *reply, struct json_obj *o)
{
    char err[256];

    if (json_flat_parse(reply, strlen(reply), o, err, sizeof(err)) < 0) {
        fprintf(stderr, "xmig %s: bad reply from xmigd: %s\n", cmd, err);
        return -1;
    }
    if (!json_bool(o, "ok", 0)) {
        fprintf(stderr, "xmig %s: %s\n", cmd,
                json_str(o, "error") ? json_str(o, "error") : "failed");
        return -1;
    }
    return 0;
}

/* Call fn on each flat object of the array under "key". */
void ctl_each(const char *reply, const char *key,
                 void (*fn)(const struct json_obj *o, void *u), void *u)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof(pat), "\"%s\": [", key);
    p = strstr(reply, pat);
    if (!p) {
        return;
    }
    p += strlen(pat);
    while ((p = strchr(p, '{')) != NULL) {
        const char *q = p;
        int depth = 0;
        struct json_obj o;
        char err[64];
        do {
            depth += *q == '{' ? 1 : *q == '}' ? -1 : 0;
            q++;
        } while (*q && depth > 0);
        if (json_flat_parse(p, (size_t)(q - p), &o, err, sizeof(err)) == 0) {
            fn(&o, u);
        }
        p = q;
        while (*p == ' ' || *p == ',') {
            p++;
        }
        if (*p == ']') {
            break;
        }
    }
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
        { "json", no_argument, NULL, 'j' }

static void print_guest(const struct json_obj *o, void *u)
{
    (void)u;
    int xen = json_num(o, "domid", -1) >= 0;

    printf("%-20s %-10s %8.0f MiB  %-9s %s %.0f\n", json_str(o, "name"),
           json_str(o, "state"), json_num(o, "memory_mib", 0),
           json_str(o, "origin"), xen ? "domain" : "heartbeat",
           xen ? json_num(o, "domid", 0) : json_num(o, "heartbeat", 0));
}

int list_main(int argc, char **argv)
{
    static const struct option opts[] = { COMMON_OPTIONS,
                                          { NULL, 0, NULL, 0 } };
    struct common c = { NULL, 0 };
    struct json_obj o;
    char *reply;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (!common_opt(&c, opt, optarg)) {
            fprintf(stderr, "usage: xmig list [--json] [--control PATH]\n");
            return EXIT_USAGE;
        }
    }
    reply = request("list", control_path(c.control), "{\"op\": \"list\"}");
    if (!reply) {
        return EXIT_INVALID;
    }
    rc = check("list", reply, &o);
    if (rc == 0 && c.json) {
        printf("%s\n", reply);
    } else if (rc == 0) {
        printf("%-20s %-10s %12s  %-9s\n", "NAME", "STATE", "MEMORY", "ORIGIN");
        ctl_each(reply, "guests", print_guest, NULL);
    }
    free(reply);
    return rc == 0 ? 0 : EXIT_INVALID;
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
    char req[1024], name[200], wl[64] = "\"mixed\"";
    unsigned long mem = 512, vcpus = 2, rate = 0, fill = 50, domid = 11;
    struct json_obj o;
    char *reply;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (common_opt(&c, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'm':
            mem = strtoul(optarg, NULL, 10);
            break;
        case 'v':
            vcpus = strtoul(optarg, NULL, 10);
            break;
        case 'w':
            json_quote(wl, sizeof(wl), optarg);
            break;
        case 'r':
            rate = strtoul(optarg, NULL, 10);
            break;
        case 'f':
            fill = strtoul(optarg, NULL, 10);
            break;
        case 'd':
            domid = strtoul(optarg, NULL, 10);
            break;
        default:
            goto usage;
        }
    }
    if (optind != argc - 1) {
        goto usage;
    }
    json_quote(name, sizeof(name), argv[optind]);
    snprintf(req, sizeof(req),
             "{\"op\": \"create\", \"name\": %s, \"memory_mib\": %lu, "
             "\"vcpus\": %lu, \"workload\": %s, \"rate\": %lu, \"fill\": %lu, "
             "\"domid\": %lu}",
             name, mem, vcpus, wl, rate, fill, domid);
    reply = request("create", control_path(c.control), req);
    if (!reply) {
        return EXIT_INVALID;
    }
    rc = check("create", reply, &o);
    if (rc == 0) {
        printf("xmig create: sim guest %s runs (%lu MiB, %lu vCPUs)\n",
               argv[optind], mem, vcpus);
    }
    free(reply);
    return rc == 0 ? 0 : EXIT_INVALID;
usage:
    fprintf(stderr, "usage: xmig create [--memory MIB] [--vcpus N] "
                    "[--workload idle|mixed|stress] [--rate PAGES/S] "
                    "[--fill PERCENT] [--domid D] [--control PATH] NAME\n");
    return EXIT_USAGE;
}

int ctl_simple_request(const char *cmd, const char *control,
                       const char *req)
{
    struct json_obj o;
    char *reply = request(cmd, control_path(control), req);
    int rc;

    if (!reply) {
        return EXIT_INVALID;
    }
    rc = check(cmd, reply, &o);
    if (rc == 0 && json_str(&o, "message")) {
        printf("xmig %s: %s\n", cmd, json_str(&o, "message"));
    }
    free(reply);
    return rc == 0 ? 0 : EXIT_INVALID;
}

/* destroy NAME / cancel ID: one request, ok or not. */
static int simple(int argc, char **argv, const char *cmd, const char *op,
                  const char *field, int numeric)
{
    static const struct option opts[] = { COMMON_OPTIONS,
                                          { NULL, 0, NULL, 0 } };
    struct common c = { NULL, 0 };
    char req[512], arg[200];
    struct json_obj o;
    char *reply;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (!common_opt(&c, opt, optarg)) {
            optind = argc + 1;
            break;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: xmig %s [--control PATH] %s\n", cmd,
                numeric ? "ID" : "NAME");
        return EXIT_USAGE;
    }
    if (numeric) {
        snprintf(arg, sizeof(arg), "%d", atoi(argv[optind]));
    } else {
        json_quote(arg, sizeof(arg), argv[optind]);
    }
    snprintf(req, sizeof(req), "{\"op\": \"%s\", \"%s\": %s}", op, field,
             arg);
    reply = request(cmd, control_path(c.control), req);
    if (!reply) {
        return EXIT_INVALID;
    }
    rc = check(cmd, reply, &o);
    free(reply);
    return rc == 0 ? 0 : EXIT_INVALID;
}

int destroy_main(int argc, char **argv)
{
    return simple(argc, argv, "destroy", "destroy", "guest", 0);
}

int cancel_main(int argc, char **argv)
{
    return simple(argc, argv, "cancel", "cancel", "migration", 1);
}

static void print_status(const struct json_obj *o, void *u)
{
    (void)u;
    printf("%4.0f  %-16s -> %-22s %-9s round %.0f%s  %.0f MiB/s  dirty "
           "%.0f pages/s  throttle %.0f%%  %.1f s%s%s\n",
           json_num(o, "migration", 0), json_str(o, "guest"),
           json_str(o, "destination"), json_str(o, "state"),
           json_num(o, "round", 0), json_bool(o, "final", 0) ? " (paused)" : "",
           json_num(o, "transfer_mib_s", 0), json_num(o, "dirty_pages_s", 0),
           json_num(o, "throttle", 0), json_num(o, "elapsed_s", 0),
           json_str(o, "error") && json_str(o, "error")[0] ? ": " : "",
           json_str(o, "error") ? json_str(o, "error") : "");
}

int status_main(int argc, char **argv)
{
    static const struct option opts[] = { COMMON_OPTIONS,
                                          { NULL, 0, NULL, 0 } };
    struct common c = { NULL, 0 };
    char req[128];
    struct json_obj o;
    char *reply;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (!common_opt(&c, opt, optarg)) {
            fprintf(stderr, "usage: xmig status [--json] [--control PATH] "
                            "[ID]\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        snprintf(req, sizeof(req), "{\"op\": \"status\", \"migration\": %d}",
                 atoi(argv[optind]));
    } else {
        snprintf(req, sizeof(req), "{\"op\": \"status\"}");
    }
    reply = request("status", control_path(c.control), req);
    if (!reply) {
        return EXIT_INVALID;
    }
    rc = check("status", reply, &o);
    if (rc == 0 && c.json) {
        printf("%s\n", reply);
    } else if (rc == 0) {
        const char *p = strstr(reply, "\"status\": {");
        if (p) {
            struct json_obj one;
            char err[64];
            const char *start = strchr(p, '{');
            if (json_flat_parse(start, strlen(start) - 1, &one, err,
                                sizeof(err)) == 0) {
                print_status(&one, NULL);
            }
        } else {
            ctl_each(reply, "migrations", print_status, NULL);
        }
    }
    free(reply);
    return rc == 0 ? 0 : EXIT_INVALID;
}

/* The migration belongs to xmigd, not to this client: killing the client
 * with SIGKILL leaves it running, visible in xmig status and xmigd's log.
 * SIGINT, SIGTERM and SIGHUP (a closed terminal) cancel it, and the
 * client follows it to its end; a second one ends the client. */
static volatile sig_atomic_t stop_asked;

static void on_stop(int sig)
{
    if (stop_asked) {
        /* A second signal: stop following at once (the cancel went). */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_asked = 1;
}

/* xmig migrate DOM HOST:PORT for a guest the daemon keeps: ask, then
 * follow its progress until it ends. */
int migrate_via_daemon(const char *control, const char *guest,
                       const char *dest, const char *extra, int json)
{
    char req[2048], g[200], d[600];
    struct json_obj o;
    char *reply;
    int id, tty = isatty(STDERR_FILENO);

    json_quote(g, sizeof(g), guest);
    json_quote(d, sizeof(d), dest);
    snprintf(req, sizeof(req),
             "{\"op\": \"migrate\", \"guest\": %s, \"destination\": %s%s}", g,
             d, extra);
    reply = request("migrate", control_path(control), req);
    if (!reply || check("migrate", reply, &o) < 0) {
        free(reply);
        return EXIT_INVALID;
    }
    id = (int)json_num(&o, "migration", -1);
    free(reply);
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_stop;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
    }
    for (;;) {
        struct timespec ts = { 0, 200000000 };
        struct json_obj s;
        const char *state, *p;
        char err[64];

        if (stop_asked == 1) {
            stop_asked = 2;
            snprintf(req, sizeof(req), "{\"op\": \"cancel\", "
                     "\"migration\": %d}", id);
            free(request("migrate", control_path(control), req));
            fprintf(stderr, "%sxmig migrate: cancelling migration %d\n",
                    tty ? "\n" : "", id);
        }
        snprintf(req, sizeof(req), "{\"op\": \"status\", \"migration\": %d}",
                 id);
        reply = request("migrate", control_path(control), req);
        if (!reply || check("migrate", reply, &o) < 0 ||
            !(p = strstr(reply, "\"status\": {")) ||
            json_flat_parse(strchr(p, '{'), strlen(strchr(p, '{')) - 1, &s,
                            err, sizeof(err)) < 0) {
            free(reply);
            return EXIT_INVALID;
        }
        state = json_str(&s, "state");
        if (!json && state && strcmp(state, "running") == 0 &&
            json_num(&s, "round", 0) >= 1) {
            fprintf(stderr, "%sxmig migrate: %s round %.0f%s, %.0f MiB/s, "
                            "dirty %.0f pages/s, throttle %.0f%%, %.1f s%s",
                    tty ? "\r\033[K" : "", guest, json_num(&s, "round", 0),
                    json_bool(&s, "final", 0) ? " (paused)" : "",
                    json_num(&s, "transfer_mib_s", 0),
                    json_num(&s, "dirty_pages_s", 0),
                    json_num(&s, "throttle", 0), json_num(&s, "elapsed_s", 0),
                    tty ? "" : "\n");
        }
        if (state && strcmp(state, "queued") != 0 &&
            strcmp(state, "running") != 0) {
            int ok = strcmp(state, "done") == 0;
            const char *stats = strstr(reply, "\"stats\": ");
            if (tty && !json) {
                fprintf(stderr, "\n");
            }
            if (json && stats) {
                printf("%.*s\n", (int)strlen(stats + 9) - 2, stats + 9);
            } else if (ok) {
                printf("xmig migrate: %s moved to %s (migration %d); xmig "
                       "status %d shows the statistics\n",
                       guest, dest, id, id);
            } else {
                fprintf(stderr, "xmig migrate: %s %s: %s\n", guest, state,
                        json_str(&s, "error") ? json_str(&s, "error") : "");
            }
            free(reply);
            return ok ? 0 : EXIT_INVALID;
        }
        free(reply);
        nanosleep(&ts, NULL);
    }
}
