# build/bin/podprof-injector: the admission webhook server and its offline CLI. Its two halves are
# folders: mutate/ is the pure pod mutation (AdmissionReview in, JSON Patch out, no I/O), server/
# the HTTPS server around it; config/ holds the settings both read, and the top level the commands.
# The mutation is compiled seeing only itself and config/, so it cannot come to depend on the
# server. Everything but main.c is also linked into the unit tests, and the mutation into the fuzz
# targets, so they exercise the very code the server runs.

INJECTOR := $(BUILD)/bin/podprof-injector
INJ_DIRS := injector injector/config injector/mutate injector/server
INJ_SRCS := $(sort $(wildcard $(addsuffix /*.c,$(INJ_DIRS))))
INJ_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(INJ_SRCS))
# The settings tables of the library and the exporter (data only): the pod annotations that pass
# settings on are derived from their rows (podprof/settings_tables.h).
INJ_TABLE_SRCS := sampler/lib/config_table.c exporter/export_settings.c
INJ_OBJS += $(patsubst %.c,$(OBJ)/injector/tables/%.o,$(INJ_TABLE_SRCS))
INJ_CORE_OBJS := $(filter-out $(OBJ)/injector/main.o,$(INJ_OBJS))
INJ_CFLAGS := $(CFLAGS_COMMON) $(addprefix -I,$(INJ_DIRS)) -pthread
INJ_MUTATE_CFLAGS := $(CFLAGS_COMMON) -Iinjector/mutate -Iinjector/config -pthread
INJ_LIBS := -levent_openssl -levent_pthreads -levent -lssl -lcrypto -lcjson -lyaml -lm -pthread

ALL_TARGETS += $(INJECTOR)

$(OBJ)/injector/mutate/%.o: injector/mutate/%.c
	@mkdir -p $(dir $@)
	$(CC) $(INJ_MUTATE_CFLAGS) -c $< -o $@

$(OBJ)/injector/tables/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -c $< -o $@

$(OBJ)/injector/%.o: injector/%.c
	@mkdir -p $(dir $@)
	$(CC) $(INJ_CFLAGS) -c $< -o $@

$(INJECTOR): $(INJ_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_COMMON) -o $@ $(INJ_OBJS) $(INJ_LIBS)

# cmocka unit tests: tests/injector/unit/test_<what>.c -> $(BUILD)/tests/injector/test_<what>
INJ_UNIT_SRCS := $(sort $(wildcard tests/injector/unit/test_*.c))
INJ_UNIT_BINS := $(patsubst tests/injector/unit/%.c,$(BUILD)/tests/injector/%,$(INJ_UNIT_SRCS))
UNIT_TESTS += $(INJ_UNIT_BINS)
# The server, mutation, certs and config-doc suites (real TLS, real processes).
PY_TEST_DIRS += tests/injector

$(BUILD)/tests/injector/%: tests/injector/unit/%.c tests/injector/unit/fixtures.h $(INJ_CORE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(INJ_CFLAGS) -Itests/injector/unit -o $@ $< $(INJ_CORE_OBJS) $(LDFLAGS_COMMON) \
		$(INJ_LIBS) -lcmocka
