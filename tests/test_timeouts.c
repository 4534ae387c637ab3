/*
 * Time and cancellation (docs/timeouts.md), each limit proved against a
 * peer that misbehaves on purpose, in threads of this process over
 * socketpairs and loopback: a silent reader and a stalled writer end at the
 * no-progress limit, naming the peer and the phase; a cancel ends a blocked
 * read, a handshake and a migration before round 1; the TLS handshake has a
 * total deadline that a trickling peer cannot stretch; a TLS/plain mismatch
 * fails fast both ways, naming TLS; a receiver that stops reading mid-stream
 * or never confirms leaves the guest running at the source; one that goes
 * silent after the go-ahead leaves it paused (default) or resumed
 * (XMIG_HANDOVER_RESUME), within the handover limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/sim/sim.h"
#include "libxmig/session.h"
#include "streams/transport.h"
#include "xmig.h"

/* Slow machines: every upper bound is generous, every limit short.  The
 * upper bounds tell a limit that fires from one that never does (or one
 * off by a unit: 400 s for 400 ms); a loaded CI machine (the packaging
 * build beside it) once took 2.5 s to wake for a 0.4 s limit. */
#define LIMIT_MS 400u
#define SLACK_S 10.0

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                     0);
}

static void assert_contains(const char *s, const char *part)
{
    if (!strstr(s, part)) {
        fail_msg("\"%s\" does not say \"%s\"", s, part);
    }
}

/* ---- transports ---------------------------------------------------- */

static void silent_peer_read_times_out(void **state)
{
    int sv[2];
    struct xmig_transport *t;
    char buf[16];
    double t0;

    (void)state;
    pair(sv);
    t = xmig_transport_fd(sv[0], 1);
    assert_non_null(t);
    assert_int_equal(xmig_transport_set_timeout(t, LIMIT_MS), 0);
    assert_int_equal(xmig_transport_timeout(t), LIMIT_MS);
    transport_phase(t, "waiting for round %d", 2);
    t0 = now_s();
    assert_int_equal(xmig_transport_read(t, buf, sizeof(buf)), -1);
    assert_true(now_s() - t0 >= LIMIT_MS / 1e3 - 0.01);
    assert_true(now_s() - t0 < SLACK_S);
    assert_int_equal(xmig_error_errno(), ETIMEDOUT);
    assert_contains(xmig_error_message(), "no data from the peer for 0.4 s "
                    "while waiting for round 2");
    xmig_transport_free(t);
    close(sv[1]);
}

/* Data that keeps coming is progress: a slow peer is not a silent one. */
static void slow_peer_is_not_silent(void **state)
{
    int sv[2];
    struct xmig_transport *t;
    char buf[1];

    (void)state;
    pair(sv);
    t = xmig_transport_fd(sv[0], 1);
    xmig_transport_set_timeout(t, LIMIT_MS);
    for (int i = 0; i < 4; i++) {
        sleep_ms(LIMIT_MS / 2);
        assert_int_equal(write(sv[1], "x", 1), 1);
        assert_int_equal(xmig_transport_read(t, buf, 1), 1);
    }
    xmig_transport_free(t);
    close(sv[1]);
}

static void stalled_writer_times_out(void **state)
{
    int sv[2];
    struct xmig_transport *t;
    size_t len = 16u << 20;
    char *big = calloc(1, len);
    double t0;

    (void)state;
    pair(sv);
    t = xmig_transport_fd(sv[0], 1);
    xmig_transport_set_timeout(t, LIMIT_MS);
    transport_phase(t, "sending round 1 pages");
    t0 = now_s();
    assert_int_equal(xmig_transport_write(t, big, len), -1);
    assert_true(now_s() - t0 < SLACK_S);
    assert_int_equal(xmig_error_errno(), ETIMEDOUT);
    assert_contains(xmig_error_message(), "the peer took no data for 0.4 s "
                    "while sending round 1 pages");
    xmig_transport_free(t);
    close(sv[1]);
    free(big);
}

struct later {
    struct xmig_cancel *c;
    unsigned ms;
};

static void *raise_later(void *arg)
{
    struct later *l = arg;

    sleep_ms(l->ms);
    xmig_cancel_raise(l->c);
    return NULL;
}

/* No time limit at all: only the cancel ends the wait. */
static void cancel_ends_blocked_read(void **state)
{
    int sv[2];
    struct xmig_transport *t;
    struct later l = { xmig_cancel_create(), 200 };
    pthread_t th;
    char buf[4];
    double t0;

    (void)state;
    pair(sv);
    t = xmig_transport_fd(sv[0], 1);
    assert_int_equal(xmig_transport_timeout(t), 0);
    xmig_transport_set_cancel(t, l.c);
    transport_phase(t, "waiting for the go-ahead");
    t0 = now_s();
    assert_int_equal(pthread_create(&th, NULL, raise_later, &l), 0);
    assert_int_equal(xmig_transport_read(t, buf, sizeof(buf)), -1);
    assert_true(now_s() - t0 < 0.2 + SLACK_S);
    assert_int_equal(xmig_error_errno(), ECANCELED);
    assert_contains(xmig_error_message(), "cancelled while waiting for the "
                    "go-ahead");
    assert_true(xmig_cancel_raised(l.c));
    pthread_join(th, NULL);
    xmig_transport_free(t);
    xmig_cancel_free(l.c);
    close(sv[1]);
}

/* ---- TLS ------------------------------------------------------------ */

static const char *certs(void)
{
    const char *d = getenv("CERTS");

    return d && d[0] ? d : NULL;
}

static struct xmig_tls_config *tls_config(int server, uint32_t hs_ms)
{
    struct xmig_tls_config *c = xmig_tls_config_create();
    char cert[512], key[512], ca[512];

    assert_non_null(c);
    snprintf(cert, sizeof(cert), "%s/%s.pem", certs(),
             server ? "server" : "client");
    snprintf(key, sizeof(key), "%s/%s-key.pem", certs(),
             server ? "server" : "client");
    snprintf(ca, sizeof(ca), "%s/ca.pem", certs());
    assert_int_equal(xmig_tls_config_set_identity(c, cert, key), 0);
    assert_int_equal(xmig_tls_config_set_ca(c, ca), 0);
    assert_int_equal(xmig_tls_config_set_mode(c, XMIG_TLS_USERSPACE), 0);
    assert_int_equal(xmig_tls_config_set_timeouts(c, hs_ms, LIMIT_MS), 0);
    return c;
}

/* Loopback TCP: a and b connected (TLS wants a peer address to name). */
static void tcp_pair(int sv[2])
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t al = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(l >= 0);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
    sv[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(sv[0], (struct sockaddr *)&a, sizeof(a)), 0);
    sv[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    assert_true(sv[1] >= 0);
    close(l);
}

struct trickle {
    int fd;
    int stop;
};

/* A record header promising 16 KiB, then one octet every 100 ms: each
 * read makes progress, the handshake never ends. */
static void *trickle_main(void *arg)
{
    struct trickle *tr = arg;
    static const unsigned char hdr[5] = { 0x16, 0x03, 0x03, 0x40, 0x00 };
    char buf[4096];

    (void)!read(tr->fd, buf, sizeof(buf));   /* the ClientHello */
    (void)!write(tr->fd, hdr, sizeof(hdr));
    while (!__atomic_load_n(&tr->stop, __ATOMIC_ACQUIRE)) {
        sleep_ms(100);
        (void)!write(tr->fd, "x", 1);
    }
    return NULL;
}

static void handshake_deadline_is_total(void **state)
{
    struct xmig_tls_config *c;
    struct trickle tr;
    pthread_t th;
    int sv[2];
    double t0, took;

    (void)state;
    if (!certs()) {
        skip();
    }
    c = tls_config(0, 1000);
    tcp_pair(sv);
    tr.fd = sv[1];
    tr.stop = 0;
    assert_int_equal(pthread_create(&th, NULL, trickle_main, &tr), 0);
    t0 = now_s();
    /* The no-progress limit (0.4 s) never fires: octets keep coming. */
    assert_null(xmig_transport_tls_client(sv[0], c));
    took = now_s() - t0;
    __atomic_store_n(&tr.stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    assert_true(took >= 0.95);
    assert_true(took < 1.0 + SLACK_S);
    assert_int_equal(xmig_error_errno(), ETIMEDOUT);
    assert_contains(xmig_error_message(), "within the time limit (1 s) while "
                    "doing the TLS handshake");
    assert_contains(xmig_error_message(), "127.0.0.1:");
    close(sv[1]);
    xmig_tls_config_free(c);
}

static void cancel_during_handshake(void **state)
{
    struct xmig_tls_config *c;
    struct later l = { xmig_cancel_create(), 200 };
    pthread_t th;
    int sv[2];
    double t0;

    (void)state;
    if (!certs()) {
        skip();
    }
    c = tls_config(0, 30000);
    xmig_tls_config_set_cancel(c, l.c);
    tcp_pair(sv);   /* sv[1] says nothing */
    t0 = now_s();
    assert_int_equal(pthread_create(&th, NULL, raise_later, &l), 0);
    assert_null(xmig_transport_tls_client(sv[0], c));
    assert_true(now_s() - t0 < 0.2 + SLACK_S);
    assert_int_equal(xmig_error_errno(), ECANCELED);
    assert_contains(xmig_error_message(), "TLS handshake");
    pthread_join(th, NULL);
    close(sv[1]);
    xmig_tls_config_free(c);
    xmig_cancel_free(l.c);
}

/* A plain sender waits for the banner, a TLS server for a ClientHello:
 * the server says so in plain text, in the line xmig senders read. */
static void tls_server_tells_plain_sender(void **state)
{
    struct xmig_tls_config *c;
    struct xmig_transport *plain;
    int sv[2];
    double t0;

    (void)state;
    if (!certs()) {
        skip();
    }
    c = tls_config(1, 30000);
    tcp_pair(sv);
    t0 = now_s();
    assert_null(xmig_transport_tls_server(sv[1], c));
    assert_true(now_s() - t0 < 2.0 + SLACK_S);
    assert_contains(xmig_error_message(), "not a TLS client");
    plain = xmig_transport_fd(sv[0], 1);
    assert_int_equal(session_expect(plain, session_banner, "waiting for the "
                                    "receiver"), -1);
    assert_contains(xmig_error_message(), "the destination refused the "
                    "guest: this receiver speaks TLS");
    xmig_transport_free(plain);
    xmig_tls_config_free(c);
}

static void tls_client_to_plain_peer_names_tls(void **state)
{
    struct xmig_tls_config *c;
    int sv[2];
    double t0;

    (void)state;
    if (!certs()) {
        skip();
    }
    c = tls_config(0, 30000);
    tcp_pair(sv);
    assert_int_equal(write(sv[1], session_banner, strlen(session_banner)),
                     (ssize_t)strlen(session_banner));
    t0 = now_s();
    assert_null(xmig_transport_tls_client(sv[0], c));
    assert_true(now_s() - t0 < SLACK_S);
    assert_contains(xmig_error_message(), "does not speak TLS");
    close(sv[1]);
    xmig_tls_config_free(c);
}

/* ---- migrations ---------------------------------------------------- */

static struct xmig_guest *guest(void)
{
    struct xmig_sim_config c = { 0 };
    struct xmig_guest *g;

    c.memory_bytes = 4u << 20;
    c.vcpus = 1;
    c.workload = XMIG_SIM_IDLE;
    c.domid = 7;
    c.seed = 1;
    c.fill_percent = 100;
    g = xmig_sim_guest_create(&c);
    assert_non_null(g);
    return g;
}

static int runs(struct xmig_guest *g)
{
    uint64_t h0 = xmig_sim_heartbeat(g);

    for (int i = 0; i < 200; i++) {
        sleep_ms(5);
        if (xmig_sim_heartbeat(g) != h0) {
            return 1;
        }
    }
    return 0;
}

static void cancel_before_round_1(void **state)
{
    struct xmig_guest *g = guest();
    struct xmig_migrate_params p;
    struct xmig_migrate_stats st;
    struct xmig_transport *t;
    int sv[2];
    char buf[8];

    (void)state;
    pair(sv);
    t = xmig_transport_fd(sv[0], 1);
    xmig_migrate_params_init(&p);
    p.cancel = xmig_cancel_create();
    xmig_cancel_raise(p.cancel);
    assert_int_equal(xmig_migrate_send(g, t, &p, &st), -1);
    assert_int_equal(xmig_error_errno(), ECANCELED);
    assert_contains(xmig_error_message(), "runs on at the source");
    assert_int_equal(st.source_paused, 0);
    assert_true(runs(g));
    /* Nothing went out: not one octet for the peer. */
    assert_int_equal(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), -1);
    assert_int_equal(errno, EAGAIN);
    xmig_transport_free(t);
    close(sv[1]);
    xmig_cancel_free(p.cancel);
    xmig_guest_destroy(g);
}

/* The receiver never sends its banner: the cancel ends the wait. */
static void cancel_while_waiting_for_the_receiver(void **state)
{
    struct xmig_guest *g = guest();
    struct xmig_migrate_params p;
    struct xmig_migrate_stats st;
    struct xmig_transport *t;
    struct later l;
    pthread_t th;
    int sv[2];
    double t0;

    (void)state;
    pair(sv);
    t = xmig_transport_fd(sv[0], 1);
    xmig_migrate_params_init(&p);
    p.cancel = l.c = xmig_cancel_create();
    l.ms = 200;
    t0 = now_s();
    assert_int_equal(pthread_create(&th, NULL, raise_later, &l), 0);
    assert_int_equal(xmig_migrate_send(g, t, &p, &st), -1);
    assert_true(now_s() - t0 < 0.2 + SLACK_S);
    assert_int_equal(xmig_error_errno(), ECANCELED);
    assert_contains(xmig_error_message(), "banner");
    assert_true(runs(g));
    pthread_join(th, NULL);
    xmig_transport_free(t);
    close(sv[1]);
    xmig_cancel_free(p.cancel);
    xmig_guest_destroy(g);
}

/* A fake destination: the banner, then as far as stage says. */
enum stage { STALL_IN_STREAM, NO_READY, SILENT_AFTER_GO };

struct fake {
    int fd;
    enum stage stage;
    int done;
};

static int any(void *u, const struct xmig_record *r)
{
    (void)u;
    (void)r;
    return 0;
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    struct xmig_transport *t = xmig_transport_fd(f->fd, 0);
    struct xmig_reader *r;
    char buf[64];

    (void)session_send(t, session_banner);
    if (f->stage == STALL_IN_STREAM) {
        /* A SIGSTOPped receiver: it read a little, then nothing more. */
        (void)!read(f->fd, buf, sizeof(buf));
    } else {
        r = xmig_reader_create(t, XMIG_FORMAT_AUTO);
        if (xmig_reader_run(r, any, NULL) == 0 && f->stage == SILENT_AFTER_GO &&
            session_send(t, session_ready) == 0) {
            (void)session_expect(t, session_go, "waiting for go");
        }
        xmig_reader_free(r);
    }
    while (!__atomic_load_n(&f->done, __ATOMIC_ACQUIRE)) {
        sleep_ms(10);   /* silent, the connection open */
    }
    xmig_transport_free(t);
    return NULL;
}

static int migrate_to_fake(struct xmig_guest *g, enum stage stage,
                           const struct xmig_migrate_params *p,
                           struct xmig_migrate_stats *st, double *took)
{
    struct fake f = { -1, stage, 0 };
    struct xmig_transport *t;
    pthread_t th;
    int sv[2], rc;
    double t0;

    pair(sv);
    f.fd = sv[1];
    t = xmig_transport_fd(sv[0], 1);
    assert_int_equal(pthread_create(&th, NULL, fake_main, &f), 0);
    t0 = now_s();
    rc = xmig_migrate_send(g, t, p, st);
    *took = now_s() - t0;
    __atomic_store_n(&f.done, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    xmig_transport_free(t);
    close(sv[1]);
    return rc;
}

static void receiver_stops_reading_source_resumes(void **state)
{
    struct xmig_guest *g = guest();
    struct xmig_migrate_params p;
    struct xmig_migrate_stats st;
    double took;

    (void)state;
    xmig_migrate_params_init(&p);
    p.io_timeout_ms = LIMIT_MS;
    assert_int_equal(migrate_to_fake(g, STALL_IN_STREAM, &p, &st, &took), -1);
    assert_true(took < SLACK_S + 1);
    assert_int_equal(xmig_error_errno(), ETIMEDOUT);
    assert_contains(xmig_error_message(), "runs on at the source: ");
    assert_contains(xmig_error_message(), "the peer took no data for 0.4 s "
                    "while sending round 1 pages");
    assert_int_equal(st.source_paused, 0);
    assert_true(runs(g));
    xmig_guest_destroy(g);
}

static void receiver_never_confirms_source_resumes(void **state)
{
    struct xmig_guest *g = guest();
    struct xmig_migrate_params p;
    struct xmig_migrate_stats st;
    double took;

    (void)state;
    xmig_migrate_params_init(&p);
    p.io_timeout_ms = LIMIT_MS;
    assert_int_equal(migrate_to_fake(g, NO_READY, &p, &st, &took), -1);
    assert_true(took < SLACK_S + 1);
    assert_contains(xmig_error_message(), "runs on at the source: no data "
                    "from the peer for 0.4 s while waiting for the "
                    "destination to confirm the guest");
    assert_true(runs(g));
    xmig_guest_destroy(g);
}

/* After "go": the handover limit, not the (longer) no-progress one. */
static void silent_after_go(enum xmig_handover_expiry expiry)
{
    struct xmig_guest *g = guest();
    struct xmig_migrate_params p;
    struct xmig_migrate_stats st;
    double took;

    xmig_migrate_params_init(&p);
    assert_int_equal(p.handover_timeout_ms, 30000);
    assert_int_equal(p.handover_expiry, XMIG_HANDOVER_KEEP_PAUSED);
    p.io_timeout_ms = 20000;
    p.handover_timeout_ms = 600;
    p.handover_expiry = expiry;
    assert_int_equal(migrate_to_fake(g, SILENT_AFTER_GO, &p, &st, &took), -1);
    assert_true(took >= 0.6);
    assert_true(took < 0.6 + SLACK_S + 1);
    assert_int_equal(xmig_error_errno(), ETIMEDOUT);
    assert_contains(xmig_error_message(), "within the time limit (0.6 s) "
                    "while waiting for the destination's start result");
    if (expiry == XMIG_HANDOVER_KEEP_PAUSED) {
        assert_contains(xmig_error_message(), "source copy stays paused");
        assert_int_equal(st.source_paused, 1);
        assert_false(runs(g));
        assert_int_equal(xmig_guest_unpause(g), 0);
    } else {
        assert_contains(xmig_error_message(), "resumed at the source");
        assert_int_equal(st.source_paused, 0);
    }
    assert_true(runs(g));
    xmig_guest_destroy(g);
}

static void silent_after_go_keeps_source_paused(void **state)
{
    (void)state;
    silent_after_go(XMIG_HANDOVER_KEEP_PAUSED);
}

static void silent_after_go_resume_policy(void **state)
{
    (void)state;
    silent_after_go(XMIG_HANDOVER_RESUME);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(silent_peer_read_times_out),
        cmocka_unit_test(slow_peer_is_not_silent),
        cmocka_unit_test(stalled_writer_times_out),
        cmocka_unit_test(cancel_ends_blocked_read),
        cmocka_unit_test(handshake_deadline_is_total),
        cmocka_unit_test(cancel_during_handshake),
        cmocka_unit_test(tls_server_tells_plain_sender),
        cmocka_unit_test(tls_client_to_plain_peer_names_tls),
        cmocka_unit_test(cancel_before_round_1),
        cmocka_unit_test(cancel_while_waiting_for_the_receiver),
        cmocka_unit_test(receiver_stops_reading_source_resumes),
        cmocka_unit_test(receiver_never_confirms_source_resumes),
        cmocka_unit_test(silent_after_go_keeps_source_paused),
        cmocka_unit_test(silent_after_go_resume_policy),
    };

    signal(SIGPIPE, SIG_IGN);
    alarm(120);   /* a limit that does not work must not hang the suite */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
