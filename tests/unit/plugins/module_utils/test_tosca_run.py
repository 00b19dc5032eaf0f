"""A compiled service runs with plain ansible-playbook: operations in dependency order on the
hosts of their Compute node, properties and operation inputs reach them, attributes an operation
publishes reach the operations and outputs that read them."""

import json
import subprocess
import textwrap

import pytest

from ansible_collections.infn.cloud.plugins.module_utils.tosca import compile_file
from tests.unit.plugins.module_utils.tosca_corpora import OWN_IMPORT_MAP, addresses_as_declared

TEMPLATE = """\
tosca_definitions_version: tosca_simple_yaml_1_0

node_types:
  example.Database:
    derived_from: tosca.nodes.SoftwareComponent
    properties:
      name: {type: string}
    attributes:
      url: {type: string}
    interfaces:
      Standard:
        create:
          implementation: operations/database_create.yml
          inputs:
            log: {get_input: log}
  example.Web:
    derived_from: tosca.nodes.SoftwareComponent
    properties:
      greeting: {type: string}
    requirements:
      - database:
          capability: tosca.capabilities.Node
          relationship: tosca.relationships.DependsOn
    interfaces:
      Standard:
        configure:
          implementation: operations/web_configure.yml
          inputs:
            log: {get_input: log}
            database_url: {get_attribute: [example_db, url]}
            database_host: {token: [{get_attribute: [example_db, url]}, ":/", 3]}
        start:
          implementation: operations/web_start.sh
          inputs:
            log: {get_input: log}

topology_template:
  inputs:
    log: {type: string}
    greeting: {type: string, default: hello}
  node_templates:
    web:
      type: example.Web
      properties:
        greeting: {concat: [{get_input: greeting}, " from ", {get_property: [example_db, name]}]}
      requirements:
        - host: server
        - database: example_db
    example_db:
      type: example.Database
      properties: {name: "{{ not templated }}"}
      requirements:
        - host: server
    server:
      type: tosca.nodes.Compute
  outputs:
    address: {value: {get_attribute: [server, private_address]}}
    database: {value: {concat: ["db at ", {get_attribute: [example_db, url]}]}}
"""

DATABASE_CREATE = """\
- name: Create the database
  hosts: "{{ tosca_hosts }}"
  gather_facts: false
  tasks:
    - name: Note what ran, with the property as given
      ansible.builtin.lineinfile:
        path: "{{ log }}"
        line: "create {{ tosca_node }} {{ tosca_properties.name }}"
        create: true
    - name: Publish the URL
      ansible.builtin.set_fact:
        tosca_set_attributes: {url: "postgres://{{ inventory_hostname }}/{{ tosca_node }}"}
"""

WEB_CONFIGURE = """\
- name: Configure the web server
  hosts: "{{ tosca_hosts }}"
  gather_facts: false
  tasks:
    - name: Note what ran
      ansible.builtin.lineinfile:
        path: "{{ log }}"
        line: "configure {{ tosca_node }} {{ tosca_properties.greeting }} -> {{ database_url }} on {{ database_host }}"
"""

WEB_START = """\
#!/bin/sh
echo "start web" >> "$LOG"
"""


@pytest.fixture
def compiled(tmp_path):
    (tmp_path / "operations").mkdir()
    (tmp_path / "operations/database_create.yml").write_text(DATABASE_CREATE)
    (tmp_path / "operations/web_configure.yml").write_text(WEB_CONFIGURE)
    (tmp_path / "operations/web_start.sh").write_text(WEB_START)
    (tmp_path / "service.yaml").write_text(TEMPLATE)
    log = tmp_path / "run.log"
    plan = compile_file(str(tmp_path / "service.yaml"), str(tmp_path / "out"))
    (tmp_path / "inventory.yml").write_text(
        textwrap.dedent(
            """\
            tosca_server:
              hosts:
                web-1:
                  ansible_connection: local
                  ansible_python_interpreter: "{{ ansible_playbook_python }}"
                  ansible_host: 192.0.2.7
            """
        )
    )
    return tmp_path, plan, log


def _run(tmp_path, plan, ansible_env, *extra):
    env = dict(
        ansible_env,
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_CALLBACKS_ENABLED="ansible.posix.json",
        ANSIBLE_SHOW_CUSTOM_STATS="true",  # the outputs, published with set_stats
    )
    command = ["ansible-playbook", "-i", str(tmp_path / "inventory.yml"), plan.playbook_path, *extra]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_the_plan_says_what_the_run_needs(compiled):
    plan = compiled[1]
    assert plan.node_order == ["server", "example_db", "web"]
    assert [h.group for h in plan.hosts] == ["tosca_server"]
    assert [(o.node, o.operation, o.kind) for o in plan.operations] == [
        ("example_db", "create", "playbook"),
        ("web", "configure", "playbook"),
        ("web", "start", "script"),
    ]
    assert "input 'log': give it at run time as -e tosca_input_log=..." in plan.unresolved


def test_the_compiled_playbook_runs_in_order_and_returns_the_outputs(compiled, ansible_env):
    tmp_path, plan, log = compiled
    result = _run(tmp_path, plan, ansible_env, "-e", f"tosca_input_log={log}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert log.read_text().splitlines() == [
        "create example_db {{ not templated }}",
        "configure web hello from {{ not templated }} -> postgres://web-1/example_db on web-1",
        "start web",
    ]
    report = json.loads(result.stdout)
    assert report["global_custom_stats"]["tosca_outputs"] == {
        "address": "192.0.2.7",
        "database": "db at postgres://web-1/example_db",
    }


def test_an_input_missing_at_run_time_stops_the_run_before_any_operation(compiled, ansible_env):
    tmp_path, plan, log = compiled
    (tmp_path / "inventory.yml").write_text("tosca_server:\n  hosts:\n    web-1: {ansible_connection: local}\n")
    result = _run(tmp_path, plan, ansible_env)
    assert result.returncode != 0
    assert "-e tosca_input_log=..." in result.stdout
    assert not log.exists()


# A Compute node's addresses as templates read them: the normative Compute declares
# private_address and public_address strings, INDIGO's Compute lists (INFN's templates read
# `[vm, public_address, 0]`). An operation gets each form as an input and writes what it got.
ADDRESSES_TEMPLATE = """\
tosca_definitions_version: tosca_simple_yaml_1_0

imports:
  - indigo_custom_types: https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml

node_types:
  example.Probe:
    derived_from: tosca.nodes.SoftwareComponent
    interfaces:
      Standard:
        configure:
          implementation: operations/probe.yml
          inputs:
            plain_private: {get_attribute: [plain, private_address]}
            plain_public: {get_attribute: [plain, public_address]}
            indigo_private_0: {get_attribute: [indigo, private_address, 0]}
            indigo_public_0: {get_attribute: [indigo, public_address, 0]}
            indigo_private: {get_attribute: [indigo, private_address]}
            indigo_public: {get_attribute: [indigo, public_address]}
            log: {get_input: log}

topology_template:
  inputs:
    log: {type: string}
  node_templates:
    probe:
      type: example.Probe
      requirements:
        - host: plain
    plain:
      type: tosca.nodes.Compute
    indigo:
      type: tosca.nodes.indigo.Compute
  outputs:
    indigo_public_0: {value: {get_attribute: [indigo, public_address, 0]}}
    plain_public: {value: {get_attribute: [plain, public_address]}}
"""

PROBE = """\
- name: Write the addresses as the operation got them
  hosts: "{{ tosca_hosts }}"
  gather_facts: false
  tasks:
    - name: Write them as JSON
      ansible.builtin.copy:
        dest: "{{ log }}"
        content: "{{ {'plain_private': plain_private, 'plain_public': plain_public,
          'indigo_private_0': indigo_private_0, 'indigo_public_0': indigo_public_0,
          'indigo_private': indigo_private, 'indigo_public': indigo_public} | to_json }}"
        mode: "0600"
"""

HOST = 'ansible_connection: local, ansible_python_interpreter: "{{ ansible_playbook_python }}", ansible_host: 10.0.0.5'


@pytest.mark.parametrize(
    ("addresses", "public"),
    [
        pytest.param("", "10.0.0.5", id="ansible_host-only"),
        # What the providers set: one address each, as a string; a static site may have no public one.
        pytest.param(
            ", tosca_private_address: 10.0.0.6, tosca_public_address: 192.0.2.9", "192.0.2.9", id="provider-strings"
        ),
        pytest.param(", tosca_private_address: 10.0.0.6, tosca_public_address: null", "10.0.0.6", id="no-public"),
        pytest.param(
            ", tosca_private_address: [10.0.0.6], tosca_public_address: [192.0.2.9]", "192.0.2.9", id="as-lists"
        ),
    ],
)
def test_a_compute_address_reaches_an_operation_as_its_type_declares(tmp_path, ansible_env, addresses, public):
    (tmp_path / "operations").mkdir()
    (tmp_path / "operations/probe.yml").write_text(PROBE)
    (tmp_path / "service.yaml").write_text(ADDRESSES_TEMPLATE)
    plan = compile_file(str(tmp_path / "service.yaml"), str(tmp_path / "out"), import_map=OWN_IMPORT_MAP)
    (tmp_path / "inventory.yml").write_text(
        f"tosca_plain:\n  hosts:\n    plain-1: {{{HOST}{addresses}}}\n"
        f"tosca_indigo:\n  hosts:\n    indigo-1: {{{HOST}{addresses}}}\n"
    )
    log = tmp_path / "addresses.json"
    result = _run(tmp_path, plan, ansible_env, "-e", f"tosca_input_log={log}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    private = "10.0.0.6" if addresses else "10.0.0.5"
    assert json.loads(log.read_text()) == addresses_as_declared(private, public)
    report = json.loads(result.stdout)
    assert report["global_custom_stats"]["tosca_outputs"] == {"indigo_public_0": public, "plain_public": public}
