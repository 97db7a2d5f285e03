# build/bin/podprof: the CLI (install, export, run, top, flamegraph, diff, collapse). It runs in
# our own image, so unlike the library it may use libcurl, zstd, OpenSSL and cJSON. `export` and
# `run` drive the exporter (exporter/exporter.mk), whose public headers the CLI includes; it
# reuses the pprof bindings generated for the library, and compiles the flame graphs' script in as
# a string.

PODPROF_CLI := $(BUILD)/bin/podprof
CLI_SRCS := $(sort $(wildcard sampler/cli/*.c))
CLI_OBJS := $(patsubst sampler/%.c,$(OBJ)/sampler/%.o,$(CLI_SRCS)) $(OBJ)/sampler/cli/gen/profile.pb-c.o \
	$(OBJ)/sampler/cli/gen/flame_script.o
CLI_CFLAGS := $(CFLAGS_COMMON) -I$(GEN) -Isampler/cli -Iexporter -pthread
CLI_LIBS := $(EXPORTER_LIBS) -lm

ALL_TARGETS += $(PODPROF_CLI)

# The pprof reader every reading command shares (over the exporter's bounded reader and gunzip),
# and the pictures drawn from it: listed for the fuzz targets, which build them without the rest
# of the CLI (with -Iexporter).
CLI_READER_SRCS := $(addprefix sampler/cli/,pprof_input.c err_text.c name_index.c \
	sample_types.c value_units.c) exporter/pprof_file.c
CLI_PICTURE_SRCS := $(addprefix sampler/cli/,call_tree.c frame_names.c folded_writer.c \
	flame_svg.c xml_text.c) $(GEN)/flame_script.c

$(OBJ)/sampler/cli/gen/profile.pb-c.o: $(GEN)/profile.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CFLAGS) -c $< -o $@

# The script becomes one C string literal; it sits in a CDATA section, which "]]>" would end.
$(GEN)/flame_script.c: sampler/cli/flame_script.js
	@mkdir -p $(dir $@)
	@if grep -q ']]>' $<; then echo "$<: must not contain ]]>" >&2; exit 1; fi
	{ echo '/* Generated from $< by sampler/cli.mk: edit the .js file. */'; \
	  echo '#include "flame_script.h"'; echo 'const char flame_script_js[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/    "/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } >$@.tmp && mv $@.tmp $@

$(OBJ)/sampler/cli/gen/flame_script.o: $(GEN)/flame_script.c sampler/cli/flame_script.h
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CFLAGS) -c $< -o $@

$(OBJ)/sampler/cli/%.o: sampler/cli/%.c $(GEN)/profile.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CFLAGS) -c $< -o $@

$(PODPROF_CLI): $(CLI_OBJS) $(EXPORTER_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_COMMON) -o $@ $(CLI_OBJS) $(EXPORTER_OBJS) $(CLI_LIBS)
