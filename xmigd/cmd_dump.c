/*
 * xmig dump: every header and record with its decoded fields.  Runs of
 * consecutive PAGE_DATA records are summarised, as Xen's verify-stream-v2
 * does; --json prints one JSON document for machines.
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "common/cursor.h"
#include "xmigd/cli.h"
#include "xmigd/dump.h"

struct dump {
    FILE *out;
    int json;
    int first;                 /* no comma before the first JSON item */
    uint64_t run_records, run_pfns, run_pages, run_offset;
};

static void json_string(FILE *out, const uint8_t *s, size_t n)
{
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = s[i];
        if (ch == '"' || ch == '\\') {
            fprintf(out, "\\%c", ch);
        } else if (ch < 0x20 || ch >= 0x7f) {
            fprintf(out, "\\u%04x", ch);
        } else {
            fputc(ch, out);
        }
    }
    fputc('"', out);
}

static void item_open(struct dump *d, const char *kind, uint64_t offset)
{
    fprintf(d->out, "%s\n    {\"kind\": \"%s\", \"offset\": %" PRIu64,
            d->first ? "" : ",", kind, offset);
    d->first = 0;
}

static void flush_run(struct dump *d)
{
    if (!d->run_records) {
        return;
    }
    if (d->json) {
        item_open(d, "page_data_run", d->run_offset);
        fprintf(d->out, ", \"records\": %" PRIu64 ", \"pfns\": %" PRIu64
                        ", \"data_pages\": %" PRIu64 "}",
                d->run_records, d->run_pfns, d->run_pages);
    } else {
        fprintf(d->out, "%10" PRIu64 "  libxc PAGE_DATA x %" PRIu64
                        " (squashed): %" PRIu64 " pfns, %" PRIu64
                        " pages of data\n",
                d->run_offset, d->run_records, d->run_pfns, d->run_pages);
    }
    d->run_records = d->run_pfns = d->run_pages = 0;
}

static void text_fields(struct dump *d, const struct xmig_record *rec)
{
    FILE *o = d->out;
    const char *sep = "";

    if (dump_transparent_text(o, rec)) {
        return;
    }
    if (rec->layer == XMIG_LAYER_LIBXL) {
        switch (rec->type) {
        case XMIG_LIBXL_EMULATOR_XENSTORE_DATA:
        case XMIG_LIBXL_EMULATOR_CONTEXT:
            fprintf(o, ": emulator %u index %u, %u octets",
                    rec->u.emulator.emulator_id, rec->u.emulator.index,
                    rec->u.emulator.data_len);
            if (rec->type == XMIG_LIBXL_EMULATOR_XENSTORE_DATA) {
                const char *p = (const char *)rec->u.emulator.data;
                fprintf(o, ", %u pairs", rec->u.emulator.pairs);
                for (uint32_t i = 0; i < rec->u.emulator.pairs; i++) {
                    const char *v = p + strlen(p) + 1;
                    fprintf(o, "\n            '%s' = '%s'", p, v);
                    p = v + strlen(v) + 1;
                }
            }
            break;
        case XMIG_LIBXL_CHECKPOINT_STATE:
            fprintf(o, ": control_id %u", rec->u.checkpoint_state.control_id);
            break;
        default:
            break;
        }
        return;
    }
    switch (rec->type) {
    case XMIG_LIBXC_X86_PV_INFO:
        fprintf(o, ": %u-bit guest, %u page-table levels",
                rec->u.pv_info.guest_width * 8, rec->u.pv_info.pt_levels);
        break;
    case XMIG_LIBXC_X86_PV_P2M_FRAMES:
        fprintf(o, ": pfns 0x%x-0x%x in %u frames", rec->u.p2m.start_pfn,
                rec->u.p2m.end_pfn, rec->u.p2m.count);
        break;
    case XMIG_LIBXC_X86_PV_VCPU_BASIC:
    case XMIG_LIBXC_X86_PV_VCPU_EXTENDED:
    case XMIG_LIBXC_X86_PV_VCPU_XSAVE:
    case XMIG_LIBXC_X86_PV_VCPU_MSRS:
        fprintf(o, ": vcpu%u, %u octets of context", rec->u.vcpu.vcpu_id,
                rec->u.vcpu.context_len);
        break;
    case XMIG_LIBXC_X86_TSC_INFO:
        fprintf(o, ": mode %u, %u kHz, %" PRIu64 " ns, incarnation %u",
                rec->u.tsc.mode, rec->u.tsc.khz, rec->u.tsc.nsec,
                rec->u.tsc.incarnation);
        break;
    case XMIG_LIBXC_HVM_CONTEXT: {
        const uint8_t *p = rec->u.hvm_context.blob;
        fprintf(o, ": %u descriptors:", rec->u.hvm_context.descriptors);
        for (uint32_t i = 0; i < rec->u.hvm_context.descriptors; i++) {
            uint32_t len = get_le32(p + 4);
            fprintf(o, " %u/%u(%u)", get_le16(p), get_le16(p + 2), len);
            p += 8 + len;
        }
        break;
    }
    case XMIG_LIBXC_HVM_PARAMS:
        fprintf(o, ": %u params:", rec->u.hvm_params.count);
        for (uint32_t i = 0; i < rec->u.hvm_params.count; i++) {
            struct xmig_hvm_param hp;
            xmig_hvm_param_get(&rec->u.hvm_params, i, &hp);
            fprintf(o, "%s %" PRIu64 "=0x%" PRIx64, sep, hp.index, hp.value);
            sep = ",";
        }
        break;
    case XMIG_LIBXC_X86_CPUID_POLICY:
        fprintf(o, ": %u leaves", rec->u.cpuid.count);
        break;
    case XMIG_LIBXC_X86_MSR_POLICY:
        fprintf(o, ": %u MSRs", rec->u.msr.count);
        break;
    default:
        break;
    }
}

static void json_fields(struct dump *d, const struct xmig_record *rec)
{
    FILE *o = d->out;

    if (dump_transparent_json(o, rec)) {
        return;
    }
    if (rec->layer == XMIG_LAYER_LIBXL) {
        if (rec->type == XMIG_LIBXL_EMULATOR_XENSTORE_DATA ||
            rec->type == XMIG_LIBXL_EMULATOR_CONTEXT) {
            fprintf(o, ", \"emulator_id\": %u, \"index\": %u, "
                       "\"data_len\": %u",
                    rec->u.emulator.emulator_id, rec->u.emulator.index,
                    rec->u.emulator.data_len);
        }
        if (rec->type == XMIG_LIBXL_EMULATOR_XENSTORE_DATA) {
            const char *p = (const char *)rec->u.emulator.data;
            fprintf(o, ", \"pairs\": {");
            for (uint32_t i = 0; i < rec->u.emulator.pairs; i++) {
                const char *v = p + strlen(p) + 1;
                fprintf(o, "%s", i ? ", " : "");
                json_string(o, (const uint8_t *)p, strlen(p));
                fprintf(o, ": ");
                json_string(o, (const uint8_t *)v, strlen(v));
                p = v + strlen(v) + 1;
            }
            fprintf(o, "}");
        }
        if (rec->type == XMIG_LIBXL_CHECKPOINT_STATE) {
            fprintf(o, ", \"control_id\": %u",
                    rec->u.checkpoint_state.control_id);
        }
        return;
    }
    switch (rec->type) {
    case XMIG_LIBXC_X86_PV_INFO:
        fprintf(o, ", \"guest_width\": %u, \"pt_levels\": %u",
                rec->u.pv_info.guest_width, rec->u.pv_info.pt_levels);
        break;
    case XMIG_LIBXC_X86_PV_P2M_FRAMES:
        fprintf(o, ", \"start_pfn\": %u, \"end_pfn\": %u, \"frames\": %u",
                rec->u.p2m.start_pfn, rec->u.p2m.end_pfn, rec->u.p2m.count);
        break;
    case XMIG_LIBXC_X86_PV_VCPU_BASIC:
    case XMIG_LIBXC_X86_PV_VCPU_EXTENDED:
    case XMIG_LIBXC_X86_PV_VCPU_XSAVE:
    case XMIG_LIBXC_X86_PV_VCPU_MSRS:
        fprintf(o, ", \"vcpu_id\": %u, \"context_len\": %u",
                rec->u.vcpu.vcpu_id, rec->u.vcpu.context_len);
        break;
    case XMIG_LIBXC_X86_TSC_INFO:
        fprintf(o, ", \"mode\": %u, \"khz\": %u, \"nsec\": %" PRIu64
                   ", \"incarnation\": %u",
                rec->u.tsc.mode, rec->u.tsc.khz, rec->u.tsc.nsec,
                rec->u.tsc.incarnation);
        break;
    case XMIG_LIBXC_HVM_CONTEXT:
        fprintf(o, ", \"descriptors\": %u", rec->u.hvm_context.descriptors);
        break;
    case XMIG_LIBXC_HVM_PARAMS:
        fprintf(o, ", \"params\": {");
        for (uint32_t i = 0; i < rec->u.hvm_params.count; i++) {
            struct xmig_hvm_param hp;
            xmig_hvm_param_get(&rec->u.hvm_params, i, &hp);
            fprintf(o, "%s\"%" PRIu64 "\": %" PRIu64, i ? ", " : "", hp.index,
                    hp.value);
        }
        fprintf(o, "}");
        break;
    case XMIG_LIBXC_X86_CPUID_POLICY:
        fprintf(o, ", \"leaves\": %u", rec->u.cpuid.count);
        break;
    case XMIG_LIBXC_X86_MSR_POLICY:
        fprintf(o, ", \"msrs\": %u", rec->u.msr.count);
        break;
    default:
        break;
    }
}

static void header(struct dump *d, const struct xmig_record *rec)
{
    FILE *o = d->out;

    switch (rec->kind) {
    case XMIG_ITEM_XL_HEADER:
        if (d->json) {
            item_open(d, "xl_header", rec->offset);
            fprintf(o, ", \"mandatory_flags\": %u, \"optional_flags\": %u, "
                       "\"optional_data_len\": %u, \"config_len\": %u}",
                    rec->u.xl.mandatory_flags, rec->u.xl.optional_flags,
                    rec->u.xl.optional_data_len, rec->u.xl.config_len);
        } else {
            fprintf(o, "%10" PRIu64 "  xl header: mandatory flags 0x%x, "
                       "optional flags 0x%x, config %u octets%s\n",
                    rec->offset, rec->u.xl.mandatory_flags,
                    rec->u.xl.optional_flags, rec->u.xl.config_len,
                    rec->u.xl.mandatory_flags & 1 ? " (JSON)" : "");
        }
        break;
    case XMIG_ITEM_LIBXL_HEADER:
        if (d->json) {
            item_open(d, "libxl_header", rec->offset);
            fprintf(o, ", \"version\": %u, \"options\": %u}",
                    rec->u.libxl.version, rec->u.libxl.options);
        } else {
            fprintf(o, "%10" PRIu64 "  libxl header: version %u, little "
                       "endian%s\n",
                    rec->offset, rec->u.libxl.version,
                    rec->u.libxl.options & 2 ? ", legacy converted" : "");
        }
        break;
    case XMIG_ITEM_IMAGE_HEADER:
        if (d->json) {
            item_open(d, "image_header", rec->offset);
            fprintf(o, ", \"version\": %u, \"options\": %u}",
                    rec->u.image.version, rec->u.image.options);
        } else {
            fprintf(o, "%10" PRIu64 "  libxc image header: version %u, "
                       "little endian\n",
                    rec->offset, rec->u.image.version);
        }
        break;
    default:
        if (d->json) {
            item_open(d, "domain_header", rec->offset);
            fprintf(o, ", \"type\": %u, \"page_shift\": %u, "
                       "\"xen_major\": %u, \"xen_minor\": %u}",
                    rec->u.domain.type, rec->u.domain.page_shift,
                    rec->u.domain.xen_major, rec->u.domain.xen_minor);
        } else {
            fprintf(o, "%10" PRIu64 "  libxc domain header: x86 %s, ",
                    rec->offset,
                    rec->u.domain.type == XMIG_DOMAIN_X86_HVM ? "HVM" : "PV");
            if (rec->u.domain.xen_major == 0) {
                fprintf(o, "converted from a legacy stream\n");
            } else {
                fprintf(o, "from Xen %u.%u\n", rec->u.domain.xen_major,
                        rec->u.domain.xen_minor);
            }
        }
        break;
    }
}

static int dump_item(void *user, const struct xmig_record *rec)
{
    struct dump *d = user;
    const char *layer = rec->layer == XMIG_LAYER_LIBXL ? "libxl" : "libxc";

    if (rec->kind == XMIG_ITEM_RECORD && rec->layer == XMIG_LAYER_LIBXC &&
        rec->type == XMIG_LIBXC_PAGE_DATA) {
        if (!d->run_records) {
            d->run_offset = rec->offset;
        }
        d->run_records++;
        d->run_pfns += rec->u.page_data.count;
        d->run_pages += rec->u.page_data.data_pages;
        return 0;
    }
    flush_run(d);
    if (rec->kind != XMIG_ITEM_RECORD) {
        header(d, rec);
        return 0;
    }
    if (d->json) {
        item_open(d, "record", rec->offset);
        fprintf(d->out, ", \"layer\": \"%s\", \"type\": %u, \"name\": \"%s\", "
                        "\"length\": %u, \"known\": %s",
                layer, rec->type, xmig_record_name(rec->layer, rec->type),
                rec->length, rec->known ? "true" : "false");
        json_fields(d, rec);
        fprintf(d->out, "}");
    } else {
        fprintf(d->out, "%10" PRIu64 "  %s %s (0x%x), length %u", rec->offset,
                layer, xmig_record_name(rec->layer, rec->type), rec->type,
                rec->length);
        if (!rec->known) {
            fprintf(d->out, ": skipped");
        }
        text_fields(d, rec);
        fprintf(d->out, "\n");
    }
    return 0;
}

static void help(FILE *out)
{
    fprintf(out, "usage: xmig dump [--format auto|xl|libxl|libxc] [--json] "
                 "FILE|-\n");
}

int dump_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "format", required_argument, NULL, 'f' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    enum xmig_format format = XMIG_FORMAT_AUTO;
    struct dump d = { stdout, 0, 1, 0, 0, 0, 0 };
    struct xmig_transport *t;
    struct xmig_reader *r;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "f:jh", opts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            if (cli_parse_format("dump", optarg, &format) < 0) {
                return EXIT_USAGE;
            }
            break;
        case 'j':
            d.json = 1;
            break;
        case 'h':
            help(stdout);
            return 0;
        default:
            help(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        help(stderr);
        return EXIT_USAGE;
    }
    t = cli_open_input("dump", argv[optind]);
    if (!t) {
        return EXIT_USAGE;
    }
    r = xmig_reader_create(t, format);
    if (!r) {
        cli_report("dump", argv[optind]);
        xmig_transport_free(t);
        return EXIT_USAGE;
    }
    if (d.json) {
        fprintf(d.out, "{\"items\": [");
    }
    rc = xmig_reader_run(r, dump_item, &d);
    flush_run(&d);
    if (d.json) {
        fprintf(d.out, "\n  ],\n  \"format\": \"%s\", \"valid\": %s}\n",
                xmig_format_name(xmig_reader_format(r)),
                rc < 0 ? "false" : "true");
    }
    fflush(d.out);
    if (rc < 0) {
        cli_report("dump", argv[optind]);
    }
    xmig_reader_free(r);
    xmig_transport_free(t);
    return rc < 0 ? EXIT_INVALID : 0;
}
