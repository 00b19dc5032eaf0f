# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: podman_site_layout
short_description: The networks and containers that make the podman sites of a federation
version_added: 0.1.0
author: infn.cloud developers (@infn-cloud)
description:
  - Turns the C(sites) returned by M(infn.cloud.federation_info) into the input of the
    C(infn.cloud.podman_site) role - one network per podman site, one container per declared
    host - with the labels the C(podman) provider discovers them by.
options:
  _input:
    description: The C(sites) list of M(infn.cloud.federation_info).
    type: list
    elements: dict
    required: true
  federation:
    description: The federation's name (the C(infn.cloud.federation) label of every container).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Bring up the podman sites of the federation
  ansible.builtin.include_role:
    name: infn.cloud.podman_site
  vars:
    _layout: "{{ federation.sites | infn.cloud.podman_site_layout(federation.federation.name) }}"
    podman_site_networks: "{{ _layout.networks }}"
    podman_site_hosts: "{{ _layout.hosts }}"
"""

RETURN = r"""
_value:
  description: C(networks) (name, subnet) and C(hosts) (name, hostname, network, ip, image, labels).
  type: dict
"""

from ansible_collections.infn.cloud.plugins.module_utils.providers.base import (
    LABEL_FEDERATION,
    LABEL_HOST,
    LABEL_ROLES,
    LABEL_SITE,
)


def podman_site_layout(sites, federation):
    networks, hosts = [], []
    for site in sites:
        podman = site.get("podman")
        if site.get("provider") != "podman" or not podman:
            continue
        networks.append({"name": podman["network"], "subnet": podman["subnet"]})
        for host in site.get("hosts", []):
            entry = {
                "name": host["container"],
                "hostname": host["name"],
                "network": podman["network"],
                "image": podman["image"],
                "labels": {
                    LABEL_FEDERATION: federation,
                    LABEL_SITE: site["name"],
                    LABEL_HOST: host["name"],
                    LABEL_ROLES: ",".join(host.get("roles", [])),
                },
            }
            if host.get("address"):
                entry["ip"] = host["address"]
            hosts.append(entry)
    return {"networks": networks, "hosts": hosts}


class FilterModule:
    def filters(self):
        return {"podman_site_layout": podman_site_layout}
