"""The infn.cloud.podman_nsenter connection against a real systemd container: modules run in the
container with its environment, files go in and out, a restart between tasks is followed, a
stopped container is reported unreachable by name."""

import json
import subprocess

import pytest

from tests.common import ansible_environment
from tests.integration.podman import podman

CONTAINER = "infn-nsenter-probe"
IMAGE = "localhost/infn-cloud-debian-systemd:bookworm"

PLAYBOOK = """\
- name: Probe the container
  hosts: all
  gather_facts: false
  tasks:
    - name: Read the environment, hostname and PID 1 inside
      ansible.builtin.shell: "env; echo hostname=$(hostname); echo init=$(cat /proc/1/comm)"
      register: inside
      changed_when: false
    - name: Write a file
      ansible.builtin.copy:
        content: "written by {{ inventory_hostname }}\\n"
        dest: /srv/probe.txt
        mode: "0640"
    - name: Read it back
      ansible.builtin.fetch:
        src: /srv/probe.txt
        dest: "{{ fetch_dir }}/"
        flat: true
    - name: Restart the container from the controller
      ansible.builtin.command: podman restart -t 1 {{ inventory_hostname }}
      delegate_to: localhost
      changed_when: true
      when: restart | bool
    # At once: the connection waits for the boot (early in it systemd-tmpfiles empties /tmp,
    # where a module is unpacked).
    - name: Wait for it
      ansible.builtin.wait_for_connection:
        timeout: 60
      when: restart | bool
    - name: Work in it again
      ansible.builtin.command: cat /srv/probe.txt
      register: again
      changed_when: false
    - name: Show what was seen
      ansible.builtin.debug:
        msg: "{{ {'inside': inside.stdout_lines, 'again': again.stdout} | to_json }}"
"""


@pytest.fixture(scope="module")
def container():
    podman("rm", "-f", CONTAINER, check=False)
    podman(
        "run", "-d", "--name", CONTAINER, "--hostname", "probe", "--network", "none", "--systemd=always",
        "--label", f"infn.cloud.testbed={CONTAINER}", IMAGE, "/sbin/init",
    )  # fmt: skip
    yield CONTAINER
    podman("rm", "-f", "-t", "1", CONTAINER, check=False)


def play(tmp_path, connection="infn.cloud.podman_nsenter", restart=False):
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    command = [
        "ansible-playbook", "-i", f"{CONTAINER},", "-c", connection, str(tmp_path / "play.yml"),
        "-e", "ansible_python_interpreter=/usr/bin/python3", "-e", f"fetch_dir={tmp_path}", "-e", f"restart={restart}",
    ]  # fmt: skip
    environment = {
        **ansible_environment(),
        "ANSIBLE_STDOUT_CALLBACK": "json",
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
    }
    environment["INFN_PROBE_SECRET"] = "controller-only"  # must not leak into the container
    return subprocess.run(command, capture_output=True, text=True, env=environment, check=False)


def seen(result):
    output = result.stdout[result.stdout.index("{") : result.stdout.rindex("}") + 1]
    for play_result in json.loads(output)["plays"]:
        for task in play_result["tasks"]:
            if task["task"]["name"] == "Show what was seen":
                return json.loads(task["hosts"][CONTAINER]["msg"])
    raise AssertionError(result.stdout[-3000:])


def test_modules_run_inside_with_the_container_environment(container, tmp_path):
    result = play(tmp_path, "infn.cloud.podman_nsenter")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    inside = seen(result)["inside"]
    assert "hostname=probe" in inside and "init=systemd" in inside
    assert "container=podman" in inside
    assert not any(line.startswith(("INFN_PROBE_SECRET", "VIRTUAL_ENV", "ANSIBLE_")) for line in inside), inside
    assert (tmp_path / "probe.txt").read_text() == f"written by {CONTAINER}\n"
    mode = podman("exec", CONTAINER, "stat", "-c", "%a", "/srv/probe.txt").stdout.strip()
    assert mode == "640"
    # Pipelining: no module was copied into the container's temporary folder.
    leftover = podman("exec", CONTAINER, "sh", "-c", "ls -A /root/.ansible/tmp 2>/dev/null | wc -l").stdout.strip()
    assert leftover == "0"


def test_a_restart_between_tasks_is_followed(container, tmp_path):
    result = play(tmp_path, "infn.cloud.podman_nsenter", restart=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert seen(result)["again"] == f"written by {CONTAINER}"


def test_a_stopped_container_is_unreachable_by_name(container, tmp_path):
    podman("stop", "-t", "1", CONTAINER)
    try:
        result = play(tmp_path, "infn.cloud.podman_nsenter")
    finally:
        podman("start", CONTAINER)
    assert result.returncode == 4  # unreachable
    assert f"container '{CONTAINER}' is not running" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
