/*
 * The xen backend without a hypervisor:
 *
 * 1. xmig_xen_guest_open() (and the destination's adopt) fail cleanly on a
 *    machine without Xen, naming the cause: no /proc/xen, or a build
 *    without Xen support.  Skipped where a Xen control domain is present.
 * 2. The pure conversions of backends/xen/xen_convert.c on fake inputs:
 *    EVTCHNOP_status reports to ports, a port walk, grant frames (v1, v2)
 *    to entries, xenstore permissions, a xenstore listing walked into
 *    nodes in path order ('/' lowest, parents first), the log-dirty bitmap,
 *    the throttle cap, what Xen 4.17 can restore, and which guests xmig
 *    refuses to move (xen_carry_refusal).
 * 3. The state those conversions build goes through xmig's writer and
 *    reader as a transparent stream and comes back equal: their output
 *    obeys every rule of docs/specs/transparent-migration-records.md.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/xen/xen_convert.h"
#include "common/cursor.h"
#include "common/error.h"
#include "tests/support.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int have_xen_here(void)
{
    return access("/proc/xen", F_OK) == 0 ||
           access("/dev/xen/privcmd", F_OK) == 0;
}

static void assert_error(enum xmig_error_category cat, const char *text)
{
    if (xmig_error_category() != cat || !strstr(xmig_error_message(), text)) {
        print_error("want [%s] \"%s\", got [%s] \"%s\"\n",
                    xmig_error_category_name(cat), text,
                    xmig_error_category_name(xmig_error_category()),
                    xmig_error_message());
        fail();
    }
}

/* ---- 1. no hypervisor ------------------------------------------------ */

static void open_without_xen(void **state)
{
    (void)state;
    if (xen_backend_built() && have_xen_here()) {
        skip();   /* a Xen control domain: the rig's tests cover it */
    }
    assert_null(xmig_xen_guest_open(1));
    if (xen_backend_built()) {
        assert_error(XMIG_ERR_UNSUPPORTED, "no Xen hypervisor here: "
                                           "/proc/xen missing");
    } else {
        assert_error(XMIG_ERR_UNSUPPORTED, "built without Xen support "
                                           "(configure --with-xen)");
    }
    assert_null(xen_guest_adopt(5, NULL));
    assert_error(XMIG_ERR_UNSUPPORTED, xen_backend_built()
                                           ? "no Xen hypervisor here"
                                           : "built without Xen support");
}

static void open_refuses_reserved_domids(void **state)
{
    static const uint32_t bad[] = { 0, 0x7FF0, 0x7FF1, 0xFFFF, 0x10000 };

    (void)state;
    if (!xen_backend_built()) {
        skip();
    }
    for (size_t i = 0; i < NELEM(bad); i++) {
        assert_null(xmig_xen_guest_open(bad[i]));
        assert_error(XMIG_ERR_USAGE, "cannot be migrated");
    }
}

/* ---- 2. event channels ----------------------------------------------- */

static void evtchn_states(void **state)
{
    struct xen_evtchn_raw r;
    struct xmig_evtchn_port p;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.port = 9;
    assert_int_equal(xen_evtchn_from_raw(&r, &p), 0);   /* closed */

    r = (struct xen_evtchn_raw){ 1, 2, 0, 0, 33, 0, 1, 0 };
    assert_int_equal(xen_evtchn_from_raw(&r, &p), 1);
    assert_int_equal(p.port, 1);
    assert_int_equal(p.state, XMIG_EVTCHN_INTERDOMAIN);
    assert_int_equal(p.remote_domid, 0);
    assert_int_equal(p.remote_port, 33);
    assert_int_equal(p.flags, XMIG_EVTCHN_PENDING);

    r = (struct xen_evtchn_raw){ 6, 1, 0, 3, 99, 0, 0, 1 };
    assert_int_equal(xen_evtchn_from_raw(&r, &p), 1);
    assert_int_equal(p.state, XMIG_EVTCHN_UNBOUND);
    assert_int_equal(p.remote_domid, 3);
    assert_int_equal(p.remote_port, 0);     /* unbound: no remote port */
    assert_int_equal(p.flags, XMIG_EVTCHN_MASKED);

    r = (struct xen_evtchn_raw){ 3, 4, 2, 0, 0, 23, 0, 0 };
    assert_int_equal(xen_evtchn_from_raw(&r, &p), 1);
    assert_int_equal(p.state, XMIG_EVTCHN_VIRQ);
    assert_int_equal(p.vcpu, 2);
    assert_int_equal(p.number, 23);

    r = (struct xen_evtchn_raw){ 7, 3, 0, 5, 5, 40, 0, 0 };
    assert_int_equal(xen_evtchn_from_raw(&r, &p), 1);
    assert_int_equal(p.state, XMIG_EVTCHN_PIRQ);
    assert_int_equal(p.number, 40);
    assert_int_equal(p.remote_domid, 0);   /* not carried for PIRQ */

    r = (struct xen_evtchn_raw){ 4, 5, 1, 0, 0, 0, 0, 0 };
    assert_int_equal(xen_evtchn_from_raw(&r, &p), 1);
    assert_int_equal(p.state, XMIG_EVTCHN_IPI);
    assert_int_equal(p.vcpu, 1);
}

static void evtchn_refusals(void **state)
{
    static const struct {
        struct xen_evtchn_raw r;
        const char *text;
    } rows[] = {
        { { 3, 4, 0, 0, 0, 24, 0, 0 }, "beyond NR_VIRQS" },
        { { 2, 2, 0, 0x7FF0, 1, 0, 0, 0 }, "reserved domain 0x7ff0" },
        { { 2, 1, 0, 0x7FF2, 0, 0, 0, 0 }, "reserved domain 0x7ff2" },
        { { 2, 2, 0, 0, 0, 0, 0, 0 }, "remote port 0" },
        { { 2, 6, 0, 0, 0, 0, 0, 0 }, "state 6" },
        { { 2, 5, 4096, 0, 0, 0, 0, 0 }, "vCPU 4096" },
        { { 0, 5, 0, 0, 0, 0, 0, 0 }, "port 0 is outside" },
        { { 131072, 5, 0, 0, 0, 0, 0, 0 }, "port 131072 is outside" },
    };
    struct xmig_evtchn_port p;

    (void)state;
    for (size_t i = 0; i < NELEM(rows); i++) {
        assert_int_equal(xen_evtchn_from_raw(&rows[i].r, &p), -1);
        assert_error(XMIG_ERR_UNSUPPORTED, rows[i].text);
    }
}

/* A domain's ports as EVTCHNOP_status would report them. */
struct fake_evtchn {
    uint32_t valid;          /* ports 0 .. valid-1 exist */
    uint32_t fail_at;        /* an I/O error there (0: none) */
    uint32_t asked;
};

static int fake_query(void *user, uint32_t port, struct xen_evtchn_raw *out)
{
    struct fake_evtchn *f = user;

    f->asked++;
    if (f->fail_at && port == f->fail_at) {
        return err_set(XMIG_ERR_IO, EIO, "fake EVTCHNOP_status failed");
    }
    if (port >= f->valid) {
        return 1;
    }
    switch (port) {
    case 1:
        *out = (struct xen_evtchn_raw){ 1, 2, 0, 0, 33, 0, 0, 0 };
        break;
    case 2:
        *out = (struct xen_evtchn_raw){ 2, 2, 0, 0, 34, 0, 1, 0 };
        break;
    case 3:
        *out = (struct xen_evtchn_raw){ 3, 4, 0, 0, 0, 0, 0, 0 };
        break;
    case 4:
        *out = (struct xen_evtchn_raw){ 4, 5, 1, 0, 0, 0, 0, 0 };
        break;
    case 6:
        *out = (struct xen_evtchn_raw){ 6, 1, 0, 0, 0, 0, 0, 1 };
        break;
    case 40:
        *out = (struct xen_evtchn_raw){ 40, 4, 1, 0, 0, 0, 0, 0 };
        break;
    case 5000:
        *out = (struct xen_evtchn_raw){ 5000, 5, 0, 0, 0, 0, 0, 0 };
        break;
    default:
        out->status = 0;       /* closed */
        break;
    }
    out->port = 12345;         /* the walk keeps its own port number */
    return 0;
}

static void evtchn_walk(void **state)
{
    struct xmig_transparent_state *st = xmig_transparent_state_create();
    struct fake_evtchn f = { 64, 0, 0 };
    static const uint32_t want[] = { 1, 2, 3, 4, 6, 40 };

    (void)state;
    assert_non_null(st);
    assert_int_equal(xen_evtchn_collect(fake_query, &f, 0, st), 0);
    assert_int_equal(f.asked, 64);          /* 1..63, then "beyond" */
    assert_int_equal(st->nports, NELEM(want));
    for (size_t i = 0; i < NELEM(want); i++) {
        assert_int_equal(st->ports[i].port, want[i]);
    }
    assert_int_equal(st->ports[1].flags, XMIG_EVTCHN_PENDING);
    assert_int_equal(st->ports[5].state, XMIG_EVTCHN_VIRQ);
    assert_int_equal(st->evtchn_abi, XMIG_EVTCHN_ABI_2L);
    assert_int_equal(st->evtchn_max_port, 63);

    /* A limit stops the walk. */
    f = (struct fake_evtchn){ 64, 0, 0 };
    assert_int_equal(xen_evtchn_collect(fake_query, &f, 5, st), 0);
    assert_int_equal(f.asked, 5);
    assert_int_equal(st->nports, 4);

    /* Ports beyond 4095 exist only under FIFO. */
    f = (struct fake_evtchn){ 5120, 0, 0 };
    assert_int_equal(xen_evtchn_collect(fake_query, &f, 0, st), 0);
    assert_int_equal(st->evtchn_abi, XMIG_EVTCHN_ABI_FIFO);
    assert_int_equal(st->evtchn_max_port, 5119);
    assert_int_equal(st->ports[st->nports - 1].port, 5000);

    /* An error ends the walk and leaves the state as it was. */
    f = (struct fake_evtchn){ 64, 30, 0 };
    assert_int_equal(xen_evtchn_collect(fake_query, &f, 0, st), -1);
    assert_error(XMIG_ERR_IO, "fake EVTCHNOP_status failed");
    assert_int_equal(st->ports[st->nports - 1].port, 5000);
    xmig_transparent_state_free(st);
}

/* ---- 2. grant table -------------------------------------------------- */

static void put_v1(uint8_t *frames, uint32_t ref, uint16_t flags,
                   uint16_t domid, uint32_t frame)
{
    uint8_t *e = frames + (size_t)ref * 8;
    put_le16(e, flags);
    put_le16(e + 2, domid);
    put_le32(e + 4, frame);
}

static void gnttab_v1(void **state)
{
    uint8_t *frames = calloc(2, XEN_PAGE);
    struct xmig_grant_entry *e = NULL;
    uint32_t n = 0;

    (void)state;
    assert_non_null(frames);
    put_v1(frames, 0, 0x1, 0, 0xfefff);
    put_v1(frames, 1, 0x1, 0, 0xfeffc);
    put_v1(frames, 511, 0x1 | 0x4 | 0x8, 3, 0x1234);   /* ro, reading */
    put_v1(frames, 512, 0x2, 0, 0x77);                 /* accept_transfer */
    put_v1(frames, 1023, 0x1, 0x7FEF, 0xFFFFFFFFu);
    assert_int_equal(xen_gnttab_entries(1, frames, 2, NULL, 0, &e, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(e[0].ref, 0);
    assert_int_equal(e[0].frame, 0xfefff);
    assert_int_equal(e[2].ref, 511);
    assert_int_equal(e[2].flags, 0xd);
    assert_int_equal(e[2].domid, 3);
    assert_int_equal(e[2].frame, 0x1234);
    assert_int_equal(e[3].ref, 512);
    assert_int_equal(e[3].flags, 0x2);
    assert_int_equal(e[4].ref, 1023);
    assert_int_equal(e[4].domid, 0x7FEF);
    assert_int_equal(e[4].frame, 0xFFFFFFFFu);
    assert_int_equal(e[4].status, 0);
    free(e);

    /* Only one frame: the entries of the second are not looked at. */
    assert_int_equal(xen_gnttab_entries(1, frames, 1, NULL, 0, &e, &n), 0);
    assert_int_equal(n, 3);
    free(e);

    /* An empty table. */
    memset(frames, 0, 2 * XEN_PAGE);
    assert_int_equal(xen_gnttab_entries(1, frames, 2, NULL, 0, &e, &n), 0);
    assert_int_equal(n, 0);
    free(e);

    assert_int_equal(xen_gnttab_entries(3, frames, 1, NULL, 0, &e, &n), -1);
    assert_error(XMIG_ERR_UNSUPPORTED, "version 3");
    assert_int_equal(xen_gnttab_entries(1, frames, 1025, NULL, 0, &e, &n),
                     -1);
    assert_error(XMIG_ERR_LIMIT, "1025 frames");
    free(frames);
}

static void put_v2(uint8_t *frames, uint32_t ref, uint16_t flags,
                   uint16_t domid, uint16_t a, uint16_t b, uint64_t tail)
{
    uint8_t *e = frames + (size_t)ref * 16;
    put_le16(e, flags);
    put_le16(e + 2, domid);
    put_le16(e + 4, a);
    put_le16(e + 6, b);
    put_le64(e + 8, tail);
}

static void gnttab_v2(void **state)
{
    uint8_t *frames = calloc(9, XEN_PAGE);     /* 9 shared frames */
    uint8_t *status = calloc(2, XEN_PAGE);     /* ceil(9/8) status frames */
    struct xmig_grant_entry *e = NULL;
    uint32_t n = 0;

    (void)state;
    assert_non_null(frames);
    assert_non_null(status);
    assert_int_equal(xen_gnttab_status_frames(1), 1);
    assert_int_equal(xen_gnttab_status_frames(8), 1);
    assert_int_equal(xen_gnttab_status_frames(9), 2);
    put_v2(frames, 0, 0x1, 0, 0, 0, 0xfefff);               /* full page */
    put_v2(frames, 5, 0x101, 0, 512, 1024, 0x1235);         /* sub-page */
    put_le16(status + 5 * 2, 0x8);                          /* reading */
    put_v2(frames, 9, 0x3, 0, 3, 0, 17);                    /* transitive */
    put_le16(status + 200 * 2, 0x10);                       /* status only */
    put_v2(frames, 2303, 0x5, 1, 0, 0, 0x2000);             /* last ref */
    put_le16(status + 2303 * 2, 0x8);
    assert_int_equal(xen_gnttab_entries(2, frames, 9, status, 2, &e, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(e[0].ref, 0);
    assert_int_equal(e[0].frame, 0xfefff);
    assert_int_equal(e[1].ref, 5);
    assert_int_equal(e[1].flags, 0x101);
    assert_int_equal(e[1].page_off, 512);
    assert_int_equal(e[1].length, 1024);
    assert_int_equal(e[1].frame, 0x1235);
    assert_int_equal(e[1].status, 0x8);
    assert_int_equal(e[2].ref, 9);
    assert_int_equal(e[2].trans_domid, 3);
    assert_int_equal(e[2].trans_gref, 17);
    assert_int_equal(e[2].frame, 0);
    assert_int_equal(e[3].ref, 200);
    assert_int_equal(e[3].flags, 0);
    assert_int_equal(e[3].status, 0x10);
    assert_int_equal(e[4].ref, 2303);
    assert_int_equal(e[4].domid, 1);
    assert_int_equal(e[4].status, 0x8);
    free(e);

    /* Too few status frames for the table. */
    assert_int_equal(xen_gnttab_entries(2, frames, 9, status, 1, &e, &n), -1);
    assert_error(XMIG_ERR_USAGE, "needs 2 status frames");
    assert_int_equal(xen_gnttab_entries(2, frames, 1, NULL, 0, &e, &n), -1);
    free(frames);
    free(status);
}

/* ---- 2. xenstore ----------------------------------------------------- */

static void xs_perms(void **state)
{
    static const struct {
        struct xen_xs_raw_perm raw;
        uint8_t perm, flags;
    } rows[] = {
        { { 0, 0x00 }, 'n', 0 },    { { 7, 0x01 }, 'r', 0 },
        { { 7, 0x02 }, 'w', 0 },    { { 7, 0x03 }, 'b', 0 },
        { { 9, 0x11 }, 'r', 0x01 }, { { 9, 0x10 }, 'n', 0x01 },
        { { 0x7FEF, 0x3 }, 'b', 0 },
    };
    struct xmig_xs_perm p;
    struct xen_xs_raw_perm bad = { 0x7FF0, 1 };

    (void)state;
    for (size_t i = 0; i < NELEM(rows); i++) {
        assert_int_equal(xen_xs_perm_from_raw(&rows[i].raw, &p), 0);
        assert_int_equal(p.perm, rows[i].perm);
        assert_int_equal(p.flags, rows[i].flags);
        assert_int_equal(p.domid, rows[i].raw.id);
    }
    assert_int_equal(xen_xs_perm_from_raw(&bad, &p), -1);
    assert_error(XMIG_ERR_UNSUPPORTED, "domain 32752");
}

static void xs_path_order(void **state)
{
    (void)state;
    assert_true(xen_xs_path_cmp("/a/b", "/a-b") < 0);   /* '/' lowest */
    assert_true(xen_xs_path_cmp("/a-b", "/a/b") > 0);
    assert_true(xen_xs_path_cmp("/a", "/a/b") < 0);     /* parent first */
    assert_true(xen_xs_path_cmp("/a/b", "/a") > 0);
    assert_true(xen_xs_path_cmp("/a/zzz", "/a0") < 0);  /* subtree first */
    assert_true(xen_xs_path_cmp("/A", "/a") < 0);
    assert_true(xen_xs_path_cmp("/a_b", "/a-b") > 0);
    assert_int_equal(xen_xs_path_cmp("/x/y", "/x/y"), 0);
    assert_true(xen_xs_path_cmp("", "/") < 0);
}

struct fake_node {
    const char *path;           /* below /local/domain/7 ("" the home) */
    const char *value;
    unsigned int value_len;
    struct xen_xs_raw_perm perms[2];
    unsigned int nperms;
};

#define OWN7 { { 7, 0 }, { 0, 0x1 } }, 2
#define OWN0 { { 0, 0 }, { 7, 0x1 } }, 2

/* Listed out of order on purpose: the walk sorts. */
static const struct fake_node fake_tree[] = {
    { "/name", "guest-7", 7, OWN0 },
    { "/device-misc", "x", 1, OWN7 },
    { "/device/vif/0/state", "4", 1, OWN7 },
    { "/device/vif/0/event-channel", "6", 1, OWN7 },
    { "/device/vif/0", "", 0, OWN7 },
    { "/device/vif", "", 0, OWN7 },
    { "/device", "", 0, OWN7 },
    { "/data/bin", "a\0b", 3, { { 7, 0x10 }, { 0, 0x3 } }, 2 },
    { "/data", "", 0, OWN7 },
    { "/a_b", "1", 1, { { 7, 0 } }, 1 },
    { "/A", "2", 1, OWN7 },
    { "", "", 0, OWN0 },
};

static const char *const walk_order[] = {
    "", "/A", "/a_b", "/data", "/data/bin", "/device", "/device/vif",
    "/device/vif/0", "/device/vif/0/event-channel", "/device/vif/0/state",
    "/device-misc", "/name",
};

#define HOME "/local/domain/7"

struct fake_xs {
    const struct fake_node *nodes;
    size_t n;
    const char *fail_dir, *fail_read, *bad_child;
};

static const struct fake_node *find_fake(struct fake_xs *f, const char *path)
{
    if (strncmp(path, HOME, strlen(HOME)) != 0) {
        return NULL;
    }
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(path + strlen(HOME), f->nodes[i].path) == 0) {
            return &f->nodes[i];
        }
    }
    return NULL;
}

/* The children's names in one malloc'd block, as xs_directory gives. */
static char **fake_dir(void *user, const char *path, unsigned int *num)
{
    struct fake_xs *f = user;
    const char *rel = path + strlen(HOME), *names[32];
    size_t size = 0, rl = strlen(rel), k = 0;
    char **out, *s;

    if (!find_fake(f, path) || (f->fail_dir && !strcmp(rel, f->fail_dir))) {
        errno = ENOENT;
        return NULL;
    }
    for (size_t i = 0; i < f->n; i++) {
        const char *p = f->nodes[i].path;
        if (strncmp(p, rel, rl) == 0 && p[rl] == '/' &&
            !strchr(p + rl + 1, '/')) {
            names[k++] = p + rl + 1;
            size += strlen(p + rl + 1) + 1;
        }
    }
    if (f->bad_child && !strcmp(rel, "")) {
        names[k++] = f->bad_child;
        size += strlen(f->bad_child) + 1;
    }
    out = malloc(k * sizeof(char *) + size + 1);
    assert_non_null(out);
    s = (char *)(out + k);
    for (size_t i = 0; i < k; i++) {
        out[i] = s;
        strcpy(s, names[i]);
        s += strlen(names[i]) + 1;
    }
    *num = (unsigned int)k;
    return out;
}

static void *fake_read(void *user, const char *path, unsigned int *len)
{
    struct fake_xs *f = user;
    const struct fake_node *n = find_fake(f, path);
    char *v;

    if (!n || (f->fail_read && !strcmp(n->path, f->fail_read))) {
        errno = ENOENT;
        return NULL;
    }
    v = malloc(n->value_len + 1);
    assert_non_null(v);
    memcpy(v, n->value, n->value_len);
    v[n->value_len] = '\0';
    *len = n->value_len;
    return v;
}

static struct xen_xs_raw_perm *fake_perms(void *user, const char *path,
                                          unsigned int *num)
{
    const struct fake_node *n = find_fake(user, path);
    struct xen_xs_raw_perm *p;

    if (!n) {
        errno = ENOENT;
        return NULL;
    }
    p = malloc(sizeof(n->perms));
    assert_non_null(p);
    memcpy(p, n->perms, sizeof(n->perms));
    *num = n->nperms;
    return p;
}

static const struct xen_xs_ops fake_ops = { fake_dir, fake_read, fake_perms };

static void xs_walk(void **state)
{
    struct xmig_transparent_state *st = xmig_transparent_state_create();
    struct fake_xs f = { fake_tree, NELEM(fake_tree), NULL, NULL, NULL };

    (void)state;
    assert_non_null(st);
    assert_int_equal(xen_xs_walk(&fake_ops, &f, 7, st), 0);
    assert_int_equal(st->nnodes, NELEM(walk_order));
    for (uint32_t i = 0; i < st->nnodes; i++) {
        char want[128];
        snprintf(want, sizeof(want), HOME "%s", walk_order[i]);
        assert_string_equal(st->nodes[i].path, want);
        if (i) {
            assert_true(xen_xs_path_cmp(st->nodes[i - 1].path,
                                        st->nodes[i].path) < 0);
        }
    }
    /* values (with a NUL inside) and permissions */
    assert_int_equal(st->nodes[4].value_len, 3);
    assert_memory_equal(st->nodes[4].value, "a\0b", 3);
    assert_int_equal(st->nodes[4].nperms, 2);
    assert_int_equal(st->nodes[4].perms[0].perm, 'n');
    assert_int_equal(st->nodes[4].perms[0].flags, 0x01);   /* stale */
    assert_int_equal(st->nodes[4].perms[1].perm, 'b');
    assert_int_equal(st->nodes[0].perms[0].domid, 0);       /* dom0 owns */
    assert_int_equal(st->nodes[0].perms[1].perm, 'r');
    assert_int_equal(st->nodes[0].perms[1].domid, 7);
    assert_int_equal(st->nodes[2].nperms, 1);
    assert_int_equal(st->nodes[11].value_len, 7);
    assert_memory_equal(st->nodes[11].value, "guest-7", 7);

    /* Failures name the node and leave the state as it was. */
    f.fail_read = "/device/vif/0";
    assert_int_equal(xen_xs_walk(&fake_ops, &f, 7, st), -1);
    assert_error(XMIG_ERR_IO, "reading xenstore node " HOME "/device/vif/0");
    assert_int_equal(st->nnodes, NELEM(walk_order));
    f.fail_read = NULL;
    f.fail_dir = "/data";
    assert_int_equal(xen_xs_walk(&fake_ops, &f, 7, st), -1);
    assert_error(XMIG_ERR_IO, "listing xenstore node " HOME "/data");
    f.fail_dir = NULL;
    f.bad_child = "a.b";
    assert_int_equal(xen_xs_walk(&fake_ops, &f, 7, st), -1);
    assert_error(XMIG_ERR_UNSUPPORTED, "child named \"a.b\"");
    f.bad_child = NULL;
    /* No home at all. */
    assert_int_equal(xen_xs_walk(&fake_ops, &f, 8, st), -1);
    assert_error(XMIG_ERR_IO, "reading xenstore node /local/domain/8");
    assert_int_equal(st->nnodes, NELEM(walk_order));
    xmig_transparent_state_free(st);
}

/* ---- 2. restore, memory, throttle ------------------------------------ */

static void restorable(void **state)
{
    struct xmig_evtchn_port port = { 1, XMIG_EVTCHN_INTERDOMAIN, 0, 0, 0, 0,
                                     33, 0 };
    struct xmig_grant_map map = { 1, 0, XMIG_GNTMAP_HOST_MAP, 8, 0x1000 };
    struct xmig_xs_watch watch = { "device", "devices" };
    struct xmig_xs_perm stale[2] = { { 'n', 0x01, 9 }, { 'r', 0, 7 } };
    struct xmig_xs_perm fine[2] = { { 'n', 0, 7 }, { 'r', 0x01, 9 } };
    struct xmig_xs_node node = { "/local/domain/7", NULL, 0, 2, fine, NULL };
    struct xmig_transparent_state st;

    (void)state;
    memset(&st, 0, sizeof(st));
    assert_int_equal(xen_transparent_restorable(&st), 0);   /* nothing */

    st.flags = XMIG_TRANSPARENT_EVTCHN;
    st.evtchn_abi = XMIG_EVTCHN_ABI_2L;
    assert_int_equal(xen_transparent_restorable(&st), 0);   /* no ports */
    st.ports = &port;
    st.nports = 1;
    assert_int_equal(xen_transparent_restorable(&st), -1);
    assert_error(XMIG_ERR_UNSUPPORTED, "EVTCHN_PORTS: Xen 4.17 cannot bind "
                                       "an event channel at a chosen port "
                                       "(port 1, interdomain");
    st.evtchn_abi = XMIG_EVTCHN_ABI_FIFO;
    assert_int_equal(xen_transparent_restorable(&st), -1);
    assert_error(XMIG_ERR_UNSUPPORTED, "EVTCHN_FIFO: Xen 4.17 cannot");

    memset(&st, 0, sizeof(st));
    st.flags = XMIG_TRANSPARENT_GNTTAB;
    st.gnt_version = 1;
    assert_int_equal(xen_transparent_restorable(&st), 0);
    st.maps = &map;
    st.nmaps = 1;
    assert_int_equal(xen_transparent_restorable(&st), -1);
    assert_error(XMIG_ERR_UNSUPPORTED, "GRANT_MAPS: Xen 4.17 cannot map");
    st.gnt_version = 2;
    assert_int_equal(xen_transparent_restorable(&st), -1);
    assert_error(XMIG_ERR_UNSUPPORTED, "GRANT_TABLE: Xen 4.17 cannot set "
                                       "another domain's grant table to "
                                       "version 2");

    memset(&st, 0, sizeof(st));
    st.flags = XMIG_TRANSPARENT_XENSTORE;
    st.nodes = &node;
    st.nnodes = 1;
    assert_int_equal(xen_transparent_restorable(&st), 0);  /* stale 2nd ok */
    node.perms = stale;
    assert_int_equal(xen_transparent_restorable(&st), -1);
    assert_error(XMIG_ERR_UNSUPPORTED, "XENSTORE_NODES: the owner of "
                                       "/local/domain/7 is a stale");
    node.perms = fine;
    st.watches = &watch;
    st.nwatches = 1;
    assert_int_equal(xen_transparent_restorable(&st), -1);
    assert_error(XMIG_ERR_UNSUPPORTED, "XENSTORE_WATCHES: Xen 4.17's "
                                       "xenstored cannot register a watch");
    assert_non_null(strstr(xen_transparent_source_gaps, "XENSTORE_WATCHES"));
}

static void bitmap_take(void **state)
{
    uint8_t xen[24];
    uint64_t bm[3] = { 1, 2, 3 };

    (void)state;
    memset(xen, 0, sizeof(xen));
    xen[0] = 0x81;          /* pfns 0 and 7 */
    xen[8] = 0x01;          /* pfn 64 */
    xen[15] = 0x80;         /* pfn 127 */
    xen[16] = 0xFF;         /* pfns 128..135: only 128, 129 are guest's */
    xen[23] = 0xFF;
    assert_int_equal(xen_bitmap_take(xen, 130, bm), 6);
    assert_int_equal(bm[0], 0x81);
    assert_int_equal(bm[1], UINT64_C(0x8000000000000001));
    assert_int_equal(bm[2], 0x3);
    /* A whole number of words keeps every bit. */
    assert_int_equal(xen_bitmap_take(xen, 192, bm), 2 + 2 + 16);
    assert_int_equal(bm[2], UINT64_C(0xFF000000000000FF));
}

/* What xmig refuses to move, one row per rule of xen_carry_refusal, plus
 * the guests it moves (want NULL).  A rule that stopped refusing, or a
 * refusal of a movable guest, fails its row. */
static void carry_refusals(void **state)
{
#define HVM XEN_CARRY_TYPE_HVM
#define PVH XEN_CARRY_TYPE_PVH
#define PV XEN_CARRY_TYPE_PV
    static const struct {
        struct xen_carry_facts f;
        const char *want;
    } rows[] = {
        /* moves: PVH, memory = maxmem, or not said */
        { { PVH, XEN_CARRY_DM_QEMU_XEN, 0, 0, 131072, 131072, 0, 0, 0 }, NULL },
        { { PVH, XEN_CARRY_DM_DEFAULT, 0, 0, 0, 0, 0, 0, 0 }, NULL },
        /* moves to libxl (a file, xl migrate-receive): HVM with qemu-xen,
         * its state carried; not with a stub domain or qemu-traditional,
         * nor with what refuses any guest */
        { { HVM, XEN_CARRY_DM_QEMU_XEN, 0, 0, 131072, 131072, 0, 0, 1 }, NULL },
        { { HVM, XEN_CARRY_DM_QEMU_XEN, 1, 0, 0, 0, 0, 0, 1 },
          "HVM guests with a stub-domain device model are not supported" },
        { { HVM, XEN_CARRY_DM_TRADITIONAL, 0, 0, 0, 0, 0, 0, 1 },
          "HVM guests with a qemu-traditional device model are not "
          "supported" },
        { { HVM, XEN_CARRY_DM_DEFAULT, 0, 0, 0, 0, 0, 0, 1 },
          "with a device model: HVM guests with a qemu device model are not "
          "supported yet" },
        { { HVM, XEN_CARRY_DM_QEMU_XEN, 0, 1, 0, 0, 0, 0, 1 },
          "has 1 PCI device passed through" },
        { { HVM, XEN_CARRY_DM_QEMU_XEN, 0, 0, 98304, 131072, 0, 0, 1 },
          "populate-on-demand memory" },
        { { PV, XEN_CARRY_DM_DEFAULT, 0, 0, 131072, 131072, 0, 0, 0 },
          "domain 5 is a PV guest: PV guests are not supported; use xl" },
        { { HVM, XEN_CARRY_DM_QEMU_XEN, 0, 0, 131072, 131072, 0, 0, 0 },
          "domain 5 is an HVM guest with qemu-xen: HVM guests with a qemu "
          "device model are not supported yet: their device state would be "
          "lost; use xl" },
        { { HVM, XEN_CARRY_DM_DEFAULT, 0, 0, 0, 0, 0, 0, 0 },
          "with a device model: HVM guests with a qemu device model are not "
          "supported yet" },
        { { HVM, XEN_CARRY_DM_TRADITIONAL, 0, 0, 0, 0, 0, 0, 0 },
          "HVM guests with a qemu-traditional device model are not "
          "supported" },
        { { HVM, XEN_CARRY_DM_TRADITIONAL, 1, 0, 0, 0, 0, 0, 0 },
          "HVM guests with a stub-domain device model are not supported" },
        { { XEN_CARRY_TYPE_UNKNOWN, XEN_CARRY_DM_DEFAULT, 0, 0, 0, 0, 0, 0, 0 },
          "of a guest type xmig does not know" },
        { { PVH, XEN_CARRY_DM_DEFAULT, 0, 1, 0, 0, 0, 0, 0 },
          "has 1 PCI device passed through: PCI passthrough is not "
          "supported" },
        { { PVH, XEN_CARRY_DM_DEFAULT, 0, 2, 0, 0, 0, 0, 0 }, "has 2 PCI devices" },
        { { PVH, XEN_CARRY_DM_DEFAULT, 0, 0, 98304, 131072, 0, 0, 0 },
          "populate-on-demand memory (memory 98304 KiB below maxmem "
          "131072 KiB): PoD guests are not supported; use xl" },
        { { PVH, XEN_CARRY_DM_DEFAULT, 0, 0, 131072, 131072, 17, 0, 0 },
          "populate-on-demand memory (17 entries in Xen)" },
        { { PVH, XEN_CARRY_DM_DEFAULT, 0, 0, 131072, 131072, 0, 3, 0 },
          "is asleep in ACPI S3: a sleeping guest cannot suspend itself" },
        /* the first reason wins: PV before PCI before PoD */
        { { PV, XEN_CARRY_DM_DEFAULT, 0, 1, 1, 2, 0, 3, 0 }, "PV guests are not supported" },
        { { PVH, XEN_CARRY_DM_DEFAULT, 0, 1, 1, 2, 0, 3, 0 }, "PCI passthrough" },
    };

    for (size_t i = 0; i < NELEM(rows); i++) {
        int rc = xen_carry_refusal(&rows[i].f, "domain 5");
        if (!rows[i].want) {
            if (rc != 0) {
                fail_msg("row %zu refused: %s", i, xmig_error_message());
            }
            continue;
        }
        if (rc != -1 || !strstr(xmig_error_message(), rows[i].want) ||
            xmig_error_category() != XMIG_ERR_UNSUPPORTED ||
            strchr(xmig_error_message(), '\n')) {
            fail_msg("row %zu: rc %d, \"%s\", wanted \"%s\"", i, rc,
                     rc ? xmig_error_message() : "", rows[i].want);
        }
    }
#undef HVM
#undef PVH
#undef PV
    (void)state;
}

static void throttle_cap(void **state)
{
    (void)state;
    assert_int_equal(xen_throttle_cap(0, 4, 0), 0);     /* no cap again */
    assert_int_equal(xen_throttle_cap(0, 4, 150), 150); /* as it was */
    assert_int_equal(xen_throttle_cap(20, 4, 0), 320);
    assert_int_equal(xen_throttle_cap(20, 1, 0), 80);
    assert_int_equal(xen_throttle_cap(99, 2, 0), 2);
    assert_int_equal(xen_throttle_cap(150, 2, 0), 2);   /* at most 99 % */
    assert_int_equal(xen_throttle_cap(20, 4, 100), 100);/* tighter kept */
    assert_int_equal(xen_throttle_cap(50, 0, 0), 50);   /* unknown vCPUs */
    assert_int_equal(xen_throttle_cap(1, 4096, 0), 65535);
}

/* ---- 3. through the writer and reader -------------------------------- */

static void add_gnttab(struct xmig_transparent_state *st, uint32_t version)
{
    uint8_t *frames = calloc(2, XEN_PAGE), *status = calloc(1, XEN_PAGE);

    assert_non_null(frames);
    assert_non_null(status);
    if (version == 1) {
        put_v1(frames, 0, 0x1, 0, 0xfefff);
        put_v1(frames, 1, 0x1, 0, 0xfeffc);
        put_v1(frames, 700, 0x1 | 0x4 | 0x8, 3, 0x1234);
        put_v1(frames, 701, 0x2, 0, 0x77);
    } else {
        put_v2(frames, 0, 0x1, 0, 0, 0, 0xfefff);
        put_v2(frames, 5, 0x101, 0, 512, 1024, 0x1235);
        put_le16(status + 5 * 2, 0x8);
        put_v2(frames, 9, 0x3, 0, 3, 0, 17);
        put_v2(frames, 300, 0x5, 1, 0, 0, 0x2000);
        put_le16(status + 300 * 2, 0x8);
    }
    assert_int_equal(xen_gnttab_entries(version, frames, 2, status, 1,
                                        &st->grants, &st->ngrants),
                     0);
    st->gnt_version = version;
    st->gnt_nr_frames = 2;
    st->gnt_max_frames = 32;
    st->gnt_frame_gfns = calloc(2, sizeof(uint64_t));
    st->gnt_status_gfns = calloc(1, sizeof(uint64_t));
    assert_non_null(st->gnt_frame_gfns);
    assert_non_null(st->gnt_status_gfns);
    st->gnt_frame_gfns[0] = 0xf0000;
    st->gnt_frame_gfns[1] = XMIG_GFN_INVALID;
    st->gnt_status_gfns[0] = version == 2 ? 0xf0010 : 0;
    free(frames);
    free(status);
}

static struct xmig_transparent_state *built_state(uint32_t gnt_version)
{
    struct xmig_transparent_state *st = xmig_transparent_state_create();
    struct fake_evtchn f = { 64, 0, 0 };
    struct fake_xs x = { fake_tree, NELEM(fake_tree), NULL, NULL, NULL };

    assert_non_null(st);
    st->domid = 7;
    st->flags = XMIG_TRANSPARENT_EVTCHN | XMIG_TRANSPARENT_GNTTAB |
                XMIG_TRANSPARENT_XENSTORE;
    assert_int_equal(xen_evtchn_collect(fake_query, &f, 0, st), 0);
    add_gnttab(st, gnt_version);
    assert_int_equal(xen_xs_walk(&fake_ops, &x, 7, st), 0);
    return st;
}

static uint32_t ctx_min(uint8_t *b)
{
    memset(b, 0, 40);
    put_le16(b, 1);             /* HVM_SAVE header */
    put_le32(b + 4, 24);
    put_le32(b + 8, 0x54381286u);
    put_le32(b + 12, 1);
    return 8 + 24 + 8;          /* header, END */
}

static int gather(void *user, const struct xmig_record *rec)
{
    return xmig_transparent_state_add(user, rec) < 0 ? -1 : 0;
}

static void through_stream(void **state)
{
    for (uint32_t v = 1; v <= 2; v++) {
        struct xmig_transparent_state *st = built_state(v), *got;
        struct xmig_transport *t = xmig_transport_memory_sink();
        struct xmig_writer *w = xmig_writer_create(t);
        static uint8_t page[XMIG_PAGE_SIZE];
        const void *pg = page, *data;
        uint64_t word = 0x10;
        uint8_t ctx[64];
        uint32_t ctx_len = ctx_min(ctx);
        struct xmig_transport *in;
        struct xmig_reader *r;
        size_t len;
        int rc;

        (void)state;
        assert_non_null(w);
        rc = xmig_writer_libxl_begin(w) < 0 ||
             xmig_writer_libxl_transparent(w, 7, st->flags) < 0 ||
             xmig_writer_libxc_begin(w, XMIG_DOMAIN_X86_HVM, 4, 17) < 0 ||
             xmig_writer_libxc_transparent(w, st->flags & 0x3) < 0 ||
             xmig_writer_libxc_record(w, XMIG_LIBXC_STATIC_DATA_END, NULL,
                                      0) < 0 ||
             xmig_writer_page_data(w, 1, &word, &pg) < 0 ||
             xmig_writer_libxc_record(w, XMIG_LIBXC_HVM_CONTEXT, ctx,
                                      ctx_len) < 0 ||
             xmig_writer_transparent_libxc(w, st) < 0 ||
             xmig_writer_libxc_end(w) < 0 ||
             xmig_writer_transparent_libxl(w, st) < 0 ||
             xmig_writer_libxl_end(w) < 0;
        if (rc) {
            print_error("grant v%u: writer: %s\n", v, xmig_error_message());
        }
        assert_int_equal(rc, 0);
        data = xmig_transport_sink_data(t, &len);
        in = xmig_transport_memory(data, len);
        r = xmig_reader_create(in, XMIG_FORMAT_AUTO);
        got = xmig_transparent_state_create();
        assert_non_null(r);
        assert_non_null(got);
        rc = xmig_reader_run(r, gather, got);
        if (rc) {
            print_error("grant v%u: reader: %s\n", v, xmig_error_message());
        }
        assert_int_equal(rc, 0);
        if (xmig_transparent_state_compare(got, st) < 0 ||
            xmig_transparent_state_compare(st, got) < 0) {
            print_error("grant v%u: %s\n", v, xmig_error_message());
            fail();
        }
        xmig_reader_free(r);
        xmig_transport_free(in);
        xmig_writer_free(w);
        xmig_transport_free(t);
        xmig_transparent_state_free(got);
        xmig_transparent_state_free(st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_without_xen),
        cmocka_unit_test(open_refuses_reserved_domids),
        cmocka_unit_test(evtchn_states),
        cmocka_unit_test(evtchn_refusals),
        cmocka_unit_test(evtchn_walk),
        cmocka_unit_test(gnttab_v1),
        cmocka_unit_test(gnttab_v2),
        cmocka_unit_test(xs_perms),
        cmocka_unit_test(xs_path_order),
        cmocka_unit_test(xs_walk),
        cmocka_unit_test(restorable),
        cmocka_unit_test(bitmap_take),
        cmocka_unit_test(throttle_cap),
        cmocka_unit_test(carry_refusals),
        cmocka_unit_test(through_stream),
    };

    return cmocka_run_group_tests_name("xen backend", tests, NULL, NULL);
}
