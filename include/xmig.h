/*
 * libxmig: Xen migration streams, byte for byte.
 *
 * Every call that can fail returns -1 or NULL and leaves a per-thread error
 * (xmig/errors.h) naming what was wrong and where.  Handles are opaque.
 * Views handed to callbacks point into the reader's buffer and are valid
 * until the callback returns.
 */
#ifndef XMIG_H
#define XMIG_H

#include <stddef.h>
#include <stdint.h>

#include "xmig/errors.h"
#include "xmig/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#define XMIG_VERSION_STRING "0.1.0"
#define XMIG_VERSION_MAJOR 0
#define XMIG_VERSION_MINOR 1
#define XMIG_VERSION_MICRO 0

/* The version of the library the program runs with (the header's is
 * XMIG_VERSION_STRING): "0.1.0".  *major etc. may be NULL. */
const char *xmig_version(int *major, int *minor, int *micro);

/* ---- logging ------------------------------------------------------- */

/* Library log lines, one line each, without a trailing newline.  Without
 * a callback they go to stderr as "xmig: [warning: ]LINE". */
#define XMIG_LOG_LEVEL_WARNING 1
#define XMIG_LOG_LEVEL_INFO 2
typedef void (*xmig_log_fn)(void *user_data, int level, const char *line);
void xmig_set_log(xmig_log_fn fn, void *user_data);

/* ---- cancellation -------------------------------------------------- */

/* A flag any thread (or a signal handler) may raise to stop what watches
 * it: a migration (xmig_migrate_params.cancel), a TLS handshake
 * (xmig_tls_config_set_cancel), a transport's waits
 * (xmig_transport_set_cancel).  Raising it is atomic and async-signal-safe;
 * a blocked read or write notices it within 100 ms.  It must outlive
 * everything that watches it. */
struct xmig_cancel;

struct xmig_cancel *xmig_cancel_create(void);
void xmig_cancel_free(struct xmig_cancel *c);
void xmig_cancel_raise(struct xmig_cancel *c);
int xmig_cancel_raised(const struct xmig_cancel *c);

/* ---- transports ---------------------------------------------------- */

struct xmig_transport;

/* A file descriptor (file, pipe or socket); closed on free if owned. */
struct xmig_transport *xmig_transport_fd(int fd, int take_ownership);
/* Reading one descriptor, writing another (stdin/stdout under ssh). */
struct xmig_transport *xmig_transport_fds(int in_fd, int out_fd,
                                          int take_ownership);
/* A caller's memory as a read-only source: the reader lends from it
 * without copying.  buf must outlive the transport. */
struct xmig_transport *xmig_transport_memory(const void *buf, size_t len);
/* A growing memory buffer to write into. */
struct xmig_transport *xmig_transport_memory_sink(void);
const void *xmig_transport_sink_data(const struct xmig_transport *t,
                                     size_t *len);
void xmig_transport_free(struct xmig_transport *t);

/* Raw octets through a transport (control messages, tests).  read returns
 * n > 0, 0 at the end of the stream, -1 on error; write sends all. */
long xmig_transport_read(struct xmig_transport *t, void *buf, size_t len);
int xmig_transport_write(struct xmig_transport *t, const void *buf,
                         size_t len);

/* Send len octets of file fd from offset off: zero copy where the
 * transport allows (sendfile(2), kernel TLS), else through a buffer. */
int xmig_transport_sendfile(struct xmig_transport *t, int fd, int64_t off,
                            size_t len);
/* The sender is done: flush, and over TLS send close_notify, so the peer
 * can tell an end from a cut.  Reading is still possible. */
int xmig_transport_finish(struct xmig_transport *t);
/* Time limits (docs/timeouts.md).  io_ms: a read or write that makes no
 * progress for this long fails, naming the peer and the phase; 0: no
 * limit (the default of fd transports; TLS transports take their
 * configuration's, 60 s unless set). */
int xmig_transport_set_timeout(struct xmig_transport *t, uint32_t io_ms);
uint32_t xmig_transport_timeout(const struct xmig_transport *t);
/* Waits for the peer also end, with an error, once c is raised (NULL:
 * none). */
void xmig_transport_set_cancel(struct xmig_transport *t,
                               struct xmig_cancel *c);
uint64_t xmig_transport_bytes_in(const struct xmig_transport *t);
uint64_t xmig_transport_bytes_out(const struct xmig_transport *t);

/* ---- TLS ----------------------------------------------------------- */

enum xmig_tls_mode {
    XMIG_TLS_AUTO = 0,    /* kernel TLS, else userspace TLS (one warning) */
    XMIG_TLS_KTLS,        /* kernel TLS both ways, or fail saying why */
    XMIG_TLS_USERSPACE,   /* OpenSSL's record layer */
    XMIG_TLS_NONE         /* plain TCP: benchmarks and tests only */
};

const char *xmig_tls_mode_name(enum xmig_tls_mode mode);
/* "auto", "ktls", "userspace", "none" -> 0; else -1. */
int xmig_tls_mode_parse(const char *name, enum xmig_tls_mode *mode);

struct xmig_tls_config;

struct xmig_tls_config *xmig_tls_config_create(void);
void xmig_tls_config_free(struct xmig_tls_config *c);
int xmig_tls_config_set_mode(struct xmig_tls_config *c,
                             enum xmig_tls_mode mode);
/* This end's certificate and key (PEM files). */
int xmig_tls_config_set_identity(struct xmig_tls_config *c,
                                 const char *cert_file, const char *key_file);
/* Trust: a CA bundle, and/or SHA-256 pins of peer certificates ("ab:cd:..."
 * or plain hex, 64 digits); with both, a peer must satisfy both. */
int xmig_tls_config_set_ca(struct xmig_tls_config *c, const char *ca_file);
int xmig_tls_config_add_pin(struct xmig_tls_config *c, const char *sha256);
/* The name or IP address the peer's certificate must carry. */
int xmig_tls_config_set_peer_name(struct xmig_tls_config *c, const char *n);
/* Accept any peer.  Loud: logs a warning at every handshake. */
int xmig_tls_config_set_insecure(struct xmig_tls_config *c, int insecure);
/* Narrow the policy (tests, benchmarks): versions 0x0303 (1.2) and/or
 * 0x0304 (1.3), 0 for the policy's; a single cipher of the policy, by its
 * OpenSSL name, NULL for all. */
int xmig_tls_config_set_versions(struct xmig_tls_config *c, int min_version,
                                 int max_version);
int xmig_tls_config_set_cipher(struct xmig_tls_config *c, const char *name);
/* Check a configuration before it is used (a daemon at start): with TLS
 * on, a certificate and key that load, belong together and are valid
 * now; a CA that loads and is valid, or pins.  0, or -1 with an error
 * naming the file and what is wrong with it. */
int xmig_tls_config_check(const struct xmig_tls_config *c);
/* Time limits: handshake_ms bounds the whole handshake (an absolute
 * deadline, not per read; default 30000); io_ms becomes the transport's
 * no-progress limit (default 60000; 0: none).  A TLS server that hears
 * nothing for 2 s (or the handshake limit, if shorter) tells a plain
 * peer, in plain text, that it speaks TLS, and fails. */
int xmig_tls_config_set_timeouts(struct xmig_tls_config *c,
                                 uint32_t handshake_ms, uint32_t io_ms);
/* The handshake, and the transport it makes, stop when c is raised (it
 * must outlive them; NULL: none). */
void xmig_tls_config_set_cancel(struct xmig_tls_config *c,
                                struct xmig_cancel *cancel);

/* Handshake over a connected socket (taking ownership of fd, also on
 * failure); returns a transport, or NULL with an error naming the peer
 * and the reason.  As with any socket, a program should ignore SIGPIPE:
 * a peer that hangs up is then an error, not the end of the process. */
struct xmig_transport *xmig_transport_tls_client(int fd,
                                                 const struct xmig_tls_config *c);
struct xmig_transport *xmig_transport_tls_server(int fd,
                                                 const struct xmig_tls_config *c);

struct xmig_tls_info {
    enum xmig_tls_mode mode;  /* ktls: the kernel's record layer both ways;
                               * userspace: not both ways (ktls_tx/ktls_rx
                               * tell which direction is offloaded, e.g.
                               * TLS 1.3 transmit with OpenSSL 3.0); none */
    int ktls_tx, ktls_rx;     /* the kernel's record layer, per direction */
    char version[16];         /* "TLSv1.2", "TLSv1.3", or "" */
    char cipher[64];
    char peer[128];           /* peer address */
    char peer_subject[256];   /* the peer certificate's subject */
    char fallback[160];       /* why kernel TLS is not (fully) in use */
};
int xmig_transport_tls_info(const struct xmig_transport *t,
                            struct xmig_tls_info *out);

/* The policy as text: versions, ciphers, groups, limits, and where the
 * kernel has TLS, which kernel crypto driver serves it (xmig tls-info). */
void xmig_tls_policy_describe(char *buf, size_t len);

/* ---- TLS socket broker ---------------------------------------------- */

/* Hand a TLS transport's socket on.  Only with the kernel's record layer
 * both ways (xmig_tls_info.mode == XMIG_TLS_KTLS): t is freed without a
 * word to the peer and the socket returned; whoever holds it reads and
 * writes plain octets and the kernel encrypts.  A close_notify the peer
 * sends later reaches a plain read(2) as EIO; ending with shutdown(2) is
 * enough, as the stream on it carries its own end.  The AES-GCM usage
 * limit (xmig tls-info) is then the holder's to keep.  Otherwise -1
 * (XMIG_ERR_UNSUPPORTED) and t is untouched: OpenSSL holds the record
 * state, and only a relay (xmig_tls_relay) can carry the connection. */
int xmig_tls_socket_release(struct xmig_transport *t);

/* Relay between TLS transport t and local descriptors until both
 * directions have ended: what in_fd gives goes to the peer (then
 * close_notify), what the peer sends goes to out_fd (then shutdown(2) for
 * a socket, close(2) for a pipe).  in_fd and out_fd may be one socket;
 * the relay owns them and closes them.  t stays the caller's to free.
 * 0 when both directions ended cleanly; -1 on an error, and also when the
 * peer ended without close_notify (its end is passed on all the same: the
 * relay cannot vouch for a stream that may have been cut). */
int xmig_tls_relay(struct xmig_transport *t, int in_fd, int out_fd);

/* The broker in one call: a handshake over connected socket fd (owned,
 * also on failure) with c's policy and checks, then a descriptor that is
 * a plain socket to the caller.  With kernel TLS both ways, the socket
 * itself; in userspace TLS (c's mode allowing it), one end of a socketpair
 * whose other end a thread of this process relays, logged in one line.
 * --tls=ktls (XMIG_TLS_KTLS) refuses userspace.  info (NULL: not wanted)
 * says what was negotiated.  -1 with the error naming peer and reason. */
int xmig_tls_broker_client(int fd, const struct xmig_tls_config *c,
                           struct xmig_tls_info *info);
int xmig_tls_broker_server(int fd, const struct xmig_tls_config *c,
                           struct xmig_tls_info *info);

/* ---- reading ------------------------------------------------------- */

enum xmig_format {
    XMIG_FORMAT_AUTO = 0, /* told apart by the first octets */
    XMIG_FORMAT_XL,       /* xl save file: header + libxl stream */
    XMIG_FORMAT_LIBXL,    /* libxl stream v2 (with libxc inline) */
    XMIG_FORMAT_LIBXC     /* libxc image v2 or v3 */
};

const char *xmig_format_name(enum xmig_format f);
/* Which format do these first octets start?  XMIG_FORMAT_AUTO: none. */
enum xmig_format xmig_format_detect(const void *buf, size_t len);

struct xmig_reader;

/* The reader does not take ownership of the transport. */
struct xmig_reader *xmig_reader_create(struct xmig_transport *t,
                                       enum xmig_format format);
void xmig_reader_free(struct xmig_reader *r);

/* The next header or record, validated (fields and order).
 * Returns 1 with *rec filled, 0 once the final END has been read,
 * -1 on error. */
int xmig_reader_next(struct xmig_reader *r, struct xmig_record *rec);

/* Read to the end: fn sees every item; a nonzero return from fn stops
 * the run with that value (-1 keeps fn's error if it set one). */
typedef int (*xmig_item_fn)(void *user_data, const struct xmig_record *rec);
int xmig_reader_run(struct xmig_reader *r, xmig_item_fn fn, void *user_data);

/* After the final END: -1 if the transport still has data. */
int xmig_reader_expect_eof(struct xmig_reader *r);

enum xmig_format xmig_reader_format(const struct xmig_reader *r);

struct xmig_stream_stats {
    uint64_t bytes;            /* consumed so far */
    uint64_t records;          /* libxl + libxc records */
    uint64_t page_data_records;
    uint64_t pfns;             /* pfn words in PAGE_DATA */
    uint64_t data_pages;       /* pages carrying data */
    uint64_t optional_skipped; /* unknown optional records */
    uint32_t guest_type;       /* from the domain header, 0 before it */
    uint32_t libxc_version;
};
void xmig_reader_stats(const struct xmig_reader *r,
                       struct xmig_stream_stats *out);

/* Accessors for the little-endian arrays inside record views. */
uint64_t xmig_page_data_pfn_word(const struct xmig_page_data *pd, uint32_t i);
uint64_t xmig_p2m_frame(const struct xmig_p2m_frames *p, uint32_t i);
void xmig_hvm_param_get(const struct xmig_hvm_params *hp, uint32_t i,
                        struct xmig_hvm_param *out);
void xmig_cpuid_leaf_get(const struct xmig_cpuid_policy *p, uint32_t i,
                         struct xmig_cpuid_leaf *out);
void xmig_msr_entry_get(const struct xmig_msr_policy *p, uint32_t i,
                        struct xmig_msr_entry *out);
uint64_t xmig_pfn_list_get(const struct xmig_pfn_list *p, uint32_t i);

/* Record names, e.g. "PAGE_DATA", "EMULATOR_CONTEXT". */
const char *xmig_record_name(enum xmig_layer layer, uint32_t type);

/* ---- writing ------------------------------------------------------- */

struct xmig_writer;

/* The writer checks everything it writes against the same rules the
 * reader enforces; it never emits an invalid stream.  It does not take
 * ownership of the transport. */
struct xmig_writer *xmig_writer_create(struct xmig_transport *t);
void xmig_writer_free(struct xmig_writer *w);

/* Optional outer layers, in this order. */
int xmig_writer_xl_header(struct xmig_writer *w, const char *json_config);
int xmig_writer_libxl_begin(struct xmig_writer *w);

/* The libxc image.  Inside libxl this first writes LIBXC_CONTEXT.  A libxc
 * CHECKPOINT hands the stream to libxl; after libxl's CHECKPOINT_END the
 * same image carries on (no new LIBXC_CONTEXT, no new headers). */
int xmig_writer_libxc_begin(struct xmig_writer *w, uint32_t guest_type,
                            uint32_t xen_major, uint32_t xen_minor);

/* A libxc record with a ready body (NULL/0 for empty records); the body
 * is sent from the caller's memory. */
int xmig_writer_libxc_record(struct xmig_writer *w, uint32_t type,
                             const void *body, uint32_t len);

/* PAGE_DATA: count pfn words; pages[i] is the data of pfn i, NULL for the
 * types that carry none (XTAB, BROKEN, XALLOC).  Zero copy: page data goes
 * to the transport from where it lies. */
int xmig_writer_page_data(struct xmig_writer *w, uint32_t count,
                          const uint64_t *pfn_words,
                          const void *const *pages);

int xmig_writer_tsc_info(struct xmig_writer *w, const struct xmig_tsc_info *t);
int xmig_writer_hvm_params(struct xmig_writer *w,
                           const struct xmig_hvm_param *p, uint32_t count);
int xmig_writer_cpuid_policy(struct xmig_writer *w,
                             const struct xmig_cpuid_leaf *l, uint32_t count);
int xmig_writer_msr_policy(struct xmig_writer *w,
                           const struct xmig_msr_entry *m, uint32_t count);
int xmig_writer_pv_info(struct xmig_writer *w, const struct xmig_pv_info *pi);

/* libxc END (then back to libxl, if inside it). */
int xmig_writer_libxc_end(struct xmig_writer *w);

/* A libxl record with a ready body. */
int xmig_writer_libxl_record(struct xmig_writer *w, uint32_t type,
                             const void *body, uint32_t len);
/* EMULATOR_XENSTORE_DATA from npairs (key, value) C strings. */
int xmig_writer_emulator_xenstore(struct xmig_writer *w, uint32_t emulator_id,
                                  uint32_t index, const char *const *keys,
                                  const char *const *values, uint32_t npairs);
/* libxl END. */
int xmig_writer_libxl_end(struct xmig_writer *w);

uint64_t xmig_writer_offset(const struct xmig_writer *w);

/* ---- transparent (non-cooperative) migration ------------------------ */

/* Declarations: the libxl one first of all libxl records (it names the
 * domid to preserve); the libxc one in the image's static data, before
 * STATIC_DATA_END.  flags: XMIG_TRANSPARENT_*. */
int xmig_writer_libxl_transparent(struct xmig_writer *w, uint16_t domid,
                                  uint32_t flags);
int xmig_writer_libxc_transparent(struct xmig_writer *w, uint32_t flags);

/* After the last memory pass, before libxc END: the event channel and
 * grant table records the image declared. */
int xmig_writer_transparent_libxc(struct xmig_writer *w,
                                  const struct xmig_transparent_state *s);
/* After the libxc image, before libxl END: the xenstore records. */
int xmig_writer_transparent_libxl(struct xmig_writer *w,
                                  const struct xmig_transparent_state *s);

/* Receiving: gather transparent records as the reader hands them out.
 * add() returns 1 when rec was a transparent record (copied into st), 0
 * when it was not one, -1 on error. */
struct xmig_transparent_state *xmig_transparent_state_create(void);
int xmig_transparent_state_add(struct xmig_transparent_state *st,
                               const struct xmig_record *rec);
void xmig_transparent_state_free(struct xmig_transparent_state *st);
/* 0 when equal; -1 with an error naming the first difference. */
int xmig_transparent_state_compare(const struct xmig_transparent_state *a,
                                   const struct xmig_transparent_state *b);

/* A deep copy (owned arrays and strings); free with _free(). */
struct xmig_transparent_state *
xmig_transparent_state_clone(const struct xmig_transparent_state *src);

/* Accessors for transparent record views. */
void xmig_evtchn_port_get(const struct xmig_evtchn_ports *v, uint32_t i,
                          struct xmig_evtchn_port *out);
void xmig_evtchn_fifo_vcpu_get(const struct xmig_evtchn_fifo *v, uint32_t i,
                               struct xmig_evtchn_fifo_vcpu *out);
uint64_t xmig_evtchn_fifo_array_gfn(const struct xmig_evtchn_fifo *v,
                                    uint32_t i);
void xmig_grant_entry_get(const struct xmig_grant_table *v, uint32_t i,
                          struct xmig_grant_entry *out);
uint64_t xmig_grant_frame_gfn(const struct xmig_grant_table *v, uint32_t i);
uint64_t xmig_grant_status_gfn(const struct xmig_grant_table *v, uint32_t i);
void xmig_grant_map_get(const struct xmig_grant_maps *v, uint32_t i,
                        struct xmig_grant_map *out);
/* Iterate a decoded XENSTORE_NODES / _WATCHES list: *pos starts at 0;
 * returns 1 with *out filled, 0 at the end. */
int xmig_xs_node_next(const struct xmig_xs_list *v, uint32_t *pos,
                      struct xmig_xs_node *out);
void xmig_xs_perm_get(const struct xmig_xs_node *n, uint32_t i,
                      struct xmig_xs_perm *out);
int xmig_xs_watch_next(const struct xmig_xs_list *v, uint32_t *pos,
                       struct xmig_xs_watch *out);

/* ---- guests ------------------------------------------------------- */

struct xmig_guest;

enum xmig_sim_workload {
    XMIG_SIM_IDLE = 0,   /* a heartbeat, a page now and then */
    XMIG_SIM_MIXED,      /* a hot set plus scattered writes, at dirty_rate */
    XMIG_SIM_STRESS      /* XOR of half the RAM with random data, flat out */
};

struct xmig_sim_config {
    uint64_t memory_bytes;      /* multiple of 4096 */
    uint32_t vcpus;             /* 1..64 */
    enum xmig_sim_workload workload;
    uint64_t dirty_rate;        /* pages/s (mixed, stress); 0: default */
    uint16_t domid;             /* 1..32751 */
    uint32_t seed;
    unsigned fill_percent;      /* RAM the guest has used (written) at start */
};

/* A running simulated guest, in this process. */
struct xmig_guest *xmig_sim_guest_create(const struct xmig_sim_config *c);
const char *xmig_sim_workload_name(enum xmig_sim_workload w);
int xmig_sim_workload_parse(const char *name, enum xmig_sim_workload *w);
/* A running x86 HVM (or PVH) domain of the Xen host this process runs in
 * (a control domain: /proc/xen, libxenctrl), as a migration source.
 * NULL with an error naming the cause: no Xen hypervisor here, xmig built
 * without Xen support, no such domain, a PV domain.  xmig_guest_destroy()
 * drops xmig's handle and leaves the domain as it is (docs/xen-backend.md).
 */
struct xmig_guest *xmig_xen_guest_open(uint32_t domid);
/* The same, for a stream that libxl will restore (a file for xl restore,
 * xl migrate-receive at the other end): an HVM guest with qemu-xen is
 * then carried too, its device model's state in the EMULATOR records
 * (xmig's own destinations refuse those). */
struct xmig_guest *xmig_xen_guest_open_for_libxl(uint32_t domid);
/* The name or number of a domain of this Xen host -> its domid. */
int xmig_xen_domain_lookup(const char *name, uint32_t *domid);
uint32_t xmig_xen_guest_domid(struct xmig_guest *g);
/* Ends a xen source after a save or migration: the domain is destroyed
 * (with what libxl set up for it) and the handle freed, whatever the
 * result. */
int xmig_xen_guest_destroy_domain(struct xmig_guest *g);
int xmig_xen_domain_rename(uint32_t domid, const char *name);

/* Where a stream received on a Xen host goes (the factory_data of
 * xmig_xen_guest_incoming): into a paused domain the toolstack created for
 * it (xl create -p, from the same configuration), or into one xmig has
 * libxl create from the stream's domain config. */
struct xmig_xen_target {
    uint32_t domid;             /* 0: create one */
    const char *name;           /* the created domain's; NULL: the config's,
                                 * or NAME--incoming while NAME exists */
};
/* An xmig_guest_factory; target is a struct xmig_xen_target (or NULL). */
struct xmig_guest *xmig_xen_guest_incoming(void *target,
                                           const char *config_json,
                                           uint64_t max_memkb);
/* An xmig_guest_factory for simulated guests in this process: domid
 * points to a uint16_t (NULL: 1). */
struct xmig_guest *xmig_sim_guest_factory(void *domid, const char *config_json,
                                          uint64_t max_memkb);
/* The guest's heartbeat counter (sim guests; 0 otherwise). */
uint64_t xmig_sim_heartbeat(struct xmig_guest *g);
int xmig_guest_pause(struct xmig_guest *g);
int xmig_guest_unpause(struct xmig_guest *g);
/* Digest of the guest's RAM (backends that have one). */
int xmig_guest_digest(struct xmig_guest *g, uint8_t out[32]);
void xmig_guest_destroy(struct xmig_guest *g);

/* ---- live migration ----------------------------------------------- */

struct xmig_iteration_stats {
    uint32_t iteration;         /* 1: all memory; then dirty rounds; the
                                 * last one (final) runs paused */
    int final;
    uint64_t pages_sent;        /* pages carrying data */
    uint64_t zero_pages;        /* sent as allocate-only (first pass) */
    uint64_t holes;             /* pfns without memory, sent as XTAB */
    uint64_t dirty_pages;       /* dirty when the round started */
    uint64_t bytes;             /* stream octets of the round */
    double start_s;             /* since the migration began */
    double duration_s;
    double transfer_rate;       /* octets per second */
    double dirty_rate;          /* pages dirtied per second */
    unsigned throttle;          /* percent, during the round */
    double expected_downtime_ms;
    /* Live progress.  The progress callback fires when a round ends and,
     * within a round, at least once a second (partial: 1): then the
     * counts, bytes, duration_s and transfer_rate above are the round's
     * so far, and dirty_rate the last measured one.  dirty_rate of a
     * finished round: the pages the guest dirtied during it, per second. */
    int partial;
    double elapsed_s;           /* since the migration began */
    uint64_t guest_pages;
    uint64_t total_bytes;       /* stream octets of the migration so far */
    uint64_t remaining_pages;   /* of this round's set, not sent yet */
    double avg_transfer_rate;   /* octets per second since the start */
    double eta_s;               /* the rest of this round at the current
                                 * rate (later rounds add what the guest
                                 * dirties meanwhile); -1: unknown */
};

#define XMIG_MAX_ITER_STATS 64

struct xmig_migrate_stats {
    double total_s;
    double downtime_ms;         /* source asked to stop to destination
                                 * resume ack: the sum of */
    double stop_ms;             /*   the guest stopping (xen: suspending) */
    double final_ms;            /*   the last pages, state and END */
    double handover_ms;         /*   the destination's check and start */
    uint64_t bytes;
    uint64_t pages_sent;
    uint64_t zero_pages;
    uint64_t holes;             /* pfns without memory (XTAB) */
    uint64_t guest_pages;
    uint32_t iterations;        /* including the final, paused one */
    unsigned max_throttle;
    char tls_mode[16];
    char stop_reason[64];       /* why pre-copy stopped */
    int verified;               /* the destination proved its copy equal */
    char guest_name[64];        /* from the stream's domain config */
    uint32_t nrounds;
    struct xmig_iteration_stats rounds[XMIG_MAX_ITER_STATS];
    int source_paused;          /* after a failure: 1 when the guest was
                                 * left paused here (the outcome is
                                 * unknown), 0 when it runs here */
    /* Job statistics as libvirt's virDomainGetJobStats reports them for a
     * memory migration.  Current at every progress call (a callback that
     * holds the stats passed to xmig_migrate_send may read them there:
     * the engine's thread writes them only between calls), final at the
     * end.  pages_sent (normal), zero_pages (constant), bytes (data
     * processed) and the round counts above are kept live the same way. */
    double setup_ms;            /* start to the first page: handshake and
                                 * the stream's headers */
    double remaining_s;         /* estimate (eta_s of the round); 0 done */
    double downtime_target_ms;  /* the downtime asked for */
    uint32_t page_size;         /* octets */
    uint32_t iteration;         /* the round under way */
    uint64_t memory_total;      /* octets of guest memory */
    uint64_t memory_processed;  /* octets of pages sent (data or zero) */
    uint64_t memory_remaining;  /* octets of the round's set not sent */
    double transfer_rate;       /* octets/s now (the round so far) */
    double dirty_rate;          /* pages/s, the last measured */
    unsigned throttle;          /* percent, now */
};

typedef void (*xmig_progress_fn)(void *user_data,
                                 const struct xmig_iteration_stats *round);

/* What a source does when the destination stays silent after the
 * go-ahead (docs/timeouts.md). */
enum xmig_handover_expiry {
    XMIG_HANDOVER_KEEP_PAUSED = 0, /* default: never two running copies */
    XMIG_HANDOVER_RESUME           /* availability first: resume here */
};

struct xmig_migrate_params {
    uint32_t downtime_ms;       /* target; default 300 */
    uint32_t initial_downtime_ms; /* the target starts here and doubles each
                                 * round up to downtime_ms; default 30 */
    uint64_t bandwidth;         /* octets/s cap; 0: none */
    uint32_t max_iters;         /* pause after this many rounds; default 30 */
    int auto_converge;          /* throttle vCPUs when rounds stall */
    int transparent;            /* carry PV state (event channels, grants,
                                 * xenstore) */
    int verify;                 /* VERIFY: re-send all memory for checking */
    int digest;                 /* add a DIGEST record (xmig peers only) */
    const char *name;           /* the guest's name in the domain config */
    xmig_progress_fn progress;
    void *user_data;
    /* Raise it (from any thread) to stop the migration, in any phase;
     * before the destination may have the go-ahead, the guest then runs
     * on here.  NULL: none. */
    struct xmig_cancel *cancel;
    /* No progress on the transport for this long fails the migration
     * (the guest runs on here); 0: keep the transport's limit. */
    uint32_t io_timeout_ms;
    /* After the go-ahead went out, the destination may be running the
     * guest: wait this long for its result (default 30000), then act as
     * handover_expiry says (docs/timeouts.md). */
    uint32_t handover_timeout_ms;
    enum xmig_handover_expiry handover_expiry;
};

void xmig_migrate_params_init(struct xmig_migrate_params *p);

/* Live-migrate g over t (the destination runs xmig_migrate_receive, or
 * speaks xl's migrate-receive protocol).  0: the destination runs the
 * guest and g is left paused, to be destroyed.  -1: g still runs here
 * (unless the error says the outcome is unknown, when it stays paused). */
int xmig_migrate_send(struct xmig_guest *g, struct xmig_transport *t,
                      const struct xmig_migrate_params *p,
                      struct xmig_migrate_stats *stats);

/* Makes the guest a stream is received into, once the stream has said
 * what it is: config_json is the domain configuration its xl header
 * carries (libxl's JSON: streams without one are refused before), and
 * max_memkb the memory that configuration gives.  NULL, with the xmig error set, refuses the stream;
 * the engine discards the guest if anything fails later. */
typedef struct xmig_guest *(*xmig_guest_factory)(void *user,
                                                const char *config_json,
                                                uint64_t max_memkb);

struct xmig_receive_params {
    uint64_t max_memory;        /* refuse larger guests; 0: this host's RAM */
    uint16_t domid;             /* unused by the engine (kept for the ABI):
                                 * the sim factory takes a domid as its data */
    xmig_guest_factory factory; /* required: xmig_sim_guest_factory,
                                 * xmig_xen_guest_incoming or the caller's */
    void *factory_data;
};

/* Receive a guest over t and run it here; NULL: nothing is left behind. */
struct xmig_guest *xmig_migrate_receive(struct xmig_transport *t,
                                        const struct xmig_receive_params *p,
                                        struct xmig_migrate_stats *stats);

/* Save g to t (an xl save file): paused from the start, every page once,
 * no handshake.  0: g is left paused (resume or destroy it); -1: g runs
 * on.  Leave p->digest and p->transparent off for files xl can restore. */
int xmig_guest_save(struct xmig_guest *g, struct xmig_transport *t,
                    const struct xmig_migrate_params *p,
                    struct xmig_migrate_stats *stats);

/* Restore a guest from a saved stream and run it. */
struct xmig_guest *xmig_guest_restore(struct xmig_transport *t,
                                      const struct xmig_receive_params *p,
                                      struct xmig_migrate_stats *stats);

/* The statistics as one JSON object: the fields above, the per-round
 * ones, and "job": virDomainGetJobStats's fields under libvirt's names
 * (docs/control-protocol.md). */
int xmig_migrate_stats_json(const struct xmig_migrate_stats *st, char *buf,
                            size_t len);
/* 1 with a sentence in buf when the downtime exceeded its target, naming
 * the measured parts; 0 (buf empty) when not. */
int xmig_migrate_stats_warning(const struct xmig_migrate_stats *st,
                               char *buf, size_t len);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
