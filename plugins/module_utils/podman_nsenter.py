# Copyright (c) 2026 INFN Cloud
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How to run a command inside a running podman container of this machine without `podman exec`:
nsenter into its namespaces with the container's own environment. One place for the
infn.cloud.podman_nsenter connection and for the tests' own commands in test hosts."""

from __future__ import annotations

import json
import os
import subprocess

NAMESPACES = ("--mount", "--uts", "--ipc", "--net", "--pid")


class ContainerUnreachable(Exception):
    """The container does not exist here or is not running."""


def can_enter() -> bool:
    """nsenter into another process's namespaces needs root."""
    return os.geteuid() == 0


def enter_command(container: str, podman: str = "podman") -> list:
    """The argv prefix that runs a command inside `container` as its root, with its environment."""
    pid, environment = locate(container, podman)
    return ["nsenter", f"--target={pid}", *NAMESPACES, "--", *clean_environment(environment)]


def clean_environment(environment: list) -> list:
    """`env -i`: the container's environment, not the controller's (as podman exec would have it)."""
    return ["/usr/bin/env", "-i", *environment]


def locate(container: str, podman: str = "podman") -> tuple:
    """The PID of the container's first process and its environment (KEY=value strings)."""
    try:
        inspected = subprocess.run(
            [podman, "container", "inspect", "--format", "{{.State.Pid}} {{json .Config.Env}}", container],
            capture_output=True,
            check=False,
            text=True,
        )
    except OSError as error:
        raise ContainerUnreachable(f"cannot run {podman}: {error}") from error
    pid, _separator, environment = inspected.stdout.strip().partition(" ")
    if inspected.returncode != 0 or not pid.isdigit():
        problem = inspected.stderr.strip() or inspected.stdout.strip()
        raise ContainerUnreachable(f"no container {container!r} on this machine: {problem}")
    if pid == "0":
        raise ContainerUnreachable(f"container {container!r} is not running")
    return int(pid), json.loads(environment or "[]")
