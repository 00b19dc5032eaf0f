"""Fixtures shared by the unit and integration tests."""

import sys

import pytest

from tests import skip_report
from tests.common import REPO, ansible_environment

# The collection's own code imports as ansible_collections.infn.cloud (see `make collection`).
sys.path.insert(0, str(REPO / "build/collections"))

# Every skip is recorded for `make test`'s skip check (tests/check_skips.py).
pytest_runtest_logreport = skip_report.pytest_runtest_logreport
pytest_collectreport = skip_report.pytest_collectreport


@pytest.fixture(scope="session")
def ansible_env():
    return ansible_environment()
