#!/usr/bin/python
# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swift_ring
short_description: One OpenStack Swift ring declared as data, built with Swift's own ring builder
version_added: 0.1.0
author: infn.cloud developers (@infn-cloud)
description:
  - Makes the ring builder C(<path>/<name>.builder) hold exactly the given settings and devices,
    and C(<path>/<name>.ring.gz) match it, on a ring host where Swift's Python package is installed.
  - Partitions are placed by Swift's own C(swift.common.ring.RingBuilder); the module never places one.
  - Everything is checked first and every problem is reported at once, each naming the field
    (for example C(devices[2].port)) and what was expected; nothing is written then.
  - A device is its O(devices[].ip), O(devices[].port) and O(devices[].device). Devices in the
    builder that are not in O(devices) are removed. A listed device that is not in the builder is
    taken as the same disk at a new address, and updated in place, when exactly one device about
    to be removed has its region, zone and device name and differs only in ip or only in port;
    otherwise it is added.
  - The ring is rebalanced only when placement changes (a new builder, devices added or removed,
    a weight, region or zone, O(part_power) or O(replicas)). A change of address, replication
    address or O(devices[].meta) only rewrites the ring.gz. A ring.gz that is missing or does not
    match the builder is rewritten even when the builder does not change.
  - Before any write, the builder and ring.gz there are copied to O(backup_dir) as
    C(<unix-time>.<name>.builder) and C(<unix-time>.<name>.ring.gz), as C(swift-ring-builder) names
    its backups. Files are replaced atomically (a temporary file beside them, then a rename).
attributes:
  check_mode:
    support: full
    description: Reads the builder and reports what would change and whether a rebalance would run; writes nothing.
  diff_mode:
    support: full
    description: The ring as text before and after, its settings and one line per device.
options:
  backup_dir:
    description: Folder of the backups, made when first needed. Defaults to C(<path>/backups).
    type: path
  devices:
    description: Every device of the ring; the builder ends with exactly these.
    type: list
    elements: dict
    required: true
    suboptions:
      device:
        description: The device's name under C(/srv/node) on its storage node (no C(/)).
        type: str
        required: true
      ip:
        description: Address (or hostname) of the storage node's server for this ring.
        type: str
        required: true
      meta:
        description: Free text kept with the device (for example the disk's serial).
        type: str
        default: ''
      port:
        description: Port of the storage node's server for this ring (by convention 6200 object, 6201 container, 6202 account).
        type: int
        required: true
      region:
        description:
          - Region of the device, from 1. Changing it moves partitions and needs O(force=true).
        type: int
        required: true
      replication_ip:
        description: Address the replicators use. Defaults to O(devices[].ip).
        type: str
      replication_port:
        description: Port the replicators use. Defaults to O(devices[].port).
        type: int
      weight:
        description: Relative share of the partitions for this device, 0 or more (0 drains it).
        type: float
        default: 100
      zone:
        description:
          - Zone of the device in its region, from 0. Changing it moves partitions and needs O(force=true).
        type: int
        required: true
  force:
    description:
      - Allows the changes that move much data or cannot be undone.
      - A new O(part_power) rebuilds the ring from scratch with the same devices and B(every partition moves).
      - A new O(devices[].region) or O(devices[].zone) moves that device's partitions (the builder's own
        C(set_dev_region) and C(set_dev_zone), then a rebalance).
      - A ring.gz without its builder is replaced by a new ring.
      - Without it, such a change fails naming the ring, the field, the old and new values, and nothing is written.
    type: bool
    default: false
  min_part_hours:
    description:
      - Hours before a partition moved by a rebalance may move again.
      - A change that needs a rebalance before that time has passed since the last one fails,
        saying how long is left, unless O(pretend_min_part_hours_passed=true).
    type: int
    default: 1
  name:
    description:
      - The ring, C(account), C(container), C(object) or C(object-<N>) (the object ring of
        storage policy N, from 1).
    type: str
    required: true
  part_power:
    description: The ring has 2^part_power partitions, 1 to 32. Changing it needs O(force=true).
    type: int
    required: true
  path:
    description: Folder of C(<name>.builder) and C(<name>.ring.gz); it must exist.
    type: path
    default: /etc/swift
  pretend_min_part_hours_passed:
    description:
      - Rebalance even when O(min_part_hours) have not passed since the last rebalance
        (as C(swift-ring-builder pretend_min_part_hours_passed) does). Partitions may then move twice
        before replication has settled them.
    type: bool
    default: false
  replicas:
    description: Replicas of each partition, 1 or more (a fraction gives some partitions one more).
    type: float
    default: 3
notes:
  - The builder is the ring's source of truth; keep it, and its backups, on one ring host and copy
    the ring.gz files to every Swift node.
requirements:
  - Swift's Python package on the host (Debian C(python3-swift), installed with C(swift)).
"""

EXAMPLES = r"""
- name: Object ring with one replica in each of three regions
  infn.cloud.swift_ring:
    name: object
    part_power: 10
    replicas: 3
    min_part_hours: 1
    devices:
      - {region: 1, zone: 1, ip: 10.99.24.11, port: 6200, device: d1}
      - {region: 2, zone: 1, ip: 10.99.24.12, port: 6200, device: d1}
      - {region: 3, zone: 1, ip: 10.99.24.13, port: 6200, device: d1, weight: 50}

- name: Account and container rings on the same disks
  infn.cloud.swift_ring:
    name: "{{ item.name }}"
    part_power: 8
    devices: "{{ swift_disks | map('combine', {'port': item.port}) }}"
  loop:
    - {name: account, port: 6202}
    - {name: container, port: 6201}

- name: Move a device to another zone now, though the last rebalance was less than min_part_hours ago
  infn.cloud.swift_ring:
    name: object
    part_power: 10
    force: true
    pretend_min_part_hours_passed: true
    devices:
      - {region: 1, zone: 2, ip: 10.99.24.11, port: 6200, device: d1}
      - {region: 2, zone: 1, ip: 10.99.24.12, port: 6200, device: d1}
      - {region: 3, zone: 1, ip: 10.99.24.13, port: 6200, device: d1}
"""

RETURN = r"""
added:
  description: The devices added, as C(ip:port/device).
  returned: success
  type: list
  elements: str
  sample: ["10.99.24.14:6200/d1"]
backups:
  description: The backups written before the builder or ring.gz were replaced.
  returned: success
  type: list
  elements: str
  sample: [/etc/swift/backups/1764000000.object.builder, /etc/swift/backups/1764000000.object.ring.gz]
balance:
  description:
    - The ring's balance after the run, as C(swift-ring-builder) shows it (percent off the wanted
      share of the worst device); null for a ring not built yet (check mode).
  returned: success
  type: float
  sample: 0.39
builder:
  description: Path of the builder file.
  returned: success
  type: str
  sample: /etc/swift/object.builder
devices:
  description:
    - The devices of the builder after the run. In check mode, the devices as they would be, with
      the partitions they have now (null id for a device to be added).
  returned: success
  type: list
  elements: dict
  sample:
    - id: 0
      region: 1
      zone: 1
      ip: 10.99.24.11
      port: 6200
      device: d1
      weight: 100.0
      replication_ip: 10.99.24.11
      replication_port: 6200
      meta: ''
      parts: 256
dispersion:
  description: The ring's dispersion after the run (0 when every partition is as spread as it can be); null before the first rebalance.
  returned: success
  type: float
  sample: 0.0
problems:
  description: Every problem found, in the shape RV(infn.cloud.tosca#module:problems) describes (null C(file), C(line), C(column) for an option).
  returned: failure, when an option is wrong
  type: list
  elements: dict
  sample: [{file: null, line: null, column: null, path: "devices[0].port", message: "expected 1 to 65535, got 70000"}]
rebalanced:
  description: Whether the ring was rebalanced (in check mode, whether it would be).
  returned: success
  type: bool
  sample: true
removed:
  description: The devices removed, as C(ip:port/device).
  returned: success
  type: list
  elements: str
  sample: []
ring:
  description: Path of the ring file the Swift daemons read.
  returned: success
  type: str
  sample: /etc/swift/object.ring.gz
updated:
  description: The devices changed in place (weight, region, zone, address, replication address or meta), as C(ip:port/device) after the change.
  returned: success
  type: list
  elements: str
  sample: ["10.99.24.13:6200/d1"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.infn.cloud.plugins.module_utils.swift_ring import RingError, manage_ring

DEVICE_SPEC = {
    "device": {"type": "str", "required": True},
    "ip": {"type": "str", "required": True},
    "meta": {"type": "str", "default": ""},
    "port": {"type": "int", "required": True},
    "region": {"type": "int", "required": True},
    "replication_ip": {"type": "str"},
    "replication_port": {"type": "int"},
    "weight": {"type": "float", "default": 100},
    "zone": {"type": "int", "required": True},
}


def main():
    module = AnsibleModule(
        argument_spec={
            "backup_dir": {"type": "path"},
            "devices": {"type": "list", "elements": "dict", "required": True, "options": DEVICE_SPEC},
            "force": {"type": "bool", "default": False},
            "min_part_hours": {"type": "int", "default": 1},
            "name": {"type": "str", "required": True},
            "part_power": {"type": "int", "required": True},
            "path": {"type": "path", "default": "/etc/swift"},
            "pretend_min_part_hours_passed": {"type": "bool", "default": False},
            "replicas": {"type": "float", "default": 3},
        },
        supports_check_mode=True,
    )
    try:
        result = manage_ring(module.params, check_mode=module.check_mode, replace=module.atomic_move)
    except RingError as error:
        module.fail_json(**error.result())
    diff = result.pop("diff")
    if module._diff and result["changed"]:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
