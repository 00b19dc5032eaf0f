"""The OpenStack test site (tests/testbed/openstack/site.sh) for the integration tests.

`openstack_cloud()` starts the site once per pytest session and returns the path of its
clouds.yaml (clouds `infn-os-admin` and `infn-os-demo`). When the site cannot start (podman
missing, the image build fails, a timeout), the calling test fails with the reason: a site that
does not start is a red run, never a quiet skip. `make test` starts the site first, alone
(`make openstack-site`), so here `site.sh up` finds it running and ready.
"""

import functools
import os
import shutil
import subprocess
import time

import openstack
import pytest

from tests.common import REPO

SITE = REPO / "tests/testbed/openstack/site.sh"
CLOUDS_YAML = REPO / "build/openstack/clouds.yaml"
# A first build installs and seeds OpenStack (5-8 minutes); a start from the image takes ~1.
UP_TIMEOUT = 30 * 60


def _reason(stderr):
    """The last `testbed: ...` line site.sh printed, else its last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("testbed: "):
            return line.removeprefix("testbed: ")
    return lines[-1] if lines else "site.sh up failed without a message"


@functools.cache
def _start():
    """(clouds.yaml path, None) once the site is up, or (None, reason): `site.sh up` runs once."""
    if shutil.which("podman") is None:
        return None, "podman is not installed"
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(REPO / "tests/testbed/containers.conf"))
    try:
        result = subprocess.run(
            ["bash", str(SITE), "up"], capture_output=True, text=True, env=env, timeout=UP_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return None, f"site.sh up did not finish within {UP_TIMEOUT}s"
    if result.returncode != 0:
        return None, _reason(result.stderr)
    if not CLOUDS_YAML.exists():
        return None, f"site.sh up wrote no {CLOUDS_YAML.relative_to(REPO)}"
    return CLOUDS_YAML, None


def openstack_cloud():
    """Path of the site's clouds.yaml; fails the calling test when the site does not start."""
    path, reason = _start()
    if path is None:
        pytest.fail(f"the OpenStack test site did not start: {reason}")
    return path


def wait_until(what, check, timeout=180, interval=2):
    """Polls check() until it returns something true, which is returned; fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout}s")
        time.sleep(interval)


def demo_connection(clouds_yaml):
    """An openstacksdk connection as the demo project, from the site's clouds.yaml only."""
    config = openstack.config.OpenStackConfig(config_files=[str(clouds_yaml)], vendor_files=[], load_envvars=False)
    return openstack.connection.Connection(config=config.get_one(cloud="infn-os-demo"))
