#!/usr/bin/python
# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# The documentation of the infn.cloud.tosca_deploy action plugin (plugins/action/tosca_deploy.py),
# which does all the work on the controller; this file is never sent to a host.

from __future__ import annotations

DOCUMENTATION = r"""
module: tosca_deploy
short_description: Deploy a TOSCA service on the best site of the federation, or undeploy it
version_added: 0.1.0
author: infn.cloud developers (@infn-cloud)
description:
  - Compiles a TOSCA service template (as M(infn.cloud.tosca) does), ranks the sites of the federation that can take
    it, creates its hosts and volumes on the first site, and configures them by running the compiled playbook through
    ansible-runner. Each node's progress is shown as it happens and kept in the deployment's state document.
  - "Site selection: a site is a candidate when its SLA admits O(project), offers the services the template needs
    (V(vm) for compute nodes), has an image for each host's C(os) capability and a flavor for its C(host) capability,
    and has the quota left for all of it (M(infn.cloud.site_info)); a placement policy of the template
    (C(tosca.policies.Placement) or INDIGO's C(SlaPlacement) with C(sla_id)) names the site or SLA it must be.
    Candidates are ranked by SLA priority (lower first), then by the share of their tightest quota left free, then
    by how fast they answered. RV(ranking) gives every site its rank or the reason it is not a candidate."
  - "Failover: when creating or configuring fails on a site, everything made there is removed (and checked gone)
    and the next site is tried, up to O(max_attempts) sites, each within O(site_timeout). When all fail, the error
    names every site tried with its own cause."
  - Running the task again with the same O(name) changes nothing when the service is complete and its compiled
    playbook is the same; it resumes an interrupted deployment on the site it was on, without new hosts; with a
    changed template or inputs it converges the hosts and runs the configuration again there.
  - O(state=absent) runs the nodes' C(Standard.stop) and C(Standard.delete) operations, dependents first, then removes
    the hosts and volumes from every site the deployment touched.
  - Runs on the controller only, like M(infn.cloud.tosca).
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Compiles and ranks the sites, returns the site it would use; creates, configures and removes nothing.
  diff_mode:
    support: full
    details: Shows the deployment's status before and after.
  platform:
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
options:
  name:
    description:
      - The deployment's name, 1 to 40 lowercase letters, digits and C(-). Hosts and volumes are named and labelled
        with it; its state is C(<state_dir>/<name>.json).
    type: str
    required: true
  state:
    description:
      - V(present) deploys (or resumes, or checks) the service; V(absent) undeploys it.
    type: str
    choices: [absent, present]
    default: present
  template:
    description:
      - The service template (YAML, CSAR or CSAR folder). Required with O(state=present).
      - A relative path is looked for as M(infn.cloud.tosca) looks for O(infn.cloud.tosca#module:src).
    type: path
  inputs:
    description: Values for the template's inputs. Every input must get a value or have a default.
    type: dict
    default: {}
  project:
    description:
      - The project the service is deployed for; sites whose SLA lists projects admit only those.
      - Required with O(state=present).
    type: str
  federation:
    description: The federation description (C(*.federation.yml), see C(docs/federation.md)) whose sites are candidates.
    type: path
    required: true
  sites:
    description: Only these sites are candidates (they are still ranked). Empty for every site.
    type: list
    elements: str
    default: []
  max_attempts:
    description: How many sites are tried at most before the deployment fails.
    type: int
    default: 3
  site_timeout:
    description: Seconds one site may take to create and configure the service before it counts as failed.
    type: int
    default: 1800
  state_dir:
    description:
      - The folder of the deployments' state documents and working files.
      - Defaults to C($XDG_DATA_HOME/infn.cloud/deployments), or C(~/.local/share/infn.cloud/deployments).
    type: path
  role_registry:
    description: Roles that deploy node types, as in M(infn.cloud.tosca).
    type: dict
    default: {}
  import_map:
    description: Local copies of imported URLs, as in M(infn.cloud.tosca).
    type: dict
    default: {}
  allow_network:
    description: Whether imports by URL that O(import_map) does not map may be downloaded, as in M(infn.cloud.tosca).
    type: bool
    default: false
notes:
  - The state document's format is in C(docs/paas.md) of the collection; M(infn.cloud.deployment_info) reads it.
  - Two runs on one deployment cannot interleave; the second fails at once, naming the lock.
  - The compiled playbook is run with the controller's C(ansible-playbook) and its collections path, on an inventory
    of the created hosts (group C(tosca_<compute node>)), with the site's C(vars) and C(infn_cloud_site).
  - Every run of it is also given C(infn_cloud_deployment) (the name) and C(infn_cloud_secrets_dir), the collection's
    secrets folder (the variable when set, else C(<folder of the federation description>.secrets)), where the
    service's operations keep what they generate, such as passwords.
seealso:
  - module: infn.cloud.tosca
  - module: infn.cloud.deployment_info
  - module: infn.cloud.site_info
"""

EXAMPLES = r"""
- name: Deploy the web service for project cms on the best site
  infn.cloud.tosca_deploy:
    name: cms-web
    template: services/web_db.yaml
    project: cms
    federation: "{{ inventory_dir }}/local.federation.yml"
    inputs:
      web_port: 8080
  register: deployed

- name: Show where it went and its URL
  ansible.builtin.debug:
    msg: "{{ deployed.site }}: {{ deployed.outputs.url }}"

- name: Undeploy it
  infn.cloud.tosca_deploy:
    name: cms-web
    state: absent
    federation: "{{ inventory_dir }}/local.federation.yml"
"""

RETURN = r"""
problems:
  description: Every problem found, in the shape RV(infn.cloud.tosca#module:problems) describes (null C(file), C(line), C(column) for an option).
  returned: failure, when an option, the federation description or the template is wrong
  type: list
  elements: dict
  sample: [{file: /srv/templates/web.yaml, line: 4, column: 16, path: topology_template.node_templates.vm.type, message: "unknown node type"}]
status:
  description: The deployment's status, C(CREATE_COMPLETE), C(CREATE_FAILED), C(DELETE_COMPLETE), ...
  returned: always
  type: str
  sample: CREATE_COMPLETE
site:
  description: The site the service runs on (none once undeployed or failed).
  returned: always
  type: str
  sample: cnaf
outputs:
  description: The template's outputs, evaluated on the deployed service.
  returned: always
  type: dict
  sample: {url: "http://10.99.10.254:8080/"}
ranking:
  description: Every site, candidates first in the order they are tried, each with its C(rank) (candidates only) and the
    C(reason) for its rank or for not being a candidate.
  returned: O(state=present)
  type: list
  elements: dict
  sample:
    - {site: cnaf, provider: podman, priority: 10, eligible: true, rank: 1, free_share: 0.5,
       reason: "SLA priority 10; leaves 50% of its instances free; answered in 0.04 s"}
    - {site: recas, provider: openstack, priority: 20, eligible: false, reason: "its SLA does not admit project 'cms' (only atlas)"}
attempts:
  description: Each site tried, with C(status), C(phase) (provision or configure), C(error), and whether what was made
    there was removed (C(cleaned)).
  returned: always
  type: list
  elements: dict
nodes:
  description: Each node's state (initial, creating, created, configuring, configured, starting, started, error,
    deleted), and for hosts their name, address and site.
  returned: always
  type: dict
deployment:
  description: The whole state document.
  returned: always
  type: dict
state_file:
  description: The path of the state document.
  returned: always
  type: str
  sample: /root/.local/share/infn.cloud/deployments/cms-web.json
"""

from ansible.module_utils.basic import AnsibleModule

# The action plugin validates its options with these, so the documentation above, checked against
# them by ansible-test, is what runs.
ARGUMENT_SPEC = {
    "allow_network": {"type": "bool", "default": False},
    "federation": {"type": "path", "required": True},
    "import_map": {"type": "dict", "default": {}},
    "inputs": {"type": "dict", "default": {}},
    "max_attempts": {"type": "int", "default": 3},
    "name": {"type": "str", "required": True},
    "project": {"type": "str"},
    "role_registry": {"type": "dict", "default": {}},
    "site_timeout": {"type": "int", "default": 1800},
    "sites": {"type": "list", "elements": "str", "default": []},
    "state": {"type": "str", "choices": ["absent", "present"], "default": "present"},
    "state_dir": {"type": "path"},
    "template": {"type": "path"},
}
REQUIRED_IF = [("state", "present", ["template", "project"])]


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, supports_check_mode=True)
    module.fail_json(
        msg="infn.cloud.tosca_deploy runs through its action plugin, on the controller: it cannot run as a module on a host"
    )


if __name__ == "__main__":
    main()
