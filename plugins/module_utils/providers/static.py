# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Static sites: hosts are what the description declares, capacity what the SLA says."""

from __future__ import annotations

from ansible_collections.infn.cloud.plugins.module_utils.providers.base import Capacity, Provider


class StaticProvider(Provider):
    NAME = "static"

    def capacity(self) -> Capacity:
        return Capacity(
            reachable=True,
            reason="static site: limits are the SLA's quotas, usage counts the declared hosts",
            limits=self.sla_limits(),
            usage={"instances": len(self.site.hosts)},
        )


Provider = StaticProvider
