"""Fixtures shared by the unit and integration tests."""

import pytest

from tests.common import ansible_environment


@pytest.fixture(scope="session")
def ansible_env():
    return ansible_environment()
