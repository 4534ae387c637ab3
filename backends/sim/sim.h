/*
 * The simulated guest: RAM in a memfd, vCPU threads running a workload,
 * hardware-like dirty tracking (write protection the workload cannot get
 * around), HVM-shaped state and PV state (event channels, grants, xenstore)
 * that changes while it runs.  The workload keeps its own state in guest
 * RAM, so a guest rebuilt elsewhere from its memory carries on.
 */
#ifndef XMIG_BACKENDS_SIM_H
#define XMIG_BACKENDS_SIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "libxmig/backend.h"

#define SIM_MAX_VCPUS 64
#define SIM_BOOT_PFN 0          /* the "guest kernel" page: workload state */
#define SIM_MAGIC UINT64_C(0x584D494753494D31)  /* "XMIGSIM1" */

/* The guest kernel's page (pfn 0), little-endian words. */
struct sim_boot {              /* offsets into page 0 */
    uint64_t magic;            /*  0 */
    uint64_t workload;         /*  8 */
    uint64_t dirty_rate;       /* 16: pages/s, 0 = as fast as it can */
    uint64_t vcpus;            /* 24 */
    uint64_t heartbeat;        /* 32: bumped by vCPU 0 every tick */
    uint64_t rng[SIM_MAX_VCPUS];  /* 40.. per-vCPU generator state */
};

struct sim_guest {
    struct xmig_guest base;
    uint16_t domid;
    uint32_t nr_vcpus;
    uint64_t nr_pfns;
    int memfd;
    uint64_t data_from, data_to;   /* a data extent of memfd seen last */
    uint8_t *ram;               /* nr_pfns * 4096, MAP_SHARED on memfd */
    _Atomic uint64_t *dirty;    /* one bit per pfn */
    int tracking;

    /* vCPUs */
    pthread_t threads[SIM_MAX_VCPUS];
    uint32_t nr_threads;             /* of those, created (to join) */
    int started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int paused, stopping, parked;
    unsigned throttle;          /* percent */
    _Atomic uint64_t ticks;     /* vCPU work slices done */

    /* PV state, kept by the "hypervisor" beside the guest */
    pthread_mutex_t pv_lock;
    struct xmig_transparent_state *pv;
    uint64_t pv_generation;

    /* what a destination has been handed */
    struct guest_state incoming;
    int have_state;
};

struct xmig_guest *sim_guest_incoming(uint64_t nr_pfns, uint16_t domid);

/* sim_memory.c */
int sim_memory_create(struct sim_guest *s, uint64_t bytes);
void sim_memory_destroy(struct sim_guest *s);
int sim_dirty_enable(struct sim_guest *s, int on);
int sim_dirty_read_clear(struct sim_guest *s, uint64_t *bitmap,
                         uint64_t *count);
void sim_memory_digest(const struct sim_guest *s, uint8_t out[32]);
void sim_memory_holes(const struct sim_guest *s, uint64_t first, uint64_t n,
                      uint64_t *bitmap);

/* sim_vcpu.c */
int sim_vcpus_start(struct sim_guest *s);
void sim_vcpus_stop(struct sim_guest *s);
int sim_vcpus_pause(struct sim_guest *s);
void sim_vcpus_unpause(struct sim_guest *s);
void sim_fill(struct sim_guest *s, unsigned percent, uint32_t seed);
void sim_boot_init(struct sim_guest *s, unsigned workload, uint64_t rate,
                   uint32_t seed);

/* sim_state.c */
int sim_pv_init(struct sim_guest *s);
void sim_pv_tick(struct sim_guest *s, uint64_t n);
int sim_get_state(struct sim_guest *s, int transparent,
                  struct guest_state *out);
void sim_put_state(struct guest_state *st);
int sim_copy_state(const struct guest_state *from, struct guest_state *to);

#endif
