# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: federation
short_description: Hosts and groups of a federated cloud, from a C(*.federation.yml) description
version_added: 0.1.0
author: infn.cloud developers (@infn-cloud)
description:
  - Reads a federation description (backbone and federated sites, their SLAs and hosts) and
    turns it into hosts and groups; the format is documented in C(docs/federation.md).
  - Sites whose provider can list live hosts (C(openstack), C(podman)) are queried
    concurrently, each bounded by its own C(timeout); declared hosts are always present.
  - A site that fails is skipped with a warning and the others still load, unless the site
    or the whole source says O(fail_on_errors).
  - "Groups: C(backbone), C(federated), C(coupling_tight), C(coupling_loose), C(site_<name>),
    C(region_<name>), C(provider_<type>), and one group per service role (C(swift_proxy),
    C(dns_primary), ...)."
  - Every host gets an C(infn_cloud) variable with its federation, site, provider, coupling,
    region, zone, roles, address and the raw provider facts.
  - "A description with problems fails with every problem listed as C(file:line:column: path: message)."
extends_documentation_fragment:
  - constructed
  - inventory_cache
requirements:
  - PyYAML
  - openstacksdk (for C(openstack) sites)
  - podman (for C(podman) sites)
options:
  plugin:
    description: Marks the file as a description for this plugin.
    type: str
    required: true
    choices: [infn.cloud.federation]
  fail_on_errors:
    description:
      - Fail the whole inventory when any site cannot be queried (for CI and AWX).
      - Each site can also set its own C(fail_on_errors).
    type: bool
    default: false
  only_sites:
    description: Load only these sites (by name); all when empty.
    type: list
    elements: str
    default: []
  max_workers:
    description: How many sites are queried at the same time.
    type: int
    default: 16
  federation:
    description: The federation's C(name), DNS C(domain) and C(extra_roles) (see C(docs/federation.md)).
    type: dict
  sites:
    description: The sites with their provider, regions, SLA and hosts (see C(docs/federation.md)).
    type: list
    elements: dict
"""

EXAMPLES = r"""
# inventories/example/infn.federation.yml
plugin: infn.cloud.federation
federation:
  name: infn-cloud
  domain: cloud.infn.it
sites:
  - name: cnaf
    coupling: backbone
    provider: static
    regions: [cnaf]
    hosts:
      - {name: cnaf-swift-1, address: 192.0.2.11, roles: [swift_storage]}
  - name: recas-bari
    provider: openstack
    cloud: recas-bari            # a cloud of clouds.yaml
    fail_on_errors: false
    address: {prefer: floating}
    sla:
      projects: [cms]
      quotas: {cores: 200, ram_gb: 512}
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/infn.cloud/inventory
cache_timeout: 600
keyed_groups:
  - key: infn_cloud.zone
    prefix: az
"""

from ansible import constants as C
from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import DescriptionError, summary
from ansible_collections.infn.cloud.plugins.module_utils.federation import group_name, load_federation
from ansible_collections.infn.cloud.plugins.module_utils.providers.registry import provider_for
from ansible_collections.infn.cloud.plugins.module_utils.sites import query_sites

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 trusts every template

    def trust_as_template(value):
        return value


MODEL_KEYS = ("federation", "sites")


def _trusted(value):
    """What the operator wrote in the description may be templated, as in a YAML inventory.

    Data discovered from a site (server names, metadata, addresses) stays untrusted, so a
    cloud user's metadata is never evaluated as a template on the controller.
    """
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: _trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_trusted(item) for item in value]
    return value


def _discovers(site) -> bool:
    return site.discover and site.provider != "static"


def _unique_name(name: str, identity: str, taken: set) -> str:
    """name when free, else name-<first 8 of the id>, else with a counter."""
    if name not in taken:
        return name
    candidate = f"{name}-{identity[:8]}"
    counter = 2
    while candidate in taken:
        candidate = f"{name}-{identity[:8]}-{counter}"
        counter += 1
    return candidate


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "infn.cloud.federation"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith((".federation.yml", ".federation.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        definitions = C.config.get_configuration_definitions("inventory", self._load_name)
        plugin_options = [name for name in definitions if name not in MODEL_KEYS]
        try:
            federation, options = load_federation(path, plugin_options=plugin_options)
        except DescriptionError as error:
            raise AnsibleParserError(summary(error.problems, f"the federation description {path}")) from None
        if options.get("plugin") not in (self.NAME, *(getattr(self, "_redirected_names", None) or [])):
            raise AnsibleParserError(f"{path}: plugin must be {self.NAME}")
        self._configure(_trusted(options))

        sites = self._selected_sites(federation)
        discovering = {site.name for site in sites if _discovers(site)}
        cache_key = self.get_cache_key(path)
        discovered = self._cache.get(cache_key) if self.get_option("cache") and cache else None
        # A cache written before a site was added (or selected) does not answer for it.
        from_cache = discovered is not None and discovering <= set(discovered)
        if not from_cache:
            discovered = self._discover(federation, sites)
        self._populate(federation, sites, discovered)
        # A read from the cache never rewrites it (its TTL stays); a failed site is never cached.
        if self.get_option("cache") and not from_cache and all(entry["error"] is None for entry in discovered.values()):
            self._cache[cache_key] = discovered

    def _configure(self, options):
        self.set_options(direct=options, var_options=self._vars)
        if self.get_option("cache"):
            self.load_cache_plugin()

    def _selected_sites(self, federation):
        only = self.get_option("only_sites")
        if not only:
            return list(federation.sites)
        known = {site.name for site in federation.sites}
        unknown = sorted(set(only) - known)
        if unknown:
            raise AnsibleParserError(
                f"only_sites names unknown sites: {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        return [site for site in federation.sites if site.name in only]

    def _discover(self, federation, sites):
        """{site: {'hosts': [host dicts], 'error': None or reason}} for the sites that discover."""
        jobs = [
            (site.name, site.timeout, provider_for(site, federation.name).discover)
            for site in sites
            if _discovers(site)
        ]
        results = query_sites(jobs, self.get_option("max_workers"))
        return {
            name: {"hosts": [host.__dict__ for host in result.value or []], "error": result.error}
            for name, result in results.items()
        }

    def _populate(self, federation, sites, discovered):
        strict_sites = self.get_option("fail_on_errors")
        failures = []
        for site in sites:
            entry = discovered.get(site.name, {"hosts": [], "error": None})
            if entry["error"]:
                message = f"site {site.name!r} ({site.provider}): {entry['error']}"
                if strict_sites or site.fail_on_errors:
                    failures.append(message)
                else:
                    self.display.warning(f"infn.cloud.federation: {message}; its discovered hosts are left out")
        if failures:
            raise AnsibleParserError("sites could not be queried:\n" + "\n".join(failures))

        for name in ("backbone", "federated", "coupling_tight", "coupling_loose"):
            self.inventory.add_group(name)
        for role in federation.roles:
            self.inventory.add_group(role)
        # Declared names are reserved first, so a discovered host never takes one.
        taken = {host.name for site in sites for host in site.hosts}
        for site in sites:
            found = [dict(host) for host in discovered.get(site.name, {"hosts": []})["hosts"]]
            self._add_site(federation, site, found, taken)

    def _add_site(self, federation, site, discovered_hosts, taken):
        inventory = self.inventory
        site_group = inventory.add_group(group_name("site", site.name))
        inventory.add_child("backbone" if site.backbone else "federated", site_group)
        inventory.add_child("coupling_tight" if site.backbone else "coupling_loose", site_group)
        inventory.add_child(inventory.add_group(group_name("provider", site.provider)), site_group)
        for key, value in site.vars.items():
            inventory.set_variable(site_group, key, _trusted(value))
        provider = provider_for(site, federation.name)
        base = _trusted(
            {
                "federation": federation.name,
                "domain": federation.domain,
                "site": site.name,
                "provider": site.provider,
                "coupling": site.coupling,
            }
        )
        known_roles = set(federation.roles)
        live: dict = {}
        for found in discovered_hosts:
            # Only service roles make groups: a server's metadata must not put it in `backbone`.
            found["roles"] = [role for role in found.get("roles") or () if role in known_roles]
            live.setdefault(found["name"], []).append(found)
        for host in site.hosts:
            matches = live.get(host.name)
            found = matches.pop(0) if matches else {}
            declared = _trusted(provider.connection_vars(host))
            connection = {**(found.get("connection") or {}), **declared}  # what the operator wrote wins
            info = {
                **base,
                "region": _trusted(host.region) or found.get("region"),
                "zone": _trusted(host.zone) or found.get("zone"),
                "roles": sorted(set(_trusted(list(host.roles))) | set(found.get("roles") or ())),
                "address": _trusted(host.address) or found.get("address"),
                "declared": True,
                "facts": found.get("facts") or {},
            }
            self._add_host(host.name, site_group, info, connection, _trusted(host.vars))
        for name, matches in live.items():
            for found in matches:
                info = {
                    **base,
                    "region": found.get("region"),
                    "zone": found.get("zone"),
                    "roles": sorted(found["roles"]),
                    "address": found.get("address"),
                    "declared": False,
                    "facts": found.get("facts") or {},
                }
                unique = _unique_name(name, str((found.get("facts") or {}).get("id") or site.name), taken)
                taken.add(unique)
                self._add_host(unique, site_group, info, found.get("connection") or {}, {})

    def _add_host(self, name, site_group, info, connection, host_vars):
        inventory = self.inventory
        inventory.add_host(name, group=site_group)
        if info["region"]:
            inventory.add_child(inventory.add_group(group_name("region", info["region"])), name)
        for role in info["roles"]:
            inventory.add_child(inventory.add_group(role), name)
        variables = {**connection, **host_vars, "infn_cloud": info}
        for key, value in variables.items():
            inventory.set_variable(name, key, value)
        strict = self.get_option("strict")
        self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)
