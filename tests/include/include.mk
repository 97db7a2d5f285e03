# cmocka unit tests of the headers every program shares (include/podprof/): the settings engine,
# the spool format and the LD_PRELOAD rule, each against the cases the programs rely on.

SHARED_UNIT_SRCS := $(sort $(wildcard tests/include/test_*.c))
SHARED_UNIT_BINS := $(patsubst tests/include/%.c,$(BUILD)/tests/include/%,$(SHARED_UNIT_SRCS))
UNIT_TESTS += $(SHARED_UNIT_BINS)

$(BUILD)/tests/include/%: tests/include/%.c $(wildcard include/podprof/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -o $@ $< $(LDFLAGS_COMMON) -lcmocka
