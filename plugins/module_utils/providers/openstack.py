# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenStack sites, through openstacksdk and a clouds.yaml cloud name (never inline secrets).

Discovery lists the project's servers once (no per-server calls); a server's service roles
come from its ``infn_cloud_roles`` metadata. ``ansible_host`` follows the site's address
policy: floating over fixed (or the reverse), optionally only on one network or CIDR.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.infn.cloud.plugins.module_utils.providers.base import (
    METADATA_ROLES,
    Capacity,
    DiscoveredHost,
    Provider,
    SiteError,
    split_roles,
)

try:
    import openstack

    HAS_OPENSTACKSDK = True
except ImportError:
    openstack = None
    HAS_OPENSTACKSDK = False

MIB_PER_GIB = 1024


def choose_address(addresses: dict, policy: dict) -> str | None:
    """The address Ansible should use, from a server's ``addresses`` by the site's policy.

    Deterministic: networks in name order, addresses in the order the API gives; the
    preferred type (floating or fixed) wins, the other is the fallback.
    """
    cidr = ipaddress.ip_network(policy["cidr"]) if policy.get("cidr") else None
    candidates = {"floating": [], "fixed": []}
    for network in sorted(addresses or {}):
        if policy.get("network") and network != policy["network"]:
            continue
        for entry in addresses[network]:
            address = entry.get("addr")
            if not address:
                continue
            parsed = ipaddress.ip_address(address)
            if policy.get("ipv4_only", True) and parsed.version != 4:
                continue
            if cidr and parsed not in cidr:
                continue
            kind = "floating" if entry.get("OS-EXT-IPS:type") == "floating" else "fixed"
            candidates[kind].append(address)
    prefer = policy.get("prefer", "floating")
    other = "fixed" if prefer == "floating" else "floating"
    found = candidates[prefer] or candidates[other]
    return found[0] if found else None


class OpenStackProvider(Provider):
    NAME = "openstack"

    def _connect(self):
        if not HAS_OPENSTACKSDK:
            raise SiteError("openstacksdk is not installed (it is in the collection's requirements.txt)")
        try:
            connection = openstack.connect(cloud=self.site.cloud, api_timeout=self.site.timeout)
            connection.authorize()
        except Exception as error:  # openstacksdk and keystoneauth raise many unrelated types
            raise SiteError(_reason(f"cannot connect to cloud {self.site.cloud!r}", error)) from None
        return connection

    def discover(self) -> list:
        connection = self._connect()
        try:
            servers = list(connection.compute.servers(details=True))
        except Exception as error:
            raise SiteError(_reason("listing servers failed", error)) from None
        region = connection.config.get_region_name() or (self.site.regions[0] if self.site.regions else None)
        hosts = []
        for server in servers:
            address = choose_address(server.addresses, self.site.address)
            metadata = dict(server.metadata or {})
            hosts.append(
                DiscoveredHost(
                    name=server.name,
                    address=address,
                    roles=split_roles(metadata.get(METADATA_ROLES)),
                    region=region,
                    zone=server.availability_zone,
                    connection={"ansible_host": address} if address else {},
                    facts={
                        "id": server.id,
                        "name": server.name,
                        "status": server.status,
                        "project_id": server.project_id,
                        "flavor": (server.flavor or {}).get("original_name") or (server.flavor or {}).get("id"),
                        "image": (server.image or {}).get("id"),
                        "addresses": server.addresses,
                        "metadata": metadata,
                        "cloud": self.site.cloud,
                        "region": region,
                    },
                )
            )
        return hosts

    def capacity(self) -> Capacity:
        try:
            connection = self._connect()
            compute = connection.compute.get_limits().absolute
            volume = connection.block_storage.get_limits().absolute
            network = connection.network.get_quota(connection.current_project_id, details=True)
        except SiteError as error:
            return Capacity(reachable=False, reason=str(error), limits=self.sla_limits())
        except Exception as error:
            return Capacity(reachable=False, reason=_reason("reading limits failed", error), limits=self.sla_limits())
        floating = network.floating_ips or {}
        site_limits = {
            "cores": compute.total_cores,
            "ram_gb": _gib(compute.total_ram),
            "instances": compute.instances,
            "volume_gb": volume.max_total_volume_gigabytes,
            "public_ips": floating.get("limit"),
        }
        usage = {
            "cores": compute.total_cores_used,
            "ram_gb": _gib(compute.total_ram_used),
            "instances": compute.instances_used,
            "volume_gb": volume.total_gigabytes_used,
            "public_ips": (floating.get("used") or 0) + (floating.get("reserved") or 0),
        }
        return Capacity(reachable=True, limits=_narrowest(site_limits, self.sla_limits()), usage=usage)


def _gib(mebibytes):
    return None if mebibytes is None or mebibytes < 0 else round(mebibytes / MIB_PER_GIB, 2)


def _narrowest(site_limits: dict, sla_limits: dict) -> dict:
    """Per key, the smaller of what the site allows and what the SLA grants (-1 = unlimited)."""
    limits = {}
    for key in set(site_limits) | set(sla_limits):
        values = [value for value in (site_limits.get(key), sla_limits.get(key)) if value is not None and value >= 0]
        if values:
            limits[key] = min(values)
    return limits


def _reason(what: str, error: Exception) -> str:
    detail = " ".join(str(error).split()).rstrip(".") or type(error).__name__
    return f"{what}: {detail}"


Provider = OpenStackProvider
