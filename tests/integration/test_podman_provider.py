"""The podman provider against real containers: declared hosts come up from the description,
live containers are discovered by their labels, and site_info counts them."""

import json
import subprocess

import pytest

from tests.common import REPO, ansible_environment
from tests.integration.podman import names, podman

PREFIX = "infn-ptest-"
DESCRIPTION = """\
plugin: infn.cloud.federation
fail_on_errors: true
federation:
  name: infn-ptest
  domain: ptest.test
sites:
  - name: lab
    coupling: backbone
    provider: podman
    regions: [lab]
    podman: {network: infn-ptest-lab, subnet: 10.99.40.0/24, container_prefix: infn-ptest-}
    sla:
      quotas: {instances: 5}
    hosts:
      - {name: lab-1, address: 10.99.40.10, roles: [swift_proxy]}
      - {name: lab-2, address: 10.99.40.11, roles: [swift_storage]}
  - name: annex
    provider: podman
    regions: [annex]
    podman: {network: infn-ptest-annex, subnet: 10.99.41.0/24, container_prefix: infn-ptest-}
    hosts:
      - {name: annex-1, address: 10.99.41.10}
"""
IMAGE = "localhost/infn-cloud-debian-systemd:bookworm"


def run(*command, env=None):
    result = subprocess.run(command, capture_output=True, text=True, env=env or ansible_environment(), check=False)
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def labelled(name, site, host, roles, network, ip):
    """A container the description does not declare (as the PaaS layer would start one)."""
    podman(
        "run", "-d", "--name", name, "--hostname", host, "--network", network, "--ip", ip, "--systemd=always",
        "--label", "infn.cloud.testbed=infn-ptest", "--label", "infn.cloud.federation=infn-ptest",
        "--label", f"infn.cloud.site={site}", "--label", f"infn.cloud.host={host}",
        "--label", f"infn.cloud.roles={roles}", IMAGE, "/sbin/init",
    )  # fmt: skip


@pytest.fixture(scope="module")
def federation(tmp_path_factory):
    if names("container", PREFIX) or names("network", PREFIX):
        subprocess.run(["bash", str(REPO / "tests/testbed/cleanup.sh"), PREFIX], check=True, env=ansible_environment())
    path = tmp_path_factory.mktemp("ptest") / "ptest.federation.yml"
    path.write_text(DESCRIPTION)
    try:
        run(
            "ansible-playbook",
            str(REPO / "playbooks/local_federation.yml"),
            "-e",
            f"local_federation_description={path}",
        )
        # `backbone` is no service role: a container's labels must not put it in that group.
        labelled("infn-ptest-worker-9", "lab", "worker-9", "smtp_relay,backbone", "infn-ptest-lab", "10.99.40.20")
        labelled("infn-ptest-annex-dup", "annex", "lab-1", "", "infn-ptest-annex", "10.99.41.20")
        labelled("infn-ptest-twin-a", "annex", "twin", "", "infn-ptest-annex", "10.99.41.21")
        labelled("infn-ptest-twin-b", "annex", "twin", "", "infn-ptest-annex", "10.99.41.22")
        yield path
    finally:
        subprocess.run(["bash", str(REPO / "tests/testbed/cleanup.sh"), PREFIX], check=False, env=ansible_environment())


def test_declared_and_discovered_hosts(federation):
    data = json.loads(run("ansible-inventory", "-i", str(federation), "--list"))
    hostvars = data["_meta"]["hostvars"]
    duplicate = next(name for name in hostvars if name.startswith("lab-1-"))
    twins = sorted(name for name in hostvars if name.startswith("twin"))
    assert sorted(hostvars) == sorted(["lab-1", "lab-2", "annex-1", "worker-9", duplicate, *twins])
    assert len(twins) == 2 and "twin" in twins  # same name twice in one site: both kept
    worker = hostvars["worker-9"]
    assert worker["ansible_host"]["__ansible_unsafe"] == "infn-ptest-worker-9"
    assert worker["ansible_connection"]["__ansible_unsafe"] == "infn.cloud.podman_nsenter"  # as root
    assert worker["infn_cloud"]["declared"] is False
    assert worker["infn_cloud"]["address"]["__ansible_unsafe"] == "10.99.40.20"
    assert data["smtp_relay"]["hosts"] == ["worker-9"]
    assert [role["__ansible_unsafe"] for role in worker["infn_cloud"]["roles"]] == ["smtp_relay"]
    assert "hosts" not in data["backbone"]
    declared = hostvars["lab-1"]["infn_cloud"]
    assert declared["declared"] is True
    assert declared["facts"]["state"]["__ansible_unsafe"] == "running"
    assert hostvars[duplicate]["infn_cloud"]["site"] == "annex"
    assert sorted(data["site_lab"]["hosts"]) == ["lab-1", "lab-2", "worker-9"]


def test_every_host_is_reachable_through_the_inventory(federation):
    out = run("ansible", "-i", str(federation), "all", "-m", "ansible.builtin.ping", "-o")
    assert out.count("SUCCESS") == 7, out


def test_site_info_counts_the_running_containers(federation):
    out = run("ansible", "localhost", "-m", "infn.cloud.site_info", "-a", f"path={federation} sites=lab,annex", "-o")
    report = json.loads(out.split("=>", 1)[1])["sites"]
    lab, annex = report
    assert (lab["name"], lab["reachable"], lab["usage"]["instances"]) == ("lab", True, 3)
    assert lab["limits"]["instances"] == 5 and lab["free"]["instances"] == 2
    assert (annex["name"], annex["usage"]["instances"]) == ("annex", 4)


def test_a_cache_without_a_site_does_not_answer_for_it(federation, tmp_path):
    cached = tmp_path / "cached.federation.yml"
    base = federation.read_text() + (
        f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {tmp_path / 'cache'}\n"
    )
    cached.write_text(base + "only_sites: [lab]\n")
    first = json.loads(run("ansible-inventory", "-i", str(cached), "--list"))["_meta"]["hostvars"]
    assert "annex-1" not in first
    cached.write_text(base)
    second = json.loads(run("ansible-inventory", "-i", str(cached), "--list"))["_meta"]["hostvars"]
    assert len([name for name in second if name.startswith("twin")]) == 2


def test_a_second_bring_up_changes_nothing(federation):
    out = run(
        "ansible-playbook",
        str(REPO / "playbooks/local_federation.yml"),
        "-e",
        f"local_federation_description={federation}",
    )
    assert "changed=0" in out.split("PLAY RECAP")[1]
