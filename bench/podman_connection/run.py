"""Benchmark: CPU of Ansible tasks in local podman containers, infn.cloud.podman_nsenter against
containers.podman.podman.

    python bench/podman_connection/run.py [--hosts 4] [--rounds 3]

The same playbook (ten commands, six file copies) runs on N systemd containers of
the test bed's base image (no network; named infn-bench-conn-*), once per connection in each
round, in alternating order. CPU is the whole machine's busy time from /proc/stat (podman's
conmon and runc run outside this process tree), so run it on an otherwise quiet machine.
Prints the medians of CPU seconds and wall seconds per connection and their ratios
(target: CPU ratio <= 0.5).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
IMAGE = "localhost/infn-cloud-debian-systemd:bookworm"
PREFIX = "infn-bench-conn-"
CONNECTIONS = ("containers.podman.podman", "infn.cloud.podman_nsenter")
PLAYBOOK = """\
- name: Work in the containers
  hosts: all
  gather_facts: false
  tasks:
    - name: Run a command
      ansible.builtin.command: "true"
      changed_when: false
      loop: "{{ range(10) | list }}"
    - name: Copy a file
      ansible.builtin.copy: {content: "{{ item }}\\n", dest: "/root/copy-{{ item }}", mode: "0644"}
      loop: "{{ range(5) | list }}"
    - name: Write a file from a template expression
      ansible.builtin.copy: {content: "{{ inventory_hostname }} {{ now() }}\\n", dest: /root/templated, mode: "0644"}
"""


def environment() -> dict:
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env["CONTAINERS_CONF"] = str(REPO / "tests/testbed/containers.conf")
    env["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
    return env


def busy_seconds() -> float:
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(value) for value in stat.readline().split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, env=environment(), check=check)


def run(connection: str, hosts: list, workdir: pathlib.Path) -> tuple:
    command = [
        "ansible-playbook", "-i", ",".join(hosts) + ",", "-c", connection, "-f", str(len(hosts)),
        "-e", "ansible_python_interpreter=/usr/bin/python3", str(workdir / "play.yml"),
    ]  # fmt: skip
    cpu, wall = busy_seconds(), time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=environment(), check=False)
    cpu, wall = busy_seconds() - cpu, time.monotonic() - wall
    if done.returncode != 0:
        sys.exit(f"{connection}: ansible-playbook failed\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    subprocess.run(["make", "-C", str(REPO), "--no-print-directory", "collection"], check=True)
    hosts = [f"{PREFIX}{index}" for index in range(options.hosts)]
    for host in hosts:
        podman("rm", "-f", host, check=False)
        podman(
            "run", "-d", "--name", host, "--network", "none", "--systemd=always",
            "--label", f"infn.cloud.testbed={PREFIX}bench", IMAGE, "/sbin/init",
        )  # fmt: skip
    try:
        for host in hosts:
            podman("exec", host, "timeout", "120", "systemctl", "is-system-running", "--wait", check=False)
        results = {connection: [] for connection in CONNECTIONS}
        with tempfile.TemporaryDirectory() as folder:
            workdir = pathlib.Path(folder)
            (workdir / "play.yml").write_text(PLAYBOOK)
            run(CONNECTIONS[1], hosts, workdir)  # warm-up: caches, AnsiballZ payloads
            for round_index in range(options.rounds):
                order = CONNECTIONS if round_index % 2 == 0 else tuple(reversed(CONNECTIONS))
                for connection in order:
                    results[connection].append(run(connection, hosts, workdir))
        medians = {
            connection: (statistics.median(run[0] for run in runs), statistics.median(run[1] for run in runs))
            for connection, runs in results.items()
        }
        print(f"{options.hosts} hosts, {options.rounds} rounds, 16 task runs per host per playbook")
        for connection, (cpu, wall) in medians.items():
            print(f"  {connection:28} CPU {cpu:7.1f} s   wall {wall:6.1f} s")
        (old_cpu, old_wall), (new_cpu, new_wall) = medians[CONNECTIONS[0]], medians[CONNECTIONS[1]]
        print(f"ratio nsenter/podman: CPU {new_cpu / old_cpu:.2f} (target <= 0.50), wall {new_wall / old_wall:.2f}")
    finally:
        for host in hosts:
            podman("rm", "-f", "-t", "1", host, check=False)


if __name__ == "__main__":
    main()
