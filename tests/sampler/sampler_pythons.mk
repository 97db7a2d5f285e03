# The interpreters beyond pyenv's that the sampler is tested on (tests/sampler/interpreters.py):
# 3.14 and 3.15 in a Debian sid chroot (scripts/pychroot.sh), the free-threaded 3.13t built from
# Debian's python3.13 source (scripts/build_python_ft.sh); both cached in ~/.cache/podprof.
#
# Layout checks: tests/sampler/layout_headers.c compiled against each interpreter's own headers
# derives every number of its layout row and compares (a unit test per interpreter). 3.14t and
# 3.15t have no interpreter yet: their rows are checked against the 3.14 and 3.15 headers
# compiled free-threaded (Py_GIL_DISABLED), as their builds would see them.

PYCHROOT := scripts/pychroot.sh
BUILD_PYTHON_FT := scripts/build_python_ft.sh
LAYOUT_CHECK_DIR := $(BUILD)/tests/layout
LAYOUT_CHECKS := $(addprefix $(LAYOUT_CHECK_DIR)/,$(SAMPLER_PYTHONS) 3.14 3.15 3.14t 3.15t 3.13t)
LAYOUT_CHECK_SRC := tests/sampler/layout_headers.c sampler/lib/py_layout.c
LAYOUT_CHECK_DEPS := $(LAYOUT_CHECK_SRC) sampler/lib/py_layout.h tests/sampler/sampler_pythons.mk
# The Python headers are system headers here: their own warnings are not this test's. No
# dependency files: they would be named after the version's last dot.
LAYOUT_CC = $(CC) $(filter-out -MMD -MP,$(CFLAGS_COMMON)) -Isampler/lib -o $@ $(LAYOUT_CHECK_SRC) \
	$(LDFLAGS_COMMON)
UNIT_TESTS += $(LAYOUT_CHECKS)

# pyenv 3.X.Y: include/python3.X
$(addprefix $(LAYOUT_CHECK_DIR)/,$(SAMPLER_PYTHONS)): $(LAYOUT_CHECK_DIR)/%: $(LAYOUT_CHECK_DEPS)
	@mkdir -p $(dir $@)
	$(LAYOUT_CC) -isystem $(PYENV_ROOT)/versions/$*/include/python$(basename $*)

# Debian's headers: pyconfig.h includes <x86_64-linux-gnu/python3.X/pyconfig.h>, found after the
# host's own headers (-idirafter) so the chroot's libc headers never shadow the host's.
$(LAYOUT_CHECK_DIR)/3.14 $(LAYOUT_CHECK_DIR)/3.15 $(LAYOUT_CHECK_DIR)/3.14t \
$(LAYOUT_CHECK_DIR)/3.15t: $(LAYOUT_CHECK_DEPS) $(PYCHROOT)
	@mkdir -p $(dir $@)
	root=$$($(PYCHROOT) build)/root && \
	$(LAYOUT_CC) -isystem $$root/usr/include/python$(patsubst %t,%,$(notdir $@)) \
		-idirafter $$root/usr/include $(if $(filter %t,$@),-DPy_GIL_DISABLED=1)

$(LAYOUT_CHECK_DIR)/3.13t: $(LAYOUT_CHECK_DEPS) $(BUILD_PYTHON_FT)
	@mkdir -p $(dir $@)
	prefix=$$($(BUILD_PYTHON_FT)) && $(LAYOUT_CC) -isystem $$prefix/include/python3.13t

# Line-table fixtures (tests/unit/test_linetable.c) from the same interpreters (this file is
# read after sampler.mk, which defines the test).
LINETABLE_EXTRA_FIXTURES := $(patsubst %,$(LINETABLE_FIXTURE_DIR)/%.txt,3.14 3.15 3.13t)
LINETABLE_FIXTURES += $(LINETABLE_EXTRA_FIXTURES)
$(TEST_LINETABLE): $(LINETABLE_EXTRA_FIXTURES)

$(LINETABLE_FIXTURE_DIR)/3.14.txt $(LINETABLE_FIXTURE_DIR)/3.15.txt: \
		tests/unit/gen_linetable_fixtures.py $(PYCHROOT)
	@mkdir -p $(dir $@)
	$(PYCHROOT) exec /usr/bin/python$(basename $(notdir $@)) $< > $@.tmp && mv $@.tmp $@

$(LINETABLE_FIXTURE_DIR)/3.13t.txt: tests/unit/gen_linetable_fixtures.py $(BUILD_PYTHON_FT)
	@mkdir -p $(dir $@)
	prefix=$$($(BUILD_PYTHON_FT)) && $$prefix/bin/python3.13t $< > $@.tmp && mv $@.tmp $@

# The frame walk on a free-threaded 3.14 layout (thread-local bytecode, tagged references), on
# objects built in memory: no 3.14t interpreter runs yet.
TEST_FRAME_WALK := $(BUILD)/tests/unit/test_frame_walk
FRAME_WALK_SRC := tests/unit/test_frame_walk.c $(addprefix sampler/lib/,frame_reader.c \
	code_cache.c code_frees.c inproc_hooks.c wake_word.c elf_symbols.c log.c quiet_thread.c \
	aggregate.c linetable.c pystring.c py_layout.c read_plan.c safe_read.c private_pipe.c own_fd.c \
	stack_snapshot.c resolve_memo.c)
UNIT_TESTS += $(TEST_FRAME_WALK)
$(TEST_FRAME_WALK): $(FRAME_WALK_SRC) $(wildcard sampler/lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -Isampler/lib -o $@ $(FRAME_WALK_SRC) $(LDFLAGS_COMMON) -lcmocka

# The GIL waiters' own stack copies, on 3.10-shaped frames built in memory.
TEST_SPAN_STACKS := $(BUILD)/tests/unit/test_span_stacks
SPAN_STACKS_SRC := tests/unit/test_span_stacks.c $(filter-out tests/unit/%,$(FRAME_WALK_SRC)) \
	$(addprefix sampler/lib/,span_stacks.c own_stack.c alloc_ring.c thread_clock.c)
UNIT_TESTS += $(TEST_SPAN_STACKS)
$(TEST_SPAN_STACKS): $(SPAN_STACKS_SRC) $(wildcard sampler/lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -pthread -Isampler/lib -o $@ $(SPAN_STACKS_SRC) $(LDFLAGS_COMMON) -lcmocka
