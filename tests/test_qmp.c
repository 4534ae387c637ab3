/*
 * The QMP client (backends/xen/xen_qmp.c) against a fake qemu: a thread on
 * a Unix socket that plays a script of expected commands and replies,
 * with events in between, a device-state fd received over SCM_RIGHTS and
 * written to as qemu would, and the ways qemu can fail: an error reply,
 * silence, a hang-up, lines that are not QMP, a line without end.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/xen/xen_qmp.h"
#include "xmig.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7}}, " \
                 "\"capabilities\": []}}\r\n"
#define EVENT "{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 1}}\r\n"
#define OK "{\"return\": {}}\r\n"

struct step {
    const char *expect;     /* substring of the command line; NULL: none */
    const char *reply;      /* what qemu sends back; NULL: nothing */
    int write_fd;           /* write DEVSTATE into the fd that came along */
    int hang_up;            /* close after reading the command */
};

#define DEVSTATE "QEVM device state"

struct fake {
    char dir[64], path[128];
    int listen_fd;
    const char *greeting;
    const struct step *steps;
    pthread_t thread;
    int got_fd;
    char failure[256];
};

/* One line from the client, and an fd if one came with it. */
static int read_cmd(int s, char *buf, size_t len, int *fd)
{
    size_t have = 0;

    *fd = -1;
    while (have < len - 1) {
        char cbuf[CMSG_SPACE(sizeof(int))];
        struct iovec iov = { buf + have, 1 };
        struct msghdr m = { 0 };
        struct cmsghdr *c;
        ssize_t n;

        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = cbuf;
        m.msg_controllen = sizeof(cbuf);
        n = recvmsg(s, &m, 0);
        if (n <= 0) {
            return -1;
        }
        c = CMSG_FIRSTHDR(&m);
        if (c && c->cmsg_type == SCM_RIGHTS) {
            memcpy(fd, CMSG_DATA(c), sizeof(int));
        }
        if (buf[have++] == '\n') {
            break;
        }
    }
    buf[have] = '\0';
    return 0;
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    int s = accept(f->listen_fd, NULL, NULL);
    char line[4096];

    if (s < 0) {
        snprintf(f->failure, sizeof(f->failure), "accept: %s",
                 strerror(errno));
        return NULL;
    }
    if (f->greeting) {
        (void)!send(s, f->greeting, strlen(f->greeting), MSG_NOSIGNAL);
    }
    for (const struct step *st = f->steps; st && st->expect; st++) {
        int fd;
        if (read_cmd(s, line, sizeof(line), &fd) < 0) {
            snprintf(f->failure, sizeof(f->failure), "no command (wanted "
                     "%s)", st->expect);
            break;
        }
        if (!strstr(line, st->expect)) {
            snprintf(f->failure, sizeof(f->failure), "got %.120s, wanted "
                     "%.100s", line, st->expect);
            break;
        }
        if (fd >= 0) {
            f->got_fd = fd;
        }
        if (st->write_fd && f->got_fd >= 0) {
            (void)!write(f->got_fd, DEVSTATE, strlen(DEVSTATE));
            close(f->got_fd);
            f->got_fd = -1;
        }
        if (st->hang_up) {
            close(s);
            return NULL;
        }
        if (st->reply) {
            (void)!send(s, st->reply, strlen(st->reply), MSG_NOSIGNAL);
        }
    }
    /* Silent from here on, until the client goes. */
    while (read(s, line, sizeof(line)) > 0) {
    }
    close(s);
    return NULL;
}

static void fake_start(struct fake *f, const char *greeting,
                       const struct step *steps)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };

    memset(f, 0, sizeof(*f));
    f->got_fd = -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/xmig-qmp.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/qmp", f->dir);
    assert_true(strlen(f->path) < sizeof(a.sun_path));
    memcpy(a.sun_path, f->path, strlen(f->path) + 1);
    f->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(f->listen_fd >= 0);
    assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f->listen_fd, 1), 0);
    f->greeting = greeting;
    f->steps = steps;
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_end(struct fake *f)
{
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    unlink(f->path);
    rmdir(f->dir);
    if (f->failure[0]) {
        fail_msg("fake qemu: %s", f->failure);
    }
}

/* A migration's conversation: capabilities, dirty log on and off, stop,
 * the device state into our fd (add-fd, then /dev/fdset/N), cont; with
 * events before replies, as qemu sends them. */
static void whole_conversation(void **state)
{
    static const struct step steps[] = {
        { "\"qmp_capabilities\"", EVENT OK, 0, 0 },
        { "{\"execute\":\"xen-set-global-dirty-log\",\"arguments\":"
          "{\"enable\":true}}", EVENT EVENT OK, 0, 0 },
        { "{\"enable\":false}", OK, 0, 0 },
        { "\"stop\"", EVENT "{\"return\": {}, \"id\": null}\r\n", 0, 0 },
        { "\"add-fd\"", "{\"return\": {\"fdset-id\": 7, \"fd\": 31}}\r\n", 0,
          0 },
        { "{\"execute\":\"xen-save-devices-state\",\"arguments\":{\"filename\":"
          "\"/dev/fdset/7\",\"live\":true}}", OK, 1, 0 },
        { "\"cont\"", OK, 0, 0 },
        { NULL, NULL, 0, 0 },
    };
    struct fake f;
    struct xen_qmp *q;
    char got[64] = "";
    int fd = memfd_create("devstate", 0);

    assert_true(fd >= 0);
    fake_start(&f, GREETING, steps);
    q = xen_qmp_connect(f.path, 5000);
    if (!q) {
        fail_msg("connect: %s", xmig_error_message());
    }
    assert_int_equal(xen_qmp_dirty_log(q, 1), 0);
    assert_int_equal(xen_qmp_dirty_log(q, 0), 0);
    assert_int_equal(xen_qmp_stop(q), 0);
    if (xen_qmp_save_devices_state(q, fd, 1) < 0) {
        fail_msg("save: %s", xmig_error_message());
    }
    assert_int_equal(xen_qmp_cont(q), 0);
    xen_qmp_close(q);
    fake_end(&f);
    assert_int_equal(pread(fd, got, sizeof(got) - 1, 0),
                     (ssize_t)strlen(DEVSTATE));
    assert_string_equal(got, DEVSTATE);
    close(fd);
    (void)state;
}

/* connect's or stop's failure, with its message. */
static void expect_failure(const char *greeting, const struct step *steps,
                           int connects, int timeout_ms, const char *want)
{
    struct fake f;
    struct xen_qmp *q;

    fake_start(&f, greeting, steps);
    q = xen_qmp_connect(f.path, timeout_ms);
    if (connects) {
        if (!q) {
            fail_msg("connect: %s", xmig_error_message());
        }
        assert_int_equal(xen_qmp_stop(q), -1);
        xen_qmp_close(q);
    } else {
        assert_null(q);
    }
    if (!strstr(xmig_error_message(), want)) {
        fail_msg("error '%s' does not say '%s'", xmig_error_message(), want);
    }
    /* The fake may see the client leave early: that is not its failure. */
    pthread_join(f.thread, NULL);
    close(f.listen_fd);
    unlink(f.path);
    rmdir(f.dir);
}

static void failures(void **state)
{
    static const struct step refused[] = {
        { "\"qmp_capabilities\"", OK, 0, 0 },
        { "\"stop\"", "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                      "\"the VM is migrating\"}}\r\n", 0, 0 },
        { NULL, NULL, 0, 0 },
    };
    static const struct step silent[] = {
        { "\"qmp_capabilities\"", OK, 0, 0 },
        { "\"stop\"", NULL, 0, 0 },
        { NULL, NULL, 0, 0 },
    };
    static const struct step hangup[] = {
        { "\"qmp_capabilities\"", OK, 0, 0 },
        { "\"stop\"", NULL, 0, 1 },
        { NULL, NULL, 0, 0 },
    };
    static const struct step garbage[] = {
        { "\"qmp_capabilities\"", OK, 0, 0 },
        { "\"stop\"", "{\"return\": {}, \"return\": {}}\r\n", 0, 0 },
        { NULL, NULL, 0, 0 },
    };
    static const struct step nul[] = {
        { "\"qmp_capabilities\"", OK, 0, 0 },
        { "\"stop\"", "not json\r\n", 0, 0 },
        { NULL, NULL, 0, 0 },
    };
    static char big[70000];

    expect_failure(GREETING, refused, 1, 5000,
                   "qemu refused stop: the VM is migrating (GenericError)");
    expect_failure(GREETING, silent, 1, 300, "no answer from qemu in 300 ms");
    expect_failure(GREETING, hangup, 1, 5000, "qemu closed the connection");
    expect_failure(GREETING, garbage, 1, 5000, "duplicate object key");
    expect_failure(GREETING, nul, 1, 5000, "QMP: not JSON");
    expect_failure(OK, NULL, 0, 5000, "no greeting from qemu");
    expect_failure(NULL, NULL, 0, 300, "no answer from qemu in 300 ms");
    memset(big, 'x', sizeof(big) - 1);
    expect_failure(big, NULL, 0, 5000, "a line longer than 65536 octets");
    (void)state;
}

static void no_qemu(void **state)
{
    assert_null(xen_qmp_connect("/nonexistent/qmp-libxl-7", 1000));
    assert_non_null(strstr(xmig_error_message(),
                           "QMP /nonexistent/qmp-libxl-7: cannot connect to "
                           "qemu: No such file or directory"));
    (void)state;
}

/* The classifier the fuzzer drives. */
static void classify(void **state)
{
    json_t *v;

    assert_int_equal(xen_qmp_parse_line(OK, strlen(OK), &v), QMP_RETURN);
    assert_true(json_is_object(v));
    json_decref(v);
    assert_int_equal(xen_qmp_parse_line(EVENT, strlen(EVENT), &v), QMP_EVENT);
    assert_null(v);
    assert_int_equal(xen_qmp_parse_line(GREETING, strlen(GREETING), &v),
                     QMP_GREETING);
    assert_int_equal(xen_qmp_parse_line("[1]", 3, &v), QMP_BAD);
    assert_int_equal(xen_qmp_parse_line("{\"x\": 1}", 8, &v), QMP_BAD);
    assert_int_equal(xen_qmp_parse_line("{\"event\": 1}", 12, &v), QMP_BAD);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_conversation),
        cmocka_unit_test(failures),
        cmocka_unit_test(no_qemu),
        cmocka_unit_test(classify),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
