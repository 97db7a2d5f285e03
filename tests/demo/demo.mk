# `make demo` is what a newcomer runs first; this suite runs the same script so it cannot rot.
# Uninstrumented pass only: the demo uses the normal build.
ifeq ($(SAN),0)
PY_TEST_DIRS += tests/demo
endif
