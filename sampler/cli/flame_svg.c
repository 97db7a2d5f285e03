/* Writes the flame graph SVG (see flame_svg.h). */
#include "flame_svg.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flame_script.h"
#include "value_units.h"
#include "xml_text.h"

/* Layout in px. The script reads the ones it needs from the <svg> element's data-* attributes. */
#define IMAGE_WIDTH 1200.0
#define PAD 10.0
#define FRAMES_WIDTH (IMAGE_WIDTH - 2 * PAD)
#define FRAME_HEIGHT 16.0
#define FONT_SIZE 12.0
#define CHAR_WIDTH (FONT_SIZE * 0.59) /* an average Verdana glyph, flamegraph.pl's estimate */
#define MIN_WIDTH 0.1
#define TOP 60.0
#define BOTTOM 36.0

/* Bumped when the markup changes, so a picture says which generator drew it. */
#define FLAME_SVG_VERSION "2"

typedef struct layout {
    const call_tree *t;
    const flame_svg_options *o;
    int64_t total, base_total;
    double scale;      /* px per sample unit */
    int64_t *offset;   /* per node: units from the left edge */
    size_t max_depth;  /* deepest box drawn */
    double max_change; /* differential: the largest |share change| drawn */
    FILE *out;
} layout;

static bool drawn(const layout *l, const call_node *n)
{
    return n->total[l->o->series] > 0 && (double)n->total[l->o->series] * l->scale >= MIN_WIDTH;
}

/* Offsets of every node: a child's parent is always created, and so numbered, before it. */
static void place_nodes(layout *l)
{
    size_t n = call_tree_node_count(l->t);
    int s = l->o->series;
    l->offset[CALL_TREE_ROOT] = 0;
    for (uint32_t i = 0; i < n; i++) {
        int64_t x = l->offset[i];
        for (uint32_t c = call_tree_node(l->t, i)->first_child; c != CALL_TREE_NONE;
             c = call_tree_node(l->t, c)->next_sibling) {
            l->offset[c] = x;
            int64_t v = call_tree_node(l->t, c)->total[s];
            x += v > 0 ? v : 0;
        }
    }
}

static double share(int64_t v, int64_t total)
{
    return total > 0 ? (double)v / (double)total : 0.0;
}

static double change(const layout *l, const call_node *n)
{
    return share(n->total[l->o->series], l->total) -
           share(n->total[l->o->base_series], l->base_total);
}

static int measure(void *ctx, uint32_t id, size_t depth)
{
    layout *l = ctx;
    const call_node *n = call_tree_node(l->t, id);
    if (!drawn(l, n))
        return 1;
    if (depth > l->max_depth)
        l->max_depth = depth;
    if (l->o->base_series >= 0 && depth > 0) {
        double c = fabs(change(l, n));
        if (c > l->max_change)
            l->max_change = c;
    }
    return 0;
}

/* ---- colours ---- */

static uint32_t hash32(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        h = (h ^ *c) * 16777619u;
    return h;
}

static void hsl_hex(double hue, double sat, double light, char out[8])
{
    double c = (1 - fabs(2 * light - 1)) * sat;
    double hp = hue / 60.0;
    double x = c * (1 - fabs(fmod(hp, 2) - 1));
    double r = 0, g = 0, b = 0;
    if (hp < 1)
        r = c, g = x;
    else if (hp < 2)
        r = x, g = c;
    else if (hp < 3)
        g = c, b = x;
    else if (hp < 4)
        g = x, b = c;
    else if (hp < 5)
        r = x, b = c;
    else
        r = c, b = x;
    double m = light - c / 2;
    snprintf(out, 8, "#%02x%02x%02x", (unsigned)lround((r + m) * 255),
             (unsigned)lround((g + m) * 255), (unsigned)lround((b + m) * 255));
}

static void frame_fill(const layout *l, const call_node *n, char out[8])
{
    const call_frame *f = call_tree_frame(l->t, n->frame);
    if (l->o->base_series >= 0) {
        double c = change(l, n);
        double s = l->max_change > 0 ? fabs(c) / l->max_change : 0;
        unsigned fade = (unsigned)lround(255 - 200 * s);
        if (c >= 0)
            snprintf(out, 8, "#ff%02x%02x", fade, fade);
        else
            snprintf(out, 8, "#%02x%02xff", fade, fade);
        return;
    }
    if (f->synthetic) {
        snprintf(out, 8, "#c8c8c8");
        return;
    }
    /* Violet to pink (hues 250-340) are kept for search highlights. */
    uint32_t hue = hash32(f->module) % 270;
    if (hue >= 250)
        hue += 90;
    uint32_t shade = hash32(f->text);
    hsl_hex(hue, 0.55 + (shade % 16) / 100.0, 0.62 + ((shade >> 8) % 10) / 100.0, out);
}

/* ---- markup ---- */

static void write_value(const layout *l, int64_t v, int64_t total)
{
    char text[48];
    value_format(text, sizeof text, v, call_tree_get_info(l->t)->unit);
    fprintf(l->out, "%s, %.2f%%", text, 100.0 * share(v, total));
}

static void write_title(const layout *l, const call_node *n, const call_frame *f)
{
    fputs("<title>", l->out);
    xml_write_text(l->out, f->text, SIZE_MAX);
    fputs("&#10;", l->out);
    int s = l->o->series, b = l->o->base_series;
    if (b >= 0) {
        fputs("NEW ", l->out);
        write_value(l, n->total[s], l->total);
        fputs(" | BASE ", l->out);
        write_value(l, n->total[b], l->base_total);
        fprintf(l->out, " | %+.2f points", 100.0 * change(l, n));
    } else {
        write_value(l, n->total[s], l->total);
        if (n->self[s] > 0 && n->self[s] != n->total[s]) {
            fputs(" (self ", l->out);
            write_value(l, n->self[s], l->total);
            fputs(")", l->out);
        }
    }
    fputs("</title>", l->out);
}

/* The label that fits w px, cut as the script cuts it. */
static void write_label(const layout *l, const char *text, double w)
{
    double fits = floor((w - 6) / CHAR_WIDTH);
    if (fits < 3)
        return;
    size_t n = (size_t)fits, chars = xml_text_chars(text);
    if (chars <= n) {
        xml_write_text(l->out, text, SIZE_MAX);
    } else {
        xml_write_text(l->out, text, n - 2);
        fputs("..", l->out);
    }
}

static int write_frame(void *ctx, uint32_t id, size_t depth)
{
    layout *l = ctx;
    const call_node *n = call_tree_node(l->t, id);
    if (!drawn(l, n))
        return 1;
    const call_frame *f = call_tree_frame(l->t, n->frame);
    int64_t v = n->total[l->o->series];
    double x = PAD + (double)l->offset[id] * l->scale, w = (double)v * l->scale;
    double y = TOP + (double)(l->max_depth - depth) * FRAME_HEIGHT;
    char fill[8];
    frame_fill(l, n, fill);
    fprintf(l->out, "<g class=\"f\" data-o=\"%" PRId64 "\" data-v=\"%" PRId64 "\" data-d=\"%zu\">",
            l->offset[id], v, depth);
    write_title(l, n, f);
    fprintf(l->out,
            "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\" rx=\"2\"/>"
            "<text x=\"%.2f\" y=\"%.1f\">",
            x, y, w > 1.5 ? w - 1 : w, FRAME_HEIGHT - 1, fill, x + 3, y + FONT_SIZE - 0.5);
    write_label(l, f->text, w);
    fputs("</text></g>\n", l->out);
    return 0;
}

static const char style[] =
    "text{font-family:Verdana,\"DejaVu Sans\",sans-serif;font-size:12px;fill:#000}\n"
    ".title{font-size:17px}.subtitle{fill:#444}\n"
    ".button{cursor:pointer;fill:#1a5fb4}.button:hover{text-decoration:underline}\n"
    ".hide{display:none}.f{cursor:pointer}.f text{pointer-events:none}\n"
    ".diff .f rect{stroke:#bbb;stroke-width:0.5}\n"
    ".f:hover rect{stroke:#000;stroke-width:0.5}.f.hl rect{fill:#e040e0}.f.anc{opacity:0.6}\n";

static void write_text_line(FILE *out, const char *id, const char *cls, double x, double y,
                            const char *anchor, const char *text)
{
    fprintf(out, "<text id=\"podprof-%s\" class=\"%s\" x=\"%.1f\" y=\"%.1f\"", id, cls, x, y);
    if (anchor)
        fprintf(out, " text-anchor=\"%s\"", anchor);
    fputc('>', out);
    xml_write_text(out, text, SIZE_MAX);
    fputs("</text>\n", out);
}

static void write_svg(layout *l, double height)
{
    FILE *out = l->out;
    const call_tree_info *info = call_tree_get_info(l->t);
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" id=\"podprof-flame\" "
            "class=\"%s\" width=\"%s\" viewBox=\"0 0 %.0f %.0f\" "
            "data-generator=\"podprof flamegraph %s\" data-type=\"",
            l->o->base_series >= 0 ? "diff" : "flame", l->o->html ? "100%" : "1200", IMAGE_WIDTH,
            height, FLAME_SVG_VERSION);
    xml_write_text(out, info->type, SIZE_MAX);
    fputs("\" data-unit=\"", out);
    xml_write_text(out, info->unit, SIZE_MAX);
    fprintf(out,
            "\" data-total=\"%" PRId64 "\" data-frames-width=\"%.0f\" data-pad=\"%.0f\" "
            "data-char-width=\"%.2f\" data-min-width=\"%.1f\">\n",
            l->total, FRAMES_WIDTH, PAD, CHAR_WIDTH, MIN_WIDTH);
    if (!l->o->html)
        fprintf(out, "<style>\n%s</style>\n", style);
    fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#f6f6f2\"/>\n",
            IMAGE_WIDTH, height);
    write_text_line(out, "title", "title", IMAGE_WIDTH / 2, 24, "middle", l->o->title);
    write_text_line(out, "subtitle", "subtitle", IMAGE_WIDTH / 2, 44, "middle", l->o->subtitle);
    write_text_line(out, "unzoom", "button hide", PAD, 24, NULL, "Reset zoom");
    write_text_line(out, "search", "button", IMAGE_WIDTH - PAD, 24, "end", "Search");
    write_text_line(out, "details", "details", PAD, height - 12, NULL, " ");
    write_text_line(out, "matched", "matched", IMAGE_WIDTH - PAD, height - 12, "end", "");
    if (l->total <= 0)
        write_text_line(out, "empty", "subtitle", IMAGE_WIDTH / 2, TOP + FRAME_HEIGHT, "middle",
                        "No samples: nothing to draw");
    fputs("<g id=\"podprof-frames\">\n", out);
    if (l->total > 0)
        call_tree_walk(l->t, write_frame, l);
    fputs("</g>\n", out);
    /* CDATA keeps the script's '<' and '&' literal in XML and in HTML's inline SVG alike. */
    fprintf(out, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n</svg>\n",
            flame_script_js);
}

static void write_html(layout *l, double height)
{
    FILE *out = l->out;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", out);
    xml_write_text(out, l->o->title, SIZE_MAX);
    fprintf(out,
            "</title>\n<style>\nbody{margin:0 auto;max-width:1600px;padding:8px;"
            "font-family:Verdana,\"DejaVu Sans\",sans-serif;font-size:13px}\n"
            "#podprof-search-input{width:24em;margin:4px 0}\n%s</style>\n</head>\n<body>\n"
            "<label>Search (regular expression): <input id=\"podprof-search-input\" "
            "type=\"search\" spellcheck=\"false\"></label>\n",
            style);
    write_svg(l, height);
    fputs("<p>Click a frame to zoom in, \"all\" or \"Reset zoom\" to zoom out; the search "
          "highlights matching frames and shows their share of the total; hover for "
          "values.</p>\n</body>\n</html>\n",
          out);
}

int flame_svg_write(const call_tree *t, const flame_svg_options *o, FILE *out)
{
    layout l = {t, o, 0, 0, 0, NULL, 0, 0, out};
    const call_node *root = call_tree_node(t, CALL_TREE_ROOT);
    l.total = root->total[o->series];
    l.base_total = o->base_series >= 0 ? root->total[o->base_series] : 0;
    l.scale = l.total > 0 ? FRAMES_WIDTH / (double)l.total : 0;
    l.offset = malloc(call_tree_node_count(t) * sizeof *l.offset);
    if (!l.offset)
        return -1;
    place_nodes(&l);
    if (l.total > 0)
        call_tree_walk(t, measure, &l);
    double height = TOP + (double)(l.max_depth + 1) * FRAME_HEIGHT + BOTTOM;
    if (!o->html)
        fputs("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n", out);
    if (o->html)
        write_html(&l, height);
    else
        write_svg(&l, height);
    free(l.offset);
    return 0;
}
