"""The collection builds from a plain clone, ships what users need and nothing of the dev tree."""

import json
import subprocess
import tarfile

import pytest
import yaml

from tests.common import REPO

NOT_SHIPPED = ("tests/", "bench/", "build/", ".venv/", "molecule/", ".ci/", ".git/")


@pytest.fixture(scope="module")
def built(tmp_path_factory, ansible_env):
    """Path of the tarball `ansible-galaxy collection build` makes from the checkout."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        ["ansible-galaxy", "collection", "build", "--output-path", str(out), str(REPO)],
        check=True,
        capture_output=True,
        env=ansible_env,
    )
    (path,) = out.glob("infn-cloud-*.tar.gz")
    return path


@pytest.fixture(scope="module")
def tarball(built):
    with tarfile.open(built) as archive:
        yield archive


def test_ships_roles_and_metadata(tarball):
    names = set(tarball.getnames())
    for needed in (
        "MANIFEST.json",
        "FILES.json",
        "meta/runtime.yml",
        "roles/common/meta/argument_specs.yml",
        "roles/common/tasks/main.yml",
        "roles/podman_site/meta/argument_specs.yml",
        "playbooks/backbone.yml",
        "README.md",
    ):
        assert needed in names


def test_leaves_out_the_dev_tree(tarball):
    leaked = [name for name in tarball.getnames() if name.startswith(NOT_SHIPPED) or name == "ansible.cfg"]
    assert leaked == []


def test_manifest_names_the_collection(tarball):
    info = json.load(tarball.extractfile("MANIFEST.json"))["collection_info"]
    assert (info["namespace"], info["name"]) == ("infn", "cloud")
    assert info["license"] == ["GPL-3.0-or-later"]


def test_execution_environment_installs_this_version(built, tmp_path, ansible_env):
    """ansible-builder accepts the definition, and it installs the tarball `make build` makes."""
    with (REPO / "galaxy.yml").open(encoding="utf-8") as handle:
        version = yaml.safe_load(handle)["version"]
    with (REPO / "execution-environment.yml").open(encoding="utf-8") as handle:
        definition = yaml.safe_load(handle)
    tarball = f"infn-cloud-{version}.tar.gz"
    assert definition["dependencies"]["galaxy"]["collections"] == [{"name": tarball, "type": "file"}]
    assert built.name == tarball
    workdir = tmp_path / "ee"
    workdir.mkdir()
    for name in ("execution-environment.yml", "requirements.txt", "bindep.txt"):
        (workdir / name).write_bytes((REPO / name).read_bytes())
    (workdir / tarball).write_bytes(built.read_bytes())
    result = subprocess.run(
        [
            "ansible-builder",
            "create",
            "--output-filename",
            "Containerfile",
            "-f",
            "execution-environment.yml",
            "-c",
            "context",
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=ansible_env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (workdir / "context/_build" / tarball).exists()
    assert "ansible-galaxy collection install" in (workdir / "context/Containerfile").read_text()
