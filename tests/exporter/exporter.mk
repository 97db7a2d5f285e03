# Exporter tests: cmocka unit tests of the pure pieces (labels, tags, retry, metadata, memory
# budget, spool entry rules) and the pytest suite (agent double, faults, ddapm-test-agent, end to
# end, hostile spool).

PY_TEST_DIRS += tests/exporter

EXPORTER_UNIT := $(BUILD)/tests/exporter_unit
EXPORTER_UNIT_OBJS := $(addprefix $(OBJ)/exporter/,labels.o tags.o retry.o spool_meta.o faults.o \
	memory_budget.o spool_file.o)
UNIT_TESTS += $(EXPORTER_UNIT)

$(EXPORTER_UNIT): tests/exporter/unit_exporter.c $(EXPORTER_UNIT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(EXPORTER_CFLAGS) -o $@ $< $(EXPORTER_UNIT_OBJS) $(LDFLAGS_COMMON) -lcmocka -lcjson

EXPORTER_PROVENANCE_UNIT := $(BUILD)/tests/exporter_code_provenance
UNIT_TESTS += $(EXPORTER_PROVENANCE_UNIT)

$(EXPORTER_PROVENANCE_UNIT): tests/exporter/unit_code_provenance.c $(OBJ)/exporter/code_provenance.o
	@mkdir -p $(dir $@)
	$(CC) $(EXPORTER_CFLAGS) -o $@ $< $(OBJ)/exporter/code_provenance.o $(LDFLAGS_COMMON) \
		-lcmocka -lcjson -lzstd

# libFuzzer over the parsers of untrusted text (labels file, metadata JSON, tag lists).
# `make fuzz` runs it for FUZZ_SECONDS; the ASan suite runs a 10-second smoke.
FUZZ_EXPORTER := $(BUILD)/fuzz/fuzz_exporter
FUZZ_EXPORTER_SRCS := $(addprefix exporter/,labels.c tags.c spool_meta.c code_provenance.c)
FUZZ_EXPORTER_SECONDS ?= 60

$(FUZZ_EXPORTER): tests/exporter/fuzz_exporter.c $(FUZZ_EXPORTER_SRCS) $(wildcard exporter/*.h)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -Iinclude -Iexporter \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ tests/exporter/fuzz_exporter.c $(FUZZ_EXPORTER_SRCS) -lcjson -lzstd

.PHONY: fuzz-exporter fuzz-exporter-smoke
fuzz-exporter: $(FUZZ_EXPORTER)
	@mkdir -p $(BUILD)/fuzz/corpus-exporter $(BUILD)/fuzz/artifacts/
	$(FUZZ_EXPORTER) -max_total_time=$(FUZZ_EXPORTER_SECONDS) -max_len=8192 -rss_limit_mb=1024 \
		-timeout=10 -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/artifacts/ \
		$(BUILD)/fuzz/corpus-exporter tests/exporter/corpus

fuzz-exporter-smoke:
	$(MAKE) --no-print-directory fuzz-exporter FUZZ_EXPORTER_SECONDS=10

FUZZ_TARGETS += fuzz-exporter
ifeq ($(SAN),1)
CHECK_TARGETS += fuzz-exporter-smoke
endif
