# Tests of the pictures: `podprof flamegraph`, `diff`, `collapse`, `top --type` and
# `run --flamegraph` against profiles built deterministically (the output tests' fixture writer,
# and protobuf for sample types the sampler does not write yet), the SVGs opened in a real
# headless Chromium, and the flame graphs in docs/ checked to be what the current generator
# draws from the committed demo profile. Both passes (plain and ASan) run them: the browser is
# Debian's, the generator under test is the build's.
PY_TEST_DIRS += tests/pictures

# `make docs-pictures`: profiles the demo app again and redraws the pictures docs/user-guide.md
# shows (docs/pictures/). Sampling differs run to run, so this is run by hand when the demo or
# the generator changes, and the result committed; the tests redraw from the committed profile.
.PHONY: docs-pictures
docs-pictures: $(PODPROF_CLI) $(LIBPODPROF)
	@scripts/docs_pictures.sh $(BUILD)

# libFuzzer over the pictures' reader and writers. Its seed corpus is written by pytest
# (tests/pictures/test_bad_input.py) into $(BUILD)/fuzz/corpus-pictures; the ASan suite runs a
# short smoke so CI exercises it.
PICTURES_FUZZ := $(BUILD)/fuzz/fuzz_pictures
PICTURES_FUZZ_SECONDS ?= 60
$(PICTURES_FUZZ): tests/pictures/fuzz_pictures.c $(CLI_READER_SRCS) $(CLI_PICTURE_SRCS) \
		$(GEN)/profile.pb-c.c
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -Iinclude -Isampler/cli -Iexporter \
		-I$(GEN) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ \
		tests/pictures/fuzz_pictures.c $(CLI_READER_SRCS) $(CLI_PICTURE_SRCS) \
		$(GEN)/profile.pb-c.c -lprotobuf-c -lz -lm

.PHONY: fuzz-pictures fuzz-pictures-smoke
fuzz-pictures: $(PICTURES_FUZZ)
	@mkdir -p $(BUILD)/fuzz/corpus-pictures $(BUILD)/fuzz/artifacts/
	$(PICTURES_FUZZ) -max_total_time=$(PICTURES_FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 \
		-timeout=10 -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/artifacts/ \
		$(BUILD)/fuzz/corpus-pictures

fuzz-pictures-smoke:
	$(MAKE) --no-print-directory fuzz-pictures PICTURES_FUZZ_SECONDS=15

FUZZ_TARGETS += fuzz-pictures
ifeq ($(SAN),1)
CHECK_TARGETS += fuzz-pictures-smoke
endif
