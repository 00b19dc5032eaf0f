"""The OpenStack test site: a demo-project server gets a fixed and a floating address.

Real Nova, Neutron (L3 agent, NAT) and Keystone behind the fake virt driver; see
tests/testbed/openstack/site.sh.
"""

import ipaddress
import uuid

import pytest

from tests.integration.openstack_site import demo_connection, openstack_cloud, wait_until

PRIVATE_SUBNET = ipaddress.ip_network("10.99.32.0/24")
PUBLIC_SUBNET = ipaddress.ip_network("10.99.31.0/24")
METADATA = {"infn_cloud_roles": "swift_proxy"}


@pytest.fixture(scope="session")
def clouds_yaml():
    return openstack_cloud()


@pytest.fixture
def demo(clouds_yaml):
    """An openstacksdk connection as the demo project, from the site's clouds.yaml only."""
    conn = demo_connection(clouds_yaml)
    yield conn
    conn.close()


def addresses_by_type(conn, server_id):
    """{'fixed': [...], 'floating': [...]} from the server's addresses as Nova lists them."""
    found = {}
    for entries in conn.compute.get_server(server_id).addresses.values():
        for entry in entries:
            found.setdefault(entry["OS-EXT-IPS:type"], []).append(entry["addr"])
    return found


def test_server_gets_fixed_and_floating_address(demo):
    image = demo.image.find_image("tiny", ignore_missing=False)
    flavor = demo.compute.find_flavor("m1.tiny", ignore_missing=False)
    private = demo.network.find_network("private", ignore_missing=False)
    public = demo.network.find_network("public", ignore_missing=False)
    server = floating_ip = None
    try:
        server = demo.compute.create_server(
            name=f"infn-test-{uuid.uuid4().hex[:8]}",
            image_id=image.id,
            flavor_id=flavor.id,
            networks=[{"uuid": private.id}],
            metadata=METADATA,
        )
        server = demo.compute.wait_for_server(server, status="ACTIVE", wait=300, interval=2)
        assert demo.compute.get_server(server.id).metadata == METADATA

        port = next(demo.network.ports(device_id=server.id))
        floating_ip = demo.network.create_ip(floating_network_id=public.id, port_id=port.id)
        wait_until("floating IP ACTIVE", lambda: demo.network.get_ip(floating_ip.id).status == "ACTIVE")
        addresses = wait_until(
            "floating IP listed in the server's addresses",
            lambda: (found := addresses_by_type(demo, server.id)).get("floating") and found,
        )

        assert len(addresses["fixed"]) == 1
        assert ipaddress.ip_address(addresses["fixed"][0]) in PRIVATE_SUBNET
        assert addresses["floating"] == [floating_ip.floating_ip_address]
        assert ipaddress.ip_address(floating_ip.floating_ip_address) in PUBLIC_SUBNET
    finally:
        if floating_ip is not None:
            demo.network.delete_ip(floating_ip, ignore_missing=True)
        if server is not None:
            demo.compute.delete_server(server, ignore_missing=True)
            demo.compute.wait_for_delete(server, wait=120, interval=2)
