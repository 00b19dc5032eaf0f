#!/usr/bin/python
# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: deployment_info
short_description: Read the state of the services infn.cloud.tosca_deploy deployed
version_added: 0.1.0
author: infn.cloud developers (@infn-cloud)
description:
  - Reads the state documents M(infn.cloud.tosca_deploy) keeps, one per deployment, and returns them whole (status,
    site, per-node states, attempts with their errors, outputs, timings); C(docs/paas.md) describes the document.
  - Run it where the deployments were made (the controller, usually C(localhost)).
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  name:
    description: The deployment to read. Empty for every deployment in O(state_dir).
    type: str
  state_dir:
    description:
      - The folder of the state documents, as given to M(infn.cloud.tosca_deploy).
      - Defaults to C($XDG_DATA_HOME/infn.cloud/deployments), or C(~/.local/share/infn.cloud/deployments).
    type: path
seealso:
  - module: infn.cloud.tosca_deploy
"""

EXAMPLES = r"""
- name: Where is cms-web, and in which state
  infn.cloud.deployment_info:
    name: cms-web
  register: info

- name: Its URL
  ansible.builtin.debug:
    msg: "{{ info.deployments[0].outputs.url }}"
"""

RETURN = r"""
deployments:
  description: The state documents, by deployment name order. Reading a named deployment that does not exist fails.
  returned: success
  type: list
  elements: dict
  sample:
    - name: cms-web
      status: CREATE_COMPLETE
      site: cnaf
      nodes: {web_server: {state: started, host: infn-demo-cms-web-web-server, address: 10.99.10.254}}
      outputs: {url: "http://10.99.10.254:8080/"}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.infn.cloud.plugins.module_utils.deployment.state import (
    DeploymentStore,
    StateError,
    default_folder,
)


def main():
    module = AnsibleModule(
        argument_spec={"name": {"type": "str"}, "state_dir": {"type": "path"}},
        supports_check_mode=True,
    )
    store = DeploymentStore(module.params["state_dir"] or default_folder())
    names = [module.params["name"]] if module.params["name"] else store.names()
    deployments = []
    try:
        for name in names:
            document = store.read(name)
            if document is None:
                module.fail_json(msg=f"no deployment named {name!r} in {store.folder}", deployments=[])
            deployments.append(document)
    except StateError as error:
        module.fail_json(msg=str(error), deployments=deployments)
    module.exit_json(changed=False, deployments=deployments)


if __name__ == "__main__":
    main()
