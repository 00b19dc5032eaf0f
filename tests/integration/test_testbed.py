"""The test bed scripts: clear failures, and a cleanup that removes only the project's objects."""

import errno
import socket
import subprocess
import time

import pytest

from tests.common import REPO, TESTBED_RANGE, ansible_environment
from tests.integration.podman import names, podman

IMAGE = "localhost/infn-cloud-debian-systemd:bookworm"


def test_setup_says_in_one_line_when_podman_cannot_run_containers(tmp_path):
    # Without the project's containers.conf, crun cannot set the nofile limit on this VM kind.
    broken = tmp_path / "containers.conf"
    broken.write_text("")
    env = ansible_environment()
    env["CONTAINERS_CONF"] = str(broken)
    result = subprocess.run(
        ["bash", str(REPO / "tests/testbed/setup.sh")], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("testbed: podman cannot run containers on this machine (step: podman run")
    assert "Traceback" not in result.stderr


@pytest.fixture
def foreign_and_own():
    """A container and network the project did not make, and one it did."""
    podman("network", "create", "--subnet", "10.99.250.0/24", "infnx-foreign-net")
    podman("create", "--name", "infnx-foreign", "--network", "infnx-foreign-net", IMAGE, "true")
    podman("network", "create", "--subnet", "10.99.251.0/24", "infn-cleanup-probe-net")
    podman("create", "--name", "infn-cleanup-probe", "--network", "infn-cleanup-probe-net", IMAGE, "true")
    podman("volume", "create", "infn-cleanup-probe-vol")
    yield
    podman("rm", "-f", "infnx-foreign", "infn-cleanup-probe", check=False)
    podman("network", "rm", "-f", "infnx-foreign-net", "infn-cleanup-probe-net", check=False)
    podman("volume", "rm", "-f", "infn-cleanup-probe-vol", check=False)


def test_cleanup_removes_exactly_the_project_objects(foreign_and_own):
    result = subprocess.run(
        ["bash", str(REPO / "tests/testbed/cleanup.sh"), "infn-cleanup-"],
        capture_output=True,
        text=True,
        env=ansible_environment(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert names("container", "infn-cleanup-") == []
    assert names("network", "infn-cleanup-") == []
    assert names("volume", "infn-cleanup-") == []
    assert names("container", "infnx-foreign") == ["infnx-foreign"]
    assert names("network", "infnx-foreign") == ["infnx-foreign-net"]
    assert podman("image", "exists", IMAGE, check=False).returncode == 0


def test_cleanup_refuses_a_prefix_outside_the_project():
    result = subprocess.run(
        ["bash", str(REPO / "tests/testbed/cleanup.sh"), "my-"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "testbed: refusing prefix 'my-': it must start with infn-"


def test_podman_site_rejects_names_outside_the_prefix(tmp_path, ansible_env):
    playbook = tmp_path / "site.yml"
    playbook.write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  roles:\n"
        "    - role: infn.cloud.podman_site\n"
        "      podman_site_networks: [{name: mynet, subnet: 10.99.252.0/24}]\n"
        "      podman_site_hosts: [{name: infn-x-1, network: mynet}]\n"
    )
    result = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)],
        capture_output=True,
        text=True,
        env=ansible_env,
        check=False,
    )
    assert result.returncode == 2
    assert "these names do not start with 'infn-': mynet" in result.stdout
    assert names("network", "mynet") == []


@pytest.fixture
def site_network():
    """A site network with one live host on it (infn-route-probe-*, 10.99.253.0/24)."""
    podman("network", "create", "--subnet", "10.99.253.0/24", "infn-route-probe-net")
    podman("run", "-d", "--name", "infn-route-probe", "--network", "infn-route-probe-net", "--ip", "10.99.253.10",
           IMAGE, "sleep", "infinity")  # fmt: skip
    yield "10.99.253.10"
    podman("rm", "-f", "-t", "0", "infn-route-probe", check=False)
    podman("network", "rm", "-f", "infn-route-probe-net", check=False)


def route_get(address):
    result = subprocess.run(["ip", "-4", "route", "get", address], capture_output=True, text=True, check=False)
    return result.returncode, (result.stdout + result.stderr).strip()


def probe_errors(address):
    """(UDP send error, TCP connect error, seconds the TCP attempt took): None where it went out."""
    udp_error = tcp_error = None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        try:
            udp.sendto(b"probe", (address, 53))
        except OSError as error:
            udp_error = error.errno
    started = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        tcp.settimeout(5)
        try:
            tcp.connect((address, 22))
        except OSError as error:
            tcp_error = error.errno
    return udp_error, tcp_error, time.monotonic() - started


def test_traffic_to_a_stopped_site_never_leaves_the_machine(site_network):
    address = site_network
    assert subprocess.run(["bash", str(REPO / "tests/testbed/route.sh"), "status"], check=False).returncode == 0, (
        f"no unreachable route for {TESTBED_RANGE}: make testbed adds it"
    )
    rc, route = route_get(address)
    assert rc == 0 and " dev podman" in route, route  # while the site is up, its bridge's route wins
    # A live host answers a closed port with a reset: reachable.
    assert probe_errors(address)[1] == errno.ECONNREFUSED

    podman("stop", "-t", "0", "infn-route-probe")
    podman("network", "rm", "-f", "infn-route-probe-net")
    rc, route = route_get(address)
    assert rc != 0 and "No route to host" in route, route
    udp_error, tcp_error, seconds = probe_errors(address)
    assert udp_error == errno.EHOSTUNREACH
    assert tcp_error == errno.EHOSTUNREACH and seconds < 1, (tcp_error, seconds)
