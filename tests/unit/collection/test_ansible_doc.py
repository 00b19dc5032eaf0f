"""The roles' argument specs reach operators through ansible-doc, from a plain clone."""

import json
import subprocess

import pytest
import yaml

from tests.common import REPO


@pytest.mark.parametrize("role", ["common", "podman_site"])
def test_ansible_doc_shows_the_argument_spec(role, ansible_env):
    result = subprocess.run(
        ["ansible-doc", "-t", "role", "--json", f"infn.cloud.{role}"],
        capture_output=True,
        text=True,
        env=ansible_env,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)[f"infn.cloud.{role}"]["entry_points"]["main"]["options"]
    with (REPO / "roles" / role / "meta/argument_specs.yml").open(encoding="utf-8") as handle:
        declared = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    assert sorted(shown) == sorted(declared)


def test_description_keys_left_to_the_plugin_are_its_options(ansible_env):
    """federation_info reads the same file as the inventory: both must agree on which
    top-level keys are inventory options (the model's INVENTORY_OPTIONS)."""
    from ansible_collections.infn.cloud.plugins.module_utils.federation import INVENTORY_OPTIONS

    result = subprocess.run(
        ["ansible-doc", "-t", "inventory", "--json", "infn.cloud.federation"],
        capture_output=True,
        text=True,
        env=ansible_env,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    options = json.loads(result.stdout)["infn.cloud.federation"]["doc"]["options"]
    assert sorted(set(options) - {"federation", "sites"}) == sorted(INVENTORY_OPTIONS)


@pytest.mark.parametrize(
    ("kind", "name"),
    [("module", "federation_info"), ("module", "site_info"), ("filter", "podman_site_layout")],
)
def test_plugins_render_in_ansible_doc(kind, name, ansible_env):
    result = subprocess.run(
        ["ansible-doc", "-t", kind, f"infn.cloud.{name}"],
        capture_output=True,
        text=True,
        env=ansible_env,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "EXAMPLES" in result.stdout
