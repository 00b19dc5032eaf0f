# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local podman "site": systemd-booted containers on this machine, for development.

Containers belong to a site through their labels (infn.cloud.federation, infn.cloud.site,
infn.cloud.host, infn.cloud.roles); the podman CLI is asked once for the list and once for
the details of all of them.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
import time

from ansible_collections.infn.cloud.plugins.module_utils.podman_nsenter import can_enter
from ansible_collections.infn.cloud.plugins.module_utils.providers.base import (
    LABEL_DEPLOYMENT,
    LABEL_FEDERATION,
    LABEL_HOST,
    LABEL_NODE,
    LABEL_ROLES,
    LABEL_SITE,
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

GIB = 1024**3
# The systemd-booted Debian images of the test bed, by their tag: what placement matches a
# template's os capability against (a site may list its own under sla.images instead).
DEBIAN_RELEASES = {"bookworm": "12", "trixie": "13", "bullseye": "11"}
BOOT_TIMEOUT = 120


class PodmanProvider(Provider):
    NAME = "podman"

    def connection_vars(self, host) -> dict:
        return _connection(host.container)

    def _podman(self, *args, timeout=None, error=SiteError) -> str:
        if not shutil.which("podman"):
            raise error("podman is not installed on this machine")
        timeout = timeout or self.site.timeout
        try:
            result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise error(f"podman {args[0]} did not answer within {timeout:g}s") from None
        if result.returncode != 0:
            reason = (result.stderr.strip().splitlines() or ["no error output"])[-1]
            raise error(f"podman {' '.join(args[:2])} failed: {reason}")
        return result.stdout

    def _site_filters(self, *extra) -> list:
        filters = [f"label={LABEL_FEDERATION}={self.federation_name}", f"label={LABEL_SITE}={self.site.name}", *extra]
        return [part for label in filters for part in ("--filter", label)]

    def _containers(self, *extra, every=False, error=SiteError) -> list:
        listing = json.loads(
            self._podman(
                "ps", *(["--all"] if every else []), "--format", "json", *self._site_filters(*extra), error=error
            )
            or "[]"
        )
        ids = [entry["Id"] for entry in listing]
        return json.loads(self._podman("inspect", *ids, error=error)) if ids else []

    def discover(self) -> list:
        network = (self.site.podman or {}).get("network")
        hosts = []
        for container in self._containers():
            labels = container.get("Config", {}).get("Labels") or {}
            if LABEL_DEPLOYMENT in labels:
                continue  # a deployed service's host: infn.cloud.deployment_info tells of it, not the inventory
            name = container["Name"].lstrip("/")
            networks = container.get("NetworkSettings", {}).get("Networks") or {}
            addresses = {net: details.get("IPAddress") for net, details in networks.items() if details.get("IPAddress")}
            address = addresses.get(network) or next(iter(addresses.values()), None)
            hosts.append(
                DiscoveredHost(
                    name=labels.get(LABEL_HOST) or name,
                    address=address,
                    roles=split_roles(labels.get(LABEL_ROLES)),
                    region=self.site.regions[0] if self.site.regions else None,
                    connection=_connection(name),
                    facts={
                        "id": container["Id"],
                        "name": name,
                        "image": container.get("ImageName") or container.get("Image"),
                        "state": container.get("State", {}).get("Status"),
                        "addresses": addresses,
                        "labels": labels,
                    },
                )
            )
        return hosts

    def capacity(self) -> Capacity:
        try:
            info = json.loads(self._podman("info", "--format", "json"))
            containers = self._containers()
        except (SiteError, ValueError) as error:
            return Capacity(reachable=False, reason=str(error), limits=self.sla_limits())
        machine = {"cores": info["host"]["cpus"], "ram_gb": round(info["host"]["memTotal"] / GIB, 2)}
        # Containers share the machine's CPUs and memory: the SLA's quotas are what the site
        # grants (overcommitted or not, as the operator wrote); the machine's size where it says none.
        limits = {**machine, **self.sla_limits()}
        running = [c for c in containers if c.get("State", {}).get("Running")]
        usage = {
            "instances": len(running),
            "cores": sum((c.get("HostConfig", {}).get("NanoCpus") or 0) / 1e9 for c in running),
            "ram_gb": round(sum(c.get("HostConfig", {}).get("Memory") or 0 for c in running) / GIB, 2),
        }
        return Capacity(reachable=True, reason="", limits=limits, usage=usage)

    # ---- deployments ----

    def offer(self) -> Offer:
        if self.site.sla.images:
            return Offer(images=[image_description(name) for name in self.site.sla.images])
        image = self.site.podman["image"]
        tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
        release = DEBIAN_RELEASES.get(tag)
        described = {"name": image, "type": "linux", "architecture": _architecture()}
        if release:
            described.update(distribution="debian", version=release)
        return Offer(images=[described])

    def _deployment_filter(self, deployment: str) -> str:
        return f"label={LABEL_DEPLOYMENT}={deployment}"

    def container_name(self, deployment: str, node: str) -> str:
        return f"{self.site.podman['container_prefix']}{deployment}-{node}".replace("_", "-")

    def provision(self, deployment: str, hosts: list, volumes: list, deadline: float) -> list:
        def remaining() -> float:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProvisionError("the site's time for provisioning ran out")
            return left

        labels = {
            LABEL_FEDERATION: self.federation_name,
            LABEL_SITE: self.site.name,
            LABEL_DEPLOYMENT: deployment,
        }
        label_args = [part for key, value in labels.items() for part in ("--label", f"{key}={value}")]
        existing = {
            c["Config"]["Labels"].get(LABEL_NODE): c
            for c in self._containers(self._deployment_filter(deployment), every=True, error=ProvisionError)
        }
        wanted = {host.node for host in hosts}
        for node, container in existing.items():
            if node not in wanted:  # a node the template no longer has
                self._podman("rm", "--force", "--time", "5", container["Id"], error=ProvisionError, timeout=remaining())
        self._check_quota([host for host in hosts if host.node not in existing])
        volume_names = {volume.node: self.container_name(deployment, volume.node) for volume in volumes}
        present_volumes = set(self._volumes(deployment))
        for volume in volumes:
            name = volume_names[volume.node]
            if name not in present_volumes:
                self._podman(
                    "volume", "create", *label_args, "--label", f"{LABEL_NODE}={volume.node}", name,
                    error=ProvisionError, timeout=remaining(),
                )  # fmt: skip
        network = self._ensure_network(remaining())
        free = self._free_addresses(network) if any(host.node not in existing for host in hosts) else iter(())
        provisioned = []
        booting = []  # only hosts created or started now need to be waited for
        for host in hosts:
            name = self.container_name(deployment, host.node)
            container = existing.get(host.node)
            if container is None:
                booting.append(name)
                address = next(free, None)
                if address is None:
                    raise ProvisionError(f"no free address left in {self.site.podman['subnet']} for {host.node}")
                mounts = []
                for volume_node, location in host.volumes:
                    if volume_node in volume_names:
                        mounts += ["--volume", f"{volume_names[volume_node]}:{location or '/mnt/' + volume_node}"]
                self._podman(
                    "run", "--detach", "--name", name, "--hostname", host.node.replace("_", "-"),
                    "--network", network, "--ip", address, "--systemd", "always", "--stop-timeout", "10",
                    "--cpus", str(host.cores), "--memory", f"{max(int(host.ram_gb * 1024), 64)}m",
                    *label_args, "--label", f"{LABEL_NODE}={host.node}", *mounts,
                    "--pull", "never", host.image, "/sbin/init",
                    error=ProvisionError, timeout=remaining(),
                )  # fmt: skip
            elif not container.get("State", {}).get("Running"):
                booting.append(name)
                self._podman("start", name, error=ProvisionError, timeout=remaining())
        for name in booting:
            self._wait_booted(name, remaining())
        for container in self._containers(self._deployment_filter(deployment), every=True, error=ProvisionError):
            node = container["Config"]["Labels"].get(LABEL_NODE)
            name = container["Name"].lstrip("/")
            address = ((container.get("NetworkSettings", {}).get("Networks") or {}).get(network) or {}).get("IPAddress")
            provisioned.append(
                ProvisionedHost(
                    node=node,
                    name=name,
                    address=address,
                    public_address=address,  # the bridge is routed on this machine
                    connection=_connection(name),
                    facts={
                        "id": container["Id"],
                        "image": container.get("ImageName"),
                        "network": network,
                        "volumes": sorted(
                            m["Name"]
                            for m in container.get("Mounts") or []
                            if m.get("Type") == "volume" and m.get("Name")
                        ),
                    },
                )
            )
        return sorted(provisioned, key=lambda h: h.node)

    def _wait_booted(self, name: str, timeout: float) -> None:
        """Until systemd in the container has booted ('degraded' is booted: a unit that failed is
        the template's business). Right after the start there may be no bus to ask yet."""
        deadline = time.monotonic() + max(1.0, min(BOOT_TIMEOUT, timeout))
        while True:
            bound = int(max(1, deadline - time.monotonic()))
            try:
                result = subprocess.run(
                    ["podman", "exec", name, "timeout", str(bound), "systemctl", "is-system-running", "--wait"],
                    capture_output=True, text=True, timeout=bound + 10, check=False,
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                raise ProvisionError(f"{name} did not finish booting within {bound}s") from None
            state = result.stdout.strip()
            if state in ("running", "degraded"):
                return
            reason = state or (result.stderr.strip().splitlines() or ["no output"])[-1]
            if time.monotonic() >= deadline:
                raise ProvisionError(f"{name} did not boot: {reason}")
            time.sleep(0.5)

    def _volumes(self, deployment: str) -> list:
        listing = self._podman(
            "volume", "ls", "--format", "{{.Name}}", *self._site_filters(self._deployment_filter(deployment)),
            error=ProvisionError,
        )  # fmt: skip
        return listing.split()

    def _ensure_network(self, timeout: float) -> str:
        """The site's network, made when it is not there (its hosts may not be up yet)."""
        network = self.site.podman["network"]
        exists = subprocess.run(
            ["podman", "network", "exists", network], capture_output=True, timeout=timeout, check=False
        ).returncode
        if exists != 0:
            self._podman(
                "network", "create", "--subnet", self.site.podman["subnet"],
                "--label", f"{LABEL_FEDERATION}={self.federation_name}", "--label", f"{LABEL_SITE}={self.site.name}",
                network, error=ProvisionError, timeout=timeout,
            )  # fmt: skip
        return network

    def _free_addresses(self, network: str):
        """Addresses no container on the network and no declared host uses, from the top down:
        declared hosts take theirs from the bottom, and a declared host started later must
        still find its own free."""
        subnet = ipaddress.ip_network(self.site.podman["subnet"])
        taken = {str(host.address) for host in self.site.hosts if host.address}
        listing = json.loads(
            self._podman("ps", "--all", "--format", "json", "--filter", f"network={network}", error=ProvisionError)
            or "[]"
        )
        ids = [entry["Id"] for entry in listing]
        for container in json.loads(self._podman("inspect", *ids, error=ProvisionError)) if ids else []:
            for details in (container.get("NetworkSettings", {}).get("Networks") or {}).values():
                if details.get("IPAddress"):
                    taken.add(details["IPAddress"])
        gateway = str(next(subnet.hosts()))
        taken.add(gateway)
        return (str(address) for address in reversed(list(subnet.hosts())) if str(address) not in taken)

    def _check_quota(self, new_hosts: list) -> None:
        """The SLA quota, checked again just before creating: another deployment may have taken
        what placement saw free."""
        if not new_hosts:
            return
        capacity = self.capacity()
        if not capacity.reachable:
            raise ProvisionError(capacity.reason)
        wanted = {
            "instances": len(new_hosts),
            "cores": sum(host.cores for host in new_hosts),
            "ram_gb": sum(host.ram_gb for host in new_hosts),
        }
        short = capacity.shortfall(wanted)
        if short:
            raise ProvisionError("quota exhausted at provisioning: " + "; ".join(short))

    def deprovision(self, deployment: str) -> None:
        containers = [
            c["Id"] for c in self._containers(self._deployment_filter(deployment), every=True, error=ProvisionError)
        ]
        if containers:
            self._podman("rm", "--force", "--time", "5", *containers, error=ProvisionError, timeout=120)
        volumes = self._volumes(deployment)
        if volumes:
            self._podman("volume", "rm", "--force", *volumes, error=ProvisionError, timeout=60)
        left = self.leftovers(deployment)
        if left:
            raise ProvisionError("still there after removal: " + ", ".join(left))

    def deployment_hosts(self, deployment: str) -> list:
        listing = self._podman(
            "ps", "--all", "--format", "{{.Names}}", *self._site_filters(self._deployment_filter(deployment)),
            error=ProvisionError,
        )  # fmt: skip
        return sorted(listing.split())

    def leftovers(self, deployment: str) -> list:
        return [f"container {name}" for name in self.deployment_hosts(deployment)] + [
            f"volume {name}" for name in self._volumes(deployment)
        ]


def _connection(container: str) -> dict:
    """How Ansible reaches a container of this machine: by nsenter as root (a third of podman
    exec's CPU per task), else through podman."""
    return {
        "ansible_connection": "infn.cloud.podman_nsenter" if can_enter() else "containers.podman.podman",
        "ansible_host": container,
        "ansible_python_interpreter": "/usr/bin/python3",
    }


def _architecture() -> str:
    import platform

    return {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine().lower())


Provider = PodmanProvider
