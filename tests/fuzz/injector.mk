# libFuzzer targets of the injector: the server's AdmissionReview -> patch path, and `mutate`'s
# JSON/YAML document reader feeding the mutation. `make fuzz` runs each for FUZZ_SECONDS (60);
# the ASan suite (`make asan`) runs short smokes (20 s and 10 s) so CI exercises them.

FUZZ_DIR := $(BUILD)/fuzz
FUZZ_ADMISSION := $(FUZZ_DIR)/fuzz_admission
FUZZ_DOCUMENTS := $(FUZZ_DIR)/fuzz_documents
FUZZ_ADMISSION_SRCS := $(sort $(wildcard injector/mutate/*.c injector/config/*.c)) \
	$(INJ_TABLE_SRCS)
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -Iinclude -Iinjector/mutate \
	-Iinjector/config \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SECONDS ?= 60

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_ADMISSION_SRCS) \
		$(wildcard injector/mutate/*.h injector/config/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_ADMISSION_SRCS) -lcjson -lyaml -lcrypto -lm

# $(1): target name, $(2): binary, $(3): seed corpus
define inj_fuzz_run
	@mkdir -p $(FUZZ_DIR)/corpus-$(1) $(FUZZ_DIR)/artifacts/
	$(2) -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
		-print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/artifacts/ $(FUZZ_DIR)/corpus-$(1) $(3)
endef

.PHONY: fuzz-admission fuzz-documents fuzz-injector-smoke
fuzz-admission: $(FUZZ_ADMISSION)
	$(call inj_fuzz_run,admission,$(FUZZ_ADMISSION),tests/fuzz/corpus/admission)

fuzz-documents: $(FUZZ_DOCUMENTS)
	$(call inj_fuzz_run,documents,$(FUZZ_DOCUMENTS),tests/fuzz/corpus/documents)

fuzz-injector-smoke:
	$(MAKE) --no-print-directory fuzz-admission FUZZ_SECONDS=20
	$(MAKE) --no-print-directory fuzz-documents FUZZ_SECONDS=10

FUZZ_TARGETS += fuzz-admission fuzz-documents
ifeq ($(SAN),1)
CHECK_TARGETS += fuzz-injector-smoke
endif
