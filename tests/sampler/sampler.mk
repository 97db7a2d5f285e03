# sampler-core tests: line-table unit tests against fixtures from every CPython, the config doc
# check, the symbol audit of libpodprof.so, and the pytest suite that preloads the library into
# every pyenv CPython and Debian's python3.

PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
SAMPLER_PYTHONS := 3.8.18 3.9.18 3.10.13 3.11.7 3.12.1 3.13.0
LINETABLE_FIXTURE_DIR := $(BUILD)/fixtures/linetable
LINETABLE_FIXTURES := $(patsubst %,$(LINETABLE_FIXTURE_DIR)/%.txt,$(SAMPLER_PYTHONS)) \
	$(LINETABLE_FIXTURE_DIR)/debian.txt
TEST_LINETABLE := $(BUILD)/tests/unit/test_linetable
CONFIG_DOC_TOOL := $(BUILD)/tests/sampler/config_doc

TEST_SAFE_READ := $(BUILD)/tests/unit/test_safe_read
TEST_STACK_SNAPSHOT := $(BUILD)/tests/unit/test_stack_snapshot
TEST_LIVE_HEAP := $(BUILD)/tests/unit/test_live_heap
TEST_RATE_CONTROL := $(BUILD)/tests/unit/test_rate_control
TEST_SIGTERM := $(BUILD)/tests/unit/test_sigterm_default
FAKE_SIGACTION := $(BUILD)/tests/unit/libfake_sigaction.so

UNIT_TESTS += $(TEST_LINETABLE) $(TEST_SAFE_READ) $(TEST_STACK_SNAPSHOT) $(TEST_SIGTERM) \
	$(TEST_LIVE_HEAP) $(TEST_RATE_CONTROL)
PY_TEST_DIRS += tests/sampler
CHECK_TARGETS += sampler-config-doc-check sampler-symbol-audit

$(LINETABLE_FIXTURE_DIR)/debian.txt: tests/unit/gen_linetable_fixtures.py
	@mkdir -p $(dir $@)
	/usr/bin/python3 $< > $@.tmp && mv $@.tmp $@

$(LINETABLE_FIXTURE_DIR)/%.txt: tests/unit/gen_linetable_fixtures.py
	@mkdir -p $(dir $@)
	$(PYENV_ROOT)/versions/$*/bin/python3 $< > $@.tmp && mv $@.tmp $@

$(TEST_LINETABLE): tests/unit/test_linetable.c sampler/lib/linetable.c sampler/lib/linetable.h \
		$(LINETABLE_FIXTURES)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -Isampler/lib '-DLINETABLE_FIXTURES="$(abspath $(LINETABLE_FIXTURES))"' \
		-o $@ tests/unit/test_linetable.c sampler/lib/linetable.c $(LDFLAGS_COMMON) -lcmocka

# The safe-read layer and what it reads through (its own descriptors, the sampler thread's pipe).
SAFE_READ_SRCS := sampler/lib/safe_read.c sampler/lib/own_fd.c sampler/lib/private_pipe.c \
	sampler/lib/log.c

$(TEST_SAFE_READ): tests/unit/test_safe_read.c $(SAFE_READ_SRCS) sampler/lib/safe_read.h \
		sampler/lib/own_fd.h sampler/lib/private_pipe.h sampler/lib/pystring.c \
		sampler/lib/pystring.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -pthread -Isampler/lib -o $@ tests/unit/test_safe_read.c \
		$(SAFE_READ_SRCS) sampler/lib/pystring.c $(LDFLAGS_COMMON) -lcmocka

$(TEST_STACK_SNAPSHOT): tests/unit/test_stack_snapshot.c sampler/lib/stack_snapshot.c \
		sampler/lib/stack_snapshot.h sampler/lib/read_plan.c sampler/lib/read_plan.h \
		$(SAFE_READ_SRCS) sampler/lib/safe_read.h sampler/lib/own_fd.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -Isampler/lib -o $@ tests/unit/test_stack_snapshot.c \
		sampler/lib/stack_snapshot.c sampler/lib/read_plan.c $(SAFE_READ_SRCS) $(LDFLAGS_COMMON) \
		-lcmocka

$(TEST_LIVE_HEAP): tests/unit/test_live_heap.c sampler/lib/live_heap.c sampler/lib/live_heap.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -pthread -Isampler/lib -o $@ tests/unit/test_live_heap.c \
		sampler/lib/live_heap.c $(LDFLAGS_COMMON) -lcmocka

$(TEST_RATE_CONTROL): tests/unit/test_rate_control.c sampler/lib/rate_control.c \
		sampler/lib/rate_control.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -Isampler/lib -o $@ tests/unit/test_rate_control.c \
		sampler/lib/rate_control.c $(LDFLAGS_COMMON) -lcmocka

# The interposer's "next sigaction" is the fake's (found first by dlsym(RTLD_NEXT) from the test
# executable), which lets the test act between the library's own calls.
$(FAKE_SIGACTION): tests/unit/fake_sigaction.c tests/unit/fake_sigaction.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -fPIC -shared -o $@ tests/unit/fake_sigaction.c $(LDFLAGS_COMMON) -ldl

$(TEST_SIGTERM): tests/unit/test_sigterm_default.c sampler/lib/sigterm_default.c \
		sampler/lib/sigterm_default.h $(FAKE_SIGACTION)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -pthread -Isampler/lib -Itests/unit -o $@ \
		tests/unit/test_sigterm_default.c sampler/lib/sigterm_default.c $(LDFLAGS_COMMON) \
		-L$(dir $(FAKE_SIGACTION)) -Wl,-rpath,$(abspath $(dir $(FAKE_SIGACTION))) \
		-Wl,--no-as-needed -lfake_sigaction -Wl,--as-needed -lcmocka -ldl -pthread

$(CONFIG_DOC_TOOL): tests/sampler/config_doc.c sampler/lib/config_table.c sampler/lib/config.h \
		$(wildcard include/podprof/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -o $@ tests/sampler/config_doc.c sampler/lib/config_table.c \
		$(LDFLAGS_COMMON)

.PHONY: sampler-config-doc-check sampler-config-doc sampler-symbol-audit
sampler-config-doc: $(CONFIG_DOC_TOOL)
	$(CONFIG_DOC_TOOL) > docs/config-sampler.md

sampler-config-doc-check: $(CONFIG_DOC_TOOL)
	@$(CONFIG_DOC_TOOL) | diff -u docs/config-sampler.md - || \
	  { echo "docs/config-sampler.md is stale: run make sampler-config-doc"; exit 1; }

# The sanitizer build links libasan, so the audit is about the release build only.
sampler-symbol-audit: $(LIBPODPROF)
	@if [ "$(SAN)" = 1 ]; then echo "symbol audit: skipped for the sanitizer build"; \
	else tests/sampler/symbol_audit.sh $(LIBPODPROF); fi

# Fault-free copy microbenchmark (process_vm_readv vs the /proc/self/mem fallback).
SAMPLER_READ_BENCH := $(BUILD)/tests/bench/sampler_read_bench
BENCH_TARGETS += sampler-read-bench
$(SAMPLER_READ_BENCH): tests/bench/sampler_read_bench.c $(SAFE_READ_SRCS) sampler/lib/safe_read.h \
		sampler/lib/own_fd.h sampler/lib/private_pipe.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -pthread -Isampler/lib -o $@ tests/bench/sampler_read_bench.c \
		$(SAFE_READ_SRCS) $(LDFLAGS_COMMON)
.PHONY: sampler-read-bench
sampler-read-bench: $(SAMPLER_READ_BENCH)
	$(SAMPLER_READ_BENCH)

# The sampler thread's own CPU per CPython (8 threads x 50 frames at 100 Hz; target: at most 1 %
# of one core), what one thread sample costs, and (--deterministic) the instructions and system
# calls that go into it, against main's library. SAMPLER_THREAD_CPU_ARGS= leaves out the counts
# (valgrind and strace runs: about half an hour more).
SAMPLER_THREAD_CPU_ARGS ?= --deterministic
BENCH_TARGETS += bench-sampler-thread-cpu
.PHONY: bench-sampler-thread-cpu
bench-sampler-thread-cpu: $(LIBPODPROF)
	PODPROF_BUILD=$(abspath $(BUILD)) .venv/bin/python tests/bench/sampler_thread_cpu.py \
		$(SAMPLER_THREAD_CPU_ARGS)

# What each one's 1 % budget buys at 8 threads x 50 frames, podprof beside ddtrace's profiler at
# their defaults (ddtrace in build/bench-venv, as for bench-sampler-overhead; about 2 minutes).
BENCH_TARGETS += bench-sampler-vs-ddtrace
.PHONY: bench-sampler-vs-ddtrace
bench-sampler-vs-ddtrace: $(LIBPODPROF)
	PODPROF_BUILD=$(abspath $(BUILD)) .venv/bin/python tests/bench/sampler_vs_ddtrace.py

# What the timeline costs: upload size and sampler CPU with it on and off (8 threads x 50 frames,
# 100 Hz and with the default budget, one 60 s interval, and a Flask app; about 6.5 minutes per
# repetition).
BENCH_TARGETS += bench-timeline-cost
.PHONY: bench-timeline-cost
bench-timeline-cost: $(LIBPODPROF)
	PODPROF_BUILD=$(abspath $(BUILD)) .venv/bin/python tests/bench/timeline_cost.py

# What the GIL wait profile costs on a GIL-switch-heavy app: workers' CPU with it on and off,
# and the hook's instructions per call, per GIL wait and per sample (callgrind).
BENCH_TARGETS += bench-gil-overhead
.PHONY: bench-gil-overhead
bench-gil-overhead: $(LIBPODPROF)
	PODPROF_BUILD=$(abspath $(BUILD)) .venv/bin/python tests/bench/gil_overhead.py

# What the lock profiles cost on a lock-heavy app: workers' CPU with podprof's and ddtrace's lock
# profilers on and off, and the instructions per uncontended acquire/release (callgrind).
BENCH_TARGETS += bench-lock-overhead
.PHONY: bench-lock-overhead
bench-lock-overhead: $(LIBPODPROF)
	PODPROF_BUILD=$(abspath $(BUILD)) .venv/bin/python tests/bench/lock_overhead.py
