#!/usr/bin/python
# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: site_info
short_description: Reachability, quotas, usage and free capacity of the federation's sites
version_added: 0.1.0
author: infn.cloud developers (@infn-cloud)
description:
  - Asks every selected site, concurrently and each within its own C(timeout), whether it
    answers and how much it allows and uses, in the units of the SLA quotas (cores, ram_gb,
    instances, volume_gb, public_ips, gpus).
  - C(openstack) sites through openstacksdk (compute and volume limits, floating IP quota of
    the cloud's project); C(podman) sites from the local engine; C(static) sites report their
    SLA quotas and count their declared hosts.
  - Limits are the narrower of what the site allows and what its SLA grants.
  - A site that does not answer is reported with C(reachable=false) and the reason; the task
    does not fail for it.
extends_documentation_fragment:
  - infn.cloud.federation
requirements:
  - PyYAML
  - openstacksdk (for C(openstack) sites)
  - podman (for C(podman) sites)
"""

EXAMPLES = r"""
- name: Ask every site for its capacity
  infn.cloud.site_info:
    path: "{{ inventory_dir }}/infn.federation.yml"
  delegate_to: localhost
  run_once: true
  register: capacity

- name: Stop when a backbone site is down
  ansible.builtin.assert:
    that: item.reachable
    fail_msg: "{{ item.name }}: {{ item.reason }}"
  loop: "{{ capacity.sites | selectattr('coupling', 'equalto', 'backbone') }}"
  loop_control:
    label: "{{ item.name }}"
"""

RETURN = r"""
problems:
  description: Every problem found, in the shape RV(infn.cloud.tosca#module:problems) describes (null C(file), C(line), C(column) for an option).
  returned: failure, when the description is invalid
  type: list
  elements: dict
  sample:
    - {file: /srv/inventory/cloud.federation.yml, line: 4, column: 15, path: "sites[0].provider", message: "expected a provider"}
sites:
  description: One entry per selected site, in description order.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Site name.
      type: str
    provider:
      description: Provider type.
      type: str
    coupling:
      description: C(backbone) or C(federated).
      type: str
    priority:
      description: The SLA priority (lower is preferred).
      type: int
    reachable:
      description: Whether the site answered.
      type: bool
    reason:
      description: Why the site is not reachable (empty when it is).
      type: str
    limits:
      description: What may be used, per quota key.
      type: dict
    usage:
      description: What is used, per quota key.
      type: dict
    free:
      description: Limits minus usage, never below zero, per quota key with a limit.
      type: dict
    seconds:
      description: How long the site took to answer.
      type: float
  sample:
    - name: recas-bari
      provider: openstack
      coupling: federated
      priority: 20
      reachable: true
      reason: ""
      limits: {cores: 20, ram_gb: 50.0, instances: 10, volume_gb: 1000, public_ips: 50}
      usage: {cores: 2, ram_gb: 1.0, instances: 2, volume_gb: 0, public_ips: 1}
      free: {cores: 18, ram_gb: 49.0, instances: 8, volume_gb: 1000, public_ips: 49}
      seconds: 0.41
"""

from ansible_collections.infn.cloud.plugins.module_utils.federation_module import FederationModule
from ansible_collections.infn.cloud.plugins.module_utils.providers.base import Capacity
from ansible_collections.infn.cloud.plugins.module_utils.providers.registry import provider_for
from ansible_collections.infn.cloud.plugins.module_utils.sites import query_sites


class SiteInfo(FederationModule):
    def run(self, federation):
        sites = self.selected_sites(federation)
        jobs = [(site.name, site.timeout, provider_for(site, federation.name).capacity) for site in sites]
        results = query_sites(jobs)
        report = []
        for site in sites:
            result = results[site.name]
            capacity = result.value or Capacity(reachable=False, reason=result.error, limits=site.sla.quotas.as_dict())
            report.append(
                {
                    "name": site.name,
                    "provider": site.provider,
                    "coupling": site.coupling,
                    "priority": site.sla.priority,
                    **capacity.as_dict(),
                    "seconds": round(result.seconds, 3),
                }
            )
        return {"sites": report}


def main():
    SiteInfo()()


if __name__ == "__main__":
    main()
