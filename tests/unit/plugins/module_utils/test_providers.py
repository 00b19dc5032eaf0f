"""Provider logic that needs no live site: address choice, capacity arithmetic, roles."""

import pytest

from ansible_collections.infn.cloud.plugins.module_utils.providers.base import Capacity, split_roles
from ansible_collections.infn.cloud.plugins.module_utils.providers.openstack import _narrowest, choose_address

ADDRESSES = {
    "private": [
        {"addr": "10.0.0.5", "version": 4, "OS-EXT-IPS:type": "fixed"},
        {"addr": "fd00::5", "version": 6, "OS-EXT-IPS:type": "fixed"},
        {"addr": "192.0.2.50", "version": 4, "OS-EXT-IPS:type": "floating"},
    ],
    "data": [{"addr": "172.16.1.9", "version": 4, "OS-EXT-IPS:type": "fixed"}],
}
DEFAULT = {"prefer": "floating", "ipv4_only": True}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (DEFAULT, "192.0.2.50"),  # floating wins over fixed
        ({"prefer": "fixed", "ipv4_only": True}, "172.16.1.9"),  # fixed, networks in name order
        ({"prefer": "fixed", "network": "private", "ipv4_only": True}, "10.0.0.5"),
        ({"prefer": "floating", "network": "data", "ipv4_only": True}, "172.16.1.9"),  # falls back to fixed
        ({"prefer": "floating", "cidr": "10.0.0.0/8", "ipv4_only": True}, "10.0.0.5"),
        ({"prefer": "fixed", "network": "private", "ipv4_only": False}, "10.0.0.5"),
        ({"prefer": "floating", "network": "nowhere", "ipv4_only": True}, None),
    ],
)
def test_choose_address(policy, expected):
    assert choose_address(ADDRESSES, policy) == expected


def test_choose_address_ipv6_only_when_allowed():
    v6 = {"net": [{"addr": "fd00::5", "version": 6, "OS-EXT-IPS:type": "fixed"}]}
    assert choose_address(v6, DEFAULT) is None
    assert choose_address(v6, {"prefer": "floating", "ipv4_only": False}) == "fd00::5"


def test_choose_address_is_deterministic_over_dict_order():
    reordered = dict(reversed(list(ADDRESSES.items())))
    assert choose_address(reordered, {"prefer": "fixed", "ipv4_only": True}) == "172.16.1.9"


def test_free_capacity_never_negative_and_only_where_limited():
    capacity = Capacity(True, limits={"cores": 10, "ram_gb": 8}, usage={"cores": 12, "ram_gb": 3, "instances": 4})
    assert capacity.free == {"cores": 0, "ram_gb": 5}


def test_narrowest_limit_wins_and_unlimited_is_ignored():
    assert _narrowest({"cores": 20, "instances": -1, "ram_gb": None}, {"cores": 8, "instances": 5}) == {
        "cores": 8,
        "instances": 5,
    }


def test_split_roles():
    assert split_roles("swift_proxy, dns_primary") == ("swift_proxy", "dns_primary")
    assert split_roles("") == ()
    assert split_roles(None) == ()
