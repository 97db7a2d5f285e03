# The e2e suite: OCI images, and the Helm chart on a one-node cluster (a real kubelet on containerd
# and runc) that the suite starts and tears down. Only in the uninstrumented pass (SAN=0): it
# tests deployment, not memory safety, and its cluster binaries are Go programs. `make e2e` runs
# it alone.

E2E_CLUSTER_BUILD := tests/e2e/cluster/build.sh

ifeq ($(SAN),0)
PY_TEST_DIRS += tests/e2e
endif

.PHONY: e2e e2e-cluster manifests
e2e-cluster:
	@nice -n 10 $(E2E_CLUSTER_BUILD) >/dev/null

e2e: all e2e-cluster
	PODPROF_BUILD=$(abspath $(BUILD)) PODPROF_SAN=$(SAN) .venv/bin/python -m pytest -q $(PYTEST_ARGS) tests/e2e

# Re-render manifests/ after a chart change (tests/e2e/test_manifests.py checks they match).
manifests:
	manifests/render.sh
