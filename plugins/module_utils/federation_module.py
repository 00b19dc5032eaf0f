# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base of the modules that read the federation description (federation_info, site_info).

It owns the shared options, loading the description and turning problems into a clean
failure (every problem listed, never a traceback); a module implements only ``run()``.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import DescriptionError, failure
from ansible_collections.infn.cloud.plugins.module_utils.federation import load_federation
from ansible_collections.infn.cloud.plugins.module_utils.positioned_yaml import HAS_YAML

FEDERATION_ARGUMENT_SPEC = {
    "path": {"type": "path", "required": True},
    "sites": {"type": "list", "elements": "str", "default": []},
}


class FederationModule:
    def __init__(self):
        self.module = AnsibleModule(argument_spec=FEDERATION_ARGUMENT_SPEC, supports_check_mode=True)
        self.params = self.module.params

    def selected_sites(self, federation):
        wanted = self.params["sites"]
        return [site for site in federation.sites if not wanted or site.name in wanted]

    def run(self, federation) -> dict:
        raise NotImplementedError

    def __call__(self):
        if not HAS_YAML:
            self.module.fail_json(msg="PyYAML is required on the host this module runs on")
        try:
            federation, _options = load_federation(self.params["path"])
        except DescriptionError as error:
            self.module.fail_json(**failure(error.problems, f"the federation description {self.params['path']}"))
        self.module.exit_json(changed=False, **self.run(federation))
