"""The infn.cloud.tosca action, through ansible-playbook as operators run it: what a template's
author reads when it is right, when it has mistakes, and what compiling leaves in dest."""

import json
import re
import subprocess

import pytest
import yaml

from tests.common import REPO

# web comes first in the template but is hosted on server, so it is deployed after it.
TEMPLATE = """\
tosca_definitions_version: tosca_simple_yaml_1_3

topology_template:
  inputs:
    cpus:
      type: integer
      constraints:
        - in_range: [1, 16]
  node_templates:
    web:
      type: tosca.nodes.SoftwareComponent
      interfaces:
        Standard:
          create: install.yml
      requirements:
        - host: server
    server:
      type: tosca.nodes.Compute
      capabilities:
        host:
          properties:
            num_cpus: { get_input: cpus }
  outputs:
    address:
      value: { get_attribute: [server, private_address] }
"""

INSTALL = """\
- name: Install web
  hosts: "{{ tosca_hosts }}"
  tasks: []
"""

# Two mistakes: a node type misspelt, and an input that does not exist.
MISTAKES = """\
tosca_definitions_version: tosca_simple_yaml_1_3

topology_template:
  inputs:
    cpus:
      type: integer
      default: 1
  node_templates:
    server:
      type: tosca.nodes.Compte
    other:
      type: tosca.nodes.Compute
      capabilities:
        host:
          properties:
            num_cpus: { get_input: cpu }
"""

POSITIONED = re.compile(r"(?P<file>[^:]+):(?P<line>[0-9]+):(?P<column>[0-9]+): (?P<path>\S+): (?P<message>.+)")


def run(tmp_path, env, tasks, *options, module="infn.cloud.tosca"):
    """Runs each task (its module's options, or the whole task with keywords) in one play on
    localhost; returns their results, as the json callback shows them, and all that
    ansible-playbook printed."""
    play = {"name": "TOSCA", "hosts": "localhost", "gather_facts": False, "tasks": []}
    for index, task in enumerate(tasks):
        task = task if module in task else {module: task}
        play["tasks"].append({"name": f"Task {index}", **task, "ignore_errors": True})
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(yaml.safe_dump([play], sort_keys=False))
    # The stdout callback as the only one enabled: no profile_tasks lines around the JSON.
    json_env = dict(env, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CALLBACKS_ENABLED="ansible.posix.json")
    completed = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook), *options],
        capture_output=True,
        text=True,
        env=json_env,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    shown = json.loads(completed.stdout)["plays"][0]["tasks"]
    return [task["hosts"]["localhost"] for task in shown], output


@pytest.fixture
def template(tmp_path):
    """The template in the playbook's files/ folder, where a relative src is looked for."""
    (tmp_path / "files").mkdir()
    path = tmp_path / "files" / "web.yaml"
    path.write_text(TEMPLATE)
    (tmp_path / "files" / "install.yml").write_text(INSTALL)
    return path


def test_a_valid_template_lists_its_nodes(tmp_path, ansible_env, template):
    duplicated = tmp_path / "duplicated.yaml"
    duplicated.write_text(
        TEMPLATE.replace("      type: tosca.nodes.Compute\n", "      type: tosca.nodes.Compute\n" * 2)
    )
    (result, warned), _output = run(tmp_path, ansible_env, [{"src": "web.yaml"}, {"src": str(duplicated)}])
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["src"] == str(template)
    assert result["nodes"] == [
        {"name": "web", "type": "tosca.nodes.SoftwareComponent"},
        {"name": "server", "type": "tosca.nodes.Compute"},
    ]
    assert result["inputs"] == [
        {
            "name": "cpus",
            "type": "integer",
            "required": True,
            "default": None,
            "has_default": False,
            "constraints": ["in_range: [1, 16]"],
            "description": "",
            "value_needed": True,
        }
    ]
    assert result["outputs"] == ["address"]
    assert result["template_warnings"] == []
    # A key given twice is a warning, shown positioned, and the template is still valid.
    assert not warned.get("failed"), warned
    (warning,) = warned["template_warnings"]
    assert (warning["file"], warning["line"], warning["path"]) == (str(duplicated), 19, "type")
    assert any(line.startswith(f"{duplicated}:19:7: type: duplicate key") for line in warned["warnings"])


def test_a_template_with_mistakes_fails_with_every_problem(tmp_path, ansible_env):
    path = tmp_path / "mistakes.yaml"
    path.write_text(MISTAKES)
    (result,), output = run(tmp_path, ansible_env, [{"src": str(path)}])
    assert result["failed"] is True
    headline, *lines = result["msg"].splitlines()
    assert headline == f"2 problems in {path}:"
    assert len(lines) == len(result["problems"]) == 2
    for line, problem in zip(lines, result["problems"], strict=True):
        match = POSITIONED.fullmatch(line)
        assert match, line
        assert match.groupdict() == {key: str(value) for key, value in problem.items()}
        assert problem["file"] == str(path)
    unknown_type, missing_input = result["problems"]
    assert (unknown_type["line"], unknown_type["column"]) == (10, 13)
    assert unknown_type["path"] == "topology_template.node_templates.server.type"
    assert "did you mean 'tosca.nodes.Compute'?" in unknown_type["message"]
    assert missing_input["line"] == 16
    assert missing_input["path"].startswith("topology_template.node_templates.other.")
    assert "did you mean 'cpus'?" in missing_input["message"]
    assert "Traceback" not in output


def test_compiling_writes_the_playbook_once(tmp_path, ansible_env, template):
    dest = tmp_path / "build"
    compile_with = {"src": str(template), "state": "compiled", "dest": str(dest), "inputs": {"cpus": 2}}
    tasks = [
        compile_with,
        compile_with,
        {"infn.cloud.tosca": {**compile_with, "inputs": {"cpus": 4}}, "check_mode": True},
        {"infn.cloud.tosca": compile_with, "check_mode": True},
    ]
    (first, second, other_inputs, same_inputs), _output = run(tmp_path, ansible_env, tasks, "--diff")
    assert not first.get("failed"), first
    assert first["playbook"] == str(dest / "web.yml")
    assert first["vars_file"] == str(dest / "web.vars.yml")
    assert first["node_order"] == ["server", "web"]
    assert first["levels"] == [["server"], ["web"]]
    assert [host["group"] for host in first["hosts"]] == ["tosca_server"]
    assert [(op["node"], op["operation"], op["kind"]) for op in first["operations"]] == [("web", "create", "playbook")]
    assert first["outputs"] == ["address"]
    playbook = yaml.safe_load((dest / "web.yml").read_text())
    # An empty play names the operation, then its playbook is imported.
    assert playbook[0] == {"name": "web: Standard.create", "hosts": "tosca_server", "gather_facts": False, "tasks": []}
    assert playbook[1]["ansible.builtin.import_playbook"] == "../files/install.yml"
    assert yaml.safe_load((dest / "web.vars.yml").read_text())["tosca_inputs"] == {"cpus": 2}
    assert (first["changed"], second["changed"]) == (True, False)
    # Check mode compares with dest and leaves it as it is.
    assert other_inputs["changed"] is True
    (change,) = other_inputs["diff"]
    assert change["after_header"] == str(dest / "web.vars.yml")
    assert "cpus: 2" in change["before"] and "cpus: 4" in change["after"]
    assert same_inputs["changed"] is False
    assert "cpus: 2" in (dest / "web.vars.yml").read_text()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["build", "files", "playbook.yml"]


def test_check_mode_leaves_dest_empty(tmp_path, ansible_env, template):
    dest = tmp_path / "out" / "build"
    dest.mkdir(parents=True)
    task = {"src": str(template), "state": "compiled", "dest": str(dest), "inputs": {"cpus": 2}}
    (result,), _output = run(tmp_path, ansible_env, [task], "--check", "--diff")
    assert not result.get("failed"), result
    assert result["changed"] is True
    assert result["playbook"] == str(dest / "web.yml")
    assert [change["before"] for change in result["diff"]] == ["", "", ""]
    # The paths in the playbook are the ones it would have in dest, not in a scratch folder.
    assert yaml.safe_load(result["diff"][0]["after"])[1]["ansible.builtin.import_playbook"] == "../../files/install.yml"
    assert list((tmp_path / "out").iterdir()) == [dest]
    assert list(dest.iterdir()) == []


def test_bad_options_are_clear_failures(tmp_path, ansible_env, template):
    bad = {
        "value of state must be one of: compiled, validated, got: wrong": {"state": "wrong"},
        "state is compiled but all of the following are missing: dest": {"state": "compiled"},
        "role_registry['tosca.nodes.Compute']: unknown key(s) name: expected role and vars": {
            "role_registry": {"tosca.nodes.Compute": {"name": "infn.cloud.common"}}
        },
        "TOSCA template missing.yaml not found": {"src": "missing.yaml"},
    }
    results, output = run(tmp_path, ansible_env, [{"src": "web.yaml", **options} for options in bad.values()])
    for expected, result in zip(bad, results, strict=True):
        assert result["failed"] is True
        assert expected in result["msg"]
    assert "Traceback" not in output
    # Options the argument spec leaves free come back as problems in the collection's one shape.
    assert results[2]["problems"] == [
        {
            "file": None,
            "line": None,
            "column": None,
            "path": "role_registry['tosca.nodes.Compute']",
            "message": "unknown key(s) name: expected role and vars",
        },
        {
            "file": None,
            "line": None,
            "column": None,
            "path": "role_registry['tosca.nodes.Compute'].role",
            "message": "expected a role name, got None",
        },
    ]
