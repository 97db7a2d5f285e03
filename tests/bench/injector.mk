# `make bench` part for the injector: a TLS keep-alive load generator (libevent HTTP client over
# OpenSSL) against the real server, at fixed rates and at saturation, plus the server's peak RSS.

INJ_LOAD := $(BUILD)/bench/injector_load

$(INJ_LOAD): tests/bench/injector_load.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -pthread -o $@ $< $(LDFLAGS_COMMON) -levent_openssl -levent -lssl \
		-lcrypto -pthread

.PHONY: bench-injector
bench-injector: $(INJECTOR) $(INJ_LOAD)
	PODPROF_BUILD=$(abspath $(BUILD)) .venv/bin/python tests/bench/injector_bench.py

BENCH_TARGETS += bench-injector
