/*
 * xmig report STATS.json [-o FILE.svg]: a picture of a migration from its
 * JSON statistics (xmig migrate --json, or xmig status --json ID): each
 * round placed on a time axis (seconds) by its start and duration, as a
 * bar of the MiB it sent with a mark of the MiB dirty when it began; the
 * transfer rate and the guest's dirty rate (MiB/s, right axis) as lines;
 * the downtime as a band; the totals as a caption.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmigd/atomic_file.h"
#include "xmigd/cli.h"
#include "xmigd/ctl_json.h"

#define MAX_ROUNDS 64
#define W 860
#define H 460
#define LEFT 70
#define RIGHT 70
#define TOP 56
#define BOTTOM 80
#define MIB 1048576.0

struct round {
    double start, duration, sent_mib, dirty_mib, rate, dirty_rate, throttle;
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
        r->start = cj_num(o, "start_s", 0);
        r->duration = cj_num(o, "duration_s", 0);
        r->sent_mib = cj_num(o, "bytes", 0) / MIB;
        r->dirty_mib = cj_num(o, "dirty_pages", 0) * 4096.0 / MIB;
        r->rate = cj_num(o, "transfer_mib_s", 0);
        r->dirty_rate = cj_num(o, "dirty_pages_s", 0) * 4096.0 / MIB;
        r->throttle = cj_num(o, "throttle", 0);
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

/* A round number >= v for an axis's top: 1, 2 or 5 times a power of 10. */
static double nice_top(double v)
{
    double p = pow(10, floor(log10(v > 0 ? v : 1)));

    return v <= p ? p : v <= 2 * p ? 2 * p : v <= 5 * p ? 5 * p : 10 * p;
}

/* Text from the statistics, safe inside an SVG element. */
static void put_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        default:
            if ((unsigned char)*s >= 0x20) {
                fputc(*s, f);
            }
            break;
        }
    }
}

struct frame {
    double tmax, mmax, rmax;    /* axis tops: s, MiB, MiB/s */
    double pw, ph;              /* plot size */
};

static double fx(const struct frame *fr, double t)
{
    return LEFT + fr->pw * t / fr->tmax;
}

static double fy(const struct frame *fr, double v, double max)
{
    return TOP + fr->ph * (1 - v / max);
}

static void draw_axes(FILE *f, const struct frame *fr)
{
    fprintf(f, "<g id=\"axes\" stroke=\"black\">"
               "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
               "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
               "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/></g>\n",
            LEFT, TOP, LEFT, H - BOTTOM, LEFT, H - BOTTOM, W - RIGHT,
            H - BOTTOM, W - RIGHT, TOP, W - RIGHT, H - BOTTOM);
    for (int k = 0; k <= 5; k++) {
        double y = TOP + fr->ph * (1 - k / 5.0), x = LEFT + fr->pw * k / 5.0;
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>"
                   "<text x=\"%d\" y=\"%.1f\">%g</text>"
                   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g"
                   "</text>\n",
                LEFT - 6, y + 4, fr->mmax * k / 5.0, W - RIGHT + 6, y + 4,
                fr->rmax * k / 5.0, x, H - BOTTOM + 16, fr->tmax * k / 5.0);
    }
    fprintf(f, "<text id=\"x-label\" x=\"%.0f\" y=\"%d\" "
               "text-anchor=\"middle\">time (s)</text>\n"
               "<text id=\"y-label\" x=\"16\" y=\"%.0f\" text-anchor=\"middle\" "
               "transform=\"rotate(-90 16 %.0f)\">MiB per round</text>\n"
               "<text id=\"y2-label\" x=\"%d\" y=\"%.0f\" "
               "text-anchor=\"middle\" transform=\"rotate(90 %d %.0f)\">"
               "MiB/s</text>\n",
            LEFT + fr->pw / 2, H - BOTTOM + 34, TOP + fr->ph / 2,
            TOP + fr->ph / 2, W - 14, TOP + fr->ph / 2, W - 14,
            TOP + fr->ph / 2);
}

static void draw_rounds(FILE *f, const struct frame *fr,
                        const struct rounds *rs)
{
    fprintf(f, "<g id=\"rounds\">\n");
    for (int i = 0; i < rs->n; i++) {
        const struct round *r = &rs->r[i];
        double x = fx(fr, r->start), w = fx(fr, r->start + r->duration) - x;
        double y = fy(fr, r->sent_mib, fr->mmax);
        double yd = fy(fr, r->dirty_mib, fr->mmax);
        w = w < 1 ? 1 : w;
        fprintf(f, "<rect class=\"round\" x=\"%.2f\" y=\"%.2f\" "
                   "width=\"%.2f\" height=\"%.2f\" fill=\"%s\" "
                   "stroke=\"white\"><title>round %d%s: %.3f-%.3f s, "
                   "%.2f MiB sent, %.2f MiB dirty at its start, %.1f MiB/s, "
                   "throttle %.0f%%</title></rect>\n",
                x, y, w, H - BOTTOM - y, r->final ? "#5cb85c" : "#428bca",
                i + 1, r->final ? " (paused)" : "", r->start,
                r->start + r->duration, r->sent_mib, r->dirty_mib, r->rate,
                r->throttle);
        fprintf(f, "<line class=\"dirty-at-start\" x1=\"%.2f\" y1=\"%.2f\" "
                   "x2=\"%.2f\" y2=\"%.2f\" stroke=\"#d9534f\" "
                   "stroke-width=\"2\"/>\n",
                x, yd, x + w, yd);
    }
    fprintf(f, "</g>\n");
}

/* One rate as a line over time, a point at the middle of each round. */
static void draw_rate(FILE *f, const struct frame *fr,
                      const struct rounds *rs, const char *id,
                      const char *colour, int dirty)
{
    fprintf(f, "<polyline id=\"%s\" fill=\"none\" stroke=\"%s\" "
               "stroke-width=\"2\" points=\"",
            id, colour);
    for (int i = 0; i < rs->n; i++) {
        const struct round *r = &rs->r[i];
        if (dirty && r->final) {
            continue;   /* paused: the guest dirties nothing */
        }
        fprintf(f, "%s%.2f,%.2f", i ? " " : "",
                fx(fr, r->start + r->duration / 2),
                fy(fr, dirty ? r->dirty_rate : r->rate, fr->rmax));
    }
    fprintf(f, "\"/>\n");
}

/* The downtime: from the pause (the final round's start less the time the
 * guest took to stop) for downtime_ms. */
static void draw_downtime(FILE *f, const struct frame *fr,
                          const struct rounds *rs, json_t *st)
{
    double dt = cj_num(st, "downtime_ms", 0) / 1000.0, t0;
    const struct round *last = &rs->r[rs->n - 1];

    if (dt <= 0 || !last->final) {
        return;
    }
    t0 = last->start - cj_num(st, "stop_ms", 0) / 1000.0;
    t0 = t0 < 0 ? 0 : t0;
    fprintf(f, "<g id=\"downtime\"><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" "
               "height=\"%.0f\" fill=\"#f0ad4e\" fill-opacity=\"0.35\"/>"
               "<text x=\"%.2f\" y=\"%d\" text-anchor=\"end\">downtime "
               "%.1f ms</text></g>\n",
            fx(fr, t0), TOP, fx(fr, t0 + dt) - fx(fr, t0) < 2
                                 ? 2
                                 : fx(fr, t0 + dt) - fx(fr, t0),
            fr->ph, fx(fr, t0 + dt), TOP - 4, dt * 1000.0);
}

static int write_svg(FILE *f, const struct rounds *rs, json_t *st)
{
    struct frame fr = { 0, 0, 0, W - LEFT - RIGHT, H - TOP - BOTTOM };
    const char *warning = cj_str(st, "warning");

    for (int i = 0; i < rs->n; i++) {
        const struct round *r = &rs->r[i];
        fr.tmax = fmax(fr.tmax, r->start + r->duration);
        fr.mmax = fmax(fr.mmax, fmax(r->sent_mib, r->dirty_mib));
        fr.rmax = fmax(fr.rmax, fmax(r->rate, r->dirty_rate));
    }
    fr.tmax = nice_top(fmax(fr.tmax, cj_num(st, "total_s", 0)));
    fr.mmax = nice_top(fr.mmax);
    fr.rmax = nice_top(fr.rmax);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
               "height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
               "<text id=\"caption\" x=\"%d\" y=\"20\" font-size=\"13\">xmig "
               "live migration: %.0f rounds, %.2f s, %.1f MiB at %.0f MiB/s, "
               "downtime %.1f ms, TLS ",
            W, H, LEFT, cj_num(st, "iterations", rs->n),
            cj_num(st, "total_s", 0), cj_num(st, "bytes", 0) / MIB,
            cj_num(st, "throughput_mib_s", 0), cj_num(st, "downtime_ms", 0));
    put_text(f, cj_str(st, "tls_mode") ? cj_str(st, "tls_mode") : "?");
    fprintf(f, "%s</text>\n", cj_bool(st, "verified", 0) ? ", verified" : "");
    if (warning) {
        fprintf(f, "<text id=\"warning\" x=\"%d\" y=\"38\" fill=\"#d9534f\">"
                   "warning: ", LEFT);
        put_text(f, warning);
        fprintf(f, "</text>\n");
    }
    draw_axes(f, &fr);
    draw_downtime(f, &fr, rs, st);
    draw_rounds(f, &fr, rs);
    draw_rate(f, &fr, rs, "throughput", "#333333", 0);
    draw_rate(f, &fr, rs, "dirty-rate", "#d9534f", 1);
    fprintf(f, "<text id=\"legend\" x=\"%d\" y=\"%d\">"
               "<tspan fill=\"#428bca\">&#9632; MiB sent in a round</tspan>"
               "   <tspan fill=\"#5cb85c\">&#9632; the paused round</tspan>"
               "   <tspan fill=\"#d9534f\">&#9644; MiB dirty at its start"
               "</tspan>   <tspan fill=\"#333333\">&#9644; transfer rate"
               "</tspan>   <tspan fill=\"#d9534f\">&#9644; dirty rate "
               "(MiB/s, right)</tspan>   <tspan fill=\"#f0ad4e\">&#9632; "
               "downtime</tspan></text>\n</svg>\n",
            LEFT, H - 20);
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
                    "usage: xmig report [-o|--output FILE.svg] STATS.json|-\n"
                    "  an SVG of a migration's rounds from its statistics "
                    "(xmig migrate --json,\n  xmig status --json ID); "
                    "standard output without -o\n");
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
