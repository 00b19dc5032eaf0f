# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deploying a TOSCA service on the best site of the federation, and undeploying it.

``deploy()``: compile -> rank the sites -> for each site in rank order (up to a limit):
provision its hosts and volumes, run the compiled playbook through ansible-runner; on a
failure remove everything made there (and check it is gone), then try the next site. The
state document (state.py) is written at every step, under the deployment's lock, so a run
that was killed is resumed by the next one on the site it was on, without new hosts.
``undeploy()``: the undeploy playbook (stop, delete), then every site it touched cleaned.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from dataclasses import dataclass, field

from ansible_collections.infn.cloud.plugins.module_utils.deployment import state as states
from ansible_collections.infn.cloud.plugins.module_utils.deployment.placement import rank_sites
from ansible_collections.infn.cloud.plugins.module_utils.deployment.runner import run_playbook
from ansible_collections.infn.cloud.plugins.module_utils.providers.base import (
    HostRequest,
    SiteError,
    VolumeRequest,
)
from ansible_collections.infn.cloud.plugins.module_utils.providers.registry import provider_for
from ansible_collections.infn.cloud.plugins.module_utils.sites import query_sites
from ansible_collections.infn.cloud.plugins.module_utils.tosca.compiler import compile_file
from ansible_collections.infn.cloud.plugins.module_utils.tosca.plan import PlayStep

CLEANUP_TRIES = 3
CLEANUP_PAUSE = 5  # seconds, times the try's number


class DeploymentError(Exception):
    """The deployment failed or cannot start; the message is for the operator, whole."""

    def __init__(self, message: str, document: dict | None = None):
        super().__init__(message)
        self.document = document


@dataclass
class Request:
    name: str
    template: str
    project: str
    inputs: dict = field(default_factory=dict)
    sites: tuple = ()  # only these (in the ranking's order)
    max_attempts: int = 3
    site_timeout: float = 1800
    role_registry: dict = field(default_factory=dict)
    import_map: dict = field(default_factory=dict)
    allow_network: bool = False
    envvars: dict = field(default_factory=dict)  # for the ansible-playbook runs (collections path...)
    # The collection's secrets folder, given to the runs as infn_cloud_secrets_dir: where a
    # service's operations keep what they generate (its passwords), with the roles' secrets.
    secrets_dir: str = ""


def _digest(plan) -> str:
    """What identifies a compiled service: its playbook's and vars' text (deterministic)."""
    digest = hashlib.sha256()
    for file_name in (f"{plan.name}.yml", f"{plan.name}.vars.yml"):
        digest.update(plan.files[file_name].encode("utf-8"))
    return digest.hexdigest()


class Orchestrator:
    def __init__(self, federation, store: states.DeploymentStore, progress=None):
        self.federation = federation
        self.store = store
        self.progress = progress or (lambda message: None)

    # ---- helpers ----

    def _provider(self, site_name: str):
        return provider_for(self.federation.site(site_name), self.federation.name)

    def _work_dir(self, name: str) -> str:
        return os.path.join(self.store.folder, name)

    def _say(self, deployment, message: str) -> None:
        self.progress(f"[{deployment.name}] {message}")

    def _node(self, deployment, node: str, node_state: str) -> None:
        deployment.node_state(node, node_state)
        self._say(deployment, f"{node}: {node_state}")

    def compile(self, request: Request, output_dir: str):
        """The plan, its files not written (Plan.write() does it when the service is deployed)."""
        return compile_file(
            request.template,
            output_dir,
            request.inputs,
            request.import_map,
            request.role_registry,
            request.allow_network,
            "service",
            write=False,
        )

    # ---- deploy ----

    def plan(self, request: Request, output_dir: str, resume_site: str | None = None):
        """(plan, choices, ranking) without changing anything."""
        plan = self.compile(request, output_dir)
        if plan.missing_inputs:
            raise DeploymentError(
                "the template reads inputs that have no value and no default; give them in the inputs option: "
                + ", ".join(spec.describe() for spec in plan.missing_inputs)
            )
        jobs = []
        for site in self.federation.sites:
            provider = provider_for(site, self.federation.name)
            jobs.append((site.name, site.timeout, _capacity_and_offer(provider)))
        answers = query_sites(jobs)
        choices, ranking = rank_sites(self.federation, plan, request.project, answers, request.sites, resume_site)
        return plan, choices, ranking

    def deploy(self, request: Request, check_mode: bool = False) -> tuple:
        """(changed, document); DeploymentError when the service could not be deployed."""
        with self.store.locked(request.name):
            found = states.Deployment.read(self.store, request.name)
            # Where the deployment has hosts now: tried first, without counting them twice.
            resume_site = found.site if found and found.status != states.DELETE_COMPLETE else None
            plan, choices, ranking = self.plan(
                request, os.path.join(self._work_dir(request.name), "compiled"), resume_site
            )
            digest = _digest(plan)
            if found and found.status == states.CREATE_COMPLETE and found.document["digest"] == digest:
                missing = self._missing_hosts(found, plan)
                if not missing:
                    return False, found.document
                self._say(found, "hosts missing on " + found.site + ": " + ", ".join(missing))
            if check_mode:
                if not choices:
                    raise DeploymentError(_no_site(ranking))
                preview = (
                    found.document
                    if found
                    else states.new_document(request.name, request.project, request.template, digest)
                )
                return True, {**preview, "ranking": ranking, "site": choices[0].site}
            plan.write()
            # A service that ran (complete, or an update of it that failed) is updated where it
            # runs; if that fails it stays there as it is: no failover, nothing removed.
            updating = bool(resume_site) and found.status in (states.CREATE_COMPLETE, states.CREATE_FAILED)
            deployment = states.Deployment.begin(self.store, found, request, digest, plan, ranking)
            if not choices:
                return self._failed(deployment, _no_site(ranking))
            if updating:
                if choices[0].site != resume_site:
                    reason = next(e["reason"] for e in ranking if e["site"] == resume_site)
                    return self._failed(
                        deployment,
                        f"the service runs on {resume_site}, which cannot take it as it is now: {reason};"
                        " undeploy it to deploy it elsewhere",
                    )
                choices = choices[:1]
            started = time.monotonic()
            for choice in choices[: max(1, request.max_attempts)]:
                error = self._attempt(deployment, request, plan, choice, keep=updating)
                if error is None:
                    deployment.deployed(time.monotonic() - started)
                    return True, deployment.document
            tried = "; ".join(
                f"{a['site']}: {a['phase']}: {a['error']}"
                + (f" (NOT cleaned up: {a['cleanup_error']})" if a.get("cleanup_error") else "")
                for a in deployment.attempts
                if a.get("error")
            )
            untried = len(choices) - min(len(choices), max(1, request.max_attempts))
            more = (
                f" ({untried} more eligible site(s) not tried: max_attempts {request.max_attempts})" if untried else ""
            )
            return self._failed(deployment, f"every site tried failed{more}: {tried}")

    def _failed(self, deployment, reason: str):
        deployment.failed(reason)
        raise DeploymentError(reason, deployment.document)

    def _missing_hosts(self, deployment, plan) -> list:
        try:
            present = set(self._provider(deployment.site).deployment_hosts(deployment.name))
        except (SiteError, KeyError, StopIteration):
            return [host.node for host in plan.hosts]
        return [host.node for host in plan.hosts if deployment.nodes.get(host.node, {}).get("host") not in present]

    def _attempt(self, deployment, request: Request, plan, choice, keep=False) -> str | None:
        """One site: provision, configure; None on success, else the error (the site cleaned,
        unless keep: an update of a running service leaves it where it is)."""
        provider = self._provider(choice.site)
        attempt, resuming = deployment.start_attempt(choice.site)
        self._say(deployment, f"site {choice.site} ({choice.reason}){': resuming' if resuming else ''}")
        deadline = time.monotonic() + request.site_timeout
        attached = {}
        for volume in plan.volumes:
            for compute, location in volume.attachments:
                attached.setdefault(compute, []).append((volume.node, location))
        hosts = [
            HostRequest(
                node=host.node,
                cores=host.cores,
                ram_gb=host.ram_gb,
                image=choice.images[host.node],
                flavor=choice.flavors.get(host.node),
                public=host.public,
                volumes=attached.get(host.node, []),
            )
            for host in plan.hosts
        ]
        volumes = [VolumeRequest(volume.node, volume.size_gb) for volume in plan.volumes]
        phase_started = time.monotonic()
        try:
            for host in hosts:
                if deployment.nodes[host.node]["state"] in ("initial", "error", "deleted"):
                    self._node(deployment, host.node, "creating")
            provisioned = provider.provision(deployment.name, hosts, volumes, deadline)
        except SiteError as error:
            return self._attempt_failed(deployment, attempt, provider, "provision", str(error), keep)
        deployment.provisioned(
            attempt,
            choice.site,
            provisioned,
            {host.node: host.group for host in plan.hosts},
            [volume.node for volume in plan.volumes],
            time.monotonic() - phase_started,
        )
        self._say(
            deployment, f"{len(provisioned)} host(s) up on {choice.site}: " + ", ".join(h.name for h in provisioned)
        )
        inventory = self._inventory(deployment.document, choice.site, secrets_dir=request.secrets_dir)
        phase_started = time.monotonic()
        result = run_playbook(
            os.path.join(self._work_dir(deployment.name), "runner"),
            plan.playbook_path,
            inventory,
            max(1.0, deadline - time.monotonic()),
            on_node=lambda node, node_state: self._node(deployment, node, node_state),
            envvars=request.envvars,
            plays=plan.plays,
        )
        deployment.configure_took(attempt, time.monotonic() - phase_started)
        if not result.ok:
            return self._attempt_failed(deployment, attempt, provider, "configure", result.reason(), keep)
        deployment.configured(attempt, result.outputs)
        self._say(deployment, f"CREATE_COMPLETE on {choice.site}")
        return None

    def _attempt_failed(self, deployment, attempt: dict, provider, phase: str, error: str, keep=False) -> str:
        deployment.attempt_failed(attempt, phase, error)
        if keep:
            self._say(deployment, f"{attempt['site']}: {phase} failed: {error}; the running service is left as it is")
            return error
        self._say(deployment, f"{attempt['site']}: {phase} failed: {error}; removing what was made there")
        deployment.cleaned_up(attempt, _remove(provider, deployment.name))
        return error

    def _inventory(self, document: dict, site_name: str, live=None, secrets_dir: str = "") -> dict:
        """The run's inventory, from the state: group tosca_<compute> holds that node's host;
        every host knows the deployment's name and the secrets folder."""
        site = self.federation.site(site_name)
        groups = {}
        for entry in document["nodes"].values():
            if not entry.get("host") or not entry.get("group") or (live is not None and entry["host"] not in live):
                continue
            groups[entry["group"]] = {
                "hosts": {
                    entry["host"]: {
                        **site.vars,
                        **entry["connection"],
                        "tosca_private_address": entry.get("address"),
                        "tosca_public_address": entry.get("public_address"),
                        "infn_cloud_site": site_name,
                    }
                }
            }
        common = {"infn_cloud_deployment": document["name"]}
        if secrets_dir:
            common["infn_cloud_secrets_dir"] = secrets_dir
        return {
            "all": {
                "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": _python()}},
                "children": groups,
                "vars": common,
            }
        }

    # ---- undeploy ----

    def undeploy(self, name: str, request: Request | None = None, check_mode: bool = False) -> tuple:
        with self.store.locked(name):
            deployment = states.Deployment.read(self.store, name)
            if deployment is None or deployment.status == states.DELETE_COMPLETE:
                return False, deployment and deployment.document
            if check_mode:
                return True, {**deployment.document, "status": states.DELETE_IN_PROGRESS}
            deployment.deleting()
            started = time.monotonic()
            undeploy_playbook = os.path.join(self._work_dir(name), "compiled", "service.undeploy.yml")
            site = deployment.site
            if site and os.path.exists(undeploy_playbook):
                reason = self._run_teardown(deployment, site, undeploy_playbook, request)
                if reason:
                    deployment.delete_failed(reason)
                    raise DeploymentError(reason, deployment.document)
            sites = {a["site"] for a in deployment.attempts} | ({site} if site else set())
            left = []
            for site_name in sorted(sites):
                try:
                    provider = self._provider(site_name)
                    if provider.leftovers(name):
                        self._say(deployment, f"removing what is left on {site_name}")
                        error = _remove(provider, name)
                        if error:
                            left.append(f"{site_name}: {error}")
                except (SiteError, StopIteration) as error:
                    left.append(f"{site_name}: {error}")
            if left:
                reason = "could not remove everything: " + "; ".join(left)
                deployment.delete_failed(reason)
                raise DeploymentError(reason, deployment.document)
            deployment.deleted(time.monotonic() - started)
            self._say(deployment, "DELETE_COMPLETE")
            return True, deployment.document

    def _run_teardown(self, deployment, site: str, playbook: str, request: Request | None) -> str:
        """The undeploy playbook on the hosts still there; its error, or ''."""
        document = deployment.document
        if not document.get("teardown", True):  # no node has a stop or delete operation
            return ""
        try:
            live = set(self._provider(site).deployment_hosts(deployment.name))
        except SiteError as error:
            return f"cannot list the hosts on {site}: {error}"
        result = run_playbook(
            os.path.join(self._work_dir(deployment.name), "runner"),
            playbook,
            self._inventory(document, site, live, request.secrets_dir if request else ""),
            request.site_timeout if request else 1800,
            envvars=request.envvars if request else {},
            plays={play: PlayStep(node) for play, node in (document.get("plays") or {}).items()},
        )
        return "" if result.ok else f"undeploy playbook: {result.reason()}"


def _remove(provider, deployment: str, tries: int = CLEANUP_TRIES) -> str | None:
    """Everything of the deployment on the provider's site removed and checked gone; None, or
    the last error. Tried again on failure: under load a removal can time out half done, and
    what a killed create was still making can show up after the first listing."""
    for attempt in range(1, tries + 1):
        try:
            provider.deprovision(deployment)
            return None
        except SiteError as error:
            if attempt == tries:
                return str(error)
            time.sleep(CLEANUP_PAUSE * attempt)
    return None


def _no_site(ranking: list) -> str:
    return "no site can take the service: " + "; ".join(f"{entry['site']}: {entry['reason']}" for entry in ranking)


def _python() -> str:
    return sys.executable


def _capacity_and_offer(provider):
    """What placement asks a site, run in the site's child process: its capacity, and its offer
    (or why it has none: a site of declared hosts creates nothing)."""

    def ask():
        try:
            offer = provider.offer()
        except SiteError as error:
            offer = str(error)
        return provider.capacity(), offer

    return ask
