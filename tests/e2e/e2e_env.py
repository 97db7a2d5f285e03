"""Names the e2e tests share with their conftest (tests import this module, never conftest)."""
import sys

import pytest

RELEASE, RELEASE_NS = "podprof", "podprof"
NO_BUILD_FLAG = "PODPROF_E2E_NO_CLUSTER_BUILD"


def loud_skip(msg):
    banner = "!" * 78
    sys.stderr.write(f"\n{banner}\n{msg}\n{banner}\n")
    pytest.skip(msg)
