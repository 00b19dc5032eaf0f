"""infn.cloud.tosca_deploy across providers: the OpenStack test site (tests/testbed/openstack) is
ranked first; its servers, volume and floating IP are really made there, configuring fails (the
fake servers have no guest OS), everything is removed there (checked through the OpenStack API),
and the service lands on a podman site."""

import json
import subprocess

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.common import REPO, ansible_environment
from tests.integration.openstack_site import demo_connection, openstack_cloud
from tests.integration.podman import names

PREFIX = "infn-paas-"
DEPLOYMENT = "osfail"
KEY = "infn-paas-key"
FEDERATION = {
    "plugin": "infn.cloud.federation",
    "federation": {"name": "infn-paas", "domain": "paas.local.test"},
    "sites": [
        {
            "name": "recas",
            "provider": "openstack",
            "cloud": "infn-os-demo",
            "timeout": 60,
            "sla": {"priority": 5, "images": ["tiny"], "flavors": ["m1.tiny"], "quotas": {"instances": 10}},
            "openstack": {"key_name": KEY, "security_groups": ["default"], "floating_network": "public"},
        },
        {
            "name": "paas-b",
            "provider": "podman",
            "regions": ["b"],
            "podman": {"network": "infn-paas-b", "subnet": "10.99.43.0/24", "container_prefix": PREFIX},
            "sla": {"priority": 20, "quotas": {"cores": 8, "ram_gb": 8, "instances": 6}},
        },
    ],
}
TEMPLATE = """\
tosca_definitions_version: tosca_simple_yaml_1_3
topology_template:
  node_templates:
    vm:
      type: tosca.nodes.Compute
      capabilities:
        host: {properties: {num_cpus: 1, mem_size: 256 MB}}
        endpoint: {properties: {network_name: PUBLIC}}
      requirements:
        - local_storage:
            node: data
            relationship: {type: tosca.relationships.AttachesTo, properties: {location: /data}}
    data:
      type: tosca.nodes.BlockStorage
      properties: {size: 1 GB}
    app:
      type: tosca.nodes.SoftwareComponent
      requirements:
        - host: vm
      interfaces:
        Standard:
          configure: configure.sh
  outputs:
    address: {value: {get_attribute: [vm, public_address]}}
"""


def deployment_resources(conn):
    """Every OpenStack resource tagged with the deployment, by kind."""
    servers = [
        s for s in conn.compute.servers(details=True) if (s.metadata or {}).get("infn_cloud_deployment") == DEPLOYMENT
    ]
    return {
        "servers": [s.name for s in servers],
        "volumes": [
            v.name
            for v in conn.block_storage.volumes()
            if (v.metadata or {}).get("infn_cloud_deployment") == DEPLOYMENT
        ],
        "floating_ips": [
            ip.floating_ip_address for ip in conn.network.ips(description=f"infn_cloud_deployment={DEPLOYMENT}")
        ],
        "ports": [p.id for s in servers for p in conn.network.ports(device_id=s.id)],
    }


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    clouds_yaml = openstack_cloud()
    folder = tmp_path_factory.mktemp("paas-os")
    (folder / "paas.federation.yml").write_text(yaml.safe_dump(FEDERATION))
    (folder / "service.yaml").write_text(TEMPLATE)
    (folder / "configure.sh").write_text("#!/bin/sh\necho configured > /root/app.txt\n")
    for name in names("container", f"{PREFIX}{DEPLOYMENT}-"):
        subprocess.run(["podman", "rm", "-f", name], check=False, env=ansible_environment())
    conn = demo_connection(clouds_yaml)
    if conn.compute.find_keypair(KEY) is None:  # the project's key pair the servers get
        key = ed25519.Ed25519PrivateKey.generate().public_key()
        public = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
        conn.compute.create_keypair(name=KEY, public_key=public)
    env = {**ansible_environment(), "OS_CLIENT_CONFIG_FILE": str(clouds_yaml)}
    state_dir = folder / "state"
    result = subprocess.run(
        [
            "ansible-playbook", str(REPO / "playbooks/deploy_service.yml"),
            "-e", f"deployment_name={DEPLOYMENT}", "-e", "deployment_project=demo",
            "-e", f"tosca_template={folder / 'service.yaml'}", "-e", f"deployment_federation={folder / 'paas.federation.yml'}",
            "-e", f"deployment_state_dir={state_dir}", "-e", "deployment_site_timeout=600",
        ],
        capture_output=True, text=True, env=env, timeout=1200, check=False,
    )  # fmt: skip
    try:
        yield {"result": result, "state": json.loads((state_dir / f"{DEPLOYMENT}.json").read_text()), "conn": conn}
    finally:
        subprocess.run(
            [
                "ansible-playbook", str(REPO / "playbooks/undeploy_service.yml"),
                "-e", f"deployment_name={DEPLOYMENT}", "-e", f"deployment_federation={folder / 'paas.federation.yml'}",
                "-e", f"deployment_state_dir={state_dir}",
            ],
            capture_output=True, text=True, env=env, timeout=600, check=False,
        )  # fmt: skip
        conn.close()


def test_openstack_is_tried_first_and_really_provisions(deployed):
    result, document = deployed["result"], deployed["state"]
    assert result.returncode == 0, result.stdout[-5000:]
    assert [entry["site"] for entry in document["ranking"]] == ["recas", "paas-b"]
    first = document["attempts"][0]
    assert first["site"] == "recas" and first["phase"] == "configure" and first["status"] == "failed"
    assert "unreachable" in first["error"], first["error"]
    (host,) = first["hosts"]
    assert host["name"] == f"{DEPLOYMENT}-vm" and host["flavor"] == "m1.tiny" and host["image"] == "tiny"
    assert host["address"].startswith("10.99.32.")  # the private subnet
    assert host["public_address"].startswith("10.99.31.")  # a floating IP from the public network
    assert host["volumes"] == [f"{DEPLOYMENT}-data"]
    assert host["key_name"] == KEY and host["security_groups"] == ["default"]


def test_nothing_of_it_is_left_on_openstack(deployed):
    assert deployed["state"]["attempts"][0]["cleaned"] is True
    assert deployment_resources(deployed["conn"]) == {"servers": [], "volumes": [], "floating_ips": [], "ports": []}


def test_it_lands_on_the_podman_site(deployed):
    document = deployed["state"]
    assert document["status"] == "CREATE_COMPLETE" and document["site"] == "paas-b"
    assert document["attempts"][1]["status"] == "succeeded"
    assert document["outputs"]["address"].startswith("10.99.43.")
    assert document["attempts"][1]["hosts"][0]["volumes"] == [f"{PREFIX}{DEPLOYMENT}-data"]
