"""The openstack provider against a real OpenStack (tests/testbed/openstack/site.sh):
servers with metadata land in the right groups with the right ansible_host, and site_info
reads the project's real limits and usage."""

import json
import subprocess
import uuid

import pytest

from tests.common import ansible_environment, plain
from tests.integration.openstack_site import demo_connection, openstack_cloud, wait_until

DESCRIPTION = """\
plugin: infn.cloud.federation
fail_on_errors: true
federation:
  name: infn-ostest
  domain: ostest.test
sites:
  - name: recas
    provider: openstack
    cloud: infn-os-demo
    timeout: 60
    address: {{prefer: {prefer}}}
    sla:
      priority: 20
      quotas: {{instances: 1000}}
"""


@pytest.fixture(scope="module")
def site():
    """Two servers in the demo project: one with a floating IP, both with service roles."""
    clouds_yaml = openstack_cloud()
    conn = demo_connection(clouds_yaml)
    suffix = uuid.uuid4().hex[:6]
    image = conn.image.find_image("tiny", ignore_missing=False)
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    private = conn.network.find_network("private", ignore_missing=False)
    public = conn.network.find_network("public", ignore_missing=False)
    servers, floating = [], None
    try:
        for name, roles in ((f"proxy-{suffix}", "swift_proxy,dns_primary"), (f"mon-{suffix}", "monitoring")):
            servers.append(
                conn.compute.create_server(
                    name=name,
                    image_id=image.id,
                    flavor_id=flavor.id,
                    networks=[{"uuid": private.id}],
                    metadata={"infn_cloud_roles": roles},
                )
            )
        for server in servers:
            conn.compute.wait_for_server(server, status="ACTIVE", wait=180)
        port = wait_until("port of the proxy", lambda: next(iter(conn.network.ports(device_id=servers[0].id)), None))
        floating = conn.network.create_ip(floating_network_id=public.id, port_id=port.id)
        wait_until(
            "floating IP listed on the server",
            lambda: any(
                entry.get("OS-EXT-IPS:type") == "floating"
                for entries in conn.compute.get_server(servers[0].id).addresses.values()
                for entry in entries
            ),
        )
        fixed = {s.name: conn.compute.get_server(s.id).addresses["private"][0]["addr"] for s in servers}
        yield {
            "clouds_yaml": clouds_yaml,
            "conn": conn,
            "proxy": servers[0].name,
            "mon": servers[1].name,
            "floating": floating.floating_ip_address,
            "fixed": fixed,
        }
    finally:
        if floating is not None:
            conn.network.delete_ip(floating, ignore_missing=True)
        for server in servers:
            conn.compute.delete_server(server, ignore_missing=True)
        for server in servers:
            conn.compute.wait_for_delete(server, wait=120)
        conn.close()


def inventory(tmp_path, site, prefer="floating"):
    path = tmp_path / "os.federation.yml"
    path.write_text(DESCRIPTION.format(prefer=prefer))
    env = dict(ansible_environment(), OS_CLIENT_CONFIG_FILE=str(site["clouds_yaml"]))
    result = subprocess.run(
        ["ansible-inventory", "-i", str(path), "--list"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    return plain(json.loads(result.stdout)), path, env


def test_servers_land_in_their_groups_with_floating_over_fixed(tmp_path, site):
    data, _path, _env = inventory(tmp_path, site)
    hostvars = data["_meta"]["hostvars"]
    proxy, mon = hostvars[site["proxy"]], hostvars[site["mon"]]
    assert proxy["ansible_host"] == site["floating"]
    assert mon["ansible_host"] == site["fixed"][site["mon"]]
    assert site["proxy"] in data["swift_proxy"]["hosts"]
    assert site["proxy"] in data["dns_primary"]["hosts"]
    assert site["mon"] in data["monitoring"]["hosts"]
    assert {site["proxy"], site["mon"]} <= set(data["site_recas"]["hosts"])
    assert data["federated"]["children"] == ["site_recas"]
    assert data["provider_openstack"]["children"] == ["site_recas"]
    assert proxy["infn_cloud"]["declared"] is False
    assert proxy["infn_cloud"]["facts"]["status"] == "ACTIVE"
    assert proxy["infn_cloud"]["facts"]["metadata"] == {"infn_cloud_roles": "swift_proxy,dns_primary"}
    region = proxy["infn_cloud"]["region"]
    assert site["proxy"] in data[f"region_{region}"]["hosts"]


def test_address_policy_fixed(tmp_path, site):
    data, _path, _env = inventory(tmp_path, site, prefer="fixed")
    assert data["_meta"]["hostvars"][site["proxy"]]["ansible_host"] == site["fixed"][site["proxy"]]


def test_site_info_reads_real_limits_and_usage(tmp_path, site):
    _data, path, env = inventory(tmp_path, site)
    result = subprocess.run(
        ["ansible", "localhost", "-m", "infn.cloud.site_info", "-a", f"path={path}", "-o"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (report,) = json.loads(result.stdout.split("=>", 1)[1])["sites"]
    conn = site["conn"]
    limits = conn.compute.get_limits().absolute
    assert report["reachable"] is True, report["reason"]
    assert report["usage"]["instances"] == limits.instances_used >= 2
    assert report["usage"]["cores"] == limits.total_cores_used
    assert report["usage"]["public_ips"] >= 1
    assert report["limits"]["cores"] == limits.total_cores
    assert report["limits"]["instances"] == min(limits.instances, 1000)
    assert report["free"]["instances"] == report["limits"]["instances"] - report["usage"]["instances"]
