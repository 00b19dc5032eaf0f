"""When a task may run in a container whose systemd is booting: only once /tmp, where a module
is unpacked, will not be emptied any more (systemd-tmpfiles-setup has run, or the boot is over)."""

import pytest

from ansible_collections.infn.cloud.plugins.module_utils.podman_nsenter import tmp_settled


@pytest.mark.parametrize(
    ("answer", "settled"),
    [
        ("", False),  # no bus yet
        ("SystemState=initializing\nLoadState=loaded\nActiveState=inactive\n", False),
        ("SystemState=starting\nLoadState=loaded\nActiveState=activating\n", False),
        ("SystemState=starting\nLoadState=loaded\nActiveState=active\n", True),
        ("SystemState=starting\nLoadState=loaded\nActiveState=failed\n", True),
        ("SystemState=starting\nLoadState=masked\nActiveState=inactive\n", True),  # nothing will empty it
        ("SystemState=running\nLoadState=loaded\nActiveState=active\n", True),
        ("SystemState=degraded\nLoadState=not-found\nActiveState=inactive\n", True),
    ],
)
def test_tmp_is_settled_once_tmpfiles_ran_or_the_boot_is_over(answer, settled):
    assert tmp_settled(answer) is settled
