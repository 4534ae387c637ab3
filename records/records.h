/*
 * records/: encode and decode the bytes of every header and record of the
 * xl save file, the libxl stream v2 and the libxc image v2/v3.  No I/O, no
 * ordering: a decoder sees one body through a cursor and says whether it
 * obeys its record's rules.  Errors go through common/error.h with the
 * position of the offending field relative to the body.
 */
#ifndef XMIG_RECORDS_H
#define XMIG_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "common/cursor.h"
#include "xmig/transparent.h"
#include "xmig/types.h"

/* Wire sizes. */
#define REC_HEADER_SIZE 8         /* {u32 type, u32 body_length} */
#define REC_IMAGE_HEADER_SIZE 24
#define REC_DOMAIN_HEADER_SIZE 16
#define REC_LIBXL_HEADER_SIZE 16
#define REC_XL_MAGIC_SIZE 32
#define REC_XL_HEADER_SIZE 48
#define REC_TSC_INFO_SIZE 24
#define REC_CPUID_LEAF_SIZE 24
#define REC_MSR_ENTRY_SIZE 16
#define REC_HVM_PARAM_SIZE 16
#define REC_HVM_DESC_SIZE 8       /* struct hvm_save_descriptor */
#define REC_HVM_SAVE_HEADER_SIZE 24

/* Identification. */
#define REC_IHDR_MARKER UINT64_C(0xFFFFFFFFFFFFFFFF)
#define REC_IHDR_ID 0x58454E46u   /* "XENF" */
#define REC_LIBXL_IDENT UINT64_C(0x4C6962786C466D74) /* "LibxlFmt" */
#define REC_XL_BYTEORDER 0x01020304u
#define REC_XL_FLAG_JSON 1u
#define REC_XL_FLAG_STREAMV2 2u
extern const uint8_t rec_xl_magic[REC_XL_MAGIC_SIZE];

/* HVM save format (xen/arch-x86/hvm/save.h). */
#define REC_HVM_FILE_MAGIC 0x54381286u
#define REC_HVM_FILE_VERSION 1u
#define REC_HVM_CODE_END 0u
#define REC_HVM_CODE_HEADER 1u
#define REC_HVM_CODE_MAX 20u      /* largest typecode Xen 4.17 defines */

/* Hard caps, checked before anything is allocated. */
#define REC_MAX_BODY (128u << 20)        /* Xen's own cap on one record */
/* Lower caps for the two records that may be large, so that a reader that
 * holds one record at a time stays well under 64 MiB whatever it is fed:
 * Xen's saver puts at most 1024 pages in a PAGE_DATA (MAX_BATCH_SIZE) and
 * xmig's writer the same, so 8192 leaves room for other writers; qemu-xen's
 * device state holds no guest RAM (that lives in the guest's physmap) and
 * is KiBs to a few MiB, so 32 MiB is generous. */
#define REC_MAX_PAGE_BATCH 8192u
#define REC_MAX_PAGE_DATA_BODY (8u + REC_MAX_PAGE_BATCH * (8u + 4096u))
#define REC_MAX_EMULATOR_BODY (32u << 20)
#define REC_MAX_SMALL_BODY (16u << 20)   /* records that carry no pages */
#define REC_XL_MAX_OPTDATA (16u << 20)   /* xl save-file optional data */
#define REC_XS_MAX_KEY 2048u             /* XENSTORE_REL_PATH_MAX */
#define REC_XS_MAX_VALUE 4096u           /* XENSTORE_PAYLOAD_MAX */

_Static_assert(REC_MAX_BODY < UINT32_MAX / 2, "caps fit in u32 arithmetic");

/* Limits of the transparent records (docs/specs). */
#define REC_EVTCHN_MAX_PORT_2L 4095u        /* 64 x 64 two-level bits */
#define REC_EVTCHN_MAX_PORT_FIFO 131071u    /* EVTCHN_FIFO_NR_CHANNELS - 1 */
#define REC_EVTCHN_PORT_SIZE 24
#define REC_EVTCHN_FIFO_VCPU_SIZE 16
#define REC_EVTCHN_WORDS_PER_PAGE 1024u     /* event_word_t per page */
#define REC_MAX_VCPUS 4096u
#define REC_GNT_MAX_FRAMES 1024u
#define REC_GNT_V1_PER_FRAME 512u
#define REC_GNT_V2_PER_FRAME 256u
#define REC_GNT_STATUS_PER_FRAME 2048u
#define REC_GNT_V1_ENTRY_SIZE 16
#define REC_GNT_V2_ENTRY_SIZE 24
#define REC_GNT_MAP_SIZE 24
#define REC_DOMID_FIRST_RESERVED 0x7FF0u
#define REC_XS_ABS_PATH_MAX 3072u           /* XENSTORE_ABS_PATH_MAX */
#define REC_XS_MAX_PERMS 256u

/* What a decoder needs to know about the stream so far. */
struct rec_ctx {
    uint32_t version;      /* libxc image version, 2 or 3 */
    uint32_t guest_type;   /* XMIG_DOMAIN_* */
    uint8_t pv_width;      /* from X86_PV_INFO; 0 until seen */
    int embedded;              /* the libxc image sits in a libxl stream */
    uint32_t xl_transparent;   /* libxl TRANSPARENT flags, 0 if none */
    uint32_t xc_transparent;   /* libxc TRANSPARENT flags, 0 if none */
    uint16_t domid;            /* from the libxl TRANSPARENT record */
    uint32_t evtchn_abi;       /* from EVTCHN_PORTS, 0 before it */
    uint32_t evtchn_top_port;  /* highest port in EVTCHN_PORTS */
    uint8_t evtchn_vcpus[REC_MAX_VCPUS / 8];  /* vCPUs that ports notify */
};

/* After a record decoded, remember what later records are checked
 * against (guest width, transparent flags, event channel layout). */
void rec_ctx_note(struct rec_ctx *ctx, const struct xmig_record *rec);

const char *rec_libxc_name(uint32_t type);
const char *rec_libxl_name(uint32_t type);

/* Is this type one this codec knows?  (Unknown optional records are
 * skipped by the stream layer; unknown mandatory ones are errors.) */
int rec_libxc_known(uint32_t type);
int rec_libxl_known(uint32_t type);

/* Check body_length against the record's rules before reading the body. */
int rec_libxc_check_length(uint32_t type, uint32_t length);
int rec_libxl_check_length(uint32_t type, uint32_t length);

/* Record framing: header and trailing zero padding. */
int rec_header_decode(struct cursor *c, uint32_t *type, uint32_t *length);
int rec_header_encode(struct cursor *c, uint32_t type, uint32_t length);
int rec_padding_check(const uint8_t *pad, size_t n);

/* Headers (headers.c, xl_header.c). */
int rec_image_header_decode(struct cursor *c, struct xmig_image_header *h);
int rec_image_header_encode(struct cursor *c, const struct xmig_image_header *h);
int rec_domain_header_decode(struct cursor *c, struct xmig_domain_header *h);
int rec_domain_header_encode(struct cursor *c, const struct xmig_domain_header *h);
int rec_libxl_header_decode(struct cursor *c, struct xmig_libxl_header *h);
int rec_libxl_header_encode(struct cursor *c, const struct xmig_libxl_header *h);
int rec_xl_header_decode(struct cursor *c, struct xmig_xl_header *h);
int rec_xl_optdata_decode(struct cursor *c, struct xmig_xl_header *h);
int rec_xl_header_encode(struct cursor *c, const struct xmig_xl_header *h);

/* The xl header's domain config (xl_config.c): one JSON object, parsed by
 * the JSON library.  rec_json_check checks it; rec_xl_config_read also
 * takes out what xmig needs.  text and len exclude xl's trailing NUL. */
struct rec_xl_config {
    char name[64];          /* c_info.name when plain, else "" */
    char type[8];           /* c_info.type: "hvm", "pv", "pvh", or "" */
    char device_model[32];  /* b_info.device_model_version, or "" */
    uint64_t max_memkb;     /* b_info.max_memkb, 0 when absent */
    int has_max_memkb;      /* present (0 then is the config's word) */
    uint64_t target_memkb;  /* b_info.target_memkb, 0 when absent */
};
int rec_json_check(const uint8_t *text, size_t len);
int rec_xl_config_read(const uint8_t *text, size_t len,
                       struct rec_xl_config *out);

/* Record bodies: decode fills out->u; the caller set out->type/length. */
int rec_libxc_decode(const struct rec_ctx *ctx, struct cursor *body,
                     struct xmig_record *out);
int rec_libxl_decode(const struct rec_ctx *ctx, struct cursor *body,
                     struct xmig_record *out);

/* Per-record decoders, reachable for tests. */
int rec_page_data_decode(struct cursor *c, struct xmig_page_data *pd);
int rec_pv_info_decode(struct cursor *c, struct xmig_pv_info *pi);
int rec_p2m_frames_decode(const struct rec_ctx *ctx, struct cursor *c,
                          struct xmig_p2m_frames *p);
int rec_pv_vcpu_decode(struct cursor *c, struct xmig_pv_vcpu *v);
int rec_tsc_info_decode(struct cursor *c, struct xmig_tsc_info *t);
int rec_hvm_context_decode(struct cursor *c, struct xmig_hvm_context *hc);
int rec_hvm_params_decode(struct cursor *c, struct xmig_hvm_params *hp);
int rec_cpuid_policy_decode(struct cursor *c, struct xmig_cpuid_policy *p);
int rec_msr_policy_decode(struct cursor *c, struct xmig_msr_policy *p);
int rec_pfn_list_decode(struct cursor *c, struct xmig_pfn_list *p);
int rec_emulator_decode(struct cursor *c, int xenstore, struct xmig_emulator *e);
int rec_checkpoint_state_decode(struct cursor *c, struct xmig_checkpoint_state *s);

/* Transparent records (transparent.c, evtchn.c, gnttab.c, xenstore.c). */
int rec_transparent_decode(struct cursor *c, int libxl,
                           struct xmig_transparent_decl *d);
int rec_evtchn_ports_decode(struct cursor *c, struct xmig_evtchn_ports *p);
int rec_evtchn_fifo_decode(const struct rec_ctx *ctx, struct cursor *c,
                           struct xmig_evtchn_fifo *f);
int rec_grant_table_decode(struct cursor *c, struct xmig_grant_table *g);
int rec_grant_maps_decode(struct cursor *c, struct xmig_grant_maps *m);
int rec_xs_nodes_decode(const struct rec_ctx *ctx, struct cursor *c,
                        struct xmig_xs_list *l);
int rec_xs_watches_decode(struct cursor *c, struct xmig_xs_list *l);

int rec_transparent_encode(struct cursor *c, int libxl,
                           const struct xmig_transparent_decl *d);
int rec_evtchn_ports_encode(struct cursor *c, uint32_t abi, uint32_t max_port,
                            const struct xmig_evtchn_port *p, uint32_t n);
int rec_evtchn_fifo_encode(struct cursor *c,
                           const struct xmig_evtchn_fifo_vcpu *v, uint32_t nv,
                           const uint64_t *array_gfns, uint32_t na);
size_t rec_grant_table_size(uint32_t version, uint32_t nr_frames,
                            uint32_t count);
int rec_grant_table_encode(struct cursor *c, uint32_t version,
                           uint32_t nr_frames, uint32_t max_frames,
                           const uint64_t *frame_gfns,
                           const uint64_t *status_gfns,
                           const struct xmig_grant_entry *e, uint32_t n);
int rec_grant_maps_encode(struct cursor *c, const struct xmig_grant_map *m,
                          uint32_t n);
size_t rec_xs_node_size(const struct xmig_xs_node *n);
size_t rec_xs_watch_size(const struct xmig_xs_watch *w);
int rec_xs_nodes_encode(struct cursor *c, const struct xmig_xs_node *n,
                        uint32_t count);
int rec_xs_watches_encode(struct cursor *c, const struct xmig_xs_watch *w,
                          uint32_t count);

/* One entry of EVTCHN_PORTS / GRANT_TABLE (of the given version). */
void rec_evtchn_port_get(const uint8_t *e, struct xmig_evtchn_port *p);
void rec_grant_entry_get(uint32_t version, const uint8_t *e,
                         struct xmig_grant_entry *g);
size_t rec_grant_entry_size(uint32_t version);

/* v2 grant tables: status frames needed for nr_frames shared frames. */
static inline uint32_t rec_gnt_status_frames(uint32_t nr_frames)
{
    return (nr_frames * REC_GNT_V2_PER_FRAME + REC_GNT_STATUS_PER_FRAME - 1) /
           REC_GNT_STATUS_PER_FRAME;
}

/* Encoders write a body (without record header) at the cursor. */
int rec_page_data_encode_head(struct cursor *c, uint32_t count,
                              const uint64_t *pfn_words);
int rec_pv_info_encode(struct cursor *c, const struct xmig_pv_info *pi);
int rec_p2m_frames_encode(struct cursor *c, uint32_t start, uint32_t end,
                          const uint64_t *frames, uint32_t count);
int rec_pv_vcpu_encode_head(struct cursor *c, uint32_t vcpu_id);
int rec_tsc_info_encode(struct cursor *c, const struct xmig_tsc_info *t);
int rec_hvm_params_encode(struct cursor *c, const struct xmig_hvm_param *p,
                          uint32_t count);
int rec_cpuid_policy_encode(struct cursor *c, const struct xmig_cpuid_leaf *l,
                            uint32_t count);
int rec_msr_policy_encode(struct cursor *c, const struct xmig_msr_entry *m,
                          uint32_t count);
int rec_pfn_list_encode(struct cursor *c, const uint64_t *pfns, uint32_t count);
int rec_emulator_encode_head(struct cursor *c, uint32_t emulator_id,
                             uint32_t index);
int rec_checkpoint_state_encode(struct cursor *c,
                                const struct xmig_checkpoint_state *s);

/* Does a pfn type carry a page of data?  (NOTAB, L1-L4, pinned L1-L4.) */
static inline int rec_pfn_type_has_data(unsigned type)
{
    return type <= 0x4u || (type >= 0x9u && type <= 0xCu);
}

/* Types 5-8 are reserved in the pfn type nibble. */
static inline int rec_pfn_type_valid(unsigned type)
{
    return type < 5u || type > 8u;
}

#endif
