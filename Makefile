# podprof top-level build. Each part adds its own rules in a fragment (injector/injector.mk,
# sampler/sampler.mk, ...) and registers what it builds and tests in the lists below, so parts
# can grow independently.
#
#   make          build everything into build/
#   make deps     install Debian/PyPI dependencies (idempotent, fast when present)
#   make test     deps + build + every test, then again under ASan/UBSan
#   make asan     build and run the tests with -fsanitize=address,undefined (into build/asan)
#   make demo     injector mutates a sample pod, the sampler profiles a sample app, a summary prints
#   make fuzz     bounded libFuzzer runs       make bench   benchmarks (ratios, side by side)
#   make format   clang-format every C file

SHELL := /bin/bash
.DEFAULT_GOAL := all
TOP := $(abspath .)
BUILD ?= build
OBJ := $(BUILD)/obj
# Generated sources (protobuf-c bindings).
GEN := $(BUILD)/gen
SAN ?= 0
export PATH := $(TOP)/.venv/bin:/usr/local/go/bin:$(PATH)

CC ?= cc
WARN := -Wall -Wextra -Werror
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -fno-omit-frame-pointer -Iinclude -MMD -MP
LDFLAGS_COMMON :=
ifeq ($(SAN),1)
CFLAGS_COMMON += -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS_COMMON += -fsanitize=address,undefined
endif

# Lists the fragments append to.
ALL_TARGETS :=        # artefacts `make` builds
UNIT_TESTS :=         # cmocka test binaries, run by test-unit
PY_TEST_DIRS :=       # pytest directories, run by test-py
FUZZ_TARGETS :=       # phony targets run by `make fuzz`
BENCH_TARGETS :=      # phony targets run by `make bench`
CHECK_TARGETS :=      # extra phony checks run by `make check` (e.g. symbol audits)

include $(sort $(wildcard */*.mk tests/*/*.mk))

.PHONY: all deps check test test-unit test-py asan demo fuzz bench format format-check clean
all: $(ALL_TARGETS)

deps:
	@scripts/deps.sh

test-unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

# One pytest session per directory: several suites have their own conftest.py and import it as
# "conftest", which only one module of that name per session can be.
test-py: all
	@failed=""; for d in $(PY_TEST_DIRS); do \
	  echo "== pytest $$d"; \
	  PODPROF_BUILD=$(abspath $(BUILD)) PODPROF_SAN=$(SAN) .venv/bin/python -m pytest -q $(PYTEST_ARGS) $$d \
	    || failed="$$failed $$d"; \
	done; \
	if [ -n "$$failed" ]; then echo "pytest failed in:$$failed"; exit 1; fi

check: all format-check test-unit test-py $(CHECK_TARGETS)

asan:
	$(MAKE) BUILD=build/asan SAN=1 check

test: deps
	$(MAKE) check
	$(MAKE) asan
	@echo "make test: all suites passed"

demo: deps
	$(MAKE) all
	@scripts/demo.sh $(BUILD)

fuzz: $(FUZZ_TARGETS)
bench: all $(BENCH_TARGETS)

C_SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(C_SOURCES)
format-check:
	clang-format --dry-run --Werror $(C_SOURCES)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
