"""The test bed's address plan: every scenario and the demo get their own subnets.

The demo may be running while `make test` runs Molecule; overlapping subnets or names would
make one break the other, and names without the project prefix would escape the cleanup.
"""

import ipaddress
import itertools
import pathlib
import tempfile

import yaml

from ansible_collections.infn.cloud.plugins.module_utils.federation import load_federation
from tests.common import REPO, TESTBED_RANGE, write_demo_test_inventory

PREFIX = "infn-"


def load(path):
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def scenario_layouts():
    """(owner, networks, hosts) for every Molecule scenario and the local inventory."""
    for path in sorted(REPO.glob("molecule/*/molecule.yml")):
        config = load(path)
        yield path.parent.name, config["driver"].get("networks", []), config["platforms"]
    with tempfile.TemporaryDirectory() as scratch:
        demo_test = write_demo_test_inventory(pathlib.Path(scratch) / "demo-test") / "local.federation.yml"
        descriptions = {
            "inventories/local/local.federation.yml": REPO / "inventories/local/local.federation.yml",
            "tests/integration/files/paas.federation.yml": REPO / "tests/integration/files/paas.federation.yml",
            "tests/integration/test_demo.py (the demo renamed)": demo_test,
        }
        for owner, description in descriptions.items():
            federation, _options = load_federation(str(description))
            networks, hosts = [], []
            for site in federation.sites:
                networks.append({"name": site.podman["network"], "subnet": site.podman["subnet"]})
                hosts += [
                    {"name": host.container, "network": site.podman["network"], "ip": host.address}
                    for host in site.hosts
                ]
            yield owner, networks, hosts


LAYOUTS = list(scenario_layouts())


def test_layouts_found():
    owners = [layout[0] for layout in LAYOUTS]
    assert "default" in owners
    assert "inventories/local/local.federation.yml" in owners
    assert "tests/integration/test_demo.py (the demo renamed)" in owners


def test_subnets_inside_project_range_and_disjoint():
    subnets = [
        (owner, net["name"], ipaddress.ip_network(net["subnet"]))
        for owner, networks, _hosts in LAYOUTS
        for net in networks
    ]
    for owner, name, subnet in subnets:
        assert subnet.subnet_of(TESTBED_RANGE), f"{owner}: {name} {subnet} is outside {TESTBED_RANGE}"
    for (owner_a, name_a, net_a), (owner_b, name_b, net_b) in itertools.combinations(subnets, 2):
        assert not net_a.overlaps(net_b), f"{owner_a}:{name_a} {net_a} overlaps {owner_b}:{name_b} {net_b}"


def test_names_unique_and_prefixed():
    names = [net["name"] for _owner, networks, _hosts in LAYOUTS for net in networks]
    names += [host["name"] for _owner, _networks, hosts in LAYOUTS for host in hosts]
    assert [name for name in names if not name.startswith(PREFIX)] == []
    assert len(names) == len(set(names)), "a network or host name is used twice"


def test_static_addresses_inside_their_network():
    for owner, networks, hosts in LAYOUTS:
        subnets = {net["name"]: ipaddress.ip_network(net["subnet"]) for net in networks}
        for host in hosts:
            assert host["network"] in subnets, f"{owner}: {host['name']} is on an undeclared network"
            address = ipaddress.ip_address(host["ip"])
            subnet = subnets[host["network"]]
            assert address in subnet, f"{owner}: {host['name']} {address} not in {subnet}"
            # .1 is the bridge gateway (the machine itself)
            assert address not in (subnet.network_address, subnet.network_address + 1, subnet.broadcast_address)
