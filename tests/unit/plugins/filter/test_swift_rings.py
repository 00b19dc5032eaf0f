"""The rings a Swift cluster gets from its nodes and policies (the role's swift_rings filter)."""

from ansible_collections.infn.cloud.plugins.filter.swift_rings import swift_rings

PORTS = {"account": 6202, "container": 6201, "object": 6200}
NODES = [
    {"region": "1", "zone": 1, "address": "10.0.1.11", "replication_address": "10.1.1.11", "devices": [{"name": "d1"}]},
    {"region": 2, "zone": 1, "address": "10.0.2.11", "devices": [{"name": "d1", "weight": 200}, {"name": "d2"}]},
    {"region": 3, "zone": 2, "address": "10.0.3.11", "devices": []},  # a proxy-only node adds nothing
]


def test_one_ring_per_kind_and_per_policy_in_index_order():
    policies = [{"index": 2, "name": "bronze"}, {"index": 0, "name": "gold"}]
    rings = swift_rings(NODES, policies, 10, 3, PORTS)
    assert [ring["name"] for ring in rings] == ["account", "container", "object", "object-2"]
    assert [ring["port"] for ring in rings] == [6202, 6201, 6200, 6200]


def test_every_device_of_every_node_on_the_ring_port():
    (account, *_others) = swift_rings(NODES, [{"index": 0}], 10, 3, PORTS)
    assert account["devices"] == [
        {"region": 1, "zone": 1, "ip": "10.0.1.11", "port": 6202, "replication_ip": "10.1.1.11",
         "replication_port": 6202, "device": "d1", "weight": 100.0},
        {"region": 2, "zone": 1, "ip": "10.0.2.11", "port": 6202, "replication_ip": "10.0.2.11",
         "replication_port": 6202, "device": "d1", "weight": 200.0},
        {"region": 2, "zone": 1, "ip": "10.0.2.11", "port": 6202, "replication_ip": "10.0.2.11",
         "replication_port": 6202, "device": "d2", "weight": 100.0},
    ]  # fmt: skip


def test_a_policy_may_set_its_own_part_power_and_replicas():
    rings = swift_rings(NODES, [{"index": 0}, {"index": 1, "replicas": 2, "part_power": 12}], 10, 3, PORTS)
    assert [(ring["name"], ring["part_power"], ring["replicas"]) for ring in rings] == [
        ("account", 10, 3.0),
        ("container", 10, 3.0),
        ("object", 10, 3.0),
        ("object-1", 12, 2.0),
    ]
