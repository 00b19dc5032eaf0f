"""Shared by every scenario's verifier: the project's test helpers, and testinfra hosts reached by
nsenter (testinfra's Ansible backend would start a whole `ansible` run for each command over a
connection it does not know)."""

import pathlib
import shlex
import sys

import pytest
import testinfra.backend.base
import testinfra.host

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "build/collections")]

from tests import skip_report  # noqa: E402
from tests.common import in_container  # noqa: E402

# Every skip is recorded for `make test`'s skip check (tests/check_skips.py).
pytest_runtest_logreport = skip_report.pytest_runtest_logreport
pytest_collectreport = skip_report.pytest_collectreport


class EnteredBackend(testinfra.backend.base.BaseBackend):
    """Commands run in the container by tests.common.in_container."""

    NAME = "infn_nsenter"

    def run(self, command, *args, **kwargs):
        command = self.get_command(command, *args)
        return self.run_local(shlex.join(in_container(self.hostname, "/bin/sh", "-c")) + " %s", command)


@pytest.fixture(scope="module")
def host(_testinfra_host):
    return testinfra.host.Host(EnteredBackend(_testinfra_host.backend.get_hostname()))
