# build/bin/podprof-injector: the admission webhook server and its offline CLI. Everything but
# main.c is also linked into the unit tests and the fuzz target, so they exercise the very code
# the server runs.

INJECTOR := $(BUILD)/bin/podprof-injector
INJ_SRCS := $(sort $(wildcard injector/*.c))
INJ_OBJS := $(patsubst injector/%.c,$(OBJ)/injector/%.o,$(INJ_SRCS))
INJ_CORE_OBJS := $(filter-out $(OBJ)/injector/main.o,$(INJ_OBJS))
INJ_CFLAGS := $(CFLAGS_COMMON) -Iinjector -pthread
INJ_LIBS := -levent_openssl -levent_pthreads -levent -lssl -lcrypto -lcjson -lyaml -lm -pthread

ALL_TARGETS += $(INJECTOR)

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

$(BUILD)/tests/injector/%: tests/injector/unit/%.c tests/injector/unit/fixtures.h $(INJ_CORE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(INJ_CFLAGS) -Itests/injector/unit -o $@ $< $(INJ_CORE_OBJS) $(LDFLAGS_COMMON) \
		$(INJ_LIBS) -lcmocka

PY_TEST_DIRS += tests/injector
