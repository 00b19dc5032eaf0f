"""Benchmark: the federation inventory plugin against a static YAML inventory of the same
hosts, groups and variables, both through `ansible-inventory --list`, in the same run.

    python bench/inventory/run.py [--hosts 10000] [--sites 50] [--repeat 3]

Prints wall time and peak memory of each, and the ratios plugin/static (target <= 1.3),
for a cold run and for a run that reads the plugin's inventory cache.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
ROLES = ["swift_storage", "swift_proxy", "dns_primary", "dns_secondary", "smtp_relay", "log_collector", "monitoring"]


def federation(hosts: int, sites: int) -> dict:
    per_site = hosts // sites
    description = {
        "plugin": "infn.cloud.federation",
        "federation": {"name": "bench", "domain": "bench.test"},
        "sites": [],
    }
    for s in range(sites):
        site = {
            "name": f"site{s:02d}",
            "coupling": "backbone" if s < 2 else "federated",
            "provider": "static",
            "regions": [f"r{s:02d}"],
            "vars": {"site_index": s},
            "hosts": [],
        }
        for h in range(per_site):
            site["hosts"].append(
                {
                    "name": f"s{s:02d}-h{h:05d}",
                    "address": f"10.{s}.{h // 250}.{h % 250 + 1}",
                    "roles": [ROLES[h % len(ROLES)]],
                    "zone": f"z{h % 3}",
                    "vars": {"rack": f"r{h // 40}", "weight": 100},
                }
            )
        description["sites"].append(site)
    return description


def static_equivalent(description: dict) -> dict:
    """The same hosts, groups and host variables as plain YAML inventory."""
    groups: dict = {name: {"children": {}} for name in ("backbone", "federated", "coupling_tight", "coupling_loose")}
    role_groups: dict = {role: {"hosts": {}} for role in ROLES}
    extra: dict = {}
    for site in description["sites"]:
        site_group = f"site_{site['name']}"
        tight = site["coupling"] == "backbone"
        hosts = {}
        for host in site["hosts"]:
            info = {
                "federation": "bench",
                "domain": "bench.test",
                "site": site["name"],
                "provider": "static",
                "coupling": site["coupling"],
                "region": site["regions"][0],
                "zone": host["zone"],
                "roles": host["roles"],
                "address": host["address"],
                "declared": True,
                "facts": {},
            }
            hosts[host["name"]] = {"ansible_host": host["address"], **host["vars"], "infn_cloud": info}
            for role in host["roles"]:
                role_groups[role]["hosts"][host["name"]] = None
            extra.setdefault(f"region_{site['regions'][0]}", {"hosts": {}})["hosts"][host["name"]] = None
        groups[site_group] = {"hosts": hosts, "vars": site["vars"]}
        groups["backbone" if tight else "federated"]["children"][site_group] = None
        groups["coupling_tight" if tight else "coupling_loose"]["children"][site_group] = None
        extra.setdefault("provider_static", {"children": {}})["children"][site_group] = None
    return {"all": {"children": {**groups, **role_groups, **extra}}}


def measure(source: pathlib.Path, env: dict, repeat: int) -> tuple[float, float]:
    """Best wall time (s) and peak RSS (MiB) of `ansible-inventory --list` over repeat runs."""
    best, peak = float("inf"), 0.0
    for _attempt in range(repeat):
        started = time.perf_counter()
        code = (
            "import resource, subprocess, sys; "
            "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
        )
        result = subprocess.run(
            [sys.executable, "-c", code, "ansible-inventory", "-i", str(source), "--list"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(f"ansible-inventory failed on {source}:\n{result.stderr[-2000:]}")
        best = min(best, elapsed)
        peak = max(peak, int(result.stdout.strip()) / 1024)
    return best, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10000)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_INVENTORY_UNPARSED_FAILED="1")
    with tempfile.TemporaryDirectory(prefix="infn-bench-") as scratch:
        workdir = pathlib.Path(scratch)
        description = federation(args.hosts, args.sites)
        plugin_source = workdir / "bench.federation.yml"
        plugin_source.write_text(yaml.safe_dump(description, sort_keys=False))
        cached_source = workdir / "cached" / "bench.federation.yml"
        cached_source.parent.mkdir()
        cached = dict(description, cache=True, cache_plugin="ansible.builtin.jsonfile", cache_timeout=3600)
        cached["cache_connection"] = str(workdir / "cache")
        cached_source.write_text(yaml.safe_dump(cached, sort_keys=False))
        static_source = workdir / "static.yml"
        static_source.write_text(yaml.safe_dump(static_equivalent(description), sort_keys=False))

        measure(cached_source, env, 1)  # fills the cache
        static_time, static_rss = measure(static_source, env, args.repeat)
        plugin_time, plugin_rss = measure(plugin_source, env, args.repeat)
        cached_time, cached_rss = measure(cached_source, env, args.repeat)

    print(f"inventory of {args.hosts} hosts over {args.sites} sites, ansible-inventory --list, best of {args.repeat}")
    print(f"  static YAML inventory (baseline) {static_time:7.2f} s  {static_rss:7.0f} MiB")
    print(f"  infn.cloud.federation            {plugin_time:7.2f} s  {plugin_rss:7.0f} MiB")
    print(f"  infn.cloud.federation, cached    {cached_time:7.2f} s  {cached_rss:7.0f} MiB")
    print(
        f"ratio plugin/static: time {plugin_time / static_time:.2f} (target <= 1.3), memory {plugin_rss / static_rss:.2f}"
    )
    print(f"ratio cached/static: time {cached_time / static_time:.2f}, memory {cached_rss / static_rss:.2f}")


if __name__ == "__main__":
    main()
