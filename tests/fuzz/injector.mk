# libFuzzer target over the injector's AdmissionReview -> patch path. `make fuzz` runs it for
# FUZZ_SECONDS (60); the ASan suite (`make asan`) runs a 20-second smoke of it so CI exercises it.

FUZZ_DIR := $(BUILD)/fuzz
FUZZ_ADMISSION := $(FUZZ_DIR)/fuzz_admission
FUZZ_ADMISSION_SRCS := $(filter-out injector/main.c injector/server.c injector/tls.c \
	injector/log.c injector/metrics.c $(wildcard injector/cmd_*.c),$(sort $(wildcard injector/*.c)))
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -Iinclude -Iinjector \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SECONDS ?= 60

$(FUZZ_ADMISSION): tests/fuzz/fuzz_admission.c $(FUZZ_ADMISSION_SRCS) $(wildcard injector/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_admission.c $(FUZZ_ADMISSION_SRCS) \
		-lcjson -lyaml -lcrypto -lm

.PHONY: fuzz-admission fuzz-admission-smoke
fuzz-admission: $(FUZZ_ADMISSION)
	@mkdir -p $(FUZZ_DIR)/corpus-admission $(FUZZ_DIR)/artifacts/
	$(FUZZ_ADMISSION) -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 \
		-timeout=10 -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/artifacts/ \
		$(FUZZ_DIR)/corpus-admission tests/fuzz/corpus/admission

fuzz-admission-smoke:
	$(MAKE) --no-print-directory fuzz-admission FUZZ_SECONDS=20

FUZZ_TARGETS += fuzz-admission
ifeq ($(SAN),1)
CHECK_TARGETS += fuzz-admission-smoke
endif
