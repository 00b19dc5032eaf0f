# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenStack sites, through openstacksdk and a clouds.yaml cloud name (never inline secrets).

Discovery lists the project's servers once (no per-server calls); a server's service roles
come from its ``infn_cloud_roles`` metadata. ``ansible_host`` follows the site's address
policy: floating over fixed (or the reverse), optionally only on one network or CIDR.
"""

from __future__ import annotations

import ipaddress
import math
import time

from ansible_collections.infn.cloud.plugins.module_utils.providers.base import (
    METADATA_ROLES,
    Capacity,
    DiscoveredHost,
    Offer,
    Provider,
    ProvisionedHost,
    ProvisionError,
    SiteError,
    image_description,
    split_roles,
)

try:
    import openstack

    HAS_OPENSTACKSDK = True
except ImportError:
    openstack = None
    HAS_OPENSTACKSDK = False

MIB_PER_GIB = 1024
# Metadata keys (and a floating IP's description) that tie what a deployment creates to it.
METADATA_DEPLOYMENT = "infn_cloud_deployment"
METADATA_NODE = "infn_cloud_node"


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
            if METADATA_DEPLOYMENT in (server.metadata or {}):
                continue  # a deployed service's server (docs/paas.md)
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

    # ---- deployments ----

    def offer(self) -> Offer:
        connection = self._connect()
        try:
            flavors = [
                {"name": f.name, "cores": f.vcpus, "ram_gb": f.ram / MIB_PER_GIB, "gpus": 0}
                for f in connection.compute.flavors()
                if not self.site.sla.flavors or f.name in self.site.sla.flavors
            ]
            if self.site.sla.images:
                images = [image_description(name) for name in self.site.sla.images]
            else:
                images = [
                    {
                        "name": i.name,
                        "distribution": i.os_distro or "",
                        "version": i.os_version or "",
                        "architecture": i.architecture or "",
                        "type": "linux" if i.os_distro else "",
                    }
                    for i in connection.image.images()
                    if i.status == "active"
                ]
        except Exception as error:
            raise SiteError(_reason("reading flavors and images failed", error)) from None
        return Offer(images=images, flavors=flavors)

    def _mine(self, resources, deployment: str) -> list:
        return [r for r in resources if (r.metadata or {}).get(METADATA_DEPLOYMENT) == deployment]

    def _tag(self, deployment: str) -> str:
        return f"{METADATA_DEPLOYMENT}={deployment}"

    def _network(self, connection):
        """The network servers join: address.network when set, else the project's only one."""
        wanted = (self.site.address or {}).get("network")
        if wanted:
            return connection.network.find_network(wanted, ignore_missing=False)
        own = [
            n for n in connection.network.networks(project_id=connection.current_project_id) if not n.is_router_external
        ]
        if len(own) != 1:
            names = ", ".join(sorted(n.name for n in own)) or "none"
            raise ProvisionError(
                f"cannot tell which network the servers join (the project has: {names}); set address.network"
            )
        return own[0]

    def provision(self, deployment: str, hosts: list, volumes: list, deadline: float) -> list:
        def remaining() -> int:
            left = int(deadline - time.monotonic())
            if left <= 0:
                raise ProvisionError("the site's time for provisioning ran out")
            return left

        connection = self._connect()
        try:
            return self._provision(connection, deployment, hosts, volumes, remaining)
        except SiteError:
            raise
        except Exception as error:
            raise ProvisionError(_reason("creating the deployment failed", error)) from None

    def _provision(self, connection, deployment: str, hosts: list, volumes: list, remaining) -> list:
        compute, network = connection.compute, connection.network
        options = self.site.openstack or {}
        metadata = {METADATA_DEPLOYMENT: deployment}
        servers = {s.metadata[METADATA_NODE]: s for s in self._mine(compute.servers(details=True), deployment)}
        wanted = {host.node for host in hosts}
        for node, server in servers.items():
            if node not in wanted:
                compute.delete_server(server)
        net = self._network(connection)
        for host in hosts:
            if host.node in servers:
                continue
            flavor = compute.find_flavor(host.flavor, ignore_missing=False)
            image = connection.image.find_image(host.image, ignore_missing=False)
            extra = {}
            if options.get("key_name"):
                extra["key_name"] = options["key_name"]
            if options.get("security_groups"):
                extra["security_groups"] = [{"name": group} for group in options["security_groups"]]
            servers[host.node] = compute.create_server(
                name=f"{deployment}-{host.node}".replace("_", "-"),
                flavor_id=flavor.id,
                image_id=image.id,
                networks=[{"uuid": net.id}],
                metadata={**metadata, METADATA_NODE: host.node},
                **extra,
            )
        servers = {
            node: compute.wait_for_server(server, status="ACTIVE", failures=["ERROR"], wait=remaining())
            for node, server in servers.items()
            if node in wanted
        }
        existing = {v.metadata[METADATA_NODE]: v for v in self._mine(connection.block_storage.volumes(), deployment)}
        for volume in volumes:
            if volume.node not in existing:
                existing[volume.node] = connection.block_storage.create_volume(
                    name=f"{deployment}-{volume.node}".replace("_", "-"),
                    size=max(1, math.ceil(volume.size_gb)),
                    metadata={**metadata, METADATA_NODE: volume.node},
                )
        for node, volume in existing.items():
            existing[node] = connection.block_storage.wait_for_status(
                volume, status="available", failures=["error"], wait=remaining()
            ) if volume.status not in ("available", "in-use") else volume  # fmt: skip
        for host in hosts:
            for volume_node, _location in host.volumes:
                volume = existing.get(volume_node)
                if volume is not None and not volume.attachments:
                    compute.create_volume_attachment(servers[host.node], volume_id=volume.id)
        floating = {ip.port_id: ip for ip in network.ips(description=self._tag(deployment))}
        external = None
        for host in hosts:
            if not host.public:
                continue
            port = next(iter(network.ports(device_id=servers[host.node].id)), None)
            if port is None or port.id in floating:
                continue
            if external is None:
                if options.get("floating_network"):
                    external = network.find_network(options["floating_network"], ignore_missing=False)
                else:
                    external = next(iter(network.networks(is_router_external=True)), None)
                if external is None:
                    raise ProvisionError("no external network for the public address of " + host.node)
            floating[port.id] = network.create_ip(
                floating_network_id=external.id, port_id=port.id, description=self._tag(deployment)
            )
        provisioned = []
        for host in hosts:
            server = compute.get_server(servers[host.node].id)
            addresses = server.addresses or {}
            fixed = choose_address(addresses, {**(self.site.address or {}), "prefer": "fixed"})
            port = next(iter(network.ports(device_id=server.id)), None)
            public = floating[port.id].floating_ip_address if port is not None and port.id in floating else fixed
            address = public if (self.site.address or {}).get("prefer", "floating") == "floating" else fixed
            provisioned.append(
                ProvisionedHost(
                    node=host.node,
                    name=server.name,
                    address=fixed,
                    public_address=public,
                    connection={"ansible_host": address} if address else {},
                    facts={
                        "id": server.id,
                        "flavor": host.flavor,
                        "image": host.image,
                        "key_name": server.key_name,
                        "security_groups": sorted({g.get("name") for g in server.security_groups or []}),
                        "volumes": sorted(existing[v].name for v, _location in host.volumes if v in existing),
                    },
                )
            )
        return provisioned

    def deployment_hosts(self, deployment: str) -> list:
        connection = self._connect()
        try:
            return sorted(s.name for s in self._mine(connection.compute.servers(details=True), deployment))
        except Exception as error:
            raise ProvisionError(_reason("listing servers failed", error)) from None

    def leftovers(self, deployment: str) -> list:
        connection = self._connect()
        try:
            servers = self._mine(connection.compute.servers(details=True), deployment)
            volumes = self._mine(connection.block_storage.volumes(), deployment)
            ips = list(connection.network.ips(description=self._tag(deployment)))
            ports = [p for s in servers for p in connection.network.ports(device_id=s.id)]
        except Exception as error:
            raise ProvisionError(_reason("listing the deployment's resources failed", error)) from None
        return (
            [f"server {s.name}" for s in servers]
            + [f"volume {v.name}" for v in volumes]
            + [f"floating IP {ip.floating_ip_address}" for ip in ips]
            + [f"port {p.id}" for p in ports]
        )

    def deprovision(self, deployment: str) -> None:
        connection = self._connect()
        try:
            compute, network = connection.compute, connection.network
            for ip in network.ips(description=self._tag(deployment)):
                network.delete_ip(ip, ignore_missing=True)
            servers = self._mine(compute.servers(details=True), deployment)
            for server in servers:
                compute.delete_server(server, ignore_missing=True)
            for server in servers:
                compute.wait_for_delete(server, wait=300)
            for volume in self._mine(connection.block_storage.volumes(), deployment):
                if volume.status == "in-use":  # its server is gone: the attachment goes with it
                    connection.block_storage.wait_for_status(volume, status="available", failures=["error"], wait=120)
                connection.block_storage.delete_volume(volume, ignore_missing=True)
                connection.block_storage.wait_for_delete(volume, wait=120)
        except Exception as error:
            raise ProvisionError(_reason("removing the deployment failed", error)) from None
        left = self.leftovers(deployment)
        if left:
            raise ProvisionError("still there after removal: " + ", ".join(left))


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
