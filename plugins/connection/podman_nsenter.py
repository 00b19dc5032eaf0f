# Copyright (c) 2026 INFN Cloud
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: podman_nsenter
short_description: Run tasks in a local podman container by entering its namespaces
version_added: 0.1.0
description:
  - Runs commands in a running container of this machine's (rootful) podman with C(nsenter), the way
    C(podman exec) does but without starting podman, conmon and the OCI runtime for every command;
    a task costs one C(podman inspect) and one C(nsenter) instead of three or four C(podman exec).
    Measured on a 2-CPU machine, a playbook of module runs takes about a third of the CPU time of
    M(containers.podman.podman) connection's.
  - Commands see the container's mount, UTS, IPC, network and PID namespaces and the container's own
    environment (its image's C(ENV)), as with C(podman exec); they stay in the controller's cgroup.
  - Modules are piped to the interpreter (pipelining), so no temporary files are written for them.
  - The container's PID is looked up for each task, so a container restarted between tasks is found
    again; a container that is not running makes the host unreachable.
  - When the container's first process is systemd and it is still booting, a task waits (at most
    60 seconds) until C(systemd-tmpfiles-setup.service) has run or the boot is over - early in the
    boot it empties C(/tmp), where a module is unpacked, and the module would fail with its own
    files gone.
  - The local podman sites of the federation (see R(infn.cloud.federation,ansible_collections.infn.cloud.federation_inventory))
    use it when Ansible runs as root, and C(containers.podman.podman) otherwise.
author: infn.cloud developers (@infn-cloud)
options:
  remote_addr:
    description: The name or ID of the container.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
  podman_executable:
    description: The podman program that owns the container.
    type: str
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
  pipelining:
    description: Pipe modules to the interpreter instead of copying them into the container first.
    type: bool
    default: true
    vars:
      - name: ansible_pipelining
      - name: ansible_podman_nsenter_pipelining
    env:
      - name: ANSIBLE_PODMAN_NSENTER_PIPELINING
notes:
  - Needs root on the controller (C(nsenter) into another process's namespaces) and the container on the
    controller's machine; for rootless podman use M(containers.podman.podman) connection.
  - The remote user is ignored; commands run as the container's root.
"""

EXAMPLES = r"""
# inventory.yml
all:
  hosts:
    infn-demo-cnaf-1:
      ansible_connection: infn.cloud.podman_nsenter
      ansible_python_interpreter: /usr/bin/python3
"""

import shlex

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text
from ansible.utils.display import Display
from ansible_collections.community.docker.plugins.connection.nsenter import Connection as NsenterConnection

from ansible_collections.infn.cloud.plugins.module_utils.podman_nsenter import (
    ContainerUnreachable,
    clean_environment,
    locate,
    wait_booted,
)

display = Display()


class Connection(NsenterConnection):
    """community.docker.nsenter aimed at a podman container, found by name for each task."""

    transport = "infn.cloud.podman_nsenter"
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._environment = []  # the `env -i ...` prefix of the container

    def _connect(self):
        if self._connected:
            return self
        container = self.get_option("remote_addr")
        try:
            self._nsenter_pid, environment = locate(container, self.get_option("podman_executable"))
        except ContainerUnreachable as error:
            raise AnsibleConnectionFailure(str(error)) from error
        wait_booted(self._nsenter_pid, environment)
        self._environment = clean_environment(environment)
        self._play_context.remote_user = "root"
        display.vvv(f"ESTABLISH PODMAN NSENTER CONNECTION TO {container} (pid {self._nsenter_pid})", host=container)
        self._connected = True
        return self

    def reset(self):
        # wait_for_connection resets between tries: look the container up again (it may have restarted).
        self.close()

    def exec_command(self, cmd, in_data=None, sudoable=True):
        self._connect()
        # The parent puts `nsenter --target=<pid> ...` in front.
        if isinstance(cmd, (str, bytes)):
            cmd = shlex.join(self._environment) + " " + to_text(cmd)
        else:
            cmd = self._environment + [to_text(part) for part in cmd]
        return super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
