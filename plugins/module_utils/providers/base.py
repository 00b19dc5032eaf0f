# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one interface every site provider implements.

A provider knows how Ansible reaches a site's declared hosts, which live hosts the site
has (discovery, for the inventory) and how much capacity it has and uses (for site_info and
site selection). A new provider is one new file with a ``Provider`` subclass, listed in
``providers/__init__.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Labels/metadata keys that tie live servers and containers to the federation model.
LABEL_FEDERATION = "infn.cloud.federation"
LABEL_SITE = "infn.cloud.site"
LABEL_HOST = "infn.cloud.host"
LABEL_ROLES = "infn.cloud.roles"
METADATA_ROLES = "infn_cloud_roles"  # OpenStack metadata keys cannot contain dots in some clients
# What a deployment (infn.cloud.tosca_deploy) creates carries its name and its node's name.
LABEL_DEPLOYMENT = "infn.cloud.deployment"
LABEL_NODE = "infn.cloud.node"

QUOTA_KEYS = ("cores", "ram_gb", "instances", "volume_gb", "public_ips", "gpus")


class SiteError(Exception):
    """A site could not be queried; the message is one line saying why."""


class ProvisionError(SiteError):
    """Creating or removing a deployment's hosts or volumes failed; one line saying why."""


@dataclass
class DiscoveredHost:
    name: str
    address: str | None
    roles: tuple = ()
    region: str | None = None
    zone: str | None = None
    connection: dict = field(default_factory=dict)  # ansible_* variables to reach the host
    facts: dict = field(default_factory=dict)  # raw provider data, JSON-serialisable


@dataclass
class Capacity:
    """Limits and usage in the units of the SLA quotas (cores, ram_gb, ...)."""

    reachable: bool
    reason: str = ""
    limits: dict = field(default_factory=dict)
    usage: dict = field(default_factory=dict)

    @property
    def free(self) -> dict:
        return {
            key: max(self.limits[key] - self.usage.get(key, 0), 0)
            for key in QUOTA_KEYS
            if self.limits.get(key) is not None
        }

    def shortfall(self, wanted: dict) -> list:
        """What wanted (per quota key) exceeds of what is free, one phrase per key, in key order."""
        free = self.free
        return [
            f"{key} {wanted[key]:g} wanted, {free[key]:g} of {self.limits[key]:g} free"
            for key in sorted(wanted)
            if wanted[key] and key in free and free[key] < wanted[key]
        ]

    def as_dict(self) -> dict:
        return {
            "reachable": self.reachable,
            "reason": self.reason,
            "limits": self.limits,
            "usage": self.usage,
            "free": self.free,
        }


@dataclass
class Offer:
    """What a site can create: images and flavors (flavors None: any size, as containers)."""

    images: list  # {"name", "distribution", "version", "type", "architecture"}
    flavors: list | None = None  # {"name", "cores", "ram_gb", "gpus"}


@dataclass
class HostRequest:
    """One compute node of a deployment, as placement sized it for a site."""

    node: str
    cores: int
    ram_gb: float
    image: str
    flavor: str | None = None
    public: bool = False
    volumes: list = field(default_factory=list)  # (volume node, mount location or None)


@dataclass
class VolumeRequest:
    node: str
    size_gb: float


@dataclass
class ProvisionedHost:
    node: str
    name: str  # the container's or server's name
    address: str | None
    public_address: str | None
    connection: dict  # ansible_* variables to reach it
    facts: dict = field(default_factory=dict)


def image_description(name: str) -> dict:
    """An image named as an SLA lists it, '<distribution>-<version>' ('debian-12', 'ubuntu-22.04'),
    described for placement's os matching."""
    base = name.rsplit("/", 1)[-1].split(":", 1)[0]
    distribution, _dash, version = base.partition("-")
    return {"name": name, "distribution": distribution, "version": version, "type": "linux"}


def split_roles(value) -> tuple:
    """Roles from a label or metadata value: 'a,b' or 'a b' -> ('a', 'b')."""
    if not value:
        return ()
    return tuple(role for role in str(value).replace(",", " ").split() if role)


class Provider:
    """Base provider: declared hosts reached by their address, nothing to discover."""

    NAME = ""

    def __init__(self, site, federation_name: str):
        self.site = site
        self.federation_name = federation_name

    def connection_vars(self, host) -> dict:
        """Variables that make Ansible reach a declared host."""
        return {"ansible_host": host.address} if host.address else {}

    def discover(self) -> list:
        """Live hosts of the site (list of DiscoveredHost); raises SiteError."""
        return []

    def capacity(self) -> Capacity:
        """What the site offers and uses; never raises: an unreachable site says why."""
        raise NotImplementedError

    def sla_limits(self) -> dict:
        return self.site.sla.quotas.as_dict()

    # ---- deployments (infn.cloud.tosca_deploy) ----

    def offer(self) -> Offer:
        """Images and flavors this site can create hosts from; SiteError when it cannot create any."""
        raise SiteError(f"the {self.NAME} provider cannot create hosts (its hosts are declared)")

    def provision(self, deployment: str, hosts: list, volumes: list, deadline: float) -> list:
        """Creates what is missing of a deployment (and removes what it no longer has), waits
        until its hosts answer; returns ProvisionedHost per host. Safe to call again after an
        interruption: what exists is kept. Raises ProvisionError; deadline is time.monotonic()'s."""
        raise ProvisionError(f"the {self.NAME} provider cannot create hosts")

    def deprovision(self, deployment: str) -> None:
        """Removes everything of the deployment on this site; ProvisionError when something stays."""
        raise ProvisionError(f"the {self.NAME} provider cannot remove hosts")

    def deployment_hosts(self, deployment: str) -> list:
        """Names of the deployment's hosts (containers, servers) that exist on this site."""
        return []

    def leftovers(self, deployment: str) -> list:
        """What of the deployment still exists on this site ('container x', 'volume y', ...)."""
        return []
