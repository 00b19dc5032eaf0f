"""What operators read with ansible-doc, from a plain clone: every plugin renders, and the
roles' argument specs and the inventory's options are the ones the code uses."""

import json
import subprocess

import pytest
import yaml

from ansible_collections.infn.cloud.plugins.module_utils.federation import INVENTORY_OPTIONS
from tests.common import REPO


def ansible_doc(env, kind, name, *options):
    result = subprocess.run(
        ["ansible-doc", "-t", kind, *options, f"infn.cloud.{name}"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("role", ["common", "podman_site"])
def test_ansible_doc_shows_the_argument_spec(role, ansible_env):
    shown = json.loads(ansible_doc(ansible_env, "role", role, "--json"))
    options = shown[f"infn.cloud.{role}"]["entry_points"]["main"]["options"]
    with (REPO / "roles" / role / "meta/argument_specs.yml").open(encoding="utf-8") as handle:
        declared = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    assert sorted(options) == sorted(declared)


def test_description_keys_left_to_the_plugin_are_its_options(ansible_env):
    """federation_info reads the same file as the inventory: both must agree on which
    top-level keys are inventory options (the model's INVENTORY_OPTIONS)."""
    shown = json.loads(ansible_doc(ansible_env, "inventory", "federation", "--json"))
    options = shown["infn.cloud.federation"]["doc"]["options"]
    assert sorted(set(options) - {"federation", "sites"}) == sorted(INVENTORY_OPTIONS)


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("module", "federation_info"),
        ("module", "site_info"),
        ("module", "dns_record"),
        ("module", "swift_ring"),
        ("module", "log_search"),
        ("module", "tosca"),
        ("filter", "podman_site_layout"),
        ("filter", "swift_rings"),
    ],
)
def test_plugins_render_in_ansible_doc(kind, name, ansible_env):
    assert "EXAMPLES" in ansible_doc(ansible_env, kind, name)
