"""swift_ring's pure logic, without Swift: checking the data, planning the changes, diff text."""

import pytest

from ansible_collections.infn.cloud.plugins.module_utils import swift_ring
from ansible_collections.infn.cloud.plugins.module_utils.swift_ring import (
    RingError,
    backup_names,
    match_devices,
    plan,
    state_text,
    validate,
)


def device(number, region=None, zone=1, **fields):
    """The storage node 10.99.24.1<number> with its disk d1, in region <number> by default."""
    return {
        "region": number if region is None else region,
        "zone": zone,
        "ip": f"10.99.24.1{number}",
        "port": 6200,
        "device": "d1",
        **fields,
    }


def params(devices=None, **options):
    return {
        "name": "object",
        "path": "/etc/swift",
        "part_power": 8,
        "devices": [device(1), device(2), device(3)] if devices is None else devices,
        **options,
    }


def wanted(devices=None, **options):
    return validate(params(devices, **options))


def current(devices=None, **state):
    """A builder as read_state reports it: rebalanced, the ring.gz up to date."""
    defaults = wanted(devices)
    builder_devices = [
        {"id": index, **{key: value for key, value in dev.items() if key != "index"}, "parts": 256}
        for index, dev in enumerate(defaults["devices"])
    ]
    return {
        "builder": True,
        "part_power": 8,
        "replicas": 3.0,
        "min_part_hours": 1,
        "devices": builder_devices,
        "pending": False,
        "next_part_power": None,
        "min_part_seconds_left": 0,
        "ring_file": "current",
        **state,
    }


def problems_of(call, *args):
    """The problems as their lines (option: message), and the whole message."""
    with pytest.raises(RingError) as raised:
        call(*args)
    return [str(problem) for problem in raised.value.problems], str(raised.value)


def test_defaults_are_filled_in():
    ring = wanted([device(1, meta=None, weight=None), device(2), device(3)])
    assert ring["builder_file"] == "/etc/swift/object.builder"
    assert ring["ring_file"] == "/etc/swift/object.ring.gz"
    assert ring["backup_dir"] == "/etc/swift/backups"
    assert (ring["replicas"], ring["min_part_hours"], ring["force"]) == (3.0, 1, False)
    first = ring["devices"][0]
    assert first["weight"] == 100.0
    assert (first["replication_ip"], first["replication_port"], first["meta"]) == ("10.99.24.11", 6200, "")


@pytest.mark.parametrize("name", ["account", "container", "object", "object-1", "object-12"])
def test_ring_names_accepted(name):
    assert validate(params(name=name))["builder_file"] == f"/etc/swift/{name}.builder"


@pytest.mark.parametrize("name", ["object-0", "object-", "objects", "Account", "object-1x", ""])
def test_ring_names_refused(name):
    problems, _message = problems_of(validate, params(name=name))
    assert problems == [
        f"name: expected account, container, object or object-<N> with N >= 1 (one object ring per storage policy), got {name!r}"
    ]


def test_every_problem_at_once_each_with_its_field():
    bad = [
        device(1, port=70000),
        device(2, region=0, zone=-1, device="sdb/1"),
        device(3, ip="not an address!", weight=-5, replication_port=0),
    ]
    problems, message = problems_of(
        validate, params(bad, part_power=33, replicas=0.5, min_part_hours=-1, path="etc/swift")
    )
    assert problems == [
        "path: expected an absolute path, got 'etc/swift'",
        "backup_dir: expected an absolute path, got 'etc/swift/backups'",
        "part_power: expected 1 to 32, got 33",
        "replicas: expected 1 or more, got 0.5",
        "min_part_hours: expected 0 or more, got -1",
        "devices[0].port: expected 1 to 65535, got 70000",
        "devices[1].region: expected 1 or more, got 0",
        "devices[1].zone: expected 0 or more, got -1",
        "devices[1].device: expected a device name under /srv/node (no '/'), got 'sdb/1'",
        "devices[2].weight: expected 0 or more, got -5",
        "devices[2].ip: expected an IP address or a hostname, got 'not an address!'",
        "devices[2].replication_port: expected 1 to 65535, got 0",
    ]
    assert message.startswith("12 problems in swift ring object:\npath: ")


def test_missing_and_mistyped_fields_are_named():
    problems, _message = problems_of(
        validate, params([{"region": "one", "zone": 1, "port": 6200, "device": "d1"}], part_power=True)
    )
    assert problems == [
        "part_power: expected an integer, got True",
        "devices[0].ip: required",
        "devices[0].region: expected an integer, got 'one'",
        "replicas: 3 replicas need at least 3 devices with a weight above 0, 1 given",
    ]


def test_duplicate_devices_name_both_entries():
    ipv6 = {"ip": "2001:db8::1", "port": 6200, "device": "d1", "zone": 1}
    devices = [
        device(1),
        device(2),
        device(1, region=3),
        {**ipv6, "region": 1},
        {**ipv6, "region": 2, "ip": "2001:0db8:0::1"},
    ]
    problems, _message = problems_of(validate, params(devices))
    assert problems == [
        "devices[2]: 10.99.24.11:6200/d1 is also devices[0]: a device is one ip, port and device name",
        "devices[4]: [2001:db8::1]:6200/d1 is also devices[3]: a device is one ip, port and device name",
    ]


@pytest.mark.parametrize(
    ("replicas", "weights", "expected"),
    [
        (3, [100, 100], "replicas: 3 replicas need at least 3 devices with a weight above 0, 2 given"),
        (3, [100, 100, 0], "replicas: 3 replicas need at least 3 devices with a weight above 0, 2 given"),
        (2.5, [100, 100], "replicas: 2.5 replicas need at least 3 devices with a weight above 0, 2 given"),
    ],
)
def test_enough_devices_for_the_replicas(replicas, weights, expected):
    devices = [device(number, weight=weight) for number, weight in enumerate(weights, start=1)]
    assert problems_of(validate, params(devices, replicas=replicas))[0] == [expected]


@pytest.mark.parametrize("address", ["10.99.24.300", "10.99.24", "-storage.test", "storage_1", "10.0.0.1:6200"])
def test_mistyped_addresses_are_refused(address):
    problems, _message = problems_of(validate, params([device(1, ip=address), device(2), device(3)]))
    assert problems == [f"devices[0].ip: expected an IP address or a hostname, got {address!r}"]


def test_a_missing_field_is_reported_once():
    problems, _message = problems_of(validate, params([device(1, port=None), device(2), device(3)]))
    assert problems == ["devices[0].port: required"]


def test_addresses_are_normalized_and_hostnames_accepted():
    ring = wanted([device(1, ip="2001:0DB8:0::1"), device(2, ip="storage-2.cloud.test"), device(3, ip="[::1]")])
    assert [dev["ip"] for dev in ring["devices"]] == ["2001:db8::1", "storage-2.cloud.test", "::1"]


def test_a_new_ring_is_created_and_rebalanced():
    steps = plan({"builder": False, "ring_file": "missing"}, wanted())
    assert steps["create"] and steps["rebalance"] and steps["write_builder"] and steps["write_ring"]
    assert [dev["ip"] for dev in steps["add"]] == ["10.99.24.11", "10.99.24.12", "10.99.24.13"]
    assert [dev["id"] for dev in steps["devices"]] == [None, None, None]


def test_a_ring_file_without_its_builder_needs_force():
    problems, _message = problems_of(plan, {"builder": False, "ring_file": "stale"}, wanted())
    assert problems == [
        "/etc/swift/object.ring.gz exists but /etc/swift/object.builder does not: a new builder would place every "
        "partition anew; recover the builder with 'swift-ring-builder /etc/swift/object.ring.gz write_builder' "
        "or set force: true to build a new ring"
    ]
    assert plan({"builder": False, "ring_file": "stale"}, wanted(force=True))["create"]


def test_nothing_to_do():
    steps = plan(current(), wanted())
    assert not steps["changed"]
    assert not (steps["rebalance"] or steps["write_builder"] or steps["write_ring"])
    assert [dev["id"] for dev in steps["devices"]] == [0, 1, 2]


@pytest.mark.parametrize("status", ["missing", "stale"])
def test_a_missing_or_stale_ring_file_is_rewritten_without_rebalance(status):
    steps = plan(current(ring_file=status), wanted())
    assert steps["changed"] and steps["write_ring"]
    assert not (steps["rebalance"] or steps["write_builder"])


def test_a_weight_change_rebalances():
    steps = plan(current(), wanted([device(1), device(2), device(3, weight=50)]))
    assert steps["rebalance"] and steps["write_builder"] and steps["write_ring"]
    assert steps["update"] == [
        {
            "id": 2,
            "label": "10.99.24.13:6200/d1",
            "changes": {"weight": [100.0, 50.0]},
        }
    ]


@pytest.mark.parametrize(
    ("field", "old", "new"),
    [("meta", "", "serial ABC"), ("replication_ip", "10.99.24.13", "10.99.25.13"), ("replication_port", 6200, 6300)],
)
def test_device_information_only_rewrites_the_ring(field, old, new):
    steps = plan(current(), wanted([device(1), device(2), device(3, **{field: new})]))
    assert not steps["rebalance"]
    assert steps["write_builder"] and steps["write_ring"]
    assert [update["changes"] for update in steps["update"]] == [{field: [old, new]}]


def test_a_renumbered_host_keeps_its_disk():
    steps = plan(current(), wanted([device(1), device(2), device(3, ip="10.99.24.23", replication_ip="10.99.24.23")]))
    assert not steps["rebalance"] and steps["write_ring"]
    assert (steps["add"], steps["remove"]) == ([], [])
    (update,) = steps["update"]
    assert (update["id"], update["label"]) == (2, "10.99.24.23:6200/d1")
    assert update["changes"] == {"ip": ["10.99.24.13", "10.99.24.23"], "replication_ip": ["10.99.24.13", "10.99.24.23"]}


def test_a_new_port_keeps_the_disk():
    steps = plan(current(), wanted([device(1), device(2), device(3, port=6210)]))
    assert [update["changes"] for update in steps["update"]] == [
        {"port": [6200, 6210], "replication_port": [6200, 6210]}
    ]
    assert not steps["rebalance"]


def test_an_ambiguous_renumbering_is_an_add_and_a_remove():
    old = [device(1), device(2, region=1), device(3)]
    new = [device(1, ip="10.99.24.21"), device(2, region=1, ip="10.99.24.22"), device(3)]
    pairs, added, removed = match_devices(current(old)["devices"], wanted(new)["devices"])
    assert [pair[0]["ip"] for pair in pairs] == ["10.99.24.13"]
    assert [dev["ip"] for dev in added] == ["10.99.24.21", "10.99.24.22"]
    assert [dev["ip"] for dev in removed] == ["10.99.24.11", "10.99.24.12"]


def test_a_device_changed_in_address_and_zone_is_replaced():
    steps = plan(current(), wanted([device(1), device(2), device(3, zone=2, ip="10.99.24.23")]))
    assert [steps["add"][0]["ip"], steps["remove"][0]["ip"]] == ["10.99.24.23", "10.99.24.13"]
    assert steps["rebalance"]


def test_added_and_removed_devices_rebalance():
    steps = plan(current(), wanted([device(1), device(2), device(4)]))
    assert [dev["ip"] for dev in steps["add"]] == ["10.99.24.14"]
    assert [dev["id"] for dev in steps["remove"]] == [2]
    assert steps["rebalance"]
    assert [dev["id"] for dev in steps["devices"]] == [0, 1, None]


def test_region_and_zone_changes_need_force():
    new = [device(1, region=4), device(2, zone=3), device(3)]
    problems, message = problems_of(plan, current(), wanted(new))
    assert problems == [
        "devices[0].region: 10.99.24.11:6200/d1 is in region 1 in ring object, region 4 wanted: moving a device "
        "moves its partitions; set force: true to do it",
        "devices[1].zone: 10.99.24.12:6200/d1 is in zone 1 in ring object, zone 3 wanted: moving a device moves "
        "its partitions; set force: true to do it",
    ]
    assert message.startswith("2 problems in swift ring object:\ndevices[0].region: ")
    steps = plan(current(), wanted(new, force=True))
    assert steps["rebalance"]
    assert [update["changes"] for update in steps["update"]] == [{"region": [1, 4]}, {"zone": [1, 3]}]


def test_part_power_change_needs_force_and_rebuilds():
    problems, _message = problems_of(plan, current(), wanted(part_power=9))
    assert problems == [
        "part_power: ring object has part power 8, 9 wanted: changing it rebuilds the ring from scratch and moves "
        "every partition; set force: true to do it"
    ]
    steps = plan(current(min_part_seconds_left=3000), wanted(part_power=9, force=True))
    assert steps["rebuild"] and steps["rebalance"]
    assert [dev["id"] for dev in steps["devices"]] == [0, 1, 2]


def test_replicas_change_rebalances():
    devices = [device(1), device(2), device(3), device(4)]
    steps = plan(current(devices), wanted(devices, replicas=4))
    assert steps["settings"] == {"replicas": [3.0, 4.0]}
    assert steps["rebalance"]


def test_min_part_hours_change_only_rewrites_the_builder():
    steps = plan(current(), wanted(min_part_hours=24))
    assert steps["settings"] == {"min_part_hours": [1, 24]}
    assert steps["write_builder"] and not steps["write_ring"] and not steps["rebalance"]


def test_a_rebalance_before_min_part_hours_fails_before_any_change():
    problems, _message = problems_of(
        plan, current(min_part_seconds_left=2880), wanted([device(1), device(2), device(3), device(4)])
    )
    assert problems == [
        "ring object needs a rebalance (add 10.99.24.14:6200/d1) but its partitions may not move again for "
        "0:48:00 (2880 s, min_part_hours 1): wait, or set pretend_min_part_hours_passed: true to rebalance now; "
        "nothing was changed"
    ]
    steps = plan(
        current(min_part_seconds_left=2880),
        wanted([device(1), device(2), device(3), device(4)], pretend_min_part_hours_passed=True),
    )
    assert steps["rebalance"]


def test_min_part_hours_does_not_hold_back_changes_without_rebalance():
    steps = plan(current(min_part_seconds_left=2880), wanted([device(1), device(2), device(3, meta="spare")]))
    assert steps["changed"] and not steps["rebalance"]


def test_changes_not_yet_rebalanced_in_the_builder_are_rebalanced():
    steps = plan(current(pending=True), wanted())
    assert steps["rebalance"] and steps["changed"]
    assert steps["reasons"] == ["the builder has changes not rebalanced yet"]


def test_a_partition_power_increase_in_progress_stops_everything():
    problems, message = problems_of(plan, current(next_part_power=9), wanted())
    # Not a problem with the options: the ring's own state stops the work.
    assert problems == []
    assert message == (
        "swift ring object: a partition power increase to 9 is in progress in /etc/swift/object.builder: finish or "
        "cancel it with swift-ring-builder first"
    )


def test_all_plan_problems_at_once():
    new = [device(1, region=2), device(2, weight=50), device(3)]
    problems, _message = problems_of(plan, current(min_part_seconds_left=60), wanted(new))
    assert problems[0].startswith("devices[0].region: ")
    assert problems[1].startswith(
        "ring object needs a rebalance (10.99.24.11:6200/d1 region 1 -> 2; 10.99.24.12:6200/d1 weight 100.0 -> 50.0)"
        " but its partitions may not move again for 0:01:00 (60 s, "
    )
    assert len(problems) == 2


def test_state_text_for_the_diff():
    ring = wanted(
        [
            device(2, replication_ip="10.99.25.12", meta="ssd"),
            device(1),
            device(3, ip="2001:db8::13", weight=50),
        ]
    )
    assert state_text(None) == ""
    text = state_text({**ring, "ring_file": "stale"}, "object")
    assert text == (
        "part_power 8\n"
        "replicas 3.0\n"
        "min_part_hours 1\n"
        "r1z1-10.99.24.11:6200/d1 weight 100.0\n"
        "r2z1-10.99.24.12:6200/d1 weight 100.0 replication 10.99.25.12:6200 meta 'ssd'\n"
        "r3z1-[2001:db8::13]:6200/d1 weight 50.0\n"
        "object.ring.gz out of date\n"
    )


def test_backup_names_never_overwrite_an_earlier_backup():
    taken = {"1764000000.object.builder", "1764000001.object.ring.gz"}
    assert backup_names("object", 1764000000.7, taken.__contains__) == (
        "1764000002.object.builder",
        "1764000002.object.ring.gz",
    )
    assert backup_names("object-1", 5.0, set().__contains__) == ("5.object-1.builder", "5.object-1.ring.gz")


@pytest.mark.skipif(swift_ring.SWIFT_IMPORT_ERROR is None, reason="Swift is installed here")
def test_without_swift_the_module_says_what_to_install(tmp_path):
    problems, message = problems_of(swift_ring.manage_ring, params(path=str(tmp_path)))
    assert message.startswith("swift ring object: the swift_ring module needs Swift's Python package on ")
    assert message.split("(", maxsplit=1)[0].endswith(": install python3-swift ") and problems == []
