# Tests of the sampler's aggregation, pprof encoding and profile files (sampler-output), and of the
# podprof CLI's install/run/top. The library sources under test are compiled straight into the
# test binaries (not through libpodprof.so) so the tests can drive them with known stacks.

OUTPUT_TBIN := $(BUILD)/tests/output
OUTPUT_TOBJ := $(OBJ)/tests/output
OUTPUT_LIB_OBJS := $(patsubst sampler/lib/%.c,$(OUTPUT_TOBJ)/lib/%.o,\
	sampler/lib/aggregate.c sampler/lib/pprof_writer.c sampler/lib/profile_output.c) \
	$(OUTPUT_TOBJ)/lib/profile.pb-c.o
OUTPUT_CFLAGS := $(CFLAGS_COMMON) -I$(GEN) -Isampler/lib -Itests/output -pthread
OUTPUT_LIBS := -lcmocka -lcjson -lprotobuf-c -lz -pthread

OUTPUT_UNIT := $(OUTPUT_TBIN)/test_aggregate $(OUTPUT_TBIN)/test_profile_output
UNIT_TESTS += $(OUTPUT_UNIT)
# The fixture turns stacks described on stdin into profile files for the pytest side.
ALL_TARGETS += $(OUTPUT_TBIN)/pprof_fixture
PY_TEST_DIRS += tests/output

$(OUTPUT_TOBJ)/lib/%.o: sampler/lib/%.c $(GEN)/profile.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(OUTPUT_CFLAGS) -c $< -o $@

$(OUTPUT_TOBJ)/lib/profile.pb-c.o: $(GEN)/profile.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(OUTPUT_CFLAGS) -c $< -o $@

$(OUTPUT_TOBJ)/%.o: tests/output/%.c $(GEN)/profile.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(OUTPUT_CFLAGS) -c $< -o $@

# Steady-state sampling must not allocate: the aggregate test counts malloc calls through --wrap.
$(OUTPUT_TBIN)/test_aggregate: $(OUTPUT_TOBJ)/test_aggregate.o $(OUTPUT_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_COMMON) -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc -o $@ $^ $(OUTPUT_LIBS)

$(OUTPUT_TBIN)/test_profile_output: $(OUTPUT_TOBJ)/test_profile_output.o $(OUTPUT_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_COMMON) -o $@ $^ $(OUTPUT_LIBS)

$(OUTPUT_TBIN)/pprof_fixture: $(OUTPUT_TOBJ)/pprof_fixture.o $(OUTPUT_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_COMMON) -o $@ $^ $(OUTPUT_LIBS)
