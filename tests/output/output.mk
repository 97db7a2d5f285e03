# Tests of the sampler's aggregation, pprof encoding and profile files (sampler-output), and of the
# podprof CLI's install/run/top. The library sources under test are compiled straight into the
# test binaries (not through libpodprof.so) so the tests can drive them with known stacks.

OUTPUT_TBIN := $(BUILD)/tests/output
OUTPUT_TOBJ := $(OBJ)/tests/output
OUTPUT_LIB_OBJS := $(patsubst sampler/lib/%.c,$(OUTPUT_TOBJ)/lib/%.o,\
	sampler/lib/aggregate.c sampler/lib/pprof_writer.c sampler/lib/profile_output.c \
	sampler/lib/gzip_sink.c sampler/lib/timeline.c sampler/lib/provenance.c sampler/lib/provenance_scan.c \
	sampler/lib/log.c sampler/lib/own_fd.c) \
	$(OUTPUT_TOBJ)/lib/profile.pb-c.o
OUTPUT_CFLAGS := $(CFLAGS_COMMON) -I$(GEN) -Isampler/lib -Itests/output -pthread
OUTPUT_LIBS := -lcmocka -lcjson -lprotobuf-c -lz -pthread

OUTPUT_UNIT := $(OUTPUT_TBIN)/test_aggregate $(OUTPUT_TBIN)/test_profile_output \
	$(OUTPUT_TBIN)/test_timeline $(OUTPUT_TBIN)/test_provenance
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

$(OUTPUT_TBIN)/test_timeline: $(OUTPUT_TOBJ)/test_timeline.o $(OUTPUT_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_COMMON) -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc -o $@ $^ $(OUTPUT_LIBS)

$(OUTPUT_TBIN)/test_provenance: $(OUTPUT_TOBJ)/test_provenance.o $(OUTPUT_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_COMMON) -o $@ $^ $(OUTPUT_LIBS)

$(OUTPUT_TBIN)/test_profile_output: $(OUTPUT_TOBJ)/test_profile_output.o $(OUTPUT_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_COMMON) -o $@ $^ $(OUTPUT_LIBS)

$(OUTPUT_TBIN)/pprof_fixture: $(OUTPUT_TOBJ)/pprof_fixture.o $(OUTPUT_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_COMMON) -o $@ $^ $(OUTPUT_LIBS)

# `make bench`: overhead of libpodprof.so against no profiler, ddtrace, py-spy and austin, side by
# side in one run. The third-party profilers go into build/bench-venv on first use, never into the
# test environment, so `make test` does not pay for them.
.PHONY: bench-sampler-overhead
bench-sampler-overhead: $(LIBPODPROF) $(PODPROF_CLI)
	PODPROF_BUILD=$(abspath $(BUILD)) .venv/bin/python tests/bench/sampler_overhead.py
BENCH_TARGETS += bench-sampler-overhead

# libFuzzer over the pprof reader behind `podprof top` / `podprof run`. `make fuzz` runs it for
# OUTPUT_FUZZ_SECONDS; the ASan suite runs a short smoke so CI exercises it. Its seed corpus is
# written by pytest (tests/output/test_cli_top.py) into $(BUILD)/fuzz/corpus-pprof-summary.
OUTPUT_FUZZ := $(BUILD)/fuzz/fuzz_pprof_summary
OUTPUT_FUZZ_SECONDS ?= 60
$(OUTPUT_FUZZ): tests/output/fuzz_pprof_summary.c sampler/cli/pprof_summary.c \
		$(CLI_READER_SRCS) $(GEN)/profile.pb-c.c
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -Iinclude -Isampler/cli -Iexporter \
		-I$(GEN) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ \
		tests/output/fuzz_pprof_summary.c sampler/cli/pprof_summary.c $(CLI_READER_SRCS) \
		$(GEN)/profile.pb-c.c -lprotobuf-c -lz

.PHONY: fuzz-pprof-summary fuzz-pprof-summary-smoke
fuzz-pprof-summary: $(OUTPUT_FUZZ)
	@mkdir -p $(BUILD)/fuzz/corpus-pprof-summary $(BUILD)/fuzz/artifacts/
	$(OUTPUT_FUZZ) -max_total_time=$(OUTPUT_FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 \
		-timeout=10 -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/artifacts/ \
		$(BUILD)/fuzz/corpus-pprof-summary

fuzz-pprof-summary-smoke:
	$(MAKE) --no-print-directory fuzz-pprof-summary OUTPUT_FUZZ_SECONDS=15

FUZZ_TARGETS += fuzz-pprof-summary
ifeq ($(SAN),1)
CHECK_TARGETS += fuzz-pprof-summary-smoke
endif
