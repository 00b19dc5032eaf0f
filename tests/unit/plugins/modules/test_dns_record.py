"""dns_record's documentation: the key paths it shows are where infn.cloud.dns writes the keys."""

import pathlib
import re

import jinja2
import pytest
import yaml

from ansible_collections.infn.cloud.plugins.modules import dns_record

REPO = pathlib.Path(__file__).resolve().parents[4]
ROLE = REPO / "roles/dns"


def role_key_path(variables, key_name):
    """Where the role keeps a key on the controller: its task's dest, with the role's default folder."""
    secrets_dir = yaml.safe_load((ROLE / "defaults/main.yml").read_text())["dns_secrets_dir"]
    tasks = yaml.safe_load((ROLE / "tasks/keys.yml").read_text())
    (dest,) = [task["ansible.builtin.copy"]["dest"] for task in tasks if "Keep the keys" in task["name"]]
    folder = jinja2.Template(secrets_dir).render(variables)
    return jinja2.Template(dest).render(dns_secrets_dir=folder, item={"item": key_name})


def documented_key_files():
    examples = yaml.safe_load(dns_record.EXAMPLES)
    yield from (task["infn.cloud.dns_record"]["key_file"] for task in examples)
    yield from re.findall(r'key_file: "([^"]+)"', (REPO / "docs/dns.md").read_text())


@pytest.mark.parametrize(
    "variables",
    [{"inventory_dir": "/srv/federation"}, {"inventory_dir": "/srv/federation", "infn_cloud_secrets_dir": "/vault/s"}],
    ids=["beside the inventory", "infn_cloud_secrets_dir"],
)
def test_documented_key_files_are_where_the_role_keeps_keys(variables):
    key_files = list(documented_key_files())
    assert len(key_files) == 2
    for key_file in key_files:
        assert jinja2.Template(key_file).render(variables) == role_key_path(variables, "cms-cloud-infn-it")
