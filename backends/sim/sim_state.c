/*
 * Sim guest state besides RAM: an HVM-shaped context (HEADER, one CPU entry
 * per vCPU, END), parameters, TSC and CPU policy, and the PV state a guest
 * with PV drivers has: event channels, grant entries, xenstore nodes and
 * watches.  The PV state changes while the guest runs (events pend and
 * clear, a grant is in use or not, a xenstore node counts), so a migration
 * must catch it at the moment of pause.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/sim.h"
#include "common/cursor.h"
#include "common/error.h"
#include "records/records.h"

#define CPU_CTX_SIZE 1032u   /* sizeof(struct hvm_hw_cpu) in Xen 4.17 */

static const struct xmig_cpuid_leaf sim_cpuid[] = {
    { 0, 0xffffffffu, 0xd, 0x68747541, 0x444d4163, 0x69746e65 },
    { 1, 0xffffffffu, 0x00a00f11, 0x00020800, 0xfeda3203, 0x178bfbff },
    { 7, 0, 0, 0x219c91a9, 0, 0 },
};

static const struct xmig_msr_entry sim_msrs[] = {
    { 0xce, 0, 0 },
    { 0x10a, 0, 0 },
};

/* ---- PV state model ------------------------------------------------ */

struct node_tpl {
    const char *suffix, *value;
    int guest_owned;
};

static const struct node_tpl node_tpls[] = {
    { "", "", 0 },
    { "/data", "", 1 },
    { "/data/heartbeat", "0", 1 },
    { "/device", "", 1 },
    { "/device/vif", "", 1 },
    { "/device/vif/0", "", 1 },
    { "/device/vif/0/backend-id", "0", 1 },
    { "/device/vif/0/event-channel", "6", 1 },
    { "/device/vif/0/rx-ring-ref", "9", 1 },
    { "/device/vif/0/state", "4", 1 },
    { "/device/vif/0/tx-ring-ref", "8", 1 },
    { "/memory", "", 0 },
    { "/memory/target", "", 0 },
    { "/name", "", 0 },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "sim PV state");
    }
    return d;
}

static int set_value(struct xmig_xs_node *n, const char *v)
{
    char *d = xstrdup(v);

    if (!d) {
        return -1;
    }
    free((void *)n->value);
    n->value = (const uint8_t *)d;
    n->value_len = (uint32_t)strlen(v);
    return 0;
}

static int make_nodes(struct sim_guest *s, struct xmig_transparent_state *st)
{
    char path[128], val[64];

    free(st->nodes);   /* the clone's empty array */
    st->nodes = calloc(NELEM(node_tpls), sizeof(*st->nodes));
    if (!st->nodes) {
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "sim xenstore nodes");
    }
    for (size_t i = 0; i < NELEM(node_tpls); i++) {
        struct xmig_xs_node *n = &st->nodes[i];
        struct xmig_xs_perm *p = calloc(2, sizeof(*p));
        st->nnodes = (uint32_t)i + 1;
        snprintf(path, sizeof(path), "/local/domain/%u%s", s->domid,
                 node_tpls[i].suffix);
        n->path = xstrdup(path);
        if (!p || !n->path) {
            free(p);
            return err_set(XMIG_ERR_NOMEM, ENOMEM, "sim xenstore nodes");
        }
        p[0] = (struct xmig_xs_perm){ 'n', 0,
                                      node_tpls[i].guest_owned ? s->domid : 0 };
        p[1] = (struct xmig_xs_perm){ 'r', 0,
                                      node_tpls[i].guest_owned ? 0 : s->domid };
        n->perms = p;
        n->nperms = 2;
        snprintf(val, sizeof(val), "%s", node_tpls[i].value);
        if (strcmp(node_tpls[i].suffix, "/memory/target") == 0) {
            snprintf(val, sizeof(val), "%llu",
                     (unsigned long long)(s->nr_pfns * 4));
        } else if (strcmp(node_tpls[i].suffix, "/name") == 0) {
            snprintf(val, sizeof(val), "sim-%u", s->domid);
        }
        if (set_value(n, val) < 0) {
            return -1;
        }
    }
    return 0;
}

static int make_watches(struct sim_guest *s, struct xmig_transparent_state *st)
{
    char path[128];

    free(st->watches);
    st->watches = calloc(2, sizeof(*st->watches));
    if (!st->watches) {
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "sim xenstore watches");
    }
    snprintf(path, sizeof(path), "/local/domain/0/backend/vif/%u/0/state",
             s->domid);
    st->watches[0].path = xstrdup(path);
    st->watches[0].token = xstrdup("backend:vif/0");
    st->watches[1].path = xstrdup("device");
    st->watches[1].token = xstrdup("devices");
    st->nwatches = 2;
    return st->watches[0].path && st->watches[0].token &&
                   st->watches[1].path && st->watches[1].token
               ? 0
               : -1;
}

int sim_pv_init(struct sim_guest *s)
{
    static const struct xmig_evtchn_port ports[] = {
        { 1, XMIG_EVTCHN_INTERDOMAIN, 0, 7, 0, 0, 33, 0 },
        { 2, XMIG_EVTCHN_INTERDOMAIN, 0, 7, 0, 0, 34, 0 },
        { 3, XMIG_EVTCHN_VIRQ, 0, 0, 0, 0, 0, 0 },
        { 4, XMIG_EVTCHN_IPI, 0, 7, 0, 0, 0, 0 },
        { 6, XMIG_EVTCHN_INTERDOMAIN, 0, 7, 0, 0, 40, 0 },
    };
    static const struct xmig_evtchn_fifo_vcpu vcpu0 = { 0, 0, 0xfeff0 };
    static const uint64_t array_gfn = 0xfeff2, frame_gfn = 0xf0000;
    static const struct xmig_grant_entry grants[] = {
        { 0, 0x1, 0, 0, 0xfefff, 0, 0, 0, 0 },
        { 1, 0x1, 0, 0, 0xfeffc, 0, 0, 0, 0 },
        { 8, 0x1, 0, 0, 0x1234, 0, 0, 0, 0 },
        { 9, 0x1 | 0x4, 0, 0, 0x1235, 0, 0, 0, 0 },
    };
    struct xmig_transparent_state tpl = { 0 }, *st;

    tpl.domid = s->domid;
    tpl.flags = XMIG_TRANSPARENT_EVTCHN | XMIG_TRANSPARENT_GNTTAB |
                XMIG_TRANSPARENT_XENSTORE;
    tpl.evtchn_abi = XMIG_EVTCHN_ABI_FIFO;
    tpl.evtchn_max_port = 1023;
    tpl.ports = (struct xmig_evtchn_port *)ports;
    tpl.nports = NELEM(ports);
    tpl.fifo_vcpus = (struct xmig_evtchn_fifo_vcpu *)&vcpu0;
    tpl.nfifo_vcpus = 1;
    tpl.fifo_array_gfns = (uint64_t *)&array_gfn;
    tpl.nfifo_array = 1;
    tpl.gnt_version = 1;
    tpl.gnt_nr_frames = 1;
    tpl.gnt_max_frames = 32;
    tpl.gnt_frame_gfns = (uint64_t *)&frame_gfn;
    tpl.grants = (struct xmig_grant_entry *)grants;
    tpl.ngrants = NELEM(grants);
    st = xmig_transparent_state_clone(&tpl);
    if (!st) {
        return -1;
    }
    if (make_nodes(s, st) < 0 || make_watches(s, st) < 0) {
        xmig_transparent_state_free(st);
        return -1;
    }
    s->pv = st;
    return 0;
}

/* The guest's drivers at work: events pend and get handled, the tx ring's
 * grant is mapped and unmapped, the heartbeat node counts. */
void sim_pv_tick(struct sim_guest *s, uint64_t n)
{
    char val[32];

    pthread_mutex_lock(&s->pv_lock);
    if (s->pv) {
        struct xmig_transparent_state *st = s->pv;
        s->pv_generation++;
        st->ports[4].flags ^= XMIG_EVTCHN_PENDING;          /* port 6 */
        st->ports[0].flags = (n / 64) % 3 == 0 ? XMIG_EVTCHN_PENDING : 0;
        st->grants[2].flags ^= 0x8;                          /* reading */
        snprintf(val, sizeof(val), "%llu",
                 (unsigned long long)s->pv_generation);
        (void)set_value(&st->nodes[2], val);                 /* heartbeat */
    }
    pthread_mutex_unlock(&s->pv_lock);
}

/* ---- state at pause ------------------------------------------------ */

static uint8_t *make_context(struct sim_guest *s, uint32_t *len)
{
    struct cursor c;
    size_t n = 8 + 24 + (size_t)s->nr_vcpus * (8 + CPU_CTX_SIZE) + 8;
    uint8_t *buf = calloc(1, n);
    const struct sim_boot *b = (const void *)s->ram;

    if (!buf) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "HVM context");
        return NULL;
    }
    c = cursor_ro(buf, n);
    (void)!(cursor_put_le16(&c, 1) | cursor_put_le16(&c, 0) |
            cursor_put_le32(&c, 24) | cursor_put_le32(&c, 0x54381286u) |
            cursor_put_le32(&c, 1) | cursor_put_le64(&c, 0) |
            cursor_put_le32(&c, 0x00a00f11) | cursor_put_le32(&c, 2400000));
    for (uint32_t v = 0; v < s->nr_vcpus; v++) {
        (void)!(cursor_put_le16(&c, 2) | cursor_put_le16(&c, (uint16_t)v) |
                cursor_put_le32(&c, CPU_CTX_SIZE));
        /* "Registers": where the vCPU's program is, from guest RAM. */
        put_le64(buf + c.pos, b->rng[v]);
        put_le64(buf + c.pos + 8, b->heartbeat);
        c.pos += CPU_CTX_SIZE;
    }
    (void)!(cursor_put_le16(&c, 0) | cursor_put_le16(&c, 0) |
            cursor_put_le32(&c, 0));
    *len = (uint32_t)c.pos;
    return buf;
}

int sim_get_state(struct sim_guest *s, int transparent,
                  struct guest_state *out)
{
    static const struct xmig_hvm_param params[] = {
        { 1, 0xfeffc }, { 12, 0xfeffd000 }, { 17, 0xfefff },
    };
    struct guest_state st;

    memset(&st, 0, sizeof(st));
    st.tsc = (struct xmig_tsc_info){ 0, 2400000,
                                     atomic_load(&s->ticks) * 1000000ull, 1 };
    st.hvm_context = make_context(s, &st.hvm_context_len);
    st.params = malloc(sizeof(params));
    st.cpuid = malloc(sizeof(sim_cpuid));
    st.msrs = malloc(sizeof(sim_msrs));
    if (!st.hvm_context || !st.params || !st.cpuid || !st.msrs) {
        sim_put_state(&st);
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "sim guest state");
    }
    memcpy(st.params, params, sizeof(params));
    st.nparams = NELEM(params);
    memcpy(st.cpuid, sim_cpuid, sizeof(sim_cpuid));
    st.ncpuid = NELEM(sim_cpuid);
    memcpy(st.msrs, sim_msrs, sizeof(sim_msrs));
    st.nmsrs = NELEM(sim_msrs);
    if (transparent) {
        pthread_mutex_lock(&s->pv_lock);
        st.transparent = xmig_transparent_state_clone(s->pv);
        pthread_mutex_unlock(&s->pv_lock);
        if (!st.transparent) {
            sim_put_state(&st);
            return -1;
        }
    }
    *out = st;
    return 0;
}

void sim_put_state(struct guest_state *st)
{
    free(st->hvm_context);
    free(st->params);
    free(st->cpuid);
    free(st->msrs);
    xmig_transparent_state_free(st->transparent);
    memset(st, 0, sizeof(*st));
}

int sim_copy_state(const struct guest_state *from, struct guest_state *to)
{
    struct guest_state st = *from;

    st.hvm_context = malloc(from->hvm_context_len ? from->hvm_context_len : 1);
    st.params = calloc(from->nparams + 1, sizeof(*st.params));
    st.cpuid = calloc(from->ncpuid + 1, sizeof(*st.cpuid));
    st.msrs = calloc(from->nmsrs + 1, sizeof(*st.msrs));
    st.transparent = from->transparent
                         ? xmig_transparent_state_clone(from->transparent)
                         : NULL;
    if (!st.hvm_context || !st.params || !st.cpuid || !st.msrs ||
        (from->transparent && !st.transparent)) {
        sim_put_state(&st);
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "sim guest state");
    }
    memcpy(st.hvm_context, from->hvm_context, from->hvm_context_len);
    memcpy(st.params, from->params, from->nparams * sizeof(*st.params));
    memcpy(st.cpuid, from->cpuid, from->ncpuid * sizeof(*st.cpuid));
    memcpy(st.msrs, from->msrs, from->nmsrs * sizeof(*st.msrs));
    *to = st;
    return 0;
}
