"""The infn.cloud.federation inventory plugin, through ansible-inventory as operators run it."""

import json
import os
import socket
import subprocess
import textwrap
import threading
import time

import pytest

from tests.common import plain

DESCRIPTION = """\
plugin: infn.cloud.federation
federation:
  name: infn-cloud
  domain: cloud.infn.it
sites:
  - name: cnaf
    coupling: backbone
    provider: static
    regions: [cnaf]
    vars: {cnaf_site_var: 7}
    hosts:
      - {name: cnaf-swift-1, address: 192.0.2.11, roles: [swift_storage, swift_proxy], zone: z1}
      - {name: cnaf-ns-1, address: 192.0.2.12, roles: [dns_primary], vars: {extra: yes}}
  - name: bari
    coupling: backbone
    provider: static
    regions: [bari]
    hosts:
      - {name: bari-ns-1, address: 192.0.2.21, roles: [dns_secondary], zone: z2}
  - name: cloud-veneto
    provider: static
    regions: [padova]
    hosts:
      - {name: veneto-1, address: 192.0.2.31}
keyed_groups:
  - key: infn_cloud.zone
    prefix: az
compose:
  site_short: infn_cloud.site[:4]
"""


def inventory(tmp_path, env, text, *args, name="test.federation.yml"):
    path = tmp_path / name
    path.write_text(text)
    run_env = dict(env, ANSIBLE_INVENTORY_UNPARSED_FAILED="1")
    return subprocess.run(
        ["ansible-inventory", "-i", str(path), "--list", *args],
        capture_output=True,
        text=True,
        env=run_env,
        check=False,
        timeout=60,
    )


def listing(result):
    assert result.returncode == 0, result.stderr
    return plain(json.loads(result.stdout))


def members(data, group):
    entry = data.get(group, {})
    return sorted(entry.get("hosts", []) + entry.get("children", []))


def test_groups_model_the_federation(tmp_path, ansible_env):
    data = listing(inventory(tmp_path, ansible_env, DESCRIPTION))
    assert members(data, "backbone") == ["site_bari", "site_cnaf"]
    assert members(data, "federated") == ["site_cloud_veneto"]
    assert members(data, "coupling_tight") == ["site_bari", "site_cnaf"]
    assert members(data, "coupling_loose") == ["site_cloud_veneto"]
    assert members(data, "provider_static") == ["site_bari", "site_cloud_veneto", "site_cnaf"]
    assert members(data, "site_cnaf") == ["cnaf-ns-1", "cnaf-swift-1"]
    assert members(data, "region_padova") == ["veneto-1"]
    assert members(data, "swift_proxy") == ["cnaf-swift-1"]
    assert members(data, "dns_secondary") == ["bari-ns-1"]
    assert members(data, "az_z1") == ["cnaf-swift-1"]
    assert members(data, "az_z2") == ["bari-ns-1"]


def test_hostvars(tmp_path, ansible_env):
    data = listing(inventory(tmp_path, ansible_env, DESCRIPTION))
    host = data["_meta"]["hostvars"]["cnaf-ns-1"]
    assert host["ansible_host"] == "192.0.2.12"
    assert host["extra"] is True
    assert host["site_short"] == "cnaf"
    assert host["infn_cloud"] == {
        "federation": "infn-cloud",
        "domain": "cloud.infn.it",
        "site": "cnaf",
        "provider": "static",
        "coupling": "backbone",
        "region": "cnaf",
        "zone": None,
        "roles": ["dns_primary"],
        "address": "192.0.2.12",
        "declared": True,
        "facts": {},
    }


def test_site_vars_reach_the_hosts(tmp_path, ansible_env):
    path = tmp_path / "test.federation.yml"
    path.write_text(DESCRIPTION)
    result = subprocess.run(
        ["ansible-inventory", "-i", str(path), "--host", "cnaf-swift-1"],
        capture_output=True,
        text=True,
        env=ansible_env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert plain(json.loads(result.stdout))["cnaf_site_var"] == 7


def test_invalid_description_lists_every_problem(tmp_path, ansible_env):
    text = DESCRIPTION.replace("provider: static\n    regions: [bari]", "provider: statc\n    regions: [bari]").replace(
        "roles: [dns_secondary]", "roles: [dns_secundary]"
    )
    result = inventory(tmp_path, ansible_env, text)
    assert result.returncode != 0
    path = tmp_path / "test.federation.yml"
    assert f"{path}:16:15: sites[1].provider: expected one of openstack, podman, static, got 'statc'" in result.stderr
    assert f"{path}:19:56: sites[1].hosts[0].roles[0]: unknown service role 'dns_secundary'" in result.stderr
    assert "Traceback" not in result.stderr


def test_only_sites(tmp_path, ansible_env):
    data = listing(inventory(tmp_path, ansible_env, DESCRIPTION + "only_sites: [bari]\n"))
    assert sorted(data["_meta"]["hostvars"]) == ["bari-ns-1"]
    result = inventory(tmp_path, ansible_env, DESCRIPTION + "only_sites: [barri]\n")
    assert result.returncode != 0
    assert "only_sites names unknown sites: barri (known: bari, cloud-veneto, cnaf)" in result.stderr


BROKEN_SITE = """\
  - name: recas-bari
    provider: openstack
    cloud: no-such-cloud
"""


def test_a_broken_site_warns_and_the_others_load(tmp_path, ansible_env):
    result = inventory(tmp_path, ansible_env, DESCRIPTION.replace("keyed_groups:", BROKEN_SITE + "keyed_groups:"))
    data = listing(result)
    assert "cnaf-swift-1" in data["_meta"]["hostvars"]
    assert "site 'recas-bari' (openstack): cannot connect to cloud 'no-such-cloud'" in result.stderr
    assert members(data, "federated") == ["site_cloud_veneto", "site_recas_bari"]


@pytest.mark.parametrize(
    "strict",
    [
        "fail_on_errors: true\n",
        None,  # the site's own fail_on_errors
    ],
)
def test_fail_on_errors_makes_a_broken_site_fatal(tmp_path, ansible_env, strict):
    site = BROKEN_SITE if strict else BROKEN_SITE + "    fail_on_errors: true\n"
    text = DESCRIPTION.replace("keyed_groups:", site + "keyed_groups:") + (strict or "")
    result = inventory(tmp_path, ansible_env, text)
    assert result.returncode != 0
    assert "sites could not be queried:\nsite 'recas-bari' (openstack): cannot connect" in result.stderr


@pytest.fixture
def silent_endpoint():
    """A TCP server on loopback that accepts connections and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


def test_a_silent_site_costs_its_timeout_and_no_more(tmp_path, ansible_env, silent_endpoint):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        textwrap.dedent(f"""\
            clouds:
              silent:
                auth:
                  auth_url: http://127.0.0.1:{silent_endpoint}/v3
                  username: u
                  password: p
                  project_name: p
                  user_domain_name: Default
                  project_domain_name: Default
        """)
    )
    site = "  - name: silent\n    provider: openstack\n    cloud: silent\n    timeout: 3\n"
    env = dict(ansible_env, OS_CLIENT_CONFIG_FILE=str(clouds))
    started = time.monotonic()
    result = inventory(tmp_path, env, DESCRIPTION.replace("keyed_groups:", site + "keyed_groups:"))
    elapsed = time.monotonic() - started
    data = listing(result)
    assert "cnaf-swift-1" in data["_meta"]["hostvars"]
    assert "site 'silent' (openstack)" in result.stderr
    # ansible-inventory itself takes a second or two; the silent site adds its 3 s timeout.
    assert elapsed < 20


def test_cache_read_does_not_rewrite_and_flush_refreshes(tmp_path, ansible_env):
    cache_dir = tmp_path / "cache"
    text = DESCRIPTION + (
        f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {cache_dir}\ncache_timeout: 3600\n"
    )
    listing(inventory(tmp_path, ansible_env, text))
    (entry,) = list(cache_dir.iterdir())
    written = entry.stat().st_mtime_ns
    os.utime(entry, ns=(written - 10**9, written - 10**9))
    listing(inventory(tmp_path, ansible_env, text))
    assert entry.stat().st_mtime_ns == written - 10**9, "a cache read rewrote the entry (its TTL would never expire)"
    listing(inventory(tmp_path, ansible_env, text, "--flush-cache"))
    assert entry.stat().st_mtime_ns > written - 10**9
