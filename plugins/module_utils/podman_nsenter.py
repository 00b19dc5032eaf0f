# Copyright (c) 2026 INFN Cloud
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How to run a command inside a running podman container of this machine without `podman exec`:
nsenter into its namespaces with the container's own environment. One place for the
infn.cloud.podman_nsenter connection and for the tests' own commands in test hosts."""

from __future__ import annotations

import json
import os
import subprocess
import time

NAMESPACES = ("--mount", "--uts", "--ipc", "--net", "--pid")
# The manager's SystemState while systemd boots.
BOOTING = ("initializing", "starting")
# The manager's state, then that of the unit that empties /tmp at boot.
BOOT_QUESTION = (
    "systemctl show -p SystemState; systemctl show -p LoadState -p ActiveState systemd-tmpfiles-setup.service"
)
BOOT_WAIT = 60  # seconds; then the command runs anyway


class ContainerUnreachable(Exception):
    """The container does not exist here or is not running."""


def can_enter() -> bool:
    """nsenter into another process's namespaces needs root."""
    return os.geteuid() == 0


def enter_command(container: str, podman: str = "podman") -> list:
    """The argv prefix that runs a command inside `container` as its root, with its environment."""
    return entered(*locate(container, podman))


def entered(pid: int, environment: list) -> list:
    """The argv prefix that runs a command in the namespaces of `pid`, with `environment` only."""
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


def wait_booted(pid: int, environment: list, timeout: float = BOOT_WAIT) -> None:
    """When the container's first process is systemd and has not yet emptied /tmp (early in the
    boot, systemd-tmpfiles-setup does; Ansible unpacks a module there, which would then fail
    with its own files gone): until it has, or the boot is over, at most `timeout` seconds."""
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as handle:
            if handle.read().strip() != "systemd":
                return
    except OSError:
        return
    ask = entered(pid, environment)
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = subprocess.run(
                [*ask, "/bin/sh", "-c", BOOT_QUESTION], capture_output=True, text=True, timeout=10, check=False
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            answer = ""
        if tmp_settled(answer) or time.monotonic() >= deadline:
            return
        time.sleep(0.5)


def tmp_settled(answer: str) -> bool:
    """From BOOT_QUESTION's answer: /tmp will not be emptied any more (nothing: no bus yet)."""
    state = dict(line.split("=", 1) for line in answer.splitlines() if "=" in line)
    if "SystemState" not in state:
        return False
    if state["SystemState"] not in BOOTING:
        return True
    return state.get("LoadState") != "loaded" or state.get("ActiveState") in ("active", "failed")
