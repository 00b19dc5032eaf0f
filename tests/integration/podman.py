"""Small helpers to look at what podman runs, for the integration tests."""

import subprocess

from tests.common import ansible_environment


def podman(*args, check=True):
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check, env=ansible_environment())


def names(kind, prefix):
    """Names of podman objects of a kind (container, network, volume) starting with prefix."""
    listing = {
        "container": ["ps", "-a", "--format", "{{.Names}}"],
        "network": ["network", "ls", "--format", "{{.Name}}"],
        "volume": ["volume", "ls", "--format", "{{.Name}}"],
    }[kind]
    return sorted(name for name in podman(*listing).stdout.split() if name.startswith(prefix))
