"""Paths and environment shared by the unit and integration tests."""

import ipaddress
import os
import pathlib
import re
import shutil
import subprocess

import yaml

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


# The demo's test runs `make demo` on a renamed copy of the demo's inventory, so that it runs
# beside a user's demo: containers and networks named infn-dtest-..., subnets of their own.
DEMO_INVENTORY = REPO / "inventories/local"
DEMO_TEST_PREFIX = "infn-dtest-"
DEMO_TEST_SUBNETS = {"10.99.10.0/24": "10.99.12.0/24", "10.99.11.0/24": "10.99.13.0/24"}


def demo_test_federation():
    """The demo's federation description (a dict) with the names and subnets of the demo's test."""
    description = yaml.safe_load((DEMO_INVENTORY / "local.federation.yml").read_text(encoding="utf-8"))
    description["federation"]["name"] = DEMO_TEST_PREFIX.rstrip("-")
    for site in description["sites"]:
        podman = site["podman"]
        old, new = (ipaddress.ip_network(subnet) for subnet in (podman["subnet"], DEMO_TEST_SUBNETS[podman["subnet"]]))
        podman["subnet"] = str(new)
        for key in ("network", "container_prefix"):
            podman[key] = DEMO_TEST_PREFIX + podman[key].removeprefix("infn-demo-")
        for host in site["hosts"]:
            offset = int(ipaddress.ip_address(host["address"])) - int(old.network_address)
            host["address"] = str(new.network_address + offset)
    return description


def write_demo_test_inventory(directory):
    """A copy of inventories/local under `directory` (its group_vars as they are, the federation
    renamed by demo_test_federation()); returns its path."""
    inventory = pathlib.Path(directory)
    if inventory.exists():
        shutil.rmtree(inventory)
    shutil.copytree(DEMO_INVENTORY, inventory, ignore=shutil.ignore_patterns("local.federation.yml"))
    text = "# Written by tests/common.py: the demo's federation renamed for the demo's test.\n"
    text += yaml.safe_dump(demo_test_federation(), sort_keys=False)
    (inventory / "local.federation.yml").write_text(text, encoding="utf-8")
    return inventory
