#include "annotations.h"

#include "podprof/names.h"
#include "podprof/settings_tables.h"

static const struct {
    const char *name, *values, *meaning;
} annotations[] = {
    {PP_ANN_ENABLED, "`true`, `false`; as a namespace label `true`, `all`",
     "On a pod: opt in or out. As a namespace label: `true` profiles the pods annotated `true`, "
     "`all` every pod not annotated `false`."},
    {PP_ANN_CONTAINERS, "`name,name`",
     "The containers to profile; without it, every container except known sidecars "
     "(`--skip-containers`)."},
    {PP_ANN_CONFIG_PREFIX "<NAME>", "the setting's own",
     "Passes a setting to the profiled containers or the exporter as environment (the list "
     "below); any other NAME is ignored with a warning."},
    {PP_ANN_INJECTED, "the injector's version",
     "Written by the injector on every pod it changed; a pod that has it is never changed again."},
    {PP_ANN_SKIPPED, "a reason",
     "Written by the injector on an opted-in pod it had to leave alone, saying why."},
};

/* The rows of a settings table that a pod may choose, with where they go. */
static void pod_settings(FILE *out, const pp_setting *t, size_t n, const char *where)
{
    for (size_t i = 0; i < n; i++) {
        char buf[160];
        if (t[i].flags & PP_SETTING_POD)
            fprintf(out, "| `%s%s` | %s | %s | %s |\n", PP_ANN_CONFIG_PREFIX, t[i].name,
                    pp_setting_expected(&t[i], buf, sizeof buf), where, t[i].help);
    }
}

void inj_annotations_markdown(FILE *out)
{
    fprintf(out, "\n## Pod annotations\n\n"
                 "<!-- Generated with the settings above from the annotation table in "
                 "injector/mutate/annotations.c and the library's and exporter's settings "
                 "tables. -->\n\n"
                 "| annotation | values | meaning |\n|---|---|---|\n");
    for (size_t i = 0; i < sizeof annotations / sizeof annotations[0]; i++)
        fprintf(out, "| `%s` | %s | %s |\n", annotations[i].name, annotations[i].values,
                annotations[i].meaning);
    fprintf(out, "\nThe settings a pod may choose with `" PP_ANN_CONFIG_PREFIX "NAME: value`:\n\n"
                 "| annotation | accepted values | given to | meaning |\n|---|---|---|---|\n");
    pod_settings(out, pp_sampler_settings, pp_sampler_settings_len,
                 "the profiled containers ([config-sampler.md](config-sampler.md))");
    pod_settings(out, pp_exporter_settings, pp_exporter_settings_len,
                 "the exporter ([config-exporter.md](config-exporter.md))");
}
