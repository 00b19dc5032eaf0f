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
