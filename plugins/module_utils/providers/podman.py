# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local podman "site": systemd-booted containers on this machine, for development.

Containers belong to a site through their labels (infn.cloud.federation, infn.cloud.site,
infn.cloud.host, infn.cloud.roles); the podman CLI is asked once for the list and once for
the details of all of them.
"""

from __future__ import annotations

import json
import shutil
import subprocess

from ansible_collections.infn.cloud.plugins.module_utils.providers.base import (
    LABEL_FEDERATION,
    LABEL_HOST,
    LABEL_ROLES,
    LABEL_SITE,
    Capacity,
    DiscoveredHost,
    Provider,
    SiteError,
    split_roles,
)

GIB = 1024**3


class PodmanProvider(Provider):
    NAME = "podman"

    def connection_vars(self, host) -> dict:
        return {
            "ansible_connection": "containers.podman.podman",
            "ansible_host": host.container,
            "ansible_python_interpreter": "/usr/bin/python3",
        }

    def _podman(self, *args) -> str:
        if not shutil.which("podman"):
            raise SiteError("podman is not installed on this machine")
        try:
            result = subprocess.run(
                ["podman", *args], capture_output=True, text=True, timeout=self.site.timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise SiteError(f"podman {args[0]} did not answer within {self.site.timeout:g}s") from None
        if result.returncode != 0:
            reason = (result.stderr.strip().splitlines() or ["no error output"])[-1]
            raise SiteError(f"podman {args[0]} failed: {reason}")
        return result.stdout

    def _containers(self) -> list:
        listing = json.loads(
            self._podman(
                "ps",
                "--format",
                "json",
                "--filter",
                f"label={LABEL_FEDERATION}={self.federation_name}",
                "--filter",
                f"label={LABEL_SITE}={self.site.name}",
            )
            or "[]"
        )
        ids = [entry["Id"] for entry in listing]
        return json.loads(self._podman("inspect", *ids)) if ids else []

    def discover(self) -> list:
        network = (self.site.podman or {}).get("network")
        hosts = []
        for container in self._containers():
            labels = container.get("Config", {}).get("Labels") or {}
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
                    connection={
                        "ansible_connection": "containers.podman.podman",
                        "ansible_host": name,
                        "ansible_python_interpreter": "/usr/bin/python3",
                    },
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
        # The SLA may promise less than the machine has, never more.
        limits = {**machine, **self.sla_limits()}
        for key, value in machine.items():
            limits[key] = min(limits[key], value)
        running = [c for c in containers if c.get("State", {}).get("Running")]
        usage = {
            "instances": len(running),
            "cores": sum((c.get("HostConfig", {}).get("NanoCpus") or 0) / 1e9 for c in running),
            "ram_gb": round(sum(c.get("HostConfig", {}).get("Memory") or 0 for c in running) / GIB, 2),
        }
        return Capacity(reachable=True, reason="", limits=limits, usage=usage)


Provider = PodmanProvider
