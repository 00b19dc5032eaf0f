# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The federation model (M1): backbone and federated sites, their SLAs and hosts.

``load_federation(path)`` reads a ``*.federation.yml`` description, checks all of it and
raises :class:`DescriptionError` with every problem (``file:line:column: path: message``), or
returns a :class:`Federation`. This is the one place that knows the description's format; the
inventory plugin, the modules and the playbooks all read the model through it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import Mark, Problems, did_you_mean
from ansible_collections.infn.cloud.plugins.module_utils.positioned_yaml import load_file, mark_of
from ansible_collections.infn.cloud.plugins.module_utils.providers.registry import PROVIDERS
from ansible_collections.infn.cloud.plugins.module_utils.schema import (
    Any,
    Bool,
    Field,
    Int,
    ListOf,
    MapOf,
    Number,
    Record,
    Str,
)

# Service roles a host may play; a federation can declare more under federation.extra_roles.
SERVICE_ROLES = (
    "accounting",
    "backup",
    "dns_primary",
    "dns_secondary",
    "log_collector",
    "monitoring",
    "paas_orchestrator",
    "smtp_relay",
    "swift_proxy",
    "swift_storage",
)

NAME = r"[a-z0-9]([a-z0-9_-]*[a-z0-9])?"
HOSTNAME = r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?"
ROLE = r"[a-z][a-z0-9_]*"
# OpenStack names regions freely (RegionOne): letters of either case.
REGION = r"[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?"


def _names(pattern_help):
    return Str(pattern=NAME, pattern_help=pattern_help)


QUOTAS = Record(
    {
        "cores": Field(Int(minimum=0)),  # vCPUs
        "ram_gb": Field(Number(minimum=0)),  # RAM in GiB
        "instances": Field(Int(minimum=0)),
        "volume_gb": Field(Number(minimum=0)),  # block storage in GiB
        "public_ips": Field(Int(minimum=0)),
        "gpus": Field(Int(minimum=0)),
    }
)

SLA = Record(
    {
        "id": Field(Str()),  # what a template's placement policy names (INDIGO's sla_id)
        "projects": Field(ListOf(Str(), unique=True), default=[]),
        "groups": Field(ListOf(Str(), unique=True), default=[]),
        "priority": Field(Int(minimum=0), default=100),
        "quotas": Field(QUOTAS, default={}),
        "flavors": Field(ListOf(Str(), unique=True), default=[]),
        "images": Field(ListOf(Str(), unique=True), default=[]),
        "services": Field(ListOf(Str(), unique=True), default=[]),
    }
)

ADDRESS_POLICY = Record(
    {
        "prefer": Field(Str(choices=("floating", "fixed")), default="floating"),
        "network": Field(Str()),
        "cidr": Field(Str()),
        "ipv4_only": Field(Bool(), default=True),
    }
)

HOST = Record(
    {
        "name": Field(Str(pattern=HOSTNAME, pattern_help="a valid hostname"), required=True),
        "address": Field(Str()),
        "container": Field(Str()),  # podman sites: the container's name
        "roles": Field(ListOf(Str(pattern=ROLE, pattern_help="a role name"), unique=True), default=[]),
        "region": Field(Str()),
        "zone": Field(Str()),
        "vars": Field(MapOf(Any()), default={}),
    }
)

PODMAN = Record(
    {
        "network": Field(Str(), required=True),
        "subnet": Field(Str(), required=True),
        "image": Field(Str(), default="localhost/infn-cloud-debian-systemd:bookworm"),
        "container_prefix": Field(Str(), default="infn-"),
    }
)

# openstack sites: what the servers the PaaS layer creates get (docs/paas.md).
OPENSTACK = Record(
    {
        "key_name": Field(Str()),  # a key pair of the project, for Ansible's SSH
        "security_groups": Field(ListOf(Str(), unique=True), default=[]),
        "floating_network": Field(Str()),  # where floating IPs come from (default: the first external one)
    }
)

SITE = Record(
    {
        "name": Field(_names("a site name (lowercase letters, digits, '-' and '_')"), required=True),
        "coupling": Field(Str(choices=("backbone", "federated")), default="federated"),
        "provider": Field(Str(choices=sorted(PROVIDERS)), required=True),
        "regions": Field(ListOf(Str(pattern=REGION, pattern_help="a region name"), unique=True), default=[]),
        "cloud": Field(Str()),  # clouds.yaml cloud name (openstack)
        "timeout": Field(Number(minimum=1), default=30),
        "fail_on_errors": Field(Bool(), default=False),
        "discover": Field(Bool(), default=True),
        "address": Field(ADDRESS_POLICY, default={"prefer": "floating", "ipv4_only": True}),
        "podman": Field(PODMAN),
        "openstack": Field(OPENSTACK),
        "sla": Field(SLA, default=SLA.check({}, "", None, Problems())),
        "vars": Field(MapOf(Any()), default={}),
        "hosts": Field(ListOf(HOST), default=[]),
    }
)

FEDERATION = Record(
    {
        "name": Field(_names("a federation name"), required=True),
        "domain": Field(Str(pattern=HOSTNAME, pattern_help="a DNS domain"), required=True),
        "extra_roles": Field(ListOf(Str(pattern=ROLE, pattern_help="a role name"), unique=True), default=[]),
    }
)


@dataclass(frozen=True)
class Quotas:
    cores: int | None = None
    ram_gb: float | None = None
    instances: int | None = None
    volume_gb: float | None = None
    public_ips: int | None = None
    gpus: int | None = None

    def as_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if value is not None}


@dataclass(frozen=True)
class Sla:
    id: str | None = None
    projects: tuple = ()
    groups: tuple = ()
    priority: int = 100
    quotas: Quotas = field(default_factory=Quotas)
    flavors: tuple = ()
    images: tuple = ()
    services: tuple = ()


@dataclass(frozen=True)
class Host:
    name: str
    site: str
    roles: tuple = ()
    address: str | None = None
    container: str | None = None
    region: str | None = None
    zone: str | None = None
    vars: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Site:
    name: str
    coupling: str
    provider: str
    regions: tuple
    sla: Sla
    hosts: tuple
    cloud: str | None = None
    timeout: float = 30
    fail_on_errors: bool = False
    discover: bool = True
    address: dict = field(default_factory=dict)
    podman: dict | None = None
    openstack: dict | None = None
    vars: dict = field(default_factory=dict)

    @property
    def backbone(self) -> bool:
        return self.coupling == "backbone"


@dataclass(frozen=True)
class Federation:
    name: str
    domain: str
    sites: tuple
    source: str
    roles: tuple = SERVICE_ROLES

    def site(self, name: str) -> Site:
        return next(site for site in self.sites if site.name == name)


DESCRIPTION = Record(
    {
        "federation": Field(FEDERATION, required=True),
        "sites": Field(ListOf(SITE), required=True),
    }
)

# Top-level keys that configure the infn.cloud.federation inventory plugin rather than
# describe the federation (a unit test keeps this in step with the plugin's options).
INVENTORY_OPTIONS = (
    "cache",
    "cache_connection",
    "cache_plugin",
    "cache_prefix",
    "cache_timeout",
    "compose",
    "fail_on_errors",
    "groups",
    "keyed_groups",
    "leading_separator",
    "max_workers",
    "only_sites",
    "plugin",
    "strict",
    "use_extra_vars",
)


def load_federation(path: str, plugin_options=INVENTORY_OPTIONS) -> tuple[Federation, dict]:
    """Reads and checks a description; returns the model and the raw plugin options.

    plugin_options names the top-level keys that belong to the inventory plugin (cache,
    compose, keyed_groups, ...): they are passed through unchecked here, since Ansible's
    own option handling checks them.
    """
    document = load_file(path)
    problems = Problems()
    top = Mark(path, 1, 1)
    if not isinstance(document, dict):
        problems.add(getattr(document, "mark", None) or top, "", "expected a mapping with plugin, federation and sites")
        problems.raise_if_any()
    passthrough = {key: document[key] for key in plugin_options if key in document}
    described = type(document)({key: value for key, value in document.items() if key not in passthrough})
    described.take_positions(document)
    checked = DESCRIPTION.check(described, "", top, problems)
    # Runs on what passed the field checks too, so one pass reports every problem.
    _check_consistency(checked, document, problems)
    problems.raise_if_any()
    return _build(checked, path), passthrough


def _check_consistency(checked: dict, document, problems: Problems) -> None:
    """What no single field can tell: unique names, known roles, regions and addresses.

    checked may lack what failed the field checks: only what is there is looked at.
    """
    roles = set(SERVICE_ROLES) | set(checked.get("federation", {}).get("extra_roles", []))
    site_marks, host_marks = {}, {}
    raw_sites = document.get("sites")
    for index, site in enumerate(checked.get("sites", [])):
        raw_site = raw_sites[index]
        path = f"sites[{index}]"
        _check_unique("site", site.get("name"), site_marks, raw_site, path, problems)
        if site.get("provider") == "openstack" and not site.get("cloud"):
            problems.add(raw_site.mark, f"{path}.cloud", "an openstack site needs the clouds.yaml cloud name")
        if site.get("provider") == "podman" and not site.get("podman"):
            problems.add(raw_site.mark, f"{path}.podman", "a podman site needs its network and subnet")
        subnet = _network(
            (site.get("podman") or {}).get("subnet"), raw_site.get("podman"), f"{path}.podman.subnet", problems
        )
        _network((site.get("address") or {}).get("cidr"), raw_site.get("address"), f"{path}.address.cidr", problems)
        regions = site.get("regions", [])
        for host_index, host in enumerate(site.get("hosts", [])):
            raw_host = raw_site["hosts"][host_index]
            host_path = f"{path}.hosts[{host_index}]"
            _check_unique("host", host.get("name"), host_marks, raw_host, host_path, problems)
            for role_index, role in enumerate(host.get("roles", [])):
                if role not in roles:
                    problems.add(
                        mark_of(raw_host["roles"], role_index),
                        f"{host_path}.roles[{role_index}]",
                        f"unknown service role {role!r}{did_you_mean(role, roles)}; declare new ones in federation.extra_roles",
                    )
            region = host.get("region")
            if region and regions and region not in regions:
                problems.add(
                    mark_of(raw_host, "region"),
                    f"{host_path}.region",
                    f"{region!r} is not a region of the site ({', '.join(regions)}){did_you_mean(region, regions)}",
                )
            _check_address(host.get("address"), subnet, mark_of(raw_host, "address"), f"{host_path}.address", problems)


def _check_unique(kind: str, name, seen: dict, raw, path: str, problems: Problems) -> None:
    """A name defined twice is reported at its second place, naming the line of the first."""
    if name in seen:
        problems.add(
            mark_of(raw, "name"), f"{path}.name", f"{kind} {name!r} is already defined at line {seen[name].line}"
        )
    elif name:
        seen[name] = mark_of(raw, "name")


def _network(value, raw_parent, path: str, problems: Problems):
    """The ip_network of a CIDR value, or None (with a problem when it is malformed)."""
    if not value:
        return None
    try:
        return ipaddress.ip_network(value)
    except ValueError as error:
        problems.add(
            mark_of(raw_parent, path.rsplit(".", 1)[-1]), path, f"expected a CIDR such as 10.99.10.0/24: {error}"
        )
        return None


def _check_address(address, subnet, mark: Mark, path: str, problems: Problems) -> None:
    if not address:
        return
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        if not re.fullmatch(HOSTNAME, address):
            problems.add(mark, path, f"{address!r} is neither an IP address nor a hostname")
        return
    if subnet and parsed not in subnet:
        problems.add(mark, path, f"{address} is outside the site's subnet {subnet}")


def _build(checked: dict, source: str) -> Federation:
    federation = checked["federation"]
    sites = []
    for site in checked["sites"]:
        sla = site["sla"]
        hosts = tuple(
            Host(
                name=host["name"],
                site=site["name"],
                roles=tuple(host["roles"]),
                address=host.get("address"),
                container=host.get("container") or _container_name(site, host["name"]),
                region=host.get("region") or (site["regions"][0] if site["regions"] else None),
                zone=host.get("zone"),
                vars=host["vars"],
            )
            for host in site["hosts"]
        )
        sites.append(
            Site(
                name=site["name"],
                coupling=site["coupling"],
                provider=site["provider"],
                regions=tuple(site["regions"]),
                sla=Sla(
                    id=sla.get("id"),
                    projects=tuple(sla["projects"]),
                    groups=tuple(sla["groups"]),
                    priority=sla["priority"],
                    quotas=Quotas(**sla["quotas"]),
                    flavors=tuple(sla["flavors"]),
                    images=tuple(sla["images"]),
                    services=tuple(sla["services"]),
                ),
                hosts=hosts,
                cloud=site.get("cloud"),
                timeout=site["timeout"],
                fail_on_errors=site["fail_on_errors"],
                discover=site["discover"],
                address=site["address"],
                podman=site.get("podman"),
                openstack=site.get("openstack"),
                vars=site["vars"],
            )
        )
    roles = tuple(sorted(set(SERVICE_ROLES) | set(federation["extra_roles"])))
    return Federation(
        name=federation["name"], domain=federation["domain"], sites=tuple(sites), source=source, roles=roles
    )


def _container_name(site: dict, host_name: str) -> str | None:
    podman = site.get("podman")
    return f"{podman['container_prefix']}{host_name}" if podman else None


def group_name(kind: str, name: str) -> str:
    """A valid Ansible group name: site_recas_bari for ('site', 'recas-bari')."""
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{kind}_{name}" if kind else name)
