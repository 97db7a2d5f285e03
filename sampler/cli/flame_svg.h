/* Draws a call tree as a self-contained flame graph: one SVG file (or an HTML page around the
 * same SVG) with no external reference, whose boxes, labels, colours and hover titles are all
 * static markup, so it reads the same shown through <img> in a pull request or a document; the
 * embedded script (flame_script.js) adds zoom and search when the file is opened in a browser.
 *
 * Conventions (those of flamegraph.pl): the root "all" at the bottom, callees stacked above
 * their caller, a box's width proportional to its value, siblings ordered by name (so the x axis
 * is not time), boxes narrower than 0.1 px left out. Colours: the hue is a hash of the frame's
 * module (its shortened file), so one module has one hue in every picture; the shade varies a
 * little per function so neighbours stay apart; frames podprof made up are grey. In a
 * differential graph the boxes have NEW's widths and are coloured by the change of the frame's
 * share of the total from BASE to NEW: red grew, blue shrank, white unchanged, the deepest
 * colour being the largest change in the picture. */
#ifndef PODPROF_CLI_FLAME_SVG_H
#define PODPROF_CLI_FLAME_SVG_H

#include <stdbool.h>
#include <stdio.h>

#include "call_tree.h"

typedef struct flame_svg_options {
    const char *title;    /* the heading, e.g. "Flame graph: CPU time" */
    const char *subtitle; /* one line under it: inputs, totals, filters */
    int series;           /* the series whose values size the boxes */
    int base_series;      /* a differential graph's BASE series, or -1 */
    bool html;            /* an HTML page with the SVG inline and a search box */
} flame_svg_options;

/* Writes the picture of a sorted tree (call_tree_sort); returns 0, or -1 when memory runs out
 * (write errors are the caller's to check on out). */
int flame_svg_write(const call_tree *t, const flame_svg_options *o, FILE *out);

#endif
