"""Benchmark: what infn.cloud.tosca_deploy adds to running a compiled service.

    python bench/deploy_overhead/run.py [--nodes 10] [--rounds 3]

A service of N compute nodes, each with a software node whose configure operation runs a small
playbook (three tasks), is deployed once by tosca_deploy on a podman site of its own
(infn-bench-deploy, 10.99.52.0/24). Then, on those same hosts, each round runs the service's
configuration twice, in alternating order: by tosca_deploy (a changed input makes it compile,
rank the sites, check the hosts and run the playbook through ansible-runner, writing the state
at each step) and by plain `ansible-playbook` on the compiled playbook with the same inventory.
Prints the medians and their ratio (target <= 1.10), then undeploys.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
FEDERATION = """\
plugin: infn.cloud.federation
federation: {name: infn-bench, domain: bench.test}
sites:
  - name: bench
    provider: podman
    podman: {network: infn-bench-deploy, subnet: 10.99.52.0/24, container_prefix: infn-bench-}
    sla: {quotas: {cores: 64, ram_gb: 64, instances: 64}}
"""
OPERATION = """\
- name: Configure
  hosts: "{{ tosca_hosts }}"
  gather_facts: false
  tasks:
    - name: Write the marker
      ansible.builtin.copy: {dest: /root/marker, content: "{{ marker }}\\n", mode: "0644"}
    - name: Read it back
      ansible.builtin.command: cat /root/marker
      register: _read
      changed_when: false
    - name: Check it
      ansible.builtin.assert: {that: "_read.stdout == marker", quiet: true}
"""


def template(nodes: int) -> str:
    lines = [
        "tosca_definitions_version: tosca_simple_yaml_1_3",
        "topology_template:",
        "  inputs:",
        "    marker: {type: string}",
        "  node_templates:",
    ]
    for index in range(nodes):
        lines += [
            f"    vm{index}:",
            "      type: tosca.nodes.Compute",
            "      capabilities: {host: {properties: {num_cpus: 1, mem_size: 256 MB}}}",
            f"    app{index}:",
            "      type: tosca.nodes.SoftwareComponent",
            f"      requirements: [{{host: vm{index}}}]",
            "      interfaces:",
            "        Standard:",
            "          configure: {implementation: configure.yml, inputs: {marker: {get_input: marker}}}",
        ]
    return "\n".join(lines) + "\n"


def run(command: list, env: dict) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[:2])} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    env.setdefault("CONTAINERS_CONF", str(REPO / "tests/testbed/containers.conf"))
    with tempfile.TemporaryDirectory(prefix="infn-bench-deploy-") as scratch:
        work = pathlib.Path(scratch)
        (work / "bench.federation.yml").write_text(FEDERATION)
        (work / "service.yaml").write_text(template(args.nodes))
        (work / "configure.yml").write_text(OPERATION)
        state_dir = work / "state"
        deploy = [
            "ansible-playbook", str(REPO / "playbooks/deploy_service.yml"),
            "-e", "deployment_name=bench", "-e", "deployment_project=bench",
            "-e", f"tosca_template={work / 'service.yaml'}", "-e", f"deployment_federation={work / 'bench.federation.yml'}",
            "-e", f"deployment_state_dir={state_dir}",
        ]  # fmt: skip
        try:
            first = run([*deploy, "-e", '{"deployment_inputs": {"marker": "first"}}'], env)
            print(f"first deploy of {args.nodes} hosts (provisioning included): {first:.1f} s")
            document = json.loads((state_dir / "bench.json").read_text())
            compiled = state_dir / "bench" / "compiled" / "service.yml"
            inventory = state_dir / "bench" / "runner" / "inventory" / "hosts.json"
            plain_inventory = work / "hosts.json"
            plain_inventory.write_text(inventory.read_text())
            ours, plain = [], []
            for round_ in range(args.rounds):
                marker = f"round-{round_}"
                our_run = [*deploy, "-e", json.dumps({"deployment_inputs": {"marker": marker}})]
                # The plain run reads the inputs tosca_deploy compiled into the vars file; give it the same marker.
                plain_run = [
                    "ansible-playbook", "-i", str(plain_inventory), str(compiled),
                    "-e", json.dumps({"marker": marker + "-plain"}),
                ]  # fmt: skip
                pair = [("ours", our_run), ("plain", plain_run)]
                if round_ % 2:
                    pair.reverse()
                for kind, command in pair:
                    (ours if kind == "ours" else plain).append(run(command, env))
            status = json.loads((state_dir / "bench.json").read_text())["status"]
            assert status == "CREATE_COMPLETE", status
            assert len(document["nodes"]) == 2 * args.nodes
        finally:
            subprocess.run(
                [
                    "ansible-playbook", str(REPO / "playbooks/undeploy_service.yml"),
                    "-e", "deployment_name=bench", "-e", f"deployment_federation={work / 'bench.federation.yml'}",
                    "-e", f"deployment_state_dir={state_dir}",
                ],
                capture_output=True, env=env, check=False,
            )  # fmt: skip
            subprocess.run(
                ["podman", "network", "rm", "-f", "infn-bench-deploy"], capture_output=True, env=env, check=False
            )
    ours_median, plain_median = statistics.median(ours), statistics.median(plain)
    print(f"configuration of {args.nodes} hosts, median of {args.rounds} rounds:")
    print(f"  plain ansible-playbook:  {plain_median:6.2f} s  {[round(t, 2) for t in plain]}")
    print(f"  infn.cloud.tosca_deploy: {ours_median:6.2f} s  {[round(t, 2) for t in ours]}")
    print(f"  ratio: {ours_median / plain_median:.3f} (target <= 1.10)")


if __name__ == "__main__":
    main()
