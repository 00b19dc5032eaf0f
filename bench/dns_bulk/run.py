"""Benchmark: 1,000 A records through one infn.cloud.dns_record task, against the same BIND
primary fed by community.general.nsupdate in a loop over the same records, in the same run.

    python bench/dns_bulk/run.py [--records 1000]

Brings up its own BIND (a podman host on infn-bench-dns, 10.99.50.0/24, converged with the
infn.cloud.dns role), prints both times, the ratio (target >= 20x) and the time of a rerun
that changes nothing, then removes the host.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
PREFIX = "infn-bench-"
SERVER = "10.99.50.10"
ZONE = "bench.test"


def playbook(path: pathlib.Path, plays: list, env: dict, *args: str) -> float:
    path.write_text(json.dumps(plays))
    started = time.perf_counter()
    result = subprocess.run(
        ["ansible-playbook", str(path), *args], capture_output=True, text=True, env=env, check=False
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{path.name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    args = parser.parse_args()
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    env.setdefault("CONTAINERS_CONF", str(REPO / "tests/testbed/containers.conf"))
    with tempfile.TemporaryDirectory(prefix="infn-bench-dns-") as scratch:
        work = pathlib.Path(scratch)
        secrets = work / "secrets"
        inventory = work / "inventory.yml"
        inventory.write_text(
            json.dumps(
                {
                    "dns_primary": {
                        "hosts": {
                            f"{PREFIX}ns1": {
                                "ansible_connection": "containers.podman.podman",
                                "ansible_python_interpreter": "/usr/bin/python3",
                            }
                        },
                        "vars": {"dns_zone": ZONE, "infn_cloud_secrets_dir": str(secrets)},
                    }
                }
            )
        )
        site = {
            "hosts": "localhost",
            "gather_facts": False,
            "roles": [
                {
                    "role": "infn.cloud.podman_site",
                    "podman_site_name": "bench",
                    "podman_site_networks": [{"name": f"{PREFIX}dns", "subnet": "10.99.50.0/24"}],
                    "podman_site_hosts": [{"name": f"{PREFIX}ns1", "network": f"{PREFIX}dns", "ip": SERVER}],
                }
            ],
        }
        try:
            inv = ("-i", str(inventory))
            playbook(work / "site.yml", [site], env, *inv)
            playbook(work / "dns.yml", [{"hosts": "dns_primary", "roles": ["infn.cloud.dns"]}], env, *inv)
            key_text = (secrets / "dns" / "bench-test-admin.key").read_text()
            secret = re.search(r'secret\s+"([^"]+)";', key_text).group(1)
            local = {
                "hosts": "localhost",
                "gather_facts": False,
                "vars": {"ansible_python_interpreter": sys.executable},
            }
            ours = [{"name": f"a-{i:04d}", "values": [f"10.98.{i // 250}.{i % 250 + 1}"]} for i in range(args.records)]
            one_task = dict(
                local,
                tasks=[
                    {
                        "infn.cloud.dns_record": {
                            "server": SERVER,
                            "zone": ZONE,
                            "key_file": str(secrets / "dns" / "bench-test-admin.key"),
                            "records": ours,
                        }
                    }
                ],
            )
            loop = dict(
                local,
                tasks=[
                    {
                        "community.general.nsupdate": {
                            "server": SERVER,
                            "zone": ZONE,
                            "key_name": "bench-test-admin",
                            "key_secret": secret,
                            "key_algorithm": "hmac-sha256",
                            "record": "{{ item.name }}",
                            "type": "A",
                            "value": "{{ item['values'] }}",
                        },
                        "loop": [dict(record, name=record["name"].replace("a-", "b-")) for record in ours],
                        "loop_control": {"label": "{{ item.name }}"},
                        "no_log": True,
                    }
                ],
            )
            ours_time = playbook(work / "ours.yml", [one_task], env, *inv)
            rerun_time = playbook(work / "ours.yml", [one_task], env, *inv)
            theirs_time = playbook(work / "theirs.yml", [loop], env, *inv)
        finally:
            subprocess.run(["bash", str(REPO / "tests/testbed/cleanup.sh"), PREFIX], env=env, check=False)

    print(f"{args.records} A records into {ZONE} on one BIND primary, ansible-playbook wall time")
    print(f"  community.general.nsupdate, a loop (baseline) {theirs_time:8.2f} s")
    print(f"  infn.cloud.dns_record, one task              {ours_time:8.2f} s")
    print(f"  infn.cloud.dns_record, rerun, no change      {rerun_time:8.2f} s")
    print(f"ratio nsupdate/dns_record: {theirs_time / ours_time:.1f}x (target >= 20x)")


if __name__ == "__main__":
    main()
