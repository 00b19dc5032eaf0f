# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: swift_rings
short_description: The rings of a Swift cluster, declared for infn.cloud.swift_ring
version_added: 0.1.0
author: infn.cloud developers (@infn-cloud)
description:
  - Turns the storage nodes of a cluster and its storage policies into one ring declaration per
    ring - C(account), C(container), and C(object) (policy 0) or C(object-<index>) per storage
    policy - each with every device of every node on that ring's port, ready for
    M(infn.cloud.swift_ring).
options:
  _input:
    description: Storage nodes, each with C(region), C(zone), C(address), C(replication_address) and
      C(devices) (a list of C(name) and C(weight)).
    type: list
    elements: dict
    required: true
  policies:
    description: Storage policies (C(index), optional C(part_power) and C(replicas)).
    type: list
    elements: dict
    required: true
  part_power:
    description: Part power of the rings that do not set their own.
    type: int
    required: true
  replicas:
    description: Replicas of the rings that do not set their own.
    type: float
    required: true
  ports:
    description: Ports of the C(account), C(container) and C(object) servers.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Build the rings
  infn.cloud.swift_ring:
    name: "{{ item.name }}"
    part_power: "{{ item.part_power }}"
    replicas: "{{ item.replicas }}"
    devices: "{{ item.devices }}"
  loop: >-
    {{ groups.swift_storage | map('extract', hostvars, '_swift_node')
       | infn.cloud.swift_rings(swift_storage_policies, 10, 3, {'account': 6202, 'container': 6201, 'object': 6200}) }}
"""

RETURN = r"""
_value:
  description: One entry per ring - C(name), C(port), C(part_power), C(replicas), C(devices).
  type: list
  elements: dict
"""


def ring_name(policy_index):
    """Swift's file name for a policy's object ring: policy 0 keeps the legacy `object`."""
    return "object" if int(policy_index) == 0 else f"object-{int(policy_index)}"


def swift_rings(nodes, policies, part_power, replicas, ports):
    def devices(port):
        return [
            {
                "region": int(node["region"]),
                "zone": int(node["zone"]),
                "ip": node["address"],
                "port": int(port),
                "replication_ip": node.get("replication_address") or node["address"],
                "replication_port": int(port),
                "device": device["name"],
                "weight": float(device.get("weight", 100)),
            }
            for node in nodes
            for device in node.get("devices") or []
        ]

    def ring(name, kind, policy=None):
        policy = policy or {}
        return {
            "name": name,
            "port": int(ports[kind]),
            "part_power": int(policy.get("part_power") or part_power),
            "replicas": float(policy.get("replicas") or replicas),
            "devices": devices(ports[kind]),
        }

    rings = [ring("account", "account"), ring("container", "container")]
    rings += [
        ring(ring_name(policy["index"]), "object", policy) for policy in sorted(policies, key=lambda p: int(p["index"]))
    ]
    return rings


class FilterModule:
    def filters(self):
        return {"swift_rings": swift_rings}
