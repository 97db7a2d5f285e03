# The exporter: the engine of `podprof export` (spool, tags, upload), linked into build/bin/podprof.
# It is a part of its own that the CLI uses and never the reverse: its sources see only their own
# headers and include/, never sampler/cli/. It runs in our own image, so it may use libcurl, zstd,
# OpenSSL and cJSON; it reads pprof with the bindings generated for the library.

EXPORTER_SRCS := $(sort $(wildcard exporter/*.c))
EXPORTER_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(EXPORTER_SRCS))
EXPORTER_CFLAGS := $(CFLAGS_COMMON) -I$(GEN) -Iexporter -pthread
EXPORTER_LIBS := -lcurl -lzstd -lcjson -lprotobuf-c -lz -lssl -lcrypto -pthread

$(OBJ)/exporter/%.o: exporter/%.c $(GEN)/profile.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(EXPORTER_CFLAGS) -c $< -o $@
