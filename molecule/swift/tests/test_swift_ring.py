"""What an operator expects of infn.cloud.swift_ring on a real ring host (Debian's Swift 2.30):
each case runs the module through ansible-playbook in a scratch folder of that host and looks
at the files it leaves and at Swift's own ring lookup.

Outside Molecule, point it at any host with python3-swift:
SWIFT_RING_TEST_HOST=<host> SWIFT_RING_TEST_INVENTORY=<inventory> pytest <this file>
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass

import pytest

HOST = os.environ.get("SWIFT_RING_TEST_HOST", "infn-mol-swift-proxy1")
INVENTORY = os.environ.get("SWIFT_RING_TEST_INVENTORY") or os.environ.get("MOLECULE_INVENTORY_FILE")
PROJECT = pathlib.Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY") or pathlib.Path(__file__).resolve().parents[3])
SCRATCH = f"/tmp/infn-ring-test-{uuid.uuid4().hex[:8]}"  # verify may run again on the same host
# The venv's ansible-playbook, also when pytest runs without the venv on PATH.
ANSIBLE_PLAYBOOK = (
    shutil.which(
        "ansible-playbook", path=f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    )
    or "ansible-playbook"
)

PLACEMENT = """
import json, sys
from swift.common.ring import Ring
ring = Ring(sys.argv[1], ring_name=sys.argv[2])
print(json.dumps({
    "partitions": ring.partition_count,
    "replicas": ring.replica_count,
    "regions": [sorted({node["region"] for node in ring.get_part_nodes(part)}) for part in range(ring.partition_count)],
    "ips": sorted({device["ip"] for device in ring.devs if device}),
}))
"""


def node(number, **fields):
    """Storage node <number> of the test cluster: region <number>, disk d1."""
    return {"region": number, "zone": 1, "ip": f"10.99.24.1{number}", "port": 6200, "device": "d1", **fields}


THREE_REGIONS = [node(1), node(2), node(3)]


@dataclass
class Run:
    result: dict  # what the module returned
    before: dict  # sha1 of the builder and ring.gz before the task (None: missing)
    after: dict
    backups: dict  # backup file name -> sha1, after the task
    extra: list  # results of the tasks run after the module


def play(tmp_path, tasks):
    """Runs tasks on HOST in one playbook, none stopping the others; returns their results."""
    assert INVENTORY, "set MOLECULE_INVENTORY_FILE or SWIFT_RING_TEST_INVENTORY to an inventory with " + HOST
    results = tmp_path / f"results-{uuid.uuid4().hex[:6]}.json"
    registered = [{**task, "register": f"step{index}", "ignore_errors": True} for index, task in enumerate(tasks)]
    names = ", ".join(f"step{index}" for index in range(len(tasks)))
    registered.append(
        {
            "ansible.builtin.copy": {"content": "{{ [" + names + "] | to_json }}", "dest": str(results)},
            "delegate_to": "localhost",
            "check_mode": False,
        }
    )
    playbook = tmp_path / f"play-{results.stem}.yml"
    playbook.write_text(json.dumps([{"hosts": HOST, "gather_facts": False, "tasks": registered}]))
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(PROJECT / "build/collections")
    env.setdefault("CONTAINERS_CONF", str(PROJECT / "tests/testbed/containers.conf"))
    command = [ANSIBLE_PLAYBOOK, "-i", INVENTORY, str(playbook)]
    run = subprocess.run(command, capture_output=True, text=True, env=env, cwd=PROJECT, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads(results.read_text())


def on_host(task):
    """A helper task that runs for real even next to a check-mode module task."""
    return {**task, "check_mode": False}


def command(*argv):
    return on_host({"ansible.builtin.command": {"argv": list(argv)}})


# One task for all the checksums (each task is a whole Ansible run).
SNAPSHOT = """mkdir -p "$1" && cd "$1" || exit 1
for file in object.builder object.ring.gz backups/*; do [ -f "$file" ] && sha1sum "$file"; done; true"""


def snapshot(ring_dir):
    return command("sh", "-c", SNAPSHOT, "snapshot", ring_dir)


def sums(result):
    """{file name relative to the ring folder: sha1} from a snapshot."""
    pairs = (line.split(maxsplit=1) for line in result["stdout"].splitlines())
    return {name: digest for digest, name in pairs}


def swift_ring(tmp_path, ring_dir, devices, *, check=False, diff=False, after=(), **options):
    """infn.cloud.swift_ring on the object ring of ring_dir, with checksums around it."""
    module = {
        "infn.cloud.swift_ring": {"name": "object", "path": ring_dir, "part_power": 8, "devices": devices, **options},
        "check_mode": check,
        "diff": diff,
    }
    results = play(tmp_path, [snapshot(ring_dir), module, snapshot(ring_dir), *after])
    before, after_run = sums(results[0]), sums(results[2])
    return Run(
        result=results[1],
        before={"builder": before.get("object.builder"), "ring": before.get("object.ring.gz")},
        after={"builder": after_run.get("object.builder"), "ring": after_run.get("object.ring.gz")},
        backups={name.split("/", 1)[1]: digest for name, digest in after_run.items() if name.startswith("backups/")},
        extra=results[3:],
    )


@pytest.fixture(scope="module", autouse=True)
def scratch(tmp_path_factory):
    yield
    play(tmp_path_factory.mktemp("cleanup"), [on_host({"ansible.builtin.file": {"path": SCRATCH, "state": "absent"}})])


@pytest.fixture
def ring_dir(request):
    return f"{SCRATCH}/{request.node.name}"


def test_a_new_three_region_ring_has_one_replica_in_each_region(tmp_path, ring_dir):
    run = swift_ring(tmp_path, ring_dir, THREE_REGIONS, after=[command("python3", "-c", PLACEMENT, ring_dir, "object")])
    result = run.result
    assert result["changed"] is True, result
    assert result["rebalanced"] is True
    assert result["added"] == ["10.99.24.11:6200/d1", "10.99.24.12:6200/d1", "10.99.24.13:6200/d1"]
    assert sum(device["parts"] for device in result["devices"]) == 3 * 256
    assert (result["balance"], result["dispersion"]) == (0.0, 0.0)
    assert result["ring"] == f"{ring_dir}/object.ring.gz"
    assert run.before == {"builder": None, "ring": None}
    assert run.after["builder"] and run.after["ring"]
    assert result["backups"] == [] and run.backups == {}
    placement = json.loads(run.extra[0]["stdout"])
    assert (placement["partitions"], placement["replicas"]) == (256, 3)
    assert all(regions == [1, 2, 3] for regions in placement["regions"])


def test_a_rerun_changes_nothing(tmp_path, ring_dir):
    swift_ring(tmp_path, ring_dir, THREE_REGIONS)
    run = swift_ring(tmp_path, ring_dir, THREE_REGIONS)
    assert run.result["changed"] is False, run.result
    assert run.result["rebalanced"] is False
    assert run.after == run.before
    assert run.result["backups"] == [] and run.backups == {}


def test_check_mode_shows_a_new_device_and_writes_nothing(tmp_path, ring_dir):
    swift_ring(tmp_path, ring_dir, THREE_REGIONS, min_part_hours=0)
    four = [*THREE_REGIONS, node(4, region=1, zone=2)]
    run = swift_ring(tmp_path, ring_dir, four, min_part_hours=0, check=True, diff=True)
    result = run.result
    assert result["changed"] is True, result
    assert result["rebalanced"] is True  # would be
    assert result["added"] == ["10.99.24.14:6200/d1"]
    assert "r1z2-10.99.24.14:6200/d1 weight 100.0" in result["diff"]["after"]
    assert "10.99.24.14" not in result["diff"]["before"]
    assert result["diff"]["before"].startswith("part_power 8\nreplicas 3.0\nmin_part_hours 0\n")
    assert run.after == run.before
    assert run.backups == {}


def test_a_weight_change_rebalances_and_keeps_backups(tmp_path, ring_dir):
    swift_ring(tmp_path, ring_dir, [*THREE_REGIONS, node(4, region=1, zone=2)], min_part_hours=0)
    lighter = [*THREE_REGIONS, node(4, region=1, zone=2, weight=25)]
    run = swift_ring(tmp_path, ring_dir, lighter, min_part_hours=0)
    result = run.result
    assert result["changed"] is True and result["rebalanced"] is True, result
    assert result["updated"] == ["10.99.24.14:6200/d1"]
    assert run.after["builder"] != run.before["builder"] and run.after["ring"] != run.before["ring"]
    assert [pathlib.PurePath(path).name.split(".", 1)[1] for path in result["backups"]] == [
        "object.builder",
        "object.ring.gz",
    ]
    stamp = pathlib.PurePath(result["backups"][0]).name.split(".")[0]
    assert run.backups == {
        f"{stamp}.object.builder": run.before["builder"],
        f"{stamp}.object.ring.gz": run.before["ring"],
    }
    parts = {device["ip"]: device["parts"] for device in result["devices"]}
    assert parts["10.99.24.14"] < parts["10.99.24.11"]


def test_an_address_change_rewrites_the_ring_without_moving_partitions(tmp_path, ring_dir):
    first = swift_ring(tmp_path, ring_dir, THREE_REGIONS)
    renumbered = [node(1), node(2), node(3, ip="10.99.26.11")]
    run = swift_ring(tmp_path, ring_dir, renumbered, after=[command("python3", "-c", PLACEMENT, ring_dir, "object")])
    result = run.result
    assert result["changed"] is True and result["rebalanced"] is False, result
    assert result["updated"] == ["10.99.26.11:6200/d1"]
    assert (result["added"], result["removed"]) == ([], [])
    assert run.after["ring"] != run.before["ring"]
    assert [(dev["id"], dev["parts"]) for dev in result["devices"]] == [
        (dev["id"], dev["parts"]) for dev in first.result["devices"]
    ]
    assert json.loads(run.extra[0]["stdout"])["ips"] == ["10.99.24.11", "10.99.24.12", "10.99.26.11"]


def test_a_region_change_needs_force(tmp_path, ring_dir):
    swift_ring(tmp_path, ring_dir, THREE_REGIONS, min_part_hours=0)
    moved = [node(1), node(2), node(3, region=4)]
    refused = swift_ring(tmp_path, ring_dir, moved, min_part_hours=0)
    assert refused.result["failed"] is True
    assert refused.result["msg"] == (
        "swift ring object: devices[2].region: 10.99.24.13:6200/d1 is in region 3 in ring object, region 4 wanted: "
        "moving a device moves its partitions; set force: true to do it"
    )
    assert refused.after == refused.before and refused.backups == {}
    forced = swift_ring(tmp_path, ring_dir, moved, min_part_hours=0, force=True)
    assert forced.result["changed"] is True and forced.result["rebalanced"] is True, forced.result
    assert [device["region"] for device in forced.result["devices"]] == [1, 2, 4]


def test_a_part_power_change_needs_force(tmp_path, ring_dir):
    swift_ring(tmp_path, ring_dir, THREE_REGIONS)
    refused = swift_ring(tmp_path, ring_dir, THREE_REGIONS, part_power=9)
    assert refused.result["failed"] is True
    assert refused.result["msg"] == (
        "swift ring object: part_power: ring object has part power 8, 9 wanted: changing it rebuilds the ring from "
        "scratch and moves every partition; set force: true to do it"
    )
    assert refused.after == refused.before
    forced = swift_ring(tmp_path, ring_dir, THREE_REGIONS, part_power=9, force=True)
    assert forced.result["rebalanced"] is True, forced.result
    assert sum(device["parts"] for device in forced.result["devices"]) == 3 * 512
    assert [device["id"] for device in forced.result["devices"]] == [0, 1, 2]


def test_a_duplicate_device_is_refused_naming_both_entries(tmp_path, ring_dir):
    run = swift_ring(tmp_path, ring_dir, [*THREE_REGIONS, node(1, region=2)])
    assert run.result["failed"] is True
    assert run.result["msg"] == (
        "swift ring object: devices[3]: 10.99.24.11:6200/d1 is also devices[0]: a device is one ip, port and device name"
    )
    assert run.after == {"builder": None, "ring": None}


def test_bad_data_is_refused_with_every_problem(tmp_path, ring_dir):
    run = swift_ring(tmp_path, ring_dir, [node(1, port=70000), node(2, device="sdb/1")])
    assert run.result["failed"] is True
    # The collection's one shape of a problem; a task option has no file, line or column.
    assert run.result["problems"] == [
        {"file": None, "line": None, "column": None, "path": path, "message": message}
        for path, message in [
            ("devices[0].port", "expected 1 to 65535, got 70000"),
            ("devices[1].device", "expected a device name under /srv/node (no '/'), got 'sdb/1'"),
            ("replicas", "3 replicas need at least 3 devices with a weight above 0, 2 given"),
        ]
    ]
    assert run.result["msg"].startswith("3 problems in swift ring object:\ndevices[0].port: expected 1 to 65535")
    assert run.after == {"builder": None, "ring": None}


def test_min_part_hours_holds_back_a_rebalance_until_told(tmp_path, ring_dir):
    swift_ring(tmp_path, ring_dir, THREE_REGIONS, min_part_hours=1)
    four = [*THREE_REGIONS, node(4, region=1, zone=2)]
    held = swift_ring(tmp_path, ring_dir, four, min_part_hours=1)
    assert held.result["failed"] is True
    message = held.result["msg"]
    assert message.startswith(
        "swift ring object: ring object needs a rebalance (add 10.99.24.14:6200/d1) but its partitions may not move "
        "again for 0:5"
    ), message
    assert message.endswith(
        "min_part_hours 1): wait, or set pretend_min_part_hours_passed: true to rebalance now; nothing was changed"
    )
    assert held.after == held.before and held.backups == {}
    told = swift_ring(tmp_path, ring_dir, four, min_part_hours=1, pretend_min_part_hours_passed=True)
    assert told.result["changed"] is True and told.result["rebalanced"] is True, told.result
    assert told.result["added"] == ["10.99.24.14:6200/d1"]
    assert sum(device["parts"] for device in told.result["devices"]) == 3 * 256
