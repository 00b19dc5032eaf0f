"""infn.cloud.tosca_deploy's answers to bad input, through ansible-playbook: each names what is
wrong, and nothing is created or recorded. (Deploying itself is tested on real podman and
OpenStack sites in tests/integration/test_paas*.py.)"""

import pytest

from tests.common import REPO
from tests.unit.plugins.action.test_tosca import run

FEDERATION = str(REPO / "tests/integration/files/paas.federation.yml")
WEB_DB = str(REPO / "playbooks/services/web_db/web_db.yaml")


@pytest.fixture
def deploy(tmp_path, ansible_env):
    def call(**options):
        task = {
            "name": "web1",
            "template": WEB_DB,
            "project": "demo",
            "federation": FEDERATION,
            "state_dir": str(tmp_path / "state"),
            **options,
        }
        (result,), _output = run(tmp_path, ansible_env, [task], module="infn.cloud.tosca_deploy")
        assert not (tmp_path / "state" / "web1.json").exists()
        return result

    return call


def test_every_bad_option_is_named_at_once(deploy):
    result = deploy(name="Web_1", max_attempts=0)
    assert result["failed"] is True
    assert result["msg"].splitlines() == [
        "2 problems in the options:",
        "name: expected 1 to 40 lowercase letters, digits and '-', starting and ending with a letter or digit, got 'Web_1'",
        "max_attempts: expected a number of at least 1, got 0",
    ]
    # The collection's one shape of a problem: an option has no file, line or column.
    assert [(p["file"], p["line"], p["path"]) for p in result["problems"]] == [
        (None, None, "name"),
        (None, None, "max_attempts"),
    ]


def test_an_unknown_site_is_named_with_a_suggestion(deploy):
    result = deploy(sites=["paas-c", "paas-b"])
    assert result["failed"] is True
    assert result["msg"].startswith(
        f"the options: sites[0]: no site named 'paas-c' in {FEDERATION} (did you mean 'paas-"
    )


def test_a_template_with_mistakes_fails_before_any_site_is_touched(deploy, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "tosca_definitions_version: tosca_simple_yaml_1_3\ntopology_template:\n  node_templates:\n    vm: {type: tosca.nodes.Compte}\n"
    )
    result = deploy(template=str(broken))
    assert result["failed"] is True
    assert result["msg"].splitlines()[0] == f"1 problem in {broken}:"
    assert result["problems"] == [
        {
            "file": str(broken),
            "line": 4,
            "column": 16,
            "path": "topology_template.node_templates.vm.type",
            "message": "unknown node type 'tosca.nodes.Compte' (did you mean 'tosca.nodes.Compute'?)",
        }
    ]
    assert result["msg"].splitlines()[1] == (
        f"{broken}:4:16: topology_template.node_templates.vm.type: unknown node type 'tosca.nodes.Compte'"
        " (did you mean 'tosca.nodes.Compute'?)"
    )


def test_a_missing_template_says_where_it_looked(deploy):
    result = deploy(template="nowhere.yaml")
    assert result["failed"] is True
    assert result["msg"].startswith("TOSCA template nowhere.yaml not found; looked for:")


@pytest.mark.parametrize("project", [None, ""])
def test_a_deployment_needs_its_project(deploy, project):
    result = deploy(project=project)
    assert result["failed"] is True
    assert result["msg"] == "the options: project: required to deploy (the sites' SLAs admit projects), got none"


def test_an_invalid_federation_is_reported_with_positions(deploy, tmp_path):
    bad = tmp_path / "bad.federation.yml"
    bad.write_text("federation: {name: x, domain: x.test}\nsites:\n  - name: a\n    provider: podmn\n")
    result = deploy(federation=str(bad))
    assert result["failed"] is True
    assert result["msg"].startswith(f"1 problem in the federation description {bad}:\n")
    assert [(p["line"], p["column"], p["path"]) for p in result["problems"]] == [(4, 15, "sites[0].provider")]
    assert f"{bad}:4:15: sites[0].provider: " in result["msg"]
