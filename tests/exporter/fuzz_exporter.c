/* libFuzzer target over the exporter's parsers of untrusted text: the Downward API labels file,
 * the sampler's metadata JSON (its code provenance turned into the attachment) and DD_TAGS lists,
 * through tag assembly and joining. The first input byte picks the label policy so mapping and
 * filtering are exercised too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "code_provenance.h"
#include "labels.h"
#include "spool_meta.h"
#include "tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const policies[] = {"*", "", "app=service,team", "*,a=b", ",,=,*="};
    if (size < 1)
        return 0;
    const char *policy = policies[data[0] % (sizeof policies / sizeof *policies)];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    ex_labels labels;
    ex_labels_parse(text, len, &labels);
    ex_tags tags = {0};
    ex_tags_add_labels(&tags, &labels, policy);
    ex_labels_free(&labels);

    char *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, text, len);
        copy[len] = '\0';
        ex_tags_add_list(&tags, copy);
        ex_tags_set(&tags, copy, copy);
        free(copy);
    }
    ex_meta meta;
    char err[128];
    if (ex_meta_parse(text, len, &meta, err, sizeof err) == 0) {
        ex_tags_add_list(&tags, meta.tags);
        ex_tags_set(&tags, "service", meta.service ? meta.service : "x");
        char when[40];
        ex_format_rfc3339(meta.start_ns, when);
        void *attachment = NULL;
        size_t attachment_len;
        if (meta.code_provenance)
            ex_provenance_attachment(meta.code_provenance, meta.python_version, &attachment,
                                     &attachment_len, err, sizeof err);
        free(attachment);
        ex_meta_free(&meta);
    }
    char *joined = ex_tags_join(&tags);
    free(joined);
    ex_tags_free(&tags);
    return 0;
}
