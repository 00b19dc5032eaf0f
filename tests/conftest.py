"""Fixtures shared by the unit and integration tests."""

import sys

import pytest

from tests.common import REPO, ansible_environment

# The collection's own code imports as ansible_collections.infn.cloud (see `make collection`).
sys.path.insert(0, str(REPO / "build/collections"))


@pytest.fixture(scope="session")
def ansible_env():
    return ansible_environment()
