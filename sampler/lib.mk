# libpodprof.so: the sampler loaded with LD_PRELOAD. It must need nothing but libc at run time
# (glibc >= 2.17), so protobuf-c and zlib are linked in statically with their symbols hidden, and
# every libc symbol that glibc 2.34 re-versioned is pinned by lib/glibc_compat.h.

PPROF_PROTO_DIR := /usr/share/gocode/src/github.com/google/pprof/proto
LIBPODPROF := $(BUILD)/lib/libpodprof.so
LIB_SRCS := $(sort $(wildcard sampler/lib/*.c))
LIB_OBJS := $(patsubst sampler/lib/%.c,$(OBJ)/sampler/lib/%.o,$(LIB_SRCS)) $(OBJ)/sampler/lib/gen/profile.pb-c.o
LIB_CFLAGS := $(CFLAGS_COMMON) -fPIC -fvisibility=hidden -include sampler/lib/glibc_compat.h \
	-I$(GEN) -Isampler/lib -pthread
LIB_LDFLAGS := $(LDFLAGS_COMMON) -shared -Wl,-z,defs -Wl,--exclude-libs,ALL -Wl,--version-script=sampler/lib/exports.map
LIB_LIBS := -l:libprotobuf-c.a -l:libz.a -Wl,--no-as-needed -lpthread -ldl -Wl,--as-needed

ALL_TARGETS += $(LIBPODPROF)

$(GEN)/profile.pb-c.c $(GEN)/profile.pb-c.h: $(PPROF_PROTO_DIR)/profile.proto
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) -I$(PPROF_PROTO_DIR) $<

$(OBJ)/sampler/lib/gen/profile.pb-c.o: $(GEN)/profile.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(OBJ)/sampler/lib/%.o: sampler/lib/%.c $(GEN)/profile.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(LIBPODPROF): $(LIB_OBJS) sampler/lib/exports.map
	@mkdir -p $(dir $@)
	$(CC) $(LIB_LDFLAGS) -o $@ $(LIB_OBJS) $(LIB_LIBS)
