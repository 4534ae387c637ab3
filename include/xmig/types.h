/*
 * xmig wire-level types: record type numbers and decoded record views.
 * Pure declarations shared by every layer.  Views point into the reader's
 * buffer (or the caller's memory when writing): they never own bytes, and
 * multi-octet values inside arrays are read with the accessors in xmig.h.
 */
#ifndef XMIG_TYPES_H
#define XMIG_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "xmig/transparent.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which container a record or header belongs to. */
enum xmig_layer {
    XMIG_LAYER_XL = 1,    /* xl save-file header */
    XMIG_LAYER_LIBXL = 2, /* libxl stream v2 */
    XMIG_LAYER_LIBXC = 3  /* libxc Domain Image Format v2/v3 */
};

/* libxc record types (libxc-migration-stream, revision 3). */
#define XMIG_LIBXC_END 0x00000000u
#define XMIG_LIBXC_PAGE_DATA 0x00000001u
#define XMIG_LIBXC_X86_PV_INFO 0x00000002u
#define XMIG_LIBXC_X86_PV_P2M_FRAMES 0x00000003u
#define XMIG_LIBXC_X86_PV_VCPU_BASIC 0x00000004u
#define XMIG_LIBXC_X86_PV_VCPU_EXTENDED 0x00000005u
#define XMIG_LIBXC_X86_PV_VCPU_XSAVE 0x00000006u
#define XMIG_LIBXC_SHARED_INFO 0x00000007u
#define XMIG_LIBXC_X86_TSC_INFO 0x00000008u
#define XMIG_LIBXC_HVM_CONTEXT 0x00000009u
#define XMIG_LIBXC_HVM_PARAMS 0x0000000Au
#define XMIG_LIBXC_TOOLSTACK 0x0000000Bu
#define XMIG_LIBXC_X86_PV_VCPU_MSRS 0x0000000Cu
#define XMIG_LIBXC_VERIFY 0x0000000Du
#define XMIG_LIBXC_CHECKPOINT 0x0000000Eu
#define XMIG_LIBXC_CHECKPOINT_DIRTY_PFN_LIST 0x0000000Fu
#define XMIG_LIBXC_STATIC_DATA_END 0x00000010u
#define XMIG_LIBXC_X86_CPUID_POLICY 0x00000011u
#define XMIG_LIBXC_X86_MSR_POLICY 0x00000012u

/* libxl record types (libxl-migration-stream, revision 2). */
#define XMIG_LIBXL_END 0x00000000u
#define XMIG_LIBXL_LIBXC_CONTEXT 0x00000001u
#define XMIG_LIBXL_EMULATOR_XENSTORE_DATA 0x00000002u
#define XMIG_LIBXL_EMULATOR_CONTEXT 0x00000003u
#define XMIG_LIBXL_CHECKPOINT_END 0x00000004u
#define XMIG_LIBXL_CHECKPOINT_STATE 0x00000005u

/* Bit 31 of a record type: optional, a receiver may skip it. */
#define XMIG_RECORD_OPTIONAL 0x80000000u

/* Domain header guest types. */
#define XMIG_DOMAIN_X86_PV 1u
#define XMIG_DOMAIN_X86_HVM 2u

/* PAGE_DATA pfn word: type in bits 60-63, reserved 52-59, pfn in 0-51. */
#define XMIG_PFN_MASK ((UINT64_C(1) << 52) - 1)
#define XMIG_PFN_TYPE_SHIFT 60
#define XMIG_PFN_TYPE_NOTAB 0x0u
#define XMIG_PFN_TYPE_L1TAB 0x1u
#define XMIG_PFN_TYPE_L4TAB 0x4u
#define XMIG_PFN_TYPE_L1TAB_PIN 0x9u
#define XMIG_PFN_TYPE_L4TAB_PIN 0xCu
#define XMIG_PFN_TYPE_BROKEN 0xDu
#define XMIG_PFN_TYPE_XALLOC 0xEu
#define XMIG_PFN_TYPE_XTAB 0xFu

#define XMIG_PAGE_SHIFT 12
#define XMIG_PAGE_SIZE 4096u

struct xmig_image_header {   /* libxc image header (big-endian on the wire) */
    uint32_t version;        /* 2 or 3 */
    uint16_t options;        /* bit 0: big-endian */
};

struct xmig_domain_header {
    uint32_t type;           /* XMIG_DOMAIN_* */
    uint16_t page_shift;
    uint32_t xen_major;      /* 0: converted from a legacy stream */
    uint32_t xen_minor;
};

struct xmig_libxl_header {
    uint32_t version;        /* 2 */
    uint32_t options;        /* bit 1: legacy-converted */
};

struct xmig_xl_header {
    uint32_t mandatory_flags; /* 1: JSON config, 2: stream v2 */
    uint32_t optional_flags;
    uint32_t optional_data_len;
    const uint8_t *config;   /* NULL when the file carries no config */
    uint32_t config_len;     /* including the trailing NUL, as xl writes it */
};

struct xmig_page_data {
    uint32_t count;          /* number of pfn words (>= 1) */
    uint32_t data_pages;     /* pfns that carry a page of data */
    const uint8_t *pfns;     /* count little-endian u64 words */
    const uint8_t *data;     /* data_pages * 4096 octets, in pfn order */
};

struct xmig_pv_info {
    uint8_t guest_width;     /* 4 or 8 */
    uint8_t pt_levels;       /* 3 or 4 */
};

struct xmig_p2m_frames {
    uint32_t start_pfn, end_pfn;
    uint32_t count;          /* number of p2m frame pfns */
    const uint8_t *frames;   /* count little-endian u64 */
};

struct xmig_pv_vcpu {        /* X86_PV_VCPU_{BASIC,EXTENDED,XSAVE,MSRS} */
    uint32_t vcpu_id;
    const uint8_t *context;
    uint32_t context_len;
};

struct xmig_tsc_info {
    uint32_t mode;
    uint32_t khz;
    uint64_t nsec;
    uint32_t incarnation;
};

struct xmig_hvm_context {
    const uint8_t *blob;     /* chain of hvm_save_descriptor + data */
    uint32_t len;
    uint32_t descriptors;    /* including HEADER and END */
};

struct xmig_hvm_param {
    uint64_t index;
    uint64_t value;
};

struct xmig_hvm_params {
    uint32_t count;
    const uint8_t *entries;  /* count pairs of little-endian u64 */
};

struct xmig_cpuid_policy {
    uint32_t count;          /* xen_cpuid_leaf_t entries, 24 octets each */
    const uint8_t *leaves;
};

struct xmig_msr_policy {
    uint32_t count;          /* xen_msr_entry_t entries, 16 octets each */
    const uint8_t *entries;
};

struct xmig_pfn_list {       /* CHECKPOINT_DIRTY_PFN_LIST */
    uint32_t count;
    const uint8_t *pfns;
};

struct xmig_emulator {       /* EMULATOR_XENSTORE_DATA and EMULATOR_CONTEXT */
    uint32_t emulator_id;    /* 0 unknown, 1 qemu-trad, 2 qemu-upstream */
    uint32_t index;
    const uint8_t *data;     /* key/value pairs, or the emulator blob */
    uint32_t data_len;
    uint32_t pairs;          /* xenstore data only: number of pairs */
};

/* Host-order forms of array entries, for encoding and for the accessors. */
struct xmig_cpuid_leaf {     /* xen_cpuid_leaf_t */
    uint32_t leaf, subleaf;
    uint32_t a, b, c, d;
};

struct xmig_msr_entry {      /* xen_msr_entry_t; flags are reserved, zero */
    uint32_t idx;
    uint32_t flags;
    uint64_t val;
};

struct xmig_checkpoint_state {
    uint32_t control_id;
};

/* What the reader hands out: one header or record. */
enum xmig_item_kind {
    XMIG_ITEM_XL_HEADER = 1,
    XMIG_ITEM_LIBXL_HEADER,
    XMIG_ITEM_IMAGE_HEADER,
    XMIG_ITEM_DOMAIN_HEADER,
    XMIG_ITEM_RECORD
};

struct xmig_record {
    enum xmig_item_kind kind;
    enum xmig_layer layer;
    uint64_t offset;         /* of the header or record in the whole stream */
    uint32_t type;           /* record type (XMIG_ITEM_RECORD only) */
    uint32_t length;         /* body_length */
    const uint8_t *body;     /* length octets, valid until the next call */
    int known;               /* 0: an unknown optional record, skipped */
    union {
        struct xmig_xl_header xl;
        struct xmig_libxl_header libxl;
        struct xmig_image_header image;
        struct xmig_domain_header domain;
        struct xmig_page_data page_data;
        struct xmig_pv_info pv_info;
        struct xmig_p2m_frames p2m;
        struct xmig_pv_vcpu vcpu;
        struct xmig_tsc_info tsc;
        struct xmig_hvm_context hvm_context;
        struct xmig_hvm_params hvm_params;
        struct xmig_cpuid_policy cpuid;
        struct xmig_msr_policy msr;
        struct xmig_pfn_list pfn_list;
        struct xmig_emulator emulator;
        struct xmig_checkpoint_state checkpoint_state;
        struct xmig_transparent_decl transparent;
        struct xmig_evtchn_ports evtchn_ports;
        struct xmig_evtchn_fifo evtchn_fifo;
        struct xmig_grant_table grant_table;
        struct xmig_grant_maps grant_maps;
        struct xmig_xs_list xs_list;
    } u;
};

#ifdef __cplusplus
}
#endif
#endif
