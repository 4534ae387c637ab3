/*
 * xmig tls-connect / tls-accept: the kTLS socket broker.  A handshake with
 * xmig's policy and mutual authentication, then the connection goes to a
 * toolstack: over SCM_RIGHTS to a Unix socket (XAPI's helper contract), as
 * stdin/stdout of a command, or relayed through our own stdin/stdout (so
 * xl migrate -s can run it instead of ssh).  docs/tls-broker.md.
 */
#include <errno.h>
#include <linux/tls.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xmigd/atomic_file.h"
#include "xmigd/cli.h"
#include "xmigd/hostport.h"
#include "xmigd/ctl_json.h"
#include "xmigd/tls_opts.h"

enum handoff { HANDOFF_NONE, HANDOFF_UNIX, HANDOFF_EXEC, HANDOFF_STDIO };

struct broker_args {
    const char *cmd;           /* "tls-connect" or "tls-accept" */
    int server;
    enum handoff handoff;
    const char *unix_path, *port_file, *hostport;
    char **command;            /* after HOST:PORT */
};

static void broker_help(FILE *out, const char *cmd)
{
    fprintf(out,
            "usage: xmig %s [options] --to-unix PATH HOST:PORT\n"
            "       xmig %s [options] --exec HOST:PORT COMMAND [ARG...]\n"
            "       xmig %s [options] --stdio HOST:PORT [IGNORED...]\n"
            "%s, handshake with mutual authentication, then hand the "
            "connection on:\n"
            "  --to-unix PATH   connect to the Unix socket PATH and send the "
            "socket\n"
            "                   (SCM_RIGHTS) with one line of JSON "
            "describing it\n"
            "  --exec           run COMMAND with the connection as its stdin "
            "and stdout\n"
            "  --stdio          relay this process's stdin and stdout (in "
            "place of ssh:\n"
            "                   xl migrate -s \"xmig tls-connect --stdio "
            "...\" DOM HOST:PORT;\n"
            "                   the words after HOST:PORT, what ssh would "
            "run remotely,\n"
            "                   are ignored: the accepting end decides)\n"
            "With kernel TLS both ways the socket itself is handed on (with "
            "--exec, the\ncommand gets it and this process waits to end the "
            "connection with close_notify);\nin userspace TLS this process "
            "relays (one line says so); --tls ktls refuses that.\n"
            "%s"
            "%s",
            cmd, cmd, cmd,
            strcmp(cmd, "tls-accept") == 0
                ? "Listen on HOST:PORT, accept one connection"
                : "Connect to HOST:PORT",
            strcmp(cmd, "tls-accept") == 0
                ? "  --port-file F    write the port listened on to F "
                  "(for port 0)\n"
                : "",
            TLS_OPTIONS_HELP);
}

/* ---- hand-off ------------------------------------------------------- */

/* One line of JSON that says what the socket is. */
static char *describe(const struct broker_args *a,
                      const struct xmig_tls_info *in, int relayed)
{
    json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:b, s:b, s:s, s:s}",
                          "xmig", "tls-broker", "version", 1, "role",
                          a->server ? "server" : "client", "mode",
                          xmig_tls_mode_name(in->mode), "handoff",
                          relayed ? "relay" : "socket", "ktls_tx",
                          in->ktls_tx, "ktls_rx", in->ktls_rx, "tls_version",
                          in->version, "cipher", in->cipher);
    char *s = NULL;

    if (o && json_object_set_new(o, "peer", cj_text(in->peer)) == 0 &&
        json_object_set_new(o, "peer_subject", cj_text(in->peer_subject)) ==
            0) {
        s = cj_dump(o);
    }
    json_decref(o);
    return s;
}

/* Connect to PATH and send fd with the description: one message. */
static int send_fd(const struct broker_args *a, int fd, const char *desc)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    size_t dlen = strlen(desc);
    char *line = malloc(dlen + 2);
    struct iovec iov;
    struct msghdr msg = { 0 };
    struct cmsghdr *c;
    int s = -1, rc = -1;

    if (strlen(a->unix_path) >= sizeof(sa.sun_path) || !line) {
        fprintf(stderr, "xmig %s: --to-unix %s: %s\n", a->cmd, a->unix_path,
                line ? "path too long" : strerror(ENOMEM));
        goto out;
    }
    memcpy(line, desc, dlen);
    memcpy(line + dlen, "\n", 2);
    memcpy(sa.sun_path, a->unix_path, strlen(a->unix_path) + 1);
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "xmig %s: cannot connect to the toolstack at %s: "
                "%s\n", a->cmd, a->unix_path, strerror(errno));
        goto out;
    }
    iov.iov_base = line;
    iov.iov_len = dlen + 1;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    memset(&ctl, 0, sizeof(ctl));
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof(ctl.buf);
    c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    if (sendmsg(s, &msg, MSG_NOSIGNAL) != (ssize_t)(dlen + 1)) {
        fprintf(stderr, "xmig %s: sending the socket to %s: %s\n", a->cmd,
                a->unix_path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (s >= 0) {
        close(s);
    }
    free(line);
    return rc;
}

/* Run the command on fd as its stdin and stdout, in a child.  Returns
 * the child, or -1. */
static pid_t spawn(const struct broker_args *a, int fd)
{
    pid_t pid = fork();

    if (pid != 0) {
        if (pid < 0) {
            fprintf(stderr, "xmig %s: fork: %s\n", a->cmd, strerror(errno));
        }
        return pid;
    }
    if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0) {
        fprintf(stderr, "xmig %s: dup2: %s\n", a->cmd, strerror(errno));
        _exit(126);
    }
    if (fd > STDOUT_FILENO) {
        close(fd);
    }
    signal(SIGPIPE, SIG_DFL);
    execvp(a->command[0], a->command);
    fprintf(stderr, "xmig %s: cannot run %s: %s\n", a->cmd, a->command[0],
            strerror(errno));
    _exit(127);
}

/* End a kernel TLS socket as TLS wants: a close_notify alert (record
 * type 21: warning, close_notify), then the FIN; then read what the peer
 * still sends, for at most two seconds, so that closing with unread data
 * does not reset what the peer has not read yet. */
static void ktls_close(int fd)
{
    unsigned char alert[2] = { 1, 0 }, type = 21;
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(type))];
    } ctl;
    struct iovec iov = { alert, sizeof(alert) };
    struct msghdr msg = { 0 };
    struct cmsghdr *c;
    char buf[4096];

    memset(&ctl, 0, sizeof(ctl));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof(ctl.buf);
    c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_TLS;
    c->cmsg_type = TLS_SET_RECORD_TYPE;
    c->cmsg_len = CMSG_LEN(sizeof(type));
    memcpy(CMSG_DATA(c), &type, sizeof(type));
    (void)sendmsg(fd, &msg, MSG_NOSIGNAL);   /* the command may have shut */
    shutdown(fd, SHUT_WR);
    for (int waited = 0; waited < 2000; waited += 100) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 100) > 0 && recv(fd, buf, sizeof(buf), 0) <= 0) {
            break;   /* EOF, or EIO: the peer's alert */
        }
    }
    close(fd);
}

static int exit_status(const struct broker_args *a, pid_t pid)
{
    int st;

    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "xmig %s: waitpid: %s\n", a->cmd,
                    strerror(errno));
            return EXIT_INVALID;
        }
    }
    if (WIFEXITED(st)) {
        return WEXITSTATUS(st);
    }
    fprintf(stderr, "xmig %s: %s ended by signal %d\n", a->cmd,
            a->command[0], WTERMSIG(st));
    return 128 + WTERMSIG(st);
}

static const char *handoff_name(const struct broker_args *a)
{
    switch (a->handoff) {
    case HANDOFF_UNIX:
        return a->unix_path;
    case HANDOFF_EXEC:
        return a->command[0];
    case HANDOFF_STDIO:
        return "stdin/stdout";
    default:
        return "?";
    }
}

static int hand_off(const struct broker_args *a, struct xmig_transport *t)
{
    struct xmig_tls_info in;
    int relayed, sp[2] = { -1, -1 }, rc = 0, fd;
    pid_t child = -1;
    char *desc;

    xmig_transport_tls_info(t, &in);
    relayed = a->handoff == HANDOFF_STDIO || in.mode != XMIG_TLS_KTLS;
    if (in.mode != XMIG_TLS_KTLS) {
        /* --tls ktls never gets here: the handshake refused already. */
        fprintf(stderr, "xmig %s: TLS with %s in userspace: OpenSSL holds "
                "the record state, so the socket cannot be handed on; this "
                "process relays between it and %s\n", a->cmd, in.peer,
                handoff_name(a));
    }
    if (a->handoff == HANDOFF_STDIO) {
        rc = xmig_tls_relay(t, STDIN_FILENO, STDOUT_FILENO);
        goto relay_done;
    }
    if (!relayed) {
        fd = xmig_tls_socket_release(t);
        if (fd < 0) {
            fprintf(stderr, "xmig %s: %s\n", a->cmd, xmig_error_message());
            xmig_transport_free(t);
            return EXIT_INVALID;
        }
        if (a->handoff == HANDOFF_EXEC) {
            /* The command reads and writes the kernel's socket itself; we
             * only wait, to end the connection with a close_notify when
             * it succeeded (a program on a raw kTLS socket rarely sends
             * one, and without it the peer cannot tell the end from a
             * cut).  A failed command's connection just closes. */
            child = spawn(a, fd);
            rc = child < 0 ? EXIT_INVALID : exit_status(a, child);
            if (rc == 0) {
                ktls_close(fd);
            } else {
                close(fd);
            }
            return rc;
        }
        desc = describe(a, &in, 0);
        rc = desc ? send_fd(a, fd, desc) : -1;
        free(desc);
        close(fd);
        return rc < 0 ? EXIT_INVALID : 0;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
        fprintf(stderr, "xmig %s: socketpair: %s\n", a->cmd, strerror(errno));
        xmig_transport_free(t);
        return EXIT_INVALID;
    }
    if (a->handoff == HANDOFF_EXEC) {
        child = spawn(a, sp[0]);
        rc = child < 0 ? -1 : 0;
    } else {
        desc = describe(a, &in, 1);
        rc = desc ? send_fd(a, sp[0], desc) : -1;
        free(desc);
    }
    close(sp[0]);
    if (rc < 0) {
        close(sp[1]);
        xmig_transport_free(t);
        return EXIT_INVALID;
    }
    rc = xmig_tls_relay(t, sp[1], sp[1]);
relay_done:
    if (rc < 0) {
        fprintf(stderr, "xmig %s: %s\n", a->cmd, xmig_error_message());
    }
    xmig_transport_free(t);
    if (child > 0) {
        int st = exit_status(a, child);
        return st ? st : rc < 0 ? EXIT_INVALID : 0;
    }
    return rc < 0 ? EXIT_INVALID : 0;
}

/* ---- the two commands ----------------------------------------------- */

static int write_port(const char *cmd, const char *file, int port)
{
    struct atomic_file f;
    char text[16];
    int n = snprintf(text, sizeof(text), "%d\n", port);

    if (atomic_open(&f, file) < 0 || write(f.fd, text, (size_t)n) != n) {
        fprintf(stderr, "xmig %s: %s: %s\n", cmd, file, strerror(errno));
        atomic_abort(&f);
        return -1;
    }
    if (atomic_commit(&f) < 0) {
        fprintf(stderr, "xmig %s: %s: %s\n", cmd, file, strerror(errno));
        return -1;
    }
    return 0;
}

static struct xmig_transport *open_connection(const struct broker_args *a,
                                              struct xmig_tls_config *tls)
{
    struct xmig_transport *t;
    int s, l, port;

    if (a->server) {
        l = net_listen(a->cmd, a->hostport, &port);
        if (l < 0 || (a->port_file && write_port(a->cmd, a->port_file,
                                                 port) < 0)) {
            if (l >= 0) {
                close(l);
            }
            return NULL;
        }
        s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        close(l);
        if (s < 0) {
            fprintf(stderr, "xmig %s: accept: %s\n", a->cmd,
                    strerror(errno));
            return NULL;
        }
        t = xmig_transport_tls_server(s, tls);
    } else {
        s = net_connect(a->cmd, a->hostport);
        if (s < 0) {
            return NULL;
        }
        t = xmig_transport_tls_client(s, tls);
    }
    if (!t) {
        fprintf(stderr, "xmig %s: %s\n", a->cmd, xmig_error_message());
    }
    return t;
}

static int broker_main(int argc, char **argv, int server)
{
    static const struct option opts[] = {
        { "to-unix", required_argument, NULL, 'u' },
        { "exec", no_argument, NULL, 'e' },
        { "stdio", no_argument, NULL, 's' },
        { "port-file", required_argument, NULL, 'P' },
        { "help", no_argument, NULL, 'h' },
        TLS_LONG_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    struct broker_args a = { server ? "tls-accept" : "tls-connect", server,
                             HANDOFF_NONE, NULL, NULL, NULL, NULL };
    struct xmig_tls_config *tls = xmig_tls_config_create();
    const char *cert = NULL, *key = NULL;
    struct xmig_transport *t;
    int opt, name_given = 0, handoffs = 0, rc = EXIT_USAGE;

    if (!tls) {
        fprintf(stderr, "xmig %s: %s\n", a.cmd, xmig_error_message());
        return EXIT_INVALID;
    }
    optind = 1;
    /* '+': stop at HOST:PORT; what follows is the command (or, under
     * xl, the remote command ssh would have run). */
    while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        int r = tls_opt(tls, opt, optarg, &cert, &key);
        if (r < 0) {
            fprintf(stderr, "xmig %s: %s\n", a.cmd, xmig_error_message());
            goto out;
        }
        name_given |= opt == 0x1005;
        if (r) {
            continue;
        }
        switch (opt) {
        case 'u':
            a.handoff = HANDOFF_UNIX;
            a.unix_path = optarg;
            handoffs++;
            break;
        case 'e':
            a.handoff = HANDOFF_EXEC;
            handoffs++;
            break;
        case 's':
            a.handoff = HANDOFF_STDIO;
            handoffs++;
            break;
        case 'P':
            a.port_file = optarg;
            break;
        case 'h':
            broker_help(stdout, a.cmd);
            rc = 0;
            goto out;
        default:
            broker_help(stderr, a.cmd);
            goto out;
        }
    }
    if (handoffs != 1 || optind >= argc ||
        (a.handoff == HANDOFF_EXEC) != (optind + 1 < argc &&
                                        a.handoff != HANDOFF_STDIO) ||
        (a.port_file && !server)) {
        fprintf(stderr, "xmig %s: %s\n", a.cmd,
                handoffs != 1 ? "say where the connection goes: one of "
                                "--to-unix PATH, --exec, --stdio"
                : optind >= argc ? "HOST:PORT missing"
                : a.port_file && !server
                    ? "--port-file is for tls-accept"
                : a.handoff == HANDOFF_EXEC
                    ? "--exec: the command to run follows HOST:PORT"
                    : "words after HOST:PORT are a command: only with "
                      "--exec (or ignored with --stdio)");
        broker_help(stderr, a.cmd);
        goto out;
    }
    a.hostport = argv[optind];
    a.command = argv + optind + 1;
    {
        struct hostport hp;
        char why[400];
        if (hostport_parse(a.hostport, server, &hp, why, sizeof(why)) < 0) {
            fprintf(stderr, "xmig %s: %s\n", a.cmd, why);
            goto out;
        }
    }
    if (cert && xmig_tls_config_set_identity(tls, cert, key) < 0) {
        fprintf(stderr, "xmig %s: %s\n", a.cmd, xmig_error_message());
        goto out;
    }
    if (!server && !name_given) {
        /* The accepting end's certificate must name the host we dial. */
        if (tls_opt_name_from_host(a.cmd, tls, a.hostport) < 0) {
            goto out;
        }
    }
    t = open_connection(&a, tls);
    rc = t ? hand_off(&a, t) : EXIT_INVALID;
out:
    xmig_tls_config_free(tls);
    return rc;
}

int tls_connect_main(int argc, char **argv)
{
    return broker_main(argc, argv, 0);
}

int tls_accept_main(int argc, char **argv)
{
    return broker_main(argc, argv, 1);
}
