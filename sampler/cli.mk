# build/bin/podprof: the CLI (install, export, run, top). It runs in our own image, so unlike the
# library it may use libcurl, zstd, OpenSSL and cJSON. `export` and `run` drive the exporter
# (exporter/exporter.mk), whose public headers the CLI includes; it reuses the pprof bindings
# generated for the library.

PODPROF_CLI := $(BUILD)/bin/podprof
CLI_SRCS := $(sort $(wildcard sampler/cli/*.c))
CLI_OBJS := $(patsubst sampler/%.c,$(OBJ)/sampler/%.o,$(CLI_SRCS)) $(OBJ)/sampler/cli/gen/profile.pb-c.o
CLI_CFLAGS := $(CFLAGS_COMMON) -I$(GEN) -Isampler/cli -Iexporter -pthread
CLI_LIBS := $(EXPORTER_LIBS)

ALL_TARGETS += $(PODPROF_CLI)

$(OBJ)/sampler/cli/gen/profile.pb-c.o: $(GEN)/profile.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CFLAGS) -c $< -o $@

$(OBJ)/sampler/cli/%.o: sampler/cli/%.c $(GEN)/profile.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CFLAGS) -c $< -o $@

$(PODPROF_CLI): $(CLI_OBJS) $(EXPORTER_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_COMMON) -o $@ $(CLI_OBJS) $(EXPORTER_OBJS) $(CLI_LIBS)
