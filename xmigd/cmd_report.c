/*
 * xmig report STATS.json [-o FILE.svg]: a picture of a migration's rounds
 * from its JSON statistics (xmig migrate --json, or xmig status --json ID):
 * pages dirty at the start of each round beside pages sent in it, and the
 * vCPU throttle as a line, with the totals as a caption.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmigd/atomic_file.h"
#include "xmigd/cli.h"
#include "xmigd/ctl_json.h"

#define MAX_ROUNDS 64
#define W 760
#define H 420
#define LEFT 70
#define RIGHT 60
#define TOP 50
#define BOTTOM 70

struct round {
    double dirty, sent, zero, throttle, mibs;
    int final;
};

struct rounds {
    struct round r[MAX_ROUNDS];
    int n;
};

static void add_round(json_t *o, struct rounds *rs)
{
    if (rs->n < MAX_ROUNDS && json_is_object(o)) {
        struct round *r = &rs->r[rs->n++];
        r->dirty = cj_num(o, "dirty_pages", 0);
        r->sent = cj_num(o, "pages_sent", 0);
        r->zero = cj_num(o, "zero_pages", 0);
        r->throttle = cj_num(o, "throttle", 0);
        r->mibs = cj_num(o, "transfer_mib_s", 0);
        r->final = cj_bool(o, "final", 0);
    }
}

/* The statistics object: the document itself (xmig migrate --json), or
 * the "stats" member of a status reply (xmig status --json ID). */
static json_t *stats_of(json_t *doc)
{
    json_t *status = json_object_get(doc, "status");
    json_t *st = json_object_get(json_is_object(status) ? status : doc,
                                 "stats");

    return json_is_object(st) ? st : doc;
}

static int write_svg(FILE *f, const struct rounds *rs, json_t *st)
{
    double max = 1;
    double plot_w = W - LEFT - RIGHT, plot_h = H - TOP - BOTTOM;
    double slot = plot_w / (rs->n ? rs->n : 1), bar = slot * 0.35;

    for (int i = 0; i < rs->n; i++) {
        double v = rs->r[i].dirty > rs->r[i].sent + rs->r[i].zero
                       ? rs->r[i].dirty
                       : rs->r[i].sent + rs->r[i].zero;
        max = v > max ? v : max;
    }
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
               "height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, H);
    fprintf(f, "<text x=\"%d\" y=\"22\" font-size=\"13\">xmig live "
               "migration: %.0f rounds, %.2f s, downtime %.1f ms, %.0f MiB/s, "
               "TLS %s%s</text>\n",
            LEFT, cj_num(st, "iterations", rs->n), cj_num(st, "total_s", 0),
            cj_num(st, "downtime_ms", 0), cj_num(st, "throughput_mib_s", 0),
            cj_str(st, "tls_mode") ? cj_str(st, "tls_mode") : "?",
            cj_bool(st, "verified", 0) ? ", verified" : "");
    /* axes and scale */
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
               "stroke=\"black\"/>\n",
            LEFT, TOP, LEFT, H - BOTTOM);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
               "stroke=\"black\"/>\n",
            LEFT, H - BOTTOM, W - RIGHT, H - BOTTOM);
    for (int k = 0; k <= 4; k++) {
        double y = TOP + plot_h * (1 - k / 4.0);
        fprintf(f, "<text x=\"%d\" y=\"%.0f\" text-anchor=\"end\">%.0f</text>"
                   "<text x=\"%d\" y=\"%.0f\">%d%%</text>\n",
                LEFT - 6, y + 4, max * k / 4.0, W - RIGHT + 6, y + 4, k * 25);
    }
    fprintf(f, "<text x=\"14\" y=\"%d\" transform=\"rotate(-90 14 %d)\">"
               "pages</text>\n",
            TOP + (int)plot_h / 2, TOP + (int)plot_h / 2);
    for (int i = 0; i < rs->n; i++) {
        const struct round *r = &rs->r[i];
        double x = LEFT + slot * i + slot * 0.12;
        double hd = plot_h * r->dirty / max;
        double hs = plot_h * r->sent / max, hz = plot_h * r->zero / max;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                   "fill=\"#d9534f\"><title>round %d: %.0f pages dirty at "
                   "start</title></rect>\n",
                x, H - BOTTOM - hd, bar, hd, i + 1, r->dirty);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                   "fill=\"#428bca\"><title>round %d: %.0f pages sent, %.0f "
                   "MiB/s</title></rect>\n",
                x + bar, H - BOTTOM - hs - hz, bar, hs, i + 1, r->sent,
                r->mibs);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                   "fill=\"#a6c8e6\"><title>round %d: %.0f zero pages "
                   "(allocate-only)</title></rect>\n",
                x + bar, H - BOTTOM - hz, bar, hz, i + 1, r->zero);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d%s"
                   "</text>\n",
                x + bar, H - BOTTOM + 16, i + 1, r->final ? "*" : "");
        if (i > 0) {
            const struct round *p = &rs->r[i - 1];
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                       "y2=\"%.1f\" stroke=\"#f0ad4e\" stroke-width=\"3\"/>\n",
                    x - slot + bar, TOP + plot_h * (1 - p->throttle / 100),
                    x + bar, TOP + plot_h * (1 - r->throttle / 100));
        }
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\">round (* = paused)   "
               "<tspan fill=\"#d9534f\">&#9632; dirty at start</tspan>   "
               "<tspan fill=\"#428bca\">&#9632; sent with data</tspan>   "
               "<tspan fill=\"#a6c8e6\">&#9632; sent as zero</tspan>   "
               "<tspan fill=\"#f0ad4e\">&#9644; vCPU throttle (right "
               "axis)</tspan></text>\n</svg>\n",
            LEFT, H - 22);
    return ferror(f) ? -1 : 0;
}

int report_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *outpath = NULL;
    char *text = NULL, err[256];
    json_t *doc, *st, *round;
    size_t i;
    struct rounds rs = { .n = 0 };
    struct atomic_file af = { .fd = -1 };
    size_t len = 0, cap = 0;
    FILE *in;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (opt == 'o') {
            outpath = optarg;
        } else {
            fprintf(opt == 'h' ? stdout : stderr,
                    "usage: xmig report [-o FILE.svg] STATS.json|-\n");
            return opt == 'h' ? 0 : EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: xmig report [-o FILE.svg] STATS.json|-\n");
        return EXIT_USAGE;
    }
    in = strcmp(argv[optind], "-") == 0 ? stdin : fopen(argv[optind], "r");
    if (!in) {
        fprintf(stderr, "xmig report: cannot open %s: %s\n", argv[optind],
                strerror(errno));
        return EXIT_USAGE;
    }
    for (;;) {
        size_t n;
        if (len + 4096 > cap) {
            char *p = realloc(text, cap = cap ? cap * 2 : 65536);
            if (!p) {
                free(text);
                return EXIT_INVALID;
            }
            text = p;
        }
        n = fread(text + len, 1, cap - len - 1, in);
        if (n == 0) {
            break;
        }
        len += n;
    }
    if (in != stdin) {
        fclose(in);
    }
    text[len] = '\0';
    while (len && (text[len - 1] == '\n' || text[len - 1] == ' ')) {
        text[--len] = '\0';
    }
    doc = cj_parse(text, len, err, sizeof(err));
    free(text);
    if (!doc) {
        fprintf(stderr, "xmig report: %s: %s\n", argv[optind], err);
        return EXIT_INVALID;
    }
    st = stats_of(doc);
    json_array_foreach(json_object_get(st, "rounds"), i, round) {
        add_round(round, &rs);
    }
    if (rs.n == 0) {
        fprintf(stderr, "xmig report: %s holds no rounds (migration "
                        "statistics expected)\n",
                argv[optind]);
        json_decref(doc);
        return EXIT_INVALID;
    }
    if (!outpath) {
        rc = write_svg(stdout, &rs, st);
    } else {
        /* Draw into memory, then into a file that appears only whole. */
        char *svg = NULL;
        size_t svg_len = 0;
        FILE *mem = open_memstream(&svg, &svg_len);
        rc = mem ? write_svg(mem, &rs, st) : -1;
        if (mem && fclose(mem) != 0) {
            rc = -1;
        }
        if (rc == 0 && (atomic_open(&af, outpath) < 0 ||
                        write(af.fd, svg, svg_len) != (ssize_t)svg_len ||
                        atomic_commit(&af) < 0)) {
            if (af.fd >= 0) {
                atomic_abort(&af);
            }
            rc = -1;
        }
        free(svg);
        if (rc < 0) {
            fprintf(stderr, "xmig report: cannot write %s\n", outpath);
        }
    }
    json_decref(doc);
    return rc < 0 ? EXIT_INVALID : 0;
}
