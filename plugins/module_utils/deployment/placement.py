# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which sites can take a service, and in which order to try them.

``rank_sites`` reads what a compiled plan asks for (its hosts with their cores, memory, OS and
public address, its volumes, the SLA its placement policies want: plan.py), filters the
federation's sites by the SLA (project, services, quotas, flavors and images) and by those
policies, and ranks the rest by SLA priority, then by the share of their tightest quota the
service leaves free, then by how fast they answered. Every site gets a one-line reason, whether it
is a candidate or not: the operator sees why a service went where it went.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ansible_collections.infn.cloud.plugins.module_utils.tosca.plan import HostSpec, Plan


class PlacementError(Exception):
    """The request cannot be placed anywhere; the message says why, per site when it can."""


@dataclass
class Choice:
    """A site the service may go to, with what each host would be made of."""

    site: str
    provider: str
    priority: int
    free_share: float
    seconds: float
    reason: str
    images: dict  # node -> image name
    flavors: dict  # node -> flavor name or None


def image_matches(image: dict, wanted: dict) -> bool:
    """An image fits a host's os capability when every property it names agrees."""
    if "image" in wanted:
        name = wanted["image"]
        return name in (image.get("name"), image.get("name", "").rsplit("/", 1)[-1])
    for key in ("type", "distribution", "version", "architecture"):
        if key not in wanted:
            continue
        have = str(image.get(key) or "").lower()
        want = wanted[key].lower()
        if key == "version":
            # '22.04' fits 22.04 and 22.04.3; '12' fits 12 and 12.4.
            if not (have == want or have.startswith(want + ".")):
                return False
        elif have != want:
            return False
    return True


def smallest_flavor(flavors: list, need: HostSpec):
    fitting = [
        flavor
        for flavor in flavors
        if flavor["cores"] >= need.cores and flavor["ram_gb"] >= need.ram_gb and flavor.get("gpus", 0) >= need.gpus
    ]
    return min(fitting, key=lambda f: (f.get("gpus", 0), f["cores"], f["ram_gb"], f["name"]), default=None)


def _describe_os(wanted: dict) -> str:
    return " ".join(f"{key} {value}" for key, value in wanted.items()) or "any OS"


def rank_sites(federation, plan: Plan, project: str, answers: dict, only_sites=(), resume_site=None) -> tuple:
    """(choices best first, report): report has one entry per site of the federation.

    answers maps a site name to its SiteResult (plugins/module_utils/sites.py) whose value is
    the site's (Capacity, Offer or why it offers nothing); a site missing from answers was not
    asked. resume_site already holds the service's hosts: its quota is not counted twice.
    """
    totals = plan.totals()
    report, choices = [], []
    wanted_ids = set(plan.sla_ids)
    for site in federation.sites:
        entry = {"site": site.name, "provider": site.provider, "priority": site.sla.priority, "eligible": False}
        report.append(entry)
        reason = _exclusion(site, plan, project, only_sites, wanted_ids)
        answer = answers.get(site.name)
        capacity, offer = answer.value if answer is not None and answer.ok else (None, None)
        images, flavors = {}, {}
        if not reason:
            if answer is None:
                reason = "not asked"
            elif not answer.ok:
                reason = f"not reachable: {answer.error}"
            elif not capacity.reachable:
                reason = f"not reachable: {capacity.reason}"
            elif isinstance(offer, str):
                reason = offer
        if not reason and site.name != resume_site:
            short = capacity.shortfall(totals)
            reason = "not enough quota: " + "; ".join(short) if short else ""
        if not reason:
            for host in plan.hosts:
                image = next((i for i in offer.images if image_matches(i, host.os)), None)
                if image is None:
                    offered = ", ".join(i["name"] for i in offer.images) or "none"
                    reason = f"no image for {host.node} ({_describe_os(host.os)}); it offers: {offered}"
                    break
                images[host.node] = image["name"]
                if offer.flavors is None:
                    flavors[host.node] = None
                    continue
                flavor = smallest_flavor(offer.flavors, host)
                if flavor is None:
                    offered = ", ".join(f"{f['name']} ({f['cores']} cores, {f['ram_gb']:g} GiB)" for f in offer.flavors)
                    reason = (
                        f"no flavor for {host.node} ({host.cores} cores, {host.ram_gb:g} GiB"
                        f"{f', {host.gpus} GPUs' if host.gpus else ''}); it offers: {offered or 'none'}"
                    )
                    break
                flavors[host.node] = flavor["name"]
        if reason:
            entry["reason"] = reason
            continue
        share, tightest = _free_share(capacity.free, capacity.limits, {} if site.name == resume_site else totals)
        seconds = answer.seconds
        entry.update(eligible=True, free_share=round(share, 3))
        entry["reason"] = (
            f"SLA priority {site.sla.priority}; leaves {share:.0%} of its {tightest or 'capacity'} free; "
            f"answered in {seconds:.2f} s"
        )
        choices.append(
            Choice(site.name, site.provider, site.sla.priority, share, seconds, entry["reason"], images, flavors)
        )
    # The site already holding the service first (a resumed run finishes there), then by rank.
    choices.sort(key=lambda c: (c.site != resume_site, c.priority, -c.free_share, c.seconds, c.site))
    for rank, choice in enumerate(choices, 1):
        next(e for e in report if e["site"] == choice.site)["rank"] = rank
    report.sort(key=lambda e: (e.get("rank", math.inf), e["site"]))
    return choices, report


def _exclusion(site, plan: Plan, project: str, only_sites, wanted_ids: set) -> str:
    if only_sites and site.name not in only_sites:
        return "not among the sites asked for (" + ", ".join(only_sites) + ")"
    if wanted_ids and not wanted_ids & {site.name, site.sla.id}:
        return "the template's placement policy asks for " + ", ".join(sorted(wanted_ids))
    if site.sla.projects and project not in site.sla.projects:
        return f"its SLA does not admit project {project!r} (only " + ", ".join(site.sla.projects) + ")"
    missing = [service for service in plan.services if service not in site.sla.services]
    if site.sla.services and missing:
        return "its SLA offers no " + ", ".join(missing) + " service (only " + ", ".join(site.sla.services) + ")"
    return ""


def _free_share(free: dict, limits: dict, totals: dict) -> tuple:
    """The smallest share of a quota left free after the service, and which quota that is."""
    shares = {
        key: (free[key] - totals.get(key, 0)) / limits[key] for key in free if limits.get(key) and limits[key] > 0
    }
    if not shares:
        return 1.0, ""
    key = min(shares, key=lambda k: (shares[k], k))
    return shares[key], key
