"""Paths and environment shared by the unit and integration tests."""

import ipaddress
import os
import pathlib
import re
import subprocess

REPO = pathlib.Path(__file__).resolve().parent.parent
# Every address of the test bed, declared once in tests/testbed/lib.sh (TESTBED_RANGE).
TESTBED_RANGE = ipaddress.ip_network(
    re.search(r"^TESTBED_RANGE=(\S+)$", (REPO / "tests/testbed/lib.sh").read_text(), re.M).group(1)
)


def ansible_environment():
    """Environment in which infn.cloud resolves from this checkout (see `make collection`)."""
    link = REPO / "build/collections/ansible_collections/infn/cloud"
    if not link.exists():
        subprocess.run(["make", "-C", str(REPO), "collection"], check=True, capture_output=True)
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env["CONTAINERS_CONF"] = str(REPO / "tests/testbed/containers.conf")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    # `make test` runs this suite under `make -j4`: its jobserver is not ours to share.
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    return env


def plain(value):
    """ansible-inventory shows untrusted strings as {"__ansible_unsafe": ...}; their text."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def in_container(container, *command):
    """The argv that runs `command` in a test host: nsenter as root (podman exec costs about 0.2 s
    of CPU each, and the tests poll), podman exec otherwise."""
    from ansible_collections.infn.cloud.plugins.module_utils import podman_nsenter  # sys.path set by conftest

    if podman_nsenter.can_enter():
        return [*podman_nsenter.enter_command(container), *command]
    return ["podman", "exec", "-i", container, *command]


def run_in(container, *command, stdin=None, check=False):
    """Runs a command in a test host; its CompletedProcess (text)."""
    return subprocess.run(in_container(container, *command), input=stdin, capture_output=True, text=True, check=check)
