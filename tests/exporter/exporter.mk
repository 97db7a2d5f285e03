# Exporter tests: cmocka unit tests of the pure pieces (labels, tags, retry, metadata) and the
# pytest suite (agent double, faults, ddapm-test-agent, end to end).

PY_TEST_DIRS += tests/exporter

EXPORTER_UNIT := $(BUILD)/tests/exporter_unit
EXPORTER_UNIT_OBJS := $(addprefix $(OBJ)/sampler/exporter/,labels.o tags.o retry.o spool_meta.o faults.o)
UNIT_TESTS += $(EXPORTER_UNIT)

$(EXPORTER_UNIT): tests/exporter/unit_exporter.c $(EXPORTER_UNIT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CFLAGS) -o $@ $< $(EXPORTER_UNIT_OBJS) $(LDFLAGS_COMMON) -lcmocka -lcjson
