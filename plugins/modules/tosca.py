#!/usr/bin/python
# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# The documentation of the infn.cloud.tosca action plugin (plugins/action/tosca.py), which does
# all the work on the controller; this file is never sent to a host.

from __future__ import annotations

DOCUMENTATION = r"""
module: tosca
short_description: Validate a TOSCA service template, or compile it into a playbook
version_added: 0.1.0
author: infn.cloud developers (@infn-cloud)
description:
  - Reads a TOSCA service template (Simple Profile 1.0 to 1.3, or 2.0) with everything it imports, and checks
    the types it uses and defines, its node templates, requirements, inputs and functions.
  - With O(state=validated), reports the template's node templates, inputs and outputs. Never changes anything.
  - With O(state=compiled), also writes a playbook C(<name>.yml), its vars file C(<name>.vars.yml) and the undeploy
    playbook C(<name>.undeploy.yml) into O(dest),
    with the nodes in dependency order, one play per lifecycle operation that has an implementation, on the inventory
    group C(tosca_<compute node>) of the Compute node hosting it (or on C(localhost)). Run that playbook with
    C(ansible-playbook); the hosts, resources, operations and run-time values it needs are returned.
  - "A template with mistakes fails with every problem at once, each as C(file:line:column: path: message)
    in RV(msg) and as data in RV(problems)."
  - Runs on the controller only, like M(ansible.builtin.include_vars); nothing is sent to the host the task runs for,
    so a play on C(localhost) is the usual place for it.
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: With O(state=compiled), the plan is compiled in memory and compared with O(dest), which is left as it
      is (nothing is written, a CSAR is not unpacked).
  diff_mode:
    support: full
    details: With O(state=compiled), shows how the playbook and the vars file in O(dest) change.
  platform:
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
options:
  allow_network:
    description:
      - Whether an import by URL that O(import_map) does not send to a local file may be downloaded.
      - Without it such an import is a problem of the template, so that validating and compiling never depend
        on the network.
    type: bool
    default: false
  dest:
    description:
      - The folder the compiled playbook and its vars file are written into, created if missing.
      - Required with O(state=compiled). A relative path is relative to the playbook's folder.
      - Implementations the template names (playbooks, scripts) are referred to by their path relative to this
        folder, so keep the folder where it is, or compile again after moving it.
    type: path
  import_map:
    description:
      - Local copies of imported URLs, a mapping from a URL, or a URL prefix ending in C(/), to a local file or
        folder. The longest matching prefix wins; the rest of the URL is appended to its folder.
      - Implementations named by URL are looked up here too.
      - A relative path is relative to the playbook's folder.
    type: dict
    default: {}
  inputs:
    description:
      - Values for the template's inputs, by input name; each is checked against the input's type and constraints.
      - An input without a value or default is left to run time, where the compiled playbook asks for it as the
        extra var C(tosca_input_<name>) (see RV(unresolved)).
    type: dict
    default: {}
  name:
    description:
      - The base name of the compiled files, C(<name>.yml) and C(<name>.vars.yml), made of letters, digits, C(_), C(.) and C(-).
      - Defaults to the template's file name without its extension.
    type: str
  role_registry:
    description:
      - Roles that deploy node types, a mapping from a node type to a role's fully qualified name, or to
        a mapping with C(role) and C(vars) to give the role variables.
      - A node whose type, or its nearest ancestor type, is in the registry is deployed by that role, in place of
        the implementations of its lifecycle operations.
    type: dict
    default: {}
  src:
    description:
      - The service template, a YAML file, a CSAR (a C(.zip) or C(.csar) file) or a folder holding
        C(TOSCA-Metadata/TOSCA.meta).
      - A relative path is looked for as M(ansible.builtin.template) looks for its source, in the role's or the
        playbook's C(files) folder and then relative to the role or the playbook.
    type: path
    required: true
  state:
    description:
      - V(validated) only checks the template.
      - V(compiled) checks it and writes the playbook and its vars file into O(dest).
    type: str
    choices: [compiled, validated]
    default: validated
notes:
  - Problems that do not stop the template, such as a key written twice in a mapping, are shown as Ansible warnings
    and returned in RV(template_warnings).
  - C(changed) is true only when the playbook or the vars file in O(dest) changes; compiling the same template
    with the same options again reports no change.
  - Running the compiled playbook from a playbook with M(ansible.builtin.import_playbook) is not possible, because
    its path is known only once this task has run; run it with C(ansible-playbook) instead.
seealso:
  - name: TOSCA Simple Profile in YAML 1.3
    description: The language of the templates.
    link: https://docs.oasis-open.org/tosca/TOSCA-Simple-Profile-YAML/v1.3/TOSCA-Simple-Profile-YAML-v1.3.html
"""

EXAMPLES = r"""
- name: Validate an INDIGO template with the custom types read from a local copy
  infn.cloud.tosca:
    src: templates/jupyterhub.yaml
    import_map:
      https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml: "{{ playbook_dir }}/tosca-types/custom_types.yaml"
  register: checked

- name: Compile it, with its inputs and a role for the web servers
  infn.cloud.tosca:
    src: templates/jupyterhub.yaml
    state: compiled
    dest: "{{ playbook_dir }}/../build/tosca"
    name: jupyterhub
    inputs:
      num_cpus: 4
      mem_size: 8 GB
    import_map:
      https://raw.githubusercontent.com/indigo-dc/tosca-types/master/: "{{ playbook_dir }}/tosca-types/"
    role_registry:
      tosca.nodes.WebServer.Apache: infn.cloud.apache
      tosca.nodes.indigo.Jupyter: {role: infn.cloud.jupyterhub, vars: {jupyterhub_port: 8000}}
  register: plan
# Then, from the shell, on an inventory with the groups of plan.hosts (tosca_<node>):
#   ansible-playbook -i inventory build/tosca/jupyterhub.yml

- name: Show what the compiled playbook needs at run time
  ansible.builtin.debug:
    msg: "{{ plan.unresolved }}"
"""

RETURN = r"""
groups:
  description: The template's groups, for the orchestrator.
  returned: O(state=compiled), success
  type: list
  elements: dict
  contains:
    members:
      description: The node templates in the group.
      type: list
      elements: str
      sample: [server, app]
    name:
      description: The group's name.
      type: str
      sample: web
    properties:
      description: The group's properties.
      type: dict
      sample: {}
    type:
      description: The group's type.
      type: str
      sample: tosca.groups.Root
hosts:
  description:
    - The Compute nodes to provision, in dependency order, each with the inventory group its operations run on
      and what its host needs.
  returned: O(state=compiled), success
  type: list
  elements: dict
  contains:
    capabilities:
      description: The properties of the node's capabilities that the template sets, with their defaults, by capability.
      type: dict
      sample: {host: {num_cpus: 2, mem_size: 4 GB}, os: {distribution: debian}}
    cores:
      description: The cores the host needs (the host capability's C(num_cpus), at least 1).
      type: int
      sample: 2
    gpus:
      description: The GPUs the host needs (C(num_gpus)).
      type: int
      sample: 0
    os:
      description: What the image must be, from the os capability (C(type), C(distribution), C(version), C(architecture), C(image)).
      type: dict
      sample: {type: linux, distribution: debian}
    public:
      description: Whether the host needs a public address (the endpoint capability's C(network_name) is C(PUBLIC)).
      type: bool
      sample: false
    ram_gb:
      description: The memory the host needs, in GiB (C(mem_size); 1 when not given or known only at run time).
      type: float
      sample: 3.725
    group:
      description: The inventory group of the host, C(tosca_<node>).
      type: str
      sample: tosca_server
    name:
      description: The node template's name.
      type: str
      sample: server
    properties:
      description: The node's properties.
      type: dict
      sample: {}
    type:
      description: The node's type.
      type: str
      sample: tosca.nodes.Compute
inputs:
  description: The template's inputs, in the template's order.
  returned: success
  type: list
  elements: dict
  contains:
    constraints:
      description: Its constraints, each as written.
      type: list
      elements: str
      sample: ["in_range: [1, 64]"]
    default:
      description: Its default (null when it has none, see RV(inputs[].has_default)).
      type: raw
      sample: 2
    description:
      description: Its description.
      type: str
      sample: Cores of the server
    has_default:
      description: Whether it has a default.
      type: bool
      sample: true
    name:
      description: The input's name.
      type: str
      sample: cpus
    required:
      description: Whether the template declares it required.
      type: bool
      sample: true
    type:
      description: Its type.
      type: str
      sample: integer
    value_needed:
      description:
        - Whether a value must still be given in O(inputs) (or at run time, C(-e tosca_input_<name>=...)).
        - With O(state=compiled), the inputs the template reads that have no value and no default; with
          O(state=validated), every required input with no value and no default.
      type: bool
      sample: false
levels:
  description:
    - The node templates in groups of independent ones, each group needing only the groups before it.
  returned: O(state=compiled), success
  type: list
  elements: list
  sample: [[server], [web]]
msg:
  description:
    - "Why the task failed. For a template with mistakes, how many, then one line per problem,
      C(file:line:column: path: message)."
  returned: failure
  type: str
  sample: "2 problems in /srv/templates/web.yaml:\n/srv/templates/web.yaml:9:13: topology_template.node_templates.server.type:
    unknown node type 'tosca.nodes.Compte' (did you mean 'tosca.nodes.Compute'?)\n..."
name:
  description: The base name of the compiled files.
  returned: O(state=compiled), success
  type: str
  sample: web
node_order:
  description: The node templates in the order the playbook deploys them, every requirement's target before its source.
  returned: O(state=compiled), success
  type: list
  elements: str
  sample: [server, web]
nodes:
  description: The template's node templates, in the template's order.
  returned: O(state=validated), success
  type: list
  elements: dict
  contains:
    name:
      description: The node template's name.
      type: str
      sample: web
    type:
      description: Its node type.
      type: str
      sample: tosca.nodes.SoftwareComponent
operations:
  description: The lifecycle operations the playbook runs, in order.
  returned: O(state=compiled), success
  type: list
  elements: dict
  contains:
    hosts:
      description: Where the operation runs, an inventory group or C(localhost).
      type: str
      sample: tosca_server
    implementation:
      description: The implementation as the template names it, or the registry entry that gave the role.
      type: str
      sample: playbooks/install.yml
    interface:
      description: The interface of the operation.
      type: str
      sample: Standard
    kind:
      description: How it runs, V(playbook), V(script), V(role), or V(remote) for a URL that could not be resolved
        (the play then fails with a message saying so).
      type: str
      sample: playbook
    node:
      description: The node template.
      type: str
      sample: web
    operation:
      description: The operation, V(create), V(configure) or V(start).
      type: str
      sample: create
outputs:
  description: The names of the template's outputs; the compiled playbook shows their values and keeps them as stats.
  returned: success
  type: list
  elements: str
  sample: [address]
playbook:
  description: The compiled playbook, C(<dest>/<name>.yml).
  returned: O(state=compiled), success
  type: str
  sample: /srv/build/tosca/web.yml
policies:
  description: The template's policies (placement, scaling), for the orchestrator's choice of site.
  returned: O(state=compiled), success
  type: list
  elements: dict
  contains:
    name:
      description: The policy's name.
      type: str
      sample: deploy_on_cloudid
    properties:
      description: The policy's properties.
      type: dict
      sample: {sla_id: 4401ac5dc8cfbbb737b0a02575ee53f6}
    targets:
      description: The node templates or groups it applies to.
      type: list
      elements: str
      sample: [server]
    type:
      description: The policy's type.
      type: str
      sample: tosca.policies.indigo.SlaPlacement
problems:
  description:
    - Every problem found, in the collection's one shape, in file and position order; C(msg) lists them too.
    - A problem with a task option has no C(file), C(line) or C(column) (null), and its C(path) is the option.
  returned: failure, when the template or an option has mistakes
  type: list
  elements: dict
  contains:
    column:
      description: The column of the problem, from 1; null for an option.
      type: int
      sample: 13
    file:
      description: The file of the problem; a file inside a CSAR is written C(<csar>!<member>); null for an option.
      type: str
      sample: /srv/templates/web.yaml
    line:
      description: The line of the problem, from 1; null for an option.
      type: int
      sample: 9
    message:
      description: What is wrong and what was expected.
      type: str
      sample: unknown node type 'tosca.nodes.Compte' (did you mean 'tosca.nodes.Compute'?)
    path:
      description: Where the problem is in the template's structure, or the option; empty for the file as a whole.
      type: str
      sample: topology_template.node_templates.server.type
resources:
  description: The storage and network nodes to provision.
  returned: O(state=compiled), success
  type: list
  elements: dict
  contains:
    attachments:
      description: For storage, the hosts it is attached to and where it is mounted (null when the template does not say).
      type: list
      elements: dict
      sample: [{node: server, location: /mnt/data}]
    size_gb:
      description: For storage, its size in GiB (1 when not given or known only at run time).
      type: float
      sample: 9.313
    kind:
      description: V(storage) or V(network).
      type: str
      sample: storage
    name:
      description: The node template's name.
      type: str
      sample: data
    properties:
      description: The node's properties.
      type: dict
      sample: {size: 10 GB}
    type:
      description: The node's type.
      type: str
      sample: tosca.nodes.BlockStorage
sla_ids:
  description: What the template's placement policies ask for, an SLA id or a site name each.
  returned: O(state=compiled), success
  type: list
  elements: str
  sample: [4401ac5dc8cfbbb737b0a02575ee53f6]
src:
  description: The template that was read, as found from O(src).
  returned: when the template was found
  type: str
  sample: /srv/playbooks/files/web.yaml
template_warnings:
  description:
    - Problems that did not stop the template, as RV(problems); also shown as Ansible warnings.
    - A warning of the compiler about the playbook has no position; its C(line) and C(column) are null.
  returned: success
  type: list
  elements: dict
  sample: [{file: /srv/templates/web.yaml, line: 12, column: 7, path: properties, message: "duplicate key: the last one is used"}]
unresolved:
  description:
    - The values known only when the playbook runs, one line each, such as the attributes and operation outputs
      it reads, and the inputs to give as C(-e tosca_input_<name>=...).
  returned: O(state=compiled), success
  type: list
  elements: str
  sample: ["get_attribute server.private_address", "input 'admin_token': give it at run time as -e tosca_input_admin_token=..."]
vars_file:
  description: The vars file every play of the playbook reads, C(<dest>/<name>.vars.yml).
  returned: O(state=compiled), success
  type: str
  sample: /srv/build/tosca/web.vars.yml
undeploy_playbook:
  description:
    - The playbook that runs every node's C(Standard.stop) then C(Standard.delete) operation, dependents first,
      C(<dest>/<name>.undeploy.yml) (a no-op play when no node has one). M(infn.cloud.tosca_deploy) runs it before
      removing the hosts.
  returned: O(state=compiled), success
  type: str
  sample: /srv/build/tosca/web.undeploy.yml
"""

from ansible.module_utils.basic import AnsibleModule

# The action plugin validates its options with these, so the documentation above, checked against
# them by ansible-test, is what runs.
ARGUMENT_SPEC = {
    "allow_network": {"type": "bool", "default": False},
    "dest": {"type": "path"},
    "import_map": {"type": "dict", "default": {}},
    "inputs": {"type": "dict", "default": {}},
    "name": {"type": "str"},
    "role_registry": {"type": "dict", "default": {}},
    "src": {"type": "path", "required": True},
    "state": {"type": "str", "choices": ["compiled", "validated"], "default": "validated"},
}
REQUIRED_IF = [("state", "compiled", ["dest"])]


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, supports_check_mode=True)
    module.fail_json(
        msg="infn.cloud.tosca runs through its action plugin, on the controller: it cannot run as a module on a host"
    )


if __name__ == "__main__":
    main()
