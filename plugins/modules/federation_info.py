#!/usr/bin/python
# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: federation_info
short_description: The federation description, checked, as data for playbooks
version_added: 0.1.0
author: infn.cloud developers (@infn-cloud)
description:
  - Reads a federation description, checks all of it, and returns the federation, its sites
    (with their SLAs) and their declared hosts.
  - Reads nothing but the file; run it where the file is (usually the controller).
extends_documentation_fragment:
  - infn.cloud.federation
requirements:
  - PyYAML
"""

EXAMPLES = r"""
- name: Read the federation
  infn.cloud.federation_info:
    path: "{{ inventory_dir }}/infn.federation.yml"
  delegate_to: localhost
  run_once: true
  register: federation

- name: Show the backbone sites
  ansible.builtin.debug:
    msg: "{{ federation.sites | selectattr('coupling', 'equalto', 'backbone') | map(attribute='name') }}"
"""

RETURN = r"""
federation:
  description: The federation's name, DNS domain and the service roles hosts may play.
  returned: success
  type: dict
  sample: {"name": "infn-cloud", "domain": "cloud.infn.it", "roles": ["dns_primary", "swift_proxy"]}
problems:
  description: Every problem found, in the shape RV(infn.cloud.tosca#module:problems) describes (null C(file), C(line), C(column) for an option).
  returned: failure, when the description is invalid
  type: list
  elements: dict
  sample:
    - {file: /srv/inventory/cloud.federation.yml, line: 4, column: 15, path: "sites[0].provider", message: "expected a provider"}
sites:
  description: The selected sites, in description order.
  returned: success
  type: list
  elements: dict
  sample:
    - name: cnaf
      coupling: backbone
      provider: static
      regions: [cnaf]
      sla: {priority: 10, quotas: {cores: 100}, projects: [], groups: [], flavors: [], images: [], services: []}
      hosts: [{name: cnaf-1, address: 192.0.2.11, roles: [swift_storage], region: cnaf}]
"""

from dataclasses import asdict

from ansible_collections.infn.cloud.plugins.module_utils.federation_module import FederationModule


class FederationInfo(FederationModule):
    def run(self, federation):
        return {
            "federation": {"name": federation.name, "domain": federation.domain, "roles": list(federation.roles)},
            "sites": [_site(site) for site in self.selected_sites(federation)],
        }


def _site(site):
    data = asdict(site)
    data["sla"]["quotas"] = site.sla.quotas.as_dict()
    return data


def main():
    FederationInfo()()


if __name__ == "__main__":
    main()
