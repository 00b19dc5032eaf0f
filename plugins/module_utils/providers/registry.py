# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registry of site providers: the name used in descriptions -> its Provider class.

Imports are explicit (not discovered at run time) so that Ansible bundles every provider
with the modules that use them.
"""

from __future__ import annotations

from ansible_collections.infn.cloud.plugins.module_utils.providers import openstack, podman, static

PROVIDERS = {module.Provider.NAME: module.Provider for module in (openstack, podman, static)}


def provider_for(site, federation_name: str):
    """The provider object of a site of the model."""
    return PROVIDERS[site.provider](site, federation_name)
